//! The alerts screen's strings, and the names of the eight kinds of alert rule (shown in
//! the alert list and the rule editor), in 简体中文 and English.

use domain::api::Language;

/// The alerts screen's strings in one language.
#[derive(Debug, PartialEq)]
pub struct AlertsStrings {
    pub title: &'static str,
    pub filter_label: &'static str,
    pub filter_unacknowledged: &'static str,
    pub filter_all: &'static str,
    /// `{count}`
    pub count_unacknowledged: &'static str,
    /// `{count}`
    pub count_total: &'static str,
    pub loading: &'static str,
    pub empty_all_title: &'static str,
    pub empty_all_body: &'static str,
    pub empty_unack_title: &'static str,
    pub empty_unack_body: &'static str,
    /// `{message}`
    pub load_failed: &'static str,
    pub retry: &'static str,
    pub acknowledge: &'static str,
    pub acknowledging: &'static str,
    pub acknowledged: &'static str,
    /// `{message}`
    pub ack_failed: &'static str,
    pub open_live: &'static str,
    pub open_review: &'static str,
    /// `{call}`
    pub call_label: &'static str,
    pub live_badge: &'static str,
    /// `{time}`
    pub fired_at: &'static str,
    pub rules_show: &'static str,
    pub rules_hide: &'static str,
    pub kind_slow_first_token: &'static str,
    pub kind_pipeline_error: &'static str,
    pub kind_tts_discontinuity: &'static str,
    pub kind_interruptions: &'static str,
    pub kind_thinking_too_long: &'static str,
    pub kind_customer_silence: &'static str,
    pub kind_keywords: &'static str,
    pub kind_call_too_long: &'static str,
}

const ZH_CN: AlertsStrings = AlertsStrings {
    title: "告警",
    filter_label: "筛选",
    filter_unacknowledged: "未确认",
    filter_all: "全部",
    count_unacknowledged: "{count} 条未确认",
    count_total: "共 {count} 条",
    loading: "正在加载告警…",
    empty_all_title: "暂无告警",
    empty_all_body: "当某条规则在进行中的通话上触发时，告警会显示在这里，并弹出桌面通知。",
    empty_unack_title: "没有待确认的告警",
    empty_unack_body: "所有告警都已确认。选择“全部”可查看历史告警。",
    load_failed: "无法加载告警：{message}",
    retry: "重试",
    acknowledge: "确认",
    acknowledging: "正在确认…",
    acknowledged: "已确认",
    ack_failed: "未能确认：{message}",
    open_live: "打开通话",
    open_review: "查看回看",
    call_label: "通话 {call}",
    live_badge: "进行中",
    fired_at: "触发于 {time}",
    rules_show: "编辑告警规则",
    rules_hide: "收起告警规则",
    kind_slow_first_token: "大模型首字慢",
    kind_pipeline_error: "流水线错误",
    kind_tts_discontinuity: "语音合成断续",
    kind_interruptions: "频繁打断",
    kind_thinking_too_long: "机器人思考过久",
    kind_customer_silence: "客户沉默过久",
    kind_keywords: "关键词",
    kind_call_too_long: "通话过长",
};

const EN: AlertsStrings = AlertsStrings {
    title: "Alerts",
    filter_label: "Show",
    filter_unacknowledged: "Not acknowledged",
    filter_all: "All",
    count_unacknowledged: "{count} not acknowledged",
    count_total: "{count} in total",
    loading: "Loading alerts…",
    empty_all_title: "No alerts yet",
    empty_all_body: "When a rule fires on a live call, the alert shows here and as a desktop notification.",
    empty_unack_title: "Nothing left to acknowledge",
    empty_unack_body: "Every alert has been seen. Choose All to look back at them.",
    load_failed: "Cannot load the alerts: {message}",
    retry: "Try again",
    acknowledge: "Acknowledge",
    acknowledging: "Acknowledging…",
    acknowledged: "Acknowledged",
    ack_failed: "Could not acknowledge: {message}",
    open_live: "Open call",
    open_review: "Open review",
    call_label: "Call {call}",
    live_badge: "Live",
    fired_at: "Fired at {time}",
    rules_show: "Edit alert rules",
    rules_hide: "Hide alert rules",
    kind_slow_first_token: "Slow LLM first token",
    kind_pipeline_error: "Pipeline error",
    kind_tts_discontinuity: "TTS discontinuity",
    kind_interruptions: "Frequent interruptions",
    kind_thinking_too_long: "Robot thinking too long",
    kind_customer_silence: "Customer silent too long",
    kind_keywords: "Keywords",
    kind_call_too_long: "Call too long",
};

/// The alerts screen's strings for `language`.
pub fn alerts(language: Language) -> &'static AlertsStrings {
    match language {
        Language::ZhCn => &ZH_CN,
        Language::En => &EN,
    }
}

impl AlertsStrings {
    /// Every string with its field name, for the completeness tests.
    #[cfg(test)]
    fn all(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("title", self.title),
            ("filter_label", self.filter_label),
            ("filter_unacknowledged", self.filter_unacknowledged),
            ("filter_all", self.filter_all),
            ("count_unacknowledged", self.count_unacknowledged),
            ("count_total", self.count_total),
            ("loading", self.loading),
            ("empty_all_title", self.empty_all_title),
            ("empty_all_body", self.empty_all_body),
            ("empty_unack_title", self.empty_unack_title),
            ("empty_unack_body", self.empty_unack_body),
            ("load_failed", self.load_failed),
            ("retry", self.retry),
            ("acknowledge", self.acknowledge),
            ("acknowledging", self.acknowledging),
            ("acknowledged", self.acknowledged),
            ("ack_failed", self.ack_failed),
            ("open_live", self.open_live),
            ("open_review", self.open_review),
            ("call_label", self.call_label),
            ("live_badge", self.live_badge),
            ("fired_at", self.fired_at),
            ("rules_show", self.rules_show),
            ("rules_hide", self.rules_hide),
            ("kind_slow_first_token", self.kind_slow_first_token),
            ("kind_pipeline_error", self.kind_pipeline_error),
            ("kind_tts_discontinuity", self.kind_tts_discontinuity),
            ("kind_interruptions", self.kind_interruptions),
            ("kind_thinking_too_long", self.kind_thinking_too_long),
            ("kind_customer_silence", self.kind_customer_silence),
            ("kind_keywords", self.kind_keywords),
            ("kind_call_too_long", self.kind_call_too_long),
        ]
    }
}

impl AlertsStrings {
    /// The name of a kind of rule.
    pub fn kind(&self, kind: domain::alert::AlertKind) -> &'static str {
        use domain::alert::AlertKind;
        match kind {
            AlertKind::SlowFirstToken => self.kind_slow_first_token,
            AlertKind::PipelineError => self.kind_pipeline_error,
            AlertKind::TtsDiscontinuity => self.kind_tts_discontinuity,
            AlertKind::Interruptions => self.kind_interruptions,
            AlertKind::ThinkingTooLong => self.kind_thinking_too_long,
            AlertKind::CustomerSilence => self.kind_customer_silence,
            AlertKind::Keywords => self.kind_keywords,
            AlertKind::CallTooLong => self.kind_call_too_long,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_every_string_with_the_same_placeholders() {
        let (zh, en) = (alerts(Language::ZhCn).all(), alerts(Language::En).all());
        super::super::check_tables(&zh, &en, &[]);
    }

    #[test]
    fn every_field_is_listed_for_the_completeness_tests() {
        super::super::check_listed(include_str!("alerts.rs"), "AlertsStrings", alerts(Language::En).all().len());
    }
}

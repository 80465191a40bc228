//! Every user-visible string, in 简体中文 and English.
//!
//! [`Strings`] is a struct, not a map: a string missing in one language is a compile
//! error, not a blank label. Templates use named placeholders (`{path}`) filled by
//! [`fill`]; the tests check both languages use the same placeholders.

use domain::api::{ConnectionStatus, Language, Notice};

/// The strings of one language.
#[derive(Debug, PartialEq)]
pub struct Strings {
    pub app_name: &'static str,
    pub tagline: &'static str,
    pub language_switch_label: &'static str,
    pub connection_label: &'static str,
    pub connection_not_configured: &'static str,
    pub connection_live: &'static str,
    /// `{events}`, `{secs}`
    pub connection_catching_up: &'static str,
    /// `{reason}`
    pub connection_offline: &'static str,
    pub loading: &'static str,
    pub wall_title: &'static str,
    pub wall_empty_title: &'static str,
    pub wall_empty_not_connected: &'static str,
    pub wall_empty_connected: &'static str,
    /// `{version}`
    pub version: &'static str,
    /// `{path}`
    pub data_dir: &'static str,
    /// `{language}`, `{source}`
    pub language_with_source: &'static str,
    pub language_from_os: &'static str,
    pub language_saved: &'static str,
    /// `{message}`
    pub error_banner: &'static str,
    /// `{path}`
    pub notice_settings_moved_aside: &'static str,
}

const ZH_CN: Strings = Strings {
    app_name: "Switchboard 总机",
    tagline: "AI 语音客服通话监控台",
    language_switch_label: "界面语言",
    connection_label: "连接状态",
    connection_not_configured: "未连接中心服务",
    connection_live: "实时",
    connection_catching_up: "正在追赶 · 落后 {events} 条事件（{secs} 秒）",
    connection_offline: "离线 · {reason}",
    loading: "正在加载…",
    wall_title: "实时通话墙",
    wall_empty_title: "暂无进行中的通话",
    wall_empty_not_connected: "此控制台尚未连接到中心服务（hub），因此还不会有通话进来。连接后，每一通进行中的 AI 通话都会以卡片形式显示在这里，问题最严重的排在最前。",
    wall_empty_connected: "已连接到中心服务。一旦有 AI 通话开始，它会立即出现在这里。",
    version: "版本 {version}",
    data_dir: "数据目录：{path}",
    language_with_source: "{language}（{source}）",
    language_from_os: "跟随系统语言",
    language_saved: "已保存的选择",
    error_banner: "操作未完成：{message}",
    notice_settings_moved_aside: "设置文件无法读取，已移至 {path}，当前使用默认设置。",
};

const EN: Strings = Strings {
    app_name: "Switchboard",
    tagline: "Supervisor console for AI voice calls",
    language_switch_label: "Language",
    connection_label: "Connection",
    connection_not_configured: "No hub connected",
    connection_live: "Live",
    connection_catching_up: "Catching up · {events} events behind ({secs} s)",
    connection_offline: "Offline · {reason}",
    loading: "Loading…",
    wall_title: "Live wall",
    wall_empty_title: "No live calls yet",
    wall_empty_not_connected: "This console is not connected to a hub yet, so no calls can arrive. Once it is, every live AI call shows here as a tile, the calls in most trouble first.",
    wall_empty_connected: "Connected to the hub. A call appears here as soon as an AI conversation starts.",
    version: "Version {version}",
    data_dir: "Data directory: {path}",
    language_with_source: "{language} ({source})",
    language_from_os: "following the system language",
    language_saved: "saved choice",
    error_banner: "That did not work: {message}",
    notice_settings_moved_aside: "The settings file could not be read; it was moved to {path} and the defaults are in use.",
};

/// The strings for `language`.
pub fn strings(language: Language) -> &'static Strings {
    match language {
        Language::ZhCn => &ZH_CN,
        Language::En => &EN,
    }
}

/// Replaces each `{name}` in `template` with its value.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(template.to_owned(), |text, (name, value)| text.replace(&format!("{{{name}}}"), value))
}

impl Strings {
    /// The header's label for a connection status.
    pub fn connection(&self, status: &ConnectionStatus) -> String {
        match status {
            ConnectionStatus::NotConfigured => self.connection_not_configured.to_owned(),
            ConnectionStatus::Live => self.connection_live.to_owned(),
            ConnectionStatus::CatchingUp { lag_events, lag_secs } => fill(
                self.connection_catching_up,
                &[("events", &lag_events.to_string()), ("secs", &lag_secs.to_string())],
            ),
            ConnectionStatus::Offline { reason } => fill(self.connection_offline, &[("reason", reason)]),
        }
    }

    /// The banner text for a start-up notice.
    pub fn notice(&self, notice: &Notice) -> String {
        match notice {
            Notice::SettingsMovedAside { moved_to } => fill(self.notice_settings_moved_aside, &[("path", moved_to)]),
        }
    }

    /// Every string with its field name, for the completeness tests.
    #[cfg(test)]
    fn all(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("app_name", self.app_name),
            ("tagline", self.tagline),
            ("language_switch_label", self.language_switch_label),
            ("connection_label", self.connection_label),
            ("connection_not_configured", self.connection_not_configured),
            ("connection_live", self.connection_live),
            ("connection_catching_up", self.connection_catching_up),
            ("connection_offline", self.connection_offline),
            ("loading", self.loading),
            ("wall_title", self.wall_title),
            ("wall_empty_title", self.wall_empty_title),
            ("wall_empty_not_connected", self.wall_empty_not_connected),
            ("wall_empty_connected", self.wall_empty_connected),
            ("version", self.version),
            ("data_dir", self.data_dir),
            ("language_with_source", self.language_with_source),
            ("language_from_os", self.language_from_os),
            ("language_saved", self.language_saved),
            ("error_banner", self.error_banner),
            ("notice_settings_moved_aside", self.notice_settings_moved_aside),
        ]
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn placeholders(text: &str) -> Vec<String> {
        let mut names: Vec<String> =
            text.split('{').skip(1).filter_map(|rest| rest.split_once('}')).map(|(name, _)| name.to_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn both_languages_fill_every_string_with_the_same_placeholders() {
        let (zh, en) = (strings(Language::ZhCn).all(), strings(Language::En).all());
        assert_eq!(zh.len(), en.len());
        for ((name, zh_text), (_, en_text)) in zh.iter().zip(&en) {
            assert!(!zh_text.trim().is_empty() && !en_text.trim().is_empty(), "{name} is blank in one language");
            assert_eq!(placeholders(zh_text), placeholders(en_text), "{name} has different placeholders");
        }
    }

    #[test]
    fn chinese_strings_are_actually_chinese() {
        for (name, text) in strings(Language::ZhCn).all() {
            if name == "language_with_source" {
                continue; // placeholders and full-width brackets only
            }
            let has_cjk = text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
            assert!(has_cjk, "zh-CN string {name} has no Chinese characters: {text}");
        }
    }

    #[test]
    fn connection_labels_fill_in_the_lag() {
        let status = ConnectionStatus::CatchingUp { lag_events: 42, lag_secs: 7 };
        assert_eq!(strings(Language::En).connection(&status), "Catching up · 42 events behind (7 s)");
        assert_eq!(strings(Language::ZhCn).connection(&status), "正在追赶 · 落后 42 条事件（7 秒）");
    }
}

//! Every user-visible string, in 简体中文 and English.
//!
//! [`Strings`] is a struct, not a map: a string missing in one language is a compile
//! error, not a blank label. Templates use named placeholders (`{path}`) filled by
//! [`fill`]; the tests check both languages use the same placeholders. Each screen's own
//! strings live beside these in a module of their own (`alerts`, `call`, `review`,
//! `settings`), checked by the same [`check_tables`].

pub mod alerts;
pub mod call;
pub mod review;
pub mod settings;

use domain::api::{ConnectionStatus, Language, Notice};
use domain::call::HealthReason;
use domain::event::{PipelineError, PipelineStage, RobotState};

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
    /// `{path}`
    pub notice_cache_moved_aside: &'static str,
    /// `{message}`
    pub notice_cache_write_failing: &'static str,
    pub notice_cache_write_recovered: &'static str,
    /// `{message}`
    pub notice_link_failed: &'static str,
    pub dismiss: &'static str,
    pub connection_connecting: &'static str,
    pub wall_empty_connecting: &'static str,
    pub hub_label: &'static str,
    pub hub_demo: &'static str,
    pub summary_live_calls: &'static str,
    pub summary_failing: &'static str,
    pub summary_degraded: &'static str,
    pub summary_robot_states: &'static str,
    pub state_starting: &'static str,
    pub state_ready: &'static str,
    pub state_listening: &'static str,
    pub state_thinking: &'static str,
    pub state_speaking: &'static str,
    pub state_interrupted: &'static str,
    pub state_finished: &'static str,
    pub speaker_customer: &'static str,
    pub speaker_robot: &'static str,
    /// `{room}`
    pub tile_room: &'static str,
    pub tile_nothing_said: &'static str,
    pub tile_duration: &'static str,
    /// `{count}`
    pub tile_errors: &'static str,
    /// `{count}`
    pub tile_watchers: &'static str,
    /// `{name}`
    pub tile_locked_by: &'static str,
    /// `{name}`
    pub tile_taken_over_by: &'static str,
    /// `{count}`
    pub tile_more_reasons: &'static str,
    pub health_healthy: &'static str,
    pub health_start_failed: &'static str,
    /// `{stage}`, `{code}`
    pub health_pipeline_error: &'static str,
    /// `{meaning}`, `{code}`
    pub health_pipeline_error_known: &'static str,
    /// `{code}`
    pub health_ended_abnormally: &'static str,
    /// `{secs}`
    pub health_thinking_too_long: &'static str,
    /// `{ms}`, `{over}`, `{of}`
    pub health_slow_llm: &'static str,
    /// `{ms}`, `{over}`, `{of}`
    pub health_slow_asr: &'static str,
    /// `{ms}`, `{over}`, `{of}`
    pub health_slow_tts: &'static str,
    /// `{count}`
    pub health_tts_discontinuity: &'static str,
    /// `{count}`, `{of}`
    pub health_interruptions: &'static str,
    pub stage_other: &'static str,
    pub meaning_asr_timeout: &'static str,
    pub meaning_asr_internal_error: &'static str,
    pub meaning_llm_timeout: &'static str,
    pub meaning_llm_rate_limited: &'static str,
    pub meaning_llm_failed: &'static str,
    pub meaning_tts_timeout: &'static str,
    pub meaning_tts_rate_limited: &'static str,
    pub meaning_tts_failed: &'static str,
    pub nav_label: &'static str,
    pub nav_wall: &'static str,
    pub nav_review: &'static str,
    pub nav_alerts: &'static str,
    pub nav_settings: &'static str,
    /// `{count}`
    pub nav_unacknowledged: &'static str,
    pub back: &'static str,
    /// `{count}`
    pub tile_alerts: &'static str,
    /// `{limit}`
    pub tile_sparkline: &'static str,
    pub summary_llm_first_token: &'static str,
    /// `{ms}`
    pub summary_p50: &'static str,
    /// `{ms}`
    pub summary_p90: &'static str,
    pub summary_no_latency: &'static str,
    pub filter_label: &'static str,
    pub filter_any_state: &'static str,
    pub filter_has_error: &'static str,
    pub filter_slow: &'static str,
    pub filter_alerted: &'static str,
    pub filter_taken_over: &'static str,
    pub filter_clear: &'static str,
    /// `{shown}`, `{total}`
    pub wall_filtered: &'static str,
    pub wall_empty_filtered: &'static str,
    pub wall_keyboard_hint: &'static str,
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
    notice_cache_moved_aside: "本地缓存数据库未通过完整性检查，已移至 {path}，正在从中心服务重建。",
    notice_cache_write_failing: "无法写入本地缓存：{message}。事件暂存在中心服务，恢复写入后会自动补齐。",
    notice_cache_write_recovered: "本地缓存已恢复写入，暂存的事件正在补齐。",
    notice_link_failed: "无法建立与中心服务的连接：{message}",
    dismiss: "关闭",
    connection_connecting: "正在连接…",
    wall_empty_connecting: "正在连接中心服务。连接建立后，进行中的 AI 通话会立即显示在这里。",
    hub_label: "中心服务",
    hub_demo: "内置演示",
    summary_live_calls: "进行中的通话",
    summary_failing: "故障",
    summary_degraded: "需关注",
    summary_robot_states: "机器人状态",
    state_starting: "启动中",
    state_ready: "已就绪",
    state_listening: "聆听中",
    state_thinking: "思考中",
    state_speaking: "说话中",
    state_interrupted: "被打断",
    state_finished: "已说完",
    speaker_customer: "客户",
    speaker_robot: "AI 客服",
    tile_room: "房间 {room}",
    tile_nothing_said: "还没有完整的语句",
    tile_duration: "通话时长",
    tile_errors: "错误 {count}",
    tile_watchers: "{count} 人在看",
    tile_locked_by: "{name} 持有锁",
    tile_taken_over_by: "{name} 已接管",
    tile_more_reasons: "另有 {count} 项",
    health_healthy: "正常",
    health_start_failed: "启动失败",
    health_pipeline_error: "{stage} 出错（错误码 {code}）",
    health_pipeline_error_known: "{meaning}（错误码 {code}）",
    health_ended_abnormally: "异常结束（离开码 {code}）",
    health_thinking_too_long: "已思考 {secs} 秒",
    health_slow_llm: "大模型首字慢：最高 {ms} 毫秒（近 {of} 轮中 {over} 轮）",
    health_slow_asr: "语音识别慢：最高 {ms} 毫秒（近 {of} 轮中 {over} 轮）",
    health_slow_tts: "语音合成首帧慢：最高 {ms} 毫秒（近 {of} 轮中 {over} 轮）",
    health_tts_discontinuity: "语音合成断续 {count} 次",
    health_interruptions: "近 {of} 轮中被打断 {count} 次",
    stage_other: "其他环节",
    meaning_asr_timeout: "语音识别超时",
    meaning_asr_internal_error: "语音识别内部错误",
    meaning_llm_timeout: "大模型响应超时",
    meaning_llm_rate_limited: "大模型请求被限流",
    meaning_llm_failed: "大模型请求失败",
    meaning_tts_timeout: "语音合成超时",
    meaning_tts_rate_limited: "语音合成被限流",
    meaning_tts_failed: "语音合成失败",
    nav_label: "主导航",
    nav_wall: "实时墙",
    nav_review: "回看",
    nav_alerts: "告警",
    nav_settings: "设置",
    nav_unacknowledged: "{count} 条未确认",
    back: "返回",
    tile_alerts: "告警 {count}",
    tile_sparkline: "近几轮大模型首字耗时（红线 {limit} 毫秒）",
    summary_llm_first_token: "大模型首字 · 近 5 分钟",
    summary_p50: "中位 {ms} 毫秒",
    summary_p90: "P90 {ms} 毫秒",
    summary_no_latency: "暂无数据",
    filter_label: "筛选通话",
    filter_any_state: "全部状态",
    filter_has_error: "有错误",
    filter_slow: "响应慢",
    filter_alerted: "有告警",
    filter_taken_over: "已接管",
    filter_clear: "清除筛选",
    wall_filtered: "显示 {shown} / {total} 通",
    wall_empty_filtered: "没有符合筛选条件的通话。",
    wall_keyboard_hint: "方向键切换通话，回车打开",
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
    notice_cache_moved_aside: "The local cache failed its integrity check; it was moved to {path} and is being rebuilt from the hub.",
    notice_cache_write_failing: "Cannot write the local cache: {message}. Events wait in the hub and are caught up once writing works again.",
    notice_cache_write_recovered: "The local cache is being written again; waiting events are being caught up.",
    notice_link_failed: "Could not set up the link to the hub: {message}",
    dismiss: "Dismiss",
    connection_connecting: "Connecting…",
    wall_empty_connecting: "Connecting to the hub. Live AI calls appear here as soon as the link is up.",
    hub_label: "Hub",
    hub_demo: "Built-in demo",
    summary_live_calls: "Live calls",
    summary_failing: "Failing",
    summary_degraded: "Needs attention",
    summary_robot_states: "Robot states",
    state_starting: "Starting",
    state_ready: "Ready",
    state_listening: "Listening",
    state_thinking: "Thinking",
    state_speaking: "Speaking",
    state_interrupted: "Interrupted",
    state_finished: "Finished",
    speaker_customer: "Customer",
    speaker_robot: "AI",
    tile_room: "Room {room}",
    tile_nothing_said: "Nothing said yet",
    tile_duration: "Call duration",
    tile_errors: "Errors {count}",
    tile_watchers: "{count} watching",
    tile_locked_by: "Locked by {name}",
    tile_taken_over_by: "Taken over by {name}",
    tile_more_reasons: "+{count} more",
    health_healthy: "Healthy",
    health_start_failed: "Failed to start",
    health_pipeline_error: "{stage} error (code {code})",
    health_pipeline_error_known: "{meaning} (code {code})",
    health_ended_abnormally: "Ended abnormally (leave code {code})",
    health_thinking_too_long: "Thinking for {secs} s",
    health_slow_llm: "Slow LLM first token: up to {ms} ms ({over} of {of} turns)",
    health_slow_asr: "Slow speech recognition: up to {ms} ms ({over} of {of} turns)",
    health_slow_tts: "Slow speech synthesis: up to {ms} ms ({over} of {of} turns)",
    health_tts_discontinuity: "Speech synthesis gaps: {count}",
    health_interruptions: "Interrupted in {count} of {of} turns",
    stage_other: "Pipeline",
    meaning_asr_timeout: "Speech recognition timed out",
    meaning_asr_internal_error: "Speech recognition internal error",
    meaning_llm_timeout: "LLM timed out",
    meaning_llm_rate_limited: "LLM rate limited",
    meaning_llm_failed: "LLM request failed",
    meaning_tts_timeout: "Speech synthesis timed out",
    meaning_tts_rate_limited: "Speech synthesis rate limited",
    meaning_tts_failed: "Speech synthesis failed",
    nav_label: "Main navigation",
    nav_wall: "Live wall",
    nav_review: "Review",
    nav_alerts: "Alerts",
    nav_settings: "Settings",
    nav_unacknowledged: "{count} not acknowledged",
    back: "Back",
    tile_alerts: "Alerts {count}",
    tile_sparkline: "LLM first token, latest turns (line at {limit} ms)",
    summary_llm_first_token: "LLM first token · last 5 min",
    summary_p50: "p50 {ms} ms",
    summary_p90: "p90 {ms} ms",
    summary_no_latency: "no turns yet",
    filter_label: "Filter calls",
    filter_any_state: "Any state",
    filter_has_error: "Has error",
    filter_slow: "Slow",
    filter_alerted: "Alerted",
    filter_taken_over: "Taken over",
    filter_clear: "Clear filters",
    wall_filtered: "Showing {shown} of {total}",
    wall_empty_filtered: "No live call matches these filters.",
    wall_keyboard_hint: "Arrow keys move between calls, Enter opens one",
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
            ConnectionStatus::Connecting => self.connection_connecting.to_owned(),
        }
    }

    /// The banner text for a notice.
    pub fn notice(&self, notice: &Notice) -> String {
        match notice {
            Notice::SettingsMovedAside { moved_to } => fill(self.notice_settings_moved_aside, &[("path", moved_to)]),
            Notice::CacheMovedAside { moved_to } => fill(self.notice_cache_moved_aside, &[("path", moved_to)]),
            Notice::CacheWriteFailing { message } => fill(self.notice_cache_write_failing, &[("message", message)]),
            Notice::CacheWriteRecovered => self.notice_cache_write_recovered.to_owned(),
            Notice::LinkFailed { message } => fill(self.notice_link_failed, &[("message", message)]),
        }
    }

    /// The badge label for a robot state.
    pub fn robot_state(&self, state: RobotState) -> &'static str {
        match state {
            RobotState::Listening => self.state_listening,
            RobotState::Thinking => self.state_thinking,
            RobotState::Speaking => self.state_speaking,
            RobotState::Interrupted => self.state_interrupted,
            RobotState::Finished => self.state_finished,
        }
    }

    /// What a health reason says to a supervisor, with its figures.
    pub fn health_reason(&self, reason: &HealthReason) -> String {
        let slow = |template: &str, ms: &u64, over: &usize, of: &usize| {
            fill(template, &[("ms", &ms.to_string()), ("over", &over.to_string()), ("of", &of.to_string())])
        };
        match reason {
            HealthReason::StartFailed => self.health_start_failed.to_owned(),
            HealthReason::PipelineError { stage, code } => match self.error_meaning(*code) {
                Some(meaning) => {
                    fill(self.health_pipeline_error_known, &[("meaning", meaning), ("code", &code.to_string())])
                }
                None => fill(self.health_pipeline_error, &[("stage", self.stage(*stage)), ("code", &code.to_string())]),
            },
            HealthReason::EndedAbnormally { leave_code } => {
                fill(self.health_ended_abnormally, &[("code", &leave_code.code().to_string())])
            }
            HealthReason::ThinkingTooLong { secs } => {
                fill(self.health_thinking_too_long, &[("secs", &secs.to_string())])
            }
            HealthReason::SlowLlm { ms, turns_over, of } => slow(self.health_slow_llm, ms, turns_over, of),
            HealthReason::SlowAsr { ms, turns_over, of } => slow(self.health_slow_asr, ms, turns_over, of),
            HealthReason::SlowTts { ms, turns_over, of } => slow(self.health_slow_tts, ms, turns_over, of),
            HealthReason::TtsDiscontinuity { count } => {
                fill(self.health_tts_discontinuity, &[("count", &count.to_string())])
            }
            HealthReason::Interruptions { count, of } => {
                fill(self.health_interruptions, &[("count", &count.to_string()), ("of", &of.to_string())])
            }
        }
    }

    /// A pipeline stage's name: the industry's abbreviations, the same in both languages.
    fn stage(&self, stage: PipelineStage) -> &'static str {
        match stage {
            PipelineStage::Asr => "ASR",
            PipelineStage::Llm => "LLM",
            PipelineStage::Tts => "TTS",
            PipelineStage::Other => self.stage_other,
        }
    }

    /// What a documented TRTC pipeline error code means (`PipelineError::meaning`'s keys).
    fn error_meaning(&self, code: i64) -> Option<&'static str> {
        let probe = PipelineError { stage: PipelineStage::Other, code, message: String::new(), metric: String::new() };
        Some(match probe.meaning()? {
            "asr_timeout" => self.meaning_asr_timeout,
            "asr_internal_error" => self.meaning_asr_internal_error,
            "llm_timeout" => self.meaning_llm_timeout,
            "llm_rate_limited" => self.meaning_llm_rate_limited,
            "llm_failed" => self.meaning_llm_failed,
            "tts_timeout" => self.meaning_tts_timeout,
            "tts_rate_limited" => self.meaning_tts_rate_limited,
            "tts_failed" => self.meaning_tts_failed,
            // A key domain added later: the generic wording still names stage and code.
            _ => return None,
        })
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
            ("notice_cache_moved_aside", self.notice_cache_moved_aside),
            ("notice_cache_write_failing", self.notice_cache_write_failing),
            ("notice_cache_write_recovered", self.notice_cache_write_recovered),
            ("notice_link_failed", self.notice_link_failed),
            ("dismiss", self.dismiss),
            ("connection_connecting", self.connection_connecting),
            ("wall_empty_connecting", self.wall_empty_connecting),
            ("hub_label", self.hub_label),
            ("hub_demo", self.hub_demo),
            ("summary_live_calls", self.summary_live_calls),
            ("summary_failing", self.summary_failing),
            ("summary_degraded", self.summary_degraded),
            ("summary_robot_states", self.summary_robot_states),
            ("state_starting", self.state_starting),
            ("state_ready", self.state_ready),
            ("state_listening", self.state_listening),
            ("state_thinking", self.state_thinking),
            ("state_speaking", self.state_speaking),
            ("state_interrupted", self.state_interrupted),
            ("state_finished", self.state_finished),
            ("speaker_customer", self.speaker_customer),
            ("speaker_robot", self.speaker_robot),
            ("tile_room", self.tile_room),
            ("tile_nothing_said", self.tile_nothing_said),
            ("tile_duration", self.tile_duration),
            ("tile_errors", self.tile_errors),
            ("tile_watchers", self.tile_watchers),
            ("tile_locked_by", self.tile_locked_by),
            ("tile_taken_over_by", self.tile_taken_over_by),
            ("tile_more_reasons", self.tile_more_reasons),
            ("health_healthy", self.health_healthy),
            ("health_start_failed", self.health_start_failed),
            ("health_pipeline_error", self.health_pipeline_error),
            ("health_pipeline_error_known", self.health_pipeline_error_known),
            ("health_ended_abnormally", self.health_ended_abnormally),
            ("health_thinking_too_long", self.health_thinking_too_long),
            ("health_slow_llm", self.health_slow_llm),
            ("health_slow_asr", self.health_slow_asr),
            ("health_slow_tts", self.health_slow_tts),
            ("health_tts_discontinuity", self.health_tts_discontinuity),
            ("health_interruptions", self.health_interruptions),
            ("stage_other", self.stage_other),
            ("meaning_asr_timeout", self.meaning_asr_timeout),
            ("meaning_asr_internal_error", self.meaning_asr_internal_error),
            ("meaning_llm_timeout", self.meaning_llm_timeout),
            ("meaning_llm_rate_limited", self.meaning_llm_rate_limited),
            ("meaning_llm_failed", self.meaning_llm_failed),
            ("meaning_tts_timeout", self.meaning_tts_timeout),
            ("meaning_tts_rate_limited", self.meaning_tts_rate_limited),
            ("meaning_tts_failed", self.meaning_tts_failed),
            ("nav_label", self.nav_label),
            ("nav_wall", self.nav_wall),
            ("nav_review", self.nav_review),
            ("nav_alerts", self.nav_alerts),
            ("nav_settings", self.nav_settings),
            ("nav_unacknowledged", self.nav_unacknowledged),
            ("back", self.back),
            ("tile_alerts", self.tile_alerts),
            ("tile_sparkline", self.tile_sparkline),
            ("summary_llm_first_token", self.summary_llm_first_token),
            ("summary_p50", self.summary_p50),
            ("summary_p90", self.summary_p90),
            ("summary_no_latency", self.summary_no_latency),
            ("filter_label", self.filter_label),
            ("filter_any_state", self.filter_any_state),
            ("filter_has_error", self.filter_has_error),
            ("filter_slow", self.filter_slow),
            ("filter_alerted", self.filter_alerted),
            ("filter_taken_over", self.filter_taken_over),
            ("filter_clear", self.filter_clear),
            ("wall_filtered", self.wall_filtered),
            ("wall_empty_filtered", self.wall_empty_filtered),
            ("wall_keyboard_hint", self.wall_keyboard_hint),
        ]
    }
}

/// The checks every string table passes — this one and each screen's own (`i18n::<screen>`):
/// the same strings in both languages, none blank, the same placeholders, and Chinese
/// characters in every zh-CN string except those named in `not_chinese`. A screen's table
/// calls it from its tests with its `all()` lists.
#[cfg(test)]
pub(crate) fn check_tables(zh: &[(&str, &str)], en: &[(&str, &str)], not_chinese: &[&str]) {
    fn placeholders(text: &str) -> Vec<String> {
        let mut names: Vec<String> =
            text.split('{').skip(1).filter_map(|rest| rest.split_once('}')).map(|(name, _)| name.to_owned()).collect();
        names.sort();
        names
    }
    assert_eq!(zh.len(), en.len(), "the two languages list different numbers of strings");
    for ((name, zh_text), (en_name, en_text)) in zh.iter().zip(en) {
        assert_eq!(name, en_name, "the two lists are in different orders");
        assert!(!zh_text.trim().is_empty() && !en_text.trim().is_empty(), "{name} is blank in one language");
        assert_eq!(placeholders(zh_text), placeholders(en_text), "{name} has different placeholders");
        let has_cjk = zh_text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
        assert!(has_cjk || not_chinese.contains(name), "zh-CN string {name} has no Chinese characters: {zh_text}");
    }
}

/// `all()` lists are written by hand; a field left out would escape [`check_tables`]. This
/// counts the `pub` fields of `struct_name` in `source` (the file's own `include_str!`).
#[cfg(test)]
pub(crate) fn check_listed(source: &str, struct_name: &str, listed: usize) {
    let fields = source
        .split(&format!("pub struct {struct_name} {{"))
        .nth(1)
        .and_then(|rest| rest.split("\n}\n").next())
        .map(|body| body.lines().filter(|line| line.trim_start().starts_with("pub ")).count());
    assert_eq!(fields, Some(listed), "{struct_name} has {fields:?} fields but all() lists {listed}");
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_every_string_with_the_same_placeholders() {
        let (zh, en) = (strings(Language::ZhCn).all(), strings(Language::En).all());
        // language_with_source is placeholders and full-width brackets only.
        check_tables(&zh, &en, &["language_with_source"]);
    }

    #[test]
    fn every_field_is_listed_for_the_completeness_tests() {
        check_listed(include_str!("mod.rs"), "Strings", strings(Language::En).all().len());
    }

    #[test]
    #[should_panic(expected = "different placeholders")]
    fn the_table_check_catches_a_placeholder_missing_in_one_language() {
        check_tables(&[("greeting", "你好 {name}")], &[("greeting", "Hello {nom}")], &[]);
    }

    #[test]
    fn health_reasons_read_as_sentences_with_their_figures() {
        let (en, zh) = (strings(Language::En), strings(Language::ZhCn));
        let rate_limited = HealthReason::PipelineError { stage: PipelineStage::Llm, code: 30201 };
        assert_eq!(en.health_reason(&rate_limited), "LLM rate limited (code 30201)");
        assert_eq!(zh.health_reason(&rate_limited), "大模型请求被限流（错误码 30201）");
        let unknown = HealthReason::PipelineError { stage: PipelineStage::Tts, code: 40001 };
        assert_eq!(en.health_reason(&unknown), "TTS error (code 40001)", "undocumented codes name the stage");
        let other = HealthReason::PipelineError { stage: PipelineStage::Other, code: 7 };
        assert_eq!(zh.health_reason(&other), "其他环节 出错（错误码 7）");
        let slow = HealthReason::SlowLlm { ms: 3150, turns_over: 2, of: 5 };
        assert_eq!(en.health_reason(&slow), "Slow LLM first token: up to 3150 ms (2 of 5 turns)");
        assert_eq!(zh.health_reason(&slow), "大模型首字慢：最高 3150 毫秒（近 5 轮中 2 轮）");
        assert_eq!(en.health_reason(&HealthReason::ThinkingTooLong { secs: 11 }), "Thinking for 11 s");
        let storm = HealthReason::Interruptions { count: 3, of: 3 };
        assert_eq!(zh.health_reason(&storm), "近 3 轮中被打断 3 次");
        let ended = HealthReason::EndedAbnormally { leave_code: domain::event::LeaveCode::InternalError };
        assert_eq!(en.health_reason(&ended), "Ended abnormally (leave code 98)");
    }

    #[test]
    fn every_notice_names_what_happened() {
        let en = strings(Language::En);
        let failing = Notice::CacheWriteFailing { message: "disk full".into() };
        assert!(en.notice(&failing).starts_with("Cannot write the local cache: disk full."));
        let moved = Notice::CacheMovedAside { moved_to: "/d/cache.sqlite.corrupt".into() };
        assert!(strings(Language::ZhCn).notice(&moved).contains("/d/cache.sqlite.corrupt"));
        let link = Notice::LinkFailed { message: "hub token missing".into() };
        assert_eq!(en.notice(&link), "Could not set up the link to the hub: hub token missing");
        assert!(!en.notice(&Notice::CacheWriteRecovered).is_empty());
    }

    #[test]
    fn connection_labels_fill_in_the_lag() {
        let status = ConnectionStatus::CatchingUp { lag_events: 42, lag_secs: 7 };
        assert_eq!(strings(Language::En).connection(&status), "Catching up · 42 events behind (7 s)");
        assert_eq!(strings(Language::ZhCn).connection(&status), "正在追赶 · 落后 42 条事件（7 秒）");
    }
}

//! The traffic generator: the emulator playing a customer's business backend. It starts AI
//! conversations through the real Cloud API with the `trtc` client — signed, rate limited,
//! exactly as a backend would — keeping up to `calls` running, with Poisson arrivals at
//! `arrival_per_minute` (scaled by the speed factor) and random scenarios from the seed.
//! Every call's `LLMConfig` points at `llm_url` (by default the emulator's own scripted
//! endpoint), streaming, with a system prompt, two rounds of history and an API key. A
//! `recorded_share` of the calls is also recorded: `CreateCloudRecording` (mixed audio,
//! VOD storage) on the call's room just before the call starts; the recorder stops by
//! itself [`RECORDER_IDLE_SECS`] after the room goes quiet, as TRTC's `MaxIdleTime` does.

use std::{sync::Arc, time::Duration};

use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::json;
use trtc::{
    client::Client,
    model::{CreateCloudRecording, StartAIConversation},
};

use crate::cloud_api::Cloud;

/// What traffic to generate.
#[derive(Debug, Clone)]
pub struct TrafficConfig {
    /// Calls to keep running at once; 0 generates nothing.
    pub calls: usize,
    /// Mean new calls per minute (of emulated time) while below `calls`.
    pub arrival_per_minute: f64,
    /// The share (0–1) of calls that are also recorded.
    pub recorded_share: f64,
    pub speed: f64,
    pub seed: u64,
    pub sdk_app_id: u64,
    /// Mints the robots' UserSigs; without it the emulator does not check them, and a
    /// ticket signed with a throwaway key is sent.
    pub sdk_secret_key: Option<String>,
    /// The OpenAI-compatible chat-completions URL the calls' `LLMConfig.APIUrl` names.
    pub llm_url: String,
    /// The `APIKey` the calls' `LLMConfig` carries.
    pub llm_api_key: String,
}

/// The recorder's `MaxIdleTime`: it stops this long (emulated seconds) after the call's
/// room went quiet.
pub const RECORDER_IDLE_SECS: u64 = 5;

/// The `APIKey` generated calls use unless told otherwise.
pub const DEFAULT_LLM_API_KEY: &str = "emulated";

/// Runs until aborted.
pub fn spawn(client: Client, cloud: Arc<Cloud>, config: TrafficConfig) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut rng = StdRng::seed_from_u64(config.seed);
        let speed = if config.speed.is_finite() && config.speed > 0.0 { config.speed } else { 1.0 };
        let per_sec = (config.arrival_per_minute / 60.0).max(1e-6);
        let mut started: u64 = 0;
        loop {
            // Exponential inter-arrival time, in emulated seconds, then scaled.
            let u: f64 = rng.random_range(f64::EPSILON..1.0);
            let wait = (-u.ln() / per_sec / speed).min(3600.0);
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
            // At the cap, sleep until a call ends rather than waking at the arrival rate.
            while cloud.live_calls() >= config.calls {
                cloud.call_ended().await;
            }
            started += 1;
            let request = scenario(&mut rng, &config, started);
            if rng.random_bool(config.recorded_share.clamp(0.0, 1.0)) {
                let recording = recording(&config, &request, started);
                match client.create_cloud_recording(&recording).await {
                    Ok(answer) => tracing::debug!(task_id = ?answer.task_id, "traffic: recording started"),
                    Err(err) => tracing::warn!(error = %err, "traffic: CreateCloudRecording failed"),
                }
            }
            match client.start_ai_conversation(&request).await {
                Ok(answer) => tracing::debug!(task_id = ?answer.task_id, "traffic: call started"),
                Err(err) => tracing::warn!(error = %err, "traffic: StartAIConversation failed"),
            }
        }
    })
}

/// The recording of `call`'s room, as a backend would ask for it: mixed audio into VOD,
/// with its own recorder user and ticket.
fn recording(config: &TrafficConfig, call: &StartAIConversation, n: u64) -> CreateCloudRecording {
    let recorder = format!("recorder_{n}");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let key = config.sdk_secret_key.as_deref().unwrap_or("traffic-generator-unverified-key");
    let user_sig = trtc::usersig::generate(config.sdk_app_id, key, &recorder, 86_400, now).unwrap_or_default();
    // The AI actions' RoomIdType is 1 for strings; recording's is inverted (1 = integer).
    let string_room = call.room_id_type == Some(1);
    let body = json!({
        "SdkAppId": config.sdk_app_id,
        "RoomId": call.room_id,
        "RoomIdType": u64::from(!string_room),
        "UserId": recorder,
        "UserSig": user_sig,
        "RecordParams": {"RecordMode": 2, "StreamType": 1, "MaxIdleTime": RECORDER_IDLE_SECS},
        "StorageParams": {"CloudVod": {"TencentVod": {"ExpireTime": 0}}},
    });
    match serde_json::from_value(body) {
        Ok(request) => request,
        Err(err) => unreachable!("the recording JSON above matches CreateCloudRecording: {err}"),
    }
}

/// One call as a backend would start it: a room, a robot and a customer, zh or en.
fn scenario(rng: &mut StdRng, config: &TrafficConfig, n: u64) -> StartAIConversation {
    let english = rng.random_bool(0.4);
    let string_room = rng.random_bool(0.2);
    let room_id = if string_room {
        format!("room_{:08x}", rng.random::<u32>())
    } else {
        rng.random_range(100_000..99_999_999u64).to_string()
    };
    let robot = format!("ai_robot_{n}");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let key = config.sdk_secret_key.as_deref().unwrap_or("traffic-generator-unverified-key");
    let user_sig = trtc::usersig::generate(config.sdk_app_id, key, &robot, 86_400, now).unwrap_or_default();
    let (language, welcome, voice, prompt) = if english {
        (
            "en",
            "Hello, this is the virtual assistant. How can I help you today?",
            "v-female-p9Xy7Q1L",
            "You are a polite customer-service agent. Answer in one or two short sentences.",
        )
    } else {
        (
            "zh",
            "您好，我是智能客服小美，请问有什么可以帮您？",
            "female-kefu-xiaomei",
            "你是礼貌的客服，用一两句话简短回答。",
        )
    };
    let body = json!({
        "SdkAppId": config.sdk_app_id,
        "RoomId": room_id,
        "RoomIdType": u64::from(string_room),
        "SessionId": format!("traffic-{}-{n}", config.seed),
        "AgentConfig": {
            "UserId": robot, "UserSig": user_sig, "TargetUserId": format!("customer_{n}"),
            "MaxIdleTime": 30, "WelcomeMessage": welcome, "InterruptMode": 0, "InterruptSpeechDuration": 500,
            "SubtitleMode": u64::from(rng.random_bool(0.3)),
        },
        "STTConfig": {"Language": language, "VadSilenceTime": rng.random_range(500..1200u64)},
        "LLMConfig": json!({"LLMType": "openai", "Model": "gpt-4o-mini", "APIKey": config.llm_api_key,
                            "APIUrl": config.llm_url, "Streaming": true, "SystemPrompt": prompt,
                            "History": 2}).to_string(),
        "TTSConfig": json!({"TTSType": "flow", "VoiceId": voice, "Model": "flow_01_turbo", "Language": language}).to_string(),
    });
    // Built from JSON through the typed model, so what is sent is what a typed backend sends.
    match serde_json::from_value(body) {
        Ok(request) => request,
        Err(err) => unreachable!("the scenario JSON above matches StartAIConversation: {err}"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn config(seed: u64) -> TrafficConfig {
        TrafficConfig {
            calls: 1,
            arrival_per_minute: 60.0,
            recorded_share: 0.5,
            speed: 1.0,
            seed,
            sdk_app_id: 1_400_000_000,
            sdk_secret_key: Some("traffic-test-secret".into()),
            llm_url: "http://127.0.0.1:8721/v1/chat/completions".into(),
            llm_api_key: DEFAULT_LLM_API_KEY.into(),
        }
    }

    #[test]
    fn every_generated_scenario_is_a_valid_typed_request_with_a_ticket_for_its_robot() {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let mut languages = std::collections::BTreeSet::new();
        for seed in 0..20 {
            let mut rng = StdRng::seed_from_u64(seed);
            for n in 1..=25 {
                // `scenario` would hit its unreachable! if the JSON and the model disagreed.
                let request = scenario(&mut rng, &config(seed), n);
                assert_eq!(request.agent_config.user_id, format!("ai_robot_{n}"));
                assert_eq!(request.agent_config.target_user_id, format!("customer_{n}"));
                let claims = trtc::usersig::verify(
                    request.agent_config.user_sig.expose(),
                    1_400_000_000,
                    "traffic-test-secret",
                    &request.agent_config.user_id,
                    now,
                )
                .expect("the robot's UserSig verifies with the application's secret");
                assert_eq!(claims.identifier, request.agent_config.user_id);
                let language = request.stt_config.as_ref().and_then(|stt| stt.language.clone()).unwrap();
                languages.insert(language);
            }
        }
        assert_eq!(languages.into_iter().collect::<Vec<_>>(), ["en", "zh"], "both languages are generated");
    }

    #[test]
    fn a_recorded_call_is_recorded_in_its_own_room_with_the_room_id_type_inverted() {
        let config = config(3);
        let mut rng = StdRng::seed_from_u64(3);
        let mut kinds = std::collections::BTreeSet::new();
        for n in 1..=40 {
            let call = scenario(&mut rng, &config, n);
            let recording = recording(&config, &call, n);
            assert_eq!(recording.room_id, call.room_id);
            let string_room = call.room_id_type == Some(1);
            assert_eq!(recording.room_id_type, Some(u64::from(!string_room)), "room {}", call.room_id);
            assert_eq!(recording.user_id, format!("recorder_{n}"));
            assert_eq!(recording.record_params.max_idle_time, Some(RECORDER_IDLE_SECS));
            kinds.insert(string_room);
        }
        assert_eq!(kinds.len(), 2, "both kinds of room were tried");
    }
}

//! Our own `trtc` client against the emulator: every action, signed by the client and
//! verified by the emulator, with typed answers and typed errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use emulator::CloudConfig;
use serde_json::json;
use trtc::{
    client::{Client, ClientConfig, Endpoint},
    credentials::Credentials,
    error::ErrorKind,
    model::*,
};

const APP: u64 = 1_400_000_000;
const SDK_SECRET: &str = "trtc-client-test-sdk-secret";

fn typed<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).expect("the request JSON matches the typed model")
}

#[tokio::test]
async fn every_action_runs_through_the_trtc_client_against_the_emulator() {
    let running = emulator::start(
        CloudConfig {
            sdk_app_id: APP,
            keys: vec![("AKIDclientTEST".into(), "client-test-key".into())],
            sdk_secret_key: Some(SDK_SECRET.into()),
            rate_limit: 20,
            clock_offset_secs: 0,
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let client = Client::new(
        ClientConfig::new(Credentials::new("AKIDclientTEST", "client-test-key").unwrap(), "ap-guangzhou")
            .with_endpoint(Endpoint::Url(running.base_url.clone())),
    )
    .unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let robot_sig = trtc::usersig::generate(APP, SDK_SECRET, "ai_robot_7", 600, now).unwrap();
    let recorder_sig = trtc::usersig::generate(APP, SDK_SECRET, "recorder_7", 600, now).unwrap();

    let start: StartAIConversation = typed(json!({
        "SdkAppId": APP, "RoomId": "20261124", "SessionId": "client-session",
        "AgentConfig": {"UserId": "ai_robot_7", "UserSig": robot_sig, "TargetUserId": "customer_7", "WelcomeMessage": "Hello!"},
        "STTConfig": {"Language": "en", "VadSilenceTime": 600},
        "LLMConfig": "{\"LLMType\":\"openai\",\"Model\":\"gpt-4o-mini\",\"APIKey\":\"sk-x\",\"APIUrl\":\"http://127.0.0.1:9/v1/chat/completions\"}",
        "TTSConfig": "{\"TTSType\":\"flow\",\"VoiceId\":\"v-female-R2s4N9qJ\",\"Model\":\"flow_01_turbo\"}"
    }));
    let started = client.start_ai_conversation(&start).await.unwrap();
    let task_id = started.task_id.clone().expect("Start answers a TaskId");
    assert!(!started.request_id.is_empty());

    let described =
        client.describe_ai_conversation(&typed::<DescribeAIConversation>(json!({"TaskId": task_id}))).await.unwrap();
    assert!(
        matches!(described.status, Some(ConversationStatus::Preparing | ConversationStatus::InProgress)),
        "a fresh task is preparing or in progress: {described:?}"
    );
    assert_eq!(described.session_id.as_deref(), Some("client-session"));

    client
        .control_ai_conversation(&typed::<ControlAIConversation>(
            json!({"TaskId": task_id, "Command": "ServerPushText",
            "ServerPushText": {"Text": "One moment please.", "Interrupt": true}}),
        ))
        .await
        .unwrap();
    client
        .control_ai_conversation(&typed::<ControlAIConversation>(json!({"TaskId": task_id, "Command": "InvokeLLM",
            "InvokeLLM": {"Content": "Offer a refund.", "Interrupt": false}})))
        .await
        .unwrap();
    client
        .update_ai_conversation(&typed::<UpdateAIConversation>(json!({"TaskId": task_id, "InterruptMode": 1})))
        .await
        .unwrap();
    client.stop_ai_conversation(&typed::<StopAIConversation>(json!({"TaskId": task_id}))).await.unwrap();
    let again =
        client.stop_ai_conversation(&typed::<StopAIConversation>(json!({"TaskId": task_id}))).await.unwrap_err();
    let api = again.api().expect("a second stop is a Cloud API error");
    assert_eq!((api.code.as_str(), api.kind), ("FailedOperation.TaskNotExist", ErrorKind::FailedOperation));

    let created = client
        .create_cloud_recording(&typed::<CreateCloudRecording>(json!({
            "SdkAppId": APP, "RoomId": "20261124", "UserId": "recorder_7", "UserSig": recorder_sig,
            "RecordParams": {"RecordMode": 1, "StreamType": 1},
            "StorageParams": {"CloudStorage": {"Vendor": 0, "Region": "ap-guangzhou", "Bucket": "b-1250000000", "AccessKey": "ak", "SecretKey": "sk"}}
        })))
        .await
        .unwrap();
    let recording = created.task_id.clone();
    let described = client
        .describe_cloud_recording(&typed::<DescribeCloudRecording>(json!({"SdkAppId": APP, "TaskId": recording})))
        .await
        .unwrap();
    assert!(described.status.is_some(), "{described:?}");
    client
        .modify_cloud_recording(&typed::<ModifyCloudRecording>(json!({"SdkAppId": APP, "TaskId": recording,
            "SubscribeStreamUserIds": {"SubscribeAudioUserIds": ["customer_7"]}})))
        .await
        .unwrap();
    client
        .delete_cloud_recording(&typed::<DeleteCloudRecording>(json!({"SdkAppId": APP, "TaskId": recording})))
        .await
        .unwrap();
    let gone = client
        .describe_cloud_recording(&typed::<DescribeCloudRecording>(json!({"SdkAppId": APP, "TaskId": recording})))
        .await
        .unwrap_err();
    assert_eq!(gone.api().map(|e| e.kind), Some(ErrorKind::ResourceNotFound), "{gone:?}");

    // A UserSig for another user is refused by the emulator's ticket check.
    let mut forged = start.clone();
    forged.session_id = None;
    forged.agent_config.user_id = "ai_robot_8".into();
    let refused = client.start_ai_conversation(&forged).await.unwrap_err();
    assert_eq!(refused.api().map(|e| e.code.as_str()), Some("InvalidParameter.UserSig"), "{refused:?}");
    running.stop();
}

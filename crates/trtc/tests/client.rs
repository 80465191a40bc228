//! The client against the local stand-in for the Tencent Cloud API ([`support`]): signed
//! requests, error envelopes, retries, timeouts, other HTTP statuses, garbage and refused
//! connections.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{json, Value};
use support::{Reply, StandIn, REGION, SECRET_ID, SECRET_KEY, TIMEOUT};
use trtc::client::{Client, ClientConfig, Endpoint};
use trtc::credentials::Credentials;
use trtc::error::{ClientError, ErrorKind};
use trtc::model::{
    AgentConfig, ControlAIConversation, ConversationStatus, CreateCloudRecording, DeleteCloudRecording,
    DescribeAIConversation, DescribeCloudRecording, LLMConfig, ModifyCloudRecording, RecordParams, RecordingStatus,
    ServerPushText, StartAIConversation, StopAIConversation, StorageParams, TTSConfig, UpdateAIConversation,
};

fn start_request() -> StartAIConversation {
    let mut llm = LLMConfig::openai("gpt-4o-mini", "sk-llm-key", "https://llm.example/v1/chat/completions");
    llm.streaming = Some(true);
    let mut tts = TTSConfig::new("flow");
    tts.voice_id = Some("v-female-R2s4N9qJ".into());
    tts.model = Some("flow_01_turbo".into());
    let mut start = StartAIConversation::new(
        1_400_000_000,
        "room-42",
        AgentConfig::new("bot_42", "bot-usersig", "caller_42"),
        llm,
        tts,
    );
    start.session_id = Some("session-42".into());
    start
}

fn describe_request() -> DescribeAIConversation {
    DescribeAIConversation { task_id: Some("task-42".into()), ..DescribeAIConversation::default() }
}

fn stop_request() -> StopAIConversation {
    StopAIConversation { task_id: "task-42".into() }
}

#[tokio::test]
async fn a_signed_start_request_reaches_the_service_with_its_configs_as_json_strings_and_returns_the_task_id() {
    let stand_in = StandIn::start(|_, _| Reply::Ok(json!({"TaskId": "v2_20250224_task"}))).await;
    let credentials = Credentials::new(SECRET_ID, SECRET_KEY).unwrap().with_token("sts-session-token");
    let client = stand_in.client(|config| ClientConfig { credentials, ..config }.with_language("en-US"));

    let response = client.start_ai_conversation(&start_request()).await.unwrap();

    assert_eq!(response.task_id.as_deref(), Some("v2_20250224_task"), "the answer's TaskId comes back");
    assert_eq!(response.request_id, "req-1");
    stand_in.assert_every_request_was_valid();
    let seen = stand_in.seen();
    assert_eq!(seen.len(), 1, "one attempt");
    let request = &seen[0];
    assert_eq!(request.action, "StartAIConversation");
    assert_eq!(request.headers.get("x-tc-token").map(String::as_str), Some("sts-session-token"));
    assert_eq!(request.headers.get("x-tc-language").map(String::as_str), Some("en-US"));
    let llm = request.body["LLMConfig"].as_str().expect("LLMConfig travels as a JSON string");
    let llm: Value = serde_json::from_str(llm).unwrap();
    assert_eq!(llm["APIKey"], "sk-llm-key", "the LLM key itself is inside the string");
    assert_eq!(llm["Streaming"], true);
    let tts = request.body["TTSConfig"].as_str().expect("TTSConfig travels as a JSON string");
    let tts: Value = serde_json::from_str(tts).unwrap();
    assert_eq!(tts, json!({"TTSType": "flow", "VoiceId": "v-female-R2s4N9qJ", "Model": "flow_01_turbo"}));
    assert_eq!(request.body["AgentConfig"]["UserSig"], "bot-usersig");
    assert_eq!(request.body["SessionId"], "session-42");
    assert!(request.body.get("Action").is_none(), "the action travels in a header, not in the body");
}

#[tokio::test]
async fn every_convenience_method_sends_its_own_action_signed() {
    let stand_in = StandIn::start(|_, action| match action {
        "DescribeAIConversation" => Reply::Ok(json!({"TaskId": "t", "Status": "InProgress"})),
        "DescribeCloudRecording" => Reply::Ok(json!({"TaskId": "t", "Status": "Exited", "StorageFileList": []})),
        _ => Reply::Ok(json!({"TaskId": "t"})),
    })
    .await;
    let client = stand_in.client(|config| config);
    let recording = CreateCloudRecording::new(
        1_400_000_000,
        "room-42",
        "recorder_42",
        "recorder-usersig",
        RecordParams { record_mode: 2, ..RecordParams::default() },
        StorageParams::default(),
    );

    client.start_ai_conversation(&start_request()).await.unwrap();
    let described = client.describe_ai_conversation(&describe_request()).await.unwrap();
    assert_eq!(described.status, Some(ConversationStatus::InProgress));
    let push = ServerPushText { text: Some("one moment".into()), ..ServerPushText::default() };
    client.control_ai_conversation(&ControlAIConversation::push_text("t", push)).await.unwrap();
    client.update_ai_conversation(&UpdateAIConversation::new("t")).await.unwrap();
    client.stop_ai_conversation(&stop_request()).await.unwrap();
    let created = client.create_cloud_recording(&recording).await.unwrap();
    assert_eq!(created.task_id.as_deref(), Some("t"));
    let described = client
        .describe_cloud_recording(&DescribeCloudRecording { sdk_app_id: 1, task_id: "t".into(), recorder_key: None })
        .await
        .unwrap();
    assert_eq!(described.status, Some(RecordingStatus::Exited));
    client
        .modify_cloud_recording(&ModifyCloudRecording {
            sdk_app_id: 1,
            task_id: "t".into(),
            mix_layout_params: None,
            subscribe_stream_user_ids: None,
        })
        .await
        .unwrap();
    client.delete_cloud_recording(&DeleteCloudRecording { sdk_app_id: 1, task_id: "t".into() }).await.unwrap();

    stand_in.assert_every_request_was_valid();
    let actions: Vec<String> = stand_in.seen().into_iter().map(|seen| seen.action).collect();
    assert_eq!(
        actions,
        [
            "StartAIConversation",
            "DescribeAIConversation",
            "ControlAIConversation",
            "UpdateAIConversation",
            "StopAIConversation",
            "CreateCloudRecording",
            "DescribeCloudRecording",
            "ModifyCloudRecording",
            "DeleteCloudRecording",
        ]
    );
}

#[tokio::test]
async fn error_envelopes_become_api_errors_with_their_typed_kind_and_are_not_retried() {
    let stand_in = StandIn::start(|_, action| match action {
        "StopAIConversation" => Reply::Error("FailedOperation.TaskNotExist"),
        _ => Reply::Error("AuthFailure.SignatureFailure"),
    })
    .await;
    let client = stand_in.client(|config| config);

    let error = client.stop_ai_conversation(&stop_request()).await.unwrap_err();
    let ClientError::Api(api) = &error else { panic!("an error envelope should be ClientError::Api, got {error:?}") };
    assert_eq!(api.code, "FailedOperation.TaskNotExist");
    assert_eq!(api.kind, ErrorKind::FailedOperation);
    assert_eq!(api.message, "scripted FailedOperation.TaskNotExist");
    assert_eq!(api.request_id.as_deref(), Some("req-1"), "the RequestId is kept for support tickets");

    let error = client.describe_ai_conversation(&describe_request()).await.unwrap_err();
    let api = error.api().expect("an error envelope should be ClientError::Api");
    assert_eq!(api.kind, ErrorKind::AuthFailure);
    assert!(api.is_auth(), "AuthFailure.SignatureFailure is an auth failure");

    assert_eq!(stand_in.attempts(), 2, "business errors are answers, not retried — not even for Describe");
    stand_in.assert_every_request_was_valid();
}

#[tokio::test]
async fn a_rate_limited_start_is_retried_until_the_service_accepts_it() {
    let stand_in = StandIn::start(|attempt, _| match attempt {
        1 | 2 => Reply::Error("RequestLimitExceeded"),
        _ => Reply::Ok(json!({"TaskId": "task-after-limit"})),
    })
    .await;
    let client = stand_in.client(|config| config);

    let response = client.start_ai_conversation(&start_request()).await.unwrap();

    assert_eq!(response.task_id.as_deref(), Some("task-after-limit"));
    assert_eq!(stand_in.attempts(), 3, "two refusals then the accepted attempt");
    stand_in.assert_every_request_was_valid();
}

#[tokio::test]
async fn rate_limiting_beyond_the_retry_budget_is_returned_as_the_api_error() {
    let stand_in = StandIn::start(|_, _| Reply::Error("RequestLimitExceeded.UinLimitExceeded")).await;
    let client = stand_in.client(|config| config.with_max_retries(1));

    let error = client.stop_ai_conversation(&stop_request()).await.unwrap_err();

    assert!(error.api().is_some_and(|api| api.is_rate_limited()), "the last refusal is returned: {error:?}");
    assert_eq!(stand_in.attempts(), 2, "the first attempt and one retry");
}

#[tokio::test]
async fn a_describe_that_times_out_once_is_retried_and_succeeds() {
    let stand_in = StandIn::start(|attempt, _| match attempt {
        1 => Reply::Slow(TIMEOUT * 4, json!({"Status": "Preparing"})),
        _ => Reply::Ok(json!({"TaskId": "task-42", "Status": "InProgress"})),
    })
    .await;
    let client = stand_in.client(|config| config);

    let response = client.describe_ai_conversation(&describe_request()).await.unwrap();

    assert_eq!(response.status, Some(ConversationStatus::InProgress), "the second, timely answer is used");
    assert_eq!(stand_in.attempts(), 2, "one timed-out attempt and one retry");
    stand_in.assert_every_request_was_valid();
}

#[tokio::test]
async fn a_stop_that_times_out_is_not_retried() {
    let stand_in = StandIn::start(|_, _| Reply::Slow(TIMEOUT * 4, json!({}))).await;
    let client = stand_in.client(|config| config);

    let error = client.stop_ai_conversation(&stop_request()).await.unwrap_err();

    assert!(
        matches!(error, ClientError::Timeout { action: "StopAIConversation" }),
        "a slow Stop should be a timeout: {error:?}"
    );
    tokio::time::sleep(TIMEOUT).await;
    assert_eq!(stand_in.attempts(), 1, "the Stop may have been executed, so it must not be sent again");
}

#[tokio::test]
async fn a_status_other_than_200_is_an_http_status_error() {
    let stand_in = StandIn::start(|_, action| match action {
        "StopAIConversation" => Reply::Status(502, "bad gateway from a proxy"),
        _ => Reply::Status(503, "unavailable"),
    })
    .await;
    let client = stand_in.client(|config| config.with_max_retries(2));

    let error = client.stop_ai_conversation(&stop_request()).await.unwrap_err();
    let ClientError::HttpStatus { action, status, body_snippet } = &error else {
        panic!("a 502 should be ClientError::HttpStatus, got {error:?}");
    };
    assert_eq!((*action, *status), ("StopAIConversation", 502));
    assert!(body_snippet.contains("bad gateway"), "the snippet shows what answered: {body_snippet}");
    assert_eq!(stand_in.attempts(), 1, "a 5xx on Stop is ambiguous, so not retried");

    let error = client.describe_ai_conversation(&describe_request()).await.unwrap_err();
    assert!(matches!(error, ClientError::HttpStatus { status: 503, .. }), "{error:?}");
    assert_eq!(stand_in.attempts(), 1 + 3, "a 5xx on Describe is retried up to the budget");
}

#[tokio::test]
async fn a_body_that_is_not_an_envelope_is_a_decode_error() {
    let stand_in = StandIn::start(|_, _| Reply::Raw("<html>not the cloud api</html>")).await;
    let client = stand_in.client(|config| config);

    let error = client.describe_ai_conversation(&describe_request()).await.unwrap_err();

    assert!(
        matches!(&error, ClientError::Decode { action: "DescribeAIConversation", .. }),
        "garbage should be a decode error: {error:?}"
    );
    assert_eq!(stand_in.attempts(), 1, "an answer that cannot be read is not retried");
}

// That it is retried first is shown by `client_logging.rs`, which counts the retries.
#[tokio::test]
async fn a_refused_connection_is_reported_as_a_transport_error() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);
    let config = ClientConfig::new(Credentials::new(SECRET_ID, SECRET_KEY).unwrap(), REGION)
        .with_endpoint(Endpoint::Url(format!("http://{address}")))
        .with_timeout(TIMEOUT)
        .with_max_retries(2);
    let client = Client::new(config).unwrap();

    let error = client.stop_ai_conversation(&stop_request()).await.unwrap_err();

    let ClientError::Transport { action, detail } = &error else {
        panic!("a refused connection should be a transport error, got {error:?}");
    };
    assert_eq!(*action, "StopAIConversation");
    assert!(!detail.contains(SECRET_KEY), "the detail must not carry the key: {detail}");
}

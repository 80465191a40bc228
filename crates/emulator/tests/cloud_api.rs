//! The emulator's Cloud API refuses what Tencent Cloud refuses, with the documented codes:
//! raw HTTP requests signed with `trtc::tc3`, one fault at a time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use emulator::CloudConfig;
use serde_json::{json, Value};
use trtc::{credentials::Credentials, tc3};

const APP: u64 = 1_400_000_000;
const ID: &str = "AKIDcloudapiTEST";
const KEY: &str = "cloud-api-test-key";

async fn emulator(rate_limit: u32) -> emulator::Running {
    let config = CloudConfig {
        sdk_app_id: APP,
        keys: vec![(ID.into(), KEY.into())],
        sdk_secret_key: None,
        rate_limit,
        clock_offset_secs: 0,
    };
    emulator::start(config, "127.0.0.1:0".parse().unwrap()).await.unwrap()
}

fn now() -> i64 {
    i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()).unwrap()
}

/// A request as an SDK would send it, with knobs to break one thing at a time.
struct Req<'a> {
    action: &'a str,
    body: String,
    timestamp: i64,
    key: &'a str,
    version: &'a str,
    region: Option<&'a str>,
    sign_action: bool,
}

impl<'a> Req<'a> {
    fn new(action: &'a str, body: Value) -> Req<'a> {
        Req {
            action,
            body: body.to_string(),
            timestamp: now(),
            key: KEY,
            version: "2019-07-22",
            region: Some("ap-guangzhou"),
            sign_action: false,
        }
    }

    async fn send(&self, running: &emulator::Running) -> Value {
        let host = running.addr.to_string();
        let mut signed = vec![("content-type", "application/json"), ("host", host.as_str())];
        if self.sign_action {
            signed.push(("x-tc-action", self.action));
        }
        let credentials = Credentials::new(ID, self.key).unwrap();
        let request = tc3::SignedRequest {
            method: "POST",
            path: "/",
            query: "",
            headers: signed,
            payload: self.body.as_bytes(),
            unsigned_payload: false,
        };
        let authorization = tc3::authorization(&credentials, "trtc", self.timestamp, &request).unwrap();
        let mut http = reqwest::Client::new()
            .post(format!("{}/", running.base_url))
            .header("content-type", "application/json")
            .header("x-tc-action", self.action)
            .header("x-tc-version", self.version)
            .header("x-tc-timestamp", self.timestamp.to_string())
            .header("authorization", authorization)
            .body(self.body.clone());
        if let Some(region) = self.region {
            http = http.header("x-tc-region", region);
        }
        let response = http.send().await.unwrap();
        assert_eq!(response.status(), 200, "Cloud API answers 200 even for errors");
        assert_eq!(response.headers()["content-type"], "application/json");
        let json: Value = response.json().await.unwrap();
        assert!(
            json["Response"]["RequestId"].as_str().is_some_and(|id| !id.is_empty()),
            "every answer has a RequestId: {json}"
        );
        json
    }
}

fn code(answer: &Value) -> &str {
    answer["Response"]["Error"]["Code"].as_str().unwrap_or("(no error)")
}

#[tokio::test]
async fn each_fault_is_refused_with_the_documented_code() {
    let running = emulator(0).await;
    let describe = json!({"TaskId": "no-such-task"});
    let cases: Vec<(&str, Req)> = vec![
        (
            "AuthFailure.SignatureFailure",
            Req { key: "wrong-key", ..Req::new("DescribeAIConversation", describe.clone()) },
        ),
        (
            "AuthFailure.SignatureExpire",
            Req { timestamp: now() - 301, ..Req::new("DescribeAIConversation", describe.clone()) },
        ),
        (
            "AuthFailure.SignatureExpire",
            Req { timestamp: now() + 400, ..Req::new("DescribeAIConversation", describe.clone()) },
        ),
        ("InvalidAction", Req::new("CreateVoiceConversation", describe.clone())),
        ("NoSuchVersion", Req { version: "2020-01-01", ..Req::new("DescribeAIConversation", describe.clone()) }),
        (
            "UnsupportedRegion",
            Req { region: Some("mars-north-1"), ..Req::new("DescribeAIConversation", describe.clone()) },
        ),
        ("MissingParameter", Req { region: None, ..Req::new("DescribeAIConversation", describe.clone()) }),
        ("UnknownParameter", Req::new("StopAIConversation", json!({"TaskId": "t", "Force": true}))),
        ("MissingParameter", Req::new("StopAIConversation", json!({}))),
        ("InvalidParameter", Req::new("StopAIConversation", json!({"TaskId": 42}))),
        ("InvalidParameter", Req { body: "{not json".into(), ..Req::new("StopAIConversation", json!({})) }),
        ("InvalidParameter.TaskId", Req::new("StopAIConversation", json!({"TaskId": ""}))),
        ("FailedOperation.TaskNotExist", Req::new("StopAIConversation", json!({"TaskId": "no-such-task"}))),
        ("FailedOperation.TaskNotExist", Req::new("DescribeAIConversation", describe.clone())),
        ("InvalidParameterValue", Req::new("ControlAIConversation", json!({"TaskId": "t", "Command": "Dance"}))),
        (
            "MissingParameter.RecordParams",
            Req::new(
                "CreateCloudRecording",
                json!({"SdkAppId": APP, "RoomId": "1", "UserId": "r", "UserSig": "s", "StorageParams": {}}),
            ),
        ),
        (
            "ResourceNotFound",
            Req::new("DescribeCloudRecording", json!({"SdkAppId": APP, "TaskId": "no-such-recording"})),
        ),
        (
            "FailedOperation.SdkAppIdNotExist",
            Req::new(
                "StartAIConversation",
                json!({"SdkAppId": 1, "RoomId": "1", "AgentConfig": {"UserId": "bot", "UserSig": "s", "TargetUserId": "u"}}),
            ),
        ),
        (
            "InvalidParameterValue",
            Req::new(
                "StartAIConversation",
                json!({"SdkAppId": APP, "RoomId": "1", "STTConfig": {"VadSilenceTime": 100},
                       "AgentConfig": {"UserId": "bot", "UserSig": "s", "TargetUserId": "u"}}),
            ),
        ),
    ];
    for (expected, request) in cases {
        let answer = request.send(&running).await;
        assert_eq!(
            code(&answer),
            expected,
            "{} {} should be refused with {expected}: {answer}",
            request.action,
            request.body
        );
        assert!(
            answer["Response"]["Error"]["Message"].as_str().is_some_and(|m| !m.is_empty() && !m.contains(KEY)),
            "the message explains without leaking the key: {answer}"
        );
    }
    running.stop();
}

#[tokio::test]
async fn a_request_signing_x_tc_action_too_is_accepted_and_starts_a_task() {
    let running = emulator(0).await;
    let start = json!({"SdkAppId": APP, "RoomId": "8489", "AgentConfig": {"UserId": "bot", "UserSig": "s", "TargetUserId": "u"}});
    let answer = Req { sign_action: true, ..Req::new("StartAIConversation", start) }.send(&running).await;
    let task =
        answer["Response"]["TaskId"].as_str().unwrap_or_else(|| panic!("expected a TaskId: {answer}")).to_owned();
    let described = Req::new("DescribeAIConversation", json!({"TaskId": task})).send(&running).await;
    assert!(matches!(described["Response"]["Status"].as_str(), Some("Preparing" | "InProgress")), "{described}");
    running.stop();
}

#[tokio::test]
async fn a_burst_over_the_per_action_limit_gets_request_limit_exceeded() {
    let running = emulator(20).await;
    let mut codes = Vec::new();
    for _ in 0..30 {
        codes.push(code(&Req::new("DescribeAIConversation", json!({"TaskId": "t"})).send(&running).await).to_owned());
    }
    let limited = codes.iter().filter(|c| *c == "RequestLimitExceeded").count();
    assert!(limited >= 5, "at 20 req/s, a burst of 30 should see several refusals; got {codes:?}");
    assert!(
        codes.iter().take(15).all(|c| c == "FailedOperation.TaskNotExist"),
        "the first ones pass the limit: {codes:?}"
    );
    running.stop();
}

//! Cloud API v3 for the TRTC AI conversation and cloud recording actions, on `POST /`.
//!
//! A request is checked the way Tencent Cloud does, in this order, and the first failure
//! answers with the documented error envelope (always HTTP 200, always a `RequestId`):
//! action and version → timestamp → `Authorization` (SecretId known, clock skew ≤ 5 min,
//! TC3 signature over whatever `SignedHeaders` lists) → region → per-action rate limit →
//! JSON body → parameter schema ([`schema`]) → the action itself.
//!
//! Deliberately not here: the conversation engine ([`crate::calls`]), callbacks, rooms and
//! recording files ([`crate::recording`]) — this layer only hands started tasks to them.

pub mod schema;

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Instant,
};

use axum::{
    body::Bytes,
    extract::{DefaultBodyLimit, State},
    http::{header, HeaderMap, Method, StatusCode},
    response::{IntoResponse, Response},
    routing::any,
    Router,
};
use serde_json::{json, Map, Value};

use crate::{
    calls::{control_of, update_of, Calls},
    clock::CloudClock,
    conversation::{Control, Phase},
    rate_limit::RateLimiter,
    recording::{Recorder, RecordingSpec, Storage},
    tasks::{AiStatus, AiTask, RecordingTask, TaskError, Tasks},
};
use schema::Invalid;

/// The service name in the signature scope.
pub const SERVICE: &str = "trtc";
/// The only API version of these actions.
pub const VERSION: &str = "2019-07-22";
/// POST bodies up to 10 MB are accepted with TC3 signing (§1.1).
pub const MAX_BODY: usize = 10 * 1024 * 1024;
/// Regions the AI actions accept in any documented version (§1.1).
pub const REGIONS: &[&str] =
    &["ap-guangzhou", "ap-singapore", "ap-tokyo", "na-ashburn", "na-siliconvalley", "ap-beijing", "ap-shanghai"];

/// How the emulated cloud is set up.
#[derive(Clone)]
pub struct CloudConfig {
    /// The one TRTC application this cloud hosts.
    pub sdk_app_id: u64,
    /// Accepted API keys: (SecretId, SecretKey).
    pub keys: Vec<(String, String)>,
    /// The application's SDK secret, to verify UserSigs; `None` skips the check.
    pub sdk_secret_key: Option<String>,
    /// Requests per second per action; 0 = unlimited.
    pub rate_limit: u32,
    /// Seconds added to the emulator's clock (clock-skew tests); see [`CloudConfig::clock`].
    pub clock_offset_secs: i64,
}

impl CloudConfig {
    /// The clock everything this cloud stamps is read from: the wall clock plus
    /// [`CloudConfig::clock_offset_secs`].
    pub fn clock(&self) -> CloudClock {
        CloudClock::with_offset_secs(self.clock_offset_secs)
    }
}

impl std::fmt::Debug for CloudConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudConfig")
            .field("sdk_app_id", &self.sdk_app_id)
            .field("secret_ids", &self.keys.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>())
            .field("sdk_secret_key", &self.sdk_secret_key.as_ref().map(|_| "***"))
            .field("rate_limit", &self.rate_limit)
            .field("clock_offset_secs", &self.clock_offset_secs)
            .finish()
    }
}

/// The emulated cloud: configuration plus mutable state.
#[derive(Debug)]
pub struct Cloud {
    config: CloudConfig,
    tasks: Mutex<Tasks>,
    limiter: Mutex<RateLimiter>,
    /// The conversations behind started tasks; `None` = tasks only change status.
    calls: Option<Calls>,
    /// The recorders behind recording tasks; `None` = recording tasks only change status.
    recorder: Option<Arc<Recorder>>,
}

impl Cloud {
    /// A cloud whose tasks only change status (no conversation is played).
    pub fn new(config: CloudConfig) -> Arc<Cloud> {
        Cloud::build(config, None, None)
    }

    /// A cloud that plays a conversation for every started task.
    pub fn with_calls(config: CloudConfig, calls: Calls) -> Arc<Cloud> {
        Cloud::build(config, Some(calls), None)
    }

    /// A cloud that plays a conversation for every started task and records rooms.
    pub fn with_calls_and_recorder(config: CloudConfig, calls: Calls, recorder: Arc<Recorder>) -> Arc<Cloud> {
        Cloud::build(config, Some(calls), Some(recorder))
    }

    fn build(config: CloudConfig, calls: Option<Calls>, recorder: Option<Arc<Recorder>>) -> Arc<Cloud> {
        let limiter = Mutex::new(RateLimiter::new(config.rate_limit));
        Arc::new(Cloud { config, tasks: Mutex::new(Tasks::default()), limiter, calls, recorder })
    }

    /// Conversations currently being played.
    pub fn live_calls(&self) -> usize {
        self.calls.as_ref().map_or(0, Calls::live)
    }

    /// Waits until a played conversation ends; never returns for a cloud without calls.
    pub async fn call_ended(&self) {
        match &self.calls {
            Some(calls) => calls.one_ended().await,
            None => std::future::pending().await,
        }
    }

    /// A conversation ended on its own or after Stop: its task is stopped.
    pub(crate) fn conversation_ended(&self, task_id: &str) {
        let now = self.now_ms();
        // Already stopped through the API is fine.
        let _ = self.tasks().stop(task_id, now);
        if let Some(calls) = &self.calls {
            calls.forget(task_id);
        }
    }

    /// Whether a conversation is running in the room: a recorder there is not idle, however
    /// quiet the room is (TRTC's `MaxIdleTime` counts time without anyone in the room).
    pub(crate) fn room_in_use(&self, sdk_app_id: u64, room_id: &str) -> bool {
        self.tasks().room_in_use(sdk_app_id, room_id)
    }

    /// A recorder stopped on its own (idle): its task exits and is no longer addressable.
    pub(crate) fn recording_ended(&self, sdk_app_id: u64, task_id: &str) {
        // Already deleted through the API is fine.
        let _ = self.tasks().delete_recording(sdk_app_id, task_id);
    }

    fn now_ms(&self) -> u64 {
        self.config.clock().now_ms()
    }

    fn tasks(&self) -> std::sync::MutexGuard<'_, Tasks> {
        self.tasks.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The Cloud API router (`POST /`), to be merged into the emulator's server.
pub fn router(cloud: Arc<Cloud>) -> Router {
    Router::new().route("/", any(handle)).layer(DefaultBodyLimit::max(MAX_BODY)).with_state(cloud)
}

/// A Cloud API error: code and message, answered in the error envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    pub code: String,
    pub message: String,
}

fn fail(code: impl Into<String>, message: impl Into<String>) -> ApiFailure {
    ApiFailure { code: code.into(), message: message.into() }
}

async fn handle(State(cloud): State<Arc<Cloud>>, method: Method, headers: HeaderMap, body: Bytes) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let result = process(&cloud, &method, &headers, &body);
    let envelope = match result {
        Ok(mut output) => {
            output.insert("RequestId".into(), Value::String(request_id));
            json!({ "Response": output })
        }
        Err(failure) => {
            tracing::debug!(code = %failure.code, message = %failure.message, "cloud api request refused");
            json!({ "Response": { "Error": { "Code": failure.code, "Message": failure.message }, "RequestId": request_id } })
        }
    };
    // Exactly `application/json`: the official Python SDK only reads error envelopes
    // from responses whose Content-Type is exactly that (or text/plain).
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], envelope.to_string()).into_response()
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn process(
    cloud: &Arc<Cloud>,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Map<String, Value>, ApiFailure> {
    if method != Method::POST {
        // Tencent also serves GET with form parameters; the emulator implements the POST
        // + JSON form that every official SDK uses for these actions.
        return Err(fail("UnsupportedProtocol", format!("{method} is not supported here; use POST with a JSON body.")));
    }
    let action = header_str(headers, "x-tc-action")
        .ok_or_else(|| fail("MissingParameter", "The request is missing the X-TC-Action header."))?;
    let action =
        Action::parse(action).ok_or_else(|| fail("InvalidAction", format!("The action `{action}` does not exist.")))?;
    match header_str(headers, "x-tc-version") {
        Some(VERSION) => {}
        Some(other) => return Err(fail("NoSuchVersion", format!("The API version `{other}` does not exist."))),
        None => return Err(fail("MissingParameter", "The request is missing the X-TC-Version header.")),
    }
    let timestamp: i64 = header_str(headers, "x-tc-timestamp")
        .ok_or_else(|| fail("MissingParameter", "The request is missing the X-TC-Timestamp header."))?
        .trim()
        .parse()
        .map_err(|_| fail("InvalidParameter", "X-TC-Timestamp is not a Unix time in seconds."))?;
    authenticate(cloud, headers, timestamp, body)?;
    match header_str(headers, "x-tc-region") {
        Some(region) if REGIONS.contains(&region) => {}
        Some(region) => {
            return Err(fail("UnsupportedRegion", format!("The region `{region}` is not supported by this action.")))
        }
        None => return Err(fail("MissingParameter", "The request is missing the X-TC-Region header.")),
    }
    let allowed =
        cloud.limiter.lock().unwrap_or_else(PoisonError::into_inner).try_acquire(action.name(), Instant::now());
    if !allowed {
        return Err(fail(
            "RequestLimitExceeded",
            format!("Your requests to {} exceed the frequency limit.", action.name()),
        ));
    }
    let params: Value = serde_json::from_slice(body)
        .map_err(|err| fail("InvalidParameter", format!("The request body is not valid JSON: {err}.")))?;
    schema::check(&params, action.schema()).map_err(|invalid| invalid_failure(action, invalid))?;
    run(cloud, action, &params)
}

fn authenticate(cloud: &Cloud, headers: &HeaderMap, timestamp: i64, body: &[u8]) -> Result<(), ApiFailure> {
    let signature_failure = || {
        fail(
            "AuthFailure.SignatureFailure",
            "The provided credentials could not be validated. Please check your signature is correct.",
        )
    };
    let header = header_str(headers, "authorization").ok_or_else(signature_failure)?;
    let authorization = trtc::tc3::Authorization::parse(header).map_err(|err| {
        tracing::debug!(error = %err, "malformed Authorization");
        signature_failure()
    })?;
    let secret_key = cloud
        .config
        .keys
        .iter()
        .find(|(id, _)| *id == authorization.secret_id)
        .map(|(_, key)| key.as_str())
        .ok_or_else(|| {
            fail(
                "AuthFailure.SecretIdNotFound",
                "The SecretId is not found, please ensure that your SecretId is correct.",
            )
        })?;
    let now = i64::try_from(cloud.now_ms() / 1000).unwrap_or(0);
    let request = trtc::tc3::ReceivedRequest { method: "POST", path: "/", query: "", timestamp, payload: body };
    let lookup = |name: &str| header_str(headers, name).map(str::to_owned);
    trtc::tc3::verify(&authorization, secret_key, SERVICE, now, &request, lookup).map_err(|err| match err {
        trtc::tc3::Tc3Error::Expired { .. } | trtc::tc3::Tc3Error::BadTimestamp(_) => fail(
            "AuthFailure.SignatureExpire",
            format!("Signature expired. Timestamp {timestamp} is more than 5 minutes away from the server time {now}."),
        ),
        other => {
            tracing::debug!(error = %other, "signature check failed");
            signature_failure()
        }
    })
}

fn invalid_failure(action: Action, invalid: Invalid) -> ApiFailure {
    match invalid {
        Invalid::Unknown { path } => fail("UnknownParameter", format!("The parameter `{path}` is not recognized.")),
        Invalid::Missing { path } => {
            let leaf = path.rsplit('.').next().unwrap_or(&path).to_owned();
            // The recording actions declare one code per missing field (§1.6).
            let code = if action.is_recording() && RECORDING_MISSING_CODES.contains(&leaf.as_str()) {
                format!("MissingParameter.{leaf}")
            } else {
                "MissingParameter".to_owned()
            };
            fail(code, format!("The parameter `{path}` is missing."))
        }
        Invalid::WrongType { path, expected } => {
            fail("InvalidParameter", format!("The parameter `{path}` must be of type {expected}."))
        }
        Invalid::NotJsonObjectString { path } => {
            fail("InvalidParameter", format!("The parameter `{path}` must be a string containing a JSON object."))
        }
    }
}

const RECORDING_MISSING_CODES: &[&str] = &[
    "AccessKey",
    "Bucket",
    "CloudStorage",
    "RecordMode",
    "RecordParams",
    "Region",
    "RoomId",
    "SdkAppId",
    "SecretKey",
    "StorageParams",
    "StreamType",
    "TaskId",
    "UserId",
    "UserSig",
    "Vendor",
];

/// The emulated actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    StartAIConversation,
    StopAIConversation,
    DescribeAIConversation,
    ControlAIConversation,
    UpdateAIConversation,
    CreateCloudRecording,
    DescribeCloudRecording,
    ModifyCloudRecording,
    DeleteCloudRecording,
}

impl Action {
    pub const ALL: [Action; 9] = [
        Action::StartAIConversation,
        Action::StopAIConversation,
        Action::DescribeAIConversation,
        Action::ControlAIConversation,
        Action::UpdateAIConversation,
        Action::CreateCloudRecording,
        Action::DescribeCloudRecording,
        Action::ModifyCloudRecording,
        Action::DeleteCloudRecording,
    ];

    pub fn parse(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Action::StartAIConversation => "StartAIConversation",
            Action::StopAIConversation => "StopAIConversation",
            Action::DescribeAIConversation => "DescribeAIConversation",
            Action::ControlAIConversation => "ControlAIConversation",
            Action::UpdateAIConversation => "UpdateAIConversation",
            Action::CreateCloudRecording => "CreateCloudRecording",
            Action::DescribeCloudRecording => "DescribeCloudRecording",
            Action::ModifyCloudRecording => "ModifyCloudRecording",
            Action::DeleteCloudRecording => "DeleteCloudRecording",
        }
    }

    fn schema(self) -> &'static [schema::Field] {
        match self {
            Action::StartAIConversation => schema::START_AI_CONVERSATION,
            Action::StopAIConversation => schema::STOP_AI_CONVERSATION,
            Action::DescribeAIConversation => schema::DESCRIBE_AI_CONVERSATION,
            Action::ControlAIConversation => schema::CONTROL_AI_CONVERSATION,
            Action::UpdateAIConversation => schema::UPDATE_AI_CONVERSATION,
            Action::CreateCloudRecording => schema::CREATE_CLOUD_RECORDING,
            Action::DescribeCloudRecording => schema::DESCRIBE_CLOUD_RECORDING,
            Action::ModifyCloudRecording => schema::MODIFY_CLOUD_RECORDING,
            Action::DeleteCloudRecording => schema::DELETE_CLOUD_RECORDING,
        }
    }

    fn is_recording(self) -> bool {
        matches!(
            self,
            Action::CreateCloudRecording
                | Action::DescribeCloudRecording
                | Action::ModifyCloudRecording
                | Action::DeleteCloudRecording
        )
    }
}

fn str_of<'a>(params: &'a Value, key: &str) -> Option<&'a str> {
    params.get(key).and_then(Value::as_str)
}

fn u64_of(params: &Value, key: &str) -> Option<u64> {
    params.get(key).and_then(Value::as_u64)
}

fn task_not_exist() -> ApiFailure {
    fail("FailedOperation.TaskNotExist", "The task does not exist or has ended.")
}

fn non_empty_task_id(params: &Value) -> Result<&str, ApiFailure> {
    match str_of(params, "TaskId") {
        Some(id) if !id.trim().is_empty() => Ok(id),
        _ => Err(fail("InvalidParameter.TaskId", "TaskId is empty.")),
    }
}

fn output(pairs: Vec<(&str, Value)>) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn check_user_sig(cloud: &Cloud, user_id: &str, user_sig: &str) -> Result<(), ApiFailure> {
    let Some(secret) = &cloud.config.sdk_secret_key else { return Ok(()) };
    let now = cloud.now_ms() / 1000;
    trtc::usersig::verify(user_sig, cloud.config.sdk_app_id, secret, user_id, now)
        .map(|_| ())
        .map_err(|err| fail("InvalidParameter.UserSig", format!("The UserSig of `{user_id}` is invalid: {err}.")))
}

fn run(cloud: &Arc<Cloud>, action: Action, params: &Value) -> Result<Map<String, Value>, ApiFailure> {
    let now = cloud.now_ms();
    let app = cloud.config.sdk_app_id;
    match action {
        Action::StartAIConversation => {
            if u64_of(params, "SdkAppId") != Some(app) {
                return Err(fail("FailedOperation.SdkAppIdNotExist", "The SdkAppId does not exist in this account."));
            }
            let room_id = str_of(params, "RoomId").unwrap_or_default();
            let room_id_type = u64_of(params, "RoomIdType").unwrap_or(0);
            match room_id_type {
                0 if room_id.is_empty() || !room_id.bytes().all(|b| b.is_ascii_digit()) => {
                    return Err(fail("InvalidParameterValue", "RoomIdType 0 needs a numeric RoomId (as a string)."))
                }
                0 | 1 if !room_id.is_empty() => {}
                0 | 1 => return Err(fail("InvalidParameterValue", "RoomId is empty.")),
                other => return Err(fail("InvalidParameterValue", format!("RoomIdType must be 0 or 1, not {other}."))),
            }
            let agent = &params["AgentConfig"];
            let robot = str_of(agent, "UserId").unwrap_or_default();
            let target = str_of(agent, "TargetUserId").unwrap_or_default();
            if robot == target {
                return Err(fail(
                    "InvalidParameterValue",
                    "AgentConfig.UserId must differ from AgentConfig.TargetUserId.",
                ));
            }
            check_user_sig(cloud, robot, str_of(agent, "UserSig").unwrap_or_default())?;
            if let Some(vad) = params.get("STTConfig").and_then(|stt| u64_of(stt, "VadSilenceTime")) {
                if !(240..=2000).contains(&vad) {
                    return Err(fail(
                        "InvalidParameterValue",
                        format!("STTConfig.VadSilenceTime must be 240–2000 ms, not {vad}."),
                    ));
                }
            }
            let task = AiTask {
                task_id: String::new(),
                session_id: str_of(params, "SessionId").map(str::to_owned),
                sdk_app_id: app,
                room_id: room_id.to_owned(),
                robot_user_id: robot.to_owned(),
                target_user_id: target.to_owned(),
                created_ms: now,
                stopped_ms: None,
                log: vec![params.clone()],
            };
            let task_id = cloud.tasks().start(task, now).map_err(|err| match err {
                TaskError::TaskExist => {
                    fail("FailedOperation.TaskExist", "A task with this SessionId is already running.")
                }
                _ => fail("InternalError", "The task could not be started."),
            })?;
            if let Some(calls) = &cloud.calls {
                calls.start(Arc::downgrade(cloud), &task_id, app, params);
            }
            Ok(output(vec![("TaskId", Value::String(task_id))]))
        }
        Action::StopAIConversation => {
            let task_id = non_empty_task_id(params)?;
            cloud.tasks().stop(task_id, now).map_err(|_| task_not_exist())?;
            if let Some(calls) = &cloud.calls {
                calls.control(task_id, Control::Stop);
            }
            Ok(output(vec![]))
        }
        Action::DescribeAIConversation => {
            let mut tasks = cloud.tasks();
            let task_id = match (str_of(params, "TaskId"), str_of(params, "SessionId")) {
                (Some(id), _) if !id.trim().is_empty() => id.to_owned(),
                (_, Some(session)) => {
                    tasks.by_session(u64_of(params, "SdkAppId"), session, now).ok_or_else(task_not_exist)?
                }
                _ => return Err(fail("InvalidParameter.TaskId", "Give a TaskId, or a SessionId (with its SdkAppId).")),
            };
            let (task, status) = tasks.ai(&task_id, now).ok_or_else(task_not_exist)?;
            // A conversation behind the task knows better than the clock where it is.
            let status = match (status, cloud.calls.as_ref().and_then(|calls| calls.phase(&task_id))) {
                (AiStatus::Stopped, _) | (_, None) => status,
                (_, Some(Phase::Idle)) => AiStatus::Idle,
                (_, Some(Phase::Preparing)) => AiStatus::Preparing,
                (_, Some(Phase::InProgress)) => AiStatus::InProgress,
            };
            if u64_of(params, "SdkAppId").is_some_and(|id| id != task.sdk_app_id) {
                return Err(task_not_exist());
            }
            let mut out = output(vec![
                ("TaskId", Value::String(task.task_id.clone())),
                ("Status", Value::String(status.wire().into())),
                ("StartTime", Value::String(start_time(task.created_ms))),
            ]);
            if let Some(session) = &task.session_id {
                out.insert("SessionId".into(), Value::String(session.clone()));
            }
            Ok(out)
        }
        Action::ControlAIConversation => {
            let task_id = non_empty_task_id(params)?;
            let command = str_of(params, "Command").unwrap_or_default();
            let body_key = match command {
                "ServerPushText" => "ServerPushText",
                "InvokeLLM" => "InvokeLLM",
                other => {
                    return Err(fail(
                        "InvalidParameterValue",
                        format!("Command must be ServerPushText or InvokeLLM, not `{other}`."),
                    ))
                }
            };
            if params.get(body_key).is_none_or(Value::is_null) {
                return Err(fail(
                    "MissingParameter",
                    format!("The parameter `{body_key}` is missing for Command {command}."),
                ));
            }
            let mut tasks = cloud.tasks();
            let task = tasks.running(task_id, now).map_err(|_| task_not_exist())?;
            task.log.push(params.clone());
            drop(tasks);
            if let (Some(calls), Some(control)) = (&cloud.calls, control_of(params)) {
                calls.control(task_id, control);
            }
            Ok(output(vec![]))
        }
        Action::UpdateAIConversation => {
            let task_id = non_empty_task_id(params)?;
            if let Some(mode) = u64_of(params, "InterruptMode") {
                if mode > 1 {
                    return Err(fail("InvalidParameterValue", format!("InterruptMode must be 0 or 1, not {mode}.")));
                }
            }
            let mut tasks = cloud.tasks();
            let task = tasks.running(task_id, now).map_err(|_| task_not_exist())?;
            task.log.push(params.clone());
            drop(tasks);
            if let Some(calls) = &cloud.calls {
                calls.control(task_id, update_of(params));
            }
            Ok(output(vec![]))
        }
        Action::CreateCloudRecording => {
            if u64_of(params, "SdkAppId") != Some(app) {
                return Err(fail("InvalidParameter.SdkAppId", "The SdkAppId does not exist in this account."));
            }
            let record = &params["RecordParams"];
            let mode = u64_of(record, "RecordMode").unwrap_or(0);
            if !(1..=2).contains(&mode) {
                return Err(fail(
                    "InvalidParameter.OutOfRange",
                    format!("RecordParams.RecordMode must be 1 or 2, not {mode}."),
                ));
            }
            let storage = &params["StorageParams"];
            let has = |key| storage.get(key).is_some_and(|v| !v.is_null());
            if !has("CloudStorage") && !has("CloudVod") {
                return Err(fail("MissingParameter.CloudStorage", "StorageParams needs CloudStorage or CloudVod."));
            }
            let user_id = str_of(params, "UserId").unwrap_or_default();
            check_user_sig(cloud, user_id, str_of(params, "UserSig").unwrap_or_default())?;
            let room_id = str_of(params, "RoomId").unwrap_or_default().to_owned();
            let task = RecordingTask {
                task_id: String::new(),
                sdk_app_id: app,
                room_id: room_id.clone(),
                recorder_user_id: user_id.to_owned(),
                record_mode: mode,
                created_ms: now,
                subscribe: record.get("SubscribeStreamUserIds").cloned(),
                mix_layout: params.get("MixLayoutParams").cloned(),
            };
            let task_id = cloud.tasks().create_recording(task, now).map_err(|_| {
                fail(
                    "FailedOperation.RestrictedConcurrency",
                    "Too many concurrent recording tasks for this application.",
                )
            })?;
            if let Some(recorder) = &cloud.recorder {
                let spec = RecordingSpec {
                    task_id: task_id.clone(),
                    sdk_app_id: app,
                    room_id,
                    room_id_type: u64_of(params, "RoomIdType").unwrap_or(1),
                    recorder_user_id: user_id.to_owned(),
                    record_mode: mode,
                    max_idle_secs: u64_of(record, "MaxIdleTime").unwrap_or(30),
                    storage: if has("CloudVod") { Storage::CloudVod } else { Storage::CloudStorage },
                };
                recorder.start(Arc::downgrade(cloud), spec);
            }
            Ok(output(vec![("TaskId", Value::String(task_id))]))
        }
        Action::DescribeCloudRecording | Action::ModifyCloudRecording | Action::DeleteCloudRecording => {
            let requested_app = u64_of(params, "SdkAppId").unwrap_or_default();
            let task_id = str_of(params, "TaskId").unwrap_or_default().to_owned();
            let not_found = || fail("ResourceNotFound", "The recording task does not exist or has ended.");
            let mut tasks = cloud.tasks();
            match action {
                Action::DeleteCloudRecording => {
                    tasks.delete_recording(requested_app, &task_id).map_err(|_| not_found())?;
                    drop(tasks);
                    if let Some(recorder) = &cloud.recorder {
                        recorder.stop(&task_id);
                    }
                    Ok(output(vec![("TaskId", Value::String(task_id))]))
                }
                Action::ModifyCloudRecording => {
                    let task = tasks.recording(requested_app, &task_id).map_err(|_| not_found())?;
                    // A full overwrite, not a patch (§5.2).
                    task.mix_layout = params.get("MixLayoutParams").cloned();
                    task.subscribe = params.get("SubscribeStreamUserIds").cloned();
                    Ok(output(vec![("TaskId", Value::String(task_id))]))
                }
                _ => {
                    let task = tasks.recording(requested_app, &task_id).map_err(|_| not_found())?;
                    let status = if now < task.created_ms + crate::tasks::PREPARING_MS { "Idle" } else { "InProgress" };
                    drop(tasks);
                    // Files being written (none for VOD storage, §5.2, or without a recorder).
                    let files = cloud.recorder.as_ref().map(|r| r.storage_files(&task_id)).unwrap_or_default();
                    Ok(output(vec![
                        ("TaskId", Value::String(task_id)),
                        ("Status", Value::String(status.into())),
                        ("StorageFileList", Value::Array(files)),
                    ]))
                }
            }
        }
    }
}

/// `DescribeAIConversation.StartTime`: `YYYY-MM-DD HH:MM:SS.ffffff`, China time (UTC+8)
/// as in the examples (the timezone is UNCONFIRMED in the contract).
fn start_time(created_ms: u64) -> String {
    let nanos = i128::from(created_ms) * 1_000_000 + 8 * 3_600 * 1_000_000_000;
    match time::OffsetDateTime::from_unix_timestamp_nanos(nanos) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.microsecond()
        ),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn start_time_is_printed_like_the_examples_in_china_time() {
        // 2025-04-24 08:15:48.076 UTC
        assert_eq!(start_time(1_745_482_548_076), "2025-04-24 16:15:48.076000");
    }

    #[test]
    fn every_action_name_round_trips() {
        for action in Action::ALL {
            assert_eq!(Action::parse(action.name()), Some(action));
        }
        assert_eq!(Action::parse("CreateVoiceConversation"), None, "that action does not exist (§2.11)");
    }
}

//! The Cloud API response envelope (trtc-contract.md §1.5) and the errors of a call.
//!
//! What lives here:
//! - [`Envelope`], [`ErrorResponse`] and [`ErrorBody`], the wire shapes of an answer —
//!   public so that the emulator writes exactly what the client reads;
//! - [`parse_response`], which turns an answer's body into the action's output or an
//!   [`ApiError`];
//! - [`ApiError`] with its [`ErrorKind`] (the code's prefix), and [`ClientError`], every way
//!   a call can fail.
//!
//! What deliberately does not: deciding whether to retry (that is [`crate::client`]'s
//! policy, built on [`ApiError::is_rate_limited`]), and the errors of signing itself
//! ([`crate::tc3::Tc3Error`]).

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::tc3::Tc3Error;

/// `{"Response": …}`, the outer shape of every answer.
///
/// On success `T` is the action's output (including `RequestId`); on failure it is
/// [`ErrorResponse`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope<T> {
    #[serde(rename = "Response")]
    pub response: T,
}

impl<T> Envelope<T> {
    /// Wraps an action's output.
    pub fn new(response: T) -> Envelope<T> {
        Envelope { response }
    }
}

impl Envelope<ErrorResponse> {
    /// `{"Response": {"Error": {"Code", "Message"}, "RequestId"}}`.
    pub fn error(code: impl Into<String>, message: impl Into<String>, request_id: impl Into<String>) -> Self {
        Envelope {
            response: ErrorResponse {
                error: ErrorBody { code: code.into(), message: message.into() },
                request_id: Some(request_id.into()),
            },
        }
    }
}

/// The `Response` of a failed call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ErrorResponse {
    pub error: ErrorBody,
    /// Present whenever the request reached the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// `Error` inside a failed call's `Response`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ErrorBody {
    /// e.g. `FailedOperation.TaskNotExist`.
    pub code: String,
    /// Human-readable, in the language asked for with `X-TC-Language`.
    #[serde(default)]
    pub message: String,
}

/// Why an answer's body did not yield the action's output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    /// The service answered with an error envelope.
    #[error(transparent)]
    Api(ApiError),
    /// The body is not an envelope, or its `Response` does not fit the output type.
    #[error("{0}")]
    Decode(String),
}

/// Reads an answer's body: the output `T` from a success envelope, or the [`ApiError`] of an
/// error envelope (recognised by `Response.Error`, whatever the HTTP status).
///
/// # Errors
/// [`ResponseError::Api`] for an error envelope; [`ResponseError::Decode`] when the body is
/// not JSON, has no `Response` object, or does not fit `T`.
pub fn parse_response<T: DeserializeOwned>(body: &[u8]) -> Result<T, ResponseError> {
    let envelope: Envelope<Map<String, Value>> =
        serde_json::from_slice(body).map_err(|e| ResponseError::Decode(format!("not a response envelope: {e}")))?;
    let mut response = envelope.response;
    if let Some(error) = response.remove("Error") {
        let error: ErrorBody = serde_json::from_value(error)
            .map_err(|e| ResponseError::Decode(format!("the Error object is malformed: {e}")))?;
        let request_id = response.get("RequestId").and_then(Value::as_str).map(str::to_owned);
        return Err(ResponseError::Api(ApiError::new(error.code, error.message, request_id)));
    }
    T::deserialize(Value::Object(response))
        .map_err(|e| ResponseError::Decode(format!("the Response does not fit the expected output: {e}")))
}

/// An error answered by the service: `Response.Error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}{}", request_id.as_deref().map(|id| format!(" (RequestId {id})")).unwrap_or_default())]
pub struct ApiError {
    /// The full code, e.g. `FailedOperation.TaskNotExist`.
    pub code: String,
    /// The code's prefix, typed.
    pub kind: ErrorKind,
    pub message: String,
    pub request_id: Option<String>,
}

impl ApiError {
    /// An error with its kind derived from `code`.
    pub fn new(code: impl Into<String>, message: impl Into<String>, request_id: Option<String>) -> ApiError {
        let code = code.into();
        ApiError { kind: ErrorKind::from_code(&code), code, message: message.into(), request_id }
    }

    /// `RequestLimitExceeded` or one of its sub-codes: the request was refused before it had
    /// any effect, so sending it again later is safe for every action.
    pub fn is_rate_limited(&self) -> bool {
        self.kind == ErrorKind::RequestLimitExceeded
    }

    /// `AuthFailure` or one of its sub-codes (bad signature, unknown SecretId, expired
    /// timestamp, CAM refusal…): retrying the same credentials will not help.
    pub fn is_auth(&self) -> bool {
        self.kind == ErrorKind::AuthFailure
    }

    /// The same error as the envelope the service sends (for the emulator).
    pub fn to_envelope(&self) -> Envelope<ErrorResponse> {
        Envelope {
            response: ErrorResponse {
                error: ErrorBody { code: self.code.clone(), message: self.message.clone() },
                request_id: self.request_id.clone(),
            },
        }
    }
}

/// The common error families (contract §1.6): the part of a code before its first `.`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    AuthFailure,
    InvalidParameter,
    InvalidParameterValue,
    MissingParameter,
    UnknownParameter,
    LimitExceeded,
    RequestLimitExceeded,
    FailedOperation,
    ResourceNotFound,
    ResourceInsufficient,
    ResourceUnavailable,
    ResourceInUse,
    InternalError,
    InvalidAction,
    NoSuchVersion,
    UnsupportedOperation,
    UnsupportedRegion,
    UnsupportedProtocol,
    UnauthorizedOperation,
    OperationDenied,
    DryRunOperation,
    /// A prefix not in the common list; the full code is in [`ApiError::code`].
    Other,
}

impl ErrorKind {
    const ALL: [ErrorKind; 21] = [
        ErrorKind::AuthFailure,
        ErrorKind::InvalidParameter,
        ErrorKind::InvalidParameterValue,
        ErrorKind::MissingParameter,
        ErrorKind::UnknownParameter,
        ErrorKind::LimitExceeded,
        ErrorKind::RequestLimitExceeded,
        ErrorKind::FailedOperation,
        ErrorKind::ResourceNotFound,
        ErrorKind::ResourceInsufficient,
        ErrorKind::ResourceUnavailable,
        ErrorKind::ResourceInUse,
        ErrorKind::InternalError,
        ErrorKind::InvalidAction,
        ErrorKind::NoSuchVersion,
        ErrorKind::UnsupportedOperation,
        ErrorKind::UnsupportedRegion,
        ErrorKind::UnsupportedProtocol,
        ErrorKind::UnauthorizedOperation,
        ErrorKind::OperationDenied,
        ErrorKind::DryRunOperation,
    ];

    /// The kind of a full code such as `FailedOperation.TaskNotExist` (matched exactly on the
    /// prefix before the first `.`; unknown prefixes are [`ErrorKind::Other`]).
    pub fn from_code(code: &str) -> ErrorKind {
        let prefix = code.split('.').next().unwrap_or(code);
        ErrorKind::ALL.into_iter().find(|kind| kind.as_str() == prefix).unwrap_or(ErrorKind::Other)
    }

    /// The prefix as written in codes (`"Other"` for [`ErrorKind::Other`]).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::AuthFailure => "AuthFailure",
            ErrorKind::InvalidParameter => "InvalidParameter",
            ErrorKind::InvalidParameterValue => "InvalidParameterValue",
            ErrorKind::MissingParameter => "MissingParameter",
            ErrorKind::UnknownParameter => "UnknownParameter",
            ErrorKind::LimitExceeded => "LimitExceeded",
            ErrorKind::RequestLimitExceeded => "RequestLimitExceeded",
            ErrorKind::FailedOperation => "FailedOperation",
            ErrorKind::ResourceNotFound => "ResourceNotFound",
            ErrorKind::ResourceInsufficient => "ResourceInsufficient",
            ErrorKind::ResourceUnavailable => "ResourceUnavailable",
            ErrorKind::ResourceInUse => "ResourceInUse",
            ErrorKind::InternalError => "InternalError",
            ErrorKind::InvalidAction => "InvalidAction",
            ErrorKind::NoSuchVersion => "NoSuchVersion",
            ErrorKind::UnsupportedOperation => "UnsupportedOperation",
            ErrorKind::UnsupportedRegion => "UnsupportedRegion",
            ErrorKind::UnsupportedProtocol => "UnsupportedProtocol",
            ErrorKind::UnauthorizedOperation => "UnauthorizedOperation",
            ErrorKind::OperationDenied => "OperationDenied",
            ErrorKind::DryRunOperation => "DryRunOperation",
            ErrorKind::Other => "Other",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every way a [`crate::client::Client`] call can fail. No variant carries credentials or
/// request bodies.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The service answered with an error envelope.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// No answer within the client's timeout (after any retries the action allows).
    #[error("{action} timed out")]
    Timeout { action: &'static str },
    /// The request could not be sent or its answer not received (DNS, TLS, connection
    /// refused or reset…).
    #[error("{action} failed in transport: {detail}")]
    Transport { action: &'static str, detail: String },
    /// An HTTP status other than 200. The service answers business errors with 200, so
    /// this comes from something in between (gateway, proxy) and, like the Go SDK, is
    /// treated as a transport failure.
    #[error("{action} was answered with HTTP {status}: {body_snippet}")]
    HttpStatus { action: &'static str, status: u16, body_snippet: String },
    /// A 200 answer whose body is not a valid envelope for the action.
    #[error("the answer to {action} could not be read: {detail}")]
    Decode { action: &'static str, detail: String },
    /// The request could not be serialised (a value JSON cannot represent).
    #[error("the {action} request could not be encoded: {detail}")]
    Encode { action: &'static str, detail: String },
    /// The request could not be signed.
    #[error("the request could not be signed: {0}")]
    Signing(#[from] Tc3Error),
    /// The client's configuration is unusable (bad base URL, region or header value).
    #[error("invalid client configuration: {0}")]
    Config(String),
}

impl ClientError {
    /// The service's error, when this is one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            ClientError::Api(error) => Some(error),
            _ => None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Output {
        task_id: Option<String>,
        request_id: String,
    }

    #[test]
    fn every_common_code_prefix_maps_to_its_kind_and_unknown_ones_to_other() {
        for kind in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_code(kind.as_str()), kind, "the bare code {kind} should map to itself");
            let sub = format!("{kind}.Something");
            assert_eq!(ErrorKind::from_code(&sub), kind, "the sub-code {sub} should map to {kind}");
        }
        for (code, kind) in [
            ("FailedOperation.TaskNotExist", ErrorKind::FailedOperation),
            ("AuthFailure.SignatureFailure", ErrorKind::AuthFailure),
            ("RequestLimitExceeded.UinLimitExceeded", ErrorKind::RequestLimitExceeded),
            ("InvalidParameterValue.RoomId", ErrorKind::InvalidParameterValue),
            ("MissingParameter.AccessKey", ErrorKind::MissingParameter),
            ("InvalidParameterX", ErrorKind::Other),
            ("authfailure", ErrorKind::Other),
            ("", ErrorKind::Other),
        ] {
            assert_eq!(ErrorKind::from_code(code), kind, "code {code:?}");
        }
    }

    #[test]
    fn rate_limit_and_auth_helpers_look_at_the_prefix_only() {
        let limited = ApiError::new("RequestLimitExceeded.IPLimitExceeded", "slow down", None);
        assert!(limited.is_rate_limited() && !limited.is_auth(), "a RequestLimitExceeded sub-code is a rate limit");
        let auth = ApiError::new("AuthFailure.SignatureExpire", "late", None);
        assert!(auth.is_auth() && !auth.is_rate_limited(), "an AuthFailure sub-code is an auth failure");
        let limit = ApiError::new("LimitExceeded.ConcurrencyLimit", "too many", None);
        assert!(!limit.is_rate_limited(), "LimitExceeded is a quota, not a request rate limit");
    }

    #[test]
    fn a_success_envelope_yields_the_output() {
        let body = br#"{"Response":{"TaskId":"t-1","RequestId":"r-1"}}"#;
        let output: Output = parse_response(body).unwrap();
        assert_eq!(output, Output { task_id: Some("t-1".into()), request_id: "r-1".into() });
    }

    #[test]
    fn an_error_envelope_yields_a_typed_api_error_with_its_request_id() {
        let body = br#"{"Response":{"Error":{"Code":"FailedOperation.TaskNotExist","Message":"task does not exist"},"RequestId":"df81f274-c1b8-4342-b0a1-e552072cc48e"}}"#;
        let Err(ResponseError::Api(error)) = parse_response::<Output>(body) else {
            panic!("an error envelope should be an API error");
        };
        assert_eq!(error.code, "FailedOperation.TaskNotExist");
        assert_eq!(error.kind, ErrorKind::FailedOperation);
        assert_eq!(error.message, "task does not exist");
        assert_eq!(error.request_id.as_deref(), Some("df81f274-c1b8-4342-b0a1-e552072cc48e"));
        assert_eq!(
            error.to_string(),
            "FailedOperation.TaskNotExist: task does not exist (RequestId df81f274-c1b8-4342-b0a1-e552072cc48e)"
        );
    }

    #[test]
    fn bodies_that_are_not_envelopes_are_decode_errors() {
        for body in [
            &b"<html>bad gateway</html>"[..],
            b"{}",
            br#"{"Response":"x"}"#,
            br#"{"Response":{"TaskId":"t"}}"#,
            br#"{"Response":{"Error":{"Message":"no code"}}}"#,
        ] {
            assert!(
                matches!(parse_response::<Output>(body), Err(ResponseError::Decode(_))),
                "{:?} should be a decode error",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn the_error_envelope_is_written_in_the_wire_shape_and_reads_back() {
        let envelope = Envelope::error("AuthFailure.SignatureFailure", "bad signature", "r-9");
        let json = serde_json::to_value(&envelope).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"Response": {"Error": {"Code": "AuthFailure.SignatureFailure", "Message": "bad signature"}, "RequestId": "r-9"}})
        );
        let Err(ResponseError::Api(error)) = parse_response::<Output>(json.to_string().as_bytes()) else {
            panic!("the written envelope should read back as an API error");
        };
        assert_eq!(error.to_envelope(), envelope, "an API error converts back into the same envelope");
        let success = serde_json::to_value(Envelope::new(serde_json::json!({"RequestId": "r"}))).unwrap();
        assert_eq!(success, serde_json::json!({"Response": {"RequestId": "r"}}));
    }
}

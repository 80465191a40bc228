//! Typed requests and responses of the TRTC Cloud API actions Switchboard uses
//! (trtc-contract.md §2 and §5), with field names exactly as on the wire.
//!
//! What lives here:
//! - [`Action`], which ties a request type to its action name, its response type and
//!   whether it may be retried after an ambiguous failure;
//! - [`ai`]: Start/Stop/Describe/Control/UpdateAIConversation and their configs;
//! - [`recording`]: Create/Describe/Modify/DeleteCloudRecording and their nested types;
//! - [`json_string`], the serde adapter for fields that carry JSON *inside a string*
//!   (`LLMConfig`, `TTSConfig`, `MetaInfo`);
//! - [`Secret`], a string that serialises as itself but never prints.
//!
//! What deliberately does not: HTTP, signing and the response envelope (see
//! [`crate::client`] and [`crate::error`]), and conversion into `domain` types — these are
//! wire shapes, converted once at the edge by their users.
//!
//! Every response field except `RequestId` is optional (contract §1.5: the SDK structs are
//! all-optional pointers and official examples omit fields). Both directions are derived
//! for every type so that the emulator can read requests and write responses with the
//! same definitions the client uses.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub mod ai;
pub mod recording;

pub use ai::*;
pub use recording::*;

/// The signature scope's service name (contract §1.1).
pub const SERVICE: &str = "trtc";
/// The API version sent as `X-TC-Version` (contract §1.1).
pub const VERSION: &str = "2019-07-22";

/// One Cloud API action: the request body type, its name and its response.
///
/// The request is serialised as the whole POST body; the action's name travels in the
/// `X-TC-Action` header, never in the body (contract §1.2).
pub trait Action: Serialize {
    /// The action name sent as `X-TC-Action`, e.g. `"StartAIConversation"`.
    const NAME: &'static str;

    /// Whether the request may be sent again after an *ambiguous* failure — a timeout or a
    /// transport error after the request may have reached the service.
    ///
    /// True only for the read-only `Describe*` actions. Every other action changes state and
    /// is not idempotent: a repeated Start (or Create) may start a second bot (or
    /// recorder) or fail with `FailedOperation.TaskExist` although the first one runs; a
    /// repeated Stop (or Delete) answers `FailedOperation.TaskNotExist` for a task the
    /// first attempt stopped; a repeated Control speaks the same text twice; a repeated
    /// Update or Modify can overwrite a later change. Answers that prove the request had
    /// no effect (`RequestLimitExceeded*`, connection refused) are retried for every action
    /// regardless of this flag.
    const RETRY_SAFE: bool;

    /// The fields inside `Response`, including `RequestId`.
    type Response: DeserializeOwned;
}

/// A credential-like string (API keys, storage keys, UserSigs) that serialises as a plain
/// JSON string but shows `***` in `Debug`, so that logging a request never leaks it.
///
/// It deliberately has no `Display`; read it with [`Secret::expose`].
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for putting on the wire. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("Secret(\"\")")
        } else {
            f.write_str("Secret(***)")
        }
    }
}

/// Serde adapter for a field whose wire value is a string containing JSON (contract §2:
/// "serialised twice"). Use as `#[serde(with = "json_string")]` on a typed field, or
/// [`json_string::option`] on an `Option` (together with `default` and
/// `skip_serializing_if = "Option::is_none"`).
///
/// Reading is strict: a JSON object where a string is expected is refused, as the real
/// service refuses it (contract §7.1).
pub mod json_string {
    use serde::de::{DeserializeOwned, Error as _};
    use serde::ser::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Writes `value` as a JSON string holding its JSON text.
    ///
    /// # Errors
    /// When `value` cannot be represented as JSON.
    pub fn serialize<T: Serialize, S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
        let text = serde_json::to_string(value).map_err(S::Error::custom)?;
        serializer.serialize_str(&text)
    }

    /// Reads a JSON string and parses its contents as `T`.
    ///
    /// # Errors
    /// When the value is not a string, or its contents are not valid JSON for `T`.
    pub fn deserialize<'de, T: DeserializeOwned, D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error> {
        let text = String::deserialize(deserializer)?;
        serde_json::from_str(&text).map_err(|e| D::Error::custom(format!("the string does not hold valid JSON: {e}")))
    }

    /// The same for an optional field.
    pub mod option {
        use serde::de::{DeserializeOwned, Error as _};
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        /// Writes `Some(value)` as a JSON string holding its JSON text, `None` as `null`.
        ///
        /// # Errors
        /// When the value cannot be represented as JSON.
        pub fn serialize<T: Serialize, S: Serializer>(value: &Option<T>, serializer: S) -> Result<S::Ok, S::Error> {
            match value {
                Some(value) => super::serialize(value, serializer),
                None => serializer.serialize_none(),
            }
        }

        /// Reads `null` as `None` and a string as its parsed contents.
        ///
        /// # Errors
        /// When the value is neither `null` nor a string holding valid JSON for `T`.
        pub fn deserialize<'de, T: DeserializeOwned, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<T>, D::Error> {
            match Option::<String>::deserialize(deserializer)? {
                Some(text) => serde_json::from_str(&text)
                    .map(Some)
                    .map_err(|e| D::Error::custom(format!("the string does not hold valid JSON: {e}"))),
                None => Ok(None),
            }
        }
    }
}

/// Implements string conversions for a status enum with an `Other(String)` fallback, so it
/// (de)serialises as the bare string and an unknown status is kept, not refused.
macro_rules! string_enum {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            /// The wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Other(other) => other,
                }
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> $name {
                match text.as_str() {
                    $($text => $name::$variant,)+
                    _ => $name::Other(text),
                }
            }
        }

        impl From<$name> for String {
            fn from(status: $name) -> String {
                match status {
                    $name::Other(other) => other,
                    known => known.as_str().to_owned(),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use string_enum;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;

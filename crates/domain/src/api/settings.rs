//! The settings screen's part of the IPC contract: the local cache (where it is, how big,
//! how long it keeps finished calls) and where the hub token is kept.
//!
//! What lives here: [`GetCacheInfo`], [`SetRetention`] and [`GetTokenLocation`] with their
//! request and response types, and the retention's bounds with the one parser both sides
//! use ([`parse_retention_days`]), so the form and the engine reject the same values with
//! the same words.
//!
//! What deliberately does not: the hub connection commands (`test_hub_connection`,
//! `connect_hub`, `use_demo`) and the alert rules (`alert_rules`, `set_alert_rules`), which
//! are older and live in `api/mod.rs`; how the engine measures or purges the cache.

use serde::{Deserialize, Serialize};

use super::{Command, NoArgs};

/// The fewest days of finished calls the cache may keep.
pub const MIN_RETENTION_DAYS: u32 = 1;
/// The most days of finished calls the cache may keep (about ten years).
pub const MAX_RETENTION_DAYS: u32 = 3_650;
/// The wire name of the retention field, as errors name it.
pub const RETENTION_FIELD: &str = "retentionDays";

/// `cache_info`: where the local cache of the current hub is, its size on disk and how
/// many days of finished calls it keeps.
#[derive(Debug, Clone, Copy)]
pub struct GetCacheInfo;

impl Command for GetCacheInfo {
    const NAME: &'static str = "cache_info";
    type Request = NoArgs;
    type Response = CacheInfo;
}

/// `set_retention`: validates (1–3650 days), saves to `settings.json` and applies the new
/// retention at the link's next retention pass (within seconds); answers the cache info.
#[derive(Debug, Clone, Copy)]
pub struct SetRetention;

impl Command for SetRetention {
    const NAME: &'static str = "set_retention";
    type Request = SetRetentionRequest;
    type Response = CacheInfo;
}

/// Request of [`SetRetention`]. Signed, so a negative number typed in a form reaches the
/// validation and is reported against its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetRetentionRequest {
    pub retention_days: i64,
}

/// The local cache as the settings screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheInfo {
    /// The cache file of the hub in use (one file per hub), as an absolute path.
    pub path: String,
    /// The file and its write-ahead log (`-wal`) on disk, in bytes; 0 before it exists.
    pub bytes: u64,
    /// Finished calls older than this many days are deleted.
    pub retention_days: u32,
    /// Whether `retention_days` is the supervisor's choice (false: the default).
    pub retention_saved: bool,
}

/// `token_location`: where the token of the hub in use is kept, for the settings screen
/// (issue 5: "the settings screen says which").
#[derive(Debug, Clone, Copy)]
pub struct GetTokenLocation;

impl Command for GetTokenLocation {
    const NAME: &'static str = "token_location";
    type Request = NoArgs;
    type Response = TokenLocation;
}

/// Where the hub token is. Never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum TokenLocation {
    /// A configured hub's token, in the OS keychain.
    Keychain,
    /// A configured hub's token, in a file readable by this user only (0600).
    File { path: String },
    /// The built-in demo: its supervisor token is generated with the demo's other
    /// credentials and kept in this file, readable by this user only (0600).
    DemoCredentials { path: String },
    /// A hub is configured but no token for it is saved (connect again with a token).
    NotSaved,
}

/// Why a retention is refused; the message names the field and the allowed range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{RETENTION_FIELD} is {days}; it must be between {MIN_RETENTION_DAYS} and {MAX_RETENTION_DAYS} days")]
pub struct RetentionOutOfRange {
    pub days: i64,
}

/// A retention in days, checked against [`MIN_RETENTION_DAYS`]..=[`MAX_RETENTION_DAYS`].
///
/// # Errors
/// [`RetentionOutOfRange`] for anything outside the range.
pub fn parse_retention_days(days: i64) -> Result<u32, RetentionOutOfRange> {
    u32::try_from(days)
        .ok()
        .filter(|days| (MIN_RETENTION_DAYS..=MAX_RETENTION_DAYS).contains(days))
        .ok_or(RetentionOutOfRange { days })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn retention_is_accepted_from_one_day_to_ten_years_and_refused_outside_naming_the_field() {
        assert_eq!(parse_retention_days(1), Ok(1));
        assert_eq!(parse_retention_days(3_650), Ok(3_650));
        for days in [0, -5, 3_651, i64::MAX, i64::MIN] {
            let err = parse_retention_days(days).expect_err("out of range");
            assert!(err.to_string().starts_with("retentionDays is"), "{err}");
            assert!(err.to_string().contains("between 1 and 3650"), "{err}");
        }
    }

    #[test]
    fn settings_types_use_the_names_the_ui_sends() {
        let request: SetRetentionRequest = serde_json::from_value(serde_json::json!({"retentionDays": 30})).unwrap();
        assert_eq!(request.retention_days, 30);
        let info =
            CacheInfo { path: "/d/cache-demo.sqlite".into(), bytes: 4096, retention_days: 90, retention_saved: false };
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!((json["retentionDays"].as_u64(), json["retentionSaved"].as_bool()), (Some(90), Some(false)));
        let demo = TokenLocation::DemoCredentials { path: "/d/demo/credentials.json".into() };
        let json = serde_json::to_value(&demo).unwrap();
        assert_eq!(json["kind"], "demoCredentials");
        assert_eq!(serde_json::from_value::<TokenLocation>(json).unwrap(), demo);
        assert_eq!(
            [GetCacheInfo::NAME, SetRetention::NAME, GetTokenLocation::NAME],
            ["cache_info", "set_retention", "token_location"]
        );
    }
}

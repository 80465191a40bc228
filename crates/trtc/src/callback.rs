//! TRTC server callbacks at the HTTP edge (`trtc-contract.md` §3.2, §4, §5.3): the `Sign`
//! header, the `SdkAppId` header and the envelope.
//!
//! Every callback group — AI conversation (9), room (1), media (2), recording (3) — is
//! signed the same way: `Sign = base64(HMAC-SHA256(callback key, raw body bytes))`, over the
//! body exactly as received.
//!
//! What lives here: [`sign`] (the emulator signs what it sends), [`verify_sign`] (constant
//! time), and [`verify_and_parse`], which checks the signature *before* reading a byte of
//! the body as JSON, then the `SdkAppId` header, then parses the envelope into
//! [`domain::wire::CallbackBody`]. [`CallbackError::reason`] gives metrics a stable label.
//!
//! What deliberately does not: meaning. Turning a callback into a domain event is
//! `domain::event::Event::from_callback`, which the hub calls on the same raw body once it
//! has been verified here. No HTTP server, no replay window (the hub enforces one with
//! [`callback_ts_ms`]), no clock.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use domain::ids::SdkAppId;
use domain::wire::CallbackBody;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Length of an HMAC-SHA256 tag in bytes.
const TAG_BYTES: usize = 32;

/// The two callback headers this module reads, as the HTTP layer found them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallbackHeaders<'a> {
    /// The `Sign` header.
    pub sign: Option<&'a str>,
    /// The `SdkAppId` header.
    pub sdk_app_id: Option<&'a str>,
}

/// A callback whose signature held, with its parsed envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedCallback {
    /// The `SdkAppId` header, when one was sent.
    pub sdk_app_id: Option<SdkAppId>,
    /// The envelope; `EventInfo` stays JSON until `domain` reads it.
    pub body: CallbackBody,
}

/// Why a callback was refused.
///
/// Messages name what was wrong and never include the body or the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// No callback key is configured: an empty key would let anyone sign.
    #[error("no callback key is configured; callbacks cannot be verified")]
    EmptyKey,
    /// The `Sign` header is absent or blank.
    #[error("the Sign header is missing")]
    MissingSign,
    /// The `Sign` header is not the base64 of a 32-byte HMAC-SHA256.
    #[error("the Sign header is not a base64 HMAC-SHA256")]
    MalformedSign,
    /// The `Sign` header does not match the body under the callback key.
    #[error("the Sign header does not match the body under the callback key")]
    BadSign,
    /// An application id was expected and no `SdkAppId` header came.
    #[error("the SdkAppId header is missing")]
    MissingSdkAppId,
    /// The `SdkAppId` header is not an unsigned integer.
    #[error("the SdkAppId header is not an unsigned integer")]
    MalformedSdkAppId,
    /// The callback is for another application.
    #[error("the callback is for SdkAppId {found}, not {expected}")]
    WrongSdkAppId { expected: u64, found: u64 },
    /// The signed body is not a callback envelope; the detail is serde's category and
    /// position (and the missing field's name), never a value from the body.
    #[error("the callback body is not a callback envelope: {0}")]
    Malformed(String),
}

impl CallbackError {
    /// A stable snake_case label for metrics counters and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            CallbackError::EmptyKey => "empty_key",
            CallbackError::MissingSign => "missing_sign",
            CallbackError::MalformedSign => "malformed_sign",
            CallbackError::BadSign => "bad_sign",
            CallbackError::MissingSdkAppId => "missing_sdk_app_id",
            CallbackError::MalformedSdkAppId => "malformed_sdk_app_id",
            CallbackError::WrongSdkAppId { .. } => "wrong_sdk_app_id",
            CallbackError::Malformed(_) => "malformed_body",
        }
    }
}

/// The `Sign` header value for `body` under `callback_key`:
/// `base64(HMAC-SHA256(callback_key, body))`.
pub fn sign(callback_key: &str, body: &[u8]) -> String {
    match HmacSha256::new_from_slice(callback_key.as_bytes()) {
        Ok(mut mac) => {
            mac.update(body);
            STANDARD.encode(mac.finalize().into_bytes())
        }
        // HMAC takes keys of any length, so this arm is never taken; were it, an empty
        // Sign verifies nothing (fails closed) instead of panicking in a server.
        Err(_) => String::new(),
    }
}

/// Checks a `Sign` header against the raw `body` under `callback_key`, in constant time.
/// Surrounding whitespace of the header value is ignored; the body is used byte for byte.
///
/// # Errors
/// [`CallbackError::EmptyKey`] for an empty key, [`CallbackError::MissingSign`] for a blank
/// header, [`CallbackError::MalformedSign`] when it is not the base64 of 32 bytes and
/// [`CallbackError::BadSign`] when it does not match.
pub fn verify_sign(callback_key: &str, body: &[u8], sign_header: &str) -> Result<(), CallbackError> {
    if callback_key.is_empty() {
        return Err(CallbackError::EmptyKey);
    }
    let sign_header = sign_header.trim();
    if sign_header.is_empty() {
        return Err(CallbackError::MissingSign);
    }
    let tag = STANDARD.decode(sign_header).map_err(|_| CallbackError::MalformedSign)?;
    // The length of a tag is public; only its contents need a constant-time comparison.
    if tag.len() != TAG_BYTES {
        return Err(CallbackError::MalformedSign);
    }
    let mut mac = HmacSha256::new_from_slice(callback_key.as_bytes()).map_err(|_| CallbackError::BadSign)?;
    mac.update(body);
    mac.verify_slice(&tag).map_err(|_| CallbackError::BadSign)
}

/// Verifies a callback and parses its envelope, in this order: the `Sign` header over the
/// raw body (nothing is parsed before it holds), the `SdkAppId` header (required and equal
/// to `expected_sdk_app_id` when that is given; read when present otherwise), then the
/// body as a [`CallbackBody`].
///
/// # Errors
/// Those of [`verify_sign`] (and [`CallbackError::MissingSign`] with no header),
/// [`CallbackError::MissingSdkAppId`], [`CallbackError::MalformedSdkAppId`],
/// [`CallbackError::WrongSdkAppId`], and [`CallbackError::Malformed`] for a signed body
/// that is not an envelope.
pub fn verify_and_parse(
    callback_key: &str,
    expected_sdk_app_id: Option<u64>,
    headers: CallbackHeaders<'_>,
    body: &[u8],
) -> Result<VerifiedCallback, CallbackError> {
    if callback_key.is_empty() {
        return Err(CallbackError::EmptyKey);
    }
    verify_sign(callback_key, body, headers.sign.ok_or(CallbackError::MissingSign)?)?;
    let sdk_app_id = match headers.sdk_app_id.map(str::trim) {
        Some(value) => Some(value.parse::<u64>().map_err(|_| CallbackError::MalformedSdkAppId)?),
        None => None,
    };
    match (expected_sdk_app_id, sdk_app_id) {
        (Some(_), None) => return Err(CallbackError::MissingSdkAppId),
        (Some(expected), Some(found)) if found != expected => {
            return Err(CallbackError::WrongSdkAppId { expected, found })
        }
        _ => {}
    }
    // serde would also read an envelope from a JSON array (`[9, 901]`); TRTC only sends objects.
    if !matches!(body.trim_ascii_start().first(), Some(b'{') | None) {
        return Err(CallbackError::Malformed("not a JSON object".into()));
    }
    let body = serde_json::from_slice(body).map_err(|e| CallbackError::Malformed(describe(&e)))?;
    Ok(VerifiedCallback { sdk_app_id: sdk_app_id.map(SdkAppId), body })
}

/// When the callback was sent, in ms (`CallbackTs`, also read from `CallbackMsTs`), for the
/// hub's replay window. `None` when TRTC left it out.
pub fn callback_ts_ms(body: &CallbackBody) -> Option<u64> {
    body.callback_ts
}

/// serde's error without the values it sometimes quotes from the input (`invalid type:
/// string "…"`): the category and position, plus the field name of a missing field.
fn describe(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match error.classify() {
        Category::Io => "unreadable".to_owned(),
        Category::Syntax => "not valid JSON".to_owned(),
        Category::Eof => "ends early".to_owned(),
        Category::Data => {
            let message = error.to_string();
            match message.strip_prefix("missing field `").and_then(|rest| rest.split_once('`')) {
                Some((field, _)) => format!("missing field {field}"),
                None => "a field has the wrong type or value".to_owned(),
            }
        }
    };
    format!("{what} at line {} column {}", error.line(), error.column())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// The contract's published vector (§3.2): key, body with real newlines and tabs, Sign.
    const VECTOR_KEY: &str = "123654";
    const VECTOR_BODY: &str = "{\n\t\"EventGroupId\":\t2,\n\t\"EventType\":\t204,\n\t\"CallbackTs\":\t1664209748188,\n\t\"EventInfo\":\t{\n\t\t\"RoomId\":\t8489,\n\t\t\"EventTs\":\t1664209748,\n\t\t\"EventMsTs\":\t1664209748180,\n\t\t\"UserId\":\t\"user_85034614\",\n\t\t\"Reason\":\t0\n\t}\n}";
    const VECTOR_SIGN: &str = "kkoFeO3Oh2ZHnjtg8tEAQhtXK16/KI05W3BQff8IvGA=";

    fn headers<'a>(sign: Option<&'a str>, sdk_app_id: Option<&'a str>) -> CallbackHeaders<'a> {
        CallbackHeaders { sign, sdk_app_id }
    }

    #[test]
    fn the_published_vector_signs_and_verifies() {
        assert_eq!(sign(VECTOR_KEY, VECTOR_BODY.as_bytes()), VECTOR_SIGN, "the Sign the contract publishes");
        assert_eq!(verify_sign(VECTOR_KEY, VECTOR_BODY.as_bytes(), VECTOR_SIGN), Ok(()));
        assert_eq!(
            verify_sign(VECTOR_KEY, VECTOR_BODY.as_bytes(), &format!("  {VECTOR_SIGN}\r\n")),
            Ok(()),
            "whitespace around the header value is not part of the signature"
        );
    }

    #[test]
    fn changing_any_single_byte_of_the_body_breaks_the_signature() {
        let body = VECTOR_BODY.as_bytes();
        for i in 0..body.len() {
            let mut tampered = body.to_vec();
            tampered[i] ^= 0x01;
            assert_eq!(
                verify_sign(VECTOR_KEY, &tampered, VECTOR_SIGN),
                Err(CallbackError::BadSign),
                "a change at byte {i} went unnoticed"
            );
        }
        let reformatted = serde_json::to_vec(&serde_json::from_str::<serde_json::Value>(VECTOR_BODY).unwrap()).unwrap();
        assert_eq!(
            verify_sign(VECTOR_KEY, &reformatted, VECTOR_SIGN),
            Err(CallbackError::BadSign),
            "the signature covers the bytes as sent, not the JSON they mean"
        );
    }

    #[test]
    fn the_wrong_key_is_a_bad_sign() {
        assert_eq!(verify_sign("123655", VECTOR_BODY.as_bytes(), VECTOR_SIGN), Err(CallbackError::BadSign));
    }

    #[test]
    fn a_missing_blank_or_garbled_sign_header_is_named() {
        let body = VECTOR_BODY.as_bytes();
        assert_eq!(
            verify_and_parse(VECTOR_KEY, None, headers(None, None), body).unwrap_err(),
            CallbackError::MissingSign
        );
        assert_eq!(verify_sign(VECTOR_KEY, body, "  "), Err(CallbackError::MissingSign));
        assert_eq!(verify_sign(VECTOR_KEY, body, "not base64!"), Err(CallbackError::MalformedSign));
        assert_eq!(
            verify_sign(VECTOR_KEY, body, "kkoFeO3Oh2ZHnjtg"),
            Err(CallbackError::MalformedSign),
            "base64 of 12 bytes is not an HMAC-SHA256"
        );
        assert_eq!(
            verify_sign(VECTOR_KEY, body, &VECTOR_SIGN.replace('/', "_")),
            Err(CallbackError::MalformedSign),
            "URL-safe base64 is not what TRTC sends"
        );
    }

    #[test]
    fn an_empty_callback_key_verifies_nothing() {
        let forged = sign("", VECTOR_BODY.as_bytes());
        assert_eq!(verify_sign("", VECTOR_BODY.as_bytes(), &forged), Err(CallbackError::EmptyKey));
        assert_eq!(
            verify_and_parse("", None, headers(Some(&forged), None), VECTOR_BODY.as_bytes()).unwrap_err(),
            CallbackError::EmptyKey
        );
    }

    #[test]
    fn the_vector_callback_for_the_expected_application_is_verified_and_parsed() {
        let verified = verify_and_parse(
            VECTOR_KEY,
            Some(1_400_000_000),
            headers(Some(VECTOR_SIGN), Some("1400000000")),
            VECTOR_BODY.as_bytes(),
        )
        .unwrap();
        assert_eq!(verified.sdk_app_id, Some(SdkAppId(1_400_000_000)));
        assert_eq!((verified.body.event_group_id, verified.body.event_type), (2, 204));
        assert_eq!(callback_ts_ms(&verified.body), Some(1_664_209_748_188), "the hub's replay window reads this");
        assert_eq!(verified.body.event_info.unwrap()["UserId"], "user_85034614");
    }

    #[test]
    fn the_sdk_app_id_header_is_required_only_when_an_application_is_expected() {
        let body = VECTOR_BODY.as_bytes();
        let without = verify_and_parse(VECTOR_KEY, None, headers(Some(VECTOR_SIGN), None), body).unwrap();
        assert_eq!(without.sdk_app_id, None);
        assert_eq!(
            verify_and_parse(VECTOR_KEY, Some(1_400_000_000), headers(Some(VECTOR_SIGN), None), body).unwrap_err(),
            CallbackError::MissingSdkAppId
        );
        assert_eq!(
            verify_and_parse(VECTOR_KEY, Some(1_400_000_000), headers(Some(VECTOR_SIGN), Some("1400000001")), body)
                .unwrap_err(),
            CallbackError::WrongSdkAppId { expected: 1_400_000_000, found: 1_400_000_001 }
        );
        assert_eq!(
            verify_and_parse(VECTOR_KEY, None, headers(Some(VECTOR_SIGN), Some("14e8")), body).unwrap_err(),
            CallbackError::MalformedSdkAppId
        );
        let unexpected = verify_and_parse(VECTOR_KEY, None, headers(Some(VECTOR_SIGN), Some(" 1400 ")), body).unwrap();
        assert_eq!(unexpected.sdk_app_id, Some(SdkAppId(1400)), "a header is read even when none is expected");
    }

    #[test]
    fn a_signed_body_that_is_not_an_envelope_is_malformed_without_echoing_it() {
        for body in [
            "",
            "{\"EventGroupId\":",
            "[1,2]",
            "{\"EventType\":204}",
            "{\"EventGroupId\":\"secret-words\",\"EventType\":1}",
        ] {
            let err = verify_and_parse(
                VECTOR_KEY,
                None,
                headers(Some(&sign(VECTOR_KEY, body.as_bytes())), None),
                body.as_bytes(),
            )
            .unwrap_err();
            assert!(matches!(err, CallbackError::Malformed(_)), "{body:?} gave {err:?}");
            assert!(!err.to_string().contains("secret-words"), "the message echoes the body: {err}");
        }
        let missing = "{\"EventType\":204}";
        let err = verify_and_parse(
            VECTOR_KEY,
            None,
            headers(Some(&sign(VECTOR_KEY, missing.as_bytes())), None),
            missing.as_bytes(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("missing field EventGroupId"), "names the missing field: {err}");
    }

    #[test]
    fn a_forged_callback_is_rejected_before_parsing() {
        let body = b"{not json at all";
        assert_eq!(
            verify_and_parse(VECTOR_KEY, Some(1), headers(Some(VECTOR_SIGN), Some("2")), body).unwrap_err(),
            CallbackError::BadSign,
            "neither the SdkAppId header nor the body is looked at before the signature holds"
        );
    }

    #[test]
    fn every_refusal_has_a_distinct_stable_reason_and_no_key_in_its_message() {
        let all = [
            CallbackError::EmptyKey,
            CallbackError::MissingSign,
            CallbackError::MalformedSign,
            CallbackError::BadSign,
            CallbackError::MissingSdkAppId,
            CallbackError::MalformedSdkAppId,
            CallbackError::WrongSdkAppId { expected: 1, found: 2 },
            CallbackError::Malformed("x".into()),
        ];
        let reasons: std::collections::HashSet<_> = all.iter().map(CallbackError::reason).collect();
        assert_eq!(reasons.len(), all.len(), "two errors share a label: {reasons:?}");
        assert!(reasons.iter().all(|r| r.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')), "{reasons:?}");
        assert_eq!(CallbackError::BadSign.reason(), "bad_sign");
        assert_eq!(CallbackError::MissingSign.reason(), "missing_sign");
        assert!(all.iter().all(|e| !e.to_string().contains(VECTOR_KEY)));
    }
}

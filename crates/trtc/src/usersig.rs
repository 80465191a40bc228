//! UserSig tickets (TLSSigAPIv2, `trtc-contract.md` §6): generation for the emulator and
//! tests, verification for anything that must accept a client's ticket (the emulator's room
//! join, a hub that checks who is asking).
//!
//! A UserSig is `base64url'(zlib(JSON))` where the JSON carries the claims and `TLS.sig`,
//! the standard base64 of HMAC-SHA256(secret key, content). The content is the claims in a
//! fixed order, one `TLS.<name>:<value>\n` line each. `base64url'` is TLS's own variant of
//! base64: `+`→`*`, `/`→`-`, `=`→`_`.
//!
//! What lives here: [`generate`] (with no clock inside: callers pass `now`), [`verify`]
//! returning the decoded [`UserSigClaims`], and [`UserSigError`].
//!
//! What deliberately does not: PrivateMapKey tickets (the `TLS.userbuf` room-permission
//! variant) are not supported yet — [`generate`] cannot make one and [`verify`] refuses one
//! with [`UserSigError::UnsupportedUserBuf`]. Nothing here reads the system clock or knows
//! where secret keys are stored.

use std::io::{Read, Write};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use flate2::bufread::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Deserializer, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The only ticket version this module reads and writes (`TLS.ver`).
pub const VERSION: &str = "2.0";

/// The official libraries' default lifetime: 180 days, in seconds.
pub const DEFAULT_EXPIRE_SECS: u64 = 180 * 24 * 60 * 60;

/// Longest UserId TRTC accepts, in bytes.
pub const MAX_USER_ID_BYTES: usize = 32;

/// Longest UserSig string [`verify`] will decode. Real tickets are a few hundred bytes;
/// the cap keeps a hostile input from costing more than a fixed amount of work.
const MAX_USER_SIG_CHARS: usize = 64 * 1024;

/// Most bytes the zlib stream may inflate to, so a zip bomb cannot exhaust memory.
const MAX_INFLATED_BYTES: usize = 16 * 1024;

/// The claims a verified UserSig carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSigClaims {
    /// The UserId the ticket was issued to (`TLS.identifier`).
    pub identifier: String,
    /// The application it was issued for (`TLS.sdkappid`).
    pub sdk_app_id: u64,
    /// When it was issued, Unix seconds (`TLS.time`).
    pub time: u64,
    /// How long it is valid after `time`, in seconds (`TLS.expire`).
    pub expire: u64,
}

impl UserSigClaims {
    /// The last Unix second at which the ticket is still valid (`time + expire`, saturating).
    pub fn expires_at(&self) -> u64 {
        self.time.saturating_add(self.expire)
    }
}

/// Why a UserSig could not be generated or was refused.
///
/// Messages name what was wrong; they never include the secret key, and a UserId from an
/// untrusted ticket is only echoed once it has passed the UserId syntax check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserSigError {
    /// A UserId (given, or found in the ticket) is not 1–32 bytes of `[A-Za-z0-9_-]`.
    #[error(
        "user id must be 1–{MAX_USER_ID_BYTES} bytes of [A-Za-z0-9_-]; this one is {len} bytes and does not match"
    )]
    InvalidUserId { len: usize },
    /// The secret key is empty: anyone could compute its signatures.
    #[error("the secret key is empty")]
    EmptySecretKey,
    /// Not a UserSig at all: bad base64, a broken or oversized zlib stream, or JSON
    /// without the expected fields. The detail says which step failed.
    #[error("malformed UserSig: {0}")]
    Malformed(String),
    /// `TLS.ver` is not `"2.0"`.
    #[error("UserSig version is {found}, expected \"2.0\"")]
    WrongVersion { found: String },
    /// A well-formed ticket issued to another user.
    #[error("UserSig was issued to user {found:?}, not {expected:?}")]
    WrongUser { expected: String, found: String },
    /// A well-formed ticket issued for another application.
    #[error("UserSig was issued for SdkAppId {found}, not {expected}")]
    WrongSdkAppId { expected: u64, found: u64 },
    /// The ticket's lifetime ended before `now`.
    #[error("UserSig expired at {expired_at} (Unix seconds); now is {now}")]
    Expired { expired_at: u64, now: u64 },
    /// `TLS.sig` does not match the claims under this secret key: forged, tampered with, or
    /// signed with another key.
    #[error("UserSig signature does not match its claims under this secret key")]
    BadSignature,
    /// The ticket carries `TLS.userbuf` (a PrivateMapKey), which this module does not support yet.
    #[error("UserSig carries TLS.userbuf (a PrivateMapKey), which is not supported")]
    UnsupportedUserBuf,
    /// zlib or JSON refused to encode the ticket; not expected with in-memory buffers, but
    /// reported rather than panicking.
    #[error("could not encode the UserSig: {0}")]
    Encode(String),
}

/// The ticket's JSON document, in the field order the official Python library writes.
#[derive(Serialize, Deserialize)]
struct TicketJson {
    #[serde(rename = "TLS.ver")]
    ver: serde_json::Value,
    #[serde(rename = "TLS.identifier")]
    identifier: String,
    #[serde(rename = "TLS.sdkappid", deserialize_with = "number_or_string")]
    sdk_app_id: u64,
    #[serde(rename = "TLS.expire", deserialize_with = "number_or_string")]
    expire: u64,
    #[serde(rename = "TLS.time", deserialize_with = "number_or_string")]
    time: u64,
    #[serde(rename = "TLS.userbuf", default, skip_serializing_if = "Option::is_none")]
    userbuf: Option<serde_json::Value>,
    #[serde(rename = "TLS.sig")]
    sig: String,
}

/// The official libraries write these fields as JSON numbers; a string holding the number
/// is tolerated as well.
fn number_or_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Wire {
        Number(u64),
        Text(String),
    }
    match Wire::deserialize(deserializer)? {
        Wire::Number(n) => Ok(n),
        Wire::Text(s) => {
            s.parse().map_err(|_| serde::de::Error::custom("expected a non-negative integer, or a string holding one"))
        }
    }
}

/// Issues a UserSig for `user_id` in application `sdk_app_id`, valid for `expire_secs`
/// seconds from `now_unix` (Unix seconds; [`DEFAULT_EXPIRE_SECS`] is the official default).
///
/// The output decodes to the same JSON the official libraries produce; the compressed
/// bytes may differ from theirs (zlib level), which no verifier depends on.
///
/// # Errors
/// [`UserSigError::InvalidUserId`] when `user_id` is not 1–32 bytes of `[A-Za-z0-9_-]`,
/// [`UserSigError::EmptySecretKey`] for an empty key, and [`UserSigError::Encode`] if zlib
/// or JSON fail (not expected in practice).
pub fn generate(
    sdk_app_id: u64,
    secret_key: &str,
    user_id: &str,
    expire_secs: u64,
    now_unix: u64,
) -> Result<String, UserSigError> {
    check_user_id(user_id)?;
    if secret_key.is_empty() {
        return Err(UserSigError::EmptySecretKey);
    }
    let claims = UserSigClaims { identifier: user_id.to_owned(), sdk_app_id, time: now_unix, expire: expire_secs };
    let mac = signature_mac(secret_key, &claims).map_err(|e| UserSigError::Encode(e.to_string()))?;
    let ticket = TicketJson {
        ver: serde_json::Value::from(VERSION),
        identifier: claims.identifier,
        sdk_app_id,
        expire: expire_secs,
        time: now_unix,
        userbuf: None,
        sig: STANDARD.encode(mac.finalize().into_bytes()),
    };
    let json = serde_json::to_vec(&ticket).map_err(|e| UserSigError::Encode(e.to_string()))?;
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(&json).map_err(|e| UserSigError::Encode(e.to_string()))?;
    let compressed = encoder.finish().map_err(|e| UserSigError::Encode(e.to_string()))?;
    Ok(to_tls_base64(&STANDARD.encode(compressed)))
}

/// Checks that `user_sig` was issued by the holder of `secret_key` to `user_id` in
/// application `sdk_app_id` and is still valid at `now_unix` (valid up to and including
/// `time + expire`), and returns its claims.
///
/// Checks run in the official libraries' order — version, user, application, expiry, then
/// the signature — so a ticket for the wrong user or application is named as such; those
/// errors therefore do not say the ticket was genuine. The signature is compared in
/// constant time.
///
/// # Errors
/// [`UserSigError::InvalidUserId`] for a `user_id` (or a ticket identifier) outside
/// `[A-Za-z0-9_-]{1,32}`, [`UserSigError::EmptySecretKey`], [`UserSigError::Malformed`]
/// when base64, zlib (including output over 16 KiB) or JSON fail,
/// [`UserSigError::WrongVersion`], [`UserSigError::UnsupportedUserBuf`],
/// [`UserSigError::WrongUser`], [`UserSigError::WrongSdkAppId`], [`UserSigError::Expired`]
/// and [`UserSigError::BadSignature`].
pub fn verify(
    user_sig: &str,
    sdk_app_id: u64,
    secret_key: &str,
    user_id: &str,
    now_unix: u64,
) -> Result<UserSigClaims, UserSigError> {
    check_user_id(user_id)?;
    if secret_key.is_empty() {
        return Err(UserSigError::EmptySecretKey);
    }
    let ticket = decode(user_sig)?;
    if ticket.ver.as_str() != Some(VERSION) {
        let mut found = ticket.ver.to_string();
        if found.len() > 16 {
            found = format!("{}…", found.chars().take(16).collect::<String>());
        }
        return Err(UserSigError::WrongVersion { found });
    }
    if ticket.userbuf.is_some() {
        return Err(UserSigError::UnsupportedUserBuf);
    }
    check_user_id(&ticket.identifier)?;
    if ticket.identifier != user_id {
        return Err(UserSigError::WrongUser { expected: user_id.to_owned(), found: ticket.identifier });
    }
    if ticket.sdk_app_id != sdk_app_id {
        return Err(UserSigError::WrongSdkAppId { expected: sdk_app_id, found: ticket.sdk_app_id });
    }
    let claims = UserSigClaims { identifier: ticket.identifier, sdk_app_id, time: ticket.time, expire: ticket.expire };
    if now_unix > claims.expires_at() {
        return Err(UserSigError::Expired { expired_at: claims.expires_at(), now: now_unix });
    }
    let presented = STANDARD.decode(ticket.sig.as_bytes()).map_err(|_| UserSigError::BadSignature)?;
    signature_mac(secret_key, &claims)
        .map_err(|_| UserSigError::BadSignature)?
        .verify_slice(&presented)
        .map_err(|_| UserSigError::BadSignature)?;
    Ok(claims)
}

/// The content string TLS signs: every line ends in `\n`, in this fixed order.
fn content(claims: &UserSigClaims) -> String {
    format!(
        "TLS.identifier:{}\nTLS.sdkappid:{}\nTLS.time:{}\nTLS.expire:{}\n",
        claims.identifier, claims.sdk_app_id, claims.time, claims.expire
    )
}

/// An HMAC-SHA256 keyed with the secret key that has absorbed the content string.
fn signature_mac(secret_key: &str, claims: &UserSigClaims) -> Result<HmacSha256, hmac::digest::InvalidLength> {
    let mut mac = HmacSha256::new_from_slice(secret_key.as_bytes())?;
    mac.update(content(claims).as_bytes());
    Ok(mac)
}

fn decode(user_sig: &str) -> Result<TicketJson, UserSigError> {
    if user_sig.len() > MAX_USER_SIG_CHARS {
        return Err(UserSigError::Malformed(format!("longer than {MAX_USER_SIG_CHARS} characters")));
    }
    let compressed = STANDARD
        .decode(from_tls_base64(user_sig))
        .map_err(|e| UserSigError::Malformed(format!("not TLS base64: {e}")))?;
    let mut json = Vec::new();
    let mut decoder = ZlibDecoder::new(compressed.as_slice());
    // One byte past the cap tells "exactly at the cap" from "over it".
    (&mut decoder)
        .take(MAX_INFLATED_BYTES as u64 + 1)
        .read_to_end(&mut json)
        .map_err(|e| UserSigError::Malformed(format!("not a zlib stream: {e}")))?;
    if json.len() > MAX_INFLATED_BYTES {
        return Err(UserSigError::Malformed(format!("inflates to more than {MAX_INFLATED_BYTES} bytes")));
    }
    // Bytes after the stream are ignored by zlib readers; refusing them keeps one ticket
    // from having many spellings.
    if !decoder.into_inner().is_empty() {
        return Err(UserSigError::Malformed("bytes after the end of the zlib stream".into()));
    }
    serde_json::from_slice(&json).map_err(|e| UserSigError::Malformed(format!("not a TLS ticket document: {e}")))
}

fn check_user_id(user_id: &str) -> Result<(), UserSigError> {
    let valid = (1..=MAX_USER_ID_BYTES).contains(&user_id.len())
        && user_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(UserSigError::InvalidUserId { len: user_id.len() })
    }
}

fn to_tls_base64(standard: &str) -> String {
    standard
        .chars()
        .map(|c| match c {
            '+' => '*',
            '/' => '-',
            '=' => '_',
            other => other,
        })
        .collect()
}

fn from_tls_base64(tls: &str) -> String {
    tls.chars()
        .map(|c| match c {
            '*' => '+',
            '-' => '/',
            '_' => '=',
            other => other,
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const APP: u64 = 1_400_000_000;
    const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
    const USER: &str = "xiaojun";
    const TIME: u64 = 1_700_000_000;
    const EXPIRE: u64 = 15_552_000;
    /// The full UserSig the official Python library printed for the contract's SELF vector.
    const PYTHON_USER_SIG: &str = "eJyrVgrxCdYrSy1SslJQMtIzUNJRAItkpqTmlWSmZUIkKjIT87NK82CSxSnZiQUFmSlAKUMTAyiAyqVWFGQWpYJkTE1NjRDiJZm5YFFzNPXFmekgG3zKHM1T9D3LzdODi-OKs8vCqpxcAvydnV2SSv2cy03cPcpDnA2SMgu0nUxslWoBHdYzUg__";

    fn vector_claims() -> UserSigClaims {
        UserSigClaims { identifier: USER.into(), sdk_app_id: APP, time: TIME, expire: EXPIRE }
    }

    /// Encodes any JSON document as a UserSig, for tickets the generator would never make.
    fn encode_document(json: &[u8]) -> String {
        let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(json).unwrap();
        to_tls_base64(&STANDARD.encode(encoder.finish().unwrap()))
    }

    fn decoded_json(user_sig: &str) -> serde_json::Value {
        let compressed = STANDARD.decode(from_tls_base64(user_sig)).unwrap();
        let mut json = Vec::new();
        ZlibDecoder::new(compressed.as_slice()).read_to_end(&mut json).unwrap();
        serde_json::from_slice(&json).unwrap()
    }

    #[test]
    fn the_self_vector_content_and_signature_match_the_contract() {
        let claims = vector_claims();
        assert_eq!(
            content(&claims),
            "TLS.identifier:xiaojun\nTLS.sdkappid:1400000000\nTLS.time:1700000000\nTLS.expire:15552000\n",
            "the content lines are in the fixed order, each ending in a newline"
        );
        let sig = STANDARD.encode(signature_mac(KEY, &claims).unwrap().finalize().into_bytes());
        assert_eq!(sig, "LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4=", "TLS.sig of the contract's SELF vector");
    }

    #[test]
    fn the_ticket_printed_by_the_official_python_library_verifies() {
        let claims = verify(PYTHON_USER_SIG, APP, KEY, USER, TIME + 1).unwrap();
        assert_eq!(claims, vector_claims(), "the decoded claims are the vector's inputs");
        assert_eq!(claims.expires_at(), 1_715_552_000);
        let json = decoded_json(PYTHON_USER_SIG);
        assert_eq!(json["TLS.ver"], "2.0");
        assert_eq!(json["TLS.sig"], "LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4=");
    }

    #[test]
    fn a_generated_ticket_decodes_to_the_official_document_and_verifies() {
        let user_sig = generate(APP, KEY, USER, EXPIRE, TIME).unwrap();
        assert!(
            user_sig.chars().all(|c| c.is_ascii_alphanumeric() || "*-_".contains(c)),
            "only TLS base64 characters appear: {user_sig}"
        );
        assert_eq!(
            decoded_json(&user_sig),
            decoded_json(PYTHON_USER_SIG),
            "our JSON carries the same fields and values as the Python library's"
        );
        assert_eq!(verify(&user_sig, APP, KEY, USER, TIME).unwrap(), vector_claims());
    }

    #[test]
    fn a_ticket_is_valid_through_its_last_second_and_expired_one_second_later() {
        let user_sig = generate(APP, KEY, USER, EXPIRE, TIME).unwrap();
        assert!(verify(&user_sig, APP, KEY, USER, TIME + EXPIRE).is_ok(), "time + expire is still valid");
        assert_eq!(
            verify(&user_sig, APP, KEY, USER, TIME + EXPIRE + 1).unwrap_err(),
            UserSigError::Expired { expired_at: TIME + EXPIRE, now: TIME + EXPIRE + 1 }
        );
    }

    #[test]
    fn a_ticket_for_another_user_or_application_is_refused_by_name() {
        let user_sig = generate(APP, KEY, USER, EXPIRE, TIME).unwrap();
        assert_eq!(
            verify(&user_sig, APP, KEY, "someone_else", TIME).unwrap_err(),
            UserSigError::WrongUser { expected: "someone_else".into(), found: USER.into() }
        );
        assert_eq!(
            verify(&user_sig, 1_400_000_001, KEY, USER, TIME).unwrap_err(),
            UserSigError::WrongSdkAppId { expected: 1_400_000_001, found: APP }
        );
    }

    #[test]
    fn a_ticket_signed_with_another_key_is_refused() {
        let user_sig = generate(APP, "another-secret-key", USER, EXPIRE, TIME).unwrap();
        assert_eq!(verify(&user_sig, APP, KEY, USER, TIME).unwrap_err(), UserSigError::BadSignature);
    }

    #[test]
    fn a_tampered_signature_or_claim_is_refused() {
        let mut json = decoded_json(PYTHON_USER_SIG);
        json["TLS.sig"] = "MvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4=".into();
        let flipped_sig = encode_document(json.to_string().as_bytes());
        assert_eq!(verify(&flipped_sig, APP, KEY, USER, TIME).unwrap_err(), UserSigError::BadSignature);

        let mut json = decoded_json(PYTHON_USER_SIG);
        json["TLS.expire"] = (EXPIRE * 10).into();
        let longer_life = encode_document(json.to_string().as_bytes());
        assert_eq!(
            verify(&longer_life, APP, KEY, USER, TIME).unwrap_err(),
            UserSigError::BadSignature,
            "an extended lifetime is not covered by the signature"
        );

        let mut json = decoded_json(PYTHON_USER_SIG);
        json["TLS.sig"] = "not base64!".into();
        let garbled = encode_document(json.to_string().as_bytes());
        assert_eq!(verify(&garbled, APP, KEY, USER, TIME).unwrap_err(), UserSigError::BadSignature);
    }

    #[test]
    fn flipping_any_character_of_the_ticket_never_verifies_and_never_panics() {
        for (i, original) in PYTHON_USER_SIG.char_indices() {
            let replacement = if original == 'A' { 'B' } else { 'A' };
            let mut tampered = PYTHON_USER_SIG.to_owned();
            tampered.replace_range(i..=i, &replacement.to_string());
            assert!(verify(&tampered, APP, KEY, USER, TIME).is_err(), "flipping position {i} still verified");
        }
    }

    #[test]
    fn garbage_and_truncated_input_are_malformed() {
        for garbage in ["", "not a ticket", "!!!!", "eJyr", "____"] {
            assert!(
                matches!(verify(garbage, APP, KEY, USER, TIME), Err(UserSigError::Malformed(_))),
                "{garbage:?} should be malformed"
            );
        }
        for cut in [4, 40, PYTHON_USER_SIG.len() - 8] {
            let truncated = &PYTHON_USER_SIG[..cut];
            assert!(
                matches!(verify(truncated, APP, KEY, USER, TIME), Err(UserSigError::Malformed(_))),
                "a ticket cut at {cut} should be malformed"
            );
        }
        let plain_text = to_tls_base64(&STANDARD.encode(b"TLS.ver 2.0"));
        assert!(matches!(verify(&plain_text, APP, KEY, USER, TIME), Err(UserSigError::Malformed(_))));
        let missing_sig = encode_document(br#"{"TLS.ver":"2.0","TLS.identifier":"xiaojun","TLS.sdkappid":1400000000,"TLS.expire":15552000,"TLS.time":1700000000}"#);
        let err = verify(&missing_sig, APP, KEY, USER, TIME).unwrap_err();
        assert!(matches!(&err, UserSigError::Malformed(d) if d.contains("TLS.sig")), "names the field: {err}");
    }

    #[test]
    fn a_zlib_bomb_is_refused_without_inflating_it_all() {
        let bomb = encode_document(&vec![b' '; 10 * 1024 * 1024]);
        assert!(bomb.len() < MAX_USER_SIG_CHARS, "the bomb is small on the wire ({} chars)", bomb.len());
        let err = verify(&bomb, APP, KEY, USER, TIME).unwrap_err();
        assert!(matches!(&err, UserSigError::Malformed(d) if d.contains("more than")), "refused for its size: {err}");
        let huge = "A".repeat(MAX_USER_SIG_CHARS + 4);
        assert!(matches!(verify(&huge, APP, KEY, USER, TIME), Err(UserSigError::Malformed(_))));
    }

    #[test]
    fn numbers_written_as_strings_are_tolerated() {
        let mut json = decoded_json(PYTHON_USER_SIG);
        json["TLS.sdkappid"] = "1400000000".into();
        json["TLS.time"] = "1700000000".into();
        json["TLS.expire"] = "15552000".into();
        let stringly = encode_document(json.to_string().as_bytes());
        assert_eq!(verify(&stringly, APP, KEY, USER, TIME).unwrap(), vector_claims());
    }

    #[test]
    fn another_version_or_a_private_map_key_is_refused() {
        let mut json = decoded_json(PYTHON_USER_SIG);
        json["TLS.ver"] = "1.0".into();
        let old = encode_document(json.to_string().as_bytes());
        assert_eq!(
            verify(&old, APP, KEY, USER, TIME).unwrap_err(),
            UserSigError::WrongVersion { found: "\"1.0\"".into() }
        );
        let mut json = decoded_json(PYTHON_USER_SIG);
        json["TLS.userbuf"] = "AAAA".into();
        let private_map_key = encode_document(json.to_string().as_bytes());
        assert_eq!(verify(&private_map_key, APP, KEY, USER, TIME).unwrap_err(), UserSigError::UnsupportedUserBuf);
    }

    #[test]
    fn user_ids_outside_the_allowed_syntax_are_refused_on_both_sides() {
        for bad in ["", "has space", "ünïcode", "a@b", &"x".repeat(33)] {
            assert!(
                matches!(generate(APP, KEY, bad, EXPIRE, TIME), Err(UserSigError::InvalidUserId { .. })),
                "generate accepted {bad:?}"
            );
            assert!(
                matches!(verify(PYTHON_USER_SIG, APP, KEY, bad, TIME), Err(UserSigError::InvalidUserId { .. })),
                "verify accepted {bad:?} as the expected user"
            );
        }
        assert!(generate(APP, KEY, &"x".repeat(32), EXPIRE, TIME).is_ok(), "32 bytes is the limit, inclusive");
        let mut json = decoded_json(PYTHON_USER_SIG);
        json["TLS.identifier"] = "x\ny".into();
        let odd = encode_document(json.to_string().as_bytes());
        assert_eq!(
            verify(&odd, APP, KEY, USER, TIME).unwrap_err(),
            UserSigError::InvalidUserId { len: 3 },
            "an identifier that could forge content lines is never signed over"
        );
    }

    #[test]
    fn an_empty_secret_key_is_refused() {
        assert_eq!(generate(APP, "", USER, EXPIRE, TIME).unwrap_err(), UserSigError::EmptySecretKey);
        assert_eq!(verify(PYTHON_USER_SIG, APP, "", USER, TIME).unwrap_err(), UserSigError::EmptySecretKey);
    }
}

//! TC3-HMAC-SHA256, the Cloud API v3 request signature (trtc-contract.md §1.3).
//!
//! Both sides of it: [`authorization`] signs a request for the client, and
//! [`Authorization::parse`] + [`verify`] check one for the emulator, over whatever
//! `SignedHeaders` lists (the Go SDK signs `content-type;host`, newer demos add
//! `x-tc-action`; both must be accepted).
//!
//! What deliberately does not live here: HTTP. Callers pass the method, path, query,
//! header values and the exact body bytes; this module only builds the canonical request,
//! the string to sign and the HMAC chain.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::{macros::format_description, OffsetDateTime};

use crate::credentials::Credentials;

/// The algorithm name, first word of the `Authorization` header.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";
/// The last element of the credential scope.
pub const TERMINATOR: &str = "tc3_request";
/// The payload marker for the unsigned-payload option (`X-TC-Content-SHA256`).
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// Requests whose timestamp is further than this from the server's clock are refused.
pub const MAX_SKEW_SECS: i64 = 300;

type HmacSha256 = Hmac<Sha256>;

/// What is signed of one HTTP request.
#[derive(Debug, Clone)]
pub struct SignedRequest<'a> {
    /// `POST` or `GET`.
    pub method: &'a str,
    /// Always `/` for the Cloud API.
    pub path: &'a str,
    /// The canonical query string (empty for POST).
    pub query: &'a str,
    /// The signed headers as (name, value) pairs, in any order and case.
    pub headers: Vec<(&'a str, &'a str)>,
    /// The exact body bytes (ignored when the unsigned-payload option is used).
    pub payload: &'a [u8],
    /// True when signing with `X-TC-Content-SHA256: UNSIGNED-PAYLOAD`.
    pub unsigned_payload: bool,
}

/// The intermediate values of one signature, exposed for the test vectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub date: String,
    pub signed_headers: String,
    pub hashed_payload: String,
    pub canonical_request: String,
    pub hashed_canonical_request: String,
    pub string_to_sign: String,
    /// Lowercase hex of the final HMAC.
    pub signature: String,
}

/// Why a signature could not be made or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Tc3Error {
    #[error("timestamp {0} is not a valid Unix time")]
    BadTimestamp(i64),
    #[error("the Authorization header is malformed: {0}")]
    MalformedAuthorization(&'static str),
    #[error("unsupported signature algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    #[error("the signed header {0:?} is missing from the request")]
    MissingSignedHeader(String),
    #[error("the credential scope's service is {found:?}, expected {expected:?}")]
    WrongService { expected: String, found: String },
    #[error("the credential scope's date {scope} does not match the timestamp's UTC date {timestamp}")]
    DateMismatch { scope: String, timestamp: String },
    #[error("the request timestamp is {skew_secs} s away from the server's clock (at most {MAX_SKEW_SECS} s allowed)")]
    Expired { skew_secs: i64 },
    #[error("the signature does not match")]
    Mismatch,
}

/// The UTC date (`YYYY-MM-DD`) of a Unix timestamp, as the credential scope uses it.
///
/// # Errors
/// [`Tc3Error::BadTimestamp`] when the timestamp is out of range.
pub fn date(timestamp: i64) -> Result<String, Tc3Error> {
    let at = OffsetDateTime::from_unix_timestamp(timestamp).map_err(|_| Tc3Error::BadTimestamp(timestamp))?;
    at.format(format_description!("[year]-[month]-[day]")).map_err(|_| Tc3Error::BadTimestamp(timestamp))
}

/// Computes the signature of `request` with `secret_key` for `service` at `timestamp`.
///
/// # Errors
/// [`Tc3Error::BadTimestamp`] when the timestamp is out of range.
pub fn signature(
    secret_key: &str,
    service: &str,
    timestamp: i64,
    request: &SignedRequest<'_>,
) -> Result<Signature, Tc3Error> {
    let date = date(timestamp)?;
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_ascii_lowercase()))
        .collect();
    headers.sort();
    let canonical_headers: String = headers.iter().map(|(name, value)| format!("{name}:{value}\n")).collect();
    let signed_headers = headers.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>().join(";");
    let hashed_payload =
        if request.unsigned_payload { sha256_hex(UNSIGNED_PAYLOAD.as_bytes()) } else { sha256_hex(request.payload) };
    let canonical_request = format!(
        "{}\n{}\n{}\n{canonical_headers}\n{signed_headers}\n{hashed_payload}",
        request.method.to_ascii_uppercase(),
        request.path,
        request.query
    );
    let hashed_canonical_request = sha256_hex(canonical_request.as_bytes());
    let scope = format!("{date}/{service}/{TERMINATOR}");
    let string_to_sign = format!("{ALGORITHM}\n{timestamp}\n{scope}\n{hashed_canonical_request}");
    let k_date = hmac(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let k_service = hmac(&k_date, service.as_bytes());
    let k_signing = hmac(&k_service, TERMINATOR.as_bytes());
    let signature = hex::encode(hmac(&k_signing, string_to_sign.as_bytes()));
    Ok(Signature {
        date,
        signed_headers,
        hashed_payload,
        canonical_request,
        hashed_canonical_request,
        string_to_sign,
        signature,
    })
}

/// The `Authorization` header value for `request`.
///
/// # Errors
/// [`Tc3Error::BadTimestamp`] when the timestamp is out of range.
pub fn authorization(
    credentials: &Credentials,
    service: &str,
    timestamp: i64,
    request: &SignedRequest<'_>,
) -> Result<String, Tc3Error> {
    let sig = signature(credentials.secret_key(), service, timestamp, request)?;
    Ok(format!(
        "{ALGORITHM} Credential={}/{}/{service}/{TERMINATOR}, SignedHeaders={}, Signature={}",
        credentials.secret_id(),
        sig.date,
        sig.signed_headers,
        sig.signature
    ))
}

/// A parsed `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub secret_id: String,
    pub date: String,
    pub service: String,
    /// Lowercase header names, as listed.
    pub signed_headers: Vec<String>,
    /// Lowercase hex.
    pub signature: String,
}

impl Authorization {
    /// Parses `TC3-HMAC-SHA256 Credential=ID/DATE/SERVICE/tc3_request, SignedHeaders=a;b, Signature=HEX`.
    /// Tolerates extra spaces around the commas.
    ///
    /// # Errors
    /// [`Tc3Error::UnsupportedAlgorithm`] or [`Tc3Error::MalformedAuthorization`] naming the part.
    pub fn parse(header: &str) -> Result<Authorization, Tc3Error> {
        let (algorithm, rest) =
            header.trim().split_once(' ').ok_or(Tc3Error::MalformedAuthorization("no space after the algorithm"))?;
        if algorithm != ALGORITHM {
            return Err(Tc3Error::UnsupportedAlgorithm(algorithm.chars().take(40).collect()));
        }
        let (mut credential, mut signed_headers, mut signature) = (None, None, None);
        for part in rest.split(',') {
            let (key, value) =
                part.trim().split_once('=').ok_or(Tc3Error::MalformedAuthorization("a part has no `=`"))?;
            match key.trim() {
                "Credential" => credential = Some(value.trim()),
                "SignedHeaders" => signed_headers = Some(value.trim()),
                "Signature" => signature = Some(value.trim()),
                _ => return Err(Tc3Error::MalformedAuthorization("unknown part")),
            }
        }
        let credential = credential.ok_or(Tc3Error::MalformedAuthorization("no Credential"))?;
        let signed_headers = signed_headers.ok_or(Tc3Error::MalformedAuthorization("no SignedHeaders"))?;
        let signature = signature.ok_or(Tc3Error::MalformedAuthorization("no Signature"))?;
        // The SecretId cannot contain `/`, so split from the right.
        let mut scope = credential.rsplitn(4, '/');
        let (Some(terminator), Some(service), Some(date), Some(secret_id)) =
            (scope.next(), scope.next(), scope.next(), scope.next())
        else {
            return Err(Tc3Error::MalformedAuthorization("Credential is not ID/DATE/SERVICE/tc3_request"));
        };
        if terminator != TERMINATOR || secret_id.is_empty() {
            return Err(Tc3Error::MalformedAuthorization("Credential is not ID/DATE/SERVICE/tc3_request"));
        }
        let signed_headers: Vec<String> = signed_headers.split(';').map(|h| h.trim().to_ascii_lowercase()).collect();
        if signed_headers.iter().any(String::is_empty) {
            return Err(Tc3Error::MalformedAuthorization("empty name in SignedHeaders"));
        }
        if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Tc3Error::MalformedAuthorization("Signature is not 64 hex digits"));
        }
        Ok(Authorization {
            secret_id: secret_id.to_owned(),
            date: date.to_owned(),
            service: service.to_owned(),
            signed_headers,
            signature: signature.to_ascii_lowercase(),
        })
    }
}

/// What the server saw of a request, for [`verify`].
#[derive(Debug, Clone)]
pub struct ReceivedRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    /// The value of `X-TC-Timestamp`.
    pub timestamp: i64,
    /// The raw body bytes.
    pub payload: &'a [u8],
}

/// Checks a request's signature: scope date and service, clock skew (against `now`), then
/// the HMAC over the headers listed in `SignedHeaders` (looked up with `header`, by
/// lowercase name), compared in constant time.
///
/// # Errors
/// The first check that failed, as a [`Tc3Error`].
pub fn verify(
    authorization: &Authorization,
    secret_key: &str,
    service: &str,
    now: i64,
    request: &ReceivedRequest<'_>,
    header: impl Fn(&str) -> Option<String>,
) -> Result<(), Tc3Error> {
    if authorization.service != service {
        return Err(Tc3Error::WrongService { expected: service.to_owned(), found: authorization.service.clone() });
    }
    let timestamp_date = date(request.timestamp)?;
    if authorization.date != timestamp_date {
        return Err(Tc3Error::DateMismatch { scope: authorization.date.clone(), timestamp: timestamp_date });
    }
    let skew_secs = (now - request.timestamp).abs();
    if skew_secs > MAX_SKEW_SECS {
        return Err(Tc3Error::Expired { skew_secs });
    }
    let values: Vec<(String, String)> = authorization
        .signed_headers
        .iter()
        .map(|name| {
            header(name).map(|value| (name.clone(), value)).ok_or_else(|| Tc3Error::MissingSignedHeader(name.clone()))
        })
        .collect::<Result<_, _>>()?;
    let unsigned_payload = header("x-tc-content-sha256").is_some_and(|v| v.trim() == UNSIGNED_PAYLOAD);
    let expected = signature(
        secret_key,
        service,
        request.timestamp,
        &SignedRequest {
            method: request.method,
            path: request.path,
            query: request.query,
            headers: values.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect(),
            payload: request.payload,
            unsigned_payload,
        },
    )?;
    if bool::from(expected.signature.as_bytes().ct_eq(authorization.signature.as_bytes())) {
        Ok(())
    } else {
        Err(Tc3Error::Mismatch)
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC-SHA256 takes keys of any length"),
    };
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";
    const CVM_BODY: &str = r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;

    fn cvm(extra: Option<(&'static str, &'static str)>) -> SignedRequest<'static> {
        let mut headers =
            vec![("Content-Type", "application/json; charset=utf-8"), ("Host", "cvm.tencentcloudapi.com")];
        headers.extend(extra);
        SignedRequest {
            method: "POST",
            path: "/",
            query: "",
            headers,
            payload: CVM_BODY.as_bytes(),
            unsigned_payload: false,
        }
    }

    #[test]
    fn the_published_signature_v3_vector_is_reproduced_step_by_step() {
        let sig = signature(KEY, "cvm", 1_551_113_065, &cvm(None)).unwrap();
        assert_eq!(sig.date, "2019-02-25");
        assert_eq!(sig.signed_headers, "content-type;host");
        assert_eq!(sig.hashed_payload, "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064");
        assert_eq!(
            sig.canonical_request,
            "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\ncontent-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
        );
        assert_eq!(sig.hashed_canonical_request, "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031");
        assert_eq!(
            sig.string_to_sign,
            "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
        );
        assert_eq!(sig.signature, "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168");
    }

    #[test]
    fn the_contracts_extra_vectors_are_reproduced() {
        let sig = signature(KEY, "cvm", 1_551_113_065, &cvm(Some(("X-TC-Action", "DescribeInstances")))).unwrap();
        assert_eq!(sig.hashed_canonical_request, "7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84");
        assert_eq!(sig.signature, "644be983de9a8a3f00db8eadaba61467c3b429e2215758ba897b738ca469fd26");

        let body = br#"{"TaskId":"task-1"}"#;
        let trtc = |content_type, action: Option<(&'static str, &'static str)>| {
            let mut headers = vec![("Content-Type", content_type), ("Host", "trtc.tencentcloudapi.com")];
            headers.extend(action);
            SignedRequest { method: "POST", path: "/", query: "", headers, payload: body, unsigned_payload: false }
        };
        let sig = signature(KEY, "trtc", 1_700_000_000, &trtc("application/json", None)).unwrap();
        assert_eq!(sig.date, "2023-11-14");
        assert_eq!(sig.hashed_payload, "14380e5cb5034751816d1c079e16c69468cb6d307a3182ed7660b68843278928");
        assert_eq!(sig.hashed_canonical_request, "c09cb47a5eec5b7045b4661a5102112d540e4507da7290534c1bb195f7fb60d3");
        assert_eq!(sig.signature, "e0f39bec600bf2d3c012a7c8bed26e641b7c1294834462211f41c487f057a427");

        let with_action = trtc("application/json; charset=utf-8", Some(("X-TC-Action", "DescribeAIConversation")));
        let sig = signature(KEY, "trtc", 1_700_000_000, &with_action).unwrap();
        assert_eq!(sig.hashed_canonical_request, "2c3ae01bd3cdc9953b525a1deba09799c36e162856b80ffedc51d66039fc2195");
        assert_eq!(sig.signature, "a09263bc4a784b14b029daad4404c92d0f1747b9145815739df85ac50abdf1ad");
    }

    #[test]
    fn an_authorization_header_parses_and_verifies_against_the_request_it_signed() {
        let credentials = Credentials::new("AKIDEXAMPLE", KEY).unwrap();
        let request = cvm(Some(("X-TC-Action", "DescribeInstances")));
        let header = authorization(&credentials, "cvm", 1_551_113_065, &request).unwrap();
        assert_eq!(
            header,
            "TC3-HMAC-SHA256 Credential=AKIDEXAMPLE/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host;x-tc-action, Signature=644be983de9a8a3f00db8eadaba61467c3b429e2215758ba897b738ca469fd26"
        );
        let parsed = Authorization::parse(&header).unwrap();
        assert_eq!(parsed.secret_id, "AKIDEXAMPLE");
        assert_eq!(parsed.signed_headers, ["content-type", "host", "x-tc-action"]);
        let lookup = |name: &str| match name {
            "content-type" => Some("application/json; charset=utf-8".to_owned()),
            "host" => Some("cvm.tencentcloudapi.com".to_owned()),
            "x-tc-action" => Some("DescribeInstances".to_owned()),
            _ => None,
        };
        let received = ReceivedRequest {
            method: "POST",
            path: "/",
            query: "",
            timestamp: 1_551_113_065,
            payload: CVM_BODY.as_bytes(),
        };
        assert_eq!(verify(&parsed, KEY, "cvm", 1_551_113_065 + 299, &received, lookup), Ok(()));

        // Each way a request can go wrong is named.
        let tampered = ReceivedRequest { payload: br#"{"Limit": 2}"#, ..received.clone() };
        assert_eq!(verify(&parsed, KEY, "cvm", 1_551_113_065, &tampered, lookup), Err(Tc3Error::Mismatch));
        assert_eq!(verify(&parsed, "wrong-key", "cvm", 1_551_113_065, &received, lookup), Err(Tc3Error::Mismatch));
        assert_eq!(
            verify(&parsed, KEY, "cvm", 1_551_113_065 + 301, &received, lookup),
            Err(Tc3Error::Expired { skew_secs: 301 })
        );
        assert!(matches!(
            verify(&parsed, KEY, "trtc", 1_551_113_065, &received, lookup),
            Err(Tc3Error::WrongService { .. })
        ));
        let next_day = ReceivedRequest { timestamp: 1_551_113_065 + 86_400, ..received.clone() };
        assert!(matches!(
            verify(&parsed, KEY, "cvm", 1_551_113_065 + 86_400, &next_day, lookup),
            Err(Tc3Error::DateMismatch { .. })
        ));
        let no_action = |name: &str| if name == "x-tc-action" { None } else { lookup(name) };
        assert_eq!(
            verify(&parsed, KEY, "cvm", 1_551_113_065, &received, no_action),
            Err(Tc3Error::MissingSignedHeader("x-tc-action".into()))
        );
    }

    #[test]
    fn malformed_authorization_headers_are_refused_with_the_part_named() {
        for (header, expected) in [
            ("", Tc3Error::MalformedAuthorization("no space after the algorithm")),
            ("HMAC-SHA1 Credential=a", Tc3Error::UnsupportedAlgorithm("HMAC-SHA1".into())),
            (
                "TC3-HMAC-SHA256 Credential=a/b/c/tc3_request, SignedHeaders=host",
                Tc3Error::MalformedAuthorization("no Signature"),
            ),
            (
                "TC3-HMAC-SHA256 Credential=a/b/tc3_request, SignedHeaders=host, Signature=00",
                Tc3Error::MalformedAuthorization("Credential is not ID/DATE/SERVICE/tc3_request"),
            ),
            (
                "TC3-HMAC-SHA256 Credential=a/2019-01-01/cvm/tc3_request, SignedHeaders=host, Signature=xyz",
                Tc3Error::MalformedAuthorization("Signature is not 64 hex digits"),
            ),
            ("TC3-HMAC-SHA256 Credential", Tc3Error::MalformedAuthorization("a part has no `=`")),
        ] {
            assert_eq!(Authorization::parse(header), Err(expected), "header {header:?}");
        }
    }

    #[test]
    fn the_unsigned_payload_option_hashes_the_marker_instead_of_the_body() {
        let mut request = cvm(None);
        request.unsigned_payload = true;
        let sig = signature(KEY, "cvm", 1_551_113_065, &request).unwrap();
        assert_eq!(sig.hashed_payload, sha256_hex(b"UNSIGNED-PAYLOAD"));
    }

    #[test]
    fn out_of_range_timestamps_are_an_error_not_a_panic() {
        assert_eq!(date(i64::MAX), Err(Tc3Error::BadTimestamp(i64::MAX)));
        assert_eq!(date(0).unwrap(), "1970-01-01");
    }
}

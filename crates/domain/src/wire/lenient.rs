//! Tolerant field readers for TRTC's loosely typed JSON.
//!
//! TRTC documents some fields as one type and sends another (`EventMsTs` is "String" in the
//! table and a number in every example; `EventTs` is sometimes a string in recording
//! examples). These readers accept both spellings and always write the canonical one, so
//! a wire value round-trips to an equal value.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, Unexpected, Visitor};
use serde::Deserialize;

/// A value read from a JSON number or from a string holding one.
trait Lenient: Sized {
    const EXPECTING: &'static str;
    fn from_u64(v: u64) -> Option<Self>;
    fn from_i64(v: i64) -> Option<Self>;
    fn from_f64(v: f64) -> Option<Self>;
    fn from_str(v: &str) -> Option<Self>;
    fn from_bool(_: bool) -> Option<Self> {
        None
    }
}

impl Lenient for u64 {
    const EXPECTING: &'static str = "a non-negative integer, or a string holding one";
    fn from_u64(v: u64) -> Option<u64> {
        Some(v)
    }
    fn from_i64(v: i64) -> Option<u64> {
        u64::try_from(v).ok()
    }
    fn from_f64(_: f64) -> Option<u64> {
        None
    }
    fn from_str(v: &str) -> Option<u64> {
        v.trim().parse().ok()
    }
}

impl Lenient for i64 {
    const EXPECTING: &'static str = "an integer, or a string holding one";
    fn from_u64(v: u64) -> Option<i64> {
        i64::try_from(v).ok()
    }
    fn from_i64(v: i64) -> Option<i64> {
        Some(v)
    }
    fn from_f64(_: f64) -> Option<i64> {
        None
    }
    fn from_str(v: &str) -> Option<i64> {
        v.trim().parse().ok()
    }
}

impl Lenient for f64 {
    const EXPECTING: &'static str = "a finite number, or a string holding one";
    #[allow(clippy::cast_precision_loss)] // metric values are far below 2^53
    fn from_u64(v: u64) -> Option<f64> {
        Some(v as f64)
    }
    #[allow(clippy::cast_precision_loss)]
    fn from_i64(v: i64) -> Option<f64> {
        Some(v as f64)
    }
    fn from_f64(v: f64) -> Option<f64> {
        v.is_finite().then_some(v)
    }
    fn from_str(v: &str) -> Option<f64> {
        v.trim().parse::<f64>().ok().filter(|v| v.is_finite())
    }
}

impl Lenient for String {
    const EXPECTING: &'static str = "a string, or a number standing for one";
    fn from_u64(v: u64) -> Option<String> {
        Some(v.to_string())
    }
    fn from_i64(v: i64) -> Option<String> {
        Some(v.to_string())
    }
    fn from_f64(v: f64) -> Option<String> {
        Some(v.to_string())
    }
    fn from_str(v: &str) -> Option<String> {
        Some(v.to_owned())
    }
}

impl Lenient for bool {
    const EXPECTING: &'static str = "a boolean, 0/1, or \"true\"/\"false\"";
    fn from_u64(v: u64) -> Option<bool> {
        match v {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
    fn from_i64(v: i64) -> Option<bool> {
        u64::try_from(v).ok().and_then(bool::from_u64)
    }
    fn from_f64(_: f64) -> Option<bool> {
        None
    }
    fn from_str(v: &str) -> Option<bool> {
        match v.trim() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        }
    }
    fn from_bool(v: bool) -> Option<bool> {
        Some(v)
    }
}

struct LenientVisitor<T>(PhantomData<T>);

impl<'de, T: Lenient> Visitor<'de> for LenientVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<T, E> {
        T::from_bool(v).ok_or_else(|| E::invalid_type(Unexpected::Bool(v), &self))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        T::from_u64(v).ok_or_else(|| E::invalid_value(Unexpected::Unsigned(v), &self))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        T::from_i64(v).ok_or_else(|| E::invalid_value(Unexpected::Signed(v), &self))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        T::from_f64(v).ok_or_else(|| E::invalid_value(Unexpected::Float(v), &self))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        T::from_str(v).ok_or_else(|| E::invalid_value(Unexpected::Str(v), &self))
    }
}

/// Wrapper so `Option<Wrapped<T>>` gets serde's null/absent handling for free.
struct Wrapped<T>(T);

impl<'de, T: Lenient> Deserialize<'de> for Wrapped<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Wrapped<T>, D::Error> {
        d.deserialize_any(LenientVisitor(PhantomData)).map(Wrapped)
    }
}

fn optional<'de, D: Deserializer<'de>, T: Lenient>(d: D) -> Result<Option<T>, D::Error> {
    Option::<Wrapped<T>>::deserialize(d).map(|v| v.map(|w| w.0))
}

/// A required integer given as a number or a decimal string.
pub(crate) fn u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Wrapped::<u64>::deserialize(d).map(|w| w.0)
}

/// An optional non-negative integer given as a number or a decimal string.
pub(crate) fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    optional(d)
}

/// An optional signed integer given as a number or a decimal string.
pub(crate) fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    optional(d)
}

/// An optional finite number given as a number or a numeric string.
pub(crate) fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    optional(d)
}

/// An optional string that some senders may spell as a number (ids, vendor codes).
pub(crate) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    optional(d)
}

/// An optional boolean that some senders may spell as 0/1 or "true"/"false".
pub(crate) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    optional(d)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Probe {
        #[serde(default, deserialize_with = "super::opt_u64")]
        n: Option<u64>,
        #[serde(default, deserialize_with = "super::opt_f64")]
        f: Option<f64>,
        #[serde(default, deserialize_with = "super::opt_bool")]
        b: Option<bool>,
        #[serde(default, deserialize_with = "super::opt_string")]
        s: Option<String>,
    }

    fn probe(json: &str) -> Result<Probe, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn numbers_and_numeric_strings_read_the_same() {
        assert_eq!(probe(r#"{"n":1687770731831}"#).unwrap().n, Some(1_687_770_731_831));
        assert_eq!(probe(r#"{"n":"1687770731831"}"#).unwrap().n, Some(1_687_770_731_831));
        assert_eq!(probe(r#"{"f":"12.5"}"#).unwrap().f, Some(12.5));
        assert_eq!(probe(r#"{"f":7}"#).unwrap().f, Some(7.0));
        assert_eq!(probe(r#"{"b":1}"#).unwrap().b, Some(true));
        assert_eq!(probe(r#"{"b":"false"}"#).unwrap().b, Some(false));
        assert_eq!(probe(r#"{"s":404}"#).unwrap().s.as_deref(), Some("404"));
    }

    #[test]
    fn absent_and_null_fields_read_as_none() {
        let p = probe(r#"{"n":null}"#).unwrap();
        assert_eq!((p.n, p.f, p.b, p.s), (None, None, None, None));
    }

    #[test]
    fn values_of_the_wrong_shape_are_errors_not_guesses() {
        for json in [
            r#"{"n":-1}"#,
            r#"{"n":1.5}"#,
            r#"{"n":"soon"}"#,
            r#"{"n":true}"#,
            r#"{"n":18446744073709551616}"#,
            r#"{"n":"18446744073709551616"}"#,
            r#"{"f":"NaN"}"#,
            r#"{"b":2}"#,
            r#"{"s":[1]}"#,
        ] {
            assert!(probe(json).is_err(), "{json} should have been rejected");
        }
    }
}

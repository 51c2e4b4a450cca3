//! Duration keys (`interval = "10m"`, `shutdown_grace = "5s"`): humantime
//! strings, with an error that shows how to write one.
//!
//! `humantime_serde` answers `shutdown_grace = 5` with "expected a duration",
//! which leaves the user to guess the syntax. Used as `#[serde(with = ...)]`
//! on every duration key, so each one explains itself the same way.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;

/// Deserialises a humantime duration string, explaining a bad one.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    d.deserialize_str(DurationVisitor)
}

/// Serialises as humantime does (`"1h 30m"`).
pub fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
    humantime_serde::serialize(value, s)
}

/// The same for an optional key (`[sources.fetch]`).
pub mod option {
    use super::*;

    /// Deserialises a present key as [`super::deserialize`] does.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        /// A duration read through [`DurationVisitor`].
        struct Wrapped(Duration);
        impl<'de> serde::Deserialize<'de> for Wrapped {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                super::deserialize(d).map(Wrapped)
            }
        }
        Ok(<Option<Wrapped> as serde::Deserialize>::deserialize(d)?.map(|w| w.0))
    }
}

/// Reads a duration from a string; the `config` crate hands numbers over as
/// strings too (`5` arrives as `"5"`).
struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"a duration with its unit, as a string such as "5s", "10m" or "1h 30m""#)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
        humantime::parse_duration(v).map_err(|e| E::custom(explain(v, &e)))
    }
}

/// What is wrong with `value`, and how to write it.
pub(crate) fn explain(value: &str, error: &humantime::DurationError) -> String {
    let number = value.trim();
    if !number.is_empty() && number.parse::<f64>().is_ok() {
        // A bare number: the unit is what is missing (seconds? minutes?).
        let whole = number
            .parse::<u64>()
            .map_or("5".to_string(), |n| n.to_string());
        return format!(
            "{number} is not a duration: give it a unit, as a string, e.g. \"{whole}s\" or \"{whole}m\""
        );
    }
    // Only these of humantime's reasons say more than "not a duration"
    // (the others are byte offsets).
    let why = match error {
        humantime::DurationError::UnknownUnit { unit, .. } => format!(" (unknown unit {unit:?})"),
        humantime::DurationError::NumberOverflow => " (too large)".to_string(),
        _ => String::new(),
    };
    format!(
        "{value:?} is not a duration{why}: write a number and a unit, e.g. \"90s\", \"10m\" or \"1h 30m\""
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: &str) -> Result<Duration, String> {
        humantime::parse_duration(value).map_err(|e| explain(value, &e))
    }

    #[test]
    fn a_bare_number_is_told_to_take_a_unit_with_an_example() {
        let err = parse("5").unwrap_err();
        assert!(err.contains("\"5s\""), "{err}");
        let err = parse("2.5").unwrap_err();
        assert!(err.contains("2.5 is not a duration"), "{err}");
        let err = parse("ten minutes").unwrap_err();
        assert!(
            err.contains("\"ten minutes\"") && err.contains("\"10m\""),
            "{err}"
        );
        let err = parse("10 moons").unwrap_err();
        assert!(err.contains("unknown unit \"moons\""), "{err}");
        assert_eq!(parse("1h 30m"), Ok(Duration::from_secs(5400)));
    }
}

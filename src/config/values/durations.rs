//! Durations as the configuration writes them (`90s`, `60m`, `30d`), each bounded: every
//! one at most [`LONGEST`], and each setting at its own sane maximum ([`DurationAtMost`]), so
//! no value that validates can overflow a date later.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::InvalidValue;

/// The longest duration any setting takes: ten years (certificates are shorter-lived; date
/// arithmetic with it cannot overflow).
pub const LONGEST: Duration = Duration::from_secs(3650 * 86_400);

/// A positive duration written the humantime way (`90s`, `60m`, `30d`), at most [`LONGEST`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    /// Parse `text`, at most `max`; the error says what is expected.
    pub fn parse(text: &str, max: Duration) -> Result<HumanDuration, InvalidValue> {
        match humantime::parse_duration(text) {
            Ok(dur) if dur.is_zero() => Err(InvalidValue(format!(
                "duration \"{text}\" is zero; give a positive duration such as 30s, 60m or 30d"
            ))),
            Ok(dur) if dur > max => Err(InvalidValue(format!(
                "duration \"{text}\" is longer than this setting allows ({} at most)",
                crate::format::fmt_duration(max)
            ))),
            Ok(dur) => Ok(HumanDuration(dur)),
            Err(e) => Err(InvalidValue(format!(
                "duration \"{text}\": {e}; expected a number and a unit, such as 30s, 60m or 30d"
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        HumanDuration::parse(&String::deserialize(d)?, LONGEST).map_err(serde::de::Error::custom)
    }
}

/// A [`HumanDuration`] of at most `MAX_SECS` seconds: each setting's sane maximum, refused
/// where it is written (`verify.window: 1000000y` is an error at its line, not a panic at the
/// first swap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationAtMost<const MAX_SECS: u64>(pub Duration);

/// One day, in seconds.
pub const DAY: u64 = 86_400;
/// One week, in seconds.
pub const WEEK: u64 = 7 * DAY;
/// One hour, in seconds.
pub const HOUR: u64 = 3_600;

impl<'de, const MAX_SECS: u64> Deserialize<'de> for DurationAtMost<MAX_SECS> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        HumanDuration::parse(&String::deserialize(d)?, Duration::from_secs(MAX_SECS))
            .map(|h| DurationAtMost(h.0))
            .map_err(serde::de::Error::custom)
    }
}

//! The values of `windows:` and `freeze:`: a window's cron start, a time zone, an instant.

use serde::{Deserialize, Deserializer};

use super::parse_cron;

/// A change window's `start`: a cron expression with seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowStart(pub String);

impl<'de> Deserialize<'de> for WindowStart {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if let Err(e) = parse_cron(&text) {
            let why = e.0.split_once(": ").map_or(e.0.as_str(), |(_, why)| why);
            return Err(serde::de::Error::custom(format!(
                "windows start \"{text}\": {why}"
            )));
        }
        Ok(WindowStart(text))
    }
}

/// An IANA time zone name (`Europe/Berlin`, `UTC`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZoneName(pub chrono_tz::Tz);

impl<'de> Deserialize<'de> for TimeZoneName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse::<chrono_tz::Tz>()
            .map(TimeZoneName)
            .map_err(|_| {
                serde::de::Error::custom(format!(
                    "timezone \"{text}\" is not an IANA time zone name; give one such as Europe/Berlin, America/New_York or UTC"
                ))
            })
    }
}

/// An instant written in RFC 3339 (`2026-11-26T00:00:00Z`, or with an offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp(pub chrono::DateTime<chrono::Utc>);

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        chrono::DateTime::parse_from_rfc3339(&text)
            .map(|t| Timestamp(t.with_timezone(&chrono::Utc)))
            .map_err(|e| {
                serde::de::Error::custom(format!(
                    "\"{text}\": {e}; expected an RFC 3339 time such as 2026-11-26T00:00:00Z"
                ))
            })
    }
}

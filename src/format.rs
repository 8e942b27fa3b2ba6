//! How times and durations are written for people: one format for every log line, report
//! and state file, so `status`, `plan` and the logs agree.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// A duration as people write it in the config: `30d`, `1h 30m`, `45s`.
pub fn fmt_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 86_400 && secs.is_multiple_of(86_400) {
        format!("{}d", secs / 86_400)
    } else {
        humantime::format_duration(Duration::from_secs(secs)).to_string()
    }
}

/// RFC 3339 in UTC with seconds, the one time format of all output.
pub fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(fmt_duration(Duration::from_secs(30 * 86_400)), "30d");
        assert_eq!(fmt_duration(Duration::from_secs(90)), "1m 30s");
        assert_eq!(fmt_duration(Duration::from_millis(10_400)), "10s");
    }

    #[test]
    fn times_are_utc_with_seconds() {
        let t = DateTime::parse_from_rfc3339("2026-11-24T12:00:00.123+01:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(rfc3339(&t), "2026-11-24T11:00:00Z");
    }
}

//! How times, durations and error chains are written for people: one format for every log
//! line, report and state file, so `status`, `plan` and the logs agree.

use std::fmt;
use std::fmt::Write as _;
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

/// A URL as it may be shown: its scheme and host only, since the rest of a webhook URL is
/// its secret (Slack's `/services/T…/B…/XXXX`). Text without `scheme://` shows nothing of
/// itself.
pub fn url_host(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return format!("(a value of {} characters, not shown)", url.chars().count());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // user:password@host: the credentials are not shown either.
    let host = authority.rsplit('@').next().unwrap_or_default();
    let more = if rest.len() > authority.len() || authority.contains('@') {
        "/…"
    } else {
        ""
    };
    let scheme: String = scheme.chars().take(16).collect();
    format!("{scheme}://{host}{more}")
}

/// RFC 3339 in UTC with seconds, the one time format of all output.
pub fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A time in JSON as [`rfc3339`] writes it, or `null`.
pub fn rfc3339_or_null<S: serde::Serializer>(
    t: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&rfc3339(t)),
        None => s.serialize_none(),
    }
}

/// A table: columns padded to their widest cell, two spaces apart.
pub fn table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    // In characters, as `{:<w$}` pads: an ellipsis is one column, not three bytes.
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &[&str]| {
        let text: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", text.join("  ").trim_end());
    };
    line(&mut out, header);
    for row in rows {
        line(&mut out, &row.each_ref().map(String::as_str));
    }
    out
}

/// An error and every cause below it, `what failed: why: root cause`, for a log line or a
/// message that prints one `Display`. Each error in this crate names what failed and leaves
/// its cause to `source()` (as uv's errors do), so printing through `Chain` (or anyhow's
/// `{:#}`) shows each cause exactly once.
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut last = String::new();
        let mut next = Some(self.0);
        while let Some(e) = next {
            let text = e.to_string();
            // Other crates' wrappers (the SDK's) often repeat their cause's text: keep each
            // piece once.
            if !text.is_empty() && !last.contains(&text) {
                if !last.is_empty() {
                    f.write_str(": ")?;
                }
                f.write_str(&text)?;
                last = text;
            }
            next = e.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_shown_to_its_host_only() {
        assert_eq!(
            url_host("https://hooks.slack.com/services/T000/B000/SECRET"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(
            url_host("https://user:pw@example.com"),
            "https://example.com/…"
        );
        assert_eq!(url_host("https://example.com"), "https://example.com");
        assert_eq!(
            url_host("hooks.slack.com/SECRET"),
            "(a value of 22 characters, not shown)"
        );
        assert!(!url_host("http://h/x?token=SECRET").contains("SECRET"));
    }

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

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl fmt::Display for Layer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|l| l as _)
        }
    }

    #[test]
    fn an_error_chain_shows_each_cause_once() {
        let root = Layer("No such file (os error 2)", None);
        let read = Layer("config.yaml: cannot read", Some(Box::new(root)));
        assert_eq!(
            Chain(&read).to_string(),
            "config.yaml: cannot read: No such file (os error 2)"
        );
        // A wrapper that repeats its cause's text (the SDK's do), and an empty one.
        let io = Layer("connection refused", None);
        let empty = Layer("", Some(Box::new(io)));
        let wrapper = Layer(
            "dispatch failure: connection refused",
            Some(Box::new(empty)),
        );
        assert_eq!(
            Chain(&wrapper).to_string(),
            "dispatch failure: connection refused"
        );
    }
}

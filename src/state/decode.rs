//! Reading a state file's bytes into [`State`], refusing instead of guessing: a file that does
//! not parse, or that a newer version wrote, is an error naming where it is wrong, and the file
//! is never changed by reading it. `state check` and `forget` use the per-record view
//! ([`Damage`]) to say which domain's record is unusable.

use std::path::Path;

use super::error::StateError;
use super::records::{DomainRecord, RolloutRecord, State, FORMAT};

/// A record that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// `domains."auth.example.com"`, `rollouts."KEY"`, or `(file)` for the whole file.
    pub record: String,
    /// The line of the file where it starts, when known.
    pub line: Option<usize>,
    /// What is wrong with it.
    pub why: String,
}

/// Parse a state file. `salvage` names domains whose damaged records may be dropped (what
/// `forget DOMAIN` clears anyway); the dropped ones are returned. Any other damage, a newer
/// format, or bytes that are not JSON at all is an error.
pub fn decode(
    path: &Path,
    bytes: &[u8],
    salvage: &[String],
) -> Result<(State, Vec<String>), StateError> {
    let parsed = serde_json::from_slice::<State>(bytes);
    if let Ok(state) = &parsed {
        check_format(path, state.version)?;
    }
    let error = match parsed {
        Ok(state) => return Ok((state, Vec::new())),
        Err(e) => e,
    };
    // Not usable as a whole: look record by record, to name what is damaged (and to drop a
    // damaged record `forget` was asked to clear).
    let damage = damage(bytes);
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) {
        if let Some(version) = value.get("version").and_then(serde_json::Value::as_u64) {
            check_format(path, u32::try_from(version).unwrap_or(u32::MAX))?;
        }
        let only_salvageable = !damage.is_empty()
            && damage.iter().all(|d| {
                domain_of(&d.record).is_some_and(|domain| salvage.iter().any(|s| s == domain))
            });
        if only_salvageable {
            if let Some(state) = without(value, &damage) {
                let dropped = damage
                    .iter()
                    .filter_map(|d| domain_of(&d.record).map(str::to_string))
                    .collect();
                return Ok((state, dropped));
            }
        }
    }
    Err(StateError::Damaged {
        path: path.to_path_buf(),
        line: error.line(),
        column: error.column(),
        records: damage
            .iter()
            .filter(|d| d.record != WHOLE)
            .map(|d| d.record.clone())
            .collect(),
        source: error,
    })
}

fn check_format(path: &Path, found: u32) -> Result<(), StateError> {
    if found > FORMAT {
        return Err(StateError::NewerFormat {
            path: path.to_path_buf(),
            found,
            supported: FORMAT,
        });
    }
    Ok(())
}

const WHOLE: &str = "(file)";

fn domain_of(record: &str) -> Option<&str> {
    record
        .strip_prefix("domains.\"")
        .and_then(|r| r.strip_suffix('"'))
}

/// What `state check` found: how many records, and the unusable ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checked {
    /// Records read (domains and rollouts).
    pub records: usize,
    /// Those that cannot be used.
    pub damage: Vec<Damage>,
}

/// `state check` of a state file: every record it cannot use (a missing file has none).
pub fn check_file(path: &Path) -> Result<Checked, StateError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Checked::default()),
        Err(source) => {
            return Err(StateError::Unreadable {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let mut damage = damage(&bytes);
    let value = serde_json::from_slice::<serde_json::Value>(&bytes).unwrap_or_default();
    let count = |key: &str| {
        value
            .get(key)
            .and_then(|v| v.as_object())
            .map_or(0, |m| m.len())
    };
    if let Some(found) = value.get("version").and_then(serde_json::Value::as_u64) {
        if found > u64::from(FORMAT) {
            damage.insert(
                0,
                Damage {
                    record: "version".to_string(),
                    line: line_of(&String::from_utf8_lossy(&bytes), "version"),
                    why: format!("format {found}, newer than this version reads ({FORMAT})"),
                },
            );
        }
    }
    Ok(Checked {
        records: count("domains") + count("rollouts"),
        damage,
    })
}

/// Every record of the file that cannot be used (empty when the whole file parses).
pub fn damage(bytes: &[u8]) -> Vec<Damage> {
    let text = String::from_utf8_lossy(bytes);
    let value = match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(v) => v,
        Err(e) => {
            return vec![Damage {
                record: WHOLE.to_string(),
                line: Some(e.line()),
                why: e.to_string(),
            }]
        }
    };
    let mut found = Vec::new();
    let Some(top) = value.as_object() else {
        return vec![Damage {
            record: WHOLE.to_string(),
            line: Some(1),
            why: "not a JSON object".to_string(),
        }];
    };
    for (key, v) in top {
        match key.as_str() {
            "version" if !v.is_u64() => found.push(Damage {
                record: "version".to_string(),
                line: line_of(&text, key),
                why: "not a whole number".to_string(),
            }),
            "version" => {}
            "domains" => records::<DomainRecord>(&text, "domains", v, &mut found),
            "rollouts" => records::<RolloutRecord>(&text, "rollouts", v, &mut found),
            other => found.push(Damage {
                record: other.to_string(),
                line: line_of(&text, other),
                why: "a field this version does not know (written by a newer version?)".to_string(),
            }),
        }
    }
    found
}

fn records<T: serde::de::DeserializeOwned>(
    text: &str,
    kind: &str,
    value: &serde_json::Value,
    found: &mut Vec<Damage>,
) {
    let Some(map) = value.as_object() else {
        found.push(Damage {
            record: kind.to_string(),
            line: line_of(text, kind),
            why: "not a JSON object".to_string(),
        });
        return;
    };
    for (key, record) in map {
        if let Err(e) = serde_json::from_value::<T>(record.clone()) {
            found.push(Damage {
                record: format!("{kind}.\"{key}\""),
                line: line_of(text, key),
                why: e.to_string(),
            });
        }
    }
}

/// The line where `"key": {` (or `"key":`) first appears.
fn line_of(text: &str, key: &str) -> Option<usize> {
    let needle = format!("\"{key}\":");
    text.lines()
        .position(|l| l.trim_start().starts_with(&needle))
        .map(|i| i + 1)
}

/// The state without the damaged domain records, when everything else parses.
fn without(mut value: serde_json::Value, damage: &[Damage]) -> Option<State> {
    let domains = value.get_mut("domains")?.as_object_mut()?;
    for d in damage {
        domains.remove(domain_of(&d.record)?);
    }
    serde_json::from_value(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{
  "version": 1,
  "domains": {
    "a.example.com": {
      "failures": 2
    },
    "b.example.com": {
      "pending": 42
    }
  }
}"#;

    #[test]
    fn a_damaged_record_is_named_with_its_line() {
        let err = decode(Path::new("s.json"), GOOD.as_bytes(), &[]).unwrap_err();
        let StateError::Damaged { records, line, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(records, &["domains.\"b.example.com\""]);
        assert!(*line > 0);
        assert_eq!(
            damage(GOOD.as_bytes())
                .iter()
                .map(|d| (d.record.as_str(), d.line))
                .collect::<Vec<_>>(),
            [("domains.\"b.example.com\"", Some(7))]
        );
    }

    #[test]
    fn forget_may_drop_the_damaged_record_of_the_domain_it_clears_and_no_other() {
        let (state, dropped) = decode(
            Path::new("s.json"),
            GOOD.as_bytes(),
            &["b.example.com".into()],
        )
        .unwrap();
        assert_eq!(dropped, ["b.example.com"]);
        assert_eq!(state.domains["a.example.com"].failures, 2);
        assert!(!state.domains.contains_key("b.example.com"));
        assert!(decode(
            Path::new("s.json"),
            GOOD.as_bytes(),
            &["a.example.com".into()]
        )
        .is_err());
    }

    #[test]
    fn a_truncated_file_is_located() {
        let err = decode(Path::new("s.json"), &GOOD.as_bytes()[..60], &[]).unwrap_err();
        assert!(matches!(err, StateError::Damaged { .. }), "{err:?}");
    }

    #[test]
    fn a_newer_format_is_refused_whole_or_damaged() {
        for text in [
            "{\"version\": 7, \"domains\": {}}",
            "{\"version\": 7, \"domains\": {}, \"leases\": {}}",
        ] {
            let err = decode(Path::new("s.json"), text.as_bytes(), &[]).unwrap_err();
            assert!(
                matches!(
                    err,
                    StateError::NewerFormat {
                        found: 7,
                        supported: 1,
                        ..
                    }
                ),
                "{text}: {err:?}"
            );
        }
    }

    #[test]
    fn an_unknown_field_is_named() {
        let text = "{\"version\": 1, \"domains\": {\"a\": {\"failures\": 1, \"retired\": true}}}";
        let d = damage(text.as_bytes());
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].record, "domains.\"a\"");
        assert!(d[0].why.contains("retired"), "{}", d[0].why);
    }

    /// One file per state format shipped so far (fields are only ever added): each must load
    /// as it was written, and come back from a write as the same state.
    #[test]
    fn every_format_shipped_so_far_loads() {
        for (name, text) in [
            ("2026-11-first", include_str!("fixtures/2026-11-first.json")),
            (
                "2026-11-fleets",
                include_str!("fixtures/2026-11-fleets.json"),
            ),
            (
                "2026-12-outbox",
                include_str!("fixtures/2026-12-outbox.json"),
            ),
            (
                "2026-12-consumers",
                include_str!("fixtures/2026-12-consumers.json"),
            ),
        ] {
            let (state, dropped) = decode(Path::new(name), text.as_bytes(), &[])
                .unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert!(dropped.is_empty());
            assert!(!state.domains.is_empty(), "{name}");
            let again = serde_json::to_vec(&state).unwrap();
            assert_eq!(
                decode(Path::new(name), &again, &[]).unwrap().0,
                state,
                "{name}"
            );
        }
    }
}

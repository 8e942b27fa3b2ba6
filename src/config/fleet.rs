//! Fleet configuration: `include:` files, per-target roles (accounts), canary rollout and
//! what to do when a swap cannot be verified.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::entry::{target_of, Inherited};
use super::model::{ConfigError, Rollout};
use super::position::{locate, locate_nth, relative_to, Invalid};
use super::raw::{RawInclude, RawRollout, RawTarget};
use super::target::Target;

/// What has been read so far.
#[derive(Debug, Default)]
pub(super) struct Seen {
    pub(super) targets: Vec<Target>,
    pub(super) files: Vec<(PathBuf, usize)>,
    where_: BTreeMap<String, String>,
    read: BTreeSet<PathBuf>,
}

/// Turn one file's `domains:` into targets, refusing a domain seen before (anywhere).
pub(super) fn add_targets(
    text: &str,
    path: &Path,
    domains: Vec<RawTarget>,
    inherited: &Inherited,
    seen: &mut Seen,
) -> Result<(), ConfigError> {
    let mut in_this_file: BTreeMap<String, usize> = BTreeMap::new();
    let count = domains.len();
    for entry in domains {
        let domain = entry.domain.0.clone();
        let nth = in_this_file.entry(domain.clone()).or_default();
        let (line, column) = locate_nth(text, "domain", Some(&domain), *nth);
        *nth += 1;
        let here = format!("{}:{line}:{column}", path.display());
        if let Some(first) = seen.where_.get(&domain) {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                line,
                column,
                message: format!(
                    "domain \"{domain}\" is listed twice: here and at {first}; a domain has one entry (the consumer that serves it), keep one"
                ),
            });
        }
        let invalid = |message| ConfigError::Invalid {
            path: path.to_path_buf(),
            line,
            column,
            message,
        };
        let target = target_of(domain.clone(), entry, inherited, &invalid)?;
        seen.where_.insert(domain, here);
        seen.targets.push(Target {
            source: format!("{}:{line}", path.display()),
            ..target
        });
    }
    seen.files.push((path.to_path_buf(), count));
    if let Ok(canonical) = path.canonicalize() {
        seen.read.insert(canonical);
    }
    Ok(())
}

/// Read the files `include:` names (globs, relative to the including file), depth first, in
/// sorted order. A file reached twice is read once.
pub(super) fn follow_includes(
    text: &str,
    path: &Path,
    patterns: Option<Vec<String>>,
    inherited: &Inherited,
    seen: &mut Seen,
) -> Result<(), ConfigError> {
    for pattern in patterns.unwrap_or_default() {
        let invalid = |message: String| {
            let (line, column) = match text.find(pattern.as_str()) {
                Some(at) => {
                    let line = text[..at].matches('\n').count() + 1;
                    let col = at - text[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
                    (line, col)
                }
                None => locate(text, "include", None),
            };
            ConfigError::Invalid {
                path: path.to_path_buf(),
                line,
                column,
                message,
            }
        };
        for file in included_files(path, &pattern, &invalid)? {
            if file.canonicalize().is_ok_and(|c| seen.read.contains(&c)) {
                continue;
            }
            include_file(&file, inherited, seen)?;
        }
    }
    Ok(())
}

/// The files `include: PATTERN` names (a glob's matches sorted), relative to `path`'s folder.
fn included_files(
    path: &Path,
    pattern: &str,
    invalid: &dyn Fn(String) -> ConfigError,
) -> Result<Vec<PathBuf>, ConfigError> {
    let full = relative_to(path, PathBuf::from(pattern));
    if !pattern.contains(['*', '?', '[']) {
        if full.is_file() {
            return Ok(vec![full]);
        }
        return Err(invalid(format!(
            "include \"{pattern}\": {}: no such file (relative paths are read from the including file's folder)",
            full.display()
        )));
    }
    let full_text = full.to_string_lossy().into_owned();
    let matches =
        glob::glob(&full_text).map_err(|e| invalid(format!("include \"{pattern}\": {e}")))?;
    let mut files = Vec::new();
    for m in matches {
        let file = m.map_err(|e| invalid(format!("include \"{pattern}\": {e}")))?;
        if file.is_file() {
            files.push(file);
        }
    }
    files.sort();
    Ok(files)
}

/// Read one included file: its defaults over `inherited`, its targets, its own includes.
fn include_file(file: &Path, inherited: &Inherited, seen: &mut Seen) -> Result<(), ConfigError> {
    let child_text = super::bounded::read(file)?;
    let raw: RawInclude = super::bounded::from_str(&child_text, file)?;
    let child_invalid = |message: String| {
        let (line, column) = locate(&child_text, "external_id", None);
        ConfigError::Invalid {
            path: file.to_path_buf(),
            line,
            column,
            message,
        }
    };
    let child = inherited.with_defaults(raw.defaults.unwrap_or_default(), &child_invalid)?;
    add_targets(&child_text, file, raw.domains, &child, seen)?;
    follow_includes(&child_text, file, raw.include, &child, seen)
}

/// Check `rollout:` against the targets.
pub(super) fn rollout(
    raw: Option<RawRollout>,
    targets: &[Target],
    invalid: &Invalid<'_>,
) -> Result<Rollout, ConfigError> {
    let Some(raw) = raw else {
        return Ok(Rollout::default());
    };
    match (raw.canary, raw.canary_count) {
        (Some(_), Some(_)) => Err(invalid(
            "canary_count",
            None,
            "rollout: give either canary (a list of domains) or canary_count, not both".into(),
        )),
        (_, Some(0)) => Err(invalid(
            "canary_count",
            None,
            "rollout.canary_count: 0 means no canary; remove rollout: instead, or give 1 or more"
                .into(),
        )),
        (None, Some(n)) => Ok(Rollout {
            canary: Vec::new(),
            canary_count: n,
        }),
        (Some(list), None) => {
            let mut canary = Vec::with_capacity(list.len());
            for d in list {
                if !targets.iter().any(|t| t.domain == d.0) {
                    return Err(invalid(
                        "canary",
                        None,
                        format!(
                            "rollout.canary: \"{}\" is not one of the configured domains",
                            d.0
                        ),
                    ));
                }
                canary.push(d.0);
            }
            if canary.is_empty() {
                return Err(invalid(
                    "canary",
                    None,
                    "rollout.canary: the list is empty; name at least one configured domain".into(),
                ));
            }
            Ok(Rollout {
                canary,
                canary_count: 0,
            })
        }
        (None, None) => Err(invalid(
            "rollout",
            None,
            "rollout: give canary (a list of domains) or canary_count".into(),
        )),
    }
}

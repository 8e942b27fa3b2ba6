//! The crash-safe state file: swaps in flight and how the last ones ended.
//!
//! Before a swap the intent is recorded; after it, the pending verification (with its
//! deadline); after verification, the outcome. Every write is atomic (temp file, fsync, rename,
//! fsync of the folder), so a crash leaves either the old or the new file, never half of one.
//! A file that does not parse is moved aside and reported, never trusted or overwritten.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

/// The state file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// I/O on the state file.
    #[error("state file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Everything persisted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// File format version.
    #[serde(default = "version")]
    pub version: u32,
    /// Per custom domain.
    #[serde(default)]
    pub domains: BTreeMap<String, DomainRecord>,
}

fn version() -> u32 {
    1
}

/// What is known about one domain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainRecord {
    /// A swap about to happen or awaiting verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingSwap>,
    /// How the last swap ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<FinishedSwap>,
}

/// Where a swap is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Recorded before UpdateUserPoolDomain: it may or may not have happened.
    Intent,
    /// UpdateUserPoolDomain succeeded; verification pending.
    Swapped,
}

/// A swap in flight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingSwap {
    /// Where it is.
    pub phase: Phase,
    /// The user pool.
    pub user_pool_id: String,
    /// The certificate before.
    pub old_arn: Option<String>,
    /// The certificate after.
    pub new_arn: String,
    /// The new certificate's serial as ACM wrote it.
    pub new_serial: Option<String>,
    /// When the intent was recorded.
    pub recorded_at: DateTime<Utc>,
    /// When UpdateUserPoolDomain succeeded (unknown after a crash between the two).
    pub swapped_at: Option<DateTime<Utc>>,
    /// The end of the verification window; kept across restarts.
    pub deadline: DateTime<Utc>,
}

/// How a swap ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SwapResult {
    /// Cognito and the edge showed the new certificate.
    Verified,
    /// The window ran out.
    Failed,
    /// Swapped, not verified (`once` without `--wait`).
    Unverified,
}

/// A finished swap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinishedSwap {
    /// The certificate before.
    pub old_arn: Option<String>,
    /// The certificate after.
    pub new_arn: String,
    /// When the swap happened.
    pub swapped_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
    /// How.
    pub result: SwapResult,
    /// One sentence.
    pub detail: String,
}

/// The state file and its in-memory copy, shared by passes and verifications.
#[derive(Debug)]
pub struct StateStore {
    path: PathBuf,
    state: Mutex<State>,
}

impl StateStore {
    /// Open (or start) the state at `path`. A file that does not parse is renamed to
    /// `<path>.corrupt-<timestamp>` with an error log, and an empty state is used.
    pub fn open(path: &Path) -> Result<StateStore, StateError> {
        let io = |source| StateError::Io {
            path: path.to_path_buf(),
            source,
        };
        let state = match std::fs::read(path) {
            Ok(bytes) => match serde_json::from_slice::<State>(&bytes) {
                Ok(state) => state,
                Err(e) => {
                    let aside = aside_name(path);
                    std::fs::rename(path, &aside).map_err(io)?;
                    tracing::error!(
                        path = %path.display(),
                        moved_to = %aside.display(),
                        "the state file does not parse ({e}); moved it aside and starting with an empty state. Pending verifications in it are not resumed: inspect it"
                    );
                    State::default()
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(e) => return Err(io(e)),
        };
        Ok(StateStore {
            path: path.to_path_buf(),
            state: Mutex::new(State {
                version: 1,
                ..state
            }),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A copy of the current state.
    pub async fn snapshot(&self) -> State {
        self.state.lock().await.clone()
    }

    /// Change the state and persist it before returning. If the write fails the change is
    /// rolled back in memory too, so memory never claims what the disk does not hold.
    pub async fn update<F>(&self, change: F) -> Result<(), StateError>
    where
        F: FnOnce(&mut State),
    {
        let mut guard = self.state.lock().await;
        let mut next = guard.clone();
        change(&mut next);
        write_atomic(&self.path, &next)?;
        *guard = next;
        Ok(())
    }
}

fn aside_name(path: &Path) -> PathBuf {
    let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
    let mut name = path.as_os_str().to_os_string();
    name.push(format!(".corrupt-{stamp}"));
    PathBuf::from(name)
}

/// Write `state` to `path` atomically: temp file in the same folder, fsync, rename, fsync
/// the folder.
pub fn write_atomic(path: &Path, state: &State) -> Result<(), StateError> {
    let io = |source| StateError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let bytes = serde_json::to_vec_pretty(state).map_err(|e| io(std::io::Error::other(e)))?;
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    {
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&bytes).map_err(io)?;
        f.write_all(b"\n").map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)?;
    std::fs::File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending() -> PendingSwap {
        PendingSwap {
            phase: Phase::Swapped,
            user_pool_id: "us-east-1_A".into(),
            old_arn: Some("arn:old".into()),
            new_arn: "arn:new".into(),
            new_serial: Some("0a:0b".into()),
            recorded_at: Utc::now(),
            swapped_at: Some(Utc::now()),
            deadline: Utc::now(),
        }
    }

    #[tokio::test]
    async fn updates_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let store = StateStore::open(&path).unwrap();
        let p = pending();
        store
            .update(|s| {
                s.domains.entry("a.example.com".into()).or_default().pending = Some(p.clone());
            })
            .await
            .unwrap();
        let again = StateStore::open(&path).unwrap().snapshot().await;
        assert_eq!(again.domains["a.example.com"].pending, Some(p));
        // No temp files are left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("state.json")]);
    }

    #[tokio::test]
    async fn a_corrupt_file_is_moved_aside_not_trusted_or_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, b"{\"domains\": {\"a\": {\"pending\": 42}}").unwrap();
        let store = StateStore::open(&path).unwrap();
        assert_eq!(store.snapshot().await.domains.len(), 0);
        assert!(!path.exists());
        let aside: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(aside.len(), 1);
        assert!(aside[0].starts_with("state.json.corrupt-"), "{aside:?}");
        let kept = std::fs::read_to_string(dir.path().join(&aside[0])).unwrap();
        assert!(
            kept.contains("42"),
            "the corrupt content must be kept for inspection"
        );
    }

    #[tokio::test]
    async fn a_failed_write_changes_nothing_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-folder").join("state.json");
        let store = StateStore::open(&path).unwrap();
        let err = store
            .update(|s| {
                s.domains.entry("a".into()).or_default();
            })
            .await;
        assert!(err.is_err());
        assert!(store.snapshot().await.domains.is_empty());
    }
}

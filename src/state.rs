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
    /// Canary rollouts in progress, by rollout key (the certificate's serial, else its ARN).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rollouts: BTreeMap<String, RolloutRecord>,
}

/// A canary rollout: these canaries go first; the rest wait for them to verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutRecord {
    /// Canary domain → the ARN it is moved to.
    pub canaries: BTreeMap<String, String>,
    /// When the rollout started.
    pub started_at: DateTime<Utc>,
}

/// A certificate refused for a domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Denied {
    /// When it was put on the list.
    pub since: DateTime<Utc>,
    /// Why.
    pub reason: String,
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
    /// Certificates not to swap to again (ARN → why), until `forget DOMAIN`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub denylist: BTreeMap<String, Denied>,
    /// Consecutive passes in which the target failed (daemon backoff).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failures: u32,
    /// Passes still to skip before trying the target again.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skip_passes: u32,
    /// The error of the last failed pass, while failing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The most passes a failing target waits between tries.
pub const MAX_BACKOFF_PASSES: u32 = 32;

impl DomainRecord {
    /// Passes to wait after `failures` consecutive failures: 1 (the next pass), 2, 4, … up to
    /// [`MAX_BACKOFF_PASSES`]; the number stored is the passes to skip in between.
    pub fn skip_after(failures: u32) -> u32 {
        let wait = 1u32
            .checked_shl(failures.saturating_sub(1))
            .unwrap_or(u32::MAX)
            .min(MAX_BACKOFF_PASSES);
        wait - 1
    }

    /// The denylist as select wants it: ARN → one sentence.
    pub fn denied(&self) -> BTreeMap<String, String> {
        self.denylist
            .iter()
            .map(|(arn, d)| {
                (
                    arn.clone(),
                    format!("{} at {}", d.reason, crate::human::rfc3339(&d.since)),
                )
            })
            .collect()
    }
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
    state: Mutex<Loaded>,
}

/// The in-memory copy and the file version it matches.
#[derive(Debug)]
struct Loaded {
    state: State,
    stamp: Option<Stamp>,
}

/// What identifies a version of the file: modification time and length.
type Stamp = (std::time::SystemTime, u64);

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
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
            state: Mutex::new(Loaded {
                state: State {
                    version: 1,
                    ..state
                },
                stamp: stamp(path),
            }),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A copy of the current state (re-read if another process, such as `forget`, changed
    /// the file).
    pub async fn snapshot(&self) -> State {
        let mut guard = self.state.lock().await;
        self.refresh(&mut guard);
        guard.state.clone()
    }

    /// Change the state and persist it before returning. If the write fails the change is
    /// rolled back in memory too, so memory never claims what the disk does not hold.
    ///
    /// Other processes (the `forget` command beside a running daemon) may write the same
    /// file: each change takes an exclusive lock on `<file>.lock`, applies to the newest
    /// version on disk, and writes, so neither side loses the other's change.
    pub async fn update<F>(&self, change: F) -> Result<(), StateError>
    where
        F: FnOnce(&mut State),
    {
        let mut guard = self.state.lock().await;
        let _lock = self.lock_file()?;
        self.refresh(&mut guard);
        let mut next = guard.state.clone();
        change(&mut next);
        write_atomic(&self.path, &next)?;
        guard.state = next;
        guard.stamp = stamp(&self.path);
        Ok(())
    }

    fn lock_file(&self) -> Result<std::fs::File, StateError> {
        let mut name = self.path.as_os_str().to_os_string();
        name.push(".lock");
        let io = |source| StateError::Io {
            path: PathBuf::from(&name),
            source,
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&name)
            .map_err(io)?;
        file.lock().map_err(io)?;
        Ok(file)
    }

    /// Adopt the file's content when another process wrote it since we last did. A version
    /// that does not parse is ignored here (and reported): memory stays as it was.
    fn refresh(&self, loaded: &mut Loaded) {
        let now = stamp(&self.path);
        if now.is_none() || now == loaded.stamp {
            return;
        }
        match std::fs::read(&self.path).map(|b| serde_json::from_slice::<State>(&b)) {
            Ok(Ok(state)) => {
                loaded.state = state;
                loaded.stamp = now;
            }
            Ok(Err(e)) => {
                tracing::error!(path = %self.path.display(), "the state file was changed by someone else and does not parse ({e}); keeping what is in memory")
            }
            Err(e) => {
                tracing::error!(path = %self.path.display(), "cannot re-read the state file: {e}")
            }
        }
    }
}

/// `forget DOMAIN`: clear the denylist, a failed or unverified last swap, and the failure
/// backoff. A swap in flight is left alone. Returns one sentence saying what was cleared.
pub fn forget(state: &mut State, domain: &str) -> String {
    let Some(r) = state.domains.get_mut(domain) else {
        return "nothing recorded; nothing to clear".to_string();
    };
    let mut cleared = Vec::new();
    if !r.denylist.is_empty() {
        cleared.push(format!("{} denylisted certificate(s)", r.denylist.len()));
        r.denylist.clear();
    }
    if r.last
        .as_ref()
        .is_some_and(|l| l.result != SwapResult::Verified)
    {
        cleared.push("the failed last swap".to_string());
        r.last = None;
    }
    if r.failures > 0 || r.skip_passes > 0 {
        cleared.push(format!("the backoff after {} failed pass(es)", r.failures));
        r.failures = 0;
        r.skip_passes = 0;
        r.last_error = None;
    }
    let in_flight = if r.pending.is_some() {
        " (a swap in flight is left as it is)"
    } else {
        ""
    };
    if cleared.is_empty() {
        format!("nothing to clear{in_flight}")
    } else {
        format!("cleared {}{in_flight}", cleared.join(", "))
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
        // No temp files are left behind (the lock file stays, as lock files must).
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, ["state.json", "state.json.lock"]);
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

    #[tokio::test]
    async fn a_change_by_another_process_is_seen_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let daemon = StateStore::open(&path).unwrap();
        daemon
            .update(|s| {
                let r = s.domains.entry("a.example.com".into()).or_default();
                r.denylist.insert(
                    "arn:new".into(),
                    Denied {
                        since: Utc::now(),
                        reason: "failed".into(),
                    },
                );
                r.failures = 3;
            })
            .await
            .unwrap();
        // `forget` in another process clears the denylist...
        let forget = StateStore::open(&path).unwrap();
        forget
            .update(|s| {
                s.domains.get_mut("a.example.com").unwrap().denylist.clear();
            })
            .await
            .unwrap();
        // ...the daemon sees it, and its next change applies on top of it.
        assert!(daemon.snapshot().await.domains["a.example.com"]
            .denylist
            .is_empty());
        daemon
            .update(|s| {
                s.domains
                    .entry("b.example.com".into())
                    .or_default()
                    .failures = 1;
            })
            .await
            .unwrap();
        let on_disk = StateStore::open(&path).unwrap().snapshot().await;
        assert!(on_disk.domains["a.example.com"].denylist.is_empty());
        assert_eq!(on_disk.domains["a.example.com"].failures, 3);
        assert_eq!(on_disk.domains["b.example.com"].failures, 1);
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let waits: Vec<u32> = (1..=8).map(DomainRecord::skip_after).collect();
        // Passes skipped: wait 1 (next pass), 2, 4, 8, 16, 32, 32, 32.
        assert_eq!(waits, [0, 1, 3, 7, 15, 31, 31, 31]);
        assert_eq!(DomainRecord::skip_after(200), MAX_BACKOFF_PASSES - 1);
    }
}

//! The crash-safe state file. Every write is atomic (temp file, fsync, rename, fsync of the
//! folder), so a crash leaves either the old or the new file, never half of one. A file that
//! does not parse is moved aside and reported, never trusted or overwritten.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use tokio::sync::Mutex;

use super::error::StateError;
use super::records::State;

/// The state file and its in-memory copy, shared by passes and verifications.
#[derive(Debug)]
pub struct FileStore {
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

impl FileStore {
    /// Open (or start) the state at `path`. A file that does not parse is renamed to
    /// `<path>.corrupt-<now>` with an error log, and an empty state is used.
    pub fn open(path: &Path, now: DateTime<Utc>) -> Result<FileStore, StateError> {
        let io = |source| StateError::Io {
            path: path.to_path_buf(),
            source,
        };
        let state = match std::fs::read(path) {
            Ok(bytes) => match serde_json::from_slice::<State>(&bytes) {
                Ok(state) => state,
                Err(e) => {
                    let aside = aside_name(path, now);
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
        Ok(FileStore {
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

    /// Where the state file lives (resolved against the config file's folder).
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
    pub async fn update<F>(&self, mut change: F) -> Result<(), StateError>
    where
        F: FnMut(&mut State),
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

fn aside_name(path: &Path, now: DateTime<Utc>) -> PathBuf {
    let stamp = now.format("%Y%m%dT%H%M%SZ");
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
    use crate::state::{Denied, PendingSwap, Phase};

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
            rollback_reason: None,
            renewal: false,
            expiry: Default::default(),
        }
    }

    #[tokio::test]
    async fn updates_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let store = FileStore::open(&path, Utc::now()).unwrap();
        let p = pending();
        store
            .update(|s| {
                s.domains.entry("a.example.com".into()).or_default().pending = Some(p.clone());
            })
            .await
            .unwrap();
        let again = FileStore::open(&path, Utc::now()).unwrap().snapshot().await;
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
        let store = FileStore::open(&path, Utc::now()).unwrap();
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
        let store = FileStore::open(&path, Utc::now()).unwrap();
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
        let daemon = FileStore::open(&path, Utc::now()).unwrap();
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
        let forget = FileStore::open(&path, Utc::now()).unwrap();
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
        let on_disk = FileStore::open(&path, Utc::now()).unwrap().snapshot().await;
        assert!(on_disk.domains["a.example.com"].denylist.is_empty());
        assert_eq!(on_disk.domains["a.example.com"].failures, 3);
        assert_eq!(on_disk.domains["b.example.com"].failures, 1);
    }
}

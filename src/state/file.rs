//! The crash-safe state file. Every write is atomic (a temp file created exclusively, fsync,
//! rename, fsync of the folder), so a crash leaves either the old or the new file, never half
//! of one, and the previous version stays beside it as `<file>.bak`. A file that cannot be
//! read, does not parse or was written by a newer version is refused and left byte for byte
//! as it was: nothing acts on a memory it cannot trust. Files are 0600 whatever the umask.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tokio::sync::Mutex;

use super::decode::decode;
use super::error::StateError;
use super::records::{State, FORMAT};

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

/// Owner read and write only: the state names certificates, pools and errors.
const MODE: u32 = 0o600;

impl FileStore {
    /// Open (or start, when there is no file yet) the state at `path`. A file that cannot be
    /// read, does not parse or is of a newer format is an error, and is not touched.
    pub fn open(path: &Path) -> Result<FileStore, StateError> {
        Ok(FileStore::open_salvaging(path, &[])?.0)
    }

    /// [`FileStore::open`], except that damaged records of the domains in `salvage` (which
    /// `forget` is about to clear) are dropped rather than refused; returns which were.
    pub fn open_salvaging(
        path: &Path,
        salvage: &[String],
    ) -> Result<(FileStore, Vec<String>), StateError> {
        let (state, dropped) = match std::fs::read(path) {
            Ok(bytes) => decode(path, &bytes, salvage)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (State::default(), Vec::new()),
            Err(source) => {
                return Err(StateError::Unreadable {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        let store = FileStore {
            path: path.to_path_buf(),
            state: Mutex::new(Loaded {
                state,
                stamp: stamp(path),
            }),
        };
        Ok((store, dropped))
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
        let _lock = lock_file(&sibling(&self.path, ".lock"), Wait::Yes)?;
        self.refresh(&mut guard);
        let mut next = guard.state.clone();
        change(&mut next);
        next.version = FORMAT;
        write_atomic(&self.path, &next)?;
        guard.state = next;
        guard.stamp = stamp(&self.path);
        Ok(())
    }

    /// Adopt the file's content when another process wrote it since we last did. A version
    /// that does not parse is ignored here (and reported): memory stays as it was.
    fn refresh(&self, loaded: &mut Loaded) {
        let now = stamp(&self.path);
        if now.is_none() || now == loaded.stamp {
            return;
        }
        match std::fs::read(&self.path).map(|b| decode(&self.path, &b, &[])) {
            Ok(Ok((state, _))) => {
                loaded.state = state;
                loaded.stamp = now;
            }
            Ok(Err(e)) => {
                tracing::error!(path = %self.path.display(), "the state file was changed by someone else and cannot be used; keeping what is in memory: {}", crate::format::Chain(&e))
            }
            Err(e) => {
                tracing::error!(path = %self.path.display(), "cannot re-read the state file: {e}")
            }
        }
    }
}

/// `<path><suffix>`: the lock, owner, backup and temporary files beside the state file.
pub(super) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// Whether to wait for a lock another process holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wait {
    /// Block until it is free.
    Yes,
    /// Return `Ok(None)` at once.
    No,
}

/// Open (0600) and lock `name` exclusively; `None` when `wait` is [`Wait::No`] and another
/// process holds it.
pub(super) fn try_lock_file(name: &Path, wait: Wait) -> Result<Option<std::fs::File>, StateError> {
    let io = |source| StateError::Io {
        path: name.to_path_buf(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .mode(MODE)
        .custom_flags(NOFOLLOW)
        .open(name)
        .map_err(io)?;
    match wait {
        Wait::Yes => file.lock().map_err(io)?,
        Wait::No => match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        },
    }
    Ok(Some(file))
}

fn lock_file(name: &Path, wait: Wait) -> Result<std::fs::File, StateError> {
    try_lock_file(name, wait)?.ok_or_else(|| StateError::Io {
        path: name.to_path_buf(),
        source: std::io::Error::from(std::io::ErrorKind::WouldBlock),
    })
}

/// `O_NOFOLLOW` (Linux): a lock or temporary file that is a symlink is refused, not followed.
const NOFOLLOW: i32 = rustix::fs::OFlags::NOFOLLOW.bits() as i32;

/// Write `state` to `path` atomically: a temp file in the same folder (created exclusively,
/// 0600, owned as the file it replaces), fsync, the current file kept as `<path>.bak`,
/// rename, fsync of the folder.
pub fn write_atomic(path: &Path, state: &State) -> Result<(), StateError> {
    let io = |source| StateError::Io {
        path: path.to_path_buf(),
        source,
    };
    let bytes = serde_json::to_vec_pretty(state).map_err(|e| io(std::io::Error::other(e)))?;
    let (tmp, mut file) = create_temp(path).map_err(io)?;
    let written = (|| {
        file.write_all(&bytes)?;
        file.write_all(b"\n")?;
        keep_owner(path, &file)?;
        file.set_permissions(std::fs::Permissions::from_mode(MODE))?;
        file.sync_all()?;
        keep_backup(path)?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    std::fs::File::open(folder(path))
        .and_then(|d| d.sync_all())
        .map_err(io)?;
    Ok(())
}

fn folder(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A new temporary file beside `path`, created exclusively (`O_EXCL`: never an existing file,
/// never through a symlink someone planted).
fn create_temp(path: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let mut attempt = 0u32;
    loop {
        let tmp = sibling(path, &format!(".tmp-{}-{attempt}", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(MODE)
            .open(&tmp)
        {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Root running `forget` on the daemon's file must not leave it owned by root (the daemon's
/// user could no longer read it): the new version is owned as the old one was.
fn keep_owner(path: &Path, file: &std::fs::File) -> std::io::Result<()> {
    let Ok(old) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    let new = file.metadata()?;
    if (old.uid(), old.gid()) != (new.uid(), new.gid()) {
        std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid()))?;
    }
    Ok(())
}

/// The version about to be replaced, as `<path>.bak` (a hard link: no copy, and atomic).
fn keep_backup(path: &Path) -> std::io::Result<()> {
    if !path.is_file() {
        return Ok(());
    }
    let tmp = sibling(path, &format!(".bak.tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    if std::fs::hard_link(path, &tmp).is_err() {
        std::fs::copy(path, &tmp)?;
    }
    std::fs::rename(&tmp, sibling(path, ".bak"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Denied, PendingSwap, Phase};
    use chrono::Utc;

    fn pending() -> PendingSwap {
        PendingSwap {
            phase: Phase::Swapped,
            consumer: "us-east-1_A".into(),
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
        let store = FileStore::open(&path).unwrap();
        let p = pending();
        store
            .update(|s| {
                s.domains.entry("a.example.com".into()).or_default().pending = Some(p.clone());
            })
            .await
            .unwrap();
        let again = FileStore::open(&path).unwrap().snapshot().await;
        assert_eq!(again.domains["a.example.com"].pending, Some(p));
        // No temp files are left behind (the lock file stays, as lock files must).
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, ["state.json", "state.json.lock"]);
        // The second write keeps the first as the backup.
    }

    #[tokio::test]
    async fn a_damaged_file_is_refused_and_left_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        for bytes in [
            &b"{\"domains\": {\"a\": {\"pending\": 42}}}"[..],
            &b"{\"version\": 1, \"domains\": {\"a\": {\"fail"[..],
            &b"{\"version\": 7, \"domains\": {}}"[..],
        ] {
            std::fs::write(&path, bytes).unwrap();
            let err = FileStore::open(&path).unwrap_err();
            assert!(err.is_unusable(), "{err:?}");
            assert_eq!(std::fs::read(&path).unwrap(), bytes);
        }
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "nothing moved aside or created: {names:?}");
    }

    #[tokio::test]
    async fn a_write_keeps_the_previous_version_and_writes_0600_whatever_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(
            &path,
            b"{\"version\": 1, \"domains\": {\"a\": {\"failures\": 1}}}",
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let before = std::fs::read(&path).unwrap();
        let store = FileStore::open(&path).unwrap();
        store
            .update(|s| s.domains.get_mut("a").unwrap().failures = 2)
            .await
            .unwrap();
        assert_eq!(std::fs::read(sibling(&path, ".bak")).unwrap(), before);
        for name in [path.clone(), sibling(&path, ".lock")] {
            let mode = std::fs::metadata(&name).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", name.display());
        }
    }

    #[tokio::test]
    async fn a_planted_symlink_at_the_temporary_name_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        let planted = sibling(&path, &format!(".tmp-{}-0", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        let store = FileStore::open(&path).unwrap();
        store
            .update(|s| s.domains.entry("a".into()).or_default().failures = 1)
            .await
            .unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        assert_eq!(
            FileStore::open(&path).unwrap().snapshot().await.domains["a"].failures,
            1
        );
    }

    #[tokio::test]
    async fn a_failed_write_changes_nothing_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-folder").join("state.json");
        let store = FileStore::open(&path).unwrap();
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
        let daemon = FileStore::open(&path).unwrap();
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
        let forget = FileStore::open(&path).unwrap();
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
        let on_disk = FileStore::open(&path).unwrap().snapshot().await;
        assert!(on_disk.domains["a.example.com"].denylist.is_empty());
        assert_eq!(on_disk.domains["a.example.com"].failures, 3);
        assert_eq!(on_disk.domains["b.example.com"].failures, 1);
    }
}

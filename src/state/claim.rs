//! One acting process per state file. `run` and `once` hold an exclusive lock on
//! `<state file>.owner` for as long as they may act (the daemon for its whole life, `once` for
//! its pass and verifications), with their PID written in it; a second `once` is refused and
//! a second daemon waits. `forget` and the read-only commands take no claim: `forget`'s write
//! goes through the per-write lock, which every writer takes.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::StateError;
use super::file::{sibling, try_lock_file, Wait};

/// The right to act on a state file, held until dropped.
#[derive(Debug)]
pub struct Claim {
    _file: Option<std::fs::File>,
}

impl Claim {
    /// No claim: the state is not a file (DynamoDB, where the lease decides who acts).
    pub fn not_needed() -> Claim {
        Claim { _file: None }
    }

    /// Take the claim on the state file `path` now, or say who holds it.
    pub fn take(path: &Path) -> Result<Claim, StateError> {
        let name = sibling(path, ".owner");
        match try_lock_file(&name, Wait::No)? {
            Some(mut file) => {
                write_holder(&mut file).map_err(|source| StateError::Io {
                    path: name.clone(),
                    source,
                })?;
                Ok(Claim { _file: Some(file) })
            }
            None => Err(StateError::Held {
                path: path.to_path_buf(),
                holder: holder(&name),
            }),
        }
    }

    /// Wait for the claim, trying every `every`; `waiting` is told once who holds it.
    pub async fn wait(
        path: &Path,
        every: Duration,
        waiting: impl FnOnce(&StateError),
    ) -> Result<Claim, StateError> {
        let mut waiting = Some(waiting);
        loop {
            match Claim::take(path) {
                Err(held @ StateError::Held { .. }) => {
                    if let Some(tell) = waiting.take() {
                        tell(&held);
                    }
                    tokio::time::sleep(every).await;
                }
                other => return other,
            }
        }
    }
}

fn write_holder(file: &mut std::fs::File) -> std::io::Result<()> {
    file.set_len(0)?;
    file.rewind()?;
    writeln!(file, "pid {}", std::process::id())?;
    file.sync_data()
}

/// What the holder wrote (`pid N`), if readable.
fn holder(name: &PathBuf) -> Option<String> {
    let mut text = String::new();
    std::fs::File::open(name)
        .and_then(|mut f| f.read_to_string(&mut text))
        .ok()?;
    let text = text.trim();
    (!text.is_empty() && text.len() < 64).then(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_claim_is_refused_naming_the_holder_then_granted_once_released() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let first = Claim::take(&path).unwrap();
        let err = Claim::take(&path).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "another process (pid {}) holds the state; not acting (state file {})",
                std::process::id(),
                path.display()
            )
        );
        drop(first);
        Claim::take(&path).unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiting_claim_is_granted_when_the_holder_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let first = Claim::take(&path).unwrap();
        let told = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let t = told.clone();
        let waiter = tokio::spawn({
            let path = path.clone();
            async move {
                Claim::wait(&path, Duration::from_secs(1), move |_| {
                    t.store(true, std::sync::atomic::Ordering::SeqCst)
                })
                .await
            }
        });
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(!waiter.is_finished());
        assert!(told.load(std::sync::atomic::Ordering::SeqCst));
        drop(first);
        waiter.await.unwrap().unwrap();
    }
}

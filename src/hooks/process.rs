//! One hook's process: started leading its own process group with a clean environment, its
//! output kept to the last [`KEEP_OUTPUT`] bytes per stream, and the whole group killed at the
//! timeout.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};
use tracing::{info, warn};

use super::event::{HookEvent, HookResult, BASE_ENV, KEEP_OUTPUT};

/// Run one hook to completion or timeout, logging its output.
pub async fn run(argv: &[String], ev: &HookEvent, timeout: Duration) -> HookResult {
    match start(argv, ev, &[]) {
        Ok(child) => wait(child, ev, timeout).await,
        Err(failed) => failed,
    }
}

/// Start one hook's process, leading its own process group, with a clean environment: the
/// event, [`BASE_ENV`] and `pass_env`.
pub(super) fn start(
    argv: &[String],
    ev: &HookEvent,
    pass_env: &[String],
) -> Result<Child, HookResult> {
    let name = ev.event.name();
    let Some((program, args)) = argv.split_first() else {
        return Err(HookResult::Failed("empty command".into()));
    };
    let mut command = Command::new(program);
    command.args(args).env_clear();
    for var in BASE_ENV
        .iter()
        .copied()
        .chain(pass_env.iter().map(String::as_str))
    {
        if let Some(value) = std::env::var_os(var) {
            command.env(var, value);
        }
    }
    command
        .env("CCR_EVENT", ev.ccr_event())
        .env("CCR_EVENT_ID", ev.id.as_deref().unwrap_or(""))
        .env("CCR_KIND", if ev.renewal { "renewal" } else { "swap" })
        .env("CCR_DOMAIN", &ev.domain)
        .env("CCR_CONSUMER_KIND", ev.consumer_kind.label())
        .env("CCR_CONSUMER", &ev.consumer)
        .env(
            "CCR_USER_POOL_ID",
            if ev.consumer_kind.is_cognito() {
                ev.consumer.as_str()
            } else {
                ""
            },
        )
        .env("CCR_OLD_ARN", ev.old_arn.as_deref().unwrap_or(""))
        .env("CCR_NEW_ARN", ev.new_arn.as_deref().unwrap_or(""))
        .env("CCR_REASON", &ev.reason)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            warn!(hook = name, domain = %ev.domain, program = %program, "hook could not start: {e}");
            HookResult::Failed(e.to_string())
        })
}

/// The last [`KEEP_OUTPUT`] bytes of a stream, and how many came before them.
#[derive(Debug, Default)]
struct Tail {
    kept: Vec<u8>,
    dropped: u64,
}

impl Tail {
    /// Read `stream` to its end, keeping its tail: memory stays under twice the limit
    /// whatever the hook prints.
    async fn read(&mut self, stream: Option<impl AsyncRead + Unpin>) {
        let Some(mut stream) = stream else { return };
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    self.kept.extend_from_slice(&buf[..n]);
                    if self.kept.len() > 2 * KEEP_OUTPUT {
                        self.trim();
                    }
                }
            }
        }
        self.trim();
    }

    fn trim(&mut self) {
        let over = self.kept.len().saturating_sub(KEEP_OUTPUT);
        if over > 0 {
            self.kept.drain(..over);
            self.dropped += over as u64;
        }
    }

    fn log(&self, hook: &str, domain: &str, stream: &'static str) {
        if self.dropped > 0 {
            warn!(
                hook,
                domain,
                stream,
                dropped_bytes = self.dropped,
                "hook output: dropped the first {} bytes, kept the last {} KiB",
                self.dropped,
                KEEP_OUTPUT / 1024
            );
        }
        for line in String::from_utf8_lossy(&self.kept).lines() {
            info!(hook, domain, stream, "{line}");
        }
    }
}

/// Kill the process group the hook leads: whatever it started too.
fn kill_group(pid: Option<u32>) {
    let group = pid
        .and_then(|p| i32::try_from(p).ok())
        .and_then(rustix::process::Pid::from_raw);
    if let Some(group) = group {
        // ESRCH: the group is gone already.
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    }
}

/// Wait for a started hook until it ends (and its output closes) or `timeout`, logging its
/// output; at the timeout its whole process group is killed.
pub(super) async fn wait(mut child: Child, ev: &HookEvent, timeout: Duration) -> HookResult {
    let name = ev.event.name();
    let pid = child.id();
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    let (mut out, mut err) = (Tail::default(), Tail::default());
    let finished = tokio::time::timeout(timeout, async {
        let (status, (), ()) = tokio::join!(child.wait(), out.read(stdout), err.read(stderr));
        status
    })
    .await;
    out.log(name, &ev.domain, "stdout");
    err.log(name, &ev.domain, "stderr");
    match finished {
        Err(_) => {
            kill_group(pid);
            let _ = child.kill().await;
            warn!(hook = name, domain = %ev.domain, "hook killed after {}s (with every process it started)", timeout.as_secs());
            HookResult::Timeout
        }
        Ok(Err(e)) => {
            warn!(hook = name, domain = %ev.domain, "hook failed: {e}");
            HookResult::Failed(e.to_string())
        }
        Ok(Ok(status)) if status.success() => HookResult::Success,
        Ok(Ok(status)) => {
            warn!(hook = name, domain = %ev.domain, "hook exited with {status}");
            HookResult::Failed(status.to_string())
        }
    }
}

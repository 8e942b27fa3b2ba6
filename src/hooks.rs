//! Event hooks, certbot-style: a command as an argv list (no shell) with the event in its
//! environment. A hook runs in the background with a timeout, its output goes to the log, and
//! a failing hook is logged and counted but never blocks rotation.
//!
//! A hook cannot take the daemon down or see its secrets: at most [`AT_ONCE`] run at a time
//! (the next waits for a slot, none is dropped); each stream keeps only its last
//! [`KEEP_OUTPUT`] bytes (the rest is counted and dropped); the hook is the leader of its own
//! process group, and its timeout kills the whole group (a child it left behind too); and it
//! sees a clean environment: `PATH`, `HOME`, `LANG`, `TZ`, its `CCR_*` variables and only
//! what `hooks.pass_env` names, never the daemon's AWS credentials.

use std::collections::{HashSet, VecDeque};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::config::Hooks;
use crate::metrics::{HookLabels, Metrics};

/// Hooks running at once, at most; the others wait for a slot.
pub const AT_ONCE: usize = 4;
/// Bytes of each output stream kept for the log (the last ones).
pub const KEEP_OUTPUT: usize = 64 * 1024;
/// The daemon's variables every hook sees (when set).
const BASE_ENV: [&str; 4] = ["PATH", "HOME", "LANG", "TZ"];

/// Which hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A swap was made (`on_rotate`).
    Swap,
    /// A swap was verified.
    Verified,
    /// A target failed.
    Failure,
}

impl Event {
    /// The config key and `CCR_EVENT` value.
    pub fn name(self) -> &'static str {
        match self {
            Event::Swap => "on_rotate",
            Event::Verified => "on_verified",
            Event::Failure => "on_failure",
        }
    }
}

/// What a hook is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookEvent {
    /// Which event.
    pub event: Event,
    /// `CCR_DOMAIN`.
    pub domain: String,
    /// `CCR_USER_POOL_ID`.
    pub user_pool_id: String,
    /// `CCR_OLD_ARN` (empty when unknown).
    pub old_arn: Option<String>,
    /// `CCR_NEW_ARN` (empty when none).
    pub new_arn: Option<String>,
    /// `CCR_REASON`.
    pub reason: String,
    /// `CCR_EVENT_ID`: the same for every run announcing the same outcome (a successor that
    /// announces what a stopped leader may already have announced sends the same ID), so a
    /// hook can drop a repeat. `None` (empty) for a target's failure, which has no record.
    pub id: Option<String>,
    /// An in-place renewal's verification rather than a swap's: `CCR_EVENT` is then
    /// `renewal_verified` / `renewal_failure` and `CCR_KIND` is `renewal` (else `swap`).
    pub renewal: bool,
}

impl HookEvent {
    /// `CCR_EVENT`: the hook's name, or for a renewal what happened to it.
    pub fn ccr_event(&self) -> &'static str {
        match (self.renewal, self.event) {
            (true, Event::Verified) => "renewal_verified",
            (true, Event::Failure) => "renewal_failure",
            (_, e) => e.name(),
        }
    }
}

/// How one run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookResult {
    /// Exit 0.
    Success,
    /// Non-zero exit or could not start.
    Failed(String),
    /// Killed at the timeout.
    Timeout,
}

impl HookResult {
    /// The metric label.
    fn label(&self) -> &'static str {
        match self {
            HookResult::Success => "success",
            HookResult::Failed(_) => "failed",
            HookResult::Timeout => "timeout",
        }
    }
}

/// Runs the configured hooks and keeps track of the ones still running.
#[derive(Debug)]
pub struct HookRunner {
    hooks: Hooks,
    metrics: Option<Metrics>,
    running: Mutex<Vec<JoinHandle<HookResult>>>,
    fired: Mutex<Fired>,
    slots: Arc<Semaphore>,
}

/// The event IDs this process has fired, the newest [`Fired::KEEP`].
#[derive(Debug, Default)]
struct Fired {
    set: HashSet<String>,
    order: VecDeque<String>,
}

impl Fired {
    const KEEP: usize = 4096;

    /// `true` when `id` was not fired before (it is now).
    fn insert(&mut self, id: &str) -> bool {
        if !self.set.insert(id.to_string()) {
            return false;
        }
        self.order.push_back(id.to_string());
        while self.order.len() > Fired::KEEP {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        true
    }
}

impl HookRunner {
    /// Hooks from the config; results counted into `metrics` when given.
    pub fn new(hooks: Hooks, metrics: Option<Metrics>) -> HookRunner {
        HookRunner {
            hooks,
            metrics,
            running: Mutex::new(Vec::new()),
            fired: Mutex::new(Fired::default()),
            slots: Arc::new(Semaphore::new(AT_ONCE)),
        }
    }

    /// Fire `ev` unless this process already fired its event ID; `true` when it fired now.
    /// An event without an ID always fires.
    pub async fn fire_once(&self, ev: HookEvent) -> bool {
        if let Some(id) = &ev.id {
            let fresh = self.fired.lock().map_or(true, |mut f| f.insert(id));
            if !fresh {
                tracing::debug!(id = %id, "already announced by this process");
                return false;
            }
        }
        self.fire_started(ev).await;
        true
    }

    /// Start the hook for `ev`, if one is configured, and return once its process is
    /// started (so a record written after it knows the hook ran); it is waited for in the
    /// background. With [`AT_ONCE`] hooks running, this waits for one of them to end.
    pub async fn fire_started(&self, ev: HookEvent) {
        let Some(argv) = self.argv(ev.event) else {
            return;
        };
        let Ok(slot) = self.slots.clone().acquire_owned().await else {
            return;
        };
        let child = start(&argv, &ev, &self.hooks.pass_env);
        let (timeout, metrics) = (self.hooks.timeout, self.metrics.clone());
        let handle = tokio::spawn(finish(child, ev, slot, timeout, metrics));
        self.keep(handle);
    }

    /// Queue the hook for `ev`, if one is configured, without waiting: it starts when one of
    /// the [`AT_ONCE`] slots is free (a pass with many failing targets is not held up by
    /// their hooks). For a target's failure, which no record announces.
    pub fn fire(&self, ev: HookEvent) {
        let Some(argv) = self.argv(ev.event) else {
            return;
        };
        let (slots, pass_env) = (self.slots.clone(), self.hooks.pass_env.clone());
        let (timeout, metrics) = (self.hooks.timeout, self.metrics.clone());
        let handle = tokio::spawn(async move {
            let Ok(slot) = slots.acquire_owned().await else {
                return HookResult::Failed("the hook queue is closed".into());
            };
            let child = start(&argv, &ev, &pass_env);
            finish(child, ev, slot, timeout, metrics).await
        });
        self.keep(handle);
    }

    fn argv(&self, event: Event) -> Option<Vec<String>> {
        match event {
            Event::Swap => self.hooks.on_rotate.clone(),
            Event::Verified => self.hooks.on_verified.clone(),
            Event::Failure => self.hooks.on_failure.clone(),
        }
    }

    fn keep(&self, handle: JoinHandle<HookResult>) {
        if let Ok(mut running) = self.running.lock() {
            running.retain(|h| !h.is_finished());
            running.push(handle);
        }
    }

    /// Wait for every hook still running (each is bounded by its timeout).
    pub async fn finish(&self) -> Vec<HookResult> {
        let handles: Vec<_> = match self.running.lock() {
            Ok(mut running) => running.drain(..).collect(),
            Err(_) => Vec::new(),
        };
        let mut results = Vec::new();
        for h in handles {
            if let Ok(r) = h.await {
                results.push(r);
            }
        }
        results
    }
}

/// Wait for a started hook in its slot, and count how it ended.
async fn finish(
    child: Result<Child, HookResult>,
    ev: HookEvent,
    slot: OwnedSemaphorePermit,
    timeout: Duration,
    metrics: Option<Metrics>,
) -> HookResult {
    let _slot = slot;
    let result = match child {
        Ok(child) => wait(child, &ev, timeout).await,
        Err(failed) => failed,
    };
    if let Some(m) = metrics {
        m.hooks
            .get_or_create(&HookLabels {
                event: ev.event.name().to_string(),
                result: result.label().to_string(),
            })
            .inc();
    }
    result
}

/// Run one hook to completion or timeout, logging its output.
pub async fn run(argv: &[String], ev: &HookEvent, timeout: Duration) -> HookResult {
    match start(argv, ev, &[]) {
        Ok(child) => wait(child, ev, timeout).await,
        Err(failed) => failed,
    }
}

/// Start one hook's process, leading its own process group, with a clean environment: the
/// event, [`BASE_ENV`] and `pass_env`.
fn start(argv: &[String], ev: &HookEvent, pass_env: &[String]) -> Result<Child, HookResult> {
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
        .env("CCR_USER_POOL_ID", &ev.user_pool_id)
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
async fn wait(mut child: Child, ev: &HookEvent, timeout: Duration) -> HookResult {
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

#[cfg(test)]
mod tests;

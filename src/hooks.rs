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
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::process::Child;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use crate::config::Hooks;
use crate::metrics::{HookLabels, Metrics};

/// Hooks running at once, at most; the others wait for a slot.
pub const AT_ONCE: usize = 4;
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

mod event;
mod process;
pub use event::{Event, HookEvent, HookResult, KEEP_OUTPUT};
pub use process::run;
use process::{start, wait};

#[cfg(test)]
mod tests;

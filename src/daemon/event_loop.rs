//! The daemon's loop: ticks in, one pass at a time out. A schedule tick that arrives during a
//! pass is dropped (never an overlapping pass); events, and a pass owed (the lease won, a
//! change window opened), that arrive during a pass get exactly one more pass right after it,
//! however many there were. Control messages (signals) end the
//! loop. Takes its ticks, controls and pass as arguments, so tests drive it with channels and
//! paused time.

use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::events::AcmEvent;
use crate::format::fmt_duration;

/// What the outside world asks of the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// SIGTERM / SIGINT.
    Shutdown,
    /// SIGHUP.
    Reload,
}

/// Why the loop returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopExit {
    /// Stop the process.
    Shutdown,
    /// Reload the configuration, then loop again.
    Reload,
}

/// Why a pass runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tick {
    /// The schedule fired (or `--now`). Dropped when it arrives during a pass.
    Schedule,
    /// A pass is owed now: this replica became the leader (its first pass resumes what the
    /// last leader left in flight), or a change window opened for a deferred swap. Unlike a
    /// schedule tick it is kept when it arrives during a pass, which may have run without it
    /// (a standby's report while the lease was being won), and one more pass follows.
    Due,
    /// ACM events arrived on the event queue.
    Events(Vec<AcmEvent>),
}

impl Tick {
    /// Fold `other` into `self`: a pass that answers events answers all of them, and any
    /// pass pays what is owed.
    fn absorb(self, other: Tick) -> Tick {
        match (self, other) {
            (Tick::Events(mut a), Tick::Events(b)) => {
                a.extend(b);
                Tick::Events(a)
            }
            (Tick::Events(a), _) | (_, Tick::Events(a)) => Tick::Events(a),
            (Tick::Due, _) | (_, Tick::Due) => Tick::Due,
            (Tick::Schedule, Tick::Schedule) => Tick::Schedule,
        }
    }

    /// Send a [`Tick::Due`] on `ticks`. Never lost to a full channel (schedule ticks waiting):
    /// it then waits for room in a task of its own.
    pub fn owe(ticks: &mpsc::Sender<Tick>) {
        if let Err(mpsc::error::TrySendError::Full(due)) = ticks.try_send(Tick::Due) {
            let ticks = ticks.clone();
            tokio::spawn(async move {
                let _ = ticks.send(due).await;
            });
        }
    }
}

/// Take ticks one at a time and run `pass` for each. Schedule ticks that arrive during a pass
/// are dropped (counted in the log); events and owed passes that arrive during a pass are
/// coalesced into one more pass right after it. Returns on a control message; a shutdown during a pass gives the
/// pass `grace` to finish first, a reload lets it finish.
pub async fn event_loop<F, Fut>(
    ticks: &mut mpsc::Receiver<Tick>,
    control: &mut mpsc::Receiver<Control>,
    grace: Duration,
    mut pass: F,
) -> LoopExit
where
    F: FnMut(Tick) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut queued: Option<Tick> = None;
    // A reload asked for during a pass, waiting for the events' pass.
    let mut reloading = false;
    loop {
        let mut tick = match queued.take() {
            Some(t) => t,
            None => match wait(ticks, control).await {
                Ok(t) => t,
                Err(exit) => return exit,
            },
        };
        // Whatever is already waiting is answered by this pass too.
        while let Ok(t) = ticks.try_recv() {
            tick = tick.absorb(t);
        }
        let running = pass(tick);
        tokio::pin!(running);
        let mut reload_after = false;
        tokio::select! {
            _ = &mut running => {}
            c = control.recv() => match c {
                Some(Control::Reload) => {
                    running.await;
                    reload_after = true;
                }
                Some(Control::Shutdown) | None => {
                    info!("shutting down: letting the running pass finish (at most {})", fmt_duration(grace));
                    if tokio::time::timeout(grace, running).await.is_err() {
                        warn!("the pass did not finish in time; stopping it (the state file keeps any swap in flight)");
                    }
                    return LoopExit::Shutdown;
                }
            },
        }
        queued = after_pass(ticks, queued);
        if reload_after || reloading {
            if !reloading && queued.is_some() {
                // Events wait for an answer: give them their pass, then reload.
                reloading = true;
                continue;
            }
            return LoopExit::Reload;
        }
    }
}

/// The next tick, or the loop's end when a signal comes first.
async fn wait(
    ticks: &mut mpsc::Receiver<Tick>,
    control: &mut mpsc::Receiver<Control>,
) -> Result<Tick, LoopExit> {
    tokio::select! {
        c = control.recv() => Err(match c {
            Some(Control::Reload) => LoopExit::Reload,
            Some(Control::Shutdown) | None => LoopExit::Shutdown,
        }),
        tick = ticks.recv() => tick.ok_or(LoopExit::Shutdown),
    }
}

/// The ticks that arrived during a pass: schedule ticks are dropped (said once: passes never
/// overlap), events and owed passes are kept for the next pass, with `queued`.
fn after_pass(ticks: &mut mpsc::Receiver<Tick>, mut queued: Option<Tick>) -> Option<Tick> {
    let mut skipped = 0;
    while let Ok(t) = ticks.try_recv() {
        match t {
            Tick::Schedule => skipped += 1,
            kept => {
                queued = Some(match queued.take() {
                    Some(q) => q.absorb(kept),
                    None => kept,
                });
            }
        }
    }
    if skipped > 0 {
        warn!(
            skipped,
            "the pass outlasted the schedule; skipped ticks instead of overlapping passes"
        );
    }
    queued
}

#[cfg(test)]
mod tests;

//! The edge watcher: after each pass, one round of edge probes ([`crate::edge`]) in the
//! background, at most one round at a time, stopped on shutdown.

use std::sync::{Arc, Mutex};

use tracing::Instrument;

use crate::context::Context;

/// Edge probes after each pass ([`crate::edge`]), one round at a time, in the background so
/// they never hold up the next pass.
#[derive(Debug, Default)]
pub(super) struct EdgeWatcher {
    cache: Arc<crate::edge::SerialCache>,
    running: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl EdgeWatcher {
    pub(super) fn start(
        &self,
        ctx: &Context,
        results: &[(crate::planned::Planned, crate::outcome::Outcome)],
        verifying: std::collections::HashSet<String>,
    ) {
        if ctx.probe.is_none() {
            return;
        }
        let Ok(mut running) = self.running.lock() else {
            return;
        };
        if running.as_ref().is_some_and(|h| !h.is_finished()) {
            tracing::debug!("the previous round of edge probes is still running; skipping one");
            return;
        }
        let targets: Vec<_> = results
            .iter()
            .map(|(p, _)| (p.target.clone(), p.decision.current.clone()))
            .collect();
        let (ctx, cache) = (ctx.clone(), self.cache.clone());
        *running = Some(tokio::spawn(crate::lease::guard::carry(
            async move {
                crate::edge::watch(&ctx, targets, &verifying, &cache).await;
            }
            .instrument(tracing::info_span!("edge")),
        )));
    }

    /// Stop the round in flight (shutdown).
    pub(super) fn stop(&self) {
        if let Ok(mut running) = self.running.lock() {
            if let Some(h) = running.take() {
                h.abort();
            }
        }
    }
}

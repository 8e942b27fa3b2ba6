//! What the daemon shows its supervisors: /metrics and /healthz, systemd's watchdog, and
//! the series the alerts rely on, present from the start.

use std::sync::Arc;

use tracing::Instrument;
use tracing::{info, warn};

use super::DaemonError;
use crate::context::Context;
use crate::metrics::http::Health;
use crate::metrics::Metrics;
use crate::systemd::Notify;

/// Serve /metrics and /healthz when `metrics.listen` is set; the sender stops the server.
pub(super) async fn serve_metrics(
    ctx: &Context,
    metrics: &Metrics,
    health: &Arc<Health>,
) -> Result<Option<tokio::sync::oneshot::Sender<()>>, DaemonError> {
    let Some(addr) = ctx.config.metrics_listen else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| DaemonError::Listen { addr, source })?;
    let addr = listener.local_addr().unwrap_or(addr);
    info!(%addr, "serving /metrics and /healthz");
    if !addr.ip().is_loopback() {
        warn!(%addr, "{}", crate::metrics::http::NOT_LOOPBACK);
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(
        crate::metrics::http::serve(listener, metrics.clone(), health.clone(), async {
            let _ = stopped.await;
        })
        .instrument(tracing::info_span!("metrics", %addr)),
    );
    Ok(Some(stop))
}

/// Under systemd's watchdog: ping it while passes still finish, so a stuck loop is restarted.
pub(super) fn spawn_watchdog(
    notifier: &Arc<Notify>,
    health: &Arc<Health>,
) -> Option<tokio::task::JoinHandle<()>> {
    let every = notifier.watchdog_interval()?;
    let (n, h) = (notifier.clone(), health.clone());
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            // Only a loop that still finishes passes keeps systemd's watchdog quiet.
            if h.healthy() {
                n.watchdog();
            }
        }
    }))
}

/// The series the alerts rely on, at 0 before anything happens.
pub(super) fn init_series(ctx: &Context) {
    let detail_types = if ctx.config.events.is_some() {
        crate::events::DETAIL_TYPES
    } else {
        &[]
    };
    ctx.metrics.init_series(
        ctx.config.targets.iter().map(|t| t.domain.as_str()),
        crate::model::KEPT_SETTINGS,
        detail_types,
    );
    if let Some(n) = &ctx.config.notify {
        let channels = [
            n.sns_topic_arn.as_ref().map(|_| "sns"),
            n.webhook.as_ref().map(|_| "webhook"),
        ];
        for channel in channels.into_iter().flatten() {
            for event in &n.events {
                ctx.metrics.init_notification(channel, event.name());
            }
        }
    }
}

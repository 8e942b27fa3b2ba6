//! The `/metrics` and `/healthz` HTTP endpoint, and the loop liveness `/healthz` reports.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use tokio::net::TcpListener;
use tokio::time::Instant;

use crate::metrics::Metrics;

/// Liveness of the scheduling loop, for `/healthz`.
#[derive(Debug)]
pub struct Health {
    started: Instant,
    period: Duration,
    last_pass: Mutex<Option<Instant>>,
}

impl Health {
    /// A loop expected to finish a pass every `period`.
    pub fn new(period: Duration) -> Health {
        Health {
            started: Instant::now(),
            period,
            last_pass: Mutex::new(None),
        }
    }

    /// A pass just finished.
    pub fn pass_finished(&self) {
        if let Ok(mut last) = self.last_pass.lock() {
            *last = Some(Instant::now());
        }
    }

    /// Healthy while the last pass (or, before the first one, the start) is within two
    /// schedule periods.
    pub fn healthy(&self) -> bool {
        let since = self
            .last_pass
            .lock()
            .ok()
            .and_then(|g| *g)
            .unwrap_or(self.started);
        since.elapsed() <= self.period * 2
    }
}

/// Serve `/metrics` and `/healthz` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    metrics: Metrics,
    health: Arc<Health>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else { continue };
        let metrics = metrics.clone();
        let health = health.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let response = respond(req.uri().path(), &metrics, &health);
                async move { Ok::<_, Infallible>(response) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

pub(crate) fn respond(path: &str, metrics: &Metrics, health: &Health) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match path {
        "/metrics" => (
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            metrics.encode(),
        ),
        "/healthz" if health.healthy() => (StatusCode::OK, "text/plain", "ok\n".to_string()),
        "/healthz" => (
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "stalled: no pass finished within two schedule periods\n".to_string(),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found: try /metrics or /healthz\n".to_string(),
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, v);
    }
    response
}

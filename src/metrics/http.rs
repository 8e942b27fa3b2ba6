//! The `/metrics` and `/healthz` HTTP endpoint, and the loop liveness `/healthz` reports.

/// The warning for `metrics.listen` on an address other machines can reach.
pub const NOT_LOOPBACK: &str = "metrics.listen is not a loopback address: anyone who can reach it reads /metrics (domains, user pools, certificate ARNs) and /healthz; restrict access with a firewall or security group, or listen on 127.0.0.1 behind a scraper on the host (docs/operations.md, \"Restricting access\")";

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::HeaderValue;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tracing::Instrument;

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

/// At most this many connections are served at once (fewer under a low open-file limit, see
/// [`connection_cap`]); one more is refused with a 503 at once. Whatever a client does, the
/// endpoint holds at most this many descriptors, so rotation, state writes and the edge probe
/// always have theirs.
pub const MAX_CONNECTIONS: usize = 64;
/// A client has this long to send its request's headers, then the connection is closed.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// No connection lives longer than this, whatever it sends (one request per connection).
pub const CONNECTION_DEADLINE: Duration = Duration::from_secs(10);
/// Bytes read from a client before its request must be complete (hyper's smallest buffer):
/// an unfinished header costs at most this much per connection.
pub const MAX_HEADER_BUFFER: usize = 8192;
/// The longest pause after accept() fails (out of descriptors, say); it starts at 50 ms.
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);
/// Accept failures are logged at most once per this, with how many there were.
const ACCEPT_LOG_EVERY: Duration = Duration::from_secs(10);

/// How many connections to serve at once under the process's soft open-file limit: an
/// eighth of it, at most [`MAX_CONNECTIONS`] and at least 4.
pub fn connection_cap(soft_open_files: Option<u64>) -> usize {
    let by_limit = soft_open_files.map_or(MAX_CONNECTIONS as u64, |n| n / 8);
    by_limit.clamp(4, MAX_CONNECTIONS as u64) as usize
}

/// The soft "Max open files" of this process, from /proc/self/limits (Linux).
fn soft_open_files() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Serve `/metrics` and `/healthz` on `listener` until `shutdown` resolves: a bounded number
/// of connections, each with a header timeout and a deadline; accept errors back off.
pub async fn serve(
    listener: TcpListener,
    metrics: Metrics,
    health: Arc<Health>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let cap = connection_cap(soft_open_files());
    let slots = Arc::new(Semaphore::new(cap));
    let mut backoff = Duration::ZERO;
    let mut failures = FailureLog::default();
    tracing::debug!(cap, "serving at most {cap} connections at once");
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors (EMFILE) or a connection gone before accept: wait before
                // trying again instead of spinning, and say so now and then.
                metrics.http.accept_errors.inc();
                backoff = (backoff * 2).clamp(Duration::from_millis(50), MAX_ACCEPT_BACKOFF);
                failures.note(&e, backoff);
                tokio::select! {
                    _ = &mut shutdown => return,
                    _ = tokio::time::sleep(backoff) => continue,
                }
            }
        };
        backoff = Duration::ZERO;
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            metrics.http.refused.inc();
            refuse(&stream);
            continue;
        };
        let (metrics, health) = (metrics.clone(), health.clone());
        tokio::spawn(
            async move {
                serve_one(stream, &metrics, &health).await;
                drop(slot);
            }
            .instrument(tracing::debug_span!("scrape", %peer)),
        );
    }
}

/// One connection, one request, within [`HEADER_TIMEOUT`] and [`CONNECTION_DEADLINE`].
async fn serve_one(stream: TcpStream, metrics: &Metrics, health: &Health) {
    let service = hyper::service::service_fn(|req: Request<hyper::body::Incoming>| {
        let response = respond(req.method(), req.uri().path(), metrics, health);
        async move { Ok::<_, Infallible>(response) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_HEADER_BUFFER)
        .keep_alive(false)
        .serve_connection(TokioIo::new(stream), service);
    match tokio::time::timeout(CONNECTION_DEADLINE, connection).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::debug!("connection ended: {e}"),
        Err(_) => tracing::debug!("connection closed at its deadline"),
    }
}

/// What a connection beyond the cap gets, without its request being read.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 34\r\nRetry-After: 1\r\nConnection: close\r\n\r\nbusy: too many connections, retry\n";

/// At the cap: answer 503 at once (never waiting on the client), and close.
fn refuse(stream: &TcpStream) {
    let _ = stream.try_write(BUSY);
}

/// Accept failures, logged at most once per [`ACCEPT_LOG_EVERY`] with how many there were.
#[derive(Debug, Default)]
struct FailureLog {
    since_last: u64,
    last: Option<Instant>,
}

impl FailureLog {
    fn note(&mut self, error: &std::io::Error, backoff: Duration) {
        self.since_last += 1;
        if self.last.is_some_and(|t| t.elapsed() < ACCEPT_LOG_EVERY) {
            return;
        }
        tracing::warn!(
            failures = self.since_last,
            "the metrics endpoint cannot accept connections ({error}); pausing {}ms between tries",
            backoff.as_millis()
        );
        self.since_last = 0;
        self.last = Some(Instant::now());
    }
}

/// The answer to one request: GET or HEAD of `/metrics` or `/healthz`.
pub(crate) fn respond(
    method: &Method,
    path: &str,
    metrics: &Metrics,
    health: &Health,
) -> Response<Full<Bytes>> {
    if method != Method::GET && method != Method::HEAD {
        let mut response = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed: GET or HEAD\n".to_string(),
            "text/plain",
        );
        response
            .headers_mut()
            .insert(hyper::header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
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
    text(status, body, content_type)
}

fn text(status: StatusCode, body: String, content_type: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_is_an_eighth_of_the_open_file_limit_within_4_and_64() {
        assert_eq!(connection_cap(None), MAX_CONNECTIONS);
        assert_eq!(connection_cap(Some(1024)), 64);
        assert_eq!(connection_cap(Some(65536)), 64);
        assert_eq!(connection_cap(Some(256)), 32);
        assert_eq!(connection_cap(Some(16)), 4);
    }

    #[test]
    fn the_busy_answer_is_a_well_formed_503() {
        let text = std::str::from_utf8(BUSY).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 "));
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(length, body.len());
    }

    #[test]
    fn only_get_and_head_are_answered() {
        let metrics = Metrics::new();
        let health = Health::new(Duration::from_secs(60));
        for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
            let r = respond(&method, "/metrics", &metrics, &health);
            assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED, "{method}");
            assert_eq!(r.headers()[hyper::header::ALLOW], "GET, HEAD");
        }
        for method in [Method::GET, Method::HEAD] {
            let r = respond(&method, "/metrics", &metrics, &health);
            assert_eq!(r.status(), StatusCode::OK, "{method}");
        }
    }
}

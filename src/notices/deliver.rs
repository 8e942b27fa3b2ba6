//! Sending notices: SNS `Publish` (JSON message) and a webhook (HTTPS POST, Slack or JSON),
//! from one background worker, so delivery never blocks or fails a pass.
//!
//! Each notice is first **claimed** in the state (its key recorded in the domain's record,
//! under the lease with DynamoDB), and sent only when this process claimed it: a restart, a
//! failover or an overlapping `once` does not send it again. Delivery is retried with backoff
//! (1, 2, 4, 8 s) and counted in `notifications_total{channel,event,result}`. A crash between
//! the claim and the delivery loses that one message (the log has it): at most once.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use rustls::pki_types::ServerName;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

pub use super::error::{DeliveryError, NotifyError};
use super::{Kind, Notice};
use crate::config::model::{NotifySettings, WebhookFormat};
use crate::format::Chain;
use crate::metrics::Metrics;
use crate::state::{StateError, StateStore};

/// Attempts per channel and notice, the first included.
const ATTEMPTS: u32 = 5;
/// The first wait before a retry; doubled each time.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// How long one attempt may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Notices waiting to be sent; more are dropped (and counted).
const QUEUE: usize = 1024;

/// Where notices go.
#[derive(Debug)]
enum Channel {
    Sns(crate::aws::sns::Topic),
    Webhook(Webhook),
}

impl Channel {
    fn name(&self) -> &'static str {
        match self {
            Channel::Sns(_) => "sns",
            Channel::Webhook(_) => "webhook",
        }
    }

    async fn post(&self, notice: &Notice) -> Result<(), DeliveryError> {
        match self {
            Channel::Sns(topic) => topic
                .publish(&notice.subject(), notice.json().to_string())
                .await
                .map_err(DeliveryError::Sns),
            Channel::Webhook(w) => w.post(notice).await,
        }
    }
}

/// An HTTPS endpoint, trusted by the system roots (`SSL_CERT_FILE` honoured).
#[derive(Debug)]
struct Webhook {
    uri: hyper::Uri,
    host: String,
    port: u16,
    format: WebhookFormat,
    headers: Vec<(hyper::header::HeaderName, hyper::header::HeaderValue)>,
    tls: Arc<rustls::ClientConfig>,
}

impl Webhook {
    fn new(settings: &crate::config::model::WebhookSettings) -> Result<Webhook, NotifyError> {
        let bad = |why: &str| NotifyError::Url {
            url: crate::format::url_host(&settings.url),
            why: why.to_string(),
        };
        let uri: hyper::Uri = settings.url.parse().map_err(|_| bad("not a URL"))?;
        let host = uri.host().ok_or_else(|| bad("no host"))?.to_string();
        let port = uri.port_u16().unwrap_or(443);
        let mut headers = Vec::new();
        for (header, var) in &settings.headers_from_env {
            let value = std::env::var(var).map_err(|_| NotifyError::MissingEnv {
                var: var.clone(),
                header: header.clone(),
            })?;
            let bad_header = || NotifyError::BadHeader {
                header: header.clone(),
            };
            headers.push((
                hyper::header::HeaderName::try_from(header.as_str()).map_err(|_| bad_header())?,
                hyper::header::HeaderValue::try_from(value).map_err(|_| bad_header())?,
            ));
        }
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| bad(&format!("TLS setup: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Webhook {
            uri,
            host,
            port,
            format: settings.format,
            headers,
            tls: Arc::new(tls),
        })
    }

    async fn post(&self, notice: &Notice) -> Result<(), DeliveryError> {
        let body = match self.format {
            WebhookFormat::Slack => notice.slack(),
            WebhookFormat::Json => notice.json(),
        }
        .to_string();
        tokio::time::timeout(TIMEOUT, self.send(body))
            .await
            .map_err(|_| DeliveryError::Timeout(TIMEOUT))?
    }

    async fn send(&self, body: String) -> Result<(), DeliveryError> {
        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|source| DeliveryError::Connect {
                host: self.host.clone(),
                port: self.port,
                source,
            })?;
        let name =
            ServerName::try_from(self.host.clone()).map_err(|_| DeliveryError::ServerName {
                host: self.host.clone(),
            })?;
        let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|source| DeliveryError::Tls {
                host: self.host.clone(),
                source,
            })?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                .await
                .map_err(DeliveryError::Http)?;
        tokio::spawn(connection);
        let path = self
            .uri
            .path_and_query()
            .map_or("/", hyper::http::uri::PathAndQuery::as_str);
        let authority = self
            .uri
            .authority()
            .map_or(self.host.clone(), ToString::to_string);
        let mut request = hyper::Request::post(path)
            .header(hyper::header::HOST, authority)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(hyper::header::USER_AGENT, "cognito-cert-rotator");
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(DeliveryError::Request)?;
        let response = sender
            .send_request(request)
            .await
            .map_err(DeliveryError::Http)?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(DeliveryError::Status(response.status()))
        }
    }
}

/// A queued notice, and whether it is claimed already (an outcome's, claimed in the state
/// write that took it out of the outbox: [`crate::outbox`]).
type Queued = (Notice, bool);

/// The notifications of one process: a queue and the worker that empties it.
#[derive(Debug, Default)]
pub struct Notifier {
    tx: Mutex<Option<mpsc::Sender<Queued>>>,
    worker: Mutex<Option<JoinHandle<()>>>,
    events: BTreeSet<Kind>,
    metrics: Option<Metrics>,
}

impl Notifier {
    /// No notifications (`notify:` unset, or a read-only command).
    pub fn off() -> Notifier {
        Notifier::default()
    }

    /// Start the worker for `settings`.
    pub fn start(
        settings: &NotifySettings,
        sdk: &aws_config::SdkConfig,
        state: Arc<StateStore>,
        metrics: Metrics,
    ) -> Result<Notifier, NotifyError> {
        let mut channels = Vec::new();
        if let Some(topic) = &settings.sns_topic_arn {
            let counted = crate::aws::Interceptors::counting(metrics.interceptor("notify"));
            channels.push(Channel::Sns(crate::aws::sns::Topic::from_sdk_config(
                sdk, topic, &counted,
            )));
        }
        if let Some(webhook) = &settings.webhook {
            channels.push(Channel::Webhook(Webhook::new(webhook)?));
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        let worker = tokio::spawn(run(rx, channels, state, metrics.clone()));
        Ok(Notifier {
            tx: Mutex::new(Some(tx)),
            worker: Mutex::new(Some(worker)),
            events: settings.events.clone(),
            metrics: Some(metrics),
        })
    }

    /// Whether notices of `kind` are sent (configured, and not finished yet).
    pub fn wants(&self, kind: Kind) -> bool {
        self.events.contains(&kind) && self.tx.lock().is_ok_and(|tx| tx.is_some())
    }

    /// Queue `notice` if its kind is wanted; it is claimed in the state before it is sent.
    /// Never waits.
    pub fn send(&self, notice: Notice) {
        self.queue(notice, false);
    }

    /// Queue `notice`, which its caller claimed in the state already (its key is in the
    /// domain's `notified`), if its kind is wanted. Never waits.
    pub fn send_claimed(&self, notice: Notice) {
        self.queue(notice, true);
    }

    fn queue(&self, notice: Notice, claimed: bool) {
        if !self.events.contains(&notice.kind) {
            return;
        }
        let Ok(tx) = self.tx.lock() else { return };
        let Some(tx) = tx.as_ref() else { return };
        if tx.try_send((notice.clone(), claimed)).is_err() {
            warn!(domain = %notice.domain, event = notice.kind.name(), "the notification queue is full; dropping this one: {}", notice.reason);
            if let Some(m) = &self.metrics {
                m.count_notification("queue", notice.kind.name(), "dropped");
            }
        }
    }

    /// Send what is queued, waiting at most `within` (end of `once`, shutdown).
    pub async fn finish(&self, within: Duration) {
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        let worker = self.worker.lock().ok().and_then(|mut w| w.take());
        if let Some(worker) = worker {
            if tokio::time::timeout(within, worker).await.is_err() {
                warn!(
                    "notifications still unsent after {}s; giving up on them",
                    within.as_secs()
                );
            }
        }
    }
}

async fn run(
    mut rx: mpsc::Receiver<Queued>,
    channels: Vec<Channel>,
    state: Arc<StateStore>,
    metrics: Metrics,
) {
    while let Some((notice, claimed)) = rx.recv().await {
        let claim = match claimed {
            true => Ok(true),
            false => claim(&state, &notice).await,
        };
        match claim {
            Ok(true) => {
                for channel in &channels {
                    deliver(channel, &notice, &metrics).await;
                }
            }
            Ok(false) => debug!(key = %notice.key, "already notified"),
            Err(StateError::NotLeader) => {
                debug!(key = %notice.key, "not notifying: this replica no longer leads")
            }
            Err(e) => warn!(
                domain = %notice.domain,
                event = notice.kind.name(),
                "not notifying: cannot record the notification in the state (so it would not be sent twice): {e}"
            ),
        }
    }
}

/// Record `notice` as sent; `true` when this process is the first to.
async fn claim(state: &StateStore, notice: &Notice) -> Result<bool, StateError> {
    crate::record::notified(state, &notice.domain, &notice.key, notice.at).await
}

async fn deliver(channel: &Channel, notice: &Notice, metrics: &Metrics) {
    let (name, event) = (channel.name(), notice.kind.name());
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=ATTEMPTS {
        match channel.post(notice).await {
            Ok(()) => {
                info!(channel = name, domain = %notice.domain, event, attempt, "notified: {}", notice.subject());
                metrics.count_notification(name, event, "sent");
                return;
            }
            Err(why) if attempt < ATTEMPTS => {
                debug!(
                    channel = name,
                    attempt,
                    "notification not delivered yet: {}",
                    Chain(&why)
                );
                metrics.count_notification(name, event, "retried");
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
            Err(why) => {
                warn!(channel = name, domain = %notice.domain, event, "notification not delivered after {ATTEMPTS} attempts: {}", Chain(&why));
                metrics.count_notification(name, event, "failed");
            }
        }
    }
}

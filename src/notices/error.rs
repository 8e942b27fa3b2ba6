//! Why notifications could not be set up ([`NotifyError`]), and why one delivery attempt
//! failed ([`DeliveryError`]): each names what failed and leaves its cause to `source()`.

use std::time::Duration;

/// Notifications could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// A header's environment variable is not set.
    #[error("notify.webhook.headers_from_env: the environment variable {var} (for the header {header}) is not set")]
    MissingEnv {
        /// The variable.
        var: String,
        /// The header it fills.
        header: String,
    },
    /// A header name or value is not valid HTTP.
    #[error("notify.webhook.headers_from_env: the header {header} is not a valid HTTP header")]
    BadHeader {
        /// The header.
        header: String,
    },
    /// The URL cannot be used.
    #[error("notify.webhook.url {url}: {why}")]
    Url {
        /// The URL, to its host only (the rest is a secret).
        url: String,
        /// Why.
        why: String,
    },
}

/// Why one attempt to deliver a notice failed (it is retried, then counted as failed).
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// SNS `Publish` failed.
    #[error("SNS Publish")]
    Sns(#[source] crate::aws::error::AwsError),
    /// The webhook did not answer in time.
    #[error("no answer within {}s", .0.as_secs())]
    Timeout(Duration),
    /// No TCP connection to the webhook's host.
    #[error("cannot connect to {host}:{port}")]
    Connect {
        /// Its host.
        host: String,
        /// Its port.
        port: u16,
        /// Why (its `source()`).
        #[source]
        source: std::io::Error,
    },
    /// The host is not a name TLS can check.
    #[error("{host} is not a valid TLS server name")]
    ServerName {
        /// Its host.
        host: String,
    },
    /// The TLS handshake failed.
    #[error("TLS with {host}")]
    Tls {
        /// Its host.
        host: String,
        /// Why (its `source()`).
        #[source]
        source: std::io::Error,
    },
    /// HTTP failed on the connection.
    #[error("HTTP")]
    Http(#[source] hyper::Error),
    /// The request could not be built.
    #[error("building the request")]
    Request(#[source] hyper::http::Error),
    /// The webhook answered with an error status.
    #[error("HTTP {0}")]
    Status(hyper::StatusCode),
}

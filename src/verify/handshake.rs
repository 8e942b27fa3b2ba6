//! Plain data of the edge check: what one handshake showed ([`Handshake`]), or why it did not
//! happen ([`ProbeError`]). The probe ([`super::probe`]) makes them; the verdicts
//! ([`super::edge`]) read them without reaching the network.

use crate::serial::Serial;

/// What one handshake showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// The leaf certificate's serial.
    pub serial: Serial,
    /// Whether the chain is trusted for the domain (system roots + `ca_file`).
    pub trust: Trust,
    /// The leaf's NotAfter, when it could be read.
    pub not_after: Option<chrono::DateTime<chrono::Utc>>,
}

/// Whether a served chain is trusted for the domain, as any client would judge it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// webpki accepts the chain (system roots + `verify.ca_file`).
    Trusted,
    /// It does not, and why: the serial still counts, the report says so.
    Untrusted(String),
}

/// A handshake that did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// No TCP connection.
    #[error("cannot connect to {target}: {why}")]
    Connect {
        /// The `host:port` connected to.
        target: String,
        /// What the system or the peer said.
        why: String,
    },
    /// TCP, but no TLS.
    #[error("TLS handshake with {target} failed: {why}")]
    Handshake {
        /// The `host:port` connected to.
        target: String,
        /// What the system or the peer said.
        why: String,
    },
    /// The server sent no certificate we could read.
    #[error("{target} sent no readable certificate")]
    NoCertificate {
        /// The `host:port` connected to.
        target: String,
    },
    /// The domain's edge addresses could not be resolved.
    #[error("cannot resolve {domain}: {why}")]
    Resolve {
        /// The domain.
        domain: String,
        /// What the resolver said.
        why: String,
    },
}

impl ProbeError {
    /// Whether the address could not be reached at all (no route, refused, no answer): such
    /// an address is reported but does not block a verification. A TLS failure does.
    pub fn unreachable(&self) -> bool {
        matches!(self, ProbeError::Connect { .. })
    }
}

/// The most edge addresses probed per domain (CloudFront answers with several, IPv4 and IPv6).
pub const MAX_EDGE_ADDRESSES: usize = 8;

/// One handshake per edge address: the address and what it served.
pub type EdgeSample = Vec<(String, Result<Handshake, ProbeError>)>;

//! What clients actually see: each daemon pass probes every domain's edge (a real TLS
//! handshake, bounded concurrency, the probe's short timeouts) after the pass has acted, so a
//! probe never holds up a swap, and exports what was served, the way blackbox/ssl exporters
//! do:
//!
//! - `edge_certificate_expiration_timestamp_seconds{domain}` — NotAfter of the leaf served;
//! - `edge_matches_current{domain}` — 1 when the served serial is the serial of the
//!   certificate the domain is configured with, 0 when not (drift: changed by hand, CloudFront
//!   stuck); absent while a verification of that domain runs;
//! - `edge_probe_success{domain}` — 1/0.
//!
//! The configured certificate's serial comes from DescribeCertificate once per certificate
//! version (ARN + validity) and is cached, so a steady pass makes no ACM call.

use std::collections::{HashMap, HashSet};

use futures_util::StreamExt;
use tokio::sync::Mutex;
use tracing::{debug, warn};

use crate::config::Target;
use crate::context::Context;
use crate::model::Certificate;
use crate::serial::Serial;
use crate::state::SeenCertificate;
use crate::verify::edge::Split;
use crate::verify::probe::{EdgeSample, Handshake, ProbeError};

/// Probes at once.
const CONCURRENCY: usize = 16;

/// Serials of certificate versions already read, kept for the daemon's life.
#[derive(Debug, Default)]
pub struct SerialCache {
    serials: Mutex<HashMap<SeenCertificate, Serial>>,
}

impl SerialCache {
    /// The serial of `cert` (one DescribeCertificate the first time this version is seen).
    pub async fn serial_of(
        &self,
        ctx: &Context,
        target: &Target,
        cert: &Certificate,
    ) -> Option<Serial> {
        let key = SeenCertificate::of(cert);
        let mut serials = self.serials.lock().await;
        if let Some(hit) = serials.get(&key) {
            return Some(hit.clone());
        }
        let account = ctx.account_for(target).ok()?;
        let described = match account.acm.describe(&cert.arn).await {
            Ok(d) => d?,
            Err(e) => {
                warn!(domain = %target.domain, "cannot read the current certificate's serial for the edge check: {e}");
                return None;
            }
        };
        let serial = described.parsed_serial().ok()?;
        // Only versions still in use are worth keeping.
        serials.retain(|version, _| version.arn != cert.arn);
        serials.insert(key, serial.clone());
        Some(serial)
    }
}

/// One look at a domain's edge: a handshake with each of its addresses.
#[derive(Debug, Clone)]
pub struct EdgeLook {
    /// The first handshake that worked (else the first failure): what the edge serves.
    pub served: Result<Handshake, ProbeError>,
    /// The serial of the certificate the domain is configured with, when known.
    pub current: Option<Serial>,
    /// Where each address stands against `current`, when known.
    pub split: Option<Split>,
}

impl EdgeLook {
    /// Whether every edge address that answers serves the configured certificate (`None`:
    /// cannot tell).
    pub fn matches_current(&self) -> Option<bool> {
        match (&self.served, &self.split) {
            (Ok(_), Some(split)) if split.answering() > 0 => Some(split.verified()),
            _ => None,
        }
    }
}

/// What a sample shows, in one handshake: the first that worked, else the first failure.
fn representative(sample: &Result<EdgeSample, ProbeError>) -> Result<Handshake, ProbeError> {
    let sample = sample.as_ref().map_err(Clone::clone)?;
    let first_ok = sample.iter().find_map(|(_, r)| r.as_ref().ok());
    match (first_ok, sample.first()) {
        (Some(hs), _) => Ok(hs.clone()),
        (None, Some((_, Err(e)))) => Err(e.clone()),
        _ => Err(ProbeError::Resolve {
            domain: String::new(),
            why: "no address".to_string(),
        }),
    }
}

/// Probe `target`'s edge and read the serial its configured certificate `current` has.
/// `None` when the TLS check is off (`verify.tls: false`).
pub async fn look(
    ctx: &Context,
    target: &Target,
    current: Option<&Certificate>,
    cache: &SerialCache,
) -> Option<EdgeLook> {
    let probe = ctx.probe.as_ref()?;
    let sample = probe.probe_all(&target.domain).await;
    let served = representative(&sample);
    let current = match current {
        Some(c) if served.is_ok() => cache.serial_of(ctx, target, c).await,
        _ => None,
    };
    let split = match (&sample, &current) {
        (Ok(sample), Some(current)) => Some(Split::of(sample, current)),
        _ => None,
    };
    Some(EdgeLook {
        served,
        current,
        split,
    })
}

/// Probe every domain of a pass and export what was served. `verifying`: domains whose
/// verification runs (their match gauge is left absent: the verification judges them).
pub async fn watch(
    ctx: &Context,
    targets: Vec<(Target, Option<Certificate>)>,
    verifying: &HashSet<String>,
    cache: &SerialCache,
) {
    let looks: Vec<(Target, Option<EdgeLook>)> = futures_util::stream::iter(targets)
        .map(|(t, current)| async move {
            let seen = look(ctx, &t, current.as_ref(), cache).await;
            (t, seen)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    for (target, look) in looks {
        let Some(look) = look else { continue };
        let domain = target.domain.as_str();
        let m = &ctx.metrics;
        let in_flight = verifying.contains(domain);
        match &look.served {
            Ok(hs) => {
                m.set_edge_probe(domain, true, hs.not_after.map(|t| t.timestamp()));
                if let (Some(split), false) = (&look.split, in_flight) {
                    m.set_edge_addresses(domain, split.counts());
                }
                match look.matches_current() {
                    Some(matches) if !in_flight => {
                        if !matches {
                            warn!(%domain, served = %hs.serial, current = %look.current.as_ref().map(ToString::to_string).unwrap_or_default(), "the edge does not serve the certificate the domain is configured with (drift)");
                        }
                        m.set_edge_matches(domain, Some(matches));
                    }
                    _ => m.set_edge_matches(domain, None),
                }
            }
            Err(e) => {
                debug!(%domain, "edge probe failed: {e}");
                m.set_edge_probe(domain, false, None);
                m.set_edge_matches(domain, None);
            }
        }
    }
}

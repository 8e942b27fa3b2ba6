//! The records: plain data, serialised as the state file's JSON (fields are only added).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Everything persisted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// File format version.
    #[serde(default = "version")]
    pub version: u32,
    /// Per custom domain.
    #[serde(default)]
    pub domains: BTreeMap<String, DomainRecord>,
    /// Canary rollouts in progress, by rollout key (the certificate's serial, else its ARN).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rollouts: BTreeMap<String, RolloutRecord>,
}

/// A canary rollout: these canaries go first; the rest wait for them to verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutRecord {
    /// Canary domain → the ARN it is moved to.
    pub canaries: BTreeMap<String, String>,
    /// When the rollout started.
    pub started_at: DateTime<Utc>,
}

/// A certificate refused for a domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Denied {
    /// When it was put on the list.
    pub since: DateTime<Utc>,
    /// Why it was refused, as `status` shows it.
    pub reason: String,
}

/// The newest state format this version reads and writes. A file of a newer one is refused
/// (a downgrade must not drop what the newer version recorded); older ones load, as fields are
/// only ever added.
pub const FORMAT: u32 = 1;

fn version() -> u32 {
    FORMAT
}

/// What is known about one domain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainRecord {
    /// A swap about to happen or awaiting verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingSwap>,
    /// How the last swap ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<FinishedSwap>,
    /// Certificates not to swap to again (ARN → why), until `forget DOMAIN`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub denylist: BTreeMap<String, Denied>,
    /// Consecutive passes in which the target failed (daemon backoff).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failures: u32,
    /// Passes still to skip before trying the target again.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skip_passes: u32,
    /// The error of the last failed pass, while failing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The domain's certificate as last seen: its ARN and validity. The same ARN with other
    /// dates is an in-place renewal (ACM managed renewal, or a re-import) to verify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen: Option<SeenCertificate>,
    /// The domain was found moved, outside the rotator, off the certificate the rotator had put
    /// there (Terraform, CloudFormation, a person): it is held, no swap, until `forget`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalChange>,
    /// Notifications sent (`notify:`): each one's key and when, so none is sent twice.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub notified: BTreeMap<String, DateTime<Utc>>,
    /// The outbox: outcomes recorded but not yet announced. Each is written in the same state
    /// write as the outcome it announces and removed once its hooks ran and its notifications
    /// were claimed, so a crash between the two leaves it to the next leader
    /// ([`crate::outbox`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outbox: Vec<Announcement>,
    /// With `retire:`, the certificates verified swaps moved the domain off, oldest first,
    /// until each is retired or gone: `retire:`'s candidates (at most [`MOVED_OFF_KEPT`]).
    /// `None`: not kept yet (`retire:` was off, or an earlier version wrote the record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_off: Option<Vec<String>>,
}

/// An outcome of a swap (or renewal) to announce: the `on_rotate`, `on_verified` or
/// `on_failure` hook and the notification, built from this when they are fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Announcement {
    /// What happened: rotated, verified, failed or rolled back.
    pub kind: crate::model::NoticeKind,
    /// The consumer's ID (user pool ID, distribution ID, API Gateway domain, listener ARN).
    /// Written under the key `user_pool_id`, which earlier versions read.
    #[serde(rename = "user_pool_id")]
    pub consumer: String,
    /// The consumer's kind; not written for Cognito, so a Cognito-only fleet's records read
    /// as before (and by earlier versions).
    #[serde(
        default,
        skip_serializing_if = "crate::model::ConsumerKind::is_cognito"
    )]
    pub consumer_kind: crate::model::ConsumerKind,
    /// The account (its ID, or `default`), as notifications name it.
    pub account: String,
    /// The certificate the domain was on (`None`: it had none).
    pub old_arn: Option<String>,
    /// The certificate it moved to (or the renewed one).
    pub new_arn: String,
    /// Why, in one sentence.
    pub reason: String,
    /// An in-place renewal's outcome, not a swap's.
    #[serde(default, skip_serializing_if = "is_false")]
    pub renewal: bool,
    /// The end of the swap's verification window: tells this swap from any other of the same
    /// certificates.
    pub deadline: DateTime<Utc>,
    /// When the two certificates expire.
    #[serde(default, skip_serializing_if = "Expiry::is_unknown")]
    pub expiry: Expiry,
    /// When it happened.
    pub at: DateTime<Utc>,
}

impl Announcement {
    /// What makes it this outcome and no other, within its domain (`KIND:NEW_ARN:DEADLINE`):
    /// its notification's key, and with the domain its hooks' `CCR_EVENT_ID`.
    pub fn key(&self) -> String {
        format!(
            "{}:{}:{}",
            self.kind.name(),
            self.new_arn,
            crate::format::rfc3339(&self.deadline)
        )
    }
}

/// Put `a` in `record`'s outbox unless an announcement of the same outcome is there already.
pub fn enqueue(record: &mut DomainRecord, a: &Announcement) {
    let key = a.key();
    if !record.outbox.iter().any(|o| o.key() == key) {
        record.outbox.push(a.clone());
    }
}

/// Keys of sent notifications kept per domain (the newest).
pub const KEEP_KEYS: usize = 64;

/// Record the notification keyed `key` as sent at `at` in `record` (the newest
/// [`KEEP_KEYS`] kept).
pub fn remember(record: &mut DomainRecord, key: &str, at: DateTime<Utc>) {
    let sent = &mut record.notified;
    sent.insert(key.to_string(), at);
    while sent.len() > KEEP_KEYS {
        let oldest = sent
            .iter()
            .min_by_key(|(_, at)| **at)
            .map(|(k, _)| k.clone());
        if let Some(k) = oldest {
            sent.remove(&k);
        }
    }
}

/// Whether a write that takes announcements out of the outbox claims the notification keyed
/// `key`: the announcement was still in the outbox and nobody claimed it, or it is gone and
/// claimed with this write's `token` (the write is being applied again after its first
/// attempt landed with the answer lost).
pub fn claims(record: &mut DomainRecord, key: &str, in_outbox: bool, token: DateTime<Utc>) -> bool {
    match record.notified.get(key) {
        None if in_outbox => {
            remember(record, key, token);
            true
        }
        None => false,
        Some(at) => !in_outbox && *at == token,
    }
}

/// A change to the domain's certificate that the rotator did not make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalChange {
    /// The certificate the rotator had put there (its last verified swap).
    pub ours: String,
    /// The certificate the domain was found on.
    pub found: String,
    /// When it was first found.
    pub since: DateTime<Utc>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One version of a certificate: the ARN stays when ACM renews or a certificate is
/// re-imported, the validity (and serial) change.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeenCertificate {
    /// Its ARN (the certificate ID is the last segment).
    pub arn: String,
    /// NotBefore of this version.
    pub not_before: Option<DateTime<Utc>>,
    /// NotAfter of this version.
    pub not_after: Option<DateTime<Utc>>,
}

impl SeenCertificate {
    /// The version of `cert` as ACM lists it.
    pub fn of(cert: &crate::model::Certificate) -> SeenCertificate {
        SeenCertificate {
            arn: cert.arn.clone(),
            not_before: cert.not_before,
            not_after: cert.not_after,
        }
    }
}

impl DomainRecord {
    /// The denylist as select wants it: ARN → one sentence.
    pub fn denied(&self) -> BTreeMap<String, String> {
        self.denylist
            .iter()
            .map(|(arn, d)| {
                (
                    arn.clone(),
                    format!("{} at {}", d.reason, crate::format::rfc3339(&d.since)),
                )
            })
            .collect()
    }
}

/// Where a swap is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Recorded before UpdateUserPoolDomain: it may or may not have happened.
    Intent,
    /// UpdateUserPoolDomain succeeded; verification pending.
    Swapped,
    /// Verification failed and a rollback to `old_arn` was decided (the new certificate is
    /// already denylisted): the rollback's UpdateUserPoolDomain may or may not have happened.
    RollingBack,
}

/// A swap in flight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingSwap {
    /// How far the swap got (intent, swapped, rolling back).
    pub phase: Phase,
    /// The consumer's ID (user pool ID, distribution ID, API Gateway domain, listener ARN).
    /// Written under the key `user_pool_id`, which earlier versions read.
    #[serde(rename = "user_pool_id")]
    pub consumer: String,
    /// The ARN the domain pointed at before (`None`: it had none).
    pub old_arn: Option<String>,
    /// The ARN the domain is moved onto.
    pub new_arn: String,
    /// The new certificate's serial as ACM wrote it.
    pub new_serial: Option<String>,
    /// When the intent was recorded.
    pub recorded_at: DateTime<Utc>,
    /// When UpdateUserPoolDomain succeeded (unknown after a crash between the two).
    pub swapped_at: Option<DateTime<Utc>>,
    /// The end of the verification window; kept across restarts.
    pub deadline: DateTime<Utc>,
    /// Why the swap is being rolled back (phase `rolling_back`): the verification's verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_reason: Option<String>,
    /// Not a swap but an in-place renewal of `new_arn` (= `old_arn`): no write was made, the
    /// edge must pick up the certificate's new material.
    #[serde(default, skip_serializing_if = "is_false")]
    pub renewal: bool,
    /// When the two certificates expire, for the notifications.
    #[serde(default, skip_serializing_if = "Expiry::is_unknown")]
    pub expiry: Expiry,
}

/// When the certificates of a swap expire, when known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expiry {
    /// The certificate the domain was on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<DateTime<Utc>>,
    /// The certificate it moved to (or the renewed version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<DateTime<Utc>>,
}

impl Expiry {
    /// Neither is known.
    pub fn is_unknown(&self) -> bool {
        self.old.is_none() && self.new.is_none()
    }
}

/// How a swap ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SwapResult {
    /// Cognito and the edge showed the new certificate.
    Verified,
    /// The window ran out.
    Failed,
    /// Swapped, not verified (`once` without `--wait`).
    Unverified,
}

/// A finished swap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinishedSwap {
    /// The ARN the domain pointed at before (`None`: it had none).
    pub old_arn: Option<String>,
    /// The ARN the domain is moved onto.
    pub new_arn: String,
    /// When the swap happened.
    pub swapped_at: Option<DateTime<Utc>>,
    /// When its verification ended (or it was given up).
    pub finished_at: DateTime<Utc>,
    /// How it ended: verified, failed, or not verified (`once` without `--wait`).
    pub result: SwapResult,
    /// Why, in one sentence, as `plan` and the log say it.
    pub detail: String,
    /// An in-place renewal's verification, not a swap.
    #[serde(default, skip_serializing_if = "is_false")]
    pub renewal: bool,
}

/// `forget DOMAIN`: clear the denylist, a failed or unverified last swap, and the failure
/// backoff. A swap in flight is left alone. Returns one sentence saying what was cleared.
pub fn forget(state: &mut State, domain: &str) -> String {
    let Some(r) = state.domains.get_mut(domain) else {
        return "nothing recorded; nothing to clear".to_string();
    };
    let mut cleared = Vec::new();
    if !r.denylist.is_empty() {
        cleared.push(format!("{} denylisted certificate(s)", r.denylist.len()));
        r.denylist.clear();
    }
    if r.last
        .as_ref()
        .is_some_and(|l| l.result != SwapResult::Verified)
    {
        cleared.push("the failed last swap".to_string());
        r.last = None;
    }
    if let Some(external) = r.external.take() {
        cleared.push(format!(
            "the hold after an external change (to {}); the domain is handed back to the rotator",
            external.found.rsplit('/').next().unwrap_or(&external.found)
        ));
        // The rotator no longer claims the certificate it had put there.
        r.last = None;
    }
    if r.failures > 0 || r.skip_passes > 0 {
        cleared.push(format!("the backoff after {} failed pass(es)", r.failures));
        r.failures = 0;
        r.skip_passes = 0;
        r.last_error = None;
    }
    let in_flight = if r.pending.is_some() {
        " (a swap in flight is left as it is)"
    } else {
        ""
    };
    if cleared.is_empty() {
        format!("nothing to clear{in_flight}")
    } else {
        format!("cleared {}{in_flight}", cleared.join(", "))
    }
}

mod moved_off;
pub use moved_off::MOVED_OFF_KEPT;

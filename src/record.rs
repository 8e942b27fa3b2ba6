//! Every state write, and only those: one function per step of the protocols, each the only
//! writer of its step. The crash-safety story reads here, top to bottom; the table in
//! docs/internals.md names each step's function and what a crash right after it leaves.
//!
//! A write carrying an outcome (a swap, a found swap, a finished swap) is one an earlier
//! attempt may already have landed, its answer lost (a timeout, a fenced refusal after the
//! lease went). Such a write is read back once when it fails (`or_landed`): found there, it
//! is this replica's, and only this replica announces it.
//!
//! Each function takes the [`StateStore`] and plain data, and returns the store's typed
//! [`StateError`]; what a failure means (log, give up, leave it to the leader) is the
//! caller's.

use chrono::{DateTime, Utc};
use tracing::info;

use crate::outcome::Outcome;
use crate::state::records::{claims, remember};
use crate::state::{
    enqueue, Announcement, Denied, DomainRecord, ExternalChange, FinishedSwap, PendingSwap, Phase,
    RolloutRecord, SeenCertificate, StateError, StateStore,
};

/// **intent**: the swap about to be written (and the candidate's version, so its later
/// renewal in place is recognised), before the write. A swap ends any external-change hold.
pub async fn intent(
    store: &StateStore,
    domain: &str,
    intent: &PendingSwap,
    seen: Option<&SeenCertificate>,
) -> Result<(), StateError> {
    store
        .update(|s| {
            let r = s.domains.entry(domain.to_string()).or_default();
            r.pending = Some(intent.clone());
            r.external = None;
            if let Some(seen) = seen {
                r.seen = Some(seen.clone());
            }
        })
        .await
}

/// **intent dropped**: the swap in flight for `domain` never happened (its write was
/// refused, or a re-read found the domain where it was).
pub async fn intent_dropped(store: &StateStore, domain: &str) -> Result<(), StateError> {
    store
        .update(|s| {
            if let Some(r) = s.domains.get_mut(domain) {
                r.pending = None;
            }
        })
        .await
}

/// **swapped**: the write was made; the swap, now verifying until its deadline, with its
/// announcement in the outbox (one write).
pub async fn swapped(
    store: &StateStore,
    domain: &str,
    swapped: &PendingSwap,
    rotated: &Announcement,
) -> Result<(), StateError> {
    let written = store
        .update(|s| {
            let r = s.domains.entry(domain.to_string()).or_default();
            r.pending = Some(swapped.clone());
            enqueue(r, rotated);
        })
        .await;
    or_landed(store, domain, written, |r| {
        r.pending.as_ref() == Some(swapped)
    })
    .await
}

/// **found swapped** (resume): an intent whose write a re-read shows was made becomes the
/// swap, with its announcement in the outbox. An intent that is no longer one is left alone.
pub async fn found_swapped(
    store: &StateStore,
    domain: &str,
    rotated: &Announcement,
) -> Result<(), StateError> {
    let written = store
        .update(|s| {
            let r = s.domains.entry(domain.to_string()).or_default();
            if let Some(p) = r.pending.as_mut().filter(|p| p.phase == Phase::Intent) {
                p.phase = Phase::Swapped;
                enqueue(r, rotated);
            }
        })
        .await;
    or_landed(store, domain, written, |r| {
        r.pending
            .as_ref()
            .is_some_and(|p| p.phase == Phase::Swapped && p.new_arn == rotated.new_arn)
            && r.outbox.iter().any(|a| a.key() == rotated.key())
    })
    .await
}

/// **renewal**: a certificate renewed in place, verifying like a swap (no write to Cognito
/// came before it), and its new version as seen.
pub async fn renewal(
    store: &StateStore,
    domain: &str,
    verifying: &PendingSwap,
    version: &SeenCertificate,
) -> Result<(), StateError> {
    store
        .update(|s| {
            let r = s.domains.entry(domain.to_string()).or_default();
            r.pending = Some(verifying.clone());
            r.seen = Some(version.clone());
        })
        .await
}

/// **seen**: the certificate versions first seen in a pass, by domain, so a later change
/// behind the same ARN is recognised as a renewal (in batches: it may touch every target).
pub async fn seen(
    store: &StateStore,
    versions: &[(String, SeenCertificate)],
) -> Result<(), StateError> {
    store
        .update_in_batches(versions, |s, batch| {
            for (domain, version) in batch {
                s.domains.entry(domain.clone()).or_default().seen = Some(version.clone());
            }
        })
        .await
}

/// **rolling back**: before the rollback's write, its intent (the reason, on the swap in
/// flight) and the new certificate denylisted for this domain, in one write.
pub async fn rolling_back(
    store: &StateStore,
    domain: &str,
    new_arn: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), StateError> {
    store
        .update(|s| {
            let r = s.domains.entry(domain.to_string()).or_default();
            r.denylist.insert(
                new_arn.to_string(),
                Denied {
                    since: now,
                    reason: "its swap failed verification and was rolled back".into(),
                },
            );
            if let Some(p) = r.pending.as_mut() {
                p.phase = Phase::RollingBack;
                p.rollback_reason = Some(reason.to_string());
            }
        })
        .await
}

/// **rollback refused**: the rollback's write surely did not happen: the new certificate
/// stays in use, so its denylist entry is taken back.
pub async fn rollback_refused(
    store: &StateStore,
    domain: &str,
    new_arn: &str,
) -> Result<(), StateError> {
    store
        .update(|s| {
            if let Some(r) = s.domains.get_mut(domain) {
                r.denylist.remove(new_arn);
            }
        })
        .await
}

/// **finished** (verified, failed or rolled back): the swap leaves the in-flight slot and
/// becomes the domain's last, with its announcement in the outbox (one write); with
/// `retire:` (`moved_off`), what a verified swap moved the domain off is remembered.
pub async fn finished(
    store: &StateStore,
    domain: &str,
    finished: &FinishedSwap,
    announcement: Option<&Announcement>,
    moved_off: bool,
) -> Result<(), StateError> {
    let written = store
        .update(|s| {
            let r = s.domains.entry(domain.to_string()).or_default();
            r.pending = None;
            // Before `last` changes: a record without `moved_off` yet has its candidate there.
            if moved_off {
                r.note_moved_off(finished);
            }
            r.last = Some(finished.clone());
            if let Some(a) = announcement {
                enqueue(r, a);
            }
        })
        .await;
    or_landed(store, domain, written, |r| {
        r.pending.is_none() && r.last.as_ref() == Some(finished)
    })
    .await
}

/// **outbox drained**: announcements whose hooks started are taken out of `domain`'s outbox
/// and, in the same write, the notifications of `wanted` claimed with `token`. Returns the
/// claimed ones: only those may be sent, so a notification goes out once.
pub async fn drained<'a>(
    store: &StateStore,
    domain: &str,
    fired: &[Announcement],
    wanted: &[&'a Announcement],
    token: DateTime<Utc>,
) -> Result<Vec<&'a Announcement>, StateError> {
    let keys: Vec<String> = fired.iter().map(Announcement::key).collect();
    let mut claimed = Vec::new();
    store
        .update(|s| {
            // May run again after a conflicting write: only the last run's claims count.
            claimed.clear();
            let Some(record) = s.domains.get_mut(domain) else {
                return;
            };
            let present: Vec<String> = record.outbox.iter().map(Announcement::key).collect();
            record.outbox.retain(|a| !keys.contains(&a.key()));
            for a in wanted {
                let key = a.key();
                if claims(record, &key, present.contains(&key), token) {
                    claimed.push(*a);
                }
            }
        })
        .await?;
    Ok(claimed)
}

/// **notified**: a notification not carried by the outbox (an observation: a failure, an
/// expiry, an external change) claimed as sent under `key`. `true` when this is the first
/// claim, so it is sent once.
pub async fn notified(
    store: &StateStore,
    domain: &str,
    key: &str,
    at: DateTime<Utc>,
) -> Result<bool, StateError> {
    let mut fresh = false;
    store
        .update(|s| {
            let record = s.domains.entry(domain.to_string()).or_default();
            fresh = !record.notified.contains_key(key);
            if fresh {
                remember(record, key, at);
            }
        })
        .await?;
    Ok(fresh)
}

/// **rollouts**: canary rollouts started (`Some`) and finished (`None`), by key.
pub async fn rollouts(
    store: &StateStore,
    records: &std::collections::BTreeMap<String, Option<RolloutRecord>>,
) -> Result<(), StateError> {
    store
        .update(|s| {
            for (key, record) in records {
                match record {
                    Some(r) => s.rollouts.insert(key.clone(), r.clone()),
                    None => s.rollouts.remove(key),
                };
            }
        })
        .await
}

/// **retire settled**: certificates retired (or gone from ACM) leave `domain`'s `retire:`
/// candidates.
pub async fn retire_settled(
    store: &StateStore,
    domain: &str,
    settled: &[String],
) -> Result<(), StateError> {
    store
        .update(|s| {
            if let Some(r) = s.domains.get_mut(domain) {
                r.settle_retired(settled);
            }
        })
        .await
}

/// **hold set**: `domain` was moved off the rotator's certificate outside it; no swap until
/// it is moved back or forgotten.
pub async fn hold_set(
    store: &StateStore,
    domain: &str,
    change: &ExternalChange,
) -> Result<(), StateError> {
    store
        .update(|s| {
            s.domains.entry(domain.to_string()).or_default().external = Some(change.clone())
        })
        .await
}

/// **hold cleared**: `domain` was moved back; its external-change hold is over.
pub async fn hold_cleared(store: &StateStore, domain: &str) -> Result<(), StateError> {
    store
        .update(|s| {
            if let Some(r) = s.domains.get_mut(domain) {
                r.external = None;
            }
        })
        .await
}

/// **backoff**: the daemon's failure counts after a pass, per domain (in batches: it may
/// touch every target). A domain with no record gets one only when it failed.
pub async fn backoff(store: &StateStore, passes: &[(&str, &Outcome)]) -> Result<(), StateError> {
    store
        .update_in_batches(passes, |s, batch| {
            for (domain, outcome) in batch {
                if matches!(outcome, Outcome::Failed(_)) {
                    let r = s.domains.entry(domain.to_string()).or_default();
                    crate::step::count_pass(r, outcome);
                } else if let Some(r) = s.domains.get_mut(*domain) {
                    crate::step::count_pass(r, outcome);
                }
            }
        })
        .await
}

/// **forget**: what the state holds against `domains` cleared (the `forget` command).
/// Returns one line per domain saying what was cleared.
pub async fn forget(store: &StateStore, domains: &[String]) -> Result<Vec<String>, StateError> {
    let mut lines = Vec::new();
    store
        .update(|s| {
            // May run again after a conflicting write: say only what the last run did.
            lines = domains
                .iter()
                .map(|domain| crate::state::forget(s, domain))
                .collect();
        })
        .await?;
    Ok(lines)
}

/// `written`, unless it failed and the state already holds, for `domain`, what `ours`
/// recognises as this write: an earlier attempt landed with its answer lost. Reading needs
/// no lease.
async fn or_landed(
    store: &StateStore,
    domain: &str,
    written: Result<(), StateError>,
    ours: impl Fn(&DomainRecord) -> bool,
) -> Result<(), StateError> {
    let Err(e) = written else {
        return Ok(());
    };
    match store.snapshot().await {
        Ok(s) if s.domains.get(domain).is_some_and(ours) => {
            info!("the write's answer was lost, but it landed: recorded as this replica's");
            Ok(())
        }
        _ => Err(e),
    }
}

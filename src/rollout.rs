//! PURE: canary rollout, decided over plain data: which targets that want to move to the same
//! certificate go now, which go first as canaries, and which wait. No AWS, no clock.
//!
//! Targets moving to the same certificate form a group, keyed by the certificate's serial (the
//! same certificate imported into several accounts shares it) or, without a serial, its ARN.
//! A group of two or more starts a rollout: its canaries swap, the rest are held. The rollout
//! is kept in the state file; once every canary is verified the rest go, and if a canary
//! fails verification the rest stay held until an operator retries it (`forget CANARY`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::config::model::Rollout;
use crate::model::arn_tail;
use crate::state::records::{RolloutRecord, State, SwapResult};

/// A target whose plan is to rotate, with nothing in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanting {
    /// The custom domain that wants the certificate.
    pub domain: String,
    /// The certificate it would move to.
    pub arn: String,
    /// The group key: `serial <hex>` or `arn <ARN>`.
    pub key: String,
}

/// What a wanting target does in this pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// Swap (no rollout, or the canaries are verified).
    Go,
    /// Swap as a canary of its group.
    Canary,
    /// Do not swap yet: waiting for the canaries; why.
    Hold(String),
    /// Do not swap: a canary failed; needs an operator.
    Blocked(String),
}

/// The gates of one pass and the rollout records to write.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Gating {
    /// Per wanting domain.
    pub gates: BTreeMap<String, Gate>,
    /// Rollout records to store (`Some`) or drop (`None`), by key.
    pub records: BTreeMap<String, Option<RolloutRecord>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum CanaryStatus {
    Passed,
    Verifying,
    NotStarted,
    Failed(String),
}

fn canary_status(state: &State, domain: &str, arn: &str, wants: bool) -> CanaryStatus {
    let record = state.domains.get(domain);
    if record
        .and_then(|r| r.pending.as_ref())
        .is_some_and(|p| p.new_arn == arn)
    {
        return CanaryStatus::Verifying;
    }
    if let Some(last) = record
        .and_then(|r| r.last.as_ref())
        .filter(|l| l.new_arn == arn)
    {
        return match last.result {
            SwapResult::Verified => CanaryStatus::Passed,
            SwapResult::Failed => CanaryStatus::Failed(format!(
                "its swap to {} failed verification: {}",
                arn_tail(arn),
                last.detail
            )),
            SwapResult::Unverified => CanaryStatus::Failed(format!(
                "its swap to {} was made without verification (once without --wait), so it proves nothing",
                arn_tail(arn)
            )),
        };
    }
    if wants {
        CanaryStatus::NotStarted
    } else {
        // No longer wanting this certificate and no record of a swap to it: removed from the
        // config, or moved by someone else. Nothing to wait for.
        CanaryStatus::Passed
    }
}

/// Decide the gates for one pass. `wanting` is in config order.
pub fn gate(rollout: &Rollout, wanting: &[Wanting], state: &State, now: DateTime<Utc>) -> Gating {
    let mut out = Gating::default();
    let mut groups: BTreeMap<&str, Vec<&Wanting>> = BTreeMap::new();
    for w in wanting {
        groups.entry(w.key.as_str()).or_default().push(w);
    }
    // Rollouts nobody wants any more are finished.
    for key in state.rollouts.keys() {
        if !groups.contains_key(key.as_str()) {
            let verifying = state.rollouts[key]
                .canaries
                .iter()
                .any(|(d, a)| canary_status(state, d, a, false) == CanaryStatus::Verifying);
            if !verifying {
                out.records.insert(key.clone(), None);
            }
        }
    }
    for (key, members) in groups {
        let record = if rollout.enabled() {
            match state.rollouts.get(key) {
                Some(r) => Some(r.clone()),
                None => start(rollout, &members, now),
            }
        } else {
            None
        };
        let Some(record) = record else {
            for m in &members {
                out.gates.insert(m.domain.clone(), Gate::Go);
            }
            continue;
        };
        if !state.rollouts.contains_key(key) {
            out.records.insert(key.to_string(), Some(record.clone()));
        }
        for (domain, gate) in member_gates(&record, &members, state) {
            out.gates.insert(domain, gate);
        }
    }
    out
}

/// A new rollout of one certificate: its canaries, or `None` when there is nothing to stage
/// (one member, no canary among them, or every member a canary).
fn start(rollout: &Rollout, members: &[&Wanting], now: DateTime<Utc>) -> Option<RolloutRecord> {
    let canaries: Vec<&&Wanting> = if rollout.canary.is_empty() {
        members.iter().take(rollout.canary_count).collect()
    } else {
        members
            .iter()
            .filter(|m| rollout.canary.contains(&m.domain))
            .collect()
    };
    if members.len() < 2 || canaries.is_empty() || canaries.len() == members.len() {
        return None;
    }
    Some(RolloutRecord {
        canaries: canaries
            .iter()
            .map(|c| (c.domain.clone(), c.arn.clone()))
            .collect(),
        started_at: now,
    })
}

/// Each member's gate under a rollout: blocked by a failed canary, a canary itself, held
/// until the canaries verify, or free to go.
fn member_gates(
    record: &RolloutRecord,
    members: &[&Wanting],
    state: &State,
) -> Vec<(String, Gate)> {
    let statuses: Vec<(&String, CanaryStatus)> = record
        .canaries
        .iter()
        .map(|(d, a)| {
            let wants = members.iter().any(|m| &m.domain == d);
            (d, canary_status(state, d, a, wants))
        })
        .collect();
    let failed: Vec<String> = statuses
        .iter()
        .filter_map(|(d, s)| match s {
            CanaryStatus::Failed(why) => Some(format!("canary {d}: {why}")),
            _ => None,
        })
        .collect();
    let waiting: Vec<&str> = statuses
        .iter()
        .filter(|(_, s)| matches!(s, CanaryStatus::Verifying | CanaryStatus::NotStarted))
        .map(|(d, _)| d.as_str())
        .collect();
    members
        .iter()
        .map(|m| {
            let gate = if !failed.is_empty() {
                Gate::Blocked(format!(
                    "{}; the rest of the rollout waits until an operator fixes it and runs `cognito-cert-rotator forget <canary>`",
                    failed.join("; ")
                ))
            } else if record.canaries.contains_key(&m.domain) {
                Gate::Canary
            } else if waiting.is_empty() {
                Gate::Go
            } else {
                Gate::Hold(format!(
                    "held for the canary rollout of {}: waiting for {} to be verified first",
                    arn_tail(&m.arn),
                    waiting.join(", ")
                ))
            };
            (m.domain.clone(), gate)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{FinishedSwap, PendingSwap, Phase};

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000, 0).unwrap()
    }

    fn want(domain: &str, arn: &str, key: &str) -> Wanting {
        Wanting {
            domain: domain.into(),
            arn: arn.into(),
            key: key.into(),
        }
    }

    fn three() -> Vec<Wanting> {
        vec![
            want("a.example.com", "arn:1", "serial 01"),
            want("b.example.com", "arn:2", "serial 01"),
            want("c.example.com", "arn:3", "serial 01"),
        ]
    }

    fn count(n: usize) -> Rollout {
        Rollout {
            canary: vec![],
            canary_count: n,
        }
    }

    fn finished(state: &mut State, domain: &str, arn: &str, result: SwapResult) {
        state.domains.entry(domain.into()).or_default().last = Some(FinishedSwap {
            old_arn: Some("arn:old".into()),
            new_arn: arn.into(),
            swapped_at: Some(now()),
            finished_at: now(),
            result,
            detail: "edge serves the old serial".into(),
            renewal: false,
        });
    }

    #[test]
    fn without_rollout_everything_goes() {
        let g = gate(&Rollout::default(), &three(), &State::default(), now());
        assert!(g.gates.values().all(|g| *g == Gate::Go));
        assert!(g.records.is_empty());
    }

    #[test]
    fn a_new_group_swaps_its_canaries_first_and_holds_the_rest() {
        let g = gate(&count(1), &three(), &State::default(), now());
        assert_eq!(g.gates["a.example.com"], Gate::Canary);
        for d in ["b.example.com", "c.example.com"] {
            let Gate::Hold(why) = &g.gates[d] else {
                panic!("{d} should be held: {g:?}")
            };
            assert!(why.contains("waiting for a.example.com"), "{why}");
        }
        let record = g.records["serial 01"].as_ref().unwrap();
        assert_eq!(record.canaries.len(), 1);
        assert_eq!(record.canaries["a.example.com"], "arn:1");
    }

    #[test]
    fn named_canaries_are_used_where_they_are_in_the_group() {
        let named = Rollout {
            canary: vec!["c.example.com".into()],
            canary_count: 0,
        };
        let g = gate(&named, &three(), &State::default(), now());
        assert_eq!(g.gates["c.example.com"], Gate::Canary);
        assert!(matches!(g.gates["a.example.com"], Gate::Hold(_)));
        // A group without any named canary is not held back.
        let other = vec![
            want("x.example.com", "arn:9", "serial 09"),
            want("y.example.com", "arn:8", "serial 09"),
        ];
        let g = gate(&named, &other, &State::default(), now());
        assert!(g.gates.values().all(|g| *g == Gate::Go), "{g:?}");
    }

    #[test]
    fn singletons_and_all_canary_groups_just_go() {
        let g = gate(&count(1), &three()[..1], &State::default(), now());
        assert_eq!(g.gates["a.example.com"], Gate::Go);
        let g = gate(&count(5), &three(), &State::default(), now());
        assert!(g.gates.values().all(|g| *g == Gate::Go));
        assert!(g.records.is_empty());
    }

    fn started() -> State {
        let mut state = State::default();
        let g = gate(&count(1), &three(), &state, now());
        for (k, r) in g.records {
            state.rollouts.insert(k, r.unwrap());
        }
        state
    }

    #[test]
    fn the_rest_wait_while_the_canary_verifies_and_go_once_it_is_verified() {
        let mut state = started();
        state
            .domains
            .entry("a.example.com".into())
            .or_default()
            .pending = Some(PendingSwap {
            phase: Phase::Swapped,
            consumer: "us-east-1_A".into(),
            old_arn: None,
            new_arn: "arn:1".into(),
            new_serial: None,
            recorded_at: now(),
            swapped_at: Some(now()),
            deadline: now(),
            rollback_reason: None,
            renewal: false,
            expiry: Default::default(),
        });
        // The canary is in flight, so it is not wanting; the rest wait.
        let g = gate(&count(1), &three()[1..], &state, now());
        assert!(
            g.gates.values().all(|g| matches!(g, Gate::Hold(_))),
            "{g:?}"
        );
        assert!(g.records.is_empty());

        state.domains.get_mut("a.example.com").unwrap().pending = None;
        finished(&mut state, "a.example.com", "arn:1", SwapResult::Verified);
        let g = gate(&count(1), &three()[1..], &state, now());
        assert!(g.gates.values().all(|g| *g == Gate::Go), "{g:?}");
        // Once nobody wants it, the rollout record is dropped.
        let g = gate(&count(1), &[], &state, now());
        assert_eq!(g.records["serial 01"], None);
    }

    #[test]
    fn a_failed_canary_holds_the_rest_until_forgotten() {
        let mut state = started();
        finished(&mut state, "a.example.com", "arn:1", SwapResult::Failed);
        let g = gate(&count(1), &three()[1..], &state, now());
        for d in ["b.example.com", "c.example.com"] {
            let Gate::Blocked(why) = &g.gates[d] else {
                panic!("{g:?}")
            };
            assert!(why.contains("canary a.example.com"), "{why}");
            assert!(why.contains("failed verification"), "{why}");
            assert!(why.contains("forget"), "{why}");
        }
        // Still held on later passes, and the record is kept.
        assert!(g.records.is_empty());
        // `forget` clears the canary's last result: it wants the certificate again and
        // becomes the canary once more.
        state.domains.get_mut("a.example.com").unwrap().last = None;
        let g = gate(&count(1), &three(), &state, now());
        assert_eq!(g.gates["a.example.com"], Gate::Canary);
        assert!(matches!(g.gates["b.example.com"], Gate::Hold(_)));
    }

    #[test]
    fn an_unverified_canary_proves_nothing() {
        let mut state = started();
        finished(&mut state, "a.example.com", "arn:1", SwapResult::Unverified);
        let g = gate(&count(1), &three()[1..], &state, now());
        let Gate::Blocked(why) = &g.gates["b.example.com"] else {
            panic!("{g:?}")
        };
        assert!(why.contains("without verification"), "{why}");
    }
}

//! `retire:`'s memory of a domain: the certificates verified swaps moved it off, until each
//! is retired or gone.

use super::{DomainRecord, FinishedSwap, SwapResult};

/// How many certificates a domain was moved off are remembered for `retire:`.
pub const MOVED_OFF_KEPT: usize = 8;

impl DomainRecord {
    /// Remember what a finished swap moved the domain off (a verified swap, not a renewal),
    /// and forget the certificate it swapped to: the domain uses it (or used it).
    pub fn note_moved_off(&mut self, finished: &FinishedSwap) {
        let legacy = self.retire_candidates();
        let kept = self.moved_off.get_or_insert(legacy);
        kept.retain(|a| *a != finished.new_arn);
        if finished.result != SwapResult::Verified || finished.renewal {
            return;
        }
        let Some(old) = finished
            .old_arn
            .as_ref()
            .filter(|o| **o != finished.new_arn)
        else {
            return;
        };
        if !kept.contains(old) {
            kept.push(old.clone());
        }
        let excess = kept.len().saturating_sub(MOVED_OFF_KEPT);
        kept.drain(..excess);
    }

    /// `retire:`'s candidates for this domain: what it was moved off, oldest first; before
    /// that is kept, the certificate its last verified swap replaced.
    pub fn retire_candidates(&self) -> Vec<String> {
        if let Some(kept) = &self.moved_off {
            return kept.clone();
        }
        let last = self
            .last
            .as_ref()
            .filter(|l| l.result == SwapResult::Verified && !l.renewal);
        last.and_then(|l| l.old_arn.clone().filter(|o| *o != l.new_arn))
            .into_iter()
            .collect()
    }

    /// Certificates retired or gone leave the candidates (which are kept from then on).
    pub fn settle_retired(&mut self, settled: &[String]) {
        let legacy = self.retire_candidates();
        self.moved_off
            .get_or_insert(legacy)
            .retain(|a| !settled.contains(a));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn swap(old: &str, new: &str, result: SwapResult) -> FinishedSwap {
        FinishedSwap {
            old_arn: Some(old.to_string()),
            new_arn: new.to_string(),
            swapped_at: None,
            finished_at: Utc.timestamp_opt(0, 0).unwrap(),
            result,
            detail: String::new(),
            renewal: false,
        }
    }

    fn finish(r: &mut DomainRecord, f: FinishedSwap) {
        r.note_moved_off(&f);
        r.last = Some(f);
    }

    #[test]
    fn every_verified_swap_adds_what_it_moved_off_oldest_first() {
        let mut r = DomainRecord::default();
        finish(&mut r, swap("a", "b", SwapResult::Verified));
        finish(&mut r, swap("b", "c", SwapResult::Verified));
        assert_eq!(r.retire_candidates(), ["a", "b"]);
        // A failed or unverified swap, or a renewal, adds nothing.
        finish(&mut r, swap("c", "d", SwapResult::Failed));
        finish(&mut r, swap("c", "e", SwapResult::Unverified));
        let mut renewal = swap("c", "c2", SwapResult::Verified);
        renewal.renewal = true;
        finish(&mut r, renewal);
        assert_eq!(r.retire_candidates(), ["a", "b"]);
    }

    #[test]
    fn the_certificate_swapped_to_is_never_a_candidate() {
        let mut r = DomainRecord::default();
        finish(&mut r, swap("a", "b", SwapResult::Verified));
        finish(&mut r, swap("b", "a", SwapResult::Verified));
        assert_eq!(r.retire_candidates(), ["b"]);
        // Even a swap that failed: the domain was on it.
        finish(&mut r, swap("a", "b", SwapResult::Failed));
        assert!(r.retire_candidates().is_empty());
    }

    #[test]
    fn at_most_the_newest_few_are_kept() {
        let mut r = DomainRecord::default();
        for i in 0..MOVED_OFF_KEPT + 3 {
            finish(
                &mut r,
                swap(
                    &format!("c{i}"),
                    &format!("c{}", i + 1),
                    SwapResult::Verified,
                ),
            );
        }
        let kept = r.retire_candidates();
        assert_eq!(kept.len(), MOVED_OFF_KEPT);
        assert_eq!(kept[0], "c3");
    }

    #[test]
    fn a_record_of_an_earlier_version_keeps_its_last_candidate_until_it_settles() {
        // Written before `moved_off`: the last verified swap's old certificate is the candidate.
        let mut r = DomainRecord {
            last: Some(swap("a", "b", SwapResult::Verified)),
            ..DomainRecord::default()
        };
        assert_eq!(r.moved_off, None);
        assert_eq!(r.retire_candidates(), ["a"]);
        // The next swap keeps it beside its own.
        let mut next = r.clone();
        finish(&mut next, swap("b", "c", SwapResult::Verified));
        assert_eq!(next.retire_candidates(), ["a", "b"]);
        // Retired: it leaves, and the last swap no longer brings it back.
        r.settle_retired(&["a".to_string()]);
        assert_eq!(r.moved_off, Some(Vec::new()));
        assert!(r.retire_candidates().is_empty());
    }
}

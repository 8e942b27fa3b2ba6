//! The per-domain gauges of the edge and of deferred swaps.

use super::{DomainLabel, Metrics, ReasonLabels, StateLabels};

impl Metrics {
    /// Record an edge probe: whether it worked and the served leaf's NotAfter.
    pub fn set_edge_probe(&self, domain: &str, success: bool, not_after: Option<i64>) {
        let labels = DomainLabel {
            domain: domain.to_string(),
        };
        self.edge_probe_success
            .get_or_create(&labels)
            .set(i64::from(success));
        match not_after {
            Some(t) => {
                self.edge_expiration.get_or_create(&labels).set(t);
            }
            None => {
                self.edge_expiration.remove(&labels);
            }
        }
    }

    /// Which rule, if any, defers the domain's swap (`window`, `freeze`); the others read 0.
    pub fn set_deferred(&self, domain: &str, reason: Option<&str>) {
        for r in crate::window::DEFERRAL_REASONS {
            self.deferred
                .get_or_create(&ReasonLabels {
                    domain: domain.to_string(),
                    reason: (*r).to_string(),
                })
                .set(i64::from(reason == Some(*r)));
        }
    }

    /// How many of the domain's edge addresses serve the certificate they should (the new one
    /// while verifying, else the configured one), are behind, or cannot be reached.
    /// `counts` is (serving, behind, unreachable).
    pub fn set_edge_addresses(&self, domain: &str, counts: (usize, usize, usize)) {
        let (serving, behind, unreachable) = counts;
        let counts = [
            ("serving", serving),
            ("behind", behind),
            ("unreachable", unreachable),
        ];
        for (state, n) in counts {
            self.edge_addresses
                .get_or_create(&StateLabels {
                    domain: domain.to_string(),
                    state: state.to_string(),
                })
                .set(n as i64);
        }
    }

    /// Whether the edge serves the configured certificate; `None` removes the gauge.
    pub fn set_edge_matches(&self, domain: &str, matches: Option<bool>) {
        let labels = DomainLabel {
            domain: domain.to_string(),
        };
        match matches {
            Some(m) => {
                self.edge_matches.get_or_create(&labels).set(i64::from(m));
            }
            None => {
                self.edge_matches.remove(&labels);
            }
        }
    }
}

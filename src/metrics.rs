//! Prometheus metrics (prometheus-client; names cert-manager users recognise), the AWS request
//! counter (an SDK interceptor, so every attempt — retries included — is counted), and the
//! `/metrics` + `/healthz` HTTP endpoint ([`http`]).

use std::sync::atomic::{AtomicI64, AtomicU64};
use std::sync::Arc;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

const PREFIX: &str = "cognito_cert_rotator";

mod edge;
mod labels;
mod register;
pub use labels::*;

/// Verification states exported as `verification_state{domain,state}` (1 = current).
pub const VERIFICATION_STATES: &[&str] = &["verified", "verifying", "failed"];

/// Every metric, registered once. Cheap to clone (handles are shared).
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    /// NotAfter of the current certificate, Unix seconds.
    pub expiration: Family<TargetLabels, Gauge<i64, AtomicI64>>,
    /// NotBefore of the current certificate, Unix seconds.
    pub not_before: Family<TargetLabels, Gauge<i64, AtomicI64>>,
    /// Swaps by result.
    pub rotations: Family<ResultLabels, Counter>,
    /// In-place renewals verified (or not), by result.
    pub renewals: Family<ResultLabels, Counter>,
    /// 1 for the domain's current verification state.
    pub verification_state: Family<StateLabels, Gauge<i64, AtomicI64>>,
    /// When the last pass finished, Unix seconds.
    pub last_pass: Gauge<f64, AtomicU64>,
    /// How long passes take.
    pub pass_duration: Histogram,
    /// AWS requests (attempts) by outcome.
    pub aws_requests: Family<AwsLabels, Counter>,
    /// Hook runs by result.
    pub hooks: Family<HookLabels, Counter>,
    /// Target failures by kind.
    pub target_failures: Family<FailureLabels, Counter>,
    /// 1 while this replica leads (DynamoDB state), else 0.
    pub leader: Gauge<i64, AtomicI64>,
    /// Leases this replica lost while leading.
    pub lease_lost: Counter,
    /// 1 when ACM's managed renewal of the domain's certificate needs a person.
    pub renewal_action_required: Family<DomainLabel, Gauge<i64, AtomicI64>>,
    /// NotAfter of the leaf certificate the edge served, Unix seconds.
    pub edge_expiration: Family<DomainLabel, Gauge<i64, AtomicI64>>,
    /// 1 when the edge serves the domain's configured certificate, 0 when not.
    pub edge_matches: Family<DomainLabel, Gauge<i64, AtomicI64>>,
    /// 1 when the last edge probe of the domain completed a handshake.
    pub edge_probe_success: Family<DomainLabel, Gauge<i64, AtomicI64>>,
    /// 1 for each custom domain `discovery:` found that is neither listed nor tagged.
    pub unmanaged: Family<UnmanagedLabels, Gauge<i64, AtomicI64>>,
    /// Notifications by channel (sns, webhook), event and result (sent, retried, failed,
    /// dropped).
    pub notifications: Family<NotificationLabels, Counter>,
    /// 1 when the domain's swap waits for a change window (`reason="window"`) or the end of
    /// a freeze (`reason="freeze"`), else 0.
    pub deferred: Family<ReasonLabels, Gauge<i64, AtomicI64>>,
    /// Edge addresses of the domain at the last probe, by state (serving, behind,
    /// unreachable) against the certificate they should serve.
    pub edge_addresses: Family<StateLabels, Gauge<i64, AtomicI64>>,
    /// Domain settings found changed after a swap that sent them back unchanged.
    pub settings_changed: Family<SettingLabels, Counter>,
    /// Messages of the event queue, by detail type and what became of them.
    pub events: Family<EventLabels, Counter>,
    /// 1 when the domain's target failed in the last pass, else 0.
    pub target_failing: Family<DomainLabel, Gauge<i64, AtomicI64>>,
    /// Domains found moved off the rotator's certificate outside it (held until `forget`).
    pub external_changes: Family<DomainLabel, Counter>,
    /// Certificates retired (`retire:`), by domain and action (tag, delete).
    pub retired: Family<ReasonLabels, Counter>,
    /// This host's clock minus AWS's (the `Date` of the last AWS answer), in seconds.
    pub clock_skew: Gauge<f64, AtomicU64>,
    /// The /metrics endpoint's own defences: connections refused at the cap, accept errors.
    pub http: HttpCounters,
}

/// What the metrics endpoint refused or could not accept (an attack shows here, not only as
/// failing passes).
#[derive(Debug, Clone, Default)]
pub struct HttpCounters {
    /// Connections answered 503 at once because the connection cap was reached.
    pub refused: Counter,
    /// accept() failures (out of descriptors, say), each followed by a pause.
    pub accept_errors: Counter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Register every metric.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix(PREFIX);
        let m = Metrics {
            registry: Arc::new(Registry::default()),
            expiration: Family::default(),
            not_before: Family::default(),
            rotations: Family::default(),
            renewals: Family::default(),
            verification_state: Family::default(),
            last_pass: Gauge::default(),
            pass_duration: Histogram::new([0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0]),
            aws_requests: Family::default(),
            hooks: Family::default(),
            target_failures: Family::default(),
            leader: Gauge::default(),
            lease_lost: Counter::default(),
            settings_changed: Family::default(),
            renewal_action_required: Family::default(),
            edge_expiration: Family::default(),
            edge_matches: Family::default(),
            edge_probe_success: Family::default(),
            edge_addresses: Family::default(),
            deferred: Family::default(),
            notifications: Family::default(),
            unmanaged: Family::default(),
            events: Family::default(),
            target_failing: Family::default(),
            external_changes: Family::default(),
            retired: Family::default(),
            clock_skew: Gauge::default(),
            http: HttpCounters::default(),
        };
        m.register_certificates(&mut registry);
        m.register_passes(&mut registry);
        m.register_edge(&mut registry);
        Metrics {
            registry: Arc::new(registry),
            ..m
        }
    }

    /// Export, at 0, the series known to exist before anything happens, so that `increase()`
    /// in an alert sees the first rotation failure too (a counter born at 1 has no increase)
    /// and a healthy daemon's `/metrics` names every metric the alerts use.
    pub fn init_series<'a>(
        &self,
        domains: impl IntoIterator<Item = &'a str>,
        settings: &[&str],
        detail_types: &[&str],
    ) {
        for domain in domains {
            let result = |r: &str| ResultLabels {
                domain: domain.to_string(),
                result: r.to_string(),
            };
            for r in ["verified", "failed", "rolled_back"] {
                let _ = self.rotations.get_or_create(&result(r));
            }
            for r in ["verified", "failed"] {
                let _ = self.renewals.get_or_create(&result(r));
            }
            let _ = self.external_changes.get_or_create(&DomainLabel {
                domain: domain.to_string(),
            });
            self.set_deferred(domain, None);
            for setting in settings {
                let _ = self.settings_changed.get_or_create(&SettingLabels {
                    domain: domain.to_string(),
                    setting: (*setting).to_string(),
                });
            }
        }
        for d in detail_types {
            let _ = self.events.get_or_create(&EventLabels {
                detail_type: (*d).to_string(),
                result: "handled".to_string(),
            });
        }
    }

    /// Whether the domain's target failed in the last pass.
    pub fn set_target_failing(&self, domain: &str, failing: bool) {
        self.target_failing
            .get_or_create(&DomainLabel {
                domain: domain.to_string(),
            })
            .set(i64::from(failing));
    }

    /// Set the domain's verification state (one of [`VERIFICATION_STATES`]).
    pub fn set_verification_state(&self, domain: &str, state: &str) {
        for s in VERIFICATION_STATES {
            self.verification_state
                .get_or_create(&StateLabels {
                    domain: domain.to_string(),
                    state: (*s).to_string(),
                })
                .set(i64::from(*s == state));
        }
    }

    /// Count one failure of `domain`; `reason` is the error's metric label.
    pub fn count_failure(&self, domain: &str, reason: &str) {
        self.target_failures
            .get_or_create(&FailureLabels {
                domain: domain.to_string(),
                reason: reason.to_string(),
            })
            .inc();
    }

    /// Whether ACM's managed renewal of `domain`'s certificate needs a person.
    pub fn set_renewal_action_required(&self, domain: &str, stuck: bool) {
        self.renewal_action_required
            .get_or_create(&DomainLabel {
                domain: domain.to_string(),
            })
            .set(i64::from(stuck));
    }

    /// The custom domains and other consumers found but neither listed nor tagged, each at 1
    /// (the previous look's are removed): (domain, account, region, kind).
    pub fn set_unmanaged<'a>(
        &self,
        found: impl IntoIterator<Item = (&'a str, &'a str, &'a str, &'a str)>,
    ) {
        self.unmanaged.clear();
        for (domain, account, region, kind) in found {
            self.unmanaged
                .get_or_create(&UnmanagedLabels {
                    domain: domain.to_string(),
                    account: account.to_string(),
                    region: region.to_string(),
                    kind: kind.to_string(),
                })
                .set(1);
        }
    }

    /// The notification series an alert watches (`failed`, `dropped`), at 0.
    pub fn init_notification(&self, channel: &str, event: &str) {
        for result in ["sent", "failed", "dropped"] {
            let _ = self.notifications.get_or_create(&NotificationLabels {
                channel: channel.to_string(),
                event: event.to_string(),
                result: result.to_string(),
            });
        }
    }

    /// Count a notification's delivery attempt outcome.
    pub fn count_notification(&self, channel: &str, event: &str, result: &str) {
        self.notifications
            .get_or_create(&NotificationLabels {
                channel: channel.to_string(),
                event: event.to_string(),
                result: result.to_string(),
            })
            .inc();
    }

    /// Count a domain setting found changed after a swap.
    pub fn count_setting_changed(&self, domain: &str, setting: &str) {
        self.settings_changed
            .get_or_create(&SettingLabels {
                domain: domain.to_string(),
                setting: setting.to_string(),
            })
            .inc();
    }

    /// Count a domain found moved off the rotator's certificate outside it.
    pub fn count_external_change(&self, domain: &str) {
        self.external_changes
            .get_or_create(&DomainLabel {
                domain: domain.to_string(),
            })
            .inc();
    }

    /// Count a certificate retired after `domain` moved off it (`action`: tag, delete).
    pub fn count_retired(&self, domain: &str, action: &str) {
        self.retired
            .get_or_create(&ReasonLabels {
                domain: domain.to_string(),
                reason: action.to_string(),
            })
            .inc();
    }

    /// Count one message of the event queue.
    pub fn count_event(&self, detail_type: &str, result: &str) {
        self.events
            .get_or_create(&EventLabels {
                detail_type: detail_type.to_string(),
                result: result.to_string(),
            })
            .inc();
    }

    /// The Prometheus text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// An SDK interceptor that counts every request attempt into `aws_requests_total`.
    pub fn interceptor(&self, account: &str) -> AwsRequestCounter {
        AwsRequestCounter {
            requests: self.aws_requests.clone(),
            account: account.to_string(),
            skew: self.clock_skew.clone(),
        }
    }
}

pub mod http;
mod requests;
pub use requests::{skew_seconds, AwsRequestCounter, NotSent};

#[cfg(test)]
mod tests;

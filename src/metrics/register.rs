//! Every exported metric's name and help text, in three groups (the README's metrics table
//! lists them all; tests/it/alerts.rs checks it).

use prometheus_client::registry::Registry;

use super::Metrics;

impl Metrics {
    /// Per domain: the certificate in use, swaps, renewals, verification and failures.
    pub(super) fn register_certificates(&self, registry: &mut Registry) {
        registry.register(
            "certificate_expiration_timestamp_seconds",
            "NotAfter of the certificate the domain uses",
            self.expiration.clone(),
        );
        registry.register(
            "certificate_not_before_timestamp_seconds",
            "NotBefore of the certificate the domain uses",
            self.not_before.clone(),
        );
        registry.register(
            "rotations",
            "Certificate swaps, by how they ended",
            self.rotations.clone(),
        );
        registry.register(
            "renewals",
            "In-place renewals (same ARN, new certificate) the edge was checked for, by result",
            self.renewals.clone(),
        );
        registry.register(
            "verification_state",
            "1 for the domain's current verification state",
            self.verification_state.clone(),
        );
        registry.register(
            "target_failing",
            "1 when the domain's target failed in the last pass (AWS error, no eligible certificate, a failed verification), else 0",
            self.target_failing.clone(),
        );
        registry.register(
            "target_failures",
            "Targets that failed in a pass or a verification, by kind of failure",
            self.target_failures.clone(),
        );
    }

    /// The process: passes, AWS requests, hooks, leadership, events and the endpoint itself.
    pub(super) fn register_passes(&self, registry: &mut Registry) {
        registry.register(
            "clock_skew_seconds",
            "This host's clock minus AWS's, from the Date of the last AWS answer (whole seconds: +-1 s is noise); past a quarter of the lease, a replica refuses to lead",
            self.clock_skew.clone(),
        );
        registry.register(
            "http_connections_refused",
            "Connections to /metrics and /healthz answered 503 at once because the connection cap was reached",
            self.http.refused.clone(),
        );
        registry.register(
            "http_accept_errors",
            "Failures to accept a connection to /metrics (out of descriptors, say), each followed by a pause",
            self.http.accept_errors.clone(),
        );
        registry.register(
            "last_pass_timestamp_seconds",
            "When the last pass finished",
            self.last_pass.clone(),
        );
        registry.register(
            "pass_duration_seconds",
            "How long a pass took",
            self.pass_duration.clone(),
        );
        registry.register(
            "aws_requests",
            "AWS API requests (each attempt), by outcome",
            self.aws_requests.clone(),
        );
        registry.register("hook_runs", "Hook runs, by result", self.hooks.clone());
        registry.register(
            "leader",
            "1 while this replica holds the lease and acts (always 1 with the state file)",
            self.leader.clone(),
        );
        registry.register(
            "lease_lost",
            "Times this replica lost the lease while leading",
            self.lease_lost.clone(),
        );
        registry.register(
            "events",
            "Messages of the event queue (events: sqs_queue_url), by detail type and result",
            self.events.clone(),
        );
    }

    /// What the edge serves and what changed around a swap.
    pub(super) fn register_edge(&self, registry: &mut Registry) {
        registry.register(
            "retired_certificates",
            "Certificates retired after the rotator moved the domain off them and nothing used them for retire.after (reason: the action, tag or delete)",
            self.retired.clone(),
        );
        registry.register(
            "external_changes",
            "Domains found moved off the rotator's certificate outside it (Terraform, CloudFormation, a person); held until `forget`",
            self.external_changes.clone(),
        );
        registry.register(
            "edge_certificate_expiration_timestamp_seconds",
            "NotAfter of the leaf certificate the domain's edge served at the last probe",
            self.edge_expiration.clone(),
        );
        registry.register(
            "edge_matches_current",
            "1 when the edge serves the certificate the domain is configured with, 0 when not (absent while a verification runs)",
            self.edge_matches.clone(),
        );
        registry.register(
            "edge_probe_success",
            "1 when the last TLS probe of the domain's edge completed a handshake",
            self.edge_probe_success.clone(),
        );
        registry.register(
            "unmanaged_domain",
            "1 for each Cognito custom domain discovery found that is neither listed under domains: nor tagged for management",
            self.unmanaged.clone(),
        );
        registry.register(
            "notifications",
            "Notifications (notify:) by channel, event and result: sent, retried, failed, dropped",
            self.notifications.clone(),
        );
        registry.register(
            "deferred",
            "1 when the domain's swap waits for a change window (reason=window) or the end of a freeze (reason=freeze)",
            self.deferred.clone(),
        );
        registry.register(
            "edge_addresses",
            "Edge addresses of the domain at the last probe by state: serving (the certificate they should: the new one while verifying, else the configured one), behind, unreachable",
            self.edge_addresses.clone(),
        );
        registry.register(
            "managed_renewal_action_required",
            "1 when ACM's managed renewal of the domain's certificate is PENDING_VALIDATION or FAILED inside its renewal window",
            self.renewal_action_required.clone(),
        );
        registry.register(
            "domain_setting_changed",
            "Domain settings (Routing, SecurityPolicy, ManagedLoginVersion) found changed after a swap",
            self.settings_changed.clone(),
        );
    }
}

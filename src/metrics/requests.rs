//! The AWS request counter: an SDK interceptor, so every attempt (retries included) is
//! counted by service, operation and outcome, and the clock skew AWS's `Date` shows.

use std::sync::atomic::AtomicU64;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

use super::labels::AwsLabels;

/// Marks a request the lease guard stopped before it was sent, so the counter records it as
/// `outcome="not_leading"` rather than a transport error.
#[derive(Debug, Clone, Copy)]
pub struct NotSent;

impl aws_smithy_types::config_bag::Storable for NotSent {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

/// Counts AWS request attempts by service, operation and outcome.
#[derive(Clone, Debug)]
pub struct AwsRequestCounter {
    pub(super) requests: Family<AwsLabels, Counter>,
    pub(super) account: String,
    pub(super) skew: Gauge<f64, AtomicU64>,
}

/// This host's time minus the time in an HTTP `Date` header, in seconds (the header has whole
/// seconds, so ±1 s is noise).
pub fn skew_seconds(now: chrono::DateTime<chrono::Utc>, date_header: &str) -> Option<f64> {
    let theirs = chrono::DateTime::parse_from_rfc2822(date_header).ok()?;
    Some((now - theirs.with_timezone(&chrono::Utc)).num_milliseconds() as f64 / 1000.0)
}

impl Intercept for AwsRequestCounter {
    fn name(&self) -> &'static str {
        "AwsRequestCounter"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, operation) = cfg
            .load::<Metadata>()
            .map_or(("unknown", "unknown"), |m| (m.service(), m.name()));
        // Every answer's Date says how far this host's clock is from AWS's: the lease's expiry
        // is wall-clock time compared across hosts.
        if let Some(date) = context.response().and_then(|r| r.headers().get("date")) {
            if let Some(skew) =
                skew_seconds(crate::clock::Clock::now(&crate::clock::SystemClock), date)
            {
                self.skew.set(skew);
            }
        }
        let refused = cfg.load::<NotSent>().is_some();
        let outcome = match context.response() {
            // Stopped by the lease guard: never sent.
            None if refused => "not_leading",
            None => "transport_error",
            Some(r) => {
                let status = r.status().as_u16();
                let error_type = r.headers().get("x-amzn-errortype").unwrap_or_default();
                if (200..300).contains(&status) {
                    "success"
                } else if status == 429
                    || error_type.contains("Throttl")
                    || error_type.contains("TooManyRequests")
                {
                    "throttled"
                } else if status >= 500 {
                    "server_error"
                } else {
                    "client_error"
                }
            }
        };
        self.requests
            .get_or_create(&AwsLabels {
                service: service.to_string(),
                operation: operation.to_string(),
                outcome: outcome.to_string(),
                account: self.account.clone(),
            })
            .inc();
        Ok(())
    }
}

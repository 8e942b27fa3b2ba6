//! Narrow adapters over the AWS SDK: SDK calls in, [`crate::model`] types out.
//!
//! Clients are built once from `aws_config` (credential chain, profiles, `AWS_ENDPOINT_URL`,
//! retries, timeouts) and passed in; nothing here knows whether it talks to AWS or an emulator.

pub mod accounts;
pub mod acm;
pub mod apigateway;
mod attr;
pub mod cloudfront;
pub mod cognito;
pub mod consumer;
pub mod dynamodb;
pub mod error;
pub mod lease_table;
pub mod limit;
pub mod listener;
pub mod organizations;
pub mod sns;
pub mod sqs;
pub mod sts;
pub mod table_setup;

use std::time::Duration;

use aws_config::environment::region::EnvironmentVariableRegionProvider;
use aws_config::meta::region::RegionProviderChain;
pub use error::{AwsError, TableError};

use crate::metrics::AwsRequestCounter;
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use error::NotLeading;

use aws_config::profile::ProfileFileRegionProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_acm::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// Attempts per call, first try included. Throttling (ACM ListCertificates is 8 req/s,
/// Cognito user-pool reads and updates ~15 req/s per account) and 5xx are retried by the
/// SDK's standard mode with exponential backoff and jitter.
pub const MAX_ATTEMPTS: u32 = 5;

impl AwsError {
    pub(crate) fn from_sdk<E, R>(operation: &'static str, err: SdkError<E, R>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        match &err {
            SdkError::ServiceError(service) => {
                let inner = service.err();
                AwsError::Service {
                    operation,
                    code: inner.code().unwrap_or("Unknown").to_string(),
                    message: inner.message().unwrap_or("(no message)").to_string(),
                }
            }
            _ => match refused_by_guard(&err) {
                Some(reason) => AwsError::NotLeading { operation, reason },
                None => AwsError::Transport {
                    operation,
                    detail: error_chain(&err),
                },
            },
        }
    }
}

/// The lease guard's refusal, when that is what stopped the request.
fn refused_by_guard(err: &(dyn std::error::Error + 'static)) -> Option<NotLeading> {
    let mut cause = Some(err);
    while let Some(e) = cause {
        if let Some(refused) = e.downcast_ref::<NotLeading>() {
            return Some(*refused);
        }
        cause = e.source();
    }
    None
}

/// `outer: inner: innermost`, each cause once, without the Debug dump
/// `DisplayErrorContext` appends (unreadable in a one-line log or status).
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let text = crate::format::Chain(err).to_string();
    if text.is_empty() {
        DisplayErrorContext(err).to_string()
    } else {
        text
    }
}

/// Load the shared SDK configuration: the standard credential chain and region chain
/// (falling back to us-east-1, though ACM and Cognito clients set their own regions), with
/// retries and timeouts suited to a daemon.
pub async fn load_sdk_config() -> SdkConfig {
    // ACM and Cognito clients set their own regions, so the default region only matters for
    // credentials (STS). Not asking IMDS saves seconds and a warning off EC2.
    let region = RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
        .or_else(ProfileFileRegionProvider::new())
        .or_else("us-east-1");
    aws_config::defaults(BehaviorVersion::latest())
        .region(region)
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(30))
                .operation_timeout(Duration::from_secs(120))
                .build(),
        )
        .load()
        .await
}

/// What each request of a client passes through: the request counter, and for an acting
/// process with a lease the lease guard ([`crate::lease::guard::LeaseGuard`]), after the
/// counter so a refusal is counted.
#[derive(Debug, Clone, Default)]
pub struct Interceptors {
    /// Counts attempts into `aws_requests_total`.
    pub counter: Option<AwsRequestCounter>,
    /// Stops requests of work that no longer holds the lease.
    pub guard: Option<SharedInterceptor>,
}

impl Interceptors {
    /// Only the counter.
    pub fn counting(counter: AwsRequestCounter) -> Interceptors {
        Interceptors {
            counter: Some(counter),
            guard: None,
        }
    }

    /// Both, as the SDK takes them.
    pub fn shared(&self) -> Vec<SharedInterceptor> {
        let counter = self.counter.clone().map(SharedInterceptor::new);
        let guard = self.guard.clone();
        counter.into_iter().chain(guard).collect()
    }
}

pub(crate) fn to_chrono(
    t: &aws_sdk_acm::primitives::DateTime,
) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

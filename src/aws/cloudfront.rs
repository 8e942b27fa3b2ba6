//! CloudFront distributions: the viewer certificate of a distribution that serves the domain.
//!
//! CloudFront is a global service (its API lives in us-east-1) and takes ACM certificates from
//! us-east-1 only. A distribution's config is read and written whole: `UpdateDistribution`
//! takes the config back with the `ETag` of the read it came from (`IfMatch`), so the write
//! changes only `ViewerCertificate.ACMCertificateArn` of the config as read, and a concurrent
//! change in between (`PreconditionFailed`) is met with a fresh read, never a blind resend.

use std::sync::Arc;

use aws_config::SdkConfig;
use aws_sdk_cloudfront::types::DistributionConfig;
use aws_sdk_cloudfront::Client;

use super::limit::{AccountLimits, RateLimiter};
use super::{AwsError, Interceptors};
use crate::model::{DomainInfo, DomainStatus, DomainView, CERTIFICATE_REGION};

/// How many times a write meets another writer's change (`PreconditionFailed`) and reads
/// again before giving up for this pass.
const RACES: u32 = 3;

/// The CloudFront adapter of one account.
#[derive(Debug, Clone)]
pub struct Distributions {
    client: Client,
    limiter: Arc<RateLimiter>,
}

impl Distributions {
    /// Wrap a client, without rate limits (tests pass a mocked one).
    pub fn new(client: Client) -> Distributions {
        Distributions {
            client,
            limiter: Arc::new(RateLimiter::new(0.0)),
        }
    }

    /// A client from the shared configuration (CloudFront's API is in us-east-1).
    pub fn from_sdk_config(
        sdk: &SdkConfig,
        interceptors: &Interceptors,
        limits: &AccountLimits,
    ) -> Distributions {
        let mut conf = aws_sdk_cloudfront::config::Builder::from(sdk)
            .region(aws_config::Region::new(CERTIFICATE_REGION));
        conf.set_interceptors(interceptors.shared());
        Distributions {
            client: Client::from_conf(conf.build()),
            limiter: limits.consumer_region(),
        }
    }

    /// GetDistribution: its status and viewer certificate, as a [`DomainView`] of `domain`.
    /// A distribution that does not exist, or does not have `domain` among its aliases, is
    /// [`DomainView::Missing`]: it does not serve the domain.
    pub async fn describe(&self, id: &str, domain: &str) -> Result<DomainView, AwsError> {
        let Some(dist) = self.get(id).await? else {
            return Ok(DomainView::Missing);
        };
        let config = config_of(&dist)?;
        if !has_alias(config, domain) {
            return Ok(DomainView::Missing);
        }
        Ok(DomainView::Present(DomainInfo {
            status: status(dist.status()),
            certificate_arn: acm_arn(config),
            ..DomainInfo::of(id, CERTIFICATE_REGION)
        }))
    }

    /// GetDistribution, after the account's limiter; `None` when it does not exist.
    async fn get(
        &self,
        id: &str,
    ) -> Result<Option<aws_sdk_cloudfront::types::Distribution>, AwsError> {
        self.limiter.acquire().await;
        match self.client.get_distribution().id(id).send().await {
            Ok(out) => out
                .distribution
                .map(Some)
                .ok_or_else(|| AwsError::Malformed {
                    operation: "GetDistribution",
                    detail: "no Distribution".to_string(),
                }),
            Err(e) => {
                let e = AwsError::from_sdk("GetDistribution", e);
                match e.metric_label() {
                    "NoSuchDistribution" => Ok(None),
                    _ => Err(e),
                }
            }
        }
    }

    /// Point the distribution's viewer certificate at `to`, changing nothing else, when it is
    /// on `from` now: GetDistributionConfig, then UpdateDistribution of that config with its
    /// ETag. Another writer's change in between (`PreconditionFailed`) is read again (up to
    /// three times); a certificate that is no longer `from` is left alone
    /// ([`AwsError::Service`] `CertificateChanged`, a final answer).
    ///
    /// The SDK's retries are off for the write: a lost answer is settled by the caller's
    /// re-read ([`crate::act`]), never by a blind resend.
    pub async fn update_certificate(
        &self,
        id: &str,
        from: Option<&str>,
        to: &str,
    ) -> Result<(), AwsError> {
        const OP: &str = "UpdateDistribution";
        let mut races = 0;
        loop {
            let (mut config, etag) = self.config(id).await?;
            let now = acm_arn(&config);
            if now.as_deref() == Some(to) {
                return Ok(());
            }
            if now.as_deref() != from {
                return Err(AwsError::Service {
                    operation: OP,
                    code: "CertificateChanged".to_string(),
                    message: format!(
                        "the distribution's certificate is {} now, not {} as read; not overwriting it",
                        now.as_deref().unwrap_or("none"),
                        from.unwrap_or("none")
                    ),
                });
            }
            with_certificate(&mut config, to);
            self.limiter.acquire().await;
            let sent = self
                .client
                .update_distribution()
                .id(id)
                .if_match(etag)
                .distribution_config(config)
                .customize()
                .config_override(
                    aws_sdk_cloudfront::config::Config::builder()
                        .retry_config(aws_config::retry::RetryConfig::disabled()),
                )
                .send()
                .await;
            match sent.map_err(|e| AwsError::from_sdk(OP, e)) {
                Ok(_) => return Ok(()),
                Err(e) if e.metric_label() == "PreconditionFailed" && races + 1 < RACES => {
                    races += 1;
                    tracing::info!(distribution = id, "the distribution changed between the read and the write (PreconditionFailed): reading it again");
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// GetDistributionConfig: the whole config and its ETag.
    async fn config(&self, id: &str) -> Result<(DistributionConfig, String), AwsError> {
        const OP: &str = "GetDistributionConfig";
        self.limiter.acquire().await;
        let out = self
            .client
            .get_distribution_config()
            .id(id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OP, e))?;
        let malformed = |what: &str| AwsError::Malformed {
            operation: OP,
            detail: format!("no {what}"),
        };
        let etag = out.e_tag().ok_or_else(|| malformed("ETag"))?.to_string();
        let config = out
            .distribution_config
            .ok_or_else(|| malformed("DistributionConfig"))?;
        Ok((config, etag))
    }
}

/// Whether `domain` is one of the distribution's aliases (alternate domain names).
fn has_alias(config: &DistributionConfig, domain: &str) -> bool {
    config
        .aliases()
        .map(|a| a.items())
        .unwrap_or_default()
        .iter()
        .any(|a| a.eq_ignore_ascii_case(domain))
}

/// The distribution's config, which GetDistribution always carries.
fn config_of(
    dist: &aws_sdk_cloudfront::types::Distribution,
) -> Result<&DistributionConfig, AwsError> {
    dist.distribution_config()
        .ok_or_else(|| AwsError::Malformed {
            operation: "GetDistribution",
            detail: "no DistributionConfig".to_string(),
        })
}

/// The ACM certificate of the viewer certificate, if it has one.
fn acm_arn(config: &DistributionConfig) -> Option<String> {
    config
        .viewer_certificate()
        .and_then(|v| v.acm_certificate_arn())
        .filter(|a| !a.is_empty())
        .map(str::to_string)
}

/// `Deployed` is live everywhere; `InProgress` is still reaching the edge.
fn status(text: &str) -> DomainStatus {
    match text {
        "Deployed" => DomainStatus::Active,
        "InProgress" => DomainStatus::Updating,
        other => DomainStatus::Other(other.to_string()),
    }
}

/// The config with `arn` as its viewer certificate, everything else as read. The deprecated
/// `Certificate` and `CertificateSource` (which only restate the ACM ARN) are left out, and an
/// empty `IAMCertificateId` (as some readers return) is not sent back empty.
#[allow(deprecated)]
fn with_certificate(config: &mut DistributionConfig, arn: &str) {
    let Some(viewer) = config.viewer_certificate.as_mut() else {
        return;
    };
    viewer.acm_certificate_arn = Some(arn.to_string());
    viewer.cloud_front_default_certificate = Some(false);
    if viewer.iam_certificate_id.as_deref() == Some("") {
        viewer.iam_certificate_id = None;
    }
    viewer.certificate = None;
    viewer.certificate_source = None;
}

mod seen;

#[cfg(test)]
mod tests;

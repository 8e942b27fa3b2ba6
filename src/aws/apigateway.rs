//! API Gateway custom domain names, in their own region.
//!
//! A custom domain name is named by the domain itself and shared by REST and HTTP APIs of the
//! region. An edge-optimized one serves `certificateArn` (from us-east-1) through CloudFront; a
//! regional one serves `regionalCertificateArn` (from its own region). The write is one
//! `UpdateDomainName` patch of that one path, nothing else.

use std::sync::Arc;

use aws_config::SdkConfig;
use aws_sdk_apigateway::types::{DomainNameStatus, Op, PatchOperation};
use aws_sdk_apigateway::Client;

use super::limit::{AccountLimits, RateLimiter};
use super::{AwsError, Interceptors};
use crate::model::{ApiEndpoint, DomainInfo, DomainStatus, DomainView, CERTIFICATE_REGION};

/// The API Gateway adapter of one account in one region.
#[derive(Debug, Clone)]
pub struct ApiDomains {
    client: Client,
    region: String,
    limiter: Arc<RateLimiter>,
}

impl ApiDomains {
    /// Wrap a client for `region`, without rate limits (tests pass a mocked one).
    pub fn new(client: Client, region: &str) -> ApiDomains {
        ApiDomains {
            client,
            region: region.to_string(),
            limiter: Arc::new(RateLimiter::new(0.0)),
        }
    }

    /// A client for `region` from the shared configuration.
    pub fn from_sdk_config(
        sdk: &SdkConfig,
        region: &str,
        interceptors: &Interceptors,
        limits: &AccountLimits,
    ) -> ApiDomains {
        let mut conf = aws_sdk_apigateway::config::Builder::from(sdk)
            .region(aws_config::Region::new(region.to_string()));
        conf.set_interceptors(interceptors.shared());
        ApiDomains {
            client: Client::from_conf(conf.build()),
            region: region.to_string(),
            limiter: limits.consumer_region(),
        }
    }

    /// GetDomainName. A domain name the region does not have is [`DomainView::Missing`].
    pub async fn describe(&self, domain: &str) -> Result<DomainView, AwsError> {
        let Some(out) = self.get(domain).await? else {
            return Ok(DomainView::Missing);
        };
        let (certificate_arn, endpoint, region) = match out.regional_certificate_arn() {
            Some(arn) if !arn.is_empty() => (
                Some(arn.to_string()),
                ApiEndpoint::Regional,
                self.region.as_str(),
            ),
            _ => (
                out.certificate_arn()
                    .filter(|a| !a.is_empty())
                    .map(str::to_string),
                ApiEndpoint::Edge,
                CERTIFICATE_REGION,
            ),
        };
        Ok(DomainView::Present(DomainInfo {
            status: status(out.domain_name_status()),
            certificate_arn,
            api_endpoint: Some(endpoint),
            ..DomainInfo::of(domain, region)
        }))
    }

    /// GetDomainName, after the account's limiter; `None` when the region does not have it.
    async fn get(
        &self,
        domain: &str,
    ) -> Result<Option<aws_sdk_apigateway::operation::get_domain_name::GetDomainNameOutput>, AwsError>
    {
        self.limiter.acquire().await;
        match self
            .client
            .get_domain_name()
            .domain_name(domain)
            .send()
            .await
        {
            Ok(out) => Ok(Some(out)),
            Err(e) => {
                let e = AwsError::from_sdk("GetDomainName", e);
                match e.metric_label() {
                    "NotFoundException" => Ok(None),
                    _ => Err(e),
                }
            }
        }
    }

    /// UpdateDomainName: one `replace` of the certificate the domain serves
    /// (`/regionalCertificateArn` of a regional domain, `/certificateArn` of an edge-optimized
    /// one, as `current` was read), nothing else. No SDK retries: a lost answer is settled by
    /// the caller's re-read ([`crate::act`]).
    pub async fn update_certificate(
        &self,
        domain: &str,
        to: &str,
        current: &DomainInfo,
    ) -> Result<(), AwsError> {
        const OP: &str = "UpdateDomainName";
        let path = match current.api_endpoint {
            Some(ApiEndpoint::Regional) => "/regionalCertificateArn",
            _ => "/certificateArn",
        };
        let patch = PatchOperation::builder()
            .op(Op::Replace)
            .path(path)
            .value(to)
            .build();
        self.limiter.acquire().await;
        self.client
            .update_domain_name()
            .domain_name(domain)
            .patch_operations(patch)
            .customize()
            .config_override(
                aws_sdk_apigateway::config::Config::builder()
                    .retry_config(aws_config::retry::RetryConfig::disabled()),
            )
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OP, e))?;
        Ok(())
    }
}

/// `AVAILABLE` is live; `UPDATING` is on its way; `PENDING*` is being set up.
fn status(status: Option<&DomainNameStatus>) -> DomainStatus {
    match status {
        Some(DomainNameStatus::Available) => DomainStatus::Active,
        Some(DomainNameStatus::Updating) => DomainStatus::Updating,
        Some(DomainNameStatus::Pending) => DomainStatus::Creating,
        Some(other) => DomainStatus::Other(other.as_str().to_string()),
        None => DomainStatus::Other("UNKNOWN".to_string()),
    }
}

mod seen;

#[cfg(test)]
mod tests;

//! Cognito user pool domains, in the user pool's own region.

use std::collections::HashMap;
use std::sync::Arc;

use aws_config::SdkConfig;
use aws_sdk_cognitoidentityprovider::types::{
    CustomDomainConfigType, FailoverType, RoutingType, SecurityPolicyType,
};
use aws_sdk_cognitoidentityprovider::Client;

use super::limit::{AccountLimits, RateLimiter};
use super::AwsError;
use super::Interceptors;
use crate::model::{DomainInfo, DomainView, Failover, UserPool};

/// The Cognito adapter for one region.
#[derive(Debug, Clone)]
pub struct CognitoDomains {
    client: Client,
    limiter: Arc<RateLimiter>,
}

impl CognitoDomains {
    /// Wrap a client, without rate limits (tests pass a mocked one).
    pub fn new(client: Client) -> CognitoDomains {
        CognitoDomains::with_limiter(client, Arc::new(RateLimiter::new(0.0)))
    }

    /// Wrap a client whose requests wait for the rate limiter of the account's region.
    pub fn with_limiter(client: Client, limiter: Arc<RateLimiter>) -> CognitoDomains {
        CognitoDomains { client, limiter }
    }

    /// DescribeUserPoolDomain. An unknown domain is an empty description, not an error.
    pub async fn describe(&self, domain: &str) -> Result<DomainView, AwsError> {
        self.limiter.acquire().await;
        let out = self
            .client
            .describe_user_pool_domain()
            .domain(domain)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DescribeUserPoolDomain", e))?;
        let Some(d) = out.domain_description() else {
            return Ok(DomainView::Missing);
        };
        let Some(pool) = d.user_pool_id() else {
            return Ok(DomainView::Missing);
        };
        let custom = d.custom_domain_config();
        Ok(DomainView::Present(DomainInfo {
            owner: pool.to_string(),
            certificate_region: crate::model::CERTIFICATE_REGION.to_string(),
            api_endpoint: None,
            listener: None,
            status: d.status().map_or("UNKNOWN", |s| s.as_str()).into(),
            certificate_arn: custom
                .map(|c| c.certificate_arn().to_string())
                .filter(|a| !a.is_empty()),
            security_policy: custom
                .and_then(|c| c.security_policy())
                .map(|p| p.as_str().to_string()),
            managed_login_version: d.managed_login_version(),
            failover: d.routing().and_then(|r| r.failover()).map(|f| Failover {
                primary_health_check_id: f.primary_route53_health_check_id().to_string(),
                secondary_region: f.secondary_region().to_string(),
            }),
            cloudfront_distribution: d.cloud_front_distribution().map(str::to_string),
        }))
    }

    /// Every user pool ID of the region: ListUserPools, every page (60 a page, the most the
    /// API allows).
    pub async fn list_user_pools(&self) -> Result<Vec<String>, AwsError> {
        let mut ids = Vec::new();
        let mut token: Option<String> = None;
        loop {
            self.limiter.acquire().await;
            let out = self
                .client
                .list_user_pools()
                .max_results(60)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ListUserPools", e))?;
            ids.extend(
                out.user_pools()
                    .iter()
                    .filter_map(|p| p.id().map(str::to_string)),
            );
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(ids),
            }
        }
    }

    /// DescribeUserPool: its custom and prefix domains and its tags.
    pub async fn describe_user_pool(&self, id: &str) -> Result<UserPool, AwsError> {
        self.limiter.acquire().await;
        let out = self
            .client
            .describe_user_pool()
            .user_pool_id(id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DescribeUserPool", e))?;
        let pool = out.user_pool().ok_or_else(|| AwsError::Malformed {
            operation: "DescribeUserPool",
            detail: "no UserPool".to_string(),
        })?;
        let present = |d: Option<&str>| d.filter(|d| !d.is_empty()).map(str::to_string);
        Ok(UserPool {
            id: id.to_string(),
            name: pool.name().unwrap_or_default().to_string(),
            custom_domain: present(pool.custom_domain()),
            prefix_domain: present(pool.domain()),
            tags: pool
                .user_pool_tags()
                .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
        })
    }

    /// UpdateUserPoolDomain onto `certificate_arn`, changing nothing else. `CustomDomainConfig`
    /// is always sent (without it Cognito reads the call as a switch to a prefix domain), and
    /// every other setting the domain has — `ManagedLoginVersion`, the TLS `SecurityPolicy`,
    /// `Routing.Failover` — goes back exactly as read: no AWS document says an omitted field
    /// is kept (for UpdateUserPool omitted fields reset to defaults), so nothing is omitted.
    ///
    /// The SDK's automatic retries are off for this call: a write whose answer was lost may
    /// have happened, and resending it blindly makes two writes of one swap (the second may be
    /// refused while the domain is UPDATING). The caller re-reads the domain instead
    /// ([`crate::act`]).
    pub async fn update_certificate(
        &self,
        domain: &str,
        user_pool_id: &str,
        certificate_arn: &str,
        current: &DomainInfo,
    ) -> Result<(), AwsError> {
        const OP: &str = "UpdateUserPoolDomain";
        let config = CustomDomainConfigType::builder()
            .certificate_arn(certificate_arn)
            .set_security_policy(
                current
                    .security_policy
                    .as_deref()
                    .map(SecurityPolicyType::from),
            )
            .build()
            .map_err(|e| AwsError::Malformed {
                operation: OP,
                detail: e.to_string(),
            })?;
        let routing = match &current.failover {
            Some(f) => Some(
                RoutingType::builder()
                    .failover(
                        FailoverType::builder()
                            .primary_route53_health_check_id(&f.primary_health_check_id)
                            .secondary_region(&f.secondary_region)
                            .build()
                            .map_err(|e| AwsError::Malformed {
                                operation: OP,
                                detail: e.to_string(),
                            })?,
                    )
                    .build(),
            ),
            None => None,
        };
        self.limiter.acquire().await;
        self.client
            .update_user_pool_domain()
            .domain(domain)
            .user_pool_id(user_pool_id)
            .custom_domain_config(config)
            .set_managed_login_version(current.managed_login_version)
            .set_routing(routing)
            .customize()
            .config_override(
                aws_sdk_cognitoidentityprovider::config::Config::builder()
                    .retry_config(aws_config::retry::RetryConfig::disabled()),
            )
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OP, e))?;
        Ok(())
    }
}

/// One [`CognitoDomains`] per region the targets' user pools live in.
#[derive(Debug, Clone, Default)]
pub struct CognitoRegions {
    by_region: HashMap<String, CognitoDomains>,
}

impl CognitoRegions {
    /// Clients for `regions`, from the shared configuration.
    pub fn from_sdk_config<'a>(
        sdk: &SdkConfig,
        regions: impl IntoIterator<Item = &'a str>,
        interceptors: &Interceptors,
        limits: Arc<AccountLimits>,
    ) -> CognitoRegions {
        let mut by_region = HashMap::new();
        for region in regions {
            by_region.entry(region.to_string()).or_insert_with(|| {
                let mut conf = aws_sdk_cognitoidentityprovider::config::Builder::from(sdk)
                    .region(aws_config::Region::new(region.to_string()));
                conf.set_interceptors(interceptors.shared());
                let conf = conf.build();
                // Cognito quotas are per account and per region: one limiter per region.
                CognitoDomains::with_limiter(Client::from_conf(conf), limits.cognito_region())
            });
        }
        CognitoRegions { by_region }
    }

    /// Add (or replace) the adapter for a region; for tests.
    pub fn insert(&mut self, region: &str, domains: CognitoDomains) {
        self.by_region.insert(region.to_string(), domains);
    }

    /// The adapter for a region.
    pub fn region(&self, region: &str) -> Option<&CognitoDomains> {
        self.by_region.get(region)
    }
}

#[cfg(test)]
mod tests;

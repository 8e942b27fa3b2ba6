//! One set of clients per account: the default credentials, or a role assumed through STS.
//!
//! Targets that name the same role (and external ID) share one [`Account`]: one credential
//! cache, one set of rate limiters, and one ACM scan per pass.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_config::sts::AssumeRoleProvider;
use aws_config::SdkConfig;
use aws_credential_types::provider::SharedCredentialsProvider;

use super::acm::AcmRegions;
use super::apigateway::ApiDomains;
use super::cloudfront::Distributions;
use super::cognito::{CognitoDomains, CognitoRegions};
use super::consumer::{ConsumerApi, Service};
use super::limit::{AccountLimits, Rates};
use super::listener::Listeners;
use super::{AwsError, Interceptors};
use crate::config::{RoleSpec, Target};
use crate::metrics::Metrics;
use crate::model::ConsumerKind;
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;

/// The session name the rotator's assumed-role sessions carry (visible in CloudTrail).
pub const SESSION_NAME: &str = "cognito-cert-rotator";

/// Which account a target's clients belong to: `None` is the default credentials.
pub type AccountKey = Option<RoleSpec>;

/// The clients of one account.
#[derive(Debug)]
pub struct Account {
    /// For logs and metrics: the account ID, or `default`.
    pub label: String,
    /// ACM in us-east-1 and each region its targets take certificates from.
    pub acm: AcmRegions,
    /// Cognito in each region this account's targets use (sharing the account's limiter).
    pub cognito: CognitoRegions,
    /// CloudFront, when a target names a distribution.
    pub cloudfront: Option<Distributions>,
    /// API Gateway in each region a target names.
    pub api_gateway: BTreeMap<String, ApiDomains>,
    /// Elastic Load Balancing in each region a listener target is in.
    pub listeners: BTreeMap<String, Listeners>,
}

impl Account {
    /// Clients for `targets` (all of this account's), from `sdk`.
    fn for_targets(
        label: String,
        sdk: &SdkConfig,
        targets: &[&Target],
        interceptors: &Interceptors,
        limits: Arc<AccountLimits>,
    ) -> Account {
        let of_kind = |kind: ConsumerKind| {
            targets
                .iter()
                .filter(move |t| t.kind() == kind)
                .map(|t| t.region.as_str())
        };
        let api_gateway = of_kind(ConsumerKind::ApiGateway)
            .map(|r| {
                let api = ApiDomains::from_sdk_config(sdk, r, interceptors, &limits);
                (r.to_string(), api)
            })
            .collect();
        let listeners = of_kind(ConsumerKind::Listener)
            .map(|r| {
                let elb = Listeners::from_sdk_config(sdk, r, interceptors, &limits);
                (r.to_string(), elb)
            })
            .collect();
        let cloudfront = of_kind(ConsumerKind::CloudFront)
            .next()
            .map(|_| Distributions::from_sdk_config(sdk, interceptors, &limits));
        // Certificates of regional API Gateway domains and of listeners come from their own
        // region; everything else takes us-east-1's (always listed).
        let acm_regions = of_kind(ConsumerKind::ApiGateway).chain(of_kind(ConsumerKind::Listener));
        Account {
            acm: AcmRegions::from_sdk_config(sdk, acm_regions, interceptors, limits.clone()),
            cognito: CognitoRegions::from_sdk_config(
                sdk,
                of_kind(ConsumerKind::Cognito),
                interceptors,
                limits,
            ),
            cloudfront,
            api_gateway,
            listeners,
            label,
        }
    }

    /// The service adapter of `target`'s consumer, bound to it.
    pub fn consumer_api<'a>(&'a self, target: &'a Target) -> Result<ConsumerApi<'a>, AwsError> {
        let missing = |operation: &'static str, what: &str| AwsError::Malformed {
            operation,
            detail: format!("no {what} client for region {}", target.region),
        };
        let service = match target.kind() {
            ConsumerKind::Cognito => Service::Cognito(self.cognito_in(&target.region)?),
            ConsumerKind::CloudFront => Service::CloudFront(
                self.cloudfront
                    .as_ref()
                    .ok_or_else(|| missing("GetDistribution", "CloudFront"))?,
            ),
            ConsumerKind::ApiGateway => Service::ApiGateway(
                self.api_gateway
                    .get(&target.region)
                    .ok_or_else(|| missing("GetDomainName", "API Gateway"))?,
            ),
            ConsumerKind::Listener => Service::Listener(
                self.listeners
                    .get(&target.region)
                    .ok_or_else(|| missing("DescribeListenerCertificates", "load balancer"))?,
                self.acm.region(&target.region)?,
            ),
        };
        Ok(ConsumerApi::new(target, service))
    }

    /// The Cognito adapter for a user pool's region.
    pub fn cognito_in(&self, region: &str) -> Result<&CognitoDomains, AwsError> {
        self.cognito
            .region(region)
            .ok_or_else(|| AwsError::Malformed {
                operation: "DescribeUserPoolDomain",
                detail: format!("no Cognito client for region {region}"),
            })
    }
}

/// Every account the targets need.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    by_key: BTreeMap<AccountKey, Arc<Account>>,
}

pub use crate::config::model::account_label as label;

impl Accounts {
    /// Clients for every account `targets` name. Roles are assumed lazily, on the first call,
    /// with credentials cached and refreshed before they expire (aws-config's identity cache).
    pub async fn build(
        base: &SdkConfig,
        targets: &[Target],
        rates: Rates,
        metrics: &Metrics,
        guard: Option<&SharedInterceptor>,
    ) -> Accounts {
        let mut keys: BTreeMap<AccountKey, Vec<&Target>> = BTreeMap::new();
        for t in targets {
            keys.entry(t.role.clone()).or_default().push(t);
        }
        let mut by_key = BTreeMap::new();
        for (key, targets) in keys {
            let sdk = match &key {
                None => base.clone(),
                Some(role) => role_config(base, role).await,
            };
            let label = label(&key);
            let limits = Arc::new(AccountLimits::new(rates));
            let interceptors = Interceptors {
                counter: Some(metrics.interceptor(&label)),
                guard: guard.cloned(),
            };
            let account = Account::for_targets(label, &sdk, &targets, &interceptors, limits);
            by_key.insert(key, Arc::new(account));
        }
        Accounts { by_key }
    }

    /// The account for a key.
    pub fn get(&self, key: &AccountKey) -> Option<&Arc<Account>> {
        self.by_key.get(key)
    }
}

/// The shared configuration with the role's credentials: STS AssumeRole, signed with the base
/// credentials, in the base region (and endpoint).
async fn role_config(base: &SdkConfig, role: &RoleSpec) -> SdkConfig {
    let mut builder = AssumeRoleProvider::builder(role.role_arn.arn.clone())
        .session_name(SESSION_NAME)
        .configure(base);
    if let Some(id) = &role.external_id {
        builder = builder.external_id(id.clone());
    }
    let provider = builder.build().await;
    base.to_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .build()
}

//! One set of clients per account: the default credentials, or a role assumed through STS.
//!
//! Targets that name the same role (and external ID) share one [`Account`]: one credential
//! cache, one set of rate limiters, and one ACM scan per pass.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_config::sts::AssumeRoleProvider;
use aws_config::SdkConfig;
use aws_credential_types::provider::SharedCredentialsProvider;

use super::acm::Acm;
use super::cognito::{CognitoDomains, CognitoRegions};
use super::limit::{AccountLimits, Rates};
use super::{AwsError, Interceptors};
use crate::config::{RoleSpec, Target};
use crate::metrics::Metrics;
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
    /// ACM in us-east-1.
    pub acm: Acm,
    /// Cognito in each region this account's targets use (sharing the account's limiter).
    pub cognito: CognitoRegions,
}

impl Account {
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
        let mut keys: BTreeMap<AccountKey, Vec<&str>> = BTreeMap::new();
        for t in targets {
            keys.entry(t.role.clone())
                .or_default()
                .push(t.region.as_str());
        }
        let mut by_key = BTreeMap::new();
        for (key, regions) in keys {
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
            let account = Account {
                acm: Acm::from_sdk_config(&sdk, &interceptors, limits.clone()),
                cognito: CognitoRegions::from_sdk_config(&sdk, regions, &interceptors, limits),
                label,
            };
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

//! The scan behind `discover`, read-only: which accounts (the caller's own, the roles the
//! configuration names, `--account`, the AWS Organization), then every account-region side by
//! side — ListUserPools (every page), DescribeUserPool for each pool, DescribeUserPoolDomain
//! for each custom domain, and one ACM listing in us-east-1 per account for the certificates'
//! expiry — paced by the same per-account-and-region limiters as a pass.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aws_config::sts::AssumeRoleProvider;
use aws_config::SdkConfig;
use aws_credential_types::provider::SharedCredentialsProvider;
use futures_util::future::join_all;
use tracing::info;

use super::{Discovery, Found, FoundConsumer, ScopeError};
use crate::aws::cognito::{CognitoDomains, CognitoRegions};
use crate::aws::limit::{AccountLimits, Rates};
use crate::aws::{AwsError, Interceptors};
use crate::config::Config;
use crate::metrics::Metrics;
use crate::model::DomainView;

/// What to scan.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `-c FILE`: its roles' accounts are scanned, and its domains count as managed.
    pub config: Option<Config>,
    /// `--account ID`, reached through `--role-name`.
    pub accounts: Vec<String>,
    /// `--role-name NAME`: the role assumed in each account found.
    pub role_name: Option<String>,
    /// `--organization`: every ACTIVE account of the caller's AWS Organization.
    pub organization: bool,
    /// The regions to scan.
    pub regions: Vec<String>,
}

/// One account to scan: its ID, the role it is reached through, and its credentials.
struct Scope {
    account: String,
    role_arn: Option<String>,
    sdk: SdkConfig,
}

/// Scan everything `options` names; failed scopes are in the result's `errors`.
pub async fn discover(base: &SdkConfig, options: &Options, metrics: &Metrics) -> Discovery {
    let mut found = Discovery::default();
    let scopes = scopes(base, options, &mut found.errors).await;
    info!(
        accounts = scopes.len(),
        regions = options.regions.len(),
        "discovering custom domains and the consumers of certificates"
    );
    let managed: BTreeSet<String> = options
        .config
        .iter()
        .flat_map(|c| c.targets.iter().map(|t| t.domain.clone()))
        .collect();
    let rates = options.config.as_ref().map(|c| c.rates).unwrap_or_default();
    let accounts = join_all(
        scopes
            .iter()
            .map(|s| account(s, &options.regions, rates, metrics)),
    )
    .await;
    let keys =
        super::consumers::managed_keys(options.config.as_ref().map_or(&[][..], |c| &c.targets[..]));
    for scanned in accounts {
        found
            .domains
            .extend(scanned.domains.into_iter().map(|mut d| {
                d.managed = managed.contains(&d.domain);
                d
            }));
        found
            .consumers
            .extend(scanned.consumers.into_iter().map(|mut c| {
                c.managed = super::consumers::is_managed(&c, &keys);
                c
            }));
        found.errors.extend(scanned.errors);
        found.scopes_read.extend(scanned.read);
    }
    found.sort();
    found.settle_domains(managed);
    found
}

/// The accounts to scan, each once: the caller's own, then the configuration's roles, then
/// `--account`, then the Organization's.
async fn scopes(base: &SdkConfig, options: &Options, errors: &mut Vec<ScopeError>) -> Vec<Scope> {
    let mut wanted: BTreeMap<String, (String, Option<String>)> = BTreeMap::new();
    let own = match caller_account(base).await {
        Ok(id) => Some(id),
        Err(e) => {
            errors.push(ScopeError {
                account: "caller".to_string(),
                region: None,
                error: e.to_string(),
            });
            None
        }
    };
    let roles = roles(base, options, own.as_deref(), errors).await;
    if let Some(id) = &own {
        wanted.insert(id.clone(), (String::new(), None));
    }
    for (account, arn, external_id) in roles {
        wanted.entry(account).or_insert((arn, external_id));
    }
    // Each role is assumed once up front, all side by side: a role that cannot be assumed is
    // one error for the account, not one per region.
    let checked = join_all(wanted.into_iter().map(|(account, (arn, external_id))| {
        check_scope(base, own.as_deref(), account, arn, external_id)
    }))
    .await;
    let mut scopes = Vec::new();
    for c in checked {
        match c {
            Ok(scope) => scopes.push(scope),
            Err(e) => errors.push(e),
        }
    }
    scopes
}

/// The roles to scan through: the configuration's, and `role_name` in each listed (or, with
/// `organization`, every) account, as (account, role ARN, external ID).
async fn roles(
    base: &SdkConfig,
    options: &Options,
    own: Option<&str>,
    errors: &mut Vec<ScopeError>,
) -> Vec<(String, String, Option<String>)> {
    let mut roles: Vec<(String, String, Option<String>)> = Vec::new();
    if let Some(config) = &options.config {
        for role in config.targets.iter().filter_map(|t| t.role.as_ref()) {
            roles.push((
                role.role_arn.account.clone(),
                role.role_arn.arn.clone(),
                role.external_id.clone(),
            ));
        }
    }
    if let Some(name) = &options.role_name {
        let mut ids = options.accounts.clone();
        if options.organization {
            match organization_accounts(base).await {
                Ok(found) => ids.extend(found),
                Err(e) => errors.push(ScopeError {
                    account: own.unwrap_or("caller").to_string(),
                    region: None,
                    error: format!("cannot list the Organization's accounts (call discover from the management or a delegated administrator account): {e}"),
                }),
            }
        }
        for id in ids {
            roles.push((id.clone(), format!("arn:aws:iam::{id}:role/{name}"), None));
        }
    }
    roles
}

/// One account's scope: the caller's own credentials, or `arn` assumed (and checked) once.
async fn check_scope(
    base: &SdkConfig,
    own: Option<&str>,
    account: String,
    arn: String,
    external_id: Option<String>,
) -> Result<Scope, ScopeError> {
    if own == Some(account.as_str()) {
        return Ok(Scope {
            account,
            role_arn: None,
            sdk: base.clone(),
        });
    }
    let sdk = assumed(base, &arn, external_id.as_deref()).await;
    match caller_account(&sdk).await {
        Ok(_) => Ok(Scope {
            account,
            role_arn: Some(arn),
            sdk,
        }),
        Err(e) => Err(ScopeError {
            account,
            region: None,
            error: format!("cannot assume {arn}: {e}"),
        }),
    }
}

/// The account the credentials of `sdk` belong to.
async fn caller_account(sdk: &SdkConfig) -> Result<String, AwsError> {
    crate::aws::sts::Caller::new(sdk).account().await
}

/// Every ACTIVE account of the Organization.
async fn organization_accounts(base: &SdkConfig) -> Result<Vec<String>, AwsError> {
    crate::aws::organizations::Organization::new(base)
        .active_accounts()
        .await
}

/// The shared configuration with `role`'s credentials.
async fn assumed(base: &SdkConfig, role: &str, external_id: Option<&str>) -> SdkConfig {
    let mut builder = AssumeRoleProvider::builder(role)
        .session_name(crate::aws::accounts::SESSION_NAME)
        .configure(base);
    if let Some(id) = external_id {
        builder = builder.external_id(id);
    }
    let provider = builder.build().await;
    base.to_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .build()
}

/// What one account's scan found: its custom domains, the other consumers of its
/// certificates, the scopes that failed, and the account-regions read.
#[derive(Default)]
struct Scanned {
    domains: Vec<Found>,
    consumers: Vec<FoundConsumer>,
    errors: Vec<ScopeError>,
    read: Vec<(String, String)>,
}

/// Every region of one account, side by side; then the expiry of the certificates found.
async fn account(scope: &Scope, regions: &[String], rates: Rates, metrics: &Metrics) -> Scanned {
    let limits = Arc::new(AccountLimits::new(rates));
    let interceptors = Interceptors::counting(metrics.interceptor(&scope.account));
    // One client per region, each paced by its own limiter, as a pass's are.
    let cognito = CognitoRegions::from_sdk_config(
        &scope.sdk,
        regions.iter().map(String::as_str),
        &interceptors,
        limits.clone(),
    );
    let per_region = join_all(regions.iter().map(|region| {
        let cognito = cognito.region(region);
        async move {
            let domains = match cognito {
                Some(c) => region_domains(c).await,
                None => Err(AwsError::Malformed {
                    operation: "ListUserPools",
                    detail: format!("no Cognito client for region {region}"),
                }),
            };
            (region.clone(), domains)
        }
    }))
    .await;
    let mut out = Scanned::default();
    for (region, result) in per_region {
        match result {
            Ok(domains) => {
                out.read.push((scope.account.clone(), region.clone()));
                out.domains
                    .extend(domains.into_iter().map(|d| found_in(scope, &region, d)));
            }
            Err(e) => out.errors.push(ScopeError {
                account: scope.account.clone(),
                region: Some(region),
                error: e.to_string(),
            }),
        }
    }
    consumers::add(scope, regions, &interceptors, &limits, &mut out).await;
    out
}

/// A domain found in `scope`'s `region` (its expiry is added after the ACM scan).
fn found_in(scope: &Scope, region: &str, (pool, domain, arn, tags): PoolDomain) -> Found {
    Found {
        tags,
        domain,
        user_pool_id: pool,
        account: scope.account.clone(),
        region: region.to_string(),
        role_arn: scope.role_arn.clone(),
        certificate_arn: arn,
        not_after: None,
        managed: false,
    }
}

/// A custom domain found: (user pool, domain, certificate ARN, the pool's tags).
type PoolDomain = (String, String, Option<String>, BTreeMap<String, String>);

/// The custom domains of one region.
async fn region_domains(cognito: &CognitoDomains) -> Result<Vec<PoolDomain>, AwsError> {
    let mut found = Vec::new();
    for id in cognito.list_user_pools().await? {
        let pool = cognito.describe_user_pool(&id).await?;
        // Prefix-only pools (and pools without a domain) have no certificate to rotate.
        let Some(domain) = pool.custom_domain else {
            continue;
        };
        let arn = match cognito.describe(&domain).await? {
            DomainView::Present(info) => info.certificate_arn,
            DomainView::Missing => None,
        };
        found.push((id, domain, arn, pool.tags));
    }
    Ok(found)
}

mod consumers;

/// What one look of `discovery:` found.
#[derive(Debug, Clone, Default)]
pub struct Tagged {
    /// The targets of the tagged pools not listed under `domains:`.
    pub targets: Vec<crate::config::Target>,
    /// Custom domains found but neither listed nor tagged.
    pub unmanaged: Vec<Found>,
    /// Other consumers found but neither listed nor tagged.
    pub unmanaged_consumers: Vec<FoundConsumer>,
    /// Scopes that could not be read.
    pub errors: Vec<ScopeError>,
}

impl Tagged {
    /// What was found but neither listed nor tagged, for the `unmanaged_domain` gauge:
    /// (domain, account, region, kind); a consumer without a name is named by its ID.
    pub fn unmanaged_series(&self) -> impl Iterator<Item = (&str, &str, &str, &str)> {
        let domains = self.unmanaged.iter().map(|f| {
            (
                f.domain.as_str(),
                f.account.as_str(),
                f.region.as_str(),
                "cognito",
            )
        });
        let consumers = self.unmanaged_consumers.iter().map(|c| {
            (
                c.domain.as_deref().unwrap_or(&c.id),
                c.account.as_str(),
                c.region.as_str(),
                c.kind,
            )
        });
        domains.chain(consumers)
    }

    /// The same, one line each for `status` and the log: `DOMAIN (KIND, account A, REGION)`.
    pub fn unmanaged_lines(&self) -> Vec<String> {
        self.unmanaged_series()
            .map(|(domain, account, region, kind)| {
                format!("{domain} ({kind}, account {account}, {region})")
            })
            .collect()
    }
}

/// Look for the tagged user pools `config.discovery` asks for (nothing without it).
pub async fn tagged(config: &Config, sdk: &SdkConfig, metrics: &Metrics) -> Tagged {
    let Some(settings) = &config.discovery else {
        return Tagged::default();
    };
    let options = Options {
        config: Some(config.clone()),
        accounts: settings.accounts.clone(),
        role_name: settings.role_name.clone(),
        organization: settings.organization,
        regions: settings.regions.clone(),
    };
    let found = discover(sdk, &options, metrics).await;
    let listed: Vec<crate::config::Target> = config
        .targets
        .iter()
        .filter(|t| t.discovered.is_none())
        .cloned()
        .collect();
    let tagging = super::tagged(&found, settings, &listed);
    for e in &found.errors {
        tracing::warn!(
            account = %e.account,
            region = e.region.as_deref().unwrap_or("(every region)"),
            "discovery: cannot read this scope: {}",
            e.error
        );
    }
    Tagged {
        targets: tagging.targets,
        unmanaged: tagging.unmanaged,
        unmanaged_consumers: tagging.unmanaged_consumers,
        errors: found.errors,
    }
}

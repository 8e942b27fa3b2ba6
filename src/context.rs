//! [`Context`]: everything a pass needs — the validated configuration, AWS clients per
//! account, the TLS probe, the state store, metrics, hooks and the clock — built once and
//! passed in (no globals). `cli` builds it for a command; the daemon rebuilds it on SIGHUP.

use std::sync::Arc;

use crate::aws::accounts::{Account, Accounts};
use crate::aws::consumer::ConsumerApi;
use crate::clock::SharedClock;
use crate::config::{Config, StateBackend, Target};
use crate::error::{MissingClient, TargetError};
use crate::hooks::HookRunner;
use crate::lease::guard::LeaseGuard;
use crate::lease::{FenceSlot, Lease};
use crate::metrics::Metrics;
use crate::notices::deliver::Notifier;
use crate::state::{Claim, DynamoStore, FileStore, StateError, StateStore};
use crate::verify::probe::{SetupError, TlsProbe};
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;

/// Clients and configuration for passes.
#[derive(Debug, Clone)]
pub struct Context {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// Clients per account.
    pub accounts: Accounts,
    /// The TLS probe, unless `verify.tls: false`.
    pub probe: Option<TlsProbe>,
    /// Swaps in flight and their outcomes, persisted.
    pub state: Arc<StateStore>,
    /// Leadership, with DynamoDB state (`None`: the file backend, one host, always leads).
    pub lease: Option<Arc<Lease>>,
    /// Metrics (exported when `metrics.listen` is set).
    pub metrics: Metrics,
    /// Programs run after a swap, a verification and a failure.
    pub hooks: Arc<HookRunner>,
    /// Notifications (`notify:`), sent in the background.
    pub notices: Arc<Notifier>,
    /// What time it is.
    pub clock: SharedClock,
    /// With a lease and [`Work::Acting`]: the fence in front of every ACM, Cognito and SQS
    /// request (work runs under [`crate::lease::guard::under`] its epoch).
    pub guard: Option<LeaseGuard>,
}

/// What a command does with AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// `run`, `once`: with a lease, no ACM, Cognito or SQS request leaves without it.
    Acting,
    /// `plan`, `status`, a dry run: reads only, no lease needed.
    ReadOnly,
}

/// A context could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// The TLS check could not be set up (`verify.ca_file`...).
    #[error("setting up the TLS check")]
    Probe(#[from] SetupError),
    /// The state file could not be opened.
    #[error("opening the state file (set state_file: in {config} to move it)")]
    StateFile {
        /// The configuration file, for the hint.
        config: String,
        /// The store's error, shown after this message (its `source()`).
        #[source]
        source: StateError,
    },
    /// Another process acts on the same state file (or its lock cannot be taken).
    #[error(transparent)]
    Claim(StateError),
    /// The DynamoDB state table is missing, misshapen or unreachable.
    #[error(transparent)]
    StateTable(#[from] crate::aws::dynamodb::TableError),
    /// Notifications could not be set up.
    #[error(transparent)]
    Notify(#[from] crate::notices::deliver::NotifyError),
}

/// Whether a process's state writes need the lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writes<'a> {
    /// Acting commands (`run`, `once`): with DynamoDB state every write is fenced on the lease.
    Fenced,
    /// Operator commands (`forget DOMAIN...`): plain conditional writes, no lease; a damaged
    /// record of one of these domains in a state file is dropped (it is being cleared).
    Unfenced(&'a [String]),
}

fn salvage(writes: Writes<'_>) -> &[String] {
    match writes {
        Writes::Fenced => &[],
        Writes::Unfenced(domains) => domains,
    }
}

/// The right to act on the configured state: with a state file, its exclusive claim (one
/// acting process per file: `wait` for it, as the daemon does, or refuse at once, as `once`
/// does); with DynamoDB, nothing (the lease decides).
pub async fn claim_state(config: &Config, wait: bool) -> Result<Claim, ContextError> {
    let StateBackend::File(path) = &config.state else {
        return Ok(Claim::not_needed());
    };
    let claimed = if wait {
        Claim::wait(path, std::time::Duration::from_secs(1), |held| {
            tracing::warn!("{}; waiting for it to stop", crate::format::Chain(held))
        })
        .await
    } else {
        Claim::take(path)
    };
    claimed.map_err(|source| match source {
        held @ StateError::Held { .. } => ContextError::Claim(held),
        source => ContextError::StateFile {
            config: config.path.display().to_string(),
            source,
        },
    })
}

/// Open the configured state store (and, with DynamoDB and [`Writes::Fenced`], the lease).
/// A missing or misshapen table is an error naming the table and `state init`.
pub async fn open_state(
    config: &Config,
    sdk: &aws_config::SdkConfig,
    metrics: &Metrics,
    clock: &SharedClock,
    writes: Writes<'_>,
) -> Result<(StateStore, Option<Lease>), ContextError> {
    match &config.state {
        StateBackend::File(path) => {
            let (store, dropped) =
                FileStore::open_salvaging(path, salvage(writes)).map_err(|source| {
                    ContextError::StateFile {
                        config: config.path.display().to_string(),
                        source,
                    }
                })?;
            for domain in dropped {
                tracing::warn!(domain = %domain, path = %path.display(), "dropped the damaged record of {domain} (forget clears it)");
            }
            Ok((StateStore::File(store), None))
        }
        StateBackend::DynamoDb(d) => {
            let table = state_table(d, sdk, metrics);
            table.check_patiently().await?;
            match writes {
                Writes::Unfenced(_) => {
                    Ok((StateStore::Dynamo(DynamoStore::new(table, None)), None))
                }
                Writes::Fenced => {
                    let slot = Arc::new(FenceSlot::default());
                    let store = DynamoStore::new(table.clone(), Some(slot.clone()));
                    let lease = Lease::new(table, d.lease, slot, clock.clone());
                    Ok((StateStore::Dynamo(store), Some(lease)))
                }
            }
        }
    }
}

/// The state table's adapter: calls counted under `account="state"`.
pub fn state_table(
    d: &crate::config::DynamoSettings,
    sdk: &aws_config::SdkConfig,
    metrics: &Metrics,
) -> crate::aws::dynamodb::StateTable {
    crate::aws::dynamodb::StateTable::from_sdk_config(
        sdk,
        &d.table,
        d.region.as_deref(),
        Some(metrics.interceptor("state")),
    )
}

impl Context {
    /// Build the clients, probe, state store and hooks for `config`. `metrics` is reused
    /// across reloads, and so are the state store and lease of `previous` when the state
    /// backend did not change (a reload must not open a second copy of the state).
    pub async fn build(
        config: Config,
        metrics: Metrics,
        previous: Option<&Context>,
        clock: SharedClock,
        work: Work,
    ) -> Result<Context, ContextError> {
        let probe = if config.verify.tls {
            Some(TlsProbe::new(&config.verify)?)
        } else {
            None
        };
        let sdk = crate::aws::load_sdk_config().await;
        let (state, lease) = match previous {
            Some(p) if p.config.state == config.state => (p.state.clone(), p.lease.clone()),
            _ => {
                let (store, lease) =
                    open_state(&config, &sdk, &metrics, &clock, Writes::Fenced).await?;
                (Arc::new(store), lease.map(Arc::new))
            }
        };
        let notices = match (&config.notify, work) {
            (Some(settings), Work::Acting) => {
                Notifier::start(settings, &sdk, state.clone(), metrics.clone())?
            }
            _ => Notifier::off(),
        };
        let guard = match work {
            Work::Acting => lease.as_ref().map(|l| l.guard()),
            Work::ReadOnly => None,
        };
        let accounts = Accounts::build(
            &sdk,
            &config.targets,
            config.rates,
            &metrics,
            guard.clone().map(SharedInterceptor::new).as_ref(),
        )
        .await;
        Ok(Context {
            guard,
            notices: Arc::new(notices),
            accounts,
            probe,
            state,
            lease,
            hooks: Arc::new(HookRunner::new(config.hooks.clone(), Some(metrics.clone()))),
            metrics,
            config: Arc::new(config),
            clock,
        })
    }

    /// The clients of `target`'s account.
    pub fn account_for(&self, target: &Target) -> Result<&Arc<Account>, TargetError> {
        self.accounts.get(&target.role).ok_or_else(|| {
            TargetError::Setup(MissingClient::Account {
                account: crate::aws::accounts::label(&target.role),
            })
        })
    }

    /// The service adapter of `target`'s consumer (Cognito in the user pool's region,
    /// CloudFront, API Gateway in the domain's region), bound to it.
    pub fn consumer_for<'a>(&'a self, target: &'a Target) -> Result<ConsumerApi<'a>, TargetError> {
        self.account_for(target)?.consumer_api(target).map_err(|_| {
            TargetError::Setup(MissingClient::ConsumerRegion {
                kind: target.kind(),
                region: target.region.clone(),
            })
        })
    }
}

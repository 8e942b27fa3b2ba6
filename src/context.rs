//! [`Context`]: everything a pass needs — the validated configuration, AWS clients per
//! account, the TLS probe, the state store, metrics, hooks and the clock — built once and
//! passed in (no globals). `cli` builds it for a command; the daemon rebuilds it on SIGHUP.

use std::sync::Arc;

use crate::aws::accounts::{Account, Accounts};
use crate::aws::cognito::CognitoDomains;
use crate::clock::SharedClock;
use crate::config::{Config, Target};
use crate::error::TargetError;
use crate::hooks::HookRunner;
use crate::metrics::Metrics;
use crate::state::{StateError, StateStore};
use crate::verify::probe::{SetupError, TlsProbe};

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
    /// Metrics (exported when `metrics.listen` is set).
    pub metrics: Metrics,
    /// Event hooks.
    pub hooks: Arc<HookRunner>,
    /// What time it is.
    pub clock: SharedClock,
}

/// A context could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// The TLS check could not be set up (`verify.ca_file`...).
    #[error("setting up the TLS check: {0}")]
    Probe(#[from] SetupError),
    /// The state file could not be opened.
    #[error("opening the state file (set state_file: in {config} to move it): {source}")]
    State {
        /// The configuration file, for the hint.
        config: String,
        /// Why.
        #[source]
        source: StateError,
    },
}

impl Context {
    /// Build the clients, probe, state store and hooks for `config`. `metrics` is reused
    /// across reloads, and so is `state` when it is for the same file (a reload must not open
    /// a second in-memory copy of the state file).
    pub async fn build(
        config: Config,
        metrics: Metrics,
        state: Option<Arc<StateStore>>,
        clock: SharedClock,
    ) -> Result<Context, ContextError> {
        let probe = if config.verify.tls {
            Some(TlsProbe::new(&config.verify)?)
        } else {
            None
        };
        let sdk = crate::aws::load_sdk_config().await;
        let accounts = Accounts::build(&sdk, &config.targets, config.rates, &metrics).await;
        let state =
            match state {
                Some(s) if s.path() == config.state_file => s,
                _ => Arc::new(StateStore::open(&config.state_file, clock.now()).map_err(
                    |source| ContextError::State {
                        config: config.path.display().to_string(),
                        source,
                    },
                )?),
            };
        Ok(Context {
            accounts,
            probe,
            state,
            hooks: Arc::new(HookRunner::new(config.hooks.clone(), Some(metrics.clone()))),
            metrics,
            config: Arc::new(config),
            clock,
        })
    }

    /// The clients of `target`'s account.
    pub fn account_for(&self, target: &Target) -> Result<&Arc<Account>, TargetError> {
        self.accounts.get(&target.role).ok_or_else(|| {
            TargetError::Setup(format!(
                "no clients for {}",
                crate::aws::accounts::label(&target.role)
            ))
        })
    }

    /// The Cognito client for `target`'s user pool region.
    pub fn cognito_for(&self, target: &Target) -> Result<&CognitoDomains, TargetError> {
        self.account_for(target)?
            .cognito_in(&target.region)
            .map_err(|e| TargetError::Setup(e.to_string()))
    }
}

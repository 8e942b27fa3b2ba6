//! Why the daemon could not start or go on.

use crate::config::ConfigError;
use crate::context::ContextError;

/// The daemon could not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The context (TLS check, state file) could not be built.
    #[error(transparent)]
    Context(#[from] ContextError),
    /// The configuration could not be reloaded.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `metrics.listen` cannot be bound.
    #[error("metrics.listen {addr}: cannot listen")]
    Listen {
        /// The `metrics.listen` address.
        addr: std::net::SocketAddr,
        /// The I/O error, shown after this message (its `source()`).
        #[source]
        source: std::io::Error,
    },
    /// A reload changed `state:` / `state_file:`, which only a restart may change.
    #[error("state: / state_file: changed: the state backend changes only at a restart")]
    StateBackendChanged,
    /// The scheduler failed.
    #[error("the scheduler")]
    Scheduler(#[source] tokio_cron_scheduler::JobSchedulerError),
    /// The schedule could not be made a job.
    #[error("schedule \"{schedule}\"")]
    Schedule {
        /// The cron expression.
        schedule: String,
        /// Why (its `source()`).
        #[source]
        source: tokio_cron_scheduler::JobSchedulerError,
    },
    /// A signal handler could not be installed.
    #[error("installing the signal handler for {signal}")]
    Signals {
        /// The signal.
        signal: &'static str,
        /// Why (its `source()`).
        #[source]
        source: std::io::Error,
    },
}

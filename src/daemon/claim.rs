//! The daemon's claim on its state file, taken before anything else and held for its whole
//! life ([`crate::state::Claim`]): one acting process per state file.

use tokio::sync::mpsc;
use tracing::info;

use super::{Control, DaemonError};
use crate::config::Config;

/// One acting process per state file, for the daemon's whole life: a `once` already acting
/// on it is waited for; a stop request during the wait ends it (`None`).
pub(super) async fn claim_or_stop(
    config: &Config,
    control: &mut mpsc::Receiver<Control>,
) -> Result<Option<crate::state::Claim>, DaemonError> {
    tokio::select! {
        claim = crate::context::claim_state(config, true) => Ok(Some(claim?)),
        () = wait_for_shutdown(control) => {
            info!("stopped while waiting for the state file");
            Ok(None)
        }
    }
}

/// Until a shutdown request arrives (a reload is not one: there is nothing to reload yet).
async fn wait_for_shutdown(control: &mut mpsc::Receiver<Control>) {
    while let Some(msg) = control.recv().await {
        if msg == Control::Shutdown {
            return;
        }
    }
    std::future::pending::<()>().await;
}

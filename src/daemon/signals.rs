//! Signals become [`Control`] messages: SIGTERM/SIGINT ask for a shutdown, SIGHUP for a
//! reload. Installed by the CLI, so the daemon itself never touches process-wide state.

use tokio::sync::mpsc;

use super::error::DaemonError;
use super::event_loop::Control;

/// Listen for SIGTERM, SIGINT and SIGHUP.
pub fn os_signals() -> Result<mpsc::Receiver<Control>, DaemonError> {
    use tokio::signal::unix::{signal, SignalKind};
    let install = |kind: SignalKind, name: &'static str| {
        signal(kind).map_err(|source| DaemonError::Signals {
            signal: name,
            source,
        })
    };
    let mut term = install(SignalKind::terminate(), "SIGTERM")?;
    let mut int = install(SignalKind::interrupt(), "SIGINT")?;
    let mut hup = install(SignalKind::hangup(), "SIGHUP")?;
    let (tx, rx) = mpsc::channel(8);
    tokio::spawn(async move {
        loop {
            let c = tokio::select! {
                _ = term.recv() => Control::Shutdown,
                _ = int.recv() => Control::Shutdown,
                _ = hup.recv() => Control::Reload,
            };
            if tx.send(c).await.is_err() {
                return;
            }
        }
    });
    Ok(rx)
}

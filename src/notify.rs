//! systemd's sd_notify protocol: datagrams to `$NOTIFY_SOCKET`. Outside systemd (no socket)
//! every call is a silent no-op.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::Duration;

/// Talks to systemd, or to nobody.
#[derive(Debug, Default)]
pub struct Notifier {
    socket: Option<(UnixDatagram, PathBuf)>,
    watchdog: Option<Duration>,
}

impl Notifier {
    /// From `NOTIFY_SOCKET` and `WATCHDOG_USEC`.
    pub fn from_env() -> Notifier {
        let watchdog = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|v| *v > 0)
            .map(Duration::from_micros);
        match std::env::var("NOTIFY_SOCKET") {
            // Abstract sockets (leading '@') are not supported by std; systemd uses a path.
            Ok(path) if path.starts_with('/') => Notifier::to_path(PathBuf::from(path), watchdog),
            _ => Notifier {
                socket: None,
                watchdog,
            },
        }
    }

    /// Notify the socket at `path` (tests own one).
    pub fn to_path(path: PathBuf, watchdog: Option<Duration>) -> Notifier {
        Notifier {
            socket: UnixDatagram::unbound().ok().map(|s| (s, path)),
            watchdog,
        }
    }

    /// How often to send WATCHDOG=1 (half of `WATCHDOG_USEC`), when systemd asks for it.
    pub fn watchdog_interval(&self) -> Option<Duration> {
        self.watchdog.map(|w| w / 2)
    }

    fn send(&self, message: &str) {
        if let Some((socket, path)) = &self.socket {
            if let Err(e) = socket.send_to(message.as_bytes(), path) {
                tracing::debug!("sd_notify to {}: {e}", path.display());
            }
        }
    }

    /// READY=1: configuration loaded, clients built.
    pub fn ready(&self) {
        self.send("READY=1");
    }

    /// STATUS=...: one line for `systemctl status`.
    pub fn status(&self, line: &str) {
        self.send(&format!("STATUS={}", line.replace('\n', " ")));
    }

    /// WATCHDOG=1.
    pub fn watchdog(&self) {
        self.send("WATCHDOG=1");
    }

    /// RELOADING=1 (SIGHUP).
    pub fn reloading(&self) {
        self.send("RELOADING=1");
    }

    /// STOPPING=1.
    pub fn stopping(&self) {
        self.send("STOPPING=1");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_reach_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let server = UnixDatagram::bind(&path).unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let n = Notifier::to_path(path, Some(Duration::from_secs(30)));
        n.ready();
        n.status("1 domain, 0 verifying");
        n.watchdog();
        n.stopping();
        let mut buf = [0u8; 256];
        let mut got = Vec::new();
        for _ in 0..4 {
            let len = server.recv(&mut buf).unwrap();
            got.push(String::from_utf8_lossy(&buf[..len]).into_owned());
        }
        assert_eq!(
            got,
            [
                "READY=1",
                "STATUS=1 domain, 0 verifying",
                "WATCHDOG=1",
                "STOPPING=1"
            ]
        );
        assert_eq!(n.watchdog_interval(), Some(Duration::from_secs(15)));
    }

    #[test]
    fn without_a_socket_everything_is_a_no_op() {
        let n = Notifier::default();
        n.ready();
        n.status("x");
        assert_eq!(n.watchdog_interval(), None);
    }
}

//! systemd's sd_notify protocol ([`Notify`]): datagrams to `$NOTIFY_SOCKET`. Outside systemd (no socket)
//! every call is a silent no-op.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::Duration;

/// Talks to systemd, or to nobody.
#[derive(Debug, Default)]
pub struct Notify {
    socket: Option<(UnixDatagram, PathBuf)>,
    watchdog: Option<Duration>,
}

impl Notify {
    /// From `NOTIFY_SOCKET` and `WATCHDOG_USEC`.
    pub fn from_env() -> Notify {
        Notify::from_values(
            std::env::var("NOTIFY_SOCKET").ok().as_deref(),
            std::env::var("WATCHDOG_USEC").ok().as_deref(),
        )
    }

    /// From the values of `NOTIFY_SOCKET` and `WATCHDOG_USEC`, as systemd sets them.
    pub fn from_values(notify_socket: Option<&str>, watchdog_usec: Option<&str>) -> Notify {
        let watchdog = watchdog_usec
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|v| *v > 0)
            .map(Duration::from_micros);
        match notify_socket {
            // Abstract sockets (leading '@') are not supported by std; systemd uses a path.
            Some(path) if path.starts_with('/') => Notify::to_path(PathBuf::from(path), watchdog),
            _ => Notify {
                socket: None,
                watchdog,
            },
        }
    }

    /// Whether messages go anywhere (a socket path was given).
    pub fn active(&self) -> bool {
        self.socket.is_some()
    }

    /// Notify the socket at `path` (tests own one).
    pub fn to_path(path: PathBuf, watchdog: Option<Duration>) -> Notify {
        Notify {
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
        let n = Notify::to_path(path, Some(Duration::from_secs(30)));
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
    fn the_watchdog_interval_is_half_of_watchdog_usec_and_absent_when_unset_or_bad() {
        let interval = |usec: Option<&str>| Notify::from_values(None, usec).watchdog_interval();
        assert_eq!(interval(Some("30000000")), Some(Duration::from_secs(15)));
        assert_eq!(
            interval(Some(" 1000000 ")),
            Some(Duration::from_millis(500))
        );
        for absent in [None, Some("0"), Some(""), Some("ten"), Some("-5")] {
            assert_eq!(interval(absent), None, "{absent:?}");
        }
    }

    #[test]
    fn only_a_socket_path_is_used() {
        assert!(Notify::from_values(Some("/run/systemd/notify"), None).active());
        // Abstract sockets and a missing variable: every call is a no-op.
        assert!(!Notify::from_values(Some("@/org/freedesktop/systemd1/notify"), None).active());
        assert!(!Notify::from_values(None, None).active());
        let quiet = Notify::from_values(None, None);
        quiet.ready();
        quiet.status("x");
    }
}

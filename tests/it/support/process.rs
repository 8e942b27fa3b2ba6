//! Long-running binaries (daemons, `once --wait`) with their logs, and what tests ask of
//! them: polling, metrics scrapes, resumed deadlines.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::binary;

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// A running binary (daemon or long `once`) with its stderr in a log file; killed on drop.
pub struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    /// Start the binary with `args` against `endpoint`, logging to a file in `dir`.
    pub fn start(dir: &Path, args: &[&str], endpoint: &str, env: &[(&str, &str)]) -> Daemon {
        Daemon::spawn(dir, binary(args, endpoint), env)
    }

    /// [`Daemon::start`] under an open-file limit of `nofile` (soft and hard), through
    /// util-linux's `prlimit`.
    pub fn start_with_nofile(dir: &Path, args: &[&str], endpoint: &str, nofile: u32) -> Daemon {
        let mut cmd = Command::new("prlimit");
        cmd.arg(format!("--nofile={nofile}:{nofile}"))
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_cognito-cert-rotator"))
            .args(args);
        super::test_env(&mut cmd, endpoint);
        Daemon::spawn(dir, cmd, &[])
    }

    fn spawn(dir: &Path, mut cmd: Command, env: &[(&str, &str)]) -> Daemon {
        let log = dir.join(format!("daemon-{}.log", rand_suffix()));
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        Daemon {
            child: cmd.spawn().expect("start the daemon"),
            log,
        }
    }

    /// Send a signal (`-TERM`, `-KILL`...).
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig}");
    }

    /// Wait for the exit code.
    pub fn wait_exit(&mut self, within: Duration) -> i32 {
        let until = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                eprintln!("--- daemon log:\n{}", self.log());
                return status.code().unwrap_or(-1);
            }
            assert!(
                Instant::now() < until,
                "the daemon did not exit:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The exit code, if the process has ended.
    pub fn exited(&mut self) -> Option<i32> {
        self.child
            .try_wait()
            .ok()
            .flatten()
            .map(|s| s.code().unwrap_or(-1))
    }

    /// The process ID (prlimit execs the binary, so it is the binary's too).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A line of /proc/PID/status (`VmRSS`, ...) as its number (kB for sizes).
    pub fn proc_status(&self, key: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}:")))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{key} in /proc/PID/status"))
    }

    /// CPU time used so far (user + system), in clock ticks (1/100 s).
    pub fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap();
        // After the ")" closing the command name: state is field 3, utime 14, stime 15.
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = after.split_whitespace().collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    }

    /// Descriptors open now.
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// The log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// How many passes this daemon has finished (its `pass finished` lines).
    pub fn passes(&self) -> usize {
        self.log().matches(": pass finished").count()
    }
}

/// Wait until `daemons` together have finished at least `n` more passes than now: the way a
/// test shows that "nothing happened" held over real passes, not over a sleep in which no
/// pass may have run.
pub fn wait_passes(daemons: &[&Daemon], n: usize, within: Duration) {
    let count = || daemons.iter().map(|d| d.passes()).sum::<usize>();
    let start = count();
    let until = Instant::now() + within;
    while count() < start + n {
        if Instant::now() >= until {
            // What the daemons were doing instead: the last lines of each log.
            let tails: Vec<String> = daemons
                .iter()
                .map(|d| {
                    let log = d.log();
                    let lines: Vec<&str> = log.lines().collect();
                    lines[lines.len().saturating_sub(40)..].join("\n")
                })
                .collect();
            panic!(
                "timed out waiting for {n} more passes; the daemons' last lines:\n{}",
                tails.join("\n---\n")
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Poll `ok` until it holds or `within` passes (then fail with `what`).
pub fn wait_for(what: &str, within: Duration, mut ok: impl FnMut() -> bool) {
    let until = Instant::now() + within;
    while !ok() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// [`wait_for`] of an async condition (a DynamoDB record, an SQS queue).
pub async fn wait_until(what: &str, within: Duration, mut ok: impl AsyncFnMut() -> bool) {
    let until = Instant::now() + within;
    while !ok().await {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// GET `path` from 127.0.0.1:`port`: (status, body).
pub fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

/// Metric value of the first sample line starting with `prefix`.
/// The value of the first metric line starting with `prefix`.
pub fn sample(metrics: &str, prefix: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// The log shows a verification resumed with the recorded `deadline` (RFC 3339 from the state).
pub fn assert_resumed_with_deadline(log: &str, deadline: &serde_json::Value) {
    assert!(
        log.contains("resuming the verification of an earlier swap"),
        "{log}"
    );
    let shown = chrono::DateTime::parse_from_rfc3339(deadline.as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert!(
        log.contains(&format!("until={shown}")),
        "original deadline {shown}:\n{log}"
    );
}

//! A real systemd as PID 1 in a `systemd-nspawn` container over a throwaway root (the host's
//! `/usr`, read-only, with the built binary laid over it), sharing the host's loopback so the
//! emulator and the TLS edge are reachable. Driven with `nsenter … systemctl/journalctl`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Fails the test, saying what to install, unless this is root with systemd-nspawn.
pub fn require_nspawn() {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    assert!(
        root,
        "booting systemd in a container needs root (CI runs as root)"
    );
    let found = Command::new("systemd-nspawn")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "systemd-nspawn is missing: apt-get install systemd-container (.ci/run does)"
    );
}

/// What a container is booted with.
pub struct Setup {
    /// Host files bound read-only into the container: (host path, container path).
    pub binds: Vec<(PathBuf, String)>,
    /// A folder laid over `/usr` (its `bin/` holds the binary), when the binary is not
    /// installed some other way.
    pub usr_overlay: Option<PathBuf>,
    /// The root: `/` (the host's, volatile) or a debootstrapped tree (ephemeral changes).
    pub root: PathBuf,
    /// The unit systemd boots into.
    pub target: &'static str,
}

/// A booted container; powered off and reaped on drop.
pub struct Container {
    nspawn: Child,
    leader: u32,
    log: PathBuf,
}

impl Container {
    /// Boot `setup` and wait until systemd says the system is up.
    pub fn boot(setup: &Setup, scratch: &Path) -> Container {
        let machine_id = scratch.join("machine-id");
        let id = Command::new("systemd-id128").arg("new").output().unwrap();
        std::fs::write(&machine_id, &id.stdout).unwrap();
        let log = scratch.join("boot.log");
        let mut cmd = Command::new("systemd-nspawn");
        let name = format!(
            "ccr-{}",
            scratch
                .file_name()
                .map(|n| n
                    .to_string_lossy()
                    .replace(|c: char| !c.is_ascii_alphanumeric(), ""))
                .unwrap_or_default()
        );
        cmd.args(["--register=no", "--keep-unit", "--quiet"])
            .arg(format!("--machine={name}"))
            .arg(format!("--directory={}", setup.root.display()));
        if setup.root == Path::new("/") {
            cmd.arg("--volatile=yes");
        } else {
            cmd.arg("--volatile=overlay");
        }
        if let Some(usr) = &setup.usr_overlay {
            cmd.arg(format!("--overlay-ro=/usr:{}:/usr", usr.display()));
        }
        cmd.arg(format!(
            "--bind-ro={}:/etc/machine-id",
            machine_id.display()
        ));
        for (host, inside) in &setup.binds {
            cmd.arg(format!("--bind-ro={}:{inside}", host.display()));
        }
        cmd.args(["--boot", "--"])
            .arg(format!("systemd.unit={}", setup.target))
            .arg("systemd.mask=systemd-firstboot.service")
            .arg("systemd.mask=systemd-machine-id-commit.service")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::from(
                std::fs::File::create(scratch.join("boot.err")).unwrap(),
            ));
        let nspawn = cmd.spawn().expect("start systemd-nspawn");
        let started = Instant::now();
        let leader = loop {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the container did not start: {}",
                std::fs::read_to_string(scratch.join("boot.err")).unwrap_or_default()
            );
            let children = std::fs::read_to_string(format!(
                "/proc/{}/task/{}/children",
                nspawn.id(),
                nspawn.id()
            ))
            .unwrap_or_default();
            if let Some(pid) = children.split_whitespace().next() {
                break pid.parse().unwrap();
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let container = Container {
            nspawn,
            leader,
            log,
        };
        container.wait_for("systemd to be up", Duration::from_secs(60), |c| {
            let (_, state) = c.run("systemctl is-system-running");
            matches!(state.trim(), "running" | "degraded")
        });
        container
    }

    /// Run a shell command inside: (exit code, stdout and stderr).
    pub fn run(&self, command: &str) -> (i32, String) {
        let out = Command::new("nsenter")
            .args([
                "-t",
                &self.leader.to_string(),
                "-a",
                "/bin/sh",
                "-c",
                command,
            ])
            .output()
            .expect("nsenter");
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        (out.status.code().unwrap_or(-1), text)
    }

    /// `systemctl show -p PROPERTY --value UNIT`.
    pub fn show(&self, unit: &str, property: &str) -> String {
        self.run(&format!("systemctl show -p {property} --value {unit}"))
            .1
            .trim()
            .to_string()
    }

    /// The unit's journal.
    pub fn journal(&self, unit: &str) -> String {
        self.run(&format!("journalctl --no-pager -o cat -u {unit}"))
            .1
    }

    /// Poll `ok` until it holds, or fail with `what` and the boot log.
    pub fn wait_for(&self, what: &str, within: Duration, ok: impl Fn(&Container) -> bool) {
        let until = Instant::now() + within;
        while !ok(self) {
            assert!(
                Instant::now() < until,
                "timed out waiting for {what}; boot log:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = self.run("systemctl poweroff --no-block");
        let until = Instant::now() + Duration::from_secs(15);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.nspawn.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.nspawn.kill();
        let _ = self.nspawn.wait();
    }
}

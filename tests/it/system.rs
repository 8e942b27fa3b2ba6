//! The shipped systemd units, unchanged, under a real systemd (PID 1 in a `systemd-nspawn`
//! container) against the emulator and the TLS edge on the host's loopback: the daemon starts
//! only at READY=1, rotates and verifies under the full hardening, reloads, stops cleanly, and
//! its watchdog restarts it only when passes stop finishing; the once service swaps with its
//! state in its StateDirectory; the timer is scheduled.
//!
//! These need root and systemd-nspawn (`apt-get install systemd-container`): plain
//! `cargo test` lists them as ignored; `make test` runs them where their tools are (and names
//! them as skipped elsewhere), `make test-system` and CI always.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::container::{require_nspawn, Container, Setup};
use crate::support::{domain_state, world, World, DOMAIN, REGION};

const UNITS: [&str; 3] = [
    "cognito-cert-rotator.service",
    "cognito-cert-rotator-once.service",
    "cognito-cert-rotator-once.timer",
];

/// The files a host gives the units: the config, the AWS environment file and the CA, plus the
/// binary laid over `/usr/bin` as the package installs it.
fn setup(w: &World, schedule: &str, endpoint: &str, dropin: Option<&str>) -> Setup {
    let etc = w.dir.path().join("etc");
    w.unit_files(&etc, schedule, endpoint, "/etc/cognito-cert-rotator/ca.pem");
    let usr = w.dir.path().join("usr");
    std::fs::create_dir_all(usr.join("bin")).unwrap();
    std::fs::copy(
        env!("CARGO_BIN_EXE_cognito-cert-rotator"),
        usr.join("bin/cognito-cert-rotator"),
    )
    .unwrap();
    let units = Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd");
    let mut binds: Vec<(PathBuf, String)> = UNITS
        .iter()
        .map(|u| (units.join(u), format!("/etc/systemd/system/{u}")))
        .collect();
    for (file, inside) in [("config.yaml", "config.yaml"), ("aws.env", "aws.env")] {
        binds.push((
            etc.join(file),
            format!("/etc/cognito-cert-rotator/{inside}"),
        ));
    }
    binds.push((
        w.ca_file.clone(),
        "/etc/cognito-cert-rotator/ca.pem".to_string(),
    ));
    // The host's CA roots, as any installed system has them (the volatile /etc starts empty).
    binds.push((PathBuf::from("/etc/ssl"), "/etc/ssl".to_string()));
    if let Some(text) = dropin {
        let path = w.dir.path().join("test.conf");
        std::fs::write(&path, text).unwrap();
        binds.push((
            path,
            "/etc/systemd/system/cognito-cert-rotator.service.d/test.conf".to_string(),
        ));
    }
    Setup {
        binds,
        usr_overlay: Some(usr),
        root: PathBuf::from("/"),
        target: "basic.target",
    }
}

fn boot(w: &World, setup: &Setup) -> Container {
    let scratch = w.dir.path().join("container");
    std::fs::create_dir_all(&scratch).unwrap();
    Container::boot(setup, &scratch)
}

/// The state file the units share, read inside the container.
fn state(c: &Container) -> serde_json::Value {
    let (_, text) = c.run("cat /var/lib/cognito-cert-rotator/state.json");
    serde_json::from_str(&text).unwrap_or_default()
}

fn no_crash_in(journal: &str) {
    for bad in [
        "SIGSYS",
        "Bad system call",
        "core-dump",
        "code=dumped",
        "Main process exited",
    ] {
        assert!(!journal.contains(bad), "{bad} in the journal:\n{journal}");
    }
}

#[tokio::test]
#[ignore = "needs root and systemd-nspawn; `make test-system` runs it (and `make test` where its tools are)"]
async fn the_daemon_unit_rotates_and_verifies_under_its_hardening_reloads_and_stops() {
    require_nspawn();
    let w = world(&[]).await;
    let c = boot(&w, &setup(&w, "*/2 * * * * *", &w.emu.endpoint, None));
    // Type=notify: `systemctl start` returns once READY=1 was sent.
    let (code, out) = c.run("systemctl start cognito-cert-rotator.service");
    assert_eq!(code, 0, "{out}\n{}", c.journal("cognito-cert-rotator"));
    assert_eq!(c.show("cognito-cert-rotator", "ActiveState"), "active");
    assert_eq!(c.show("cognito-cert-rotator", "SubState"), "running");
    c.wait_for("the swap to verify", Duration::from_secs(60), |c| {
        state(c)["domains"][DOMAIN]["last"]["result"] == "verified"
    });
    assert_eq!(
        domain_state(&w.emu, REGION, DOMAIN).await.0.as_deref(),
        Some(w.new.arn.as_str())
    );
    let status = c.show("cognito-cert-rotator", "StatusText");
    assert!(
        status.contains("1 domains") && status.contains("next pass"),
        "{status}"
    );
    // The state lives under StateDirectory=, owned by the dynamic user the daemon runs as.
    let pid = c.show("cognito-cert-rotator", "MainPID");
    let (_, runs_as) = c.run(&format!("stat -c %u /proc/{pid}"));
    let (_, owner) = c.run("stat -c %u /var/lib/private/cognito-cert-rotator/state.json");
    assert_eq!(owner.trim(), runs_as.trim());
    assert_ne!(runs_as.trim(), "0", "the daemon runs as root");

    let (code, out) = c.run("systemctl reload cognito-cert-rotator.service");
    assert_eq!(code, 0, "{out}");
    c.wait_for("the reload", Duration::from_secs(20), |c| {
        c.journal("cognito-cert-rotator")
            .contains("configuration reloaded")
    });
    assert_eq!(c.show("cognito-cert-rotator", "ActiveState"), "active");

    let (code, out) = c.run("systemctl stop cognito-cert-rotator.service");
    assert_eq!(code, 0, "{out}");
    assert_eq!(c.show("cognito-cert-rotator", "Result"), "success");
    assert_eq!(c.show("cognito-cert-rotator", "NRestarts"), "0");
    let journal = c.journal("cognito-cert-rotator");
    eprintln!("--- journal of cognito-cert-rotator.service:\n{journal}");
    no_crash_in(&journal);
    assert!(
        journal.contains("rotated-verifying") || journal.contains("swapped the certificate"),
        "{journal}"
    );
}

#[tokio::test]
#[ignore = "needs root and systemd-nspawn; `make test-system` runs it (and `make test` where its tools are)"]
async fn the_watchdog_stays_quiet_while_passes_finish_and_restarts_a_stalled_daemon() {
    require_nspawn();
    let w = world(&[]).await;
    // A shorter watchdog than the shipped 5 min, so the test sees it act.
    let dropin = "[Service]\nWatchdogSec=3s\nRestartSec=1s\n";
    let c = boot(&w, &setup(&w, "* * * * * *", &w.emu.proxy, Some(dropin)));
    let (code, out) = c.run("systemctl start cognito-cert-rotator.service");
    assert_eq!(code, 0, "{out}");
    // Five passes (five seconds, longer than the watchdog) and no watchdog timeout.
    c.wait_for("five passes", Duration::from_secs(30), |c| {
        c.journal("cognito-cert-rotator")
            .matches(": pass finished")
            .count()
            >= 5
    });
    assert_eq!(c.show("cognito-cert-rotator", "NRestarts"), "0");
    assert!(!c
        .journal("cognito-cert-rotator")
        .contains("Watchdog timeout"));

    // Every AWS call now hangs: passes stop finishing, the watchdog is no longer fed.
    w.emu.fault(serde_json::json!({
        "operation": "*", "kind": "hang", "times": -1, "delay": 600
    }));
    c.wait_for(
        "the watchdog to restart the daemon",
        Duration::from_secs(60),
        |c| {
            c.show("cognito-cert-rotator", "NRestarts")
                .parse::<u32>()
                .unwrap_or(0)
                >= 1
        },
    );
    let system = c
        .run("journalctl --no-pager -o short-monotonic -u cognito-cert-rotator")
        .1;
    eprintln!("--- the watchdog acting:\n{system}");
    assert!(
        c.run("journalctl --no-pager -o cat")
            .1
            .contains("Watchdog timeout"),
        "{}",
        c.journal("cognito-cert-rotator")
    );
    w.emu.clear_faults();
}

#[tokio::test]
#[ignore = "needs root and systemd-nspawn; `make test-system` runs it (and `make test` where its tools are)"]
async fn the_once_service_swaps_with_its_state_in_the_daemons_folder_and_the_timer_is_due() {
    require_nspawn();
    let w = world(&[]).await;
    let c = boot(&w, &setup(&w, "* * * * * *", &w.emu.endpoint, None));
    let (code, out) = c.run("systemctl start cognito-cert-rotator-once.service");
    assert_eq!(code, 0, "{out}\n{}", c.journal("cognito-cert-rotator-once"));
    assert_eq!(c.show("cognito-cert-rotator-once", "Result"), "success");
    let journal = c.journal("cognito-cert-rotator-once");
    assert!(journal.contains("rotated-verified"), "{journal}");
    assert!(!journal.contains("ERROR"), "{journal}");
    no_crash_in(&journal);
    assert_eq!(state(&c)["domains"][DOMAIN]["last"]["result"], "verified");

    // One user and one state folder: the daemon started after it finds the swap done.
    assert_eq!(
        c.show("cognito-cert-rotator-once", "User"),
        c.show("cognito-cert-rotator", "User")
    );
    let (code, out) = c.run("systemctl start cognito-cert-rotator.service");
    assert_eq!(code, 0, "{out}");
    c.wait_for("two daemon passes", Duration::from_secs(30), |c| {
        c.journal("cognito-cert-rotator")
            .matches(": pass finished")
            .count()
            >= 2
    });
    assert_eq!(
        w.emu.count("UpdateUserPoolDomain"),
        1,
        "the daemon swapped again"
    );

    let (code, out) = c.run("systemctl start cognito-cert-rotator-once.timer");
    assert_eq!(code, 0, "{out}");
    let next = c.show("cognito-cert-rotator-once.timer", "NextElapseUSecRealtime");
    assert!(!next.is_empty() && next != "n/a", "next elapse: {next:?}");
}

//! The systemd units verify cleanly and stay hardened (exposure ≤ 1.2), the timer spreads a fleet's passes, and the binary runs
//! unprivileged. Those that need systemd-analyze, root or setpriv are `#[ignore]`d, so plain
//! `cargo test` lists them as ignored instead of passing them silently; `make test` runs them
//! where their tools are and names them as skipped elsewhere; CI (whose `.ci/run` installs
//! systemd) and `make test-system` always run them, and a missing tool fails there.

use std::path::Path;
use std::process::Command;

const UNITS: &[&str] = &[
    "cognito-cert-rotator.service",
    "cognito-cert-rotator-once.service",
    "cognito-cert-rotator-once.timer",
];

/// Fails the test, saying how to get what it needs, when `present` is false.
fn require(what: &str, present: bool, how: &str) {
    assert!(present, "{what} is missing: {how}");
}

fn require_systemd_analyze() {
    let found = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok();
    require(
        "systemd-analyze",
        found,
        "install it with `apt-get install systemd`",
    );
}

/// Copy the units to a temp dir with ExecStart pointing at the built binary, so `verify`
/// checks the real command line.
fn staged() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd");
    for unit in UNITS {
        let text = std::fs::read_to_string(src.join(unit)).unwrap().replace(
            "/usr/bin/cognito-cert-rotator",
            env!("CARGO_BIN_EXE_cognito-cert-rotator"),
        );
        std::fs::write(dir.path().join(unit), text).unwrap();
    }
    dir
}

#[test]
#[ignore = "needs systemd-analyze; `make test-system` runs it (and `make test` where its tools are)"]
fn units_verify_cleanly() {
    require_systemd_analyze();
    let dir = staged();
    let paths: Vec<_> = UNITS.iter().map(|u| dir.path().join(u)).collect();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .args(&paths)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    // Only complaints about our units count (the host's own units may be noisy).
    let ours: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("cognito-cert-rotator"))
        .collect();
    assert!(ours.is_empty(), "systemd-analyze verify:\n{text}");
}

#[test]
fn the_timer_spreads_a_fleet_over_a_randomized_delay() {
    let timer = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/cognito-cert-rotator-once.timer"),
    )
    .unwrap();
    let delay = timer
        .lines()
        .find_map(|l| l.trim().strip_prefix("RandomizedDelaySec="))
        .expect(
            "the timer sets RandomizedDelaySec=, so a fleet does not call AWS in the same second",
        );
    let delay = humantime::parse_duration(delay.trim()).unwrap();
    assert!(delay >= std::time::Duration::from_secs(60), "{delay:?}");
}

#[test]
fn the_daemon_keeps_descriptors_beyond_the_metrics_cap_and_a_memory_bound() {
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/cognito-cert-rotator.service"),
    )
    .unwrap();
    let value = |key: &str| {
        unit.lines()
            .find_map(|l| l.trim().strip_prefix(key))
            .unwrap_or_else(|| panic!("the daemon unit sets {key}"))
            .trim()
            .to_string()
    };
    let nofile: usize = value("LimitNOFILE=").parse().unwrap();
    let cap = cognito_cert_rotator::metrics::http::connection_cap(Some(nofile as u64));
    // The endpoint's share stays small: most descriptors are left for the real work.
    assert!(cap * 8 <= nofile, "cap {cap} of {nofile}");
    assert!(value("MemoryMax=").ends_with('M'), "MemoryMax in MiB");
}

#[test]
#[ignore = "needs systemd-analyze; `make test-system` runs it (and `make test` where its tools are)"]
fn services_are_hardened_to_exposure_1_2_or_less() {
    require_systemd_analyze();
    let dir = staged();
    for unit in UNITS.iter().filter(|u| u.ends_with(".service")) {
        let out = Command::new("systemd-analyze")
            .args(["security", "--offline=true"])
            .arg(dir.path().join(unit))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let level: f64 = text
            .lines()
            .find(|l| l.contains("Overall exposure level"))
            .and_then(|l| l.split(':').nth(1))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no exposure level for {unit}:\n{text}"));
        assert!(level <= 1.2, "{unit}: exposure {level} > 1.2");
    }
}

#[test]
#[ignore = "needs root and setpriv; `make test-system` runs it (and `make test` where its tools are)"]
fn the_binary_runs_unprivileged_with_its_config_from_the_environment() {
    // What the container does: a non-root user, the YAML in CCR_CONFIG_YAML.
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let has_setpriv = Command::new("setpriv").arg("--version").output().is_ok();
    require("root", is_root, "run the tests as root (CI does)");
    require(
        "setpriv",
        has_setpriv,
        "install it with `apt-get install util-linux`",
    );
    // The test binary may live under a folder nobody cannot enter; copy it somewhere open.
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("cognito-cert-rotator");
    std::fs::copy(env!("CARGO_BIN_EXE_cognito-cert-rotator"), &bin).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(&bin)
        .arg("validate")
        .env(
            "CCR_CONFIG_YAML",
            "domains:\n  - domain: auth.example.com\n    user_pool_id: us-east-1_Abc\n",
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("$CCR_CONFIG_YAML: OK"));
}

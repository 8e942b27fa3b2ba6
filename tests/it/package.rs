//! The Debian package as a new user meets it: cargo-deb builds it, lintian finds no error, it
//! holds what the README says, installs into a fresh Debian root (debootstrap) without
//! starting anything, `systemctl enable --now` starts the daemon under that root's own
//! systemd and it rotates, and a purge leaves nothing behind.
//!
//! Needs root, systemd-nspawn, debootstrap (and Debian's mirror, the first time: the root is
//! kept in target/debootstrap/), lintian and cargo-deb: `make test-system` installs cargo-deb,
//! `.ci/run` the rest. Plain `cargo test` lists it as ignored; `make test` runs it where those
//! are, and names it as skipped elsewhere.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::support::container::{require_nspawn, Container, Setup};
use crate::support::{domain_state, world, DOMAIN, REGION};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// Build the package of the test build (`make deb` packages the release build the same way,
/// compressed harder: `--fast` takes 6 s here instead of 22, for a package nobody downloads).
fn build_package(out: &Path) -> PathBuf {
    let run = Command::new("cargo")
        .args(["deb", "--no-build", "--fast", "--profile", "dev", "-o"])
        .arg(out)
        .current_dir(root())
        .output()
        .expect("cargo deb: run `make deb-tools` to install cargo-deb");
    assert!(
        run.status.success(),
        "cargo deb failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .expect("a .deb")
}

/// A minimal Debian bookworm with systemd, made once and kept under target/ by
/// scripts/debian-root.sh (which `.ci/run` starts early, in the background: this waits for
/// it).
fn debian_root() -> PathBuf {
    let run = Command::new(root().join("scripts/debian-root.sh"))
        .current_dir(root())
        .output()
        .expect("scripts/debian-root.sh");
    assert!(
        run.status.success(),
        "scripts/debian-root.sh failed (debootstrap missing? apt-get install debootstrap, as .ci/run does): {}",
        String::from_utf8_lossy(&run.stderr)
    );
    root().join(String::from_utf8_lossy(&run.stdout).trim())
}

#[tokio::test]
#[ignore = "needs root, systemd-nspawn, debootstrap, lintian and cargo-deb; `make test-system` runs it (and `make test` where its tools are)"]
async fn the_package_passes_lintian_installs_into_fresh_debian_starts_when_enabled_and_purges() {
    require_nspawn();
    let w = world(&[]).await;
    let out = w.dir.path().join("deb");
    let deb = build_package(&out);

    // What it holds.
    let listing = Command::new("dpkg-deb")
        .arg("-c")
        .arg(&deb)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout).into_owned();
    eprintln!("{listing}");
    for path in [
        "./usr/bin/cognito-cert-rotator",
        "./usr/lib/systemd/system/cognito-cert-rotator.service",
        "./usr/lib/systemd/system/cognito-cert-rotator-once.service",
        "./usr/lib/systemd/system/cognito-cert-rotator-once.timer",
        "./etc/cognito-cert-rotator/config.yaml",
        "./usr/share/doc/cognito-cert-rotator/README.md",
        "./usr/share/doc/cognito-cert-rotator/docs/troubleshooting.md",
        "./usr/share/doc/cognito-cert-rotator/iam/policy.json",
        "./usr/share/doc/cognito-cert-rotator/prometheus/alerts.yaml",
        "./usr/share/doc/cognito-cert-rotator/grafana/cognito-cert-rotator.json",
        "./usr/share/doc/cognito-cert-rotator/copyright",
    ] {
        assert!(listing.contains(path), "{path} is not in the package");
    }
    // The units start the binary where the package puts it.
    for unit in [
        "cognito-cert-rotator.service",
        "cognito-cert-rotator-once.service",
    ] {
        let text = std::fs::read_to_string(root().join("systemd").join(unit)).unwrap();
        let exec = text
            .lines()
            .find_map(|l| l.strip_prefix("ExecStart="))
            .and_then(|l| l.split_whitespace().next())
            .unwrap();
        assert!(listing.contains(&format!(".{exec}")), "{unit}: {exec}");
    }
    let conffiles = Command::new("dpkg-deb")
        .arg("-I")
        .arg(&deb)
        .arg("conffiles")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&conffiles.stdout).trim(),
        "/etc/cognito-cert-rotator/config.yaml",
        "the config is a conffile: an upgrade keeps the user's edits"
    );
    // Lintian leaves a cache file in its TMPDIR at every run: in this test's folder, it goes
    // with the folder.
    let lintian = Command::new("lintian")
        .args(["--fail-on", "error"])
        .arg(&deb)
        .env("TMPDIR", &out)
        .output()
        .expect("lintian is missing: apt-get install lintian (.ci/run does)");
    let said = String::from_utf8_lossy(&lintian.stdout);
    eprintln!("lintian:\n{said}");
    assert!(lintian.status.success(), "lintian reports errors:\n{said}");
    assert!(!said.lines().any(|l| l.starts_with("E: ")), "{said}");

    // Installed into a fresh Debian with its own systemd.
    let setup_dir = w.dir.path().join("setup");
    w.unit_files(
        &setup_dir,
        "*/2 * * * * *",
        &w.emu.endpoint,
        "/etc/ssl/ccr-test-ca.pem",
    );
    std::fs::copy(&w.ca_file, setup_dir.join("ca.pem")).unwrap();
    let setup = Setup {
        binds: vec![
            (out.clone(), "/root/pkg".to_string()),
            (setup_dir, "/root/setup".to_string()),
        ],
        usr_overlay: None,
        root: debian_root(),
        target: "multi-user.target",
    };
    let scratch = w.dir.path().join("container");
    std::fs::create_dir_all(&scratch).unwrap();
    let c = Container::boot(&setup, &scratch);
    let (code, out) = c.run("dpkg -i /root/pkg/*.deb");
    assert_eq!(code, 0, "dpkg -i: {out}");
    // Installing starts nothing: the config is still the example.
    assert_eq!(
        c.run("systemctl is-enabled cognito-cert-rotator").1.trim(),
        "disabled"
    );
    assert_eq!(
        c.run("systemctl is-active cognito-cert-rotator").1.trim(),
        "inactive"
    );
    let (code, out) = c.run(
        "cp /root/setup/config.yaml /root/setup/aws.env /etc/cognito-cert-rotator/ \
         && cp /root/setup/ca.pem /etc/ssl/ccr-test-ca.pem \
         && systemctl enable --now cognito-cert-rotator",
    );
    assert_eq!(code, 0, "enable --now: {out}");
    assert_eq!(c.show("cognito-cert-rotator", "ActiveState"), "active");
    c.wait_for("the swap to verify", Duration::from_secs(60), |c| {
        let (_, text) = c.run("cat /var/lib/cognito-cert-rotator/state.json");
        serde_json::from_str::<serde_json::Value>(&text).unwrap_or_default()["domains"][DOMAIN]
            ["last"]["result"]
            == "verified"
    });
    assert_eq!(
        domain_state(&w.emu, REGION, DOMAIN).await.0.as_deref(),
        Some(w.new.arn.as_str())
    );

    // A purge leaves nothing behind.
    let (code, out) =
        c.run("systemctl disable --now cognito-cert-rotator && dpkg --purge cognito-cert-rotator");
    assert_eq!(code, 0, "purge: {out}");
    let (_, left) = c.run(
        "ls -d /usr/bin/cognito-cert-rotator /etc/cognito-cert-rotator /var/lib/private/cognito-cert-rotator /usr/lib/systemd/system/cognito-cert-rotator.service 2>/dev/null; true",
    );
    assert_eq!(left.trim(), "", "left after purge: {left}");
}

//! The ECS task as ECS runs it: the image's ENTRYPOINT (deploy/ecs/Dockerfile) with the task
//! definition's command and environment (deploy/ecs/task-definition.json), both read from the
//! files, on a root where nothing is writable (`readonlyRootFilesystem`, no volume) in a
//! systemd-nspawn container, against the emulator with DynamoDB state. The placeholders in
//! the task's configuration (the user pool ID) are swapped for the emulator's, and the TLS check
//! is pointed at the test edge; everything else is the file's.
//!
//! Needs root and systemd-nspawn; plain `cargo test` lists it as ignored.

use std::path::Path;
use std::process::Command;

use crate::support::container::require_nspawn;
use crate::support::{domain_state, world, DOMAIN, REGION};

fn repo(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// The Dockerfile's ENTRYPOINT, an exec-form JSON array.
fn entrypoint() -> Vec<String> {
    let dockerfile = repo("deploy/ecs/Dockerfile");
    let line = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("ENTRYPOINT "))
        .expect("an ENTRYPOINT");
    serde_json::from_str(line).expect("ENTRYPOINT in exec form")
}

#[tokio::test]
#[ignore = "needs root and systemd-nspawn; `make test-system` runs it (and `make test` where its tools are)"]
async fn the_task_runs_on_a_read_only_root_rotates_verifies_and_prints_emf() {
    require_nspawn();
    let w = world(&[]).await;
    let task: serde_json::Value =
        serde_json::from_str(&repo("deploy/ecs/task-definition.json")).unwrap();
    let container = &task["containerDefinitions"][0];
    assert_eq!(container["readonlyRootFilesystem"], true);
    let command: Vec<String> = serde_json::from_value(container["command"].clone()).unwrap();
    let mut env: Vec<(String, String)> = container["environment"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // The task's configuration, with the emulator's user pool and the test edge.
    let (_, yaml) = env
        .iter_mut()
        .find(|(k, _)| k == "CCR_CONFIG_YAML")
        .unwrap();
    let pool_placeholder = yaml
        .lines()
        .find_map(|l| l.trim().strip_prefix("user_pool_id: "))
        .unwrap()
        .to_string();
    let task_yaml = yaml.replace(&pool_placeholder, &w.pool);
    *yaml = task_yaml.replace(
        "verify:\n",
        &format!(
            "verify:\n  connect_to: {}\n  ca_file: /etc/ccr/ca.pem\n",
            w.emu.edge
        ),
    );
    assert!(yaml.contains(&format!("domain: {DOMAIN}")), "{yaml}");
    // The table is made once by an operator (`state init`), as the README says.
    let init = crate::support::binary(&["state", "init"], &w.emu.endpoint)
        .env("CCR_CONFIG_YAML", task_yaml.as_str())
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );

    // The binary where the image has it; / and every other file system read-only.
    let usr = w.dir.path().join("usr");
    std::fs::create_dir_all(usr.join("bin")).unwrap();
    let entry = entrypoint();
    let inside = Path::new(&entry[0]);
    assert!(inside.starts_with("/usr/bin"), "{entry:?}");
    std::fs::copy(
        env!("CARGO_BIN_EXE_cognito-cert-rotator"),
        usr.join("bin").join(inside.file_name().unwrap()),
    )
    .unwrap();
    let mut cmd = Command::new("systemd-nspawn");
    cmd.args([
        "--register=no",
        "--keep-unit",
        "--quiet",
        "--console=pipe",
        "--directory=/",
        "--volatile=yes",
    ])
    .arg(format!("--machine=ccr-ecs-{}", std::process::id()))
    .arg(format!("--overlay-ro=/usr:{}:/usr", usr.display()))
    .arg("--bind-ro=/etc/ssl")
    .arg(format!("--bind-ro={}:/etc/ccr/ca.pem", w.ca_file.display()));
    for (k, v) in env.iter().chain(&[
        ("AWS_ENDPOINT_URL".to_string(), w.emu.endpoint.clone()),
        ("AWS_ACCESS_KEY_ID".to_string(), "test".to_string()),
        ("AWS_SECRET_ACCESS_KEY".to_string(), "test".to_string()),
        ("AWS_REGION".to_string(), "us-east-1".to_string()),
        ("AWS_EC2_METADATA_DISABLED".to_string(), "true".to_string()),
    ]) {
        cmd.arg(format!("--setenv={k}={v}"));
    }
    // Every writable file system but the kernel's is made read-only, then the task's command
    // runs as an unprivileged user, as the image's USER does.
    let remount = "for m in $(findmnt -rn -o TARGET -t tmpfs,overlay,ext4,xfs,btrfs); do \
                   case $m in /proc*|/sys*|/dev*) ;; *) mount -o remount,bind,ro $m 2>/dev/null || mount -o remount,ro $m;; esac; done; \
                   cd / && exec setpriv --reuid=65532 --regid=65532 --clear-groups \"$@\"";
    cmd.args(["--", "/bin/sh", "-c", remount, "sh"])
        .args(&entry)
        .args(&command);
    let run = cmd.output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&run.stdout).into_owned(),
        String::from_utf8_lossy(&run.stderr).into_owned(),
    );
    assert_eq!(
        run.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(stderr.contains("rotated-verified"), "{stderr}");
    assert!(!stderr.contains("Read-only file system"), "{stderr}");
    assert_eq!(
        domain_state(&w.emu, REGION, DOMAIN).await.0.as_deref(),
        Some(w.new.arn.as_str())
    );
    // EMF on stdout (one record per domain, one for the pass); JSON logs on stderr.
    let records: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|r: &serde_json::Value| r.get("_aws").is_some())
        .collect();
    assert_eq!(records.len(), 2, "{stdout}");
    assert_eq!(records[0]["Domain"], DOMAIN);
    assert_eq!(records[0]["Rotations"], 1.0);
}

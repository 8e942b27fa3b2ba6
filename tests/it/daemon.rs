//! The daemon and the state file, end to end: the real binary, the emulator, the TLS edge,
//! real signals, a real sd_notify socket and a real metrics scrape.

use crate::support;

use std::net::TcpStream;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::Duration;

use support::{
    domain_state, free_port, http_get, sample, wait_for, world, write_config, Daemon, World,
    DOMAIN, REGION,
};

impl World {
    fn config(&self, window: &str, extra: &str) -> PathBuf {
        write_config(
            self.dir.path(),
            &format!(
                "schedule: \"0 0 * * * *\"\n{extra}verify:\n  window: {window}\n  interval: 300ms\n  connect_to: {}\ndomains:\n  - domain: {DOMAIN}\n    user_pool_id: {}\n",
                self.emu.edge, self.pool
            ),
        )
    }

    fn state(&self) -> serde_json::Value {
        std::fs::read_to_string(self.dir.path().join("state.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(serde_json::Value::Null)
    }

    fn start(&self, args: &[&str], env: &[(&str, &str)]) -> Daemon {
        Daemon::start(self.dir.path(), args, &self.emu.endpoint, env)
    }
}

fn pending_phase(state: &serde_json::Value) -> Option<String> {
    state["domains"][DOMAIN]["pending"]["phase"]
        .as_str()
        .map(str::to_string)
}

#[tokio::test]
async fn daemon_rotates_notifies_systemd_serves_metrics_and_stops_cleanly() {
    let w = world(&["--edge-delay", "1"]).await;
    let port = free_port();
    let hook_out = w.dir.path().join("hook.env");
    let config = w.config(
        "30s",
        &format!(
            "metrics:\n  listen: 127.0.0.1:{port}\nhooks:\n  on_verified: [/bin/sh, -c, 'echo \"$CCR_EVENT $CCR_DOMAIN $CCR_NEW_ARN\" > {}']\n",
            hook_out.display()
        ),
    );
    let sock_path = w.dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut d = w.start(
        &["run", "--now", "-c", config.to_str().unwrap()],
        &[("NOTIFY_SOCKET", sock_path.to_str().unwrap())],
    );

    let mut messages = Vec::new();
    let mut buf = [0u8; 512];
    while !messages.iter().any(|m: &String| m.starts_with("STATUS=")) {
        let n = sock.recv(&mut buf).expect("an sd_notify message");
        messages.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert_eq!(messages[0], "READY=1");
    let status = messages.iter().find(|m| m.starts_with("STATUS=")).unwrap();
    assert!(
        status.contains("1 domains") && status.contains("next pass"),
        "{status}"
    );

    wait_for("the verification", Duration::from_secs(20), || {
        w.state()["domains"][DOMAIN]["last"]["result"] == "verified"
    });
    let (code, metrics) = http_get(port, "/metrics");
    assert_eq!(code, 200);
    assert_eq!(
        sample(
            &metrics,
            "cognito_cert_rotator_rotations_total{domain=\"auth.example.com\",result=\"verified\"}"
        ),
        Some(1.0),
        "{metrics}"
    );
    assert!(sample(&metrics, "cognito_cert_rotator_certificate_expiration_timestamp_seconds{domain=\"auth.example.com\"").unwrap() > 1.7e9);
    assert_eq!(
        sample(&metrics, "cognito_cert_rotator_verification_state{domain=\"auth.example.com\",state=\"verified\"}"),
        Some(1.0)
    );
    assert!(sample(&metrics, "cognito_cert_rotator_aws_requests_total{service=\"ACM\",operation=\"ListCertificates\",outcome=\"success\",account=\"default\"}").unwrap() >= 1.0, "{metrics}");
    assert!(sample(&metrics, "cognito_cert_rotator_last_pass_timestamp_seconds").unwrap() > 1.7e9);
    assert!(metrics.contains("cognito_cert_rotator_pass_duration_seconds_count 1"));
    assert_eq!(http_get(port, "/healthz").0, 200);

    wait_for("the on_verified hook", Duration::from_secs(10), || {
        hook_out.exists()
    });
    assert_eq!(
        std::fs::read_to_string(&hook_out).unwrap().trim(),
        format!("on_verified {DOMAIN} {}", w.new.arn)
    );

    assert!(
        d.log().contains("auth.example.com: rotated-verifying:"),
        "the pass summary must say the swap is being verified in the background:\n{}",
        d.log()
    );
    d.signal("-TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(15)), 0);
    let n = sock.recv(&mut buf).unwrap();
    let mut last = String::from_utf8_lossy(&buf[..n]).into_owned();
    while last != "STOPPING=1" {
        let n = sock.recv(&mut buf).expect("STOPPING=1");
        last = String::from_utf8_lossy(&buf[..n]).into_owned();
    }
    assert_eq!(w.emu.count("UpdateUserPoolDomain"), 1);
}

#[tokio::test]
async fn restart_after_kill_9_resumes_the_verification_with_its_deadline_and_no_second_swap() {
    // The edge takes 6 s to serve the new certificate: long enough to kill the daemon first.
    let w = world(&["--edge-delay", "6"]).await;
    let config = w.config("60s", "");
    let path = config.to_str().unwrap();
    let mut first = w.start(&["run", "--now", "-c", path], &[]);
    wait_for("the swap to be recorded", Duration::from_secs(20), || {
        pending_phase(&w.state()).as_deref() == Some("swapped")
    });
    let deadline = w.state()["domains"][DOMAIN]["pending"]["deadline"].clone();
    first.signal("-KILL");
    first.wait_exit(Duration::from_secs(10));

    let mut second = w.start(&["run", "-c", path], &[]);
    wait_for("the resumed verification", Duration::from_secs(30), || {
        w.state()["domains"][DOMAIN]["last"]["result"] == "verified"
    });
    let log = second.log();
    support::assert_resumed_with_deadline(&log, &deadline);
    assert_eq!(w.emu.count("UpdateUserPoolDomain"), 1, "no second swap");
    second.signal("-TERM");
    assert_eq!(second.wait_exit(Duration::from_secs(15)), 0);
}

/// A world whose edge never serves the new certificate, and a config that rolls back when
/// the 2 s verification fails.
async fn rollback_world() -> (World, PathBuf) {
    let w = world(&["--edge-stale"]).await;
    let config = write_config(
        w.dir.path(),
        &format!(
            "verify:\n  window: 2s\n  interval: 300ms\n  on_failure: rollback\n  connect_to: {}\ndomains:\n  - domain: {DOMAIN}\n    user_pool_id: {}\n",
            w.emu.edge, w.pool
        ),
    );
    (w, config)
}

#[tokio::test]
async fn a_rollback_killed_before_its_write_keeps_the_denylist_and_is_finished_on_restart() {
    // The edge never serves the new certificate, so verification fails and rolls back.
    let (w, config) = rollback_world().await;
    let path = config.to_str().unwrap();
    // The swap goes through; the rollback's UpdateUserPoolDomain never reaches AWS.
    w.emu.fault(serde_json::json!({
        "operation": "UpdateUserPoolDomain", "kind": "hang", "skip": 1, "times": -1, "delay": 60
    }));
    let mut first = w.start(
        &["once", "--wait", "-c", path],
        &[("AWS_ENDPOINT_URL", w.emu.proxy.as_str())],
    );
    wait_for("the rollback intent", Duration::from_secs(30), || {
        pending_phase(&w.state()).as_deref() == Some("rolling_back")
    });
    first.signal("-KILL");
    first.wait_exit(Duration::from_secs(10));
    let state = w.state();
    assert!(
        state["domains"][DOMAIN]["denylist"][&w.new.arn].is_object(),
        "the denylist entry is recorded before the rollback's write: {state}"
    );
    let on = domain_state(&w.emu, REGION, DOMAIN).await;
    assert_eq!(
        on.0.as_deref(),
        Some(w.new.arn.as_str()),
        "the rollback never happened"
    );
    assert_eq!(w.emu.count("UpdateUserPoolDomain"), 1);

    w.emu.clear_faults();
    let again = w.emu.run(&["once", "--wait", "-c", path]);
    assert!(
        again.stderr.contains("finishing an interrupted rollback"),
        "{}",
        again.stderr
    );
    let on = domain_state(&w.emu, REGION, DOMAIN).await;
    assert_eq!(on.0.as_deref(), Some(w.old.arn.as_str()), "rolled back");
    let state = w.state();
    let record = &state["domains"][DOMAIN];
    assert!(record["denylist"][&w.new.arn].is_object(), "{state}");
    assert!(record["pending"].is_null(), "{state}");
    assert_eq!(record["last"]["result"], "failed");
    assert!(
        record["last"]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("rolled back to the previous certificate")),
        "{state}"
    );
    // The same run decides afresh: the new certificate is denylisted, so no swap back to it.
    assert_eq!(again.code, 1, "the domain needs a person now");
    assert!(
        again.stderr.contains("no eligible certificate"),
        "{}",
        again.stderr
    );
    assert_eq!(
        w.emu.count("UpdateUserPoolDomain"),
        2,
        "the swap and the finished rollback, nothing more"
    );
}

#[tokio::test]
async fn a_rollback_that_may_have_happened_keeps_its_intent_and_denylist_until_a_reread() {
    let (w, config) = rollback_world().await;
    let path = config.to_str().unwrap();
    // The swap goes through; the rollback's write is applied with its answer lost, and the
    // domain cannot be re-read after it (every attempt fails).
    w.emu.fault(serde_json::json!({
        "operation": "UpdateUserPoolDomain", "kind": "lose-answer", "skip": 1, "times": 1
    }));
    w.emu.fault(serde_json::json!({
        "operation": "DescribeUserPoolDomain", "kind": "503", "times": 5,
        "after": {"operation": "UpdateUserPoolDomain", "count": 2}
    }));
    let first = w.emu.run_via_proxy(&["once", "--wait", "-c", path]);
    assert_eq!(first.code, 1, "{}", first.stderr);
    assert!(
        first.stderr.contains("the rollback may have happened"),
        "{}",
        first.stderr
    );
    let on = domain_state(&w.emu, REGION, DOMAIN).await;
    assert_eq!(on.0.as_deref(), Some(w.old.arn.as_str()), "it did happen");
    // Not recorded as failed, and the new certificate not handed back: still in flight.
    let state = w.state();
    let record = &state["domains"][DOMAIN];
    assert_eq!(
        pending_phase(&state).as_deref(),
        Some("rolling_back"),
        "{state}"
    );
    assert!(record["denylist"][&w.new.arn].is_object(), "{state}");
    assert!(record["last"].is_null(), "{state}");

    // The next run re-reads the domain and records the rollback; nothing is written again.
    w.emu.clear_faults();
    let again = w.emu.run(&["once", "-c", path]);
    assert!(
        again.stderr.contains("an interrupted rollback did happen"),
        "{}",
        again.stderr
    );
    let state = w.state();
    let record = &state["domains"][DOMAIN];
    assert!(record["pending"].is_null(), "{state}");
    assert_eq!(record["last"]["result"], "failed");
    assert!(record["denylist"][&w.new.arn].is_object(), "{state}");
    assert_eq!(
        w.emu.count("UpdateUserPoolDomain"),
        2,
        "the swap and the rollback"
    );
}

#[tokio::test]
async fn once_wait_killed_mid_wait_finishes_the_same_verification_when_started_again() {
    // How an ECS scheduled task behaves when it is stopped and started again.
    let w = world(&["--edge-delay", "5"]).await;
    let config = w.config("60s", "");
    let path = config.to_str().unwrap();
    let mut first = w.start(&["once", "--wait", "-c", path], &[]);
    wait_for("the swap to be recorded", Duration::from_secs(20), || {
        pending_phase(&w.state()).as_deref() == Some("swapped")
    });
    first.signal("-KILL");
    first.wait_exit(Duration::from_secs(10));
    let again = w.emu.run(&["once", "--wait", "-c", path]);
    assert_eq!(again.code, 0);
    assert!(
        again.stderr.contains("resuming the verification"),
        "{}",
        again.stderr
    );
    assert!(again.stderr.contains("rotated-verified"));
    assert_eq!(w.emu.count("UpdateUserPoolDomain"), 1);
}

#[tokio::test]
async fn sigterm_during_verification_exits_0_and_keeps_the_swap_in_the_state_file() {
    let w = world(&["--edge-stale"]).await;
    let config = w.config("10m", "");
    let mut d = w.start(&["run", "--now", "-c", config.to_str().unwrap()], &[]);
    wait_for("the swap to be recorded", Duration::from_secs(20), || {
        pending_phase(&w.state()).as_deref() == Some("swapped")
    });
    d.signal("-TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(15)), 0);
    assert_eq!(pending_phase(&w.state()).as_deref(), Some("swapped"));
    assert!(d.log().contains("resume at the next start"));
}

#[tokio::test]
async fn an_interrupted_intent_whose_swap_happened_is_verified_not_repeated() {
    let w = world(&[]).await;
    // The process died right after UpdateUserPoolDomain, before recording the swap.
    w.move_domain(&w.new.arn).await;
    write_intent(w.dir.path(), &w, 120);
    let config = w.config("20s", "");
    let run = w
        .emu
        .run(&["once", "--wait", "-c", config.to_str().unwrap()]);
    assert_eq!(run.code, 0);
    assert!(
        run.stderr.contains("an interrupted swap did happen"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("rotated-verified"));
    assert_eq!(
        w.emu.count("UpdateUserPoolDomain"),
        1,
        "only the interrupted one"
    );
    assert_eq!(w.state()["domains"][DOMAIN]["last"]["result"], "verified");
}

#[tokio::test]
async fn an_interrupted_intent_whose_swap_never_happened_is_decided_afresh() {
    let w = world(&[]).await;
    write_intent(w.dir.path(), &w, 120);
    let config = w.config("20s", "");
    let run = w
        .emu
        .run(&["once", "--wait", "-c", config.to_str().unwrap()]);
    assert_eq!(run.code, 0);
    assert!(run.stderr.contains("never happened"), "{}", run.stderr);
    assert!(run.stderr.contains("rotated-verified"));
    assert_eq!(w.emu.count("UpdateUserPoolDomain"), 1);
    let (arn, _) = domain_state(&w.emu, REGION, DOMAIN).await;
    assert_eq!(arn.as_deref(), Some(w.new.arn.as_str()));
}

fn write_intent(dir: &Path, w: &World, deadline_in_secs: i64) {
    let now = chrono::Utc::now();
    let state = serde_json::json!({
        "version": 1,
        "domains": { DOMAIN: { "pending": {
            "phase": "intent",
            "user_pool_id": w.pool,
            "old_arn": w.old.arn,
            "new_arn": w.new.arn,
            "new_serial": w.new.serial_hex,
            "recorded_at": now.to_rfc3339(),
            "swapped_at": null,
            "deadline": (now + chrono::Duration::seconds(deadline_in_secs)).to_rfc3339(),
        }}}
    });
    std::fs::write(dir.join("state.json"), state.to_string()).unwrap();
}

#[tokio::test]
async fn status_shows_a_table_and_exits_by_health() {
    let w = world(&["--edge-delay", "1"]).await;
    let config = w.config("20s", "");
    let path = config.to_str().unwrap();
    let before = w.emu.run(&["status", "-c", path]);
    assert_eq!(
        before.code, 1,
        "the current certificate is inside min_validity"
    );
    assert!(
        before.stdout.contains("expires within its min_validity"),
        "{}",
        before.stdout
    );
    assert!(w.emu.run(&["once", "--wait", "-c", path]).code == 0);
    let writes = w.emu.count("UpdateUserPoolDomain");
    let after = w.emu.run(&["status", "-c", path]);
    assert_eq!(after.code, 0);
    let header = after.stdout.lines().next().unwrap();
    assert!(
        header.starts_with("DOMAIN") && header.contains("DAYS") && header.contains("VERIFICATION")
    );
    assert!(after.stdout.contains(support::arn_tail(&w.new.arn)));
    assert!(after.stdout.contains("verified"));
    let json = w.emu.run(&["status", "--output", "json", "-c", path]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["targets"][0]["healthy"], true);
    assert!(v["targets"][0]["days_left"].as_i64().unwrap() >= 88);
    assert_eq!(
        w.emu.count("UpdateUserPoolDomain"),
        writes,
        "status writes nothing"
    );
}

#[tokio::test]
async fn sighup_with_a_bad_config_keeps_the_old_one_running() {
    let w = world(&[]).await;
    let port = free_port();
    let config = w.config("20s", &format!("metrics:\n  listen: 127.0.0.1:{port}\n"));
    let mut d = w.start(&["run", "-c", config.to_str().unwrap()], &[]);
    wait_for("the metrics endpoint", Duration::from_secs(20), || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    std::fs::write(&config, "domains: [nonsense\n").unwrap();
    d.signal("-HUP");
    wait_for("the reload error", Duration::from_secs(10), || {
        d.log()
            .contains("reload failed, keeping the running configuration")
    });
    assert_eq!(http_get(port, "/healthz").0, 200, "still serving");
    d.signal("-TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(15)), 0);
}

/// Through the fault proxy: retried faults show in `aws_requests_total{outcome}`, and a
/// target failing with a non-retryable error is tried again after 1, 2, 4… passes, not on
/// every tick.
#[tokio::test]
async fn faults_show_in_metrics_and_a_failing_target_backs_off() {
    let w = world(&[]).await;
    let port = free_port();
    let config = write_config(
        w.dir.path(),
        &format!(
            "schedule: \"* * * * * *\"\nmetrics:\n  listen: 127.0.0.1:{port}\nverify:\n  tls: false\ndomains:\n  - domain: {DOMAIN}\n    user_pool_id: {}\n",
            w.pool
        ),
    );
    for (op, kind) in [
        ("ListCertificates", "throttle"),
        ("ListCertificates", "503"),
        ("ListCertificates", "reset"),
    ] {
        w.emu
            .fault(serde_json::json!({"operation": op, "kind": kind, "times": 1}));
    }
    w.emu.fault(serde_json::json!({"operation": "DescribeUserPoolDomain", "kind": "notauthorized", "times": -1}));
    // Through the proxy, not straight to the emulator.
    let d = w.start(
        &["run", "-c", config.to_str().unwrap()],
        &[("AWS_ENDPOINT_URL", w.emu.proxy.as_str())],
    );
    wait_for("eight passes", Duration::from_secs(30), || {
        d.log().matches("pass finished").count() >= 8
    });
    let log = d.log();
    let attempts = w.emu.faults_injected()["notauthorized"];
    let passes = log.matches("pass finished").count() as u64;
    // Tried in passes 1, 2, 4, 8…: never more than 4 times in the first 8-10 passes.
    assert!(
        (3..=4).contains(&attempts),
        "{attempts} tries in {passes} passes:\n{log}"
    );
    assert!(
        log.contains("auth.example.com: backing-off: skipped after"),
        "{log}"
    );
    assert!(log.contains("NotAuthorizedException"), "{log}");

    let (_, metrics) = http_get(port, "/metrics");
    let outcome = |o: &str| {
        sample(
            &metrics,
            &format!("cognito_cert_rotator_aws_requests_total{{service=\"ACM\",operation=\"ListCertificates\",outcome=\"{o}\",account=\"default\"}}"),
        )
        .unwrap_or(0.0)
    };
    assert!(outcome("throttled") >= 1.0, "{metrics}");
    assert!(outcome("server_error") >= 1.0, "{metrics}");
    assert!(outcome("transport_error") >= 1.0, "{metrics}");
    assert!(outcome("success") >= 1.0, "{metrics}");
    assert!(
        sample(&metrics, "cognito_cert_rotator_aws_requests_total{service=\"Cognito Identity Provider\",operation=\"DescribeUserPoolDomain\",outcome=\"client_error\",account=\"default\"}").is_some(),
        "{metrics}"
    );
    // Each failed try is counted by its kind (the AWS error code); skipped passes are not.
    let failures = sample(
        &metrics,
        &format!("cognito_cert_rotator_target_failures_total{{domain=\"{DOMAIN}\",reason=\"NotAuthorizedException\"}}"),
    )
    .unwrap_or_else(|| panic!("no failure counter:\n{metrics}"));
    assert!((3.0..=4.0).contains(&failures), "{failures}\n{metrics}");
    let state = w.state();
    assert!(
        state["domains"][DOMAIN]["failures"].as_u64().unwrap() >= 3,
        "{state}"
    );
}

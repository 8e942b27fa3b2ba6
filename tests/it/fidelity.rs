//! Fidelity to the real API, end to end on the patched emulator: every domain setting survives
//! a swap, a write whose answer was lost is not sent twice, and the newer Cognito errors are
//! handled as the real service means them.

use crate::support;

use aws_sdk_cognitoidentityprovider::types::{
    CustomDomainConfigType, FailoverType, RoutingType, SecurityPolicyType,
};
use serde_json::json;
use support::{
    create_pool, domain_state, import, stage, world, write_config, Ca, Emulator, Imported, Leaf,
    World, DOMAIN, REGION,
};

fn config(w: &World, window: &str) -> String {
    let text = format!(
        "verify:\n  window: {window}\n  interval: 200ms\n  connect_to: {}\n  ca_file: {}\ndefaults:\n  min_validity: 30d\ndomains:\n  - domain: {DOMAIN}\n    user_pool_id: {}\n",
        w.emu.edge,
        w.ca_file.display(),
        w.pool
    );
    write_config(w.dir.path(), &text)
        .to_string_lossy()
        .into_owned()
}

/// Routing and SecurityPolicy as Cognito reports them.
async fn settings(emu: &Emulator, domain: &str) -> (Option<(String, String)>, Option<String>) {
    let out = emu
        .cognito(REGION)
        .describe_user_pool_domain()
        .domain(domain)
        .send()
        .await
        .unwrap();
    let d = out.domain_description().unwrap();
    let failover = d.routing().and_then(|r| r.failover()).map(|f| {
        (
            f.primary_route53_health_check_id().to_string(),
            f.secondary_region().to_string(),
        )
    });
    let policy = d
        .custom_domain_config()
        .and_then(|c| c.security_policy())
        .map(|p| p.as_str().to_string());
    (failover, policy)
}

#[tokio::test]
async fn a_failover_domain_keeps_routing_and_security_policy_through_a_swap() {
    let s = stage(&["--edge-delay", "1"]);
    let old = import(&s.emu, &s.ca, Leaf::new(DOMAIN, 20, 0x0a0b_0c51)).await;
    let new = import(&s.emu, &s.ca, Leaf::new(DOMAIN, 90, 0x0a0b_0c52)).await;
    let pool = create_pool(&s.emu, REGION, "multi-region").await;
    s.emu
        .cognito(REGION)
        .create_user_pool_domain()
        .user_pool_id(&pool)
        .domain(DOMAIN)
        .managed_login_version(2)
        .custom_domain_config(
            CustomDomainConfigType::builder()
                .certificate_arn(&old.arn)
                .security_policy(SecurityPolicyType::from("TLS_V1_3_2025"))
                .build()
                .unwrap(),
        )
        .routing(
            RoutingType::builder()
                .failover(
                    FailoverType::builder()
                        .primary_route53_health_check_id("hc-0123456789")
                        .secondary_region("eu-west-1")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let before = settings(&s.emu, DOMAIN).await;
    assert_eq!(
        before,
        (
            Some(("hc-0123456789".into(), "eu-west-1".into())),
            Some("TLS_V1_3_2025".into())
        ),
        "the emulator must store what the domain was created with"
    );
    let w = s.world(old, new, pool);
    let run = w.emu.run(&["once", "--wait", "-c", &config(&w, "20s")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("rotated-verified"), "{}", run.stderr);
    let (arn, version) = domain_state(&w.emu, REGION, DOMAIN).await;
    assert_eq!(arn.as_deref(), Some(w.new.arn.as_str()));
    assert_eq!(version, Some(2));
    assert_eq!(settings(&w.emu, DOMAIN).await, before, "a setting was lost");
    assert!(
        !run.stderr.contains("changed a domain setting"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn a_write_whose_answer_was_lost_is_made_once_and_verified() {
    let w = world(&["--edge-delay", "1"]).await;
    // The first UpdateUserPoolDomain reaches Cognito and is applied; its answer never
    // comes back (connection reset after the request was sent).
    w.emu
        .fault(json!({"operation": "UpdateUserPoolDomain", "kind": "lose-answer", "times": 1}));
    let run = w
        .emu
        .run_via_proxy(&["once", "--wait", "-c", &config(&w, "20s")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("rotated-verified"), "{}", run.stderr);
    assert!(
        run.stderr.contains("already points at the new certificate"),
        "{}",
        run.stderr
    );
    assert_eq!(w.emu.faults_injected().get("lose-answer"), Some(&1));
    assert_eq!(
        w.emu.count("UpdateUserPoolDomain"),
        1,
        "exactly one write reached Cognito for one swap"
    );
    let (arn, _) = domain_state(&w.emu, REGION, DOMAIN).await;
    assert_eq!(arn.as_deref(), Some(w.new.arn.as_str()));
}

#[tokio::test]
async fn a_write_that_may_have_happened_is_settled_by_the_next_pass_not_forgotten() {
    let w = world(&["--edge-delay", "1"]).await;
    // The write is applied and its answer lost; then the domain cannot be re-read (every
    // attempt of the re-read fails): whether the swap happened is unknown.
    w.emu
        .fault(json!({"operation": "UpdateUserPoolDomain", "kind": "lose-answer", "times": 1}));
    w.emu.fault(
        json!({"operation": "DescribeUserPoolDomain", "kind": "503", "skip": 2, "times": 5}),
    );
    let hooks = w.dir.path().join("hooks.log");
    let hook = |event: &str| {
        format!(
            "[/bin/sh, -c, 'echo \"{event} $CCR_EVENT_ID\" >> {}']",
            hooks.display()
        )
    };
    let config = write_config(
        w.dir.path(),
        &format!(
            "schedule: \"* * * * * *\"\nhooks:\n  on_rotate: {}\n  on_verified: {}\nverify:\n  window: 30s\n  interval: 200ms\n  connect_to: {}\n  ca_file: {}\ndomains:\n  - domain: {DOMAIN}\n    user_pool_id: {}\n",
            hook("rotate"),
            hook("verified"),
            w.emu.edge,
            w.ca_file.display(),
            w.pool
        ),
    );
    let mut d = support::Daemon::start(
        w.dir.path(),
        &["run", "--now", "-c", config.to_str().unwrap()],
        &w.emu.proxy,
        &[],
    );
    let state = || -> serde_json::Value {
        std::fs::read_to_string(w.dir.path().join("state.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    };
    support::wait_for(
        "the swap settled and verified",
        std::time::Duration::from_secs(30),
        || state()["domains"][DOMAIN]["last"]["result"] == "verified",
    );
    d.signal("-TERM");
    assert_eq!(d.wait_exit(std::time::Duration::from_secs(20)), 0);
    let log = d.log();
    assert!(log.contains("cannot be re-read"), "{log}");
    assert!(log.contains("its intent stays"), "{log}");
    assert!(log.contains("an interrupted swap did happen"), "{log}");
    assert_eq!(
        w.emu.count("UpdateUserPoolDomain"),
        1,
        "one write reached Cognito"
    );
    let (arn, _) = domain_state(&w.emu, REGION, DOMAIN).await;
    assert_eq!(arn.as_deref(), Some(w.new.arn.as_str()));
    // Announced once each, like any swap.
    let fired = std::fs::read_to_string(&hooks).unwrap();
    let events: Vec<&str> = fired
        .lines()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(events, ["rotate", "verified"], "{fired}");
}

#[tokio::test]
async fn a_lost_answer_of_a_write_that_did_not_happen_is_sent_again() {
    let w = world(&["--edge-delay", "1"]).await;
    // Reset before forwarding: this write never reached Cognito, so it is sent again.
    w.emu
        .fault(json!({"operation": "UpdateUserPoolDomain", "kind": "reset", "times": 1}));
    let run = w
        .emu
        .run_via_proxy(&["once", "--wait", "-c", &config(&w, "20s")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("rotated-verified"), "{}", run.stderr);
    assert_eq!(w.emu.count("UpdateUserPoolDomain"), 1);
}

#[tokio::test]
async fn a_concurrent_modification_defers_the_swap_to_the_next_pass() {
    let w = world(&[]).await;
    let config = config(&w, "10s");
    w.emu.fault(
        json!({"operation": "UpdateUserPoolDomain", "kind": "concurrentmodification", "times": 1}),
    );
    let run = w.emu.run_via_proxy(&["once", "--wait", "-c", &config]);
    assert_eq!(run.code, 0, "not a failure: {}", run.stderr);
    assert!(
        run.stderr.contains(&format!("{DOMAIN}: deferred")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("someone else is changing the domain"));
    let (arn, _) = domain_state(&w.emu, REGION, DOMAIN).await;
    assert_eq!(arn.as_deref(), Some(w.old.arn.as_str()));
    // The next pass reads the domain again and swaps.
    let again = w.emu.run_via_proxy(&["once", "--wait", "-c", &config]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stderr.contains("rotated-verified"),
        "{}",
        again.stderr
    );
}

#[tokio::test]
async fn a_secondary_replica_region_is_a_clear_error() {
    let w = world(&[]).await;
    w.emu.fault(
        json!({"operation": "UpdateUserPoolDomain", "kind": "operationnotenabled", "times": -1}),
    );
    let run = w
        .emu
        .run_via_proxy(&["once", "--wait", "-c", &config(&w, "10s")]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("manage the domain from the user pool's primary region"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("OperationNotEnabledException"));
    // A final answer: sent once, not retried.
    assert_eq!(w.emu.faults_injected().get("operationnotenabled"), Some(&1));
}

/// A domain on its best certificate (90 days), so nothing is swapped; the state and hook
/// output live in the test's folder.
async fn renewal_world(flags: &[&str]) -> (World, String) {
    let s = stage(flags);
    let current = import(&s.emu, &s.ca, Leaf::new(DOMAIN, 90, 0x0a0b_0d01)).await;
    let pool = support::pool_with_domain(&s.emu, REGION, DOMAIN, &current.arn, 2).await;
    let hook_out = s.dir.path().join("hook.env");
    let old = Imported {
        arn: current.arn.clone(),
        serial_hex: current.serial_hex.clone(),
    };
    let w = s.world(old, current, pool);
    let text = format!(
        "verify:\n  window: {{WINDOW}}\n  interval: 200ms\n  connect_to: {}\n  ca_file: {}\n  on_failure: rollback\nhooks:\n  on_verified: [\"/bin/sh\", \"-c\", \"env | grep ^CCR_ > {out}\"]\n  on_failure: [\"/bin/sh\", \"-c\", \"env | grep ^CCR_ > {out}\"]\ndomains:\n  - domain: {DOMAIN}\n    user_pool_id: {}\n",
        w.emu.edge,
        w.ca_file.display(),
        w.pool,
        out = hook_out.display()
    );
    (w, text)
}

fn with_window(w: &World, text: &str, window: &str) -> String {
    write_config(w.dir.path(), &text.replace("{WINDOW}", window))
        .to_string_lossy()
        .into_owned()
}

fn state_of(w: &World) -> serde_json::Value {
    let text = std::fs::read_to_string(w.dir.path().join("state.json")).unwrap();
    serde_json::from_str::<serde_json::Value>(&text).unwrap()["domains"][DOMAIN].clone()
}

#[tokio::test]
async fn a_reimport_into_the_same_arn_is_verified_at_the_edge_without_a_write() {
    let (w, text) = renewal_world(&["--edge-delay", "2"]).await;
    let config = with_window(&w, &text, "20s");
    // The first pass keeps the domain and remembers the certificate's version.
    let first = w.emu.run(&["once", "--wait", "-c", &config]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first.stderr.contains(&format!("{DOMAIN}: kept")),
        "{}",
        first.stderr
    );
    assert_eq!(state_of(&w)["seen"]["arn"], w.new.arn.as_str());

    // Renewed by re-import: same ARN, new serial and expiry.
    let renewed = support::reimport(
        &w.emu,
        &w.ca,
        &w.new.arn,
        Leaf::new(DOMAIN, 180, 0x0a0b_0d02),
    )
    .await;
    assert_eq!(renewed.arn, w.new.arn);
    let run = w.emu.run(&["once", "--wait", "-c", &config]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("renewed in place"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("{DOMAIN}: renewed-verified")),
        "{}",
        run.stderr
    );
    // The edge served the old material first (CloudFront picking the renewal up).
    assert!(
        run.stderr.contains(&format!(
            "serves serial {}, want {}",
            w.old.serial_hex, renewed.serial_hex
        )),
        "{}",
        run.stderr
    );
    assert_eq!(
        w.emu.count("UpdateUserPoolDomain"),
        0,
        "a renewal makes no write"
    );
    let record = state_of(&w);
    assert_eq!(record["last"]["result"], "verified");
    assert_eq!(record["last"]["renewal"], true);
    let hook = std::fs::read_to_string(w.dir.path().join("hook.env")).unwrap();
    assert!(hook.contains("CCR_EVENT=renewal_verified"), "{hook}");
    assert!(hook.contains("CCR_KIND=renewal"), "{hook}");

    // Nothing changed since: the next pass keeps it without verifying again.
    let again = w.emu.run(&["once", "--wait", "-c", &config]);
    assert_eq!(again.code, 0);
    assert!(
        again.stderr.contains(&format!("{DOMAIN}: kept")),
        "{}",
        again.stderr
    );
}

#[tokio::test]
async fn a_stale_edge_after_a_reimport_fails_and_is_not_rolled_back() {
    let (w, text) = renewal_world(&["--edge-stale"]).await;
    let config = with_window(&w, &text, "2s");
    assert_eq!(w.emu.run(&["once", "--wait", "-c", &config]).code, 0);
    let renewed = support::reimport(
        &w.emu,
        &w.ca,
        &w.new.arn,
        Leaf::new(DOMAIN, 180, 0x0a0b_0d03),
    )
    .await;
    let run = w.emu.run(&["once", "--wait", "-c", &config]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("{DOMAIN}: renewed-verification-failed")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(&format!(
        "serves serial {}, want {}",
        w.old.serial_hex, renewed.serial_hex
    )));
    assert!(
        run.stderr.contains("ACM keeps no previous version"),
        "{}",
        run.stderr
    );
    assert_eq!(w.emu.count("UpdateUserPoolDomain"), 0);
    assert_eq!(state_of(&w)["last"]["result"], "failed");
    let hook = std::fs::read_to_string(w.dir.path().join("hook.env")).unwrap();
    assert!(hook.contains("CCR_EVENT=renewal_failure"), "{hook}");
}

#[tokio::test]
async fn a_managed_renewal_pending_validation_shows_in_plan_and_status() {
    let emu = Emulator::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new();
    // 40 days left: inside ACM's 60-day renewal window, still the best certificate.
    let current = import(&emu, &ca, Leaf::new(DOMAIN, 40, 0x0a0b_0e01)).await;
    let pool = support::pool_with_domain(&emu, REGION, DOMAIN, &current.arn, 2).await;
    emu.mark_renewal(
        &current.arn,
        "PENDING_VALIDATION",
        "DOMAIN_VALIDATION_DENIED",
    );
    let config = write_config(
        dir.path(),
        &format!(
            "verify:\n  connect_to: {}\ndefaults:\n  min_validity: 30d\ndomains:\n  - domain: {DOMAIN}\n    user_pool_id: {pool}\n",
            emu.edge
        ),
    );
    let config = config.to_str().unwrap();
    let plan = emu.run(&["plan", "--output", "json", "-c", config]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let report: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let renewal = &report["targets"][0]["managed_renewal"];
    assert_eq!(renewal["status"], "PENDING_VALIDATION");
    assert_eq!(renewal["reason"], "DOMAIN_VALIDATION_DENIED");
    assert_eq!(renewal["action_required"], true);
    assert!(
        plan.stderr.contains("will not renew on its own"),
        "{}",
        plan.stderr
    );
    // Read only where it matters: the one certificate in its renewal window, once.
    assert_eq!(emu.count("DescribeCertificate"), 1);

    let text = emu.run(&["plan", "-c", config]);
    assert!(
        text.stdout.contains("renewal:   ACTION NEEDED: ACM's managed renewal is PENDING_VALIDATION (DOMAIN_VALIDATION_DENIED)"),
        "{}",
        text.stdout
    );
    let status = emu.run(&["status", "-c", config]);
    assert_eq!(
        status.code, 1,
        "a stuck renewal needs a person: {}",
        status.stdout
    );
    assert!(
        status
            .stdout
            .contains("PENDING_VALIDATION (DOMAIN_VALIDATION_DENIED)"),
        "{}",
        status.stdout
    );

    // Once ACM renews it, the warning is gone.
    emu.mark_renewal(&current.arn, "PENDING_AUTO_RENEWAL", "");
    let calm = emu.run(&["status", "-c", config]);
    assert_eq!(calm.code, 0, "{}", calm.stdout);
}

#[tokio::test]
async fn the_daemon_exports_what_the_edge_serves_and_drift_when_a_renewal_is_not_picked_up() {
    use std::time::Duration;
    use support::{free_port, http_get, sample, wait_for, Daemon};
    let (w, text) = renewal_world(&["--edge-stale"]).await;
    let port = free_port();
    let text = format!(
        "schedule: \"* * * * * *\"\nmetrics:\n  listen: 127.0.0.1:{port}\n{}",
        text.replace("{WINDOW}", "2s")
    );
    let config = write_config(w.dir.path(), &text);
    let mut d = Daemon::start(
        w.dir.path(),
        &["run", "--now", "-c", config.to_str().unwrap()],
        &w.emu.endpoint,
        &[],
    );
    wait_for("the metrics endpoint", Duration::from_secs(20), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let metric = |name: &str| {
        let (_, body) = http_get(port, "/metrics");
        sample(
            &body,
            &format!("cognito_cert_rotator_{name}{{domain=\"{DOMAIN}\"}}"),
        )
    };
    wait_for("the edge to match", Duration::from_secs(20), || {
        metric("edge_matches_current") == Some(1.0)
    });
    assert_eq!(metric("edge_probe_success"), Some(1.0));
    let expiry = metric("edge_certificate_expiration_timestamp_seconds").expect("served expiry");
    let in_days = (expiry - chrono::Utc::now().timestamp() as f64) / 86_400.0;
    assert!((88.0..=91.0).contains(&in_days), "{in_days}");
    // Steady passes read the current certificate's serial once, then from the cache.
    let described = w.emu.count("DescribeCertificate");
    support::wait_passes(&[&d], 2, Duration::from_secs(20));
    assert_eq!(w.emu.count("DescribeCertificate"), described, "{}", d.log());

    // Renewed in place, but the edge (CloudFront) never picks it up.
    support::reimport(
        &w.emu,
        &w.ca,
        &w.new.arn,
        Leaf::new(DOMAIN, 180, 0x0a0b_0d09),
    )
    .await;
    wait_for(
        "the renewal verification to fail",
        Duration::from_secs(30),
        || state_of(&w)["last"]["result"] == "failed",
    );
    wait_for("the drift gauge", Duration::from_secs(20), || {
        metric("edge_matches_current") == Some(0.0)
    });
    assert_eq!(metric("edge_probe_success"), Some(1.0));
    let (_, body) = http_get(port, "/metrics");
    assert_eq!(
        sample(
            &body,
            &format!(
                "cognito_cert_rotator_renewals_total{{domain=\"{DOMAIN}\",result=\"failed\"}}"
            )
        ),
        Some(1.0),
        "{body}"
    );
    assert_eq!(w.emu.count("UpdateUserPoolDomain"), 0);
    let status = w.emu.run(&["status", "-c", config.to_str().unwrap()]);
    assert!(
        status
            .stdout
            .contains("NOT the current certificate (drift)"),
        "{}",
        status.stdout
    );
    d.signal("-TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(20)), 0);
}

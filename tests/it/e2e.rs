//! End to end: the real binary against the patched emulator and the local TLS edge.

use crate::support;

use support::{
    domain_state, import, pool_with_domain, world, write_config, Ca, Emulator, Leaf, World, DOMAIN,
    REGION,
};

impl World {
    fn once_config(&self, window: &str, ca: bool) -> String {
        let ca_line = if ca {
            format!("  ca_file: {}\n", self.ca_file.display())
        } else {
            String::new()
        };
        let text = format!(
            "verify:\n  window: {window}\n  interval: 300ms\n  connect_to: {}\n{ca_line}defaults:\n  min_validity: 30d\ndomains:\n  - domain: {DOMAIN}\n    user_pool_id: {}\n",
            self.emu.edge, self.pool
        );
        write_config(self.dir.path(), &text)
            .to_string_lossy()
            .into_owned()
    }
}

#[tokio::test]
async fn rotates_verifies_and_a_second_run_makes_no_write() {
    let w = world(&["--edge-delay", "2", "--updating-seconds", "1"]).await;
    let config = w.once_config("30s", true);

    let run = w.emu.run(&["once", "--wait", "-c", &config]);
    assert_eq!(run.code, 0);
    assert!(
        run.stderr.contains("auth.example.com: rotated-verified"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("chain trusted"));
    // Progress was reported while the edge still served the old certificate.
    assert!(run
        .stderr
        .contains(&format!("serves serial {}", w.old.serial_hex)));
    assert_eq!(w.emu.count("UpdateUserPoolDomain"), 1);

    let (arn, version) = domain_state(&w.emu, REGION, DOMAIN).await;
    assert_eq!(arn.as_deref(), Some(w.new.arn.as_str()));
    assert_eq!(
        version,
        Some(2),
        "ManagedLoginVersion must be passed back unchanged"
    );

    let again = w.emu.run(&["once", "--wait", "-c", &config]);
    assert_eq!(again.code, 0);
    assert!(
        again.stderr.contains("auth.example.com: kept"),
        "{}",
        again.stderr
    );
    assert_eq!(
        w.emu.count("UpdateUserPoolDomain"),
        1,
        "second pass must not write"
    );
}

#[tokio::test]
async fn plan_and_dry_run_write_nothing_and_explain_rejections() {
    let w = world(&[]).await;
    let ca = Ca::new();
    let p384 = import(
        &w.emu,
        &ca,
        Leaf {
            alg: &rcgen::PKCS_ECDSA_P384_SHA384,
            ..Leaf::new(DOMAIN, 120, 0x0a0b_0c03)
        },
    )
    .await;
    let config = w.once_config("10s", true);

    let run = w.emu.run(&["plan", "--output", "json", "-c", &config]);
    assert_eq!(run.code, 0);
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).expect("plan JSON");
    let t = &plan["targets"][0];
    assert_eq!(t["domain"], DOMAIN);
    assert_eq!(t["user_pool_id"], w.pool.as_str());
    assert_eq!(t["action"], "rotate");
    assert_eq!(t["current_certificate_arn"], w.old.arn.as_str());
    assert_eq!(t["candidate_certificate_arn"], w.new.arn.as_str());
    assert!(t["current_not_after"].as_str().unwrap().ends_with('Z'));
    assert!(t["candidate_not_after"].as_str().unwrap().ends_with('Z'));
    let rejected = t["rejected"].as_array().unwrap();
    let reason_for = |arn: &str| {
        rejected
            .iter()
            .find(|r| r["certificate_arn"] == arn)
            .map(|r| r["reason"].as_str().unwrap().to_string())
            .unwrap_or_default()
    };
    assert!(reason_for(&w.old.arn).contains("less than the required 30d"));
    assert!(reason_for(&p384.arn).contains("EC_secp384r1"));

    let dry = w.emu.run(&["once", "--dry-run", "--wait", "-c", &config]);
    assert_eq!(dry.code, 0);
    assert!(dry.stderr.contains("would-rotate"));

    let text = w.emu.run(&["plan", "-c", &config]);
    assert!(text.stdout.contains("action:    ROTATE"), "{}", text.stdout);

    assert_eq!(w.emu.count("UpdateUserPoolDomain"), 0);
    // One scan per pass, whatever the number of targets.
    assert_eq!(w.emu.count("ListCertificates"), 3);
    // Nothing is swapped, so no serial is read: plan and dry run stay at the floor.
    assert_eq!(w.emu.count("DescribeCertificate"), 0);
    let (arn, _) = domain_state(&w.emu, REGION, DOMAIN).await;
    assert_eq!(arn.as_deref(), Some(w.old.arn.as_str()));
}

#[tokio::test]
async fn one_scan_serves_every_target_and_follows_short_pages() {
    // Pages of 2: the best certificate for the second domain is on the last page.
    let emu = Emulator::start(&["--acm-page-size", "2"]);
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new();
    let a_old = import(&emu, &ca, Leaf::new("a.example.com", 10, 1)).await;
    let a_new = import(&emu, &ca, Leaf::new("a.example.com", 80, 2)).await;
    let b_old = import(&emu, &ca, Leaf::new("b.example.com", 10, 3)).await;
    let _other = import(&emu, &ca, Leaf::new("c.example.org", 300, 4)).await;
    let b_new = import(&emu, &ca, Leaf::new("*.example.com", 70, 5)).await;
    let pool_a = pool_with_domain(&emu, "us-east-1", "a.example.com", &a_old.arn, 1).await;
    let pool_b = pool_with_domain(&emu, "eu-west-1", "b.example.com", &b_old.arn, 1).await;
    let config = write_config(
        dir.path(),
        &format!(
            "domains:\n  - domain: a.example.com\n    user_pool_id: {pool_a}\n  - domain: b.example.com\n    user_pool_id: {pool_b}\n"
        ),
    );
    let before = emu.count("ListCertificates");
    let run = emu.run(&["plan", "--output", "json", "-c", config.to_str().unwrap()]);
    assert_eq!(run.code, 0);
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        plan["targets"][0]["candidate_certificate_arn"],
        a_new.arn.as_str()
    );
    assert_eq!(
        plan["targets"][1]["candidate_certificate_arn"],
        b_new.arn.as_str()
    );
    // 5 certificates in pages of 2 = 3 calls, for both targets together.
    assert_eq!(emu.count("ListCertificates") - before, 3);
    assert_eq!(emu.count("DescribeUserPoolDomain"), 2);
}

#[tokio::test]
async fn refuses_a_domain_owned_by_another_user_pool() {
    let w = world(&[]).await;
    let other = support::create_pool(&w.emu, REGION, "other").await;
    let text = format!(
        "verify:\n  connect_to: {}\ndomains:\n  - domain: {DOMAIN}\n    user_pool_id: {other}\n",
        w.emu.edge
    );
    let config = write_config(w.dir.path(), &text);
    let run = w
        .emu
        .run(&["once", "--wait", "-c", config.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains(&format!("belongs to user pool {}, not {other}", w.pool)),
        "{}",
        run.stderr
    );
    assert_eq!(w.emu.count("UpdateUserPoolDomain"), 0);
}

#[tokio::test]
async fn an_edge_that_keeps_the_old_certificate_fails_verification_with_exit_1() {
    let w = world(&["--edge-stale"]).await;
    let config = w.once_config("2s", true);
    let run = w.emu.run(&["once", "--wait", "-c", &config]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("rotated-verification-failed"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("not verified by the deadline"));
    assert!(run.stderr.contains(&format!(
        "serves serial {}, want {}",
        w.old.serial_hex, w.new.serial_hex
    )));
}

#[tokio::test]
async fn without_wait_the_swap_is_reported_unverified() {
    let w = world(&[]).await;
    let config = w.once_config("10s", true);
    let run = w.emu.run(&["once", "-c", &config]);
    assert_eq!(run.code, 0);
    assert!(run.stderr.contains("rotated-unverified"));
    assert!(run.stderr.contains("run with --wait"));
    assert_eq!(w.emu.count("UpdateUserPoolDomain"), 1);
}

#[tokio::test]
async fn an_untrusted_chain_is_reported_but_the_serial_still_verifies() {
    let w = world(&[]).await;
    let config = w.once_config("10s", false);
    let run = w.emu.run(&["once", "--wait", "-c", &config]);
    assert_eq!(run.code, 0);
    assert!(run.stderr.contains("rotated-verified"));
    assert!(run.stderr.contains("chain NOT trusted"), "{}", run.stderr);
}

#[tokio::test]
async fn a_bad_config_exits_2_with_its_location_and_touches_nothing() {
    let emu = Emulator::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "verify:\n  window: 60m\ndomains:\n  - domain: Auth_Example.com\n    user_pool_id: us-east-1_Abc\n",
    );
    let path = config.to_str().unwrap();
    for cmd in [
        vec!["validate", "-c", path],
        vec!["plan", "-c", path],
        vec!["once", "--wait", "-c", path],
    ] {
        let run = emu.run(&cmd);
        assert_eq!(run.code, 2, "{cmd:?}");
        assert!(
            run.stderr.contains(&format!(
                "{path}:5:13: domains[0]: domain \"Auth_Example.com\": only lowercase letters"
            )),
            "{}",
            run.stderr
        );
    }
    assert!(emu.calls().is_empty(), "{:?}", emu.calls());
}

#[tokio::test]
async fn a_missing_config_file_exits_2() {
    let run = support::run_binary(&["validate", "-c", "/nonexistent/ccr.yaml"], &[]);
    assert_eq!(run.code, 2);
    assert!(run
        .stderr
        .contains("/nonexistent/ccr.yaml: cannot read the configuration file"));
}

#[test]
fn usage_errors_exit_2_and_help_documents_exit_codes() {
    let run = support::run_binary(&["once"], &[]);
    assert_eq!(run.code, 2);
    let help = support::run_binary(&["--help"], &[]);
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("EXIT CODES"));
    assert!(help.stdout.contains("us-east-1"));
    let once = support::run_binary(&["once", "--help"], &[]);
    assert!(once.stdout.contains("--wait") && once.stdout.contains("--dry-run"));
}

#[tokio::test]
async fn json_logs_for_cloudwatch() {
    let w = world(&[]).await;
    let config = w.once_config("10s", true);
    let run = w
        .emu
        .run(&["--log-format", "json", "once", "--dry-run", "-c", &config]);
    assert_eq!(run.code, 0);
    for line in run.stderr.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            v.get("level").is_some() && v.get("timestamp").is_some(),
            "{line}"
        );
    }
}

#[tokio::test]
async fn text_logs_off_a_terminal_carry_no_colour_codes() {
    // journald, ECS and `make demo > log` all read stderr through a pipe. NO_COLOR is unset
    // here on purpose: plain text must come from stderr not being a terminal.
    let w = world(&[]).await;
    let config = w.once_config("10s", true);
    let out = support::binary(&["once", "--dry-run", "-c", &config], &w.emu.endpoint)
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("scanned ACM in us-east-1"), "{stderr}");
    assert!(stderr.contains(" INFO "), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "escape codes in: {stderr:?}");
}

#[test]
fn the_config_can_come_from_ccr_config_yaml() {
    let good = "domains:\n  - domain: auth.example.com\n    user_pool_id: us-east-1_Abc\n";
    let run = support::run_binary(&["validate"], &[("CCR_CONFIG_YAML", good)]);
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.contains("$CCR_CONFIG_YAML: OK, 1 target(s)"),
        "{}",
        run.stdout
    );

    let bad = "domains:\n  - domain: Auth_Example.com\n    user_pool_id: us-east-1_Abc\n";
    let run = support::run_binary(&["validate"], &[("CCR_CONFIG_YAML", bad)]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("$CCR_CONFIG_YAML:2:13: "),
        "{}",
        run.stderr
    );

    let none = support::run_binary(&["plan"], &[("CCR_CONFIG_YAML", "")]);
    assert_eq!(none.code, 2);
    assert!(none
        .stderr
        .contains("pass -c FILE, or put the YAML itself in the CCR_CONFIG_YAML"));
}

#[tokio::test]
async fn a_pass_runs_from_an_environment_config() {
    let w = world(&[]).await;
    let text = format!(
        "state_file: {}\nverify:\n  connect_to: {}\ndomains:\n  - domain: {DOMAIN}\n    user_pool_id: {}\n",
        w.dir.path().join("state.json").display(),
        w.emu.edge,
        w.pool
    );
    let run = support::run_binary(
        &["once", "--dry-run"],
        &[
            ("AWS_ENDPOINT_URL", w.emu.endpoint.as_str()),
            ("CCR_CONFIG_YAML", text.as_str()),
        ],
    );
    assert_eq!(run.code, 0);
    assert!(run.stderr.contains("would-rotate"), "{}", run.stderr);
}

#[tokio::test]
async fn json_logs_come_with_cloudwatch_emf_records_on_stdout() {
    let w = world(&[]).await;
    let config = w.once_config("30s", true);
    let run = w.emu.run(&[
        "--log-format",
        "json",
        "once",
        "--wait",
        "--emf-namespace",
        "Test/Rotator",
        "-c",
        &config,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // stderr: JSON log lines only; stdout: EMF records only.
    let logs: Vec<serde_json::Value> = run
        .stderr
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}"))
        })
        .collect();
    // A target's work and its verification carry their span: the domain and user pool come
    // with every line, so interleaved domains can be told apart.
    for (span, what) in [
        ("target", "swapped the certificate"),
        ("verify", "verifying: waiting"),
    ] {
        let line = logs
            .iter()
            .find(|l| {
                l["span"]["name"] == span && l["message"].as_str().is_some_and(|m| m.contains(what))
            })
            .unwrap_or_else(|| panic!("no {span} line saying {what:?}:\n{}", run.stderr));
        assert_eq!(line["span"]["domain"], DOMAIN, "{line}");
        assert_eq!(line["span"]["consumer"], w.pool.as_str(), "{line}");
    }
    let records: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(records.len(), 2, "{}", run.stdout);
    let domain = &records[0];
    assert_eq!(domain["Domain"], DOMAIN);
    let aws = &domain["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(aws["Namespace"], "Test/Rotator");
    assert_eq!(aws["Dimensions"], serde_json::json!([["Domain"]]));
    assert_eq!(domain["Rotations"], 1.0);
    assert_eq!(domain["VerificationsSucceeded"], 1.0);
    assert_eq!(domain["Failures"], 0.0);
    assert_eq!(domain["Outcome"], "rotated-verified");
    // On the new certificate (90 days) after the swap.
    let days = domain["DaysLeft"].as_f64().unwrap();
    assert!((89.0..=90.0).contains(&days), "{days}");
    assert!(domain["_aws"]["Timestamp"].as_i64().unwrap() > 1_700_000_000_000);
    assert_eq!(records[1]["Service"], "cognito-cert-rotator");
    assert_eq!(records[1]["Targets"], 1.0);

    // Text logs (the default) print no EMF.
    let text = w.emu.run(&["once", "-c", &config]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert_eq!(text.stdout, "");
}

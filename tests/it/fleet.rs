//! Fleets and faults, end to end: several accounts through assumed roles, the fault proxy
//! between the binary and the emulator, canary rollout, rollback and the denylist.

use crate::support;

use serde_json::json;
use support::{
    domain_state_with, import_with, pool_with_domain_with, write_config, Ca, Emulator, Imported,
    Leaf,
};

/// The second account, reached through a role.
const PROD: &str = "111111111111";
const PROD_ROLE: &str = "arn:aws:iam::111111111111:role/cognito-cert-rotator";
const REGION: &str = "eu-west-1";

/// One domain on an old certificate with a newer one to move to, in one account.
struct Site {
    domain: String,
    pool: String,
    old: Imported,
    new: Imported,
    cognito: aws_sdk_cognitoidentityprovider::Client,
}

impl Site {
    async fn arn(&self) -> String {
        domain_state_with(&self.cognito, &self.domain)
            .await
            .0
            .unwrap()
    }
}

/// Seed `domains` in `account` (None = the default one), each with its own old and new
/// certificate, or, with `shared`, all moving to one SAN certificate covering them all.
async fn seed(
    emu: &Emulator,
    ca: &Ca,
    account: Option<&str>,
    domains: &[&str],
    shared: bool,
) -> Vec<Site> {
    let (acm, cognito) = match account {
        None => (emu.acm(), emu.cognito(REGION)),
        Some(a) => (
            aws_sdk_acm::Client::new(&emu.sdk_config_in(a, "us-east-1").await),
            aws_sdk_cognitoidentityprovider::Client::new(&emu.sdk_config_in(a, REGION).await),
        ),
    };
    let serial_base = u64::from(account.is_some()) << 32;
    let shared_new = if shared {
        Some(
            import_with(
                &acm,
                ca,
                Leaf {
                    names: domains.iter().map(|d| d.to_string()).collect(),
                    ..Leaf::new(domains[0], 90, serial_base + 0xff)
                },
            )
            .await,
        )
    } else {
        None
    };
    let mut sites = Vec::new();
    for (i, d) in domains.iter().enumerate() {
        let i = i as u64;
        let old = import_with(&acm, ca, Leaf::new(d, 20, serial_base + 0x100 + i)).await;
        let new = match &shared_new {
            Some(s) => Imported {
                arn: s.arn.clone(),
                serial_hex: s.serial_hex.clone(),
            },
            None => import_with(&acm, ca, Leaf::new(d, 90, serial_base + 0x200 + i)).await,
        };
        let pool = pool_with_domain_with(&cognito, d, &old.arn, 2).await;
        sites.push(Site {
            domain: d.to_string(),
            pool,
            old,
            new,
            cognito: cognito.clone(),
        });
    }
    sites
}

fn domain_lines(sites: &[Site], role: Option<&str>) -> String {
    let mut out = String::new();
    for s in sites {
        out.push_str(&format!(
            "  - domain: {}\n    user_pool_id: {}\n",
            s.domain, s.pool
        ));
        if let Some(r) = role {
            out.push_str(&format!("    role_arn: {r}\n"));
        }
    }
    out
}

/// A main config with `default` sites and an included `conf.d/prod.yaml` with `prod` sites
/// (through the role, with an external ID).
fn fleet_config(
    dir: &std::path::Path,
    emu: &Emulator,
    ca: &std::path::Path,
    extra: &str,
    default: &[Site],
    prod: &[Site],
) -> String {
    std::fs::create_dir_all(dir.join("conf.d")).unwrap();
    std::fs::write(
        dir.join("conf.d/prod.yaml"),
        format!(
            "defaults:\n  role_arn: {PROD_ROLE}\n  external_id: prod-ext-id\ndomains:\n{}",
            domain_lines(prod, None)
        ),
    )
    .unwrap();
    let text = format!(
        "include: [\"conf.d/*.yaml\"]\n{extra}verify:\n  window: 20s\n  interval: 300ms\n  connect_to: {}\n  ca_file: {}\ndomains:\n{}",
        emu.edge,
        ca.display(),
        domain_lines(default, None)
    );
    write_config(dir, &text).to_string_lossy().into_owned()
}

struct Fleet {
    emu: Emulator,
    /// Holds the config, CA and state files for the test's lifetime.
    _dir: tempfile::TempDir,
    default: Vec<Site>,
    prod: Vec<Site>,
    config: String,
}

impl Fleet {
    /// Every site, in both accounts, was rotated and verified, and Cognito agrees.
    async fn assert_all_rotated(&self, stderr: &str, context: &str) {
        for s in self.default.iter().chain(&self.prod) {
            assert!(
                stderr.contains(&format!("{}: rotated-verified", s.domain)),
                "{context}: {stderr}"
            );
            assert_ne!(s.old.arn, s.new.arn);
            assert_eq!(s.arn().await, s.new.arn, "{context}: {}", s.domain);
        }
    }

    /// `once --wait` through the fault proxy while the prod account fails with `kind`: the
    /// pass exits 1, and the default account's target is still rotated and verified.
    fn once_with_prod_failing(&self, kind: &str) -> support::Run {
        let run = self
            .emu
            .run_via_proxy(&["once", "--wait", "-c", &self.config]);
        assert_eq!(run.code, 1, "{kind}");
        assert!(
            run.stderr.contains("a.example.com: rotated-verified"),
            "{kind}: {}",
            run.stderr
        );
        run
    }
}

async fn fleet(flags: &[&str], extra: &str) -> Fleet {
    let emu = Emulator::start(flags);
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new();
    let ca_file = ca.write(dir.path());
    let default = seed(&emu, &ca, None, &["a.example.com"], false).await;
    let prod = seed(
        &emu,
        &ca,
        Some(PROD),
        &["b.example.org", "c.example.org"],
        false,
    )
    .await;
    let config = fleet_config(dir.path(), &emu, &ca_file, extra, &default, &prod);
    Fleet {
        emu,
        _dir: dir,
        default,
        prod,
        config,
    }
}

fn calls(emu: &Emulator, account: &str, op: &str) -> u64 {
    emu.calls_by_account()
        .get(account)
        .and_then(|m| m.get(op))
        .copied()
        .unwrap_or(0)
}

#[tokio::test]
async fn two_accounts_through_a_role_one_scan_each() {
    let f = fleet(&["--edge-delay", "1"], "").await;
    let validate = f.emu.run(&["validate", "-c", &f.config]);
    assert_eq!(validate.code, 0);
    assert!(
        validate
            .stdout
            .contains("3 target(s) from 2 file(s), 2 account(s)"),
        "{}",
        validate.stdout
    );
    assert!(validate.stdout.contains("account 111111111111 via"));

    let before_default = calls(&f.emu, "123456789012", "ListCertificates");
    let run = f.emu.run(&["once", "--wait", "-c", &f.config]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    f.assert_all_rotated(&run.stderr, "").await;
    // One scan per account per pass, not one per domain.
    assert_eq!(
        calls(&f.emu, "123456789012", "ListCertificates") - before_default,
        1
    );
    assert_eq!(calls(&f.emu, PROD, "ListCertificates"), 1);
    // The prod swaps were made in the prod account, with the role's credentials.
    assert_eq!(calls(&f.emu, PROD, "UpdateUserPoolDomain"), 2);
    // The role was assumed once (credentials cached), with the external ID and our session
    // name.
    let ours: Vec<_> = f
        .emu
        .assumed()
        .into_iter()
        .filter(|a| a["RoleArn"] == PROD_ROLE)
        .collect();
    assert_eq!(ours.len(), 1, "{ours:?}");
    assert_eq!(ours[0]["ExternalId"], "prod-ext-id");
    assert_eq!(ours[0]["RoleSessionName"], "cognito-cert-rotator");
}

/// A pass through one retryable fault class, injected twice on each of the three calls a
/// rotation makes: the SDK's retries absorb them and the pass ends rotated and verified. One
/// test per class, so they run side by side and a failure names its class.
async fn a_pass_completes_through(kind: &str) {
    let f = fleet(&[], "").await;
    for op in [
        "ListCertificates",
        "DescribeUserPoolDomain",
        "UpdateUserPoolDomain",
    ] {
        f.emu
            .fault(json!({"operation": op, "kind": kind, "times": 2, "delay": 1.5}));
    }
    let run = f.emu.run_via_proxy(&["once", "--wait", "-c", &f.config]);
    assert_eq!(run.code, 0, "{kind}: {}", run.stderr);
    f.assert_all_rotated(&run.stderr, kind).await;
    assert_eq!(
        f.emu.faults_injected().get(kind).copied(),
        Some(6),
        "{kind}: every rule fired twice"
    );
    // Exactly one swap per domain: a retried UpdateUserPoolDomain is not repeated after
    // it succeeded.
    assert_eq!(f.emu.count("UpdateUserPoolDomain"), 3, "{kind}");
}

#[tokio::test]
async fn a_pass_completes_through_throttling() {
    a_pass_completes_through("throttle").await;
}

#[tokio::test]
async fn a_pass_completes_through_a_429() {
    a_pass_completes_through("throttle429").await;
}

#[tokio::test]
async fn a_pass_completes_through_a_500() {
    a_pass_completes_through("500").await;
}

#[tokio::test]
async fn a_pass_completes_through_a_503() {
    a_pass_completes_through("503").await;
}

#[tokio::test]
async fn a_pass_completes_through_a_connection_reset() {
    a_pass_completes_through("reset").await;
}

#[tokio::test]
async fn a_pass_completes_through_a_slow_answer() {
    a_pass_completes_through("slow").await;
}

/// A non-retryable error fails the target it hits, once (no retries), with the AWS error code
/// and message in the log and in `status`; the other account's target still rotates.
async fn a_non_retryable_error_fails_only_its_targets(kind: &str, code: &str) {
    let f = fleet(&[], "").await;
    f.emu.fault(
        json!({"operation": "DescribeUserPoolDomain", "account": PROD, "kind": kind, "times": -1}),
    );
    let run = f.once_with_prod_failing(kind);
    for s in &f.prod {
        let line = run
            .stderr
            .lines()
            .find(|l| l.contains(&format!("{}: failed", s.domain)))
            .unwrap_or_else(|| panic!("{kind}: no failure line for {}", s.domain));
        assert!(line.contains(code), "{line}");
        assert!(line.contains("DescribeUserPoolDomain"), "{line}");
        assert_eq!(s.arn().await, s.old.arn, "untouched");
    }
    // Not retried: one attempt per prod target.
    assert_eq!(
        f.emu.faults_injected().get(kind).copied(),
        Some(2),
        "{kind}"
    );

    let status = f
        .emu
        .run_via_proxy(&["status", "--output", "json", "-c", &f.config]);
    assert_eq!(status.code, 1);
    let report: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    for row in report["targets"].as_array().unwrap() {
        let problem = row["problem"].as_str().unwrap_or("");
        if row["account"] == PROD {
            assert!(problem.contains(code), "{row}");
        } else {
            assert_eq!(row["account"], "default");
            assert!(row["healthy"].as_bool().unwrap(), "{row}");
        }
    }
}

#[tokio::test]
async fn not_authorized_fails_only_its_targets_with_the_code() {
    a_non_retryable_error_fails_only_its_targets("notauthorized", "NotAuthorizedException").await;
}

#[tokio::test]
async fn resource_not_found_fails_only_its_targets_with_the_code() {
    a_non_retryable_error_fails_only_its_targets("resourcenotfound", "ResourceNotFoundException")
        .await;
}

#[tokio::test]
async fn invalid_parameter_fails_only_its_targets_with_the_code() {
    a_non_retryable_error_fails_only_its_targets("invalidparameter", "InvalidParameterException")
        .await;
}

#[tokio::test]
async fn feature_unavailable_fails_only_its_targets_with_the_code() {
    a_non_retryable_error_fails_only_its_targets(
        "featureunavailable",
        "FeatureUnavailableInTierException",
    )
    .await;
}

/// One account down (every request `kind`): its targets fail after the retries, while the
/// other account's target is swapped without waiting for them and verified inside its window.
async fn one_accounts_outage_does_not_hold_up_another(kind: &str) {
    let f = fleet(&["--edge-delay", "1"], "").await;
    f.emu
        .fault(json!({"operation": "*", "account": PROD, "kind": kind, "times": -1}));
    let run = f.once_with_prod_failing(kind);
    let swapped_at = run
        .stderr
        .find("swapped the certificate")
        .expect("a swap log line");
    let prod_failed_at = run
        .stderr
        .find("cannot list certificates")
        .expect("the prod scan failure");
    assert!(
        swapped_at < prod_failed_at,
        "{kind}: the healthy account's swap must not wait for the failing account: {}",
        run.stderr
    );
    for s in &f.prod {
        assert!(
            run.stderr.contains(&format!("{}: failed", s.domain)),
            "{}",
            run.stderr
        );
    }
    // Retried (5 attempts), then given up: not hammered forever.
    let injected = f.emu.faults_injected().get(kind).copied().unwrap_or(0);
    assert!((5..=10).contains(&injected), "{kind}: {injected}");
}

#[tokio::test]
async fn one_account_resetting_every_connection_does_not_hold_up_another() {
    one_accounts_outage_does_not_hold_up_another("reset").await;
}

#[tokio::test]
async fn one_account_answering_503_to_everything_does_not_hold_up_another() {
    one_accounts_outage_does_not_hold_up_another("503").await;
}

/// Three domains moving to one SAN certificate in the default account.
async fn rollout_world(
    flags: &[&str],
    settings: &str,
) -> (Emulator, tempfile::TempDir, Vec<Site>, String) {
    let emu = Emulator::start(flags);
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new();
    let ca_file = ca.write(dir.path());
    let sites = seed(
        &emu,
        &ca,
        None,
        &["one.example.com", "two.example.com", "three.example.com"],
        true,
    )
    .await;
    let text = format!(
        "{settings}verify:\n  window: 20s\n  interval: 300ms\n  connect_to: {}\n  ca_file: {}\ndomains:\n{}",
        emu.edge,
        ca_file.display(),
        domain_lines(&sites, None)
    );
    let config = write_config(dir.path(), &text)
        .to_string_lossy()
        .into_owned();
    (emu, dir, sites, config)
}

/// Each domain's summary line carries this label (`rotated-verified`, `held`...).
fn expect_labels(stderr: &str, expected: &[(&str, &str)]) {
    for (domain, label) in expected {
        assert_eq!(label_of(stderr, domain), *label, "{domain}: {stderr}");
    }
}

fn label_of<'a>(stderr: &'a str, domain: &str) -> &'a str {
    stderr
        .lines()
        .find_map(|l| l.split_once(&format!("{domain}: ")).map(|(_, rest)| rest))
        .and_then(|rest| rest.split(':').next())
        .unwrap_or("")
}

#[tokio::test]
async fn a_canary_goes_first_and_the_rest_follow_once_it_is_verified() {
    let (emu, _dir, sites, config) = rollout_world(
        &["--edge-delay", "1"],
        "rollout:\n  canary: [two.example.com]\n",
    )
    .await;
    let first = emu.run(&["once", "--wait", "-c", &config]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    expect_labels(
        &first.stderr,
        &[
            ("two.example.com", "rotated-verified"),
            ("one.example.com", "held"),
            ("three.example.com", "held"),
        ],
    );
    assert!(first.stderr.contains("waiting for two.example.com"));
    assert_eq!(emu.count("UpdateUserPoolDomain"), 1);
    assert_eq!(sites[0].arn().await, sites[0].old.arn);
    assert_eq!(sites[1].arn().await, sites[1].new.arn);

    let second = emu.run(&["once", "--wait", "-c", &config]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    expect_labels(
        &second.stderr,
        &[
            ("one.example.com", "rotated-verified"),
            ("three.example.com", "rotated-verified"),
        ],
    );
    assert_eq!(emu.count("UpdateUserPoolDomain"), 3);
    for s in &sites {
        assert_eq!(s.arn().await, s.new.arn);
    }
}

#[tokio::test]
async fn a_failed_canary_is_rolled_back_denylisted_and_holds_the_rest_until_forgotten() {
    let (emu, dir, sites, config) =
        rollout_world(&["--edge-stale"], "rollout:\n  canary_count: 1\n").await;
    // A short window: the stale edge never serves the new certificate.
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("window: 20s", "window: 2s\n  on_failure: rollback");
    std::fs::write(&config, text).unwrap();

    let first = emu.run(&["once", "--wait", "-c", &config]);
    assert_eq!(first.code, 1);
    expect_labels(
        &first.stderr,
        &[("one.example.com", "rotated-verification-failed")],
    );
    assert!(first
        .stderr
        .contains("rolled back to the previous certificate"));
    expect_labels(
        &first.stderr,
        &[("two.example.com", "held"), ("three.example.com", "held")],
    );
    // The canary is back on its old certificate; the rest never moved.
    for s in &sites {
        assert_eq!(s.arn().await, s.old.arn, "{}", s.domain);
    }
    assert_eq!(
        emu.count("UpdateUserPoolDomain"),
        2,
        "the swap and its rollback"
    );
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("state.json")).unwrap())
            .unwrap();
    assert!(
        state["domains"]["one.example.com"]["denylist"][&sites[0].new.arn].is_object(),
        "{state}"
    );

    // Next pass: the canary does not swap to the denylisted certificate again, and the rest
    // stay held (blocked: an operator must act).
    let second = emu.run(&["once", "--wait", "-c", &config]);
    assert_eq!(second.code, 1);
    // The canary is back on a certificate inside its min_validity and the only newer one is
    // denylisted: it needs a person, and says so.
    expect_labels(&second.stderr, &[("one.example.com", "failed")]);
    assert!(second.stderr.contains("no eligible certificate"));
    expect_labels(
        &second.stderr,
        &[
            ("two.example.com", "blocked"),
            ("three.example.com", "blocked"),
        ],
    );
    assert!(second.stderr.contains("failed verification"));
    assert_eq!(emu.count("UpdateUserPoolDomain"), 2, "no new write");
    let plan = emu.run(&["plan", "-c", &config]);
    assert!(
        plan.stdout.contains("enylisted for this domain"),
        "{}",
        plan.stdout
    );
    let status = emu.run(&["status", "-c", &config]);
    assert_eq!(status.code, 1);
    assert!(status.stdout.contains("denylisted"), "{}", status.stdout);

    // The operator clears it: the canary is tried again (and the rest still wait for it).
    let forget = emu.run(&["forget", "one.example.com", "-c", &config]);
    assert_eq!(forget.code, 0);
    assert!(
        forget
            .stdout
            .contains("one.example.com: cleared 1 denylisted certificate(s), the failed last swap"),
        "{}",
        forget.stdout
    );
    let third = emu.run(&["once", "-c", &config]);
    expect_labels(
        &third.stderr,
        &[
            ("one.example.com", "rotated-unverified"),
            ("two.example.com", "held"),
        ],
    );
    assert_eq!(emu.count("UpdateUserPoolDomain"), 3);
}

//! Fleets and faults, end to end: several accounts through assumed roles, the fault proxy
//! between the binary and the emulator, canary rollout, rollback and the denylist.

mod support;

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
    dir: tempfile::TempDir,
    default: Vec<Site>,
    prod: Vec<Site>,
    config: String,
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
        dir,
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
    for s in f.default.iter().chain(&f.prod) {
        assert!(
            run.stderr
                .contains(&format!("{}: rotated-verified", s.domain)),
            "{}",
            run.stderr
        );
        assert_eq!(s.arn().await, s.new.arn, "{}", s.domain);
        assert_ne!(s.old.arn, s.new.arn);
    }
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

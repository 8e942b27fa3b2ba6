//! `discover` across an AWS Organization on the emulator: three member accounts (one whose
//! role cannot be assumed) and the management account, three regions, pools with a custom
//! domain, with a prefix and a custom domain, with a prefix domain only, and with none.

use crate::support::{
    create_pool_with, import_with, pool_with_domain_with, stage, write_config, Emulator, Leaf,
    Stage,
};

const REGIONS: &str = "eu-west-1,us-east-1,ap-southeast-2";
const ROLE: &str = "cognito-cert-rotator";

/// The Organization: the caller's account manages it; (member A, member B, member C).
async fn organization(emu: &Emulator) -> (String, String, String) {
    let orgs = emu.organizations();
    orgs.create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    let mut ids = Vec::new();
    for name in ["a", "b", "c"] {
        orgs.create_account()
            .account_name(name)
            .email(format!("{name}@example.com"))
            .send()
            .await
            .unwrap();
    }
    let listed = orgs.list_accounts().send().await.unwrap();
    for a in listed.accounts() {
        if a.id() != Some("123456789012") {
            ids.push(a.id().unwrap().to_string());
        }
    }
    ids.sort();
    assert_eq!(ids.len(), 3, "{listed:?}");
    (ids[0].clone(), ids[1].clone(), ids[2].clone())
}

/// A custom domain on a fresh certificate in `account` (None: the caller's own) and `region`.
async fn custom_domain(
    s: &Stage,
    account: Option<&str>,
    region: &'static str,
    domain: &str,
) -> String {
    let (acm, cognito) = match account {
        Some(a) => (
            aws_sdk_acm::Client::new(&s.emu.sdk_config_in(a, "us-east-1").await),
            aws_sdk_cognitoidentityprovider::Client::new(&s.emu.sdk_config_in(a, region).await),
        ),
        None => (s.emu.acm(), s.emu.cognito(region)),
    };
    let cert = import_with(
        &acm,
        &s.ca,
        Leaf::new(domain, 40, 0x0d00 + domain.len() as u64),
    )
    .await;
    pool_with_domain_with(&cognito, domain, &cert.arn, 2).await
}

#[tokio::test]
async fn discover_finds_every_custom_domain_of_an_organization_and_reports_what_it_cannot_read() {
    let s = stage(&[]);
    let (a, b, c) = organization(&s.emu).await;
    s.emu.deny_role(&format!("arn:aws:iam::{c}:role/{ROLE}"));
    // The caller's own account: one managed domain.
    let own_pool = custom_domain(&s, None, "eu-west-1", "own.example.com").await;
    // Member A: a pool with both a prefix and a custom domain; a prefix-only pool; a bare pool.
    let both = custom_domain(&s, Some(&a), "eu-west-1", "a.example.com").await;
    let a_eu =
        aws_sdk_cognitoidentityprovider::Client::new(&s.emu.sdk_config_in(&a, "eu-west-1").await);
    a_eu.create_user_pool_domain()
        .user_pool_id(&both)
        .domain("a-prefix")
        .send()
        .await
        .unwrap();
    let a_us =
        aws_sdk_cognitoidentityprovider::Client::new(&s.emu.sdk_config_in(&a, "us-east-1").await);
    let prefix_only = create_pool_with(&a_us, "prefix-only").await;
    a_us.create_user_pool_domain()
        .user_pool_id(&prefix_only)
        .domain("only-a-prefix")
        .send()
        .await
        .unwrap();
    create_pool_with(&a_us, "no-domain").await;
    // Member B: a custom domain in a third region.
    let b_pool = custom_domain(&s, Some(&b), "ap-southeast-2", "b.example.com").await;
    let config = write_config(
        s.dir.path(),
        &format!("domains:\n  - domain: own.example.com\n    user_pool_id: {own_pool}\n"),
    );
    let config = config.to_str().unwrap().to_string();
    let args = |output: &str| {
        vec![
            "discover".to_string(),
            "--organization".to_string(),
            "--role-name".to_string(),
            ROLE.to_string(),
            "--regions".to_string(),
            REGIONS.to_string(),
            "-c".to_string(),
            config.clone(),
            "--output".to_string(),
            output.to_string(),
        ]
    };
    let run = |args: Vec<String>| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        s.emu.run(&refs)
    };

    let json = run(args("json"));
    // One scope failed: exit 1, the rest found.
    assert_eq!(json.code, 1, "{}", json.stderr);
    let out: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let domains: Vec<(&str, &str, bool)> = out["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["domain"].as_str().unwrap(),
                d["account"].as_str().unwrap(),
                d["managed"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        domains,
        [
            ("a.example.com", a.as_str(), false),
            ("b.example.com", b.as_str(), false),
            ("own.example.com", "123456789012", true),
        ],
        "{}",
        json.stdout
    );
    let a_found = &out["domains"][0];
    assert_eq!(a_found["user_pool_id"], both.as_str());
    assert_eq!(a_found["region"], "eu-west-1");
    assert_eq!(a_found["role_arn"], format!("arn:aws:iam::{a}:role/{ROLE}"));
    assert!(a_found["not_after"].is_string(), "{a_found}");
    assert!(a_found["certificate_arn"]
        .as_str()
        .unwrap()
        .starts_with(&format!("arn:aws:acm:us-east-1:{a}:")));
    assert_eq!(out["domains"][1]["user_pool_id"], b_pool.as_str());
    assert!(out["domains"][2].get("role_arn").is_none());
    let errors = out["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["account"], c.as_str());
    assert_eq!(errors[0]["region"], serde_json::Value::Null);
    assert!(
        errors[0]["error"]
            .as_str()
            .unwrap()
            .contains("AccessDenied"),
        "{errors:?}"
    );

    let text = run(args("text"));
    assert!(
        text.stdout.contains(
            "3 custom domains and 0 other consumers in 3 accounts and 2 regions; 2 not managed; 1 scopes failed"
        ),
        "{}",
        text.stdout
    );

    // The YAML of the unmanaged ones passes `validate` once included, with no edit.
    let yaml = run(args("yaml"));
    std::fs::write(s.dir.path().join("found.yaml"), &yaml.stdout).unwrap();
    let main = s.dir.path().join("main.yaml");
    std::fs::write(
        &main,
        format!("include: [found.yaml]\ndomains:\n  - domain: own.example.com\n    user_pool_id: {own_pool}\n"),
    )
    .unwrap();
    let valid = s.emu.run(&["validate", "-c", main.to_str().unwrap()]);
    assert_eq!(valid.code, 0, "{}\n{}", valid.stderr, yaml.stdout);
    assert!(
        valid.stdout.contains("3 target(s)") || valid.stdout.contains("b.example.com"),
        "{}",
        valid.stdout
    );

    // --write: one file per account, never overwritten.
    let dir = s.dir.path().join("fleet");
    let mut write = args("text");
    write.extend(["--write".to_string(), dir.to_str().unwrap().to_string()]);
    let wrote = run(write.clone());
    assert!(
        dir.join(format!("{a}.yaml")).exists() && dir.join(format!("{b}.yaml")).exists(),
        "{}",
        wrote.stdout
    );
    let a_file = std::fs::read_to_string(dir.join(format!("{a}.yaml"))).unwrap();
    assert!(
        a_file.contains(&format!(
            "defaults:\n  role_arn: arn:aws:iam::{a}:role/{ROLE}"
        )),
        "{a_file}"
    );
    let again = run(write);
    assert_eq!(again.code, 1);
    assert!(
        again.stderr.contains("exists; not overwritten"),
        "{}",
        again.stderr
    );
    let per_account = s.dir.path().join("per-account.yaml");
    std::fs::write(&per_account, "include: [fleet/*.yaml]\n").unwrap();
    let valid = s
        .emu
        .run(&["validate", "-c", per_account.to_str().unwrap()]);
    assert_eq!(valid.code, 0, "{}", valid.stderr);

    // Read-only: not one write call.
    let calls = s.emu.calls();
    for write_op in [
        "UpdateUserPoolDomain",
        "CreateUserPoolDomain",
        "UpdateUserPool",
    ] {
        let made_by_test = if write_op == "CreateUserPoolDomain" {
            5
        } else {
            0
        };
        assert_eq!(
            calls.get(write_op).copied().unwrap_or(0),
            made_by_test,
            "{calls:?}"
        );
    }
}

#[tokio::test]
async fn usage_errors_exit_2() {
    let s = stage(&[]);
    let run = s
        .emu
        .run(&["discover", "--account", "123", "--role-name", "x"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("is not an AWS account ID"),
        "{}",
        run.stderr
    );
    let run = s.emu.run(&["discover", "--organization"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let run = s.emu.run(&["discover", "--regions", "mars"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

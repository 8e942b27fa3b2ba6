use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("config.yaml"))
}

const GOOD: &str = "\
verify:
  window: 60m
  interval: 30s
defaults:
  min_validity: 30d
domains:
  - domain: auth.example.com
    user_pool_id: eu-central-1_AbCdEf123
    min_validity: 45d
    require_tags: {team: identity}
  - domain: login.example.org
    user_pool_id: us-east-1_Xyz
";

#[test]
fn parses_a_full_config_with_defaults_and_overrides() {
    let c = parse(GOOD).unwrap();
    assert_eq!(c.verify.window, Duration::from_secs(3600));
    assert_eq!(c.verify.interval, Duration::from_secs(30));
    assert!(c.verify.tls);
    assert_eq!(c.targets.len(), 2);
    assert_eq!(c.targets[0].region, "eu-central-1");
    assert_eq!(
        c.targets[0].min_validity,
        MinValidity::Duration(Duration::from_secs(45 * 86_400))
    );
    assert_eq!(c.targets[0].require_tags["team"], "identity");
    assert_eq!(c.targets[1].region, "us-east-1");
    assert_eq!(
        c.targets[1].min_validity,
        MinValidity::Duration(Duration::from_secs(30 * 86_400))
    );
}

#[test]
fn bad_domain_names_file_line_and_column() {
    let text = "domains:\n  - domain: Auth_Example.com\n    user_pool_id: us-east-1_A\n";
    let err = parse(text).unwrap_err().to_string();
    assert!(err.starts_with("config.yaml:2:13: "), "{err}");
    assert!(
        err.contains("domain \"Auth_Example.com\": only lowercase letters, digits and hyphens are allowed, labels separated by periods"),
        "{err}"
    );
}

#[test]
fn unknown_keys_are_errors_with_location() {
    let text = "verify:\n  windw: 5m\ndomains:\n  - domain: a.example.com\n    user_pool_id: us-east-1_A\n";
    let err = parse(text).unwrap_err().to_string();
    assert!(err.starts_with("config.yaml:2:3: "), "{err}");
    assert!(err.contains("unknown field `windw`"), "{err}");
}

#[test]
fn min_validity_takes_a_percentage_of_the_lifetime() {
    let text = "defaults:\n  min_validity: 33%\ndomains:\n  - domain: a.example.com\n    user_pool_id: us-east-1_A\n  - domain: b.example.com\n    user_pool_id: us-east-1_B\n    min_validity: 10d\n";
    let c = parse(text).unwrap();
    assert_eq!(c.targets[0].min_validity, MinValidity::Percent(33));
    assert_eq!(
        c.targets[1].min_validity,
        MinValidity::Duration(Duration::from_secs(10 * 86_400))
    );
}

#[test]
fn percentages_outside_1_to_99_are_located_errors() {
    for (bad, col) in [
        ("0%", 20),
        ("100%", 20),
        ("33.5%", 20),
        ("-5%", 20),
        ("%", 20),
    ] {
        let text = format!(
            "domains:\n  - domain: a.example.com\n    user_pool_id: us-east-1_A\n    min_validity: \"{bad}\"\n"
        );
        let err = parse(&text).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("config.yaml:4:{col}: ")),
            "{bad}: {err}"
        );
        assert!(err.contains("from 1% to 99%"), "{bad}: {err}");
    }
}

#[test]
fn bad_duration_is_located() {
    let text = "defaults:\n  min_validity: 30 parsecs\ndomains:\n  - domain: a.example.com\n    user_pool_id: us-east-1_A\n";
    let err = parse(text).unwrap_err().to_string();
    assert!(err.starts_with("config.yaml:2:17: "), "{err}");
    assert!(err.contains("30 parsecs"), "{err}");
}

#[test]
fn bad_user_pool_id_is_located() {
    let text = "domains:\n  - domain: a.example.com\n    user_pool_id: pool123\n";
    let err = parse(text).unwrap_err().to_string();
    assert!(err.starts_with("config.yaml:3:19: "), "{err}");
    assert!(err.contains("expected <region>_<id>"), "{err}");
}

#[test]
fn duplicate_domains_name_both_entries() {
    let text = "domains:\n  - domain: a.example.com\n    user_pool_id: us-east-1_A\n  - domain: a.example.com\n    user_pool_id: us-east-1_B\n";
    let err = parse(text).unwrap_err().to_string();
    assert!(err.starts_with("config.yaml:4:13: "), "{err}");
    assert!(
        err.contains("listed twice: here and at config.yaml:2:13"),
        "{err}"
    );
}

#[test]
fn empty_domain_list_is_an_error() {
    let err = parse("domains: []\n").unwrap_err().to_string();
    assert!(err.contains("the list is empty"), "{err}");
}

#[test]
fn interval_longer_than_window_is_an_error() {
    let text = "verify:\n  window: 1m\n  interval: 5m\ndomains:\n  - domain: a.example.com\n    user_pool_id: us-east-1_A\n";
    let err = parse(text).unwrap_err().to_string();
    assert!(err.starts_with("config.yaml:3:3: "), "{err}");
}

#[test]
fn missing_ca_file_is_an_error() {
    let text = "verify:\n  ca_file: /nonexistent/ca.pem\ndomains:\n  - domain: a.example.com\n    user_pool_id: us-east-1_A\n";
    let err = parse(text).unwrap_err().to_string();
    assert!(err.starts_with("config.yaml:2:3: "), "{err}");
    assert!(err.contains("no such file"), "{err}");
}

#[test]
fn connect_to_must_be_host_and_port() {
    let text = "verify:\n  connect_to: localhost\ndomains:\n  - domain: a.example.com\n    user_pool_id: us-east-1_A\n";
    assert!(parse(text).unwrap_err().to_string().contains("host:port"));
}

#[test]
fn the_shipped_example_config_is_valid() {
    let text = include_str!("../../config/cognito-cert-rotator.example.yaml");
    let c = parse(text).unwrap();
    assert_eq!(c.targets.len(), 2);
    assert_eq!(c.targets[1].region, "eu-central-1");
    assert_eq!(c.targets[1].require_tags["cognito-cert-rotator"], "enabled");
}

#[test]
fn daemon_settings_have_defaults_and_are_validated() {
    let c = parse("domains:\n  - domain: a.example.com\n    user_pool_id: us-east-1_A\n").unwrap();
    assert_eq!(c.schedule, DEFAULT_SCHEDULE);
    assert_eq!(c.metrics_listen, None);
    assert_eq!(c.hooks.timeout, Duration::from_secs(60));
    let text = "schedule: \"*/5 * * * * *\"\nstate_file: st.json\nmetrics:\n  listen: 127.0.0.1:9464\nhooks:\n  on_rotate: [/bin/echo, rotated]\n  timeout: 5s\ndomains:\n  - domain: a.example.com\n    user_pool_id: us-east-1_A\n";
    let c = Config::parse(text, Path::new("/etc/ccr/config.yaml")).unwrap();
    assert_eq!(
        c.state,
        StateBackend::File(PathBuf::from("/etc/ccr/st.json"))
    );
    assert_eq!(c.metrics_listen.unwrap().port(), 9464);
    assert_eq!(c.hooks.on_rotate.as_deref().unwrap()[1], "rotated");
    let bad = "schedule: \"every minute\"\ndomains:\n  - domain: a.example.com\n    user_pool_id: us-east-1_A\n";
    let err = parse(bad).unwrap_err().to_string();
    assert!(err.starts_with("config.yaml:1:"), "{err}");
    assert!(err.contains("cron expression with seconds"), "{err}");
    let bad = "hooks:\n  on_failure: []\ndomains:\n  - domain: a.example.com\n    user_pool_id: us-east-1_A\n";
    assert!(parse(bad).unwrap_err().to_string().contains("argv list"));
}

#[test]
fn domain_rules() {
    for ok in ["auth.example.com", "a-b.c1.io", "x.y"] {
        assert!(DomainName::parse(ok).is_ok(), "{ok}");
    }
    for bad in [
        "Auth.example.com",
        "auth_x.example.com",
        "-auth.example.com",
        "auth-.example.com",
        "auth..example.com",
        "example",
        ".example.com",
        "*.example.com",
        "",
    ] {
        assert!(DomainName::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn user_pool_id_rules() {
    assert_eq!(
        UserPoolId::parse("us-gov-west-1_Ab9").unwrap().region,
        "us-gov-west-1"
    );
    for bad in [
        "us-east-1",
        "_abc",
        "us-east-1_",
        "useast1_abc",
        "us-east-x_abc",
    ] {
        assert!(UserPoolId::parse(bad).is_err(), "{bad}");
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn includes_add_domains_with_their_own_defaults_relative_to_the_including_file() {
    let dir = tempfile::tempdir().unwrap();
    let main = write(
        dir.path(),
        "main.yaml",
        "include: [\"conf.d/*.yaml\"]\ndefaults:\n  min_validity: 20d\ndomains:\n  - domain: a.example.com\n    user_pool_id: us-east-1_A\n",
    );
    write(
        dir.path(),
        "conf.d/20-prod.yaml",
        "defaults:\n  role_arn: arn:aws:iam::111111111111:role/rotator\n  external_id: prod-ext\ndomains:\n  - domain: b.example.com\n    user_pool_id: eu-west-1_B\n  - domain: c.example.com\n    user_pool_id: eu-west-1_C\n    role_arn: arn:aws:iam::222222222222:role/other\ninclude: [more/x.yaml]\n",
    );
    write(
        dir.path(),
        "conf.d/more/x.yaml",
        "domains:\n  - domain: d.example.com\n    user_pool_id: us-east-1_D\n",
    );
    write(
        dir.path(),
        "conf.d/10-dev.yaml",
        "domains:\n  - domain: e.example.com\n    user_pool_id: us-east-1_E\n    min_validity: 5d\n",
    );
    write(dir.path(), "conf.d/ignored.txt", "not yaml");
    let c = Config::load(&main).unwrap();
    let names: Vec<&str> = c.targets.iter().map(|t| t.domain.as_str()).collect();
    assert_eq!(
        names,
        [
            "a.example.com",
            "e.example.com",
            "b.example.com",
            "c.example.com",
            "d.example.com"
        ]
    );
    assert_eq!(c.files.len(), 4);
    assert_eq!(
        c.targets[1].min_validity,
        MinValidity::Duration(Duration::from_secs(5 * 86_400))
    );
    assert_eq!(
        c.targets[2].min_validity,
        MinValidity::Duration(Duration::from_secs(20 * 86_400))
    );
    assert_eq!(c.targets[0].role, None);
    let b = c.targets[2].role.as_ref().unwrap();
    assert_eq!(b.role_arn.account, "111111111111");
    assert_eq!(b.external_id.as_deref(), Some("prod-ext"));
    let cc = c.targets[3].role.as_ref().unwrap();
    assert_eq!(cc.role_arn.account, "222222222222");
    // Nested include inherits the including file's role.
    assert_eq!(
        c.targets[4].role.as_ref().unwrap().role_arn.account,
        "111111111111"
    );
    assert!(
        c.targets[2].source.ends_with("20-prod.yaml:5"),
        "{}",
        c.targets[2].source
    );
}

#[test]
fn a_domain_in_two_files_names_both_locations() {
    let dir = tempfile::tempdir().unwrap();
    let main = write(
        dir.path(),
        "main.yaml",
        "include: [conf.d/a.yaml]\ndomains:\n  - domain: a.example.com\n    user_pool_id: us-east-1_A\n",
    );
    write(
        dir.path(),
        "conf.d/a.yaml",
        "domains:\n  - domain: x.example.com\n    user_pool_id: us-east-1_X\n  - domain: a.example.com\n    user_pool_id: us-east-1_B\n",
    );
    let err = Config::load(&main).unwrap_err().to_string();
    let child = dir.path().join("conf.d/a.yaml");
    assert!(
        err.starts_with(&format!("{}:4:13: ", child.display())),
        "{err}"
    );
    assert!(
        err.contains(&format!("here and at {}:3:13", main.display())),
        "{err}"
    );
}

#[test]
fn include_errors_are_located_in_the_file_that_has_them() {
    let dir = tempfile::tempdir().unwrap();
    let main = write(
        dir.path(),
        "main.yaml",
        "include: [missing.yaml]\ndomains:\n  - domain: a.example.com\n    user_pool_id: us-east-1_A\n",
    );
    let err = Config::load(&main).unwrap_err().to_string();
    assert!(
        err.contains("main.yaml:1:11: include \"missing.yaml\""),
        "{err}"
    );
    assert!(err.contains("no such file"), "{err}");

    let main = write(dir.path(), "m2.yaml", "include: [\"d/*.yaml\"]\n");
    write(dir.path(), "d/bad.yaml", "domains:\n  - domain: b.example.com\n    user_pool_id: us-east-1_B\nschedule: \"* * * * * *\"\n");
    let err = Config::load(&main).unwrap_err().to_string();
    assert!(
        err.contains("d/bad.yaml:4:1: unknown field `schedule`"),
        "{err}"
    );

    // An empty include folder and no domains: the usual "empty" error.
    std::fs::remove_file(dir.path().join("d/bad.yaml")).unwrap();
    let err = Config::load(&main).unwrap_err().to_string();
    assert!(err.contains("here or in an included file"), "{err}");
}

#[test]
fn role_settings_are_checked() {
    let bad_arn = "domains:\n  - domain: a.example.com\n    user_pool_id: us-east-1_A\n    role_arn: arn:aws:iam::12345:role/x\n";
    let err = parse(bad_arn).unwrap_err().to_string();
    assert!(err.starts_with("config.yaml:4:15: "), "{err}");
    assert!(err.contains("expected an IAM role ARN"), "{err}");
    let lone_external = "domains:\n  - domain: a.example.com\n    user_pool_id: us-east-1_A\n    external_id: abc\n";
    let err = parse(lone_external).unwrap_err().to_string();
    assert!(err.contains("external_id without role_arn"), "{err}");
    for ok in [
        "arn:aws:iam::123456789012:role/x",
        "arn:aws-cn:iam::123456789012:role/path/to/x",
    ] {
        assert_eq!(RoleArn::parse(ok).unwrap().account, "123456789012");
    }
    for bad in [
        "arn:aws:iam::123456789012:user/x",
        "arn:aws:sts::123456789012:role/x",
        "arn:aws:iam::123456789012:role/",
        "role/x",
    ] {
        assert!(RoleArn::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn fleet_settings_have_defaults_and_are_checked() {
    let two = "domains:\n  - domain: a.example.com\n    user_pool_id: us-east-1_A\n  - domain: b.example.com\n    user_pool_id: us-east-1_B\n";
    let c = parse(two).unwrap();
    assert_eq!(c.concurrency, DEFAULT_CONCURRENCY);
    assert!(!c.rollout.enabled());
    assert_eq!(c.verify.on_failure, OnFailure::Alert);

    let c = parse(&format!("concurrency: 8\nrollout:\n  canary: [b.example.com]\nverify:\n  on_failure: rollback\n{two}")).unwrap();
    assert_eq!(c.concurrency, 8);
    assert_eq!(c.rollout.canary, ["b.example.com"]);
    assert_eq!(c.verify.on_failure, OnFailure::Rollback);
    assert_eq!(
        parse(&format!("rollout:\n  canary_count: 2\n{two}"))
            .unwrap()
            .rollout
            .canary_count,
        2
    );

    let err = parse(&format!("concurrency: 0\n{two}"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("config.yaml:1:1: concurrency: 0 is out of range"),
        "{err}"
    );
    let err = parse(&format!("rollout:\n  canary: [z.example.com]\n{two}"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("\"z.example.com\" is not one of the configured domains"),
        "{err}"
    );
    let err = parse(&format!(
        "rollout:\n  canary: [a.example.com]\n  canary_count: 1\n{two}"
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("not both"), "{err}");
    let err = parse(&format!("verify:\n  on_failure: revert\n{two}"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("expected `alert` or `rollback`"), "{err}");
}

#[test]
fn the_shipped_fleet_example_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/fleet.example.yaml");
    let c = Config::load(&path).unwrap();
    assert_eq!(c.targets.len(), 5);
    assert_eq!(c.files.len(), 3);
    let accounts: std::collections::BTreeSet<_> = c
        .targets
        .iter()
        .map(|t| t.role.as_ref().map(|r| r.role_arn.account.clone()))
        .collect();
    assert_eq!(accounts.len(), 4);
    assert_eq!(c.verify.on_failure, OnFailure::Rollback);
    assert_eq!(c.rollout.canary, ["auth.staging.example.com"]);
}

#[test]
fn dynamodb_state_with_defaults_and_bounds() {
    let base = "domains:\n  - domain: a.example.com\n    user_pool_id: us-east-1_A\n";
    let c = parse(&format!(
        "state:\n  dynamodb:\n    table: ccr-state\n{base}"
    ))
    .unwrap();
    assert_eq!(
        c.state,
        StateBackend::DynamoDb(DynamoSettings {
            table: "ccr-state".into(),
            region: None,
            lease: DEFAULT_LEASE,
        })
    );
    let c = parse(&format!(
        "state:\n  dynamodb:\n    table: ccr-state\n    region: eu-west-1\n    lease: 5s\n{base}"
    ))
    .unwrap();
    assert!(
        matches!(c.state, StateBackend::DynamoDb(DynamoSettings { lease, .. }) if lease == Duration::from_secs(5))
    );
    let err = parse(&format!(
        "state:\n  dynamodb:\n    table: ccr-state\n    lease: 1s\n{base}"
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("config.yaml:4:5: state.dynamodb.lease 1s is out of range"),
        "{err}"
    );
    let err = parse(&format!("state:\n  dynamodb:\n    table: a b\n{base}"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("a DynamoDB table name is"), "{err}");
}

#[test]
fn state_and_state_file_together_is_an_error_at_its_key() {
    let text = "state_file: s.json\nstate:\n  dynamodb:\n    table: ccr-state\ndomains:\n  - domain: a.example.com\n    user_pool_id: us-east-1_A\n";
    let err = parse(text).unwrap_err().to_string();
    assert!(
        err.starts_with("config.yaml:2:1: state: and state_file: are both set"),
        "{err}"
    );
    let err =
        parse("state: {}\ndomains:\n  - domain: a.example.com\n    user_pool_id: us-east-1_A\n")
            .unwrap_err()
            .to_string();
    assert!(err.contains("state: needs dynamodb:"), "{err}");
}

#[test]
fn events_take_the_queue_region_from_the_url_or_the_key() {
    let domains = "domains:\n  - domain: a.example.com\n    user_pool_id: us-east-1_A\n";
    let c = parse(domains).unwrap();
    assert_eq!(c.events, None);
    let c = parse(&format!(
        "events:\n  sqs_queue_url: https://sqs.eu-west-1.amazonaws.com/123456789012/acm-events\n{domains}"
    ))
    .unwrap();
    let e = c.events.unwrap();
    assert_eq!(e.region, "eu-west-1");
    assert_eq!(
        e.queue_url,
        "https://sqs.eu-west-1.amazonaws.com/123456789012/acm-events"
    );
    // The legacy host form names its region too.
    let c = parse(&format!(
        "events: {{sqs_queue_url: 'https://ap-south-1.queue.amazonaws.com/1/q'}}\n{domains}"
    ))
    .unwrap();
    assert_eq!(c.events.unwrap().region, "ap-south-1");
    // A host that names no region (a VPC endpoint, an emulator): region:, else us-east-1.
    let c = parse(&format!(
        "events: {{sqs_queue_url: 'http://127.0.0.1:5000/123456789012/q'}}\n{domains}"
    ))
    .unwrap();
    assert_eq!(c.events.unwrap().region, "us-east-1");
    let c = parse(&format!(
        "events: {{sqs_queue_url: 'https://vpce-1.sqs.example/1/q', region: eu-north-1}}\n{domains}"
    ))
    .unwrap();
    let e = c.events.clone().unwrap();
    assert_eq!(e.region, "eu-north-1");
    // validate says so.
    assert!(
        c.summary()
            .contains("  events: SQS queue https://vpce-1.sqs.example/1/q (eu-north-1)\n"),
        "{}",
        c.summary()
    );
}

#[test]
fn a_bad_queue_url_is_located_and_says_what_one_looks_like() {
    for url in [
        "sqs-events",
        "https://sqs.us-east-1.amazonaws.com/q",
        "https://h/1/q/extra",
    ] {
        let text = format!(
            "events:\n  sqs_queue_url: {url}\ndomains:\n  - domain: a.example.com\n    user_pool_id: us-east-1_A\n"
        );
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.starts_with("config.yaml:2:18: "), "{err}");
        assert!(
            err.contains("https://sqs.us-east-1.amazonaws.com/123456789012/"),
            "{err}"
        );
    }
}

#[test]
fn events_belong_to_the_main_file_only() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("more.yaml"),
        "events: {sqs_queue_url: 'https://sqs.us-east-1.amazonaws.com/1/q'}\ndomains:\n  - domain: a.example.com\n    user_pool_id: us-east-1_A\n",
    )
    .unwrap();
    let main = dir.path().join("main.yaml");
    std::fs::write(&main, "include: [more.yaml]\n").unwrap();
    let err = Config::load(&main).unwrap_err().to_string();
    assert!(
        err.contains("more.yaml:1:1: unknown field `events`"),
        "{err}"
    );
}

#[test]
fn connect_to_takes_a_list_of_edge_addresses() {
    let text = "verify:\n  connect_to: [127.0.0.1:8443, \"[::1]:8443\"]\ndomains:\n  - domain: a.example.com\n    user_pool_id: us-east-1_A\n";
    let c = parse(text).unwrap();
    assert_eq!(c.verify.connect_to, vec!["127.0.0.1:8443", "[::1]:8443"]);
    let bad = "verify:\n  connect_to: [127.0.0.1:8443, nope]\ndomains:\n  - domain: a.example.com\n    user_pool_id: us-east-1_A\n";
    let err = parse(bad).unwrap_err().to_string();
    assert!(
        err.contains("connect_to \"nope\": expected host:port"),
        "{err}"
    );
}

const A: &str = "domains:\n  - domain: a.example.com\n    user_pool_id: us-east-1_A\n";

#[test]
fn change_windows_and_freezes_are_read_and_overridden_per_domain() {
    let text = format!(
        "windows:\n  - start: \"0 0 22 * * Mon-Thu\"\n    duration: 4h\n    timezone: Europe/Berlin\nfreeze:\n  - {{from: 2026-11-26T00:00:00Z, to: 2026-12-01T00:00:00Z, reason: peak season}}\nurgent_within: 3d\n{A}  - domain: b.example.com\n    user_pool_id: us-east-1_B\n    windows: []\n    urgent_within: 1d\n"
    );
    let c = parse(&text).unwrap();
    let a = &c.targets[0].policy;
    assert_eq!(a.windows.len(), 1);
    assert_eq!(a.windows[0].timezone, chrono_tz::Europe::Berlin);
    assert_eq!(a.windows[0].duration, Duration::from_secs(4 * 3600));
    assert_eq!(a.freezes[0].reason, "peak season");
    assert_eq!(a.urgent_within, Duration::from_secs(3 * 86_400));
    // The domain's own keys win; what it does not set is inherited.
    let b = &c.targets[1].policy;
    assert!(b.windows.is_empty());
    assert_eq!(b.freezes.len(), 1);
    assert_eq!(b.urgent_within, Duration::from_secs(86_400));
    // Nothing set: any time, urgent within 7 days.
    let plain = parse(A).unwrap();
    assert_eq!(
        plain.targets[0].policy,
        crate::window::ChangePolicy::default()
    );
}

#[test]
fn a_bad_window_or_freeze_is_a_located_error() {
    let cases = [
        (
            "windows:\n  - start: \"0 0 25 * * *\"\n    duration: 1h\n",
            "config.yaml:2:13: windows[0]: windows start \"0 0 25 * * *\": Component error",
        ),
        (
            "windows:\n  - start: \"0 0 22 * * *\"\n    duration: 1h\n    timezone: Mars/Olympus\n",
            "config.yaml:4:15: windows[0]: timezone \"Mars/Olympus\" is not an IANA time zone name",
        ),
        (
            "freeze:\n  - {from: 2026-12-01T00:00:00Z, to: 2026-11-26T00:00:00Z}\n",
            "config.yaml:2:3: freeze: it ends (2026-11-26T00:00:00Z) before it starts (2026-12-01T00:00:00Z); give from: before to:",
        ),
    ];
    for (policy, want) in cases {
        let err = parse(&format!("{policy}{A}")).unwrap_err().to_string();
        assert!(err.starts_with(want), "{err}");
    }
}

#[test]
fn the_default_state_file_is_the_units_own_from_a_shell_on_a_host_where_they_ran() {
    let dir = tempfile::tempdir().unwrap();
    let system = dir.path().join("var-lib-ccr");
    assert_eq!(
        default_state_file_in(Some("/run/x:/run/y"), &system),
        Path::new("/run/x/state.json")
    );
    assert_eq!(
        default_state_file_in(None, &system),
        Path::new("cognito-cert-rotator.state.json")
    );
    std::fs::create_dir(&system).unwrap();
    assert_eq!(
        default_state_file_in(None, &system),
        system.join("state.json")
    );
}

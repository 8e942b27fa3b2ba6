//! `discovery:` in the daemon: a user pool tagged for management is rotated with no
//! `domains:` entry, untagging it stops its management, and a custom domain nobody listed or
//! tagged shows in /metrics and `status`.

use std::time::Duration;

use crate::support::{
    add_custom_domain, create_tagged_pool_with, domain_state, free_port, http_get, import, sample,
    stage, wait_for, write_config, Daemon, Leaf, DOMAIN, REGION,
};

/// A user pool with `tags` and the custom domain `domain` on `arn`; its ID.
async fn tagged_pool(
    cognito: &aws_sdk_cognitoidentityprovider::Client,
    tags: &[(&str, &str)],
    domain: &str,
    arn: &str,
) -> String {
    let pool = create_tagged_pool_with(cognito, domain, tags).await;
    add_custom_domain(cognito, &pool, domain, arn, 2).await;
    pool
}

#[tokio::test]
async fn a_tagged_pool_is_rotated_without_a_domains_entry_and_untagging_stops_it() {
    let s = stage(&[]);
    let old = import(&s.emu, &s.ca, Leaf::new(DOMAIN, 20, 0x0a0b_0c01)).await;
    let new = import(&s.emu, &s.ca, Leaf::new(DOMAIN, 90, 0x0a0b_0c02)).await;
    let other_cert = import(
        &s.emu,
        &s.ca,
        Leaf::new("other.example.com", 90, 0x0a0b_0c03),
    )
    .await;
    let cognito = s.emu.cognito(REGION);
    let pool = tagged_pool(
        &cognito,
        &[("cognito-cert-rotator", "enabled")],
        DOMAIN,
        &old.arn,
    )
    .await;
    tagged_pool(&cognito, &[], "other.example.com", &other_cert.arn).await;
    let port = free_port();
    let config = write_config(
        s.dir.path(),
        &format!(
            "schedule: \"*/2 * * * * *\"\ndiscovery:\n  regions: [{REGION}]\n  manage_tagged: {{cognito-cert-rotator: enabled}}\n  interval: 2s\nmetrics:\n  listen: 127.0.0.1:{port}\nverify:\n  window: 30s\n  interval: 300ms\n  connect_to: {}\n  ca_file: {}\n",
            s.emu.edge,
            s.ca_file.display()
        ),
    );
    let config = config.to_str().unwrap();
    // Nothing listed: valid, because discovery may find the domains.
    let valid = s.emu.run(&["validate", "-c", config]);
    assert_eq!(valid.code, 0, "{}", valid.stderr);
    let plan = s.emu.run(&["plan", "-c", config]);
    assert!(
        plan.stdout
            .contains("  discovered: tag cognito-cert-rotator=enabled"),
        "{}",
        plan.stdout
    );

    let d = Daemon::start(
        s.dir.path(),
        &["run", "--now", "-c", config],
        &s.emu.endpoint,
        &[],
    );
    wait_for(
        "discovery to manage the tagged pool",
        Duration::from_secs(20),
        || {
            d.log()
                .contains("discovery: managing auth.example.com (tag cognito-cert-rotator=enabled)")
        },
    );
    wait_for(
        "the tagged pool's domain to be swapped",
        Duration::from_secs(30),
        || d.log().contains("swapped the certificate"),
    );
    assert_eq!(
        domain_state(&s.emu, REGION, DOMAIN).await.0.as_deref(),
        Some(new.arn.as_str())
    );
    let (_, metrics) = http_get(port, "/metrics");
    assert_eq!(
        sample(
            &metrics,
            &format!("cognito_cert_rotator_unmanaged_domain{{domain=\"other.example.com\",account=\"123456789012\",region=\"{REGION}\",kind=\"cognito\"}}")
        ),
        Some(1.0),
        "{metrics}"
    );
    let status = s.emu.run(&["status", "-c", config]);
    assert!(
        status.stdout.contains("? 1 custom domain(s) found but neither listed nor tagged: other.example.com (cognito, account 123456789012, eu-central-1)")
            && status.stdout.contains("+ auth.example.com: discovered: tag cognito-cert-rotator=enabled"),
        "{}",
        status.stdout
    );

    // The tag goes: the domain is no longer managed.
    cognito
        .update_user_pool()
        .user_pool_id(&pool)
        .set_user_pool_tags(Some(Default::default()))
        .send()
        .await
        .unwrap();
    wait_for(
        "discovery to let the untagged pool go",
        Duration::from_secs(20),
        || {
            d.log()
                .contains("discovery: auth.example.com is no longer tagged")
        },
    );
    d.signal("-TERM");
}

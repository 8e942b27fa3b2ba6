//! InUseBy ARNs classified, consumers' rows, fleet entries and tagged targets, from plain data.

use super::*;
use crate::config::model::DiscoverySettings;
use crate::discovery::{tagged, Discovery};

const LISTENER: &str = "arn:aws:elasticloadbalancing:eu-west-1:111111111111:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2";

#[test]
fn in_use_by_arns_name_their_kind() {
    assert_eq!(
        classify("arn:aws:cloudfront::111111111111:distribution/E2QWRUHEXAMPLE"),
        Use::Distribution {
            account: "111111111111".into(),
            id: "E2QWRUHEXAMPLE".into()
        }
    );
    assert_eq!(
        classify("arn:aws:apigateway:eu-west-1::/domainnames/api.example.com"),
        Use::ApiDomain {
            region: "eu-west-1".into(),
            name: "api.example.com".into()
        }
    );
    let lb =
        "arn:aws:elasticloadbalancing:eu-west-1:111111111111:loadbalancer/app/web/50dc6c495c0c9188";
    assert_eq!(
        classify(lb),
        Use::LoadBalancer {
            region: "eu-west-1".into(),
            arn: lb.into()
        }
    );
    for other in [
        "arn:aws:apprunner:eu-west-1:111111111111:service/web/abc",
        "arn:aws:cloudfront::111111111111:streaming-distribution/E1",
        "arn:aws:apigateway:eu-west-1::/restapis/abc",
        "arn:aws:elasticloadbalancing:eu-west-1:111111111111:listener/app/web/5/f",
        "not an arn",
        "",
    ] {
        assert_eq!(classify(other), Use::Other(other.into()), "{other}");
    }
}

fn row(consumer: Option<Consumer>, id: &str, names: &[&str]) -> FoundConsumer {
    let mut found = FoundConsumer::new(
        consumer,
        id,
        "eu-west-1",
        names.iter().map(|n| (*n).to_string()).collect(),
    );
    found.account = "111111111111".into();
    found.certificate_arn = "arn:aws:acm:eu-west-1:111111111111:certificate/abc".into();
    found
}

#[test]
fn the_domain_is_the_first_name_that_is_not_a_wildcard() {
    let listener = Some(Consumer::Listener {
        arn: LISTENER.into(),
    });
    let found = row(
        listener.clone(),
        LISTENER,
        &["*.example.com", "app.example.com"],
    );
    assert_eq!(found.domain.as_deref(), Some("app.example.com"));
    assert!(found.can_be_target());
    let wild = row(listener, LISTENER, &["*.example.com"]);
    assert_eq!(wild.domain, None);
    assert!(!wild.can_be_target());
    assert!(wild
        .note
        .as_deref()
        .unwrap_or_default()
        .contains("wildcards only"));
    let other = row(None, "arn:aws:apprunner:eu-west-1:1:service/x", &[]);
    assert_eq!(other.kind, "other");
    assert!(!other.can_be_target());
}

#[test]
fn a_fleet_entry_names_the_consumer_with_its_key_or_says_why_not() {
    let dist = row(
        Some(Consumer::Distribution { id: "E2QW".into() }),
        "E2QW",
        &["www.example.com"],
    );
    let entry = dist.fleet_entry(false);
    assert!(
        entry.contains("  - domain: www.example.com\n    cloudfront_distribution_id: E2QW\n"),
        "{entry}"
    );
    let api = row(
        Some(Consumer::ApiDomain),
        "api.example.com",
        &["api.example.com"],
    );
    assert!(api
        .fleet_entry(false)
        .contains("  - domain: api.example.com\n    api_gateway_region: eu-west-1\n"));
    let mut listener = row(
        Some(Consumer::Listener {
            arn: LISTENER.into(),
        }),
        LISTENER,
        &["app.example.com"],
    );
    listener.role_arn = Some("arn:aws:iam::111111111111:role/ccr".into());
    let entry = listener.fleet_entry(true);
    assert!(
        entry.contains(&format!(
            "    listener_arn: {LISTENER}\n    role_arn: arn:aws:iam::111111111111:role/ccr\n"
        )),
        "{entry}"
    );
    let other = row(None, "arn:aws:apprunner:eu-west-1:1:service/x", &[]);
    let entry = other.fleet_entry(true);
    assert!(!entry.contains("- domain:"), "{entry}");
    assert!(
        entry.contains("# not written: the rotator cannot move"),
        "{entry}"
    );
}

#[test]
fn the_fleet_yaml_is_a_config_the_loader_reads() {
    let mut d = Discovery {
        consumers: vec![
            row(
                Some(Consumer::Distribution { id: "E2QW".into() }),
                "E2QW",
                &["www.example.com"],
            ),
            row(None, "arn:aws:apprunner:eu-west-1:1:service/x", &[]),
        ],
        ..Discovery::default()
    };
    d.sort();
    let yaml = d.fleet_yaml(Utc::now());
    let parsed: serde_yaml_ng::Value = serde_yaml_ng::from_str(&yaml).unwrap();
    assert_eq!(parsed["domains"][0]["cloudfront_distribution_id"], "E2QW");
    assert_eq!(
        parsed["domains"].as_sequence().map(Vec::len),
        Some(1),
        "{yaml}"
    );
    let none = Discovery {
        consumers: vec![row(None, "arn:aws:apprunner:eu-west-1:1:service/x", &[])],
        ..Discovery::default()
    };
    let yaml = none.fleet_yaml(Utc::now());
    assert!(yaml.contains("domains: []\n"), "{yaml}");
}

fn settings() -> DiscoverySettings {
    let config = crate::config::Config::parse(
        "domains: []\ndiscovery:\n  regions: [eu-west-1]\n  manage_tagged: {rotate: \"yes\"}\n",
        std::path::Path::new("test.yaml"),
    )
    .unwrap();
    config.discovery.unwrap()
}

#[test]
fn a_tagged_consumer_becomes_one_target_an_untagged_one_is_unmanaged() {
    let listener = Some(Consumer::Listener {
        arn: LISTENER.into(),
    });
    let mut tagged_row = row(listener.clone(), LISTENER, &["app.example.com"]);
    tagged_row.tags = settings().manage_tagged.clone();
    // The same listener's second certificate: still one target.
    let mut second = tagged_row.clone();
    second.certificate_arn.push('2');
    let plain = row(
        Some(Consumer::Distribution { id: "E2QW".into() }),
        "E2QW",
        &["www.example.com"],
    );
    let found = Discovery {
        consumers: vec![tagged_row, second, plain],
        ..Discovery::default()
    };
    let out = tagged(&found, &settings(), &[]);
    assert_eq!(out.targets.len(), 1, "{:?}", out.targets);
    let target = &out.targets[0];
    assert_eq!(target.domain, "app.example.com");
    assert_eq!(
        target.consumer,
        Consumer::Listener {
            arn: LISTENER.into()
        }
    );
    assert_eq!(target.region, "eu-west-1");
    assert_eq!(target.discovered.as_deref(), Some("tag rotate=yes"));
    assert_eq!(out.unmanaged_consumers.len(), 1);
    assert_eq!(out.unmanaged_consumers[0].id, "E2QW");
    // Listed under `domains:`, it is neither a target nor unmanaged.
    let again = tagged(&found, &settings(), &out.targets);
    assert!(again.targets.is_empty(), "{:?}", again.targets);
    assert_eq!(again.unmanaged_consumers.len(), 1);
}

#[test]
fn the_table_marks_what_cannot_be_a_target() {
    let rows = [
        row(None, "arn:aws:apprunner:eu-west-1:1:service/x", &[]),
        row(
            Some(Consumer::Listener {
                arn: LISTENER.into(),
            }),
            LISTENER,
            &["app.example.com"],
        ),
    ];
    let text = table(&rows, Utc::now());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "");
    assert!(lines[1].starts_with("KIND"), "{text}");
    assert!(
        lines[2].starts_with("other") && lines[2].ends_with("cannot"),
        "{text}"
    );
    assert!(
        lines[3].contains("listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2"),
        "{text}"
    );
    assert!(!lines[3].contains("arn:aws:elasticloadbalancing"), "{text}");
    assert!(lines[3].ends_with("no"), "{text}");
    assert_eq!(table(&[], Utc::now()), "");
}

#[test]
fn one_name_is_one_entry_the_distribution_before_its_origins_listener() {
    let dist = row(
        Some(Consumer::Distribution { id: "E2QW".into() }),
        "E2QW",
        &["www.example.com"],
    );
    let origin = row(
        Some(Consumer::Listener {
            arn: LISTENER.into(),
        }),
        LISTENER,
        &["www.example.com"],
    );
    let api = row(
        Some(Consumer::ApiDomain),
        "api.example.com",
        &["api.example.com"],
    );
    let mut d = Discovery {
        consumers: vec![origin, dist, api],
        ..Discovery::default()
    };
    d.sort();
    d.settle_domains(["api.example.com".to_string()].into());
    let notes: Vec<(&str, Option<&str>)> = d
        .consumers
        .iter()
        .map(|c| (c.kind, c.note.as_deref()))
        .collect();
    assert_eq!(
        notes,
        [
            (
                "api_gateway",
                Some(
                    "api.example.com is already the domain of another entry (one entry per domain)"
                )
            ),
            ("cloudfront", None),
            (
                "listener",
                Some(
                    "www.example.com is already the domain of another entry (one entry per domain)"
                )
            ),
        ]
    );
    let yaml = d.fleet_yaml(Utc::now());
    assert_eq!(
        yaml.matches("- domain: www.example.com").count(),
        1,
        "{yaml}"
    );
    let parsed: serde_yaml_ng::Value = serde_yaml_ng::from_str(&yaml).unwrap();
    assert_eq!(
        parsed["domains"].as_sequence().map(Vec::len),
        Some(1),
        "{yaml}"
    );
}

#[test]
fn each_accounts_fleet_file_holds_its_consumers_with_the_role_as_defaults() {
    let mut listener = row(
        Some(Consumer::Listener {
            arn: LISTENER.into(),
        }),
        LISTENER,
        &["app.example.com"],
    );
    listener.role_arn = Some("arn:aws:iam::111111111111:role/ccr".into());
    let d = Discovery {
        consumers: vec![listener],
        ..Discovery::default()
    };
    let files = d.fleet_files(Utc::now());
    let file = &files["111111111111"];
    assert!(
        file.contains("defaults:\n  role_arn: arn:aws:iam::111111111111:role/ccr\n"),
        "{file}"
    );
    assert!(
        file.contains(&format!("    listener_arn: {LISTENER}\n")),
        "{file}"
    );
    assert!(!file.contains("    role_arn:"), "{file}");
    let parsed: serde_yaml_ng::Value = serde_yaml_ng::from_str(file).unwrap();
    assert_eq!(parsed["domains"][0]["domain"], "app.example.com");
}

//! The report from plain data.

use super::*;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn found(domain: &str, account: &str, role: Option<&str>, managed: bool) -> Found {
    Found {
        domain: domain.to_string(),
        user_pool_id: "eu-west-1_Pool".to_string(),
        account: account.to_string(),
        region: "eu-west-1".to_string(),
        role_arn: role.map(str::to_string),
        certificate_arn: Some("arn:aws:acm:us-east-1:1:certificate/abc".to_string()),
        not_after: Some(at("2027-01-01T00:00:00Z")),
        managed,
        tags: BTreeMap::new(),
    }
}

fn discovery() -> Discovery {
    let mut d = Discovery {
        domains: vec![
            found("z.example.com", "111111111111", None, true),
            found(
                "a.example.com",
                "222222222222",
                Some("arn:aws:iam::222222222222:role/ccr"),
                false,
            ),
        ],
        errors: vec![ScopeError {
            account: "333333333333".to_string(),
            region: None,
            error: "cannot assume arn:aws:iam::333333333333:role/ccr: AccessDenied".to_string(),
        }],
        consumers: Vec::new(),
        scopes_read: BTreeSet::new(),
    };
    d.sort();
    d
}

#[test]
fn the_table_is_sorted_with_a_summary_and_the_failed_scopes() {
    let text = discovery().text(at("2026-12-01T00:00:00Z"));
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("DOMAIN"), "{text}");
    assert!(lines[1].starts_with("a.example.com"), "{text}");
    let cells: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(cells[cells.len() - 2..], ["31", "no"], "{text}");
    assert!(lines[2].starts_with("z.example.com"), "{text}");
    assert_eq!(
        lines[3],
        "! 333333333333 (every region): cannot assume arn:aws:iam::333333333333:role/ccr: AccessDenied"
    );
    assert_eq!(
        lines[4],
        "2 custom domains and 0 other consumers in 2 accounts and 1 regions; 1 not managed; 1 scopes failed"
    );
}

#[test]
fn the_json_names_the_role_only_outside_the_callers_account() {
    let json = serde_json::to_value(discovery()).unwrap();
    assert_eq!(
        json["domains"][0]["role_arn"],
        "arn:aws:iam::222222222222:role/ccr"
    );
    assert!(json["domains"][1].get("role_arn").is_none(), "{json}");
    assert_eq!(json["domains"][0]["not_after"], "2027-01-01T00:00:00Z");
    assert_eq!(json["errors"][0]["region"], serde_json::Value::Null);
}

#[test]
fn the_fleet_files_hold_only_the_unmanaged_domains_with_their_role() {
    let now = at("2026-12-01T00:00:00Z");
    let yaml = discovery().fleet_yaml(now);
    assert!(yaml.contains("  - domain: a.example.com\n    user_pool_id: eu-west-1_Pool\n    role_arn: arn:aws:iam::222222222222:role/ccr\n"), "{yaml}");
    assert!(!yaml.contains("z.example.com"), "{yaml}");
    assert!(
        yaml.contains(
            "# account 222222222222, eu-west-1: certificate abc expires 2027-01-01T00:00:00Z"
        ),
        "{yaml}"
    );
    let files = discovery().fleet_files(now);
    assert_eq!(files.len(), 1);
    let file = &files["222222222222"];
    assert!(
        file.contains("defaults:\n  role_arn: arn:aws:iam::222222222222:role/ccr\n"),
        "{file}"
    );
    assert!(!file.contains("    role_arn:"), "{file}");
}

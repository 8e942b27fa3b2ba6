//! `discover` finds every consumer of a certificate through ACM's `InUseBy`: a distribution,
//! an API Gateway domain, a listener with a wildcard default and a named SNI certificate,
//! beside a Cognito custom domain; its fleet YAML is a valid config, and
//! `discovery.manage_tagged` takes a tagged distribution as a target.

use crate::support::{
    api_domain, distribution, import, import_with, pool_with_domain, stage, write_config, Leaf,
    API, API_REGION as ELB_REGION, REGION, WWW,
};

const APP: &str = "app.example.com";

#[tokio::test]
async fn discover_lists_every_consumer_of_every_certificate_and_tagged_ones_become_targets() {
    let s = stage(&[]);
    let auth = import(&s.emu, &s.ca, Leaf::new("auth.example.com", 40, 0x2001)).await;
    let pool = pool_with_domain(&s.emu, REGION, "auth.example.com", &auth.arn, 2).await;
    let www = import(&s.emu, &s.ca, Leaf::new(WWW, 40, 0x2011)).await;
    let id = distribution(&s.emu, &www.arn).await;
    s.emu
        .cloudfront()
        .tag_resource()
        .resource(format!(
            "arn:aws:cloudfront::123456789012:distribution/{id}"
        ))
        .tags(
            aws_sdk_cloudfront::types::Tags::builder()
                .items(
                    aws_sdk_cloudfront::types::Tag::builder()
                        .key("rotate")
                        .value("yes")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let regional = s.emu.acm_in(ELB_REGION);
    let api = import_with(&regional, &s.ca, Leaf::new(API, 40, 0x2021)).await;
    api_domain(&s.emu, &api.arn).await;
    let wildcard = import_with(&regional, &s.ca, Leaf::new("*.example.com", 40, 0x2031)).await;
    let app = import_with(&regional, &s.ca, Leaf::new(APP, 40, 0x2032)).await;
    let out = crate::support::Emulator::http(
        &s.emu.endpoint,
        "POST",
        "/_ccr/listener",
        &serde_json::json!({"region": ELB_REGION, "default": wildcard.arn, "sni": [app.arn]})
            .to_string(),
    );
    let listener: serde_json::Value = serde_json::from_str(&out).unwrap();
    let listener = listener["arn"].as_str().unwrap().to_string();
    let config = write_config(
        s.dir.path(),
        &format!("domains:\n  - domain: {API}\n    api_gateway_region: {ELB_REGION}\n"),
    );
    let config = config.to_str().unwrap().to_string();
    let discover = |output: &str| {
        s.emu.run(&[
            "discover",
            "--regions",
            &format!("{REGION},{ELB_REGION}"),
            "-c",
            &config,
            "--output",
            output,
        ])
    };

    let json = discover("json");
    assert_eq!(json.code, 0, "{}", json.stderr);
    let out: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    // The custom domain is listed once, as a domain (its CloudFront distribution is Cognito's).
    assert_eq!(out["domains"][0]["user_pool_id"], pool.as_str(), "{out}");
    let mut rows: Vec<(&str, &str, &str, Option<&str>, bool)> = out["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["kind"].as_str().unwrap(),
                c["id"].as_str().unwrap(),
                c["certificate_arn"].as_str().unwrap(),
                c["domain"].as_str(),
                c["managed"].as_bool().unwrap(),
            )
        })
        .collect();
    // Sorted by kind and ID; a listener's two certificates in either order.
    rows.sort_by_key(|r| (r.0, r.1, r.3.is_none()));
    assert_eq!(
        rows,
        [
            ("api_gateway", API, api.arn.as_str(), Some(API), true),
            (
                "cloudfront",
                id.as_str(),
                www.arn.as_str(),
                Some(WWW),
                false
            ),
            (
                "listener",
                listener.as_str(),
                app.arn.as_str(),
                Some(APP),
                false
            ),
            (
                "listener",
                listener.as_str(),
                wildcard.arn.as_str(),
                None,
                false
            ),
        ],
        "{out}"
    );
    let www_row = &out["consumers"][1];
    assert_eq!(
        www_row["names"],
        serde_json::json!([WWW, "static.example.com"])
    );
    assert_eq!(www_row["region"], "us-east-1");
    assert_eq!(www_row["account"], "123456789012");
    assert!(www_row["not_after"].is_string(), "{www_row}");
    let wild = out["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["certificate_arn"] == wildcard.arn.as_str())
        .unwrap();
    assert!(
        wild["note"].as_str().unwrap().contains("wildcards only"),
        "{wild}"
    );

    let text = discover("text");
    assert!(
        text.stdout
            .contains("1 custom domains and 4 other consumers in 1 accounts and 3 regions; 4 not managed; 0 scopes failed"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.lines().any(|l| l.starts_with("KIND")),
        "{}",
        text.stdout
    );

    // The fleet YAML of what is not managed yet is a configuration `validate` reads as it is:
    // the wildcard-only listener row is a comment saying why.
    let yaml = discover("yaml");
    assert!(
        yaml.stdout
            .contains(&format!("    cloudfront_distribution_id: {id}\n")),
        "{}",
        yaml.stdout
    );
    assert!(
        yaml.stdout.contains(&format!(
            "  - domain: {APP}\n    listener_arn: {listener}\n"
        )),
        "{}",
        yaml.stdout
    );
    assert!(
        yaml.stdout
            .contains("# not written: its names are wildcards only"),
        "{}",
        yaml.stdout
    );
    std::fs::write(s.dir.path().join("found.yaml"), &yaml.stdout).unwrap();
    let main = s.dir.path().join("main.yaml");
    std::fs::write(&main, "include: [found.yaml]\ndomains: []\n").unwrap();
    let valid = s.emu.run(&["validate", "-c", main.to_str().unwrap()]);
    assert_eq!(valid.code, 0, "{}\n{}", valid.stderr, yaml.stdout);

    // A consumer its service will not show is a row and an error saying why; the rest is
    // still listed, and the exit says something failed.
    s.emu.fault(
        serde_json::json!({"operation": "DescribeTags", "kind": "notauthorized", "times": -1}),
    );
    let denied = crate::support::run_binary(
        &[
            "discover",
            "--regions",
            &format!("{REGION},{ELB_REGION}"),
            "--output",
            "json",
        ],
        &[("AWS_ENDPOINT_URL", s.emu.proxy.as_str())],
    );
    s.emu.clear_faults();
    assert_eq!(denied.code, 1, "{}", denied.stderr);
    let out: serde_json::Value = serde_json::from_str(&denied.stdout).unwrap();
    let kinds: Vec<(&str, bool)> = out["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["kind"].as_str().unwrap(),
                c["note"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("cannot read it")),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("api_gateway", false),
            ("cloudfront", false),
            ("listener", true),
            ("listener", true)
        ],
        "{out}"
    );
    let error = out["errors"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("cannot read listener arn:aws:elasticloadbalancing:")
            && error.contains("NotAuthorized"),
        "{error}"
    );

    // `discovery.manage_tagged` makes the tagged distribution a target; `status` names the
    // rest as neither listed nor tagged.
    let tagged = write_config(
        s.dir.path(),
        &format!(
            "domains:\n  - domain: {API}\n    api_gateway_region: {ELB_REGION}\ndiscovery:\n  regions: [{REGION}, {ELB_REGION}]\n  manage_tagged:\n    rotate: \"yes\"\n"
        ),
    );
    let tagged = tagged.to_str().unwrap();
    let plan = s.emu.run(&["plan", "-c", tagged, "--output", "json"]);
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let targets: Vec<(&str, &str)> = plan["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["kind"].as_str().unwrap(), t["consumer"].as_str().unwrap()))
        .collect();
    assert!(targets.contains(&("cloudfront", id.as_str())), "{plan}");
    assert!(!targets.iter().any(|(k, _)| *k == "listener"), "{plan}");
    let status = s.emu.run(&["status", "-c", tagged]);
    assert!(
        status.stdout.contains(&format!(
            "{APP} (listener, account 123456789012, {ELB_REGION})"
        )) && status
            .stdout
            .contains("auth.example.com (cognito, account 123456789012, "),
        "{}",
        status.stdout
    );
}

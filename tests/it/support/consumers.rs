//! Consumers beyond Cognito, seeded on the emulator and read back: a CloudFront distribution,
//! a regional API Gateway domain, a load balancer listener; the `once` config that names them.

use aws_sdk_cloudfront::types::{
    Aliases, DefaultCacheBehavior, DistributionConfig, Origin, Origins, SslSupportMethod,
    ViewerCertificate, ViewerProtocolPolicy,
};

use super::*;

pub const WWW: &str = "www.example.com";
pub const API: &str = "api.example.com";
pub const API_REGION: &str = "eu-west-1";
pub const APP: &str = "app.example.com";

/// A distribution serving `WWW` (and `static.example.com`) on `arn`; returns its ID.
pub async fn distribution(emu: &Emulator, arn: &str) -> String {
    let viewer = ViewerCertificate::builder()
        .acm_certificate_arn(arn)
        .ssl_support_method(SslSupportMethod::SniOnly)
        .minimum_protocol_version(aws_sdk_cloudfront::types::MinimumProtocolVersion::from(
            "TLSv1.2_2021",
        ))
        .build();
    let config = DistributionConfig::builder()
        .caller_reference(format!("ref-{arn}"))
        .comment("the site")
        .enabled(true)
        .aliases(
            Aliases::builder()
                .quantity(2)
                .items(WWW)
                .items("static.example.com")
                .build()
                .unwrap(),
        )
        .origins(
            Origins::builder()
                .quantity(1)
                .items(
                    Origin::builder()
                        .id("origin")
                        .domain_name("origin.example.com")
                        .custom_origin_config(
                            aws_sdk_cloudfront::types::CustomOriginConfig::builder()
                                .http_port(80)
                                .https_port(443)
                                .origin_protocol_policy(
                                    aws_sdk_cloudfront::types::OriginProtocolPolicy::HttpsOnly,
                                )
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .default_cache_behavior(
            DefaultCacheBehavior::builder()
                .target_origin_id("origin")
                .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
                .build()
                .unwrap(),
        )
        .viewer_certificate(viewer)
        .build()
        .unwrap();
    emu.cloudfront()
        .create_distribution()
        .distribution_config(config)
        .send()
        .await
        .unwrap()
        .distribution()
        .unwrap()
        .id()
        .to_string()
}

/// The distribution's viewer certificate ARN, TLS policy and comment.
pub async fn distribution_state(emu: &Emulator, id: &str) -> (String, String, String) {
    let out = emu
        .cloudfront()
        .get_distribution_config()
        .id(id)
        .send()
        .await
        .unwrap();
    let config = out.distribution_config().unwrap();
    let viewer = config.viewer_certificate().unwrap();
    (
        viewer.acm_certificate_arn().unwrap_or_default().to_string(),
        viewer
            .minimum_protocol_version()
            .map(|v| v.as_str().to_string())
            .unwrap_or_default(),
        config.comment().to_string(),
    )
}

/// A regional API Gateway custom domain `API` on `arn` in `API_REGION`.
pub async fn api_domain(emu: &Emulator, arn: &str) {
    emu.apigateway(API_REGION)
        .create_domain_name()
        .domain_name(API)
        .regional_certificate_arn(arn)
        .endpoint_configuration(
            aws_sdk_apigateway::types::EndpointConfiguration::builder()
                .types(aws_sdk_apigateway::types::EndpointType::Regional)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// The API Gateway domain's regional certificate ARN.
pub async fn api_domain_arn(emu: &Emulator) -> Option<String> {
    emu.apigateway(API_REGION)
        .get_domain_name()
        .domain_name(API)
        .send()
        .await
        .unwrap()
        .regional_certificate_arn()
        .map(str::to_string)
}

/// A load balancer listener in `API_REGION` on `default` with `sni` in its SNI list; its ARN.
pub fn listener(emu: &Emulator, default: &str, sni: &[&str]) -> String {
    let out = Emulator::http(
        &emu.endpoint,
        "POST",
        "/_ccr/listener",
        &serde_json::json!({"region": API_REGION, "default": default, "sni": sni}).to_string(),
    );
    let out: serde_json::Value = serde_json::from_str(&out).unwrap();
    out["arn"].as_str().unwrap().to_string()
}

/// The listener's (default, SNI list), as DescribeListenerCertificates says.
pub async fn listener_state(arn: &str, emu: &Emulator) -> (String, Vec<String>) {
    let out = emu
        .elb(API_REGION)
        .describe_listener_certificates()
        .listener_arn(arn)
        .send()
        .await
        .unwrap();
    let mut default = String::new();
    let mut sni = Vec::new();
    for c in out.certificates() {
        let a = c.certificate_arn().unwrap().to_string();
        if c.is_default() == Some(true) {
            default = a;
        } else {
            sni.push(a);
        }
    }
    (default, sni)
}

/// A `once` config for `entries` (YAML list items), verifying at the edge within `window`
/// (with `verify_extra`, more `verify:` lines).
pub fn consumer_config(s: &Stage, window: &str, verify_extra: &str, entries: &str) -> String {
    let text = format!(
        "verify:\n  window: {window}\n  interval: 300ms\n  connect_to: {}\n  ca_file: {}\n{verify_extra}defaults:\n  min_validity: 30d\ndomains:\n{entries}",
        s.emu.edge,
        s.ca_file.display()
    );
    write_config(s.dir.path(), &text)
        .to_string_lossy()
        .into_owned()
}

/// An old (20 days) and a new (90 days) certificate for `name`, in us-east-1.
pub async fn pair(s: &Stage, name: &str, serial: u64) -> (Imported, Imported) {
    let old = import(&s.emu, &s.ca, Leaf::new(name, 20, serial)).await;
    let new = import(&s.emu, &s.ca, Leaf::new(name, 90, serial + 1)).await;
    (old, new)
}

/// `once --wait` with `config`, which must exit 0 with `domain` rotated and verified.
pub fn once_verified(s: &Stage, config: &str, domain: &str) -> Run {
    let run = s.emu.run(&["once", "--wait", "-c", config]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("{domain}: rotated-verified")),
        "{}",
        run.stderr
    );
    run
}

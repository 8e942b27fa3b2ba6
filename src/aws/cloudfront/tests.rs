use std::sync::{Arc, Mutex};

use aws_sdk_cloudfront::error::ErrorMetadata;
use aws_sdk_cloudfront::operation::get_distribution::{
    GetDistributionError, GetDistributionOutput,
};
use aws_sdk_cloudfront::operation::get_distribution_config::GetDistributionConfigOutput;
use aws_sdk_cloudfront::operation::update_distribution::{
    UpdateDistributionError, UpdateDistributionOutput,
};
use aws_sdk_cloudfront::types::error::{NoSuchDistribution, PreconditionFailed};
use aws_sdk_cloudfront::types::{
    Aliases, DefaultCacheBehavior, Distribution, MinimumProtocolVersion, Origin, Origins,
    SslSupportMethod, ViewerCertificate, ViewerProtocolPolicy,
};
use aws_smithy_mocks::{mock, mock_client, RuleMode};

use super::*;

const OLD: &str = "arn:aws:acm:us-east-1:1:certificate/old";
const NEW: &str = "arn:aws:acm:us-east-1:1:certificate/new";

/// A distribution config for www.example.com on `arn`, with a comment and TLS policy that a
/// write must keep.
fn config(arn: &str, comment: &str) -> DistributionConfig {
    #[allow(deprecated)]
    let viewer = ViewerCertificate::builder()
        .acm_certificate_arn(arn)
        .certificate(arn)
        .certificate_source(aws_sdk_cloudfront::types::CertificateSource::Acm)
        .iam_certificate_id("")
        .cloud_front_default_certificate(false)
        .ssl_support_method(SslSupportMethod::SniOnly)
        .minimum_protocol_version(MinimumProtocolVersion::from("TLSv1.2_2021"))
        .build();
    DistributionConfig::builder()
        .caller_reference("ref")
        .comment(comment)
        .enabled(true)
        .aliases(
            Aliases::builder()
                .quantity(2)
                .items("www.example.com")
                .items("static.example.com")
                .build()
                .unwrap(),
        )
        .origins(
            Origins::builder()
                .quantity(1)
                .items(
                    Origin::builder()
                        .id("o")
                        .domain_name("origin.example.com")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .default_cache_behavior(
            DefaultCacheBehavior::builder()
                .target_origin_id("o")
                .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
                .build()
                .unwrap(),
        )
        .viewer_certificate(viewer)
        .build()
        .unwrap()
}

fn distribution(status: &str, arn: &str) -> GetDistributionOutput {
    GetDistributionOutput::builder()
        .distribution(
            Distribution::builder()
                .id("E2QWRUHEXAMPLE")
                .arn("arn:aws:cloudfront::1:distribution/E2QWRUHEXAMPLE")
                .status(status)
                .last_modified_time(aws_sdk_cloudfront::primitives::DateTime::from_secs(0))
                .in_progress_invalidation_batches(0)
                .domain_name("d111.cloudfront.net")
                .distribution_config(config(arn, "site"))
                .build()
                .unwrap(),
        )
        .e_tag("E1")
        .build()
}

fn read(arn: &'static str, comment: &'static str, etag: &'static str) -> aws_smithy_mocks::Rule {
    mock!(Client::get_distribution_config)
        .match_requests(|r| r.id() == Some("E2QWRUHEXAMPLE"))
        .then_output(move || {
            GetDistributionConfigOutput::builder()
                .distribution_config(config(arn, comment))
                .e_tag(etag)
                .build()
        })
}

#[tokio::test]
async fn a_deployed_distribution_with_the_alias_is_an_active_domain() {
    let rule = mock!(Client::get_distribution).then_output(|| distribution("Deployed", OLD));
    let client = mock_client!(aws_sdk_cloudfront, RuleMode::Sequential, [&rule]);
    let view = Distributions::new(client)
        .describe("E2QWRUHEXAMPLE", "WWW.example.com")
        .await
        .unwrap();
    let DomainView::Present(d) = view else {
        panic!("expected a domain")
    };
    assert_eq!(d.status, DomainStatus::Active);
    assert_eq!(d.certificate_arn.as_deref(), Some(OLD));
    assert_eq!(d.owner, "E2QWRUHEXAMPLE");
    assert_eq!(d.certificate_region, "us-east-1");
}

#[tokio::test]
async fn in_progress_is_updating_and_an_unknown_alias_or_distribution_is_missing() {
    let progress = mock!(Client::get_distribution).then_output(|| distribution("InProgress", NEW));
    let client = mock_client!(aws_sdk_cloudfront, RuleMode::Sequential, [&progress]);
    let view = Distributions::new(client)
        .describe("E2QWRUHEXAMPLE", "static.example.com")
        .await
        .unwrap();
    assert!(matches!(view, DomainView::Present(d) if d.status == DomainStatus::Updating));

    let other = mock!(Client::get_distribution).then_output(|| distribution("Deployed", OLD));
    let client = mock_client!(aws_sdk_cloudfront, RuleMode::Sequential, [&other]);
    let view = Distributions::new(client)
        .describe("E2QWRUHEXAMPLE", "api.example.com")
        .await
        .unwrap();
    assert_eq!(view, DomainView::Missing);

    let gone = mock!(Client::get_distribution).then_error(|| {
        GetDistributionError::NoSuchDistribution(
            NoSuchDistribution::builder()
                .meta(ErrorMetadata::builder().code("NoSuchDistribution").build())
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_cloudfront, RuleMode::Sequential, [&gone]);
    let view = Distributions::new(client)
        .describe("E2QWRUHEXAMPLE", "www.example.com")
        .await
        .unwrap();
    assert_eq!(view, DomainView::Missing);
}

/// What UpdateDistribution was sent: (IfMatch, config).
type Sent = Arc<Mutex<Vec<(Option<String>, Option<DistributionConfig>)>>>;

fn recording_write(sent: &Sent) -> aws_smithy_mocks::Rule {
    let sent = sent.clone();
    mock!(Client::update_distribution)
        .match_requests(move |r| {
            sent.lock().unwrap().push((
                r.if_match().map(str::to_string),
                r.distribution_config().cloned(),
            ));
            true
        })
        .then_output(|| UpdateDistributionOutput::builder().e_tag("E2").build())
}

#[tokio::test]
async fn the_write_changes_only_the_certificate_and_sends_the_etag_it_read() {
    let sent: Sent = Arc::default();
    let get = read(OLD, "site", "E1");
    let put = recording_write(&sent);
    let client = mock_client!(aws_sdk_cloudfront, RuleMode::Sequential, [&get, &put]);
    Distributions::new(client)
        .update_certificate("E2QWRUHEXAMPLE", Some(OLD), NEW)
        .await
        .unwrap();
    let sent = sent.lock().unwrap();
    assert_eq!(sent.len(), 1);
    let (if_match, written) = &sent[0];
    assert_eq!(if_match.as_deref(), Some("E1"));
    let written = written.clone().unwrap();
    let mut expected = config(OLD, "site");
    with_certificate(&mut expected, NEW);
    assert_eq!(written, expected);
    let viewer = written.viewer_certificate().unwrap();
    assert_eq!(viewer.acm_certificate_arn(), Some(NEW));
    assert_eq!(
        viewer.ssl_support_method(),
        Some(&SslSupportMethod::SniOnly)
    );
    assert_eq!(
        viewer.minimum_protocol_version().map(|v| v.as_str()),
        Some("TLSv1.2_2021")
    );
    assert_eq!(viewer.iam_certificate_id(), None);
    assert_eq!(written.comment(), "site");
    assert_eq!(written.aliases().unwrap().items().len(), 2);
}

#[tokio::test]
async fn a_concurrent_change_is_read_again_and_kept() {
    let sent: Sent = Arc::default();
    let first = read(OLD, "site", "E1");
    let refused = mock!(Client::update_distribution).then_error(|| {
        UpdateDistributionError::PreconditionFailed(
            PreconditionFailed::builder()
                .meta(ErrorMetadata::builder().code("PreconditionFailed").build())
                .build(),
        )
    });
    let second = read(OLD, "changed by someone else", "E9");
    let put = recording_write(&sent);
    let client = mock_client!(
        aws_sdk_cloudfront,
        RuleMode::Sequential,
        [&first, &refused, &second, &put]
    );
    Distributions::new(client)
        .update_certificate("E2QWRUHEXAMPLE", Some(OLD), NEW)
        .await
        .unwrap();
    let sent = sent.lock().unwrap();
    let (if_match, written) = &sent[0];
    assert_eq!(if_match.as_deref(), Some("E9"), "the second read's ETag");
    assert_eq!(
        written.as_ref().unwrap().comment(),
        "changed by someone else",
        "the other writer's change is kept, not overwritten"
    );
}

#[tokio::test]
async fn a_certificate_changed_by_someone_else_is_not_overwritten() {
    let get = read("arn:aws:acm:us-east-1:1:certificate/theirs", "site", "E1");
    let client = mock_client!(aws_sdk_cloudfront, RuleMode::Sequential, [&get]);
    let err = Distributions::new(client)
        .update_certificate("E2QWRUHEXAMPLE", Some(OLD), NEW)
        .await
        .unwrap_err();
    assert_eq!(err.metric_label(), "CertificateChanged");
    assert!(err.to_string().contains("theirs"), "{err}");
}

#[tokio::test]
async fn a_write_already_made_is_not_made_again() {
    let get = read(NEW, "site", "E2");
    let client = mock_client!(aws_sdk_cloudfront, RuleMode::Sequential, [&get]);
    Distributions::new(client)
        .update_certificate("E2QWRUHEXAMPLE", Some(OLD), NEW)
        .await
        .unwrap();
}

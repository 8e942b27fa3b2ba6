use std::sync::{Arc, Mutex};

use aws_sdk_apigateway::error::ErrorMetadata;
use aws_sdk_apigateway::operation::get_domain_name::{GetDomainNameError, GetDomainNameOutput};
use aws_sdk_apigateway::operation::update_domain_name::UpdateDomainNameOutput;
use aws_sdk_apigateway::types::error::NotFoundException;
use aws_smithy_mocks::{mock, mock_client, RuleMode};

use super::*;

const REGIONAL: &str = "arn:aws:acm:eu-west-1:1:certificate/regional";
const EDGE: &str = "arn:aws:acm:us-east-1:1:certificate/edge";
const NEW: &str = "arn:aws:acm:eu-west-1:1:certificate/new";

fn regional() -> GetDomainNameOutput {
    GetDomainNameOutput::builder()
        .domain_name("api.example.com")
        .regional_certificate_arn(REGIONAL)
        .domain_name_status(DomainNameStatus::Available)
        .build()
}

#[tokio::test]
async fn a_regional_domain_takes_certificates_from_its_region() {
    let rule = mock!(Client::get_domain_name)
        .match_requests(|r| r.domain_name() == Some("api.example.com"))
        .then_output(regional);
    let client = mock_client!(aws_sdk_apigateway, RuleMode::Sequential, [&rule]);
    let view = ApiDomains::new(client, "eu-west-1")
        .describe("api.example.com")
        .await
        .unwrap();
    let DomainView::Present(d) = view else {
        panic!("expected a domain")
    };
    assert_eq!(d.certificate_arn.as_deref(), Some(REGIONAL));
    assert_eq!(d.certificate_region, "eu-west-1");
    assert_eq!(d.api_endpoint, Some(ApiEndpoint::Regional));
    assert_eq!(d.status, DomainStatus::Active);
    assert_eq!(d.owner, "api.example.com");
}

#[tokio::test]
async fn an_edge_optimized_domain_takes_us_east_1_and_updating_is_updating() {
    let rule = mock!(Client::get_domain_name).then_output(|| {
        GetDomainNameOutput::builder()
            .domain_name("api.example.com")
            .certificate_arn(EDGE)
            .domain_name_status(DomainNameStatus::Updating)
            .build()
    });
    let client = mock_client!(aws_sdk_apigateway, RuleMode::Sequential, [&rule]);
    let view = ApiDomains::new(client, "eu-west-1")
        .describe("api.example.com")
        .await
        .unwrap();
    let DomainView::Present(d) = view else {
        panic!("expected a domain")
    };
    assert_eq!(d.certificate_region, "us-east-1");
    assert_eq!(d.api_endpoint, Some(ApiEndpoint::Edge));
    assert_eq!(d.status, DomainStatus::Updating);
}

#[tokio::test]
async fn an_unknown_domain_name_is_missing() {
    let rule = mock!(Client::get_domain_name).then_error(|| {
        GetDomainNameError::NotFoundException(
            NotFoundException::builder()
                .meta(ErrorMetadata::builder().code("NotFoundException").build())
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_apigateway, RuleMode::Sequential, [&rule]);
    let view = ApiDomains::new(client, "eu-west-1")
        .describe("api.example.com")
        .await
        .unwrap();
    assert_eq!(view, DomainView::Missing);
}

#[tokio::test]
async fn the_write_is_one_replace_of_the_served_certificate_path() {
    for (endpoint, path) in [
        (ApiEndpoint::Regional, "/regionalCertificateArn"),
        (ApiEndpoint::Edge, "/certificateArn"),
    ] {
        let sent: Arc<Mutex<Vec<PatchOperation>>> = Arc::default();
        let seen = sent.clone();
        let rule = mock!(Client::update_domain_name)
            .match_requests(move |r| {
                seen.lock()
                    .unwrap()
                    .extend(r.patch_operations().iter().cloned());
                r.domain_name() == Some("api.example.com")
            })
            .then_output(|| UpdateDomainNameOutput::builder().build());
        let client = mock_client!(aws_sdk_apigateway, RuleMode::Sequential, [&rule]);
        let current = DomainInfo {
            api_endpoint: Some(endpoint),
            ..DomainInfo::of("api.example.com", "eu-west-1")
        };
        ApiDomains::new(client, "eu-west-1")
            .update_certificate("api.example.com", NEW, &current)
            .await
            .unwrap();
        let sent = sent.lock().unwrap();
        assert_eq!(sent.len(), 1, "{endpoint:?}");
        assert_eq!(sent[0].op(), Some(&Op::Replace));
        assert_eq!(sent[0].path(), Some(path));
        assert_eq!(sent[0].value(), Some(NEW));
    }
}

use aws_sdk_cognitoidentityprovider::error::ErrorMetadata;
use aws_sdk_cognitoidentityprovider::operation::describe_user_pool_domain::DescribeUserPoolDomainOutput;
use aws_sdk_cognitoidentityprovider::operation::update_user_pool_domain::{
    UpdateUserPoolDomainError, UpdateUserPoolDomainOutput,
};
use aws_sdk_cognitoidentityprovider::types::error::NotAuthorizedException;
use aws_sdk_cognitoidentityprovider::types::{DomainDescriptionType, DomainStatusType};
use aws_smithy_mocks::{mock, mock_client, RuleMode};

use super::*;

const NEW: &str = "arn:aws:acm:us-east-1:1:certificate/new";

fn info(version: Option<i32>, policy: Option<&str>) -> DomainInfo {
    DomainInfo {
        owner: "eu-central-1_Pool".into(),
        certificate_region: crate::model::CERTIFICATE_REGION.to_string(),
        api_endpoint: None,
        listener: None,
        status: "ACTIVE".into(),
        certificate_arn: Some("arn:aws:acm:us-east-1:1:certificate/old".into()),
        security_policy: policy.map(str::to_string),
        managed_login_version: version,
        failover: None,
        cloudfront_distribution: None,
    }
}

#[tokio::test]
async fn describe_reads_the_custom_domain_config() {
    let rule = mock!(Client::describe_user_pool_domain)
        .match_requests(|r| r.domain() == Some("auth.example.com"))
        .then_output(|| {
            DescribeUserPoolDomainOutput::builder()
                .domain_description(
                    DomainDescriptionType::builder()
                        .user_pool_id("eu-central-1_Pool")
                        .domain("auth.example.com")
                        .status(DomainStatusType::Updating)
                        .managed_login_version(2)
                        .cloud_front_distribution("d111.cloudfront.net")
                        .custom_domain_config(
                            CustomDomainConfigType::builder()
                                .certificate_arn("arn:aws:acm:us-east-1:1:certificate/old")
                                .security_policy(SecurityPolicyType::from("TLS_V1_2_2021"))
                                .build()
                                .unwrap(),
                        )
                        .build(),
                )
                .build()
        });
    let client = mock_client!(
        aws_sdk_cognitoidentityprovider,
        RuleMode::Sequential,
        [&rule]
    );
    let view = CognitoDomains::new(client)
        .describe("auth.example.com")
        .await
        .unwrap();
    let DomainView::Present(d) = view else {
        panic!("expected a domain")
    };
    assert_eq!(d.status, crate::model::DomainStatus::Updating);
    assert_eq!(d.managed_login_version, Some(2));
    assert_eq!(d.security_policy.as_deref(), Some("TLS_V1_2_2021"));
    assert_eq!(
        d.certificate_arn.as_deref(),
        Some("arn:aws:acm:us-east-1:1:certificate/old")
    );
}

#[tokio::test]
async fn an_empty_description_is_a_missing_domain() {
    let rule = mock!(Client::describe_user_pool_domain).then_output(|| {
        DescribeUserPoolDomainOutput::builder()
            .domain_description(DomainDescriptionType::builder().build())
            .build()
    });
    let client = mock_client!(
        aws_sdk_cognitoidentityprovider,
        RuleMode::Sequential,
        [&rule]
    );
    let view = CognitoDomains::new(client)
        .describe("nope.example.com")
        .await
        .unwrap();
    assert_eq!(view, DomainView::Missing);
}

#[tokio::test]
async fn update_always_sends_custom_domain_config_and_passes_back_managed_login_version() {
    let rule = mock!(Client::update_user_pool_domain)
        .match_requests(|r| {
            r.domain() == Some("auth.example.com")
                && r.user_pool_id() == Some("eu-central-1_Pool")
                && r.custom_domain_config().map(|c| c.certificate_arn()) == Some(NEW)
                && r.custom_domain_config()
                    .and_then(|c| c.security_policy())
                    .map(|p| p.as_str())
                    == Some("TLS_V1_2_2021")
                && r.managed_login_version() == Some(2)
        })
        .then_output(|| {
            UpdateUserPoolDomainOutput::builder()
                .managed_login_version(2)
                .build()
        });
    let client = mock_client!(
        aws_sdk_cognitoidentityprovider,
        RuleMode::Sequential,
        [&rule]
    );
    CognitoDomains::new(client)
        .update_certificate(
            "auth.example.com",
            "eu-central-1_Pool",
            NEW,
            &info(Some(2), Some("TLS_V1_2_2021")),
        )
        .await
        .unwrap();
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn update_keeps_classic_hosted_ui_and_sends_no_version_when_none_was_read() {
    let classic = mock!(Client::update_user_pool_domain)
        .match_requests(|r| {
            r.managed_login_version() == Some(1) && r.custom_domain_config().is_some()
        })
        .then_output(|| UpdateUserPoolDomainOutput::builder().build());
    let unknown = mock!(Client::update_user_pool_domain)
        .match_requests(|r| {
            r.managed_login_version().is_none() && r.custom_domain_config().is_some()
        })
        .then_output(|| UpdateUserPoolDomainOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cognitoidentityprovider,
        RuleMode::Sequential,
        [&classic, &unknown]
    );
    let cognito = CognitoDomains::new(client);
    cognito
        .update_certificate(
            "auth.example.com",
            "eu-central-1_Pool",
            NEW,
            &info(Some(1), None),
        )
        .await
        .unwrap();
    cognito
        .update_certificate(
            "auth.example.com",
            "eu-central-1_Pool",
            NEW,
            &info(None, None),
        )
        .await
        .unwrap();
    assert_eq!((classic.num_calls(), unknown.num_calls()), (1, 1));
}

#[tokio::test]
async fn update_errors_keep_the_aws_code() {
    let rule = mock!(Client::update_user_pool_domain).then_error(|| {
        UpdateUserPoolDomainError::NotAuthorizedException(
            NotAuthorizedException::builder()
                .message("not allowed")
                .meta(
                    ErrorMetadata::builder()
                        .code("NotAuthorizedException")
                        .message("not allowed")
                        .build(),
                )
                .build(),
        )
    });
    let client = mock_client!(
        aws_sdk_cognitoidentityprovider,
        RuleMode::Sequential,
        [&rule]
    );
    let err = CognitoDomains::new(client)
        .update_certificate(
            "auth.example.com",
            "eu-central-1_Pool",
            NEW,
            &info(Some(1), None),
        )
        .await
        .unwrap_err();
    assert_eq!(err.metric_label(), "NotAuthorizedException");
    assert!(!err.is_throttling());
}

#[tokio::test]
async fn the_lease_guard_sends_only_work_of_the_epoch_this_process_leads_at() {
    use crate::aws::lease_table::Fence;
    use crate::lease::guard::{under, LeaseGuard, NotLeading};
    use crate::lease::FenceSlot;

    // An HTTP answer (not a modeled one), so only a request actually transmitted gets it.
    let rule = mock!(Client::describe_user_pool_domain).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(200).unwrap(),
            aws_smithy_types::body::SdkBody::from(r#"{"DomainDescription":{}}"#),
        )
    });
    let slot = Arc::new(FenceSlot::default());
    let guard = LeaseGuard::new(slot.clone());
    let client = mock_client!(
        aws_sdk_cognitoidentityprovider,
        RuleMode::MatchAny,
        [&rule],
        |conf| conf.interceptor(guard.clone())
    );
    let cognito = CognitoDomains::new(client);
    let refused = |r: Result<DomainView, AwsError>| match r {
        Err(AwsError::NotLeading { operation, reason }) => {
            assert_eq!(operation, "DescribeUserPoolDomain");
            reason
        }
        other => panic!("expected a refusal, got {other:?}"),
    };
    // Never led: nothing goes out.
    let never = under(3, cognito.describe("auth.example.com")).await;
    assert_eq!(refused(never), NotLeading::NoLease);
    let fence = Fence {
        holder: "me".into(),
        epoch: 3,
    };
    slot.set(
        fence,
        tokio::time::Instant::now() + std::time::Duration::from_secs(60),
    );
    // Work of the epoch it leads at goes out.
    under(3, cognito.describe("auth.example.com"))
        .await
        .unwrap();
    // Work begun under an earlier epoch does not, though the process leads again.
    let stale = under(2, cognito.describe("auth.example.com")).await;
    assert_eq!(
        refused(stale),
        NotLeading::EpochMoved { started: 2, now: 3 }
    );
    // Acting work outside any epoch is refused rather than risked.
    assert_eq!(
        refused(cognito.describe("auth.example.com").await),
        NotLeading::NoEpoch
    );
    // Once the lease is lost, nothing more.
    slot.clear();
    let lost = under(3, cognito.describe("auth.example.com")).await;
    assert_eq!(refused(lost), NotLeading::NoLease);
}

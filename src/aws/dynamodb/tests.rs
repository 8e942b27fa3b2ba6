use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::operation::describe_table::DescribeTableOutput;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, KeySchemaElement, KeyType, ScalarAttributeType, TableDescription,
};
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};

use super::*;

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .unwrap()
}

fn string(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .unwrap()
}

fn the_table() -> Rule {
    mock!(Client::describe_table).then_output(|| {
        DescribeTableOutput::builder()
            .table(
                TableDescription::builder()
                    .table_name("ccr-state")
                    .key_schema(key("pk", KeyType::Hash))
                    .key_schema(key("sk", KeyType::Range))
                    .attribute_definitions(string("pk"))
                    .attribute_definitions(string("sk"))
                    .build(),
            )
            .build()
    })
}

/// DynamoDB's error answer `code` with HTTP `status`, `times` times.
fn failing_times(status: u16, code: &'static str, times: usize) -> Rule {
    mock!(Client::describe_table)
        .sequence()
        .http_response(move || {
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(status).unwrap(),
                aws_smithy_types::body::SdkBody::from(format!(
                    r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{code}","message":"{code}"}}"#
                )),
            )
        })
        .times(times)
        .build()
}

fn failing(status: u16, code: &'static str) -> Rule {
    failing_times(status, code, 1)
}

/// A state table on `rules`, without the SDK's own retries (each check is one answer).
fn table(rules: &[&Rule]) -> StateTable {
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, rules, |conf| conf
        .retry_config(RetryConfig::disabled()));
    StateTable::new(client, "ccr-state", "us-east-1")
}

#[tokio::test(start_paused = true)]
async fn a_table_check_outlasts_a_dynamodb_blip_at_start() {
    let (blip, busy, ok) = (
        failing(500, "InternalServerError"),
        failing(400, "ThrottlingException"),
        the_table(),
    );
    let started = tokio::time::Instant::now();
    table(&[&blip, &busy, &ok]).check_patiently().await.unwrap();
    // Checked again after 1 s, then 2 s: on tokio's clock, no real wait.
    assert_eq!(started.elapsed(), Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn a_refusal_or_a_missing_table_fails_the_check_at_once() {
    let (denied, ok) = (failing(400, "AccessDeniedException"), the_table());
    let refused = table(&[&denied, &ok]).check_patiently().await;
    assert!(
        matches!(&refused, Err(TableError::Aws(e)) if e.metric_label() == "AccessDeniedException"),
        "{refused:?}"
    );
    let missing = failing(400, "ResourceNotFoundException");
    let started = tokio::time::Instant::now();
    let gone = table(&[&missing, &ok]).check_patiently().await;
    assert!(matches!(gone, Err(TableError::Missing { .. })), "{gone:?}");
    assert_eq!(started.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn a_table_that_stays_unreachable_fails_after_about_15_seconds() {
    let (down, ok) = (failing_times(503, "ServiceUnavailable", 5), the_table());
    let started = tokio::time::Instant::now();
    let result = table(&[&down, &ok]).check_patiently().await;
    assert!(matches!(result, Err(TableError::Aws(_))), "{result:?}");
    assert_eq!(started.elapsed(), Duration::from_secs(15));
}

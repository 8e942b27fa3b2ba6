//! `state init`: create the state table when it is missing (on-demand billing, TTL on
//! `expires_at`) and wait until it is ACTIVE. Run once, by someone allowed to create tables
//! (the daemon's own policy does not need these actions; see iam/README.md).

use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
    TimeToLiveSpecification, TimeToLiveStatus,
};

use super::dynamodb::{StateTable, TableError};
use super::AwsError;

/// The attribute DynamoDB's TTL deletes expired items by.
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// Make sure the table exists, is ACTIVE and expires old items; returns what was done, one
/// line each (nothing when everything was already in place). `wait` bounds the wait for
/// ACTIVE; progress is reported through `progress`.
pub async fn init(
    table: &StateTable,
    wait: Duration,
    progress: &dyn Fn(&str),
) -> Result<Vec<String>, TableError> {
    let client = table.client();
    let name = table.name();
    let mut done = Vec::new();
    match table.check().await {
        Ok(()) => {}
        Err(TableError::Missing { .. }) => {
            let key = |name: &str, kind: KeyType| {
                KeySchemaElement::builder()
                    .attribute_name(name)
                    .key_type(kind)
                    .build()
            };
            let attr = |name: &str| {
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
            };
            client
                .create_table()
                .table_name(name)
                .billing_mode(BillingMode::PayPerRequest)
                .key_schema(key("pk", KeyType::Hash).map_err(|e| build_error("CreateTable", e))?)
                .key_schema(key("sk", KeyType::Range).map_err(|e| build_error("CreateTable", e))?)
                .attribute_definitions(attr("pk").map_err(|e| build_error("CreateTable", e))?)
                .attribute_definitions(attr("sk").map_err(|e| build_error("CreateTable", e))?)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("CreateTable", e))?;
            done.push(format!(
                "created table {name} in {} (on-demand billing, keys pk + sk)",
                table.region()
            ));
        }
        Err(other) => return Err(other),
    }
    let started = tokio::time::Instant::now();
    loop {
        let out = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DescribeTable", e))?;
        let status = out.table().and_then(|t| t.table_status()).cloned();
        if status == Some(TableStatus::Active) {
            break;
        }
        if started.elapsed() >= wait {
            return Err(AwsError::Malformed {
                operation: "DescribeTable",
                detail: format!(
                    "table {name} is still {} after {}s; run `state init` again later",
                    status.as_ref().map_or("unknown", |s| s.as_str()),
                    wait.as_secs()
                ),
            }
            .into());
        }
        progress(&format!(
            "waiting for table {name} to become ACTIVE (now {})",
            status.as_ref().map_or("unknown", |s| s.as_str())
        ));
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let ttl = client
        .describe_time_to_live()
        .table_name(name)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("DescribeTimeToLive", e))?;
    let on = ttl.time_to_live_description().is_some_and(|d| {
        d.attribute_name() == Some(TTL_ATTRIBUTE)
            && matches!(
                d.time_to_live_status(),
                Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
            )
    });
    if !on {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name(TTL_ATTRIBUTE)
                    .build()
                    .map_err(|e| build_error("UpdateTimeToLive", e))?,
            )
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("UpdateTimeToLive", e))?;
        done.push(format!(
            "enabled TTL on {TTL_ATTRIBUTE} (old records expire)"
        ));
    }
    Ok(done)
}

fn build_error(operation: &'static str, e: impl std::fmt::Display) -> AwsError {
    AwsError::Malformed {
        operation,
        detail: e.to_string(),
    }
}

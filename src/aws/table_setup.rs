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
    let mut done = Vec::new();
    match table.check_patiently().await {
        Ok(()) => {}
        Err(TableError::Missing { .. }) => done.push(create(table).await?),
        Err(other) => return Err(other),
    }
    wait_until_active(table, wait, progress).await?;
    done.extend(enable_ttl(table).await?);
    Ok(done)
}

/// CreateTable: keys pk + sk (strings), on-demand billing.
async fn create(table: &StateTable) -> Result<String, AwsError> {
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .map_err(|e| build_error("CreateTable", e))
    };
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| build_error("CreateTable", e))
    };
    table
        .client()
        .create_table()
        .table_name(table.name())
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .attribute_definitions(attr("pk")?)
        .attribute_definitions(attr("sk")?)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("CreateTable", e))?;
    Ok(format!(
        "created table {} in {} (on-demand billing, keys pk + sk)",
        table.name(),
        table.region()
    ))
}

/// Poll DescribeTable every 2 s until the table is ACTIVE, for at most `wait`.
async fn wait_until_active(
    table: &StateTable,
    wait: Duration,
    progress: &dyn Fn(&str),
) -> Result<(), AwsError> {
    let name = table.name();
    let started = tokio::time::Instant::now();
    loop {
        let out = table
            .client()
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DescribeTable", e))?;
        let status = out.table().and_then(|t| t.table_status()).cloned();
        if status == Some(TableStatus::Active) {
            return Ok(());
        }
        let now = status.as_ref().map_or("unknown", |s| s.as_str());
        if started.elapsed() >= wait {
            return Err(AwsError::Malformed {
                operation: "DescribeTable",
                detail: format!(
                    "table {name} is still {now} after {}s; run `state init` again later",
                    wait.as_secs()
                ),
            });
        }
        progress(&format!(
            "waiting for table {name} to become ACTIVE (now {now})"
        ));
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Turn TTL on `expires_at` on unless it already is; says so when it did.
async fn enable_ttl(table: &StateTable) -> Result<Option<String>, AwsError> {
    let client = table.client();
    let ttl = client
        .describe_time_to_live()
        .table_name(table.name())
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
    if on {
        return Ok(None);
    }
    client
        .update_time_to_live()
        .table_name(table.name())
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
    Ok(Some(format!(
        "enabled TTL on {TTL_ATTRIBUTE} (old records expire)"
    )))
}

fn build_error(operation: &'static str, e: impl std::fmt::Display) -> AwsError {
    AwsError::Malformed {
        operation,
        detail: e.to_string(),
    }
}

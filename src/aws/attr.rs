//! DynamoDB attribute values to and from plain Rust values, for the state and lease adapters.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::AwsError;

pub(super) fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

pub(super) fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(super) fn malformed(operation: &'static str, e: impl std::fmt::Display) -> AwsError {
    AwsError::Malformed {
        operation,
        detail: e.to_string(),
    }
}

pub(super) fn text(
    item: &HashMap<String, AttributeValue>,
    name: &str,
    operation: &'static str,
) -> Result<String, AwsError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v.clone()),
        _ => Err(malformed(
            operation,
            format!("the item has no string {name}"),
        )),
    }
}

pub(super) fn number(
    item: &HashMap<String, AttributeValue>,
    name: &str,
    operation: &'static str,
) -> Result<u64, AwsError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v
            .parse::<u64>()
            .map_err(|e| malformed(operation, format!("{name} {v:?}: {e}"))),
        _ => Err(malformed(
            operation,
            format!("the item has no number {name}"),
        )),
    }
}

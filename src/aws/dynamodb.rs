//! The DynamoDB adapter for shared state: plain strings and numbers in and out, no SDK types
//! past this file. The table has a string partition key `pk` and a string sort key `sk`:
//!
//! | pk | sk | attributes |
//! |---|---|---|
//! | `state` | `domain#<domain>` / `rollout#<key>` | `body` (the record's JSON), `version` (N), `expires_at` (N, TTL) |
//! | `lease` | `leader` | `holder`, `host`, `expires_ms` (N), `epoch` (N), `expires_at` (N, TTL) |
//!
//! Every write is conditional: a record on the version it was read at (optimistic
//! concurrency), and — while a lease is held — on the lease's holder and epoch (a fencing
//! token), in one `TransactWriteItems` so a stale leader can write nothing.

use std::collections::HashMap;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, KeyType, Put, ScalarAttributeType, TransactWriteItem,
};
use aws_sdk_dynamodb::Client;

use super::attr::{malformed, n, number, s, text};
pub use super::lease_table::Fence;
use super::lease_table::{lease_key, LeaseTable};
use super::AwsError;
pub use super::TableError;
use crate::metrics::AwsRequestCounter;

/// The partition of state records.
pub const STATE_PK: &str = "state";

/// A stored record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredItem {
    /// Its sort key (`domain#auth.example.com`).
    pub key: String,
    /// The record's JSON.
    pub body: String,
    /// Incremented by every write.
    pub version: u64,
}

/// One change to a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Create (`expect: None`: must not exist) or replace (`Some(v)`: must be at version v).
    Put {
        /// The record's sort key (`domain#NAME`, `rollout#KEY`, ...).
        key: String,
        /// The record, as JSON.
        body: String,
        /// The version it is read at; `None` for a new record.
        expect: Option<u64>,
        /// When DynamoDB may delete it (TTL), Unix seconds.
        expires_at: Option<i64>,
    },
    /// Remove a record at version `expect`.
    Delete {
        /// The record's sort key (`domain#NAME`, `rollout#KEY`, ...).
        key: String,
        /// The version it is read at.
        expect: u64,
    },
}

/// A write that did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// A record changed since it was read: read again and re-apply.
    #[error("a record changed since it was read")]
    Conflict,
    /// The lease is no longer this holder's at this epoch.
    #[error("the lease moved on: this process no longer leads")]
    Fenced,
    /// The DynamoDB call failed (after the SDK's retries).
    #[error(transparent)]
    Aws(#[from] AwsError),
}

/// The waits between checks of the table while DynamoDB fails transiently.
const CHECK_WAITS: [Duration; 4] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
];

/// The state table.
#[derive(Debug, Clone)]
pub struct StateTable {
    client: Client,
    table: String,
    region: String,
}

impl StateTable {
    /// Wrap a client (tests pass a mocked one).
    pub fn new(client: Client, table: &str, region: &str) -> StateTable {
        StateTable {
            client,
            table: table.to_string(),
            region: region.to_string(),
        }
    }

    /// A client for `region` (or the chain's), its calls counted, with the shared SDK
    /// configuration's retries and timeouts.
    pub fn from_sdk_config(
        sdk: &SdkConfig,
        table: &str,
        region: Option<&str>,
        counter: Option<AwsRequestCounter>,
    ) -> StateTable {
        let mut conf = aws_sdk_dynamodb::config::Builder::from(sdk);
        if let Some(r) = region {
            conf = conf.region(aws_config::Region::new(r.to_string()));
        }
        if let Some(counter) = counter {
            conf = conf.interceptor(counter);
        }
        let conf = conf.build();
        let region = conf
            .region()
            .map_or_else(|| "(no region)".to_string(), ToString::to_string);
        StateTable::new(Client::from_conf(conf), table, &region)
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.table
    }

    /// The underlying client, for `state init`.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The lease item's adapter, its calls bounded by `timeout` (all retries included), so a
    /// leader cut off from DynamoDB finds out well within its lease.
    pub fn leases(&self, timeout: Duration) -> LeaseTable {
        // The same client settings (endpoint, credentials, counter), tighter timeouts.
        let base = &self.client;
        let conf = base
            .config()
            .to_builder()
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(timeout)
                    .operation_attempt_timeout(timeout)
                    .operation_timeout(timeout)
                    .build(),
            )
            .build();
        LeaseTable::new(Client::from_conf(conf), &self.table)
    }

    /// The table's region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// [`StateTable::check`], tried again for about 15 s while DynamoDB fails transiently (no
    /// answer, throttling, a 5xx, each after the SDK's own retries), so a process does not
    /// exit because DynamoDB blipped as it started. A missing or misshapen table, or a refusal
    /// (access denied), fails at once.
    pub async fn check_patiently(&self) -> Result<(), TableError> {
        for wait in CHECK_WAITS {
            match self.check().await {
                Err(TableError::Aws(e)) if e.is_transient() => {
                    tracing::warn!(
                        "cannot check the DynamoDB table {} yet ({e}); trying again in {}s",
                        self.table,
                        wait.as_secs()
                    );
                    tokio::time::sleep(wait).await;
                }
                done => return done,
            }
        }
        self.check().await
    }

    /// The table exists and has the expected keys.
    pub async fn check(&self) -> Result<(), TableError> {
        let out = match self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                let missing = e
                    .as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception());
                if missing {
                    return Err(TableError::Missing {
                        table: self.table.clone(),
                        region: self.region.clone(),
                    });
                }
                return Err(AwsError::from_sdk("DescribeTable", e).into());
            }
        };
        let Some(desc) = out.table() else {
            return Err(TableError::Missing {
                table: self.table.clone(),
                region: self.region.clone(),
            });
        };
        check_schema(&self.table, desc)
    }

    /// Every state record (all pages of one partition; strongly consistent).
    pub async fn load(&self) -> Result<Vec<StoredItem>, AwsError> {
        let mut items = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(STATE_PK))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("Query", e))?;
            for item in page.items() {
                items.push(stored(item)?);
            }
            match page.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return Ok(items),
            }
        }
    }

    /// Apply `writes` all or nothing, each on its condition, and — with `fence` — only while
    /// the lease is still that holder's at that epoch.
    pub async fn write(&self, writes: &[Write], fence: Option<&Fence>) -> Result<(), WriteError> {
        let mut items = Vec::with_capacity(writes.len() + 1);
        if let Some(f) = fence {
            items.push(
                TransactWriteItem::builder()
                    .condition_check(
                        ConditionCheck::builder()
                            .table_name(&self.table)
                            .set_key(Some(lease_key()))
                            .condition_expression("holder = :holder AND epoch = :epoch")
                            .expression_attribute_values(":holder", s(&f.holder))
                            .expression_attribute_values(":epoch", n(f.epoch))
                            .build()
                            .map_err(|e| malformed("TransactWriteItems", e))?,
                    )
                    .build(),
            );
        }
        for w in writes {
            items.push(self.transact_item(w)?);
        }
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
                if let Some(TransactWriteItemsError::TransactionCanceledException(c)) =
                    e.as_service_error()
                {
                    let reasons = c.cancellation_reasons();
                    let failed = |i: usize| {
                        reasons
                            .get(i)
                            .and_then(|r| r.code())
                            .is_some_and(|code| code == "ConditionalCheckFailed")
                    };
                    if fence.is_some() && failed(0) {
                        return Err(WriteError::Fenced);
                    }
                    if (0..reasons.len()).any(failed) {
                        return Err(WriteError::Conflict);
                    }
                }
                Err(AwsError::from_sdk("TransactWriteItems", e).into())
            }
        }
    }

    fn transact_item(&self, w: &Write) -> Result<TransactWriteItem, WriteError> {
        const OP: &str = "TransactWriteItems";
        Ok(match w {
            Write::Put {
                key,
                body,
                expect,
                expires_at,
            } => {
                let version = expect.map_or(1, |v| v + 1);
                let mut put = Put::builder()
                    .table_name(&self.table)
                    .item("pk", s(STATE_PK))
                    .item("sk", s(key))
                    .item("body", s(body))
                    .item("version", n(version));
                if let Some(t) = expires_at {
                    put = put.item("expires_at", AttributeValue::N(t.to_string()));
                }
                put = match expect {
                    None => put.condition_expression("attribute_not_exists(pk)"),
                    Some(v) => put
                        .condition_expression("version = :v")
                        .expression_attribute_values(":v", n(*v)),
                };
                TransactWriteItem::builder()
                    .put(put.build().map_err(|e| malformed(OP, e))?)
                    .build()
            }
            Write::Delete { key, expect } => TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name(&self.table)
                        .key("pk", s(STATE_PK))
                        .key("sk", s(key))
                        .condition_expression("version = :v")
                        .expression_attribute_values(":v", n(*expect))
                        .build()
                        .map_err(|e| malformed(OP, e))?,
                )
                .build(),
        })
    }
}

fn check_schema(
    table: &str,
    desc: &aws_sdk_dynamodb::types::TableDescription,
) -> Result<(), TableError> {
    let types: HashMap<&str, &ScalarAttributeType> = desc
        .attribute_definitions()
        .iter()
        .map(|a| (a.attribute_name(), a.attribute_type()))
        .collect();
    let keys: Vec<(String, String, String)> = desc
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_string(),
                k.key_type().as_str().to_string(),
                types
                    .get(k.attribute_name())
                    .map_or("?".to_string(), |t| t.as_str().to_string()),
            )
        })
        .collect();
    let want = [
        (
            "pk".to_string(),
            KeyType::Hash.as_str().to_string(),
            "S".to_string(),
        ),
        (
            "sk".to_string(),
            KeyType::Range.as_str().to_string(),
            "S".to_string(),
        ),
    ];
    if keys.as_slice() == want.as_slice() {
        Ok(())
    } else {
        Err(TableError::WrongSchema {
            table: table.to_string(),
            found: keys
                .iter()
                .map(|(name, kind, ty)| format!("{name} ({ty}, {kind})"))
                .collect::<Vec<_>>()
                .join(" + "),
        })
    }
}

fn stored(item: &HashMap<String, AttributeValue>) -> Result<StoredItem, AwsError> {
    Ok(StoredItem {
        key: text(item, "sk", "Query")?,
        body: text(item, "body", "Query")?,
        version: number(item, "version", "Query")?,
    })
}

#[cfg(test)]
mod tests;

//! The lease item of the state table (`pk = lease`, `sk = leader`): read it, write it on a
//! condition, delete it. Leadership itself (when to take, renew, give up) is
//! [`crate::lease`]'s.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;

use super::attr::{n, number, s, text};
use super::AwsError;

/// The partition and sort key of the lease.
pub const LEASE_KEY: (&str, &str) = ("lease", "leader");

/// The lease a write is fenced on: it goes through only while this holder has this epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// Who holds it: `PID@HOST#RANDOM`, unique per process.
    pub holder: String,
    /// The epoch it acquired.
    pub epoch: u64,
}

/// The lease item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseItem {
    /// Who holds it (unique per process).
    pub holder: String,
    /// The host it runs on, for people.
    pub host: String,
    /// When it runs out unless renewed, Unix milliseconds.
    pub expires_ms: i64,
    /// Incremented at every change of holder.
    pub epoch: u64,
}

/// What the lease item must look like for a lease write to go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseCondition {
    /// No lease item yet.
    Absent,
    /// Exactly this holder and epoch (as read).
    Is(Fence),
    /// This holder and epoch, and still expired at `now_ms`: a takeover. A holder that renewed
    /// in the meantime (its expiry moved past `now_ms`) keeps its lease.
    Expired {
        /// The holder and epoch read.
        fence: Fence,
        /// The taker's time, Unix milliseconds.
        now_ms: i64,
    },
}

/// The lease item's adapter.
#[derive(Debug, Clone)]
pub struct LeaseTable {
    client: Client,
    table: String,
}

impl LeaseTable {
    /// The lease item of `table`.
    pub fn new(client: Client, table: &str) -> LeaseTable {
        LeaseTable {
            client,
            table: table.to_string(),
        }
    }

    /// The lease item, if any (strongly consistent).
    pub async fn lease(&self) -> Result<Option<LeaseItem>, AwsError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(lease_key()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("GetItem", e))?;
        let Some(item) = out.item() else {
            return Ok(None);
        };
        Ok(Some(LeaseItem {
            holder: text(item, "holder", "GetItem")?,
            host: text(item, "host", "GetItem").unwrap_or_default(),
            expires_ms: number(item, "expires_ms", "GetItem")? as i64,
            epoch: number(item, "epoch", "GetItem")?,
        }))
    }

    /// Write the lease item if it still looks like `cond`; `false` when it does not.
    pub async fn put_lease(
        &self,
        item: &LeaseItem,
        cond: &LeaseCondition,
    ) -> Result<bool, AwsError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(lease_key()))
            .item("holder", s(&item.holder))
            .item("host", s(&item.host))
            .item("expires_ms", AttributeValue::N(item.expires_ms.to_string()))
            .item("epoch", n(item.epoch))
            // Leases of holders long gone are cleaned up by TTL a day later.
            .item(
                "expires_at",
                AttributeValue::N((item.expires_ms / 1000 + 86_400).to_string()),
            );
        put = match cond {
            LeaseCondition::Absent => put.condition_expression("attribute_not_exists(pk)"),
            LeaseCondition::Is(f) => put
                .condition_expression("holder = :holder AND epoch = :epoch")
                .expression_attribute_values(":holder", s(&f.holder))
                .expression_attribute_values(":epoch", n(f.epoch)),
            LeaseCondition::Expired { fence, now_ms } => put
                .condition_expression("holder = :holder AND epoch = :epoch AND expires_ms <= :now")
                .expression_attribute_values(":holder", s(&fence.holder))
                .expression_attribute_values(":epoch", n(fence.epoch))
                .expression_attribute_values(":now", AttributeValue::N(now_ms.to_string())),
        };
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(AwsError::from_sdk("PutItem", e)),
        }
    }

    /// Give the lease up (only if it is still `fence`'s).
    pub async fn delete_lease(&self, fence: &Fence) -> Result<(), AwsError> {
        match self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(lease_key()))
            .condition_expression("holder = :holder AND epoch = :epoch")
            .expression_attribute_values(":holder", s(&fence.holder))
            .expression_attribute_values(":epoch", n(fence.epoch))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(AwsError::from_sdk("DeleteItem", e)),
        }
    }
}

pub(super) fn lease_key() -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".to_string(), s(LEASE_KEY.0)),
        ("sk".to_string(), s(LEASE_KEY.1)),
    ])
}

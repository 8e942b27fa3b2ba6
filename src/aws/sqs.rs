//! The event queue (`events: {sqs_queue_url}`): long-poll receive and batch delete, nothing
//! else. What the messages mean is [`crate::events`]; when they are received and deleted is
//! the daemon's consumer ([`crate::daemon`]).

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
use aws_sdk_sqs::Client;

use super::AwsError;
use super::Interceptors;

/// The longest long poll SQS allows.
pub const MAX_WAIT: Duration = Duration::from_secs(20);
/// The most messages one receive returns.
pub const MAX_BATCH: i32 = 10;

/// A received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    /// The SQS message ID (for logs).
    pub id: String,
    /// What deleting it takes.
    pub receipt: String,
    /// The body: the EventBridge event.
    pub body: String,
}

/// One SQS queue.
#[derive(Debug, Clone)]
pub struct EventQueue {
    client: Client,
    url: String,
}

impl EventQueue {
    /// A queue on an existing client.
    pub fn new(client: Client, url: &str) -> EventQueue {
        EventQueue {
            client,
            url: url.to_string(),
        }
    }

    /// A client in `region`, its calls counted, with the shared SDK configuration's
    /// retries and timeouts.
    pub fn from_sdk_config(
        sdk: &SdkConfig,
        url: &str,
        region: &str,
        interceptors: &Interceptors,
    ) -> EventQueue {
        let mut conf = aws_sdk_sqs::config::Builder::from(sdk)
            .region(aws_config::Region::new(region.to_string()));
        conf.set_interceptors(interceptors.shared());
        EventQueue::new(Client::from_conf(conf.build()), url)
    }

    /// The SQS queue URL it receives from.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Wait up to `wait` for messages; each stays invisible to other receivers for
    /// `visibility` unless deleted first.
    pub async fn receive(
        &self,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<QueueMessage>, AwsError> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(MAX_BATCH)
            .wait_time_seconds(secs(wait.min(MAX_WAIT)))
            .visibility_timeout(secs(visibility))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ReceiveMessage", e))?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| {
                Some(QueueMessage {
                    id: m.message_id.unwrap_or_default(),
                    receipt: m.receipt_handle?,
                    body: m.body.unwrap_or_default(),
                })
            })
            .collect())
    }

    /// Delete `messages` (in batches of ten); returns the IDs SQS did not delete, with why.
    pub async fn delete(&self, messages: &[QueueMessage]) -> Result<Vec<String>, AwsError> {
        let mut failed = Vec::new();
        for chunk in messages.chunks(MAX_BATCH as usize) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(&m.receipt)
                        .build()
                        .map_err(|e| AwsError::Malformed {
                            operation: "DeleteMessageBatch",
                            detail: e.to_string(),
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .client
                .delete_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("DeleteMessageBatch", e))?;
            for f in out.failed {
                let id =
                    f.id.parse::<usize>()
                        .ok()
                        .and_then(|i| chunk.get(i))
                        .map_or(f.id.clone(), |m| m.id.clone());
                failed.push(format!(
                    "{id}: {}",
                    f.message.unwrap_or_else(|| f.code.clone())
                ));
            }
        }
        Ok(failed)
    }
}

fn secs(d: Duration) -> i32 {
    i32::try_from(d.as_secs()).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sqs::operation::delete_message_batch::DeleteMessageBatchOutput;
    use aws_sdk_sqs::operation::receive_message::ReceiveMessageOutput;
    use aws_sdk_sqs::types::{BatchResultErrorEntry, Message};
    use aws_smithy_mocks::{mock, mock_client};

    #[tokio::test]
    async fn receive_long_polls_and_keeps_what_deleting_needs() {
        let rule = mock!(Client::receive_message)
            .match_requests(|r| {
                r.wait_time_seconds == Some(20)
                    && r.max_number_of_messages == Some(10)
                    && r.visibility_timeout == Some(900)
                    && r.queue_url.as_deref() == Some("https://sqs.us-east-1.amazonaws.com/1/q")
            })
            .then_output(|| {
                ReceiveMessageOutput::builder()
                    .messages(
                        Message::builder()
                            .message_id("m-1")
                            .receipt_handle("r-1")
                            .body("{}")
                            .build(),
                    )
                    // No receipt handle: cannot be deleted, so not returned.
                    .messages(Message::builder().message_id("m-2").build())
                    .build()
            });
        let client = mock_client!(aws_sdk_sqs, [&rule]);
        let q = EventQueue::new(client, "https://sqs.us-east-1.amazonaws.com/1/q");
        let got = q
            .receive(Duration::from_secs(60), Duration::from_secs(900))
            .await
            .unwrap();
        assert_eq!(
            got,
            [QueueMessage {
                id: "m-1".into(),
                receipt: "r-1".into(),
                body: "{}".into()
            }]
        );
    }

    #[tokio::test]
    async fn delete_goes_in_batches_of_ten_and_names_what_failed() {
        let rule = mock!(Client::delete_message_batch)
            .match_requests(|r| r.entries().len() <= 10)
            .then_output(|| {
                DeleteMessageBatchOutput::builder()
                    .failed(
                        BatchResultErrorEntry::builder()
                            .id("1")
                            .code("ReceiptHandleIsInvalid")
                            .sender_fault(true)
                            .build()
                            .unwrap(),
                    )
                    .set_successful(Some(vec![]))
                    .build()
                    .unwrap()
            });
        let client = mock_client!(aws_sdk_sqs, aws_smithy_mocks::RuleMode::MatchAny, [&rule]);
        let q = EventQueue::new(client, "u");
        let messages: Vec<_> = (0..12)
            .map(|i| QueueMessage {
                id: format!("m-{i}"),
                receipt: format!("r-{i}"),
                body: String::new(),
            })
            .collect();
        let failed = q.delete(&messages).await.unwrap();
        // Two batches (10 + 2), each reporting its entry "1" as failed.
        assert_eq!(rule.num_calls(), 2);
        assert_eq!(
            failed,
            [
                "m-1: ReceiptHandleIsInvalid",
                "m-11: ReceiptHandleIsInvalid"
            ]
        );
    }
}

//! The event queue's consumer (`events: {sqs_queue_url}`): long-polls SQS next to the
//! schedule while this replica leads, wakes a pass for ACM's events, and deletes them only
//! once a pass that started after they arrived has finished. A message that is no such event
//! is logged and deleted at once; queue errors back off and never stop the schedule. Messages
//! a stop leaves undeleted come back after their visibility timeout.

use std::future::Future;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tracing::Instrument;
use tracing::{info, warn};

use super::event_loop::Tick;
use crate::aws::sqs::{EventQueue, QueueMessage, MAX_BATCH, MAX_WAIT};
use crate::aws::AwsError;
use crate::context::Context;
use crate::events::{self, AcmEvent};
use crate::format::fmt_duration;
use crate::lease::guard::under;
use crate::metrics::Metrics;

/// How long a received message stays hidden from other receivers: long enough for the pass
/// that answers it. One not deleted by then (a stop, a lost lease) is delivered again.
pub const VISIBILITY: Duration = Duration::from_secs(15 * 60);
/// How often a standby looks whether it leads now.
const STANDBY_CHECK: Duration = Duration::from_secs(5);
/// The most messages coalesced into one wake-up.
const MAX_GATHER: usize = 100;

/// Passes started and finished so far (they run one at a time).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Passes {
    /// Passes started.
    pub started: u64,
    /// Passes finished.
    pub finished: u64,
}

/// What the consumer needs of a queue (the SQS adapter; a fake in tests).
pub trait Inbox: Send + Sync {
    /// Long-poll for messages.
    fn receive(
        &self,
        wait: Duration,
    ) -> impl Future<Output = Result<Vec<QueueMessage>, AwsError>> + Send;
    /// Delete messages; the IDs not deleted, with why.
    fn delete(
        &self,
        messages: &[QueueMessage],
    ) -> impl Future<Output = Result<Vec<String>, AwsError>> + Send;
    /// For logs.
    fn name(&self) -> &str;
}

impl Inbox for EventQueue {
    async fn receive(&self, wait: Duration) -> Result<Vec<QueueMessage>, AwsError> {
        EventQueue::receive(self, wait, VISIBILITY).await
    }
    async fn delete(&self, messages: &[QueueMessage]) -> Result<Vec<String>, AwsError> {
        EventQueue::delete(self, messages).await
    }
    fn name(&self) -> &str {
        self.url()
    }
}

/// Exponential backoff for queue errors: 1 s doubling to 1 min; reset by a good receive.
#[derive(Debug, Default)]
pub struct Backoff(u32);

impl Backoff {
    /// The wait before the next try.
    pub fn next_wait(&mut self) -> Duration {
        let wait = Duration::from_secs(1u64 << self.0.min(6)).min(Duration::from_secs(60));
        self.0 = self.0.saturating_add(1);
        wait
    }

    /// After a receive that worked.
    pub fn reset(&mut self) {
        self.0 = 0;
    }
}

/// Consume until `wake` closes. `leading` is the lease epoch this replica acts under now
/// (`None`: it stands by); each queue request goes out as work of that epoch, so the lease
/// guard stops it once the replica no longer leads.
pub async fn consume<Q: Inbox>(
    queue: Q,
    leading: impl Fn() -> Option<u64> + Send,
    metrics: Metrics,
    wake: mpsc::Sender<Tick>,
    mut passes: watch::Receiver<Passes>,
) {
    let mut backoff = Backoff::default();
    loop {
        let Some(epoch) = leading() else {
            tokio::time::sleep(STANDBY_CHECK).await;
            continue;
        };
        let batch = match under(epoch, gather(&queue)).await {
            Ok(batch) => {
                backoff.reset();
                batch
            }
            Err(e) => {
                let wait = backoff.next_wait();
                warn!(
                    queue = queue.name(),
                    "the event queue failed: {e}; trying again in {} (the schedule goes on)",
                    fmt_duration(wait)
                );
                tokio::time::sleep(wait).await;
                continue;
            }
        };
        let answered = under(epoch, sort(&queue, batch, &metrics)).await;
        if answered.is_empty() {
            continue;
        }
        let seen = passes.borrow().started;
        let (messages, acm): (Vec<QueueMessage>, Vec<AcmEvent>) = answered.into_iter().unzip();
        let labels: Vec<&'static str> = acm.iter().map(|e| e.detail_type).collect();
        if wake.send(Tick::Events(acm)).await.is_err() {
            return;
        }
        if !settle(
            &queue,
            &leading,
            &metrics,
            &mut passes,
            seen,
            &messages,
            &labels,
        )
        .await
        {
            return;
        }
    }
}

/// After the events woke a pass: once a pass started after `seen` finishes, delete the
/// messages it answered (still leading) or leave them for the next leader, and count them.
/// `false` when the daemon is stopping.
async fn settle<Q: Inbox>(
    queue: &Q,
    leading: &impl Fn() -> Option<u64>,
    metrics: &Metrics,
    passes: &mut watch::Receiver<Passes>,
    seen: u64,
    messages: &[QueueMessage],
    labels: &[&'static str],
) -> bool {
    // The pass that answers the events is one that started after they were received.
    match tokio::time::timeout(VISIBILITY, passes.wait_for(|p| p.finished > seen)).await {
        Ok(Ok(_)) => {}
        Ok(Err(_)) => return false,
        Err(_) => {
            warn!(
                messages = messages.len(),
                "no pass answered the events within {}; leaving them on the queue to come back",
                fmt_duration(VISIBILITY)
            );
            return true;
        }
    }
    let result = if let Some(now) = leading() {
        under(now, remove(queue, messages)).await;
        "handled"
    } else {
        info!(
            messages = messages.len(),
            "this replica stopped leading before the pass acted; leaving the events on the queue for the next leader"
        );
        "returned"
    };
    for label in labels {
        metrics.count_event(label, result);
    }
    true
}

/// The event queue's consumer, with `events:` set: it consumes only while this replica leads.
pub async fn spawn(
    ctx: &Context,
    wake: mpsc::Sender<Tick>,
    passes: watch::Receiver<Passes>,
) -> Option<tokio::task::JoinHandle<()>> {
    let events = ctx.config.events.as_ref()?;
    let sdk = crate::aws::load_sdk_config().await;
    let queue = EventQueue::from_sdk_config(
        &sdk,
        &events.queue_url,
        &events.region,
        &crate::aws::Interceptors {
            counter: Some(ctx.metrics.interceptor("events")),
            guard: ctx
                .guard
                .clone()
                .map(aws_smithy_runtime_api::client::interceptors::SharedInterceptor::new),
        },
    );
    info!(queue = %events.queue_url, region = %events.region, "consuming ACM events from the queue");
    let lease = ctx.lease.clone();
    // The file backend always leads (and has no guard, so its epoch is never checked).
    let leading = move || lease.as_ref().map_or(Some(0), |l| l.epoch());
    let span = tracing::info_span!("events", queue = %events.queue_url);
    Some(tokio::spawn(
        consume(queue, leading, ctx.metrics.clone(), wake, passes).instrument(span),
    ))
}

/// One long poll, then whatever else is already waiting (a burst becomes one wake-up).
async fn gather<Q: Inbox>(queue: &Q) -> Result<Vec<QueueMessage>, AwsError> {
    let mut all = queue.receive(MAX_WAIT).await?;
    let mut last = all.len();
    while last == MAX_BATCH as usize && all.len() < MAX_GATHER {
        match queue.receive(Duration::ZERO).await {
            Ok(more) => {
                last = more.len();
                all.extend(more);
            }
            // What was received is answered now; the rest waits for the next receive.
            Err(_) if !all.is_empty() => break,
            Err(e) => return Err(e),
        }
    }
    Ok(all)
}

/// Split a batch: ACM events are returned; anything else is logged, counted and deleted now.
async fn sort<Q: Inbox>(
    queue: &Q,
    batch: Vec<QueueMessage>,
    metrics: &Metrics,
) -> Vec<(QueueMessage, AcmEvent)> {
    let mut answered = Vec::new();
    let mut dropped = Vec::new();
    for message in batch {
        let parsed = events::parse(&message.body);
        let label = events::label(&parsed);
        match parsed {
            Ok(event) => {
                info!(message_id = %message.id, event_id = %event.id, "event: {event}");
                answered.push((message, event));
            }
            Err(why) => {
                warn!(message_id = %message.id, "dropping a message that is not an ACM certificate event the rotator acts on: {}", crate::error::Chain(&why));
                metrics.count_event(label, why.result());
                dropped.push(message);
            }
        }
    }
    if !dropped.is_empty() {
        remove(queue, &dropped).await;
    }
    answered
}

async fn remove<Q: Inbox>(queue: &Q, messages: &[QueueMessage]) {
    match queue.delete(messages).await {
        Ok(failed) if failed.is_empty() => {}
        Ok(failed) => warn!(
            "the event queue kept {} message(s) (they come back after their visibility timeout): {}",
            failed.len(),
            failed.join("; ")
        ),
        Err(e) => warn!(
            "deleting {} message(s) from the event queue failed (they come back after their visibility timeout): {e}",
            messages.len()
        ),
    }
}

#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::*;

const GOOD: &str = r#"{"id":"e-1","source":"aws.acm","detail-type":"ACM Certificate Available","resources":["arn:aws:acm:us-east-1:1:certificate/new"],"detail":{"Action":"IMPORT"}}"#;

type Answer = Result<Vec<QueueMessage>, AwsError>;
type Ticks = Arc<Mutex<Vec<Tick>>>;

#[derive(Debug, Clone, PartialEq)]
enum Call {
    Receive(Duration),
    Delete(Vec<String>, Passes),
}

/// A queue that answers from a script; every call is recorded with the passes at that time.
#[derive(Clone)]
struct FakeQueue {
    script: Arc<Mutex<VecDeque<Answer>>>,
    calls: Arc<Mutex<Vec<Call>>>,
    passes: watch::Receiver<Passes>,
}

impl FakeQueue {
    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
}

impl Inbox for FakeQueue {
    async fn receive(&self, wait: Duration) -> Result<Vec<QueueMessage>, AwsError> {
        self.calls.lock().unwrap().push(Call::Receive(wait));
        let next = self.script.lock().unwrap().pop_front();
        match next {
            Some(answer) => answer,
            None => {
                // Nothing more scripted: an empty long poll.
                tokio::time::sleep(wait).await;
                Ok(Vec::new())
            }
        }
    }
    async fn delete(&self, messages: &[QueueMessage]) -> Result<Vec<String>, AwsError> {
        let ids = messages.iter().map(|m| m.id.clone()).collect();
        let passes = *self.passes.borrow();
        self.calls.lock().unwrap().push(Call::Delete(ids, passes));
        Ok(Vec::new())
    }
    fn name(&self) -> &str {
        "fake"
    }
}

fn message(id: &str, body: &str) -> QueueMessage {
    QueueMessage {
        id: id.into(),
        receipt: format!("r-{id}"),
        body: body.into(),
    }
}

/// The event loop's side: each tick is a pass of 5 s; the ticks are kept.
fn passes_of_5s(mut ticks: mpsc::Receiver<Tick>, passes: watch::Sender<Passes>) -> Ticks {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let keep = seen.clone();
    tokio::spawn(async move {
        while let Some(t) = ticks.recv().await {
            keep.lock().unwrap().push(t);
            passes.send_modify(|p| p.started += 1);
            tokio::time::sleep(Duration::from_secs(5)).await;
            passes.send_modify(|p| p.finished += 1);
        }
    });
    seen
}

fn setup(
    script: Vec<Answer>,
) -> (
    FakeQueue,
    mpsc::Sender<Tick>,
    watch::Receiver<Passes>,
    Ticks,
) {
    let (tx, rx) = watch::channel(Passes::default());
    let (wake, ticks) = mpsc::channel(8);
    let queue = FakeQueue {
        script: Arc::new(Mutex::new(script.into())),
        calls: Arc::default(),
        passes: rx.clone(),
    };
    let seen = passes_of_5s(ticks, tx);
    (queue, wake, rx, seen)
}

/// Consume as the leader for `secs` of paused time, then stop.
async fn lead_for(
    secs: u64,
    queue: &FakeQueue,
    metrics: &Metrics,
    wake: mpsc::Sender<Tick>,
    passes: watch::Receiver<Passes>,
) {
    let task = tokio::spawn(consume(
        queue.clone(),
        || Some(1),
        metrics.clone(),
        wake,
        passes,
    ));
    tokio::time::sleep(Duration::from_secs(secs)).await;
    task.abort();
}

#[tokio::test(start_paused = true)]
async fn a_bad_message_is_deleted_at_once_and_events_only_after_their_pass() {
    let (queue, wake, passes, ticks) = setup(vec![Ok(vec![
        message("bad", "not json"),
        message("good", GOOD),
    ])]);
    let metrics = Metrics::new();
    lead_for(30, &queue, &metrics, wake, passes).await;
    let calls = queue.calls();
    assert_eq!(calls[0], Call::Receive(MAX_WAIT));
    // The bad one goes before any pass; the event after the pass it triggered finished.
    assert_eq!(
        calls[1],
        Call::Delete(vec!["bad".into()], Passes::default())
    );
    assert_eq!(
        calls[2],
        Call::Delete(
            vec!["good".into()],
            Passes {
                started: 1,
                finished: 1
            }
        )
    );
    let ticks = ticks.lock().unwrap().clone();
    assert_eq!(ticks.len(), 1, "one pass for the event");
    let Tick::Events(events) = &ticks[0] else {
        panic!("{ticks:?}")
    };
    assert_eq!(
        events[0].resources,
        ["arn:aws:acm:us-east-1:1:certificate/new"]
    );
    let text = metrics.encode();
    assert!(
        text.contains(
            r#"cognito_cert_rotator_events_total{detail_type="none",result="malformed"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"cognito_cert_rotator_events_total{detail_type="ACM Certificate Available",result="handled"} 1"#),
        "{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_burst_is_gathered_into_one_wake_up() {
    let full: Vec<_> = (0..10).map(|i| message(&format!("a{i}"), GOOD)).collect();
    let (queue, wake, passes, ticks) = setup(vec![Ok(full), Ok(vec![message("b", GOOD)])]);
    lead_for(10, &queue, &Metrics::new(), wake, passes).await;
    let calls = queue.calls();
    // A full batch is followed by a receive that does not wait.
    assert_eq!(calls[1], Call::Receive(Duration::ZERO));
    let ticks = ticks.lock().unwrap().clone();
    assert!(
        matches!(&ticks[..], [Tick::Events(e)] if e.len() == 11),
        "{ticks:?}"
    );
    assert!(
        matches!(&calls[2], Call::Delete(ids, _) if ids.len() == 11),
        "{calls:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_error_after_a_full_batch_still_answers_what_was_received() {
    let full: Vec<_> = (0..10).map(|i| message(&format!("a{i}"), GOOD)).collect();
    let denied = Err(AwsError::Transport {
        operation: "ReceiveMessage",
        detail: "connection reset".into(),
    });
    let (queue, wake, passes, ticks) = setup(vec![Ok(full), denied]);
    lead_for(10, &queue, &Metrics::new(), wake, passes).await;
    let ticks = ticks.lock().unwrap().clone();
    assert!(
        matches!(&ticks[..], [Tick::Events(e)] if e.len() == 10),
        "{ticks:?}"
    );
    assert!(
        queue
            .calls()
            .iter()
            .any(|c| matches!(c, Call::Delete(ids, _) if ids.len() == 10)),
        "{:?}",
        queue.calls()
    );
}

#[tokio::test(start_paused = true)]
async fn a_standby_does_not_receive() {
    let (queue, wake, passes, _) = setup(vec![Ok(vec![message("good", GOOD)])]);
    let leading = Arc::new(AtomicBool::new(false));
    let l = leading.clone();
    let task = tokio::spawn(consume(
        queue.clone(),
        move || l.load(Ordering::SeqCst).then_some(1),
        Metrics::new(),
        wake,
        passes,
    ));
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(queue.calls().is_empty(), "{:?}", queue.calls());
    leading.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(20)).await;
    task.abort();
    assert!(matches!(
        queue.calls()[..],
        [Call::Receive(_), Call::Delete(..), ..]
    ));
}

#[tokio::test(start_paused = true)]
async fn a_replica_that_stops_leading_leaves_the_events_for_the_next_leader() {
    let (queue, wake, passes, _) = setup(vec![Ok(vec![message("good", GOOD)])]);
    let leading = Arc::new(AtomicBool::new(true));
    let l = leading.clone();
    let metrics = Metrics::new();
    let task = tokio::spawn(consume(
        queue.clone(),
        move || l.load(Ordering::SeqCst).then_some(1),
        metrics.clone(),
        wake,
        passes,
    ));
    // The lease is lost during the 5 s pass.
    tokio::time::sleep(Duration::from_secs(2)).await;
    leading.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(30)).await;
    task.abort();
    assert!(
        !queue.calls().iter().any(|c| matches!(c, Call::Delete(..))),
        "{:?}",
        queue.calls()
    );
    assert!(metrics.encode().contains(r#"result="returned"} 1"#));
}

#[tokio::test(start_paused = true)]
async fn queue_errors_back_off_and_a_good_receive_resets_the_backoff() {
    let denied = || {
        Err(AwsError::Service {
            operation: "ReceiveMessage",
            code: "AccessDenied".into(),
            message: "no".into(),
        })
    };
    let (queue, wake, passes, _) = setup(vec![denied(), denied(), denied(), Ok(vec![]), denied()]);
    let started = tokio::time::Instant::now();
    let times = Arc::new(Mutex::new(Vec::new()));
    let t = times.clone();
    let q = queue.clone();
    let task = tokio::spawn(consume(q, || Some(1), Metrics::new(), wake, passes));
    // Record when each receive happened.
    let watcher = tokio::spawn(async move {
        let mut n = 0;
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let calls = queue.calls().len();
            while n < calls {
                t.lock().unwrap().push(started.elapsed().as_secs());
                n += 1;
            }
        }
    });
    tokio::time::sleep(Duration::from_secs(12)).await;
    task.abort();
    watcher.abort();
    // Receives at 0, 1 (after 1 s), 3 (after 2 s), 7 (after 4 s): an empty answer, so the
    // next error waits 1 s again (8), and the one after that is unscripted (a long poll).
    assert_eq!(*times.lock().unwrap(), [0, 1, 3, 7, 7, 8]);
}

#[test]
fn backoff_doubles_to_a_minute() {
    let mut b = Backoff::default();
    let waits: Vec<u64> = (0..9).map(|_| b.next_wait().as_secs()).collect();
    assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    b.reset();
    assert_eq!(b.next_wait(), Duration::from_secs(1));
}

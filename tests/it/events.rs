//! Event-driven passes end to end: the real binary consumes a real SQS queue on the emulator
//! (moto serves SQS), with a schedule that will not fire during the test.

use crate::support;

use std::time::{Duration, Instant};

use support::{
    domain_state, free_port, http_get, import, sample, wait_for, wait_until, world, Daemon, Leaf,
    DOMAIN, REGION,
};

/// EventBridge's "ACM Certificate Available" event for `arn`, as the rule delivers it to SQS.
fn available(arn: &str, action: &str) -> String {
    serde_json::json!({
        "version": "0",
        "id": "6f3b2c1e-0000-4000-8000-000000000001",
        "detail-type": "ACM Certificate Available",
        "source": "aws.acm",
        "account": "123456789012",
        "time": "2026-12-01T10:00:00Z",
        "region": "us-east-1",
        "resources": [arn],
        "detail": {"Action": action, "CertificateType": "IMPORTED", "CommonName": DOMAIN,
                   "DomainValidationMethod": "", "CertificateCreatedDate": "2026-12-01T10:00:00Z",
                   "CertificateExpirationDate": "2027-03-01T10:00:00Z", "DaysToExpiry": 90,
                   "InUse": false, "Exported": false}
    })
    .to_string()
}

async fn queue_depth(sqs: &aws_sdk_sqs::Client, url: &str) -> (u64, u64) {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap();
    let attrs = out.attributes().unwrap();
    let n = |a: A| {
        attrs
            .get(&a)
            .and_then(|v| v.parse().ok())
            .unwrap_or(u64::MAX)
    };
    (
        n(A::ApproximateNumberOfMessages),
        n(A::ApproximateNumberOfMessagesNotVisible),
    )
}

#[tokio::test]
async fn an_acm_event_swaps_within_seconds_and_a_bad_message_first_does_not_block_it() {
    let w = world(&[]).await;
    let sqs = w.emu.sqs();
    let queue = w.emu.queue("cognito-cert-rotator-events").await;
    let port = free_port();
    // Once a year: no pass of the schedule's runs during the test, and no --now.
    let config = w.events_config("0 0 0 1 1 *", &queue, port);
    let d = Daemon::start(
        w.dir.path(),
        &["run", "-c", config.to_str().unwrap()],
        &w.emu.endpoint,
        &[],
    );
    wait_for("the daemon to start", Duration::from_secs(20), || {
        d.log().contains("consuming ACM events from the queue") && d.log().contains("started")
    });
    // A better certificate appears; nothing moves the domain yet. An event the rotator does
    // not act on shows the consumer is awake and still runs no pass.
    let best = import(&w.emu, &w.ca, Leaf::new(DOMAIN, 120, 0x0a0b_0c07)).await;
    let other = available(&best.arn, "IMPORT").replace("\"aws.acm\"", "\"aws.s3\"");
    sqs.send_message()
        .queue_url(&queue)
        .message_body(other)
        .send()
        .await
        .unwrap();
    wait_for(
        "the other event to be dropped",
        Duration::from_secs(30),
        || d.log().contains("source \"aws.s3\" is not aws.acm"),
    );
    assert_eq!(d.passes(), 0, "no pass without an event:\n{}", d.log());
    assert_eq!(
        domain_state(&w.emu, REGION, DOMAIN).await.0.as_deref(),
        Some(w.old.arn.as_str()),
        "no pass without an event:\n{}",
        d.log()
    );

    // Garbage first, then the event.
    for body in ["this is not an event", &available(&best.arn, "IMPORT")] {
        sqs.send_message()
            .queue_url(&queue)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    let sent = Instant::now();
    wait_until(
        "the swap the event asks for",
        Duration::from_secs(30),
        async || domain_state(&w.emu, REGION, DOMAIN).await.0.as_deref() == Some(best.arn.as_str()),
    )
    .await;
    let took = sent.elapsed();
    eprintln!("event on the queue -> UpdateUserPoolDomain seen: {took:.2?}");
    assert!(
        took < Duration::from_secs(10),
        "took {took:?}:\n{}",
        d.log()
    );

    let log_has = |text: &str| d.log().contains(text);
    wait_for("the pass to finish", Duration::from_secs(20), || {
        log_has("pass finished (triggered by ACM Certificate Available (IMPORT)")
    });
    let log = d.log();
    assert!(
        log.contains(&format!(
            "pass triggered by ACM Certificate Available (IMPORT) for {}",
            best.arn
        )),
        "{log}"
    );
    assert!(
        log.contains("dropping a message that is not an ACM certificate event"),
        "{log}"
    );
    assert!(log.contains("message_id="), "{log}");
    // Both messages are gone: the bad one at once, the event after its pass.
    wait_until(
        "both messages off the queue",
        Duration::from_secs(10),
        async || queue_depth(&sqs, &queue).await == (0, 0),
    )
    .await;
    // The event is counted right after its message is deleted: wait for the count, rather
    // than read it between the two.
    let handled = r#"cognito_cert_rotator_events_total{detail_type="ACM Certificate Available",result="handled"}"#;
    wait_for(
        "the handled event to be counted",
        Duration::from_secs(5),
        || sample(&http_get(port, "/metrics").1, handled) == Some(1.0),
    );
    let (_, metrics) = http_get(port, "/metrics");
    assert_eq!(
        sample(
            &metrics,
            r#"cognito_cert_rotator_events_total{detail_type="none",result="malformed"}"#
        ),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        sample(
            &metrics,
            r#"cognito_cert_rotator_events_total{detail_type="ACM Certificate Available",result="handled"}"#
        ),
        Some(1.0),
        "{metrics}"
    );
    assert!(
        sample(
            &metrics,
            r#"cognito_cert_rotator_aws_requests_total{service="SQS",operation="ReceiveMessage",outcome="success",account="events"}"#
        )
        .unwrap_or(0.0)
            >= 1.0,
        "{metrics}"
    );

    // The queue goes away: the daemon says so, keeps running and stays healthy.
    sqs.delete_queue().queue_url(&queue).send().await.unwrap();
    wait_for("the queue error", Duration::from_secs(40), || {
        log_has("the event queue failed")
    });
    assert_eq!(http_get(port, "/healthz").0, 200, "{}", d.log());
}

#[tokio::test]
async fn an_event_tries_a_target_the_daemon_is_backing_off_from() {
    let support::Stage {
        emu,
        dir,
        ca,
        ca_file,
    } = support::stage(&[]);
    // Only a certificate with 20 days left: under the default 30-day minimum, every pass
    // fails ("no eligible certificate") and the daemon backs off: 1, 2, 4, 8, 16 passes.
    let old = import(&emu, &ca, Leaf::new(DOMAIN, 20, 0x0a0b_0c11)).await;
    let pool = support::pool_with_domain(&emu, REGION, DOMAIN, &old.arn, 2).await;
    let queue = emu.queue("events").await;
    let config = support::write_config(
        dir.path(),
        &format!(
            "schedule: \"* * * * * *\"\nevents:\n  sqs_queue_url: {queue}\nverify:\n  window: 30s\n  interval: 300ms\n  connect_to: {}\n  ca_file: {}\ndomains:\n  - domain: {DOMAIN}\n    user_pool_id: {pool}\n",
            emu.edge,
            ca_file.display(),
        ),
    );
    let d = Daemon::start(
        dir.path(),
        &["run", "--now", "-c", config.to_str().unwrap()],
        &emu.endpoint,
        &[],
    );
    let record = || {
        std::fs::read_to_string(dir.path().join("state.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .map(|s| s["domains"][DOMAIN].clone())
            .unwrap_or_default()
    };
    // Five failures in a row (passes at 0, 1, 3, 7 and 15 s): the next fifteen passes
    // (seconds) skip the target.
    wait_for("the daemon to back off", Duration::from_secs(40), || {
        record()["skip_passes"].as_u64().unwrap_or(0) >= 15
    });
    let best = import(&emu, &ca, Leaf::new(DOMAIN, 120, 0x0a0b_0c12)).await;
    emu.sqs()
        .send_message()
        .queue_url(&queue)
        .message_body(available(&best.arn, "IMPORT"))
        .send()
        .await
        .unwrap();
    let sent = Instant::now();
    wait_until(
        "the swap the event asks for",
        Duration::from_secs(20),
        async || domain_state(&emu, REGION, DOMAIN).await.0.as_deref() == Some(best.arn.as_str()),
    )
    .await;
    let took = sent.elapsed();
    eprintln!("event on the queue -> swap of a target backing off: {took:.2?}");
    // Not the schedule's try after the backoff, 15 s away: the event's pass.
    assert!(
        took < Duration::from_secs(8),
        "the event pass skipped the target backing off ({took:?}):\n{}",
        d.log()
    );
}

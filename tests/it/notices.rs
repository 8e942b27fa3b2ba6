//! Notifications where hooks cannot run: moto's SNS topic with an SQS subscription shows what
//! was published, and a local HTTPS receiver (trusted through `SSL_CERT_FILE`) shows the
//! webhook, including a receiver that fails three times before it accepts.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{
    domain_state, import, pool_with_domain, run_binary, stage, world, write_config, Leaf, DOMAIN,
    REGION,
};

/// A topic with an SQS subscription; returns (topic ARN, queue URL).
pub(crate) async fn topic_with_queue(emu: &crate::support::Emulator) -> (String, String) {
    let sns = emu.sns();
    let topic = sns
        .create_topic()
        .name("cert-events")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();
    let queue = emu.queue("cert-events-inbox").await;
    let arn = emu
        .sqs()
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(arn)
        .send()
        .await
        .unwrap();
    (topic, queue)
}

/// Every message on the queue: the notification JSON inside each SNS envelope.
pub(crate) async fn published(
    emu: &crate::support::Emulator,
    queue: &str,
) -> Vec<serde_json::Value> {
    let mut all = Vec::new();
    loop {
        let out = emu
            .sqs()
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        let batch = out.messages();
        if batch.is_empty() {
            return all;
        }
        for m in batch {
            let envelope: serde_json::Value = serde_json::from_str(m.body().unwrap()).unwrap();
            all.push(serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap());
            emu.sqs()
                .delete_message()
                .queue_url(queue)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn a_swap_and_its_verification_are_published_to_sns_once_each() {
    let w = world(&[]).await;
    let (topic, queue) = topic_with_queue(&w.emu).await;
    let config = w.daemon_config(
        "0 0 * * * *",
        &format!("notify:\n  sns_topic_arn: {topic}\n"),
    );
    let config = config.to_str().unwrap();
    let run = w.emu.run(&["once", "--wait", "-c", config]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let messages = published(&w.emu, &queue).await;
    let events: Vec<&str> = messages
        .iter()
        .map(|m| m["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["rotated", "verified"], "{messages:?}");
    let rotated = &messages[0];
    assert_eq!(rotated["domain"], DOMAIN);
    assert_eq!(rotated["user_pool_id"], w.pool.as_str());
    assert_eq!(rotated["old_certificate"]["arn"], w.old.arn.as_str());
    assert!(
        rotated["old_certificate"]["not_after"].is_string(),
        "{rotated}"
    );
    assert_eq!(rotated["new_certificate"]["arn"], w.new.arn.as_str());
    assert!(
        rotated["new_certificate"]["not_after"].is_string(),
        "{rotated}"
    );
    assert!(rotated["what_to_do"].is_string());
    // The verification's message names both certificates with their expiry too.
    let verified = &messages[1];
    assert_eq!(verified["new_certificate"]["arn"], w.new.arn.as_str());
    assert!(
        verified["old_certificate"]["not_after"].is_string(),
        "{verified}"
    );
    assert!(
        verified["new_certificate"]["not_after"].is_string(),
        "{verified}"
    );
    // Nothing new happened: nothing is sent again.
    let again = w.emu.run(&["once", "--wait", "-c", config]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(published(&w.emu, &queue).await.is_empty());
}

#[tokio::test]
async fn an_expiring_certificate_is_notified_once_across_runs() {
    let s = stage(&[]);
    // 10 days left, nothing better, and a minimum validity it still meets: kept, and expiring.
    let only = import(&s.emu, &s.ca, Leaf::new(DOMAIN, 10, 0x0e01)).await;
    let pool = pool_with_domain(&s.emu, REGION, DOMAIN, &only.arn, 2).await;
    let (topic, queue) = topic_with_queue(&s.emu).await;
    let config = write_config(
        s.dir.path(),
        &format!(
            "notify:\n  sns_topic_arn: {topic}\n  events: [expiring, failed]\ndefaults:\n  min_validity: 5d\ndomains:\n  - domain: {DOMAIN}\n    user_pool_id: {pool}\n"
        ),
    );
    let config = config.to_str().unwrap();
    for _ in 0..2 {
        let run = s.emu.run(&["once", "-c", config]);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    let messages = published(&s.emu, &queue).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["event"], "expiring");
    assert!(
        messages[0]["reason"]
            .as_str()
            .unwrap()
            .contains("no better certificate exists"),
        "{messages:?}"
    );
    assert_eq!(
        domain_state(&s.emu, REGION, DOMAIN).await.0.as_deref(),
        Some(only.arn.as_str())
    );
}

/// What the HTTPS receiver saw: each request's Authorization header and body.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// An HTTPS receiver on localhost that answers 503 to the first `fail` requests, then 200.
async fn receiver(ca: &crate::support::Ca, fail: usize) -> (u16, Seen) {
    use rustls::pki_types::pem::PemObject;
    let (cert, key) = ca.server(&["localhost"]);
    let certs = rustls::pki_types::CertificateDer::pem_slice_iter(cert.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Seen = Arc::default();
    let record = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let Ok(mut tls) = acceptor.accept(tcp).await else {
                continue;
            };
            let mut data = Vec::new();
            let mut buf = [0u8; 4096];
            // Read the head, then Content-Length bytes of body.
            let (head, body) = loop {
                let Ok(n) = tls.read(&mut buf).await else {
                    break (String::new(), String::new());
                };
                if n == 0 {
                    break (String::new(), String::new());
                }
                data.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&data).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if body.len() >= length {
                        break (head.to_string(), body.to_string());
                    }
                }
            };
            let auth = head
                .lines()
                .find_map(|l| {
                    l.strip_prefix("authorization: ")
                        .or_else(|| l.strip_prefix("Authorization: "))
                })
                .unwrap_or_default()
                .to_string();
            let n = {
                let mut seen = record.lock().unwrap();
                seen.push((auth, body));
                seen.len()
            };
            let status = if n <= fail {
                "503 Service Unavailable"
            } else {
                "200 OK"
            };
            let _ = tls
                .write_all(
                    format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                        .as_bytes(),
                )
                .await;
            let _ = tls.shutdown().await;
        }
    });
    (port, seen)
}

// The binary runs on this thread while the receiver answers on another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_is_retried_until_the_receiver_accepts_and_carries_the_secret_header() {
    let w = world(&[]).await;
    let (port, seen) = receiver(&w.ca, 3).await;
    let config = w.daemon_config(
        "0 0 * * * *",
        &format!(
            "notify:\n  webhook:\n    url: https://localhost:{port}/hooks/cert\n    format: json\n    headers_from_env: {{Authorization: CCR_WEBHOOK_AUTH}}\n  events: [rotated]\n"
        ),
    );
    let ca = w.ca_file.to_str().unwrap().to_string();
    let run = run_binary(
        &["once", "-c", config.to_str().unwrap()],
        &[
            ("AWS_ENDPOINT_URL", w.emu.endpoint.as_str()),
            ("SSL_CERT_FILE", ca.as_str()),
            ("CCR_WEBHOOK_AUTH", "Bearer s3cret"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let seen = seen.lock().unwrap().clone();
    // Three refusals, then the one that was accepted: the same message each time.
    assert_eq!(seen.len(), 4, "{seen:?}");
    for (auth, body) in &seen {
        assert_eq!(auth, "Bearer s3cret");
        let message: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(message["event"], "rotated");
        assert_eq!(message["new_certificate"]["arn"], w.new.arn.as_str());
    }
    assert!(
        run.stderr.contains("notified: auth.example.com: rotated"),
        "{}",
        run.stderr
    );
    assert_eq!(
        domain_state(&w.emu, REGION, DOMAIN).await.0.as_deref(),
        Some(w.new.arn.as_str())
    );
}

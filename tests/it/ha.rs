//! State and leadership on DynamoDB, end to end: replicas of the real binary sharing one
//! table on the emulator (moto serves DynamoDB on the same port), the fault proxy cutting one
//! off, kill -9. The store and the lease as a library are in `lease.rs`.

use crate::support;

use std::path::Path;
use std::time::{Duration, Instant};

use cognito_cert_rotator::state::DynamoStore;
use support::{
    dynamo_world, free_port, http_get, sample, state_table, wait_for, world, write_config, Daemon,
    Emulator, DOMAIN, STATE_TABLE,
};

fn verified_lines(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("verified.log"))
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

async fn last_result(emu: &Emulator) -> serde_json::Value {
    emu.table_record(STATE_TABLE, DOMAIN).await["last"]["result"].clone()
}

const ACTING_CALLS: &[&str] = &[
    "ListCertificates",
    "DescribeCertificate",
    "DescribeUserPoolDomain",
    "UpdateUserPoolDomain",
];

#[tokio::test]
async fn two_daemons_on_one_table_swap_once_verify_once_and_only_the_leader_calls_aws() {
    let (w, config) = dynamo_world(&["--edge-delay", "2"]).await;
    let queue = w.emu.queue("events").await;
    // The same configuration, each replica with its own metrics port; both may consume events.
    let ports = [free_port(), free_port()];
    let configs: Vec<String> = ports
        .iter()
        .map(|port| {
            let path = w.dir.path().join(format!("replica-{port}.yaml"));
            let text = std::fs::read_to_string(&config).unwrap();
            std::fs::write(
                &path,
                format!("metrics:\n  listen: 127.0.0.1:{port}\nevents:\n  sqs_queue_url: {queue}\n{text}"),
            )
            .unwrap();
            path.to_string_lossy().into_owned()
        })
        .collect();
    let direct = Daemon::start(
        w.dir.path(),
        &["run", "-c", &configs[0]],
        &w.emu.endpoint,
        &[],
    );
    let proxied = Daemon::start(w.dir.path(), &["run", "-c", &configs[1]], &w.emu.proxy, &[]);
    support::wait_until("the verified swap", Duration::from_secs(40), async || {
        last_result(&w.emu).await == "verified"
    })
    .await;
    // Two more passes: nobody swaps again.
    support::wait_passes(&[&direct, &proxied], 2, Duration::from_secs(20));
    assert_eq!(w.emu.count("UpdateUserPoolDomain"), 1, "exactly one swap");
    assert_eq!(verified_lines(w.dir.path()), 1, "on_verified fired once");

    let direct_leads = direct.log().contains("became the leader");
    let (leader, standby) = if direct_leads {
        (&direct, &proxied)
    } else {
        (&proxied, &direct)
    };
    // Metrics and health: 1 on the leader, 0 on the standby, both healthy.
    for (port, leads) in [(ports[0], direct_leads), (ports[1], !direct_leads)] {
        let (code, metrics) = http_get(port, "/metrics");
        assert_eq!(code, 200);
        assert_eq!(
            sample(&metrics, "cognito_cert_rotator_leader "),
            Some(if leads { 1.0 } else { 0.0 }),
            "{metrics}"
        );
        assert_eq!(http_get(port, "/healthz").0, 200, "port {port}");
    }
    assert!(
        !standby.log().contains("became the leader"),
        "one leader only:\n{}\n---\n{}",
        direct.log(),
        proxied.log()
    );
    assert!(standby.log().contains("standby: "), "{}", standby.log());
    assert!(
        leader.log().contains("rotated-verifying"),
        "{}",
        leader.log()
    );
    // Only the leader consumes the event queue.
    wait_for(
        "the leader to poll the event queue",
        Duration::from_secs(20),
        || w.emu.count("ReceiveMessage") >= 1,
    );
    // Freeze both so the two counts below are of the same moment, once what was already
    // sent has landed.
    for d in [&direct, &proxied] {
        d.signal("-STOP");
    }
    let mut counts = (w.emu.calls(), w.emu.proxy_calls());
    loop {
        std::thread::sleep(Duration::from_millis(300));
        let now = (w.emu.calls(), w.emu.proxy_calls());
        if now == counts {
            break;
        }
        counts = now;
    }
    let through_proxy = w.emu.proxy_calls();
    for op in ACTING_CALLS.iter().chain(&["ReceiveMessage"]) {
        let via_proxy = through_proxy.get(*op).copied().unwrap_or(0);
        let by_standby = if std::ptr::eq(standby, &proxied) {
            via_proxy
        } else {
            w.emu.count(op) - via_proxy
        };
        assert_eq!(by_standby, 0, "the standby called {op}");
    }
    for d in [&direct, &proxied] {
        d.signal("-CONT");
        d.signal("-TERM");
    }
}

#[tokio::test]
async fn kill_9_of_the_leader_after_a_swap_the_standby_takes_over_and_finishes_it() {
    let (w, config) = dynamo_world(&["--edge-delay", "8"]).await;
    let path = config.to_str().unwrap();
    let mut first = Daemon::start(w.dir.path(), &["run", "-c", path], &w.emu.endpoint, &[]);
    wait_for("the first leader", Duration::from_secs(15), || {
        first.log().contains("became the leader")
    });
    let second = Daemon::start(w.dir.path(), &["run", "-c", path], &w.emu.endpoint, &[]);
    support::wait_until("the swap", Duration::from_secs(20), async || {
        w.emu.table_record(STATE_TABLE, DOMAIN).await["pending"]["phase"] == "swapped"
    })
    .await;
    let deadline = w.emu.table_record(STATE_TABLE, DOMAIN).await["pending"]["deadline"].clone();
    first.signal("-KILL");
    first.wait_exit(Duration::from_secs(10));
    let killed = Instant::now();
    wait_for("the standby to lead", Duration::from_secs(10), || {
        second.log().contains("became the leader")
    });
    let failover = killed.elapsed();
    eprintln!("failover: the standby led {failover:?} after kill -9 (lease 2s)");
    assert!(failover <= Duration::from_secs(5), "{failover:?}");
    support::wait_until(
        "the resumed verification",
        Duration::from_secs(30),
        async || last_result(&w.emu).await == "verified",
    )
    .await;
    eprintln!(
        "failover: the verification finished {:?} after kill -9",
        killed.elapsed()
    );
    let log = second.log();
    assert!(log.contains("taking over from"), "{log}");
    support::assert_resumed_with_deadline(&log, &deadline);
    assert_eq!(w.emu.count("UpdateUserPoolDomain"), 1, "no second swap");
    assert_eq!(verified_lines(w.dir.path()), 1, "on_verified fired once");
    second.signal("-TERM");
}

#[tokio::test]
async fn a_leader_cut_off_from_dynamodb_stops_acting_and_the_other_replica_takes_over() {
    let (w, config) = dynamo_world(&["--edge-delay", "1"]).await;
    let path = config.to_str().unwrap();
    // Only the first replica reaches DynamoDB through the proxy.
    let port = free_port();
    let cut_config = w.dir.path().join("cut.yaml");
    std::fs::write(
        &cut_config,
        format!(
            "metrics:\n  listen: 127.0.0.1:{port}\n{}",
            std::fs::read_to_string(&config).unwrap()
        ),
    )
    .unwrap();
    let cut = Daemon::start(
        w.dir.path(),
        &["run", "-c", cut_config.to_str().unwrap()],
        &w.emu.endpoint,
        &[("AWS_ENDPOINT_URL_DYNAMODB", w.emu.proxy.as_str())],
    );
    support::wait_until("the verified swap", Duration::from_secs(30), async || {
        last_result(&w.emu).await == "verified"
    })
    .await;
    let other = Daemon::start(w.dir.path(), &["run", "-c", path], &w.emu.endpoint, &[]);
    wait_for("the standby", Duration::from_secs(10), || {
        other.log().contains("standby: ")
    });
    w.emu
        .fault(serde_json::json!({"operation": "*", "kind": "reset", "times": -1}));
    wait_for(
        "the cut-off leader to stop",
        Duration::from_secs(15),
        || cut.log().contains("lost the lease"),
    );
    wait_for("the other replica to lead", Duration::from_secs(15), || {
        other.log().contains("became the leader")
    });
    let stopped = timestamp_of(&cut.log(), "lost the lease");
    let took_over = timestamp_of(&other.log(), "became the leader");
    assert!(
        stopped <= took_over,
        "the old leader stopped at {stopped}, after the new one took over at {took_over}"
    );
    support::wait_passes(&[&other], 2, Duration::from_secs(20));
    assert_eq!(
        w.emu.count("UpdateUserPoolDomain"),
        1,
        "no domain swapped twice"
    );
    other.signal("-TERM");
}

/// The timestamp of the first log line containing `what`.
fn timestamp_of(log: &str, what: &str) -> chrono::DateTime<chrono::Utc> {
    let line = log
        .lines()
        .find(|l| l.contains(what))
        .unwrap_or_else(|| panic!("no {what:?} in:\n{log}"));
    let stamp = line.split_whitespace().next().unwrap();
    chrono::DateTime::parse_from_rfc3339(stamp)
        .unwrap()
        .with_timezone(&chrono::Utc)
}

#[tokio::test]
async fn once_does_not_act_while_a_daemon_leads_and_needs_no_disk_when_it_may() {
    let (w, config) = dynamo_world(&["--edge-delay", "1"]).await;
    let path = config.to_str().unwrap();
    // The daemon leads the same table but looks after another domain, so this one is left
    // for `once` afterwards.
    let daemon_dir = tempfile::tempdir().unwrap();
    let other = write_config(
        daemon_dir.path(),
        &std::fs::read_to_string(&config)
            .unwrap()
            .replace(&format!("domain: {DOMAIN}"), "domain: other.example.com"),
    );
    let daemon = Daemon::start(
        daemon_dir.path(),
        &["run", "-c", other.to_str().unwrap()],
        &w.emu.endpoint,
        &[],
    );
    wait_for("the daemon to lead", Duration::from_secs(15), || {
        daemon.log().contains("became the leader")
    });
    // Through the proxy, so its calls are told apart from the daemon's.
    let refused = w.emu.run_via_proxy(&["once", "-c", path]);
    assert_eq!(refused.code, 1);
    let calls = w.emu.proxy_calls();
    for op in ACTING_CALLS {
        assert_eq!(calls.get(*op), None, "the refused once called {op}");
    }
    assert!(
        refused.stderr.contains("not acting: the lease is held by"),
        "{}",
        refused.stderr
    );
    let holder = w.emu.lease_item(STATE_TABLE).await["holder"].clone();
    assert!(refused.stderr.contains(&holder), "{}", refused.stderr);
    // The whole line: who holds it and until when, then what to do; no cause twice.
    let line = refused
        .stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_default();
    let who = line
        .strip_prefix("error: not acting: the lease is held by ")
        .and_then(|r| {
            r.strip_suffix(
                " (another replica or task is acting); wait for it with --lease-wait DURATION",
            )
        })
        .unwrap_or_else(|| panic!("{line}"));
    assert!(
        who.starts_with(&format!("{holder} on "))
            && who.contains(" (epoch ")
            && who.contains(") until ")
            && !who.contains(": "),
        "{line}"
    );
    assert_eq!(w.emu.count("UpdateUserPoolDomain"), 0);
    let status = w.emu.run(&["status", "-c", path]);
    assert!(
        status.stdout.contains(&format!("leader: {holder}")),
        "{}",
        status.stdout
    );

    // The daemon stops and gives the lease up: `once --wait` (ECS) runs from an empty
    // working directory and leaves nothing on disk.
    daemon.signal("-TERM");
    let cwd = tempfile::tempdir().unwrap();
    let before: Vec<_> = std::fs::read_dir(w.dir.path()).unwrap().collect();
    let run = support::binary(
        &["once", "--wait", "--lease-wait", "10s", "-c", path],
        &w.emu.endpoint,
    )
    .current_dir(cwd.path())
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("rotated-verified"), "{stderr}");
    assert_eq!(std::fs::read_dir(cwd.path()).unwrap().count(), 0);
    let after: Vec<_> = std::fs::read_dir(w.dir.path()).unwrap().collect();
    assert_eq!(before.len() + 1, after.len(), "only verified.log is new");
    assert_eq!(last_result(&w.emu).await, "verified");
    assert!(
        w.emu.lease_item(STATE_TABLE).await.is_empty(),
        "once released the lease"
    );
}

#[tokio::test]
async fn a_missing_table_or_one_with_other_keys_is_a_clear_error_before_any_call() {
    let w = world(&[]).await;
    let config = write_config(
        w.dir.path(),
        &format!(
            "state:\n  dynamodb:\n    table: nothing-here\ndomains:\n  - domain: {DOMAIN}\n    user_pool_id: {}\n",
            w.pool
        ),
    );
    let path = config.to_str().unwrap();
    for args in [
        vec!["once", "-c", path],
        vec!["status", "-c", path],
        vec!["run", "-c", path],
    ] {
        let run = w.emu.run(&args);
        assert_eq!(run.code, 1, "{args:?}");
        assert!(
            run.stderr
                .contains("DynamoDB table nothing-here does not exist")
                && run.stderr.contains("state init"),
            "{}",
            run.stderr
        );
    }
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    w.emu
        .dynamodb()
        .create_table()
        .table_name("other-keys")
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    std::fs::write(
        &config,
        std::fs::read_to_string(&config)
            .unwrap()
            .replace("nothing-here", "other-keys"),
    )
    .unwrap();
    let run = w.emu.run(&["once", "-c", path]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("has the key schema id (S, HASH)"),
        "{}",
        run.stderr
    );
    assert_eq!(
        w.emu.count("ListCertificates"),
        0,
        "nothing was read before the check"
    );
    assert_eq!(w.emu.count("UpdateUserPoolDomain"), 0);
}

#[tokio::test]
async fn a_throttled_table_is_retried_and_an_unreadable_one_means_no_swap() {
    let (w, config) = dynamo_world(&[]).await;
    // A longer lease than the other tests: its calls are bounded by a quarter lease, and the
    // SDK's backoff after two throttles takes a few seconds.
    std::fs::write(
        &config,
        std::fs::read_to_string(&config)
            .unwrap()
            .replace("lease: 2s", "lease: 40s"),
    )
    .unwrap();
    let path = config.to_str().unwrap();
    let via_proxy = [("AWS_ENDPOINT_URL_DYNAMODB", w.emu.proxy.as_str())];
    // Throttled twice: the SDK's retries carry the read through.
    w.emu
        .fault(serde_json::json!({"operation": "Query", "kind": "throttle", "times": 2}));
    let plan = support::run_binary(
        &["once", "--dry-run", "-c", path],
        &[("AWS_ENDPOINT_URL", w.emu.endpoint.as_str()), via_proxy[0]],
    );
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(plan.stderr.contains("would-rotate"), "{}", plan.stderr);
    // The state cannot be read at all: nothing is swapped, and the run says why.
    w.emu
        .fault(serde_json::json!({"operation": "Query", "kind": "throttle", "times": -1}));
    let run = support::run_binary(
        &["once", "-c", path],
        &[("AWS_ENDPOINT_URL", w.emu.endpoint.as_str()), via_proxy[0]],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("cannot read the state"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("ThrottlingException"), "{}", run.stderr);
    assert_eq!(
        w.emu.count("UpdateUserPoolDomain"),
        0,
        "no swap without the state"
    );
}

/// A store and lease on the emulator's table, as the binary would build them.
#[tokio::test]
async fn forget_clears_a_denylist_in_the_table_beside_the_records_it_leaves() {
    let (w, config) = dynamo_world(&[]).await;
    let store = DynamoStore::new(state_table(&w.emu), None);
    store
        .update(|s| {
            let r = s.domains.entry(DOMAIN.into()).or_default();
            r.denylist.insert(
                "arn:aws:acm:us-east-1:123456789012:certificate/bad".into(),
                cognito_cert_rotator::state::Denied {
                    since: chrono::Utc::now(),
                    reason: "its swap failed verification and was rolled back".into(),
                },
            );
            r.failures = 2;
            r.skip_passes = 1;
        })
        .await
        .unwrap();
    let run = w
        .emu
        .run(&["forget", DOMAIN, "-c", config.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("cleared 1 denylisted certificate(s)"),
        "{}",
        run.stdout
    );
    let record = w.emu.table_record(STATE_TABLE, DOMAIN).await;
    assert_eq!(record["denylist"], serde_json::Value::Null, "{record}");
    assert_eq!(record["failures"], serde_json::Value::Null, "{record}");
}

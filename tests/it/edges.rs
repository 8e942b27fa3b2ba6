//! Every edge address: CloudFront answers a domain from several addresses and a swap reaches
//! them at different times. Two loopback edges (one lagging) and an address nobody listens on
//! stand in for them.

use std::time::{Duration, Instant};

use crate::support;
use support::{world, write_config, DOMAIN};

#[tokio::test]
async fn a_swap_is_verified_only_once_every_answering_edge_address_serves_it() {
    let w = world(&["--edge-delay", "1", "--lagging-edge-delay", "5"]).await;
    let lagging = w.emu.lagging_edge.clone().expect("a lagging edge");
    // Port 9 (discard) on loopback: nobody listens, as an IPv6 address without a route.
    let config = write_config(
        w.dir.path(),
        &format!(
            "verify:\n  window: 60s\n  interval: 300ms\n  connect_to: [{}, {lagging}, 127.0.0.1:9]\n  ca_file: {}\ndomains:\n  - domain: {DOMAIN}\n    user_pool_id: {}\n",
            w.emu.edge,
            w.ca_file.display(),
            w.pool
        ),
    );
    let config = config.to_str().unwrap();
    let started = Instant::now();
    let run = w.emu.run(&["once", "--wait", "-c", config]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The first edge serves it after 1 s; the lagging one only after 5 s: not verified before.
    assert!(
        run.stderr.contains(&format!(
            "1/2 edge addresses serve the new certificate ({lagging} serves serial 0a:0b:0c:01, want 0a:0b:0c:02); 1 unreachable, not counted: 127.0.0.1:9"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("rotated-verified")
            && run.stderr.contains(
                "chain trusted; 2/2 edge addresses serve the new certificate; 1 unreachable, not counted: 127.0.0.1:9"
            ),
        "{}",
        run.stderr
    );
    assert!(started.elapsed() >= Duration::from_secs(5));

    // status shows the split against the configured certificate.
    let status = w.emu.run(&["status", "-c", config]);
    assert!(
        status
            .stdout
            .contains("2/2 edge addresses serve the configured certificate"),
        "{}",
        status.stdout
    );
}

#[tokio::test]
async fn an_edge_address_still_behind_at_the_deadline_fails_the_verification() {
    let w = world(&["--lagging-edge-delay", "3600"]).await;
    let lagging = w.emu.lagging_edge.clone().expect("a lagging edge");
    let config = write_config(
        w.dir.path(),
        &format!(
            "verify:\n  window: 3s\n  interval: 300ms\n  on_failure: alert\n  connect_to: [{}, {lagging}]\n  ca_file: {}\ndomains:\n  - domain: {DOMAIN}\n    user_pool_id: {}\n",
            w.emu.edge,
            w.ca_file.display(),
            w.pool
        ),
    );
    let run = w
        .emu
        .run(&["once", "--wait", "-c", config.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("not verified by the deadline")
            && run
                .stderr
                .contains("1/2 edge addresses serve the new certificate"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn the_test_edge_leaves_no_key_files_behind() {
    // The edge hands Python's ssl each certificate and key through a file: one per handshake
    // of a new certificate, 8,000 of them in /tmp after a day of test runs, until it deleted them.
    let tmp = tempfile::tempdir().unwrap();
    let w = world(&["--tmp", tmp.path().to_str().unwrap()]).await;
    let config = w.daemon_config("0 0 0 1 1 *", "");
    let status = w.emu.run(&["status", "-c", config.to_str().unwrap()]);
    assert!(
        status
            .stdout
            .contains("serves serial 0a:0b:0c:01 (the current certificate)"),
        "{}",
        status.stdout
    );
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "the edge left {left:?}");
}

//! Change windows and freezes, end to end: a swap outside the window is deferred (not failed)
//! and made by the daemon when the window opens; a certificate that cannot wait breaks a
//! freeze; `once --ignore-windows` is the operator's override.

use std::time::Duration;

use crate::support::{
    domain_state, free_port, http_get, sample, wait_for, world, Daemon, DOMAIN, REGION,
};

/// A window that opens once a year, at New Year: closed now (the tests do not run then).
const NEW_YEAR: &str = "windows:\n  - start: \"0 0 0 1 1 *\"\n    duration: 1h\n";

#[tokio::test]
async fn outside_the_window_a_swap_is_deferred_and_the_override_makes_it() {
    let w = world(&[]).await;
    let config = w.daemon_config("0 0 * * * *", NEW_YEAR);
    let config = config.to_str().unwrap();
    let year = chrono::Utc::now()
        .format("%Y")
        .to_string()
        .parse::<i32>()
        .unwrap()
        + 1;
    let next = format!("{year}-01-01T00:00:00Z");

    let plan = w.emu.run(&["plan", "-c", config]);
    assert!(
        plan.stdout.contains(&format!(
            "  window:    deferred: outside the change window; the next one opens at {next}"
        )),
        "{}",
        plan.stdout
    );
    // Deferred is not failed: exit 0, no write.
    let once = w.emu.run(&["once", "-c", config]);
    assert_eq!(once.code, 0, "{}", once.stderr);
    assert!(
        once.stderr.contains(&format!(
            "deferred: outside the change window; the next one opens at {next}"
        )),
        "{}",
        once.stderr
    );
    assert_eq!(
        domain_state(&w.emu, REGION, DOMAIN).await.0.as_deref(),
        Some(w.old.arn.as_str())
    );
    let status = w.emu.run(&["status", "-c", config]);
    assert!(
        status
            .stdout
            .contains(&format!("~ {DOMAIN}: deferred: outside the change window")),
        "{}",
        status.stdout
    );

    // The operator's emergency: swapped now.
    let forced = w.emu.run(&["once", "--ignore-windows", "-c", config]);
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    assert!(
        forced.stderr.contains("--ignore-windows: swapping"),
        "{}",
        forced.stderr
    );
    assert_eq!(
        domain_state(&w.emu, REGION, DOMAIN).await.0.as_deref(),
        Some(w.new.arn.as_str())
    );
}

#[tokio::test]
async fn a_certificate_that_cannot_wait_breaks_the_freeze_and_says_so() {
    let w = world(&[]).await;
    let (topic, queue) = crate::notices::topic_with_queue(&w.emu).await;
    // The current certificate has 20 days left; anything under 30 days is urgent here.
    let config = w.daemon_config(
        "0 0 * * * *",
        &format!("freeze:\n  - {{from: 2026-01-01T00:00:00Z, to: 2099-01-01T00:00:00Z, reason: peak season}}\nurgent_within: 30d\nnotify:\n  sns_topic_arn: {topic}\n  events: [rotated]\n"),
    );
    let once = w.emu.run(&["once", "-c", config.to_str().unwrap()]);
    assert_eq!(once.code, 0, "{}", once.stderr);
    assert!(
        once.stderr.contains("swapping despite the change freeze (peak season): the current certificate expires in 19d"),
        "{}",
        once.stderr
    );
    assert_eq!(
        domain_state(&w.emu, REGION, DOMAIN).await.0.as_deref(),
        Some(w.new.arn.as_str())
    );
    // The notification says it broke the freeze, and why.
    let messages = crate::notices::published(&w.emu, &queue).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0]["reason"]
            .as_str()
            .unwrap()
            .contains("swapping despite the change freeze (peak season)"),
        "{messages:?}"
    );
}

#[tokio::test]
async fn the_daemon_swaps_when_the_window_opens_not_at_its_next_tick() {
    let w = world(&[]).await;
    // A window opening 12 s from now (room for a slow start); the next tick is a year away.
    // Whole seconds: the window's cron start has no finer resolution, so it opens at the
    // second's start (comparing with a fractional time failed when the swap came within it).
    let opens = chrono::DurationRound::duration_trunc(
        chrono::Utc::now() + chrono::Duration::seconds(12),
        chrono::Duration::seconds(1),
    )
    .unwrap();
    let start = opens.format("%S %M %H %d %m *").to_string();
    let port = free_port();
    let config = w.daemon_config(
        "0 0 0 1 1 *",
        &format!("windows:\n  - start: \"{start}\"\n    duration: 1h\nmetrics:\n  listen: 127.0.0.1:{port}\n"),
    );
    let d = Daemon::start(
        w.dir.path(),
        &["run", "--now", "-c", config.to_str().unwrap()],
        &w.emu.endpoint,
        &[],
    );
    wait_for("the deferral", Duration::from_secs(10), || {
        d.log().contains("deferred: outside the change window")
    });
    let (_, metrics) = http_get(port, "/metrics");
    assert_eq!(
        sample(
            &metrics,
            &format!("cognito_cert_rotator_deferred{{domain=\"{DOMAIN}\",reason=\"window\"}}")
        ),
        Some(1.0),
        "{metrics}"
    );
    wait_for("the swap at the opening", Duration::from_secs(30), || {
        d.log().contains("swapped the certificate")
    });
    assert!(
        chrono::Utc::now() >= opens,
        "swapped before the window opened"
    );
    assert_eq!(
        domain_state(&w.emu, REGION, DOMAIN).await.0.as_deref(),
        Some(w.new.arn.as_str())
    );
    let (_, metrics) = http_get(port, "/metrics");
    assert_eq!(
        sample(
            &metrics,
            &format!("cognito_cert_rotator_deferred{{domain=\"{DOMAIN}\",reason=\"window\"}}")
        ),
        Some(0.0),
        "{metrics}"
    );
}

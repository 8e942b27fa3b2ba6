use super::*;

fn event() -> HookEvent {
    HookEvent {
        event: Event::Verified,
        domain: "auth.example.com".into(),
        consumer: "us-east-1_A".into(),
        consumer_kind: crate::model::ConsumerKind::Cognito,
        old_arn: Some("arn:old".into()),
        new_arn: Some("arn:new".into()),
        reason: "verified after 8s".into(),
        id: Some("auth.example.com:verified:arn:new:2026-01-01T00:00:00Z".into()),
        renewal: false,
    }
}

fn sh(script: &str) -> Vec<String> {
    vec!["/bin/sh".into(), "-c".into(), script.into()]
}

#[tokio::test]
async fn hooks_receive_the_event_in_their_environment() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("env");
    let script = format!(
        "printf '%s|%s|%s|%s|%s|%s|%s' \"$CCR_EVENT\" \"$CCR_DOMAIN\" \"$CCR_USER_POOL_ID\" \"$CCR_OLD_ARN\" \"$CCR_NEW_ARN\" \"$CCR_REASON\" \"$CCR_EVENT_ID\" > {}",
        out.display()
    );
    let result = run(&sh(&script), &event(), Duration::from_secs(10)).await;
    assert_eq!(result, HookResult::Success);
    assert_eq!(
        std::fs::read_to_string(out).unwrap(),
        "on_verified|auth.example.com|us-east-1_A|arn:old|arn:new|verified after 8s|auth.example.com:verified:arn:new:2026-01-01T00:00:00Z"
    );
}

#[tokio::test]
async fn a_failing_or_missing_hook_is_reported_not_raised() {
    assert!(matches!(
        run(&sh("exit 3"), &event(), Duration::from_secs(10)).await,
        HookResult::Failed(_)
    ));
    assert!(matches!(
        run(
            &["/nonexistent/hook".into()],
            &event(),
            Duration::from_secs(10)
        )
        .await,
        HookResult::Failed(_)
    ));
}

#[tokio::test(start_paused = true)]
async fn a_hung_hook_is_killed_at_its_timeout() {
    let started = tokio::time::Instant::now();
    let r = run(&sh("sleep 30"), &event(), Duration::from_millis(200)).await;
    assert_eq!(r, HookResult::Timeout);
    // On tokio's clock: exactly the timeout, not the hook's 30 s.
    assert_eq!(started.elapsed(), Duration::from_millis(200));
}

#[tokio::test]
async fn fire_does_not_block_and_counts_results() {
    let dir = tempfile::tempdir().unwrap();
    let go = dir.path().join("go");
    let metrics = Metrics::new();
    // The hook waits until the test, after fire() has returned, lets it finish: a fire()
    // that waited for its hook would never return and the hook would time out instead.
    let hooks = Hooks {
        on_failure: Some(sh(&format!(
            "while [ ! -e {} ]; do sleep 0.01; done; exit 1",
            go.display()
        ))),
        timeout: Duration::from_secs(20),
        ..Hooks::default()
    };
    let runner = HookRunner::new(hooks, Some(metrics.clone()));
    runner.fire(HookEvent {
        event: Event::Failure,
        ..event()
    });
    runner.fire(event()); // no on_verified hook configured: nothing runs
    std::fs::write(&go, b"").unwrap();
    let results = runner.finish().await;
    assert_eq!(results, [HookResult::Failed("exit status: 1".into())]);
    assert!(metrics.encode().contains(
        "cognito_cert_rotator_hook_runs_total{event=\"on_failure\",result=\"failed\"} 1"
    ));
}

#[tokio::test]
async fn an_outcome_is_announced_once_per_process_whoever_asks() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let hooks = Hooks {
        on_verified: Some(sh(&format!("echo \"$CCR_EVENT_ID\" >> {}", log.display()))),
        timeout: Duration::from_secs(20),
        ..Hooks::default()
    };
    let runner = HookRunner::new(hooks, None);
    // The recording path and the outbox drain of the same process both ask.
    assert!(runner.fire_once(event()).await);
    assert!(!runner.fire_once(event()).await);
    let other = HookEvent {
        id: Some("auth.example.com:verified:arn:newer:2026-02-01T00:00:00Z".into()),
        ..event()
    };
    assert!(runner.fire_once(other).await);
    // A target's failure has no ID: each one fires.
    let failure = HookEvent {
        id: None,
        ..event()
    };
    assert!(runner.fire_once(failure.clone()).await);
    assert!(runner.fire_once(failure).await);
    runner.finish().await;
    let text = std::fs::read_to_string(&log).unwrap();
    let mut ids: Vec<&str> = text.lines().collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [
            "",
            "",
            "auth.example.com:verified:arn:new:2026-01-01T00:00:00Z",
            "auth.example.com:verified:arn:newer:2026-02-01T00:00:00Z"
        ]
    );
}

#[tokio::test]
async fn at_most_four_hooks_run_at_once_and_none_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let (running, go, log) = (
        dir.path().join("running"),
        dir.path().join("go"),
        dir.path().join("log"),
    );
    std::fs::create_dir(&running).unwrap();
    // Each hook marks itself running, records how many are, waits for the test, unmarks.
    let script = format!(
        "touch {r}/$$; ls {r} | wc -l >> {l}; while [ ! -e {g} ]; do sleep 0.01; done; rm {r}/$$",
        r = running.display(),
        l = log.display(),
        g = go.display()
    );
    let hooks = Hooks {
        on_failure: Some(sh(&script)),
        timeout: Duration::from_secs(30),
        ..Hooks::default()
    };
    let runner = HookRunner::new(hooks, None);
    for _ in 0..6 {
        runner.fire(HookEvent {
            event: Event::Failure,
            ..event()
        });
    }
    let started = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .count()
    };
    while started() < AT_ONCE {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(started(), AT_ONCE, "a fifth started while four ran");
    std::fs::write(&go, b"").unwrap();
    let results = runner.finish().await;
    assert_eq!(results, vec![HookResult::Success; 6], "none is lost");
    let seen: Vec<usize> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert!(seen.iter().all(|n| *n <= AT_ONCE), "{seen:?}");
}

#[test]
fn the_fired_ids_are_bounded() {
    let mut fired = Fired::default();
    for n in 0..Fired::KEEP + 10 {
        assert!(fired.insert(&n.to_string()));
    }
    assert_eq!(fired.set.len(), Fired::KEEP);
    assert!(fired.insert("0"), "the oldest was forgotten");
    assert!(!fired.insert(&(Fired::KEEP + 9).to_string()));
}

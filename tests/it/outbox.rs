//! The outbox: an outcome recorded but not announced — its process was killed or stopped
//! between the state write and the hooks — is announced by the next run that acts: its hook
//! (with `CCR_EVENT_ID`) and its notification, once.

use crate::notices::{published, topic_with_queue};
use crate::support::{world, DOMAIN};

#[tokio::test]
async fn an_outcome_recorded_but_not_announced_is_announced_by_the_next_run_once() {
    let w = world(&[]).await;
    let (topic, queue) = topic_with_queue(&w.emu).await;
    let log = w.dir.path().join("hooks.log");
    let config = w.daemon_config(
        "0 0 * * * *",
        &format!(
            "notify:\n  sns_topic_arn: {topic}\nhooks:\n  on_verified: [/bin/sh, -c, 'echo \"$CCR_EVENT $CCR_EVENT_ID\" >> {}']\n",
            log.display()
        ),
    );
    let config = config.to_str().unwrap();
    let hook_runs = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    // A swap, verified and announced at once: nothing is left in the outbox.
    let run = w.emu.run(&["once", "--wait", "-c", config]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let runs = hook_runs();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let prefix = format!("on_verified {DOMAIN}:verified:{}:", w.new.arn);
    assert!(runs[0].starts_with(&prefix), "{runs:?}");
    let events: Vec<String> = published(&w.emu, &queue)
        .await
        .iter()
        .map(|m| m["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(events, ["rotated", "verified"]);
    let path = w.dir.path().join("state.json");
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let record = &mut state["domains"][DOMAIN];
    assert!(record.get("outbox").is_none(), "{record}");

    // The state a replica leaves when it is killed right after recording a verification.
    record["outbox"] = serde_json::json!([{
        "kind": "verified",
        "user_pool_id": w.pool,
        "account": "default",
        "old_arn": w.old.arn,
        "new_arn": w.new.arn,
        "reason": "verified after 3s (recorded just before a crash)",
        "deadline": "2030-01-01T00:00:00Z",
        "at": "2029-12-31T23:00:00Z"
    }]);
    std::fs::write(&path, serde_json::to_string(&state).unwrap()).unwrap();

    // The next run announces it, with the outcome's ID, and takes it out of the outbox.
    let run = w.emu.run(&["once", "-c", config]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let runs = hook_runs();
    assert_eq!(
        runs[1..],
        [format!(
            "on_verified {DOMAIN}:verified:{}:2030-01-01T00:00:00Z",
            w.new.arn
        )],
        "{runs:?}"
    );
    let messages = published(&w.emu, &queue).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["event"], "verified");
    assert_eq!(
        messages[0]["reason"],
        "verified after 3s (recorded just before a crash)"
    );
    let after: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(after["domains"][DOMAIN].get("outbox").is_none(), "{after}");

    // Announced once: the run after that announces nothing.
    let run = w.emu.run(&["once", "-c", config]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(hook_runs().len(), 2);
    assert!(published(&w.emu, &queue).await.is_empty());
}

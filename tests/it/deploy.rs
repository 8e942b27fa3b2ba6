//! The infrastructure as code in deploy/ matches the code: the EventBridge rules send exactly
//! the ACM events the rotator acts on, the queue outlives the daemon's visibility timeout,
//! the ECS rule runs `once --wait` in the task's container, and cfn-lint finds nothing in any
//! template.

use crate::support;

use std::path::{Path, PathBuf};

use cognito_cert_rotator::daemon::consumer::VISIBILITY;
use cognito_cert_rotator::events::{AVAILABLE_ACTIONS, DETAIL_TYPES, SOURCE};
use serde_yaml_ng::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn template(name: &str) -> Value {
    let text = std::fs::read_to_string(root().join(name)).unwrap();
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A template's resources of `kind`.
fn resources<'a>(t: &'a Value, kind: &str) -> Vec<&'a Value> {
    t["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r["Type"].as_str() == Some(kind))
        .collect()
}

/// The pattern the rules must have, built from what src/events.rs acts on.
fn expected_pattern() -> Value {
    let others: Vec<&str> = DETAIL_TYPES[1..].to_vec();
    serde_yaml_ng::to_value(serde_json::json!({
        "source": [SOURCE],
        "$or": [
            {"detail-type": [DETAIL_TYPES[0]], "detail": {"Action": AVAILABLE_ACTIONS}},
            {"detail-type": others},
        ]
    }))
    .unwrap()
}

#[test]
fn both_rules_send_exactly_the_events_the_rotator_acts_on() {
    assert_eq!(DETAIL_TYPES[0], "ACM Certificate Available");
    for file in ["deploy/events/queue.yaml", "deploy/events/ecs-rule.yaml"] {
        let t = template(file);
        let rules = resources(&t, "AWS::Events::Rule");
        assert_eq!(rules.len(), 1, "{file}");
        assert_eq!(
            rules[0]["Properties"]["EventPattern"],
            expected_pattern(),
            "{file}"
        );
    }
}

#[test]
fn the_queue_has_a_dead_letter_queue_a_policy_for_the_rule_and_a_long_enough_visibility() {
    let t = template("deploy/events/queue.yaml");
    let queues = resources(&t, "AWS::SQS::Queue");
    assert_eq!(queues.len(), 2);
    let main = queues
        .iter()
        .find(|q| !q["Properties"]["RedrivePolicy"].is_null())
        .expect("a queue with a RedrivePolicy");
    let visibility = main["Properties"]["VisibilityTimeout"].as_u64().unwrap();
    assert!(visibility >= VISIBILITY.as_secs(), "{visibility}");
    assert!(
        main["Properties"]["RedrivePolicy"]["maxReceiveCount"]
            .as_u64()
            .unwrap()
            >= 3
    );
    let policy = resources(&t, "AWS::SQS::QueuePolicy");
    let statement = &policy[0]["Properties"]["PolicyDocument"]["Statement"][0];
    assert_eq!(statement["Principal"]["Service"], "events.amazonaws.com");
    assert_eq!(statement["Action"], "sqs:SendMessage");
    assert!(
        !statement["Condition"]["ArnEquals"]["aws:SourceArn"].is_null(),
        "only the rule may send: {statement:?}"
    );
}

#[test]
fn the_ecs_rule_runs_once_wait_in_the_task_definitions_container() {
    let t = template("deploy/events/ecs-rule.yaml");
    let rule = resources(&t, "AWS::Events::Rule")[0];
    let target = &rule["Properties"]["Targets"][0];
    let input: serde_json::Value = serde_json::from_str(target["Input"].as_str().unwrap()).unwrap();
    let task: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("deploy/ecs/task-definition.json")).unwrap(),
    )
    .unwrap();
    let container = &input["containerOverrides"][0];
    assert_eq!(container["name"], task["containerDefinitions"][0]["name"]);
    let command: Vec<&str> = container["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(&command[..2], ["once", "--wait"]);
    // The command is the binary's own: it parses.
    let run = support::run_binary(&[&command[..], &["--help"]].concat(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

/// Every CloudFormation template under deploy/.
fn templates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root().join("deploy")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml")
                && std::fs::read_to_string(&path)
                    .unwrap()
                    .contains("AWSTemplateFormatVersion")
            {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn cfn_lint(files: &[PathBuf]) -> std::process::Output {
    let bin = support::python().with_file_name("cfn-lint");
    assert!(
        bin.exists(),
        "{} is missing: run `make venv`",
        bin.display()
    );
    std::process::Command::new(bin)
        .args(files)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn cfn_lint_finds_nothing_in_any_template() {
    let files = templates();
    assert!(files.len() >= 3, "{files:?}");
    let out = cfn_lint(&files);
    assert!(
        out.status.success(),
        "cfn-lint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Guards the check above: cfn-lint does fail a broken template.
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.yaml");
    std::fs::write(
        &broken,
        "AWSTemplateFormatVersion: \"2010-09-09\"\nResources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      VisibilityTimout: 900\n",
    )
    .unwrap();
    assert!(!cfn_lint(&[broken]).status.success());
}

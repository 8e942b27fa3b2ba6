//! Every user-facing failure that can be provoked, compared as the **whole** `error:` line, so
//! a cause printed twice (in a message and again as its `source()`) fails the test.

use crate::support::{self, world, write_config, DOMAIN};

/// The one `error: …` line of a run's stderr.
fn error_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(lines.len(), 1, "one error line expected:\n{stderr}");
    lines[0]
}

/// No `: cause` segment follows itself: what a cause printed twice looks like.
fn assert_no_repeated_cause(line: &str) {
    let parts: Vec<&str> = line.split(": ").collect();
    for pair in parts.windows(2) {
        assert_ne!(pair[0], pair[1], "a cause is printed twice: {line}");
    }
}

#[test]
fn a_missing_config_file_names_its_cause_once() {
    let run = support::run_binary(&["validate", "-c", "/nonexistent/ccr.yaml"], &[]);
    assert_eq!(run.code, 2);
    assert_eq!(
        error_line(&run.stderr),
        "error: /nonexistent/ccr.yaml: cannot read the configuration file: No such file or directory (os error 2)"
    );
}

#[test]
fn bad_yaml_is_one_located_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), "domains: [\n  - domain: a\n");
    let run = support::run_binary(&["validate", "-c", path.to_str().unwrap()], &[]);
    assert_eq!(run.code, 2);
    assert_eq!(
        error_line(&run.stderr),
        format!(
            // Line 3: write_config puts a state_file: line first.
            "error: {}:3:3: did not find expected node content",
            path.display()
        )
    );
}

#[test]
fn an_unusable_state_folder_names_the_file_and_its_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    // A file where the state file's folder should be: no permission trick that root ignores.
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, "").unwrap();
    let state = blocker.join("state.json");
    let path = write_config(
        dir.path(),
        &format!(
            "state_file: {}\ndomains:\n  - domain: {DOMAIN}\n    user_pool_id: us-east-1_abc\n",
            state.display()
        ),
    );
    let run = support::run_binary(&["once", "-c", path.to_str().unwrap()], &[]);
    assert_eq!(run.code, 1);
    let line = error_line(&run.stderr);
    assert_eq!(
        line,
        format!(
            "error: opening the state file (set state_file: in {} to move it): state file {}.owner: Not a directory (os error 20)",
            path.display(),
            state.display()
        )
    );
    assert_no_repeated_cause(line);
}

#[tokio::test]
async fn a_missing_state_table_is_one_line_saying_what_to_do() {
    let w = world(&[]).await;
    let config = write_config(
        w.dir.path(),
        &format!(
            "state:\n  dynamodb:\n    table: nothing-here\n    region: eu-west-1\ndomains:\n  - domain: {DOMAIN}\n    user_pool_id: {}\n",
            w.pool
        ),
    );
    let run = w.emu.run(&["once", "-c", config.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    assert_eq!(
        error_line(&run.stderr),
        "error: DynamoDB table nothing-here does not exist (region eu-west-1): create it with `cognito-cert-rotator state init -c FILE` (or deploy/dynamodb/table.yaml)"
    );
}

#[test]
fn the_repeated_cause_check_catches_a_repeat() {
    let caught = std::panic::catch_unwind(|| {
        assert_no_repeated_cause("error: x: cannot read: No such file: No such file");
    });
    assert!(caught.is_err());
    assert_no_repeated_cause("error: x: cannot read: No such file");
}

//! What the rotator runs and reads cannot lose its memory, leak a secret or take it down:
//! a damaged state file is refused and left as it was, one process acts per state file, and
//! hooks are bounded in output, time, number and environment. Each on the binary, where a
//! user meets it.

use std::path::Path;

use crate::support::{self, wait_for, write_config, Emulator};

const MISSING: &str = "nothing.example.com";

fn state_of(config: &Path) -> std::path::PathBuf {
    config.parent().unwrap().join("state.json")
}

/// A config whose one target fails at once (its domain does not exist), so `on_failure` runs.
fn failing(dir: &Path, extra: &str) -> std::path::PathBuf {
    write_config(
        dir,
        &format!("{extra}domains:\n  - domain: {MISSING}\n    user_pool_id: us-east-1_abc\n"),
    )
}

#[test]
fn a_damaged_state_file_stops_every_command_with_exit_2_and_is_left_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let config = failing(dir.path(), "");
    let state = state_of(&config);
    let damaged = [
        // Truncated mid-write by something else (a full disk, a copy).
        &b"{\n  \"version\": 1,\n  \"domains\": {\n    \"nothing.example.com\": {\n      \"failures\": 3,\n      \"denyl"[..],
        // A field this version does not know (written by a newer one, then a downgrade).
        &b"{\n  \"version\": 1,\n  \"domains\": {\n    \"nothing.example.com\": {\n      \"retired\": true\n    }\n  }\n}\n"[..],
        // A newer format.
        &b"{\n  \"version\": 7,\n  \"domains\": {}\n}\n"[..],
    ];
    let c = config.to_str().unwrap();
    for bytes in damaged {
        std::fs::write(&state, bytes).unwrap();
        for args in [
            &["once", "-c", c][..],
            &["plan", "-c", c],
            &["status", "-c", c],
            &["once", "--dry-run", "-c", c],
        ] {
            let run = support::run_binary(args, &[]);
            assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
            assert!(
                run.stderr.contains(&state.display().to_string())
                    && run.stderr.contains("left as it was"),
                "{args:?}: {}",
                run.stderr
            );
            assert_eq!(std::fs::read(&state).unwrap(), bytes, "{args:?} changed it");
        }
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            // The acting command's lock file is not a copy of the state.
            .filter(|n| n.starts_with("state.json") && !n.ends_with(".owner"))
            .collect();
        assert_eq!(names, ["state.json"], "nothing moved aside or created");
    }
}

#[test]
fn state_check_names_each_damaged_record_and_its_line_and_forget_drops_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = failing(dir.path(), "");
    let state = state_of(&config);
    std::fs::write(
        &state,
        "{\n  \"version\": 1,\n  \"domains\": {\n    \"a.example.com\": {\n      \"failures\": 2\n    },\n    \"nothing.example.com\": {\n      \"pending\": 42\n    }\n  }\n}\n",
    )
    .unwrap();
    let c = config.to_str().unwrap();
    let run = support::run_binary(&["state", "check", "-c", c], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout.contains(&format!(
            "state file {}:7: domains.\"nothing.example.com\": ",
            state.display()
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("2 record(s), 1 unusable"),
        "{}",
        run.stdout
    );
    // `forget` of the damaged domain drops its record; the other record is kept.
    let run = support::run_binary(&["forget", "-c", c, MISSING], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = support::run_binary(&["state", "check", "-c", c], &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let kept: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(kept["domains"]["a.example.com"]["failures"], 2);
    assert!(kept["domains"].get(MISSING).is_none());
    // The write kept the damaged version as the backup.
    let bak = std::fs::read_to_string(dir.path().join("state.json.bak")).unwrap();
    assert!(bak.contains("\"pending\": 42"));
}

#[test]
fn a_second_acting_process_on_the_state_file_is_refused_naming_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let config = failing(dir.path(), "");
    let owner = dir.path().join("state.json.owner");
    // Another process holds the claim (as a running daemon does).
    let held = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&owner)
        .unwrap();
    held.lock().unwrap();
    std::fs::write(&owner, "pid 4242\n").unwrap();
    let run = support::run_binary(&["once", "-c", config.to_str().unwrap()], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("another process (pid 4242) holds the state; not acting"),
        "{}",
        run.stderr
    );
    assert!(!dir.path().join("state.json").exists(), "it wrote nothing");
    drop(held);
}

/// Run `once` on a failing target with `hooks`, measuring the binary's peak RSS (KiB) with
/// the kernel's own count (getrusage of the waited-for child, through Python).
fn once_with_hooks(
    emu: &Emulator,
    dir: &Path,
    hooks: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> (support::Run, u64) {
    let config = failing(dir, hooks);
    let rss = dir.join("rss");
    let mut argv = vec![
        env!("CARGO_BIN_EXE_cognito-cert-rotator").to_string(),
        "once".into(),
    ];
    argv.extend(args.iter().map(|a| (*a).to_string()));
    argv.extend(["-c".to_string(), config.display().to_string()]);
    let script = format!(
        "import json,resource,subprocess,sys\nargv=json.loads(sys.argv[1])\ncode=subprocess.call(argv)\nopen({:?},'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\nsys.exit(code)",
        rss.display().to_string()
    );
    let mut cmd = std::process::Command::new("python3");
    cmd.arg("-c")
        .arg(script)
        .arg(serde_json::to_string(&argv).unwrap());
    support::test_env(&mut cmd, &emu.endpoint);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let run = support::Run::from(cmd.output().unwrap());
    let peak = std::fs::read_to_string(&rss)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    (run, peak)
}

#[test]
fn a_hook_printing_400_mb_keeps_the_daemon_small_and_its_log_short() {
    let emu = Emulator::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let hooks = "hooks:\n  timeout: 60s\n  on_failure: [/bin/sh, -c, 'head -c 400000000 /dev/zero | tr \"\\0\" x; echo; echo the-last-line']\n";
    let (run, peak_kib) = once_with_hooks(&emu, dir.path(), hooks, &[], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    eprintln!("peak RSS with a 400 MB hook: {} KiB", peak_kib);
    assert!(peak_kib < 96 * 1024, "peak RSS {peak_kib} KiB");
    assert!(
        run.stderr.len() < 1024 * 1024,
        "{} bytes of log",
        run.stderr.len()
    );
    assert!(run.stderr.contains("the-last-line"), "the tail is kept");
    assert!(
        run.stderr
            .contains("hook output: dropped the first 399934479 bytes, kept the last 64 KiB"),
        "{}",
        &run.stderr[run.stderr.len().saturating_sub(3000)..]
    );
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit(')')
            .next()
            .is_some_and(|rest| !rest.trim_start().starts_with('Z'))
    })
}

#[test]
fn a_hooks_timeout_kills_what_it_left_behind_and_hooks_see_no_secrets() {
    let emu = Emulator::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("grandchild");
    let env_file = dir.path().join("env");
    let hooks = format!(
        "hooks:\n  timeout: 2s\n  pass_env: [HOOK_TOKEN]\n  on_failure: [/bin/sh, -c, 'env > {}; sleep 302 & echo $! > {}; exit 0']\n",
        env_file.display(),
        pid_file.display()
    );
    let (run, _) = once_with_hooks(
        &emu,
        dir.path(),
        &hooks,
        &[],
        &[
            ("AWS_SECRET_ACCESS_KEY", "secret-key-must-not-leak"),
            ("AWS_SESSION_TOKEN", "session-token-must-not-leak"),
            ("HOOK_TOKEN", "passed-on-purpose"),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("hook killed after 2s"),
        "{}",
        run.stderr
    );
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    wait_for(
        &format!("the hook's child {pid} killed with its group"),
        std::time::Duration::from_secs(5),
        || !alive(pid),
    );
    let env = std::fs::read_to_string(&env_file).unwrap();
    assert!(!env.contains("must-not-leak"), "{env}");
    assert!(!env.contains("AWS_ACCESS_KEY_ID"), "{env}");
    assert!(env.contains("HOOK_TOKEN=passed-on-purpose"), "{env}");
    assert!(env.contains(&format!("CCR_DOMAIN={MISSING}")), "{env}");
    assert!(env.contains("PATH="), "{env}");
}

#[test]
fn a_dry_run_runs_no_hook() {
    let emu = Emulator::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let ran = dir.path().join("ran");
    let hooks = format!(
        "hooks:\n  on_failure: [/bin/sh, -c, 'touch {}']\n",
        ran.display()
    );
    let (run, _) = once_with_hooks(&emu, dir.path(), &hooks, &["--dry-run"], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(!ran.exists(), "a dry run ran on_failure");
    // The same without --dry-run does run it: the test can fail.
    let (run, _) = once_with_hooks(&emu, dir.path(), &hooks, &[], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(ran.exists());
}

#[tokio::test]
async fn the_backoff_of_250_failing_domains_is_recorded_in_dynamodb_in_batches() {
    let emu = Emulator::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let domains: String = (0..250)
        .map(|n| format!("  - domain: d{n}.example.com\n    user_pool_id: us-east-1_abc\n"))
        .collect();
    let config = write_config(
        dir.path(),
        &format!(
            "schedule: \"0 0 0 1 1 *\"\nconcurrency: 16\nrate_limits:\n  cognito: 1000\nstate:\n  dynamodb:\n    table: ccr-state\n    lease: 10s\ndomains:\n{domains}"
        ),
    );
    let c = config.to_str().unwrap();
    let init = emu.run(&["state", "init", "-c", c]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    let daemon = support::Daemon::start(dir.path(), &["run", "--now", "-c", c], &emu.endpoint, &[]);
    // A guard against a hang, not a speed target: on a loaded 2-core machine (6 suites side by
    // side, each with its own single-threaded emulator, whose DynamoDB item calls are
    // serialised) one pass of 250 failing domains and their batched writes has taken past 90 s.
    support::wait_passes(&[&daemon], 1, std::time::Duration::from_secs(240));
    for n in [0, 99, 100, 249] {
        let record = emu
            .table_record("ccr-state", &format!("d{n}.example.com"))
            .await;
        assert_eq!(record["failures"], 1, "d{n}: {record}\n{}", daemon.log());
    }
    assert!(
        !daemon.log().contains("cannot record failure counts"),
        "{}",
        daemon.log()
    );
}

#[test]
fn metrics_on_a_non_loopback_address_log_a_warning_naming_the_docs() {
    let emu = Emulator::start(&[]);
    for (host, warned) in [("0.0.0.0", true), ("127.0.0.1", false)] {
        let dir = tempfile::tempdir().unwrap();
        let port = support::free_port();
        let config = failing(
            dir.path(),
            &format!("schedule: \"0 0 0 1 1 *\"\nmetrics:\n  listen: {host}:{port}\n"),
        );
        let daemon = support::Daemon::start(
            dir.path(),
            &["run", "-c", config.to_str().unwrap()],
            &emu.endpoint,
            &[],
        );
        wait_for(
            "the daemon to start",
            std::time::Duration::from_secs(20),
            || daemon.log().contains("started"),
        );
        let log = daemon.log();
        assert_eq!(
            log.contains("metrics.listen is not a loopback address")
                && log.contains("Restricting access"),
            warned,
            "{host}: {log}"
        );
    }
}

#[test]
fn a_config_whose_aliases_expand_to_a_gigabyte_is_refused_located() {
    let dir = tempfile::tempdir().unwrap();
    // A 1 MiB scalar used 1024 times: a 1 MiB file that expands to 1 GiB, in a map that takes
    // any strings (YAML's own repetition limit counts alias uses, not their size).
    let mut text = format!(
        "discovery:\n  manage_tagged:\n    k0: &big \"{}\"\n",
        "x".repeat(1 << 20)
    );
    for n in 1..1024 {
        text.push_str(&format!("    k{n}: *big\n"));
    }
    text.push_str("domains:\n  - domain: auth.example.com\n    user_pool_id: us-east-1_abc\n");
    let config = write_config(dir.path(), &text);
    let started = std::time::Instant::now();
    let run = support::run_binary(&["validate", "-c", config.to_str().unwrap()], &[]);
    eprintln!("alias bomb refused in {:?}", started.elapsed());
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("error: {}:", config.display()))
            && run.stderr.contains("expands past 16 MiB"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_duration_past_its_bound_is_a_located_error_not_a_panic_later() {
    let dir = tempfile::tempdir().unwrap();
    let config = failing(dir.path(), "verify:\n  window: 1000000y\n");
    let run = support::run_binary(&["validate", "-c", config.to_str().unwrap()], &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(":3:11: ")
            && run
                .stderr
                .contains("duration \"1000000y\" is longer than this setting allows (7d at most)"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_webhook_url_comes_from_the_environment_and_is_never_shown_past_its_host() {
    let dir = tempfile::tempdir().unwrap();
    let config = failing(
        dir.path(),
        "notify:\n  webhook:\n    url_from_env: CCR_TEST_WEBHOOK\n",
    );
    let c = config.to_str().unwrap();
    let run = support::run_binary(&["validate", "-c", c], &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("CCR_TEST_WEBHOOK is not set"),
        "{}",
        run.stderr
    );
    let run = support::run_binary(
        &["validate", "-c", c],
        &[(
            "CCR_TEST_WEBHOOK",
            "http://hooks.example.com/services/T0/B0/SECRET",
        )],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("http://hooks.example.com/…"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("SECRET"), "{}", run.stderr);
    let run = support::run_binary(
        &["validate", "-c", c],
        &[(
            "CCR_TEST_WEBHOOK",
            "https://hooks.example.com/services/T0/B0/SECRET",
        )],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stdout.contains("SECRET"), "{}", run.stdout);
}

//! The HA soak: three replicas of the real binary on one DynamoDB table (lease 3 s), a quarter
//! of every DynamoDB, ACM and Cognito request failing (503, throttling, resets, answers lost
//! after AWS applied the request), the leader killed with -9 or stopped past its lease every
//! few seconds, and newer certificates arriving throughout. Then the invariants, from the fault
//! proxy's journal of every request and the hooks' log:
//!
//! - exactly one successful `UpdateUserPoolDomain` per domain and certificate, and a domain
//!   never moved to an older certificate;
//! - no ACM, Cognito or SQS request from a replica that did not hold the lease at that moment;
//! - every swap verified and its `on_rotate` and `on_verified` hooks fired: never twice by one
//!   process, more than once only across a change of leader and then with one
//!   `CCR_EVENT_ID` (the outbox's at-least-once, docs/high-availability.md), and no
//!   `on_failure` for not leading;
//! - no crash: every replica still running exits 0 on SIGTERM, and no log shows a panic.
//!
//! `make test` runs it for 20 s; `make soak` for longer with a fresh seed, printed first
//! (`CCR_SOAK_SECONDS`, `CCR_SOAK_SEED` replay a run).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support;
use support::{import, pool_with_domain, write_config, Daemon, Emulator, Leaf, REGION};

const TABLE: &str = "ccr-soak";
const LEASE_SECONDS: f64 = 3.0;
const REPLICAS: usize = 3;
const DOMAINS: [&str; 2] = ["auth.example.com", "login.example.com"];

/// splitmix64: a seeded generator, so a run can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn millis(&mut self, from: u64, to: u64) -> Duration {
        Duration::from_millis(from + self.below(to - from))
    }
}

/// One replica process: its slot, its access key (one per process, so the journal tells
/// processes apart) and the process.
struct Replica {
    key: String,
    daemon: Daemon,
}

fn start_replica(
    dir: &Path,
    config: &Path,
    proxy: &str,
    slot: usize,
    generation: usize,
) -> Replica {
    let key = format!("replica{slot}gen{generation}");
    let daemon = Daemon::start(
        dir,
        &["run", "-c", config.to_str().unwrap()],
        proxy,
        &[("AWS_ACCESS_KEY_ID", key.as_str())],
    );
    Replica { key, daemon }
}

/// Start again every replica whose process ended (a table check that failed after every retry
/// under the faults), as systemd's Restart=on-failure would; a panic is still a failure.
fn restart_exited(
    replicas: &mut [Replica],
    dead: &mut Vec<Replica>,
    (dir, config, proxy): (&Path, &Path, &str),
    generation: &mut usize,
    actions: &mut Vec<String>,
) {
    for (slot, r) in replicas.iter_mut().enumerate() {
        if let Some(code) = r.daemon.exited() {
            actions.push(format!("{} exited {code}; restarted", r.key));
            let fresh = start_replica(dir, config, proxy, slot, *generation);
            *generation += 1;
            dead.push(std::mem::replace(r, fresh));
        }
    }
}

/// The soak's parameters: `CCR_SOAK_SECONDS` of churn (20 by default), `CCR_SOAK_SEED`.
fn parameters() -> (Duration, u64) {
    let seconds = std::env::var("CCR_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let seed = std::env::var("CCR_SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    (Duration::from_secs(seconds), seed)
}

#[tokio::test]
async fn replicas_under_kills_pauses_and_faults_keep_every_invariant() {
    let (churn, seed) = parameters();
    eprintln!(
        "soak: seed {seed}, {} s of churn (replay: CCR_SOAK_SEED={seed} CCR_SOAK_SECONDS={})",
        churn.as_secs(),
        churn.as_secs()
    );
    let mut rng = Rng(seed);
    let s = support::stage(&["--edge-delay", "1"]);
    let emu = &s.emu;
    // Each domain on an old certificate; generations of newer ones arrive during the churn.
    let mut serial = 0x5000_u64;
    let mut generations: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut domains = String::new();
    for domain in DOMAINS {
        serial += 1;
        let old = import(emu, &s.ca, Leaf::new(domain, 20, serial)).await;
        let pool = pool_with_domain(emu, REGION, domain, &old.arn, 2).await;
        domains.push_str(&format!("  - domain: {domain}\n    user_pool_id: {pool}\n"));
        // One newer certificate from the start; more arrive during the churn.
        serial += 1;
        let first = import(emu, &s.ca, Leaf::new(domain, 90, serial)).await;
        generations.insert(domain.to_string(), vec![old.arn, first.arn]);
    }
    let hooks = s.dir.path().join("hooks.log");
    let hook = |event: &str| {
        format!(
            "[/bin/sh, -c, 'echo \"{event} $CCR_DOMAIN $CCR_NEW_ARN $CCR_EVENT_ID $PPID $(date +%s.%N) $CCR_REASON\" >> {}']",
            hooks.display()
        )
    };
    let config = write_config(
        s.dir.path(),
        &format!(
            "schedule: \"* * * * * *\"\nstate:\n  dynamodb:\n    table: {TABLE}\n    lease: 3s\nhooks:\n  on_rotate: {}\n  on_verified: {}\n  on_failure: {}\nverify:\n  window: 120s\n  interval: 300ms\n  connect_to: {}\n  ca_file: {}\ndomains:\n{domains}",
            hook("rotate"),
            hook("verified"),
            hook("failure"),
            emu.edge,
            s.ca_file.display()
        ),
    );
    let init = emu.run(&["state", "init", "-c", config.to_str().unwrap()]);
    assert_eq!(init.code, 0, "{}", init.stderr);

    let mut replicas: Vec<Replica> = (0..REPLICAS)
        .map(|slot| start_replica(s.dir.path(), &config, &emu.proxy, slot, 0))
        .collect();
    let mut generation = 1;
    emu.seed_proxy(seed);
    // Faults on a quarter of every request, drawn from the seeded generator.
    emu.fault(serde_json::json!({
        "operation": "*",
        "probability": 0.25,
        "kinds": ["503", "throttle", "reset", "lose-answer"],
        "times": -1
    }));
    let started = Instant::now();
    let mut actions = Vec::new();
    // When each stopped replica was let go on (its key; the wall clock, which the proxy's
    // journal uses too, read just before the SIGCONT).
    let mut woken: Vec<(String, f64)> = Vec::new();
    // Killed processes, kept for their logs.
    let mut dead: Vec<Replica> = Vec::new();
    while started.elapsed() < churn {
        std::thread::sleep(rng.millis(1_500, 4_000));
        // A newer certificate for one domain, now and then.
        if rng.below(2) == 0 {
            let domain = DOMAINS[rng.below(DOMAINS.len() as u64) as usize];
            let list = generations.get_mut(domain).unwrap();
            serial += 1;
            let days = 90 + list.len() as i64;
            let cert = import(emu, &s.ca, Leaf::new(domain, days, serial)).await;
            actions.push(format!("new certificate for {domain} ({days} days)"));
            list.push(cert.arn);
        }
        // A replica that could not start (its table check failed after every retry under
        // the faults) is started again, as systemd's Restart=on-failure would; a panic is
        // still a failure (checked in the logs at the end).
        restart_exited(
            &mut replicas,
            &mut dead,
            (s.dir.path(), &config, &emu.proxy),
            &mut generation,
            &mut actions,
        );
        let Some(slot) = leader_slot(emu, &replicas).await else {
            continue;
        };
        if rng.below(2) == 0 {
            // kill -9 the leader, and start a new process in its place.
            replicas[slot].daemon.signal("-KILL");
            actions.push(format!("kill -9 {}", replicas[slot].key));
            let fresh = start_replica(s.dir.path(), &config, &emu.proxy, slot, generation);
            dead.push(std::mem::replace(&mut replicas[slot], fresh));
            generation += 1;
        } else {
            // Stop the leader past its lease (a GC pause, a stalled VM), then let it go on.
            let pause = rng.millis(3_500, 6_500);
            replicas[slot].daemon.signal("-STOP");
            actions.push(format!("SIGSTOP {} for {:?}", replicas[slot].key, pause));
            std::thread::sleep(pause);
            woken.push((replicas[slot].key.clone(), wall_seconds()));
            replicas[slot].daemon.signal("-CONT");
        }
    }
    eprintln!("soak: churn done: {}", actions.join("; "));
    emu.clear_faults();
    restart_exited(
        &mut replicas,
        &mut dead,
        (s.dir.path(), &config, &emu.proxy),
        &mut generation,
        &mut actions,
    );
    // Settle: each domain on its newest certificate, verified, nothing in flight.
    let newest: BTreeMap<String, String> = generations
        .iter()
        .map(|(d, list)| (d.clone(), list.last().unwrap().clone()))
        .collect();
    let settled = settle(emu, &newest).await;
    let journal = emu.journal();
    for r in &mut replicas {
        r.daemon.signal("-TERM");
    }
    let mut logs = String::new();
    for r in &mut replicas {
        let code = r.daemon.wait_exit(Duration::from_secs(60));
        assert_eq!(code, 0, "{} did not exit cleanly", r.key);
        logs.push_str(&r.daemon.log());
    }
    for r in &dead {
        logs.push_str(&r.daemon.log());
    }
    // Every replica's log, for a failure's post-mortem.
    let saved = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("soak-{seed}.log"));
    let hooks_text = std::fs::read_to_string(&hooks).unwrap_or_default();
    std::fs::write(
        &saved,
        format!(
            "{logs}\n=== hooks\n{hooks_text}\n=== journal\n{}\n",
            serde_json::to_string_pretty(&journal).unwrap()
        ),
    )
    .unwrap();
    eprintln!("soak: replicas' logs in {}", saved.display());
    if let Err(waiting) = settled {
        panic!(
            "not settled after the churn (replay: CCR_SOAK_SEED={seed}; logs in {}):\n{waiting}",
            saved.display()
        );
    }
    check(&journal, &generations, &hooks_text, &logs, &woken, seed);
}

/// The slot of the replica whose process holds the lease now.
async fn leader_slot(emu: &Emulator, replicas: &[Replica]) -> Option<usize> {
    let item = emu.lease_item(TABLE).await;
    let pid: u32 = item.get("holder")?.rsplit('-').nth(1)?.parse().ok()?;
    replicas.iter().position(|r| r.daemon.pid() == pid)
}

/// Wait until every domain points at its newest certificate with that swap verified and
/// nothing in flight; what is still waiting when it does not within 150 s.
async fn settle(emu: &Emulator, newest: &BTreeMap<String, String>) -> Result<(), String> {
    let until = Instant::now() + Duration::from_secs(150);
    loop {
        let mut waiting = Vec::new();
        for (domain, arn) in newest {
            let record = emu.table_record(TABLE, domain).await;
            let done = record["pending"].is_null()
                && record["last"]["new_arn"].as_str() == Some(arn.as_str())
                && record["last"]["result"].as_str() == Some("verified");
            if !done {
                waiting.push(format!("{domain}: {record}"));
            }
        }
        if waiting.is_empty() {
            return Ok(());
        }
        if Instant::now() > until {
            return Err(waiting.join("\n"));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Every invariant, each failure naming the seed.
fn check(
    journal: &[serde_json::Value],
    generations: &BTreeMap<String, Vec<String>>,
    hooks: &str,
    logs: &str,
    woken: &[(String, f64)],
    seed: u64,
) {
    let replay = format!("(replay: CCR_SOAK_SEED={seed})");
    assert!(
        !logs.contains("panicked"),
        "a replica panicked {replay}:\n{logs}"
    );
    let applied = |e: &serde_json::Value| e["status"].as_u64() == Some(200);

    // 1. Exactly one successful UpdateUserPoolDomain per domain and certificate, never
    //    backwards.
    let mut updates: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut last_generation: BTreeMap<String, usize> = BTreeMap::new();
    for e in journal
        .iter()
        .filter(|e| e["op"] == "UpdateUserPoolDomain" && applied(e))
    {
        let domain = e["update"]["domain"].as_str().unwrap().to_string();
        let arn = e["update"]["arn"].as_str().unwrap().to_string();
        let generation = generations[&domain]
            .iter()
            .position(|a| *a == arn)
            .unwrap_or_else(|| panic!("{domain} moved to an unknown certificate {arn} {replay}"));
        let previous = last_generation
            .insert(domain.clone(), generation)
            .unwrap_or(0);
        assert!(
            generation > previous,
            "{domain} moved backwards, from generation {previous} to {generation} {replay}"
        );
        *updates.entry((domain, arn)).or_default() += 1;
    }
    for ((domain, arn), n) in &updates {
        assert_eq!(*n, 1, "{n} successful writes of {arn} to {domain} {replay}");
    }

    // 2. No ACM, Cognito or SQS request without the lease: each one's process holds the
    //    lease item (its latest applied write) and that write is younger than the lease.
    let mut holder: Option<(String, f64)> = None;
    let mut violations = Vec::new();
    let mut guarded = 0;
    // Swaps written in the fence gap: the writer no longer leads, so it records nothing more.
    let mut gap_writes: std::collections::BTreeSet<(String, String)> = Default::default();
    for e in journal {
        let op = e["op"].as_str().unwrap_or_default();
        let t = e["t"].as_f64().unwrap();
        let key = e["key"].as_str().unwrap_or_default().to_string();
        if e.get("lease").is_some() && applied(e) {
            holder = match op {
                "PutItem" => Some((key, t)),
                _ => None,
            };
            continue;
        }
        if matches!(
            op,
            "GetItem"
                | "PutItem"
                | "DeleteItem"
                | "Query"
                | "TransactWriteItems"
                | "DescribeTable"
                | "UpdateItem"
                | "CreateTable"
        ) {
            continue;
        }
        guarded += 1;
        let ok = holder
            .as_ref()
            .is_some_and(|(k, since)| *k == key && t < since + LEASE_SECONDS);
        // The residual the guard documents (src/lease/guard.rs, docs/high-availability.md):
        // a request checked just before its process was stopped leaves when the process is
        // let go on. Only those requests are excused: sent within GAP of the replica's SIGCONT.
        let in_the_gap = woken
            .iter()
            .any(|(k, at)| *k == key && (*at..*at + GAP).contains(&t));
        if !ok && in_the_gap {
            eprintln!("soak: {op} by {key} at {t:.3}: checked before its SIGSTOP, sent on waking");
            if op == "UpdateUserPoolDomain" && applied(e) {
                gap_writes.insert((
                    e["update"]["domain"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    e["update"]["arn"].as_str().unwrap_or_default().to_string(),
                ));
            }
        } else if !ok {
            violations.push(format!(
                "{op} by {key} at {t:.3} while the lease was {holder:?}"
            ));
        }
    }
    assert!(guarded > 0, "no ACM or Cognito request was seen {replay}");
    assert!(
        violations.is_empty(),
        "{} request(s) without the lease {replay}:\n{}",
        violations.len(),
        violations.join("\n")
    );

    // 3. Every swap verified and announced: its hooks fired, never by one process twice, and
    //    more than once only across a change of leader (a leader stopped between starting
    //    the hook and taking it out of the outbox), always with the same CCR_EVENT_ID.
    let takeovers = takeovers(journal);
    let mut repeats = 0;
    for (domain, arn) in updates.keys() {
        // A swap written in the fence gap by a process that no longer leads is not its to
        // record; a successor records it only when it finds the domain on it before moving
        // the domain on (docs/high-availability.md, "the fence gap").
        if gap_writes.contains(&(domain.clone(), arn.clone()))
            && firings(hooks, "rotate", domain, arn).is_empty()
        {
            eprintln!(
                "soak: {domain} -> {arn}: written in the fence gap, moved on from unannounced"
            );
            continue;
        }
        for event in ["rotate", "verified"] {
            let runs = firings(hooks, event, domain, arn);
            let what = format!("{event} of {domain} -> {arn} {replay}");
            assert!(!runs.is_empty(), "no {what}:\n{hooks}");
            let ids: std::collections::BTreeSet<&str> = runs.iter().map(|r| r.id).collect();
            assert_eq!(ids.len(), 1, "{what} fired with several IDs: {ids:?}");
            assert!(!runs[0].id.is_empty(), "{what} without CCR_EVENT_ID");
            let pids: std::collections::BTreeSet<&str> = runs.iter().map(|r| r.pid).collect();
            assert_eq!(
                pids.len(),
                runs.len(),
                "{what} fired twice by one process:\n{hooks}"
            );
            if runs.len() > 1 {
                repeats += runs.len() - 1;
                let first = runs.iter().map(|r| r.t).fold(f64::MAX, f64::min);
                let last = runs.iter().map(|r| r.t).fold(f64::MIN, f64::max);
                assert!(
                    takeovers
                        .iter()
                        .any(|t| *t > first - 2.0 * LEASE_SECONDS && *t <= last),
                    "{what} fired {} times with no change of leader around it:\n{hooks}",
                    runs.len()
                );
            }
        }
    }
    for line in hooks.lines().filter(|l| l.starts_with("failure")) {
        assert!(
            !line.contains("hold the lease") && !line.contains("not sent"),
            "on_failure for not leading {replay}: {line}"
        );
    }
    eprintln!(
        "soak: {} requests, {guarded} ACM/Cognito/SQS requests checked against the lease, {} swaps, {} hook runs ({repeats} repeated across a change of leader), {} on_failure",
        journal.len(),
        updates.len(),
        hooks.lines().count(),
        hooks.lines().filter(|l| l.starts_with("failure")).count()
    );
}

/// One run of a hook, from its line in the hooks' log.
struct Firing<'a> {
    id: &'a str,
    pid: &'a str,
    t: f64,
}

/// The runs of `event`'s hook for the swap of `domain` to `arn`.
fn firings<'a>(hooks: &'a str, event: &str, domain: &str, arn: &str) -> Vec<Firing<'a>> {
    let prefix = format!("{event} {domain} {arn} ");
    hooks
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(|rest| {
            let mut words = rest.split(' ');
            let id = words.next().unwrap_or_default();
            let pid = words.next().unwrap_or_default();
            let t = words.next().and_then(|t| t.parse().ok()).unwrap_or(0.0);
            Firing { id, pid, t }
        })
        .collect()
}

/// When the lease passed from one process to another (applied lease writes by a new key).
fn takeovers(journal: &[serde_json::Value]) -> Vec<f64> {
    let mut holder: Option<&str> = None;
    let mut times = Vec::new();
    for e in journal {
        if e.get("lease").is_none() || e["status"].as_u64() != Some(200) || e["op"] != "PutItem" {
            continue;
        }
        let key = e["key"].as_str().unwrap_or_default();
        if holder.is_some_and(|h| h != key) {
            times.push(e["t"].as_f64().unwrap_or_default());
        }
        holder = Some(key);
    }
    times
}

/// How soon after its SIGCONT a stopped replica's requests in flight (checked by the lease
/// guard before the stop) reach the proxy.
const GAP: f64 = 0.2;

/// The wall clock in seconds, as the proxy's journal writes it.
fn wall_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

//! # cognito-cert-rotator
//!
//! Moves Amazon Cognito user pool custom domains onto the best ACM certificate and proves the
//! edge serves it. One certificate travels through the code in one direction:
//!
//! **observe → decide (pure) → act → verify → record**
//!
//! 1. **observe** ([`plan`]: the reads of one pass, each target's [`planned::Planned`]) — one `ListCertificates` scan of ACM in us-east-1 per account
//!    (all pages, every key type, ISSUED) serves every target; `DescribeUserPoolDomain` per
//!    target in the user pool's own region; the candidate's serial is read and parsed.
//! 2. **decide** — pure functions over plain data: [`select`] chooses the eligible
//!    certificate with the latest expiry and says why every other one lost; [`step`] turns
//!    that decision, the target's state record, its rollout gate ([`rollout`]) and the
//!    [`step::Mode`] into the target's next step (keep, swap, hold, verify, fail…).
//! 3. **act** ([`act`]) — the write protocols only: record intent → `UpdateUserPoolDomain`
//!    → record, for a swap and for a rollback alike.
//! 4. **verify** ([`verify`]) — poll until Cognito says ACTIVE on the new ARN *and* a real
//!    TLS handshake ([`verify::probe`]) shows the new serial, or the recorded deadline passes.
//! 5. **record** — [`act::record_outcome`]: state, metrics, hooks. Every state write of every
//!    step goes through [`record`], one function per step.
//!
//! [`reconcile`] runs one pass through those steps and returns typed [`outcome::Outcome`]s;
//! [`resume`] settles what a crash left in flight; [`daemon`] runs passes on a schedule.
//!
//! ## Layout, one job per module
//!
//! | module | job |
//! |---|---|
//! | `main.rs` | parse args, set up logging, map the result to an exit code |
//! | [`cli`] | clap types and dispatch (only `main.rs` imports it) |
//! | [`context`] | [`context::Context`]: config, clients, probe, state, metrics, hooks, clock |
//! | [`config`] | YAML → raw structs → validated [`config::Config`]; includes (fleets) |
//! | [`aws`] | narrow SDK adapters (ACM, Cognito, DynamoDB state table and lease table, SQS, assumed-role accounts, rate limits); [`aws::error`] is their plain-data error |
//! | [`model`] | plain data the adapters produce: certificates, domains, the certificate region and key algorithms |
//! | [`planned`] | plain data: a target with what one pass observed and decided ([`planned::Planned`]) |
//! | [`plan`] | a pass's reads (observe) and selection (decide), producing [`planned::Planned`] per target; `plan` and `status` are this module alone |
//! | [`select`] | PURE: eligibility and choice of a certificate |
//! | [`step`] | PURE: each target's next step; backoff and gate rules |
//! | [`rollout`] | PURE: canary rollout gates |
//! | [`retire`] | PURE: what to do with a certificate a verified swap replaced, once nothing uses it (`retire:`); [`retire::review`] reads ACM and tags or deletes it |
//! | [`reconcile`] | one pass: observe → step → act; `once`; verify-and-record |
//! | [`act`] | the swap and rollback write protocols, outcome records |
//! | [`record`] | every state write, one function per protocol step (intent, swapped, finished, rolling back, outbox drained, hold, backoff, forget…), the read-back after a refused write done once |
//! | [`resume`] | settling intents, swaps and rollbacks a stop left in flight |
//! | [`verify`] | the verification loop and verdict, on an injected clock |
//! | [`state`] | the records ([`state::records`], plain data) and the `StateStore` seam: the crash-safe file store or the shared DynamoDB table (writes fenced on the lease) |
//! | [`lease`] | leadership in one place (DynamoDB state): the lease rules, taking and keeping it ([`lease::hold`]), the daemon's lease loop ([`lease::run`]), the request guard ([`lease::guard`]) |
//! | [`daemon`] | schedule, event loop, signals; no decisions of its own |
//! | [`events`] | PURE: which SQS messages (ACM's EventBridge events) trigger a pass |
//! | [`window`] | PURE: change windows and freezes: whether a swap may be made now, and when it next may (the family: `config::values::window` reads them, `reconcile::window` defers a swap, `daemon::window` wakes at an opening) |
//! | [`discovery`] | PURE: the `discover` command's findings as a table, JSON or a fleet file ([`discovery::scan`] does the read-only scan; `daemon::discovery` runs `discovery:` in the daemon) |
//! | [`notices`] | PURE: notifications (`notify:`), one message per event with the key that sends it once; [`notices::deliver`] sends them (SNS, webhook) |
//! | [`edge`] | what clients see: each daemon pass probes every edge (drift, expiry metrics) (the family: [`verify::edge`] the PURE verdict over every edge address, `metrics::edge` the gauges, `daemon::edge` the watcher) |
//! | [`outbox`] | announcing each recorded outcome (hooks, notifications) once it is recorded, by whoever leads |
//! | [`outcome`] | what happened to a target: the typed result of a pass |
//! | [`error`] | [`error::TargetError`], counted by kind |
//! | [`clock`] | the one place the wall clock is read |
//! | [`metrics`], [`systemd`], [`hooks`] | Prometheus and /healthz, systemd's sd_notify ([`systemd::Notify`]), event hooks |
//! | [`emf`] | PURE: CloudWatch Embedded Metric Format records of a `once` pass (ECS) |
//! | [`report`], [`status`] | what `plan`, `once` and `status` print |
//! | [`serial`], [`format`](mod@format) | serial numbers as numbers; how times, durations, URLs and error chains are written |
//! | [`exit`] | the exit codes `main.rs` maps results to |
//!
//! Modules import in one direction (no cycles), and every module whose first doc line says
//! PURE reaches no file that does I/O, not even transitively; `tests/it/layout.rs` checks
//! both, builds the list of pure modules from those doc lines, and checks that this map names
//! every module. Errors are typed enums of plain data, never a bare `String`
//! (`tests/it/layout.rs` checks that too): each names what failed and leaves the cause to
//! `source()`, and [`error::Chain`] prints the whole chain once. Three kinds are sentences by
//! design, their data in the message: [`error::TargetError`] (one line per target in `plan`,
//! `status`, hooks and notifications; its AWS and state causes are in it),
//! [`aws::error::AwsError`] (plain data shared by every target a failed call stops) and a
//! config error located at `file:line:col` (serde's and clap's boundaries). Time is injected:
//! `now` comes from a [`clock::Clock`], waits are on tokio's clock, so tests never really
//! wait. Errors are typed (`thiserror`) in the library; `anyhow` is used only in `cli`.

#![forbid(unsafe_code)]

pub mod act;
pub mod aws;
pub mod cli;
pub mod clock;
pub mod config;
pub mod context;
pub mod daemon;
pub mod discovery;
pub mod edge;
pub mod emf;
pub mod error;
pub mod events;
pub mod format;
pub mod hooks;
pub mod lease;
pub mod metrics;
pub mod model;
pub mod notices;
pub mod outbox;
pub mod outcome;
pub mod plan;
pub mod planned;
pub mod reconcile;
pub mod record;
pub mod report;
pub mod resume;
pub mod retire;
pub mod rollout;
pub mod select;
pub mod serial;
pub mod state;
pub mod status;
pub mod step;
pub mod systemd;
pub mod verify;
pub mod window;

#[cfg(test)]
mod fixtures;

/// Process exit codes, documented in `--help` and the README.
pub mod exit {
    /// Every target is fine: rotated and verified, or nothing to do.
    pub const OK: u8 = 0;
    /// At least one target failed: an AWS error, no eligible certificate, or a verification
    /// that failed or timed out.
    pub const TARGET_FAILED: u8 = 1;
    /// Bad command line or bad configuration; nothing was touched.
    pub const USAGE: u8 = 2;
}

//! The integration tests: one binary with a module per suite (as uv's and cargo's test suites
//! are), so the AWS SDK is linked once and `support` is compiled once.
//!
//! Run one suite with `cargo test --test it ha::`, one test by its name.

// A test's harness fails by panicking, and says what it saw on stderr.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod support;

mod alerts;
mod consumers;
mod daemon;
mod deploy;
mod discover;
mod discover_consumers;
mod discovery;
mod docs;
mod e2e;
mod ecs;
mod edges;
mod errors;
mod events;
mod external;
mod fidelity;
mod fleet;
mod ha;
mod iam;
mod layout;
mod lease;
mod notices;
mod outbox;
mod package;
mod port;
mod retire;
mod soak;
mod system;
mod trust;
mod units;
mod windows;

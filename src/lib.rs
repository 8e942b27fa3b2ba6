//! # cognito-cert-rotator
//!
//! Moves Amazon Cognito user pool custom domains onto the best ACM certificate and proves the
//! edge serves it. One pass over the configured targets is four steps:
//!
//! 1. **observe** — one `ListCertificates` scan of ACM in us-east-1 (all pages, every key type,
//!    ISSUED) serves every target; `DescribeUserPoolDomain` per target, in the user pool's own
//!    region ([`aws`]).
//! 2. **decide** — pure functions over plain data choose the eligible certificate with the
//!    latest expiry and say why every other one lost ([`select`]). No I/O, tested exhaustively.
//! 3. **act** — re-read the domain, then `UpdateUserPoolDomain` with `CustomDomainConfig` and
//!    the domain's own `ManagedLoginVersion`; never a write when nothing changes
//!    ([`reconcile`]).
//! 4. **verify** — poll until Cognito says ACTIVE on the new ARN *and* a real TLS handshake to
//!    the domain shows the new certificate's serial, or the window runs out ([`verify`]).
//!
//! [`config`] turns YAML into a validated [`config::Config`] (every error has file:line:col);
//! [`cli`] is the command-line surface; `main.rs` only maps the result to an exit code.
//! Time is injected everywhere (`now` arguments, tokio's clock) so tests never really wait.

#![forbid(unsafe_code)]

pub mod act;
pub mod aws;
pub mod cli;
pub mod clock;
pub mod config;
pub mod context;
pub mod daemon;
pub mod error;
pub mod hooks;
pub mod human;
pub mod metrics;
pub mod model;
pub mod notify;
pub mod observe;
pub mod outcome;
pub mod reconcile;
pub mod report;
pub mod resume;
pub mod rollout;
pub mod select;
pub mod serial;
pub mod state;
pub mod status;
pub mod step;
pub mod verify;

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

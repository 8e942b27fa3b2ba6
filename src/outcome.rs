//! What happened to a target in a pass: the typed result every report, summary line, metric
//! and exit code is made from.

use chrono::{DateTime, Utc};

use crate::error::TargetError;

/// What happened to a target in a pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to do.
    Kept(String),
    /// A swap made earlier is still being verified.
    Verifying {
        /// The certificate it moved to.
        to: String,
        /// The end of its window.
        deadline: DateTime<Utc>,
    },
    /// `--dry-run`: this swap would have been made.
    WouldSwap(String),
    /// Swapped; see how verification went.
    Swapped {
        /// The ARN before (`None`: the domain had none).
        from: Option<String>,
        /// The ARN the domain was moved onto.
        to: String,
        /// How its verification went, or that it runs in the background.
        verification: Verification,
    },
    /// The domain's certificate was renewed in place (same ARN, no write); see how the edge
    /// check went.
    Renewed {
        /// Its ARN (the certificate ID is the last segment).
        arn: String,
        /// How its verification went, or that it runs in the background.
        verification: Verification,
    },
    /// The target needs attention.
    Failed(TargetError),
    /// Not swapped in this pass: waiting for the canaries of its rollout to verify.
    Held(String),
    /// Not swapped: a canary of its rollout failed; needs an operator.
    Blocked(String),
    /// Failed in earlier passes and skipped in this one (the daemon's backoff).
    BackingOff(String),
    /// Not swapped: the domain was moved off the rotator's certificate outside the rotator
    /// (Terraform, CloudFormation, a person), and swapping it back would flap. Needs an
    /// operator (`forget`), so it counts as a failure.
    ExternalChange(String),
    /// Not swapped in this pass because someone else is changing the domain
    /// (`ConcurrentModificationException`); the next pass re-reads it and tries again.
    Deferred(String),
}

/// Verification of one swap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// Not attempted (`once` without `--wait`).
    NotRequested,
    /// Running in the background until this deadline (the daemon).
    InBackground(DateTime<Utc>),
    /// Cognito and the edge show the new certificate.
    Verified(String),
    /// The window ran out or the check could not run.
    Failed(String),
}

impl Verification {
    /// How it reads in a summary line.
    pub fn summary(&self) -> String {
        match self {
            Verification::NotRequested => {
                "not verified (run with --wait to verify the edge)".to_string()
            }
            Verification::InBackground(deadline) => format!(
                "verifying in the background until {}",
                crate::format::rfc3339(deadline)
            ),
            Verification::Verified(s) | Verification::Failed(s) => s.clone(),
        }
    }
}

impl Outcome {
    /// Whether this outcome makes the process exit 1.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            Outcome::Failed(_)
                | Outcome::ExternalChange(_)
                | Outcome::BackingOff(_)
                | Outcome::Blocked(_)
                | Outcome::Swapped {
                    verification: Verification::Failed(_),
                    ..
                }
                | Outcome::Renewed {
                    verification: Verification::Failed(_),
                    ..
                }
        )
    }

    /// A short label for the summary line.
    pub fn label(&self) -> &'static str {
        match self {
            // A swap in flight leaves the domain as it is in this pass.
            Outcome::Kept(_) | Outcome::Verifying { .. } => "kept",
            Outcome::WouldSwap(_) => "would-rotate",
            Outcome::Swapped { verification, .. } => match verification {
                Verification::NotRequested => "rotated-unverified",
                Verification::InBackground(_) => "rotated-verifying",
                Verification::Verified(_) => "rotated-verified",
                Verification::Failed(_) => "rotated-verification-failed",
            },
            Outcome::Renewed { verification, .. } => match verification {
                Verification::NotRequested => "renewed-unverified",
                Verification::InBackground(_) => "renewed-verifying",
                Verification::Verified(_) => "renewed-verified",
                Verification::Failed(_) => "renewed-verification-failed",
            },
            Outcome::Failed(_) => "failed",
            Outcome::Held(_) => "held",
            Outcome::Blocked(_) => "blocked",
            Outcome::BackingOff(_) => "backing-off",
            Outcome::Deferred(_) => "deferred",
            Outcome::ExternalChange(_) => "external-change",
        }
    }
}

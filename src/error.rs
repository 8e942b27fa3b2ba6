//! What went wrong for one target, by kind. Every failure a pass or a verification reports is
//! one of these, so it is logged with its cause and counted by [`TargetError::metric_label`]
//! in `cognito_cert_rotator_target_failures_total{domain,kind}`.

use std::fmt;
use std::sync::Arc;

use crate::aws::error::AwsError;
use crate::state::error::StateError;

pub use crate::format::Chain;

/// A [`StateError`] that failed a target: shared by every target of the pass it stopped (the
/// error is not `Clone`), shown with its causes, compared by what it says.
#[derive(Debug, Clone)]
pub struct StateCause(pub Arc<StateError>);

impl fmt::Display for StateCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Chain(&*self.0).fmt(f)
    }
}

impl PartialEq for StateCause {
    fn eq(&self, other: &StateCause) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for StateCause {}

/// A target's failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// An AWS call failed (after the SDK's retries); `what` says which step needed it.
    #[error("{what}: {error}")]
    Aws {
        /// The step, in words ("cannot read the domain").
        what: String,
        /// The call's error, with its AWS code (in the message, so not also a `source()`).
        error: AwsError,
    },
    /// The target cannot be worked on as configured (no clients for its account or region).
    #[error("{0}")]
    Setup(String),
    /// Selection found nothing safe to do: no eligible certificate, the domain is missing, a
    /// prefix domain, or owned by another user pool. Needs a person.
    #[error("{0}")]
    Selection(String),
    /// The chosen certificate cannot be swapped in: gone from ACM, or no readable serial (the
    /// edge check would have nothing to compare).
    #[error("{0}")]
    Candidate(String),
    /// The domain changed between the read the decision was based on and the write.
    #[error("not swapping: {0}; will look again next pass")]
    Changed(String),
    /// The state could not be read or written, so the write it was to protect was not made.
    #[error("{what}: {error}")]
    State {
        /// The step ("not swapping: cannot record the intent").
        what: String,
        /// The store's error, shared by every target it stopped; in the message with its causes.
        error: StateCause,
    },
    /// The swap was made but not verified within its window (or could not be checked).
    #[error("{0}")]
    Verification(String),
}

impl TargetError {
    /// The state store failed at step `what`.
    pub fn state(what: impl Into<String>, error: StateError) -> TargetError {
        TargetError::State {
            what: what.into(),
            error: StateCause(Arc::new(error)),
        }
    }

    /// An AWS failure at step `what`.
    pub fn aws(what: impl Into<String>, source: AwsError) -> TargetError {
        TargetError::Aws {
            what: what.into(),
            error: source,
        }
    }

    /// Another writer changed the domain at the same moment (`ConcurrentModificationException`):
    /// not a failure, the next pass looks again.
    pub fn is_concurrent_modification(&self) -> bool {
        matches!(self, TargetError::Aws { error, .. } if error.is_concurrent_modification())
    }

    /// A state write the lease's fence refused, or an AWS request the lease guard did not
    /// send: this replica no longer leads. Not a failure of the target: the leader acts on it.
    pub fn is_not_leading(&self) -> bool {
        match self {
            TargetError::State { error, .. } => matches!(*error.0, StateError::NotLeader),
            TargetError::Aws { error, .. } => error.is_not_leading(),
            _ => false,
        }
    }

    /// The `kind` label of a failed verification.
    pub const VERIFICATION: &'static str = "verification";

    /// The `kind` label: the AWS error code (`ThrottlingException`, `transport`...) for AWS
    /// failures, else the failure class.
    pub fn metric_label(&self) -> &str {
        match self {
            TargetError::Aws { error, .. } => error.metric_label(),
            TargetError::Setup(_) => "setup",
            TargetError::Selection(_) => "selection",
            TargetError::Candidate(_) => "candidate",
            TargetError::Changed(_) => "changed",
            TargetError::State { .. } => "state",
            TargetError::Verification(_) => TargetError::VERIFICATION,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_failures_are_counted_by_their_code_and_keep_the_step_in_the_message() {
        let e = TargetError::aws(
            "cannot read the domain",
            AwsError::Service {
                operation: "DescribeUserPoolDomain",
                code: "ThrottlingException".into(),
                message: "Rate exceeded".into(),
            },
        );
        assert_eq!(e.metric_label(), "ThrottlingException");
        assert_eq!(
            e.to_string(),
            "cannot read the domain: DescribeUserPoolDomain: ThrottlingException: Rate exceeded"
        );
    }

    #[test]
    fn a_write_the_fence_refused_is_not_leading_and_other_state_errors_are_failures() {
        let fenced = TargetError::state(
            "not swapping: cannot record the intent",
            StateError::NotLeader,
        );
        assert!(fenced.is_not_leading());
        let contended = TargetError::state(
            "not swapping: cannot record the intent",
            StateError::Contended(5),
        );
        assert!(!contended.is_not_leading());
        assert!(!TargetError::Selection("x".into()).is_not_leading());
    }

    #[test]
    fn every_other_kind_has_its_own_label() {
        let errors = [
            TargetError::Setup(String::new()),
            TargetError::Selection(String::new()),
            TargetError::Candidate(String::new()),
            TargetError::Changed(String::new()),
            TargetError::state(String::new(), StateError::NotLeader),
            TargetError::Verification(String::new()),
        ];
        let labels: Vec<&str> = errors.iter().map(TargetError::metric_label).collect();
        assert_eq!(
            labels,
            [
                "setup",
                "selection",
                "candidate",
                "changed",
                "state",
                "verification"
            ]
        );
    }
}

//! What went wrong for one target, by kind. Every failure a pass or a verification reports is
//! one of these, so it is logged with its cause and counted by [`TargetError::metric_label`]
//! in `cognito_cert_rotator_target_failures_total{domain,reason}`.

use std::fmt;
use std::sync::Arc;

use crate::aws::error::AwsError;
use crate::select::Refusal;
use crate::serial::NoSerial;
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

/// Why a target cannot be worked on as configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MissingClient {
    /// No clients were built for the target's account.
    #[error("no clients for {account}")]
    Account {
        /// The account, as logs name it.
        account: String,
    },
    /// No client for the consumer's service in its region.
    #[error("no {kind} client for region {region}")]
    ConsumerRegion {
        /// The consumer's kind.
        kind: crate::model::ConsumerKind,
        /// The consumer's region.
        region: String,
    },
}

/// Why the chosen certificate cannot be swapped in (or a renewal checked).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CandidateError {
    /// ACM no longer has it.
    #[error("certificate {arn} vanished from ACM")]
    Vanished {
        /// Its ARN.
        arn: String,
    },
    /// Its serial cannot be read, so the edge check would have nothing to compare.
    #[error("{0}; without it the edge cannot be checked, so it is not swapped in")]
    NoSerial(NoSerial),
    /// A certificate renewed in place whose new serial cannot be read.
    #[error("{0} (renewed in place); the edge cannot be checked")]
    RenewedWithoutSerial(NoSerial),
    /// The pass that chose it could not read its serial (`plan` skips the read).
    #[error("no readable serial for {certificate}; not swapping in a certificate the edge check cannot recognise")]
    Unrecognisable {
        /// The certificate (ARN tail).
        certificate: String,
    },
}

/// How the domain changed between the read a decision was based on and its write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Changed {
    /// The domain is gone.
    #[error("the domain disappeared")]
    Disappeared,
    /// The domain is now another user pool's.
    #[error("domain {domain} belongs to user pool {owner}, not {configured}")]
    OtherPool {
        /// The domain.
        domain: String,
        /// Its user pool now.
        owner: String,
        /// The configured user pool.
        configured: String,
    },
    /// The domain has no custom certificate any more.
    #[error("the domain is not a custom domain any more")]
    NotCustom,
    /// Another certificate was put there.
    #[error("the domain's certificate changed since it was read (now {})", .now.as_deref().unwrap_or("none"))]
    Certificate {
        /// What the domain points at now.
        now: Option<String>,
    },
    /// After a write whose answer was lost, the domain is on neither certificate.
    #[error("after a write whose answer was lost the domain points at {}, neither the old nor the new certificate", .now.as_deref().unwrap_or("no certificate"))]
    Elsewhere {
        /// What the domain points at now.
        now: Option<String>,
    },
}

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
    #[error(transparent)]
    Setup(#[from] MissingClient),
    /// Selection found nothing safe to do: no eligible certificate, the domain is missing, a
    /// prefix domain, or owned by another user pool. Needs a person.
    #[error(transparent)]
    Selection(#[from] Refusal),
    /// The chosen certificate cannot be swapped in: gone from ACM, or no readable serial (the
    /// edge check would have nothing to compare).
    #[error(transparent)]
    Candidate(#[from] CandidateError),
    /// The domain changed between the read the decision was based on and the write.
    #[error("not swapping: {0}; will look again next pass")]
    Changed(Changed),
    /// The state could not be read or written, so the write it was to protect was not made.
    #[error("{what}: {error}")]
    State {
        /// The step ("not swapping: cannot record the intent").
        what: String,
        /// The store's error, shared by every target it stopped; in the message with its causes.
        error: StateCause,
    },
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

    /// The `reason` label of a failed verification.
    pub const VERIFICATION: &'static str = "verification";

    /// The `reason` label: the AWS error code (`ThrottlingException`, `transport`...) for AWS
    /// failures, else the failure class.
    pub fn metric_label(&self) -> &str {
        match self {
            TargetError::Aws { error, .. } => error.metric_label(),
            TargetError::Setup(_) => "setup",
            TargetError::Selection(_) => "selection",
            TargetError::Candidate(_) => "candidate",
            TargetError::Changed(_) => "changed",
            TargetError::State { .. } => "state",
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
        assert!(!TargetError::Selection(Refusal::NotObserved).is_not_leading());
    }

    #[test]
    fn every_other_kind_has_its_own_label() {
        let errors = [
            TargetError::Setup(MissingClient::ConsumerRegion {
                kind: crate::model::ConsumerKind::Cognito,
                region: "eu-west-1".into(),
            }),
            TargetError::Selection(Refusal::NotObserved),
            TargetError::Candidate(CandidateError::Vanished { arn: "a".into() }),
            TargetError::Changed(Changed::Disappeared),
            TargetError::state(String::new(), StateError::NotLeader),
        ];
        let labels: Vec<&str> = errors.iter().map(TargetError::metric_label).collect();
        assert_eq!(
            labels,
            ["setup", "selection", "candidate", "changed", "state",]
        );
    }
}

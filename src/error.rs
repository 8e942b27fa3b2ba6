//! What went wrong for one target, by kind. Every failure a pass or a verification reports is
//! one of these, so it is logged with its cause and counted by [`TargetError::metric_label`]
//! in `cognito_cert_rotator_target_failures_total{domain,kind}`.

use crate::aws::AwsError;

/// A target's failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// An AWS call failed (after the SDK's retries); `what` says which step needed it.
    #[error("{what}: {source}")]
    Aws {
        /// The step, in words ("cannot read the domain").
        what: String,
        /// The call's error, with its AWS code.
        #[source]
        source: AwsError,
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
    /// The state could not be written, so the write it was to protect was not made.
    #[error("{what}: {detail}")]
    State {
        /// The step.
        what: String,
        /// The store's error.
        detail: String,
    },
    /// The swap was made but not verified within its window (or could not be checked).
    #[error("{0}")]
    Verification(String),
}

impl TargetError {
    /// An AWS failure at step `what`.
    pub fn aws(what: impl Into<String>, source: AwsError) -> TargetError {
        TargetError::Aws {
            what: what.into(),
            source,
        }
    }

    /// The `kind` label: the AWS error code (`ThrottlingException`, `transport`...) for AWS
    /// failures, else the failure class.
    pub fn metric_label(&self) -> &str {
        match self {
            TargetError::Aws { source, .. } => source.metric_label(),
            TargetError::Setup(_) => "setup",
            TargetError::Selection(_) => "selection",
            TargetError::Candidate(_) => "candidate",
            TargetError::Changed(_) => "changed",
            TargetError::State { .. } => "state",
            TargetError::Verification(_) => "verification",
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
    fn every_other_kind_has_its_own_label() {
        let errors = [
            TargetError::Setup(String::new()),
            TargetError::Selection(String::new()),
            TargetError::Candidate(String::new()),
            TargetError::Changed(String::new()),
            TargetError::State {
                what: String::new(),
                detail: String::new(),
            },
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

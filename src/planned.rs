//! The planned target: what one pass observed and decided about a target, as plain data. The
//! pure decisions ([`crate::step`], [`crate::emf`]) read it without reaching [`crate::plan`],
//! which makes it.

use crate::config::model::Target;
use crate::error::TargetError;
use crate::model::{DomainInfo, ManagedRenewal};
use crate::select::{Action, Decision};
use crate::serial::Serial;

/// A target with what was observed and decided about it.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The target as configured (domain, user pool, role, settings).
    pub target: Target,
    /// The decision (an `Error` action when observing failed).
    pub decision: Decision,
    /// Why observing failed, when it did (the decision then says the same in words).
    pub error: Option<TargetError>,
    /// The domain as read, when it was.
    pub domain: Option<DomainInfo>,
    /// The candidate's serial, read and parsed when the decision is to rotate.
    pub candidate_serial: Option<Serial>,
    /// ACM's renewal status of the current certificate, read only when ACM renews it and it
    /// is inside its renewal window.
    pub managed_renewal: Option<ManagedRenewal>,
}

impl Planned {
    /// A target that could not be observed.
    pub fn failed(target: Target, error: TargetError) -> Planned {
        Planned {
            target,
            decision: Decision::error(error.to_string()),
            error: Some(error),
            domain: None,
            candidate_serial: None,
            managed_renewal: None,
        }
    }

    /// A target skipped in this pass (backing off): nothing was read.
    pub fn not_observed(target: Target) -> Planned {
        Planned {
            target,
            decision: Decision::refused(crate::select::Refusal::NotObserved),
            error: None,
            domain: None,
            candidate_serial: None,
            managed_renewal: None,
        }
    }

    /// The ARN to swap to, when the decision is to rotate.
    pub fn rotate_to(&self) -> Option<&str> {
        match (&self.decision.action, &self.decision.candidate) {
            (Action::Swap, Some(c)) => Some(c.arn.as_str()),
            _ => None,
        }
    }
}

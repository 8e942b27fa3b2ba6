//! The change windows and freezes ([`crate::window`]) applied to a swap a pass wants to make.

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use crate::context::Context;
use crate::planned::Planned;
use crate::window::{Deferral, Permit};

/// The change windows' and freezes' say on swapping `planned` now: `Some` when the swap waits.
/// A swap that cannot wait goes ahead with a warning, and its reason (in the `on_rotate` hook
/// and the `rotated` notification) says which rule it broke and why.
fn deferral(ctx: &Context, planned: &mut Planned, now: DateTime<Utc>) -> Option<Deferral> {
    if ctx.config.ignore_windows {
        if planned.target.policy.restricts() {
            warn!("--ignore-windows: swapping whatever the change windows and freezes say");
        }
        return None;
    }
    match planned
        .target
        .policy
        .permit(planned.decision.current.as_ref(), now)
    {
        Permit::Open => None,
        Permit::Urgent(why) => {
            warn!("{why}");
            planned.decision.reason = format!("{}; {why}", planned.decision.reason);
            None
        }
        Permit::Deferred(d) => Some(d),
    }
}

/// When the pass wants to swap `planned` (`wants_swap`) and the rules make it wait: the
/// deferral, logged and exported (`deferred{domain,reason}`); the gauge reads 0 otherwise.
pub(super) fn defer(
    ctx: &Context,
    planned: &mut Planned,
    wants_swap: bool,
    now: DateTime<Utc>,
) -> Option<Deferral> {
    let deferred = if wants_swap {
        deferral(ctx, planned, now)
    } else {
        None
    };
    let domain = &planned.target.domain;
    match &deferred {
        Some(d) => {
            info!("{}", d.sentence());
            ctx.metrics.set_deferred(domain, Some(d.label()));
        }
        None => ctx.metrics.set_deferred(domain, None),
    }
    deferred
}

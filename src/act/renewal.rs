//! In-place renewals: ACM's managed renewal of an AMAZON_ISSUED certificate, or a re-import
//! into the same ARN, changes the certificate behind the ARN the domain already uses.
//! CloudFront has to pick the new material up, and nothing else checks that it did, so a
//! renewal is verified exactly like a swap — without any write to Cognito.
//!
//! A renewal cannot be rolled back: ACM keeps no previous version of a re-imported (or
//! renewed) certificate. A failed renewal verification alerts (log, metrics, `on_failure`).

use chrono::{DateTime, Utc};
use tracing::{error, info};

use crate::context::Context;
use crate::error::Chain;
use crate::error::{CandidateError, TargetError};
use crate::planned::Planned;
use crate::state::{PendingSwap, Phase, SeenCertificate};
use crate::verify::VerifyJob;

/// Start verifying the renewal of the domain's certificate from `was` to `now`: read the new
/// serial (what the edge must serve), record the verification in flight and the new version
/// as seen, and return the job.
pub async fn start(
    ctx: &Context,
    planned: &Planned,
    was: &SeenCertificate,
    now: &SeenCertificate,
    at: DateTime<Utc>,
) -> Result<VerifyJob, TargetError> {
    let target = &planned.target;
    let account = ctx.account_for(target)?;
    let described = account
        .acm
        .describe(&now.arn)
        .await
        .map_err(|e| TargetError::aws("cannot read the renewed certificate's serial", e))?
        .ok_or_else(|| {
            TargetError::Candidate(CandidateError::Vanished {
                arn: now.arn.clone(),
            })
        })?;
    let serial = described
        .parsed_serial()
        .map_err(|why| TargetError::Candidate(CandidateError::RenewedWithoutSerial(why)))?;
    let pending = PendingSwap {
        phase: Phase::Swapped,
        consumer: target.consumer_id().to_string(),
        old_arn: Some(now.arn.clone()),
        new_arn: now.arn.clone(),
        new_serial: Some(serial.to_string()),
        recorded_at: at,
        swapped_at: Some(at),
        deadline: super::verify_deadline(ctx, target, at),
        rollback_reason: None,
        renewal: true,
        expiry: crate::state::records::Expiry {
            old: was.not_after,
            new: now.not_after,
        },
    };
    crate::record::renewal(&ctx.state, &target.domain, &pending, now)
        .await
        .map_err(|e| TargetError::state("cannot record the renewal's verification", e))?;
    info!(certificate = %now.arn,
        serial = %serial,
        "{}; verifying it like a swap (no write to Cognito)",
        crate::step::renewal_line(was, now)
    );
    ctx.metrics
        .set_verification_state(&target.domain, "verifying");
    Ok(VerifyJob {
        target: target.clone(),
        old_arn: Some(now.arn.clone()),
        new_arn: now.arn.clone(),
        new_serial: Some(serial),
        swapped_at: Some(at),
        deadline: pending.deadline,
        renewal: true,
        expiry: pending.expiry,
    })
}

/// Remember the certificate versions first seen in this pass (one state write for all),
/// so a later change behind the same ARN is recognised as a renewal.
pub async fn remember(ctx: &Context, versions: Vec<(String, SeenCertificate)>) {
    if versions.is_empty() {
        return;
    }
    let stored = crate::record::seen(&ctx.state, &versions).await;
    if let Err(e) = stored {
        error!("cannot record the certificates seen: {}", Chain(&e));
    }
}

/// Why a failed renewal is not rolled back.
pub const NO_ROLLBACK: &str = "not rolled back: an in-place renewal cannot be undone (ACM keeps no previous version of the certificate); alerting instead";

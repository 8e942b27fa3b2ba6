//! `verify.on_failure: rollback`: the rollback's write protocol (denylist and intent recorded
//! first, then the write), also finished after a restart by [`crate::resume`].

use tracing::{error, info};

use super::write::{self, reread_before_write};
use crate::aws::consumer::ConsumerApi;
use crate::aws::error::AwsError;
use crate::config::Target;
use crate::context::Context;
use crate::error::{Chain, TargetError};
use crate::metrics::ResultLabels;
use crate::model::{arn_tail, DomainInfo};
use crate::state::StateError;
use crate::verify::VerifyJob;

/// Why a rollback was not made (or failed): the new certificate stays. With
/// [`NotRolledBack::Maybe`], its write may have happened (its answer was lost and the domain
/// could not be re-read): its intent and denylist entry stay, for a re-read to settle
/// ([`crate::resume`]). Causes are `source()`s: print it with [`crate::error::Chain`].
#[derive(Debug, thiserror::Error)]
pub enum NotRolledBack {
    /// The swap had no previous certificate.
    #[error("not rolled back: there is no previous certificate")]
    NoPrevious,
    /// The target's clients are missing.
    #[error("not rolled back")]
    Setup(#[source] TargetError),
    /// ACM no longer has the previous certificate.
    #[error("not rolled back: the previous certificate {certificate} is gone from ACM")]
    Gone {
        /// The previous certificate (ARN tail).
        certificate: String,
    },
    /// The previous certificate could not be read.
    #[error("not rolled back: cannot read the previous certificate")]
    Unreadable(#[source] AwsError),
    /// Its tags (which `require_tags` needs) could not be read.
    #[error("not rolled back: cannot read its tags")]
    Tags(#[source] AwsError),
    /// The previous certificate is no longer usable.
    #[error("not rolled back: the previous certificate {certificate} is no longer eligible ({why}); the new one stays")]
    Ineligible {
        /// The previous certificate (ARN tail).
        certificate: String,
        /// Why it is not usable.
        why: crate::select::Ineligible,
    },
    /// The domain is not as the failed swap left it.
    #[error("not rolled back, leaving it alone")]
    Reread(#[source] TargetError),
    /// The domain is gone.
    #[error("not rolled back: the domain disappeared")]
    DomainGone,
    /// The rollback's intent could not be recorded, so its write was not made.
    #[error("not rolled back: cannot record the rollback first")]
    NotRecorded(#[source] StateError),
    /// The write back may have happened.
    #[error("the rollback may have happened: its intent and the denylist entry stay until a re-read settles it")]
    Maybe(#[source] TargetError),
    /// The write back was refused.
    #[error("rollback failed")]
    Failed(#[source] TargetError),
}

impl NotRolledBack {
    /// The rollback's write may have happened: it stays in flight for a re-read.
    pub fn maybe(&self) -> bool {
        matches!(self, NotRolledBack::Maybe(_))
    }
}

/// `verify.on_failure: rollback`: put the previous certificate back when it is still usable
/// and the domain still points at the new one, and denylist the new one for this domain.
/// The intent and the denylist entry are recorded before the write. `Ok` says what was done,
/// `Err` why nothing was.
pub async fn roll_back(ctx: &Context, job: &VerifyJob, why: &str) -> Result<String, NotRolledBack> {
    let target = &job.target;
    let Some(old) = job.old_arn.clone() else {
        return Err(NotRolledBack::NoPrevious);
    };
    let account = ctx.account_for(target).map_err(NotRolledBack::Setup)?;
    let api = ctx.consumer_for(target).map_err(NotRolledBack::Setup)?;
    let mut cert = match account.acm.describe(&old).await {
        Ok(Some(d)) => d.certificate,
        Ok(None) => {
            return Err(NotRolledBack::Gone {
                certificate: arn_tail(&old).to_string(),
            })
        }
        Err(e) => return Err(NotRolledBack::Unreadable(e)),
    };
    let no_denied = std::collections::BTreeMap::new();
    // The previous certificate was usually replaced *because* it was inside min_validity:
    // for going back it only has to be usable now (issued, valid, covering the domain,
    // tagged as required). The consumer served it before, from its region.
    let region = cert
        .region()
        .unwrap_or(crate::model::CERTIFICATE_REGION)
        .to_string();
    let req = crate::select::Requirements {
        domain: &target.domain,
        region: &region,
        min_validity: crate::model::MinValidity::NONE,
        require_tags: &target.require_tags,
        denied: &no_denied,
    };
    if crate::select::needs(&req, &cert).tags {
        cert.tags = Some(account.acm.tags(&old).await.map_err(NotRolledBack::Tags)?);
    }
    let now = ctx.clock.now();
    if let Err(why) = crate::select::eligibility(&req, &cert, now) {
        return Err(NotRolledBack::Ineligible {
            certificate: arn_tail(&old).to_string(),
            why,
        });
    }
    let info = reread_before_write(&api, target, Some(job.new_arn.as_str()))
        .await
        .map_err(NotRolledBack::Reread)?;
    crate::record::rolling_back(&ctx.state, &target.domain, &job.new_arn, why, now)
        .await
        .map_err(NotRolledBack::NotRecorded)?;
    info!(to = %old, "rolling back: the new certificate is denylisted for this domain");
    finish_rollback(ctx, target, &api, &old, &job.new_arn, &info).await
}

/// The rollback's write, after its intent is recorded (also when a restart finishes it).
/// On a refused write the denylist entry is taken back: the new certificate stays in use.
pub async fn finish_rollback(
    ctx: &Context,
    target: &Target,
    api: &ConsumerApi<'_>,
    old: &str,
    new: &str,
    info: &DomainInfo,
) -> Result<String, NotRolledBack> {
    if let Err(write::Unwritten { error: e, maybe }) =
        write::write_certificate(api, Some(new), old, info).await
    {
        if maybe {
            return Err(NotRolledBack::Maybe(e));
        }
        let undone = crate::record::rollback_refused(&ctx.state, &target.domain, new).await;
        if let Err(se) = undone {
            error!("cannot take back the denylist entry: {}", Chain(&se));
        }
        return Err(NotRolledBack::Failed(e));
    }
    // A listener holds the failed certificate in its SNI list beside the one put back.
    match api.release(new, old).await {
        Ok(true) => {
            info!(certificate = %new, "took the failed certificate off the listener's SNI list")
        }
        Ok(false) => {}
        Err(e) => {
            error!(certificate = %new, "cannot take the failed certificate off the listener's SNI list: {e}")
        }
    }
    ctx.metrics
        .rotations
        .get_or_create(&ResultLabels {
            domain: target.domain.clone(),
            result: "rolled_back".to_string(),
        })
        .inc();
    Ok(format!(
        "rolled back to the previous certificate {}; {} is denylisted for this domain until `cognito-cert-rotator forget {}`",
        arn_tail(old),
        arn_tail(new),
        target.domain
    ))
}

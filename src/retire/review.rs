//! Retiring, with I/O: each domain's candidates (the certificates verified swaps moved it
//! off, [`crate::state::records::DomainRecord::retire_candidates`]) read from ACM (`DescribeCertificate` for `InUseBy`, its tags), decided
//! ([`super::decide`]) and, when asked to act, tagged or deleted; a retirement is counted
//! (`retired_certificates_total`) and notified (`retired`).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use super::{decide, Action, Candidate, Settings, Step, RETIRED_TAG, UNUSED_SINCE_TAG};
use crate::aws::acm::AcmRegions;
use crate::config::Target;
use crate::context::Context;
use crate::format::rfc3339;
use crate::model::{arn_tail, NoticeKind};
use crate::notices::{CertRef, Notice};
use crate::state::records::State;

/// One candidate's review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reviewed {
    /// The domain moved off it.
    pub domain: String,
    /// The candidate's ARN.
    pub certificate: String,
    /// What was decided.
    pub step: Step,
    /// The sentence `plan` and the log say.
    pub sentence: String,
    /// It is retired (now or before): it leaves the domain's candidates.
    pub settled: bool,
}

/// What `plan` says of `retire:` (nothing when it is off): every candidate reviewed, nothing
/// done.
pub async fn planned(ctx: &Context, state: &State, now: DateTime<Utc>) -> Vec<Reviewed> {
    match &ctx.config.retire {
        Some(settings) => review(ctx, state, settings, now, false).await,
        None => Vec::new(),
    }
}

/// Review every domain's candidates at `now`; act on the decisions when `act` (a pass that
/// writes), else only say them (`plan`). A certificate shared by several domains is reviewed
/// once a pass; one retired or gone leaves the domain's candidates (a state write).
pub async fn review(
    ctx: &Context,
    state: &State,
    settings: &Settings,
    now: DateTime<Utc>,
    act: bool,
) -> Vec<Reviewed> {
    let mut seen = BTreeSet::new();
    let mut reviewed = Vec::new();
    for target in &ctx.config.targets {
        let Some(record) = state.domains.get(&target.domain) else {
            continue;
        };
        let Some(current) = current_certificate(record) else {
            continue;
        };
        let mut settled = Vec::new();
        for old in record.retire_candidates() {
            if old == current || !seen.insert(old.clone()) {
                continue;
            }
            match one(ctx, target, &old, &current, settings, now, act).await {
                Ok(Some(r)) => {
                    if r.settled {
                        settled.push(old);
                    }
                    reviewed.push(r);
                }
                Ok(None) => settled.push(old),
                Err(e) => {
                    warn!(domain = %target.domain, certificate = %old, "retire: cannot review a certificate the domain was moved off: {e}")
                }
            }
        }
        if act && !settled.is_empty() {
            if let Err(e) =
                crate::record::retire_settled(&ctx.state, &target.domain, &settled).await
            {
                warn!(domain = %target.domain, "retire: cannot record the certificates settled: {e}");
            }
        }
    }
    reviewed
}

/// The certificate the domain is on, as the rotator last saw or put it.
fn current_certificate(record: &crate::state::records::DomainRecord) -> Option<String> {
    record
        .seen
        .as_ref()
        .map(|s| s.arn.clone())
        .or_else(|| record.last.as_ref().map(|l| l.new_arn.clone()))
}

/// Review one candidate: `None` when ACM no longer has it.
async fn one(
    ctx: &Context,
    target: &Target,
    old: &str,
    new: &str,
    settings: &Settings,
    now: DateTime<Utc>,
    act: bool,
) -> Result<Option<Reviewed>, crate::error::TargetError> {
    let aws = |what: &'static str| move |e| crate::error::TargetError::aws(what, e);
    let acm = &ctx.account_for(target)?.acm;
    let Some(described) = acm
        .describe(old)
        .await
        .map_err(aws("DescribeCertificate"))?
    else {
        return Ok(None);
    };
    let tags = acm.tags(old).await.map_err(aws("ListTagsForCertificate"))?;
    let newer = acm
        .describe(new)
        .await
        .map_err(aws("DescribeCertificate"))?;
    let newest_for_its_name = match (described.certificate.not_after, newer) {
        (Some(o), Some(n)) => n.certificate.not_after.is_none_or(|n| o >= n),
        // Without both dates nothing says another one is newer: keep it.
        _ => true,
    };
    let step = decide(
        &Candidate {
            in_use_by: &described.in_use_by,
            tags: &tags,
            newest_for_its_name,
        },
        settings,
        now,
    );
    let sentence = step.sentence(settings);
    let retired_now = act && carry_out(ctx, acm, target, old, &step, &sentence, now).await;
    Ok(Some(Reviewed {
        domain: target.domain.clone(),
        certificate: old.to_string(),
        settled: retired_now || tags.contains_key(RETIRED_TAG),
        step,
        sentence,
    }))
}

/// Make `step` (tags, or the deletion), and count and notify a retirement; whether the
/// certificate was retired.
async fn carry_out(
    ctx: &Context,
    acm: &AcmRegions,
    target: &Target,
    old: &str,
    step: &Step,
    sentence: &str,
    now: DateTime<Utc>,
) -> bool {
    let done = match step {
        Step::Keep(_) | Step::Wait { .. } => return false,
        Step::MarkUnused => acm.tag(old, UNUSED_SINCE_TAG, &rfc3339(&now)).await,
        Step::ClearMark => acm.untag(old, UNUSED_SINCE_TAG).await,
        Step::Retire(Action::Tag) => {
            acm.tag(old, RETIRED_TAG, &now.format("%Y-%m-%d").to_string())
                .await
        }
        Step::Retire(Action::Delete) => acm.delete(old).await,
    };
    let domain = &target.domain;
    match (done, step) {
        (Ok(()), Step::Retire(action)) => {
            info!(%domain, certificate = %old, action = action.name(), "retired the certificate the domain was moved off");
            ctx.metrics.count_retired(domain, action.name());
            ctx.notices.send(retired_notice(target, old, *action, now));
            return true;
        }
        (Ok(()), _) => info!(%domain, certificate = %old, "retire: {sentence}"),
        (Err(e), _) if e.metric_label() == "ResourceInUseException" => {
            info!(%domain, certificate = %old, "retire: ACM says something uses it again; kept: {e}")
        }
        (Err(e), _) => warn!(%domain, certificate = %old, "retire: {sentence}: failed: {e}"),
    }
    false
}

/// The `retired` notification.
fn retired_notice(target: &Target, old: &str, action: Action, now: DateTime<Utc>) -> Notice {
    let how = match action {
        Action::Tag => format!("tagged {RETIRED_TAG}"),
        Action::Delete => "deleted".to_string(),
    };
    Notice {
        kind: NoticeKind::Retired,
        domain: target.domain.clone(),
        consumer: target.consumer_id().to_string(),
        consumer_kind: target.kind(),
        account: crate::config::model::account_label(&target.role),
        old: Some(CertRef::arn(old)),
        new: None,
        reason: format!(
            "certificate {} {how}: nothing has used it since the rotator moved {} off it",
            arn_tail(old),
            target.domain
        ),
        at: now,
        key: format!("retired:{old}"),
    }
}

//! One certificate write to a consumer (a user pool domain, a distribution, an API Gateway
//! domain), never resent blindly.
//!
//! A certificate write is not idempotent in effect: when its request reached the service but
//! the answer was lost (a reset connection, a timeout, a 5xx), the write may have happened,
//! and sending it again makes two writes of one swap — against real Cognito the second may be
//! refused while the domain is UPDATING, and the swap would look failed although it happened.
//! So the SDK does not retry these calls ([`ConsumerApi::update_certificate`]); here every
//! ambiguous failure is followed by a re-read, and the write is sent again only when the
//! consumer still points at the certificate it had before.

use std::time::Duration;

use tracing::{info, warn};

use crate::aws::consumer::ConsumerApi;
use crate::aws::{AwsError, MAX_ATTEMPTS};
use crate::config::Target;
use crate::error::{Changed, TargetError};
use crate::model::{arn_tail, DomainInfo, DomainView};

/// The first wait before a write is sent again; doubled each time.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

/// How a failed write attempt is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Cognito refused it before acting (throttled): send again after a wait.
    NotApplied,
    /// It may or may not have happened: re-read before anything else.
    Ambiguous,
    /// A final answer: do not send again.
    Final,
}

/// Classify a failed `UpdateUserPoolDomain`. Only answers that prove the write was not
/// made (throttling) are retried without a look; transport failures and server errors may
/// hide a write that happened.
pub fn classify(e: &AwsError) -> Failure {
    match e {
        _ if e.is_throttling() => Failure::NotApplied,
        AwsError::Transport { .. } | AwsError::Malformed { .. } => Failure::Ambiguous,
        // Never sent: nothing to look for, and nothing to send again without the lease.
        AwsError::NotLeading { .. } => Failure::Final,
        AwsError::Service { code, .. } => match code.as_str() {
            "InternalErrorException"
            | "InternalFailure"
            | "InternalServerError"
            | "ServiceUnavailable"
            | "ServiceUnavailableException"
            | "Unknown" => Failure::Ambiguous,
            _ => Failure::Final,
        },
    }
}

/// A write that did not go through, or may not have.
#[derive(Debug)]
pub struct Unwritten {
    /// Why.
    pub error: TargetError,
    /// It may have happened: its answer was lost and the domain could not be re-read (or this
    /// process stopped leading before it could look). Its intent must stay recorded, so that a
    /// re-read settles it ([`crate::resume`]).
    pub maybe: bool,
}

impl Unwritten {
    fn not_made(error: TargetError) -> Unwritten {
        Unwritten {
            error,
            maybe: false,
        }
    }
}

/// Point the consumer `api` is bound to at `to`, keeping every other setting of `info` (the
/// domain as read just before). `from` is the certificate it pointed at then. Returns once the
/// service has taken the write, or the domain is seen pointing at `to` after an ambiguous failure.
pub async fn write_certificate(
    api: &ConsumerApi<'_>,
    from: Option<&str>,
    to: &str,
    info: &DomainInfo,
) -> Result<(), Unwritten> {
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 1;
    loop {
        let err = match api.update_certificate(from, to, info).await {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        let kind = match classify(&err) {
            // The write re-reads and makes only what is missing: sending it again is safe.
            Failure::Ambiguous if api.resend_is_safe() => Failure::NotApplied,
            kind => kind,
        };
        if kind == Failure::Final {
            return Err(Unwritten::not_made(refused(err)));
        }
        if kind == Failure::Ambiguous {
            warn!(
                attempt,
                "the write's answer was lost ({err}); re-reading the domain before anything else"
            );
            match points_at(api).await {
                Ok(Some(now)) if now == to => {
                    info!(to = %arn_tail(to), "the domain already points at the new certificate: the write was made, not sending it again");
                    return Ok(());
                }
                Ok(now) if now.as_deref() == from => {}
                Ok(now) => {
                    return Err(Unwritten::not_made(TargetError::Changed(Changed::Elsewhere {
                        now,
                    })))
                }
                Err(read) => {
                    return Err(Unwritten {
                        error: TargetError::aws(
                            "the write's answer was lost and the domain cannot be re-read to see whether it was made; the next pass looks again",
                            read,
                        ),
                        maybe: true,
                    })
                }
            }
        }
        if attempt >= MAX_ATTEMPTS {
            return Err(Unwritten::not_made(TargetError::aws("swap failed", err)));
        }
        attempt += 1;
        tokio::time::sleep(backoff).await;
        backoff *= 2;
    }
}

/// The certificate the domain points at now (`None`: no custom domain config, or gone).
async fn points_at(api: &ConsumerApi<'_>) -> Result<Option<String>, AwsError> {
    Ok(match api.describe().await? {
        DomainView::Present(info) => info.certificate_arn,
        DomainView::Missing => None,
    })
}

/// A final refusal, with what to do about the ones that need a person.
fn refused(err: AwsError) -> TargetError {
    let what = match err.metric_label() {
        "OperationNotEnabledException" => {
            "swap refused: this region holds a secondary replica of a multi-region user pool, and a replica's domain cannot be changed; manage the domain from the user pool's primary region (configure the primary region's user_pool_id)"
        }
        "ConcurrentModificationException" | "PreconditionFailed" | "CertificateChanged" => {
            "not swapping now: someone else is changing the domain; the next pass re-reads it and tries again"
        }
        _ => "swap failed",
    };
    TargetError::aws(what, err)
}

/// Read the domain again right before writing to it: a decision is only as fresh as the read
/// it was based on. The domain must still exist, belong to the target's user pool, be a custom
/// domain and point at `expected`, so a concurrent change (a person, another rotator) is never
/// overwritten.
pub async fn reread_before_write(
    api: &ConsumerApi<'_>,
    target: &Target,
    expected: Option<&str>,
) -> Result<DomainInfo, TargetError> {
    let fresh = api
        .describe()
        .await
        .map_err(|e| TargetError::aws("cannot re-read the domain before writing", e))?;
    let changed = |how: Changed| Err(TargetError::Changed(how));
    let DomainView::Present(info) = fresh else {
        return changed(Changed::Disappeared);
    };
    if info.owner != target.consumer_id() {
        return changed(Changed::OtherPool {
            domain: target.domain.clone(),
            owner: info.owner,
            configured: target.consumer_id().to_string(),
        });
    }
    if info.certificate_arn.is_none() {
        return changed(Changed::NotCustom);
    }
    let as_read = match expected {
        Some(arn) => info.holds(arn),
        None => info.certificate_arn.is_none(),
    };
    if !as_read {
        return changed(Changed::Certificate {
            now: info.certificate_arn,
        });
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(code: &str) -> AwsError {
        AwsError::Service {
            operation: "UpdateUserPoolDomain",
            code: code.into(),
            message: String::new(),
        }
    }

    #[test]
    fn only_throttling_is_sent_again_without_a_look() {
        assert_eq!(
            classify(&service("TooManyRequestsException")),
            Failure::NotApplied
        );
        assert_eq!(
            classify(&service("ThrottlingException")),
            Failure::NotApplied
        );
    }

    #[test]
    fn lost_answers_and_server_errors_are_ambiguous() {
        let reset = AwsError::Transport {
            operation: "UpdateUserPoolDomain",
            detail: "connection reset by peer".into(),
        };
        assert_eq!(classify(&reset), Failure::Ambiguous);
        assert_eq!(
            classify(&service("InternalErrorException")),
            Failure::Ambiguous
        );
        assert_eq!(classify(&service("ServiceUnavailable")), Failure::Ambiguous);
    }

    #[test]
    fn refusals_are_final_and_say_what_to_do() {
        for code in [
            "InvalidParameterException",
            "NotAuthorizedException",
            "ResourceNotFoundException",
            "FeatureUnavailableInTierException",
            "ConcurrentModificationException",
            "OperationNotEnabledException",
        ] {
            assert_eq!(classify(&service(code)), Failure::Final, "{code}");
        }
        let replica = refused(service("OperationNotEnabledException")).to_string();
        assert!(replica.contains("primary region"), "{replica}");
        assert_eq!(
            refused(service("ConcurrentModificationException")).metric_label(),
            "ConcurrentModificationException"
        );
    }
}

//! One target's consumer behind one seam: read the domain it serves, write its certificate.
//!
//! The protocols above ([`crate::act`], [`crate::verify`], [`crate::resume`]) speak only
//! [`ConsumerApi::describe`] and [`ConsumerApi::update_certificate`]; which service answers
//! (Cognito, CloudFront, API Gateway) is decided here, from the target's
//! [`Consumer`], once.

use super::acm::Acm;
use super::apigateway::ApiDomains;
use super::cloudfront::Distributions;
use super::cognito::CognitoDomains;
use super::listener::Listeners;
use super::AwsError;
use crate::config::Target;
use crate::model::{Consumer, DomainInfo, DomainView};

/// The service adapter of one target's consumer, bound to the target.
#[derive(Debug, Clone, Copy)]
pub struct ConsumerApi<'a> {
    target: &'a Target,
    service: Service<'a>,
}

/// Which service answers for a consumer.
#[derive(Debug, Clone, Copy)]
pub enum Service<'a> {
    /// Cognito in the user pool's region.
    Cognito(&'a CognitoDomains),
    /// CloudFront (global).
    CloudFront(&'a Distributions),
    /// API Gateway in the domain's region.
    ApiGateway(&'a ApiDomains),
    /// Elastic Load Balancing in the listener's region, with ACM there (the names of the
    /// listener's certificates tell which one serves the domain).
    Listener(&'a Listeners, &'a Acm),
}

impl<'a> ConsumerApi<'a> {
    /// `target`'s consumer, answered by `service` (the caller picks the service of the
    /// target's kind and region: [`crate::aws::accounts::Account::consumer_api`]).
    pub fn new(target: &'a Target, service: Service<'a>) -> ConsumerApi<'a> {
        ConsumerApi { target, service }
    }

    /// The domain as its consumer serves it now.
    pub async fn describe(&self) -> Result<DomainView, AwsError> {
        let domain = &self.target.domain;
        match (self.service, &self.target.consumer) {
            (Service::Cognito(c), _) => c.describe(domain).await,
            (Service::CloudFront(c), Consumer::Distribution { id }) => c.describe(id, domain).await,
            (Service::ApiGateway(c), _) => c.describe(domain).await,
            (Service::Listener(c, acm), Consumer::Listener { arn }) => {
                c.describe(arn, domain, acm).await
            }
            (Service::CloudFront(_), _) => Err(self.mismatch("GetDistribution")),
            (Service::Listener(..), _) => Err(self.mismatch("DescribeListenerCertificates")),
        }
    }

    /// Point the consumer at `to`, changing nothing else: `current` is the domain as read just
    /// before, on `from`. Not retried by the SDK; the caller re-reads after a lost answer.
    pub async fn update_certificate(
        &self,
        from: Option<&str>,
        to: &str,
        current: &DomainInfo,
    ) -> Result<(), AwsError> {
        let domain = &self.target.domain;
        match (self.service, &self.target.consumer) {
            (Service::Cognito(c), Consumer::UserPool { id }) => {
                c.update_certificate(domain, id, to, current).await
            }
            (Service::CloudFront(c), Consumer::Distribution { id }) => {
                c.update_certificate(id, from, to).await
            }
            (Service::ApiGateway(c), Consumer::ApiDomain) => {
                c.update_certificate(domain, to, current).await
            }
            (Service::Listener(c, _), Consumer::Listener { arn }) => {
                c.update_certificate(arn, from, to).await
            }
            _ => Err(self.mismatch(self.write_operation())),
        }
    }

    /// Let `old` go once `new` serves the domain (after a verified swap, or right after a
    /// rollback's write): a listener's SNI list keeps the certificate a swap replaced until
    /// then; the other kinds hold one certificate, so there is nothing to let go. Whether
    /// something was removed.
    pub async fn release(&self, old: &str, new: &str) -> Result<bool, AwsError> {
        match (self.service, &self.target.consumer) {
            (Service::Listener(c, _), Consumer::Listener { arn }) => c.release(arn, old, new).await,
            _ => Ok(false),
        }
    }

    /// Whether a write whose answer was lost may simply be sent again: a listener's write
    /// re-reads the listener and makes only the steps still missing, so sending it twice does
    /// nothing twice; the other kinds' writes are re-read first.
    pub fn resend_is_safe(&self) -> bool {
        matches!(self.service, Service::Listener(..))
    }

    /// The service, as messages name it: `Cognito`, `CloudFront`, `API Gateway`,
    /// `Elastic Load Balancing`.
    pub fn service_name(&self) -> &'static str {
        match self.service {
            Service::Cognito(_) => "Cognito",
            Service::CloudFront(_) => "CloudFront",
            Service::ApiGateway(_) => "API Gateway",
            Service::Listener(..) => "Elastic Load Balancing",
        }
    }

    /// The API operation that writes this consumer's certificate, as logs and metrics name it.
    pub fn write_operation(&self) -> &'static str {
        match self.service {
            Service::Cognito(_) => "UpdateUserPoolDomain",
            Service::CloudFront(_) => "UpdateDistribution",
            Service::ApiGateway(_) => "UpdateDomainName",
            Service::Listener(..) => "ModifyListener",
        }
    }

    /// A service that does not match the target's kind: a wiring mistake, said plainly.
    fn mismatch(&self, operation: &'static str) -> AwsError {
        AwsError::Malformed {
            operation,
            detail: format!(
                "no {} client for {}",
                self.target.consumer.kind(),
                self.target.domain
            ),
        }
    }
}

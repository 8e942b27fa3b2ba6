//! One target's consumer behind one seam: read the domain it serves, write its certificate.
//!
//! The protocols above ([`crate::act`], [`crate::verify`], [`crate::resume`]) speak only
//! [`ConsumerApi::describe`] and [`ConsumerApi::update_certificate`]; which service answers
//! (Cognito, CloudFront, API Gateway) is decided here, from the target's
//! [`Consumer`], once.

use super::apigateway::ApiDomains;
use super::cloudfront::Distributions;
use super::cognito::CognitoDomains;
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
            (Service::CloudFront(_), _) => Err(self.mismatch("GetDistribution")),
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
            _ => Err(self.mismatch(self.write_operation())),
        }
    }

    /// The service, as messages name it: `Cognito`, `CloudFront`, `API Gateway`.
    pub fn service_name(&self) -> &'static str {
        match self.service {
            Service::Cognito(_) => "Cognito",
            Service::CloudFront(_) => "CloudFront",
            Service::ApiGateway(_) => "API Gateway",
        }
    }

    /// The API operation that writes this consumer's certificate, as logs and metrics name it.
    pub fn write_operation(&self) -> &'static str {
        match self.service {
            Service::Cognito(_) => "UpdateUserPoolDomain",
            Service::CloudFront(_) => "UpdateDistribution",
            Service::ApiGateway(_) => "UpdateDomainName",
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

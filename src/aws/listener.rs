//! Load balancer listeners (ALB HTTPS, NLB TLS), in their own region.
//!
//! A listener has a default certificate and an SNI list, kept apart: `ModifyListener` with one
//! certificate replaces only the default, `Add/RemoveListenerCertificates` change only the SNI
//! list. A client that sends a name is served a covering certificate of the SNI list before
//! the default, so a certificate left in the SNI list beside a new default is still served
//! (terraform-provider-aws #8620). The swap therefore puts the new certificate everywhere the
//! old one is (the default, the SNI list), and the old one leaves the SNI list only once the
//! new one is verified ([`Listeners::release`]): no client is ever served nothing, and a
//! listener never keeps both after a verified swap.

use std::collections::HashMap;
use std::sync::Arc;

use aws_config::SdkConfig;
use aws_sdk_elasticloadbalancingv2::types::Certificate;
use aws_sdk_elasticloadbalancingv2::Client;

use super::acm::Acm;
use super::limit::{AccountLimits, RateLimiter};
use super::{AwsError, Interceptors};
use crate::model::{DomainInfo, DomainView, ListenerCertificates};

/// How long what DescribeCertificate said of a listener's certificate is used before it is
/// read again: a pass every few minutes reads each certificate about once an hour, and a
/// certificate re-imported under its ARN with other names is seen within the hour.
const KNOWN_FOR: std::time::Duration = std::time::Duration::from_secs(3600);

/// A certificate as DescribeCertificate said it, and when.
type Known = (std::time::Instant, Option<crate::model::Certificate>);

/// The ELB adapter of one account in one region.
#[derive(Debug, Clone)]
pub struct Listeners {
    client: Client,
    region: String,
    limiter: Arc<RateLimiter>,
    /// What DescribeCertificate said of each certificate seen on a listener (its names, key
    /// and expiry, to tell which one serves a domain), and when: read again after
    /// [`KNOWN_FOR`], since a re-import under the same ARN may change them.
    known: Arc<std::sync::Mutex<HashMap<String, Known>>>,
}

impl Listeners {
    /// Wrap a client for `region`, without rate limits (tests pass a mocked one).
    pub fn new(client: Client, region: &str) -> Listeners {
        Listeners {
            client,
            region: region.to_string(),
            limiter: Arc::new(RateLimiter::new(0.0)),
            known: Arc::default(),
        }
    }

    /// A client for `region` from the shared configuration.
    pub fn from_sdk_config(
        sdk: &SdkConfig,
        region: &str,
        interceptors: &Interceptors,
        limits: &AccountLimits,
    ) -> Listeners {
        let mut conf = aws_sdk_elasticloadbalancingv2::config::Builder::from(sdk)
            .region(aws_config::Region::new(region.to_string()));
        conf.set_interceptors(interceptors.shared());
        Listeners {
            client: Client::from_conf(conf.build()),
            region: region.to_string(),
            limiter: limits.consumer_region(),
            known: Arc::default(),
        }
    }

    /// DescribeListenerCertificates (every page): the default and the SNI list, as a
    /// [`DomainView`] of `domain` whose `certificate_arn` is the one the listener serves it
    /// with ([`ListenerCertificates::serves`]; each certificate's names read once, from `acm`,
    /// the listener's region's). A listener that does not exist is [`DomainView::Missing`].
    pub async fn describe(
        &self,
        arn: &str,
        domain: &str,
        acm: &Acm,
    ) -> Result<DomainView, AwsError> {
        let Some(certificates) = self.certificates(arn).await? else {
            return Ok(DomainView::Missing);
        };
        let mut known = Vec::new();
        for cert in certificates.default.iter().chain(&certificates.sni) {
            if let Some(found) = self.known(cert, acm).await? {
                known.push(found);
            }
        }
        Ok(DomainView::Present(DomainInfo {
            certificate_arn: certificates.serves(domain, &known),
            listener: Some(certificates),
            ..DomainInfo::of(arn, &self.region)
        }))
    }

    /// A certificate's names, key and expiry (DescribeCertificate, at most once per
    /// [`KNOWN_FOR`]).
    async fn known(
        &self,
        arn: &str,
        acm: &Acm,
    ) -> Result<Option<crate::model::Certificate>, AwsError> {
        let hit = self.known.lock().ok().and_then(|k| {
            k.get(arn)
                .filter(|(at, _)| at.elapsed() < KNOWN_FOR)
                .map(|(_, c)| c.clone())
        });
        if let Some(hit) = hit {
            return Ok(hit);
        }
        let found = acm.describe(arn).await?.map(|d| d.certificate);
        if let Ok(mut known) = self.known.lock() {
            known.insert(arn.to_string(), (std::time::Instant::now(), found.clone()));
        }
        Ok(found)
    }

    async fn certificates(&self, arn: &str) -> Result<Option<ListenerCertificates>, AwsError> {
        const OP: &str = "DescribeListenerCertificates";
        let mut found = ListenerCertificates::default();
        let mut marker: Option<String> = None;
        loop {
            self.limiter.acquire().await;
            let out = match self
                .client
                .describe_listener_certificates()
                .listener_arn(arn)
                .set_marker(marker.take())
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) => {
                    let e = AwsError::from_sdk(OP, e);
                    return match e.metric_label() {
                        "ListenerNotFound" => Ok(None),
                        _ => Err(e),
                    };
                }
            };
            for c in out.certificates() {
                let Some(cert) = c.certificate_arn() else {
                    continue;
                };
                if c.is_default() == Some(true) {
                    found.default = Some(cert.to_string());
                } else if !found.sni.iter().any(|s| s == cert) {
                    found.sni.push(cert.to_string());
                }
            }
            match out.next_marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_string()),
                _ => return Ok(Some(found)),
            }
        }
    }

    /// Put `to` everywhere `from` is on the listener, as read fresh: the default
    /// (`ModifyListener`, which keeps the SNI list) and the SNI list
    /// (`AddListenerCertificates`); with `from` on neither, `to` joins the SNI list. Each step
    /// is made only when missing, so sending this again after a lost answer does nothing
    /// twice. `from` stays in the SNI list until [`Listeners::release`]. No SDK retries.
    pub async fn update_certificate(
        &self,
        arn: &str,
        from: Option<&str>,
        to: &str,
    ) -> Result<(), AwsError> {
        let now = self
            .certificates(arn)
            .await?
            .ok_or_else(|| AwsError::Service {
                operation: "DescribeListenerCertificates",
                code: "ListenerNotFound".to_string(),
                message: format!("listener {arn} is gone"),
            })?;
        let from_is_default = from.is_some() && now.default.as_deref() == from;
        let from_in_sni = from.is_some_and(|f| now.in_sni(f));
        // `to` joins the SNI list where `from` is in it, or where `from` is on neither and `to`
        // is not on the listener yet.
        let needs_sni = (from_in_sni || (!from_is_default && !now.has(to))) && !now.in_sni(to);
        if needs_sni {
            self.limiter.acquire().await;
            self.client
                .add_listener_certificates()
                .listener_arn(arn)
                .certificates(Certificate::builder().certificate_arn(to).build())
                .customize()
                .config_override(no_retries())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("AddListenerCertificates", e))?;
        }
        if from_is_default {
            self.limiter.acquire().await;
            self.client
                .modify_listener()
                .listener_arn(arn)
                .certificates(Certificate::builder().certificate_arn(to).build())
                .customize()
                .config_override(no_retries())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ModifyListener", e))?;
        }
        Ok(())
    }

    /// Take `old` out of the SNI list once `new` serves the domain (after a verified swap, or
    /// right after a rollback's write): RemoveListenerCertificates, when it is there and not
    /// the default (which ELB does not let go that way, and which the swap replaced).
    pub async fn release(&self, arn: &str, old: &str, new: &str) -> Result<bool, AwsError> {
        let Some(now) = self.certificates(arn).await? else {
            return Ok(false);
        };
        if old == new || !now.has(new) || !now.in_sni(old) {
            return Ok(false);
        }
        self.limiter.acquire().await;
        self.client
            .remove_listener_certificates()
            .listener_arn(arn)
            .certificates(Certificate::builder().certificate_arn(old).build())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("RemoveListenerCertificates", e))?;
        Ok(true)
    }
}

fn no_retries() -> aws_sdk_elasticloadbalancingv2::config::Builder {
    aws_sdk_elasticloadbalancingv2::config::Config::builder()
        .retry_config(aws_config::retry::RetryConfig::disabled())
}

mod seen;

#[cfg(test)]
mod tests;

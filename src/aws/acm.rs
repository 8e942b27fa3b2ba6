//! ACM in one region: us-east-1 for what CloudFront serves (Cognito custom domains,
//! distributions, edge-optimized API Gateway domains), a regional API Gateway domain's or a
//! listener's own region otherwise ([`AcmRegions`]: one client per region an account needs).

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_sdk_acm::types::{
    CertificateDetail, CertificateStatus, CertificateSummary, Filters, KeyAlgorithm,
};
use aws_sdk_acm::Client;

use std::sync::Arc;

use super::limit::AccountLimits;
use super::Interceptors;
use super::{to_chrono, AwsError};
use crate::model::{
    label, normalize_key_algorithm, Certificate, ManagedRenewal, CERTIFICATE_REGION,
};
use crate::serial::Serial;

/// Largest page ListCertificates accepts.
const PAGE_SIZE: i32 = 1000;

/// The result of one full ListCertificates scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// The ISSUED certificates, of every key type, that the caller kept.
    pub certificates: Vec<Certificate>,
    /// How many pages it took.
    pub pages: usize,
    /// How many certificates ACM listed in all (kept or not).
    pub listed: usize,
    /// The ARNs of the kept certificates ACM says something uses (`InUse`).
    pub in_use: Vec<String>,
}

/// What DescribeCertificate adds to a list summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    /// The certificate with its complete SAN list.
    pub certificate: Certificate,
    /// `Serial` as ACM writes it (colon hex on real ACM).
    pub serial: Option<String>,
    /// `RenewalSummary` (AMAZON_ISSUED certificates ACM is renewing or has renewed).
    pub renewal: Option<ManagedRenewal>,
    /// `InUseBy`: what uses it (distributions, load balancers, API Gateway domains).
    pub in_use_by: Vec<String>,
}

impl Described {
    /// The serial, parsed (ACM writes colon hex; compared as a number); `Err` says why there
    /// is none: ACM gave none, or it cannot be read.
    pub fn parsed_serial(&self) -> Result<Serial, NoSerial> {
        let certificate = crate::model::arn_tail(&self.certificate.arn).to_string();
        let Some(text) = self.serial.as_deref() else {
            return Err(NoSerial::Missing { certificate });
        };
        Serial::parse(text).map_err(|error| NoSerial::Unreadable { certificate, error })
    }
}

pub use crate::serial::NoSerial;

/// The ACM adapter.
#[derive(Debug, Clone)]
pub struct Acm {
    client: Client,
    limits: Arc<AccountLimits>,
}

impl Acm {
    /// Wrap a client, without rate limits (tests pass a mocked one).
    pub fn new(client: Client) -> Acm {
        Acm::with_limits(client, Arc::new(AccountLimits::unlimited()))
    }

    /// Wrap a client whose requests wait for the account's rate limiters.
    pub fn with_limits(client: Client, limits: Arc<AccountLimits>) -> Acm {
        Acm { client, limits }
    }

    /// A client for us-east-1 from the shared configuration, whatever its default region.
    pub fn from_sdk_config(
        sdk: &SdkConfig,
        interceptors: &Interceptors,
        limits: Arc<AccountLimits>,
    ) -> Acm {
        Acm::in_region(sdk, CERTIFICATE_REGION, interceptors, limits)
    }

    /// A client for `region` from the shared configuration.
    pub fn in_region(
        sdk: &SdkConfig,
        region: &str,
        interceptors: &Interceptors,
        limits: Arc<AccountLimits>,
    ) -> Acm {
        let mut conf = aws_sdk_acm::config::Builder::from(sdk)
            .region(aws_config::Region::new(region.to_string()));
        conf.set_interceptors(interceptors.shared());
        let conf = conf.build();
        Acm::with_limits(Client::from_conf(conf), limits)
    }

    /// Every ISSUED certificate: all pages, all key types.
    ///
    /// `Includes.keyTypes` defaults to RSA_1024/RSA_2048 on real ACM, which would silently hide
    /// EC and larger RSA keys; we ask for every type ACM knows, including those CloudFront
    /// refuses, so a P-384 certificate is listed and its rejection explained.
    pub async fn list_issued(&self) -> Result<Scan, AwsError> {
        self.list_issued_keeping(|_| true).await
    }

    /// Like [`Acm::list_issued`], keeping only the certificates `keep` wants, page by page,
    /// so memory follows what matters rather than the account's certificate count.
    pub async fn list_issued_keeping(
        &self,
        keep: impl Fn(&Certificate) -> bool,
    ) -> Result<Scan, AwsError> {
        self.list(&[CertificateStatus::Issued], keep).await
    }

    /// Every ISSUED or EXPIRED certificate (`discover`: a consumer still on an expired
    /// certificate is the one most worth finding), with which of them are in use.
    pub async fn list_for_discovery(&self) -> Result<Scan, AwsError> {
        self.list(
            &[CertificateStatus::Issued, CertificateStatus::Expired],
            |_| true,
        )
        .await
    }

    async fn list(
        &self,
        statuses: &[CertificateStatus],
        keep: impl Fn(&Certificate) -> bool,
    ) -> Result<Scan, AwsError> {
        const OP: &str = "ListCertificates";
        let key_types: Vec<KeyAlgorithm> = KeyAlgorithm::values()
            .iter()
            .map(|v| KeyAlgorithm::from(*v))
            .collect();
        let mut scan = Scan {
            certificates: Vec::new(),
            pages: 0,
            listed: 0,
            in_use: Vec::new(),
        };
        // Page by page by hand rather than with the SDK's paginator, so that every request
        // (not only its result) waits for the account's ListCertificates limiter.
        let mut token: Option<String> = None;
        loop {
            let page = self.page(statuses, &key_types, token.clone()).await?;
            scan.pages += 1;
            let mut kept = Vec::new();
            for summary in page.certificate_summary_list() {
                scan.listed += 1;
                let cert = from_summary(summary)?;
                if keep(&cert) {
                    if summary.in_use() == Some(true) {
                        scan.in_use.push(cert.arn.clone());
                    }
                    kept.push(cert);
                }
            }
            // Grow by what each page kept, not by doubling: a scan of 10000 certificates
            // would otherwise hold room for 16384 until the pass ends.
            scan.certificates.reserve_exact(kept.len());
            scan.certificates.append(&mut kept);
            match page.next_token().filter(|t| !t.is_empty()) {
                None => break,
                Some(next) if token.as_deref() == Some(next) => {
                    return Err(AwsError::Malformed {
                        operation: OP,
                        detail: format!("NextToken {next:?} repeated; stopping instead of looping"),
                    })
                }
                Some(next) => token = Some(next.to_string()),
            }
        }
        Ok(scan)
    }

    /// One page of ListCertificates, after the account's limiter.
    async fn page(
        &self,
        statuses: &[CertificateStatus],
        key_types: &[KeyAlgorithm],
        token: Option<String>,
    ) -> Result<aws_sdk_acm::operation::list_certificates::ListCertificatesOutput, AwsError> {
        self.limits.acm_list.acquire().await;
        self.client
            .list_certificates()
            .set_certificate_statuses(Some(statuses.to_vec()))
            .includes(
                Filters::builder()
                    .set_key_types(Some(key_types.to_vec()))
                    .build(),
            )
            .max_items(PAGE_SIZE)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ListCertificates", e))
    }

    /// The full description: every SAN and the serial.
    pub async fn describe(&self, arn: &str) -> Result<Option<Described>, AwsError> {
        const OP: &str = "DescribeCertificate";
        self.limits.acm_describe.acquire().await;
        let out = match self
            .client
            .describe_certificate()
            .certificate_arn(arn)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                let err = AwsError::from_sdk(OP, e);
                if err.is_not_found() {
                    return Ok(None);
                }
                return Err(err);
            }
        };
        let detail = out.certificate().ok_or_else(|| AwsError::Malformed {
            operation: OP,
            detail: "no Certificate in the response".into(),
        })?;
        Ok(Some(from_detail(arn, detail)))
    }

    /// The certificate's tags.
    pub async fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>, AwsError> {
        self.limits.acm_tags.acquire().await;
        let out = self
            .client
            .list_tags_for_certificate()
            .certificate_arn(arn)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ListTagsForCertificate", e))?;
        Ok(out
            .tags()
            .iter()
            .map(|t| {
                (
                    t.key().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect())
    }
}

fn issued_at(
    issued: Option<&aws_sdk_acm::primitives::DateTime>,
    imported: Option<&aws_sdk_acm::primitives::DateTime>,
    created: Option<&aws_sdk_acm::primitives::DateTime>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    [issued, imported, created]
        .into_iter()
        .flatten()
        .filter_map(to_chrono)
        .max()
}

fn from_summary(s: &CertificateSummary) -> Result<Certificate, AwsError> {
    let arn = s.certificate_arn().ok_or_else(|| AwsError::Malformed {
        operation: "ListCertificates",
        detail: "a summary without CertificateArn".into(),
    })?;
    Ok(Certificate {
        arn: arn.to_string(),
        domain_name: s.domain_name().unwrap_or_default().to_string(),
        sans: s.subject_alternative_name_summaries().to_vec(),
        sans_complete: !s
            .has_additional_subject_alternative_names()
            .unwrap_or(false),
        status: label(s.status().map_or("UNKNOWN", |v| v.as_str())),
        cert_type: label(s.r#type().map_or("", |v| v.as_str())),
        key_algorithm: label(
            &s.key_algorithm()
                .map_or(String::new(), |k| normalize_key_algorithm(k.as_str())),
        ),
        not_before: s.not_before().and_then(to_chrono),
        not_after: s.not_after().and_then(to_chrono),
        issued_at: issued_at(s.issued_at(), s.imported_at(), s.created_at()),
        tags: None,
    })
}

fn from_detail(arn: &str, d: &CertificateDetail) -> Described {
    Described {
        certificate: Certificate {
            arn: d.certificate_arn().unwrap_or(arn).to_string(),
            domain_name: d.domain_name().unwrap_or_default().to_string(),
            sans: d.subject_alternative_names().to_vec(),
            sans_complete: true,
            status: label(d.status().map_or("UNKNOWN", |v| v.as_str())),
            cert_type: label(d.r#type().map_or("", |v| v.as_str())),
            key_algorithm: label(
                &d.key_algorithm()
                    .map_or(String::new(), |k| normalize_key_algorithm(k.as_str())),
            ),
            not_before: d.not_before().and_then(to_chrono),
            not_after: d.not_after().and_then(to_chrono),
            issued_at: issued_at(d.issued_at(), d.imported_at(), d.created_at()),
            tags: None,
        },
        serial: d.serial().map(str::to_string),
        renewal: d.renewal_summary().map(|r| ManagedRenewal {
            status: r.renewal_status().as_str().to_string(),
            reason: r.renewal_status_reason().map(|x| x.as_str().to_string()),
        }),
        in_use_by: d.in_use_by().to_vec(),
    }
}

mod regions;
mod retire;
pub use regions::AcmRegions;

#[cfg(test)]
mod tests;

//! One ACM client per region an account's targets take certificates from.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aws_config::SdkConfig;

use super::{Acm, Described};
use crate::aws::limit::AccountLimits;
use crate::aws::{AwsError, Interceptors};
use crate::model::CERTIFICATE_REGION;

/// ACM in each region an account needs; a certificate is read in the region its ARN names.
#[derive(Debug, Clone)]
pub struct AcmRegions {
    by_region: BTreeMap<String, Acm>,
}

impl AcmRegions {
    /// Clients for us-east-1 and `regions`, sharing the account's limits.
    pub fn from_sdk_config<'a>(
        sdk: &SdkConfig,
        regions: impl IntoIterator<Item = &'a str>,
        interceptors: &Interceptors,
        limits: Arc<AccountLimits>,
    ) -> AcmRegions {
        let wanted: BTreeSet<&str> = std::iter::once(CERTIFICATE_REGION).chain(regions).collect();
        let by_region = wanted
            .into_iter()
            .map(|r| {
                (
                    r.to_string(),
                    Acm::in_region(sdk, r, interceptors, limits.clone()),
                )
            })
            .collect();
        AcmRegions { by_region }
    }

    /// One client, for us-east-1 (unit tests pass a mocked one).
    pub fn only(acm: Acm) -> AcmRegions {
        AcmRegions::one(CERTIFICATE_REGION, acm)
    }

    /// One client, for `region`.
    pub fn one(region: &str, acm: Acm) -> AcmRegions {
        AcmRegions {
            by_region: BTreeMap::from([(region.to_string(), acm)]),
        }
    }

    /// The client of `region`.
    pub fn region(&self, region: &str) -> Result<&Acm, AwsError> {
        self.by_region
            .get(region)
            .ok_or_else(|| AwsError::Malformed {
                operation: "ListCertificates",
                detail: format!("no ACM client for region {region}"),
            })
    }

    /// The client of the region `arn` names (us-east-1 when it names none).
    fn of(&self, arn: &str, operation: &'static str) -> Result<&Acm, AwsError> {
        let region = arn.split(':').nth(3).filter(|r| !r.is_empty());
        let region = region.unwrap_or(CERTIFICATE_REGION);
        self.by_region
            .get(region)
            .ok_or_else(|| AwsError::Malformed {
                operation,
                detail: format!("no ACM client for region {region} (certificate {arn})"),
            })
    }

    /// DescribeCertificate, in the certificate's region.
    pub async fn describe(&self, arn: &str) -> Result<Option<Described>, AwsError> {
        self.of(arn, "DescribeCertificate")?.describe(arn).await
    }

    /// AddTagsToCertificate, in the certificate's region.
    pub async fn tag(&self, arn: &str, key: &str, value: &str) -> Result<(), AwsError> {
        self.of(arn, "AddTagsToCertificate")?
            .tag(arn, key, value)
            .await
    }

    /// RemoveTagsFromCertificate, in the certificate's region.
    pub async fn untag(&self, arn: &str, key: &str) -> Result<(), AwsError> {
        self.of(arn, "RemoveTagsFromCertificate")?
            .untag(arn, key)
            .await
    }

    /// DeleteCertificate, in the certificate's region.
    pub async fn delete(&self, arn: &str) -> Result<(), AwsError> {
        self.of(arn, "DeleteCertificate")?.delete(arn).await
    }

    /// ListTagsForCertificate, in the certificate's region.
    pub async fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>, AwsError> {
        self.of(arn, "ListTagsForCertificate")?.tags(arn).await
    }
}

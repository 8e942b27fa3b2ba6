//! What DescribeCertificate and ListTagsForCertificate said, cached per account and pass.

use std::collections::{BTreeMap, HashMap};

use crate::aws::accounts::Account;
use crate::aws::acm::Described;
use crate::aws::AwsError;

/// Per-account, per-pass cache of what DescribeCertificate and ListTagsForCertificate said.
/// Behind an async lock held across the call, so concurrent targets wanting the same
/// certificate make one request, not several.
#[derive(Debug, Default)]
pub(super) struct Details {
    described: tokio::sync::Mutex<HashMap<String, Option<Described>>>,
    tags: tokio::sync::Mutex<HashMap<String, BTreeMap<String, String>>>,
}

pub(super) async fn describe_cached(
    account: &Account,
    arn: &str,
    details: &Details,
) -> Result<Option<Described>, AwsError> {
    cached(&details.described, arn, account.acm.describe(arn)).await
}

pub(super) async fn tags_cached(
    account: &Account,
    arn: &str,
    details: &Details,
) -> Result<BTreeMap<String, String>, AwsError> {
    cached(&details.tags, arn, account.acm.tags(arn)).await
}

/// The cached answer for `arn`, or `fetch`'s (then cached). The lock is held across the call,
/// so concurrent targets asking for the same certificate make one request.
async fn cached<T: Clone>(
    cache: &tokio::sync::Mutex<HashMap<String, T>>,
    arn: &str,
    fetch: impl std::future::Future<Output = Result<T, AwsError>>,
) -> Result<T, AwsError> {
    let mut cache = cache.lock().await;
    if let Some(hit) = cache.get(arn) {
        return Ok(hit.clone());
    }
    let found = fetch.await?;
    cache.insert(arn.to_string(), found.clone());
    Ok(found)
}

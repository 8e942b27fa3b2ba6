//! An account's ACM listings: one per region its targets take certificates from, made when
//! the first target there needs it and shared by every other.

use std::collections::BTreeMap;
use std::sync::Arc;

use tracing::{info, warn};

use crate::aws::accounts::Account;
use crate::config::Target;
use crate::error::TargetError;
use crate::model::Certificate;
use crate::select;

/// A region's listing (what may matter), or why it failed: made once, shared.
type Listing = Result<Arc<Vec<Certificate>>, TargetError>;

/// One pass's listings of one account, by region.
pub(super) struct Scans<'a> {
    account: &'a Account,
    interest: select::Interest,
    by_region: tokio::sync::Mutex<BTreeMap<String, Listing>>,
}

impl<'a> Scans<'a> {
    /// Nothing listed yet; what is listed is kept when it may matter to one of `targets`.
    pub(super) fn new(account: &'a Account, targets: &[&Target]) -> Scans<'a> {
        Scans {
            account,
            interest: select::Interest::new(targets.iter().map(|t| t.domain.as_str())),
            by_region: tokio::sync::Mutex::new(BTreeMap::new()),
        }
    }

    /// The ISSUED certificates of `region` that may matter (every page, listed once per
    /// pass: the lock is held across the listing, so targets asking at once wait for it).
    pub(super) async fn region(&self, region: &str) -> Listing {
        let mut by_region = self.by_region.lock().await;
        if let Some(done) = by_region.get(region) {
            return done.clone();
        }
        let listed = self.list(region).await.map(Arc::new);
        by_region.insert(region.to_string(), listed.clone());
        listed
    }

    async fn list(&self, region: &str) -> Result<Vec<Certificate>, TargetError> {
        let account = self.account;
        let acm = account
            .acm
            .region(region)
            .map_err(|e| TargetError::aws("cannot list certificates", e))?;
        match acm
            .list_issued_keeping(|c| self.interest.may_matter(c))
            .await
        {
            Ok(scan) => {
                info!(
                    account = %account.label,
                    region,
                    certificates = scan.listed,
                    relevant = scan.certificates.len(),
                    pages = scan.pages,
                    "scanned ACM in {region}"
                );
                Ok(scan.certificates)
            }
            Err(e) => {
                warn!(account = %account.label, region, code = e.metric_label(), "cannot list certificates: {e}");
                Err(TargetError::aws(
                    format!("cannot list certificates in account {}", account.label),
                    e,
                ))
            }
        }
    }
}

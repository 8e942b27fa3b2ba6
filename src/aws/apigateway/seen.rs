//! What `discover` reads of an API Gateway custom domain name: its certificates and tags.

use super::ApiDomains;
use crate::aws::AwsError;
use crate::model::Seen;

impl ApiDomains {
    /// GetDomainName: the domain's certificates (edge-optimized and regional) and its tags;
    /// `None` when the region does not have it.
    pub async fn seen(&self, domain: &str) -> Result<Option<Seen>, AwsError> {
        let Some(out) = self.get(domain).await? else {
            return Ok(None);
        };
        Ok(Some(Seen {
            names: vec![out.domain_name().unwrap_or(domain).to_string()],
            certificates: [out.certificate_arn(), out.regional_certificate_arn()]
                .into_iter()
                .flatten()
                .filter(|a| !a.is_empty())
                .map(str::to_string)
                .collect(),
            tags: out
                .tags()
                .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
        }))
    }
}

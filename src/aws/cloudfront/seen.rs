//! What `discover` reads of a distribution: its aliases, certificate and tags.

use super::{acm_arn, config_of, Distributions};
use crate::aws::AwsError;
use crate::model::Seen;

impl Distributions {
    /// GetDistribution and ListTagsForResource: the distribution's aliases, its viewer
    /// certificate and its tags; `None` when it does not exist.
    pub async fn seen(&self, id: &str) -> Result<Option<Seen>, AwsError> {
        let Some(dist) = self.get(id).await? else {
            return Ok(None);
        };
        let config = config_of(&dist)?;
        let names = config
            .aliases()
            .map(|a| a.items().to_vec())
            .unwrap_or_default();
        self.limiter.acquire().await;
        let tags = self
            .client
            .list_tags_for_resource()
            .resource(dist.arn())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ListTagsForResource", e))?;
        Ok(Some(Seen {
            names,
            certificates: acm_arn(config).into_iter().collect(),
            tags: tags
                .tags()
                .map(|t| t.items())
                .unwrap_or_default()
                .iter()
                .map(|t| {
                    (
                        t.key().to_string(),
                        t.value().unwrap_or_default().to_string(),
                    )
                })
                .collect(),
        }))
    }
}

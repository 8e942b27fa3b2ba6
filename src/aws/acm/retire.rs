//! ACM's writes, made only with `retire:` on: tagging a certificate and deleting it.

use aws_sdk_acm::types::Tag;

use super::Acm;
use crate::aws::AwsError;

impl Acm {
    /// AddTagsToCertificate: `key=value` (replacing that key's value).
    pub async fn tag(&self, arn: &str, key: &str, value: &str) -> Result<(), AwsError> {
        const OP: &str = "AddTagsToCertificate";
        let tag = tag(OP, key, Some(value))?;
        self.limits.acm_tags.acquire().await;
        self.client
            .add_tags_to_certificate()
            .certificate_arn(arn)
            .tags(tag)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OP, e))?;
        Ok(())
    }

    /// RemoveTagsFromCertificate: the tag `key`, whatever its value.
    pub async fn untag(&self, arn: &str, key: &str) -> Result<(), AwsError> {
        const OP: &str = "RemoveTagsFromCertificate";
        let tag = tag(OP, key, None)?;
        self.limits.acm_tags.acquire().await;
        self.client
            .remove_tags_from_certificate()
            .certificate_arn(arn)
            .tags(tag)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OP, e))?;
        Ok(())
    }

    /// DeleteCertificate. ACM refuses while anything uses it (`ResourceInUseException`).
    pub async fn delete(&self, arn: &str) -> Result<(), AwsError> {
        const OP: &str = "DeleteCertificate";
        self.limits.acm_describe.acquire().await;
        self.client
            .delete_certificate()
            .certificate_arn(arn)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OP, e))?;
        Ok(())
    }
}

/// The tag `key` (with `value`, when adding it), for `operation`.
fn tag(operation: &'static str, key: &str, value: Option<&str>) -> Result<Tag, AwsError> {
    Tag::builder()
        .key(key)
        .set_value(value.map(str::to_string))
        .build()
        .map_err(|e| AwsError::Malformed {
            operation,
            detail: e.to_string(),
        })
}

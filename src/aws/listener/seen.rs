//! What `discover` reads of a load balancer: its TLS listeners, their certificates, its tags.

use aws_sdk_elasticloadbalancingv2::types::ProtocolEnum;

use super::Listeners;
use crate::aws::AwsError;
use crate::model::Seen;

impl Listeners {
    /// DescribeListeners (every page) of the load balancer, then DescribeListenerCertificates
    /// of each HTTPS or TLS listener and DescribeTags of the load balancer: each listener's ARN
    /// with its certificates (the default first) and the load balancer's tags. Its names are
    /// left to the caller (a listener has none of its own). A load balancer that does not
    /// exist has no listeners.
    pub async fn seen(&self, balancer: &str) -> Result<Vec<(String, Seen)>, AwsError> {
        let mut arns = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            self.limiter.acquire().await;
            let out = match self
                .client
                .describe_listeners()
                .load_balancer_arn(balancer)
                .set_marker(marker.take())
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) => {
                    let e = AwsError::from_sdk("DescribeListeners", e);
                    return match e.metric_label() {
                        "LoadBalancerNotFound" => Ok(Vec::new()),
                        _ => Err(e),
                    };
                }
            };
            arns.extend(
                out.listeners()
                    .iter()
                    .filter(|l| {
                        matches!(l.protocol(), Some(ProtocolEnum::Https | ProtocolEnum::Tls))
                    })
                    .filter_map(|l| l.listener_arn().map(str::to_string)),
            );
            match out.next_marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_string()),
                _ => break,
            }
        }
        if arns.is_empty() {
            return Ok(Vec::new());
        }
        let tags = self.balancer_tags(balancer).await?;
        let mut seen = Vec::new();
        for arn in arns {
            let Some(certificates) = self.certificates(&arn).await? else {
                continue;
            };
            let certificates = certificates
                .default
                .into_iter()
                .chain(certificates.sni)
                .collect();
            seen.push((
                arn,
                Seen {
                    names: Vec::new(),
                    certificates,
                    tags: tags.clone(),
                },
            ));
        }
        Ok(seen)
    }

    async fn balancer_tags(
        &self,
        balancer: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, AwsError> {
        self.limiter.acquire().await;
        let out = self
            .client
            .describe_tags()
            .resource_arns(balancer)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DescribeTags", e))?;
        Ok(out
            .tag_descriptions()
            .iter()
            .flat_map(|d| d.tags())
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect())
    }
}

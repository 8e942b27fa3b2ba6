//! The notification topic (`notify.sns_topic_arn`): one `Publish` per notification.

use aws_config::SdkConfig;
use aws_sdk_sns::Client;

use super::{AwsError, Interceptors};

/// An SNS topic to publish to, in the topic's own region.
#[derive(Debug, Clone)]
pub struct Topic {
    client: Client,
    arn: String,
}

impl Topic {
    /// A client for `arn`'s region (`arn:aws:sns:REGION:ACCOUNT:NAME`), its calls counted.
    pub fn from_sdk_config(sdk: &SdkConfig, arn: &str, interceptors: &Interceptors) -> Topic {
        let region = arn.split(':').nth(3).unwrap_or("us-east-1").to_string();
        let mut conf =
            aws_sdk_sns::config::Builder::from(sdk).region(aws_config::Region::new(region));
        conf.set_interceptors(interceptors.shared());
        Topic {
            client: Client::from_conf(conf.build()),
            arn: arn.to_string(),
        }
    }

    /// Publish `message` with `subject` (SNS allows 100 characters; longer is cut).
    pub async fn publish(&self, subject: &str, message: String) -> Result<(), AwsError> {
        let subject: String = subject.chars().take(100).collect();
        self.client
            .publish()
            .topic_arn(&self.arn)
            .subject(subject)
            .message(message)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| AwsError::from_sdk("Publish", e))
    }
}

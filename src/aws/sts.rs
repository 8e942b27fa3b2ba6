//! Who the caller is: STS GetCallerIdentity, which needs no permission.

use aws_config::SdkConfig;

use super::AwsError;

/// STS, for the caller's own account.
#[derive(Debug, Clone)]
pub struct Caller {
    client: aws_sdk_sts::Client,
}

impl Caller {
    /// A client with these credentials.
    pub fn new(sdk: &SdkConfig) -> Caller {
        Caller {
            client: aws_sdk_sts::Client::new(sdk),
        }
    }

    /// The account the credentials belong to.
    pub async fn account(&self) -> Result<String, AwsError> {
        let out = self
            .client
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("GetCallerIdentity", e))?;
        out.account()
            .map(str::to_string)
            .ok_or_else(|| AwsError::Malformed {
                operation: "GetCallerIdentity",
                detail: "no Account".to_string(),
            })
    }
}

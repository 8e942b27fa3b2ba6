//! Which accounts the caller's AWS Organization has: organizations:ListAccounts, from the
//! management or a delegated administrator account (`iam/organizations-policy.json`).

use aws_config::SdkConfig;

use super::AwsError;

/// The caller's AWS Organization.
#[derive(Debug, Clone)]
pub struct Organization {
    client: aws_sdk_organizations::Client,
}

impl Organization {
    /// A client with these credentials.
    pub fn new(sdk: &SdkConfig) -> Organization {
        Organization {
            client: aws_sdk_organizations::Client::new(sdk),
        }
    }

    /// Every ACTIVE account (ListAccounts, every page).
    pub async fn active_accounts(&self) -> Result<Vec<String>, AwsError> {
        let mut ids = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .list_accounts()
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ListAccounts", e))?;
            for a in out.accounts() {
                let active = a.status().is_none_or(|s| s.as_str() == "ACTIVE");
                if let (Some(id), true) = (a.id(), active) {
                    ids.push(id.to_string());
                }
            }
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(ids),
            }
        }
    }
}

//! SDK clients seeding Cognito: user pools, custom domains, and what a domain reports.

use super::*;

/// Create a user pool in `region`; returns its ID.
pub async fn create_pool(emu: &Emulator, region: &'static str, name: &str) -> String {
    create_pool_with(&emu.cognito(region), name).await
}

/// Create a user pool with this Cognito client (any account and region); returns its ID.
pub async fn create_pool_with(
    cognito: &aws_sdk_cognitoidentityprovider::Client,
    name: &str,
) -> String {
    create_tagged_pool_with(cognito, name, &[]).await
}

/// Create a user pool carrying `tags` (UserPoolTags); returns its ID.
pub async fn create_tagged_pool_with(
    cognito: &aws_sdk_cognitoidentityprovider::Client,
    name: &str,
    tags: &[(&str, &str)],
) -> String {
    let mut create = cognito.create_user_pool().pool_name(name);
    for (k, v) in tags {
        create = create.user_pool_tags(*k, *v);
    }
    create
        .send()
        .await
        .unwrap()
        .user_pool()
        .unwrap()
        .id()
        .unwrap()
        .to_string()
}

/// Create a user pool in `region` and a custom domain on `arn`; returns the pool ID.
pub async fn pool_with_domain(
    emu: &Emulator,
    region: &'static str,
    domain: &str,
    arn: &str,
    managed_login_version: i32,
) -> String {
    pool_with_domain_with(&emu.cognito(region), domain, arn, managed_login_version).await
}

/// Like [`pool_with_domain`], with this Cognito client (any account and region).
pub async fn pool_with_domain_with(
    cognito: &aws_sdk_cognitoidentityprovider::Client,
    domain: &str,
    arn: &str,
    managed_login_version: i32,
) -> String {
    let pool = create_pool_with(cognito, "test").await;
    add_custom_domain(cognito, &pool, domain, arn, managed_login_version).await;
    pool
}

/// Give user pool `pool` the custom domain `domain` on `arn`.
pub async fn add_custom_domain(
    cognito: &aws_sdk_cognitoidentityprovider::Client,
    pool: &str,
    domain: &str,
    arn: &str,
    managed_login_version: i32,
) {
    cognito
        .create_user_pool_domain()
        .user_pool_id(pool)
        .domain(domain)
        .managed_login_version(managed_login_version)
        .custom_domain_config(
            aws_sdk_cognitoidentityprovider::types::CustomDomainConfigType::builder()
                .certificate_arn(arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

/// The domain's certificate ARN and ManagedLoginVersion as Cognito reports them.
pub async fn domain_state(
    emu: &Emulator,
    region: &'static str,
    domain: &str,
) -> (Option<String>, Option<i32>) {
    domain_state_with(&emu.cognito(region), domain).await
}

/// Like [`domain_state`], with this Cognito client (any account and region).
pub async fn domain_state_with(
    cognito: &aws_sdk_cognitoidentityprovider::Client,
    domain: &str,
) -> (Option<String>, Option<i32>) {
    let out = cognito
        .describe_user_pool_domain()
        .domain(domain)
        .send()
        .await
        .unwrap();
    let d = out.domain_description().unwrap();
    (
        d.custom_domain_config()
            .map(|c| c.certificate_arn().to_string()),
        d.managed_login_version(),
    )
}

//! A user pool as `DescribeUserPool` shows it, for discovery.

use std::collections::BTreeMap;

/// A user pool and its domains.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPool {
    /// Its ID (`eu-west-1_AbC123`).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its custom domain (`auth.example.com`), if it has one.
    pub custom_domain: Option<String>,
    /// Its prefix domain (`myapp` of `myapp.auth.REGION.amazoncognito.com`), if it has one; a
    /// pool can have both.
    pub prefix_domain: Option<String>,
    /// `UserPoolTags`.
    pub tags: BTreeMap<String, String>,
}

/// The regions with Cognito user pools (November 2026), scanned unless `--regions` says
/// otherwise. A region an account has not opted into is reported for that account, and the
/// rest goes on.
pub const COGNITO_REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "ca-west-1",
    "mx-central-1",
    "sa-east-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "il-central-1",
    "me-south-1",
    "me-central-1",
    "af-south-1",
    "ap-east-1",
    "ap-south-1",
    "ap-south-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
];

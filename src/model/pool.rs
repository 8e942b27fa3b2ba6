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

//! AWS's own names: an account ID and a region name (as `discovery:` and the `discover`
//! command take them), an IAM role ARN (`role_arn:`), and the consumers a target names
//! besides a user pool: a CloudFront distribution ID, a load balancer listener ARN.

use serde::{Deserialize, Deserializer};

use super::InvalidValue;

/// A 12-digit AWS account ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountId(pub String);

impl AccountId {
    /// Check `text`; the error says what is expected.
    pub fn parse(text: &str) -> Result<AccountId, InvalidValue> {
        if text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit()) {
            Ok(AccountId(text.to_string()))
        } else {
            Err(InvalidValue(format!(
                "account \"{text}\" is not an AWS account ID (12 digits)"
            )))
        }
    }
}

impl<'de> Deserialize<'de> for AccountId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        AccountId::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A region name (`eu-west-1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionName(pub String);

impl RegionName {
    /// Check `text`: lowercase words and digits joined by hyphens, ending in a number.
    pub fn parse(text: &str) -> Result<RegionName, InvalidValue> {
        let parts: Vec<&str> = text.split('-').collect();
        let ok = parts.len() >= 3
            && parts.iter().all(|p| {
                !p.is_empty()
                    && p.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            })
            && parts
                .last()
                .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()));
        if ok {
            Ok(RegionName(text.to_string()))
        } else {
            Err(InvalidValue(format!(
                "region \"{text}\" is not a region name such as eu-west-1"
            )))
        }
    }
}

impl<'de> Deserialize<'de> for RegionName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RegionName::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A CloudFront distribution ID (`E2QWRUHEXAMPLE`): uppercase letters and digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistributionId(pub String);

impl DistributionId {
    /// Check `text`; the error says what is expected.
    pub fn parse(text: &str) -> Result<DistributionId, InvalidValue> {
        let ok = (8..=20).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if ok {
            Ok(DistributionId(text.to_string()))
        } else {
            Err(InvalidValue(format!(
                "cloudfront_distribution_id \"{text}\" is not a distribution ID (uppercase letters and digits, such as E2QWRUHEXAMPLE; the ID, not the d111111abcdef8.cloudfront.net domain)"
            )))
        }
    }
}

impl<'de> Deserialize<'de> for DistributionId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        DistributionId::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A load balancer listener ARN and the region it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerArn {
    /// The whole ARN.
    pub arn: String,
    /// Its region.
    pub region: String,
}

impl ListenerArn {
    /// Check `text`; the error says what is expected.
    pub fn parse(text: &str) -> Result<ListenerArn, InvalidValue> {
        match crate::model::listener_region(text) {
            Some(region) => Ok(ListenerArn {
                arn: text.to_string(),
                region: region.to_string(),
            }),
            None => Err(InvalidValue(format!(
                "listener_arn \"{text}\" is not a listener ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener/app|net/NAME/LB-ID/LISTENER-ID: the listener's, not the load balancer's)"
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for ListenerArn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ListenerArn::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// An IAM role ARN (`arn:aws:iam::123456789012:role/name`), checked for shape.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoleArn {
    /// The whole ARN, as configured.
    pub arn: String,
    /// The 12-digit account it is in.
    pub account: String,
}

impl RoleArn {
    /// Check a role ARN.
    pub fn parse(text: &str) -> Result<RoleArn, InvalidValue> {
        let bad = || {
            format!(
                "role_arn \"{text}\": expected an IAM role ARN such as arn:aws:iam::123456789012:role/cognito-cert-rotator"
            )
        };
        let parts: Vec<&str> = text.splitn(6, ':').collect();
        let [arn, partition, "iam", "", account, resource] = parts[..] else {
            return Err(InvalidValue(bad()));
        };
        let ok = arn == "arn"
            && partition.starts_with("aws")
            && account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit())
            && resource
                .strip_prefix("role/")
                .is_some_and(|r| !r.is_empty());
        if ok {
            Ok(RoleArn {
                arn: text.to_string(),
                account: account.to_string(),
            })
        } else {
            Err(InvalidValue(bad()))
        }
    }
}

impl<'de> Deserialize<'de> for RoleArn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        RoleArn::parse(&text).map_err(serde::de::Error::custom)
    }
}

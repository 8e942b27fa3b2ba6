//! AWS's own names: an account ID and a region name (as `discovery:` and the `discover`
//! command take them), an IAM role ARN (`role_arn:`).

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

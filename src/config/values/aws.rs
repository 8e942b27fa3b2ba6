//! AWS's own names, as `discovery:` and the `discover` command take them: an account ID, a
//! region name.

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

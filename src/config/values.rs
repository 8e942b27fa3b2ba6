//! Value types that validate themselves while deserialising, so serde_yaml_ng attaches the
//! line and column of a bad value: domains, user pool IDs, role ARNs, durations, cron
//! expressions, rates, hook argv lists, `host:port` and SQS queue URLs.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// A value that does not validate: what it is and what is expected, without its position
/// (serde_yaml_ng adds the line and column).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(String);

impl From<String> for InvalidValue {
    fn from(message: String) -> InvalidValue {
        InvalidValue(message)
    }
}

/// A positive request rate, per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerSecond(pub f64);

impl<'de> Deserialize<'de> for PerSecond {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let rate = f64::deserialize(d)?;
        if rate.is_finite() && rate > 0.0 && rate <= 10_000.0 {
            Ok(PerSecond(rate))
        } else {
            Err(serde::de::Error::custom(format!(
                "rate {rate}: give requests per second, above 0 and at most 10000"
            )))
        }
    }
}

/// A command as an argv list: a program and its arguments, run without a shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Argv(pub Vec<String>);

impl<'de> Deserialize<'de> for Argv {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let argv = Vec::<String>::deserialize(d)?;
        if argv.first().is_none_or(|p| p.trim().is_empty()) {
            return Err(serde::de::Error::custom(
                "a hook is an argv list with the program first, such as [\"/usr/local/bin/notify\", \"--channel\", \"ops\"]",
            ));
        }
        Ok(Argv(argv))
    }
}

/// A validated cron expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronExpr(pub String);

impl<'de> Deserialize<'de> for CronExpr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_cron(&text).map_err(serde::de::Error::custom)?;
        Ok(CronExpr(text))
    }
}

mod aws;
mod durations;
mod notify;
mod secrets;
mod window;
pub use aws::{AccountId, DistributionId, ListenerArn, RegionName, RoleArn};
pub use durations::{DurationAtMost, HumanDuration, DAY, HOUR, LONGEST, WEEK};
pub use notify::{HttpsUrl, NoticeEvent, SnsTopicArn};
pub use secrets::EnvName;
pub use window::{TimeZoneName, Timestamp, WindowStart};

/// `min_validity`: a positive duration (`30d`) or a percentage of the certificate's lifetime
/// (`33%`, 1–99).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinValidityValue(pub crate::model::MinValidity);

impl MinValidityValue {
    /// Parse `30d` or `33%`.
    pub fn parse(text: &str) -> Result<MinValidityValue, InvalidValue> {
        use crate::model::MinValidity;
        if let Some(number) = text.trim().strip_suffix('%') {
            return match number.trim().parse::<u8>() {
                Ok(p) if (1..=99).contains(&p) => Ok(MinValidityValue(MinValidity::Percent(p))),
                _ => Err(InvalidValue(format!(
                    "min_validity \"{text}\": a percentage of the certificate's lifetime is a whole number from 1% to 99%, such as 33%"
                ))),
            };
        }
        match humantime::parse_duration(text) {
            Ok(dur) if dur.is_zero() => Err(InvalidValue(format!(
                "min_validity \"{text}\" is zero; give a duration such as 30d, or a share of the lifetime such as 33%"
            ))),
            Ok(dur) if dur > LONGEST => Err(InvalidValue(format!(
                "min_validity \"{text}\" is longer than any certificate lives; give at most {}",
                crate::format::fmt_duration(LONGEST)
            ))),
            Ok(dur) => Ok(MinValidityValue(MinValidity::Duration(dur))),
            Err(e) => Err(InvalidValue(format!(
                "min_validity \"{text}\": {e}; expected a duration such as 30d, or a share of the certificate's lifetime such as 33%"
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for MinValidityValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        MinValidityValue::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A custom domain name, validated as Cognito validates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainName(pub String);

impl DomainName {
    /// Check a domain: lowercase letters, digits and hyphens; no hyphen first or last in a
    /// label; at least two labels separated by periods.
    pub fn parse(text: &str) -> Result<DomainName, InvalidValue> {
        const RULE: &str =
            "only lowercase letters, digits and hyphens are allowed, labels separated by periods";
        let fail = |why: &str| Err(InvalidValue(format!("domain \"{text}\": {why}")));
        if text.is_empty() {
            return fail("is empty");
        }
        if text.len() > 253 {
            return fail("is longer than 253 characters");
        }
        if !text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        {
            return fail(RULE);
        }
        let labels: Vec<&str> = text.split('.').collect();
        if labels.len() < 2 {
            return fail("a custom domain has at least two labels, such as auth.example.com");
        }
        for label in labels {
            if label.is_empty() {
                return fail("has an empty label (two periods in a row, or a period at an end)");
            }
            if label.len() > 63 {
                return fail("has a label longer than 63 characters");
            }
            if label.starts_with('-') || label.ends_with('-') {
                return fail("a label may not start or end with a hyphen");
            }
        }
        Ok(DomainName(text.to_string()))
    }
}

impl<'de> Deserialize<'de> for DomainName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        DomainName::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A user pool ID (`eu-central-1_AbC123`) and the region it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPoolId {
    /// The whole ID, as configured (`eu-west-1_AbC123`).
    pub id: String,
    /// The region before `_`, where the pool lives and Cognito is called.
    pub region: String,
}

impl UserPoolId {
    /// Split and check a user pool ID.
    pub fn parse(text: &str) -> Result<UserPoolId, InvalidValue> {
        let bad = || {
            format!("user pool ID \"{text}\": expected <region>_<id>, such as us-east-1_AbCdEf123")
        };
        let (region, id) = text.split_once('_').ok_or_else(bad)?;
        let parts: Vec<&str> = region.split('-').collect();
        let region_ok = parts.len() >= 3
            && parts[..parts.len() - 1]
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
            && parts[parts.len() - 1].parse::<u8>().is_ok_and(|n| n > 0);
        let id_ok = !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric());
        if region_ok && id_ok {
            Ok(UserPoolId {
                id: text.to_string(),
                region: region.to_string(),
            })
        } else {
            Err(InvalidValue(bad()))
        }
    }
}

impl<'de> Deserialize<'de> for UserPoolId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        UserPoolId::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// `host:port`, checked for shape only (name resolution happens when connecting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort(pub String);

impl<'de> Deserialize<'de> for HostPort {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let ok = text
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if ok {
            Ok(HostPort(text))
        } else {
            Err(serde::de::Error::custom(format!(
                "connect_to \"{text}\": expected host:port, such as 127.0.0.1:8443"
            )))
        }
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `verify.connect_to`: one `host:port` or a list of them (every edge address to probe).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectTo(pub Vec<String>);

/// The most addresses `verify.connect_to` may pin.
pub const MAX_CONNECT_TO: usize = 16;

impl<'de> Deserialize<'de> for ConnectTo {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ConnectTo;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("host:port, or a list of host:port")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ConnectTo, E> {
                let one = HostPort::deserialize(serde::de::value::StrDeserializer::<E>::new(v))?;
                Ok(ConnectTo(vec![one.0]))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<ConnectTo, A::Error> {
                let mut all = Vec::new();
                while let Some(one) = seq.next_element::<HostPort>()? {
                    all.push(one.0);
                }
                if all.is_empty() || all.len() > MAX_CONNECT_TO {
                    return Err(serde::de::Error::custom(format!(
                        "connect_to: give 1 to {MAX_CONNECT_TO} addresses, not {}",
                        all.len()
                    )));
                }
                Ok(ConnectTo(all))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// Parse a cron expression with seconds, as tokio-cron-scheduler does.
pub fn parse_cron(expr: &str) -> Result<croner::Cron, InvalidValue> {
    crate::window::cron(expr).map_err(|e| {
        InvalidValue(format!("schedule \"{expr}\": {e}; expected a cron expression with seconds, such as \"0 */15 * * * *\""))
    })
}

/// A DynamoDB table name: 3 to 255 of letters, digits, `_`, `-` and `.`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableName(pub String);

impl<'de> Deserialize<'de> for TableName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let ok = (3..=255).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if ok {
            Ok(TableName(text))
        } else {
            Err(serde::de::Error::custom(format!(
                "table \"{text}\": a DynamoDB table name is 3 to 255 letters, digits, '_', '-' or '.'"
            )))
        }
    }
}

/// An SQS queue URL (`https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`), with the region its
/// host names, if it names one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueUrl {
    /// The URL as written.
    pub url: String,
    /// `REGION` of `sqs.REGION.amazonaws.com` or `REGION.queue.amazonaws.com`.
    pub region: Option<String>,
}

impl QueueUrl {
    /// Check `text`; the error says what a queue URL looks like.
    pub fn parse(text: &str) -> Result<QueueUrl, InvalidValue> {
        let expected = "give the queue URL SQS shows, such as https://sqs.us-east-1.amazonaws.com/123456789012/cognito-cert-rotator-events";
        let rest = text
            .strip_prefix("https://")
            .or_else(|| text.strip_prefix("http://"))
            .ok_or_else(|| format!("sqs_queue_url \"{text}\" is not a URL: {expected}"))?;
        let mut parts = rest.split('/');
        let host = parts.next().unwrap_or_default();
        let (account, name) = (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        );
        let name_ok = (1..=80).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if host.is_empty() || account.is_empty() || !name_ok || parts.next().is_some() {
            return Err(InvalidValue(format!(
                "sqs_queue_url \"{text}\" is not host/ACCOUNT/QUEUE_NAME: {expected}"
            )));
        }
        let host = host.split(':').next().unwrap_or(host);
        let region = host
            .strip_prefix("sqs.")
            .and_then(|h| h.split_once('.'))
            .or_else(|| host.split_once(".queue."))
            .map(|(r, _)| r)
            .filter(|r| {
                r.contains('-') && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
            .map(str::to_string);
        Ok(QueueUrl {
            url: text.to_string(),
            region,
        })
    }
}

impl<'de> Deserialize<'de> for QueueUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        QueueUrl::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

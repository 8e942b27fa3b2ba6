//! The values of `notify:`: an SNS topic ARN, an HTTPS URL, an event name.

use serde::{Deserialize, Deserializer};

use super::InvalidValue;
use crate::model::NoticeKind;

/// `arn:aws:sns:REGION:ACCOUNT:NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnsTopicArn(pub String);

impl<'de> Deserialize<'de> for SnsTopicArn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let parts: Vec<&str> = text.split(':').collect();
        let ok = parts.len() == 6
            && parts[..3] == ["arn", "aws", "sns"]
            && !parts[3].is_empty()
            && parts[4].len() == 12
            && parts[4].bytes().all(|b| b.is_ascii_digit())
            && !parts[5].is_empty();
        if ok {
            Ok(SnsTopicArn(text))
        } else {
            Err(serde::de::Error::custom(format!(
                "sns_topic_arn \"{text}\": expected arn:aws:sns:REGION:ACCOUNT:NAME, such as arn:aws:sns:us-east-1:123456789012:cert-events"
            )))
        }
    }
}

/// An `https://` URL with a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpsUrl(pub String);

impl HttpsUrl {
    /// Check `text`; the error shows the URL to its host only (the rest may be a secret).
    pub fn parse(text: &str) -> Result<HttpsUrl, InvalidValue> {
        let host = text
            .strip_prefix("https://")
            .map(|rest| rest.split(['/', '?']).next().unwrap_or_default());
        match host {
            Some(h) if !h.is_empty() && !text.contains(char::is_whitespace) => {
                Ok(HttpsUrl(text.to_string()))
            }
            _ => Err(InvalidValue(format!(
                "url {}: expected an https:// URL, such as https://hooks.slack.com/services/T000/B000/XXXX",
                crate::format::url_host(text)
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for HttpsUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        HttpsUrl::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A name in `notify.events`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoticeEvent(pub NoticeKind);

impl<'de> Deserialize<'de> for NoticeEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        NoticeKind::parse(&text).map(NoticeEvent).ok_or_else(|| {
            let names: Vec<&str> = NoticeKind::ALL.iter().map(|k| k.name()).collect();
            serde::de::Error::custom(format!(
                "event \"{text}\" is not one of {}",
                names.join(", ")
            ))
        })
    }
}

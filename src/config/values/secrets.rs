//! Values that keep secrets out of the configuration file: the name of an environment
//! variable (`url_from_env`, `hooks.pass_env`). The value is read by `config::read_secret`.

use serde::{Deserialize, Deserializer};

/// An environment variable's name: letters, digits and `_`, not starting with a digit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvName(pub String);

impl<'de> Deserialize<'de> for EnvName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let ok = text
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && text.len() <= 128
            && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if ok {
            Ok(EnvName(text))
        } else {
            Err(serde::de::Error::custom(format!(
                "\"{text}\" is not an environment variable name (letters, digits and _, such as SLACK_WEBHOOK_URL)"
            )))
        }
    }
}

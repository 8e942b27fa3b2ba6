//! `notify:`: the channels, the events, and the webhook URL kept out of the file (an
//! environment variable or a systemd credential).

use std::path::Path;

use super::model::{ConfigError, NotifySettings, WebhookSettings};
use super::position::Invalid;
use super::raw;
use super::values::{self, EnvName};

/// `notify:`, its events defaulting to all.
pub(super) fn notify(
    n: raw::RawNotify,
    invalid: &Invalid<'_>,
) -> Result<NotifySettings, ConfigError> {
    let webhook = match n.webhook {
        None => None,
        Some(w) => Some(WebhookSettings {
            url: webhook_url(w.url, w.url_from_env, invalid)?,
            format: w.format.unwrap_or_default(),
            headers_from_env: w.headers_from_env.unwrap_or_default(),
        }),
    };
    Ok(NotifySettings {
        sns_topic_arn: n.sns_topic_arn.map(|t| t.0),
        webhook,
        events: n.events.map_or_else(
            || crate::model::NoticeKind::ALL.into_iter().collect(),
            |list| list.into_iter().map(|e| e.0).collect(),
        ),
    })
}

/// `notify.webhook`: `url:` in the file, or `url_from_env: NAME` (the environment, else the
/// systemd credential NAME), exactly one; the secret is checked like `url:` and never shown
/// past its host.
fn webhook_url(
    url: Option<values::HttpsUrl>,
    from_env: Option<EnvName>,
    invalid: &Invalid<'_>,
) -> Result<String, ConfigError> {
    match (url, from_env) {
        (Some(url), None) => Ok(url.0),
        (None, Some(EnvName(name))) => {
            let text = read_secret(&name).ok_or_else(|| {
                invalid(
                    "url_from_env",
                    None,
                    format!("notify.webhook.url_from_env: {name} is not set (neither in the environment nor as a systemd credential in $CREDENTIALS_DIRECTORY)"),
                )
            })?;
            values::HttpsUrl::parse(&text)
                .map(|u| u.0)
                .map_err(|why| invalid("url_from_env", None, format!("notify.webhook.url_from_env: {name}: {why}")))
        }
        (Some(_), Some(_)) => Err(invalid(
            "url_from_env",
            None,
            "notify.webhook: url and url_from_env are both set; keep url_from_env (the secret out of this file)".to_string(),
        )),
        (None, None) => Err(invalid(
            "webhook",
            None,
            "notify.webhook needs url_from_env: NAME (an environment variable or systemd credential holding the URL) or url:".to_string(),
        )),
    }
}

/// The secret named `name` (`url_from_env`): the environment variable (systemd's
/// `EnvironmentFile=`, ECS `secrets`), else the systemd credential of that name
/// (`LoadCredential=NAME:...`, read from `$CREDENTIALS_DIRECTORY/NAME`); `None` when neither
/// is there (or it is empty).
pub fn read_secret(name: &str) -> Option<String> {
    let from_env = std::env::var(name).ok();
    let from_credential = || {
        let dir = std::env::var_os("CREDENTIALS_DIRECTORY")?;
        std::fs::read_to_string(Path::new(&dir).join(name)).ok()
    };
    from_env
        .or_else(from_credential)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

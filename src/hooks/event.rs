//! What a hook is told and how it ended: plain data.

/// Bytes of each output stream kept for the log (the last ones).
pub const KEEP_OUTPUT: usize = 64 * 1024;
/// The daemon's variables every hook sees (when set).
pub(super) const BASE_ENV: [&str; 4] = ["PATH", "HOME", "LANG", "TZ"];

/// Which hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A swap was made (`on_rotate`).
    Swap,
    /// A swap was verified.
    Verified,
    /// A target failed.
    Failure,
}

impl Event {
    /// The config key and `CCR_EVENT` value.
    pub fn name(self) -> &'static str {
        match self {
            Event::Swap => "on_rotate",
            Event::Verified => "on_verified",
            Event::Failure => "on_failure",
        }
    }
}

/// What a hook is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookEvent {
    /// Which event.
    pub event: Event,
    /// `CCR_DOMAIN`.
    pub domain: String,
    /// `CCR_CONSUMER`: the user pool ID, distribution ID, API Gateway domain or listener ARN.
    pub consumer: String,
    /// `CCR_CONSUMER_KIND` (`cognito`, `cloudfront`, `api_gateway`, `listener`); a Cognito
    /// target's ID is also `CCR_USER_POOL_ID`.
    pub consumer_kind: crate::model::ConsumerKind,
    /// `CCR_OLD_ARN` (empty when unknown).
    pub old_arn: Option<String>,
    /// `CCR_NEW_ARN` (empty when none).
    pub new_arn: Option<String>,
    /// `CCR_REASON`.
    pub reason: String,
    /// `CCR_EVENT_ID`: the same for every run announcing the same outcome (a successor that
    /// announces what a stopped leader may already have announced sends the same ID), so a
    /// hook can drop a repeat. `None` (empty) for a target's failure, which has no record.
    pub id: Option<String>,
    /// An in-place renewal's verification rather than a swap's: `CCR_EVENT` is then
    /// `renewal_verified` / `renewal_failure` and `CCR_KIND` is `renewal` (else `swap`).
    pub renewal: bool,
}

impl HookEvent {
    /// `CCR_EVENT`: the hook's name, or for a renewal what happened to it.
    pub fn ccr_event(&self) -> &'static str {
        match (self.renewal, self.event) {
            (true, Event::Verified) => "renewal_verified",
            (true, Event::Failure) => "renewal_failure",
            (_, e) => e.name(),
        }
    }
}

/// How one run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookResult {
    /// Exit 0.
    Success,
    /// Non-zero exit or could not start.
    Failed(String),
    /// Killed at the timeout.
    Timeout,
}

impl HookResult {
    /// The metric label.
    pub(super) fn label(&self) -> &'static str {
        match self {
            HookResult::Success => "success",
            HookResult::Failed(_) => "failed",
            HookResult::Timeout => "timeout",
        }
    }
}

//! The kinds of notification (`notify:`).

/// What a notification (`notify:`) is about.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// A swap was made.
    Rotated,
    /// A swap or renewal was verified at the edge.
    Verified,
    /// A target failed (an AWS error, no eligible certificate, a failed verification).
    Failed,
    /// A failed swap was rolled back.
    RolledBack,
    /// ACM's managed renewal of the current certificate needs a person.
    RenewalActionRequired,
    /// The domain was moved off the rotator's certificate outside it.
    ExternalChange,
    /// The certificate the domain serves runs out soon and nothing better exists.
    Expiring,
    /// A certificate the rotator moved the domain off, unused since, was retired (`retire:`).
    Retired,
}

impl NoticeKind {
    /// Every kind, in the order `notify.events` lists them.
    pub const ALL: [NoticeKind; 8] = [
        NoticeKind::Rotated,
        NoticeKind::Verified,
        NoticeKind::Failed,
        NoticeKind::RolledBack,
        NoticeKind::RenewalActionRequired,
        NoticeKind::ExternalChange,
        NoticeKind::Expiring,
        NoticeKind::Retired,
    ];

    /// The name in `notify.events`, the message and the metric's `event` label.
    pub fn name(self) -> &'static str {
        match self {
            NoticeKind::Rotated => "rotated",
            NoticeKind::Verified => "verified",
            NoticeKind::Failed => "failed",
            NoticeKind::RolledBack => "rolled_back",
            NoticeKind::RenewalActionRequired => "renewal_action_required",
            NoticeKind::ExternalChange => "external_change",
            NoticeKind::Expiring => "expiring",
            NoticeKind::Retired => "retired",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Option<NoticeKind> {
        NoticeKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

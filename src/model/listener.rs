//! A load balancer listener's certificates, and which one it serves a name with.

use super::certificate::Certificate;

/// `DescribeListenerCertificates`: the default certificate and the SNI list, kept apart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListenerCertificates {
    /// The default certificate (`IsDefault`), served when no SNI certificate covers the name.
    pub default: Option<String>,
    /// The SNI list.
    pub sni: Vec<String>,
}

impl ListenerCertificates {
    /// Whether `arn` is on the listener, as the default or in the SNI list.
    pub fn has(&self, arn: &str) -> bool {
        self.default.as_deref() == Some(arn) || self.in_sni(arn)
    }

    /// Whether `arn` is in the SNI list.
    pub fn in_sni(&self, arn: &str) -> bool {
        self.sni.iter().any(|s| s == arn)
    }

    /// The certificate the listener serves a client that sends `domain`, as ELB chooses: among
    /// the SNI list's certificates that cover it, the best (ECDSA before RSA, then the longest
    /// validity); with none, the default. `known` are the certificates whose names and keys are
    /// known (a certificate not among them covers nothing).
    pub fn serves(&self, domain: &str, known: &[Certificate]) -> Option<String> {
        let covering = self.sni.iter().filter_map(|arn| {
            known
                .iter()
                .find(|c| &c.arn == arn)
                .filter(|c| c.names().any(|n| name_covers(n, domain)))
        });
        covering
            .max_by_key(|c| (c.key_algorithm.starts_with("EC"), c.not_after))
            .map(|c| c.arn.clone())
            .or_else(|| self.default.clone())
    }
}

/// Whether certificate name `name` (exact, or a single-label `*.` wildcard) covers `domain`.
fn name_covers(name: &str, domain: &str) -> bool {
    let (name, domain) = (name.to_ascii_lowercase(), domain.to_ascii_lowercase());
    match name.strip_prefix("*.") {
        Some(parent) => domain
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest == parent),
        None => name == domain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn cert(arn: &str, name: &str, key: &'static str, days: i64) -> Certificate {
        Certificate {
            arn: arn.into(),
            domain_name: name.into(),
            sans: vec![],
            sans_complete: true,
            status: "ISSUED".into(),
            cert_type: "IMPORTED".into(),
            key_algorithm: key.into(),
            not_before: None,
            not_after: Some(
                Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::days(days),
            ),
            issued_at: None,
            tags: None,
        }
    }

    fn listener(default: &str, sni: &[&str]) -> ListenerCertificates {
        ListenerCertificates {
            default: Some(default.into()),
            sni: sni.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn a_covering_sni_certificate_is_served_before_the_default() {
        let known = [
            cert("old", "app.example.com", "RSA_2048", 10),
            cert("new", "app.example.com", "RSA_2048", 90),
        ];
        // The old certificate left in the SNI list beside a new default is still served.
        assert_eq!(
            listener("new", &["old"])
                .serves("app.example.com", &known)
                .as_deref(),
            Some("old")
        );
        // With no covering SNI certificate, the default.
        assert_eq!(
            listener("new", &[])
                .serves("app.example.com", &known)
                .as_deref(),
            Some("new")
        );
        assert_eq!(
            listener("x", &["old"])
                .serves("other.example.com", &known)
                .as_deref(),
            Some("x")
        );
    }

    #[test]
    fn among_covering_sni_certificates_ecdsa_then_the_longest_validity_wins() {
        let known = [
            cert("rsa-long", "*.example.com", "RSA_2048", 300),
            cert("ec-short", "app.example.com", "EC_prime256v1", 30),
            cert("rsa-short", "app.example.com", "RSA_2048", 20),
        ];
        assert_eq!(
            listener("d", &["rsa-long", "ec-short", "rsa-short"])
                .serves("app.example.com", &known)
                .as_deref(),
            Some("ec-short")
        );
        assert_eq!(
            listener("d", &["rsa-long", "rsa-short"])
                .serves("app.example.com", &known)
                .as_deref(),
            Some("rsa-long")
        );
        // A certificate whose names are unknown covers nothing.
        assert_eq!(
            listener("d", &["unknown"])
                .serves("app.example.com", &known)
                .as_deref(),
            Some("d")
        );
    }

    #[test]
    fn has_looks_at_the_default_and_the_sni_list() {
        let l = listener("d", &["s"]);
        assert!(l.has("d") && l.has("s") && !l.has("x"));
    }
}

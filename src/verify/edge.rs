//! PURE: every edge address against the certificate it should serve. CloudFront answers a
//! domain from several addresses (IPv4 and IPv6), and a swap or renewal reaches them at
//! different times, so one handshake is one sample. The handshakes are made by
//! [`super::probe`].

use super::handshake::{EdgeSample, ProbeError, Trust};
use crate::serial::Serial;

/// Where a domain's edge addresses stand against the serial they should serve.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Split {
    /// Addresses that serve the wanted serial.
    pub serving: Vec<String>,
    /// Addresses that answered but do not serve it, each with what they showed instead.
    pub behind: Vec<(String, String)>,
    /// Addresses that could not be reached at all (no route, refused, no answer): reported,
    /// never blocking.
    pub unreachable: Vec<(String, ProbeError)>,
    /// The weakest chain trust among the serving addresses.
    pub trust: Option<Trust>,
}

impl Split {
    /// Sort one handshake per address against `want`.
    pub fn of(sample: &EdgeSample, want: &Serial) -> Split {
        let mut split = Split::default();
        for (address, result) in sample {
            match result {
                Ok(hs) if hs.serial == *want => {
                    split.serving.push(address.clone());
                    split.trust = Some(match (split.trust.take(), &hs.trust) {
                        (Some(Trust::Untrusted(why)), _) => Trust::Untrusted(why),
                        (_, other) => other.clone(),
                    });
                }
                Ok(hs) => split.behind.push((
                    address.clone(),
                    format!("serves serial {}, want {want}", hs.serial),
                )),
                Err(e) if e.unreachable() => split.unreachable.push((address.clone(), e.clone())),
                Err(e) => split.behind.push((address.clone(), e.to_string())),
            }
        }
        split
    }

    /// (serving, behind, unreachable), for the `edge_addresses` gauge.
    pub fn counts(&self) -> (usize, usize, usize) {
        (
            self.serving.len(),
            self.behind.len(),
            self.unreachable.len(),
        )
    }

    /// Addresses that answered.
    pub fn answering(&self) -> usize {
        self.serving.len() + self.behind.len()
    }

    /// Verified: at least one address answers, and every one that answers serves the serial.
    pub fn verified(&self) -> bool {
        !self.serving.is_empty() && self.behind.is_empty()
    }

    /// `3/4 edge addresses serve the new certificate`, with the first one behind and the
    /// unreachable ones, for logs and reports.
    pub fn summary(&self) -> String {
        self.summary_of("the new certificate")
    }

    /// [`Split::summary`] for `what` the addresses should serve.
    pub fn summary_of(&self, what: &str) -> String {
        let mut text = format!(
            "{}/{} edge addresses serve {what}",
            self.serving.len(),
            self.answering()
        );
        if let Some((address, what)) = self.behind.first() {
            text.push_str(&format!(" ({address} {what})"));
        }
        if !self.unreachable.is_empty() {
            let list: Vec<&str> = self.unreachable.iter().map(|(a, _)| a.as_str()).collect();
            text.push_str(&format!(
                "; {} unreachable, not counted: {}",
                list.len(),
                list.join(", ")
            ));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::handshake::Handshake;

    fn serves(serial: &str, trust: Trust) -> Result<Handshake, ProbeError> {
        Ok(Handshake {
            serial: Serial::parse(serial).unwrap(),
            trust,
            not_after: None,
        })
    }

    fn unreachable(address: &str) -> Result<Handshake, ProbeError> {
        Err(ProbeError::Connect {
            target: address.to_string(),
            why: "Network is unreachable (os error 101)".to_string(),
        })
    }

    #[test]
    fn verified_only_when_every_answering_address_serves_the_new_certificate() {
        let want = Serial::parse("0a:02").unwrap();
        let sample = vec![
            ("192.0.2.1:443".to_string(), serves("0a:02", Trust::Trusted)),
            ("192.0.2.2:443".to_string(), serves("0a:01", Trust::Trusted)),
        ];
        let split = Split::of(&sample, &want);
        assert!(!split.verified());
        assert_eq!(
            split.summary(),
            "1/2 edge addresses serve the new certificate (192.0.2.2:443 serves serial 0a:01, want 0a:02)"
        );
        let sample = vec![
            ("192.0.2.1:443".to_string(), serves("0a:02", Trust::Trusted)),
            ("192.0.2.2:443".to_string(), serves("0a:02", Trust::Trusted)),
        ];
        let split = Split::of(&sample, &want);
        assert!(split.verified());
        assert_eq!(split.trust, Some(Trust::Trusted));
    }

    #[test]
    fn an_unreachable_address_is_reported_and_does_not_block() {
        let want = Serial::parse("0a:02").unwrap();
        let sample = vec![
            ("192.0.2.1:443".to_string(), serves("0a:02", Trust::Trusted)),
            (
                "[2001:db8::1]:443".to_string(),
                unreachable("[2001:db8::1]:443"),
            ),
        ];
        let split = Split::of(&sample, &want);
        assert!(split.verified());
        assert_eq!(
            split.summary(),
            "1/1 edge addresses serve the new certificate; 1 unreachable, not counted: [2001:db8::1]:443"
        );
        // Nothing answering is not verified.
        let none = Split::of(
            &vec![("[2001:db8::1]:443".to_string(), unreachable("x"))],
            &want,
        );
        assert!(!none.verified());
    }

    #[test]
    fn a_failed_handshake_blocks_and_one_untrusted_chain_makes_the_split_untrusted() {
        let want = Serial::parse("0a:02").unwrap();
        let failed = Err(ProbeError::Handshake {
            target: "192.0.2.2:443".to_string(),
            why: "received fatal alert: UnrecognisedName".to_string(),
        });
        let split = Split::of(
            &vec![
                ("192.0.2.1:443".to_string(), serves("0a:02", Trust::Trusted)),
                ("192.0.2.2:443".to_string(), failed),
            ],
            &want,
        );
        assert!(!split.verified());
        let split = Split::of(
            &vec![
                (
                    "192.0.2.1:443".to_string(),
                    serves("0a:02", Trust::Untrusted("unknown issuer".into())),
                ),
                ("192.0.2.2:443".to_string(), serves("0a:02", Trust::Trusted)),
            ],
            &want,
        );
        assert!(split.verified());
        assert_eq!(split.trust, Some(Trust::Untrusted("unknown issuer".into())));
    }
}

//! Certificate serial numbers, compared as numbers.
//!
//! Real ACM writes `0a:1b:2c` (colon-separated hex), other sources write decimal, and a
//! certificate carries the DER INTEGER. All three become the same [`Serial`].

use std::fmt;

/// A serial number as an unsigned magnitude, big-endian, without leading zero bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Serial(Vec<u8>);

/// A serial that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read serial number {0:?}: expected colon-separated hex (0a:1b:...) or decimal")]
pub struct BadSerial(pub String);

impl Serial {
    /// From big-endian bytes (leading zeros ignored).
    pub fn from_be_bytes(bytes: &[u8]) -> Serial {
        let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
        Serial(bytes[first..].to_vec())
    }

    /// Parse ACM's text: colon-separated hex when it has a colon or a hex letter, else decimal.
    /// (A serial of one byte without letters, `10`, is ambiguous; CAs use 64+ bits, so real
    /// serials always carry colons.)
    pub fn parse(text: &str) -> Result<Serial, BadSerial> {
        let t = text.trim();
        let bad = || BadSerial(text.to_string());
        if t.is_empty() {
            return Err(bad());
        }
        if t.contains(':') || t.bytes().any(|b| b.is_ascii_alphabetic()) {
            let digits: String = t.chars().filter(|c| *c != ':').collect();
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad());
            }
            let padded = if digits.len() % 2 == 1 {
                format!("0{digits}")
            } else {
                digits
            };
            let bytes = (0..padded.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&padded[i..i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| bad())?;
            return Ok(Serial::from_be_bytes(&bytes));
        }
        if !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        // Decimal to base 256: multiply-and-add over the digits.
        let mut bytes: Vec<u8> = Vec::new();
        for digit in t.bytes().map(|b| u32::from(b - b'0')) {
            let mut carry = digit;
            for byte in bytes.iter_mut().rev() {
                let v = u32::from(*byte) * 10 + carry;
                *byte = (v & 0xff) as u8;
                carry = v >> 8;
            }
            while carry > 0 {
                bytes.insert(0, (carry & 0xff) as u8);
                carry >>= 8;
            }
        }
        Ok(Serial::from_be_bytes(&bytes))
    }

    /// The serial of an X.509 certificate in DER.
    pub fn from_certificate_der(der: &[u8]) -> Option<Serial> {
        // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL,
        //                            serialNumber INTEGER, ... }, ... }
        let (tag, cert, _) = der_element(der)?;
        if tag != 0x30 {
            return None;
        }
        let (tag, tbs, _) = der_element(cert)?;
        if tag != 0x30 {
            return None;
        }
        let (mut tag, mut value, rest) = der_element(tbs)?;
        if tag == 0xa0 {
            (tag, value, _) = der_element(rest)?;
        }
        (tag == 0x02).then(|| Serial::from_be_bytes(value))
    }
}

/// One DER TLV: (tag, value, rest).
pub(crate) fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

impl fmt::Display for Serial {
    /// Colon-separated hex, as ACM shows it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("00");
        }
        let parts: Vec<String> = self.0.iter().map(|b| format!("{b:02x}")).collect();
        f.write_str(&parts.join(":"))
    }
}

/// Why a certificate has no serial to compare the edge's with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoSerial {
    /// DescribeCertificate returned none.
    #[error("ACM gave no serial for {certificate}")]
    Missing {
        /// The certificate ID (the ARN's tail).
        certificate: String,
    },
    /// It does not parse; shown with the cause (a pass's reports print one message).
    #[error("{error} (certificate {certificate})")]
    Unreadable {
        /// The certificate ID.
        certificate: String,
        /// The serial as ACM wrote it.
        error: BadSerial,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_decimal_forms_are_the_same_number() {
        let hex =
            Serial::parse("69:84:c6:09:97:4b:b8:cb:88:20:ab:af:6d:a5:a9:88:60:d1:78:b2").unwrap();
        let dec = Serial::parse("602404980798971580833170953589563989076401551538").unwrap();
        assert_eq!(hex, dec);
    }

    #[test]
    fn leading_zeros_do_not_matter() {
        assert_eq!(
            Serial::parse("00:0a:1b").unwrap(),
            Serial::parse("0a:1b").unwrap()
        );
        assert_eq!(
            Serial::parse("0a:1b").unwrap(),
            Serial::parse("2587").unwrap()
        );
        assert_eq!(
            Serial::parse("A:1B").unwrap(),
            Serial::parse("2587").unwrap()
        );
        assert_eq!(
            Serial::from_be_bytes(&[0, 0, 1]),
            Serial::parse("1").unwrap()
        );
    }

    #[test]
    fn different_numbers_differ() {
        assert_ne!(
            Serial::parse("0a:1b").unwrap(),
            Serial::parse("0a:1c").unwrap()
        );
        assert_ne!(
            Serial::parse("10").unwrap(),
            Serial::parse("0a:0a").unwrap()
        );
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "xyz", "0a:zz", "12.5", ":"] {
            assert!(Serial::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn displays_as_acm_does() {
        assert_eq!(Serial::parse("2587").unwrap().to_string(), "0a:1b");
    }

    #[test]
    fn reads_the_serial_of_a_real_certificate() {
        let mut params = rcgen::CertificateParams::new(vec!["auth.example.com".into()]).unwrap();
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&[0x00, 0x8f, 0x12, 0x34]));
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let serial = Serial::from_certificate_der(cert.der()).unwrap();
        assert_eq!(serial, Serial::parse("8f:12:34").unwrap());
    }

    #[test]
    fn truncated_der_is_not_a_certificate() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["a.example.com".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let der = cert.der();
        assert!(Serial::from_certificate_der(&der[..10]).is_none());
        assert!(Serial::from_certificate_der(&[]).is_none());
        assert!(Serial::from_certificate_der(&[0x02, 0x01, 0x05]).is_none());
    }
}

//! The edge check: a real TLS handshake to the domain (rustls, SNI = the domain) that reports
//! the leaf certificate's serial and whether its chain is trusted.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

pub use super::handshake::{EdgeSample, Handshake, ProbeError, Trust, MAX_EDGE_ADDRESSES};
use crate::config::VerifySettings;
use crate::serial::Serial;

/// Setting up the TLS probe failed: `verify.ca_file` cannot be used. The cause is its
/// `source()`.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The file cannot be read.
    #[error("verify.ca_file {path}: cannot read it")]
    CaFileUnreadable {
        /// The `verify.ca_file` path, as configured.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not PEM.
    #[error("verify.ca_file {path}: not PEM certificates")]
    CaFileNotPem {
        /// The `verify.ca_file` path, as configured.
        path: String,
        /// Why.
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    /// A certificate in it cannot be a trust anchor.
    #[error("verify.ca_file {path}: not a usable CA certificate")]
    CaFileUnusable {
        /// The `verify.ca_file` path, as configured.
        path: String,
        /// Why.
        #[source]
        source: rustls::Error,
    },
    /// The file holds no certificate.
    #[error("verify.ca_file {path}: holds no PEM certificate")]
    CaFileEmpty {
        /// The `verify.ca_file` path, as configured.
        path: String,
    },
}

/// Connects to the domain (or `connect_to`) and reports the leaf certificate it serves.
#[derive(Debug, Clone)]
pub struct TlsProbe {
    roots: Arc<RootCertStore>,
    provider: Arc<CryptoProvider>,
    connect_to: Vec<String>,
    timeout: Duration,
}

impl TlsProbe {
    /// Build from settings: the system roots plus `ca_file`.
    pub fn new(settings: &VerifySettings) -> Result<TlsProbe, SetupError> {
        let mut roots = RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        for cert in native.certs {
            // A malformed system root is skipped, as browsers do; the others still count.
            let _ = roots.add(cert);
        }
        if let Some(path) = &settings.ca_file {
            add_ca_file(&mut roots, path)?;
        }
        Ok(TlsProbe {
            roots: Arc::new(roots),
            provider: Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
            connect_to: settings.connect_to.clone(),
            timeout: Duration::from_secs(10),
        })
    }

    /// Where handshakes for `domain` go, for logs.
    pub fn target(&self, domain: &str) -> String {
        if self.connect_to.is_empty() {
            format!("every address of {domain}:443")
        } else {
            self.connect_to.join(", ")
        }
    }

    /// The edge addresses of `domain`: `connect_to`, or every A and AAAA address of
    /// `domain:443` (at most [`MAX_EDGE_ADDRESSES`]).
    pub async fn addresses(&self, domain: &str) -> Result<Vec<String>, ProbeError> {
        if !self.connect_to.is_empty() {
            return Ok(self.connect_to.clone());
        }
        let resolve = |why: String| ProbeError::Resolve {
            domain: domain.to_string(),
            why,
        };
        let found = tokio::time::timeout(self.timeout, tokio::net::lookup_host((domain, 443)))
            .await
            .map_err(|_| resolve(format!("no answer within {}s", self.timeout.as_secs())))?
            .map_err(|e| resolve(e.to_string()))?;
        let mut addresses: Vec<String> = Vec::new();
        for addr in found {
            let addr = addr.to_string();
            if !addresses.contains(&addr) && addresses.len() < MAX_EDGE_ADDRESSES {
                addresses.push(addr);
            }
        }
        if addresses.is_empty() {
            return Err(resolve("no address".to_string()));
        }
        Ok(addresses)
    }

    /// One handshake with each edge address of `domain`, side by side.
    pub async fn probe_all(&self, domain: &str) -> Result<EdgeSample, ProbeError> {
        let addresses = self.addresses(domain).await?;
        let looks = addresses.iter().map(|a| self.probe_at(domain, a));
        let results = futures_util::future::join_all(looks).await;
        Ok(addresses.into_iter().zip(results).collect())
    }

    /// One handshake with SNI = `domain` at `target` (`host:port`).
    pub async fn probe_at(&self, domain: &str, target: &str) -> Result<Handshake, ProbeError> {
        let target = target.to_string();
        let recorder = Arc::new(RecordingVerifier::new(&self.roots, &self.provider));
        let config = ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| ProbeError::Handshake {
                target: target.clone(),
                why: e.to_string(),
            })?
            .dangerous()
            .with_custom_certificate_verifier(recorder.clone())
            .with_no_client_auth();
        let name = ServerName::try_from(domain.to_string()).map_err(|e| ProbeError::Handshake {
            target: target.clone(),
            why: format!("invalid server name: {e}"),
        })?;
        let tcp = tokio::time::timeout(self.timeout, TcpStream::connect(&target))
            .await
            .map_err(|_| ProbeError::Connect {
                target: target.clone(),
                why: format!("no answer within {}s", self.timeout.as_secs()),
            })?
            .map_err(|e| ProbeError::Connect {
                target: target.clone(),
                why: e.to_string(),
            })?;
        let tls = tokio::time::timeout(
            self.timeout,
            TlsConnector::from(Arc::new(config)).connect(name, tcp),
        )
        .await
        .map_err(|_| ProbeError::Handshake {
            target: target.clone(),
            why: format!("no answer within {}s", self.timeout.as_secs()),
        })?
        .map_err(|e| ProbeError::Handshake {
            target: target.clone(),
            why: e.to_string(),
        })?;
        let leaf = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first());
        let serial = leaf
            .and_then(|leaf| Serial::from_certificate_der(leaf))
            .ok_or_else(|| ProbeError::NoCertificate {
                target: target.clone(),
            })?;
        let not_after = leaf.and_then(|leaf| not_after_of(leaf));
        let trust = recorder
            .outcome()
            .unwrap_or_else(|| Trust::Untrusted("the chain was never checked".to_string()));
        Ok(Handshake {
            serial,
            trust,
            not_after,
        })
    }
}

/// The NotAfter of a DER certificate: `tbsCertificate` is `[0] version, serialNumber,
/// signature, issuer, validity { notBefore, notAfter }, ...`; a time is UTCTime (YYMMDD…Z,
/// years 1950–2049) or GeneralizedTime (YYYYMMDD…Z).
pub fn not_after_of(der: &[u8]) -> Option<chrono::DateTime<chrono::Utc>> {
    use crate::serial::der_element;
    let (_, cert, _) = der_element(der)?;
    let (_, tbs, _) = der_element(cert)?;
    let (tag, _, mut rest) = der_element(tbs)?;
    // serialNumber (after an explicit version), signature, issuer: skip to validity.
    let skip = if tag == 0xa0 { 3 } else { 2 };
    for _ in 0..skip {
        rest = der_element(rest)?.2;
    }
    let (_, validity, _) = der_element(rest)?;
    let (_, _, after_not_before) = der_element(validity)?;
    let (tag, time, _) = der_element(after_not_before)?;
    let text = std::str::from_utf8(time).ok()?;
    let full = match tag {
        0x17 => {
            let yy: u32 = text.get(..2)?.parse().ok()?;
            format!("{}{text}", if yy < 50 { "20" } else { "19" })
        }
        0x18 => text.to_string(),
        _ => return None,
    };
    chrono::NaiveDateTime::parse_from_str(full.trim_end_matches('Z'), "%Y%m%d%H%M%S")
        .ok()
        .map(|t| t.and_utc())
}

fn add_ca_file(roots: &mut RootCertStore, path: &Path) -> Result<(), SetupError> {
    let shown = || path.display().to_string();
    let pem = std::fs::read(path).map_err(|source| SetupError::CaFileUnreadable {
        path: shown(),
        source,
    })?;
    let mut added = 0;
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|source| SetupError::CaFileNotPem {
            path: shown(),
            source,
        })?;
        roots
            .add(cert)
            .map_err(|source| SetupError::CaFileUnusable {
                path: shown(),
                source,
            })?;
        added += 1;
    }
    if added == 0 {
        return Err(SetupError::CaFileEmpty { path: shown() });
    }
    Ok(())
}

/// Checks the chain with webpki like any client would, records the result, and lets the
/// handshake finish either way: the serial must be read even from an untrusted edge, and the
/// trust result is reported alongside. Handshake signatures are still checked for real.
#[derive(Debug)]
struct RecordingVerifier {
    inner: Result<Arc<WebPkiServerVerifier>, rustls::client::VerifierBuilderError>,
    provider: Arc<CryptoProvider>,
    outcome: Mutex<Option<Trust>>,
}

impl RecordingVerifier {
    fn new(roots: &Arc<RootCertStore>, provider: &Arc<CryptoProvider>) -> RecordingVerifier {
        let inner =
            WebPkiServerVerifier::builder_with_provider(roots.clone(), provider.clone()).build();
        RecordingVerifier {
            inner,
            provider: provider.clone(),
            outcome: Mutex::new(None),
        }
    }

    fn outcome(&self) -> Option<Trust> {
        self.outcome.lock().map(|g| g.clone()).unwrap_or(None)
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let result = match &self.inner {
            Ok(v) => v
                .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
                .map_or_else(|e| Trust::Untrusted(e.to_string()), |_| Trust::Trusted),
            Err(e) => Trust::Untrusted(format!(
                "no trust anchors (system roots or verify.ca_file): {e}"
            )),
        };
        if let Ok(mut slot) = self.outcome.lock() {
            *slot = Some(result);
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_ca_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "nothing here\n").unwrap();
        let settings = VerifySettings {
            window: Duration::from_secs(60),
            window_configured: true,
            interval: Duration::from_secs(10),
            tls: true,
            connect_to: Vec::new(),
            ca_file: Some(path),
            on_failure: Default::default(),
        };
        let err = TlsProbe::new(&settings).unwrap_err().to_string();
        assert!(err.contains("holds no PEM certificate"), "{err}");
    }
}

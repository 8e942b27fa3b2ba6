//! Certificates made on the spot with rcgen (a test CA, leaves) and imported into ACM.

use super::*;

/// A test CA.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    /// PEM of the CA certificate.
    pub pem: String,
}

impl Ca {
    /// A new CA.
    pub fn new() -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "ccr test CA");
        let cert = params.self_signed(&key).unwrap();
        Ca {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A server certificate for `names` signed by this CA: (certificate PEM, key PEM).
    pub fn server(&self, names: &[&str]) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let params = CertificateParams::new(names).unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// Write the CA certificate to `dir/ca.pem`.
    pub fn write(&self, dir: &Path) -> PathBuf {
        let path = dir.join("ca.pem");
        std::fs::write(&path, &self.pem).unwrap();
        path
    }
}

/// A certificate to import.
pub struct Leaf {
    /// Names (the first is the subject CN).
    pub names: Vec<String>,
    /// Days of validity left.
    pub days: i64,
    /// Key algorithm.
    pub alg: &'static rcgen::SignatureAlgorithm,
    /// Serial bytes.
    pub serial: Vec<u8>,
}

impl Leaf {
    /// A P-256 certificate for `name`, valid since yesterday for `days` more days.
    pub fn new(name: &str, days: i64, serial: u64) -> Leaf {
        Leaf {
            names: vec![name.to_string()],
            days,
            alg: &rcgen::PKCS_ECDSA_P256_SHA256,
            serial: serial.to_be_bytes().to_vec(),
        }
    }
}

/// An imported certificate.
pub struct Imported {
    /// Its ARN.
    pub arn: String,
    /// Its serial as colon hex.
    pub serial_hex: String,
}

/// Make, sign and import a certificate into the emulator's ACM.
pub async fn import(emu: &Emulator, ca: &Ca, leaf: Leaf) -> Imported {
    import_with(&emu.acm(), ca, leaf).await
}

/// Re-import `leaf` into the existing certificate `arn` (an in-place renewal: same ARN, new
/// material), as `aws acm import-certificate --certificate-arn` does.
pub async fn reimport(emu: &Emulator, ca: &Ca, arn: &str, leaf: Leaf) -> Imported {
    import_into(&emu.acm(), ca, leaf, Some(arn)).await
}

/// Make, sign and import a certificate with this ACM client (any account).
pub async fn import_with(acm: &aws_sdk_acm::Client, ca: &Ca, leaf: Leaf) -> Imported {
    import_into(acm, ca, leaf, None).await
}

async fn import_into(
    acm: &aws_sdk_acm::Client,
    ca: &Ca,
    leaf: Leaf,
    arn: Option<&str>,
) -> Imported {
    let key = KeyPair::generate_for(leaf.alg).unwrap();
    let mut params = CertificateParams::new(leaf.names.clone()).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, leaf.names[0].clone());
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(leaf.days);
    params.serial_number = Some(SerialNumber::from_slice(&leaf.serial));
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    let out = acm
        .import_certificate()
        .certificate(Blob::new(cert.pem()))
        .private_key(Blob::new(key.serialize_pem()))
        .certificate_chain(Blob::new(ca.pem.clone()))
        .set_certificate_arn(arn.map(str::to_string))
        .send()
        .await
        .expect("import the certificate");
    let hex: Vec<String> = leaf
        .serial
        .iter()
        .skip_while(|b| **b == 0)
        .map(|b| format!("{b:02x}"))
        .collect();
    Imported {
        arn: out.certificate_arn().unwrap().to_string(),
        serial_hex: hex.join(":"),
    }
}

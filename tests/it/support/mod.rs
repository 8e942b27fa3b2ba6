//! Test harness: the patched emulator + TLS edge (tests/support/emulator.py), certificates
//! made on the spot with rcgen, SDK clients for seeding, and a runner for the real binary.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use aws_sdk_acm::primitives::Blob;
pub mod container;
mod process;

// Not every test file uses every helper.
#[allow(unused_imports)]
pub use process::*;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SerialNumber};

/// Where the project's Python lives (made by `make venv`).
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("CCR_PYTHON") {
        return PathBuf::from(p);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run `make test` (it creates the venv with the pinned moto)",
        p.display()
    );
    p
}

/// A running emulator; killed on drop.
pub struct Emulator {
    child: Child,
    /// AWS endpoint URL.
    pub endpoint: String,
    /// host:port of the TLS edge.
    pub edge: String,
    /// URL of the fault-injecting proxy in front of `endpoint`.
    pub proxy: String,
    /// host:port of a second edge address, with `--lagging-edge-delay`.
    pub lagging_edge: Option<String>,
}

impl Emulator {
    /// Start with extra launcher flags (`--edge-delay 2`, `--edge-stale`...).
    pub fn start(flags: &[&str]) -> Emulator {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/emulator.py");
        let mut child = Command::new(python())
            .arg(script)
            .args(flags)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the emulator");
        let stdout = child.stdout.take().expect("emulator stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the emulator's ready line");
        let ready: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("emulator did not start ({e}): {line:?}"));
        Emulator {
            child,
            endpoint: ready["endpoint"].as_str().unwrap().to_string(),
            edge: ready["edge"].as_str().unwrap().to_string(),
            proxy: ready["proxy"].as_str().unwrap().to_string(),
            lagging_edge: ready["lagging_edge"].as_str().map(str::to_string),
        }
    }

    /// One HTTP request to `base` (the endpoint or the proxy); returns the body.
    pub fn http(base: &str, method: &str, path: &str, body: &str) -> String {
        let addr = base.trim_start_matches("http://");
        let mut stream = TcpStream::connect(addr).expect("connect to the emulator");
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
        response
            .split("\r\n\r\n")
            .nth(1)
            .unwrap_or("{}")
            .to_string()
    }

    /// Add a fault rule to the proxy (see emulator.py), e.g.
    /// `json!({"operation": "ListCertificates", "kind": "throttle", "times": 2})`.
    pub fn fault(&self, rule: serde_json::Value) {
        Emulator::http(&self.proxy, "POST", "/_fault", &rule.to_string());
    }

    /// Mark a certificate AMAZON_ISSUED with this managed-renewal status and reason (what
    /// ACM's RenewalSummary then says of it).
    pub fn mark_renewal(&self, arn: &str, status: &str, reason: &str) {
        let body = serde_json::json!({"arn": arn, "status": status, "reason": reason});
        Emulator::http(&self.endpoint, "POST", "/_ccr/renewal", &body.to_string());
    }

    /// Calls the fault proxy forwarded (those of the clients pointed at it), by operation.
    pub fn proxy_calls(&self) -> BTreeMap<String, u64> {
        serde_json::from_str(&Emulator::http(&self.proxy, "GET", "/_calls", "")).unwrap()
    }

    /// Seed the proxy's fault generator and clear its journal (see emulator.py).
    pub fn seed_proxy(&self, seed: u64) {
        Emulator::http(
            &self.proxy,
            "POST",
            "/_seed",
            &format!("{{\"seed\": {seed}}}"),
        );
        Emulator::http(&self.proxy, "DELETE", "/_journal", "");
    }

    /// Every request the proxy saw, in order of arrival (see emulator.py).
    pub fn journal(&self) -> Vec<serde_json::Value> {
        serde_json::from_str(&Emulator::http(&self.proxy, "GET", "/_journal", "")).unwrap()
    }

    /// Drop every fault rule.
    pub fn clear_faults(&self) {
        Emulator::http(&self.proxy, "DELETE", "/_fault", "");
    }

    /// Faults injected so far, by kind.
    pub fn faults_injected(&self) -> BTreeMap<String, u64> {
        serde_json::from_str(&Emulator::http(&self.proxy, "GET", "/_fault", "")).unwrap()
    }

    /// API calls so far, per account, by operation.
    pub fn calls_by_account(&self) -> BTreeMap<String, BTreeMap<String, u64>> {
        serde_json::from_str(&Emulator::http(
            &self.endpoint,
            "GET",
            "/_ccr/calls-by-account",
            "",
        ))
        .unwrap()
    }

    /// The AssumeRole calls seen: RoleArn, ExternalId, RoleSessionName.
    pub fn assumed(&self) -> Vec<serde_json::Value> {
        serde_json::from_str(&Emulator::http(&self.endpoint, "GET", "/_ccr/assumed", "")).unwrap()
    }

    /// Shared config for seeding in another account, through a role assumed there.
    pub async fn sdk_config_in(
        &self,
        account: &str,
        region: &'static str,
    ) -> aws_config::SdkConfig {
        let base = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_sdk_acm::config::Credentials::for_tests())
            .load()
            .await;
        let provider = aws_config::sts::AssumeRoleProvider::builder(format!(
            "arn:aws:iam::{account}:role/seed"
        ))
        .session_name("seed")
        .configure(&base)
        .build()
        .await;
        base.to_builder()
            .credentials_provider(aws_sdk_acm::config::SharedCredentialsProvider::new(
                provider,
            ))
            .build()
    }

    /// Run the binary with the AWS endpoint behind the fault proxy.
    pub fn run_via_proxy(&self, args: &[&str]) -> Run {
        run_binary(args, &[("AWS_ENDPOINT_URL", self.proxy.as_str())])
    }

    fn sdk_config(&self, region: &'static str) -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_sdk_acm::config::SharedCredentialsProvider::new(
                aws_sdk_acm::config::Credentials::for_tests(),
            ))
            .build()
    }

    /// An ACM client for seeding (us-east-1).
    pub fn acm(&self) -> aws_sdk_acm::Client {
        aws_sdk_acm::Client::new(&self.sdk_config("us-east-1"))
    }

    /// An SQS client for seeding (us-east-1, where the rule for ACM's events runs).
    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk_config("us-east-1"))
    }

    /// Create an SQS queue for ACM's events; its URL.
    pub async fn queue(&self, name: &str) -> String {
        self.sqs()
            .create_queue()
            .queue_name(name)
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_string()
    }

    /// Make AssumeRole of `arn` answer AccessDenied.
    pub fn deny_role(&self, arn: &str) {
        Emulator::http(
            &self.endpoint,
            "POST",
            "/_ccr/deny-role",
            &serde_json::json!({ "arn": arn }).to_string(),
        );
    }

    /// An Organizations client (the caller's account is the management account).
    pub fn organizations(&self) -> aws_sdk_organizations::Client {
        aws_sdk_organizations::Client::new(&self.sdk_config("us-east-1"))
    }

    /// An SNS client in us-east-1.
    pub fn sns(&self) -> aws_sdk_sns::Client {
        aws_sdk_sns::Client::new(&self.sdk_config("us-east-1"))
    }

    /// A DynamoDB client in the region the binary's tests use by default (`AWS_REGION`).
    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk_config("ap-southeast-2"))
    }

    /// A domain's record in the DynamoDB state table (`null` when absent).
    pub async fn table_record(&self, table: &str, domain: &str) -> serde_json::Value {
        use aws_sdk_dynamodb::types::AttributeValue;
        let out = self
            .dynamodb()
            .get_item()
            .table_name(table)
            .key("pk", AttributeValue::S("state".into()))
            .key("sk", AttributeValue::S(format!("domain#{domain}")))
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        match out.item().and_then(|i| i.get("body")) {
            Some(AttributeValue::S(body)) => serde_json::from_str(body).unwrap(),
            _ => serde_json::Value::Null,
        }
    }

    /// The lease item's attributes as strings (empty when there is none).
    pub async fn lease_item(&self, table: &str) -> BTreeMap<String, String> {
        use aws_sdk_dynamodb::types::AttributeValue;
        let out = self
            .dynamodb()
            .get_item()
            .table_name(table)
            .key("pk", AttributeValue::S("lease".into()))
            .key("sk", AttributeValue::S("leader".into()))
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        out.item()
            .map(|i| {
                i.iter()
                    .map(|(k, v)| {
                        let text = match v {
                            AttributeValue::S(s) | AttributeValue::N(s) => s.clone(),
                            other => format!("{other:?}"),
                        };
                        (k.clone(), text)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A Cognito client for seeding, in `region`.
    pub fn cognito(&self, region: &'static str) -> aws_sdk_cognitoidentityprovider::Client {
        aws_sdk_cognitoidentityprovider::Client::new(&self.sdk_config(region))
    }

    /// API calls so far, by operation.
    pub fn calls(&self) -> BTreeMap<String, u64> {
        serde_json::from_str(&Emulator::http(&self.endpoint, "GET", "/_ccr/calls", ""))
            .expect("call counts")
    }

    /// How often one operation was called.
    pub fn count(&self, operation: &str) -> u64 {
        self.calls().get(operation).copied().unwrap_or(0)
    }

    /// Run the binary against this emulator.
    pub fn run(&self, args: &[&str]) -> Run {
        run_binary(args, &[("AWS_ENDPOINT_URL", self.endpoint.as_str())])
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A finished run of the binary.
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// stdout.
    pub stdout: String,
    /// stderr.
    pub stderr: String,
}

/// The binary with test credentials, a default region that is *not* the user pools' or
/// ACM's (to prove the binary picks regions itself), no IMDS, and AWS at `endpoint`.
pub fn binary(args: &[&str], endpoint: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cognito-cert-rotator"));
    cmd.args(args);
    test_env(&mut cmd, endpoint);
    cmd
}

/// The environment every run of the binary gets: the emulator as AWS, no ambient settings.
pub fn test_env(cmd: &mut Command, endpoint: &str) {
    cmd.env_remove("AWS_PROFILE")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("CCR_CONFIG_YAML")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "ap-southeast-2")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info");
}

/// Run [`binary`] to the end; `env` adds or overrides variables.
pub fn run_binary(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = binary(args, "http://127.0.0.1:9");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("run the binary");
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    };
    eprintln!(
        "--- {args:?} exited {}\n--- stdout:\n{}\n--- stderr:\n{}",
        run.code, run.stdout, run.stderr
    );
    run
}

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

/// Create a user pool in `region`; returns its ID.
pub async fn create_pool(emu: &Emulator, region: &'static str, name: &str) -> String {
    create_pool_with(&emu.cognito(region), name).await
}

/// Create a user pool with this Cognito client (any account and region); returns its ID.
pub async fn create_pool_with(
    cognito: &aws_sdk_cognitoidentityprovider::Client,
    name: &str,
) -> String {
    create_tagged_pool_with(cognito, name, &[]).await
}

/// Create a user pool carrying `tags` (UserPoolTags); returns its ID.
pub async fn create_tagged_pool_with(
    cognito: &aws_sdk_cognitoidentityprovider::Client,
    name: &str,
    tags: &[(&str, &str)],
) -> String {
    let mut create = cognito.create_user_pool().pool_name(name);
    for (k, v) in tags {
        create = create.user_pool_tags(*k, *v);
    }
    create
        .send()
        .await
        .unwrap()
        .user_pool()
        .unwrap()
        .id()
        .unwrap()
        .to_string()
}

/// Create a user pool in `region` and a custom domain on `arn`; returns the pool ID.
pub async fn pool_with_domain(
    emu: &Emulator,
    region: &'static str,
    domain: &str,
    arn: &str,
    managed_login_version: i32,
) -> String {
    pool_with_domain_with(&emu.cognito(region), domain, arn, managed_login_version).await
}

/// Like [`pool_with_domain`], with this Cognito client (any account and region).
pub async fn pool_with_domain_with(
    cognito: &aws_sdk_cognitoidentityprovider::Client,
    domain: &str,
    arn: &str,
    managed_login_version: i32,
) -> String {
    let pool = create_pool_with(cognito, "test").await;
    add_custom_domain(cognito, &pool, domain, arn, managed_login_version).await;
    pool
}

/// Give user pool `pool` the custom domain `domain` on `arn`.
pub async fn add_custom_domain(
    cognito: &aws_sdk_cognitoidentityprovider::Client,
    pool: &str,
    domain: &str,
    arn: &str,
    managed_login_version: i32,
) {
    cognito
        .create_user_pool_domain()
        .user_pool_id(pool)
        .domain(domain)
        .managed_login_version(managed_login_version)
        .custom_domain_config(
            aws_sdk_cognitoidentityprovider::types::CustomDomainConfigType::builder()
                .certificate_arn(arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

/// The domain's certificate ARN and ManagedLoginVersion as Cognito reports them.
pub async fn domain_state(
    emu: &Emulator,
    region: &'static str,
    domain: &str,
) -> (Option<String>, Option<i32>) {
    domain_state_with(&emu.cognito(region), domain).await
}

/// Like [`domain_state`], with this Cognito client (any account and region).
pub async fn domain_state_with(
    cognito: &aws_sdk_cognitoidentityprovider::Client,
    domain: &str,
) -> (Option<String>, Option<i32>) {
    let out = cognito
        .describe_user_pool_domain()
        .domain(domain)
        .send()
        .await
        .unwrap();
    let d = out.domain_description().unwrap();
    (
        d.custom_domain_config()
            .map(|c| c.certificate_arn().to_string()),
        d.managed_login_version(),
    )
}

/// Write a config file and return its path. Each test gets its own state file in `dir`
/// unless the text names one or keeps its state in DynamoDB (`state:`).
pub fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("config.yaml");
    let text = if text.contains("state_file:")
        || text.contains("\nstate:")
        || text.starts_with("state:")
    {
        text.to_string()
    } else {
        format!("state_file: {}\n{text}", dir.join("state.json").display())
    };
    std::fs::write(&path, text).unwrap();
    path
}

/// The certificate ID at the end of an ARN.
pub fn arn_tail(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The custom domain most tests rotate.
pub const DOMAIN: &str = "auth.example.com";
/// The region of its user pool (not ACM's, not the SDK default the binary is given).
pub const REGION: &str = "eu-central-1";

/// An emulator with a domain on a certificate inside min_validity (20 days) and a newer one
/// (90 days) to move to, both signed by a CA written to `dir/ca.pem`.
pub struct World {
    /// The emulator and edge.
    pub emu: Emulator,
    /// Config, state and CA files of this test.
    pub dir: tempfile::TempDir,
    /// The certificate the domain is on.
    pub old: Imported,
    /// The one it should move to.
    pub new: Imported,
    /// The owning user pool.
    pub pool: String,
    /// The CA certificate.
    pub ca_file: PathBuf,
    /// The CA that signed both (for more certificates, re-imports).
    pub ca: Ca,
}

impl World {
    /// Move the domain onto `arn` behind the rotator's back (a person, Terraform's apply, a
    /// process that died right after its write): UpdateUserPoolDomain straight to the emulator.
    pub async fn move_domain(&self, arn: &str) {
        self.emu
            .cognito(REGION)
            .update_user_pool_domain()
            .domain(DOMAIN)
            .user_pool_id(&self.pool)
            .managed_login_version(2)
            .custom_domain_config(
                aws_sdk_cognitoidentityprovider::types::CustomDomainConfigType::builder()
                    .certificate_arn(arn)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }

    /// The files a host gives the shipped units in `dir`: `config.yaml` on `schedule`
    /// (verifying at the test edge with the CA at `ca_inside`) and `aws.env` naming `endpoint`.
    pub fn unit_files(&self, dir: &Path, schedule: &str, endpoint: &str, ca_inside: &str) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(
            dir.join("config.yaml"),
            format!(
                "schedule: \"{schedule}\"\nverify:\n  window: 30s\n  interval: 300ms\n  connect_to: {}\n  ca_file: {ca_inside}\ndomains:\n  - domain: {DOMAIN}\n    user_pool_id: {}\n",
                self.emu.edge, self.pool
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("aws.env"),
            format!(
                "AWS_ENDPOINT_URL={endpoint}\nAWS_ACCESS_KEY_ID=test\nAWS_SECRET_ACCESS_KEY=test\nAWS_REGION=ap-southeast-2\nAWS_EC2_METADATA_DISABLED=true\n"
            ),
        )
        .unwrap();
    }

    /// A daemon config on `schedule` consuming `queue`, metrics on `port`, verifying at the
    /// edge with a 30 s window.
    pub fn events_config(&self, schedule: &str, queue: &str, port: u16) -> PathBuf {
        self.daemon_config(
            schedule,
            &format!("events:\n  sqs_queue_url: {queue}\nmetrics:\n  listen: 127.0.0.1:{port}\n"),
        )
    }

    /// A daemon config on `schedule` with `extra` top-level keys, verifying at the edge (with
    /// the test CA) in a 30 s window.
    pub fn daemon_config(&self, schedule: &str, extra: &str) -> PathBuf {
        write_config(
            self.dir.path(),
            &format!(
                "schedule: \"{schedule}\"\n{extra}verify:\n  window: 30s\n  interval: 300ms\n  connect_to: {}\n  ca_file: {}\ndomains:\n  - domain: {DOMAIN}\n    user_pool_id: {}\n",
                self.emu.edge,
                self.ca_file.display(),
                self.pool
            ),
        )
    }
}

/// What every world starts from: an emulator, the test's folder and a CA whose certificate
/// is written there.
pub struct Stage {
    /// The emulator and edge.
    pub emu: Emulator,
    /// Config, state and CA files of this test.
    pub dir: tempfile::TempDir,
    /// The CA.
    pub ca: Ca,
    /// The CA certificate.
    pub ca_file: PathBuf,
}

/// Start an emulator with `flags`, with a folder and a CA.
pub fn stage(flags: &[&str]) -> Stage {
    let emu = Emulator::start(flags);
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new();
    let ca_file = ca.write(dir.path());
    Stage {
        emu,
        dir,
        ca,
        ca_file,
    }
}

impl Stage {
    /// The world of a domain on `old` in `pool`, to move to `new`.
    pub fn world(self, old: Imported, new: Imported, pool: String) -> World {
        World {
            emu: self.emu,
            dir: self.dir,
            old,
            new,
            pool,
            ca_file: self.ca_file,
            ca: self.ca,
        }
    }
}

/// Start an emulator with `flags` and seed a [`World`].
pub async fn world(flags: &[&str]) -> World {
    let s = stage(flags);
    let old = import(&s.emu, &s.ca, Leaf::new(DOMAIN, 20, 0x0a0b_0c01)).await;
    let new = import(&s.emu, &s.ca, Leaf::new(DOMAIN, 90, 0x0a0b_0c02)).await;
    let pool = pool_with_domain(&s.emu, REGION, DOMAIN, &old.arn, 2).await;
    s.world(old, new, pool)
}

//! The patched emulator and TLS edge (tests/support/emulator.py), and its fault proxy: started, asked, killed on drop.

use super::*;

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

/// The emulator's process: spawned, or forked by the zygote.
enum Process {
    Spawned(Child),
    /// Lives until `conn` closes; `pid` is killed on drop so it stops at once.
    Forked {
        conn: std::os::unix::net::UnixStream,
        pid: i32,
    },
}

/// The zygote (`emulator.py --zygote`): moto imported and patched once per test process,
/// each emulator forked from it in milliseconds instead of a 0.8 s CPU start. Its stdin is
/// this process's pipe, so it ends with the test process. `CCR_EMULATOR_FORK=0` spawns
/// each emulator instead.
fn zygote() -> Option<&'static Path> {
    static ZYGOTE: std::sync::OnceLock<Option<(std::sync::Mutex<Child>, PathBuf)>> =
        std::sync::OnceLock::new();
    ZYGOTE
        .get_or_init(|| {
            if std::env::var("CCR_EMULATOR_FORK").as_deref() == Ok("0") {
                return None;
            }
            let socket =
                std::env::temp_dir().join(format!("ccr-zygote-{}.sock", std::process::id()));
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/emulator.py");
            let mut child = Command::new(python())
                .arg(script)
                .arg("--zygote")
                .arg(&socket)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("start the emulator zygote");
            let mut line = String::new();
            BufReader::new(child.stdout.take().expect("zygote stdout"))
                .read_line(&mut line)
                .expect("read the zygote's ready line");
            assert!(
                line.contains("zygote"),
                "the emulator zygote did not start: {line:?}"
            );
            Some((std::sync::Mutex::new(child), socket))
        })
        .as_ref()
        .map(|(_, socket)| socket.as_path())
}

/// A running emulator; killed on drop.
pub struct Emulator {
    process: Process,
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
        let (process, line) = match zygote() {
            Some(socket) => Emulator::fork(socket, flags),
            None => Emulator::spawn(flags),
        };
        let ready: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("emulator did not start ({e}): {line:?}"));
        let process = match process {
            Process::Forked { conn, .. } => Process::Forked {
                conn,
                pid: ready["pid"].as_i64().expect("the forked emulator's pid") as i32,
            },
            spawned => spawned,
        };
        Emulator {
            process,
            endpoint: ready["endpoint"].as_str().unwrap().to_string(),
            edge: ready["edge"].as_str().unwrap().to_string(),
            proxy: ready["proxy"].as_str().unwrap().to_string(),
            lagging_edge: ready["lagging_edge"].as_str().map(str::to_string),
        }
    }

    /// A fresh Python process (`CCR_EMULATOR_FORK=0`): its ready line on stdout.
    fn spawn(flags: &[&str]) -> (Process, String) {
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
        (Process::Spawned(child), line)
    }

    /// Forked by the zygote: the flags sent and the ready line read on one connection.
    fn fork(socket: &Path, flags: &[&str]) -> (Process, String) {
        let mut conn = std::os::unix::net::UnixStream::connect(socket)
            .expect("connect to the emulator zygote");
        writeln!(conn, "{}", serde_json::json!({ "args": flags })).unwrap();
        let mut line = String::new();
        BufReader::new(conn.try_clone().unwrap())
            .read_line(&mut line)
            .expect("read the forked emulator's ready line");
        (Process::Forked { conn, pid: 0 }, line)
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

    /// An ACM client for seeding in `region` (regional API Gateway domains, listeners).
    pub fn acm_in(&self, region: &'static str) -> aws_sdk_acm::Client {
        aws_sdk_acm::Client::new(&self.sdk_config(region))
    }

    /// A CloudFront client for seeding.
    pub fn cloudfront(&self) -> aws_sdk_cloudfront::Client {
        aws_sdk_cloudfront::Client::new(&self.sdk_config("us-east-1"))
    }

    /// An Elastic Load Balancing client for reading listeners, in `region`.
    pub fn elb(&self, region: &'static str) -> aws_sdk_elasticloadbalancingv2::Client {
        aws_sdk_elasticloadbalancingv2::Client::new(&self.sdk_config(region))
    }

    /// An API Gateway client for seeding, in `region`.
    pub fn apigateway(&self, region: &'static str) -> aws_sdk_apigateway::Client {
        aws_sdk_apigateway::Client::new(&self.sdk_config(region))
    }

    /// Make each of the next `times` GetDistributionConfig reads of distribution `id` be
    /// followed by another writer's change (a new Comment and ETag).
    pub fn cloudfront_race(&self, id: &str, times: u32) {
        Emulator::http(
            &self.endpoint,
            "POST",
            "/_ccr/cloudfront-race",
            &serde_json::json!({"id": id, "times": times}).to_string(),
        );
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
        match &mut self.process {
            Process::Spawned(child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
            // The zygote reaps it; the closed connection would end it too.
            Process::Forked { pid, .. } => {
                if let Some(pid) = rustix::process::Pid::from_raw(*pid) {
                    let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                }
            }
        }
    }
}

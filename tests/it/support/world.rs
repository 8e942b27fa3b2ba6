//! A World: an emulator seeded with a domain on an old certificate and a new one to move to.

use super::*;

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

/// The DynamoDB state table of [`dynamo_world`].
pub const STATE_TABLE: &str = "ccr-state";

/// A world whose config keeps its state in DynamoDB with a 2 s lease; the table is created
/// with `state init`. Every swap verified appends a line to `verified.log`.
pub async fn dynamo_world(flags: &[&str]) -> (World, PathBuf) {
    let w = world(flags).await;
    let verified = w.dir.path().join("verified.log");
    let text = format!(
        "schedule: \"* * * * * *\"\nstate:\n  dynamodb:\n    table: {STATE_TABLE}\n    lease: 2s\nhooks:\n  on_verified: [/bin/sh, -c, \"echo verified >> {}\"]\nverify:\n  window: 60s\n  interval: 300ms\n  connect_to: {}\n  ca_file: {}\ndomains:\n  - domain: {DOMAIN}\n    user_pool_id: {}\n",
        verified.display(),
        w.emu.edge,
        w.ca_file.display(),
        w.pool
    );
    let config = write_config(w.dir.path(), &text);
    let init = w
        .emu
        .run(&["state", "init", "-c", config.to_str().unwrap()]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    assert!(
        init.stdout.contains("created table ccr-state"),
        "{}",
        init.stdout
    );
    (w, config)
}

/// The state table of [`dynamo_world`] as the library opens it.
pub fn state_table(emu: &Emulator) -> cognito_cert_rotator::aws::dynamodb::StateTable {
    cognito_cert_rotator::aws::dynamodb::StateTable::new(
        emu.dynamodb(),
        STATE_TABLE,
        "ap-southeast-2",
    )
}

//! The real binary: its test environment, and a run to the end.

use super::*;

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

impl From<Output> for Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Run [`binary`] to the end; `env` adds or overrides variables.
pub fn run_binary(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = binary(args, "http://127.0.0.1:9");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let run = Run::from(cmd.output().expect("run the binary"));
    eprintln!(
        "--- {args:?} exited {}\n--- stdout:\n{}\n--- stderr:\n{}",
        run.code, run.stdout, run.stderr
    );
    run
}

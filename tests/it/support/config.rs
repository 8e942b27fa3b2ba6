//! Config files of a test, and the names most tests use.

use super::*;

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

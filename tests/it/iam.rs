//! The IAM policy grants exactly what the code calls: every SDK call in src/aws/ maps to an
//! action in iam/policy.json, and every action there is called (or is required by one that
//! is, per the AWS docs); and parliament, an IAM policy linter, finds nothing in it but the
//! one statement Cognito documents with Resource "*".

use crate::support;

use std::collections::BTreeSet;
use std::path::Path;

/// Actions AWS requires besides the API action itself.
const IMPLIED: &[(&str, &str)] = &[
    // "To set up a custom domain name or to update its certificate, you must have permission
    // to update Amazon CloudFront distributions." (Cognito developer guide)
    (
        "cognito-idp:UpdateUserPoolDomain",
        "cloudfront:UpdateDistribution",
    ),
];

/// Calls that are not IAM actions themselves: AWS authorizes each item of a transaction by
/// its own action (DynamoDB developer guide, "IAM with DynamoDB transactions").
/// SQS authorizes a batch delete as `sqs:DeleteMessage` (SQS developer guide, "Amazon SQS
/// API permissions": batch actions have no action of their own).
const AUTHORIZED_AS: &[(&str, &[&str])] = &[
    (
        "dynamodb:TransactWriteItems",
        &[
            "dynamodb:ConditionCheckItem",
            "dynamodb:PutItem",
            "dynamodb:DeleteItem",
        ],
    ),
    ("sqs:DeleteMessageBatch", &["sqs:DeleteMessage"]),
];

fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// `self.client.<operation>()` calls in an adapter file, whitespace ignored.
fn calls(file: &Path, prefix: &str) -> BTreeSet<String> {
    let text: String = std::fs::read_to_string(file)
        .unwrap()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    text.match_indices("self.client.")
        .map(|(i, m)| {
            let rest = &text[i + m.len()..];
            let op: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            format!("{prefix}:{}", pascal(&op))
        })
        .collect()
}

/// API Gateway authorises by HTTP verb on the resource, not by operation name.
const APIGATEWAY_VERBS: &[(&str, &str)] = &[
    ("apigateway:GetDomainName", "apigateway:GET"),
    ("apigateway:UpdateDomainName", "apigateway:PATCH"),
];

/// `calls` of the API Gateway adapter, as the verbs IAM knows them by; an operation not in
/// [`APIGATEWAY_VERBS`] fails, so a new call cannot slip past the policy check.
fn apigateway_actions(file: &Path) -> BTreeSet<String> {
    calls(file, "apigateway")
        .into_iter()
        .map(|op| {
            APIGATEWAY_VERBS
                .iter()
                .find(|(call, _)| *call == op)
                .map(|(_, verb)| (*verb).to_string())
                .unwrap_or_else(|| panic!("{op}: add its IAM verb to APIGATEWAY_VERBS"))
        })
        .collect()
}

/// The adapter `name`'s calls: `src/aws/NAME.rs` and every file of `src/aws/NAME/` but its
/// tests, so a call added in a new file of the folder is checked as well.
fn adapter_calls(name: &str, prefix: &str) -> BTreeSet<String> {
    adapter_files(name)
        .iter()
        .flat_map(|f| calls(f, prefix))
        .collect()
}

fn adapter_files(name: &str) -> Vec<std::path::PathBuf> {
    let aws = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/aws");
    let mut files = vec![aws.join(format!("{name}.rs"))];
    if let Ok(dir) = std::fs::read_dir(aws.join(name)) {
        files.extend(
            dir.map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "rs"))
                .filter(|p| !p.ends_with("tests.rs")),
        );
    }
    files
}

/// Every adapter whose calls [`code_actions`] reads (with the IAM prefix of its service).
const ADAPTERS: &[(&str, &str)] = &[
    // `retire:` (tags, deletion) in acm/retire.rs: granted by its own statement.
    ("acm", "acm"),
    ("cognito", "cognito-idp"),
    // The consumers beyond Cognito: CloudFront distributions, API Gateway domain names (by
    // verb, below), load balancer listeners; each also read by `discover` (seen.rs).
    ("cloudfront", "cloudfront"),
    ("listener", "elasticloadbalancing"),
    // The state table (DynamoDB state); `state init`'s table setup is run by an operator and
    // is not part of the runtime policy (iam/README.md).
    ("dynamodb", "dynamodb"),
    ("lease_table", "dynamodb"),
    // The event queue (`events:`).
    ("sqs", "sqs"),
    // The notification topic (`notify.sns_topic_arn`).
    ("sns", "sns"),
    // `discover`: STS GetCallerIdentity needs no permission; ListAccounts is in the separate
    // policy for the management account (iam/organizations-policy.json).
    ("sts", "sts"),
];

fn code_actions() -> BTreeSet<String> {
    let mut actions: BTreeSet<String> = ADAPTERS
        .iter()
        .flat_map(|(name, prefix)| adapter_calls(name, prefix))
        .collect();
    for file in adapter_files("apigateway") {
        actions.extend(apigateway_actions(&file));
    }
    actions.remove("sts:GetCallerIdentity");
    for (call, authorized) in AUTHORIZED_AS {
        if actions.remove(*call) {
            actions.extend(authorized.iter().map(|a| (*a).to_string()));
        }
    }
    for (needs, implied) in IMPLIED {
        if actions.contains(*needs) {
            actions.insert((*implied).to_string());
        }
    }
    actions
}

/// The actions of `discover --organization`, granted in the management account only.
fn organization_actions() -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    calls(&root.join("src/aws/organizations.rs"), "organizations")
}

fn policy_actions(file: &str) -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let policy: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join(file)).unwrap()).unwrap();
    policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["Action"].as_array().unwrap().clone())
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

/// Every file of src/aws/ that calls a client is read by [`code_actions`] (or is the
/// Organizations adapter, checked against its own policy; or a table setup, run by an
/// operator), so no call escapes the policy check.
#[test]
fn every_file_that_calls_aws_is_checked_against_a_policy() {
    let mut read: BTreeSet<std::path::PathBuf> = ADAPTERS
        .iter()
        .chain(&[("apigateway", ""), ("organizations", "")])
        .flat_map(|(name, _)| adapter_files(name))
        .collect();
    read.insert(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/aws/table_setup.rs"));
    let mut missed = Vec::new();
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src/aws")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if !path.ends_with("tests.rs")
                && std::fs::read_to_string(&path)
                    .unwrap()
                    .contains("self.client.")
                && !read.contains(&path)
            {
                missed.push(path.display().to_string());
            }
        }
    }
    assert!(missed.is_empty(), "add these to ADAPTERS: {missed:?}");
}

#[test]
fn the_adapters_call_what_the_scanner_expects() {
    // Guards the scanner itself: if it found nothing, the comparison below would be vacuous.
    let actions = code_actions();
    assert!(actions.contains("acm:ListCertificates"), "{actions:?}");
    assert!(
        actions.contains("cognito-idp:UpdateUserPoolDomain"),
        "{actions:?}"
    );
    assert!(
        actions.contains("dynamodb:ConditionCheckItem"),
        "{actions:?}"
    );
    assert!(actions.contains("dynamodb:Query"), "{actions:?}");
    assert!(actions.contains("sqs:ReceiveMessage"), "{actions:?}");
    assert!(actions.contains("sqs:DeleteMessage"), "{actions:?}");
    assert!(actions.contains("sns:Publish"), "{actions:?}");
    assert!(
        actions.contains("cloudfront:GetDistributionConfig"),
        "{actions:?}"
    );
    assert!(actions.contains("apigateway:PATCH"), "{actions:?}");
    assert!(actions.contains("acm:DeleteCertificate"), "{actions:?}");
    assert!(
        actions.contains("elasticloadbalancing:RemoveListenerCertificates"),
        "{actions:?}"
    );
    assert!(!actions.contains("dynamodb:CreateTable"), "{actions:?}");
}

#[test]
fn the_organizations_policy_grants_exactly_what_discover_calls_in_the_management_account() {
    let code = organization_actions();
    assert!(code.contains("organizations:ListAccounts"), "{code:?}");
    assert_eq!(code, policy_actions("iam/organizations-policy.json"));
    let findings =
        lint(&Path::new(env!("CARGO_MANIFEST_DIR")).join("iam/organizations-policy.json"));
    assert!(findings.is_empty(), "parliament: {findings:?}");
}

#[test]
fn policy_grants_exactly_the_actions_the_code_calls() {
    let code = code_actions();
    let policy = policy_actions("iam/policy.json");
    let missing: Vec<_> = code.difference(&policy).collect();
    let unused: Vec<_> = policy.difference(&code).collect();
    assert!(missing.is_empty(), "iam/policy.json lacks {missing:?}");
    assert!(
        unused.is_empty(),
        "iam/policy.json grants {unused:?}, which the code never calls"
    );
}

/// parliament's findings for a policy file (tests/support/iam_lint.py in the test venv).
fn lint(policy: &Path) -> Vec<serde_json::Value> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(support::python())
        .arg(root.join("tests/support/iam_lint.py"))
        .arg(policy)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run the IAM linter");
    assert!(
        out.status.success(),
        "iam_lint.py failed (is parliament in the venv? `make venv`):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).unwrap()
}

#[test]
fn the_policy_lints_clean_but_for_the_cloudfront_statement_cognito_documents() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let findings = lint(&root.join("iam/policy.json"));
    // The one expected finding (iam/README.md): the distribution behind a Cognito custom
    // domain belongs to Cognito, so cloudfront:UpdateDistribution stays on "*".
    let expected = |f: &serde_json::Value| {
        f["issue"] == "RESOURCE_STAR"
            && f["detail"]
                .to_string()
                .contains("cloudfront:UpdateDistribution")
            && !f["detail"].to_string().contains("sqs:")
    };
    let unexpected: Vec<_> = findings.iter().filter(|f| !expected(f)).collect();
    assert!(unexpected.is_empty(), "parliament: {unexpected:?}");
    assert_eq!(findings.len(), 1, "{findings:?}");
}

#[test]
fn the_linter_does_find_a_broad_statement() {
    // Guards the test above: a linter that found nothing would pass it vacuously.
    let dir = tempfile::tempdir().unwrap();
    let planted = dir.path().join("planted.json");
    std::fs::write(
        &planted,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sqs:ReceiveMessage","sqs:DeleteMessage"],"Resource":"*"}]}"#,
    )
    .unwrap();
    let findings = lint(&planted);
    assert!(
        findings.iter().any(|f| f["issue"] == "RESOURCE_STAR"),
        "{findings:?}"
    );
}

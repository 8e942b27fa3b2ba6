"""Lint an IAM policy with parliament (https://github.com/duo-labs/parliament), as
tests/it/iam.rs does: prints the findings as JSON, one {"issue", "detail"} per finding.

Usage: iam_lint.py POLICY.json   (the placeholders ACCOUNT_ID, QUEUE_REGION... are filled
with sample values first, as a user deploying the policy would.)
"""
import json
import sys

from parliament import analyze_policy_string

SAMPLE = {
    "ACCOUNT_ID": "123456789012",
    "STATE_REGION": "us-east-1",
    "STATE_TABLE": "cognito-cert-rotator",
    "QUEUE_REGION": "us-east-1",
    "QUEUE_NAME": "cognito-cert-rotator-events",
    "TOPIC_REGION": "us-east-1",
    "TOPIC_NAME": "cert-events",
}


def main():
    text = open(sys.argv[1]).read()
    for placeholder, value in SAMPLE.items():
        text = text.replace(placeholder, value)
    policy = analyze_policy_string(text, include_community_auditors=True)
    findings = [{"issue": f.issue, "detail": f.detail} for f in policy.findings]
    print(json.dumps(findings, default=str))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Discovery benchmark: a fleet of ACCOUNTS accounts x REGIONS regions on the emulator, each
account-region with two user pools that have a custom domain, one with a prefix domain only,
and one with no domain. Runs `discover` over every account (the caller's own, the rest through
`--account ... --role-name`) and then a `plan` pass over the same custom domains, and reports
for each: API calls by operation against the floor, wall time against the quota model
(account-regions side by side), and the binary's peak RSS.

The floor for `discover`: per account-region one ListUserPools page, one DescribeUserPool per
pool and one DescribeUserPoolDomain per custom domain; one ListCertificates per account with
custom domains (STS's GetCallerIdentity and AssumeRole, one per account, are not counted: the
emulator counts JSON-protocol calls). The quota
model: Cognito's user-pool reads are ~15 requests/s per account and region, ACM's
ListCertificates 8/s per account; account-regions run side by side, so the busiest one bounds
the wall time.

usage: discover.py --binary target/release/cognito-cert-rotator [--accounts 20] [--regions 4]
"""

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
sys.path.insert(0, HERE)

import boto3  # noqa: E402

from bench import client, key_pem, pem  # noqa: E402
from demo_seed import make_ca, make_leaf  # noqa: E402

ALL_REGIONS = ["eu-west-1", "eu-central-1", "us-east-1", "ap-southeast-2", "us-west-2", "ap-northeast-1"]
OWN = "123456789012"
ROLE = "cognito-cert-rotator"
COGNITO_QUOTA = 15.0
ACM_LIST_QUOTA = 8.0


def calls(endpoint):
    with urllib.request.urlopen(endpoint + "/_ccr/calls") as r:
        return json.load(r)


def session_in(endpoint, account):
    """boto3 credentials acting in `account` (moto scopes by the assumed role's account)."""
    if account == OWN:
        return dict(aws_access_key_id="test", aws_secret_access_key="test")
    sts = client("sts", endpoint, "us-east-1")
    creds = sts.assume_role(RoleArn="arn:aws:iam::%s:role/seed" % account, RoleSessionName="seed")["Credentials"]
    return dict(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def seed_account(endpoint, account, regions, ca):
    ca_key, ca_cert = ca
    creds = session_in(endpoint, account)
    acm = boto3.client("acm", endpoint_url=endpoint, region_name="us-east-1", **creds)
    targets = []
    for region in regions:
        cognito = boto3.client("cognito-idp", endpoint_url=endpoint, region_name=region, **creds)
        for n in range(2):
            domain = "a%s-%s-%d.bench.example.com" % (account[-4:], region, n)
            key, cert = make_leaf(ca_key, ca_cert, [domain], 90)
            arn = acm.import_certificate(Certificate=pem(cert), PrivateKey=key_pem(key), CertificateChain=pem(ca_cert))["CertificateArn"]
            pool = cognito.create_user_pool(PoolName=domain)["UserPool"]["Id"]
            cognito.create_user_pool_domain(UserPoolId=pool, Domain=domain, ManagedLoginVersion=2, CustomDomainConfig={"CertificateArn": arn})
            targets.append((account, domain, pool))
        prefix = cognito.create_user_pool(PoolName="prefix-only")["UserPool"]["Id"]
        cognito.create_user_pool_domain(UserPoolId=prefix, Domain="p%s-%s" % (account[-4:], region))
        cognito.create_user_pool(PoolName="no-domain")
    return targets


def run(binary, args, endpoint, workdir):
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true", RUST_LOG="warn")
    env.pop("AWS_PROFILE", None)
    before = calls(endpoint)
    timing = os.path.join(workdir, "time.txt")
    started = time.monotonic()
    proc = subprocess.run(["/usr/bin/time", "-o", timing, "-f", "%M", binary, *args], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wall = time.monotonic() - started
    with open(timing) as f:
        rss = int(f.read().split()[-1]) / 1024
    after = calls(endpoint)
    delta = {op: after.get(op, 0) - before.get(op, 0) for op in after if after.get(op, 0) != before.get(op, 0)}
    return proc, wall, rss, dict(sorted(delta.items()))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--accounts", type=int, default=20)
    ap.add_argument("--regions", type=int, default=4)
    args = ap.parse_args()
    regions = ALL_REGIONS[: args.regions]
    accounts = [OWN] + ["%012d" % (200000000000 + i) for i in range(1, args.accounts)]
    emu = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "support", "emulator.py")],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        endpoint = json.loads(emu.stdout.readline())["endpoint"]
        print("seeding %d accounts x %d regions (4 pools each: 2 custom domains, 1 prefix-only, 1 bare)" % (len(accounts), len(regions)), file=sys.stderr)
        ca = make_ca()
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            targets = [t for ts in pool.map(lambda a: seed_account(endpoint, a, regions, ca), accounts) for t in ts]
        print("  seeded in %.1fs" % (time.monotonic() - started), file=sys.stderr)
        pools = len(accounts) * len(regions) * 4
        domains = len(targets)
        floor = {
            "ListUserPools": len(accounts) * len(regions),
            "DescribeUserPool": pools,
            "DescribeUserPoolDomain": domains,
            "ListCertificates": len(accounts),
        }
        # Busiest account-region: 1 page + 4 describes + 2 domains at 15/s; an account's ACM
        # listing at 8/s after its regions.
        per_region = (1 + 4 + 2) / COGNITO_QUOTA
        quota_model = per_region + 1 / ACM_LIST_QUOTA
        with tempfile.TemporaryDirectory() as tmp:
            command = ["discover", "--regions", ",".join(regions), "--role-name", ROLE, "--output", "json"]
            for a in accounts[1:]:
                command += ["--account", a]
            proc, wall, rss, made = run(args.binary, command, endpoint, tmp)
            found = json.loads(proc.stdout)
            print()
            print("bench discover: %d accounts x %d regions, %d user pools, %d custom domains; binary %s"
                  % (len(accounts), len(regions), pools, domains, args.binary))
            print("  exit %d, found %d custom domains, %d scopes failed" % (proc.returncode, len(found["domains"]), len(found["errors"])))
            print("  API calls (made / floor): %s" % ", ".join(
                "%s %d/%d" % (op, made.get(op, 0), floor.get(op, 0)) for op in sorted(set(made) | set(floor))))
            print("  wall %.2fs; quota model (busiest account-region %.2fs + its ACM listing %.2fs, side by side) %.2fs: %.2fx; peak RSS %.1f MiB"
                  % (wall, per_region, 1 / ACM_LIST_QUOTA, quota_model, wall / quota_model, rss))
            # The same with the client-side limits raised: what is left is the emulator's own
            # throughput (one Python process) and the binary's work.
            raised = os.path.join(tmp, "raised.yaml")
            with open(raised, "w") as f:
                f.write("rate_limits:\n  acm_list_certificates: 1000\n  cognito: 1000\n"
                        "discovery:\n  manage_tagged: {bench: none}\n")
            _, wall_raised, _, made_raised = run(args.binary, command + ["-c", raised], endpoint, tmp)
            total = sum(made_raised.values())
            print("  limits raised: wall %.2fs for %d requests: the emulator serves %.0f requests/s, so %.2fs is its floor for this fleet"
                  % (wall_raised, total, total / wall_raised, total / (total / wall_raised)))
            # A plan pass over the same custom domains, one role per account.
            config = os.path.join(tmp, "fleet.yaml")
            with open(config, "w") as f:
                f.write("state_file: %s/state.json\nverify:\n  tls: false\ndomains:\n" % tmp)
                for account, domain, pool in targets:
                    f.write("  - domain: %s\n    user_pool_id: %s\n" % (domain, pool))
                    if account != OWN:
                        f.write("    role_arn: arn:aws:iam::%s:role/%s\n" % (account, ROLE))
            proc, wall, rss, made = run(args.binary, ["plan", "--output", "json", "-c", config], endpoint, tmp)
            plan_floor = {"ListCertificates": len(accounts), "DescribeUserPoolDomain": domains}
            plan_model = max(2 / COGNITO_QUOTA, 1 / ACM_LIST_QUOTA)
            print("bench plan over the same %d domains:" % domains)
            print("  exit %d; API calls (made / floor): %s" % (proc.returncode, ", ".join(
                "%s %d/%d" % (op, made.get(op, 0), plan_floor.get(op, 0)) for op in sorted(set(made) | set(plan_floor)))))
            print("  wall %.2fs; quota model (2 domains per account-region at 15/s, ACM 8/s, side by side) %.2fs: %.2fx; peak RSS %.1f MiB"
                  % (wall, plan_model, wall / plan_model, rss))
        return 0
    finally:
        emu.terminate()
        emu.wait()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Scale benchmark: seed the emulator with N certificates and D custom domains, then time one
read-only `plan` pass of the real binary and report API calls by operation, wall time, the
binary's CPU time and its peak RSS.

Half of the domains sit on their best certificate (keep); the other half on one that
expires in 20 days with a better one in ACM (rotate), so DescribeCertificate is needed for
exactly D/2 targets (the serial of the certificate to swap in). Certificates use EC P-256
keys, which the emulator imports ~10x faster than RSA.

Two passes are measured: with the default client-side rate limits (the AWS quotas, so wall
time is set by the limiter, by design), and with the limits raised (rate_limits:) so the
rest of the wall time is the emulator's and the daemon's own work.

Needs GNU time (/usr/bin/time; Debian package `time`) for the binary's own CPU time and
peak RSS.

usage: bench.py --binary target/release/cognito-cert-rotator [--certs 2000] [--domains 200]
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

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402

from demo_seed import make_ca, make_leaf  # noqa: E402

# User pools are spread over several regions, as real fleets are: Cognito quotas are per
# account and per region, so each region's calls are paced on their own.
REGIONS = ["eu-west-1", "eu-central-1", "us-east-1", "ap-southeast-2"]

# Default AWS quotas, requests per second, per operation family (FACTS.md). Cognito's is per
# account and region; ACM's per account (its certificates all live in us-east-1).
QUOTAS = {
    "ListCertificates": ("acm-list", 8.0),
    "DescribeCertificate": ("acm-describe", 10.0),
    "ListTagsForCertificate": ("acm-tags", 10.0),
    "DescribeUserPoolDomain": ("cognito", 15.0),
    "UpdateUserPoolDomain": ("cognito", 15.0),
}


def quota_time(calls, domains_per_region):
    """Seconds the calls need at the default quotas: calls / quota per operation family,
    Cognito per region (split as the domains are: one DescribeUserPoolDomain each), families
    and regions side by side, so the slowest one bounds the pass."""
    families = {}
    for op, n in calls.items():
        if op not in QUOTAS:
            continue
        family, rate = QUOTAS[op]
        if family == "cognito":
            total = sum(domains_per_region.values())
            for region, d in domains_per_region.items():
                key = "cognito " + region
                families[key] = families.get(key, 0.0) + n * d / total / rate
        else:
            families[family] = families.get(family, 0.0) + n / rate
    return max(families.values() or [0.0]), families


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key):
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def client(service, endpoint, region):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 10, "mode": "standard"}, max_pool_connections=16),
    )


def calls(endpoint):
    with urllib.request.urlopen(endpoint + "/_ccr/calls") as r:
        return json.load(r)


def seed(endpoint, n_certs, n_domains):
    ca_key, ca_cert = make_ca()
    acm = client("acm", endpoint, "us-east-1")
    per_domain = max(2, n_certs // n_domains)
    jobs = []
    for d in range(n_domains):
        domain = "d%03d.bench.example.com" % d
        for k in range(per_domain):
            # k == 0: the certificate the domain is on. Even domains: it is the longest-lived
            # (keep). Odd domains: it expires in 20 days and k == 1 is better (rotate).
            if k == 0:
                days = 400 if d % 2 == 0 else 20
            else:
                days = 300 - k
            jobs.append((domain, k, days))
    # Pad to exactly n_certs with certificates for names nobody asked for.
    for extra in range(max(0, n_certs - len(jobs))):
        jobs.append(("other%04d.bench.example.net" % extra, 0, 90))

    def one(job):
        domain, k, days = job
        key, cert = make_leaf(ca_key, ca_cert, [domain], days)
        out = acm.import_certificate(Certificate=pem(cert), PrivateKey=key_pem(key), CertificateChain=pem(ca_cert))
        return domain, k, out["CertificateArn"]

    started = time.monotonic()
    current = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        for i, (domain, k, arn) in enumerate(pool.map(one, jobs)):
            if k == 0 and domain.startswith("d"):
                current[domain] = arn
            if (i + 1) % 500 == 0:
                print("  imported %d/%d certificates" % (i + 1, len(jobs)), file=sys.stderr, flush=True)
    imported_in = time.monotonic() - started

    targets = []
    for i, domain in enumerate(sorted(current)):
        cognito = client("cognito-idp", endpoint, REGIONS[i % len(REGIONS)])
        pool_id = cognito.create_user_pool(PoolName=domain)["UserPool"]["Id"]
        cognito.create_user_pool_domain(
            UserPoolId=pool_id,
            Domain=domain,
            ManagedLoginVersion=2,
            CustomDomainConfig={"CertificateArn": current[domain]},
        )
        targets.append((domain, pool_id))
    return targets, len(jobs), imported_in


def run_plan(binary, config, endpoint, command=("plan", "--output", "json")):
    env = dict(
        os.environ,
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        RUST_LOG="warn",
    )
    env.pop("AWS_PROFILE", None)
    before = calls(endpoint)
    # GNU time reports the binary's own peak RSS; the rusage of a child forked from this
    # Python process would count the interpreter's pages copied before exec.
    timing = os.path.join(os.path.dirname(config), "time.txt")
    started = time.monotonic()
    proc = subprocess.run(
        ["/usr/bin/time", "-o", timing, "-f", "%M %U %S", binary, *command, "-c", config],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    wall = time.monotonic() - started
    out = proc.stdout
    with open(timing) as f:
        rss_kib, user, system = f.read().split()[-3:]
    after = calls(endpoint)
    delta = {op: after.get(op, 0) - before.get(op, 0) for op in after if after.get(op, 0) != before.get(op, 0)}
    report = json.loads(out) if command[0] == "plan" else {}
    actions = {}
    for t in report.get("targets", []):
        actions[t.get("action", "?")] = actions.get(t.get("action", "?"), 0) + 1
    return {
        "exit": proc.returncode,
        "wall_s": round(wall, 2),
        "cpu_s": round(float(user) + float(system), 2),
        "peak_rss_mib": round(int(rss_kib) / 1024, 1),
        "calls": dict(sorted(delta.items())),
        "actions": actions,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--certs", type=int, default=2000)
    ap.add_argument("--domains", type=int, default=200)
    args = ap.parse_args()

    emu = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "tests", "support", "emulator.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        ready = json.loads(emu.stdout.readline())
        endpoint = ready["endpoint"]
        print("seeding %d certificates and %d domains into the emulator at %s" % (args.certs, args.domains, endpoint), file=sys.stderr)
        targets, n_certs, imported_in = seed(endpoint, args.certs, args.domains)
        print("  seeded in %.1fs (%.0f imports/s)" % (imported_in, n_certs / imported_in), file=sys.stderr)
        with tempfile.TemporaryDirectory() as tmp:
            domains = "".join("  - domain: %s\n    user_pool_id: %s\n" % t for t in targets)
            base = "state_file: %s/state.json\nverify:\n  tls: false\ndefaults:\n  min_validity: 30d\n" % tmp
            results = {}
            for name, extra in [
                ("default quotas", ""),
                ("limits raised", "rate_limits:\n  acm_list_certificates: 1000\n  acm_describe_certificate: 1000\n  acm_list_tags: 1000\n  cognito: 1000\n"),
            ]:
                config = os.path.join(tmp, "bench.yaml")
                with open(config, "w") as f:
                    f.write(base + extra + "domains:\n" + domains)
                print("plan pass (%s)..." % name, file=sys.stderr, flush=True)
                results[name] = run_plan(args.binary, config, endpoint)
        print()
        per_region = {}
        for _, pool_id in targets:
            region = pool_id.split("_", 1)[0]
            per_region[region] = per_region.get(region, 0) + 1
        print("bench: N=%d certificates (EC P-256), D=%d domains in %d regions (%s), 1 account, binary %s"
              % (n_certs, len(targets), len(per_region), ", ".join("%s=%d" % kv for kv in sorted(per_region.items())), args.binary))
        for name, r in results.items():
            print("  [%s] exit %d, wall %.2fs, binary CPU %.2fs, peak RSS %.1f MiB, actions %s"
                  % (name, r["exit"], r["wall_s"], r["cpu_s"], r["peak_rss_mib"], json.dumps(r["actions"], sort_keys=True)))
            print("    API calls: %s" % ", ".join("%s=%d" % kv for kv in r["calls"].items()))
        calls = results["default quotas"]["calls"]
        rotator, families = quota_time(calls, per_region)
        # The naive approach: DescribeCertificate for every certificate instead of reading the
        # list summaries, plus the same domain reads.
        naive_calls = dict(calls)
        naive_calls["DescribeCertificate"] = n_certs
        naive, naive_families = quota_time(naive_calls, per_region)
        print("  quota model (calls / default quota per operation family; Cognito per region; families in parallel):")
        print("    rotator: %.1fs (%s)" % (rotator, ", ".join("%s %.1fs" % kv for kv in sorted(families.items()))))
        print("    naive (DescribeCertificate for all %d certificates): %.1fs (%s)"
              % (n_certs, naive, ", ".join("%s %.1fs" % kv for kv in sorted(naive_families.items()))))
        # Shared state: a steady `once` pass (after one that rotated everything) on DynamoDB.
        with tempfile.TemporaryDirectory() as tmp:
            config = os.path.join(tmp, "ddb.yaml")
            with open(config, "w") as f:
                f.write("state:\n  dynamodb:\n    table: bench-state\nverify:\n  tls: false\ndefaults:\n  min_validity: 30d\n"
                        "rate_limits:\n  acm_list_certificates: 1000\n  acm_describe_certificate: 1000\n  acm_list_tags: 1000\n  cognito: 1000\n"
                        "domains:\n" + domains)
            init = run_plan(args.binary, config, endpoint, ("state", "init"))
            first = run_plan(args.binary, config, endpoint, ("once",))
            steady = run_plan(args.binary, config, endpoint, ("once",))
        ddb_ops = {"Query", "GetItem", "PutItem", "DeleteItem", "TransactWriteItems", "DescribeTable"}
        for name, r in [("dynamodb state: first once (rotates)", first), ("dynamodb state: steady once", steady)]:
            ddb = {op: n for op, n in r["calls"].items() if op in ddb_ops}
            print("  [%s] exit %d, wall %.2fs; DynamoDB calls %d (%s)"
                  % (name, r["exit"], r["wall_s"], sum(ddb.values()), ", ".join("%s=%d" % kv for kv in sorted(ddb.items()))))
        results["dynamodb init"] = init
        failed = [n for n, r in results.items() if r["exit"] != 0]
        return 1 if failed else 0
    finally:
        emu.terminate()
        emu.wait()


if __name__ == "__main__":
    sys.exit(main())

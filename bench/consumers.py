#!/usr/bin/env python3
"""Scale benchmark of mixed consumers (not a test): T targets, a quarter of each kind —
Cognito custom domains, CloudFront distributions, regional API Gateway domains, load balancer
listeners — spread over 4 regions of one account, then one read-only `plan` pass of the real
binary: API calls by operation, wall time, the binary's CPU time and peak RSS, against what a
naive script (one ACM listing per target, in the target's region) would call.

The floor: one ListCertificates per account and region a target takes certificates from
(us-east-1 for Cognito and CloudFront; each API Gateway domain's and listener's own region)
and one read per target (DescribeUserPoolDomain, GetDistribution, GetDomainName,
DescribeListenerCertificates), plus, for listeners only, one DescribeCertificate per
certificate on a listener (its names tell which one serves the domain; read once per
process).

usage: consumers.py --binary target/release/cognito-cert-rotator [--targets 200]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from bench import calls, client, key_pem, pem, run_plan  # noqa: E402
from demo_seed import make_ca, make_leaf  # noqa: E402

REGIONS = ["eu-west-1", "eu-central-1", "us-east-1", "ap-southeast-2"]
KINDS = ["cognito", "cloudfront", "api_gateway", "listener"]


def seed(endpoint, n_targets):
    ca_key, ca_cert = make_ca()

    def imported(region, name, days):
        key, cert = make_leaf(ca_key, ca_cert, [name], days)
        out = client("acm", endpoint, region).import_certificate(
            Certificate=pem(cert), PrivateKey=key_pem(key), CertificateChain=pem(ca_cert)
        )
        return out["CertificateArn"]

    entries = []
    started = time.monotonic()
    for i in range(n_targets):
        kind = KINDS[i % len(KINDS)]
        region = REGIONS[(i // len(KINDS)) % len(REGIONS)]
        domain = "t%03d.%s.bench.example.com" % (i, kind.replace("_", "-"))
        cert_region = region if kind in ("api_gateway", "listener") else "us-east-1"
        # Odd targets sit on a certificate expiring in 20 days with a better one (rotate).
        current = imported(cert_region, domain, 400 if i % 2 == 0 else 20)
        imported(cert_region, domain, 300)
        if kind == "cognito":
            cognito = client("cognito-idp", endpoint, region)
            pool = cognito.create_user_pool(PoolName=domain)["UserPool"]["Id"]
            cognito.create_user_pool_domain(
                UserPoolId=pool, Domain=domain, ManagedLoginVersion=2, CustomDomainConfig={"CertificateArn": current}
            )
            entries.append("  - domain: %s\n    user_pool_id: %s\n" % (domain, pool))
        elif kind == "cloudfront":
            dist = client("cloudfront", endpoint, "us-east-1").create_distribution(
                DistributionConfig={
                    "CallerReference": domain,
                    "Aliases": {"Quantity": 1, "Items": [domain]},
                    "Origins": {"Quantity": 1, "Items": [{"Id": "o", "DomainName": "origin.example.com", "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}]},
                    "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "redirect-to-https"},
                    "Comment": "bench",
                    "Enabled": True,
                    "ViewerCertificate": {"ACMCertificateArn": current, "SSLSupportMethod": "sni-only"},
                }
            )["Distribution"]["Id"]
            entries.append("  - domain: %s\n    cloudfront_distribution_id: %s\n" % (domain, dist))
        elif kind == "api_gateway":
            client("apigateway", endpoint, region).create_domain_name(
                domainName=domain, regionalCertificateArn=current, endpointConfiguration={"types": ["REGIONAL"]}
            )
            entries.append("  - domain: %s\n    api_gateway_region: %s\n" % (domain, region))
        else:
            body = json.dumps({"region": region, "default": current}).encode()
            request = urllib.request.Request(endpoint + "/_ccr/listener", data=body, method="POST")
            with urllib.request.urlopen(request) as r:
                arn = json.load(r)["arn"]
            entries.append("  - domain: %s\n    listener_arn: %s\n" % (domain, arn))
        if (i + 1) % 50 == 0:
            print("  seeded %d/%d targets" % (i + 1, n_targets), file=sys.stderr, flush=True)
    return entries, time.monotonic() - started


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--targets", type=int, default=200)
    args = ap.parse_args()
    emu = subprocess.Popen(
        [sys.executable, os.path.join(os.path.dirname(HERE), "tests", "support", "emulator.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        endpoint = json.loads(emu.stdout.readline())["endpoint"]
        print("seeding %d targets of 4 kinds over %d regions at %s" % (args.targets, len(REGIONS), endpoint), file=sys.stderr)
        entries, seeded_in = seed(endpoint, args.targets)
        print("  seeded in %.1fs" % seeded_in, file=sys.stderr)
        with tempfile.TemporaryDirectory() as tmp:
            config = os.path.join(tmp, "bench.yaml")
            with open(config, "w") as f:
                f.write(
                    "state_file: %s/state.json\nverify:\n  tls: false\ndefaults:\n  min_validity: 30d\n"
                    "rate_limits:\n  acm_list_certificates: 1000\n  acm_describe_certificate: 1000\n"
                    "  acm_list_tags: 1000\n  cognito: 1000\ndomains:\n%s" % (tmp, "".join(entries))
                )
            first = run_plan(args.binary, config, endpoint)
        by_kind = {k: 0 for k in KINDS}
        for i in range(args.targets):
            by_kind[KINDS[i % len(KINDS)]] += 1
        regions_needed = {"us-east-1"} | {
            REGIONS[(i // len(KINDS)) % len(REGIONS)] for i in range(args.targets) if KINDS[i % len(KINDS)] in ("api_gateway", "listener")
        }
        print()
        print("bench consumers: %d targets (%s) over %d regions, 1 account, 2 certificates per target, binary %s"
              % (args.targets, ", ".join("%s=%d" % kv for kv in by_kind.items()), len(REGIONS), args.binary))
        print("  [plan] exit %d, wall %.2fs, binary CPU %.2fs, peak RSS %.1f MiB, actions %s"
              % (first["exit"], first["wall_s"], first["cpu_s"], first["peak_rss_mib"], json.dumps(first["actions"], sort_keys=True)))
        print("    API calls: %s" % ", ".join("%s=%d" % kv for kv in first["calls"].items()))
        reads = sum(first["calls"].get(op, 0) for op in ("DescribeUserPoolDomain", "GetDistribution", "GetDomainName", "DescribeListenerCertificates"))
        listings = first["calls"].get("ListCertificates", 0)
        print("  floor: ListCertificates %d (one per account-region needed: %d), consumer reads %d (one per target: %d)"
              % (listings, len(regions_needed), reads, args.targets))
        naive = args.targets + reads + first["calls"].get("DescribeCertificate", 0)
        print("  naive script (one ListCertificates per target in its region, the same reads): %d calls; the rotator: %d"
              % (naive, sum(first["calls"].values())))
        return 0 if first["exit"] == 0 and listings == len(regions_needed) and reads == args.targets else 1
    finally:
        emu.terminate()
        emu.wait()


if __name__ == "__main__":
    sys.exit(main())

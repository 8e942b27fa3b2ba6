#!/usr/bin/env python3
"""Seed the local emulator for `make demo`.

Creates a private CA and certificates in ACM (us-east-1): five for auth.example.com and its
neighbours, two for www.example.com; a user pool in eu-central-1 whose custom domain is on the
old auth certificate and a CloudFront distribution serving www.example.com on the old www one;
and writes the CA and a config file into the demo folder.

usage: demo_seed.py ENDPOINT EDGE DEMO_DIR
"""

import datetime
import os
import sys

import boto3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

DOMAIN = "auth.example.com"
WWW = "www.example.com"
NOW = datetime.datetime.now(datetime.timezone.utc)


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca():
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("ccr demo CA"))
        .issuer_name(name("ccr demo CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=365))
        .not_valid_after(NOW + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_leaf(ca_key, ca_cert, sans, valid_days, curve=ec.SECP256R1()):
    key = ec.generate_private_key(curve)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name(sans[0]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=valid_days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def pem(obj):
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def main():
    endpoint, edge, demo_dir = sys.argv[1:4]
    creds = dict(endpoint_url=endpoint, aws_access_key_id="demo", aws_secret_access_key="demo")
    acm = boto3.client("acm", region_name="us-east-1", **creds)
    cognito = boto3.client("cognito-idp", region_name="eu-central-1", **creds)

    ca_key, ca_cert = make_ca()
    with open(os.path.join(demo_dir, "ca.pem"), "wb") as f:
        f.write(pem(ca_cert))

    def imported(label, sans, days, curve=ec.SECP256R1()):
        key, cert = make_leaf(ca_key, ca_cert, sans, days, curve)
        arn = acm.import_certificate(
            Certificate=pem(cert), PrivateKey=pem(key), CertificateChain=pem(ca_cert)
        )["CertificateArn"]
        print("  %-34s %s  expires in %3d days  serial %x" % (label, arn.rsplit("/", 1)[1], days, cert.serial_number))
        return arn

    print("ACM (us-east-1):")
    old = imported("old (in use, expires soon)", [DOMAIN], 20)
    imported("new (the one to rotate to)", [DOMAIN], 90)
    imported("wildcard (eligible, shorter)", ["*.example.com"], 60)
    imported("P-384 (CloudFront refuses it)", [DOMAIN], 120, ec.SECP384R1())
    imported("other domain (ignored)", ["shop.example.org"], 200)

    pool = cognito.create_user_pool(PoolName="demo")["UserPool"]["Id"]
    cognito.create_user_pool_domain(
        UserPoolId=pool, Domain=DOMAIN, CustomDomainConfig={"CertificateArn": old}, ManagedLoginVersion=2
    )
    print("Cognito (eu-central-1): user pool %s, custom domain %s on the old certificate" % (pool, DOMAIN))
    www_old = imported("www old (in use, expires soon)", [WWW], 20)
    imported("www new (the one to rotate to)", [WWW], 90)
    distribution = distribution_on(creds, www_old)
    print("CloudFront: distribution %s serving %s on the www old certificate" % (distribution, WWW))

    with open(os.path.join(demo_dir, "config.yaml"), "w") as f:
        f.write(
            "# Written by demo_seed.py for `make demo`.\n"
            "state_file: state.json  # next to this file; production: omit ($STATE_DIRECTORY)\n"
            "verify:\n"
            "  window: 30s        # production: 60m\n"
            "  interval: 2s       # production: 30s\n"
            "  connect_to: %s  # the local edge; production: omit (connects to <domain>:443)\n"
            "  ca_file: ca.pem    # the demo CA; production: omit (system roots)\n"
            "defaults:\n"
            "  min_validity: 30d\n"
            "domains:\n"
            "  - domain: %s\n"
            "    user_pool_id: %s\n"
            "  - domain: %s\n"
            "    cloudfront_distribution_id: %s\n" % (edge, DOMAIN, pool, WWW, distribution)
        )


def distribution_on(creds, arn):
    """A distribution with the alias WWW whose viewer certificate is `arn`; its ID."""
    cloudfront = boto3.client("cloudfront", region_name="us-east-1", **creds)
    origin = {
        "Id": "origin",
        "DomainName": "origin.example.com",
        "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"},
    }
    config = {
        "CallerReference": "ccr-demo",
        "Comment": "the demo site",
        "Enabled": True,
        "Aliases": {"Quantity": 1, "Items": [WWW]},
        "Origins": {"Quantity": 1, "Items": [origin]},
        "DefaultCacheBehavior": {"TargetOriginId": "origin", "ViewerProtocolPolicy": "redirect-to-https"},
        "ViewerCertificate": {"ACMCertificateArn": arn, "SSLSupportMethod": "sni-only", "MinimumProtocolVersion": "TLSv1.2_2021"},
    }
    return cloudfront.create_distribution(DistributionConfig=config)["Distribution"]["Id"]


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Local AWS (moto, patched to behave like the real API) plus a TLS "edge".

The product never knows it talks to this: it is an ordinary AWS endpoint for the SDK
(`AWS_ENDPOINT_URL`) and an ordinary TLS server for the verifier (`verify.connect_to`).

Patches (see shared/FACTS.md for why each exists; the product follows the real API):
  * Cognito DescribeUserPoolDomain returns CustomDomainConfig, ManagedLoginVersion, a stable
    CloudFrontDistribution and the owning account; Status is UPDATING for
    --updating-seconds after an update, as on real Cognito.
  * Cognito Create/UpdateUserPoolDomain store ManagedLoginVersion (an Update without it falls
    back to 1, the classic UI, as the real call may); Update rejects a UserPoolId
    that does not own the domain and a custom domain update without CustomDomainConfig.
  * ACM ListCertificates returns real-looking summaries (SubjectAlternativeNameSummaries, first
    100 only, HasAdditionalSubjectAlternativeNames), applies the real keyTypes default
    (RSA_1024/RSA_2048 only) and paginates with MaxItems/NextToken (--acm-page-size forces short
    pages, as real ACM may return).
  * ACM KeyAlgorithm is written "RSA-2048"/"EC-prime256v1" and Serial as colon-separated hex,
    as real ACM does.
  * Cognito domains keep Routing (Failover) and CustomDomainConfig.SecurityPolicy, return them
    from DescribeUserPoolDomain, and — pessimistically, since no AWS document says otherwise —
    an UpdateUserPoolDomain that omits one resets it (no routing, the default policy).
  * ACM ImportCertificate with CertificateArn (a re-import) replaces the certificate behind the
    ARN, as on real ACM; the edge keeps serving the previous material for --edge-delay seconds
    (or for good with --edge-stale), as CloudFront picks a renewal up.
  * Cognito DescribeUserPool names the pool's prefix domain in Domain and its custom domain in
    CustomDomain (a pool can have both), as real Cognito does; moto has neither.
  * POST /_ccr/deny-role {"arn"}: AssumeRole of that role answers AccessDenied (a role that
    does not exist, or does not trust the caller). Accounts are scoped by the credentials of
    the assumed role, as on AWS; moto serves Organizations as it is.
  * POST /_ccr/renewal {"arn", "status", "reason"} marks a certificate AMAZON_ISSUED with that
    RenewalSummary (RenewalStatus, RenewalStatusReason) in ListCertificates/DescribeCertificate.
  * CloudFront: a distribution with an ACM certificate is not on the default certificate
    (CloudFrontDefaultCertificate false); UpdateDistribution takes only the ETag of the latest
    config (IfMatch; otherwise PreconditionFailed) and every write makes a new ETag; Status is
    InProgress for --updating-seconds after a certificate change, then Deployed.
    POST /_ccr/cloudfront-race {"id", "times"}: each of the next `times` GetDistributionConfig
    reads of that distribution is followed by another writer's change (a new Comment, a new
    ETag), so the caller's write back meets PreconditionFailed.
  * POST /_ccr/listener {"region", "default", "sni": [...]}: an application load balancer (in a
    new VPC) with an HTTPS listener on those certificates; answers {"arn"} (seeding without
    an EC2 client).
  * ACM DescribeCertificate's InUseBy is computed from what uses the certificate now (Cognito
    custom domains as a CloudFront distribution of an AWS-owned account, distributions, API
    Gateway domain names, load balancers); moto only ever appends load balancers. Without a
    lag: real InUseBy lags seconds to 20 minutes. DeleteCertificate of a certificate in use
    answers ResourceInUseException, as on ACM.
  * ELBv2 listeners keep the default certificate apart from the SNI list, as ELB does:
    DescribeListenerCertificates lists the default (IsDefault) and the SNI list,
    ModifyListener replaces only the default, Add/RemoveListenerCertificates change only the
    SNI list and the default cannot be removed that way (OperationNotPermitted). The edge
    serves a name from a listener as ELB chooses: a covering certificate of the SNI list
    (ECDSA first, then the longest validity), else the default — so a certificate left in the
    SNI list beside a new default is still served.
  * API Gateway UpdateDomainName (missing in moto): `replace` of /certificateArn (edge-optimized)
    or /regionalCertificateArn (regional); the domain is UPDATING for --updating-seconds after.

The edge serves, for a domain (TLS SNI), the certificate its user pool domain points at — or
the CloudFront distribution with that alias, or the API Gateway custom domain of that name —
but only --edge-delay seconds after the last change of it; until then it serves the previous
one. With --edge-stale it never moves to the new one.
With --lagging-edge-delay S a second edge address (on 127.0.0.2, "lagging_edge" in the ready
line) does the same S seconds after a swap: CloudFront's addresses pick a change up at
different times.

GET /_ccr/calls on the AWS endpoint returns API call counts by operation (for tests);
GET /_ccr/calls-by-account the same per account (from the signing access key, so assumed-role
calls count in the role's account); GET /_ccr/assumed the AssumeRole calls seen (RoleArn,
ExternalId, RoleSessionName).

The fault proxy (the "proxy" address) forwards to the AWS endpoint and injects faults on
chosen operations (by X-Amz-Target; the REST and query-protocol ones the emulator names, whose
faults are answered in XML) and accounts: POST /_fault with a JSON rule
  {"operation": "ListCertificates" | "*", "account": "111111111111" (optional),
   "kind": "throttle" | "throttle429" | "500" | "503" | "reset" | "slow" | "hang" |
           "lose-answer" | "notauthorized" | "resourcenotfound" | "invalidparameter" |
           "featureunavailable" | "concurrentmodification" | "operationnotenabled",
   "times": N (-1 = every matching request), "skip": N (let the first N matches through),
   "delay": seconds (slow: then forward; hang: then drop the connection, never forwarding),
   "after": {"operation": OP, "count": N} (optional: the rule applies only once the proxy has
   seen N requests of OP, e.g. re-reads that fail only after the second write)}
("lose-answer" forwards the request, so AWS acts on it, then resets the connection instead of
returning the answer: the client cannot know whether its call happened.)
A rule with "probability": P and "kinds": [...] instead of "kind" injects, on each matching
request, one of those kinds with probability P (drawn from a generator seeded by POST
/_seed {"seed": N}, so a run can be replayed).
DELETE /_fault clears the rules; GET /_fault returns how many faults were injected by kind;
GET /_journal returns every request the proxy saw, in order: {"t": its arrival (Unix seconds),
"op", "key" (the signing access key ID: one per replica in the soak), "fault" (the kind
injected, or null), "status" (AWS's status when forwarded, null otherwise), and for the lease
item's PutItem/DeleteItem "lease": {"holder", "epoch"}, for UpdateUserPoolDomain "update":
{"domain", "arn"}}. DELETE /_journal clears it.
GET /_calls returns the calls the proxy forwarded, by operation (what one client behind it made).

Prints one JSON line {"endpoint": ..., "edge": ...} when ready; runs until stdin closes or
SIGTERM/SIGINT. With --zygote SOCKET it imports and patches once, then forks one emulator per
connection (the test harness starts every emulator that way: see zygote()).
"""

import argparse
import io
import json
import logging
import os
import random
import signal
import socket
import stat
import ssl
import sys
import tempfile
import threading
import time
import urllib.parse

PINNED_MOTO = "5.2.5"

try:
    import moto
except ImportError:  # pragma: no cover - a setup problem, said plainly
    sys.exit("emulator: moto is not installed; run `make venv` (pip install 'moto[server]==%s')" % PINNED_MOTO)

if moto.__version__ != PINNED_MOTO:
    sys.exit(
        "emulator: moto %s found, %s required (the patches below target that release); "
        "run `make venv`" % (moto.__version__, PINNED_MOTO)
    )

from moto.acm import responses as acm_responses  # noqa: E402
from moto.acm.models import acm_backends  # noqa: E402
from moto.cognitoidp import models as cog_models  # noqa: E402
from moto.cognitoidp import responses as cog_responses  # noqa: E402
from moto.cognitoidp.exceptions import InvalidParameterException  # noqa: E402
from moto.cognitoidp.models import cognitoidp_backends  # noqa: E402
from moto.core.responses import ActionResult  # noqa: E402
from moto.cognitoidp.models import md5_hash  # noqa: E402

SETTINGS = {"updating_seconds": 0.0, "edge_delay": 0.0, "edge_stale": False, "acm_page_size": 0}

# ---------------------------------------------------------------------------------------------
# Cognito
# ---------------------------------------------------------------------------------------------
_Domain = cog_models.CognitoIdpUserPoolDomain
_orig_domain_init = _Domain.__init__


def _domain_init(self, user_pool_id, domain, custom_domain_config=None):
    _orig_domain_init(self, user_pool_id, domain, custom_domain_config)
    self.managed_login_version = 1
    self.account_id = "123456789012"
    self.updated_at = 0.0
    self.previous_arn = None
    self.routing = None


def _domain_to_json(self, extended=True):
    # Real CloudFront distributions do not change when the certificate does.
    distribution = md5_hash(self.domain.encode("utf-8")).hexdigest()[:16] + ".cloudfront.net"
    if not extended:
        return {"CloudFrontDomain": distribution, "ManagedLoginVersion": self.managed_login_version}
    updating = time.time() - self.updated_at < SETTINGS["updating_seconds"]
    out = {
        "UserPoolId": self.user_pool_id,
        "AWSAccountId": self.account_id,
        "CloudFrontDistribution": distribution,
        "Domain": self.domain,
        "Status": "UPDATING" if updating else "ACTIVE",
        "ManagedLoginVersion": self.managed_login_version,
    }
    if self.custom_domain_config and self.custom_domain_config.get("CertificateArn"):
        out["CustomDomainConfig"] = {"CertificateArn": self.custom_domain_config["CertificateArn"]}
        if self.custom_domain_config.get("SecurityPolicy"):
            out["CustomDomainConfig"]["SecurityPolicy"] = self.custom_domain_config["SecurityPolicy"]
    if self.routing:
        out["Routing"] = self.routing
    return out


_Domain.__init__ = _domain_init
_Domain.to_json = _domain_to_json


def _describe_user_pool(self):
    # Real DescribeUserPool names the pool's prefix domain in Domain and its custom domain in
    # CustomDomain (a pool can have both); moto keeps neither on the pool.
    user_pool_id = self._get_param("UserPoolId")
    pool = self.backend.describe_user_pool(user_pool_id)
    out = pool.to_json(extended=True)
    out.pop("Domain", None)
    for name, domain in self.backend.user_pool_domains.items():
        if domain.user_pool_id != user_pool_id:
            continue
        if (domain.custom_domain_config or {}).get("CertificateArn"):
            out["CustomDomain"] = name
        else:
            out["Domain"] = name
    return ActionResult({"UserPool": out})


cog_responses.CognitoIdpResponse.describe_user_pool = _describe_user_pool


def _create_user_pool_domain(self):
    domain = self._get_param("Domain")
    user_pool_id = self._get_param("UserPoolId")
    config = self._get_param("CustomDomainConfig")
    created = self.backend.create_user_pool_domain(user_pool_id, domain, config)
    created.account_id = self.current_account
    created.managed_login_version = self._get_param("ManagedLoginVersion") or 1
    created.routing = self._get_param("Routing") or None
    return ActionResult(created.to_json(extended=False))


def _update_user_pool_domain(self):
    domain = self._get_param("Domain")
    user_pool_id = self._get_param("UserPoolId")
    config = self._get_param("CustomDomainConfig")
    existing = self.backend.describe_user_pool_domain(domain)
    if existing is not None and existing.user_pool_id != user_pool_id:
        raise InvalidParameterException(
            "Domain %s is not associated with user pool %s." % (domain, user_pool_id)
        )
    if existing is not None and existing.custom_domain_config and not config:
        raise InvalidParameterException(
            "CustomDomainConfig is required to update a custom domain."
        )
    previous = (existing.custom_domain_config or {}).get("CertificateArn") if existing else None
    updated = self.backend.update_user_pool_domain(domain, config)
    # Real Cognito may switch the login UI when ManagedLoginVersion is left out; model the
    # worst case (back to the classic hosted UI) so a client that forgets it is caught.
    updated.managed_login_version = self._get_param("ManagedLoginVersion") or 1
    # Likewise Routing (and SecurityPolicy, stored inside CustomDomainConfig as sent): an
    # update without it is taken as "none", so a client that drops a setting is caught.
    updated.routing = self._get_param("Routing") or None
    if config and config.get("CertificateArn") != previous:
        updated.previous_arn = previous
        updated.updated_at = time.time()
    return ActionResult(updated.to_json(extended=False))


cog_responses.CognitoIdpResponse.create_user_pool_domain = _create_user_pool_domain
cog_responses.CognitoIdpResponse.update_user_pool_domain = _update_user_pool_domain

# ---------------------------------------------------------------------------------------------
# ACM
# ---------------------------------------------------------------------------------------------
DEFAULT_KEY_TYPES = ["RSA_1024", "RSA_2048"]


def _real_key_algorithm(underscored):
    # Responses spell key algorithms with a dash on real ACM ("RSA-2048", "EC-prime256v1").
    return underscored.replace("_", "-", 1)


def _colon_hex(serial_decimal):
    raw = "%x" % int(serial_decimal)
    if len(raw) % 2:
        raw = "0" + raw
    return ":".join(raw[i : i + 2] for i in range(0, len(raw), 2))


# ARN -> {"status", "reason"}: certificates a test marked AMAZON_ISSUED with a RenewalSummary.
RENEWAL_MARKS = {}
# ARN -> (time of the re-import, the bundle it replaced): what the edge serves meanwhile.
REIMPORTS = {}


def _describe_certificate(self):
    arn = self._get_param("CertificateArn")
    bundle = self.acm_backend.describe_certificate(arn)
    desc = bundle.describe()
    cert = desc["Certificate"]
    cert["KeyAlgorithm"] = _real_key_algorithm(cert["KeyAlgorithm"])
    cert["Serial"] = _colon_hex(cert["Serial"])
    cert["InUseBy"] = in_use_by(arn)
    mark = RENEWAL_MARKS.get(arn)
    if mark:
        cert["Type"] = "AMAZON_ISSUED"
        cert["RenewalEligibility"] = "ELIGIBLE"
        cert["RenewalSummary"] = {
            "RenewalStatus": mark["status"],
            "RenewalStatusReason": mark.get("reason") or "OTHER",
            "DomainValidationOptions": [],
            "UpdatedAt": time.time(),
        }
    return ActionResult(desc)


def in_use_by(arn):
    """ACM's InUseBy, computed from what uses `arn` now (moto only ever appends load balancers):
    a Cognito custom domain shows as a CloudFront distribution in an AWS-owned account, a
    distribution and a load balancer by their ARNs, an API Gateway domain by its domain-name
    ARN. Real InUseBy lags (seconds for a load balancer, 10-20 minutes for CloudFront); here it
    is current."""
    return sorted(set(_users().get(arn, ())))


def _users():
    """Every certificate in use now -> the ARNs of what uses it (one walk of every backend)."""
    users = {}

    def add(cert, user):
        if cert:
            users.setdefault(cert, []).append(user)

    for _account, regions in list(cognitoidp_backends.items()):
        for _region, backend in list(regions.items()):
            for name, domain in list(backend.user_pool_domains.items()):
                add((domain.custom_domain_config or {}).get("CertificateArn"),
                    "arn:aws:cloudfront::%s:distribution/%s" % ("111122223333", md5_hash(name.encode("utf-8")).hexdigest()[:14].upper()))
    for account, partitions in list((cloudfront_backends or {}).items()):
        for _partition, backend in list(partitions.items()):
            for dist in list(backend.distributions.values()):
                add(_arn_of(dist.distribution_config), dist.arn)
    for _account, regions in list((apigateway_backends or {}).items()):
        for region, backend in list(regions.items()):
            for name, domain in list(backend.domain_names.items()):
                for cert in {domain.certificate_arn, domain.regional_certificate_arn}:
                    add(cert, "arn:aws:apigateway:%s::/domainnames/%s" % (region, name))
    for _account, regions in list((elbv2_backends or {}).items()):
        for _region, backend in list(regions.items()):
            for balancer in list(backend.load_balancers.values()):
                for listener in list(balancer.listeners.values()):
                    sni = getattr(listener, "sni", listener.certificates[1:])
                    for cert in {listener.certificate, *sni}:
                        add(cert, balancer.arn)
    return users


def _delete_certificate(self):
    # Real ACM refuses to delete a certificate something uses.
    arn = self._get_param("CertificateArn")
    if in_use_by(arn):
        from moto.core.exceptions import ServiceException as _Refused

        class ResourceInUse(_Refused):
            code = "ResourceInUseException"

        raise ResourceInUse("Certificate %s is in use by %s" % (arn, ", ".join(in_use_by(arn))))
    self.acm_backend.delete_certificate(arn)
    return ActionResult({})


from moto.acm import models as acm_models  # noqa: E402

_orig_import_certificate = acm_models.AWSCertificateManagerBackend.import_certificate


def _import_certificate(self, certificate, private_key, chain, arn, tags):
    previous = self._certificates.get(arn) if arn else None
    out = _orig_import_certificate(self, certificate, private_key, chain, arn, tags)
    if previous is not None:
        REIMPORTS[arn] = (time.time(), previous)
    return out


acm_models.AWSCertificateManagerBackend.import_certificate = _import_certificate


def _list_certificates(self):
    statuses = self._get_param("CertificateStatuses") or []
    includes = dict(self._get_param("Includes") or {})
    # Real ACM lists only RSA_1024/RSA_2048 keys unless keyTypes says otherwise.
    key_types = includes.get("keyTypes") or DEFAULT_KEY_TYPES
    includes["keyTypes"] = key_types
    max_items = int(self._get_param("MaxItems") or 1000)
    if SETTINGS["acm_page_size"]:
        max_items = min(max_items, SETTINGS["acm_page_size"])
    start = int(self._get_param("NextToken") or 0)
    matched = list(self.acm_backend.list_certificates(statuses, includes))
    in_use = _users()
    page = matched[start : start + max_items]
    summaries = []
    for bundle in page:
        full = bundle.describe()["Certificate"]
        names = [full["DomainName"]] + [s for s in full["SubjectAlternativeNames"] if s != full["DomainName"]]
        summary = {
            "CertificateArn": full["CertificateArn"],
            "DomainName": full["DomainName"],
            "SubjectAlternativeNameSummaries": names[:100],
            "HasAdditionalSubjectAlternativeNames": len(names) > 100,
            "Status": full["Status"],
            "Type": "AMAZON_ISSUED" if full["CertificateArn"] in RENEWAL_MARKS else full["Type"],
            "KeyAlgorithm": _real_key_algorithm(full["KeyAlgorithm"]),
            "KeyUsages": [],
            "ExtendedKeyUsages": [],
            "InUse": full["CertificateArn"] in in_use,
            "Exported": False,
            "RenewalEligibility": full["RenewalEligibility"],
            "NotBefore": full["NotBefore"],
            "NotAfter": full["NotAfter"],
        }
        for key in ("CreatedAt", "IssuedAt", "ImportedAt"):
            if key in full:
                summary[key] = full[key]
        summaries.append(summary)
    result = {"CertificateSummaryList": summaries}
    if start + max_items < len(matched):
        result["NextToken"] = str(start + max_items)
    return ActionResult(result)


acm_responses.AWSCertificateManagerResponse.list_certificates = _list_certificates
acm_responses.AWSCertificateManagerResponse.describe_certificate = _describe_certificate
acm_responses.AWSCertificateManagerResponse.delete_certificate = _delete_certificate

# ---------------------------------------------------------------------------------------------
# CloudFront
# ---------------------------------------------------------------------------------------------
from moto.core.exceptions import ServiceException  # noqa: E402



def _viewer_init(self, config):
    _orig_viewer_init(self, config)
    # Real CloudFront: a distribution with an ACM (or IAM) certificate is not on the default
    # *.cloudfront.net certificate; moto defaults CloudFrontDefaultCertificate to true.
    if "CloudFrontDefaultCertificate" not in config:
        self.cloud_front_default_certificate = not (self.acm_certificate_arn or self.iam_certificate_id)
    if self.acm_certificate_arn:
        self.certificate_source = "acm"
        self.certificate = self.acm_certificate_arn





def _distribution_init(self, account_id, region_name, config):
    _orig_distribution_init(self, account_id, region_name, config)
    self.updated_at = 0.0
    self.previous_arn = None


def _distribution_status(self):
    # InProgress for --updating-seconds after an update, then Deployed, as on real CloudFront
    # (moto says Deployed at the next read).
    return "InProgress" if time.time() - self.updated_at < SETTINGS["updating_seconds"] else "Deployed"



# Distribution ID -> how many GetDistributionConfig reads are each followed by a concurrent
# change (another writer's UpdateDistribution: a new ETag and a new Comment) before the caller
# can write back (POST /_ccr/cloudfront-race {"id", "times"}).
CLOUDFRONT_RACES = {}


class PreconditionFailed(ServiceException):
    code = "PreconditionFailed"
    message = "The precondition given in one or more of the request-header fields evaluated to false."


def _arn_of(config):
    viewer = getattr(config, "ViewerCertificate", None)
    return getattr(viewer, "acm_certificate_arn", "") or None


def _cf_get_distribution_config(self):
    dist_id = self._get_param("Id")
    config, etag = self.backend.get_distribution_config(dist_id)
    result = {"DistributionConfig": config, "ETag": etag}
    if CLOUDFRONT_RACES.get(dist_id, 0) > 0:
        CLOUDFRONT_RACES[dist_id] -= 1
        dist = self.backend.distributions[dist_id]
        config.Comment = "changed by someone else %d" % CLOUDFRONT_RACES[dist_id]
        dist.etag = cf_models.random_id()
    return ActionResult(result)


def _cf_update_distribution(self):
    # Real CloudFront takes the write only with the ETag of the latest config (IfMatch); moto
    # ignores it. Keep what is not sent as moto does, and record the certificate it replaced,
    # so the edge keeps serving it while the distribution is InProgress.
    dist_id = self._get_param("Id")
    if_match = self._get_param("IfMatch")
    dist = self.backend.distributions.get(dist_id)
    if dist is not None and if_match and if_match != dist.etag:
        raise PreconditionFailed()
    previous = _arn_of(dist.distribution_config) if dist is not None else None
    dist_config = self._get_param("DistributionConfig", {})
    dist, location, _ = self.backend.update_distribution(dist_config=dist_config, _id=dist_id, if_match=if_match)
    dist.etag = cf_models.random_id()
    if _arn_of(dist.distribution_config) != previous:
        dist.previous_arn = previous
        dist.updated_at = time.time()
    return ActionResult({"Distribution": dist, "ETag": dist.etag, "Location": location})



# ---------------------------------------------------------------------------------------------
# API Gateway (REST APIs' custom domain names)
# ---------------------------------------------------------------------------------------------



def _apigw_domain_init(self, domain_name, **kwargs):
    _orig_apigw_domain_init(self, domain_name, **kwargs)
    self.updated_at = 0.0
    self.previous_arn = None




def _apigw_domain_to_json(self):
    out = _orig_apigw_domain_to_json(self)
    # UPDATING for --updating-seconds after a certificate change, then AVAILABLE.
    if time.time() - self.updated_at < SETTINGS["updating_seconds"]:
        out["domainNameStatus"] = "UPDATING"
        out["domainNameStatusMessage"] = "Updating the certificate"
    return out



# The patch paths the emulator applies (the real API takes more; the rotator sends only these).
_APIGW_CERT_PATHS = {"/certificateArn": "certificate_arn", "/regionalCertificateArn": "regional_certificate_arn"}


def _apigw_served_arn_of(domain):
    return domain.regional_certificate_arn or domain.certificate_arn


def _apigw_update_domain_name(self):
    # moto 5.2 has no UpdateDomainName: apply `replace` of the certificate ARNs, refuse the rest.
    name = self.path.rstrip("/").split("/")[2]
    domain = self.backend.get_domain_name(name)
    ops = self._get_param("patchOperations") or []
    before = _apigw_served_arn_of(domain)
    for op in ops:
        attr = _APIGW_CERT_PATHS.get(op.get("path"))
        if op.get("op") != "replace" or attr is None:
            raise BadRequestException("Invalid patch path %s (the emulator applies only replace of %s)" % (op.get("path"), ", ".join(_APIGW_CERT_PATHS)))
        if attr == "regional_certificate_arn" and not domain.regional_certificate_arn:
            raise BadRequestException("Domain %s is not REGIONAL: patch /certificateArn" % name)
        if attr == "certificate_arn" and not domain.certificate_arn:
            raise BadRequestException("Domain %s is not EDGE: patch /regionalCertificateArn" % name)
        setattr(domain, attr, op.get("value"))
    if _apigw_served_arn_of(domain) != before:
        domain.previous_arn = before
        domain.updated_at = time.time()
    return 200, {}, json.dumps(domain.to_json())



# ---------------------------------------------------------------------------------------------
# ELBv2 listeners: a default certificate and an SNI list, kept apart as ELB keeps them
# ---------------------------------------------------------------------------------------------
from moto.core.responses import EmptyResult  # noqa: E402


def _listener(self):
    arn = self._get_param("ListenerArn")
    listener = self.elbv2_backend.describe_listeners(load_balancer_arn=None, listener_arns=[arn])[0]
    if not hasattr(listener, "sni"):
        # moto keeps one list whose first item is the default; ELB keeps the default apart.
        listener.sni = [c for c in listener.certificates[1:]]
        listener.certificates = listener.certificates[:1]
    return listener


def _elb_describe_listener_certificates(self):
    listener = _listener(self)
    items = [{"CertificateArn": listener.certificate, "IsDefault": True}] if listener.certificate else []
    items += [{"CertificateArn": arn, "IsDefault": False} for arn in listener.sni]
    return ActionResult({"Certificates": items})


def _elb_add_listener_certificates(self):
    listener = _listener(self)
    for cert in self._get_param("Certificates", []):
        if cert["CertificateArn"] not in listener.sni:
            listener.sni.append(cert["CertificateArn"])
    return ActionResult({"Certificates": [{"CertificateArn": a, "IsDefault": False} for a in listener.sni]})


def _elb_remove_listener_certificates(self):
    listener = _listener(self)
    for cert in self._get_param("Certificates", []):
        arn = cert["CertificateArn"]
        if arn == listener.certificate and arn not in listener.sni:
            raise ElbError("OperationNotPermitted", "The default certificate of a listener cannot be removed; call ModifyListener to replace it")
        listener.sni = [a for a in listener.sni if a != arn]
    return EmptyResult()




def _elb_modify_listener(self):
    # Real ModifyListener with Certificates=[one] replaces only the default; moto drops the SNI
    # list. Keep it.
    listener = _listener(self)
    sni = list(listener.sni)
    out = _orig_modify_listener(self)
    listener.sni = sni
    listener.certificates = [listener.certificate] if listener.certificate else []
    return out




def _names_of(bundle):
    """The DNS names a certificate bundle covers (its CN and SANs)."""
    try:
        from cryptography import x509

        cert = x509.load_pem_x509_certificate(bundle.cert)
        names = [a.value for a in cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)]
        try:
            names += cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
        except x509.ExtensionNotFound:
            pass
        return [n.lower() for n in names]
    except Exception:  # noqa: BLE001 - an unreadable bundle covers nothing
        return []


def _covers(pattern, name):
    return pattern == name or (pattern.startswith("*.") and name.split(".", 1)[-1] == pattern[2:])


def _listener_arn_for(name):
    """What a listener serves a client that sends `name`, as ELB chooses: among the SNI list's
    certificates covering the name, the best (ECDSA before RSA, then the longest validity);
    with none, the default. None when no listener has a certificate for the name."""
    for _account, regions in list((elbv2_backends or {}).items()):
        for _region, backend in list(regions.items()):
            for balancer in list(backend.load_balancers.values()):
                for listener in list(balancer.listeners.values()):
                    default = listener.certificate
                    sni = getattr(listener, "sni", listener.certificates[1:])
                    every = ([default] if default else []) + list(sni)
                    covering = [a for a in every if any(_covers(n, name) for n in _names_of(_bundle_for(a) or _Nothing))]
                    if not covering:
                        continue
                    matching = [a for a in sni if a in covering]
                    if not matching:
                        return default

                    def rank(arn):
                        bundle = _bundle_for(arn)
                        info = bundle.describe()["Certificate"] if bundle else {}
                        return (str(info.get("KeyAlgorithm", "")).startswith("EC"), info.get("NotAfter", 0))

                    return max(matching, key=rank)
    return None


class _Nothing:
    cert = b""


def make_listener(region, default, sni):
    """An application load balancer in a new VPC of `region` with an HTTPS listener on
    `default` and `sni` in its SNI list; its ARN (POST /_ccr/listener)."""
    import boto3

    kw = dict(
        endpoint_url=SETTINGS["endpoint"],
        region_name=region,
        aws_access_key_id=SEEDING_KEY,
        aws_secret_access_key="secret",
    )
    ec2, elb = boto3.client("ec2", **kw), boto3.client("elbv2", **kw)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.%d.0/24" % i, AvailabilityZone=region + zone)["Subnet"]["SubnetId"]
        for i, zone in enumerate("ab", start=1)
    ]
    name = "web-%d" % len(LISTENERS_MADE)
    balancer = elb.create_load_balancer(Name=name, Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    group = elb.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]["TargetGroupArn"]
    arn = elb.create_listener(
        LoadBalancerArn=balancer,
        Protocol="HTTPS",
        Port=443,
        Certificates=[{"CertificateArn": default}],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group}],
    )["Listeners"][0]["ListenerArn"]
    if sni:
        elb.add_listener_certificates(ListenerArn=arn, Certificates=[{"CertificateArn": c} for c in sni])
    LISTENERS_MADE.append(arn)
    return arn


LISTENERS_MADE = []
# The access key of the emulator's own seeding calls, which /_ccr/calls does not count.
SEEDING_KEY = "AKIASEEDINGEMULATOR0"

# ---------------------------------------------------------------------------------------------
# Services patched lazily: CloudFront, API Gateway and ELBv2 (whose import pulls in EC2) are
# imported and patched on the first request signed for them, not at start.
# ---------------------------------------------------------------------------------------------
cf_models = cf_responses = cloudfront_backends = None
apigw_models = apigw_responses = BadRequestException = apigateway_backends = None
elb_responses = elbv2_backends = ElbError = None


def _patch_cloudfront():
    """Patch moto's cloudfront (imported on the first request for it: importing every service
    at start would slow every emulator start)."""
    global _orig_distribution_init, _orig_viewer_init, cf_models, cf_responses, cloudfront_backends
    from moto.cloudfront import models as cf_models
    from moto.cloudfront import responses as cf_responses
    from moto.cloudfront.models import cloudfront_backends
    _orig_viewer_init = cf_models.ViewerCertificate.__init__
    cf_models.ViewerCertificate.__init__ = _viewer_init
    _orig_distribution_init = cf_models.Distribution.__init__
    cf_models.Distribution.__init__ = _distribution_init
    cf_models.Distribution.status = property(_distribution_status, lambda self, value: None)
    cf_responses.CloudFrontResponse.get_distribution_config = _cf_get_distribution_config
    cf_responses.CloudFrontResponse.update_distribution = _cf_update_distribution


def _patch_apigateway():
    """Patch moto's apigateway (imported on the first request for it: importing every service
    at start would slow every emulator start)."""
    global BadRequestException, _orig_apigw_domain_init, _orig_apigw_domain_to_json, apigateway_backends, apigw_models, apigw_responses
    from moto.apigateway import models as apigw_models
    from moto.apigateway import responses as apigw_responses
    from moto.apigateway.exceptions import BadRequestException
    from moto.apigateway.models import apigateway_backends
    _orig_apigw_domain_init = apigw_models.DomainName.__init__
    _orig_apigw_domain_to_json = apigw_models.DomainName.to_json
    apigw_models.DomainName.__init__ = _apigw_domain_init
    apigw_models.DomainName.to_json = _apigw_domain_to_json
    apigw_responses.APIGatewayResponse.update_domain_name = _apigw_update_domain_name


def _patch_elbv2():
    """Patch moto's elasticloadbalancing (imported on the first request for it: importing every service
    at start would slow every emulator start)."""
    global ElbError, _orig_modify_listener, elb_responses, elbv2_backends
    from moto.elbv2 import responses as elb_responses
    from moto.elbv2.models import elbv2_backends
    from moto.elbv2.exceptions import ELBClientError as ElbError
    _orig_modify_listener = elb_responses.ELBV2Response.modify_listener
    elb_responses.ELBV2Response.describe_listener_certificates = _elb_describe_listener_certificates
    elb_responses.ELBV2Response.add_listener_certificates = _elb_add_listener_certificates
    elb_responses.ELBV2Response.remove_listener_certificates = _elb_remove_listener_certificates
    elb_responses.ELBV2Response.modify_listener = _elb_modify_listener


_LAZY = {"cloudfront": _patch_cloudfront, "apigateway": _patch_apigateway, "elasticloadbalancing": _patch_elbv2}
_PATCHED = set()
_PATCH_LOCK = threading.Lock()


def ensure_patched(service):
    """Import and patch `service` (a SigV4 service name) once, before its first request."""
    patch = _LAZY.get(service)
    if patch is None or service in _PATCHED:
        return
    with _PATCH_LOCK:
        if service not in _PATCHED:
            patch()
            _PATCHED.add(service)


def signed_service(authorization):
    """The service of a SigV4 Authorization header (its credential scope), or None."""
    marker = "Credential="
    if not authorization or marker not in authorization:
        return None
    scope = authorization.split(marker, 1)[1].split(",", 1)[0].split("/")
    return scope[3] if len(scope) > 3 else None


# ---------------------------------------------------------------------------------------------
# The TLS edge (CloudFront stand-in)
# ---------------------------------------------------------------------------------------------


def _find_domain(name):
    for _account, regions in list(cognitoidp_backends.items()):
        for _region, backend in list(regions.items()):
            found = backend.user_pool_domains.get(name)
            if found is not None:
                return found
    return None


class _Served:
    """What the edge serves for a name of a CloudFront distribution or an API Gateway domain:
    its current certificate, and the one it replaced until the change has spread."""

    def __init__(self, current, previous_arn, updated_at):
        self.custom_domain_config = {"CertificateArn": current}
        self.previous_arn = previous_arn
        self.updated_at = updated_at


def _find_consumer(name):
    """A CloudFront distribution with `name` among its aliases, or an API Gateway custom
    domain called `name`, as a _Served; None when neither."""
    for _account, partitions in list((cloudfront_backends or {}).items()):
        for _partition, backend in list(partitions.items()):
            for dist in list(backend.distributions.values()):
                aliases = (getattr(dist.distribution_config, "Aliases", None) or {}).get("Items") or []
                if name in [a.lower() for a in aliases]:
                    return _Served(_arn_of(dist.distribution_config), dist.previous_arn, dist.updated_at)
    for _account, regions in list((apigateway_backends or {}).items()):
        for _region, backend in list(regions.items()):
            domain = backend.domain_names.get(name)
            if domain is not None:
                return _Served(_apigw_served_arn_of(domain), domain.previous_arn, domain.updated_at)
    served = _listener_arn_for(name)
    if served is not None:
        # A load balancer takes a certificate change in seconds: no lag.
        return _Served(served, None, 0.0)
    return None


def _bundle_for(arn):
    parts = arn.split(":")
    if len(parts) < 6:
        return None
    region, account = parts[3], parts[4]
    try:
        return acm_backends[account][region]._certificates.get(arn)
    except KeyError:
        return None


def served_bundle(arn, delay):
    """The material an edge `delay` seconds behind serves for `arn`: after a re-import, the
    previous one until the delay has passed (forever with --edge-stale)."""
    bundle = _bundle_for(arn)
    reimport = REIMPORTS.get(arn)
    if reimport is not None:
        at, previous = reimport
        if SETTINGS["edge_stale"] or time.time() - at < delay:
            return previous
    return bundle


def served_arn(domain_model, delay):
    current = (domain_model.custom_domain_config or {}).get("CertificateArn")
    if domain_model.previous_arn is None:
        return current
    if SETTINGS["edge_stale"]:
        return domain_model.previous_arn
    if time.time() - domain_model.updated_at < delay:
        return domain_model.previous_arn
    return current


def accept_loop(sock, handle):
    """Serve each connection on its own thread until the socket closes."""
    while True:
        try:
            conn, _ = sock.accept()
        except OSError:
            return
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


class Edge:
    """One edge address: serves each domain's certificate `delay` seconds after a swap."""

    def __init__(self, port, delay, host="127.0.0.1"):
        self.delay = delay
        self.contexts = {}
        self.lock = threading.Lock()
        self.base = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.base.sni_callback = self._on_sni
        self.sock = socket.create_server((host, port))
        self.address = "%s:%d" % (host, self.sock.getsockname()[1])
        self.port = self.sock.getsockname()[1]

    def _context_for(self, arn):
        with self.lock:
            bundle = served_bundle(arn, self.delay)
            if bundle is None:
                return None
            key = (arn, bundle.cert)
            if key in self.contexts:
                return self.contexts[key]
            # ssl loads a key only from a file: it lives for the load and no longer, so runs
            # leave no private keys behind in the temporary folder.
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            with tempfile.NamedTemporaryFile(prefix="ccr-edge-", suffix=".pem") as f:
                f.write(bundle.key.strip() + b"\n" + bundle.cert.strip() + b"\n")
                if bundle.chain:
                    f.write(bundle.chain.strip() + b"\n")
                f.flush()
                ctx.load_cert_chain(f.name)
            self.contexts[key] = ctx
            return ctx

    def _on_sni(self, sslobj, server_name, _ctx):
        name = (server_name or "").lower()
        domain = _find_domain(name) or _find_consumer(name)
        if domain is None:
            return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
        arn = served_arn(domain, self.delay)
        ctx = self._context_for(arn) if arn else None
        if ctx is None:
            return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
        sslobj.context = ctx
        return None

    def _handle(self, conn):
        try:
            conn.settimeout(10)
            with self.base.wrap_socket(conn, server_side=True) as tls:
                tls.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        except (OSError, ssl.SSLError):
            pass

    def serve(self):
        accept_loop(self.sock, self._handle)


def account_of(authorization):
    """The account a SigV4 Authorization header's access key belongs to (moto maps
    assumed-role keys to the role's account, as AWS does)."""
    from moto.iam.models import get_account_id_from

    marker = "Credential="
    if marker not in (authorization or ""):
        return "unknown"
    return get_account_id_from(authorization.split(marker, 1)[1].split("/", 1)[0])


ASSUMED = []


# Roles that cannot be assumed (POST /_ccr/deny-role {"arn": ...}): AssumeRole answers
# AccessDenied, as for a role that does not exist or does not trust the caller.
DENIED_ROLES = set()


def _record_assume_role(orig):
    def assume_role(self):
        if self._get_param("RoleArn") in DENIED_ROLES:
            from moto.sts.exceptions import STSClientError

            raise STSClientError(
                "AccessDenied",
                "User is not authorized to perform: sts:AssumeRole on resource: %s" % self._get_param("RoleArn"),
            )
        ASSUMED.append(
            {
                "RoleArn": self._get_param("RoleArn"),
                "ExternalId": self._get_param("ExternalId"),
                "RoleSessionName": self._get_param("RoleSessionName"),
            }
        )
        return orig(self)

    return assume_role


from moto.sts import responses as sts_responses  # noqa: E402

sts_responses.TokenResponse.assume_role = _record_assume_role(sts_responses.TokenResponse.assume_role)


# DynamoDB: a conditional write is atomic on real DynamoDB (the condition is checked and the
# item written as one step). moto's threaded server checks and writes without a lock, so two
# racing transactions could both pass `version = 3`. Serialise item reads and writes, as the
# real service behaves for one item.
import moto.dynamodb.responses as ddb_responses

_DDB_LOCK = threading.Lock()


def _serialised(orig):
    def call(self, *args, **kwargs):
        with _DDB_LOCK:
            return orig(self, *args, **kwargs)

    return call


for _name in ("transact_write_items", "put_item", "delete_item", "update_item", "get_item", "query"):
    setattr(ddb_responses.DynamoHandler, _name, _serialised(getattr(ddb_responses.DynamoHandler, _name)))


# The REST operations the rotator calls (CloudFront, API Gateway), named from method and path
# as the X-Amz-Target header names the JSON protocols' ones.
_REST_OPERATIONS = [
    ("GET", "/2020-05-31/distribution/*/config", "GetDistributionConfig"),
    ("PUT", "/2020-05-31/distribution/*/config", "UpdateDistribution"),
    ("GET", "/2020-05-31/distribution/*", "GetDistribution"),
    ("GET", "/2020-05-31/distribution", "ListDistributions"),
    ("GET", "/domainnames/*", "GetDomainName"),
    ("PATCH", "/domainnames/*", "UpdateDomainName"),
    ("GET", "/domainnames", "GetDomainNames"),
    ("GET", "/2020-05-31/tagging", "ListTagsForResource"),
]

# Query-protocol operations (ELBv2, STS) are named by their Action form field.
_QUERY_ACTIONS = {"DescribeListenerCertificates", "AddListenerCertificates", "RemoveListenerCertificates", "ModifyListener", "DescribeListeners", "DescribeTags"}


def _named(method, path, body):
    """A REST operation by its method and path, a query-protocol one by its Action (for the
    fault proxy, which otherwise knows operations by X-Amz-Target); "" when neither."""
    rest = rest_operation(method, path.split("?", 1)[0])
    if rest:
        return rest
    action = urllib.parse.parse_qs((body or b"").decode("utf-8", "replace")).get("Action", [""])[0]
    return action if action in _QUERY_ACTIONS else ""


def rest_operation(method, path):
    parts = (path or "").rstrip("/").split("/")
    for want_method, pattern, name in _REST_OPERATIONS:
        want = pattern.split("/")
        if method == want_method and len(want) == len(parts) and all(w in ("*", p) for w, p in zip(want, parts)):
            return name
    return None


class CallCounter:
    """WSGI wrapper counting API calls by operation (X-Amz-Target), so tests can prove what
    was *not* called. GET /_ccr/calls returns the counts as JSON."""

    def __init__(self, app):
        self.app = app
        self.counts = {}
        self.by_account = {}
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO")
        ensure_patched(signed_service(environ.get("HTTP_AUTHORIZATION")))
        views = {
            "/_ccr/calls": lambda: self.counts,
            "/_ccr/calls-by-account": lambda: self.by_account,
            "/_ccr/assumed": lambda: ASSUMED,
        }
        if path == "/_ccr/deny-role":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            DENIED_ROLES.add(json.loads(environ["wsgi.input"].read(length))["arn"])
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "2")])
            return [b"{}"]
        if path == "/_ccr/renewal":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            mark = json.loads(environ["wsgi.input"].read(length) or b"{}")
            with self.lock:
                RENEWAL_MARKS[mark["arn"]] = {"status": mark["status"], "reason": mark.get("reason")}
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "2")])
            return [b"{}"]
        if path == "/_ccr/listener":
            ensure_patched("elasticloadbalancing")
            length = int(environ.get("CONTENT_LENGTH") or 0)
            spec = json.loads(environ["wsgi.input"].read(length) or b"{}")
            body = json.dumps({"arn": make_listener(spec["region"], spec["default"], spec.get("sni", []))}).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        if path == "/_ccr/cloudfront-race":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            race = json.loads(environ["wsgi.input"].read(length) or b"{}")
            with self.lock:
                CLOUDFRONT_RACES[race["id"]] = int(race.get("times", 1))
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "2")])
            return [b"{}"]
        if path in views:
            with self.lock:
                body = json.dumps(views[path]()).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        target = environ.get("HTTP_X_AMZ_TARGET")
        operation = target.rsplit(".", 1)[-1] if target else rest_operation(environ.get("REQUEST_METHOD"), path)
        if not operation and (environ.get("CONTENT_TYPE") or "").startswith("application/x-www-form-urlencoded"):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)
            action = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]
            operation = action if action in _QUERY_ACTIONS else None
        if SEEDING_KEY in (environ.get("HTTP_AUTHORIZATION") or ""):
            operation = None
        if operation:
            account = account_of(environ.get("HTTP_AUTHORIZATION"))
            with self.lock:
                self.counts[operation] = self.counts.get(operation, 0) + 1
                per = self.by_account.setdefault(account, {})
                per[operation] = per.get(operation, 0) + 1
        return self.app(environ, start_response)


class FaultProxy:
    """An HTTP/1.1 proxy between the SDK and the emulator that injects AWS-shaped faults."""

    FAULTS = {
        # kind: (status, error type, message)
        "throttle": (400, "ThrottlingException", "Rate exceeded"),
        "throttle429": (429, "TooManyRequestsException", "Too many requests"),
        "500": (500, "InternalFailure", "We encountered an internal error. Please try again."),
        "503": (503, "ServiceUnavailable", "Service unavailable, please retry."),
        # Non-retryable: the call fails at once, the target fails, the others go on.
        "notauthorized": (400, "NotAuthorizedException", "User is not authorized to perform this action."),
        "resourcenotfound": (400, "ResourceNotFoundException", "The requested resource was not found."),
        "invalidparameter": (400, "InvalidParameterException", "1 validation error detected."),
        "featureunavailable": (400, "FeatureUnavailableInTierException", "This feature is not available in the user pool's feature plan."),
        "concurrentmodification": (400, "ConcurrentModificationException", "The domain is being modified by another request."),
        "operationnotenabled": (400, "OperationNotEnabledException", "This operation is not enabled in a secondary region of a multi-region user pool."),
    }

    def __init__(self, upstream_port, port=0):
        self.upstream_port = upstream_port
        self.rules = []
        self.injected = {}
        # Requests seen per operation, for rules with "after".
        self.seen = {}
        self.forwarded = {}
        self.journal = []
        self.rng = random.Random(0)
        self.lock = threading.Lock()
        self.sock = socket.create_server(("127.0.0.1", port))
        self.port = self.sock.getsockname()[1]

    def serve(self):
        accept_loop(self.sock, self._connection)

    @staticmethod
    def _read_request(f):
        line = f.readline()
        if not line:
            return None
        headers = []
        while True:
            h = f.readline()
            if h in (b"\r\n", b"\n", b""):
                break
            name, _, value = h.decode("latin-1").partition(":")
            headers.append((name.strip(), value.strip()))
        length = int(next((v for n, v in headers if n.lower() == "content-length"), "0") or 0)
        body = f.read(length) if length else b""
        return line.decode("latin-1").strip(), headers, body

    def _match(self, operation, account):
        with self.lock:
            self.seen[operation] = self.seen.get(operation, 0) + 1
            for rule in self.rules:
                if rule["operation"] not in ("*", operation):
                    continue
                after = rule.get("after")
                if after and self.seen.get(after["operation"], 0) < after["count"]:
                    continue
                if rule.get("account") and rule["account"] != account:
                    continue
                if rule.get("times", -1) == 0:
                    continue
                if rule.get("skip", 0) > 0:
                    rule["skip"] -= 1
                    continue
                if "probability" in rule:
                    if self.rng.random() >= rule["probability"]:
                        continue
                    rule = dict(rule, kind=self.rng.choice(rule["kinds"]))
                if rule.get("times", -1) > 0:
                    rule["times"] -= 1
                self.injected[rule["kind"]] = self.injected.get(rule["kind"], 0) + 1
                return rule
        return None

    def _control(self, method, body, path="/_fault"):
        with self.lock:
            if path.startswith("/_calls"):
                return json.dumps(self.forwarded).encode()
            if path.startswith("/_seed"):
                self.rng.seed(json.loads(body)["seed"])
                return b"{}"
            if path.startswith("/_journal"):
                if method == "DELETE":
                    self.journal.clear()
                return json.dumps(self.journal).encode()
            if method == "POST":
                self.rules.append(json.loads(body))
            elif method == "DELETE":
                self.rules.clear()
            return json.dumps(self.injected).encode()

    def _connection(self, conn):
        import http.client

        upstream = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=60)
        f = conn.makefile("rb")
        try:
            while True:
                request = self._read_request(f)
                if request is None:
                    return
                start, headers, body = request
                method, path, _ = start.split(" ", 2)
                close = any(n.lower() == "connection" and v.lower() == "close" for n, v in headers)
                if path.startswith(("/_fault", "/_calls", "/_seed", "/_journal")):
                    self._send(conn, 200, [("Content-Type", "application/json")], self._control(method, body, path))
                    if close:
                        return
                    continue
                target = next((v for n, v in headers if n.lower() == "x-amz-target"), "")
                operation = target.rsplit(".", 1)[-1] if target else _named(method, path, body)
                account = account_of(next((v for n, v in headers if n.lower() == "authorization"), ""))
                rule = self._match(operation, account) if operation else None
                entry = self._journal_entry(operation, headers, body, rule)
                if rule is not None and rule["kind"] == "reset":
                    # RST instead of FIN: the client sees "connection reset by peer".
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    return
                if rule is not None and rule["kind"] in self.FAULTS:
                    status, error_type, message = self.FAULTS[rule["kind"]]
                    if target:
                        payload = json.dumps({"__type": error_type, "message": message}).encode()
                        content_type = "application/x-amz-json-1.1"
                    else:
                        # Query and REST-XML services (ELB, CloudFront) answer errors in XML.
                        payload = (
                            "<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error>"
                            "<RequestId>fault</RequestId></ErrorResponse>" % (error_type, message)
                        ).encode()
                        content_type = "text/xml"
                    self._send(
                        conn,
                        status,
                        [("Content-Type", content_type), ("x-amzn-ErrorType", error_type), ("x-amzn-RequestId", "fault")],
                        payload,
                    )
                    if close:
                        return
                    continue
                if rule is not None and rule["kind"] == "hang":
                    # The call never reaches AWS: a process killed meanwhile never made it.
                    time.sleep(float(rule.get("delay", 60.0)))
                    return
                if rule is not None and rule["kind"] == "slow":
                    time.sleep(float(rule.get("delay", 1.0)))
                with self.lock:
                    self.forwarded[operation] = self.forwarded.get(operation, 0) + 1
                hop = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "content-length"}
                upstream.request(method, path, body=body, headers={n: v for n, v in headers if n.lower() not in hop})
                response = upstream.getresponse()
                data = response.read()
                if entry is not None:
                    entry["status"] = response.status
                if rule is not None and rule["kind"] == "lose-answer":
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    return
                out_headers = [(n, v) for n, v in response.getheaders() if n.lower() not in hop]
                self._send(conn, response.status, out_headers, data)
                if close:
                    return
        except (OSError, ValueError, http.client.HTTPException):
            return
        finally:
            try:
                conn.close()
            except OSError:
                pass
            upstream.close()

    def _journal_entry(self, operation, headers, body, rule):
        """Append this request to the journal; the entry, to complete with AWS's status."""
        if not operation:
            return None
        auth = next((v for n, v in headers if n.lower() == "authorization"), "")
        key = auth.split("Credential=", 1)[1].split("/", 1)[0] if "Credential=" in auth else None
        entry = {"t": time.time(), "op": operation, "key": key, "fault": rule["kind"] if rule else None, "status": None}
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            request = {}
        if operation in ("PutItem", "DeleteItem"):
            item = request.get("Item") or request.get("Key") or {}
            if item.get("pk", {}).get("S") == "lease":
                entry["lease"] = {
                    "holder": item.get("holder", {}).get("S"),
                    "epoch": int(item.get("epoch", {}).get("N", "0")),
                }
        if operation == "UpdateUserPoolDomain":
            entry["update"] = {
                "domain": request.get("Domain"),
                "arn": (request.get("CustomDomainConfig") or {}).get("CertificateArn"),
            }
        with self.lock:
            self.journal.append(entry)
        return entry

    @staticmethod
    def _send(conn, status, headers, body):
        head = "HTTP/1.1 %d X\r\n" % status
        for n, v in headers:
            head += "%s: %s\r\n" % (n, v)
        head += "Content-Length: %d\r\n\r\n" % len(body)
        conn.sendall(head.encode("latin-1") + body)


def parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0, help="AWS endpoint port (0 = any free port)")
    parser.add_argument("--edge-port", type=int, default=0, help="TLS edge port (0 = any free port)")
    parser.add_argument("--proxy-port", type=int, default=0, help="fault proxy port (0 = any free port)")
    parser.add_argument("--edge-delay", type=float, default=0.0, help="seconds before the edge serves a swapped certificate")
    parser.add_argument("--edge-stale", action="store_true", help="keep serving the old certificate after a swap")
    parser.add_argument("--lagging-edge-delay", type=float, default=None, help="also serve a second edge address (127.0.0.2) this many seconds behind a swap")
    parser.add_argument("--updating-seconds", type=float, default=0.0, help="seconds a domain reads UPDATING after an update")
    parser.add_argument("--acm-page-size", type=int, default=0, help="cap ListCertificates pages at this many items")
    parser.add_argument("--tmp", metavar="DIR", default=None, help="the temporary folder this emulator writes to (default: the system's)")
    parser.add_argument("--zygote", metavar="SOCKET", default=None, help="import once, then fork one emulator per connection to this Unix socket (the test harness's fast start; see zygote())")
    return parser


def main(argv=None, conn=None):
    """Run one emulator. Its ready line goes to stdout, or to `conn` when forked by the
    zygote; it runs until stdin (or `conn`) closes, or SIGTERM/SIGINT."""
    args = parser().parse_args(argv)
    if args.zygote:
        return zygote(args.zygote)
    if args.tmp:
        tempfile.tempdir = args.tmp
    SETTINGS.update(
        updating_seconds=args.updating_seconds,
        edge_delay=args.edge_delay,
        edge_stale=args.edge_stale,
        acm_page_size=args.acm_page_size,
    )

    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    # One line per request on stderr drowns the test output; errors still show.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = CallCounter(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    SETTINGS["endpoint"] = "http://127.0.0.1:%d" % server.server_port
    threading.Thread(target=server.serve_forever, daemon=True).start()
    edge = Edge(args.edge_port, args.edge_delay)
    threading.Thread(target=edge.serve, daemon=True).start()
    lagging = None
    if args.lagging_edge_delay is not None:
        lagging = Edge(0, args.lagging_edge_delay, host="127.0.0.2")
        threading.Thread(target=lagging.serve, daemon=True).start()
    proxy = FaultProxy(server.server_port, args.proxy_port)
    threading.Thread(target=proxy.serve, daemon=True).start()

    ready = json.dumps(
        {
            "endpoint": "http://127.0.0.1:%d" % server.server_port,
            "edge": "127.0.0.1:%d" % edge.port,
            "lagging_edge": lagging.address if lagging else None,
            "proxy": "http://127.0.0.1:%d" % proxy.port,
            "pid": os.getpid(),
        }
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    def watch(read):
        # The parent (a test) holds our stdin (or the connection); when it goes away, so do we.
        try:
            while read():
                pass
        except (OSError, ValueError):
            pass
        stop.set()

    if conn is not None:
        conn.sendall((ready + "\n").encode())
        threading.Thread(target=watch, args=(lambda: conn.recv(1),), daemon=True).start()
    else:
        print(ready, flush=True)
        # Only a pipe means "a parent holds us": /dev/null or a terminal would end us at once.
        if stat.S_ISFIFO(os.fstat(0).st_mode):
            threading.Thread(target=watch, args=(lambda: sys.stdin.read(1),), daemon=True).start()
    stop.wait()
    server.shutdown()


def zygote(path):
    """The test harness's fast start: import moto and patch every service once (0.8 s of CPU
    a start otherwise costs), then fork one emulator per connection to the Unix socket `path`.
    A connection sends one JSON line {"args": [...flags]}; the forked emulator answers its
    ready line (with its "pid") on the connection and lives until the connection closes.
    Single-threaded until each fork, so a child inherits no lock held by another thread. Ends
    when stdin closes (the test process is gone)."""
    import select

    from moto.server import DomainDispatcherApplication, create_backend_app  # noqa: F401
    from werkzeug.serving import make_server  # noqa: F401

    for service in _LAZY:
        ensure_patched(service)
    _warm()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(path):
        os.unlink(path)
    listener.bind(path)
    listener.listen(64)
    print(json.dumps({"zygote": path}), flush=True)
    try:
        while True:
            readable, _, _ = select.select([listener, 0], [], [])
            if 0 in readable and not os.read(0, 1):
                return
            if listener in readable:
                conn, _ = listener.accept()
                if os.fork() == 0:
                    listener.close()
                    _forked(conn)
                conn.close()
    finally:
        if os.path.exists(path):
            os.unlink(path)


# One harmless read per service the tests use (no call that changes the emulator's own state:
# ASSUMED, RENEWAL_MARKS, LISTENERS_MADE and the rest stay empty).
_WARM_CALLS = [
    ("acm", "list_certificates", {}),
    ("cognito-idp", "list_user_pools", {"MaxResults": 1}),
    ("cloudfront", "list_distributions", {}),
    ("apigateway", "get_domain_names", {}),
    ("elbv2", "describe_load_balancers", {}),
    ("dynamodb", "list_tables", {}),
    ("sqs", "list_queues", {}),
    ("sns", "list_topics", {}),
    ("sts", "get_caller_identity", {}),
    ("organizations", "list_accounts", {}),
]


def _warm():
    """Make each service's first request once, in the zygote, then reset: a first request
    loads that service's models and data (0.1 s of CPU for ACM, 1.9 s for the load balancers,
    which build EC2's default VPC and image catalogue), and every forked emulator would pay it
    again. The server thread is joined before the first fork (see zygote())."""
    import urllib.request

    import boto3
    import botocore.exceptions
    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, DomainDispatcherApplication(create_backend_app), threaded=False)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    endpoint = "http://127.0.0.1:%d" % server.server_port
    try:
        session = boto3.session.Session(
            aws_access_key_id="warm", aws_secret_access_key="warm", region_name="us-east-1"
        )
        for service, operation, params in _WARM_CALLS:
            client = session.client(service, endpoint_url=endpoint)
            try:
                getattr(client, operation)(**params)
            except botocore.exceptions.ClientError:
                pass  # an answer, even a refusal, is what warms it
            client.close()
        urllib.request.urlopen(urllib.request.Request(endpoint + "/moto-api/reset", method="POST")).read()
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def _forked(conn):
    """A zygote's child: run the emulator the connection asks for, then exit."""
    code = 0
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        random.seed()
        os.setpgid(0, 0)  # a test's Ctrl-C reaches the zygote, not its emulators
        line = conn.makefile("rb").readline()
        main(json.loads(line)["args"], conn)
    except BaseException as e:  # noqa: BLE001 - a child never returns into the zygote's loop
        sys.stderr.write("emulator: %r\n" % (e,))
        code = 1
    finally:
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    main()

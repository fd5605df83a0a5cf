#!/usr/bin/env python3
"""An independent ID-JAG client, written from draft-ietf-oauth-identity-assertion-authz-grant
(§4.3, §4.4, §7), RFC 8693, RFC 7523, RFC 8414 and RFC 6750 alone — it imports nothing from
trustbench: httpx for HTTP, PyJWT for signing its client assertions, cryptography for keys.

Given an ID token the IdP issued to this client, it

1. reads the IdP's metadata (RFC 8414 ``/.well-known/oauth-authorization-server``, falling back
   to OpenID Discovery) and checks the ``issuer`` and ``identity_chaining_requested_token_types_supported``;
2. exchanges the ID token at the IdP's token endpoint for an ID-JAG (RFC 8693 with
   ``requested_token_type=urn:ietf:params:oauth:token-type:id-jag``, ``audience`` = the resource
   AS issuer, ``resource``, ``scope``), authenticating with ``private_key_jwt``; checks
   ``issued_token_type`` and ``token_type: N_A`` (draft §4.3.4);
3. reads the resource AS's RFC 8414 metadata and checks it lists the ID-JAG grant profile (§7);
4. redeems the ID-JAG with ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` and its own
   ``private_key_jwt`` registration at that AS (§4.4);
5. optionally calls an API with the access token in the ``Authorization`` header.

It prints one JSON object describing each step — never a token — and exits non-zero on failure.

Example::

    python examples/id_jag_client.py --idp http://127.0.0.1:8001 --client-id sales-agent-prod-001 \\
        --client-key agent.pem --id-token-file id_token.txt --resource-as http://127.0.0.1:8005 \\
        --resource-as-client-id acme-sales-agent --resource-as-key agent-at-pricing.pem \\
        --resource https://pricing.acmecorp.internal/api --scope pricing:read \\
        --api http://127.0.0.1:8006/prices/enterprise-tier
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ID_JAG = "urn:ietf:params:oauth:token-type:id-jag"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
ID_JAG_PROFILE = "urn:ietf:params:oauth:grant-profile:id-jag"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class ClientError(Exception):
    """A step failed; the message says which and why (never a token)."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int_b64(number: int, length: int | None = None) -> str:
    return b64url(number.to_bytes(length or (number.bit_length() + 7) // 8, "big"))


def thumbprint(public_key: Any) -> tuple[str, str]:
    """(RFC 7638 JWK thumbprint, JWS alg) of a public key: the ``kid`` the client registered."""
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        numbers = public_key.public_numbers()
        members, alg = {"crv": "P-256", "kty": "EC", "x": _int_b64(numbers.x, 32), "y": _int_b64(numbers.y, 32)}, "ES256"
    elif isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        members, alg = {"e": _int_b64(numbers.e), "kty": "RSA", "n": _int_b64(numbers.n)}, "RS256"
    elif isinstance(public_key, ed25519.Ed25519PublicKey):
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        members, alg = {"crv": "Ed25519", "kty": "OKP", "x": b64url(raw)}, "EdDSA"
    else:
        raise ClientError("unsupported key type")
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":")).encode()
    return b64url(hashlib.sha256(canonical).digest()), alg


class PrivateKeyJwt:
    """``private_key_jwt`` client authentication (RFC 7523 §2.2, §3; OIDC Core §9)."""

    def __init__(self, client_id: str, key_file: Path) -> None:
        self.client_id = client_id
        self.key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        self.kid, self.alg = thumbprint(self.key.public_key())

    def params(self, audience: str) -> dict[str, str]:
        now = int(time.time())
        claims = {"iss": self.client_id, "sub": self.client_id, "aud": audience, "iat": now, "exp": now + 60,
                  "jti": str(uuid.uuid4())}
        assertion = jwt.encode(claims, self.key, algorithm=self.alg,
                               headers={"kid": self.kid, "typ": "client-authentication+jwt"})
        return {"client_id": self.client_id, "client_assertion_type": CLIENT_ASSERTION_TYPE,
                "client_assertion": assertion}


def well_known(issuer: str, suffix: str) -> str:
    """RFC 8414 §3.1: the well-known suffix goes between the host and the issuer's path."""
    parts = urlsplit(issuer)
    return urlunsplit((parts.scheme, parts.netloc, suffix + parts.path.rstrip("/"), "", ""))


def metadata(http: httpx.Client, issuer: str) -> dict[str, Any]:
    for url in (well_known(issuer, "/.well-known/oauth-authorization-server"),
                issuer.rstrip("/") + "/.well-known/openid-configuration"):
        response = http.get(url, headers={"accept": "application/json"})
        if response.status_code == 200:
            document = response.json()
            if document.get("issuer") != issuer:  # RFC 8414 §3.3
                raise ClientError(f"metadata at {url} names another issuer")
            return document
    raise ClientError(f"no authorization server metadata for {issuer}")


def token_request(http: httpx.Client, endpoint: str, form: list[tuple[str, str]]) -> dict[str, Any]:
    response = http.post(endpoint, content=urlencode(form),  # repeated resource/audience keep their order
                         headers={"accept": "application/json", "content-type": "application/x-www-form-urlencoded"})
    try:
        body = response.json()
    except ValueError:
        raise ClientError(f"{endpoint} answered HTTP {response.status_code} without JSON") from None
    if response.status_code != 200:
        raise ClientError(f"{endpoint} answered HTTP {response.status_code}: {body.get('error')} "
                          f"({body.get('error_description', '')})")
    if "no-store" not in response.headers.get("cache-control", ""):
        raise ClientError(f"{endpoint} sent a token response without Cache-Control: no-store")
    return body


def unverified_claims(token: str) -> dict[str, Any]:
    """For the report only: the client treats the ID-JAG as opaque (draft §4.3.4)."""
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    return {"typ": header.get("typ"), **{k: claims.get(k) for k in ("iss", "sub", "aud", "client_id", "resource",
                                                                    "scope", "exp", "iat")}}


def run(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {}
    with httpx.Client(timeout=10.0, follow_redirects=False) as http:
        idp = metadata(http, args.idp)
        chaining = idp.get("identity_chaining_requested_token_types_supported", [])
        report["idp"] = {"issuer": idp["issuer"], "token_endpoint": idp["token_endpoint"],
                         "advertises_id_jag": ID_JAG in chaining}
        idp_client = PrivateKeyJwt(args.client_id, Path(args.client_key))
        form = [("grant_type", TOKEN_EXCHANGE), ("requested_token_type", ID_JAG),
                ("audience", args.resource_as), ("subject_token", Path(args.id_token_file).read_text().strip()),
                ("subject_token_type", ID_TOKEN)]
        form += [("resource", r) for r in args.resource] + ([("scope", args.scope)] if args.scope else [])
        form += list(idp_client.params(idp["issuer"]).items())
        exchanged = token_request(http, idp["token_endpoint"], form)
        if exchanged.get("issued_token_type") != ID_JAG or exchanged.get("token_type") != "N_A":
            raise ClientError("the IdP did not issue an ID-JAG (issued_token_type / token_type N_A)")
        id_jag = exchanged["access_token"]
        report["id_jag"] = {"issued_token_type": exchanged["issued_token_type"],
                            "token_type": exchanged["token_type"], "expires_in": exchanged.get("expires_in"),
                            "scope": exchanged.get("scope"), "claims": unverified_claims(id_jag)}

        resource_as = metadata(http, args.resource_as)
        if ID_JAG_PROFILE not in resource_as.get("authorization_grant_profiles_supported", []):
            raise ClientError("the resource authorization server does not support the ID-JAG profile")
        if JWT_BEARER not in resource_as.get("grant_types_supported", []):
            raise ClientError("the resource authorization server does not list the jwt-bearer grant")
        as_client = PrivateKeyJwt(args.resource_as_client_id, Path(args.resource_as_key))
        form = [("grant_type", JWT_BEARER), ("assertion", id_jag)]
        form += list(as_client.params(resource_as["issuer"]).items())
        tokens = token_request(http, resource_as["token_endpoint"], form)
        if str(tokens.get("token_type", "")).lower() != "bearer" or not tokens.get("access_token"):
            raise ClientError("the resource authorization server did not issue a bearer access token")
        report["access_token"] = {"token_type": tokens["token_type"], "expires_in": tokens.get("expires_in"),
                                  "scope": tokens.get("scope"), "refresh_token_issued": "refresh_token" in tokens}
        if args.api:
            response = http.get(args.api, headers={"authorization": f"Bearer {tokens['access_token']}",
                                                   "accept": "application/json"})
            report["api"] = {"status": response.status_code,
                             "body": response.json() if response.status_code == 200 else None,
                             "www_authenticate": response.headers.get("www-authenticate")}
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--idp", required=True, help="issuer identifier of the IdP")
    parser.add_argument("--client-id", required=True, help="this client's id at the IdP")
    parser.add_argument("--client-key", required=True, help="PEM private key registered at the IdP")
    parser.add_argument("--id-token-file", required=True, help="file holding the user's ID token (issued to us)")
    parser.add_argument("--resource-as", required=True, help="issuer identifier of the resource AS")
    parser.add_argument("--resource-as-client-id", required=True, help="this client's id at the resource AS")
    parser.add_argument("--resource-as-key", required=True, help="PEM private key registered at the resource AS")
    parser.add_argument("--resource", action="append", default=[], help="RFC 8707 resource (repeatable)")
    parser.add_argument("--scope", default="", help="space-separated scopes at the resource")
    parser.add_argument("--api", default="", help="URL to GET with the access token")
    args = parser.parse_args(argv)
    try:
        report = run(args)
    except (ClientError, httpx.HTTPError, OSError, ValueError) as error:
        print(json.dumps({"error": f"{type(error).__name__}: {error}"}))
        return 1
    print(json.dumps(report, indent=2, sort_keys=True))
    return 0 if report.get("api", {}).get("status", 200) == 200 else 2


if __name__ == "__main__":
    sys.exit(main())

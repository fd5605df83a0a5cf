"""OpenID Provider metadata (OpenID Connect Discovery 1.0 §3, §4; RFC 8414 §2, §3; RFC 9207 §3).

The provider builds its document from its issuer base URL; a relying party fetches
``issuer + "/.well-known/openid-configuration"`` (Discovery §4.1: appended after stripping a
trailing ``/``) and refuses a document whose ``issuer`` differs from the prefix it used (§4.3),
that lacks a required member, or that does not advertise S256 PKCE (RFC 8414 §2: absent ⇒ no PKCE).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from protocols.http import HttpResponse

WELL_KNOWN_PATH = "/.well-known/openid-configuration"

AUTHORIZE_PATH = "/authorize"
LOGIN_PATH = "/login"
TOKEN_PATH = "/token"
USERINFO_PATH = "/userinfo"
JWKS_PATH = "/jwks"
FEDERATE_PATH = "/federate"
"""Endpoint paths below the issuer; ``FEDERATE_PATH/<upstream>`` and ``.../callback`` for social login."""


class DiscoveryRejected(ValueError):
    """A metadata document the relying party must not use (Discovery §4.3)."""


def discovery_url(issuer: str) -> str:
    """Where the provider metadata of ``issuer`` lives (Discovery §4.1)."""
    return issuer.rstrip("/") + WELL_KNOWN_PATH


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class ProviderMetadata:
    """The provider metadata document (Discovery §3); field names are the JSON member names."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    scopes_supported: tuple[str, ...] = attrs.field(default=("openid", "profile", "email"), converter=_strings)
    response_types_supported: tuple[str, ...] = attrs.field(default=("code",), converter=_strings)
    response_modes_supported: tuple[str, ...] = attrs.field(default=("query",), converter=_strings)
    grant_types_supported: tuple[str, ...] = attrs.field(default=("authorization_code",), converter=_strings)
    subject_types_supported: tuple[str, ...] = attrs.field(default=("public",), converter=_strings)
    id_token_signing_alg_values_supported: tuple[str, ...] = attrs.field(default=("RS256",), converter=_strings)
    token_endpoint_auth_methods_supported: tuple[str, ...] = attrs.field(
        default=("private_key_jwt", "client_secret_basic"), converter=_strings)
    token_endpoint_auth_signing_alg_values_supported: tuple[str, ...] = attrs.field(
        default=("RS256", "ES256", "EdDSA"), converter=_strings)
    claims_supported: tuple[str, ...] = attrs.field(default=(
        "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "amr", "azp", "sid",
        "name", "email", "email_verified", "role", "territory"), converter=_strings)
    code_challenge_methods_supported: tuple[str, ...] = attrs.field(default=("S256",), converter=_strings)
    authorization_response_iss_parameter_supported: bool = True
    claims_parameter_supported: bool = False
    request_parameter_supported: bool = False
    request_uri_parameter_supported: bool = False
    # OpenID CIBA Core §4 and RFC 9396 §10 (set by protocols.oidc.backchannel when CIBA is served).
    backchannel_authentication_endpoint: str | None = None
    backchannel_token_delivery_modes_supported: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    backchannel_user_code_parameter_supported: bool = False
    authorization_details_types_supported: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    # draft-ietf-oauth-identity-assertion-authz-grant §7: token types the IdP issues by token exchange.
    identity_chaining_requested_token_types_supported: tuple[str, ...] = attrs.field(default=(), converter=_strings)

    @classmethod
    def for_issuer(cls, issuer: str, **overrides: Any) -> ProviderMetadata:
        """The document of a provider whose endpoints sit below ``issuer`` at the standard paths."""
        base = issuer.rstrip("/")
        return cls(issuer=issuer, authorization_endpoint=base + AUTHORIZE_PATH, token_endpoint=base + TOKEN_PATH,
                   userinfo_endpoint=base + USERINFO_PATH, jwks_uri=base + JWKS_PATH, **overrides)

    def to_json(self) -> dict[str, Any]:
        """JSON members; empty arrays are omitted (RFC 8414 §2)."""
        out: dict[str, Any] = {}
        for field in attrs.fields(type(self)):
            value = getattr(self, field.name)
            if value is None:
                continue
            if isinstance(value, tuple):
                if not value:
                    continue
                value = list(value)
            out[field.name] = value
        return out

    def to_response(self) -> HttpResponse:
        return HttpResponse.json_body(self.to_json(), headers={"cache-control": "max-age=3600"})

    @classmethod
    def from_json(cls, document: Any, *, expected_issuer: str) -> ProviderMetadata:
        """Validate a fetched document as a relying party (Discovery §4.3, RFC 8414 §3.3)."""
        if not isinstance(document, Mapping):
            raise DiscoveryRejected("the metadata document is not a JSON object")
        if document.get("issuer") != expected_issuer:
            raise DiscoveryRejected("issuer in the metadata differs from the issuer used to fetch it")
        required = ("authorization_endpoint", "token_endpoint", "jwks_uri", "response_types_supported",
                    "subject_types_supported", "id_token_signing_alg_values_supported")
        missing = [name for name in required if name not in document]
        if missing:
            raise DiscoveryRejected(f"the metadata lacks required members: {', '.join(missing)}")
        if "S256" not in (document.get("code_challenge_methods_supported") or ()):
            raise DiscoveryRejected("the provider does not advertise S256 PKCE")
        if "RS256" not in document["id_token_signing_alg_values_supported"]:
            raise DiscoveryRejected("id_token_signing_alg_values_supported must include RS256")
        if "none" in (document.get("token_endpoint_auth_signing_alg_values_supported") or ()):
            raise DiscoveryRejected("token_endpoint_auth_signing_alg_values_supported lists none")
        known = {field.name for field in attrs.fields(cls)}
        values: dict[str, Any] = {}
        for name, value in document.items():
            if name not in known:
                continue  # unknown members are ignored (Discovery §3)
            default = getattr(attrs.fields(cls), name).default
            if isinstance(default, tuple):
                ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
            elif isinstance(default, bool):
                ok = isinstance(value, bool)
            else:
                ok = isinstance(value, str)
            if not ok:
                raise DiscoveryRejected(f"{name} has the wrong type")
            values[name] = value
        if "userinfo_endpoint" not in values:
            raise DiscoveryRejected("the metadata lacks userinfo_endpoint")
        try:
            return cls(**values)
        except TypeError as exc:
            raise DiscoveryRejected(f"the metadata is malformed ({exc})") from None

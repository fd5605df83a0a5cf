"""OpenID Provider metadata (OpenID Connect Discovery 1.0 §3, §4; RFC 8414 §2, §3; RFC 9207 §3).

``ProviderMetadata`` is the RFC 8414 document (``protocols.oauth.metadata``) plus the Discovery §3
members (``userinfo_endpoint``, subject types, ID token algorithms, claims, request parameters), those
CIBA and the ID-JAG draft add, and its RFC 7662 introspection endpoint (``private_key_jwt`` only). The
provider builds its document from its issuer base URL; a relying party fetches
``issuer + "/.well-known/openid-configuration"`` (Discovery §4.1: appended after stripping a
trailing ``/``) and refuses a document whose ``issuer`` differs from the prefix it used (§4.3),
that lacks a required member, or that does not advertise S256 PKCE (RFC 8414 §2: absent ⇒ no PKCE).
"""

from __future__ import annotations

from typing import Any

import attrs

from protocols.oauth.introspection import INTROSPECTION_PATH
from protocols.oauth.metadata import SIGNING_ALGS, AuthorizationServerMetadata, flag, strings

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


@attrs.frozen(kw_only=True)
class ProviderMetadata(AuthorizationServerMetadata):
    """The provider metadata document (Discovery §3): the RFC 8414 members with the provider's
    defaults, plus its own; field names are the JSON member names."""

    userinfo_endpoint: str
    scopes_supported: tuple[str, ...] = strings(("openid", "profile", "email"))
    grant_types_supported: tuple[str, ...] = strings(("authorization_code",))
    subject_types_supported: tuple[str, ...] = strings(("public",))
    id_token_signing_alg_values_supported: tuple[str, ...] = strings(("RS256",))
    token_endpoint_auth_methods_supported: tuple[str, ...] = strings(("private_key_jwt", "client_secret_basic"))
    revocation_endpoint_auth_methods_supported: tuple[str, ...] = strings()
    # RFC 7662 §2 via RFC 8414 §2: the protected resources registered here (the action gate) introspect.
    introspection_endpoint_auth_methods_supported: tuple[str, ...] = strings(("private_key_jwt",))
    introspection_endpoint_auth_signing_alg_values_supported: tuple[str, ...] = strings(SIGNING_ALGS)
    claims_supported: tuple[str, ...] = strings((
        "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "amr", "azp", "sid",
        "name", "email", "email_verified", "role", "territory"))
    claims_parameter_supported: bool = flag(False)
    request_parameter_supported: bool = flag(False)
    request_uri_parameter_supported: bool = flag(False)
    # OpenID CIBA Core §4 and RFC 9396 §10 (set by protocols.oidc.backchannel when CIBA is served).
    backchannel_authentication_endpoint: str | None = None
    backchannel_token_delivery_modes_supported: tuple[str, ...] = strings()
    backchannel_user_code_parameter_supported: bool = flag(False)
    authorization_details_types_supported: tuple[str, ...] = strings()
    # draft-ietf-oauth-identity-assertion-authz-grant §7: token types the IdP issues by token exchange.
    identity_chaining_requested_token_types_supported: tuple[str, ...] = strings()

    @classmethod
    def for_issuer(cls, issuer: str, **overrides: Any) -> ProviderMetadata:
        """The document of a provider whose endpoints sit below ``issuer`` at the standard paths."""
        base = issuer.rstrip("/")
        return cls(issuer=issuer, authorization_endpoint=base + AUTHORIZE_PATH, token_endpoint=base + TOKEN_PATH,
                   userinfo_endpoint=base + USERINFO_PATH, jwks_uri=base + JWKS_PATH,
                   introspection_endpoint=base + INTROSPECTION_PATH, **overrides)

    @classmethod
    def from_json(cls, document: Any, *, expected_issuer: str) -> ProviderMetadata:
        """Validate a fetched document as a relying party (Discovery §4.3, RFC 8414 §3.3)."""
        document = cls.checked_document(document, expected_issuer=expected_issuer, rejected=DiscoveryRejected)
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
        values = cls.typed_members(document, rejected=DiscoveryRejected)  # unknown members are ignored (§3)
        if "userinfo_endpoint" not in values:
            raise DiscoveryRejected("the metadata lacks userinfo_endpoint")
        try:
            return cls(**values)
        except TypeError as exc:
            raise DiscoveryRejected(f"the metadata is malformed ({exc})") from None

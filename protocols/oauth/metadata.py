"""OAuth 2.0 Authorization Server Metadata (RFC 8414) for plain OAuth servers (no OpenID Connect).

- Location (§3.1): ``/.well-known/oauth-authorization-server`` inserted between the host and the
  path of the issuer.
- Document (§2): arrays with no element are omitted; ``code_challenge_methods_supported`` absent
  means no PKCE, so clients refuse such a server (RFC 7636, MCP authorization); RFC 9207's
  ``authorization_response_iss_parameter_supported`` announces ``iss`` in authorization responses.
- Client check (§3.3): the ``issuer`` of the document must be identical to the issuer the URL was
  built from, else the document is discarded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import attrs

from protocols.http import HttpResponse

WELL_KNOWN_SUFFIX = "/.well-known/oauth-authorization-server"


class MetadataRejected(ValueError):
    """A metadata document the client must not use (RFC 8414 §3.3)."""


def metadata_url(issuer: str) -> str:
    """Where the metadata of ``issuer`` lives (RFC 8414 §3.1)."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, WELL_KNOWN_SUFFIX + path, "", ""))


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class AuthorizationServerMetadata:
    """The RFC 8414 §2 document; attribute names are the JSON member names."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    revocation_endpoint: str
    scopes_supported: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    response_types_supported: tuple[str, ...] = attrs.field(default=("code",), converter=_strings)
    response_modes_supported: tuple[str, ...] = attrs.field(default=("query",), converter=_strings)
    grant_types_supported: tuple[str, ...] = attrs.field(
        default=("authorization_code", "refresh_token"), converter=_strings)
    token_endpoint_auth_methods_supported: tuple[str, ...] = attrs.field(
        default=("client_secret_basic", "private_key_jwt"), converter=_strings)
    token_endpoint_auth_signing_alg_values_supported: tuple[str, ...] = attrs.field(
        default=("RS256", "ES256", "EdDSA"), converter=_strings)
    revocation_endpoint_auth_methods_supported: tuple[str, ...] = attrs.field(
        default=("client_secret_basic", "private_key_jwt"), converter=_strings)
    code_challenge_methods_supported: tuple[str, ...] = attrs.field(default=("S256",), converter=_strings)
    authorization_response_iss_parameter_supported: bool = True

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for field in attrs.fields(type(self)):
            value = getattr(self, field.name)
            if isinstance(value, tuple):
                if not value:
                    continue
                value = list(value)
            out[field.name] = value
        return out

    def to_response(self) -> HttpResponse:
        return HttpResponse.json_body(self.to_json(), headers={"cache-control": "max-age=3600"})

    @classmethod
    def from_json(cls, document: Any, *, expected_issuer: str) -> AuthorizationServerMetadata:
        """Validate a fetched document as a client (RFC 8414 §3.3)."""
        if not isinstance(document, Mapping):
            raise MetadataRejected("the metadata document is not a JSON object")
        if document.get("issuer") != expected_issuer:
            raise MetadataRejected("issuer in the metadata differs from the issuer used to fetch it")
        if "S256" not in (document.get("code_challenge_methods_supported") or ()):
            raise MetadataRejected("the server does not advertise S256 PKCE")
        if "none" in (document.get("token_endpoint_auth_signing_alg_values_supported") or ()):
            raise MetadataRejected("token_endpoint_auth_signing_alg_values_supported lists none")
        values: dict[str, Any] = {}
        for field in attrs.fields(cls):
            if field.name not in document:
                continue
            value = document[field.name]
            if isinstance(field.default, tuple):
                ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
            elif isinstance(field.default, bool):
                ok = isinstance(value, bool)
            else:
                ok = isinstance(value, str) and value.startswith(("https://", "http://"))
            if not ok:
                raise MetadataRejected(f"{field.name} has the wrong type")
            values[field.name] = value
        missing = [f.name for f in attrs.fields(cls) if f.default is attrs.NOTHING and f.name not in values]
        if missing:
            raise MetadataRejected(f"the metadata lacks required members: {', '.join(missing)}")
        return cls(**values)

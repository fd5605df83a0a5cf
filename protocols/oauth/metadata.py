"""OAuth 2.0 Authorization Server Metadata (RFC 8414): the one document builder every
authorization server here uses — the plain OAuth servers of the SaaS providers (this class), the
OpenID Provider (``protocols.oidc.discovery.ProviderMetadata`` adds the OIDC Discovery §3 members)
and the ID-JAG resource AS (``protocols.resource_authorization_server.ResourceAsMetadata`` adds the
draft's §7 member).

- Location (§3.1): ``/.well-known/oauth-authorization-server`` inserted between the host and the
  path of the issuer (OIDC Discovery §4.1 appends its own suffix instead).
- Document (§2): members without a value (``None``) and arrays with no element are omitted;
  ``code_challenge_methods_supported`` absent means no PKCE, so clients refuse such a server
  (RFC 7636, MCP authorization); RFC 9207's ``authorization_response_iss_parameter_supported``
  announces ``iss`` in authorization responses; a server with an RFC 7662 endpoint advertises it
  with its client authentication methods and algorithms (none by default).
- Client check (§3.3): the ``issuer`` of the document must be identical to the issuer the URL was
  built from, else the document is discarded (:meth:`AuthorizationServerMetadata.checked_document`);
  members are type-checked by :meth:`AuthorizationServerMetadata.typed_members`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import attrs

from protocols.http import HttpResponse

WELL_KNOWN_SUFFIX = "/.well-known/oauth-authorization-server"
SIGNING_ALGS = ("RS256", "ES256", "EdDSA")
"""``token_endpoint_auth_signing_alg_values_supported``: the client-assertion algorithms we verify."""

_STRINGS, _FLAG = "strings", "flag"


class MetadataRejected(ValueError):
    """A metadata document the client must not use (RFC 8414 §3.3)."""


def metadata_url(issuer: str) -> str:
    """Where the metadata of ``issuer`` lives (RFC 8414 §3.1)."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, WELL_KNOWN_SUFFIX + path, "", ""))


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(value)


def strings(default: tuple[str, ...] = ()) -> Any:
    """An array-of-strings member (a tuple here; omitted from the document when empty)."""
    return attrs.field(default=default, converter=_strings, metadata={"kind": _STRINGS})


def flag(default: bool | None) -> Any:
    """A boolean member (omitted from the document when ``None``)."""
    return attrs.field(default=default, metadata={"kind": _FLAG})


@attrs.frozen(kw_only=True)
class AuthorizationServerMetadata:
    """The RFC 8414 §2 document; attribute names are the JSON member names. Subclasses add their
    members and change the defaults of these."""

    REQUIRED: ClassVar[tuple[str, ...]] = ("authorization_endpoint", "token_endpoint", "jwks_uri",
                                           "revocation_endpoint")
    """Members a client of a plain OAuth server needs (the vault: code flow, refresh and revocation)."""

    issuer: str
    authorization_endpoint: str | None = None
    token_endpoint: str
    jwks_uri: str
    revocation_endpoint: str | None = None
    scopes_supported: tuple[str, ...] = strings()
    response_types_supported: tuple[str, ...] = strings(("code",))
    response_modes_supported: tuple[str, ...] = strings(("query",))
    grant_types_supported: tuple[str, ...] = strings(("authorization_code", "refresh_token"))
    token_endpoint_auth_methods_supported: tuple[str, ...] = strings(("client_secret_basic", "private_key_jwt"))
    token_endpoint_auth_signing_alg_values_supported: tuple[str, ...] = strings(SIGNING_ALGS)
    revocation_endpoint_auth_methods_supported: tuple[str, ...] = strings(("client_secret_basic", "private_key_jwt"))
    introspection_endpoint: str | None = None
    introspection_endpoint_auth_methods_supported: tuple[str, ...] = strings()
    introspection_endpoint_auth_signing_alg_values_supported: tuple[str, ...] = strings()
    code_challenge_methods_supported: tuple[str, ...] = strings(("S256",))
    authorization_response_iss_parameter_supported: bool | None = flag(True)

    def to_json(self) -> dict[str, Any]:
        """JSON members; ``None`` and empty arrays are omitted (RFC 8414 §2)."""
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

    @staticmethod
    def checked_document(document: Any, *, expected_issuer: str,
                         rejected: type[ValueError] = MetadataRejected) -> Mapping[str, Any]:
        """RFC 8414 §3.3: a JSON object whose ``issuer`` is the one the URL was built from."""
        if not isinstance(document, Mapping):
            raise rejected("the metadata document is not a JSON object")
        if document.get("issuer") != expected_issuer:
            raise rejected("issuer in the metadata differs from the issuer used to fetch it")
        return document

    @classmethod
    def typed_members(cls, document: Mapping[str, Any], *, rejected: type[ValueError] = MetadataRejected,
                      urls: bool = False) -> dict[str, Any]:
        """The members this class knows, each of the right type (unknown members are ignored):
        arrays of strings, booleans, else strings — absolute http(s) URLs when ``urls``."""
        values: dict[str, Any] = {}
        for field in attrs.fields(cls):
            if field.name not in document:
                continue
            value = document[field.name]
            kind = field.metadata.get("kind")
            if kind == _STRINGS:
                ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
            elif kind == _FLAG:
                ok = isinstance(value, bool)
            else:
                ok = isinstance(value, str) and (not urls or value.startswith(("https://", "http://")))
            if not ok:
                raise rejected(f"{field.name} has the wrong type")
            values[field.name] = value
        return values

    @classmethod
    def from_json(cls, document: Any, *, expected_issuer: str) -> AuthorizationServerMetadata:
        """Validate a fetched document as a client (RFC 8414 §3.3)."""
        document = cls.checked_document(document, expected_issuer=expected_issuer)
        if "S256" not in (document.get("code_challenge_methods_supported") or ()):
            raise MetadataRejected("the server does not advertise S256 PKCE")
        if "none" in (document.get("token_endpoint_auth_signing_alg_values_supported") or ()):
            raise MetadataRejected("token_endpoint_auth_signing_alg_values_supported lists none")
        values = cls.typed_members(document, urls=True)
        missing = [name for name in cls.REQUIRED if name not in values]
        if missing:
            raise MetadataRejected(f"the metadata lacks required members: {', '.join(missing)}")
        return cls(**values)

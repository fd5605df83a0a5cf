"""OAuth 2.0 Protected Resource Metadata (RFC 9728) and the resource server's ``WWW-Authenticate``
challenge (RFC 6750 §3, RFC 9728 §5.1), both sides.

- Resource identifier: the MCP authorization spec's *canonical server URI* — lower-case scheme and
  host, no fragment, no trailing slash (``https://mcp.example.com/mcp``). :func:`canonical_resource`
  refuses anything else that RFC 8707 §2 would (relative URIs, fragments).
- Location (RFC 9728 §3.1): ``/.well-known/oauth-protected-resource`` is inserted between the host and
  the path of the resource identifier (:func:`metadata_url`).
- Document (§2): ``resource`` (REQUIRED), ``authorization_servers`` (the MCP spec requires at least
  one), ``scopes_supported``, ``bearer_methods_supported`` (only ``header``: MCP forbids the query and
  the body), ``resource_name``, ``resource_documentation``. Empty arrays are omitted.
- Client validation (§3.3): the ``resource`` of the document must be *identical* to the identifier
  the well-known URL was built from — or, when the URL came from a challenge, to the URL the client
  was requesting; otherwise the document is discarded (impersonation defence, §7.3). We stay exact
  (no prefix matching), so strict clients work against our servers.
- Challenge (RFC 6750 §3, §3.1; RFC 9728 §5.1; MCP authorization "Scope challenge handling"):
  ``Bearer resource_metadata="…"``, ``scope="…"`` with every scope the request needs, and
  ``error``/``error_description`` only when a token was presented (no ``error`` when the request
  carried no credentials). :func:`parse_challenge` reads the auth-params back (RFC 9110 §11.2).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import attrs

from protocols.http import HttpResponse

WELL_KNOWN_PREFIX = "/.well-known/oauth-protected-resource"
BEARER_METHODS = ("header",)
"""How a bearer token may be presented (RFC 6750 §2.1 only; §2.2/§2.3 are refused, as MCP requires)."""


class MetadataRejected(ValueError):
    """A protected-resource metadata document the client must not use (RFC 9728 §3.3)."""


def canonical_resource(uri: str) -> str:
    """The canonical form of a resource identifier (RFC 8707 §2, MCP authorization §"Canonical
    Server URI"): absolute, no fragment, lower-case scheme and host, no trailing slash.

    Raises ``ValueError`` for a relative URI, a fragment, or userinfo in the authority.
    """
    parts = urlsplit(uri)
    if not parts.scheme or not parts.netloc:
        raise ValueError("a resource identifier is an absolute URI")
    if parts.fragment or "#" in uri:
        raise ValueError("a resource identifier must not contain a fragment (RFC 8707 §2)")
    if "@" in parts.netloc:
        raise ValueError("a resource identifier must not carry userinfo")
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))


def metadata_url(resource: str) -> str:
    """Where the metadata of ``resource`` lives (RFC 9728 §3.1): the well-known prefix inserted
    between the host and the path (``https://h/mcp`` → ``https://h/.well-known/oauth-protected-resource/mcp``)."""
    parts = urlsplit(resource)
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, WELL_KNOWN_PREFIX + path, parts.query, ""))


def metadata_path(resource: str) -> str:
    """The path part of :func:`metadata_url`, which a server routes."""
    return urlsplit(metadata_url(resource)).path


def _strings(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class ProtectedResourceMetadata:
    """The RFC 9728 §2 document of one resource server; attribute names are the JSON members."""

    resource: str
    authorization_servers: tuple[str, ...] = attrs.field(converter=_strings)
    scopes_supported: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    bearer_methods_supported: tuple[str, ...] = attrs.field(default=BEARER_METHODS, converter=_strings)
    resource_name: str | None = None
    resource_documentation: str | None = None

    def __attrs_post_init__(self) -> None:
        if not self.authorization_servers:
            raise ValueError("the MCP authorization spec requires at least one authorization server")
        if "offline_access" in self.scopes_supported:
            raise ValueError("offline_access is not a resource scope (MCP authorization)")

    @property
    def url(self) -> str:
        return metadata_url(self.resource)

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"resource": self.resource,
                                    "authorization_servers": list(self.authorization_servers)}
        for name in ("scopes_supported", "bearer_methods_supported"):
            if getattr(self, name):
                document[name] = list(getattr(self, name))
        for name in ("resource_name", "resource_documentation"):
            if getattr(self, name) is not None:
                document[name] = getattr(self, name)
        return document

    def to_response(self) -> HttpResponse:
        """``200 application/json`` (RFC 9728 §3.2); public and cacheable for a few minutes."""
        return HttpResponse.json_body(self.to_json(), headers={"cache-control": "public, max-age=300"})

    @classmethod
    def from_json(cls, document: Any, *, expected_resource: str) -> ProtectedResourceMetadata:
        """Parse as a client and apply §3.3: ``resource`` must equal ``expected_resource`` exactly."""
        if not isinstance(document, Mapping):
            raise MetadataRejected("the protected-resource metadata is not a JSON object")
        resource = document.get("resource")
        if not isinstance(resource, str) or not resource:
            raise MetadataRejected("the metadata has no resource member")
        if resource != expected_resource:
            raise MetadataRejected("the metadata describes another resource than the one requested")
        values: dict[str, Any] = {}
        for name in ("authorization_servers", "scopes_supported", "bearer_methods_supported"):
            value = document.get(name, [])
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise MetadataRejected(f"{name} is not an array of strings")
            values[name] = tuple(value)
        for name in ("resource_name", "resource_documentation"):
            value = document.get(name)
            if value is not None and not isinstance(value, str):
                raise MetadataRejected(f"{name} is not a string")
            values[name] = value
        if not values["bearer_methods_supported"]:
            values.pop("bearer_methods_supported")
        try:
            return cls(resource=resource, **values)
        except ValueError as exc:
            raise MetadataRejected(str(exc)) from None


# -- the challenge ----------------------------------------------------------------------------------

_TOKEN68_OR_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_PARAM = re.compile(r'\s*([!#$%&\'*+\-.^_`|~0-9A-Za-z]+)\s*=\s*("(?:[^"\\]|\\.)*"|[!#$%&\'*+\-.^_`|~0-9A-Za-z]+)\s*')


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def bearer_challenge(*, resource_metadata: str, scope: Iterable[str] = (), error: str | None = None,
                     error_description: str | None = None) -> str:
    """A ``WWW-Authenticate`` value (RFC 6750 §3, RFC 9728 §5.1). Pass ``error`` only when the request
    carried a token (RFC 6750 §3.1: a request without credentials gets no error code)."""
    params = [("resource_metadata", resource_metadata)]
    scopes = " ".join(scope)
    if scopes:
        params.append(("scope", scopes))
    if error is not None:
        params.append(("error", error))
        if error_description:
            params.append(("error_description", error_description))
    return "Bearer " + ", ".join(f"{name}={_quoted(value)}" for name, value in params)


def parse_challenge(value: str) -> dict[str, str] | None:
    """The auth-params of the first ``Bearer`` challenge in a ``WWW-Authenticate`` value, or ``None``
    when there is none (RFC 9110 §11.2, §11.6.1). Parameter names are lower-cased; quoted values are
    unescaped. Other schemes' challenges in the same header are skipped."""
    position, length = 0, len(value)
    while position < length:
        while position < length and value[position] in " ,\t":
            position += 1
        scheme_match = _TOKEN68_OR_TOKEN.match(value, position)
        if scheme_match is None:
            return None
        scheme = scheme_match.group(0)
        position = scheme_match.end()
        params: dict[str, str] = {}
        while True:
            match = _PARAM.match(value, position)
            if match is None:
                break
            name, raw = match.group(1).lower(), match.group(2)
            if raw.startswith('"'):
                raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
            params.setdefault(name, raw)
            position = match.end()
            if position < length and value[position] == ",":
                position += 1
                continue
            break
        if scheme.lower() == "bearer":
            return params
    return None

"""An MCP server as an OAuth 2.0 resource server: what it checks on every request, and how it says no.

Sources: MCP authorization spec rev 2026-07-28 (``basic/authorization``: "Access Token Usage",
"Token Handling", "Scope challenge handling", "Token passthrough" in security considerations),
RFC 6750 §2.1 and §3.1, RFC 9068 §4, RFC 8707 §2, RFC 8693 §4.1, RFC 9728 §5.1, JSON-RPC 2.0 §4–§5.

Per request, in this order (:func:`authenticate`):

1. the token comes from ``Authorization: Bearer`` only (query and body refused, RFC 6750 §2.1);
   no credentials → ``401`` with ``WWW-Authenticate: Bearer resource_metadata=…, scope=…`` and no
   ``error`` (RFC 6750 §3.1);
2. it is an RFC 9068 JWT access token of the configured issuer, signature checked against that
   issuer's JWKS, not expired (scenario clock), ``typ`` ``at+jwt``, ``alg`` never ``none``
   (``protocols.oidc.userinfo.validate_access_token`` → ``verify_jwt``);
3. its audience is *exactly* this server's canonical resource identifier — a token minted for
   another MCP server, or for several audiences at once, is refused (no token passthrough);
4. a delegation's ``act`` claim (RFC 8693 §4.1) is well formed; the agent is its outermost actor;
5. its scopes cover what this server requires (``403 insufficient_scope`` with ``scope`` listing
   everything needed). Scope hierarchy: a scope covers itself and every scope below it in the
   colon-separated hierarchy (``mcp:crm`` covers ``mcp:crm:read``).

Then the JSON-RPC body is parsed strictly (:func:`parse_message`: UTF-8, no duplicate members, one
request or notification object; batches and posted responses are refused), and a
``resources/read`` is mapped to its FGA object (``protocols.fga.rag.object_for_uri``) so the user of
the token — never the agent — can be checked before anything is read. A URI outside this server's
catalogue is ``-32602`` (unknown resource); a denied one is ``403`` with the implementation-defined
code ``-32003`` (MCP reserves ``-32000..-32019`` for implementations).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from protocols.fga.rag import object_for_uri
from protocols.http import HttpRequest, HttpResponse, MalformedBody, parse_json
from protocols.jose.encoding import Base64UrlError, StrictJsonError, decode_segment, strict_json
from protocols.jose.jwks import JwkSet
from protocols.oauth.errors import InsufficientScope, InvalidToken, OAuthError
from protocols.oidc.userinfo import AccessTokenClaims, MissingBearerToken, extract_bearer_token, validate_access_token
from protocols.protected_resource import ProtectedResourceMetadata, bearer_challenge
from protocols.token_exchange import ActClaim, InvalidActClaim

__all__ = [
    "Authorized", "FORBIDDEN", "INVALID_PARAMS", "INVALID_REQUEST", "METHOD_NOT_FOUND", "McpMessage", "McpProtection",
    "MissingBearerToken", "PARSE_ERROR", "ResourceCatalogue", "RpcRejected", "authenticate", "challenge",
    "fga_user", "forbidden", "missing_scopes", "parse_message", "rpc_error", "scope_covers", "token_key_id",
]

# JSON-RPC 2.0 §5.1 codes, and MCP's implementation-defined band (-32000..-32019).
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
INVALID_PARAMS = -32602
METHOD_NOT_FOUND = -32601
FORBIDDEN = -32003
"""Implementation-defined: the user of the token may not read this resource (FGA said no)."""

_RPC_STATUS = {PARSE_ERROR: 400, INVALID_REQUEST: 400, INVALID_PARAMS: 400, METHOD_NOT_FOUND: 404, FORBIDDEN: 403}
"""HTTP status per JSON-RPC code, as the MCP streamable-HTTP transport (2026-07-28) maps them."""


@attrs.frozen(kw_only=True)
class McpProtection:
    """How one MCP server is protected: its canonical resource identifier, the one issuer it
    trusts, the scopes every request needs, and the RFC 9728 document it publishes."""

    resource: str
    issuer: str
    required_scopes: tuple[str, ...]
    metadata: ProtectedResourceMetadata

    @classmethod
    def build(cls, *, resource: str, issuer: str, required_scopes: Sequence[str], resource_name: str,
              documentation: str | None = None) -> McpProtection:
        metadata = ProtectedResourceMetadata(resource=resource, authorization_servers=(issuer,),
                                             scopes_supported=tuple(required_scopes), resource_name=resource_name,
                                             resource_documentation=documentation)
        return cls(resource=resource, issuer=issuer, required_scopes=tuple(required_scopes), metadata=metadata)


@attrs.frozen(kw_only=True)
class Authorized:
    """A request that passed the token checks: whose it is (``subject``), who is acting (``agent``:
    the outermost ``act`` actor, else the client), with which scopes."""

    token: AccessTokenClaims
    subject: str
    agent: str
    scopes: tuple[str, ...]
    delegated: bool


def scope_covers(granted: str, required: str) -> bool:
    """``granted`` is ``required`` or an ancestor of it in the ``:`` hierarchy (MCP authorization:
    servers SHOULD honour scope hierarchies, a broader scope implying the narrower ones)."""
    return required == granted or required.startswith(granted + ":")


def missing_scopes(granted: Iterable[str], required: Iterable[str]) -> tuple[str, ...]:
    granted = tuple(granted)
    return tuple(r for r in required if not any(scope_covers(g, r) for g in granted))


def token_key_id(token: str) -> str | None:
    """The ``kid`` of a compact JWS header, *unverified* — only to decide whether the issuer's
    JWKS should be re-read (key rotation) before validating; never a basis for trust."""
    header, sep, _ = token.partition(".")
    if not sep or len(header) > 2048:
        return None
    try:
        value = strict_json(decode_segment(header.encode("ascii")))
    except (Base64UrlError, StrictJsonError, UnicodeEncodeError):
        return None
    kid = value.get("kid") if isinstance(value, dict) else None
    return kid if isinstance(kid, str) else None


def authenticate(request: HttpRequest, *, protection: McpProtection, keys: JwkSet, now: int) -> Authorized:
    """Steps 1–5 of the module docstring. Raises ``MissingBearerToken`` (no credentials),
    ``InvalidRequest``, ``InvalidToken`` or ``InsufficientScope``; :func:`challenge` renders each."""
    token = extract_bearer_token(request)
    claims = validate_access_token(token, issuer=protection.issuer, audience=protection.resource, keys=keys,
                                   now=now)
    audience = claims.claims["aud"]
    if audience != protection.resource and audience != [protection.resource]:
        raise InvalidToken("access token rejected: it is valid for other audiences too (no passthrough)")
    agent, delegated = claims.client_id, False
    if "act" in claims.claims:
        try:
            agent, delegated = ActClaim.from_claim(claims.claims["act"]).sub, True
        except InvalidActClaim as exc:
            raise InvalidToken(f"access token rejected: {exc}") from None
    missing = missing_scopes(claims.scope, protection.required_scopes)
    if missing:
        raise InsufficientScope(f"this server requires scope {' '.join(protection.required_scopes)}")
    return Authorized(token=claims, subject=claims.subject, agent=agent, scopes=claims.scope, delegated=delegated)


def challenge(error: OAuthError | None, *, protection: McpProtection) -> HttpResponse:
    """The response to a request refused by :func:`authenticate` (RFC 6750 §3, RFC 9728 §5.1).

    ``None`` (no credentials) → ``401`` without ``error``; ``InvalidToken`` → ``401``;
    ``InsufficientScope`` → ``403``; ``InvalidRequest`` → ``400``. Each carries the metadata URL and
    every scope the server needs; the body is the RFC 6749 §5.2-shaped error when there is one."""
    common = {"resource_metadata": protection.metadata.url, "scope": protection.required_scopes}
    if error is None:
        return HttpResponse(status=401, headers={"www-authenticate": bearer_challenge(**common),
                                                 "cache-control": "no-store"})
    base = error.to_response()
    value = bearer_challenge(**common, error=error.error, error_description=error.description or None)
    return HttpResponse(status=base.status, body=base.body, headers=base.headers + (("www-authenticate", value),))


def fga_user(subject: str, *, directory: Mapping[str, str]) -> str:
    """The FGA user a token's subject is (``user:<sub>`` unless the directory names it otherwise)."""
    return directory.get(subject, f"user:{subject}")


# -- JSON-RPC ----------------------------------------------------------------------------------------

class RpcRejected(Exception):
    """A JSON-RPC message refused before it reaches the server (JSON-RPC 2.0 §5.1)."""

    def __init__(self, code: int, message: str, *, request_id: str | int | None = None,
                 data: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.request_id, self.data = code, message, request_id, data

    def to_response(self) -> HttpResponse:
        return rpc_error(self.request_id, code=self.code, message=self.message, data=self.data)


def rpc_error(request_id: str | int | None, *, code: int, message: str,
              data: Mapping[str, Any] | None = None) -> HttpResponse:
    """A JSON-RPC error object (``id`` null when the request's id is unknown) with the HTTP status
    its code maps to."""
    error: dict[str, Any] = {"code": code, "message": message}
    if data:
        error["data"] = dict(data)
    return HttpResponse.json_body({"jsonrpc": "2.0", "id": request_id, "error": error},
                                  status=_RPC_STATUS.get(code, 400))


@attrs.frozen(kw_only=True)
class McpMessage:
    """One client-to-server JSON-RPC message: a request (with ``id``) or a notification."""

    method: str
    id: str | int | None = None
    params: Mapping[str, Any] = attrs.field(factory=dict)

    @property
    def is_notification(self) -> bool:
        return self.id is None

    def resource_uri(self) -> str | None:
        """The ``uri`` a ``resources/read`` (or ``resources/subscribe``) asks for, else ``None``."""
        if self.method not in ("resources/read", "resources/subscribe", "resources/unsubscribe"):
            return None
        uri = self.params.get("uri")
        if not isinstance(uri, str) or not uri:
            raise RpcRejected(INVALID_PARAMS, "params.uri must be a non-empty string", request_id=self.id)
        return uri


def parse_message(body: bytes) -> McpMessage:
    """Parse a POSTed body as exactly one JSON-RPC 2.0 request or notification (§4, §4.1).

    Strict JSON (UTF-8, no duplicate member names, bounded size) so the server behind sees what
    this gate saw. A batch, a response, a wrong ``jsonrpc``, an ``id`` that is not a string or an
    integer, or ``params`` that are not an object → :class:`RpcRejected`."""
    try:
        value = parse_json(body)
    except MalformedBody as exc:
        raise RpcRejected(PARSE_ERROR, f"Parse error: {exc}") from None
    if not isinstance(value, dict):
        raise RpcRejected(INVALID_REQUEST, "the body must be one JSON-RPC request object (no batches)")
    request_id = value.get("id")
    if "id" in value and (isinstance(request_id, bool) or not isinstance(request_id, (str, int))):
        raise RpcRejected(INVALID_REQUEST, "id must be a string or an integer")
    if value.get("jsonrpc") != "2.0":
        raise RpcRejected(INVALID_REQUEST, 'jsonrpc must be "2.0"', request_id=request_id)
    method = value.get("method")
    if not isinstance(method, str) or not method:
        raise RpcRejected(INVALID_REQUEST, "a request needs a method (responses are not accepted here)",
                          request_id=request_id)
    params = value.get("params", {})
    if not isinstance(params, dict):
        raise RpcRejected(INVALID_REQUEST, "params must be an object", request_id=request_id)
    return McpMessage(method=method, id=request_id, params=params)


def forbidden(message: McpMessage, *, uri: str, reason: str) -> HttpResponse:
    """``403`` with the JSON-RPC error for a resource the token's user may not read."""
    return rpc_error(message.id, code=FORBIDDEN, message=f"Forbidden: {reason}", data={"uri": uri})


# -- which resources a server has --------------------------------------------------------------------

_TEMPLATE_VARIABLE = re.compile(r"\{([A-Za-z0-9_]+)\}")


def _template_pattern(template: str) -> re.Pattern[str]:
    """A level-1 URI template (RFC 6570 §1.2: ``{var}`` only) as a regex; a value is one path segment
    of unreserved characters (RFC 3986 §2.3), and never ``.`` or ``..`` (no dot-segment tricks)."""
    parts, position = [], 0
    for match in _TEMPLATE_VARIABLE.finditer(template):
        parts.append(re.escape(template[position:match.start()]))
        parts.append(f"(?P<{match.group(1)}>[A-Za-z0-9._~-]+)")
        position = match.end()
    parts.append(re.escape(template[position:]))
    return re.compile("".join(parts) + r"\Z")


@attrs.frozen(kw_only=True)
class ResourceCatalogue:
    """The URIs and URI templates one server answers for, and the FGA object guarding each."""

    uris: frozenset[str]
    templates: tuple[str, ...] = ()
    _patterns: tuple[re.Pattern[str], ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_patterns", tuple(_template_pattern(t) for t in self.templates))

    def match(self, uri: str) -> dict[str, str] | None:
        """``{}`` for a listed URI, the template variables for a templated one, ``None`` otherwise."""
        if uri in self.uris:
            return {}
        for pattern in self._patterns:
            found = pattern.match(uri)
            if found is not None and not {".", ".."} & set(found.groupdict().values()):
                return found.groupdict()
        return None

    def fga_object(self, message: McpMessage, uri: str) -> str:
        """The FGA object guarding ``uri``; ``RpcRejected`` (-32602) when this server has no such resource."""
        if self.match(uri) is None:
            raise RpcRejected(INVALID_PARAMS, "Resource not found", request_id=message.id, data={"uri": uri})
        try:
            return object_for_uri(uri)
        except ValueError:
            raise RpcRejected(INVALID_PARAMS, "Resource not found", request_id=message.id, data={"uri": uri}) \
                from None

"""OAuth 2.0 Token Exchange, RFC 8693: the request (§2.1), the response (§2.2.1), the token-type
identifiers (§3) and the delegation claims ``act`` (§4.1) and ``may_act`` (§4.4).

Generic and sans-IO: the enterprise IdP's exchange grant (``protocols.oidc.token_exchange_grant``), the ID-JAG
profile (``protocols.id_jag``) and the token vault all parse and answer with these types.

Multi-valued ``audience`` and ``resource`` (RFC 8693 §2.1, RFC 8707 §2): both parameters may be
repeated on the wire, while ``HttpRequest.form()`` refuses every repeated parameter (RFC 6749
§3.2). :func:`token_request_form` is the deliberate exception: for a token-exchange request it
parses the raw body itself and lets exactly those two parameters repeat (their values become a
tuple); every other repeated parameter is still refused. :meth:`TokenExchangeRequest.from_form`
accepts either shape (a plain ``str`` is one value — never split on spaces, because an audience
is an opaque logical name).

Errors (§2.2.2): a malformed request or an invalid/unacceptable ``subject_token``/``actor_token``
is ``invalid_request``; an unacceptable ``audience``/``resource`` is ``invalid_target``; an
unacceptable ``scope`` is ``invalid_scope``. Profiles may differ (ID-JAG answers ``invalid_grant``
for a bad subject token, draft §4.3.4.3) — see :data:`SUBJECT_TOKEN_ERROR`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import attrs

from protocols.http import MAX_BODY_BYTES, HttpRequest, HttpResponse, MalformedBody
from protocols.oauth.errors import InvalidRequest, OAuthError
from protocols.oauth.token_response import token_response_body

# -- identifiers (RFC 8693 §2.1, §3; ID-JAG draft §4.3; RFC 7523 §2.1) ------------------------------

GRANT_TYPE_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
GRANT_TYPE_JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"

TOKEN_TYPE_ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
TOKEN_TYPE_REFRESH_TOKEN = "urn:ietf:params:oauth:token-type:refresh_token"
TOKEN_TYPE_ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
TOKEN_TYPE_SAML1 = "urn:ietf:params:oauth:token-type:saml1"
TOKEN_TYPE_SAML2 = "urn:ietf:params:oauth:token-type:saml2"
TOKEN_TYPE_JWT = "urn:ietf:params:oauth:token-type:jwt"
TOKEN_TYPE_ID_JAG = "urn:ietf:params:oauth:token-type:id-jag"

KNOWN_TOKEN_TYPES = frozenset({
    TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_REFRESH_TOKEN, TOKEN_TYPE_ID_TOKEN, TOKEN_TYPE_SAML1,
    TOKEN_TYPE_SAML2, TOKEN_TYPE_JWT, TOKEN_TYPE_ID_JAG,
})

TOKEN_TYPE_BEARER = "Bearer"
TOKEN_TYPE_NOT_APPLICABLE = "N_A"
"""``token_type`` when the issued token is not an access token (RFC 8693 §2.2.1)."""

MULTI_VALUED_PARAMETERS = frozenset({"audience", "resource"})
"""The only token-exchange parameters that may be repeated (RFC 8693 §2.1)."""

MAX_ACT_DEPTH = 8
"""Longest delegation chain accepted in an ``act`` claim (a platform bound, not in the RFC)."""

_ACT_FORBIDDEN = frozenset({"exp", "nbf", "aud", "iat", "jti"})
"""Claims that have no meaning inside ``act`` (RFC 8693 §4.1: SHOULD NOT appear) — refused."""

SUBJECT_TOKEN_ERROR: type[OAuthError] = InvalidRequest
"""RFC 8693 §2.2.2: an invalid ``subject_token``/``actor_token`` is ``invalid_request``."""


# -- form parsing -------------------------------------------------------------------------------

FormValue = str | tuple[str, ...]


def token_request_form(request: HttpRequest) -> dict[str, FormValue]:
    """A token-endpoint form body (RFC 6749 §3.2). Same rules as ``HttpRequest.form()`` except that,
    when ``grant_type`` is token exchange, ``audience`` and ``resource`` may repeat (RFC 8693 §2.1):
    a repeated one becomes a tuple of its values. Raises ``MalformedBody``."""
    content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise MalformedBody("the body must be application/x-www-form-urlencoded")
    if len(request.body) > MAX_BODY_BYTES:
        raise MalformedBody(f"the body exceeds {MAX_BODY_BYTES} bytes")
    try:
        text = request.body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise MalformedBody("the body is not valid UTF-8") from None
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        values.setdefault(name, []).append(value)
    exchange = values.get("grant_type") == [GRANT_TYPE_TOKEN_EXCHANGE]
    result: dict[str, FormValue] = {}
    for name, items in values.items():
        if len(items) > 1 and not (exchange and name in MULTI_VALUED_PARAMETERS):
            raise MalformedBody(f"parameter {name!r} is repeated")
        present = tuple(item for item in items if item != "")
        if not present:
            continue
        result[name] = present[0] if len(items) == 1 else present
    return result


def _single(form: Mapping[str, Any], name: str) -> str | None:
    value = form.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"parameter {name} must appear once")
    return value


def _multi(form: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = form.get(name)
    if value is None or value == "":
        return ()
    values = (value,) if isinstance(value, str) else tuple(value)
    if not all(isinstance(item, str) and item for item in values):
        raise InvalidRequest(f"parameter {name} has an empty value")
    if len(set(values)) != len(values):
        raise InvalidRequest(f"parameter {name} repeats a value")
    return values


def _absolute_uri(value: str) -> bool:
    parts = urlsplit(value)
    return bool(parts.scheme) and bool(parts.netloc or parts.path) and not parts.fragment


def _scope(value: str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    tokens = value.split(" ")
    if any(token == "" or not all(0x21 <= ord(c) <= 0x7E and c not in '"\\' for c in token) for token in tokens):
        raise InvalidRequest("scope is not a space-separated list of scope tokens (RFC 6749 sec. 3.3)")
    return tuple(dict.fromkeys(tokens))


# -- the request --------------------------------------------------------------------------------

@attrs.frozen(kw_only=True)
class TokenExchangeRequest:
    """The parameters of one RFC 8693 §2.1 request (client authentication is checked elsewhere).

    ``audience`` and ``resource`` are tuples (possibly empty); ``scope`` is a tuple of scope tokens
    (empty = not requested). ``requested_token_type`` is ``None`` when the client left the choice
    to the server. Tokens are excluded from ``repr``.
    """

    subject_token: str = attrs.field(repr=False)
    subject_token_type: str
    actor_token: str | None = attrs.field(default=None, repr=False)
    actor_token_type: str | None = None
    requested_token_type: str | None = None
    audience: tuple[str, ...] = ()
    resource: tuple[str, ...] = ()
    scope: tuple[str, ...] = ()

    @classmethod
    def from_form(cls, form: Mapping[str, FormValue]) -> TokenExchangeRequest:
        """Parse and check the request parameters (§2.1); any violation is ``invalid_request``.

        ``form`` may come from ``HttpRequest.form()`` (all values ``str``) or from
        :func:`token_request_form` (``audience``/``resource`` possibly tuples)."""
        grant_type = _single(form, "grant_type")
        if grant_type != GRANT_TYPE_TOKEN_EXCHANGE:
            raise InvalidRequest(f"grant_type must be {GRANT_TYPE_TOKEN_EXCHANGE}")
        subject_token = _single(form, "subject_token")
        subject_token_type = _single(form, "subject_token_type")
        if subject_token is None or subject_token_type is None:
            raise InvalidRequest("subject_token and subject_token_type are required (RFC 8693 sec. 2.1)")
        actor_token = _single(form, "actor_token")
        actor_token_type = _single(form, "actor_token_type")
        if (actor_token is None) != (actor_token_type is None):
            raise InvalidRequest("actor_token_type is required with actor_token and forbidden without it")
        requested = _single(form, "requested_token_type")
        for name, value in (("subject_token_type", subject_token_type), ("actor_token_type", actor_token_type),
                            ("requested_token_type", requested)):
            if value is not None and not _absolute_uri(value):
                raise InvalidRequest(f"{name} must be a token type URI (RFC 8693 sec. 3)")
        resource = _multi(form, "resource")
        for uri in resource:
            if not _absolute_uri(uri):
                raise InvalidRequest("resource must be an absolute URI without a fragment (RFC 8707 sec. 2)")
        return cls(subject_token=subject_token, subject_token_type=subject_token_type, actor_token=actor_token,
                   actor_token_type=actor_token_type, requested_token_type=requested,
                   audience=_multi(form, "audience"), resource=resource, scope=_scope(_single(form, "scope")))

    def to_form(self) -> list[tuple[str, str]]:
        """The request as ordered form pairs (repeated ``audience``/``resource`` kept), for
        ``urllib.parse.urlencode`` — add the client's authentication parameters to it."""
        pairs = [("grant_type", GRANT_TYPE_TOKEN_EXCHANGE), ("subject_token", self.subject_token),
                 ("subject_token_type", self.subject_token_type)]
        if self.actor_token is not None and self.actor_token_type is not None:
            pairs += [("actor_token", self.actor_token), ("actor_token_type", self.actor_token_type)]
        if self.requested_token_type is not None:
            pairs.append(("requested_token_type", self.requested_token_type))
        pairs += [("audience", value) for value in self.audience]
        pairs += [("resource", value) for value in self.resource]
        if self.scope:
            pairs.append(("scope", " ".join(self.scope)))
        return pairs

    @property
    def is_delegation(self) -> bool:
        """§1.1: with an actor token the result is delegation (``act``), without it impersonation."""
        return self.actor_token is not None


# -- the response -------------------------------------------------------------------------------

class TokenExchangeResponseRejected(ValueError):
    """A success response from a token-exchange endpoint that the client must not use."""


@attrs.frozen(kw_only=True)
class TokenExchangeResponse:
    """RFC 8693 §2.2.1: ``access_token`` holds the issued token whatever its type;
    ``issued_token_type`` is required; ``token_type`` is ``Bearer`` for access tokens and ``N_A``
    otherwise; ``scope`` is sent when given (required when it differs from the request)."""

    access_token: str = attrs.field(repr=False)
    issued_token_type: str
    token_type: str
    expires_in: int | None = None
    scope: tuple[str, ...] = ()
    refresh_token: str | None = attrs.field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"access_token": self.access_token, "issued_token_type": self.issued_token_type,
                                "token_type": self.token_type}
        if self.expires_in is not None:
            body["expires_in"] = self.expires_in
        if self.scope:
            body["scope"] = " ".join(self.scope)
        if self.refresh_token is not None:
            body["refresh_token"] = self.refresh_token
        return body

    def to_response(self) -> HttpResponse:
        """200 JSON with ``Cache-Control: no-store`` (RFC 6749 §5.1)."""
        return HttpResponse.json_body(self.to_json(), no_store=True)

    @classmethod
    def from_response(cls, response: HttpResponse, *, expected_type: str | None = None) -> TokenExchangeResponse:
        """Parse as a client. An error status raises the remote ``OAuthError``; a success that
        lacks required members, lacks ``no-store``, or is not ``expected_type`` raises
        :class:`TokenExchangeResponseRejected`."""
        body = token_response_body(response, rejected=TokenExchangeResponseRejected)
        token, issued, token_type = body.get("access_token"), body.get("issued_token_type"), body.get("token_type")
        if not all(isinstance(v, str) and v for v in (token, issued, token_type)):
            raise TokenExchangeResponseRejected("access_token, issued_token_type and token_type are required")
        if expected_type is not None and issued != expected_type:
            raise TokenExchangeResponseRejected(f"issued_token_type is {issued}, not {expected_type}")
        if issued != TOKEN_TYPE_ACCESS_TOKEN and token_type != TOKEN_TYPE_NOT_APPLICABLE:
            raise TokenExchangeResponseRejected("token_type must be N_A for a token that is not an access token")
        expires_in, scope, refresh = body.get("expires_in"), body.get("scope", ""), body.get("refresh_token")
        if expires_in is not None and (not isinstance(expires_in, int) or isinstance(expires_in, bool)
                                       or expires_in < 0):
            raise TokenExchangeResponseRejected("expires_in must be a non-negative integer")
        if not isinstance(scope, str) or (refresh is not None and not isinstance(refresh, str)):
            raise TokenExchangeResponseRejected("scope and refresh_token must be strings")
        return cls(access_token=token, issued_token_type=issued, token_type=token_type, expires_in=expires_in,
                   scope=tuple(scope.split()), refresh_token=refresh)


# -- delegation claims (§4.1, §4.4) -------------------------------------------------------------

class InvalidActClaim(ValueError):
    """An ``act`` or ``may_act`` claim that is not a well-formed actor object."""


def _identity(obj: Any, *, claim: str) -> tuple[str, str | None, str | None]:
    if not isinstance(obj, Mapping):
        raise InvalidActClaim(f"{claim} must be a JSON object")
    sub, iss, client_id = obj.get("sub"), obj.get("iss"), obj.get("client_id")
    if not isinstance(sub, str) or not sub:
        raise InvalidActClaim(f"{claim} must name its actor in sub")
    if (iss is not None and not isinstance(iss, str)) or (client_id is not None and not isinstance(client_id, str)):
        raise InvalidActClaim(f"{claim}.iss and {claim}.client_id must be strings")
    forbidden = _ACT_FORBIDDEN & set(obj)
    if forbidden:
        raise InvalidActClaim(f"{claim} carries {', '.join(sorted(forbidden))}, which mean nothing there (sec. 4.1)")
    return sub, iss, client_id


@attrs.frozen(kw_only=True)
class ActClaim:
    """``act`` (RFC 8693 §4.1): the current actor (``sub``, optional ``iss``/``client_id``) and the
    prior chain in ``act`` (nested, outermost = most recent). Only the outermost actor may drive
    access decisions; the nested ones are history."""

    sub: str
    iss: str | None = None
    client_id: str | None = None
    act: ActClaim | None = None

    @classmethod
    def from_claim(cls, value: Any, *, max_depth: int = MAX_ACT_DEPTH) -> ActClaim:
        """Parse a JWT's ``act`` claim; a malformed, too deep or time-carrying chain raises
        :class:`InvalidActClaim`."""
        links: list[tuple[str, str | None, str | None]] = []
        node = value
        while node is not None:
            if len(links) >= max_depth:
                raise InvalidActClaim(f"act chain is deeper than {max_depth}")
            links.append(_identity(node, claim="act"))
            node = node.get("act")
        chain: ActClaim | None = None
        for sub, iss, client_id in reversed(links):
            chain = cls(sub=sub, iss=iss, client_id=client_id, act=chain)
        assert chain is not None
        return chain

    def to_claim(self) -> dict[str, Any]:
        claim: dict[str, Any] = {"sub": self.sub}
        if self.iss is not None:
            claim["iss"] = self.iss
        if self.client_id is not None:
            claim["client_id"] = self.client_id
        if self.act is not None:
            claim["act"] = self.act.to_claim()
        return claim

    def chain(self) -> tuple[ActClaim, ...]:
        """Every actor, most recent first."""
        links: list[ActClaim] = []
        node: ActClaim | None = self
        while node is not None:
            links.append(node)
            node = node.act
        return tuple(links)

    def chain_subjects(self) -> tuple[str, ...]:
        return tuple(link.sub for link in self.chain())

    @property
    def depth(self) -> int:
        return len(self.chain())


def delegate(*, actor_sub: str, actor_iss: str | None = None, actor_client_id: str | None = None,
             prior: ActClaim | None = None) -> ActClaim:
    """The ``act`` claim of a newly issued delegation token: ``actor`` is now acting, and the
    subject token's own ``act`` (if any) becomes the nested history (§4.1)."""
    return ActClaim(sub=actor_sub, iss=actor_iss, client_id=actor_client_id, act=prior)


@attrs.frozen(kw_only=True)
class MayAct:
    """``may_act`` (RFC 8693 §4.4): in a subject token, the party allowed to act for the subject.
    Every member present must match the actor."""

    sub: str
    iss: str | None = None
    client_id: str | None = None

    @classmethod
    def from_claim(cls, value: Any) -> MayAct:
        sub, iss, client_id = _identity(value, claim="may_act")
        if isinstance(value, Mapping) and "act" in value:
            raise InvalidActClaim("may_act names one party; it has no chain")
        return cls(sub=sub, iss=iss, client_id=client_id)

    def to_claim(self) -> dict[str, str]:
        claim = {"sub": self.sub}
        if self.iss is not None:
            claim["iss"] = self.iss
        if self.client_id is not None:
            claim["client_id"] = self.client_id
        return claim

    def permits(self, *, actor_sub: str, actor_iss: str | None = None, actor_client_id: str | None = None) -> bool:
        """Whether the actor (``sub``, and ``iss``/``client_id`` when the claim names them) is the
        party ``may_act`` designates."""
        if self.sub != actor_sub:
            return False
        if self.iss is not None and self.iss != actor_iss:
            return False
        return self.client_id is None or self.client_id == actor_client_id


def narrow_scope(*, requested: Sequence[str], allowed: Iterable[str]) -> tuple[str, ...]:
    """Down-scoping (§2.1, §5): the requested scopes when all are within ``allowed``; the whole
    ``allowed`` set (in its order) when nothing was requested. The caller turns a requested scope
    outside ``allowed`` into ``invalid_scope`` — see :func:`scopes_outside`."""
    allowed = tuple(dict.fromkeys(allowed))
    return tuple(requested) if requested else allowed


def scopes_outside(*, requested: Sequence[str], allowed: Iterable[str]) -> tuple[str, ...]:
    """Requested scopes that ``allowed`` does not cover (§2.2.2 ``invalid_scope``)."""
    allowed_set = frozenset(allowed)
    return tuple(s for s in requested if s not in allowed_set)

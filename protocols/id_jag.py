"""Identity Assertion JWT Authorization Grant — draft-ietf-oauth-identity-assertion-authz-grant
(-03/-04, protocols.md §4): the token (§3), its issuance by the IdP through RFC 8693 token
exchange (§4.3) and its validation by the resource authorization server (§4.4).

IdP side (§4.3.3), in the order the grant applies them:

1. :func:`validate_subject_id_token` — the subject is an ID token *we* issued, unexpired, not
   revoked, whose ``aud`` is the authenticated client: a client exchanges only assertions minted
   for itself. Failure → ``invalid_grant`` (draft §4.3.4.3 — not RFC 8693's ``invalid_request``).
2. :func:`decide` — ``audience`` names exactly one resource AS the IdP federates with (else
   ``invalid_target``); the agent has a managed connection to it (else ``access_denied``);
   ``resource`` values are ones the connection allows (``invalid_target``); the scope policy
   (``protocols.managed_connections``): an always-refused or uncovered scope → ``invalid_scope``,
   an approval-required scope without an approval → ``access_denied``.
3. :func:`id_jag_claims` + :func:`mint_id_jag` — ``typ: oauth-id-jag+jwt``; ``iss``; ``sub`` (our
   public subject, the one the resource AS would see as an RP); ``aud`` = the resource AS issuer;
   ``client_id`` = the agent's registration **at the resource AS** (the connection's mapping);
   ``jti``, ``iat``, ``exp``; the *granted* ``resource`` and ``scope``; ``auth_time``/``amr`` of the
   SSO; ``email`` for subject resolution. No ``act``: the draft defines none (§4.6 of our notes).

Resource AS side (§4.4): :func:`validate_id_jag` — RFC 7523 §3 through ``protocols.jwt_bearer``
with the ID-JAG profile (explicit ``typ``, trusted ``iss`` and its published keys, ``aud`` exactly
our issuer, required claims, lifetime cap), then ``client_id`` equals the authenticated client.
Every failure is ``invalid_grant``. Re-presenting the same unexpired ID-JAG is **allowed** (draft
§4.4.4: a client may re-present it for a fresh access token), so ``jti`` is not single-use.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from typing import Any

import attrs

from protocols.jose.errors import JwtRejected, WrongAudience
from protocols.jose.jwks import JwkSet
from protocols.jose.jwt import sign_jwt, verify_jwt
from protocols.jose.keys import SigningKey
from protocols.jose.profiles import TYP_ID_JAG, TokenProfile
from protocols.jwt_bearer import verify_assertion
from protocols.managed_connections import ManagedConnection, ManagedConnections, ScopeVerdict, evaluate
from protocols.oauth.errors import AccessDenied, InvalidGrant, InvalidRequest, InvalidScope, InvalidTarget
from protocols.token_exchange import (
    TOKEN_TYPE_ID_JAG, TOKEN_TYPE_ID_TOKEN, TOKEN_TYPE_NOT_APPLICABLE, TokenExchangeRequest, TokenExchangeResponse,
)

GRANT_PROFILE_ID_JAG = "urn:ietf:params:oauth:grant-profile:id-jag"
"""Advertised in ``authorization_grant_profiles_supported`` by a resource AS (draft §7)."""

MAX_ID_JAG_LIFETIME = 600
"""Longest ``exp − iat`` a resource AS accepts (common practice: 300 s issued, 600 s cap)."""

SUBJECT_TOKEN_TYPES = (TOKEN_TYPE_ID_TOKEN,)
"""Subject tokens this IdP exchanges for an ID-JAG (ID tokens MUST be supported, §4.3.3)."""


class IdJagAccessDenied(AccessDenied):
    """``access_denied`` at a token endpoint: the request is valid but the client/user is not
    entitled (draft §4.3.4.3, §4.4.3). Same code as :class:`AccessDenied`, with the 400 status RFC
    6749 §5.2 gives token-endpoint errors (the base class's 403 is the backchannel endpoint's)."""

    status = 400


# ------------------------------------------------------------------------------ the token (§3)


def _string_tuple(value: Any, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise InvalidGrant(f"the ID-JAG {name} claim is malformed")


@attrs.frozen(kw_only=True)
class IdJagClaims:
    """The claims of one ID-JAG (draft §3.1)."""

    issuer: str
    subject: str
    audience: str
    client_id: str
    jti: str
    issued_at: int
    expires_at: int
    resource: tuple[str, ...] = ()
    scope: tuple[str, ...] = ()
    auth_time: int | None = None
    amr: tuple[str, ...] = ()
    email: str | None = None

    def to_claims(self) -> dict[str, Any]:
        claims: dict[str, Any] = {"iss": self.issuer, "sub": self.subject, "aud": self.audience,
                                  "client_id": self.client_id, "jti": self.jti, "iat": self.issued_at,
                                  "exp": self.expires_at}
        if self.resource:
            claims["resource"] = self.resource[0] if len(self.resource) == 1 else list(self.resource)
        if self.scope:
            claims["scope"] = " ".join(self.scope)
        if self.auth_time is not None:
            claims["auth_time"] = self.auth_time
        if self.amr:
            claims["amr"] = list(self.amr)
        if self.email is not None:
            claims["email"] = self.email
        return claims

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> IdJagClaims:
        """Type-check the claims of a verified ID-JAG; anything malformed is ``invalid_grant``."""
        strings = ("iss", "sub", "client_id", "jti")
        if not all(isinstance(claims.get(name), str) and claims[name] for name in strings):
            raise InvalidGrant("the ID-JAG iss, sub, client_id and jti must be non-empty strings")
        aud = claims.get("aud")
        audience = aud if isinstance(aud, str) else (aud[0] if isinstance(aud, list) and len(aud) == 1 else None)
        if not isinstance(audience, str):
            raise InvalidGrant("the ID-JAG aud must be one issuer identifier")
        scope, auth_time, email = claims.get("scope", ""), claims.get("auth_time"), claims.get("email")
        if not isinstance(scope, str):
            raise InvalidGrant("the ID-JAG scope claim must be a string")
        if auth_time is not None and (not isinstance(auth_time, int) or isinstance(auth_time, bool)):
            raise InvalidGrant("the ID-JAG auth_time claim must be a NumericDate")
        if email is not None and not isinstance(email, str):
            raise InvalidGrant("the ID-JAG email claim must be a string")
        amr = claims.get("amr", [])
        if not isinstance(amr, list) or not all(isinstance(v, str) for v in amr):
            raise InvalidGrant("the ID-JAG amr claim must be an array of strings")
        return cls(issuer=claims["iss"], subject=claims["sub"], audience=audience, client_id=claims["client_id"],
                   jti=claims["jti"], issued_at=int(claims["iat"]), expires_at=int(claims["exp"]),
                   resource=_string_tuple(claims.get("resource"), "resource"), scope=tuple(scope.split()),
                   auth_time=auth_time, amr=tuple(amr), email=email)


def mint_id_jag(claims: IdJagClaims, *, key: SigningKey) -> str:
    """Sign an ID-JAG with the IdP's key, header ``typ: oauth-id-jag+jwt`` (draft §3)."""
    return sign_jwt(claims=claims.to_claims(), key=key, typ=TYP_ID_JAG)


# ------------------------------------------------------------------------------ IdP side (§4.3)


def validate_subject_id_token(token: str, *, issuer: str, client_id: str, keys: JwkSet, now: int,
                              revoked: Container[str] = frozenset()) -> Mapping[str, Any]:
    """§4.3.3: an ID token we issued to ``client_id`` (signature, ``iss``, ``aud``/``azp``, ``exp``,
    not revoked). Every failure is ``invalid_grant``; the wrong audience says so explicitly."""
    profile = TokenProfile.id_token(issuer=issuer, client_id=client_id, max_lifetime=86_400)
    try:
        claims = verify_jwt(token, keys=keys, profile=profile, now=now).claims
    except WrongAudience:
        raise InvalidGrant("subject_token was not issued to this client (draft sec. 4.3.3)") from None
    except JwtRejected as exc:
        raise InvalidGrant(f"subject_token rejected: {exc.reason}") from None
    if claims.get("jti") in revoked:
        raise InvalidGrant("subject_token has been revoked")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise InvalidGrant("subject_token has no subject")
    return claims


@attrs.frozen(kw_only=True)
class IdJagDecision:
    """What the IdP's policy allows for one exchange."""

    connection: ManagedConnection
    resources: tuple[str, ...]
    verdict: ScopeVerdict

    @property
    def audience(self) -> str:
        """The real issuer of the resource AS, even when the request used an alias (draft §4.3)."""
        return self.connection.target_issuer


def check_request_shape(request: TokenExchangeRequest) -> str:
    """§4.3.1: subject token type, no actor token, exactly one ``audience``; returns it."""
    if request.subject_token_type not in SUBJECT_TOKEN_TYPES:
        raise InvalidRequest("an ID-JAG is issued for an ID token subject (subject_token_type id_token)")
    if request.actor_token is not None:
        raise InvalidRequest("the ID-JAG profile defines no actor_token processing")
    if not request.audience:
        raise InvalidRequest("audience (the resource authorization server's issuer) is required")
    if len(request.audience) > 1:
        raise InvalidTarget("an ID-JAG is addressed to exactly one authorization server")
    return request.audience[0]


def decide(request: TokenExchangeRequest, *, client_id: str, subject: str, connections: ManagedConnections,
           approvals: Container[tuple[str, str, str, str]] = frozenset()) -> IdJagDecision:
    """§4.3.3 admin policy (see the module docstring for the error of each refusal).

    ``approvals`` holds ``(agent, subject, target issuer, scope)`` for approval-required scopes that
    were approved."""
    audience = check_request_shape(request)
    if not connections.knows_target(audience):
        raise InvalidTarget("the audience is not an authorization server this IdP federates with")
    connection = connections.find(agent=client_id, audience=audience)
    if connection is None:
        raise IdJagAccessDenied("this client has no managed connection to that authorization server")
    unknown = [uri for uri in request.resource if uri not in connection.resources]
    if unknown:
        raise InvalidTarget(f"managed connection {connection.name} does not cover the requested resource")
    approved = {scope for scope in connection.needs_approval
                if (client_id, subject, connection.target_issuer, scope) in approvals}
    verdict = evaluate(connection, requested=request.scope, approved=approved)
    if verdict.refused or verdict.not_in_policy or (not verdict.granted and not verdict.needs_approval):
        raise InvalidScope(verdict.explain())
    if verdict.needs_approval:
        raise IdJagAccessDenied(verdict.explain())
    resources = request.resource or connection.resources
    return IdJagDecision(connection=connection, resources=resources, verdict=verdict)


def id_jag_claims(*, decision: IdJagDecision, subject_claims: Mapping[str, Any], issuer: str, now: int,
                  jti: str) -> IdJagClaims:
    """The claims of the ID-JAG the decision allows (granted ``resource``/``scope``, §4.3.3)."""
    subject_exp = subject_claims.get("exp")
    if not isinstance(subject_exp, int):
        raise InvalidGrant("subject_token has no expiry")
    amr, auth_time, email = subject_claims.get("amr"), subject_claims.get("auth_time"), subject_claims.get("email")
    return IdJagClaims(
        issuer=issuer, subject=subject_claims["sub"], audience=decision.audience,
        client_id=decision.connection.target_client_id, jti=jti, issued_at=now,
        expires_at=now + decision.connection.id_jag_lifetime, resource=decision.resources,
        scope=decision.verdict.granted, auth_time=auth_time if isinstance(auth_time, int) else None,
        amr=tuple(amr) if isinstance(amr, list) else (), email=email if isinstance(email, str) else None)


def id_jag_response(token: str, claims: IdJagClaims) -> TokenExchangeResponse:
    """§4.3.4: ``issued_token_type`` id-jag, ``token_type`` ``N_A``, granted ``scope``, no refresh token."""
    return TokenExchangeResponse(access_token=token, issued_token_type=TOKEN_TYPE_ID_JAG,
                                 token_type=TOKEN_TYPE_NOT_APPLICABLE, expires_in=claims.expires_at - claims.issued_at,
                                 scope=claims.scope)


# ------------------------------------------------------------------------------ resource AS side (§4.4)


def validate_id_jag(assertion: str, *, trusted: Mapping[str, JwkSet], audience: str, client_id: str, now: int,
                    max_lifetime: int = MAX_ID_JAG_LIFETIME, leeway: int = 30) -> IdJagClaims:
    """§4.4 steps 1–5 at the resource AS whose issuer is ``audience``, for the authenticated
    ``client_id``. Raises ``InvalidGrant`` for every failure."""
    verified = verify_assertion(
        assertion, trusted=trusted, now=now,
        profile_for=lambda iss: TokenProfile.id_jag(issuer=iss, audience=audience, max_lifetime=max_lifetime,
                                                   leeway=leeway))
    claims = IdJagClaims.from_claims(verified.claims)
    if claims.client_id != client_id:
        raise InvalidGrant("the ID-JAG was issued for another client (draft sec. 4.4, client_id)")
    return claims


# ------------------------------------------------------------------------------ client side


def id_jag_request(*, id_token: str, audience: str, resource: tuple[str, ...] = (),
                   scope: tuple[str, ...] = ()) -> TokenExchangeRequest:
    """The §4.3.1 token-exchange request a client sends to its IdP."""
    return TokenExchangeRequest(subject_token=id_token, subject_token_type=TOKEN_TYPE_ID_TOKEN,
                                requested_token_type=TOKEN_TYPE_ID_JAG, audience=(audience,), resource=resource,
                                scope=scope)

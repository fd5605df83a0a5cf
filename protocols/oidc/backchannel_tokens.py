"""OpenID CIBA Core 1.0 at the OpenID Provider: the tokens issued for an approved request. Sans-IO.

The access token is ``protocols.approval_token``: exactly the approved scopes and RFC 9396
authorization details, the approval token lifetime of the client's registration, one audience (the
request's RFC 8707 ``resource``, else the UserInfo endpoint). The ID token beside it (OIDC Core §2)
carries the released claims and ``at_hash`` (§3.3.2.11). The token response (§10.1.1) echoes
``authorization_details`` (RFC 9396 §7); a pushed one (§10.3.1) also carries ``auth_req_id``, and its
ID token ``urn:openid:params:jwt:claim:auth_req_id``. Every mode audits the issued token with the same
``token.issued`` entry (``issued_outcome``).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from protocols.approval_token import approval_token_claims, mint_approval_token
from protocols.ciba import AUTH_REQ_ID_CLAIM, CIBA_GRANT_TYPE, CibaClient
from protocols.ciba_ledger import CibaTransaction
from protocols.jose.jwt import sign_jwt
from protocols.oauth.errors import InvalidGrant
from protocols.oauth.outcome import Decision, Outcome
from protocols.oauth.token_response import TokenResponse
from protocols.oidc.id_token import check_hook_claims
from protocols.rar import details_hash, to_json

if TYPE_CHECKING:
    from protocols.oidc.provider import OpenIdProvider


def _at_hash(access_token: str) -> str:
    """OIDC Core §3.3.2.11 with SHA-256 (RS256 / ES256): left half of the hash, base64url."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def approval_token_response(txn: CibaTransaction, *, provider: OpenIdProvider, ciba: CibaClient, now: int,
                            push: bool) -> tuple[dict[str, Any], dict[str, Any], tuple[str, ...]]:
    """The token response for an approved request (CIBA §10.1.1 / §10.3.1, RFC 9396 §7), the details of
    its ``token.issued`` entry and the tokens; ``provider`` records both tokens as issued."""
    account = provider.user(txn.subject)
    if account is None or txn.approval is None:
        raise InvalidGrant("the end user no longer exists")
    breq = txn.request
    key = provider.keyring.active
    at_jti, id_jti = provider.entropy.token(16), provider.entropy.token(16)
    audience = breq.resource or provider.metadata.userinfo_endpoint
    scope = breq.granted_scope if breq.resource else breq.scope
    claims = approval_token_claims(issuer=provider.issuer, subject=txn.subject, audience=audience,
                                   client_id=txn.client_id, scope=scope, details=breq.authorization_details,
                                   issued_at=now, lifetime=ciba.token_lifetime, jti=at_jti,
                                   auth_time=txn.approval.decided_at, amr=txn.approval.amr)
    access_token = mint_approval_token(claims=claims, key=key)
    id_lifetime = provider.config.id_token_lifetime
    id_claims: dict[str, Any] = dict(check_hook_claims(provider.released_claims(account, breq.scope)))
    id_claims.update(iss=provider.issuer, sub=txn.subject, aud=txn.client_id, azp=txn.client_id, iat=now,
                     exp=now + id_lifetime, auth_time=txn.approval.decided_at, amr=list(txn.approval.amr),
                     jti=id_jti, at_hash=_at_hash(access_token))
    if push:
        id_claims[AUTH_REQ_ID_CLAIM] = txn.auth_req_id
    id_token = sign_jwt(claims=id_claims, key=key)
    provider.record_issued(jti=at_jti, subject=txn.subject, client_id=txn.client_id, expires_at=claims["exp"])
    provider.record_issued(jti=id_jti, subject=txn.subject, client_id=txn.client_id, expires_at=now + id_lifetime)
    body = TokenResponse(access_token=access_token, expires_in=ciba.token_lifetime, scope=scope,
                         id_token=id_token).to_json()
    if breq.authorization_details:
        body["authorization_details"] = to_json(breq.authorization_details)
    if push:
        body["auth_req_id"] = txn.auth_req_id
    issued = {"jti": at_jti, "kind": "approval_token", "id_token_jti": id_jti, "kid": key.kid, "aud": audience,
              "scope": " ".join(scope),
              "expires_in": ciba.token_lifetime,
              "authorization_details_sha256": details_hash(breq.authorization_details) if breq.authorization_details else None}
    return body, issued, (access_token, id_token)


def issued_outcome(txn: CibaTransaction, *, client_id: str, issued: Mapping[str, Any],
                   secrets: tuple[str, ...]) -> Outcome:
    """The ``token.issued`` entry of an approval token, whichever mode delivers it (a poll or ping
    client's token request, or the push to a push client's notification endpoint)."""
    return Outcome(
        event="token.issued", decision=Decision.ALLOW, reason="approved on the user's authentication device",
        subject=txn.subject, client_id=client_id, secrets=secrets,
        details={"grant_type": CIBA_GRANT_TYPE, "mode": txn.mode.value, **issued,
                 "authorization_details": to_json(txn.request.authorization_details)})

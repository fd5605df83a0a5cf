"""OpenID CIBA Core 1.0 at the OpenID Provider: the person a backchannel request is for — found from
the request's hint, then asked on their authentication device and told by e-mail. Sans-IO.

- §7.1 the one hint → the subject of an existing user (``resolve_user``): a ``login_hint`` the
  provider knows (e-mail or username), an ``id_token_hint`` this provider issued to the client, or a
  ``login_hint_token`` the client signed with its registered key (``typ`` ``login-hint+jwt``, the
  user named by an RFC 9493 ``email`` or ``iss_sub`` subject identifier in ``sub_id``); §13 errors
  ``unknown_user_id`` and ``expired_login_hint_token``.
- The ``ApprovalPrompt`` their device displays and signs its answer over (``protocols.device_approval``):
  the client, the §7.1 ``binding_message``, the scope and the RFC 9396 authorization details with
  their summary; and the e-mail to their mailbox (``prompt_messages``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from protocols.ciba import LOGIN_HINT_TOKEN_TYP, Hint
from protocols.ciba_ledger import CibaTransaction
from protocols.device_approval import ApprovalPrompt, DeviceRegistration
from protocols.http import HttpRequest
from protocols.jose.errors import JwtRejected, TokenExpired
from protocols.jose.jwt import verify_jwt
from protocols.jose.profiles import TokenProfile
from protocols.oauth.client_auth import AuthenticatedClient
from protocols.oauth.errors import ExpiredLoginHintToken, InvalidRequest, UnknownUserId
from protocols.rar import summarise, to_json

if TYPE_CHECKING:
    from protocols.oidc.provider import OpenIdProvider


def resolve_user(hint: Hint, *, provider: OpenIdProvider, login_hints: Mapping[str, str],
                 client: AuthenticatedClient, now: int) -> str:
    """§7.1 hints → the subject of an existing user (never act on an unresolved hint, §6.6).
    ``login_hints``: login hint (e-mail or username, lower-cased) → subject."""
    if hint.kind == "login_hint":
        subject = login_hints.get(hint.value.lower())
    elif hint.kind == "id_token_hint":
        profile = TokenProfile.id_token(issuer=provider.issuer, client_id=client.client_id, max_lifetime=86_400)
        try:
            subject = verify_jwt(hint.value, keys=provider.public_keys(now=now), profile=profile, now=now).claims["sub"]
        except JwtRejected as exc:
            raise InvalidRequest(f"id_token_hint is not a valid ID token issued to this client ({exc.reason})") from None
    else:
        subject = _login_hint_token_subject(hint.value, issuer=provider.issuer, login_hints=login_hints,
                                            client=client, now=now)
    if not isinstance(subject, str) or provider.user(subject) is None:
        raise UnknownUserId("the hint does not identify a known user")
    return subject


def _login_hint_token_subject(token: str, *, issuer: str, login_hints: Mapping[str, str],
                              client: AuthenticatedClient, now: int) -> str | None:
    keys = client.registration.jwks
    if keys is None:
        raise InvalidRequest("this client cannot sign login_hint_token")
    profile = TokenProfile(name="login_hint_token", typ=LOGIN_HINT_TOKEN_TYP, issuer=client.client_id,
                           audience=issuer, single_audience=True, max_lifetime=600,
                           required_claims={"iss", "aud", "iat", "exp", "sub_id"}, forbidden_claims={"nonce"})
    try:
        claims = verify_jwt(token, keys=keys, profile=profile, now=now).claims
    except TokenExpired:
        raise ExpiredLoginHintToken("the login_hint_token has expired") from None
    except JwtRejected as exc:
        raise InvalidRequest(f"login_hint_token rejected ({exc.reason})") from None
    sub_id = claims["sub_id"]
    if isinstance(sub_id, Mapping) and sub_id.get("format") == "email" and isinstance(sub_id.get("email"), str):
        return login_hints.get(sub_id["email"].lower())
    if isinstance(sub_id, Mapping) and sub_id.get("format") == "iss_sub" and sub_id.get("iss") == issuer:
        return sub_id.get("sub")
    raise InvalidRequest("login_hint_token sub_id must use the email or iss_sub format")


def approval_prompt(txn: CibaTransaction, *, provider: OpenIdProvider) -> ApprovalPrompt:
    """What the user's authentication device shows for ``txn``."""
    registration = provider.clients.get(txn.client_id)
    details = txn.request.authorization_details
    return ApprovalPrompt(txn=txn.txn, issuer=provider.issuer, client_id=txn.client_id,
                          client_name=registration.name if registration else txn.client_id, subject=txn.subject,
                          binding_message=txn.request.binding_message, scope=txn.request.scope,
                          authorization_details=to_json(details), summary=[summarise(d) for d in details],
                          expires_at=txn.expires_at)


def prompt_messages(txn: CibaTransaction, *, prompt: ApprovalPrompt, device: DeviceRegistration,
                    provider: OpenIdProvider) -> list[tuple[str, HttpRequest]]:
    """The prompt for the user's device and, when it has a mailbox, the e-mail: (outbox kind, request)."""
    messages = [("device", HttpRequest.json_post(url=device.push_endpoint, payload=prompt.to_json()))]
    account = provider.user(txn.subject)
    if device.mailbox and account is not None:
        lines = [f"{prompt.client_name} asks for your approval.", ""]
        if prompt.binding_message:
            lines.append(f"Code shown on both screens: {prompt.binding_message}")
        for summary in prompt.summary:
            lines += [f"{label.capitalize()}: {value}" for label, value in summary.items()]
        lines += ["", "Open the authenticator app on your phone to approve or deny.",
                  f"The request expires at {_utc(txn.expires_at)}. Nothing happens if you do not answer."]
        subject_line = "Approval requested"
        if prompt.summary:
            first = prompt.summary[0]
            subject_line += f": {first.get('request', '')} — {first.get('amount', '')}"
        mail = {"to": account.email, "from": f"no-reply@{provider.issuer.split('://', 1)[-1]}",
                "subject": subject_line, "body": "\n".join(lines), "txn": txn.txn}
        messages.append(("email", HttpRequest.json_post(url=device.mailbox, payload=mail)))
    return messages


def _utc(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")

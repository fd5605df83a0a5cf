"""The CRM MCP server's data: the CRM's API, read with a token the token vault serves for the user.

SPEC.md phase 3 ("the vault gives a read-only Salesforce token"), RFC 8693 §2.1, RFC 7523 §2.2. The
MCP server holds no CRM credential. For a ``crm`` resource it asks the vault, as its own
``private_key_jwt`` client, to exchange the MCP access token it was just sent (subject: the user;
``act``: the agent; audience: this server alone) for the user's CRM token on the ``salesforce``
integration with ``crm.read``; the vault checks the token against the IdP's keys, the server's
registration and the user's connection, and answers with a short-lived provider token (never a
refresh token). The server then calls the CRM as the user — the CRM applies its own sharing rules
(territories) on top of the FGA check the gate already made. Tokens are reused while they have
more than a minute left, per user and acting agent (so each delegation shows in the vault's audit),
and registered with the run's secret registry.

URI → CRM API (``/crm/v1``):

- ``crm://contacts/{account}`` → ``GET /accounts/{account}`` and ``/accounts/{account}/contacts``;
- ``crm://accounts/{account}/purchases`` and ``…/contracts`` → ``GET /accounts/{account}/purchases``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import attrs

from actors.saas.clients import ApiClient
from actors.runtime.context import Runtime
from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest
from protocols.jose.keys import SigningKey
from protocols.oauth.client_auth import client_assertion_params
from protocols.oauth.errors import InvalidRequest, NotFound, OAuthError, TemporarilyUnavailable
from protocols.token_exchange import (
    TOKEN_TYPE_ACCESS_TOKEN, TokenExchangeRequest, TokenExchangeResponse, TokenExchangeResponseRejected,
)
from protocols.vault import CONNECTION_TOKEN_TYPE

TOKEN_PATH = "/token"
REUSE_MARGIN = 60
_URI = re.compile(r"crm://(?:contacts/(?P<contacts>[A-Za-z0-9_-]+)|accounts/(?P<account>[A-Za-z0-9_-]+)/"
                  r"(?P<part>purchases|contracts))\Z")


class CrmUnavailable(Exception):
    """The CRM could not be read for this user; the message says why (no secret)."""


def crm_account(uri: str) -> tuple[str, str] | None:
    """``(account, part)`` of a URI the CRM answers (part: ``contacts``, ``purchases``, ``contracts``)."""
    found = _URI.match(uri)
    if found is None:
        return None
    if found["contacts"]:
        return found["contacts"], "contacts"
    return found["account"], found["part"]


@attrs.frozen(kw_only=True)
class _Held:
    token: str = attrs.field(repr=False)
    expires_at: int


@attrs.define(eq=False)
class CrmViaVault:
    """One MCP server's way into the CRM: ``client_id`` and ``key`` are its registration at the vault."""

    runtime: Runtime
    client_id: str
    key: SigningKey = attrs.field(repr=False)
    vault_url: str
    resource: str
    """The CRM API's resource identifier (RFC 8707), as the vault's integration names it."""
    scope: tuple[str, ...]
    _held: dict[tuple[str, str], _Held] = attrs.field(factory=dict, init=False, repr=False)
    _entropy: SeededEntropy = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self._entropy = self.runtime.entropy_for(self.client_id).child("vault-client")

    async def token(self, *, subject: str, agent: str, subject_token: str) -> str:
        """The user's CRM token from the vault, exchanged for ``subject_token`` (the MCP access token
        ``agent`` presented on ``subject``'s behalf)."""
        now = self.runtime.clock.now()
        held = self._held.get((subject, agent))
        if held is not None and held.expires_at - now > REUSE_MARGIN:
            return held.token
        vault = self.vault_url.rstrip("/")
        exchange = TokenExchangeRequest(subject_token=subject_token, subject_token_type=TOKEN_TYPE_ACCESS_TOKEN,
                                        requested_token_type=CONNECTION_TOKEN_TYPE, resource=(self.resource,),
                                        scope=self.scope)
        auth = client_assertion_params(client_id=self.client_id, audience=vault, key=self.key, now=now,
                                       entropy=self._entropy)
        self.runtime.secrets.add(auth["client_assertion"])
        response = await self.runtime.network.send(HttpRequest(
            method="POST", url=vault + TOKEN_PATH, body=urlencode(exchange.to_form() + list(auth.items())).encode(),
            headers={"content-type": "application/x-www-form-urlencoded", "accept": "application/json"}))
        try:
            served = TokenExchangeResponse.from_response(response, expected_type=TOKEN_TYPE_ACCESS_TOKEN)
        except OAuthError as error:
            raise CrmUnavailable(f"the token vault refused: {error.error}: {error.description}") from None
        except TokenExchangeResponseRejected as error:
            raise CrmUnavailable(f"the token vault sent an unusable response: {error}") from None
        if served.refresh_token is not None:
            raise CrmUnavailable("the token vault sent a refresh token; this server refuses to hold one")
        self.runtime.secrets.add(served.access_token)
        self._held[(subject, agent)] = _Held(token=served.access_token, expires_at=now + (served.expires_in or 0))
        return served.access_token

    async def read(self, uri: str, *, subject: str, agent: str, subject_token: str) -> dict[str, Any] | None:
        """The resource's data as the CRM shows it to the user; ``None`` for a URI the CRM does not
        answer or an account the user cannot see there. Raises :class:`CrmUnavailable`."""
        target = crm_account(uri)
        if target is None:
            return None
        account, part = target
        api = ApiClient(network=self.runtime.network, base=self.resource,
                        token=await self.token(subject=subject, agent=agent, subject_token=subject_token))
        try:
            if part == "contacts":
                record = await api.get(f"/accounts/{account}")
                contacts = (await api.get(f"/accounts/{account}/contacts"))["records"]
                return {"account": {k: record[k] for k in ("id", "slug", "name", "industry", "territory")},
                        "contacts": [{k: c[k] for k in ("name", "title", "email", "phone")} for c in contacts]}
            history = await api.get(f"/accounts/{account}/purchases")
        except NotFound:
            return None
        except (InvalidRequest, TemporarilyUnavailable, OAuthError) as error:
            raise CrmUnavailable(f"the CRM answered {error.error}: {error.description}") from None
        return {"account": history["account"], "currency": "EUR", part: history[part]}

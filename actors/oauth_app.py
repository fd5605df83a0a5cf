"""An application that asks a person for access to their account at a provider: the OAuth 2.0
authorization code flow with PKCE, as a confidential client (``client_secret_basic``).

``GET /connect?user=<person>`` starts it (RFC 6749 §4.1.1: ``state``, PKCE S256 per RFC 7636 §4.2,
the scope the app wants) and sends the browser to the provider's authorization endpoint, read from
its RFC 8414 metadata. ``GET /callback`` checks ``state`` and the RFC 9207 ``iss``; an error
(``access_denied`` when the person declined or their employer's policy refused, §4.1.2.1) is kept
as the outcome; a code is redeemed with the verifier (§4.1.3) and the granted scope — which may be
narrower than the requested one (§3.3) — is kept with the tokens. :meth:`refresh` uses the refresh
token (§6); :meth:`call` calls the provider's API with the access token (RFC 6750 §2.1).

Used for TravelBot, the meal planner and the employee's scheduling agent. Tokens are registered
with the run's secret registry and never leave this actor except in ``Authorization`` headers.
"""

from __future__ import annotations

import html
from typing import Any

import attrs

from actors.runtime.actor import HttpActor
from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest, HttpResponse
from protocols.oauth.authorization_code import add_query
from protocols.oauth.client_auth import basic_authorization
from protocols.oauth.errors import OAuthError
from protocols.oauth.metadata import AuthorizationServerMetadata, metadata_url
from protocols.oauth.pkce import PkcePair
from protocols.oauth.token_response import TokenResponse, TokenResponseRejected

CONNECT_PATH, CALLBACK_PATH = "/connect", "/callback"


@attrs.frozen(kw_only=True)
class AppGrant:
    """What the app holds for one person: the granted scope and the tokens."""

    scope: tuple[str, ...]
    access_token: str = attrs.field(repr=False)
    refresh_token: str | None = attrs.field(default=None, repr=False)


@attrs.frozen(kw_only=True)
class _Pending:
    person: str
    verifier: str = attrs.field(repr=False)
    scope: tuple[str, ...]


@attrs.define(eq=False)
class OAuthApp(HttpActor):
    display_name: str = ""
    issuer: str = ""
    client_id: str = ""
    client_secret: str = attrs.field(default="", repr=False)
    scope: tuple[str, ...] = ()
    grants: dict[str, AppGrant] = attrs.field(factory=dict)
    refusals: dict[str, str] = attrs.field(factory=dict)
    """person → the error the provider answered (``access_denied: ...``)."""
    _metadata: AuthorizationServerMetadata | None = attrs.field(default=None, init=False)
    _pending: dict[str, _Pending] = attrs.field(factory=dict, init=False, repr=False)
    _entropy: SeededEntropy = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self._entropy = self.runtime.entropy_for(self.name).child("oauth-app")
        self.route("GET", CONNECT_PATH, self.connect)
        self.route("GET", CALLBACK_PATH, self.callback)

    @property
    def redirect_uri(self) -> str:
        return self.url(CALLBACK_PATH)

    def connect_url(self, person: str, *, scope: tuple[str, ...] | None = None) -> str:
        params = {"user": person} | ({"scope": " ".join(scope)} if scope else {})
        return add_query(self.url(CONNECT_PATH), params)

    async def metadata(self) -> AuthorizationServerMetadata:
        if self._metadata is None:
            response = await self.runtime.network.send(HttpRequest.get(metadata_url(self.issuer)))
            self._metadata = AuthorizationServerMetadata.from_json(response.json(), expected_issuer=self.issuer)
        return self._metadata

    async def connect(self, request: HttpRequest) -> HttpResponse:
        params = request.query_params()
        person = params.get("user", "")
        scope = tuple(params["scope"].split()) if params.get("scope") else self.scope
        metadata = await self.metadata()
        state, pair = self._entropy.token(16), PkcePair.generate(self._entropy)
        self.runtime.secrets.add(state, pair.verifier)
        self._pending[state] = _Pending(person=person, verifier=pair.verifier, scope=scope)
        await self.audit("agent.access_requested", agent=self.client_id, decision="allow", person=person,
                         reason=f"asks the person for {' '.join(scope)}", requested_scope=" ".join(scope),
                         issuer=self.issuer)
        assert metadata.authorization_endpoint is not None
        return HttpResponse.redirect(add_query(metadata.authorization_endpoint, {
            "response_type": "code", "client_id": self.client_id, "redirect_uri": self.redirect_uri,
            "scope": " ".join(scope), "state": state, "code_challenge": pair.challenge,
            "code_challenge_method": pair.method}))

    async def callback(self, request: HttpRequest) -> HttpResponse:
        params = request.query_params()
        pending = self._pending.pop(params.get("state", ""), None)
        if pending is None:
            await self.audit("agent.access_failed", agent=self.client_id, decision="deny", reason="unknown state")
            return _page("This answer matches no request of ours.", status=400)
        if params.get("iss") != self.issuer:
            await self.audit("agent.access_failed", agent=self.client_id, decision="deny", reason="issuer mismatch")
            return _page("The answer did not come from the expected provider.", status=400)
        if "error" in params or "code" not in params:
            error = params.get("error", "missing_code")
            self.refusals[pending.person] = f"{error}: {params.get('error_description', '')}".rstrip(": ")
            await self.audit("agent.access_refused", agent=self.client_id, decision="deny", reason=error,
                             person=pending.person, description=params.get("error_description", ""))
            return _page(f"{self.display_name} was not given access ({error}).", status=403)
        self.runtime.secrets.add(params["code"])
        try:
            tokens = await self._token_request({"grant_type": "authorization_code", "code": params["code"],
                                                "redirect_uri": self.redirect_uri, "code_verifier": pending.verifier})
        except (OAuthError, TokenResponseRejected) as error:
            await self.audit("agent.access_failed", agent=self.client_id, decision="deny", person=pending.person,
                             reason=f"{type(error).__name__}: {error}")
            return _page(f"{self.display_name} could not complete the connection.", status=502)
        granted = tokens.scope or pending.scope
        self.grants[pending.person] = AppGrant(scope=granted, access_token=tokens.access_token,
                                               refresh_token=tokens.refresh_token)
        narrowed = [s for s in pending.scope if s not in granted]
        await self.audit("agent.access_granted", agent=self.client_id, decision="allow", person=pending.person,
                         reason="authorization code redeemed" + (f"; not granted: {' '.join(narrowed)}"
                                                                 if narrowed else ""),
                         scope=" ".join(granted), requested_scope=" ".join(pending.scope))
        return _page(f"{self.display_name} is connected.")

    async def _token_request(self, form: dict[str, str]) -> TokenResponse:
        metadata = await self.metadata()
        response = await self.runtime.network.send(HttpRequest.form_post(
            url=metadata.token_endpoint, params=form,
            headers={"authorization": basic_authorization(self.client_id, self.client_secret)}))
        tokens = TokenResponse.from_response(response)
        self.runtime.secrets.add(tokens.access_token, tokens.refresh_token or "")
        return tokens

    async def refresh(self, person: str) -> tuple[bool, str]:
        """Refresh ``person``'s access token: ``(True, scope)`` or ``(False, error code)``."""
        grant = self.grants.get(person)
        if grant is None or grant.refresh_token is None:
            return False, "no_refresh_token"
        try:
            tokens = await self._token_request({"grant_type": "refresh_token", "refresh_token": grant.refresh_token})
        except OAuthError as error:
            await self.audit("agent.refresh_failed", agent=self.client_id, decision="deny", person=person,
                             reason=error.error)
            return False, error.error
        self.grants[person] = AppGrant(scope=tokens.scope or grant.scope, access_token=tokens.access_token,
                                       refresh_token=tokens.refresh_token or grant.refresh_token)
        return True, " ".join(self.grants[person].scope)

    async def call(self, person: str, method: str, url: str, payload: Any = None) -> HttpResponse:
        """Call the provider's API with ``person``'s access token."""
        grant = self.grants[person]
        headers = {"authorization": f"Bearer {grant.access_token}"}
        request = HttpRequest.get(url, headers=headers) if payload is None else \
            attrs.evolve(HttpRequest.json_post(url=url, payload=payload, headers=headers), method=method)
        return await self.runtime.network.send(request)


def _page(text: str, *, status: int = 200) -> HttpResponse:
    return HttpResponse.html(f"<!doctype html><html><body><p>{html.escape(text)}</p></body></html>", status=status)

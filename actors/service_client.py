"""A service account's OAuth 2.0 client: ``client_credentials`` (RFC 6749 §4.4) with
``client_secret_basic`` (§2.3.1), the token cached until shortly before it expires.

Used by the platform's own integrations (discovery reading provider logs, governance reading and
revoking grants) and by agents' background jobs. The secret comes from ``secret`` — a fixed static
key (what a shadow agent keeps in its config) or a coroutine that fetches the current one from the
privileged-credential vault, so a rotated key is picked up without a code change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import attrs

from actors.runtime.context import Runtime
from protocols.http import HttpRequest, HttpResponse
from protocols.oauth.client_auth import basic_authorization
from protocols.oauth.errors import OAuthError

SecretSource = Callable[[], Awaitable[str]]
EXPIRY_MARGIN = 30


@attrs.define(eq=False)
class ClientCredentialsClient:
    runtime: Runtime
    token_url: str
    client_id: str
    secret: str | SecretSource = attrs.field(repr=False)
    scope: str = ""
    resource: str | None = None
    _token: str | None = attrs.field(default=None, init=False, repr=False)
    _expires_at: int = attrs.field(default=0, init=False)

    async def _secret(self) -> str:
        return self.secret if isinstance(self.secret, str) else await self.secret()

    def invalidate(self) -> None:
        self._token, self._expires_at = None, 0

    async def access_token(self) -> str:
        """A valid access token; raises the provider's ``OAuthError`` if the grant is refused."""
        now = self.runtime.clock.now()
        if self._token is not None and now < self._expires_at - EXPIRY_MARGIN:
            return self._token
        params = {"grant_type": "client_credentials"}
        if self.scope:
            params["scope"] = self.scope
        if self.resource:
            params["resource"] = self.resource
        for attempt in (1, 2):
            secret = await self._secret()
            response = await self.runtime.network.send(HttpRequest.form_post(
                url=self.token_url, params=params, headers={"authorization": basic_authorization(self.client_id, secret)}))
            if response.status == 200:
                break
            forget = getattr(self.secret, "forget", None)
            if attempt == 2 or response.status != 401 or forget is None:
                raise OAuthError.from_response(response)
            forget()  # the secret was rotated since it was leased: lease the current one and retry
        body = response.json()
        self._token = str(body["access_token"])
        self.runtime.secrets.add(self._token)
        self._expires_at = now + int(body.get("expires_in", 300))
        return self._token

    async def send(self, request: HttpRequest) -> HttpResponse:
        """``request`` with the bearer token; one retry with a fresh token after a 401."""
        for attempt in (1, 2):
            token = await self.access_token()
            response = await self.runtime.network.send(
                attrs.evolve(request, headers=request.headers + (("authorization", f"Bearer {token}"),)))
            if response.status != 401 or attempt == 2:
                return response
            self.invalidate()
        raise AssertionError("unreachable")

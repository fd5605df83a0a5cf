"""The administrators' "connected apps" API of a simulated SaaS provider (what Salesforce calls
Connected Apps / integration users, Google "API controls"): list the service-account
integrations, replace an integration's client secret, remove an integration.

Installed on a ``SaasProvider`` as extra API routes under ``/admin/integrations``, protected like
every API of the provider (bearer token, RFC 6750) with the ``integrations.admin`` scope, which
only administrative service accounts hold. Removing an integration deletes its client
registration, so its outstanding access tokens stop validating at once (their subject no longer
exists) — the provider-side half of deprovisioning. The provider keeps one secret per client, so
a replaced secret is refused immediately (consumers re-read the vault and retry).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from actors.runtime.context import Runtime
from actors.saas.base import ApiReply, Caller, SaasProvider, json_object, text_field
from actors.service_client import ClientCredentialsClient
from protocols.http import HttpRequest
from protocols.oauth.authorization_server import ApiResource
from protocols.oauth.client_auth import hash_client_secret
from protocols.oauth.errors import AccessDenied, InvalidRequest, NotFound

ADMIN_API = "/admin/integrations"
ADMIN_SCOPE = "integrations.admin"


def admin_resource(provider_url: str) -> ApiResource:
    """The ``ApiResource`` to list in the provider's ``ServerConfig`` for this API."""
    return ApiResource(uri=provider_url.rstrip("/") + ADMIN_API, scopes=frozenset({ADMIN_SCOPE}))


def install_integrations_api(provider: SaasProvider) -> None:
    server = provider.server
    assert server is not None

    def describe(client: Any) -> dict[str, Any]:
        return {"client_id": client.client_id, "name": client.registration.name,
                "service_account": client.service_account, "scopes": sorted(client.registration.scopes)}

    def admin(caller: Caller) -> None:
        if not caller.service_account:
            raise AccessDenied("administrative service accounts only")

    async def list_integrations(caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        admin(caller)
        rows = [describe(c) for c in sorted(server.clients.values(), key=lambda c: c.client_id)
                if c.service_account is not None and ADMIN_SCOPE not in c.registration.scopes]
        return ApiReply(body={"integrations": rows}, records=len(rows))

    async def set_secret(caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        admin(caller)
        client = server.clients.get(params["client_id"])
        if client is None or client.service_account is None:
            raise NotFound("no such integration")
        secret = text_field(json_object(request), "secret")
        if len(secret) < 20:
            raise InvalidRequest("the secret must be at least 20 characters")
        provider.runtime.secrets.add(secret)
        server.register_client(attrs.evolve(client, registration=attrs.evolve(
            client.registration, client_secret_sha256=hash_client_secret(secret))))
        await provider.audit("integration.secret_replaced", agent=client.client_id, decision="allow",
                             reason=f"client secret replaced by {caller.client_id}; the previous one is refused")
        return ApiReply(body=describe(client), records=1)

    async def remove(caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        admin(caller)
        client = server.clients.pop(params["client_id"], None)
        if client is None or client.service_account is None:
            raise NotFound("no such integration")
        now = provider.runtime.clock.now()
        outcome = server.revoke_client(client.client_id, now=now)  # refresh families and access tokens
        revoked = list(outcome.details["revoked"])
        await provider.audit("integration.removed", agent=client.client_id, subject=client.service_account,
                             decision="allow", reason=f"integration removed by {caller.client_id}; its tokens "
                                                      "no longer validate", families=outcome.details.get("families"),
                             tokens=len(revoked), revoked_jtis=revoked)
        return ApiReply(body={"removed": client.client_id, "revoked_tokens": [
            {"system": provider.name, "tokens": len(revoked), "mechanism": "revoked at the issuer with the integration"}]},
            records=1)

    provider.api_route("GET", ADMIN_API, list_integrations, api=ADMIN_API, scopes=(ADMIN_SCOPE,))
    provider.api_route("POST", f"{ADMIN_API}/{{client_id}}/secret", set_secret, api=ADMIN_API, scopes=(ADMIN_SCOPE,))
    provider.api_route("DELETE", f"{ADMIN_API}/{{client_id}}", remove, api=ADMIN_API, scopes=(ADMIN_SCOPE,))


@attrs.define(eq=False)
class IntegrationSecretTarget:
    """A ``RotationTarget`` for a provider integration's client secret (one secret at a time)."""

    runtime: Runtime
    system: str
    base_url: str
    client: ClientCredentialsClient

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        from actors.rotation_targets import TargetRefused
        import json

        response = await self.client.send(HttpRequest(
            method=method, url=self.base_url + ADMIN_API + path, body=b"" if body is None else json.dumps(body).encode(),
            headers={"content-type": "application/json"} if body is not None else {}))
        if response.status >= 300:
            raise TargetRefused(f"{self.system} refused {method} {path}: HTTP {response.status}")
        return response.json() if response.body else {}

    async def set_secret(self, *, account: str, secret: str, retain_current: bool) -> None:
        await self._call("POST", f"/{account}/secret", {"secret": secret})

    async def discard_previous(self, *, account: str) -> None:
        return None  # the provider never kept the previous secret

    async def disable(self, *, account: str) -> list[dict[str, Any]]:
        """Remove the integration; the provider revokes its tokens and says how many (``revoked_tokens``)."""
        return list((await self._call("DELETE", f"/{account}")).get("revoked_tokens", []))

    async def create_temporary(self, *, username: str, secret: str, privileges: tuple[str, ...],
                               expires_at: int) -> None:
        from actors.rotation_targets import TargetRefused

        raise TargetRefused(f"{self.system} has no temporary accounts")

"""The agent's side of the privileged-credential vault: it authenticates with a ``private_key_jwt``
client assertion (RFC 7523 §2.2) and keeps a leased secret no longer than the vault allows, so a
rotation reaches it within one lease — always inside the target's overlap window.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import attrs

from actors.runtime.context import Runtime
from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest
from protocols.jose.keys import SigningKey
from protocols.oauth.client_auth import client_assertion_params
from protocols.oauth.errors import OAuthError


@attrs.define(eq=False)
class VaultCredentialClient:
    runtime: Runtime
    vault_url: str
    agent_id: str
    signing_key: SigningKey = attrs.field(repr=False)
    lease_override: int | None = None
    """Test hook: cache longer than the vault's lease (a misbehaving consumer)."""
    _entropy: SeededEntropy = attrs.field(init=False, repr=False)
    _cache: dict[str, tuple[str, int, int]] = attrs.field(factory=dict, init=False, repr=False)
    leases: int = 0

    def __attrs_post_init__(self) -> None:
        self._entropy = self.runtime.entropy_for(self.agent_id).child("vault-assertions")

    async def _post(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        assertion = client_assertion_params(client_id=self.agent_id, audience=self.vault_url, key=self.signing_key,
                                            now=self.runtime.clock.now(), entropy=self._entropy)
        self.runtime.secrets.add(assertion["client_assertion"])
        request = HttpRequest(method="POST", url=self.vault_url + path, body=urlencode({**params, **assertion}).encode(),
                              headers={"content-type": "application/x-www-form-urlencoded"})
        response = await self.runtime.network.send(request)
        if response.status != 200:
            raise OAuthError.from_response(response)
        return response.json()

    async def secret(self, credential_id: str) -> tuple[str, int]:
        """(secret, version): the cached one while its lease lasts, else a fresh lease."""
        now = self.runtime.clock.now()
        cached = self._cache.get(credential_id)
        if cached is not None and now < cached[2]:
            return cached[0], cached[1]
        body = await self._post(f"/credentials/{credential_id}/lease", {})
        self.leases += 1
        lease = self.lease_override if self.lease_override is not None else int(body["lease_seconds"])
        self._cache[credential_id] = (str(body["secret"]), int(body["version"]), now + lease)
        return str(body["secret"]), int(body["version"])

    def forget(self, credential_id: str) -> None:
        self._cache.pop(credential_id, None)

    def source(self, credential_id: str):
        """A ``SecretSource`` for ``ClientCredentialsClient``."""
        async def current() -> str:
            return (await self.secret(credential_id))[0]
        current.forget = lambda: self.forget(credential_id)  # type: ignore[attr-defined]
        return current

    async def jit(self, *, system: str, privileges: tuple[str, ...], reason: str, ttl: int) -> dict[str, Any]:
        return await self._post("/jit", {"system": system, "privileges": " ".join(privileges), "reason": reason,
                                         "ttl": str(ttl)})

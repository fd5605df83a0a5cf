"""Where the privileged-credential vault changes a secret: each target system's own admin API.

``RotationTarget`` is what the vault needs from a system: set a new secret (keeping the current
one valid during the overlap, or not), discard the previous one, create a temporary account for a
JIT grant, and disable the account at deprovisioning. Every call goes over the network with the
vault's administrative credential for that system; a refusal raises ``TargetRefused``.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

import attrs

from actors.runtime.context import Runtime
from actors.saas.database import basic
from protocols.http import HttpRequest, HttpResponse


class TargetRefused(Exception):
    """The target system refused an administrative change."""


class RotationTarget(Protocol):
    system: str

    async def set_secret(self, *, account: str, secret: str, retain_current: bool) -> None: ...
    async def discard_previous(self, *, account: str) -> None: ...
    async def disable(self, *, account: str) -> list[dict[str, Any]] | None: ...  # tokens the target revoked
    async def create_temporary(self, *, username: str, secret: str, privileges: tuple[str, ...],
                               expires_at: int) -> None: ...


def parse_privileges(privileges: tuple[str, ...]) -> list[dict[str, Any]]:
    """``("insert:orders", "select:orders")`` → the database's grant list."""
    tables: dict[str, list[str]] = {}
    for item in privileges:
        op, _, table = item.partition(":")
        tables.setdefault(table, []).append(op)
    return [{"table": t, "privileges": sorted(ops)} for t, ops in sorted(tables.items())]


@attrs.define(eq=False)
class DatabaseTarget:
    """A ``DatabaseActor`` administered through its ``/admin`` API as the DBA."""

    runtime: Runtime
    system: str
    base_url: str
    admin_user: str
    admin_password: str = attrs.field(repr=False)

    async def _admin(self, method: str, path: str, body: Any = None) -> HttpResponse:
        request = HttpRequest(method=method, url=self.base_url + "/admin" + path,
                              headers={"authorization": basic(self.admin_user, self.admin_password),
                                       "content-type": "application/json"},
                              body=b"" if body is None else json.dumps(body).encode())
        response = await self.runtime.network.send(request)
        if response.status >= 300:
            try:
                message = response.json().get("message", "")
            except Exception:  # noqa: BLE001 - the refusal is reported whatever its body
                message = ""
            raise TargetRefused(f"{self.system} refused {method} {path}: HTTP {response.status} {message}".strip())
        return response

    async def set_secret(self, *, account: str, secret: str, retain_current: bool) -> None:
        await self._admin("POST", f"/users/{account}/password", {"password": secret, "retain_current": retain_current})

    async def discard_previous(self, *, account: str) -> None:
        await self._admin("POST", f"/users/{account}/discard-old-password")

    async def disable(self, *, account: str) -> None:
        await self._admin("DELETE", f"/users/{account}")

    async def create_temporary(self, *, username: str, secret: str, privileges: tuple[str, ...],
                               expires_at: int) -> None:
        await self._admin("POST", "/users", {"name": username, "password": secret,
                                             "grants": parse_privileges(privileges), "valid_until": expires_at})

    async def users(self) -> list[dict[str, Any]]:
        return (await self._admin("GET", "/users")).json()["users"]

    async def revoke(self, *, account: str, grants: list[dict[str, Any]]) -> None:
        await self._admin("POST", f"/users/{account}/revoke", {"grants": grants})

    async def grant(self, *, account: str, grants: list[dict[str, Any]], valid_until: int | None) -> None:
        """``GRANT``; with ``valid_until`` the database itself stops honouring it then."""
        await self._admin("POST", f"/users/{account}/grant", {"grants": grants, "valid_until": valid_until})

"""How governance reads and removes an agent's grants in each system — always through that
system's own administrative API, so what is reviewed is what the system actually enforces.

- ``DatabaseConnector``: the database users the agent uses and their table privileges
  (``REVOKE`` per entitlement, ``DROP USER`` at deprovisioning);
- ``IntegrationConnector``: a SaaS provider's service-account integrations (connected apps) of
  the agent (removing the app invalidates its tokens at once);
- ``PrivilegedVaultConnector``: the agent's vaulted privileged credentials (revoked = account
  disabled at the target and secrets destroyed).
"""

from __future__ import annotations

import json
from typing import Any, Protocol

import attrs

from actors.rotation_targets import DatabaseTarget
from actors.runtime.context import Runtime
from actors.service_client import ClientCredentialsClient
from protocols.governance import Entitlement
from protocols.http import HttpRequest


class ConnectorError(Exception):
    """A system refused to list or remove a grant."""


@attrs.frozen(kw_only=True)
class AgentAccounts:
    """What governance knows of an agent: its id and its accounts per system (from the registry)."""

    id: str
    accounts: tuple[tuple[str, str], ...]

    def on(self, system: str) -> list[str]:
        return [value for s, value in self.accounts if s == system]


class Connector(Protocol):
    system: str

    async def entitlements(self, agent: AgentAccounts) -> list[Entitlement]: ...
    async def revoke(self, agent: AgentAccounts, entitlement: Entitlement) -> None: ...
    async def deprovision(self, agent: AgentAccounts) -> None: ...


@attrs.define(eq=False)
class DatabaseConnector:
    target: DatabaseTarget
    label: str = "database"

    @property
    def system(self) -> str:
        return self.target.system

    async def entitlements(self, agent: AgentAccounts) -> list[Entitlement]:
        accounts = set(agent.on(self.system))
        found = []
        for user in await self.target.users():
            if user["name"] in accounts:
                for grant in user["grants"]:
                    found.append(Entitlement(system=self.system, kind="database_grant",
                                             resource=f"table {grant['table']}", scopes=tuple(grant["privileges"]),
                                             grant=f"{user['name']}/{grant['table']}",
                                             label=f"{self.label}: {grant['table']}"))
        return found

    async def revoke(self, agent: AgentAccounts, entitlement: Entitlement) -> None:
        account, _, table = entitlement.grant.partition("/")
        await self.target.revoke(account=account, grants=[{"table": table, "privileges": list(entitlement.scopes)}])

    async def deprovision(self, agent: AgentAccounts) -> None:
        existing = {u["name"] for u in await self.target.users()}
        for account in agent.on(self.system):
            if account in existing:
                await self.target.disable(account=account)


@attrs.define(eq=False)
class IntegrationConnector:
    """A provider's ``/admin/integrations`` API (``actors.saas_admin``) read with an admin token."""

    runtime: Runtime
    system: str
    base_url: str
    client: ClientCredentialsClient
    label: str = ""

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        request = HttpRequest(method=method, url=self.base_url + path,
                              headers={"content-type": "application/json"} if body is not None else {},
                              body=b"" if body is None else json.dumps(body).encode())
        response = await self.client.send(request)
        if response.status >= 300:
            raise ConnectorError(f"{self.system} refused {method} {path}: HTTP {response.status}")
        return response.json()

    async def entitlements(self, agent: AgentAccounts) -> list[Entitlement]:
        accounts = set(agent.on(self.system))
        found = []
        for app in (await self._call("GET", "/admin/integrations"))["integrations"]:
            if app["service_account"] in accounts:
                found.append(Entitlement(system=self.system, kind="service_account", resource=app["service_account"],
                                         scopes=tuple(app["scopes"]), grant=app["client_id"],
                                         label=f"{self.label or self.system}: {' '.join(app['scopes'])}"))
        return found

    async def revoke(self, agent: AgentAccounts, entitlement: Entitlement) -> None:
        await self._call("DELETE", f"/admin/integrations/{entitlement.grant}")

    async def deprovision(self, agent: AgentAccounts) -> None:
        for entitlement in await self.entitlements(agent):
            await self.revoke(agent, entitlement)


@attrs.define(eq=False)
class PrivilegedVaultConnector:
    runtime: Runtime
    base_url: str
    token: str = attrs.field(repr=False)
    system: str = "privileged-vault"

    async def _call(self, method: str, path: str) -> Any:
        response = await self.runtime.network.send(HttpRequest(
            method=method, url=self.base_url + path, headers={"authorization": f"Bearer {self.token}"}))
        if response.status >= 300:
            raise ConnectorError(f"the privileged vault refused {method} {path}: HTTP {response.status}")
        return response.json()

    async def entitlements(self, agent: AgentAccounts) -> list[Entitlement]:
        rows = (await self._call("GET", f"/credentials?agent={agent.id}"))["credentials"]
        return [Entitlement(system=self.system, kind="credential", resource=f"{row['system']}/{row['account']}",
                            scopes=(row["kind"], f"rotation:{row['policy']['every'] // 86400}d"), grant=row["id"],
                            label=f"vaulted {row['kind'].replace('_', ' ')} for {row['system']}")
                for row in rows if not row["revoked"]]

    async def revoke(self, agent: AgentAccounts, entitlement: Entitlement) -> None:
        await self._call("POST", f"/credentials/{entitlement.grant}/revoke")

    async def deprovision(self, agent: AgentAccounts) -> None:
        for entitlement in await self.entitlements(agent):
            await self.revoke(agent, entitlement)

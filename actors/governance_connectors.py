"""How governance reads and removes an agent's grants in each system — always through that
system's own administrative API, so what is reviewed is what the system actually enforces.

- ``DatabaseConnector``: the database users the agent uses and their table privileges
  (``REVOKE`` per entitlement, ``DROP USER`` at deprovisioning);
- ``IntegrationConnector``: a SaaS provider's service-account integrations (connected apps) of
  the agent (removing the app invalidates its tokens at once);
- ``PrivilegedVaultConnector``: the agent's vaulted privileged credentials (revoked = account
  disabled at the target and secrets destroyed);
- ``TokenVaultConnector``: the integrations the token vault may serve the agent (Google Drive,
  Gmail, Calendar, Slack, the CRM on a user's behalf) — ``actors.grant_admin``;
- ``ClientRegistrationConnector``: the agent's client registration at an authorization server
  (the pricing AS: cross-domain access; the IdP: the agent's sign-in identity) — ``actors.grant_admin``;
- ``FgaConnector``: the relationship tuples naming the agent as user, read and deleted through the
  FGA service's OpenFGA API (``/read``, ``/write`` deletes).

A connector that can also grant for a limited time (``elevate``) serves JIT elevation; the system
itself stops honouring the grant at its expiry.

``revoke`` and ``deprovision`` return what the system reports it did to the *live tokens* of the
grant (``TokenRevocations``: one ``{"system", "tokens", "mechanism"}`` row per system that revoked
tokens it or a token service had issued for it), so removing a grant also ends the tokens the
agent already holds, and governance audits each row.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, Protocol
from urllib.parse import quote

import attrs

from actors.fga_client import FgaClient
from actors.rotation_targets import DatabaseTarget, TargetRefused, parse_privileges
from actors.runtime.context import Runtime
from actors.service_client import ClientCredentialsClient
from protocols.fga.errors import FgaError
from protocols.fga.tuples import TupleKey
from protocols.governance import Entitlement
from protocols.http import HttpRequest, HttpResponse


class ConnectorError(Exception):
    """A system refused to list or remove a grant."""


@attrs.frozen(kw_only=True)
class AgentAccounts:
    """What governance knows of an agent: its id and its accounts per system (from the registry)."""

    id: str
    accounts: tuple[tuple[str, str], ...]

    def on(self, system: str) -> list[str]:
        return [value for s, value in self.accounts if s == system]


TokenRevocations = list[dict[str, Any]]
"""``[{"system", "tokens", "mechanism"}]``: live tokens revoked with a grant (empty: none were held)."""


class Connector(Protocol):
    system: str

    async def entitlements(self, agent: AgentAccounts) -> list[Entitlement]: ...
    async def revoke(self, agent: AgentAccounts, entitlement: Entitlement) -> TokenRevocations | None: ...
    async def deprovision(self, agent: AgentAccounts) -> TokenRevocations | None: ...


@attrs.define(eq=False)
class AdminApi:
    """One system's administrative JSON API: ``send`` carries the request (a client-credentials
    client adds its own token); with ``token`` the request carries that bearer token. Any answer
    of 300 or more is a ``ConnectorError``."""

    system: str
    base_url: str
    send: Callable[[HttpRequest], Awaitable[HttpResponse]]
    token: str = attrs.field(default="", repr=False)

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"content-type": "application/json"} if body is not None else {}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        request = HttpRequest(method=method, url=self.base_url + path, headers=headers,
                              body=b"" if body is None else json.dumps(body).encode())
        response = await self.send(request)
        if response.status >= 300:
            raise ConnectorError(f"{self.system} refused {method} {path}: HTTP {response.status}")
        return response.json()

    @classmethod
    def with_token(cls, *, runtime: Runtime, system: str, base_url: str, token: str) -> AdminApi:
        return cls(system=system, base_url=base_url, send=runtime.network.send, token=token)


async def _revoke_each(connector: Any, agent: AgentAccounts) -> TokenRevocations:
    rows: TokenRevocations = []
    for entitlement in await connector.entitlements(agent):
        rows += await connector.revoke(agent, entitlement) or []
    return rows


@attrs.define(eq=False)
class DatabaseConnector:
    target: DatabaseTarget
    label: str = "database"

    @property
    def system(self) -> str:
        return self.target.system

    async def _users(self) -> list[dict[str, Any]]:
        try:
            return await self.target.users()
        except TargetRefused as error:
            raise ConnectorError(str(error)) from None

    async def entitlements(self, agent: AgentAccounts) -> list[Entitlement]:
        accounts = set(agent.on(self.system))
        found = []
        for user in await self._users():
            if user["name"] in accounts:
                for grant in user["grants"]:
                    until = f" until {grant['valid_until']}" if "valid_until" in grant else ""
                    found.append(Entitlement(system=self.system, kind="database_grant",
                                             resource=f"table {grant['table']}",
                                             scopes=tuple(f"{op}:{grant['table']}" for op in grant["privileges"]),
                                             grant=f"{user['name']}/{grant['table']}",
                                             label=f"{self.label}: {grant['table']}{until}"))
        return found

    async def revoke(self, agent: AgentAccounts, entitlement: Entitlement) -> None:
        """``REVOKE``; nothing to do when the account itself is already gone (dropped when its
        vaulted password was revoked)."""
        account, _, _table = entitlement.grant.partition("/")
        if account not in {u["name"] for u in await self._users()}:
            return
        try:
            await self.target.revoke(account=account, grants=parse_privileges(entitlement.scopes))
        except TargetRefused as error:
            raise ConnectorError(str(error)) from None

    async def elevate(self, agent: AgentAccounts, *, scope: str, expires_at: int) -> str:
        """A time-bound ``GRANT`` of ``op:table`` to the agent's account; the database lapses it."""
        accounts = agent.on(self.system)
        if not accounts:
            raise ConnectorError(f"agent {agent.id} has no account in {self.system}")
        try:
            await self.target.grant(account=accounts[0], grants=parse_privileges((scope,)), valid_until=expires_at)
        except TargetRefused as error:
            raise ConnectorError(str(error)) from None
        return accounts[0]

    async def deprovision(self, agent: AgentAccounts) -> None:
        existing = {u["name"] for u in await self._users()}
        for account in agent.on(self.system):
            if account in existing:
                try:
                    await self.target.disable(account=account)
                except TargetRefused as error:
                    raise ConnectorError(str(error)) from None


@attrs.define(eq=False)
class IntegrationConnector:
    """A provider's ``/admin/integrations`` API (``actors.saas_admin``) read with an admin token."""

    runtime: Runtime
    system: str
    base_url: str
    client: ClientCredentialsClient
    label: str = ""

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        api = AdminApi(system=self.system, base_url=self.base_url, send=self.client.send)
        return await api.call(method, path, body)

    async def entitlements(self, agent: AgentAccounts) -> list[Entitlement]:
        accounts = set(agent.on(self.system))
        found = []
        for app in (await self._call("GET", "/admin/integrations"))["integrations"]:
            if app["service_account"] in accounts:
                found.append(Entitlement(system=self.system, kind="service_account", resource=app["service_account"],
                                         scopes=tuple(app["scopes"]), grant=app["client_id"],
                                         label=f"{self.label or self.system}: {' '.join(app['scopes'])}"))
        return found

    async def revoke(self, agent: AgentAccounts, entitlement: Entitlement) -> TokenRevocations:
        answer = await self._call("DELETE", f"/admin/integrations/{entitlement.grant}")
        return list(answer.get("revoked_tokens", []))

    async def deprovision(self, agent: AgentAccounts) -> TokenRevocations:
        return await _revoke_each(self, agent)


@attrs.define(eq=False)
class PrivilegedVaultConnector:
    runtime: Runtime
    base_url: str
    token: str = attrs.field(repr=False)
    system: str = "privileged-vault"

    async def _call(self, method: str, path: str) -> Any:
        return await AdminApi.with_token(runtime=self.runtime, system=self.system, base_url=self.base_url,
                                         token=self.token).call(method, path)

    async def entitlements(self, agent: AgentAccounts) -> list[Entitlement]:
        rows = (await self._call("GET", f"/credentials?agent={agent.id}"))["credentials"]
        return [Entitlement(system=self.system, kind="credential", resource=f"{row['system']}/{row['account']}",
                            scopes=(row["kind"], f"rotation:{row['policy']['every'] // 86400}d"), grant=row["id"],
                            label=f"vaulted {row['kind'].replace('_', ' ')} for {row['system']}")
                for row in rows if not row["revoked"]]

    async def revoke(self, agent: AgentAccounts, entitlement: Entitlement) -> TokenRevocations:
        """Revoked = account disabled at the target, which reports the tokens it ended with it."""
        return list((await self._call("POST", f"/credentials/{entitlement.grant}/revoke")).get("revoked_tokens", []))

    async def deprovision(self, agent: AgentAccounts) -> TokenRevocations:
        return await _revoke_each(self, agent)


@attrs.define(eq=False)
class TokenVaultConnector:
    """The token vault's ``/admin/agents`` API (``actors.grant_admin``)."""

    api: AdminApi
    titles: dict[str, str] = attrs.field(factory=dict)
    """integration → what the reviewer reads (e.g. ``gmail`` → ``E-mail (Gmail)``)."""

    @property
    def system(self) -> str:
        return self.api.system

    async def entitlements(self, agent: AgentAccounts) -> list[Entitlement]:
        held = await self.api.call("GET", f"/admin/agents/{quote(agent.id)}")
        return [Entitlement(system=self.system, kind="vault_integration", resource=f"{g['integration']} "
                            f"({g['provider']})", scopes=tuple(g["scopes"]), grant=g["integration"],
                            label=f"{self.titles.get(g['integration'], g['integration'])} via the token vault")
                for g in held["grants"]]

    async def revoke(self, agent: AgentAccounts, entitlement: Entitlement) -> TokenRevocations:
        """The vault withdraws the integration and revokes, at the provider, the tokens it served for it."""
        answer = await self.api.call("DELETE", f"/admin/agents/{quote(agent.id)}/grants/{quote(entitlement.grant)}")
        return list(answer.get("revoked_tokens", []))

    async def deprovision(self, agent: AgentAccounts) -> TokenRevocations:
        held = await self.api.call("GET", f"/admin/agents/{quote(agent.id)}")
        if held["registered"] or held["grants"]:
            return list((await self.api.call("DELETE", f"/admin/agents/{quote(agent.id)}")).get("revoked_tokens", []))
        return []


@attrs.define(eq=False)
class ClientRegistrationConnector:
    """An authorization server's ``/admin/clients`` API (``actors.grant_admin``): the agent's
    registration there (``kind`` ``client_registration``, or ``sign_in_identity`` at the IdP)."""

    api: AdminApi
    kind: str = "client_registration"
    label: str = ""

    @property
    def system(self) -> str:
        return self.api.system

    async def entitlements(self, agent: AgentAccounts) -> list[Entitlement]:
        rows = (await self.api.call("GET", "/admin/clients"))["clients"]
        mine = [r for r in rows if r["agent"] == agent.id or r["client_id"] in agent.on(self.system)]
        return [Entitlement(system=self.system, kind=self.kind, resource=f"client {r['client_id']}",
                            scopes=tuple(r["scopes"]) or tuple(r["grant_types"]), grant=r["client_id"],
                            label=f"{self.label or self.system}: {' '.join(r['scopes']) or 'registered client'}")
                for r in mine]

    async def revoke(self, agent: AgentAccounts, entitlement: Entitlement) -> TokenRevocations:
        answer = await self.api.call("DELETE", f"/admin/clients/{quote(entitlement.grant)}")
        return list(answer.get("revoked_tokens", []))

    async def deprovision(self, agent: AgentAccounts) -> TokenRevocations:
        return await _revoke_each(self, agent)


@attrs.define(eq=False)
class FgaConnector:
    """Relationship tuples whose user is the agent (``agent:{id}``), through OpenFGA's API on the
    FGA service's loaded store (read when called: the store is created after the service starts)."""

    runtime: Runtime
    service: Any
    """The ``FgaServiceActor``: its address and the id of the store and model it serves."""
    system: str = "fga"
    user_type: str = "agent"

    @property
    def client(self) -> FgaClient:
        return FgaClient(network=self.runtime.network, base_url=self.service.base_url, store_id=self.service.store_id,
                         authorization_model_id=self.service.model_id)

    async def _tuples(self, agent: AgentAccounts) -> list[TupleKey]:
        users = {f"{self.user_type}:{agent.id}", *agent.on(self.system)}
        found, token = [], ""
        while True:
            try:
                page, token = await self.client.read(page_size=100, continuation_token=token)
            except FgaError as error:
                raise ConnectorError(f"{self.system} refused to read tuples: {type(error).__name__}") from None
            found += [t for t in page if t.user in users]
            if not token:
                return found

    async def entitlements(self, agent: AgentAccounts) -> list[Entitlement]:
        return [Entitlement(system=self.system, kind="relation", resource=t.object, scopes=(t.relation,),
                            grant=f"{t.user}|{t.relation}|{t.object}", label=f"{t.relation} of {t.object}")
                for t in await self._tuples(agent)]

    async def revoke(self, agent: AgentAccounts, entitlement: Entitlement) -> None:
        user, relation, obj = entitlement.grant.split("|", 2)
        try:
            await self.client.write(deletes=[TupleKey(user=user, relation=relation, object=obj)])
        except FgaError as error:
            raise ConnectorError(f"{self.system} refused to delete a tuple: {type(error).__name__}") from None

    async def deprovision(self, agent: AgentAccounts) -> TokenRevocations:
        return await _revoke_each(self, agent)

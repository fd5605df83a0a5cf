"""World-file sections for the token vault and the SaaS systems it connects to (phases 3 and 6).

```toml
[vault]
name = "token-vault"
refresh_margin = 300        # never serve a provider token with less than this many seconds left
keep_warm = 900             # tokens served this recently are refreshed ahead of expiry
kek_rotation_days = 90      # key-encryption key rotation (0 = never)

[vault.egress]              # optional: the agents' output filter blocks internal content to outsiders
internal_domains = ["acme-subsidiary.example"]  # counted as inside, besides [organization].domain
internal_sources = ["docs://pricing/", "finance://"]  # URI prefixes of internal-only content

[[providers]]               # a SaaS provider: an OAuth authorization server plus its API
name = "crm"                # actor name
kind = "crm"                # crm | google-workspace | slack
title = "Salesforce"
signing_alg = "ES256"
access_token_lifetime = 900
refresh_token_days = 90     # absolute lifetime of a grant; refresh tokens rotate on every use
refresh_token_idle_days = 30  # optional: a grant unused this long expires (default: refresh_token_days)
consent = "admin"           # admin: approved by IT for every user (no consent screen); user: consent screen

[[integrations]]            # what the vault hands tokens for: one API of one provider
name = "salesforce"
provider = "crm"
api = "/crm/v1"             # the API's path at the provider; its URL is the RFC 8707 resource
scopes = ["crm.read", "crm.write"]

[[agents]]
...
[agents.integrations]       # what the vault may give this agent: integration → scopes
salesforce = ["crm.read"]
```

Every section is optional; a world without ``[vault]`` has no vault. Errors are the one-line
``WorldError`` of ``scenarios.world`` naming the file and the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

import attrs

from actors.saas import crm, google_workspace, slack
from protocols.jose.keys import Algorithm

PROVIDER_APIS: Mapping[str, Mapping[str, frozenset[str]]] = {
    "crm": crm.APIS, "google-workspace": google_workspace.APIS, "slack": slack.APIS}
"""Provider kind → its APIs (path → scopes): what an integration may name."""
PROVIDER_KINDS = tuple(PROVIDER_APIS)
CONSENT_MODES = ("admin", "user")
DAY = 86400
_DOMAIN = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")
_URI_PREFIX = re.compile(r"^[a-z][a-z0-9+.-]*://\S*$")


class _Reader(Protocol):  # scenarios.world._Reader (structural: world.py imports this module)
    def fail(self, where: str, problem: str) -> Exception: ...
    def table(self, data: dict[str, Any], key: str, where: str = "") -> dict[str, Any]: ...
    def tables(self, data: dict[str, Any], key: str) -> list[dict[str, Any]]: ...
    def string(self, data: dict[str, Any], key: str, where: str, *, default: str | None = None) -> str: ...
    def positive_int(self, data: dict[str, Any], key: str, where: str) -> int: ...
    def algorithm(self, data: dict[str, Any], key: str, where: str) -> Algorithm: ...
    def choice(self, data: dict[str, Any], key: str, where: str, options: tuple[str, ...]) -> str: ...


@attrs.frozen(kw_only=True)
class EgressSettings:
    """``[vault.egress]``: the data-egress policy of the agents' output filter
    (``protocols.egress_policy``); recipients named by an approval are exempt."""

    internal_domains: tuple[str, ...]
    """Domains counted as inside the organisation besides ``[organization].domain``."""
    internal_sources: tuple[str, ...]
    """URI prefixes of internal-only content (``docs://pricing/``, ``finance://``)."""


@attrs.frozen(kw_only=True)
class VaultSettings:
    name: str
    refresh_margin: int
    keep_warm: int
    kek_rotation_days: int
    egress: EgressSettings | None = None


@attrs.frozen(kw_only=True)
class ProviderSpec:
    name: str
    kind: str
    title: str
    signing_alg: Algorithm
    access_token_lifetime: int
    refresh_token_days: int
    refresh_token_idle_days: int
    consent: str


@attrs.frozen(kw_only=True)
class IntegrationSpec:
    name: str
    provider: str
    api: str
    scopes: tuple[str, ...]


@attrs.frozen(kw_only=True)
class ConnectedSystems:
    vault: VaultSettings | None = None
    providers: tuple[ProviderSpec, ...] = ()
    integrations: tuple[IntegrationSpec, ...] = ()

    def provider(self, name: str) -> ProviderSpec:
        return next(p for p in self.providers if p.name == name)

    def integration(self, name: str) -> IntegrationSpec:
        return next(i for i in self.integrations if i.name == name)


def _non_negative(read: _Reader, data: dict[str, Any], key: str, where: str, default: int) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise read.fail(f"{where}.{key}", "expected a non-negative integer")
    return value


def _strings(read: _Reader, value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise read.fail(where, "expected a non-empty list of strings")
    if len(set(value)) != len(value):
        raise read.fail(where, "lists a value twice")
    return tuple(value)


def parse_egress(read: _Reader, raw: Any) -> EgressSettings | None:
    """``[vault.egress]`` (``None`` when absent)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise read.fail("vault.egress", "expected a table")
    if "internal_sources" not in raw:
        raise read.fail("vault.egress.internal_sources", "missing")
    sources = _strings(read, raw["internal_sources"], "vault.egress.internal_sources")
    bad = [s for s in sources if not _URI_PREFIX.match(s)]
    if bad:
        raise read.fail("vault.egress.internal_sources",
                        f"expected URI prefixes such as docs://pricing/, got {bad[0]!r}")
    domains: tuple[str, ...] = ()
    if "internal_domains" in raw:
        domains = _strings(read, raw["internal_domains"], "vault.egress.internal_domains")
    bad = [d for d in domains if not _DOMAIN.match(d)]
    if bad:
        raise read.fail("vault.egress.internal_domains", f"expected lower-case domain names, got {bad[0]!r}")
    return EgressSettings(internal_domains=domains, internal_sources=sources)


def parse_agent_integrations(read: _Reader, agent: dict[str, Any], where: str) -> Mapping[str, tuple[str, ...]]:
    """``[agents.integrations]``: integration name → the scopes the vault may give this agent."""
    raw = agent.get("integrations", {})
    if not isinstance(raw, dict):
        raise read.fail(f"{where}.integrations", "expected a table: integration = [scopes]")
    return {name: _strings(read, scopes, f"{where}.integrations.{name}") for name, scopes in raw.items()}


def parse_connected_systems(read: _Reader, data: dict[str, Any], *,
                            agent_integrations: Mapping[str, Mapping[str, tuple[str, ...]]],
                            taken_names: set[str]) -> ConnectedSystems:
    """``[vault]``, ``[[providers]]``, ``[[integrations]]``, cross-checked with the agents' grants.
    ``taken_names`` are actor names already used by the world (no two actors share a name)."""
    providers = []
    for i, p in enumerate(read.tables(data, "providers")):
        where = f"providers[{i}]"
        name = read.string(p, "name", where)
        if name in taken_names or any(q.name == name for q in providers):
            raise read.fail(f"{where}.name", f"the actor name {name!r} is already used")
        absolute = read.positive_int(p, "refresh_token_days", where)
        idle = read.positive_int(p, "refresh_token_idle_days", where) if "refresh_token_idle_days" in p else absolute
        providers.append(ProviderSpec(
            name=name, kind=read.choice(p, "kind", where, PROVIDER_KINDS),
            title=read.string(p, "title", where, default=name), signing_alg=read.algorithm(p, "signing_alg", where),
            access_token_lifetime=read.positive_int(p, "access_token_lifetime", where),
            refresh_token_days=absolute, refresh_token_idle_days=idle,
            consent=read.choice(p, "consent", where, CONSENT_MODES)))
    provider_names = {p.name for p in providers}
    integrations = []
    for i, entry in enumerate(read.tables(data, "integrations")):
        where = f"integrations[{i}]"
        name = read.string(entry, "name", where)
        if any(x.name == name for x in integrations):
            raise read.fail(f"{where}.name", f"integration {name!r} is declared twice")
        provider = read.string(entry, "provider", where)
        if provider not in provider_names:
            raise read.fail(f"{where}.provider", f"unknown provider {provider!r}")
        api = read.string(entry, "api", where)
        if not api.startswith("/") or "?" in api or "#" in api:
            raise read.fail(f"{where}.api", "expected an absolute path such as /crm/v1")
        kind = next(p.kind for p in providers if p.name == provider)
        offered = PROVIDER_APIS[kind].get(api.rstrip("/"))
        if offered is None:
            raise read.fail(f"{where}.api", f"a {kind} provider serves {', '.join(PROVIDER_APIS[kind])}, not {api}")
        scopes = _strings(read, entry.get("scopes"), f"{where}.scopes")
        unknown = [s for s in scopes if s not in offered]
        if unknown:
            raise read.fail(f"{where}.scopes", f"{api} has no scope {', '.join(unknown)}")
        integrations.append(IntegrationSpec(name=name, provider=provider, api=api.rstrip("/"), scopes=scopes))
    declared = {i.name: i for i in integrations}
    for index, grants in enumerate(agent_integrations.values()):  # in [[agents]] order
        for name, scopes in grants.items():
            where = f"agents[{index}].integrations.{name}"
            if name not in declared:
                raise read.fail(where, f"unknown integration {name!r}")
            beyond = [s for s in scopes if s not in declared[name].scopes]
            if beyond:
                raise read.fail(where, f"scopes not offered by the integration: {', '.join(beyond)}")
    raw_vault = data.get("vault")
    if raw_vault is None:
        if any(agent_integrations.values()):
            raise read.fail("vault", "agents list integrations but the world has no [vault]")
        return ConnectedSystems(providers=tuple(providers), integrations=tuple(integrations))
    if not isinstance(raw_vault, dict):
        raise read.fail("vault", "expected a table")
    name = read.string(raw_vault, "name", "vault")
    if name in taken_names or name in provider_names:
        raise read.fail("vault.name", f"the actor name {name!r} is already used")
    margin = read.positive_int(raw_vault, "refresh_margin", "vault")
    too_short = [p.name for p in providers if p.access_token_lifetime <= margin]
    if too_short:
        raise read.fail("vault.refresh_margin", f"must be shorter than the access-token lifetime of "
                                                f"{', '.join(too_short)}")
    vault = VaultSettings(name=name, refresh_margin=margin, keep_warm=_non_negative(read, raw_vault, "keep_warm", "vault", 900),
                          kek_rotation_days=_non_negative(read, raw_vault, "kek_rotation_days", "vault", 0),
                          egress=parse_egress(read, raw_vault.get("egress")))
    return ConnectedSystems(vault=vault, providers=tuple(providers), integrations=tuple(integrations))

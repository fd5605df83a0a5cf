"""World-file sections for cross-domain access (phase 4): the pricing system behind its own
authorization server, and the IdP's managed connections.

```toml
[pricing]
authorization_server = "pricing-as"      # actor name; its issuer is its base URL
api = "pricing-api"                      # actor name of the resource server
resource = "https://pricing.acmecorp.internal/api"   # RFC 8707 identifier of the pricing API
audience_aliases = ["https://pricing.acmecorp.internal"]  # names the IdP maps to the AS issuer
signing_alg = "ES256"
access_token_lifetime = 600
scopes = ["pricing:read", "pricing:write", "pricing:admin"]
trusted_idps = ["acme-idp"]              # whose ID-JAGs the pricing AS redeems
introspection_cache = 0                  # s the API keeps an "active" introspection answer (0-60; 0: ask each time)

[[pricing.prices]]
tier = "enterprise-tier"
sku = "AIT-ENT-PROG"
product = "AI training programme"
unit = "cohort of 20"
list_price_eur = 95000

[[managed_connections]]
agent = "sales-agent-prod-001"
target = "pricing-as"
client_id = "acme-sales-agent"           # the agent's client id *at the pricing AS*
granted = ["pricing:read"]
approval = []
refused = ["pricing:write", "pricing:admin"]
id_jag_lifetime = 300
```

``parse_pricing`` and ``parse_managed_connections`` are called by ``scenarios.world.parse_world``
with its reader, so errors are the same one-line ``WorldError``s naming the file and field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

import attrs

from protocols.jose.keys import Algorithm


class _Reader(Protocol):  # scenarios.world._Reader (kept structural: world.py imports this module)
    def fail(self, where: str, problem: str) -> Exception: ...
    def table(self, data: dict[str, Any], key: str, where: str = "") -> dict[str, Any]: ...
    def tables(self, data: dict[str, Any], key: str) -> list[dict[str, Any]]: ...
    def string(self, data: dict[str, Any], key: str, where: str, *, default: str | None = None) -> str: ...
    def positive_int(self, data: dict[str, Any], key: str, where: str) -> int: ...
    def algorithm(self, data: dict[str, Any], key: str, where: str) -> Algorithm: ...


@attrs.frozen(kw_only=True)
class PriceEntry:
    tier: str
    sku: str
    product: str
    unit: str
    list_price_eur: int

    def to_json(self) -> dict[str, Any]:
        return {"sku": self.sku, "product": self.product, "unit": self.unit, "list_price_eur": self.list_price_eur}


@attrs.frozen(kw_only=True)
class PricingSettings:
    authorization_server: str
    api: str
    resource: str
    audience_aliases: tuple[str, ...]
    signing_alg: Algorithm
    access_token_lifetime: int
    scopes: tuple[str, ...]
    trusted_idps: tuple[str, ...]
    prices: tuple[PriceEntry, ...]
    introspection_cache: int = 0
    """Seconds the pricing API may keep a positive RFC 7662 answer: how long a token revoked at the
    AS may still be accepted. 0 (default): it introspects on every request."""

    def tiers(self) -> Mapping[str, tuple[PriceEntry, ...]]:
        tiers: dict[str, list[PriceEntry]] = {}
        for entry in self.prices:
            tiers.setdefault(entry.tier, []).append(entry)
        return {tier: tuple(entries) for tier, entries in tiers.items()}


@attrs.frozen(kw_only=True)
class ManagedConnectionSpec:
    agent: str
    target: str
    client_id: str
    resources: tuple[str, ...]
    audience_aliases: tuple[str, ...]
    granted: tuple[str, ...]
    approval: tuple[str, ...]
    refused: tuple[str, ...]
    id_jag_lifetime: int

    @property
    def name(self) -> str:
        return f"{self.agent} -> {self.target}"  # printable ASCII: it ends up in error_description


def _string_list(read: _Reader, data: dict[str, Any], key: str, where: str, *,
                 default: list[str] | None = None) -> tuple[str, ...]:
    value = data.get(key, default)
    if value is None:
        raise read.fail(f"{where}.{key}", "missing")
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise read.fail(f"{where}.{key}", "expected a list of non-empty strings")
    if len(set(value)) != len(value):
        raise read.fail(f"{where}.{key}", "lists a value twice")
    return tuple(value)


def _uri(read: _Reader, value: str, where: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.fragment:
        raise read.fail(where, f"expected an absolute http(s) URI without a fragment, got {value!r}")
    return value


def parse_pricing(read: _Reader, data: dict[str, Any], *, idp_names: tuple[str, ...]) -> PricingSettings | None:
    """The ``[pricing]`` table, or ``None`` when the world has no pricing system."""
    if "pricing" not in data:
        return None
    table = read.table(data, "pricing")
    where = "pricing"
    scopes = _string_list(read, table, "scopes", where)
    trusted = _string_list(read, table, "trusted_idps", where)
    for i, name in enumerate(trusted):
        if name not in idp_names:
            raise read.fail(f"{where}.trusted_idps[{i}]", f"unknown identity provider {name!r}")
    prices = []
    for i, p in enumerate(read.tables(table, "prices")):
        at = f"{where}.prices[{i}]"
        price = p.get("list_price_eur")
        if isinstance(price, bool) or not isinstance(price, int) or price <= 0:
            raise read.fail(f"{at}.list_price_eur", "expected a positive integer")
        prices.append(PriceEntry(tier=read.string(p, "tier", at), sku=read.string(p, "sku", at),
                                 product=read.string(p, "product", at), unit=read.string(p, "unit", at),
                                 list_price_eur=price))
    names = (read.string(table, "authorization_server", where), read.string(table, "api", where))
    if names[0] == names[1] or set(names) & set(idp_names):
        raise read.fail(where, "the authorization server, the API and the IdPs need distinct names")
    aliases = _string_list(read, table, "audience_aliases", where, default=[])
    cache = table.get("introspection_cache", 0)
    if isinstance(cache, bool) or not isinstance(cache, int) or not 0 <= cache <= 60:
        raise read.fail(f"{where}.introspection_cache", "expected seconds between 0 and 60")
    return PricingSettings(
        authorization_server=names[0], api=names[1],
        resource=_uri(read, read.string(table, "resource", where), f"{where}.resource"),
        audience_aliases=tuple(_uri(read, a, f"{where}.audience_aliases") for a in aliases),
        signing_alg=read.algorithm(table, "signing_alg", where),
        access_token_lifetime=read.positive_int(table, "access_token_lifetime", where),
        scopes=scopes, trusted_idps=trusted, prices=tuple(prices), introspection_cache=cache)


def parse_managed_connections(read: _Reader, data: dict[str, Any], *, agent_ids: set[str],
                              pricing: PricingSettings | None) -> tuple[ManagedConnectionSpec, ...]:
    """The ``[[managed_connections]]`` array: one policy per (agent, target authorization server)."""
    specs = []
    seen: set[tuple[str, str]] = set()
    for i, c in enumerate(read.tables(data, "managed_connections")):
        where = f"managed_connections[{i}]"
        agent, target = read.string(c, "agent", where), read.string(c, "target", where)
        if agent not in agent_ids:
            raise read.fail(f"{where}.agent", f"unknown agent {agent!r}")
        if pricing is None or target != pricing.authorization_server:
            raise read.fail(f"{where}.target", f"unknown authorization server {target!r}")
        if (agent, target) in seen:
            raise read.fail(where, f"a second connection for {agent} → {target}")
        seen.add((agent, target))
        granted = _string_list(read, c, "granted", where)
        approval = _string_list(read, c, "approval", where, default=[])
        refused = _string_list(read, c, "refused", where, default=[])
        for name, values in (("granted", granted), ("approval", approval), ("refused", refused)):
            unknown = [s for s in values if s not in pricing.scopes]
            if unknown:
                raise read.fail(f"{where}.{name}", f"scope {unknown[0]!r} is not in pricing.scopes")
        if len(set(granted) | set(approval) | set(refused)) != len(granted) + len(approval) + len(refused):
            raise read.fail(where, "a scope is listed in more than one of granted, approval, refused")
        resources = _string_list(read, c, "resources", where, default=[pricing.resource])
        if any(r != pricing.resource for r in resources):
            raise read.fail(f"{where}.resources", "only the pricing API's resource can be granted")
        lifetime = c.get("id_jag_lifetime", 300)
        if isinstance(lifetime, bool) or not isinstance(lifetime, int) or not 0 < lifetime <= 600:
            raise read.fail(f"{where}.id_jag_lifetime", "expected seconds between 1 and 600")
        specs.append(ManagedConnectionSpec(
            agent=agent, target=target, client_id=read.string(c, "client_id", where), resources=resources,
            audience_aliases=pricing.audience_aliases, granted=granted, approval=approval, refused=refused,
            id_jag_lifetime=lifetime))
    return tuple(specs)

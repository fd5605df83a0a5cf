"""The attack library (issue 11): each attack a scripted adversary step with its expected outcome.

``ATTACKS`` maps an attack id to its ``Attack``: title, the whitepaper comparison-table row(s) it
illustrates, the layer expected to stop it under the unified configuration, the module playing
its steps, and ``run`` — ``await attack.run(configuration=..., seed=..., transport=...)`` — which
starts the cast of that configuration in a fresh runtime, plays the adversary's steps against
the real actors and returns the outcome measured from their answers and the audit log
(``scenarios.attacks.outcome``). ``run`` must be awaited inside trio with a ``MockClock``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import ModuleType

import attrs

from actors.runtime.actor import HttpActor
from actors.runtime.context import Runtime
from scenarios.attacks import (
    ciba_replay, confused_deputy, forged_jwt, id_jag_audience, logout_replay, passthrough, prompt_injection,
    refresh_reuse, scope_escalation, shadow_agent,
)
from scenarios.attacks.common import run_attack
from scenarios.attacks.outcome import CONFIGURATIONS, AttackOutcome

@attrs.frozen(kw_only=True)
class Attack:
    id: str
    title: str
    row: str
    """The whitepaper comparison-table row it illustrates (the first of ``rows``)."""
    rows: tuple[str, ...]
    expected_unified: str
    """The layer key (``reports.classification``) expected to stop it under the unified configuration."""
    steps: ModuleType = attrs.field(eq=False, repr=False)
    """The module playing it: ``unified(stage)`` and ``traditional(stage)``, each returning the outcome."""
    extra: Callable[[Runtime], Sequence[HttpActor]] | None = attrs.field(default=None, eq=False, repr=False)
    """Actors the unified stage starts beside the sales cast."""

    async def run(self, *, configuration: str, seed: int, transport: str) -> AttackOutcome:
        return await run_attack(configuration=configuration, seed=seed, transport=transport,
                                unified=self.steps.unified, traditional=self.steps.traditional, extra=self.extra)


def _attack(module: ModuleType, *, title: str, rows: tuple[str, ...], expected: str,
            extra: Callable[[Runtime], Sequence[HttpActor]] | None = None) -> Attack:
    return Attack(id=module.ID, title=title, row=rows[0], rows=rows, expected_unified=expected, steps=module,
                  extra=extra)


ATTACKS: dict[str, Attack] = {a.id: a for a in (
    _attack(logout_replay, title="Stolen access token replayed after universal logout",
            rows=("api_access", "incidents", "user_auth"), expected="threat"),
    _attack(refresh_reuse, title="Refresh-token reuse (rotation + reuse detection revokes the family)",
            rows=("credentials",), expected="authentication"),
    _attack(passthrough, title="Token passthrough: an MCP token for one server replayed at another",
            rows=("cross_domain", "mcp"), expected="access"),
    _attack(confused_deputy, title="Confused deputy: the agent asks for another user's documents",
            rows=("documents",), expected="fga"),
    _attack(scope_escalation, title="Scope escalation to pricing:write", rows=("cross_domain", "api_access"),
            expected="cross_domain"),
    _attack(id_jag_audience, title="ID-JAG presented to the wrong audience", rows=("cross_domain",),
            expected="cross_domain", extra=id_jag_audience.EXTRA),
    _attack(ciba_replay, title="Replayed CIBA approval for a different amount", rows=("approval",),
            expected="approval"),
    _attack(prompt_injection, title="Prompt-injected exfiltration of the price list by e-mail",
            rows=("documents", "threats"), expected="vault"),
    _attack(shadow_agent, title="Shadow agent with a hard-coded key", rows=("discovery", "credentials"),
            expected="governance"),
    _attack(forged_jwt, title="Forged JWTs: alg none, RS/HS key confusion, unknown kid", rows=("mcp", "api_access"),
            expected="access"),
)}

__all__ = ["ATTACKS", "Attack", "AttackOutcome", "CONFIGURATIONS"]

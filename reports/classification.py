"""Which layer of the platform an audit event belongs to, and whether its decision allowed or denied.

One ordered table, ``RULES``: the first rule whose event-name prefix matches (and whose optional
detail condition holds) gives the layer. The four authorization layers of the defence in depth
are FGA, vault, access control and cross-domain exchange (``DEFENCE_LAYERS``); the others
(authentication, human approval, threat response, governance) are reported beside them.
Events of the runner itself (``run.*``, ``phase.*``) carry no security decision and are not counted;
neither are the agent's own reports (``agent.*``, layer ``AGENT``) of what it obtained or was refused:
the actor that took the decision logged it too, so counting both would count it twice. The agent's
relying-party checks (``agent.login*``, ``agent.acting_for_user``) are its own decisions and count.

Decisions are free words chosen by each actor; ``decision_outcome`` maps them to ``allow`` /
``deny`` (``ALLOW_WORDS`` / ``DENY_WORDS``); anything else (no decision, ``info``...) is neutral, and
so is a poll answered "not yet" (``*.pending``, ``*.slow_down``).
"""

from __future__ import annotations

from typing import Any

import attrs

from protocols.audit_chain import AuditEntry


@attrs.frozen(kw_only=True)
class Layer:
    key: str
    label: str
    short: str
    defence: bool = False
    counted: bool = True


FGA = Layer(key="fga", label="Fine-grained authorization (FGA)", short="FGA", defence=True)
VAULT = Layer(key="vault", label="Token vault", short="Vault", defence=True)
ACCESS = Layer(key="access", label="Access control & lifecycle", short="Access control", defence=True)
CROSS_DOMAIN = Layer(key="cross_domain", label="Cross-domain exchange (token exchange, ID-JAG)", short="Cross-domain",
                     defence=True)
AUTHENTICATION = Layer(key="authentication", label="Authentication & user grants (OIDC, OAuth)",
                       short="Authentication")
APPROVAL = Layer(key="approval", label="Human approval (CIBA)", short="Approval (CIBA)")
THREAT = Layer(key="threat", label="Threat detection & response", short="Threat response")
GOVERNANCE = Layer(key="governance", label="Registry, discovery & governance", short="Governance")
AGENT = Layer(key="agent", label="Agent activity (client side, not counted)", short="Agent", counted=False)
OTHER = Layer(key="other", label="Other events", short="Other")
RUN = Layer(key="run", label="Scenario runner", short="Runner")

LAYERS: tuple[Layer, ...] = (FGA, VAULT, ACCESS, CROSS_DOMAIN, AUTHENTICATION, APPROVAL, THREAT, GOVERNANCE, AGENT,
                             OTHER)
"""Display order; ``RUN`` is not a layer of the platform and is never listed."""
DEFENCE_LAYERS: tuple[Layer, ...] = tuple(layer for layer in LAYERS if layer.defence)
LAYER_BY_KEY = {layer.key: layer for layer in (*LAYERS, RUN)}

USER_GRANTS = frozenset({"authorization_code", "refresh_token"})
OUTPUT_FILTER_PREFIXES = ("output.", "output_filter.")
"""Events of the agent's output filter (``actors/output_guard.py``): a secret blocked or redacted."""


@attrs.frozen(kw_only=True)
class Rule:
    """Events whose name starts with ``prefix`` (and, if given, whose ``details[detail]`` is one of
    ``values``) belong to ``layer``."""

    prefix: str
    layer: Layer
    detail: str | None = None
    values: frozenset[str] = frozenset()

    def matches(self, entry: AuditEntry) -> bool:
        if not entry.event.startswith(self.prefix):
            return False
        return self.detail is None or str(entry.details.get(self.detail)) in self.values


RULES: tuple[Rule, ...] = (
    Rule(prefix="run.", layer=RUN),
    Rule(prefix="phase.", layer=RUN),
    # Fine-grained authorization: relationship checks before data reaches the agent.
    Rule(prefix="authz.", layer=FGA),
    Rule(prefix="fga.", layer=FGA),
    Rule(prefix="rag.", layer=FGA),
    # Token vault: third-party tokens, privileged credentials, the output filter (SPEC 4, 11).
    Rule(prefix="vault.", layer=VAULT),
    Rule(prefix="credential.", layer=VAULT),
    Rule(prefix="secret.", layer=VAULT),
    Rule(prefix="output.", layer=VAULT),  # the output guard: output.blocked / output.redacted
    Rule(prefix="output_filter.", layer=VAULT),
    # Access control & lifecycle: policy, JIT, reviews, deprovisioning, resource-server checks.
    Rule(prefix="access.", layer=ACCESS),
    Rule(prefix="policy.", layer=ACCESS),
    Rule(prefix="jit.", layer=ACCESS),
    Rule(prefix="entitlement.", layer=ACCESS),
    Rule(prefix="certification.", layer=ACCESS),
    Rule(prefix="review.", layer=ACCESS),
    Rule(prefix="lifecycle.", layer=ACCESS),
    Rule(prefix="agent.deprovisioned", layer=ACCESS),
    Rule(prefix="mcp.", layer=ACCESS),
    Rule(prefix="resource.", layer=ACCESS),
    Rule(prefix="api.", layer=ACCESS),
    Rule(prefix="pricing.", layer=ACCESS),
    # Cross-domain exchange: RFC 8693, ID-JAG, jwt-bearer redemption, managed connections.
    Rule(prefix="token_exchange.", layer=CROSS_DOMAIN),
    Rule(prefix="id_jag.", layer=CROSS_DOMAIN),
    Rule(prefix="jwt_bearer.", layer=CROSS_DOMAIN),
    Rule(prefix="managed_connection.", layer=CROSS_DOMAIN),
    Rule(prefix="trust.", layer=CROSS_DOMAIN),
    Rule(prefix="token.", layer=AUTHENTICATION, detail="grant_type", values=USER_GRANTS),
    Rule(prefix="token.", layer=CROSS_DOMAIN),
    # Authentication: sign-in, federation, sessions, keys.
    Rule(prefix="auth.", layer=AUTHENTICATION),
    Rule(prefix="federation.", layer=AUTHENTICATION),
    Rule(prefix="userinfo.", layer=AUTHENTICATION),
    Rule(prefix="consent.", layer=AUTHENTICATION),
    Rule(prefix="session.", layer=AUTHENTICATION),
    Rule(prefix="code.", layer=AUTHENTICATION),
    Rule(prefix="refresh_token.", layer=AUTHENTICATION),  # rotation / reuse detection (RFC 9700 §4.14.2)
    Rule(prefix="key.", layer=AUTHENTICATION),
    Rule(prefix="agent.login", layer=AUTHENTICATION),
    Rule(prefix="agent.acting_for_user", layer=AUTHENTICATION),
    # Human in the loop.
    Rule(prefix="ciba.", layer=APPROVAL),
    Rule(prefix="approval.", layer=APPROVAL),
    Rule(prefix="action.", layer=APPROVAL),  # the action gate: approved actions executed / refused
    # Threat detection and universal logout.
    Rule(prefix="risk.", layer=THREAT),
    Rule(prefix="threat.", layer=THREAT),
    Rule(prefix="anomaly.", layer=THREAT),
    Rule(prefix="incident.", layer=THREAT),
    Rule(prefix="logout.", layer=THREAT),
    Rule(prefix="caep.", layer=THREAT),
    Rule(prefix="set.", layer=THREAT),
    Rule(prefix="agent.suspended", layer=THREAT),
    Rule(prefix="response.", layer=THREAT),
    Rule(prefix="ssf.", layer=THREAT),
    # Registry, shadow-AI discovery, governance.
    Rule(prefix="discovery.", layer=GOVERNANCE),
    Rule(prefix="shadow_ai.", layer=GOVERNANCE),
    Rule(prefix="registry.", layer=GOVERNANCE),
    Rule(prefix="governance.", layer=GOVERNANCE),
    Rule(prefix="agent.registered", layer=GOVERNANCE),
    # The agent's own account of what it did (after the agent.* rules above).
    Rule(prefix="agent.", layer=AGENT),
)

ALLOW_WORDS = frozenset({"allow", "allowed", "permit", "permitted", "grant", "granted", "approve", "approved",
                         "certify", "certified"})
DENY_WORDS = frozenset({"deny", "denied", "refuse", "refused", "reject", "rejected", "block", "blocked",
                        "revoke", "revoked", "expire", "expired", "forbid", "forbidden"})


WAIT_SUFFIXES = (".pending", ".slow_down")
"""CIBA / device polls answered ``authorization_pending`` or ``slow_down`` (RFC 8628 §3.5): not decisions."""


def layer_of(entry: AuditEntry) -> Layer:
    for rule in RULES:
        if rule.matches(entry):
            return rule.layer
    return OTHER


def decision_outcome(decision: Any) -> str | None:
    """``allow``, ``deny`` or None (no decision, or a word that is neither)."""
    if not isinstance(decision, str):
        return None
    word = decision.strip().lower()
    if word in ALLOW_WORDS:
        return "allow"
    if word in DENY_WORDS:
        return "deny"
    return None


def counted_outcome(entry: AuditEntry) -> str | None:
    """The entry's outcome as the report counts it: None for runner and agent-side events, protocol
    waits (``*.pending``, ``*.slow_down``: a poll answered "not yet") and neutral decisions."""
    layer = layer_of(entry)
    if layer is RUN or not layer.counted or entry.event.endswith(WAIT_SUFFIXES):
        return None
    return decision_outcome(entry.decision)


def shown_outcome(entry: AuditEntry) -> str | None:
    """The outcome drawn in narratives and diagrams: agent-side refusals are marked too."""
    if layer_of(entry) is RUN or entry.event.endswith(WAIT_SUFFIXES):
        return None
    return decision_outcome(entry.decision)

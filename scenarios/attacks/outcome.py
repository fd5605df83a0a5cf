"""What one attack did under one configuration: the measured outcome (issue 11, "Attack library").

An ``AttackOutcome`` is measured, never declared: ``stopped`` / ``stopped_by`` come from the
answers the adversary actually received and the audit entries of the actor that refused it;
``records_exposed`` / ``unauthorised_actions`` count what the adversary really obtained or caused.
``stopped_by`` is a layer key of ``reports/classification.py`` (``fga``, ``vault``, ``access``,
``cross_domain``, ``authentication``, ``approval``, ``threat``, ``governance``), or ``None`` when
nothing stopped the attack.
"""

from __future__ import annotations

import attrs

CONFIGURATIONS: tuple[str, ...] = ("unified", "traditional")


@attrs.frozen(kw_only=True)
class AttackOutcome:
    """The measured effect of one attack run (the whitepaper's comparison-table columns)."""

    attack: str
    """The attack id (key of ``scenarios.attacks.ATTACKS``)."""
    configuration: str
    """``"unified"`` (the platform as built) or ``"traditional"``."""
    stopped: bool
    """True when every adversary step was refused (nothing exposed, nothing executed)."""
    stopped_by: str | None
    """The layer that stopped it: a ``reports.classification`` layer key; None if not stopped."""
    records_exposed: int
    """Records (documents, contacts, prices...) the adversary obtained."""
    unauthorised_actions: int
    """Forbidden actions that were executed (writes, e-mails sent, approvals reused...)."""
    time_to_containment: float | None
    """Simulated seconds from the attack's first step to containment; None if never contained."""
    audit_complete: bool
    """Every adversary step is found in one unified, hash-chained audit log."""
    evidence: tuple[str, ...]
    """Audit event names / seq numbers or observed statuses that prove the outcome."""

"""Role templates for common agent types (SPEC capability 10, "role templates"), sans-IO.

A template states what an agent of a type normally holds — ``(system, scope)`` pairs, ``*`` for
any scope in that system — and what it may be granted just in time, for how long at most. The
governance service reads the agent's type from its registry record (``metadata.agent_type``):
a certification campaign flags every entitlement outside the template, and a JIT elevation is
refused unless the template lists it (least privilege, NIST SP 800-53 AC-6; temporary privileged
access, AC-2(2) "automatically remove ... temporary accounts").

System names are those of the platform's systems as the connectors report them: ``crm`` (CRM
integrations), ``token-vault`` (delegated SaaS access; scopes are the provider's), ``pricing-as``
(cross-domain access), ``privileged-vault`` (vaulted secrets), the databases by name
(``customer-db``, ``warehouse-db``; scopes ``op:table``), ``fga`` (relations on objects) and the
enterprise IdP (the agent's own sign-in registration).

A world file may add its own agent types or replace these (``[[role_templates]]``,
``scenarios.role_templates_world``); governance then reads that catalogue instead.
"""

from __future__ import annotations

from collections.abc import Mapping

from protocols.governance import RoleTemplate

HOUR = 3600

ROLE_TEMPLATES: dict[str, RoleTemplate] = {t.name: t for t in (
    RoleTemplate(
        name="sales-assistant", description="Prospect research and proposals for a sales team",
        grants=frozenset({("crm", "crm.read"), ("crm", "crm.write"), ("token-vault", "crm.read"),
                          ("token-vault", "drive.file"), ("token-vault", "gmail.send"),
                          ("token-vault", "calendar.freebusy"), ("token-vault", "calendar.events"),
                          ("pricing-as", "pricing:read"), ("privileged-vault", "*"), ("acme-idp", "*")}),
        jit=frozenset({("crm", "crm.write")}), max_jit_seconds=HOUR),
    RoleTemplate(
        name="marketing-assistant", description="Campaign audiences, e-mail and team notifications",
        grants=frozenset({("crm", "crm.read"), ("customer-db", "select:customers"), ("token-vault", "gmail.send"),
                          ("token-vault", "calendar.events"), ("token-vault", "chat:write"),
                          ("privileged-vault", "*"), ("fga", "viewer"), ("acme-idp", "*")}),
        jit=frozenset({("customer-db", "select:purchases")}), max_jit_seconds=2 * HOUR),
    RoleTemplate(
        name="data-pipeline", description="Scheduled batch jobs between databases",
        grants=frozenset({("warehouse-db", "select:orders"), ("warehouse-db", "insert:daily_totals"),
                          ("privileged-vault", "*")}),
        jit=frozenset({("warehouse-db", "insert:staging_orders")}), max_jit_seconds=4 * HOUR),
    RoleTemplate(
        name="customer-service", description="Answering customers from the CRM and the support inbox",
        grants=frozenset({("crm", "crm.read"), ("token-vault", "crm.read"), ("token-vault", "gmail.send"),
                          ("acme-idp", "*")}),
        jit=frozenset({("crm", "crm.write")}), max_jit_seconds=HOUR),
    RoleTemplate(
        name="procurement", description="Licence and supply purchases under human approval",
        grants=frozenset({("token-vault", "gmail.send"), ("acme-idp", "*")}),
        jit=frozenset(), max_jit_seconds=HOUR),
)}


def template_for(agent_type: str | None, *, templates: Mapping[str, RoleTemplate] | None = None) -> RoleTemplate | None:
    """The template named ``agent_type`` in ``templates`` (a world's own catalogue), else in the built-in ones."""
    return (ROLE_TEMPLATES if templates is None else templates).get(agent_type or "")

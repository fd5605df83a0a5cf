"""A synthetic finished run that exercises every part of the report the live scenario does not yet
reach: FGA and vault decisions, an ID-JAG chain, CIBA approvals, certification, a shadow-AI finding
and an incident with a risk series, containment and revocation.

The entries are written the way the runner writes them: sealed into a hash chain by
``protocols.audit_chain``, stored by the audit log's own ``AuditStore``, exported to JSONL, with a
``run.json`` beside them — so the report cannot tell it from a real run.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from actors.audit_log import AuditStore, export_jsonl
from protocols.audit_chain import GENESIS_HASH, AuditEntry

AGENT = "sales-agent-prod-001"
SARAH = "google-oauth2|1001"
JOHN = "auth0|john"
ID_TOKEN = "idTokenSarah000001"
REDACTED_ID_TOKEN = "<redacted:sha256:" + hashlib.sha256(ID_TOKEN.encode()).hexdigest()[:8] + ">"
"""How the audit redactor writes the ID token's jti under ``id_token_jti``; the ID-JAG names it in clear."""


def event(time: str, actor: str, event_name: str, *, agent: str | None = None, subject: str | None = None,
          decision: str | None = None, reason: str | None = None, **details: Any) -> dict[str, Any]:
    return {"time": time, "actor": actor, "event": event_name, "agent": agent, "subject": subject, "decision": decision,
            "reason": reason, "details": details}


def phase(number: int, name: str, time: str, body: list[dict[str, Any]], *, ok: bool = True) -> list[dict[str, Any]]:
    return [event(time, "runner", "phase.started", phase=number, name=name), *body,
            event(body[-1]["time"] if body else time, "runner", "phase.finished", decision="pass" if ok else "fail",
                  phase=number)]


DAY0 = "2025-01-06T"
DAY45 = "2025-02-20T"

PHASES = [
    (1, "Discovery & registration", True, DAY0 + "08:30:00.000Z", [
        event(DAY0 + "08:30:00.000Z", "discovery", "discovery.account_flagged", agent="svc-salesforce-bot",
              decision="flag", reason="privileged access, no owner, no governance", level="HIGH",
              account="svc-salesforce-bot"),
        event(DAY0 + "08:31:00.000Z", "registry", "agent.registered", agent=AGENT, decision="allow",
              reason="registered by security", owner="john"),
        event(DAY0 + "08:32:00.000Z", "vault", "vault.credential_stored", agent=AGENT, decision="allow",
              rotation_days=90),
    ]),
    (3, "Context retrieval via MCP", True, DAY0 + "09:05:00.000Z", [
        event(DAY0 + "09:05:00.000Z", "acme-idp", "token.issued", agent=AGENT, subject=SARAH, decision="allow",
              grant_type="authorization_code", jti="accessTokenAAAA0001", id_token_jti=REDACTED_ID_TOKEN,
              scope="openid mcp:crm:read"),
        event(DAY0 + "09:05:01.000Z", "fga", "authz.allowed", agent=AGENT, subject=SARAH, decision="allow",
              reason="viewer via team:sales-emea", client="mcp-crm", relation="viewer",
              object="crm://contacts/acme-corp"),
        event(DAY0 + "09:05:02.000Z", "fga", "authz.allowed", agent=AGENT, subject=SARAH, decision="allow",
              reason="viewer via team:sales-emea", client="mcp-docs", relation="viewer",
              object="docs://proposals/templates"),
        event(DAY0 + "09:05:03.000Z", "fga", "authz.denied", agent=AGENT, subject=SARAH, decision="deny",
              reason="no viewer relation", client="mcp-docs", relation="viewer",
              object="pricing://executive-discounts"),
        event(DAY0 + "09:05:04.000Z", "vault", "vault.token_served", agent=AGENT, subject=SARAH, decision="allow",
              connection="salesforce", scope="read", jti="vaultTokenSF000001", kind="vault_token"),
    ]),
    (4, "Cross-domain access (ID-JAG)", True, DAY0 + "09:10:00.000Z", [
        event(DAY0 + "09:10:00.000Z", "acme-idp", "id_jag.issued", agent=AGENT, subject=SARAH, decision="allow",
              jti="idJagToken00000001", parent_jti=ID_TOKEN, audience="https://pricing.acmecorp.internal",
              scope="pricing:read"),
        event(DAY0 + "09:10:01.000Z", "pricing-as", "token.issued", agent=AGENT, subject=SARAH, decision="allow",
              grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", jti="pricingAccess00001",
              parent_jti="idJagToken00000001", scope="pricing:read"),
        event(DAY0 + "09:10:02.000Z", "pricing-as", "token.denied", agent=AGENT, subject=SARAH, decision="deny",
              reason="pricing:write is refused by the managed connection", scope="pricing:write"),
        event(DAY0 + "09:10:03.000Z", "pricing-api", "resource.read", agent=AGENT, subject=SARAH,
              decision="allow", jti="pricingAccess00001", peer="fga"),
    ]),
    (5, "Async approval (CIBA)", True, DAY0 + "09:20:00.000Z", [
        event(DAY0 + "09:20:00.000Z", "acme-idp", "ciba.requested", agent=AGENT, subject=SARAH,
              binding_message="Send the 450 000 EUR proposal to Acme Corp"),
        event(DAY0 + "09:24:00.000Z", "acme-idp", "ciba.approved", agent=AGENT, subject=SARAH, decision="approve",
              reason="approved on phone"),
        event(DAY0 + "09:24:01.000Z", "acme-idp", "token.issued", agent=AGENT, subject=SARAH, decision="allow",
              grant_type="urn:openid:params:grant-type:ciba", jti="cibaToken000000001", kind="approval_token",
              scope="email:send drive:write crm:update"),
        event(DAY0 + "09:30:00.000Z", "acme-idp", "ciba.requested", agent=AGENT, subject=SARAH,
              binding_message="Delete the old proposal"),
        event(DAY0 + "09:35:00.000Z", "acme-idp", "ciba.expired", agent=AGENT, subject=SARAH, decision="expired",
              reason="no answer within 300 s"),
    ]),
    (6, "Multi-system execution (vault)", False, DAY0 + "09:40:00.000Z", [
        event(DAY0 + "09:40:00.000Z", "vault", "vault.token_served", agent=AGENT, subject=SARAH, decision="allow",
              connection="google-drive", jti="vaultTokenDrive001", parent_jti="cibaToken000000001"),
        event(DAY0 + "09:40:01.000Z", "vault", "vault.token_served", agent=AGENT, subject=SARAH, decision="allow",
              connection="gmail", jti="vaultTokenGmail001", parent_jti="cibaToken000000001"),
        event(DAY0 + "09:40:02.000Z", "vault", "vault.token_denied", agent=AGENT, subject=SARAH, decision="deny",
              reason="integration not allowed for this agent", connection="slack"),
        event(DAY0 + "09:40:03.000Z", AGENT, "output.blocked", agent=AGENT, subject=SARAH, decision="deny",
              reason="credential in agent output", channel="email", kinds=["known_secret"]),
    ]),
    (7, "Governance", True, DAY0 + "10:00:00.000Z", [
        *[event(DAY0 + f"10:0{index}:00.000Z", "governance", "certification.certified", agent=AGENT, subject=JOHN,
                decision="certify", campaign="Q1-2025", entitlement=entitlement)
          for index, entitlement in enumerate(("crm", "google-workspace", "pricing-db", "email"))],
        event(DAY0 + "10:05:00.000Z", "governance", "certification.revoked", agent=AGENT, subject=JOHN,
              decision="revoke", reason="no longer needed", campaign="Q1-2025", entitlement="calendar"),
    ]),
    (8, "Threat detection", True, DAY45 + "03:00:00.000Z", [
        event(DAY45 + "03:00:00.000Z", "threat-detection", "risk.scored", agent=AGENT, score=12, threshold=70,
              level="NORMAL"),
        event(DAY45 + "03:02:00.000Z", "salesforce", "resource.read", agent=AGENT, decision="allow", records=200,
              jti="vaultTokenSF000001"),
        event(DAY45 + "03:05:00.000Z", "threat-detection", "risk.scored", agent=AGENT, score=88.5, threshold=70,
              level="HIGH"),
        event(DAY45 + "03:06:00.000Z", "salesforce", "resource.read", agent=AGENT, decision="allow", records=150),
        event(DAY45 + "03:08:00.000Z", "threat-detection", "agent.suspended", agent=AGENT, decision="block",
              reason="risk above threshold"),
        event(DAY45 + "03:08:01.000Z", "acme-idp", "session.revoked", subject=SARAH, decision="allow",
              revoked=["accessTokenAAAA0001", "pricingAccess00001"]),
        event(DAY45 + "03:09:00.000Z", "salesforce", "resource.read", agent=AGENT, decision="deny",
              reason="token revoked", jti="vaultTokenSF000001"),
    ]),
]
SETUP = [
    event(DAY0 + "08:00:00.000Z", "acme-idp", "federation.configured", decision="allow",
          upstream="https://google.trustbench.test"),
]


def synthetic_entries() -> list[dict[str, Any]]:
    drafts = [*SETUP, event(DAY0 + "08:00:00.000Z", "runner", "run.started", scenario="synthetic", seed=7,
                            transport="channel", world_sha256="ab" * 32)]
    for number, name, ok, time, body in PHASES:
        drafts += phase(number, name, time, body, ok=ok)
    drafts.append(event(DAY45 + "03:09:00.000Z", "runner", "run.finished", decision="fail"))
    return drafts


def write_run(run_dir: Path, drafts: list[dict[str, Any]] | None = None, *,
              phases: list[tuple[int, str, bool]] | None = None) -> Path:
    """Write ``audit.sqlite``, ``audit.jsonl`` and ``run.json`` for ``drafts`` (default: the synthetic run)."""
    drafts = synthetic_entries() if drafts is None else drafts
    phases = [(n, name, ok) for n, name, ok, _, _ in PHASES] if phases is None else phases
    run_dir.mkdir(parents=True, exist_ok=True)
    store = AuditStore(path=run_dir / "audit.sqlite")
    previous = GENESIS_HASH
    for seq, draft in enumerate(drafts, start=1):
        entry = AuditEntry(seq=seq, prev_hash=previous, **draft).sealed()
        store.append(entry)
        previous = entry.hash
    entries = store.entries()
    store.close()
    export_jsonl(entries, run_dir / "audit.jsonl")
    metadata = {
        "scenario": "synthetic", "title": "Synthetic run: every layer, an incident", "seed": 7,
        "transport": "channel", "world_file": "synthetic.toml", "world_sha256": "ab" * 32,
        "epoch": "2025-01-06T08:00:00+00:00", "started": entries[0].time if entries else DAY0 + "08:00:00.000Z",
        "finished": entries[-1].time if entries else DAY0 + "08:00:00.000Z", "audit_entries": len(entries),
        "phases": [{"number": n, "name": name, "ok": ok, "outcome": f"{name}: {'met' if ok else 'not met'}.",
                    "facts": {"checked": n}} for n, name, ok in phases],
    }
    (run_dir / "run.json").write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
    return run_dir

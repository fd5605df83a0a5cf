"""Token passthrough to another resource (MCP authorization, "token passthrough" anti-pattern;
RFC 8707 audience restriction; RFC 9068 §4 ``aud`` check).

The agent obtains Sarah's delegated token for the CRM MCP server. A compromised (or malicious) CRM
server passes the token it received on to the documents MCP server to read the 2025 price list.
Unified: the documents server validates the token's audience against its own resource identifier
and refuses it (``401 invalid_token``) before any data is touched.
"""

from __future__ import annotations

from actors.adversary import mcp_contents
from scenarios.attacks.cast import Stage
from scenarios.attacks.common import mcp_token, measured
from scenarios.attacks.outcome import AttackOutcome
from scenarios.attacks.traditional_stage import TraditionalStage

ID = "token-passthrough"
SOURCE, TARGET, DOCUMENT = "mcp-crm", "mcp-docs", "docs://pricing/price-list"


async def unified(st: Stage) -> AttackOutcome:
    delegation = await st.sign_in()
    token = await mcp_token(st, delegation, SOURCE)  # what the CRM server receives from the agent
    target = st.cast.mcp_servers[TARGET]
    response = await st.adversary.mcp_read("replay CRM token at the documents server", url=target.resource,
                                           token=token, uri=DOCUMENT)
    return measured(st, attack=ID, configuration="unified", records_exposed=len(mcp_contents(response)),
                    unauthorised_actions=0)


async def traditional(ts: TraditionalStage) -> AttackOutcome:
    """The login service's JWT, meant for the documents system, sent to the pricing system: no
    audience, one shared secret — accepted."""
    tokens = await ts.sign_in()
    await ts.adversary("pricing", bearer=tokens["access_token"]).get("/prices")
    return ts.measured(attack=ID, unauthorised_actions=0)

"""Token passthrough to another resource (MCP authorization, "token passthrough" anti-pattern;
RFC 8707 audience restriction; RFC 9068 §4 ``aud`` check).

The agent obtains Sarah's delegated token for the CRM MCP server. A compromised (or malicious) CRM
server passes the token it received on to the documents MCP server to read the 2025 price list.
Unified: the documents server validates the token's audience against its own resource identifier
and refuses it (``401 invalid_token``) before any data is touched.
"""

from __future__ import annotations

from actors.adversary import mcp_contents
from scenarios.attacks.cast import stage
from scenarios.attacks.common import check_configuration, mcp_token, measured
from scenarios.attacks.outcome import AttackOutcome

ID = "token-passthrough"
SOURCE, TARGET, DOCUMENT = "mcp-crm", "mcp-docs", "docs://pricing/price-list"


async def run(*, configuration: str, seed: int, transport: str) -> AttackOutcome:
    check_configuration(configuration)
    async with stage(seed=seed, transport=transport, configuration=configuration) as st:
        delegation = await st.sign_in()
        token = await mcp_token(st, delegation, SOURCE)  # what the CRM server receives from the agent
        target = st.cast.mcp_servers[TARGET]
        response = await st.adversary.mcp_read("replay CRM token at the documents server", url=target.resource,
                                               token=token, uri=DOCUMENT)
        return measured(st, attack=ID, configuration=configuration, records_exposed=len(mcp_contents(response)),
                        unauthorised_actions=0)

"""Confused deputy: the agent asked for another user's documents (SPEC capability 7, FGA).

Sarah (sales EMEA) asks the agent — or a prompt steers it — to fetch the negotiation notes of
the Globex renewal, a deal of Mike's territory. The agent holds a valid token for the CRM MCP
server, but that token names Sarah: the server asks FGA whether *the user in the token* may view
the deal notes, FGA answers no, and the read is refused (JSON-RPC forbidden, HTTP 403) — the
agent's own privileges do not stand in for the user's.
"""

from __future__ import annotations

from actors.adversary import mcp_contents
from scenarios.attacks.cast import Stage
from scenarios.attacks.common import mcp_token, measured
from scenarios.attacks.outcome import AttackOutcome
from scenarios.attacks.traditional_stage import TraditionalStage

ID = "confused-deputy"
SERVER, DOCUMENT = "mcp-crm", "crm://deals/globex-renewal/negotiation-notes"


async def unified(st: Stage) -> AttackOutcome:
    delegation = await st.sign_in()
    token = await mcp_token(st, delegation, SERVER)
    server = st.cast.mcp_servers[SERVER]
    response = await st.adversary.mcp_read("read another user's deal notes with Sarah's token",
                                           url=server.resource, token=token, uri=DOCUMENT)
    return measured(st, attack=ID, configuration="unified", records_exposed=len(mcp_contents(response)),
                    unauthorised_actions=0)


async def traditional(ts: TraditionalStage) -> AttackOutcome:
    """The agent's static key plus a caller-supplied user header: the hijacked agent names the
    document's owner (John) and the application, checking only that header, serves it."""
    john = ts.cast.world.person("john").email
    await ts.adversary("docs", on_behalf_of=john).get("/docs/people-john-pipeline-notes")
    return ts.measured(attack=ID, unauthorised_actions=0)

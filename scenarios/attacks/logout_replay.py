"""Stolen access-token replay after logout (SPEC capability 12: universal logout; RFC 7009-style
revocation at the IdP, OpenID Global Token Revocation, CAEP ``session-revoked`` over SSF push).

Just after sign-in the agent holds Sarah's tokens: her IdP access token (UserInfo) and a delegated token for
the CRM MCP server. An attacker copies both off the agent's host. A minute later security logs Sarah out
everywhere (the security console's universal logout): global token revocation at every
authorization server and ``session-revoked`` pushed to every receiver. Half a minute later the attacker
replays both tokens, still unexpired: the IdP refuses the revoked access token at UserInfo and the
MCP server's bearer guard refuses the delegated token issued before the revocation (``401``).
"""

from __future__ import annotations

import trio

from actors.adversary import claims_of, mcp_contents
from protocols.http import HttpRequest
from scenarios.attacks.cast import Stage
from scenarios.attacks.common import mcp_token, measured
from scenarios.attacks.outcome import AttackOutcome
from scenarios.attacks.traditional_stage import TraditionalStage

ID = "token-replay-after-logout"
SERVER, DOCUMENT = "mcp-crm", "crm://contacts/acme-corp"
LOGOUT_AFTER, REPLAY_AFTER = 60, 30
"""Seconds from the theft to the logout, and from the logout to the replays (tokens still unexpired)."""


async def unified(st: Stage) -> AttackOutcome:
    delegation = await st.sign_in()
    stolen_mcp = await mcp_token(st, delegation, SERVER)
    stolen_access = delegation.access_token
    await trio.sleep(LOGOUT_AFTER)
    security = st.cast.security
    assert security is not None and security.responder is not None, "the world has no incident response"
    incident = await security.responder.logout(delegation.subject, reason="user reported a lost laptop",
                                               initiated_by="security-team")
    logout = next(e for e in reversed(st.runtime.audit.store.entries()) if e.event == "logout.universal")
    await trio.sleep(REPLAY_AFTER)
    metadata = (await st.runtime.network.send(HttpRequest.get(
        st.cast.idp.url("/.well-known/openid-configuration")))).json()
    info = await st.adversary.bearer("replay the IdP access token at UserInfo", method="GET",
                                     url=metadata["userinfo_endpoint"], token=stolen_access)
    server = st.cast.mcp_servers[SERVER]
    read = await st.adversary.mcp_read("replay the CRM MCP token", url=server.resource, token=stolen_mcp,
                                       uri=DOCUMENT)
    exposed = len(mcp_contents(read)) + int(info.status == 200)
    now = st.runtime.clock.now()
    left = {name: claims_of(token)[1]["exp"] - now
            for name, token in (("MCP token", stolen_mcp), ("IdP access token", stolen_access))}
    return measured(st, attack=ID, configuration="unified", records_exposed=exposed, unauthorised_actions=0,
                    decisive=logout if exposed == 0 else None,
                    evidence=(f"logout steps: {', '.join(f'{s.step}={s.ok}' for s in incident.steps)}",
                              "seconds left before expiry at replay: "
                              + ", ".join(f"{name} {seconds}" for name, seconds in left.items())))


async def traditional(ts: TraditionalStage) -> AttackOutcome:
    """Sarah signs out at the login service, which only ends its own session: the copied JWT
    (24 h, no revocation list anywhere) still opens the documents and pricing systems."""
    tokens = await ts.sign_in()
    await trio.sleep(LOGOUT_AFTER)
    await ts.cast.client("login", bearer=tokens["access_token"]).form("/logout", {})
    await trio.sleep(REPLAY_AFTER)
    notes = "/mcp/resources?uri=docs://people/sarah/pipeline-notes"
    await ts.adversary("docs", bearer=tokens["access_token"]).get(notes)
    await ts.adversary("pricing", bearer=tokens["access_token"]).get("/prices")
    return ts.measured(attack=ID, unauthorised_actions=0)

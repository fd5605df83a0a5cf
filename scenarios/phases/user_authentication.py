"""Phase 2 — User authentication (SPEC.md).

At 09:00 Sarah opens the sales agent; her browser is sent to Acme's IdP, she picks "Sign in with
google", signs in at Google with her password and the code from her authenticator, Google sends
her back to the IdP, which redeems the code, provisions ``google-oauth2|<sub>``, adds role and
territory and sends her to the agent with a code; the agent redeems it with its signed client
assertion and validates her ID token: it now acts on her behalf.
"""

from __future__ import annotations

from actors.agent import LOGIN_PATH
from actors.browser import BrowsingResult, Navigate
from scenarios.phase_result import PhaseResult
from scenarios.sales_agent import SalesCast
from scenarios.world import PhaseSpec


async def phase_2_user_authentication(cast: SalesCast, phase: PhaseSpec) -> PhaseResult:
    person = cast.world.person(phase.user)
    agent = cast.agents[phase.agent]
    result: BrowsingResult = await cast.browsers[phase.user].ask(Navigate(url=agent.url(LOGIN_PATH)))
    delegation = next((d for d in agent.delegations.values() if d.email == person.email), None)
    if delegation is None or result.problem or result.status != 200:
        why = result.problem or f"the agent did not receive a valid ID token (last page: HTTP {result.status})"
        return PhaseResult(number=phase.number, name=phase.name, ok=False, outcome=f"Sign-in failed: {why}.",
                           facts={"pages visited": len(result.visits)})
    claims = delegation.claims
    return PhaseResult(
        number=phase.number, name=phase.name, ok=True,
        outcome=(f"{person.name} signed in with Google SSO at {cast.runtime.clock.iso()}; "
                 f"{agent.display_name} validated her ID token and now acts on her behalf."),
        facts={
            "user": delegation.subject, "name": delegation.name, "email": delegation.email,
            "role": claims.claims.get("role"), "territory": claims.claims.get("territory"),
            "amr": " ".join(claims.amr), "ID token issuer": claims.issuer, "ID token kid": claims.kid,
            "ID token expires": claims.expires_at - claims.issued_at, "pages visited": len(result.visits),
            "journey": " → ".join(f"{v.method} {v.url.split('://', 1)[1]} [{v.status}]" for v in result.visits),
        })

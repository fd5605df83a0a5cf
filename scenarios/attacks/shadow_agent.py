"""A shadow agent with a hard-coded key (SPEC capabilities 8, 9, 11; phase 1).

A team's unregistered integration has been polling the CRM with a client secret hard-coded in its
source, and the repository leaked. Unified: discovery reads the CRM's own logs, flags the
integration (HIGH: privileged, no owner), security registers it, and the privileged-credential
vault takes over its secret and replaces it at the CRM (phase 1's procedure, run as is). The
adversary then redeems the leaked hard-coded secret at the CRM's token endpoint: ``invalid_client``.
The layer credited is governance — the discovery finding that started the replacement.
"""

from __future__ import annotations

from actors.saas.crm import API as CRM_API
from protocols.oauth.client_auth import basic_authorization
from scenarios.attacks.cast import Stage
from scenarios.attacks.common import measured
from scenarios.traditional import SHADOW
from scenarios.attacks.outcome import AttackOutcome
from scenarios.attacks.traditional_stage import TraditionalStage
from scenarios.phases.discovery_registration import phase_1_discovery_registration

ID = "shadow-agent-hardcoded-key"
DISCOVERY_PHASE = 1


async def unified(st: Stage) -> AttackOutcome:
    plane = st.cast.control
    shadow = plane.jobs["shadow"]
    leaked_id, leaked_secret = shadow.client_id, shadow.static_secret
    phase = next(p for p in st.world.phases if p.number == DISCOVERY_PHASE)
    await st.runtime.clock.sleep_until(phase.at.timestamp())  # the shadow job has been polling since 08:00
    result = await phase_1_discovery_registration(st.cast, phase)
    finding = next((e for e in st.runtime.audit.store.entries() if e.event.startswith(("discovery.", "shadow_ai."))
                    and str(e.details.get("risk", e.details.get("level", ""))).upper() == "HIGH"), None)
    response = await st.adversary.token_request(
        "redeem the leaked hard-coded CRM secret", url=plane.crm.url("/token"),
        params={"grant_type": "client_credentials", "scope": "crm.read"},
        headers={"authorization": basic_authorization(leaked_id, leaked_secret)})
    exposed = 0
    if response.status == 200:
        token = response.json()["access_token"]
        st.runtime.secrets.add(token)
        accounts = await st.adversary.bearer("read CRM accounts with it", method="GET",
                                             url=plane.crm.url(f"{CRM_API}/accounts"), token=token)
        exposed = len(accounts.json().get("records", [])) if accounts.status == 200 else 0
    return measured(st, attack=ID, configuration="unified", records_exposed=exposed, unauthorised_actions=0,
                    decisive=finding if exposed == 0 and response.status != 200 else None,
                    evidence=(f"phase 1: {result.outcome}",))


async def traditional(ts: TraditionalStage) -> AttackOutcome:
    """Nobody knows the script exists (it is not in the inventory), so nobody rotates its key:
    the leaked key reads the whole customer base."""
    listed = any(row.agent == SHADOW for row in ts.cast.inventory)
    await ts.adversary("crm", key=ts.cast.shadow_key).get("/api/customers?limit=100")
    return ts.measured(attack=ID, unauthorised_actions=0,
                       evidence=(f"shadow script in the agent inventory: {listed}",))

"""Refresh-token reuse (RFC 6749 §6 and §10.4, RFC 9700 §4.14.2, OAuth 2.1 §4.3.1: rotation with
reuse detection).

Sarah has connected her Salesforce account to the token vault, which holds the refresh token. An
attacker copies the vault's refresh token and client secret (a leaked backup plus its key). The
vault then refreshes as usual, which rotates the token. The attacker redeems the copy at
Salesforce's token endpoint: it has been rotated already, so the server treats the presentation as
reuse, refuses it (``invalid_grant``) and revokes the whole family — the access token the vault
was just served dies with it — and the vault must send Sarah to reconnect.
"""

from __future__ import annotations

from actors.saas.crm import API as CRM_API
from protocols.http import HttpRequest
from protocols.oauth.client_auth import basic_authorization
from protocols.vault import record_aad, unseal
from scenarios.attacks.cast import AGENT, Stage
from scenarios.attacks.common import measured
from scenarios.attacks.outcome import AttackOutcome
from scenarios.attacks.traditional_stage import TraditionalStage
from scenarios.phases.multi_system_execution import connect_accounts

ID = "refresh-token-reuse"
PROVIDER, INTEGRATION, SCOPE = "crm", "salesforce", ("crm.read",)


async def unified(st: Stage) -> AttackOutcome:
    delegation = await st.sign_in()
    await connect_accounts(st.cast, user="sarah", agent=AGENT, providers=[PROVIDER])
    vault = st.cast.vault.vault
    assert vault is not None and vault.store is not None
    connection = vault.store.connection(subject=delegation.subject, provider=PROVIDER)
    stolen = unseal(connection.refresh, aad=record_aad("refresh", connection.connection_id), ring=vault.ring)
    client = vault.providers[PROVIDER]
    tools = st.cast.vault.tools[AGENT]
    served = await tools.vault.access_token(user=delegation.subject, integration=INTEGRATION, scope=SCOPE)
    crm = st.cast.vault.providers[PROVIDER]
    replay = await st.adversary.token_request(
        "redeem the copied refresh token", url=crm.url("/token"),
        params={"grant_type": "refresh_token", "refresh_token": stolen},
        headers={"authorization": basic_authorization(client.client_id, client.client_secret)})
    gained = replay.json().get("access_token") if replay.status == 200 else None
    exposed = 0
    if gained:
        st.runtime.secrets.add(gained)
        accounts = await st.adversary.bearer("read accounts with the minted access token", method="GET",
                                             url=crm.url(f"{CRM_API}/accounts"), token=gained)
        exposed = len(accounts.json().get("records", [])) if accounts.status == 200 else 0
    # Not an attack step: did the access token the vault was served die with the family?
    after = await st.runtime.network.send(HttpRequest.get(
        crm.url(f"{CRM_API}/accounts/acme-corp"), headers={"authorization": f"Bearer {served.token}"}))
    return measured(st, attack=ID, configuration="unified", records_exposed=exposed,
                    unauthorised_actions=0,
                    evidence=(f"the vault's access token after the reuse: HTTP {after.status}",))


async def traditional(ts: TraditionalStage) -> AttackOutcome:
    """The login service never rotates refresh tokens: the legitimate app refreshes, and the
    attacker's copy still mints fresh access tokens, which read the price list."""
    tokens = await ts.sign_in()
    await ts.cast.client("login", keyless=True).form("/refresh", {"refresh_token": tokens["refresh_token"]})
    answer = await ts.adversary("login", keyless=True).form("/refresh", {"refresh_token": tokens["refresh_token"]})
    if answer.status == 200:
        minted = answer.json()["access_token"]
        ts.runtime.secrets.add(minted)
        await ts.adversary("pricing", bearer=minted).get("/prices")
    return ts.measured(attack=ID, unauthorised_actions=0)

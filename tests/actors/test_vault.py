"""The token vault actor: refresh ahead of expiry and one refresh at a time under virtual time,
refusals with clear errors (integration, scope, revoked grant, reused refresh token), encryption at
rest with KEK rotation, and hostile inputs to the vault and provider endpoints (never a 500)."""

import sqlite3

import attrs
import pytest
import trio

from actors import vault_keys
from actors.storage.vault_store import ACTIVE, RECONNECT
from protocols.http import HttpRequest
from protocols.jwt_bearer import peek
from protocols.oidc.id_token import mint_id_token
from protocols.oauth.client_auth import basic_authorization
from protocols.oauth.errors import InsufficientScope, InteractionRequired, InvalidScope, InvalidTarget, OAuthError
from protocols.vault import record_aad, slot_key, unseal
from reports.audit_fields import identifier_key
from reports.lineage import build_lineage
from scenarios.phases.multi_system_execution import connect_accounts
from tests.actors.vault_helpers import AGENT, cast, channel_cast, fast_crypto, sign_in  # noqa: F401

CRM_READ = ("crm.read",)


def events(cast, name):
    return [e for e in cast.runtime.audit.store.entries() if e.event == name]


async def ready(cast, providers=("crm",)):
    """Sarah signed in and her accounts at ``providers`` linked; returns (subject, tools, vault)."""
    subject = await sign_in(cast)
    status = await connect_accounts(cast, user="sarah", agent=AGENT, providers=list(providers))
    assert set(status.values()) == {ACTIVE}
    return subject, cast.vault.tools[AGENT], cast.vault.vault


# ------------------------------------------------------------------ refresh timing and concurrency


async def test_token_with_five_minutes_left_is_refreshed_before_it_expires(channel_cast, autojump_clock):
    cast = channel_cast
    subject, tools, vault = await ready(cast)
    first = await tools.vault.access_token(user=subject, integration="salesforce", scope=CRM_READ)
    lifetime = cast.vault.providers["crm"].server.config.access_token_lifetime
    assert first.expires_at - cast.runtime.clock.now() == lifetime == 900
    margin = vault.config.refresh_margin
    await trio.sleep(lifetime - margin - 1)  # six seconds short of "5 minutes left": nothing yet
    assert not [e for e in events(cast, "vault.token_refreshed") if e.details["proactive"]]
    await trio.sleep(2)  # now under five minutes left: the vault has replaced it ahead of expiry
    (ahead,) = [e for e in events(cast, "vault.token_refreshed") if e.details["proactive"]]
    assert ahead.agent is None and ahead.reason == "proactive refresh before expiry"
    assert ahead.time.startswith("2025-01-06T")  # 600 s after the serve: 300 s before the old token expires
    refreshed_at = first.expires_at - margin
    second = await tools.vault.access_token(user=subject, integration="salesforce", scope=CRM_READ)
    assert second.token != first.token and second.expires_at == refreshed_at + lifetime
    assert events(cast, "vault.token_served")[-1].reason == "cached token still fresh"
    # Kept warm only while in use: an idle token is not refreshed again and again.
    await trio.sleep(3 * lifetime)
    assert len([e for e in events(cast, "vault.token_refreshed") if e.details["proactive"]]) == 2


async def test_a_hundred_concurrent_requests_trigger_exactly_one_refresh(cast):
    subject, tools, vault = await ready(cast)
    crm = cast.vault.providers["crm"]
    before = len([e for e in crm.auth_log if e.event == "token.refreshed"])
    tokens = []

    async def ask():
        tokens.append(await tools.vault.access_token(user=subject, integration="salesforce", scope=CRM_READ))

    async with trio.open_nursery() as nursery:
        for _ in range(100):
            nursery.start_soon(ask)
    assert len(tokens) == 100 and len({t.token for t in tokens}) == 1
    assert len([e for e in crm.auth_log if e.event == "token.refreshed"]) - before == 1
    assert len(events(cast, "vault.token_refreshed")) == 1
    assert len(events(cast, "vault.token_served")) == 100
    assert not [e for e in crm.auth_log if e.event == "refresh_token.reused"]


# ------------------------------------------------------------------ refusals


async def test_integration_not_allowed_for_the_agent_is_refused(channel_cast):
    subject, tools, _ = await ready(channel_cast)
    with pytest.raises(InvalidTarget, match="not allowed to use the slack integration"):
        await tools.vault.access_token(user=subject, integration="slack", scope=("chat:write",))
    (refusal,) = events(channel_cast, "vault.refused")
    assert (refusal.agent, refusal.reason, refusal.details["error"]) == (AGENT, "integration_not_allowed",
                                                                         "invalid_target")


async def test_scope_beyond_the_allowed_set_is_refused_and_read_only_tokens_cannot_write(channel_cast):
    cast = channel_cast
    subject, tools, _ = await ready(cast)
    with pytest.raises(InvalidScope, match="crm.write"):
        await tools.vault.access_token(user=subject, integration="salesforce", scope=("crm.read", "crm.write"))
    assert events(cast, "vault.refused")[-1].reason == "scope_not_allowed"
    read_only = await tools.token(user=subject, integration="salesforce", scope=CRM_READ)
    api = tools.api("salesforce", read_only)
    with pytest.raises(InsufficientScope):
        await api.post("/accounts/acme-corp/opportunities", {"name": "x", "amount_eur": 1, "close_date": "2025-02-01"})
    crm = cast.vault.providers["crm"]
    assert crm.api_log[-1].status == 403 and crm.api_log[-1].error == "insufficient_scope"
    assert all(o.name != "x" for o in crm.opportunities.values())


async def test_grant_revoked_at_the_provider_means_the_user_must_reconnect(channel_cast):
    cast = channel_cast
    subject, tools, vault = await ready(cast)
    crm = cast.vault.providers["crm"]
    crm_subject = next(u.id for u in crm.users.values() if u.email == cast.world.person("sarah").email)
    await crm.record(crm.server.revoke_grants(subject=crm_subject, client_id=vault.name, now=cast.runtime.clock.now()))
    with pytest.raises(InteractionRequired, match="reconnect crm"):
        await tools.vault.access_token(user=subject, integration="salesforce", scope=CRM_READ)
    assert vault.store.connection(subject=subject, provider="crm").status == RECONNECT
    assert events(cast, "vault.refresh_failed")[-1].reason == "upstream_grant_invalid"
    assert events(cast, "vault.refused")[-1].reason == "reconnect_required"
    with pytest.raises(InteractionRequired, match="must reconnect"):  # no further upstream call
        await tools.vault.access_token(user=subject, integration="salesforce", scope=CRM_READ)
    # Reconnecting (a new authorization) restores service.
    await connect_accounts(cast, user="sarah", agent=AGENT, providers=["crm"])
    assert (await tools.vault.access_token(user=subject, integration="salesforce", scope=CRM_READ)).token


async def test_reused_rotated_refresh_token_revokes_the_family_and_the_vault_refuses(channel_cast, autojump_clock):
    cast = channel_cast
    subject, tools, vault = await ready(cast)
    connection = vault.store.connection(subject=subject, provider="crm")
    stolen = unseal(connection.refresh, aad=record_aad("refresh", connection.connection_id), ring=vault.ring)
    served = await tools.vault.access_token(user=subject, integration="salesforce", scope=CRM_READ)  # rotates it
    crm = cast.vault.providers["crm"]
    client = vault.providers["crm"]
    replay = await cast.runtime.network.send(HttpRequest.form_post(
        url=crm.url("/token"), params={"grant_type": "refresh_token", "refresh_token": stolen},
        headers={"authorization": basic_authorization(client.client_id, client.client_secret)}))
    assert (replay.status, replay.json()["error"]) == (400, "invalid_grant")
    (reuse,) = [e for e in crm.auth_log if e.event == "refresh_token.reused"]
    assert reuse.decision == "deny"
    with pytest.raises(OAuthError) as denied:  # the access token minted from the family died with it
        await tools.api("salesforce", served).get("/accounts/acme-corp")
    assert denied.value.error == "invalid_token"
    # The vault's own (rotated) refresh token died with the family: its next refresh is refused.
    await trio.sleep(crm.server.config.access_token_lifetime)
    assert events(cast, "vault.refresh_failed")[-1].reason == "upstream_grant_invalid"
    assert vault.store.connection(subject=subject, provider="crm").status == RECONNECT
    with pytest.raises(InteractionRequired, match="must reconnect crm"):
        await tools.vault.access_token(user=subject, integration="salesforce", scope=CRM_READ)
    assert events(cast, "vault.refused")[-1].reason == "reconnect_required"


# ------------------------------------------------------------------ encryption at rest


async def test_store_file_holds_no_plaintext_token_and_kek_rotation_rewraps_everything(
        autojump_clock, fast_crypto, tmp_path, monkeypatch):
    from actors.runtime.network import Transport
    from scenarios.sales_agent import start_cast
    from tests.actors.runtime.helpers import running_runtime
    from tests.actors.vault_helpers import WORLD

    async with running_runtime(Transport.CHANNEL) as (runtime, nursery, _log):
        runtime.data_dir = tmp_path
        cast = await start_cast(world=WORLD, runtime=runtime, nursery=nursery)
        subject, tools, vault = await ready(cast, providers=("crm", "google-workspace"))
        for integration, scope in (("salesforce", CRM_READ), ("google-drive", ("drive.file",)),
                                   ("gmail", ("gmail.send",))):
            await tools.vault.access_token(user=subject, integration=integration, scope=scope)

        def plaintexts():
            out = {c.connection_id: unseal(c.refresh, aad=record_aad("refresh", c.connection_id), ring=vault.ring)
                   for c in vault.store.connections()}
            out.update({(t.connection_id, t.slot): unseal(t.token, aad=record_aad("access", f"{t.connection_id}/{t.slot}"),
                                                         ring=vault.ring) for t in vault.store.cached_tokens()})
            return out

        before = plaintexts()
        assert len(before) == 5 and {e.kek_id for e in vault.envelopes()} == {"kek-1"}

        def assert_no_plaintext():
            data = (tmp_path / "vault.sqlite").read_bytes()
            minted = [s for s in runtime.secrets if len(s) >= 16]
            assert len(minted) > 20 and [s[:6] for s in minted if s.encode() in data] == []
            assert all(value.encode() not in data for value in before.values())

        assert_no_plaintext()
        monkeypatch.setattr(vault_keys, "REWRAP_BATCH", 1)  # many small transactions...
        served_during = []

        async def keep_asking():  # ...while the agent keeps getting tokens
            for _ in range(10):
                served_during.append(await tools.vault.access_token(user=subject, integration="salesforce",
                                                                    scope=CRM_READ))
                await trio.sleep(0)

        async with trio.open_nursery() as inner:
            inner.start_soon(keep_asking)
            report = await vault.rotate_kek()
        assert len(served_during) == 10 and {t.token for t in served_during} == {before[next(
            k for k in before if isinstance(k, tuple) and k[1] == slot_key("salesforce", CRM_READ))]}
        assert report == {"old_kek": "kek-1", "new_kek": "kek-2", "rewrapped": 5, "retired": ["kek-1"]}
        assert {e.kek_id for e in vault.envelopes()} == {"kek-2"} and set(vault.ring.keys) == {"kek-2"}
        assert plaintexts() == before  # same secrets, new wrapping, ciphertexts untouched
        assert_no_plaintext()
        db = sqlite3.connect(tmp_path / "vault.sqlite")
        assert {r[0] for r in db.execute("SELECT kek_id FROM connections UNION SELECT kek_id FROM access_tokens")} \
            == {"kek-2"}
        db.close()
        assert events(cast, "vault.key_rotated")[0].details["rewrapped"] == 5


# ------------------------------------------------------------------ hostile inputs


def form(url, body: bytes):
    return HttpRequest(method="POST", url=url, body=body, headers={"content-type": "application/x-www-form-urlencoded"})


HOSTILE = [
    ("vault token: no client auth", lambda c: form(c.vault.vault.url("/token"),
                                                   b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange"),
     401, "invalid_client"),
    ("vault token: not a form", lambda c: HttpRequest.json_post(url=c.vault.vault.url("/token"), payload={}),
     400, "invalid_request"),
    ("vault token: duplicate grant_type", lambda c: form(c.vault.vault.url("/token"),
                                                         b"grant_type=a&grant_type=b"), 400, "invalid_request"),
    ("vault connect: no client auth", lambda c: form(c.vault.vault.url("/connect"), b"connection=crm"),
     401, "invalid_client"),
    ("vault connect start: unknown ticket", lambda c: HttpRequest.get(c.vault.vault.url("/connect/start?ticket=x")),
     400, None),
    ("vault callback: unknown state", lambda c: HttpRequest.get(c.vault.vault.url("/connect/callback?state=x&code=y")),
     400, None),
    ("vault: GET /token", lambda c: HttpRequest.get(c.vault.vault.url("/token")), 405, None),
    ("crm token: unknown grant", lambda c: form(c.vault.providers["crm"].url("/token"), b"grant_type=password"),
     401, "invalid_client"),
    ("crm revoke: no token", lambda c: form(c.vault.providers["crm"].url("/revoke"), b""), 401, "invalid_client"),
    ("crm authorize: unknown client", lambda c: HttpRequest.get(c.vault.providers["crm"].url(
        "/authorize?client_id=nobody&redirect_uri=https%3A%2F%2Fevil.example&response_type=code")), 400, None),
    ("crm api: no token", lambda c: HttpRequest.get(c.vault.providers["crm"].url("/crm/v1/accounts")), 401, None),
    ("crm api: garbage token", lambda c: HttpRequest.get(c.vault.providers["crm"].url("/crm/v1/accounts"),
                                                         headers={"authorization": "Bearer abc.def.ghi"}),
     401, "invalid_token"),
    ("crm api: token in query", lambda c: HttpRequest.get(c.vault.providers["crm"].url(
        "/crm/v1/accounts?access_token=abc")), 400, "invalid_request"),
    ("crm api: unknown path", lambda c: HttpRequest.get(c.vault.providers["crm"].url("/crm/v1/nothing")), 404, None),
    ("workspace api: wrong method", lambda c: HttpRequest(method="DELETE", url=c.vault.providers[
        "google-workspace"].url("/drive/v3/files")), 405, None),
    ("workspace consent: no session", lambda c: form(c.vault.providers["google-workspace"].url("/consent"),
                                                     b"txn=x&decision=allow"), 400, None),
]


async def test_hostile_inputs_get_the_right_error_never_a_500(cast):
    """One cast per transport for the whole table (starting a cast is the expensive part)."""
    wrong = []
    for name, build, status, error in HOSTILE:
        response = await cast.runtime.network.send(build(cast))
        got = (response.status, response.json()["error"] if error is not None else None)
        if got != (status, error):
            wrong.append(f"{name}: expected {(status, error)}, got {got} {response.body[:120]!r}")
    assert wrong == []
    # the connection links refused are in the trail too (a browser step: no agent, no user known)
    refused = {e.reason: e.decision for e in cast.runtime.audit.store.entries() if e.event == "vault.connect_failed"}
    assert refused == {"unknown_or_used_ticket": "deny", "unknown_or_expired_state": "deny"}


async def test_api_calls_with_a_wrong_scope_token_are_refused_and_logged(channel_cast):
    """A Drive-only token is not accepted by Gmail (audience) and a freebusy token cannot book."""
    cast = channel_cast
    subject, tools, _ = await ready(cast, providers=("google-workspace",))
    drive = await tools.token(user=subject, integration="google-drive", scope=("drive.file",))
    response = await cast.runtime.network.send(HttpRequest.json_post(
        url=tools.vault.integrations["gmail"] + "/users/me/messages/send", payload={"raw": "x"},
        headers={"authorization": f"Bearer {drive.token}"}))
    assert response.status == 401 and 'error="invalid_token"' in response.header("www-authenticate")
    freebusy = await tools.vault.access_token(user=subject, integration="google-calendar",
                                              scope=("calendar.freebusy",))
    booked = await cast.runtime.network.send(HttpRequest.json_post(
        url=tools.vault.integrations["google-calendar"] + "/calendars/primary/events", payload={},
        headers={"authorization": f"Bearer {freebusy.token}"}))
    assert booked.status == 403 and 'scope="calendar.events"' in booked.header("www-authenticate")
    denied = events(cast, "api.denied")
    assert [e.reason for e in denied[-2:]] == ["invalid_token", "insufficient_scope"]
    # the refusal of a verified token names it, so the report's lineage links the refusal to that token
    jti = peek(freebusy.token).claims["jti"]
    assert "jti" not in denied[-2].details and denied[-1].details["jti"] == jti
    node = next(n for n in build_lineage(cast.runtime.audit.store.entries()).nodes if n.key == identifier_key(jti))
    assert node.kind == "vault_token" and "google-workspace" in node.used_by


async def test_declined_consent_leaves_the_account_unconnected(channel_cast):
    cast = channel_cast
    await sign_in(cast)
    status = await connect_accounts(cast, user="sarah", agent=AGENT, providers=["google-workspace"], allow=False)
    assert status == {"google-workspace": "not connected"}
    workspace = cast.vault.providers["google-workspace"]
    assert [e.event for e in workspace.auth_log if e.event.startswith("consent.")] == ["consent.requested",
                                                                                        "consent.denied"]
    failed = events(cast, "vault.connect_failed")[-1]
    assert failed.reason == "access_denied" and failed.subject is not None


async def test_agent_cannot_use_another_agents_id_token(channel_cast):
    """The subject token must have been issued to the calling agent (aud = its client id)."""
    cast = channel_cast
    subject, tools, vault = await ready(cast)
    now = cast.runtime.clock.now()
    # A genuine ID token of the IdP for Sarah — but issued to another client.
    foreign = mint_id_token(key=cast.idp.provider.keyring.active, issuer=cast.idp.base_url, client_id="other-agent",
                            subject=subject, now=now, auth_time=now, amr=("pwd",), nonce=None, sid="s", jti="j-1",
                            profile_claims={})
    delegation = cast.agents[AGENT].delegations[subject]
    cast.agents[AGENT].delegations[subject] = attrs.evolve(delegation, id_token=foreign)
    with pytest.raises(OAuthError) as refused:
        await tools.vault.access_token(user=subject, integration="salesforce", scope=CRM_READ)
    assert refused.value.error == "invalid_request" and "wrong_audience" in refused.value.description
    assert events(cast, "vault.refused")[-1].reason == "subject_token_invalid"
    cast.agents[AGENT].delegations[subject] = delegation  # its own token still works
    assert (await tools.vault.access_token(user=subject, integration="salesforce", scope=CRM_READ)).token


async def test_disconnect_revokes_the_grant_at_the_provider_and_in_the_vault(channel_cast):
    cast = channel_cast
    subject, tools, vault = await ready(cast)
    served = await tools.vault.access_token(user=subject, integration="salesforce", scope=CRM_READ)
    assert await vault.revoke_connection(subject=subject, provider="crm", reason="user disconnected")
    crm = cast.vault.providers["crm"]
    (revoked,) = [e for e in crm.auth_log if e.event == "token.revoked"]
    assert revoked.client_id == vault.name and revoked.reason == "refresh_token revoked by its client"
    with pytest.raises(OAuthError) as dead:  # RFC 7009 §2.1: the grant's access tokens go with it
        await tools.api("salesforce", served).get("/accounts/acme-corp")
    assert dead.value.error == "invalid_token"
    with pytest.raises(InteractionRequired, match="user disconnected"):
        await tools.vault.access_token(user=subject, integration="salesforce", scope=CRM_READ)
    assert vault.store.cached_tokens() == [] and not await vault.revoke_connection(
        subject=subject, provider="crm", reason="again")

"""Cross-domain access on the network, over both transports: the agent, the enterprise IdP's
ID-JAG exchange, the pricing AS (its own trust domain, fetching the IdP's keys) and the pricing API.
Every refusal is checked for its exact status and error; nothing answers 500."""

from urllib.parse import urlencode

import attrs
import pytest
import trio

from actors.agent import LOGIN_PATH
from actors.agent_cross_domain import CrossDomainFailed
from actors.browser import Navigate
from actors.runtime.network import Transport
from protocols.http import HttpRequest
from protocols.jose.keys import Algorithm
from protocols.oauth.client_auth import client_assertion_params
from protocols.oauth.metadata import metadata_url
from protocols.token_exchange import GRANT_TYPE_JWT_BEARER
from scenarios.library import SCENARIOS
from scenarios.sales_agent import start_cast
from scenarios.world import load_world
from tests.actors.runtime.helpers import running_runtime

WORLD = load_world(SCENARIOS["sales-agent"].world_file)
AGENT = "sales-agent-prod-001"
READ = ("pricing:read",)


@pytest.fixture(params=list(Transport), ids=lambda t: t.value)
async def cast(request, autojump_clock):
    async with running_runtime(request.param) as (runtime, nursery, _log):
        yield await start_cast(world=WORLD, runtime=runtime, nursery=nursery)


async def sign_in(cast):
    agent = cast.agents[AGENT]
    result = await cast.browsers["sarah"].ask(Navigate(url=agent.url(LOGIN_PATH)))
    assert result.status == 200 and not result.problem
    return next(iter(agent.delegations.values()))


def client_of(cast):
    return cast.cross_domain.client(agent=AGENT, target=WORLD.pricing.authorization_server)


def prices_url(cast, tier="enterprise-tier"):
    return cast.cross_domain.pricing_api.url(f"/prices/{tier}")


async def read_token(cast):
    delegation = await sign_in(cast)
    client = client_of(cast)
    grant = await client.obtain_id_jag(delegation, resource=(WORLD.pricing.resource,), scope=READ)
    tokens = await client.redeem(grant, user=delegation.subject)
    return delegation, grant, tokens


def audit(cast, event):
    return [e for e in cast.runtime.audit.store.entries() if e.event == event]


async def test_sarahs_id_token_becomes_enterprise_prices(cast, autojump_clock):
    """The whole flow, then the managed-connection refusal, re-presentation and the IdP's key rotation
    (one cast per transport: building one takes seconds)."""
    delegation, grant, tokens = await read_token(cast)
    assert grant.scope == READ and grant.expires_in == 300 and tokens.refresh_token is None
    client = client_of(cast)
    response = await client.call(prices_url(cast), access_token=tokens.access_token, user=delegation.subject)
    assert response.status == 200
    body = response.json()
    assert body["tier"] == "enterprise-tier" and {p["sku"] for p in body["prices"]} >= {"AI-TRN-ENT", "SUP-PREM"}
    for event, actor in (("id_jag.issued", "acme-idp"), ("id_jag.redeemed", "pricing-as"),
                         ("pricing.served", "pricing-api")):
        (entry,) = audit(cast, event)
        assert (entry.actor, entry.agent, entry.subject, entry.decision) == (actor, AGENT, delegation.subject,
                                                                             "allow")
    assert audit(cast, "id_jag.redeemed")[0].details["client_id"] == "acme-sales-agent"
    assert [e.actor for e in audit(cast, "trust.keys_fetched")] == ["pricing-as", "pricing-api"]

    # pricing:write is refused by the managed connection, with the user and the reason in the audit log
    with pytest.raises(CrossDomainFailed) as info:
        await client.obtain_id_jag(delegation, scope=("pricing:write",))
    assert info.value.error.error == "invalid_scope" and info.value.error.status == 400
    (denied,) = audit(cast, "id_jag.denied")
    assert (denied.agent, denied.subject, denied.decision) == (AGENT, delegation.subject, "deny")
    assert denied.reason == f"invalid_scope: managed connection {AGENT} -> pricing-as always refuses pricing:write"

    # the same unexpired ID-JAG may be re-presented for a fresh access token (draft §4.4.4)
    again = await client.redeem(grant, user=delegation.subject)
    assert again.access_token != tokens.access_token
    assert [e.details["presentation"] for e in audit(cast, "id_jag.redeemed")] == [1, 2]

    # the IdP rotates its key: the pricing AS re-reads the JWKS for the unknown kid
    runtime = cast.runtime
    new_key = runtime.new_signing_key(owner=cast.idp.name, purpose="test-rotation", alg=Algorithm.ES256)  # fast
    cast.idp.provider.rotate_key(new_key, now=runtime.clock.now(), retire_after=3600)
    await trio.sleep(61)
    rotated = await client.redeem(await client.obtain_id_jag(delegation, scope=READ), user=delegation.subject)
    assert rotated.scope == READ
    fetched = [e for e in audit(cast, "trust.keys_fetched") if e.actor == "pricing-as"]
    assert len(fetched) == 2 and new_key.kid in fetched[1].details["kids"]

    rows = {name: (base, extra) for name, base, extra in cast.services()}
    assert rows["pricing-as"] == (cast.cross_domain.pricing_as.base_url,
                                  metadata_url(cast.cross_domain.pricing_as.base_url))
    assert "pricing-api" in rows


def form(url, pairs, **headers):
    return HttpRequest(method="POST", url=url, body=urlencode(pairs).encode(),
                       headers={"content-type": "application/x-www-form-urlencoded", **headers})


_fresh = iter(range(10**6))


def fresh_entropy(cast):
    """A new seeded stream per assertion (a reused one would repeat the jti)."""
    return cast.runtime.entropy_for("test").child(str(next(_fresh)))


def pricing_auth(cast, *, key=None):
    client = client_of(cast)
    registration = client.registration
    return list(client_assertion_params(client_id=registration.client_id, audience=registration.issuer,
                                        key=key or registration.signing_key, now=cast.runtime.clock.now(),
                                        entropy=fresh_entropy(cast)).items())


def bearer(token):
    return {"authorization": f"Bearer {token}"}


# (name, build(cast, ctx) -> HttpRequest, status, error or None, challenge error or None)
NEGATIVE = [
    ("API: no token", lambda c, x: HttpRequest.get(prices_url(c)), 401, None),
    ("API: IdP access token passed straight through",
     lambda c, x: HttpRequest.get(prices_url(c), headers=bearer(x["delegation"].access_token)), 401, "invalid_token"),
    ("API: Sarah's ID token", lambda c, x: HttpRequest.get(prices_url(c), headers=bearer(x["delegation"].id_token)),
     401, "invalid_token"),
    ("API: the ID-JAG itself", lambda c, x: HttpRequest.get(prices_url(c), headers=bearer(x["grant"].assertion)),
     401, "invalid_token"),
    ("API: garbage token", lambda c, x: HttpRequest.get(prices_url(c), headers=bearer("not-a-jwt")), 401,
     "invalid_token"),
    ("API: token in the query string",
     lambda c, x: HttpRequest.get(prices_url(c) + "?access_token=" + x["tokens"].access_token), 400,
     "invalid_request"),
    ("API: write with a read token",
     lambda c, x: HttpRequest(method="PUT", url=prices_url(c), headers=bearer(x["tokens"].access_token)), 403,
     "insufficient_scope"),
    ("API: delete with a read token",
     lambda c, x: HttpRequest(method="DELETE", url=prices_url(c), headers=bearer(x["tokens"].access_token)), 403,
     "insufficient_scope"),
    ("API: unknown tier", lambda c, x: HttpRequest.get(prices_url(c, "platinum"), headers=bearer(x["tokens"].access_token)),
     404, "not_found"),
    ("API: unknown path", lambda c, x: HttpRequest.get(c.cross_domain.pricing_api.url("/admin")), 404, "not_found"),
    ("AS: missing client authentication",
     lambda c, x: form(c.cross_domain.pricing_as.url("/token"), [("grant_type", GRANT_TYPE_JWT_BEARER),
                                                                 ("assertion", x["grant"].assertion)]),
     401, "invalid_client"),
    ("AS: client authentication with the agent's IdP key",
     lambda c, x: form(c.cross_domain.pricing_as.url("/token"), [
         ("grant_type", GRANT_TYPE_JWT_BEARER), ("assertion", x["grant"].assertion),
         *pricing_auth(c, key=c.agents[AGENT].signing_key)]), 401, "invalid_client"),
    ("AS: the ID token instead of an ID-JAG",
     lambda c, x: form(c.cross_domain.pricing_as.url("/token"), [
         ("grant_type", GRANT_TYPE_JWT_BEARER), ("assertion", x["delegation"].id_token), *pricing_auth(c)]),
     400, "invalid_grant"),
    ("AS: token exchange grant", lambda c, x: form(c.cross_domain.pricing_as.url("/token"), [
        ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"), *pricing_auth(c)]),
     400, "unsupported_grant_type"),
    ("AS: JSON body", lambda c, x: HttpRequest.json_post(url=c.cross_domain.pricing_as.url("/token"),
                                                         payload={"grant_type": GRANT_TYPE_JWT_BEARER}),
     400, "invalid_request"),
    ("AS: non-UTF-8 body", lambda c, x: HttpRequest(method="POST", url=c.cross_domain.pricing_as.url("/token"),
                                                    body=b"grant_type=\xff",
                                                    headers={"content-type": "application/x-www-form-urlencoded"}),
     400, "invalid_request"),
    ("AS: GET on the token endpoint", lambda c, x: HttpRequest.get(c.cross_domain.pricing_as.url("/token")), 405,
     "method_not_allowed"),
    ("IdP: the ID-JAG redeemed at the IdP itself",
     lambda c, x: form(c.idp.url("/token"), [("grant_type", GRANT_TYPE_JWT_BEARER), ("assertion", x["grant"].assertion),
                                             *client_assertion_params(client_id=AGENT, audience=c.idp.base_url,
                                                                      key=c.agents[AGENT].signing_key,
                                                                      now=c.runtime.clock.now(),
                                                                      entropy=fresh_entropy(c)).items()]),
     400, "unsupported_grant_type"),
]


def check(response, name, status, error):
    """What is wrong with ``response`` for this case ('' when it is right)."""
    if response.status != status:
        return f"HTTP {response.status} {response.body[:160]!r}"
    if name.startswith("API") and status in (401, 403):
        challenge = response.header("www-authenticate") or ""
        if not challenge.startswith('Bearer realm="pricing"'):
            return f"challenge {challenge!r}"
        if (f'error="{error}"' not in challenge) if error else ("error=" in challenge):
            return f"challenge {challenge!r}"
        if status == 403 and 'scope="pricing:write"' not in challenge:
            return f"challenge without the needed scope {challenge!r}"
    elif error is not None and response.json().get("error") != error:
        return f"error {response.json().get('error')!r}"
    return ""


async def test_refusals_over_the_network(cast):
    """Every case of ``NEGATIVE`` against one cast per transport (each case names what failed)."""
    delegation, grant, tokens = await read_token(cast)
    context = {"delegation": delegation, "grant": grant, "tokens": tokens}
    problems = {}
    for name, build, status, error in NEGATIVE:
        problem = check(await cast.runtime.network.send(build(cast, context)), name, status, error)
        if problem:
            problems[name] = problem
    assert problems == {}
    assert len(NEGATIVE) >= 15


# ---------------------------------------------------------------- revocation at the AS reaches the API

def revoke_request(cast, token):
    return form(cast.cross_domain.pricing_as.url("/revoke"), [("token", token), ("token_type_hint", "access_token"),
                                                              *pricing_auth(cast)])


async def api_status(cast, token):
    response = await cast.runtime.network.send(HttpRequest.get(prices_url(cast), headers=bearer(token)))
    challenge = response.header("www-authenticate") or ""
    return response.status, challenge.split('error="')[1].split('"')[0] if 'error="' in challenge else None


async def test_a_live_token_is_refused_right_after_its_revocation_at_the_as(cast):
    """RFC 7009 at the pricing AS, then the API's RFC 7662 introspection refuses the still-unexpired
    JWT at once — no Shared Signals involved; the AS not answering properly fails closed."""
    delegation, grant, tokens = await read_token(cast)
    assert await api_status(cast, tokens.access_token) == (200, None)
    served = audit(cast, "pricing.served")[-1]
    assert served.reason.endswith("(introspected)")
    assert (await cast.runtime.network.send(revoke_request(cast, tokens.access_token))).status == 200
    seq = cast.runtime.audit.store.entries()[-1].seq
    assert await api_status(cast, tokens.access_token) == (401, "invalid_token")

    jti = served.details["jti"]
    (revoked,) = [e for e in audit(cast, "token.revoked") if e.actor == "pricing-as"]
    assert (revoked.agent, revoked.details["jti"]) == (AGENT, jti)
    (inactive,) = audit(cast, "token.introspected")
    assert (inactive.actor, inactive.agent, inactive.decision, inactive.reason) == (
        "pricing-as", AGENT, "deny", "inactive: revoked")
    assert (inactive.details["client"], inactive.details["jti"]) == ("pricing-api", jti)
    denied = audit(cast, "pricing.denied")[-1]
    assert (denied.agent, denied.subject, denied.decision, denied.details["jti"], denied.details["check"]) == (
        AGENT, delegation.subject, "deny", jti, "introspection")
    assert denied.reason.startswith("invalid_token: the authorization server reports the token inactive")
    later = [e for e in cast.runtime.audit.store.entries() if e.seq > seq]
    assert not [e for e in later if e.event.startswith(("ssf.", "set.", "caep."))]  # introspection alone did it

    # a token freshly redeemed for the same grant works; an AS that cannot answer refuses it (503)
    fresh = await client_of(cast).redeem(grant, user=delegation.subject)
    assert await api_status(cast, fresh.access_token) == (200, None)
    api = cast.cross_domain.pricing_api
    endpoint, api._introspection_endpoint = api._introspection_endpoint, cast.cross_domain.pricing_as.url("/nope")
    response = await cast.runtime.network.send(HttpRequest.get(prices_url(cast), headers=bearer(fresh.access_token)))
    assert (response.status, response.json()["error"]) == (503, "temporarily_unavailable")
    assert audit(cast, "pricing.denied")[-1].reason == "temporarily_unavailable: introspection failed (not_found)"
    api._introspection_endpoint = endpoint
    assert await api_status(cast, fresh.access_token) == (200, None)


async def test_a_cached_positive_answer_bounds_how_long_a_revoked_token_lives(autojump_clock):
    """``[pricing] introspection_cache = 30``: a revoked token is accepted from the cache for at most
    30 s, then refused — the window the world file chose."""
    world = attrs.evolve(WORLD, pricing=attrs.evolve(WORLD.pricing, introspection_cache=30))
    async with running_runtime(Transport.CHANNEL) as (runtime, nursery, _log):
        cast = await start_cast(world=world, runtime=runtime, nursery=nursery)
        _delegation, _grant, tokens = await read_token(cast)
        assert await api_status(cast, tokens.access_token) == (200, None)
        assert (await cast.runtime.network.send(revoke_request(cast, tokens.access_token))).status == 200
        assert await api_status(cast, tokens.access_token) == (200, None)
        assert audit(cast, "pricing.served")[-1].reason.endswith("(cached introspection)")
        await trio.sleep(30)
        assert await api_status(cast, tokens.access_token) == (401, "invalid_token")

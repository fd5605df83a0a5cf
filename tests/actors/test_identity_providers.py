"""The IdP actors on the network: an outside JOSE library verifies Sarah's ID token, key rotation,
and hostile HTTP inputs to every IdP endpoint over both transports (never a 500)."""

import pytest
import trio
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet

from actors.agent import LOGIN_PATH
from actors.browser import Navigate
from actors.runtime.network import Transport
from urllib.parse import urlencode

from protocols.http import HttpRequest
from protocols.oauth.client_auth import client_assertion_params
from protocols.oidc.discovery import discovery_url
from scenarios.sales_agent import start_cast
from scenarios.library import SCENARIOS
from scenarios.world import load_world
from tests.actors.runtime.helpers import running_runtime

WORLD = load_world(SCENARIOS["sales-agent"].world_file)




@pytest.fixture(params=list(Transport), ids=lambda t: t.value)
async def cast(request, autojump_clock):
    async with running_runtime(request.param) as (runtime, nursery, _log):
        cast = await start_cast(world=WORLD, runtime=runtime, nursery=nursery)
        yield cast


async def sign_in_sarah(cast):
    agent = cast.agents["sales-agent-prod-001"]
    result = await cast.browsers["sarah"].ask(Navigate(url=agent.url(LOGIN_PATH)))
    assert result.status == 200 and not result.problem
    (delegation,) = agent.delegations.values()
    return delegation


async def get_json(cast, url):
    response = await cast.runtime.network.send(HttpRequest.get(url))
    assert response.status == 200
    return response.json()


async def test_id_token_verifies_with_an_independent_jose_library(cast):
    delegation = await sign_in_sarah(cast)
    discovery = await get_json(cast, discovery_url(cast.idp.base_url))
    assert discovery["issuer"] == cast.idp.base_url
    keys = KeySet.import_key_set(await get_json(cast, discovery["jwks_uri"]))
    token = jose_jwt.decode(delegation.id_token, keys, algorithms=["RS256"])
    claims = token.claims
    assert claims["iss"] == cast.idp.base_url and claims["aud"] == "sales-agent-prod-001"
    assert claims["sub"].startswith("google-oauth2|")
    for name in ("exp", "iat", "auth_time", "amr", "nonce", "name", "email", "email_verified", "role", "territory"):
        assert name in claims, name
    assert (claims["role"], claims["territory"]) == ("sales_rep", "EMEA")
    assert token.header["kid"] in {k["kid"] for k in (await get_json(cast, discovery["jwks_uri"]))["keys"]}


async def test_key_rotation_keeps_the_old_key_until_its_tokens_expire(cast, autojump_clock):
    delegation = await sign_in_sarah(cast)
    jwks_uri = (await get_json(cast, discovery_url(cast.idp.base_url)))["jwks_uri"]
    old_kid = delegation.claims.kid
    await trio.sleep(WORLD.idp.key_rotation_days * 86400 + 1)
    kids = [k["kid"] for k in (await get_json(cast, jwks_uri))["keys"]]
    assert len(kids) == 2 and old_kid in kids
    await trio.sleep(max(WORLD.idp.id_token_lifetime, WORLD.idp.access_token_lifetime) + 120)
    kids_later = [k["kid"] for k in (await get_json(cast, jwks_uri))["keys"]]
    assert old_kid not in kids_later and len(kids_later) == 1
    rotated = [e for e in cast.runtime.audit.store.entries() if e.event == "key.rotated"]
    assert rotated and rotated[0].details["old_kid"] == old_kid


def form(url, body: bytes, **headers):
    return HttpRequest(method="POST", url=url, body=body,
                       headers={"content-type": "application/x-www-form-urlencoded", **headers})


def agent_auth(cast) -> bytes:
    """A valid private_key_jwt client authentication of the sales agent, form-encoded."""
    agent = cast.agents["sales-agent-prod-001"]
    params = client_assertion_params(client_id=agent.client_id, audience=cast.idp.base_url, key=agent.signing_key,
                                     now=cast.runtime.clock.now(), entropy=cast.runtime.entropy_for("test"))
    return urlencode(params).encode()


HOSTILE = [
    # (name, request builder, expected status, expected error or None for an HTML error page)
    ("token: no client authentication", lambda c, idp: form(idp + "/token", b"grant_type=authorization_code&code=x"), 401, "invalid_client"),
    ("token: missing grant_type", lambda c, idp: form(idp + "/token", b"code=x&" + agent_auth(c)), 400, "invalid_request"),
    ("token: duplicate parameter", lambda c, idp: form(idp + "/token", b"grant_type=authorization_code&grant_type=authorization_code&" + agent_auth(c)), 400, "invalid_request"),
    ("token: unknown grant", lambda c, idp: form(idp + "/token", b"grant_type=password&" + agent_auth(c)), 400, "unsupported_grant_type"),
    ("token: unknown code", lambda c, idp: form(idp + "/token", b"grant_type=authorization_code&code=forged&redirect_uri=x&code_verifier=" + b"v" * 43 + b"&" + agent_auth(c)), 400, "invalid_grant"),
    ("token: non-UTF-8 body", lambda c, idp: form(idp + "/token", b"grant_type=\xff\xfe&" + agent_auth(c)), 400, "invalid_request"),
    ("token: oversized body", lambda c, idp: form(idp + "/token", b"grant_type=" + b"a" * 70_000), 400, "invalid_request"),
    ("token: JSON instead of form", lambda c, idp: HttpRequest.json_post(url=idp + "/token", payload={"grant_type": "authorization_code"}), 400, "invalid_request"),
    ("token: alg none assertion", lambda c, idp: form(idp + "/token", b"grant_type=authorization_code&code=abc&client_id=sales-agent-prod-001&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=eyJhbGciOiJub25lIn0.e30."), 401, "invalid_client"),
    ("token: GET", lambda c, idp: HttpRequest.get(idp + "/token"), 405, None),
    ("authorize: unknown client", lambda c, idp: HttpRequest.get(idp + "/authorize?response_type=code&client_id=nobody&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&scope=openid"), 400, None),
    ("authorize: duplicate parameter", lambda c, idp: HttpRequest.get(idp + "/authorize?client_id=a&client_id=b"), 400, None),
    ("login: empty form", lambda c, idp: form(idp + "/login", b""), 400, None),
    ("userinfo: no token", lambda c, idp: HttpRequest.get(idp + "/userinfo"), 401, None),
    ("userinfo: garbage token", lambda c, idp: HttpRequest.get(idp + "/userinfo", headers={"authorization": "Bearer not-a-jwt"}), 401, "invalid_token"),
    ("unknown path", lambda c, idp: HttpRequest.get(idp + "/admin"), 404, None),
]


@pytest.mark.parametrize("name,build,status,error", HOSTILE, ids=[h[0] for h in HOSTILE])
async def test_hostile_inputs_get_the_right_error_never_a_500(cast, name, build, status, error):
    response = await cast.runtime.network.send(build(cast, cast.idp.base_url))
    assert response.status == status, response.body[:200]
    if error is not None and "userinfo" not in name:
        assert response.json()["error"] == error
    if "userinfo" in name:
        challenge = response.header("www-authenticate")
        assert challenge.startswith("Bearer")
        assert (f'error="{error}"' in challenge) if error else ("error=" not in challenge)

"""Shared pieces of the vault and SaaS actor tests: a running sales cast over either transport,
Sarah signed in, and the providers' administrator API (client credentials) to read state back.

Starting a cast spends most of its time generating the seeded RSA keys and scrypt hashes; both
are pure functions of their inputs, so ``fast_crypto`` memoizes them for the test session.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from actors.agent import LOGIN_PATH
from actors.browser import Navigate
from actors.runtime.network import Transport
from protocols.http import HttpRequest
from protocols.jose import keys as jose_keys
from protocols.oauth.client_auth import basic_authorization
from protocols.oidc import authentication
from scenarios.library import SCENARIOS
from scenarios.sales_agent import SalesCast, start_cast
from scenarios.world import load_world
from tests.actors.runtime.helpers import running_runtime

WORLD = load_world(SCENARIOS["sales-agent"].world_file)
AGENT = "sales-agent-prod-001"
_RSA: dict[tuple[bytes, str, int], Any] = {}


def _memo_rsa(original):
    def generate(entropy):
        key = (entropy.seed, entropy.label, entropy._counter)
        if key not in _RSA:
            _RSA[key] = original(entropy)
        return _RSA[key]
    return generate


@pytest.fixture
def fast_crypto(monkeypatch):
    if not getattr(jose_keys._rsa_private_key, "memoized", False):
        memo = _memo_rsa(jose_keys._rsa_private_key)
        memo.memoized = True
        monkeypatch.setattr(jose_keys, "_rsa_private_key", memo)
    if not hasattr(authentication._scrypt, "cache_info"):
        monkeypatch.setattr(authentication, "_scrypt", _cached_scrypt)


@functools.lru_cache(maxsize=256)
def _scrypt_cached(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return _ORIGINAL_SCRYPT(password, salt=salt, n=n, r=r, p=p)


_ORIGINAL_SCRYPT = authentication._scrypt


def _cached_scrypt(password: str, *, salt: bytes, n: int, r: int, p: int) -> bytes:
    return _scrypt_cached(password, salt, n, r, p)


@pytest.fixture(params=list(Transport), ids=lambda t: t.value)
async def cast(request, autojump_clock, fast_crypto):
    async with running_runtime(request.param) as (runtime, nursery, _log):
        yield await start_cast(world=WORLD, runtime=runtime, nursery=nursery)


@pytest.fixture
async def channel_cast(autojump_clock, fast_crypto):
    async with running_runtime(Transport.CHANNEL) as (runtime, nursery, _log):
        yield await start_cast(world=WORLD, runtime=runtime, nursery=nursery)


async def sign_in(cast: SalesCast, user: str = "sarah") -> str:
    """Sign ``user`` in at the agent (phase 2's journey); returns their subject at the IdP."""
    agent = cast.agents[AGENT]
    result = await cast.browsers[user].ask(Navigate(url=agent.url(LOGIN_PATH)))
    assert result.status == 200 and not result.problem, result.problem
    email = cast.world.person(user).email
    return next(d.subject for d in agent.delegations.values() if d.email == email)


async def admin_token(cast: SalesCast, provider: str) -> str:
    """A token of the provider's administrator service account (``client_credentials``)."""
    admin = cast.vault.admins[provider]
    issuer = cast.vault.providers[provider].base_url
    response = await cast.runtime.network.send(HttpRequest.form_post(
        url=issuer + "/token", params={"grant_type": "client_credentials", "scope": " ".join(admin.scopes)},
        headers={"authorization": basic_authorization(admin.client_id, admin.secret)}))
    assert response.status == 200, response.body
    return response.json()["access_token"]


async def api_get(cast: SalesCast, url: str, token: str) -> Any:
    response = await cast.runtime.network.send(HttpRequest.get(url, headers={"authorization": f"Bearer {token}"}))
    assert response.status == 200, (response.status, response.body[:300])
    return response.json()

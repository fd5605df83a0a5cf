"""Refresh-token rotation with reuse detection (RFC 6749 §6, RFC 9700 §4.14.2), sans-IO."""

import pytest

from protocols.entropy import SeededEntropy
from protocols.oauth.errors import InvalidGrant, InvalidScope
from protocols.oauth.refresh import RefreshLedger, RefreshTokenReused, narrow_scope, token_digest

DAY = 86400


@pytest.fixture
def ledger():
    return RefreshLedger(idle_lifetime=30 * DAY, absolute_lifetime=90 * DAY)


@pytest.fixture
def entropy():
    return SeededEntropy.for_actor(run_seed=1, actor="as")


def start(ledger, entropy, now=1000):
    return ledger.start_family(client_id="vault", subject="u1", scope=("a", "b"), now=now, entropy=entropy)


def test_rotation_issues_a_new_token_and_retires_the_old(ledger, entropy):
    first = start(ledger, entropy)
    second = ledger.rotate(first.refresh_token, client_id="vault", scope=None, now=2000, entropy=entropy)
    assert second.refresh_token != first.refresh_token and second.generation == 2
    assert second.grant == first.grant and second.scope == ("a", "b")
    third = ledger.rotate(second.refresh_token, client_id="vault", scope="a", now=3000, entropy=entropy)
    assert third.scope == ("a",) and third.grant.scope == ("a", "b")  # narrowed token, grant unchanged


def test_reuse_of_a_rotated_token_revokes_the_whole_family(ledger, entropy):
    first = start(ledger, entropy)
    ledger.bind_access_token(first.grant.family_id, jti="at-1", expires_at=5000)
    second = ledger.rotate(first.refresh_token, client_id="vault", scope=None, now=2000, entropy=entropy)
    ledger.bind_access_token(first.grant.family_id, jti="at-2", expires_at=6000)
    with pytest.raises(RefreshTokenReused) as reused:
        ledger.rotate(first.refresh_token, client_id="vault", scope=None, now=3000, entropy=entropy)
    assert reused.value.error == "invalid_grant" and reused.value.status == 400
    assert reused.value.grant.family_id == first.grant.family_id
    assert set(reused.value.revoked_access_tokens) == {"at-1", "at-2"}
    assert ledger.family_revoked(first.grant.family_id)
    with pytest.raises(InvalidGrant, match="revoked"):  # the legitimate holder's newest token is dead too
        ledger.rotate(second.refresh_token, client_id="vault", scope=None, now=3001, entropy=entropy)


def test_refresh_token_is_bound_to_its_client(ledger, entropy):
    first = start(ledger, entropy)
    with pytest.raises(InvalidGrant, match="another client"):
        ledger.rotate(first.refresh_token, client_id="thief", scope=None, now=2000, entropy=entropy)
    # A failed attempt by another client does not consume the token.
    assert ledger.rotate(first.refresh_token, client_id="vault", scope=None, now=2001, entropy=entropy).generation == 2


def test_scope_may_narrow_but_never_widen(ledger, entropy):
    first = start(ledger, entropy)
    with pytest.raises(InvalidScope, match="exceeds the original grant: c"):
        ledger.rotate(first.refresh_token, client_id="vault", scope="a c", now=2000, entropy=entropy)
    assert narrow_scope(None, ("a", "b")) == ("a", "b")
    with pytest.raises(InvalidScope):
        narrow_scope("   ", ("a",))


def test_idle_and_absolute_expiry(entropy):
    ledger = RefreshLedger(idle_lifetime=10 * DAY, absolute_lifetime=25 * DAY)
    first = start(ledger, entropy, now=0)
    with pytest.raises(InvalidGrant, match="expired"):
        ledger.rotate(first.refresh_token, client_id="vault", scope=None, now=10 * DAY, entropy=entropy)
    fresh = start(ledger, entropy, now=0)
    t = fresh
    for day in (9, 18):  # rotating keeps it alive...
        t = ledger.rotate(t.refresh_token, client_id="vault", scope=None, now=day * DAY, entropy=entropy)
    with pytest.raises(InvalidGrant, match="expired"):  # ...but never past the family's absolute end
        ledger.rotate(t.refresh_token, client_id="vault", scope=None, now=25 * DAY, entropy=entropy)


def test_unknown_tokens_and_storage_by_digest(ledger, entropy):
    first = start(ledger, entropy)
    with pytest.raises(InvalidGrant, match="unknown"):
        ledger.rotate("not-a-token", client_id="vault", scope=None, now=2000, entropy=entropy)
    assert first.refresh_token not in repr(ledger)  # only digests are kept
    assert token_digest(first.refresh_token) in repr(ledger)
    assert ledger.lookup(first.refresh_token).family_id == first.grant.family_id
    assert ledger.families_of(subject="u1") == [first.grant]
    ledger.purge(now=1000 + 91 * DAY)
    assert ledger.lookup(first.refresh_token) is None

"""HOTP/TOTP (RFC 4226 Appendix D, RFC 6238 Appendix B), scrypt passwords, sessions, login page."""

import pytest

from protocols.entropy import SeededEntropy
from protocols.oidc.authentication import (
    LoginAttempt, PasswordHash, Session, UserAccount, check_login, hotp, parse_login_page, read_cookie,
    render_login_page, session_cookie_header, totp, verify_totp,
)
from tests.protocols.oidc.harness import NOW, password_hash

RFC_SECRET = b"12345678901234567890"


@pytest.mark.parametrize(("counter", "expected"), list(enumerate(
    ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"])))
def test_hotp_rfc4226_appendix_d(counter, expected):
    assert hotp(RFC_SECRET, counter) == expected


@pytest.mark.parametrize(("now", "expected"), [
    (59, "94287082"), (1111111109, "07081804"), (1111111111, "14050471"),
    (1234567890, "89005924"), (2000000000, "69279037"), (20000000000, "65353130"),
])
def test_totp_rfc6238_appendix_b_sha1(now, expected):
    assert totp(RFC_SECRET, now=now, digits=8) == expected


def test_totp_window_and_replay_protection():
    code = totp(RFC_SECRET, now=NOW)
    step = verify_totp(RFC_SECRET, code, now=NOW + 30)          # one step of drift is tolerated
    assert step == NOW // 30
    assert verify_totp(RFC_SECRET, code, now=NOW + 90) is None    # too old
    assert verify_totp(RFC_SECRET, code, now=NOW, last_used_step=step) is None  # replay
    assert verify_totp(RFC_SECRET, "12345", now=NOW) is None and verify_totp(RFC_SECRET, "abcdef", now=NOW) is None


def test_scrypt_password_hash():
    hashed = PasswordHash.create("pw", entropy=SeededEntropy.for_actor(run_seed=1, actor="u"), n=2**10)
    assert hashed.verify("pw") and not hashed.verify("pw ") and not hashed.verify("")
    assert hashed.salt.hex() not in repr(hashed) and hashed.digest.hex() not in repr(hashed)


ALICE = UserAccount(subject="u-a", username="alice", name="A", email="a@x.test", password=password_hash("pw-alice"),
                    totp_secret=RFC_SECRET)
CAROL = UserAccount(subject="u-c", username="carol", name="C", email="c@x.test", password=password_hash("pw-carol"))
FED = UserAccount(subject="google-oauth2|1", username="google-oauth2|1", name="F", email="f@x.test")


@pytest.mark.parametrize(("account", "password", "otp", "mfa", "reason"), [
    (None, "pw", None, False, "unknown_user"),
    (FED, "pw", None, False, "no_password"),
    (ALICE, "wrong", None, False, "bad_password"),
    (ALICE, "pw-alice", None, False, "otp_required"),
    (ALICE, "pw-alice", "000000", False, "bad_otp"),
    (CAROL, "pw-carol", None, True, "mfa_not_enrolled"),
])
def test_check_login_failures(account, password, otp, mfa, reason):
    attempt = LoginAttempt(transaction="t", username="x", password=password, otp=otp)
    verdict = check_login(account=account, attempt=attempt, now=NOW, require_mfa=mfa)
    assert not verdict.ok and verdict.reason == reason


def test_check_login_success_amr():
    ok = check_login(account=ALICE, attempt=LoginAttempt(transaction="t", username="alice", password="pw-alice",
                                                         otp=totp(RFC_SECRET, now=NOW)), now=NOW, require_mfa=True)
    assert ok.ok and ok.amr == ("pwd", "otp", "mfa") and ok.totp_step == NOW // 30
    single = check_login(account=CAROL, attempt=LoginAttempt(transaction="t", username="carol", password="pw-carol"),
                         now=NOW, require_mfa=False)
    assert single.ok and single.amr == ("pwd",)
    assert "pw-carol" not in repr(LoginAttempt(transaction="t", username="carol", password="pw-carol"))


def test_login_attempt_requires_fields():
    assert LoginAttempt.from_form({"txn": "t", "username": "u"}) is None
    assert LoginAttempt.from_form({"txn": "t", "username": "u", "password": "p"}).otp is None


def test_session_expiry_max_age_and_mfa():
    session = Session.start(subject="u", amr=("pwd",), now=NOW, lifetime=3600,
                            entropy=SeededEntropy.for_actor(run_seed=1, actor="op"))
    assert session.cookie not in repr(session) and session.sid != session.cookie
    assert session.satisfies(now=NOW + 10, max_age=None, require_mfa=False)
    assert not session.satisfies(now=NOW + 3600, max_age=None, require_mfa=False)   # expired
    assert not session.satisfies(now=NOW + 100, max_age=60, require_mfa=False)      # too old for max_age
    assert not session.satisfies(now=NOW + 10, max_age=None, require_mfa=True)      # step-up needed
    header = session_cookie_header(session, secure=True, now=NOW)
    assert "HttpOnly" in header and "Secure" in header and "Max-Age=3600" in header
    assert read_cookie("a=b; op_session=" + session.cookie + "; c=d") == session.cookie
    assert read_cookie(None) is None and read_cookie("op_session=") is None


def test_login_page_round_trip_escapes_values():
    page = render_login_page(action="https://idp.test/login", transaction='t"<x>', client_name="<script>",
                             error="Invalid credentials.", federation_links={"google": "https://idp.test/f?a=1&b=2"})
    assert "<script>" not in page
    parsed = parse_login_page(page)
    assert parsed.action == "https://idp.test/login" and parsed.hidden == {"txn": 't"<x>'}
    assert parsed.federation_links == {"google": "https://idp.test/f?a=1&b=2"}
    assert parsed.error == "Invalid credentials."

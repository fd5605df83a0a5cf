"""End-user authentication at the OpenID Provider: passwords, one-time codes, sessions.

- Password verification with scrypt (RFC 7914) through ``hashlib.scrypt``; the cost parameters are
  stored with the hash so a world file can trade cost against simulation speed.
- Second factor: TOTP (RFC 6238 §4) over HOTP (RFC 4226 §5.3), HMAC-SHA1, 6 digits, 30-second
  step by default; "now" is an argument. A code is accepted once (RFC 6238 §5.2): the caller keeps
  the last accepted time step per user and passes it in.
- Authentication Method Reference values from RFC 8176 §2: ``pwd``, ``otp``, ``mfa``, ``fed``.
- Sessions (OIDC Core §2 ``sid``, §3.1.2.1 ``max_age``): frozen records with an absolute expiry,
  reached through an opaque cookie secret distinct from the public ``sid``.
- The login page: a minimal HTML form the simulated browser fills in, and the parser it uses.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import struct
from collections.abc import Mapping
from html.parser import HTMLParser
from types import MappingProxyType
from typing import Any

import attrs

from protocols.entropy import SeededEntropy

AMR_PASSWORD = "pwd"
AMR_OTP = "otp"
AMR_MFA = "mfa"
AMR_FEDERATED = "fed"
"""RFC 8176 §2 Authentication Method Reference values."""


# --------------------------------------------------------------------------------- passwords


@attrs.frozen(kw_only=True)
class PasswordHash:
    """An scrypt password hash with its salt and cost parameters (RFC 7914 §2)."""

    salt: bytes = attrs.field(repr=False)
    digest: bytes = attrs.field(repr=False)
    n: int = 2**14
    r: int = 8
    p: int = 1

    @classmethod
    def create(cls, password: str, *, entropy: SeededEntropy, n: int = 2**14, r: int = 8, p: int = 1) -> PasswordHash:
        salt = entropy.bytes(16)
        return cls(salt=salt, digest=_scrypt(password, salt=salt, n=n, r=r, p=p), n=n, r=r, p=p)

    def verify(self, password: str) -> bool:
        """Recompute and compare in constant time."""
        candidate = _scrypt(password, salt=self.salt, n=self.n, r=self.r, p=self.p)
        return hmac.compare_digest(candidate, self.digest)


def _scrypt(password: str, *, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=32)


# ------------------------------------------------------------------------------ HOTP / TOTP


def hotp(secret: bytes, counter: int, *, digits: int = 6) -> str:
    """RFC 4226 §5.3: HMAC-SHA-1 over the 8-byte counter, dynamic truncation, modulo 10^digits."""
    mac = hmac.new(secret, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    binary = int.from_bytes(mac[offset:offset + 4], "big") & 0x7FFFFFFF
    return str(binary % 10**digits).zfill(digits)


def totp_step(now: int, *, step: int = 30, t0: int = 0) -> int:
    """RFC 6238 §4.2: ``T = floor((now - T0) / X)``."""
    return (now - t0) // step


def totp(secret: bytes, *, now: int, step: int = 30, digits: int = 6) -> str:
    """The TOTP value for time ``now`` (RFC 6238 §4)."""
    return hotp(secret, totp_step(now, step=step), digits=digits)


def verify_totp(secret: bytes, code: str, *, now: int, last_used_step: int | None = None,
                window: int = 1, step: int = 30, digits: int = 6) -> int | None:
    """The time step ``code`` matches within ±``window`` steps (RFC 6238 §5.2), or ``None``.

    Steps at or before ``last_used_step`` are refused so one code cannot be replayed.
    """
    if len(code) != digits or not code.isdigit():
        return None
    current = totp_step(now, step=step)
    for candidate in range(current - window, current + window + 1):
        if last_used_step is not None and candidate <= last_used_step:
            continue
        if hmac.compare_digest(hotp(secret, candidate, digits=digits), code):
            return candidate
    return None


# ------------------------------------------------------------------------------ accounts


def _frozen_mapping(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


@attrs.frozen(kw_only=True)
class UserAccount:
    """An end user known to the provider.

    ``subject`` is the stable ``sub`` (OIDC Core §2); federated users have ``google-oauth2|<sub>``
    style subjects and no password. ``attributes`` feed the claims hook (role, territory, ...).
    """

    subject: str
    username: str
    name: str
    email: str
    email_verified: bool = True
    password: PasswordHash | None = attrs.field(default=None, repr=False)
    totp_secret: bytes | None = attrs.field(default=None, repr=False)
    attributes: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping)
    federated_from: str | None = None


@attrs.frozen(kw_only=True)
class LoginAttempt:
    """What the login form submitted (field names as rendered by ``render_login_page``)."""

    transaction: str
    username: str
    password: str = attrs.field(repr=False)
    otp: str | None = attrs.field(default=None, repr=False)

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> LoginAttempt | None:
        """``None`` when a required field is missing."""
        transaction, username, password = form.get("txn"), form.get("username"), form.get("password")
        if not transaction or not username or not password:
            return None
        return cls(transaction=transaction, username=username, password=password, otp=form.get("otp"))


@attrs.frozen(kw_only=True)
class LoginVerdict:
    """The result of checking a login attempt: ``amr`` on success, a reason on failure."""

    ok: bool
    reason: str = ""
    amr: tuple[str, ...] = ()
    totp_step: int | None = None


_DUMMY_HASH = PasswordHash(salt=b"\x00" * 16, digest=b"\x00" * 32, n=2**10)


def check_login(*, account: UserAccount | None, attempt: LoginAttempt, now: int,
                require_mfa: bool, last_totp_step: int | None = None) -> LoginVerdict:
    """Verify password and, when the account has a TOTP secret or MFA is required, the one-time code.

    Reasons (audit only, never shown to the user): ``unknown_user``, ``no_password``,
    ``bad_password``, ``otp_required``, ``bad_otp``, ``mfa_not_enrolled``.
    """
    if account is None:
        _DUMMY_HASH.verify(attempt.password)  # same work for unknown users
        return LoginVerdict(ok=False, reason="unknown_user")
    if account.password is None:
        return LoginVerdict(ok=False, reason="no_password")
    if not account.password.verify(attempt.password):
        return LoginVerdict(ok=False, reason="bad_password")
    if account.totp_secret is None:
        if require_mfa:
            return LoginVerdict(ok=False, reason="mfa_not_enrolled")
        return LoginVerdict(ok=True, amr=(AMR_PASSWORD,))
    if not attempt.otp:
        return LoginVerdict(ok=False, reason="otp_required")
    matched = verify_totp(account.totp_secret, attempt.otp, now=now, last_used_step=last_totp_step)
    if matched is None:
        return LoginVerdict(ok=False, reason="bad_otp")
    return LoginVerdict(ok=True, amr=(AMR_PASSWORD, AMR_OTP, AMR_MFA), totp_step=matched)


# ------------------------------------------------------------------------------ sessions


@attrs.frozen(kw_only=True)
class Session:
    """An authenticated browser session at the provider.

    ``sid`` is public (it goes into ID tokens); ``cookie`` is the secret the browser presents.
    """

    sid: str
    cookie: str = attrs.field(repr=False)
    subject: str
    auth_time: int
    amr: tuple[str, ...]
    expires_at: int

    @classmethod
    def start(cls, *, subject: str, amr: tuple[str, ...], now: int, lifetime: int,
              entropy: SeededEntropy) -> Session:
        return cls(sid=entropy.token(16), cookie=entropy.token(32), subject=subject,
                   auth_time=now, amr=amr, expires_at=now + lifetime)

    def is_active(self, now: int) -> bool:
        return now < self.expires_at

    def satisfies(self, *, now: int, max_age: int | None, require_mfa: bool) -> bool:
        """Whether this session can answer a request without a new login (OIDC Core §3.1.2.1)."""
        if not self.is_active(now):
            return False
        if max_age is not None and now - self.auth_time > max_age:
            return False
        return not (require_mfa and AMR_MFA not in self.amr)


SESSION_COOKIE = "op_session"


def session_cookie_header(session: Session, *, secure: bool, now: int) -> str:
    """``Set-Cookie`` value for the session (RFC 6265 §4.1)."""
    flags = "; Secure" if secure else ""
    return (f"{SESSION_COOKIE}={session.cookie}; Path=/; Max-Age={max(0, session.expires_at - now)}; "
            f"HttpOnly; SameSite=Lax{flags}")


def read_cookie(header: str | None, name: str = SESSION_COOKIE) -> str | None:
    """The value of cookie ``name`` in a ``Cookie`` request header (RFC 6265 §5.4)."""
    if not header:
        return None
    for part in header.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name and value:
            return value
    return None


# ------------------------------------------------------------------------------ login page


def render_login_page(*, action: str, transaction: str, client_name: str, error: str = "",
                      federation_links: Mapping[str, str] | None = None, ask_otp: bool = True) -> str:
    """The provider's login form; the browser reads it back with ``parse_login_page``."""
    esc = html.escape
    links = "".join(f'<p><a class="federate" data-provider="{esc(name)}" href="{esc(url)}">'
                    f"Sign in with {esc(name)}</a></p>" for name, url in (federation_links or {}).items())
    message = f'<p class="error">{esc(error)}</p>' if error else ""
    otp = '<label>One-time code <input name="otp" autocomplete="one-time-code"></label>' if ask_otp else ""
    return (
        "<!doctype html><html><head><title>Sign in</title></head><body>"
        f"<h1>Sign in to continue to {esc(client_name)}</h1>{message}"
        f'<form method="post" action="{esc(action)}">'
        f'<input type="hidden" name="txn" value="{esc(transaction)}">'
        '<label>Username <input name="username"></label>'
        '<label>Password <input type="password" name="password"></label>'
        f"{otp}<button type=\"submit\">Sign in</button></form>{links}</body></html>"
    )


@attrs.frozen(kw_only=True)
class LoginPage:
    """What a browser needs from a login page: where to post, hidden fields, federation links."""

    action: str
    hidden: Mapping[str, str]
    federation_links: Mapping[str, str]
    error: str = ""


class _LoginPageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.hidden: dict[str, str] = {}
        self.links: dict[str, str] = {}
        self.error = ""
        self._in_error = False

    def handle_starttag(self, tag: str, attrs_: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs_}
        if tag == "form":
            self.action = a.get("action", "")
        elif tag == "input" and a.get("type") == "hidden":
            self.hidden[a.get("name", "")] = a.get("value", "")
        elif tag == "a" and "federate" in a.get("class", ""):
            self.links[a.get("data-provider", "")] = a.get("href", "")
        elif tag == "p" and a.get("class") == "error":
            self._in_error = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self._in_error = False

    def handle_data(self, data: str) -> None:
        if self._in_error:
            self.error += data


def parse_login_page(text: str) -> LoginPage:
    """Read a page rendered by ``render_login_page`` (used by the simulated browser)."""
    parser = _LoginPageParser()
    parser.feed(text)
    return LoginPage(action=parser.action, hidden=parser.hidden, federation_links=parser.links, error=parser.error)

"""A traditional in-house login service and the bearer-token code every application copies.

The whitepaper's "custom authentication code, password storage" and "custom authentication logic in
each MCP server": ``LegacyLoginActor`` keeps its own table of password hashes (unsalted SHA-256),
issues HS256 JWTs signed with one secret shared by every application (24 h, no audience) and a
refresh token that is never rotated, so the same refresh token works again and again. ``/logout``
ends the login service's own session only: tokens already issued are not tracked anywhere, so they
keep working at every application.

``hand_rolled_bearer_check`` is the check the applications carry: it reads the token's header,
verifies HS256 with the shared secret — and, like many hand-written checks, takes ``alg: none`` at
its word; it looks at no ``aud`` and no ``exp``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping

import attrs

from actors.traditional.legacy_app import Authenticator, Caller, LegacyApp, Reply
from protocols.http import HttpRequest, MalformedBody

TOKEN_LIFETIME = 24 * 3600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_hs256(claims: Mapping[str, object], *, secret: str) -> str:
    """A compact HS256 JWS of ``claims`` (what the login service issues)."""
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64(json.dumps(dict(claims), sort_keys=True, separators=(",", ":")).encode())
    mac = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(mac)}"


def unsigned_token(claims: Mapping[str, object]) -> str:
    """An ``alg: none`` JWT (RFC 7519 §6): what a forger sends."""
    head = _b64(json.dumps({"alg": "none", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64(json.dumps(dict(claims), sort_keys=True, separators=(",", ":")).encode())
    return f"{head}.{body}."


def hand_rolled_bearer_check(*, secret: str, accept_unsigned: bool = True) -> Authenticator:
    """The applications' own bearer-token check (flawed as described in the module docstring);
    ``accept_unsigned=False`` is the one fix a team might make (``alg: none`` refused)."""

    def check(request: HttpRequest) -> Caller | None:
        value = request.header("authorization") or ""
        if not value.lower().startswith("bearer "):
            return None
        parts = value[7:].strip().split(".")
        if len(parts) != 3:
            return None
        try:
            header, claims = json.loads(_unb64(parts[0])), json.loads(_unb64(parts[1]))
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(header, dict) or not isinstance(claims, dict) or not isinstance(claims.get("sub"), str):
            return None
        alg = str(header.get("alg", "")).lower()
        if alg == "hs256":
            expected = hmac.new(secret.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
            try:
                if not hmac.compare_digest(expected, _unb64(parts[2])):
                    return None
            except ValueError:
                return None
        elif alg != "none" or not accept_unsigned:
            return None
        return Caller(principal=f"user:{claims['sub']}", on_behalf_of=claims["sub"])

    return check


def password_hash(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


@attrs.define(eq=False)
class LegacyLoginActor(LegacyApp):
    """``POST /login`` (form ``username``, ``password``), ``POST /refresh``, ``POST /logout``."""

    shared_secret: str = attrs.field(default="", repr=False)
    accept_unsigned: bool = True
    passwords: dict[str, str] = attrs.field(factory=dict, repr=False)
    """E-mail → unsalted SHA-256 of the password (the application's own user table)."""
    refresh_tokens: dict[str, str] = attrs.field(factory=dict, repr=False)
    sessions: set[str] = attrs.field(factory=set)
    issued: int = 0

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.legacy_route("POST", "/login", self._login, public=True)
        self.legacy_route("POST", "/refresh", self._refresh, public=True)
        self.legacy_route("POST", "/logout", self._logout)
        self.extra_auth.append(hand_rolled_bearer_check(secret=self.shared_secret,
                                                        accept_unsigned=self.accept_unsigned))

    def add_user(self, *, email: str, password: str) -> None:
        self.runtime.secrets.add(password)
        self.passwords[email] = password_hash(password)

    def _tokens(self, email: str) -> dict:
        now = self.runtime.clock.now()
        self.issued += 1
        access = sign_hs256({"sub": email, "iat": now, "exp": now + TOKEN_LIFETIME, "n": self.issued},
                            secret=self.shared_secret)
        refresh = self.runtime.entropy_for(self.name).child(f"refresh:{self.issued}").token(24)
        self.runtime.secrets.add_all((access, refresh))
        self.refresh_tokens[refresh] = email
        self.sessions.add(email)
        return {"access_token": access, "refresh_token": refresh, "expires_in": TOKEN_LIFETIME}

    async def _login(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> Reply:
        form = request.form()
        email, password = form.get("username", ""), form.get("password", "")
        if not email or self.passwords.get(email) != password_hash(password):
            return Reply(body={"error": "invalid_credentials"}, status=401, note=f"login failed for {email or '-'}")
        return Reply(body=self._tokens(email), note=f"login {email}")

    async def _refresh(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> Reply:
        email = self.refresh_tokens.get(request.form().get("refresh_token", ""))
        if email is None:
            return Reply(body={"error": "invalid_refresh_token"}, status=401)
        tokens = self._tokens(email)
        tokens.pop("refresh_token")  # the same refresh token stays valid: it is never rotated
        return Reply(body=tokens, note=f"refresh {email}")

    async def _logout(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> Reply:
        if caller.on_behalf_of is None:
            raise MalformedBody("log out with the user's bearer token")
        self.sessions.discard(caller.on_behalf_of)
        return Reply(body={"logged_out": caller.on_behalf_of}, note=f"logout {caller.on_behalf_of}")

"""A simulated relational database server (the customer / pricing / warehouse database an agent
reaches with a password), over HTTP.

Authentication is per request, like a connection handshake: ``Authorization: Basic user:password``.
Passwords are stored as salted PBKDF2-HMAC-SHA256 verifiers (the SCRAM-SHA-256 storage of
RFC 7677 / PostgreSQL, 4096 iterations). A user may hold **two** passwords during a rotation —
MySQL 8.0.14+ dual passwords: ``ALTER USER ... IDENTIFIED BY 'new' RETAIN CURRENT PASSWORD`` keeps
the old one valid until ``ALTER USER ... DISCARD OLD PASSWORD``. Accounts may expire (``VALID
UNTIL``, used for JIT users). Failures answer ``401`` with SQLSTATE ``28P01``; a missing privilege
``403`` with ``42501``.

- ``POST /query`` ``{"op": "select"|"insert", "table": ..., "rows": [...], "limit": n}``;
- ``/admin/...`` (the DBA account only): create / alter / drop users, grant / revoke privileges
  (a grant may carry ``valid_until``: the privilege lapses by itself then — JIT elevation), list
  users and their live grants, read the authentication and query logs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import attrs

from actors.runtime.actor import HttpActor
from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest, HttpResponse, MalformedBody

ITERATIONS = 4096
OPERATIONS = ("select", "insert")
MAX_ROWS = 1000


class DbError(Exception):
    status = 400
    sqlstate = "42601"

    def to_response(self) -> HttpResponse:
        return HttpResponse.json_body({"error": self.sqlstate, "message": str(self)}, status=self.status)


class AuthFailed(DbError):
    status, sqlstate = 401, "28P01"


class PermissionDenied(DbError):
    status, sqlstate = 403, "42501"


class UndefinedObject(DbError):
    status, sqlstate = 404, "42704"


class DuplicateObject(DbError):
    status, sqlstate = 409, "42710"


class BadStatement(DbError):
    status, sqlstate = 400, "42601"


@attrs.frozen(kw_only=True)
class Verifier:
    salt: bytes = attrs.field(repr=False)
    digest: bytes = attrs.field(repr=False)

    @classmethod
    def of(cls, password: str, *, salt: bytes) -> Verifier:
        return cls(salt=salt, digest=hashlib.pbkdf2_hmac("sha256", password.encode(), salt, ITERATIONS))

    def matches(self, password: str) -> bool:
        return hmac.compare_digest(self.digest, hashlib.pbkdf2_hmac("sha256", password.encode(), self.salt, ITERATIONS))


@attrs.define
class DbUser:
    name: str
    current: Verifier
    previous: Verifier | None = None
    valid_until: int | None = None
    privileges: dict[str, set[str]] = attrs.field(factory=dict)
    until: dict[tuple[str, str], int] = attrs.field(factory=dict)
    """(table, op) → when a time-bound (JIT) privilege lapses; absent = permanent."""

    def holds(self, table: str, op: str, *, now: int) -> bool:
        return op in self.privileges.get(table, set()) and self.until.get((table, op), now + 1) > now

    def grants(self, *, now: int | None = None) -> list[dict[str, Any]]:
        rows = []
        for table, ops in sorted(self.privileges.items()):
            live = sorted(op for op in ops if now is None or self.holds(table, op, now=now))
            if live:
                ends = [self.until[(table, op)] for op in live if (table, op) in self.until]
                rows.append({"table": table, "privileges": live, **({"valid_until": min(ends)} if ends else {})})
        return rows


@attrs.frozen(kw_only=True)
class DbLogEntry:
    time: int
    user: str
    event: str  # "auth.succeeded" | "auth.failed" | "query"
    detail: str
    status: int
    rows: int = 0
    old_password: bool = False


@attrs.define(eq=False)
class DatabaseActor(HttpActor):
    """``tables`` holds the data; ``admin_user`` is the DBA account that manages users."""

    tables: dict[str, list[dict[str, Any]]] = attrs.field(factory=dict)
    users: dict[str, DbUser] = attrs.field(factory=dict)
    admin_user: str = "dba"
    log_entries: list[DbLogEntry] = attrs.field(factory=list)
    _salts: SeededEntropy = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self._salts = self.runtime.entropy_for(self.name).child("salts")

    # ------------------------------------------------------------------ setup (the server's own console)

    def create_user(self, name: str, *, password: str, privileges: Mapping[str, set[str]] | None = None,
                    valid_until: int | None = None) -> None:
        self.runtime.secrets.add(password)
        self.users[name] = DbUser(name=name, current=Verifier.of(password, salt=self._salts.bytes(16)),
                                  valid_until=valid_until, privileges={t: set(p) for t, p in (privileges or {}).items()})

    # ------------------------------------------------------------------ dispatch

    async def handle(self, request: HttpRequest) -> HttpResponse:
        try:
            user = self._authenticate(request)
            if request.path == "/query" and request.method == "POST":
                return await self._query(user, request)
            if request.path.startswith("/admin/"):
                if user.name != self.admin_user:
                    raise PermissionDenied("must be the database administrator")
                return await self._admin(request)
            raise UndefinedObject(f"no endpoint {request.method} {request.path}")
        except DbError as error:
            return error.to_response()
        except MalformedBody as error:
            return BadStatement(str(error)).to_response()

    def _authenticate(self, request: HttpRequest) -> DbUser:
        now = self.runtime.clock.now()
        scheme, _, encoded = (request.header("authorization") or "").partition(" ")
        try:
            name, sep, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            name, sep, password = "", "", ""
        if scheme.lower() != "basic" or not sep:
            raise AuthFailed("password authentication required")
        user = self.users.get(name)
        old = False
        if user is not None and user.valid_until is not None and now >= user.valid_until:
            problem = f"account {name!r} expired"
        elif user is None or not (user.current.matches(password) or
                                  (old := user.previous is not None and user.previous.matches(password))):
            problem = f"password authentication failed for user {name!r}"
        else:
            self.log_entries.append(DbLogEntry(time=now, user=name, event="auth.succeeded", detail="", status=200,
                                               old_password=old))
            return user
        self.log_entries.append(DbLogEntry(time=now, user=name, event="auth.failed", detail=problem, status=401))
        raise AuthFailed(problem)

    def _body(self, request: HttpRequest) -> dict[str, Any]:
        body = request.json()
        if not isinstance(body, dict):
            raise BadStatement("the statement must be a JSON object")
        return body

    async def _query(self, user: DbUser, request: HttpRequest) -> HttpResponse:
        body = self._body(request)
        op, table = body.get("op"), body.get("table")
        if op not in OPERATIONS or not isinstance(table, str):
            raise BadStatement(f"op must be one of {', '.join(OPERATIONS)} and table a name")
        if table not in self.tables:
            raise UndefinedObject(f"relation {table!r} does not exist")
        now = self.runtime.clock.now()
        if not user.holds(table, op, now=now):
            self.log_entries.append(DbLogEntry(time=now, user=user.name, event="query", status=403,
                                               detail=f"{op} {table} denied"))
            await self.audit("db.query_denied", agent=user.name, decision="deny",
                             reason=f"permission denied for table {table}", op=op)
            raise PermissionDenied(f"permission denied for table {table}")
        if op == "select":
            limit = body.get("limit", 100)
            if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_ROWS:
                raise BadStatement(f"limit must be 1..{MAX_ROWS}")
            rows = self.tables[table][:limit]
            result: dict[str, Any] = {"rows": rows}
        else:
            rows = body.get("rows")
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows) or len(rows) > MAX_ROWS:
                raise BadStatement("rows must be a list of objects")
            self.tables[table].extend(rows)
            result = {"inserted": len(rows)}
        self.log_entries.append(DbLogEntry(time=now, user=user.name, event="query", status=200,
                                           detail=f"{op} {table}", rows=len(rows)))
        await self.audit("db.query", agent=user.name, decision="allow", reason=f"{op} {table}", rows=len(rows))
        return HttpResponse.json_body(result)

    # ------------------------------------------------------------------ administration

    async def _admin(self, request: HttpRequest) -> HttpResponse:
        parts = [p for p in request.path.split("/") if p][1:]
        method = request.method.upper()
        if parts == ["users"] and method == "GET":
            now = self.runtime.clock.now()
            return HttpResponse.json_body({"users": [
                {"name": u.name, "grants": u.grants(now=now), "valid_until": u.valid_until,
                 "expired": u.valid_until is not None and now >= u.valid_until, "dual_password": u.previous is not None}
                for u in sorted(self.users.values(), key=lambda u: u.name) if u.name != self.admin_user]})
        if parts == ["logs"] and method == "GET":
            return HttpResponse.json_body({"entries": [attrs.asdict(e) for e in self.log_entries]})
        if parts == ["users"] and method == "POST":
            body = self._body(request)
            name, password = body.get("name"), body.get("password")
            if not isinstance(name, str) or not name or not isinstance(password, str) or len(password) < 12:
                raise BadStatement("name and a password of at least 12 characters are required")
            if name in self.users:
                raise DuplicateObject(f"role {name!r} already exists")
            valid_until = body.get("valid_until")
            if valid_until is not None and (isinstance(valid_until, bool) or not isinstance(valid_until, int)):
                raise BadStatement("valid_until must be epoch seconds")
            self.create_user(name, password=password, privileges=self._privileges(body.get("grants", [])),
                             valid_until=valid_until)
            await self.audit("db.user_created", agent=name, decision="allow", reason="CREATE USER",
                             valid_until=valid_until)
            return HttpResponse.json_body({"name": name}, status=201)
        if len(parts) < 2 or parts[0] != "users":
            raise UndefinedObject(f"no endpoint {method} {request.path}")
        user = self.users.get(parts[1])
        if user is None or user.name == self.admin_user:
            raise UndefinedObject(f"role {parts[1]!r} does not exist")
        action = parts[2] if len(parts) == 3 else None
        if method == "DELETE" and action is None:
            del self.users[user.name]
            await self.audit("db.user_dropped", agent=user.name, decision="allow", reason="DROP USER")
            return HttpResponse.json_body({"dropped": user.name})
        if method == "POST" and action == "password":
            body = self._body(request)
            password = body.get("password")
            if not isinstance(password, str) or len(password) < 12:
                raise BadStatement("a password of at least 12 characters is required")
            self.runtime.secrets.add(password)
            retain = body.get("retain_current") is True
            user.previous = user.current if retain else None
            user.current = Verifier.of(password, salt=self._salts.bytes(16))
            await self.audit("db.password_changed", agent=user.name, decision="allow",
                             reason="ALTER USER ... RETAIN CURRENT PASSWORD" if retain else "ALTER USER ... IDENTIFIED BY")
            return HttpResponse.json_body({"name": user.name, "dual_password": retain})
        if method == "POST" and action == "discard-old-password":
            user.previous = None
            await self.audit("db.old_password_discarded", agent=user.name, decision="allow",
                             reason="ALTER USER ... DISCARD OLD PASSWORD")
            return HttpResponse.json_body({"name": user.name, "dual_password": False})
        if method == "POST" and action == "grant":  # GRANT ...; with valid_until a time-bound (JIT) grant
            body = self._body(request)
            until = body.get("valid_until")
            if until is not None and (isinstance(until, bool) or not isinstance(until, int)):
                raise BadStatement("valid_until must be epoch seconds")
            granted = []
            for table, ops in self._privileges(body.get("grants", [])).items():
                for op in sorted(ops):
                    permanent = op in user.privileges.get(table, set()) and (table, op) not in user.until
                    if until is None:
                        user.until.pop((table, op), None)
                    elif not permanent:
                        user.until[(table, op)] = until
                    user.privileges.setdefault(table, set()).add(op)
                    granted.append(f"{op} on {table}")
            await self.audit("db.privileges_granted", agent=user.name, decision="grant", reason="GRANT",
                             granted=granted, valid_until=until)
            return HttpResponse.json_body({"name": user.name, "granted": granted,
                                           "grants": user.grants(now=self.runtime.clock.now())})
        if method == "POST" and action == "revoke":
            body = self._body(request)
            revoked = []
            for table, ops in self._privileges(body.get("grants", [])).items():
                held = user.privileges.get(table, set())
                revoked += [f"{op} on {table}" for op in sorted(ops & held)]
                user.privileges[table] = held - ops
                for op in ops:
                    user.until.pop((table, op), None)
            await self.audit("db.privileges_revoked", agent=user.name, decision="allow", reason="REVOKE",
                             revoked=revoked)
            return HttpResponse.json_body({"name": user.name, "revoked": revoked,
                                           "grants": user.grants(now=self.runtime.clock.now())})
        raise UndefinedObject(f"no endpoint {method} {request.path}")

    def _privileges(self, grants: Any) -> dict[str, set[str]]:
        if not isinstance(grants, list):
            raise BadStatement("grants must be a list of {table, privileges}")
        result: dict[str, set[str]] = {}
        for grant in grants:
            if not isinstance(grant, dict) or grant.get("table") not in self.tables:
                raise BadStatement("each grant names an existing table")
            ops = grant.get("privileges")
            if not isinstance(ops, list) or not ops or not set(ops) <= set(OPERATIONS):
                raise BadStatement(f"privileges must be a non-empty subset of {', '.join(OPERATIONS)}")
            result.setdefault(grant["table"], set()).update(ops)
        return result


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

"""The agent registry actor (SPEC capability 8): a SCIM 2.0-style service for ``/Agents``.

Endpoints (RFC 7644 §3): ``POST /Agents`` (create, §3.3), ``GET /Agents`` (query with ``filter``,
``startIndex``, ``count``, §3.4.2), ``GET /Agents/{id}`` (§3.4.1), ``PATCH /Agents/{id}``
(§3.5.2, ``If-Match`` honoured, §3.14), ``GET /Agents/{id}/History`` (the change history; an
extension), ``GET /ServiceProviderConfig`` (§4). Records are never deleted — ``DELETE`` is refused
and an agent is retired by moving it to ``decommissioned``, which keeps it for the audit trail.

Callers authenticate with a bearer token the registry issued to them as an operator; the role
decides what they may do (``security`` administers, ``discovery`` reads and records discovered
agents, ``governance`` also writes the derived ``dependencies``). Errors are SCIM errors (RFC 7644
§3.12) with ``scimType``; nothing reaches the caller as a 500.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

import attrs

from actors.runtime.actor import HttpActor
from actors.storage.registry_store import ConcurrentUpdate, RegistryStore, SqliteRegistryStore
from protocols.agent_registry import (
    AGENT_SCHEMA, FILTERABLE, AgentRecord, Change, Directory, LifecycleStage, apply_patch, diff, etag, matches,
    new_record, to_scim,
)
from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest, HttpResponse, MalformedBody
from protocols.scim import (
    Forbidden, InvalidSyntax, PreconditionFailed, ResourceNotFound, ScimError, ScimMethodNotAllowed, Unauthorized,
    list_response, page_params, parse_body, parse_filter, parse_patch, require_schema, scim_response,
)

ROLES = {
    "security": frozenset({"read", "create", "update"}),
    "discovery": frozenset({"read", "create_discovered"}),
    "governance": frozenset({"read", "create", "update", "dependencies"}),
    "reader": frozenset({"read"}),
}


@attrs.frozen(kw_only=True)
class Operator:
    name: str
    role: str


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


@attrs.define(eq=False)
class RegistryActor(HttpActor):
    """``directory`` lists the people and teams that may own agents."""

    directory: Directory = attrs.field(factory=Directory)
    store: RegistryStore = attrs.field(factory=SqliteRegistryStore)
    _operators: dict[bytes, Operator] = attrs.field(factory=dict, init=False, repr=False)
    _token_entropy: SeededEntropy = attrs.field(init=False, repr=False)
    _id_entropy: SeededEntropy = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        entropy = self.runtime.entropy_for(self.name)
        self._token_entropy, self._id_entropy = entropy.child("operators"), entropy.child("ids")

    def issue_operator_token(self, *, operator: str, role: str) -> str:
        """A bearer token for ``operator`` acting with ``role`` (kept hashed, registered as a secret)."""
        if role not in ROLES:
            raise ValueError(f"unknown registry role {role!r}")
        token = "reg_" + self._token_entropy.token(24)
        self.runtime.secrets.add(token)
        self._operators[hashlib.sha256(token.encode()).digest()] = Operator(name=operator, role=role)
        return token

    # ------------------------------------------------------------------ dispatch

    async def handle(self, request: HttpRequest) -> HttpResponse:
        try:
            return await self._route(request)
        except ScimError as error:
            await self.audit("registry.request_refused", decision="deny", reason=error.detail,
                             method=request.method, path=request.path, status=error.status,
                             scim_type=error.scim_type)
            return error.to_response()
        except MalformedBody as error:
            return InvalidSyntax(str(error)).to_response()

    async def _route(self, request: HttpRequest) -> HttpResponse:
        parts = [p for p in request.path.split("/") if p]
        if parts == ["ServiceProviderConfig"] and request.method == "GET":
            return scim_response(self._provider_config())
        if not parts or parts[0] != "Agents" or len(parts) > 3 or (len(parts) == 3 and parts[2] != "History"):
            raise ResourceNotFound(f"no endpoint at {request.path}")
        operator = self._authenticate(request)
        method = request.method.upper()
        if len(parts) == 1:
            if method == "GET":
                return self._query(operator, request)
            if method == "POST":
                return await self._create(operator, request)
        elif len(parts) == 2:
            if method == "GET":
                self._require(operator, "read")
                record = self._get(parts[1])
                return scim_response(self._resource(record), headers={"etag": etag(record)})
            if method == "PATCH":
                return await self._patch(operator, parts[1], request)
            if method == "DELETE":
                raise ScimMethodNotAllowed("agents are never deleted: PATCH lifecycleState to decommissioned")
        elif method == "GET":
            self._require(operator, "read")
            self._get(parts[1])
            changes = [c.to_json() for c in self.store.history(parts[1])]
            return scim_response({"id": parts[1], "totalResults": len(changes), "history": changes})
        raise ScimMethodNotAllowed(f"{request.method} is not allowed on {request.path}")

    def _authenticate(self, request: HttpRequest) -> Operator:
        header = request.header("authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("a bearer token is required")
        digest = hashlib.sha256(token.strip().encode()).digest()
        for known, operator in self._operators.items():
            if hmac.compare_digest(known, digest):
                return operator
        raise Unauthorized("unknown or revoked bearer token")

    @staticmethod
    def _require(operator: Operator, permission: str) -> None:
        if permission not in ROLES[operator.role]:
            raise Forbidden(f"{operator.name} ({operator.role}) may not {permission.replace('_', ' ')}")

    def _get(self, agent_id: str) -> AgentRecord:
        record = self.store.get(agent_id)
        if record is None:
            raise ResourceNotFound(f"no agent {agent_id!r}")
        return record

    def _resource(self, record: AgentRecord) -> dict[str, Any]:
        return to_scim(record, location=self.url(f"/Agents/{record.id}"), iso=_iso)

    def _provider_config(self) -> dict[str, Any]:
        return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
                "patch": {"supported": True}, "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
                "filter": {"supported": True, "maxResults": 200}, "changePassword": {"supported": False},
                "sort": {"supported": False}, "etag": {"supported": True},
                "authenticationSchemes": [{"type": "oauthbearertoken", "name": "Bearer token",
                                           "description": "a token the registry issued to an operator"}]}

    # ------------------------------------------------------------------ operations

    def _query(self, operator: Operator, request: HttpRequest) -> HttpResponse:
        self._require(operator, "read")
        params = request.query_params()
        terms = parse_filter(params["filter"], attributes=FILTERABLE) if "filter" in params else ()
        start, count = page_params(params)
        found = [r for r in self.store.all() if matches(r, terms)]
        page = found[start - 1:start - 1 + count]
        return scim_response(list_response([self._resource(r) for r in page], total=len(found), start_index=start))

    async def _create(self, operator: Operator, request: HttpRequest) -> HttpResponse:
        body = parse_body(request.body)
        require_schema(body, AGENT_SCHEMA)
        if "create" not in ROLES[operator.role]:
            self._require(operator, "create_discovered")
            if body.get("lifecycleState", "discovered") != LifecycleStage.DISCOVERED.value:
                raise Forbidden(f"{operator.name} may only record discovered agents")
        now = self.runtime.clock.now()
        record = new_record(body, directory=self.directory, issued_id="agt-" + self._id_entropy.hex(8),
                            existing=lambda agent_id: self.store.get(agent_id) is not None, now=now,
                            may_set_dependencies="dependencies" in ROLES[operator.role])
        change = Change(agent_id=record.id, version=record.version, time=now, actor=operator.name,
                        operation="create", changes=diff(None, record))
        self.store.insert(record, change)
        await self.audit("registry.agent_created", agent=record.id, decision="allow",
                         reason=f"recorded as {record.lifecycle.value} by {operator.name}",
                         owner=record.owner.value if record.owner else None, version=record.version)
        return scim_response(self._resource(record), status=201,
                             headers={"location": self.url(f"/Agents/{record.id}"), "etag": etag(record)})

    async def _patch(self, operator: Operator, agent_id: str, request: HttpRequest) -> HttpResponse:
        self._require(operator, "update")
        record = self._get(agent_id)
        wanted = request.header("if-match")
        if wanted is not None and wanted.strip() not in ("*", etag(record)):
            raise PreconditionFailed(f"the agent is at version {etag(record)}, not {wanted.strip()}")
        operations = parse_patch(parse_body(request.body))
        now = self.runtime.clock.now()
        updated = apply_patch(record, operations, directory=self.directory, now=now,
                              may_set_dependencies="dependencies" in ROLES[operator.role])
        if updated is not record:
            changes = diff(record, updated)
            try:
                self.store.update(updated, Change(agent_id=agent_id, version=updated.version, time=now,
                                                  actor=operator.name, operation="patch", changes=changes),
                                  expected_version=record.version)
            except ConcurrentUpdate as error:
                raise PreconditionFailed(str(error)) from None
            if updated.lifecycle is not record.lifecycle:
                await self.audit("registry.lifecycle_changed", agent=agent_id, decision="allow",
                                 reason=f"{record.lifecycle.value} -> {updated.lifecycle.value} by {operator.name}",
                                 before=record.lifecycle.value, after=updated.lifecycle.value)
            await self.audit("registry.agent_updated", agent=agent_id, decision="allow",
                             reason=f"changed by {operator.name}: {', '.join(c.attribute for c in changes)}",
                             version=updated.version)
        return scim_response(self._resource(updated), headers={"etag": etag(updated)})

"""The OpenFGA HTTP API as a sans-IO server: a request in, a response and the auditable events out.

Implements the store, model, tuple and query endpoints of ``openfga/v1/openfga_service.proto``
(routes in :mod:`protocols.fga.api`, request shapes in :mod:`protocols.fga.api_requests`) over a
:class:`~protocols.fga.stores.StoreBackend`:

- ``POST /stores`` (201), ``GET /stores``, ``GET`` / ``DELETE /stores/{id}`` (204);
- ``POST`` / ``GET /stores/{id}/authorization-models`` (201 on write), ``GET …/{model_id}``;
- ``POST /stores/{id}/write``, ``/read``, ``/check``, ``/batch-check``, ``/list-objects``,
  ``/list-users``.

Semantics follow ``pkg/server`` of github.com/openfga/openfga: an unknown (or deleted) store is
``store_id_not_found`` (404); a request without ``authorization_model_id`` uses the newest model
(``latest_authorization_model_not_found`` when there is none), a named model that does not exist is
``authorization_model_not_found``; written tuples are validated against the model
(``ValidateTupleForWrite``), deletes only for their format; WriteAuthorizationModel validates as
``typesystem.NewAndValidate`` does (``invalid_authorization_model``). As an extension, a model may
also be written as DSL text (``content-type: text/plain``), which OpenFGA's CLI converts client-side.

Time and identifiers are inputs: ``now`` (epoch seconds) stamps stores, models and tuples, and the
``entropy`` stream supplies the random half of every ULID, so a seeded run is reproducible.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable

import attrs

from protocols.entropy import SeededEntropy
from protocols.fga.api import (
    Page, TypeDefinitionsTooFewItems, check_store_id, check_ulid, match_route, new_ulid, rfc3339,
)
from protocols.fga.api_requests import (
    BatchCheckRequest, CheckRequest, CreateStoreRequest, ListObjectsRequest, ListUsersRequest, ReadRequest,
    WriteRequest,
)
from protocols.fga.check import MAX_CHECKS_PER_BATCH, batch_check, batch_check_to_json, check
from protocols.fga.errors import (
    AuthorizationModelNotFound, FgaError, LatestAuthorizationModelNotFound, StoreIdNotFound, ValidationError,
)
from protocols.fga.json_form import model_to_json
from protocols.fga.language import load_model
from protocols.fga.list_objects import DEFAULT_MAX_RESULTS, list_objects
from protocols.fga.list_users import list_users
from protocols.fga.resolver import DEFAULT_RESOLVE_NODE_LIMIT
from protocols.fga.stores import ModelInfo, StoreBackend, StoreInfo
from protocols.fga.tuples import check_write_request, record_from_key
from protocols.fga.typesystem import CompiledModel
from protocols.fga.validation import validate_tuple_for_write
from protocols.http import HttpRequest, HttpResponse, MalformedBody

MAX_REASON_CHARS = 400
MAX_AUDITED_OBJECTS = 20


@attrs.frozen(kw_only=True)
class ApiEvent:
    """One auditable fact: ``authz.allowed`` / ``authz.denied`` for a decision, ``fga.*`` for a change."""

    event: str
    subject: str | None = None
    decision: str | None = None
    reason: str | None = None
    details: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class ApiResult:
    """What the server answers, the events to audit, and the error when the request was refused."""

    operation: str
    response: HttpResponse
    events: tuple[ApiEvent, ...] = ()
    error: FgaError | None = None


def _short(text: str) -> str:
    return text if len(text) <= MAX_REASON_CHARS else text[:MAX_REASON_CHARS - 1] + "…"


def _json(payload: Any, status: int = 200) -> HttpResponse:
    return HttpResponse.json_body(payload, status=status)


@attrs.define(eq=False)
class FgaServer:
    """OpenFGA's API over ``backend``; ``handle`` never raises for bad input."""

    backend: StoreBackend
    entropy: SeededEntropy
    resolve_node_limit: int = DEFAULT_RESOLVE_NODE_LIMIT
    max_checks_per_batch: int = MAX_CHECKS_PER_BATCH
    list_max_results: int = DEFAULT_MAX_RESULTS
    _compiled: dict[tuple[str, str], CompiledModel] = attrs.field(factory=dict, init=False)

    # -- entry point --------------------------------------------------------------------------------
    def handle(self, request: HttpRequest, *, now: float) -> ApiResult:
        operation = "unknown"
        try:
            operation, params = match_route(request.method, request.path)
            handler: Callable[..., tuple[HttpResponse, tuple[ApiEvent, ...]]] = getattr(self, f"_{operation}")
            response, events = handler(request, params, now=now)
            return ApiResult(operation=operation, response=response, events=events)
        except FgaError as error:
            return ApiResult(operation=operation, response=error.to_response(), error=error)
        except MalformedBody as exc:
            error = ValidationError(str(exc))
            return ApiResult(operation=operation, response=error.to_response(), error=error)

    # -- helpers ------------------------------------------------------------------------------------
    def new_id(self, now: float) -> str:
        return new_ulid(ms=int(now * 1000), randomness=self.entropy.bytes(10))

    def _store(self, params: Mapping[str, str]) -> StoreInfo:
        store_id = check_store_id(params["store_id"])
        info = self.backend.store(store_id)
        if info is None:
            raise StoreIdNotFound()
        return info

    @staticmethod
    def _body(request: HttpRequest) -> Any:
        return request.json() if request.body.strip() else {}

    def model(self, store_id: str, model_id: str = "") -> CompiledModel:
        """The compiled model named ``model_id``, or the store's newest one."""
        if model_id:
            found = self._compiled.get((store_id, model_id))
            if found is not None:
                return found
            info = self.backend.model(store_id, model_id)
            if info is None:
                raise AuthorizationModelNotFound(f"Authorization Model '{model_id}' not found")
        else:
            models = self.backend.models(store_id)
            if not models:
                raise LatestAuthorizationModelNotFound()
            info = models[0]
            found = self._compiled.get((store_id, info.id))
            if found is not None:
                return found
        compiled = load_model(info.model, model_id=info.id)
        self._compiled[(store_id, info.id)] = compiled
        return compiled

    # -- stores -------------------------------------------------------------------------------------
    def _create_store(self, request: HttpRequest, params: Mapping[str, str], *, now: float):
        req = CreateStoreRequest.from_json(self._body(request))
        stamp = rfc3339(now)
        info = StoreInfo(id=self.new_id(now), name=req.name, created_at=stamp, updated_at=stamp)
        self.backend.create_store(info)
        event = ApiEvent(event="fga.store_created", reason=f"store '{info.name}' created",
                         details={"store_id": info.id, "name": info.name})
        return _json(info.to_json(), 201), (event,)

    def _list_stores(self, request: HttpRequest, params: Mapping[str, str], *, now: float):
        query = request.query_params()
        page = Page.parse(page_size=query.get("page_size"), token=query.get("continuation_token"))
        stores = self.backend.stores()
        if query.get("name"):
            stores = [s for s in stores if s.name == query["name"]]
        chunk, token = page.cut(stores)
        return _json({"stores": [s.to_json() for s in chunk], "continuation_token": token}), ()

    def _get_store(self, request: HttpRequest, params: Mapping[str, str], *, now: float):
        return _json(self._store(params).to_json()), ()

    def _delete_store(self, request: HttpRequest, params: Mapping[str, str], *, now: float):
        info = self._store(params)
        self.backend.delete_store(info.id, at=rfc3339(now))
        event = ApiEvent(event="fga.store_deleted", reason=f"store '{info.name}' deleted",
                         details={"store_id": info.id})
        return HttpResponse(status=204), (event,)

    # -- models -------------------------------------------------------------------------------------
    def _write_authorization_model(self, request: HttpRequest, params: Mapping[str, str], *, now: float):
        store = self._store(params)
        content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
        if content_type == "text/plain":
            try:
                source: Any = request.body.decode("utf-8")
            except UnicodeDecodeError:
                raise ValidationError("the model text is not valid UTF-8") from None
        else:
            source = self._body(request)
            if not isinstance(source, Mapping):
                raise ValidationError("invalid WriteAuthorizationModelRequest: expected a JSON object")
            if not source.get("type_definitions") and not source.get("typeDefinitions"):
                raise TypeDefinitionsTooFewItems(
                    "invalid WriteAuthorizationModelRequest.TypeDefinitions: value must contain at least 1 item(s)")
        model_id = self.new_id(now)
        compiled = load_model(source, model_id=model_id)
        body = model_to_json(compiled.model)
        self.backend.add_model(store.id, ModelInfo(id=model_id, created_at=rfc3339(now), model=body))
        self._compiled[(store.id, model_id)] = compiled
        types = [t.name for t in compiled.model.type_definitions]
        event = ApiEvent(event="fga.model_written", reason=f"authorization model with {len(types)} types written",
                         details={"store_id": store.id, "model_id": model_id, "types": types})
        return _json({"authorization_model_id": model_id}, 201), (event,)

    def _read_authorization_models(self, request: HttpRequest, params: Mapping[str, str], *, now: float):
        store = self._store(params)
        query = request.query_params()
        page = Page.parse(page_size=query.get("page_size"), token=query.get("continuation_token"))
        chunk, token = page.cut(self.backend.models(store.id))
        return _json({"authorization_models": [m.to_json() for m in chunk], "continuation_token": token}), ()

    def _read_authorization_model(self, request: HttpRequest, params: Mapping[str, str], *, now: float):
        store = self._store(params)
        model_id = check_ulid(params["model_id"], "ReadAuthorizationModelRequest.Id")
        info = self.backend.model(store.id, model_id)
        if info is None:
            raise AuthorizationModelNotFound(f"Authorization Model '{model_id}' not found")
        return _json({"authorization_model": info.to_json()}), ()

    # -- tuples -------------------------------------------------------------------------------------
    def _write(self, request: HttpRequest, params: Mapping[str, str], *, now: float):
        store = self._store(params)
        req = WriteRequest.from_json(self._body(request))
        check_write_request(req.writes, req.deletes)
        compiled = self.model(store.id, req.authorization_model_id)
        for key in req.writes:
            validate_tuple_for_write(compiled, key)
        for key in req.deletes:
            record_from_key(key)
        self.backend.write_tuples(store.id, writes=req.writes, deletes=req.deletes, on_duplicate=req.on_duplicate,
                                  on_missing=req.on_missing, at=rfc3339(now))
        shown = [str(k) for k in req.writes[:MAX_AUDITED_OBJECTS]]
        removed = [str(k) for k in req.deletes[:MAX_AUDITED_OBJECTS]]
        event = ApiEvent(event="fga.tuples_written",
                         reason=f"{len(req.writes)} tuple(s) written, {len(req.deletes)} deleted",
                         details={"store_id": store.id, "model_id": compiled.id,
                                  "writes": shown, "deletes": removed})
        return _json({}), (event,)

    def _read(self, request: HttpRequest, params: Mapping[str, str], *, now: float):
        store = self._store(params)
        req = ReadRequest.from_json(self._body(request))
        records = self.backend.tuples(store.id).read_matching(
            object_type=req.object_type, object_id=req.object_id, relation=req.relation, user=req.user)
        chunk, token = req.page.cut(records)
        tuples = []
        for rec in chunk:
            key = rec.to_key()
            tuples.append({"key": key.to_json(), "timestamp": self.backend.written_at(store.id, key)})
        return _json({"tuples": tuples, "continuation_token": token}), ()

    # -- queries ------------------------------------------------------------------------------------
    def _check(self, request: HttpRequest, params: Mapping[str, str], *, now: float):
        store = self._store(params)
        req = CheckRequest.from_json(self._body(request))
        compiled = self.model(store.id, req.authorization_model_id)
        key = req.tuple_key
        result = check(compiled, self.backend.tuples(store.id), user=key.user, relation=key.relation,
                       object=key.object, contextual_tuples=req.contextual_tuples, context=req.context,
                       max_depth=self.resolve_node_limit)
        event = self._decision(store.id, compiled.id, user=result.user, relation=key.relation, obj=result.object,
                               allowed=result.allowed, reason=result.explanation.summary)
        return _json(result.to_json()), (event,)

    def _batch_check(self, request: HttpRequest, params: Mapping[str, str], *, now: float):
        store = self._store(params)
        req = BatchCheckRequest.from_json(self._body(request))
        compiled = self.model(store.id, req.authorization_model_id)
        outcomes = batch_check(compiled, self.backend.tuples(store.id), req.checks,
                               max_checks=self.max_checks_per_batch, max_depth=self.resolve_node_limit, explain=True)
        events = []
        for item in req.checks:
            outcome = outcomes[item.correlation_id]
            if outcome.error is not None:
                continue
            key = item.tuple_key
            events.append(self._decision(store.id, compiled.id, user=key.user, relation=key.relation, obj=key.object,
                                         allowed=outcome.allowed, correlation_id=item.correlation_id,
                                         reason=outcome.explanation.summary if outcome.explanation else ""))
        return _json(batch_check_to_json(outcomes)), tuple(events)

    def _list_objects(self, request: HttpRequest, params: Mapping[str, str], *, now: float):
        store = self._store(params)
        req = ListObjectsRequest.from_json(self._body(request))
        compiled = self.model(store.id, req.authorization_model_id)
        result = list_objects(compiled, self.backend.tuples(store.id), type=req.type, relation=req.relation,
                              user=req.user, contextual_tuples=req.contextual_tuples, context=req.context,
                              max_results=self.list_max_results, max_depth=self.resolve_node_limit)
        found = sorted(result.objects)
        if found:
            reason = f"{len(found)} {req.type} object(s) grant {req.relation} to {req.user}"
        else:
            reason = f"no {req.type} object grants {req.relation} to {req.user}"
        if result.truncated:
            reason += f" (stopped at the {self.list_max_results}-result limit)"
        event = ApiEvent(event="authz.allowed" if found else "authz.denied", subject=req.user,
                         decision="allow" if found else "deny", reason=reason,
                         details={"store_id": store.id, "model_id": compiled.id, "query": "list_objects",
                                  "object_type": req.type, "relation": req.relation, "count": len(found),
                                  "objects": found[:MAX_AUDITED_OBJECTS], "truncated": result.truncated})
        return _json(result.to_json()), (event,)

    def _list_users(self, request: HttpRequest, params: Mapping[str, str], *, now: float):
        store = self._store(params)
        req = ListUsersRequest.from_json(self._body(request))
        compiled = self.model(store.id, req.authorization_model_id)
        result = list_users(compiled, self.backend.tuples(store.id), object=req.object, relation=req.relation,
                            user_filters=list(req.user_filters), contextual_tuples=req.contextual_tuples,
                            context=req.context, max_results=self.list_max_results,
                            max_depth=self.resolve_node_limit)
        users = sorted(result.users)
        event = ApiEvent(event="authz.users_listed",
                         reason=f"{len(users)} user(s) have {req.relation} on {req.object}",
                         details={"store_id": store.id, "model_id": compiled.id, "object": req.object,
                                  "relation": req.relation, "count": len(users),
                                  "users": users[:MAX_AUDITED_OBJECTS], "truncated": result.truncated})
        return _json(result.to_json()), (event,)

    @staticmethod
    def _decision(store_id: str, model_id: str, *, user: str, relation: str, obj: str, allowed: bool, reason: str,
                  correlation_id: str = "") -> ApiEvent:
        details: dict[str, Any] = {"store_id": store_id, "model_id": model_id, "query": "check",
                                   "object": obj, "relation": relation}
        if correlation_id:
            details["correlation_id"] = correlation_id
        return ApiEvent(event="authz.allowed" if allowed else "authz.denied", subject=user,
                        decision="allow" if allowed else "deny", reason=_short(reason), details=details)

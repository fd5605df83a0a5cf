"""Runner for OpenFGA's server conformance YAML (Check / ListObjects / ListUsers assertions).

Implements the upstream harness rules described in ``shared/conformance/openfga/README.md``:
one store per test, stages applied in order (later models ignore earlier tuples that no longer fit),
single-stage tests replayed with every tuple sent as a contextual tuple, ListObjects / ListUsers
results compared as sets and back-verified with Check, and the check-matrix implied calls.
Each assertion yields a failure message (empty list = all passed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from protocols.fga import (
    FgaError, MemoryTupleStore, TupleKey, check, compile_model, list_objects, list_users, parse_dsl,
)
from protocols.fga.tuples import TupleStore, split_user

_MODEL_CACHE: dict[str, Any] = {}


def compiled_model(text: str):
    found = _MODEL_CACHE.get(text)
    if found is None:
        found = _MODEL_CACHE[text] = compile_model(parse_dsl(text))
    return found


def tuple_key(data: dict) -> TupleKey:
    return TupleKey.from_json(data)


def _call(fn: Callable[[], Any]) -> tuple[Any, int]:
    try:
        return fn(), 0
    except FgaError as exc:
        return exc, exc.numeric_code


class StageRunner:
    def __init__(self, test_name: str, *, contextual: bool, matrix: bool,
                 store_factory: Callable[[], TupleStore] = MemoryTupleStore) -> None:
        self.test_name = test_name
        self.contextual = contextual
        self.matrix = matrix
        self.store = store_factory()
        self.failures: list[str] = []
        self.counts = {"check": 0, "list_objects": 0, "list_users": 0}

    def fail(self, where: str, msg: str) -> None:
        variant = " [contextual]" if self.contextual else ""
        self.failures.append(f"{self.test_name}{variant} {where}: {msg}")

    def run_stage(self, index: int, stage: dict) -> None:
        model = compiled_model(stage["model"])
        tuples = [tuple_key(t) for t in stage.get("tuples") or []]
        extra: list[TupleKey] = []
        if self.contextual:
            extra = tuples
        else:
            for k in range(0, len(tuples), 40):
                self.store.write(tuples[k:k + 40])
        name = stage.get("name", "")
        for n, a in enumerate(stage.get("checkAssertions") or []):
            self.check_assertion(model, f"stage {index} check #{n}", a, extra, name)
        for n, a in enumerate(stage.get("listObjectsAssertions") or []):
            self.list_objects_assertion(model, f"stage {index} listObjects #{n}", a, extra)
        for n, a in enumerate(stage.get("listUsersAssertions") or []):
            self.list_users_assertion(model, f"stage {index} listUsers #{n}", a, extra)

    def _ctx(self, a: dict, extra: list[TupleKey]) -> list[TupleKey]:
        return extra + [tuple_key(t) for t in a.get("contextualTuples") or []]

    def _check_true(self, model, obj: str, relation: str, user: str, ctx_tuples, context) -> bool | str:
        try:
            return check(model, self.store, user=user, relation=relation, object=obj, contextual_tuples=ctx_tuples,
                         context=context, explain=False).allowed
        except FgaError as exc:
            return f"error {exc.numeric_code} {exc.message}"

    def check_assertion(self, model, where: str, a: dict, extra: list[TupleKey], stage_name: str) -> None:
        self.counts["check"] += 1
        t = a["tuple"]
        ctx_tuples = self._ctx(a, extra)
        context = a.get("context")
        label = f"{where} {t['object']}#{t['relation']}@{t['user']}" + (f" ({a['name']})" if a.get("name") else "")
        result, code = _call(lambda: check(model, self.store, user=t["user"], relation=t["relation"], object=t["object"],
                                           contextual_tuples=ctx_tuples, context=context, explain=False))
        want_code = a.get("errorCode") or 0
        if want_code:
            if code != want_code:
                self.fail(label, f"expected error {want_code}, got {'allowed=' + str(result.allowed) if not code else code} "
                                 f"{'' if not code else result.message}")
        elif code:
            self.fail(label, f"expected allowed={a.get('expectation')}, got error {code} {result.message}")
        elif result.allowed != bool(a.get("expectation")):
            self.fail(label, f"expected allowed={bool(a.get('expectation'))}, got {result.allowed}")
        if not self.matrix:
            return
        # implied ListObjects
        otype = t["object"].split(":", 1)[0]
        lo_code = a.get("listObjectsErrorCode") or want_code
        res, code = _call(lambda: list_objects(model, self.store, type=otype, relation=t["relation"], user=t["user"],
                                               contextual_tuples=ctx_tuples, context=context, max_results=0))
        lo_label = label + " [implied listObjects]"
        if "usersets_userset_cond_to_computed_cond" in stage_name:
            if code:
                self.fail(lo_label, f"expected success, got error {code} {res.message}")
        elif lo_code:
            if code != lo_code:
                self.fail(lo_label, f"expected error {lo_code}, got {code or sorted(res.objects)}")
        elif code:
            self.fail(lo_label, f"expected success, got error {code} {res.message}")
        elif (t["object"] in res.objects) != bool(a.get("expectation")):
            self.fail(lo_label, f"object present={t['object'] in res.objects}, expected {bool(a.get('expectation'))}")
        # implied ListUsers
        utype, uid, urel = split_user(t["user"]) or ("", "", "")
        flt = f"{utype}#{urel}" if urel else utype
        lu_code = a.get("listUsersErrorCode") or want_code
        res, code = _call(lambda: list_users(model, self.store, object=t["object"], relation=t["relation"],
                                             user_filters=[flt], contextual_tuples=ctx_tuples, context=context,
                                             max_results=0))
        lu_label = label + " [implied listUsers]"
        if lu_code:
            if code != lu_code:
                self.fail(lu_label, f"expected error {lu_code}, got {code or sorted(res.users)}")
        elif code:
            self.fail(lu_label, f"expected success, got error {code} {res.message}")
        elif any(u.endswith(":*") for u in res.users):
            pass
        elif (t["user"] in res.users) != bool(a.get("expectation")):
            self.fail(lu_label, f"user present={t['user'] in res.users}, expected {bool(a.get('expectation'))}")

    def list_objects_assertion(self, model, where: str, a: dict, extra: list[TupleKey]) -> None:
        self.counts["list_objects"] += 1
        r = a["request"]
        ctx_tuples = self._ctx(a, extra)
        context = a.get("context")
        label = f"{where} {r['type']}#{r['relation']}@{r['user']}"
        res, code = _call(lambda: list_objects(model, self.store, type=r["type"], relation=r["relation"], user=r["user"],
                                               contextual_tuples=ctx_tuples, context=context, max_results=0))
        want_code = a.get("errorCode") or 0
        if want_code:
            if code != want_code:
                self.fail(label, f"expected error {want_code}, got {code or sorted(res.objects)}")
            return
        if code:
            self.fail(label, f"expected {sorted(a.get('expectation') or [])}, got error {code} {res.message}")
            return
        got, want = sorted(set(res.objects)), sorted(set(a.get("expectation") or []))
        if len(res.objects) != len(set(res.objects)):
            self.fail(label, f"duplicates in {list(res.objects)}")
        if got != want:
            self.fail(label, f"expected {want}, got {got}")
        for obj in res.objects:
            ok = self._check_true(model, obj, r["relation"], r["user"], ctx_tuples, context)
            if ok is not True:
                self.fail(label, f"returned {obj} but Check says {ok}")

    def list_users_assertion(self, model, where: str, a: dict, extra: list[TupleKey]) -> None:
        self.counts["list_users"] += 1
        r = a["request"]
        ctx_tuples = self._ctx(a, extra)
        context = a.get("context")
        label = f"{where} {r['object']}#{r['relation']} filter={r['filters']}"
        res, code = _call(lambda: list_users(model, self.store, object=r["object"], relation=r["relation"],
                                             user_filters=r["filters"], contextual_tuples=ctx_tuples,
                                             context=context, max_results=0))
        want_code = a.get("errorCode") or 0
        if want_code:
            if code != want_code:
                self.fail(label, f"expected error {want_code}, got {code or sorted(res.users)}")
            return
        if code:
            self.fail(label, f"expected {sorted(a.get('expectation') or [])}, got error {code} {res.message}")
            return
        got, want = sorted(set(res.users)), sorted(set(a.get("expectation") or []))
        if got != want:
            self.fail(label, f"expected {want}, got {got}")
        for user in res.users:
            ok = self._check_true(model, r["object"], r["relation"], user, ctx_tuples, context)
            if ok is not True:
                self.fail(label, f"returned {user} but Check says {ok}")


def run_test(test: dict, *, matrix: bool = False, contextual_variant: bool = True,
             store_factory: Callable[[], TupleStore] = MemoryTupleStore) -> tuple[list[str], dict[str, int]]:
    """Run one conformance test (all stages, plus the contextual replay when it applies)."""
    stages = test["stages"]
    runner = StageRunner(test["name"], contextual=False, matrix=matrix, store_factory=store_factory)
    for k, stage in enumerate(stages):
        runner.run_stage(k, stage)
    failures, counts = list(runner.failures), dict(runner.counts)
    if contextual_variant and len(stages) == 1 and len(stages[0].get("tuples") or []) <= 100:
        ctx_runner = StageRunner(test["name"], contextual=True, matrix=matrix, store_factory=store_factory)
        ctx_runner.run_stage(0, stages[0])
        failures += ctx_runner.failures
    return failures, counts


def iter_tests(data: dict) -> Iterable[dict]:
    return data.get("tests") or []

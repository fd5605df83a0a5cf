"""OpenFGA's own server conformance data: every Check, ListObjects and ListUsers assertion.

Files (``shared/conformance/openfga``): ``consolidated_1_1_tests.yaml``, ``abac_tests.yaml``,
``derived/check_matrix_tests.yaml`` (each Check also implies a ListObjects and a ListUsers call),
``derived/listobjects_matrix_tests.yaml``. One pytest case per upstream test (all its stages and
assertions, plus the all-contextual-tuples replay for single-stage tests with at most 100 tuples);
a failure lists every failing assertion by stage, kind, index and tuple.

Excluded cases: none.
"""

from __future__ import annotations

import pytest

from tests.protocols.fga.conformance_data import OPENFGA, require, yaml_or_empty
from tests.protocols.fga.server_harness import run_test

FILES = {
    "consolidated": "consolidated_1_1_tests.yaml",
    "abac": "abac_tests.yaml",
    "check_matrix": "derived/check_matrix_tests.yaml",
    "listobjects_matrix": "derived/listobjects_matrix_tests.yaml",
}


def _cases():
    for label, rel in FILES.items():
        data = yaml_or_empty(OPENFGA / rel)
        if data is None:
            yield pytest.param(label, rel, None, id=f"{label}::missing-data")
            continue
        for test in data["tests"]:
            yield pytest.param(label, rel, test, id=f"{label}::{test['name']}")


@pytest.mark.parametrize(("label", "rel", "test"), list(_cases()))
def test_openfga_conformance(label: str, rel: str, test: dict | None) -> None:
    require(OPENFGA / rel)
    assert test is not None
    failures, counts = run_test(test, matrix=label == "check_matrix",
                                contextual_variant=label != "listobjects_matrix")
    assert sum(counts.values()) > 0, "test has no assertions"
    assert not failures, f"{len(failures)} failing assertion(s):\n" + "\n".join(failures)

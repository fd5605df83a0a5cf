"""No secret minted by a run reaches any report file (both transports)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("fixture", ["sales", "sales_http"])
def test_no_minted_secret_reaches_a_report_file(request, fixture):
    result = request.getfixturevalue(fixture)
    secrets = list(result.secrets)
    assert len(secrets) >= 10
    files = sorted(p for p in result.out_dir.iterdir() if p.name.startswith("report"))
    assert len(files) >= 6
    for path in files:
        data = path.read_bytes()
        leaked = [secret[:6] + "…" for secret in secrets if secret.encode() in data]
        assert leaked == [], f"{path.name} contains secrets {leaked}"

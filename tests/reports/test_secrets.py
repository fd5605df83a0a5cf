"""No secret minted by a run reaches any report file.

(Over HTTP too: the runner renders the reports into the run directory, and
tests/scenarios/test_sales_agent.py scans every file of an HTTP run for every minted secret.)
"""

from __future__ import annotations


def test_no_minted_secret_reaches_a_report_file(sales):
    secrets = list(sales.secrets)
    assert len(secrets) >= 10
    files = sorted(p for p in sales.out_dir.iterdir() if p.name.startswith("report"))
    assert len(files) >= 6
    for path in files:
        data = path.read_bytes()
        leaked = [secret[:6] + "…" for secret in secrets if secret.encode() in data]
        assert leaked == [], f"{path.name} contains secrets {leaked}"


def test_the_scan_would_see_a_secret(sales, copy_of):
    """Guard: a secret written into a report file is found by the same scan."""
    run_dir = copy_of(sales.out_dir)
    secret = sorted(sales.secrets)[0]
    with (run_dir / "report.md").open("a") as report:
        report.write(secret)
    assert secret.encode() in (run_dir / "report.md").read_bytes()

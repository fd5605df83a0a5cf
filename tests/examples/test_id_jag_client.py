"""The independent ID-JAG client (``examples/id_jag_client.py``: httpx + PyJWT, written from the
draft, no trustbench import) against a served stack on 127.0.0.1 with the real clock."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "examples" / "id_jag_client.py"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    out = tmp_path_factory.mktemp("served-stack")
    server = subprocess.Popen([sys.executable, "-m", "tests.examples.served_stack", str(out)], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while not (out / "ready.json").exists():
            if server.poll() is not None:
                pytest.fail(f"the served stack exited: {server.stderr.read().decode()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail("the served stack did not become ready in 90 s")
            time.sleep(0.1)
        yield out, json.loads((out / "ready.json").read_text())
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def run_client(out: Path, info: dict, *, scope: str) -> subprocess.CompletedProcess:
    args = [sys.executable, str(CLIENT), "--idp", info["idp"], "--client-id", info["client_id"],
            "--client-key", str(out / "agent.pem"), "--id-token-file", str(out / "id_token.txt"),
            "--resource-as", info["resource_as"], "--resource-as-client-id", info["resource_as_client_id"],
            "--resource-as-key", str(out / "agent-at-pricing.pem"), "--resource", info["resource"],
            "--scope", scope, "--api", info["api"]]
    return subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=ROOT)


def test_the_client_uses_nothing_from_trustbench():
    source = CLIENT.read_text()
    for package in ("protocols", "actors", "scenarios", "reports"):
        assert f"from {package}" not in source and f"import {package}" not in source


def test_independent_client_completes_exchange_redemption_and_api_call(stack):
    out, info = stack
    result = run_client(out, info, scope="pricing:read")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["idp"]["advertises_id_jag"] is True
    jag = report["id_jag"]
    assert (jag["issued_token_type"], jag["token_type"], jag["scope"]) == (
        "urn:ietf:params:oauth:token-type:id-jag", "N_A", "pricing:read")
    claims = jag["claims"]
    assert claims["typ"] == "oauth-id-jag+jwt" and claims["aud"] == info["resource_as"]
    assert claims["client_id"] == info["resource_as_client_id"] and claims["resource"] == info["resource"]
    assert report["access_token"] == {"token_type": "Bearer", "expires_in": 600, "scope": "pricing:read",
                                      "refresh_token_issued": False}
    assert report["api"]["status"] == 200 and report["api"]["body"]["tier"] == "enterprise-tier"
    leaked = [s[:6] for s in info["secrets"] if s in result.stdout]
    assert leaked == []


def test_independent_client_sees_the_managed_connection_refuse_pricing_write(stack):
    out, info = stack
    result = run_client(out, info, scope="pricing:write")
    assert result.returncode == 1
    error = json.loads(result.stdout)["error"]
    assert "HTTP 400: invalid_scope" in error and "always refuses pricing:write" in error

"""Token endpoint response rendering and client-side checks (RFC 6749 §5.1, §5.2)."""

import pytest

from protocols.http import HttpResponse
from protocols.oauth.errors import InvalidGrant, ServerError
from protocols.oauth.token_response import TokenResponse, TokenResponseRejected


def test_round_trip_with_no_store():
    tokens = TokenResponse(access_token="at", expires_in=900, scope=("openid", "email"), id_token="it")
    response = tokens.to_response()
    assert response.header("cache-control") == "no-store" and response.header("pragma") == "no-cache"
    assert TokenResponse.from_response(response, require_id_token=True) == tokens
    assert "at" not in repr(tokens).replace("token_type", "")


def test_error_responses_raise_the_remote_counterpart():
    with pytest.raises(InvalidGrant):
        TokenResponse.from_response(InvalidGrant("used").to_response())
    with pytest.raises(ServerError):
        TokenResponse.from_response(HttpResponse(status=502, body=b"<html>"))


@pytest.mark.parametrize("body", [
    {"token_type": "Bearer", "expires_in": 1},
    {"access_token": "a", "token_type": "mac", "expires_in": 1},
    {"access_token": "a", "token_type": "Bearer", "expires_in": -1},
    {"access_token": "a", "token_type": "Bearer", "expires_in": True},
    {"access_token": "a", "token_type": "Bearer", "scope": ["openid"]},
    ["not", "an", "object"],
])
def test_malformed_success_bodies_are_rejected(body):
    with pytest.raises(TokenResponseRejected):
        TokenResponse.from_response(HttpResponse.json_body(body, no_store=True))


def test_missing_no_store_and_missing_id_token_are_rejected():
    with pytest.raises(TokenResponseRejected):
        TokenResponse.from_response(HttpResponse.json_body({"access_token": "a", "token_type": "Bearer"}))
    ok = HttpResponse.json_body({"access_token": "a", "token_type": "bearer"}, no_store=True)
    assert TokenResponse.from_response(ok).token_type == "bearer"
    with pytest.raises(TokenResponseRejected):
        TokenResponse.from_response(ok, require_id_token=True)

"""The MCP resource-server gate, sans-IO: RFC 9728 metadata and challenges, token checks, JSON-RPC
parsing and the resource catalogue (protocols/protected_resource.py, protocols/mcp_authorization.py)."""

import base64
import json

import pytest

from protocols.access_token import access_token_claims, mint_access_token
from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest
from protocols.jose.jwks import JwkSet
from protocols.jose.jwt import sign_jwt
from protocols.jose.keys import Algorithm, SigningKey
from protocols.mcp_authorization import (
    FORBIDDEN, INVALID_PARAMS, INVALID_REQUEST, PARSE_ERROR, McpProtection, MissingBearerToken, ResourceCatalogue,
    RpcRejected, authenticate, challenge, fga_user, forbidden, missing_scopes, parse_message, token_key_id,
)
from protocols.oauth.errors import InsufficientScope, InvalidRequest, InvalidToken
from protocols.protected_resource import (
    MetadataRejected, ProtectedResourceMetadata, bearer_challenge, canonical_resource, metadata_url, parse_challenge,
)
from protocols.token_exchange import ActClaim

ISSUER = "https://idp.example"
CRM = "https://mcp-crm.example/mcp"
PRICING = "https://mcp-pricing.example/mcp"
NOW = 1_736_150_000


def _key(label: str) -> SigningKey:
    return SigningKey.generate(alg=Algorithm.ES256, entropy=SeededEntropy.for_actor(run_seed=3, actor=label),
                               created_at=NOW)


IDP_KEY, ROGUE_KEY = _key("idp"), _key("rogue")
KEYS = JwkSet.from_json({"keys": [IDP_KEY.public_jwk()]})
PROTECTION = McpProtection.build(resource=CRM, issuer=ISSUER, required_scopes=("mcp:crm:read",), resource_name="CRM")


def claims_for(*, audience=CRM, scope=("mcp:crm:read",), exp=NOW + 300, delegated=True, **extra):
    claims = access_token_claims(issuer=ISSUER, subject="google-oauth2|123", audience="x", client_id="agent-1",
                                 scope=scope, issued_at=min(NOW - 10, exp - 60), expires_at=exp, jti="jti-1",
                                 act=ActClaim(sub="agent-1", iss=ISSUER) if delegated else None)
    claims["aud"] = audience
    claims.update(extra)
    return claims


def token(*, key=IDP_KEY, **options):
    return mint_access_token(claims=claims_for(**options), key=key)


def request(bearer: str | None = None, *, url=CRM, body=b'{"jsonrpc":"2.0","id":1,"method":"resources/list"}'):
    headers = {"content-type": "application/json"}
    if bearer is not None:
        headers["authorization"] = f"Bearer {bearer}"
    return HttpRequest(method="POST", url=url, headers=headers, body=body)


def check(req):
    return authenticate(req, protection=PROTECTION, keys=KEYS, now=NOW)


# -- RFC 9728 ------------------------------------------------------------------------------------

def test_metadata_url_inserts_the_well_known_prefix_before_the_path():
    assert metadata_url("https://mcp.example.com/mcp") == "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
    assert metadata_url("https://mcp.example.com") == "https://mcp.example.com/.well-known/oauth-protected-resource"


@pytest.mark.parametrize("raw,canonical", [("HTTPS://MCP.Example.com/mcp/", "https://mcp.example.com/mcp"),
                                           ("http://127.0.0.1:8080/mcp", "http://127.0.0.1:8080/mcp")])
def test_canonical_resource(raw, canonical):
    assert canonical_resource(raw) == canonical


@pytest.mark.parametrize("bad", ["/mcp", "https://mcp.example/mcp#frag", "https://user@mcp.example/mcp"])
def test_canonical_resource_refuses_what_rfc_8707_forbids(bad):
    with pytest.raises(ValueError):
        canonical_resource(bad)


def test_metadata_document_round_trip_and_exact_resource_check():
    document = PROTECTION.metadata.to_json()
    assert document == {"resource": CRM, "authorization_servers": [ISSUER], "scopes_supported": ["mcp:crm:read"],
                        "bearer_methods_supported": ["header"], "resource_name": "CRM"}
    assert ProtectedResourceMetadata.from_json(document, expected_resource=CRM) == PROTECTION.metadata
    for expected in (CRM + "/", "https://mcp-crm.example", PRICING):  # RFC 9728 §3.3: identical, no prefix match
        with pytest.raises(MetadataRejected):
            ProtectedResourceMetadata.from_json(document, expected_resource=expected)
    with pytest.raises(MetadataRejected):
        ProtectedResourceMetadata.from_json({**document, "authorization_servers": []}, expected_resource=CRM)


def test_challenge_round_trips_through_the_parser():
    value = bearer_challenge(resource_metadata=PROTECTION.metadata.url, scope=("a", "b"), error="invalid_token",
                             error_description='say "no"')
    assert parse_challenge(value) == {"resource_metadata": PROTECTION.metadata.url, "scope": "a b",
                                      "error": "invalid_token", "error_description": 'say "no"'}
    assert parse_challenge('Basic realm="x", Bearer scope="s"') == {"scope": "s"}
    assert parse_challenge('Basic realm="x"') is None


# -- token checks ----------------------------------------------------------------------------------

def test_a_good_delegated_token_names_user_and_agent():
    authorized = check(request(token()))
    assert (authorized.subject, authorized.agent, authorized.delegated) == ("google-oauth2|123", "agent-1", True)


def test_no_token_is_a_401_challenge_without_error():
    with pytest.raises(MissingBearerToken):
        check(request())
    response = challenge(None, protection=PROTECTION)
    params = parse_challenge(response.header("www-authenticate"))
    assert response.status == 401 and "error" not in params
    assert params == {"resource_metadata": "https://mcp-crm.example/.well-known/oauth-protected-resource/mcp",
                      "scope": "mcp:crm:read"}


def _alg_none(claims_token: str) -> str:
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "at+jwt"}).encode()).rstrip(b"=").decode()
    return header + "." + claims_token.split(".")[1] + "."


HOSTILE = [
    ("expired", lambda: token(exp=NOW - 100), "token_expired"),
    ("another server's audience", lambda: token(audience=PRICING), "wrong_audience"),
    ("several audiences", lambda: token(audience=[CRM, PRICING]), "other audiences"),
    ("unknown signing key", lambda: token(key=ROGUE_KEY), "unknown_key_id"),
    ("alg none", lambda: _alg_none(token()), "algorithm_not_allowed"),
    ("untyped (an ID token's shape)", lambda: sign_jwt(claims=claims_for(), key=IDP_KEY), "wrong_token_type"),
    ("garbage", lambda: "not-a-jwt", "malformed"),
    ("malformed act", lambda: token(delegated=False, act="agent-1"), "act must be a JSON object"),
]


@pytest.mark.parametrize("name,build,reason", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_bad_tokens_are_invalid_token_401(name, build, reason):
    with pytest.raises(InvalidToken) as caught:
        check(request(build()))
    assert reason in caught.value.description
    response = challenge(caught.value, protection=PROTECTION)
    params = parse_challenge(response.header("www-authenticate"))
    assert response.status == 401 and params["error"] == "invalid_token" and params["resource_metadata"]


def test_missing_scope_is_403_with_every_needed_scope():
    with pytest.raises(InsufficientScope) as caught:
        check(request(token(scope=("mcp:docs:read",))))
    response = challenge(caught.value, protection=PROTECTION)
    params = parse_challenge(response.header("www-authenticate"))
    assert response.status == 403 and params["error"] == "insufficient_scope" and params["scope"] == "mcp:crm:read"


def test_scope_hierarchy_a_broader_scope_covers_the_narrower():
    assert check(request(token(scope=("mcp:crm",)))).scopes == ("mcp:crm",)
    assert missing_scopes(["mcp:crm"], ["mcp:crm:read"]) == ()
    assert missing_scopes(["mcp:crm:read"], ["mcp:crm"]) == ("mcp:crm",)
    assert missing_scopes(["mcp:cr"], ["mcp:crm:read"]) == ("mcp:crm:read",)


def test_tokens_are_accepted_from_the_header_only():
    with pytest.raises(InvalidRequest):
        check(request(url=CRM + "?access_token=" + token()))


def test_token_key_id_peeks_without_trusting():
    assert token_key_id(token()) == IDP_KEY.kid
    assert token_key_id("garbage") is None and token_key_id("e30.e30.") is None


def test_fga_user_uses_the_directory_then_the_subject():
    assert fga_user("google-oauth2|1", directory={"google-oauth2|1": "user:sarah"}) == "user:sarah"
    assert fga_user("auth0|x", directory={}) == "user:auth0|x"


# -- JSON-RPC and the catalogue ----------------------------------------------------------------------

@pytest.mark.parametrize("body,code", [
    (b"{not json", PARSE_ERROR), (b"\xff", PARSE_ERROR),
    (b'{"jsonrpc":"2.0","id":1,"id":2,"method":"x"}', PARSE_ERROR),
    (b'[{"jsonrpc":"2.0","id":1,"method":"ping"}]', INVALID_REQUEST),
    (b'{"jsonrpc":"1.0","id":1,"method":"ping"}', INVALID_REQUEST),
    (b'{"jsonrpc":"2.0","id":true,"method":"ping"}', INVALID_REQUEST),
    (b'{"jsonrpc":"2.0","id":1,"result":{}}', INVALID_REQUEST),
    (b'{"jsonrpc":"2.0","id":1,"method":"ping","params":[1]}', INVALID_REQUEST),
])
def test_malformed_json_rpc_is_refused_with_its_code(body, code):
    with pytest.raises(RpcRejected) as caught:
        parse_message(body)
    assert caught.value.code == code
    response = caught.value.to_response()
    assert response.status == 400 and response.json()["error"]["code"] == code


def test_resources_read_needs_a_string_uri():
    with pytest.raises(RpcRejected) as caught:
        parse_message(b'{"jsonrpc":"2.0","id":7,"method":"resources/read","params":{"uri":3}}').resource_uri()
    assert (caught.value.code, caught.value.request_id) == (INVALID_PARAMS, 7)


def test_catalogue_maps_listed_and_templated_uris_to_fga_objects():
    catalogue = ResourceCatalogue(uris=frozenset({"crm://contacts/acme-corp"}),
                                  templates=("crm://accounts/{account}/purchases",))
    message = parse_message(b'{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"x"}}')
    assert catalogue.fga_object(message, "crm://contacts/acme-corp") == "resource:crm/contacts/acme-corp"
    assert catalogue.match("crm://accounts/globex/purchases") == {"account": "globex"}
    assert catalogue.fga_object(message, "crm://accounts/globex/purchases") == "resource:crm/accounts/globex/purchases"
    for unknown in ("crm://contacts/other", "crm://accounts/../purchases", "crm://accounts/a/b/purchases"):
        with pytest.raises(RpcRejected) as caught:
            catalogue.fga_object(message, unknown)
        assert caught.value.code == INVALID_PARAMS


def test_forbidden_is_403_with_the_request_id():
    message = parse_message(b'{"jsonrpc":"2.0","id":"r1","method":"resources/read","params":{"uri":"p://x"}}')
    response = forbidden(message, uri="p://x", reason="FGA says no")
    assert response.status == 403
    assert response.json() == {"jsonrpc": "2.0", "id": "r1",
                               "error": {"code": FORBIDDEN, "message": "Forbidden: FGA says no",
                                         "data": {"uri": "p://x"}}}

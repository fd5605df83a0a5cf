"""Provider metadata (OIDC Discovery §3, §4.3; RFC 8414; RFC 9207)."""

import pytest

from protocols.http import HttpRequest
from protocols.oidc.discovery import DiscoveryRejected, ProviderMetadata, discovery_url
from tests.protocols.oidc.harness import ISSUER, call, make_provider


def test_discovery_url_strips_trailing_slash():
    assert discovery_url("https://idp.test/") == "https://idp.test/.well-known/openid-configuration"
    assert discovery_url("https://idp.test/tenant") == "https://idp.test/tenant/.well-known/openid-configuration"


def test_provider_serves_a_complete_document():
    handled = call(make_provider(), HttpRequest.get(discovery_url(ISSUER)))
    assert handled.response.status == 200 and handled.outcome.event == "discovery.served"
    doc = handled.response.json()
    assert doc["issuer"] == ISSUER
    assert doc["authorization_endpoint"] == ISSUER + "/authorize"
    assert doc["token_endpoint"] == ISSUER + "/token"
    assert doc["userinfo_endpoint"] == ISSUER + "/userinfo"
    assert doc["jwks_uri"] == ISSUER + "/jwks"
    assert doc["response_types_supported"] == ["code"] and doc["subject_types_supported"] == ["public"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert "RS256" in doc["id_token_signing_alg_values_supported"]
    assert "none" not in doc["token_endpoint_auth_signing_alg_values_supported"]
    assert set(doc["token_endpoint_auth_methods_supported"]) == {"private_key_jwt", "client_secret_basic"}
    assert "openid" in doc["scopes_supported"] and {"role", "territory", "amr"} <= set(doc["claims_supported"])
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert doc["request_uri_parameter_supported"] is False and doc["request_parameter_supported"] is False
    assert ProviderMetadata.from_json(doc, expected_issuer=ISSUER) == make_provider().metadata


def test_provider_under_a_path_routes_its_endpoints():
    provider = make_provider(issuer="https://idp.test/tenant1")
    assert call(provider, HttpRequest.get(discovery_url(provider.issuer))).response.status == 200
    assert call(provider, HttpRequest.get("https://idp.test/tenant1/jwks")).response.status == 200


def doc(**changes):
    base = make_provider().metadata.to_json()
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize(("document", "expected_issuer"), [
    (doc(), ISSUER + "/"),                                   # not identical to the prefix used
    (doc(issuer="https://evil.test"), ISSUER),
    (doc(token_endpoint=None), ISSUER),
    (doc(userinfo_endpoint=None), ISSUER),
    (doc(code_challenge_methods_supported=None), ISSUER),    # absent means no PKCE
    (doc(code_challenge_methods_supported=["plain"]), ISSUER),
    (doc(id_token_signing_alg_values_supported=["ES256"]), ISSUER),
    (doc(token_endpoint_auth_signing_alg_values_supported=["none", "RS256"]), ISSUER),
    (doc(scopes_supported="openid"), ISSUER),
    (doc(token_endpoint=["x"]), ISSUER),
    (doc(authorization_response_iss_parameter_supported="yes"), ISSUER),
    (["not", "an", "object"], ISSUER),
])
def test_relying_party_rejects_bad_documents(document, expected_issuer):
    with pytest.raises(DiscoveryRejected):
        ProviderMetadata.from_json(document, expected_issuer=expected_issuer)


def test_unknown_members_are_ignored_and_empty_arrays_omitted():
    parsed = ProviderMetadata.from_json(doc(x_vendor_extension=True), expected_issuer=ISSUER)
    assert parsed.issuer == ISSUER
    assert "claims_supported" not in ProviderMetadata.for_issuer(ISSUER, claims_supported=()).to_json()

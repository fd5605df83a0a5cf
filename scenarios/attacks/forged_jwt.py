"""Forged JWTs (RFC 8725 §2.1, §3.1, §3.2; RFC 7515 §5.2; RFC 9068 §4).

The adversary has seen one of Sarah's delegated tokens for the pricing MCP server and wants the
executive discount grid, which only executives may read. It re-issues the token's claims with
``sub`` changed to John (an executive) three ways: unsecured (``alg: none``), HS256 keyed with the
IdP's *public* RSA key (RS/HS key confusion) and signed with its own key under a ``kid`` the IdP
never published. Unified: the MCP server's validator binds each ``kid`` to one algorithm from the
IdP's JWKS and accepts only that — every forgery is ``401 invalid_token``, audited.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization

from actors.adversary import claims_of, forge_hmac_with_public_key, forge_unsecured, forge_with_own_key, mcp_contents
from protocols.http import HttpRequest
from protocols.jose.jwks import JwkSet
from protocols.jose.keys import Algorithm, SigningKey
from protocols.oidc.discovery import discovery_url
from scenarios.attacks.cast import Stage
from scenarios.attacks.common import mcp_token, measured
from actors.traditional.legacy_login import unsigned_token
from scenarios.attacks.outcome import AttackOutcome
from scenarios.attacks.traditional_stage import TraditionalStage

ID = "forged-jwt"
SERVER, DOCUMENT, IMPERSONATED = "mcp-pricing", "pricing://executive-discounts", "user:john"


async def unified(st: Stage) -> AttackOutcome:
    delegation = await st.sign_in()
    seen = await mcp_token(st, delegation, SERVER)
    server = st.cast.mcp_servers[SERVER]
    header, claims = claims_of(seen)
    john = next(subject for subject, user in server.directory.items() if user == IMPERSONATED)
    claims = {**claims, "sub": john}
    # Public reconnaissance (not an attack step): the IdP's published keys.
    network = st.runtime.network
    metadata = (await network.send(HttpRequest.get(discovery_url(st.cast.idp.base_url)))).json()
    published = JwkSet.from_json((await network.send(HttpRequest.get(metadata["jwks_uri"]))).json())
    kid = header["kid"]
    pem = published.lookup(kid).public_key.public_bytes(serialization.Encoding.PEM,
                                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    own = SigningKey.generate(alg=Algorithm.ES256, entropy=st.runtime.entropy_for("adversary").child("forge"),
                              created_at=st.runtime.clock.now())
    forgeries = {
        "alg none": forge_unsecured(claims, typ=header.get("typ", "at+jwt")),
        "HS256 keyed with the IdP's public key": forge_hmac_with_public_key(
            claims, public_key_bytes=pem, kid=kid, typ=header.get("typ", "at+jwt")),
        "own key under an unknown kid": forge_with_own_key(claims, key=own, kid="rotated-2025-02",
                                                           typ=header.get("typ", "at+jwt")),
    }
    st.runtime.secrets.add(*forgeries.values())
    exposed = 0
    for name, token in forgeries.items():
        response = await st.adversary.mcp_read(f"forged token ({name})", url=server.resource, token=token,
                                               uri=DOCUMENT)
        exposed += len(mcp_contents(response))
    return measured(st, attack=ID, configuration="unified", records_exposed=exposed, unauthorised_actions=0)


async def traditional(ts: TraditionalStage) -> AttackOutcome:
    """The documents system's hand-rolled JWT check takes an unsigned token naming John."""
    forged = unsigned_token({"sub": ts.cast.world.person("john").email})
    ts.runtime.secrets.add(forged)
    await ts.adversary("docs", bearer=forged).get(f"/mcp/resources?uri={DOCUMENT}")
    return ts.measured(attack=ID, unauthorised_actions=0)

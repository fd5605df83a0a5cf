"""SSF transmitter and receivers, GTR endpoints and the bearer guard on the network, both transports:
streams are created and verified, SETs verify with an independent JOSE library, receivers refuse
unsigned, replayed and misaddressed SETs, revoked principals' tokens are refused from then on."""

import json

import pytest
import trio
from joserfc import jws
from joserfc.jwk import KeySet

from actors.gtr_endpoint import GtrEndpoint
from actors.runtime.actor import HttpActor
from actors.runtime.network import Transport
from actors.saas.crm import API as CRM_API, Account, Contact, CrmData
from actors.service_client import ClientCredentialsClient
from actors.ssf_receiver import SsfReceiver
from actors.ssf_transmitter import Publish, SsfTransmitterActor
from actors.universal_logout import on_session_revoked, oauth_server_revocation
from protocols import caep
from protocols.entropy import SeededEntropy
from protocols.global_token_revocation import caller_assertion, revocation_request
from protocols.http import HttpRequest
from protocols.jose.encoding import b64url_encode
from protocols.jose.jwks import JwkSet
from protocols.jose.keys import Algorithm, SigningKey
from actors.runtime.secrets import private_key_forms
from protocols.oauth.authorization_server import OAuthClient
from protocols.oauth.errors import InvalidClient
from protocols.oauth.client_auth import ClientAuthMethod, ClientRegistration, hash_client_secret
from protocols.security_event import SecurityEvent, sign_security_event
from protocols.ssf import configuration_url, push_request
from protocols.subject_identifiers import SubjectId
from scenarios.control_plane import build_crm
from tests.actors.runtime.helpers import running_runtime

SET_KEY = SigningKey.generate(alg=Algorithm.RS256, entropy=SeededEntropy.for_actor(run_seed=7, actor="ssf"),
                              created_at=0)
"""One RSA key for the module (generating 2048-bit keys per test would dominate its time)."""
IDP = "https://acme-idp.trustbench.test"
AGENT = "sales-agent-prod-001"
CLIENT, ACCOUNT = "agent-crm", "svc-agent"


class Recorder:
    """Keeps the raw SETs pushed to a host (mounted before its receiver)."""

    def __init__(self, path):
        self.path, self.tokens = path, []

    async def __call__(self, request):
        if request.path == self.path and request.method == "POST":
            self.tokens.append(request.body.decode())
        return None


@pytest.fixture(params=list(Transport), ids=lambda t: t.value)
async def world(request, autojump_clock):
    async with running_runtime(request.param) as (runtime, nursery, _log):
        crm = build_crm(runtime=runtime, name="crm", data=CrmData(
            accounts=(Account(id="001a", slug="acme", name="Acme", industry="x", territory="EMEA", owner="u"),),
            contacts=tuple(Contact(id=f"003{i}", account_id="001a", name=f"C {i}", title="t", email=f"c{i}@x.example")
                           for i in range(3))))
        secret = "s" * 32
        crm.server.register_client(OAuthClient(registration=ClientRegistration(
            client_id=CLIENT, name=CLIENT, redirect_uris=(), auth_method=ClientAuthMethod.CLIENT_SECRET_BASIC,
            client_secret_sha256=hash_client_secret(secret), grant_types=frozenset({"client_credentials"}),
            scopes=frozenset({"crm.read"})), service_account=ACCOUNT))
        other = HttpActor(name="relying-party", runtime=runtime, base_url=runtime.network.base_url_for("relying-party"))
        transmitter = SsfTransmitterActor.build(runtime=runtime, key=SET_KEY)
        runtime.secrets.add_all(private_key_forms(SET_KEY.private_key))
        caller_key = runtime.new_signing_key(owner="incident-response", purpose="gtr", alg=Algorithm.ES256)
        recorder = Recorder("/ssf/events")
        other.intercept(recorder)
        receivers = {
            "crm": SsfReceiver(host=crm, transmitter_issuer=transmitter.issuer, issuers={IDP}, actions={
                caep.SESSION_REVOKED: on_session_revoked(oauth_server_revocation(crm))}).mount(),
            "relying-party": SsfReceiver(host=other, transmitter_issuer=transmitter.issuer, issuers={IDP}).mount()}
        gtr = GtrEndpoint(host=crm, revoke=oauth_server_revocation(crm), issuers={IDP}, callers={
            "incident-response": JwkSet.from_json({"keys": [caller_key.public_jwk()]})}).mount()
        tokens = {name: transmitter.onboard(receiver=name, audience=actor.base_url)
                  for name, actor in (("crm", crm), ("relying-party", other))}
        for actor in (crm, other, transmitter):
            runtime.network.register(actor)
            await nursery.start(actor.run)
        await nursery.start(runtime.network.serve)
        for name, receiver in receivers.items():
            await receiver.connect(management_token=tokens[name])
        client = ClientCredentialsClient(runtime=runtime, token_url=crm.url("/token"), client_id=CLIENT, secret=secret,
                                         scope="crm.read", resource=crm.url(CRM_API))
        yield {"runtime": runtime, "crm": crm, "other": other, "transmitter": transmitter, "receivers": receivers,
               "gtr": gtr, "caller_key": caller_key, "client": client, "recorder": recorder, "tokens": tokens}


async def send(world, request):
    return await world["runtime"].network.send(request)


def set_for(world, *, audience, jti, key=None, subject=None, event_type=caep.SESSION_REVOKED, payload=None):
    transmitter = world["transmitter"]
    event = SecurityEvent(issuer=transmitter.issuer, audience=(audience,), jti=jti,
                          issued_at=world["runtime"].clock.now(), event_type=event_type,
                          payload=payload or caep.session_revoked(event_timestamp=world["runtime"].clock.now(),
                                                                  initiating_entity="policy", reason_admin="test"),
                          subject=subject or SubjectId.iss_sub(iss=IDP, sub=ACCOUNT), txn="inc-test")
    return sign_security_event(event, key=key or transmitter.keyring.active)


def push(world, token, *, host="crm", authorization=None, content_type="application/secevent+jwt"):
    receiver = world["receivers"][host]
    request = push_request(endpoint_url=receiver.endpoint, token=token,
                           authorization_header=authorization if authorization is not None else receiver._authorization)
    if content_type != "application/secevent+jwt":
        request = HttpRequest(method="POST", url=request.url, body=request.body,
                              headers={**dict(request.headers), "content-type": content_type})
    return send(world, request)


async def read_contacts(world, token):
    return await send(world, HttpRequest.get(world["crm"].url(f"{CRM_API}/contacts?limit=1"),
                                             headers={"authorization": f"Bearer {token}"}))


async def test_streams_are_created_verified_and_managed(world):
    transmitter, crm = world["transmitter"], world["crm"]
    assert all(r.verified for r in world["receivers"].values())
    assert sorted(s.owner for s in transmitter.streams.values()) == ["crm", "relying-party"]
    document = (await send(world, HttpRequest.get(configuration_url(transmitter.issuer)))).json()
    assert document["issuer"] == transmitter.issuer and document["delivery_methods_supported"] == ["urn:ietf:rfc:8935"]
    streams = document["configuration_endpoint"]
    body = {"delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": crm.url("/ssf/events")},
            "events_requested": [caep.SESSION_REVOKED]}
    assert (await send(world, HttpRequest.json_post(url=streams, payload=body))).status == 401
    auth = {"authorization": f"Bearer {world['tokens']['crm']}"}
    assert (await send(world, HttpRequest.json_post(url=streams, payload=body, headers=auth))).status == 409
    assert (await send(world, HttpRequest.json_post(url=streams, payload={"delivery": 1}, headers=auth))).status == 400
    mine = world["receivers"]["crm"].stream_id
    theirs = world["receivers"]["relying-party"].stream_id
    status = await send(world, HttpRequest.get(f"{document['status_endpoint']}?stream_id={mine}", headers=auth))
    assert status.json() == {"stream_id": mine, "status": "enabled"}
    assert (await send(world, HttpRequest.get(f"{streams}?stream_id={theirs}", headers=auth))).status == 404
    config = (await send(world, HttpRequest.get(f"{streams}?stream_id={mine}", headers=auth))).json()
    assert config["aud"] == crm.base_url and "authorization_header" not in config["delivery"]


async def test_a_valid_set_is_accepted_once_and_logs_the_principal_out(world):
    token = await world["client"].access_token()
    assert (await read_contacts(world, token)).status == 200
    signed = set_for(world, audience=world["crm"].base_url, jti="set-ok")
    assert (await push(world, signed)).status == 202
    refused = await read_contacts(world, token)
    assert refused.status == 401 and 'error="invalid_token"' in refused.header("www-authenticate")
    replayed = await push(world, signed)
    assert replayed.status == 400 and replayed.json()["err"] == "invalid_request"
    assert "duplicate" in replayed.json()["description"]
    world["client"].invalidate()  # the integration's secret no longer works either
    with pytest.raises(InvalidClient):
        await world["client"].access_token()


REFUSALS = [("unsigned", "invalid_key"), ("foreign key", "invalid_key"),
            ("addressed to another receiver", "invalid_audience"), ("wrong push credential", "authentication_failed"),
            ("not a SET body", "invalid_request")]


async def test_the_receiver_refuses_unsigned_foreign_misaddressed_and_unauthenticated_sets(world):
    crm = world["crm"]
    evil = world["runtime"].new_signing_key(owner="evil", purpose="k", alg=Algorithm.ES256)
    for case, err in REFUSALS:
        token = set_for(world, audience=crm.base_url, jti=f"set-{case}")
        if case == "unsigned":
            _, claims, _ = token.split(".")
            forged = json.dumps({"alg": "none", "typ": "secevent+jwt"}).encode()
            response = await push(world, f"{b64url_encode(forged)}.{claims}.")
        elif case == "foreign key":
            response = await push(world, set_for(world, audience=crm.base_url, jti="x", key=evil))
        elif case == "addressed to another receiver":
            response = await push(world, set_for(world, audience=world["other"].base_url, jti="x"))
        elif case == "wrong push credential":
            response = await push(world, token, authorization="Bearer guessed")
        else:
            response = await push(world, token, content_type="application/json")
        assert (response.status, response.json()["err"]) == (400, err), case
    live = await world["client"].access_token()
    assert (await read_contacts(world, live)).status == 200  # nothing was revoked
    entries = world["runtime"].audit.store.entries()
    assert not any(e.event == "set.accepted" and e.actor == "crm" for e in entries)
    assert [e.reason for e in entries if e.event == "set.rejected"] == [err for _, err in REFUSALS]
    assert (await send(world, HttpRequest.get(crm.url("/ssf/events")))).status == 405


async def test_published_sets_verify_independently_and_carry_the_caep_event_types(world):
    transmitter, recorder = world["transmitter"], world["recorder"]
    recorder.tokens.clear()
    subject = SubjectId.iss_sub(iss=IDP, sub=AGENT)
    reports_send, reports = trio.open_memory_channel(8)
    now = world["runtime"].clock.now()
    for event_type, payload in (
            (caep.SESSION_REVOKED, caep.session_revoked(event_timestamp=now, initiating_entity="policy",
                                                        reason_admin="risk HIGH")),
            (caep.CREDENTIAL_CHANGE, caep.credential_change(credential_type="api-secret", change_type="revoke",
                                                            event_timestamp=now, initiating_entity="policy",
                                                            reason_admin="revoked"))):
        publication = await transmitter.ask(Publish(event_type=event_type, payload=payload, subject=subject,
                                                    txn="inc-42", reports=reports_send.clone()))
        assert [r for r, _ in publication.sets] == ["crm", "relying-party"]
    delivered = [await reports.receive() for _ in range(4)]
    assert {r.verdict.value for r in delivered} == {"delivered"}
    jwks = (await send(world, HttpRequest.get(transmitter.metadata.jwks_uri))).json()
    keyset = KeySet.import_key_set(jwks)
    seen = []
    for token in recorder.tokens:
        verified = jws.deserialize_compact(token, keyset, algorithms=["RS256"])
        claims = json.loads(verified.payload)
        assert verified.protected["typ"] == "secevent+jwt"
        assert claims["iss"] == transmitter.issuer and claims["aud"] == world["other"].base_url
        assert claims["sub_id"] == {"format": "iss_sub", "iss": IDP, "sub": AGENT} and claims["txn"] == "inc-42"
        assert "exp" not in claims and "sub" not in claims
        seen.append(next(iter(claims["events"])))
    assert seen == [caep.SESSION_REVOKED, caep.CREDENTIAL_CHANGE]


async def test_global_token_revocation_endpoint(world):
    runtime, crm, key = world["runtime"], world["crm"], world["caller_key"]
    endpoint = world["gtr"].endpoint
    token = await world["client"].access_token()
    entropy = SeededEntropy.for_actor(run_seed=1, actor="gtr-test")

    def assertion(caller="incident-response", signer=key):
        return caller_assertion(caller=caller, endpoint=endpoint, key=signer, now=runtime.clock.now(),
                                entropy=entropy)

    unauthenticated = await send(world, HttpRequest.json_post(url=endpoint, payload={"sub_id": {}}))
    assert unauthenticated.status == 401
    evil = runtime.new_signing_key(owner="mallory", purpose="k", alg=Algorithm.ES256)
    stranger = await send(world, revocation_request(endpoint=endpoint, subject=SubjectId.opaque(ACCOUNT),
                                                    assertion=assertion("mallory", evil)))
    assert stranger.status == 403
    unknown = await send(world, revocation_request(endpoint=endpoint, subject=SubjectId.opaque("nobody"),
                                                   assertion=assertion()))
    assert unknown.status == 404
    assert (await read_contacts(world, token)).status == 200
    once = assertion()
    done = await send(world, revocation_request(endpoint=endpoint, subject=SubjectId.opaque(ACCOUNT), assertion=once))
    assert done.status == 204
    assert (await read_contacts(world, token)).status == 401
    again = await send(world, revocation_request(endpoint=endpoint, subject=SubjectId.opaque(ACCOUNT), assertion=once))
    assert again.status == 401
    assert (await send(world, HttpRequest.get(endpoint))).status == 405
    revoked = [e for e in runtime.audit.store.entries() if e.event == "gtr.revoked"]
    assert revoked and revoked[-1].details["caller"] == "incident-response"


async def test_stream_status_pauses_delivery_and_a_stream_can_be_deleted(world):
    transmitter, auth = world["transmitter"], {"authorization": f"Bearer {world['tokens']['relying-party']}"}
    stream_id = world["receivers"]["relying-party"].stream_id
    status_url = transmitter.metadata.status_endpoint
    bad = await send(world, HttpRequest.json_post(url=status_url, payload={"stream_id": stream_id, "status": "asleep"},
                                                  headers=auth))
    assert bad.status == 400
    paused = await send(world, HttpRequest.json_post(url=status_url, headers=auth,
                                                     payload={"stream_id": stream_id, "status": "paused"}))
    assert paused.json() == {"stream_id": stream_id, "status": "paused"}
    publication = await transmitter.ask(Publish(event_type=caep.SESSION_REVOKED, subject=SubjectId.opaque("x"),
                                                txn="t", payload=caep.session_revoked(
                                                    event_timestamp=0, initiating_entity="admin", reason_admin="x")))
    assert [receiver for receiver, _ in publication.sets] == ["crm"]
    delete = HttpRequest(method="DELETE", url=f"{transmitter.metadata.configuration_endpoint}?stream_id={stream_id}",
                         headers=auth)
    assert (await send(world, delete)).status == 204
    assert (await send(world, delete)).status == 404


async def test_a_host_that_cannot_log_out_answers_422(world):
    async def broken(principal):
        raise RuntimeError("directory unavailable")

    endpoint = GtrEndpoint(host=world["other"], revoke=broken, issuers={IDP}, path="/gtr-broken", callers={
        "incident-response": JwkSet.from_json({"keys": [world["caller_key"].public_jwk()]})}).mount()
    assertion = caller_assertion(caller="incident-response", endpoint=endpoint.endpoint, key=world["caller_key"],
                                 now=world["runtime"].clock.now(),
                                 entropy=SeededEntropy.for_actor(run_seed=1, actor="gtr-422"))
    response = await send(world, revocation_request(endpoint=endpoint.endpoint, subject=SubjectId.opaque(AGENT),
                                                    assertion=assertion))
    assert response.status == 422 and response.json()["error"] == "unable_to_log_out"

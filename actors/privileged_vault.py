"""The privileged-credential side of the vault (SPEC capability 11): API keys, database passwords
and certificates that agents use as themselves, encrypted at rest with the vault's envelope
encryption, rotated on schedule with an overlap window, and JIT credentials that expire by
themselves.

- ``POST /credentials`` (security operator): vault an agent's existing secret under a rotation
  policy; with ``replace_now`` the static secret is replaced at once (the old one stops working).
- ``GET /credentials?agent=`` (operator): the records, never the secrets.
- ``POST /credentials/{id}/lease`` (the agent, authenticated with a ``private_key_jwt`` client
  assertion, RFC 7523 §2.2, audience = this service): the current secret and how long it may be
  cached (the lease).
- ``POST /credentials/{id}/rotate`` and ``/revoke`` (operator).
- ``POST /jit`` (the agent): a temporary account with narrow privileges for at most a few hours.

Every refusal is audited with ``decision: deny`` and its reason (``error: description``):
``credential.lease_denied`` (bad client authentication — with the client the request *claimed* to be,
unverified —, an unknown, revoked or another agent's credential), ``jit.denied``, and
``credential.operation_denied`` for the operator endpoints (a missing or wrong operator token, a bad
request, a target that refused).

A scheduler child task wakes at the next due event (rotation, end of an overlap, JIT expiry) and
hands it to the mailbox, so rotations happen in simulated time without blocking requests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs

from actors.operator_access import OperatorTokens, ScheduledActor
from actors.rotation_targets import RotationTarget, TargetRefused
from actors.storage.privileged_store import PrivilegedStore, SqlitePrivilegedStore
from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest, HttpResponse, MalformedBody
from protocols.oauth.client_auth import (
    AssertionReplayCache, ClientRegistration, authenticate_client, claimed_client_id,
)
from protocols.oauth.errors import AccessDenied, InvalidRequest, NotFound, OAuthError, TemporarilyUnavailable
from protocols.privileged_credentials import (
    CredentialKind, PolicyError, PrivilegedCredential, RotationPolicy, generate_secret, jit_grant, lease,
    next_event, retire, retirements_due, rotate, rotation_due, secret_forms, vault_credential,
)
from protocols.vault import KekRing, record_aad, seal, unseal


def _aad(credential_id: str, version: int) -> bytes:
    return record_aad("privileged", f"{credential_id}#{version}")


@attrs.define(eq=False)
class PrivilegedVaultActor(ScheduledActor):
    targets: dict[str, RotationTarget] = attrs.field(factory=dict)
    clients: dict[str, ClientRegistration] = attrs.field(factory=dict)
    jit_allowed: Mapping[str, frozenset[str]] = attrs.field(factory=dict)
    """Per agent, the ``system:op:table`` privileges it may request just in time."""
    store: PrivilegedStore = attrs.field(factory=SqlitePrivilegedStore)
    _ring: KekRing = attrs.field(init=False, repr=False)
    _entropy: SeededEntropy = attrs.field(init=False, repr=False)
    _secrets_entropy: SeededEntropy = attrs.field(init=False, repr=False)
    _operators: OperatorTokens = attrs.field(init=False, repr=False)
    _replay: AssertionReplayCache = attrs.field(factory=AssertionReplayCache, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        entropy = self.runtime.entropy_for(self.name)
        kek = entropy.child("kek").bytes(32)
        self.runtime.secrets.add(kek.hex())
        self._ring = KekRing.start(kek_id="pam-kek-1", key=kek)
        self._entropy, self._secrets_entropy = entropy.child("envelopes"), entropy.child("secrets")
        self._operators = OperatorTokens(runtime=self.runtime, owner=self.name, prefix="pam_")
        self.route("POST", "/credentials", self.vault_endpoint)
        self.route("GET", "/credentials", self.list_endpoint)
        self.route("POST", "/jit", self.jit_endpoint)

    def issue_operator_token(self) -> str:
        return self._operators.issue()

    # ------------------------------------------------------------------ scheduling (ScheduledActor)

    def next_due(self) -> float:
        due = [t for t in (next_event(c) for c in self.store.all()) if t is not None]
        due += [g.expires_at for g in self.store.active_jit()]
        return min(due) if due else float("inf")

    # ------------------------------------------------------------------ secrets

    def _store_secret(self, credential: PrivilegedCredential, version: int, secret: str) -> None:
        self.runtime.secrets.add_all(secret_forms(secret))
        envelope = seal(secret, aad=_aad(credential.id, version), ring=self._ring, entropy=self._entropy)
        self.store.save(credential, new_secret=(version, envelope))

    def _current_secret(self, credential: PrivilegedCredential) -> str:
        envelope = self.store.secret(credential.id, credential.current.version)
        if envelope is None:
            raise TemporarilyUnavailable("the current secret is missing from the vault")
        return unseal(envelope, aad=_aad(credential.id, credential.current.version), ring=self._ring)

    def _new_secret(self, credential: PrivilegedCredential) -> str:
        return generate_secret(credential.kind, entropy=self._secrets_entropy, subject=credential.account,
                               now=self.runtime.clock.now(), valid_for=credential.policy.every + credential.policy.overlap)

    def _target(self, system: str) -> RotationTarget:
        target = self.targets.get(system)
        if target is None:
            raise InvalidRequest(f"the vault cannot administer system {system!r}")
        return target

    async def _rotate(self, credential: PrivilegedCredential, *, retain: bool, reason: str) -> PrivilegedCredential:
        secret = self._new_secret(credential)
        await self._target(credential.system).set_secret(account=credential.account, secret=secret,
                                                         retain_current=retain)
        rotated = rotate(credential, new_secret=secret, now=self.runtime.clock.now(), retain_previous=retain)
        self._store_secret(rotated, rotated.current.version, secret)
        previous = rotated.versions[-2]
        await self.audit("credential.rotated", agent=credential.agent, decision="allow", reason=reason,
                         credential=credential.id, system=credential.system, account=credential.account,
                         version=rotated.current.version, fingerprint=rotated.current.fingerprint,
                         previous_valid_until=previous.retire_at, next_rotation_at=rotated.next_rotation_at)
        self.changed()
        return rotated

    async def process_due(self) -> None:
        now = self.runtime.clock.now()
        for credential in self.store.all():
            if credential.revoked_at is not None:
                continue  # its account is gone at the target: nothing left to rotate or retire
            for version in retirements_due(credential, now=now):
                try:
                    await self._target(credential.system).discard_previous(account=credential.account)
                except (TargetRefused, InvalidRequest) as error:
                    await self.audit("credential.retire_failed", agent=credential.agent, decision="deny",
                                     reason=str(error), credential=credential.id)
                    continue
                credential = retire(credential, version=version.version)
                self.store.save(credential)
                await self.audit("credential.previous_retired", agent=credential.agent, decision="allow",
                                 reason="overlap window closed; the target no longer accepts it",
                                 credential=credential.id, version=version.version, fingerprint=version.fingerprint)
            if rotation_due(credential, now=now):
                try:
                    await self._rotate(credential, retain=True, reason="scheduled rotation")
                except (TargetRefused, InvalidRequest) as error:
                    await self.audit("credential.rotation_failed", agent=credential.agent, decision="deny",
                                     reason=str(error), credential=credential.id)
        for grant in self.store.active_jit():
            if grant.expires_at <= now:
                try:
                    await self._target(grant.system).disable(account=grant.username)
                except (TargetRefused, InvalidRequest):
                    pass  # the target already expired or removed the account on its own
                self.store.save_jit(grant, active=False)
                await self.audit("jit.expired", agent=grant.agent, decision="allow", reason="JIT credential expired",
                                 grant=grant.id, username=grant.username)

    # ------------------------------------------------------------------ authentication

    def _operator(self, request: HttpRequest) -> None:
        self._operators.check(request, what="a vault")

    def _agent(self, request: HttpRequest) -> str:
        try:
            form = request.form()
        except MalformedBody as error:
            raise InvalidRequest(str(error)) from None
        client = authenticate_client(form=form, authorization=request.header("authorization"),
                                     lookup_client=self.clients.get, issuer=self.base_url,
                                     token_endpoint=self.url(request.path), replay_cache=self._replay,
                                     now=self.runtime.clock.now())
        return client.client_id

    # ------------------------------------------------------------------ refusals (audited)

    async def _refused(self, event: str, error: OAuthError, *, request: HttpRequest, agent: str | None,
                       **details: Any) -> None:
        """Audit a refusal: ``agent`` when authenticated, else the client the request claimed to be."""
        reason = f"{error.error}: {error.description}"
        if agent is None:
            try:
                claimed = claimed_client_id(form=request.form(), authorization=request.header("authorization"))
            except MalformedBody:
                claimed = None
            registration = self.clients.get(claimed) if claimed else None
            if registration is not None and registration.jwks is not None and not registration.jwks.kids():
                reason += " (no key is registered for this agent any more: its keys were withdrawn)"
            if claimed:
                details["claimed_client"] = claimed
        await self.audit(event, agent=agent, decision="deny", reason=reason, error=error.error, **details)

    async def _operation(self, request: HttpRequest, operation: str,
                         serve: Callable[[], Awaitable[HttpResponse]], **details: Any) -> HttpResponse:
        """Serve an operator endpoint; a refusal is audited as ``credential.operation_denied``."""
        try:
            return await serve()
        except (OAuthError, MalformedBody) as caught:
            error = caught if isinstance(caught, OAuthError) else InvalidRequest(str(caught))
            await self.audit("credential.operation_denied", decision="deny", reason=f"{error.error}: {error.description}",
                             error=error.error, operation=operation, **details)
            raise error from None

    # ------------------------------------------------------------------ endpoints

    async def handle(self, request: HttpRequest) -> HttpResponse:
        parts = [p for p in request.path.split("/") if p]
        if len(parts) == 3 and parts[0] == "credentials" and request.method == "POST":
            if parts[2] == "lease":
                return await self.lease_endpoint(request, parts[1])
            action = {"rotate": self.rotate_endpoint, "revoke": self.revoke_endpoint}.get(parts[2])
            if action is not None:
                return await self._operation(request, parts[2], lambda: action(request, parts[1]),
                                             credential=parts[1][:128])
        if parts == ["credentials"] and request.method in ("GET", "POST"):
            operation = "list" if request.method == "GET" else "vault"
            return await self._operation(request, operation, lambda: super(PrivilegedVaultActor, self).handle(request))
        return await super().handle(request)

    def _credential(self, credential_id: str) -> PrivilegedCredential:
        credential = self.store.get(credential_id)
        if credential is None:
            raise NotFound(f"no credential {credential_id!r}")
        return credential

    @staticmethod
    def describe(credential: PrivilegedCredential) -> dict[str, Any]:
        return {"id": credential.id, "agent": credential.agent, "system": credential.system,
                "account": credential.account, "kind": credential.kind.value,
                "policy": attrs.asdict(credential.policy), "version": credential.current.version,
                "fingerprint": credential.current.fingerprint, "rotations": credential.rotations,
                "next_rotation_at": credential.next_rotation_at, "revoked": credential.revoked_at is not None,
                "accepted_versions": [v.version for v in credential.accepted()]}

    async def vault_endpoint(self, request: HttpRequest) -> HttpResponse:
        self._operator(request)
        body = request.json()
        if not isinstance(body, dict):
            raise InvalidRequest("the body must be a JSON object")
        try:
            kind = CredentialKind(body.get("kind"))
            raw_policy = body.get("policy") or {}
            policy = RotationPolicy.days(every_days=int(raw_policy["every_days"]),
                                         overlap_hours=int(raw_policy["overlap_hours"]),
                                         lease_hours=int(raw_policy["lease_hours"]))
        except (ValueError, KeyError, TypeError) as error:
            raise InvalidRequest(f"kind and policy (every_days, overlap_hours, lease_hours) are required: "
                                 f"{error}") from None
        fields = {name: body.get(name) for name in ("agent", "system", "account", "secret")}
        if not all(isinstance(v, str) and v for v in fields.values()):
            raise InvalidRequest("agent, system, account and secret are required strings")
        self._target(fields["system"])
        self.runtime.secrets.add_all(secret_forms(fields["secret"]))
        credential_id = body.get("id") or f"cred-{self._secrets_entropy.hex(6)}"
        if self.store.get(credential_id) is not None:
            raise InvalidRequest(f"credential {credential_id!r} already exists")
        credential = vault_credential(credential_id=credential_id, agent=fields["agent"], system=fields["system"],
                                      account=fields["account"], kind=kind, policy=policy, secret=fields["secret"],
                                      now=self.runtime.clock.now())
        self._store_secret(credential, 1, fields["secret"])
        await self.audit("credential.vaulted", agent=credential.agent, decision="allow",
                         reason=f"{kind.value} for {credential.system}:{credential.account} under a "
                                f"{policy.every // 86400}-day rotation policy",
                         credential=credential.id, fingerprint=credential.current.fingerprint)
        if body.get("replace_now") is True:
            credential = await self._rotate(credential, retain=False,
                                            reason="static secret replaced at registration; the old one is refused")
        self.changed()
        return HttpResponse.json_body(self.describe(credential), status=201)

    async def list_endpoint(self, request: HttpRequest) -> HttpResponse:
        self._operator(request)
        agent = request.query_params().get("agent")
        rows = [self.describe(c) for c in self.store.all() if agent is None or c.agent == agent]
        return HttpResponse.json_body({"credentials": rows})

    async def lease_endpoint(self, request: HttpRequest, credential_id: str) -> HttpResponse:
        agent = None
        try:
            agent = self._agent(request)
            credential = self._credential(credential_id)
            if credential.agent != agent:
                raise AccessDenied("this credential belongs to another agent")
            if credential.revoked_at is not None:
                raise AccessDenied("this credential has been revoked")
            secret = self._current_secret(credential)
        except OAuthError as error:
            await self._refused("credential.lease_denied", error, request=request, agent=agent,
                                credential=credential_id[:128])
            raise
        await self.audit("credential.leased", agent=agent, decision="allow", reason="current secret served",
                         credential=credential.id, version=credential.current.version, lease=lease(credential))
        return HttpResponse.json_body({"credential": credential.id, "account": credential.account,
                                       "secret": secret, "version": credential.current.version,
                                       "lease_seconds": lease(credential)}, no_store=True)

    async def rotate_endpoint(self, request: HttpRequest, credential_id: str) -> HttpResponse:
        self._operator(request)
        credential = self._credential(credential_id)
        try:
            credential = await self._rotate(credential, retain=True, reason="rotation requested by an operator")
        except TargetRefused as error:
            raise TemporarilyUnavailable(str(error)) from None
        return HttpResponse.json_body(self.describe(credential))

    async def revoke_endpoint(self, request: HttpRequest, credential_id: str) -> HttpResponse:
        self._operator(request)
        credential = self._credential(credential_id)
        ended: list = []  # the target's report of the live tokens it revoked with the account (if any)
        if credential.revoked_at is None:
            try:
                ended = await self._target(credential.system).disable(account=credential.account) or []
            except TargetRefused as error:
                raise TemporarilyUnavailable(str(error)) from None
            credential = attrs.evolve(credential, revoked_at=self.runtime.clock.now())
            self.store.save(credential)
            await self.audit("credential.revoked", agent=credential.agent, decision="allow",
                             reason="account disabled at the target and secrets destroyed", credential=credential.id,
                             system=credential.system, account=credential.account,
                             tokens=sum(int(row.get("tokens", 0)) for row in ended))
        return HttpResponse.json_body({**self.describe(credential), "revoked_tokens": ended})

    async def jit_endpoint(self, request: HttpRequest) -> HttpResponse:
        agent, system, privileges = None, "", ()
        try:
            agent = self._agent(request)
            form = request.form()
            system = form.get("system", "")
            privileges = tuple(sorted(set(form.get("privileges", "").split())))
            allowed = self.jit_allowed.get(agent, frozenset())
            beyond = [p for p in privileges if f"{system}:{p}" not in allowed]
            if beyond or not privileges:
                raise AccessDenied(f"privilege outside the JIT policy: {' '.join(beyond) or '(none requested)'}")
            try:
                ttl = int(form.get("ttl", "3600"))
                grant = jit_grant(grant_id=self._secrets_entropy.hex(4), agent=agent, system=system,
                                  privileges=privileges, reason=form.get("reason", ""), ttl=ttl,
                                  now=self.runtime.clock.now())
            except (ValueError, PolicyError) as error:
                raise InvalidRequest(str(error)) from None
            secret = generate_secret(CredentialKind.DATABASE_PASSWORD, entropy=self._secrets_entropy,
                                     subject=grant.username, now=grant.issued_at, valid_for=ttl)
            self.runtime.secrets.add(secret)
            try:
                await self._target(system).create_temporary(username=grant.username, secret=secret,
                                                            privileges=privileges, expires_at=grant.expires_at)
            except TargetRefused as error:
                raise TemporarilyUnavailable(str(error)) from None
        except OAuthError as error:
            await self._refused("jit.denied", error, request=request, agent=agent, privileges=list(privileges)[:20],
                                **({"system": system[:128]} if system else {}))
            raise
        self.store.save_jit(grant, active=True)
        self.changed()
        await self.audit("jit.issued", agent=agent, decision="allow", reason=grant.reason, grant=grant.id,
                         system=system, username=grant.username, privileges=list(privileges),
                         expires_at=grant.expires_at)
        return HttpResponse.json_body({**grant.to_json(), "password": secret, "expires_in": ttl}, no_store=True)

"""Administrative grant APIs for the systems that had none, so governance can read and remove an
agent's access in each system itself (SPEC capability 10: "deprovisioning removes every grant").

- **Token vault** (``install_vault_grants_api``): an agent's registration at the vault — which
  integrations it may obtain tokens for, with which scopes. ``GET /admin/agents/{agent}``;
  ``DELETE /admin/agents/{agent}/grants/{integration}`` removes one integration (the vault then
  refuses that exchange with ``invalid_target``); ``DELETE /admin/agents/{agent}`` removes every
  grant and the agent's client registration (its client assertions are refused, ``invalid_client``).
- **Client registrations** at an authorization server (``install_clients_api``: the pricing AS, the
  enterprise IdP): ``GET /admin/clients`` lists the registered clients with the platform agent
  each one belongs to; ``DELETE /admin/clients/{client_id}`` removes a registration, so the
  server refuses the client from then on (RFC 7591 §2's registration undone, like RFC 7592
  ``DELETE``), and lets the server revoke the tokens it issued to it.

Both are mounted in front of the actor's own dispatcher (``HttpActor.intercept``) and protected by
an operator bearer token (``actors.operator_access.OperatorTokens``). Every removal is audited by
the system that performs it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from typing import Any
from urllib.parse import unquote

from actors.operator_access import OperatorTokens
from actors.runtime.actor import HttpActor
from actors.vault import VaultActor
from protocols.http import HttpRequest, HttpResponse
from protocols.oauth.errors import MethodNotAllowed, NotFound, OAuthError

AGENTS_PREFIX, CLIENTS_PREFIX = "/admin/agents", "/admin/clients"
VAULT_MECHANISM = "RFC 7009 revocation by the token vault"


def _parts(request: HttpRequest, prefix: str) -> list[str] | None:
    if request.path != prefix and not request.path.startswith(prefix + "/"):
        return None
    return [unquote(p) for p in request.path[len(prefix):].split("/") if p]


def install_vault_grants_api(vault: VaultActor, tokens: OperatorTokens) -> None:
    def describe(agent: str) -> dict[str, Any]:
        grants = vault.agent_grants.get(agent, {})
        return {"agent": agent, "registered": agent in vault.clients, "grants": [
            {"integration": name, "provider": vault.integrations[name].provider if name in vault.integrations else "",
             "scopes": sorted(scopes)} for name, scopes in sorted(grants.items())]}

    async def answer(request: HttpRequest, parts: list[str]) -> HttpResponse:
        tokens.check(request, what="a token vault")
        if not parts:
            raise NotFound("name an agent: /admin/agents/{agent}")
        agent = parts[0]
        if request.method == "GET" and len(parts) == 1:
            return HttpResponse.json_body(describe(agent))
        if request.method != "DELETE" or len(parts) not in (1, 3) or (len(parts) == 3 and parts[1] != "grants"):
            raise MethodNotAllowed(f"{request.method} is not allowed on {request.path}")
        if agent not in vault.clients and agent not in vault.agent_grants:
            raise NotFound(f"agent {agent!r} is not registered at this vault")
        grants = dict(vault.agent_grants.get(agent, {}))
        if len(parts) == 3:
            if parts[2] not in grants:
                raise NotFound(f"agent {agent!r} holds no grant for integration {parts[2]!r}")
            scopes = grants.pop(parts[2])
            vault.agent_grants[agent] = grants
            await vault.audit("vault.grant_revoked", agent=agent, decision="revoke",
                              reason="integration removed from the agent's registration by governance",
                              connection=parts[2], scope=" ".join(sorted(scopes)))
            revoked = await vault.revoke_served(agent, integration=parts[2], reason=f"{parts[2]} withdrawn by governance")
            return HttpResponse.json_body({**describe(agent), **_revocation(revoked)})
        vault.agent_grants.pop(agent, None)
        vault.clients.pop(agent, None)
        await vault.audit("vault.agent_removed", agent=agent, decision="revoke",
                          reason="agent deregistered: every integration and its client registration removed",
                          removed=sorted(grants))
        revoked = await vault.revoke_served(agent, reason="agent deregistered by governance")
        return HttpResponse.json_body({**describe(agent), **_revocation(revoked)})

    vault.intercept(_guarded(AGENTS_PREFIX, answer, actor=vault))


def _revocation(per_system: Mapping[str, int]) -> dict[str, Any]:
    """The ``revoked_tokens`` member of an answer: system → live tokens it revoked (RFC 7009)."""
    return {"revoked_tokens": [{"system": system, "tokens": count, "mechanism": VAULT_MECHANISM}
                               for system, count in sorted(per_system.items())]}


def install_clients_api(actor: HttpActor, *, clients: MutableMapping[str, Any], tokens: OperatorTokens,
                        agent_names: Callable[[], Mapping[str, str]] = dict,
                        on_remove: Callable[[str], Any] | None = None) -> None:
    """``clients``: the server's own registry (client id → ``ClientRegistration``); ``agent_names``:
    client id → platform agent id where they differ; ``on_remove(client_id)``: the server's own
    revocation of what it issued to that client, returning ``{"tokens": n, "mechanism": ...,
    "revoked_jtis": [...]}`` (audited, and answered as ``revoked_tokens``) or ``None``."""

    def describe(client_id: str) -> dict[str, Any]:
        registration = clients[client_id]
        return {"client_id": client_id, "agent": agent_names().get(client_id, client_id),
                "name": registration.name, "scopes": sorted(registration.scopes),
                "grant_types": sorted(registration.grant_types)}

    async def answer(request: HttpRequest, parts: list[str]) -> HttpResponse:
        tokens.check(request, what=f"an {actor.name} administrator")
        if request.method == "GET" and not parts:
            return HttpResponse.json_body({"clients": [describe(c) for c in sorted(clients)]})
        if request.method == "GET" and len(parts) == 1:
            if parts[0] not in clients:
                raise NotFound(f"no client {parts[0]!r}")
            return HttpResponse.json_body(describe(parts[0]))
        if request.method != "DELETE" or len(parts) != 1:
            raise MethodNotAllowed(f"{request.method} is not allowed on {request.path}")
        if parts[0] not in clients:
            raise NotFound(f"no client {parts[0]!r}")
        removed = describe(parts[0])
        del clients[parts[0]]
        detail = dict(on_remove(parts[0]) or {}) if on_remove is not None else {}
        await actor.audit("access.client_removed", agent=removed["agent"], decision="revoke",
                          reason="client registration removed by governance; the server refuses it from now on",
                          client_id=parts[0], scope=" ".join(removed["scopes"]), **detail)
        revoked = [{"system": actor.name, **detail}] if detail else []
        return HttpResponse.json_body({"removed": removed, "revoked_tokens": revoked})

    actor.intercept(_guarded(CLIENTS_PREFIX, answer, actor=actor))


def _guarded(prefix: str, answer: Callable[[HttpRequest, list[str]], Any], *, actor: HttpActor) -> Callable[..., Any]:
    """Serve ``prefix`` with ``answer``; every refusal (no or a wrong operator token, an unknown agent
    or client, a method not allowed) is audited by ``actor`` as ``access.request_refused``."""
    async def intercept(request: HttpRequest) -> HttpResponse | None:
        parts = _parts(request, prefix)
        if parts is None:
            return None
        try:
            return await answer(request, parts)
        except OAuthError as error:
            await actor.audit("access.request_refused", decision="deny", reason=f"{error.error}: {error.description}",
                              api="admin", method=request.method, path=request.path[:200])
            return error.to_response()
    return intercept

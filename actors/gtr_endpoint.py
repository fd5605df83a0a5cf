"""A Global Token Revocation endpoint mounted on an authorization server actor
(draft-parecki-oauth-global-token-revocation-05, ``protocols.global_token_revocation``).

``GtrEndpoint.mount`` adds ``POST /oauth/global-token-revocation`` in front of the host's own
dispatcher. Only the configured callers (the incident-response orchestrator) may call it, each
authenticated by a signed JWT addressed to this endpoint. The subject (``sub_id``) is resolved to
the host's principals — ``iss_sub`` of a trusted issuer, ``opaque`` id or e-mail, every alias of an
``aliases`` identifier — and the host's ``revoke`` callback (run in the host's task) revokes every
refresh token, access token and session it holds for each principal it knows and refuses new
tokens until it is reinstated. ``204`` when done, ``404`` when the host knows none of them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from actors.runtime.actor import HttpActor
from protocols.global_token_revocation import (
    GTR_PATH, CannotLogOut, GtrError, SubjectNotFound, parse_revocation_request,
)
from protocols.http import HttpRequest, HttpResponse
from protocols.jose.jwks import JwkSet
from protocols.oauth.client_auth import AssertionReplayCache
from protocols.subject_identifiers import local_names

Revoke = Callable[[str], Awaitable["Mapping[str, Any] | None"]]
"""The host's revocation of one principal: details of what was revoked, or ``None`` if unknown."""


@attrs.define(eq=False)
class GtrEndpoint:
    host: HttpActor
    revoke: Revoke
    callers: dict[str, JwkSet] = attrs.field(factory=dict)
    issuers: frozenset[str] = attrs.field(default=frozenset(), converter=frozenset)
    path: str = GTR_PATH
    _replay: AssertionReplayCache = attrs.field(factory=AssertionReplayCache)

    @property
    def endpoint(self) -> str:
        return self.host.url(self.path)

    def mount(self) -> GtrEndpoint:
        self.host.intercept(self._intercept)
        return self

    async def _intercept(self, request: HttpRequest) -> HttpResponse | None:
        if request.path != self.path:
            return None
        if request.method.upper() != "POST":
            return HttpResponse.json_body({"error": "invalid_request", "error_description": "use POST"},
                                          status=405, headers={"allow": "POST"})
        caller = None
        try:
            asked = parse_revocation_request(request, endpoint=self.endpoint, callers=self.callers,
                                             now=self.host.runtime.clock.now(), replay=self._replay)
            caller = asked.caller
            done: dict[str, Any] = {}
            for principal in local_names(asked.subject, issuers=self.issuers):
                try:
                    revoked = await self.revoke(principal)
                except Exception as error:  # noqa: BLE001 - the host could not complete: 422, never a 500
                    raise CannotLogOut(f"revocation failed ({type(error).__name__})") from None
                if revoked is not None:
                    done[principal] = dict(revoked)
            if not done:
                raise SubjectNotFound("the subject identifier names no principal known here")
        except GtrError as error:
            await self.host.audit("gtr.refused", decision="deny", reason=error.error, caller=caller,
                                  description=error.description, status=error.status)
            return error.to_response()
        await self.host.audit("gtr.revoked", agent=next(iter(done)), decision="allow",
                              reason=f"global token revocation requested by {caller}", caller=caller,
                              principals=done)
        return HttpResponse(status=204, headers={"cache-control": "no-store"})

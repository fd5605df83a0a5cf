"""The B2C-consent scenario's phases (SPEC.md "Other scenarios"): consumers decide on a consent
screen; employees' access is decided by their employer's IT policy, with no screen at all.

- :func:`phase_connect` (phases 1–3): an app asks a consumer for access; their browser sees the
  consent screen and answers as the world says (``[[consent.decisions]]``: the boxes ticked —
  fewer than requested downgrades the grant; none cancels, and the app receives ``access_denied``
  per RFC 6749 §4.1.2.1). The app then calls the API: what was granted works, what was declined is
  ``403 insufficient_scope``.
- :func:`phase_review_and_revoke` (phase 4): the consumer opens their connected apps at the
  provider, sees the consent on record and removes it; the app's refresh token stops working
  (``invalid_grant``) and so does its access token (``401``).
- :func:`phase_employee_policy` (phase 5): the employee's scheduling agent gets Workspace access
  with no consent screen (admin-approved); asking for a scope beyond the policy, or the employee
  trying a consumer app with their work account, is refused by policy — no screen is offered, so
  the user cannot grant it.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from actors.browser import BrowsingResult, Navigate, Submit
from actors.oauth_app import OAuthApp
from actors.saas.fitness_tracker import API as FITNESS_API, KINDS
from actors.saas.google_workspace import CALENDAR
from protocols.consent_policy import CONNECTIONS_PATH, REVOKE_PATH
from protocols.http import MalformedBody
from scenarios.b2c_consent import ConsentCast
from scenarios.phase_result import PhaseResult
from scenarios.world import PhaseSpec


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def consent_screen_shown(result: BrowsingResult) -> bool:
    """Whether the person answered a consent screen during this navigation (they post it to /consent)."""
    return any(v.method == "POST" and v.url.endswith("/consent") for v in result.visits)


async def _probes(cast: ConsentCast, app: OAuthApp, person: str, provider: str) -> dict[str, int]:
    """The app's API calls for the person: scope → HTTP status."""
    base = cast.provider(provider).base_url
    if provider == "google":
        read = await app.call(person, "GET", f"{base}{CALENDAR}/calendars/primary/events")
        write = await app.call(person, "POST", f"{base}{CALENDAR}/calendars/primary/events", payload={
            "summary": f"Trip booked by {app.display_name}", "start": {"dateTime": "2025-06-20T08:00:00Z"},
            "end": {"dateTime": "2025-06-20T10:00:00Z"}})
        return {"calendar.readonly": read.status, "calendar.events": write.status}
    return {scope: (await app.call(person, "GET", f"{base}{FITNESS_API}/users/me/{kind}")).status
            for kind, scope in KINDS.items()}


async def phase_connect(cast: ConsentCast, phase: PhaseSpec) -> PhaseResult:
    person, spec = cast.world.person(phase.user), cast.settings.app(phase.agent)
    app, provider = cast.apps[phase.agent], cast.provider(spec.provider)
    decision = cast.settings.decision(phase.user, phase.agent)
    ticks = decision.grant if decision is not None else ()
    browser = cast.browsers[phase.user]
    browser.consents[_origin(provider.base_url)] = ticks
    result = await browser.ask(Navigate(url=app.connect_url(phase.user)))
    shown = consent_screen_shown(result)
    facts: dict[str, object] = {"app": app.display_name, "provider": provider.display_name,
                                "requested": " ".join(spec.scopes), "consent screen shown": shown,
                                "ticked": " ".join(ticks) or "nothing (cancel)"}
    expected = tuple(s for s in spec.scopes if s in ticks)
    if not expected:
        refusal = app.refusals.get(phase.user, "")
        ok = shown and refusal.startswith("access_denied") and phase.user not in app.grants
        facts["answer at the app's redirect URI"] = refusal or "none"
        outcome = (f"{person.name} saw {app.display_name}'s consent screen at {provider.display_name} and "
                   f"declined: the app received access_denied (RFC 6749 §4.1.2.1) and holds no token.")
        return PhaseResult(number=phase.number, name=phase.name, ok=ok, outcome=outcome if ok else
                           f"Declining did not end as expected: screen shown {shown}, answer {refusal or 'none'}.",
                           facts=facts)
    grant = app.grants.get(phase.user)
    granted = grant.scope if grant is not None else ()
    probes = await _probes(cast, app, phase.user, spec.provider) if grant is not None else {}
    wrong = {s: status for s, status in probes.items()
             if (status == 200) != (s in granted or (s == "calendar.readonly" and "calendar.events" in granted))}
    declined = [s for s in spec.scopes if s not in granted]
    ok = shown and tuple(granted) == expected and bool(probes) and not wrong
    facts |= {"granted": " ".join(granted), "declined": " ".join(declined) or "none",
              "API calls": ", ".join(f"{s} → {status}" for s, status in probes.items())}
    outcome = (f"{person.name} saw {app.display_name}'s consent screen at {provider.display_name} and allowed "
               f"{' '.join(granted)}" + (f" but not {' '.join(declined)}" if declined else "") +
               "; the token carries exactly that, and the API refuses the rest (403).")
    if not ok:
        outcome = (f"Consent did not hold: screen shown {shown}, granted {' '.join(granted) or 'nothing'} "
                   f"(expected {' '.join(expected)}), unexpected API answers {wrong or 'none'}.")
    return PhaseResult(number=phase.number, name=phase.name, ok=ok, outcome=outcome, facts=facts)


async def phase_review_and_revoke(cast: ConsentCast, phase: PhaseSpec) -> PhaseResult:
    person, spec = cast.world.person(phase.user), cast.settings.app(phase.agent)
    app, provider = cast.apps[phase.agent], cast.provider(spec.provider)
    browser = cast.browsers[phase.user]
    refreshed_before, _ = await app.refresh(phase.user)
    listing = await browser.ask(Navigate(url=provider.url(CONNECTIONS_PATH)))
    try:
        page = json.loads(listing.body) if listing.status == 200 else {}
    except (ValueError, MalformedBody):
        page = {}
    listed = {a["client_id"]: a for a in page.get("apps", [])}
    entry = listed.get(app.client_id)
    revoke = await browser.ask(Submit(url=provider.url(REVOKE_PATH), form={
        "client_id": app.client_id, "revoke_guard": page.get("revoke_guard", "")}))
    refreshed_after, error = await app.refresh(phase.user)
    probe = f"{CALENDAR}/calendars/primary/events" if spec.provider == "google" else f"{FITNESS_API}/users/me/activity"
    call = await app.call(phase.user, "GET", provider.base_url + probe)
    after = await browser.ask(Navigate(url=provider.url(CONNECTIONS_PATH)))
    still_listed = app.client_id in after.body
    ok = (refreshed_before and entry is not None and revoke.status == 200 and not refreshed_after
          and error == "invalid_grant" and call.status == 401 and not still_listed)
    outcome = (f"{person.name} found {app.display_name} among her connected apps at {provider.display_name} "
               f"({' '.join(entry['scopes']) if entry else '?'}) and removed it: its next refresh was refused "
               f"({error}) and its access token no longer works (HTTP {call.status}).")
    if not ok:
        outcome = (f"Revocation did not hold: listed {entry is not None}, revoke HTTP {revoke.status}, refresh "
                   f"after: {'works' if refreshed_after else error}, API HTTP {call.status}.")
    return PhaseResult(number=phase.number, name=phase.name, ok=ok, outcome=outcome, facts={
        "connected apps listed": ", ".join(sorted(listed)) or "none",
        "consent on record": " ".join(entry["scopes"]) if entry else "none",
        "refresh before revocation": "ok" if refreshed_before else "refused",
        "refresh after revocation": "ok" if refreshed_after else error,
        "API call after revocation": call.status})


async def phase_employee_policy(cast: ConsentCast, phase: PhaseSpec) -> PhaseResult:
    person, spec = cast.world.person(phase.user), cast.settings.app(phase.agent)
    app, browser = cast.apps[phase.agent], cast.browsers[phase.user]
    policy = cast.settings.policy
    browser.consents.pop(_origin(cast.google.base_url), None)  # an employee never answers a screen here
    approved = policy.approved.get(phase.agent, ())
    first = await browser.ask(Navigate(url=app.connect_url(phase.user)))
    grant = app.grants.get(phase.user)
    beyond = next((s for s in ("gmail.readonly", "drive.readonly", "drive") if s not in approved), None)
    extra = await browser.ask(Navigate(url=app.connect_url(phase.user, scope=(*spec.scopes, beyond))))
    refused_scope = app.refusals.get(phase.user, "")
    others = [a for a in cast.apps.values() if a.name != app.name and a.issuer == cast.google.base_url]
    consumer_app = others[0] if others else None
    blocked = await browser.ask(Navigate(url=consumer_app.connect_url(phase.user))) if consumer_app else None
    consumer_refusal = consumer_app.refusals.get(phase.user, "") if consumer_app else ""
    screens = sum(consent_screen_shown(r) for r in (first, extra, blocked) if r is not None)
    entries = cast.runtime.audit.store.entries()
    consent_events = sum(1 for e in entries if e.event.startswith("consent."))
    policy_events = [e for e in entries if e.event.startswith("policy.")]
    ok = (grant is not None and set(grant.scope) == set(spec.scopes) and screens == 0
          and refused_scope.startswith("access_denied") and (consumer_app is None
                                                             or consumer_refusal.startswith("access_denied")))
    outcome = (f"{person.name}'s {app.display_name} got {' '.join(grant.scope) if grant else 'nothing'} at "
               f"{policy.domain}'s Google Workspace with no consent screen (admin-approved); {beyond} beyond the "
               f"policy was refused" + (f", and {consumer_app.display_name} is not approved for work accounts"
                                        if consumer_app else "") + " — the user was never asked.")
    if not ok:
        outcome = (f"IT policy did not hold: granted {grant.scope if grant else None}, consent screens {screens}, "
                   f"beyond-policy answer {refused_scope or 'none'}, consumer app answer {consumer_refusal or 'none'}.")
    return PhaseResult(number=phase.number, name=phase.name, ok=ok, outcome=outcome, facts={
        "policy": f"{policy.domain}: users may consent = {str(policy.users_may_consent).lower()}; approved "
                  f"{phase.agent} for {' '.join(approved)}",
        "granted without a screen": " ".join(grant.scope) if grant else "nothing",
        f"asking also for {beyond}": refused_scope or "granted",
        "consumer app with a work account": consumer_refusal or "n/a",
        "consent screens shown to the employee": screens,
        "policy decisions (allowed / denied)": (f"{sum(e.decision == 'allow' for e in policy_events)} / "
                                                f"{sum(e.decision == 'deny' for e in policy_events)}"),
        "consent events in the run (B2C)": consent_events})


B2C_CONSENT_PHASES = {1: phase_connect, 2: phase_connect, 3: phase_connect, 4: phase_review_and_revoke,
                      5: phase_employee_policy}

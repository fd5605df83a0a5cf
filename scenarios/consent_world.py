"""The ``[consent]`` section of a world file: B2C consent versus B2B access governed by IT policy.

```toml
[consent]
google = "google-accounts"        # the Google authorization server + Calendar API actor
fitness = "fittrack"              # the fitness tracker (its own authorization server and API)
fitness_title = "FitTrack"

[[consent.apps]]                  # third-party and corporate applications (each an [[agents]] entry)
agent = "travelbot"
provider = "google"               # google | fitness
scopes = ["calendar.readonly", "calendar.events"]

[[consent.decisions]]             # what a person does on an app's consent screen
person = "emma"
app = "travelbot"
grant = ["calendar.readonly"]     # the boxes they tick (fewer than requested: scope downgrading); [] = cancel

[consent.policy]                  # the employer's policy for its Google Workspace tenant
domain = "acmecorp.example"       # default: [organization] domain
users_may_consent = false
approved = [{ app = "acme-scheduler", scopes = ["calendar.readonly", "calendar.events"] }]
```

Problems raise :class:`ConsentSectionError` naming the field.
"""

from __future__ import annotations

from typing import Any

import attrs

from actors.saas import fitness_tracker, google_workspace

PROVIDERS = ("google", "fitness")
SCOPES = {"google": frozenset(google_workspace.SCOPES) - {"admin.readonly", "admin.reports"},
          "fitness": frozenset(fitness_tracker.SCOPES)}


class ConsentSectionError(ValueError):
    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"consent{where}: {problem}")
        self.where = where
        self.problem = problem


@attrs.frozen(kw_only=True)
class AppSpec:
    agent: str
    provider: str
    scopes: tuple[str, ...]


@attrs.frozen(kw_only=True)
class ConsentDecision:
    person: str
    app: str
    grant: tuple[str, ...]


@attrs.frozen(kw_only=True)
class PolicySpec:
    domain: str
    users_may_consent: bool
    approved: dict[str, tuple[str, ...]]


@attrs.frozen(kw_only=True)
class ConsentSettings:
    google: str
    fitness: str
    fitness_title: str
    apps: tuple[AppSpec, ...]
    decisions: tuple[ConsentDecision, ...]
    policy: PolicySpec

    def app(self, agent: str) -> AppSpec:
        return next(a for a in self.apps if a.agent == agent)

    def decision(self, person: str, app: str) -> ConsentDecision | None:
        return next((d for d in self.decisions if d.person == person and d.app == app), None)


def _keys(data: dict[str, Any], allowed: set[str], where: str) -> None:
    bad = sorted(set(data) - allowed)
    if bad:
        raise ConsentSectionError(f"{where}.{bad[0]}", f"unknown key (use {', '.join(sorted(allowed))})")


def _text(data: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise ConsentSectionError(f"{where}.{key}", "missing" if value is None else "expected a non-empty string")
    return value


def _scopes(data: dict[str, Any], key: str, where: str, provider: str, *, empty_ok: bool = False) -> tuple[str, ...]:
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value) or (not value and not empty_ok):
        raise ConsentSectionError(f"{where}.{key}", "expected a list of scope strings")
    unknown = [s for s in value if s not in SCOPES[provider]]
    if unknown:
        raise ConsentSectionError(f"{where}.{key}", f"unknown {provider} scope {unknown[0]!r}")
    return tuple(value)


def _tables(section: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = section.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConsentSectionError(f".{key}", "expected an array of tables")
    return value


def parse_consent(section: Any, *, person_ids: set[str], agent_ids: set[str], domain: str) -> ConsentSettings | None:
    if section is None:
        return None
    if not isinstance(section, dict):
        raise ConsentSectionError("", "expected a table")
    _keys(section, {"google", "fitness", "fitness_title", "apps", "decisions", "policy"}, "")
    apps: list[AppSpec] = []
    for i, raw in enumerate(_tables(section, "apps")):
        where = f".apps[{i}]"
        _keys(raw, {"agent", "provider", "scopes"}, where)
        agent = _text(raw, "agent", where)
        if agent not in agent_ids:
            raise ConsentSectionError(f"{where}.agent", f"unknown agent {agent!r}")
        provider = _text(raw, "provider", where)
        if provider not in PROVIDERS:
            raise ConsentSectionError(f"{where}.provider", f"must be one of {', '.join(PROVIDERS)}")
        apps.append(AppSpec(agent=agent, provider=provider, scopes=_scopes(raw, "scopes", where, provider)))
    by_agent = {a.agent: a for a in apps}
    decisions = []
    for i, raw in enumerate(_tables(section, "decisions")):
        where = f".decisions[{i}]"
        _keys(raw, {"person", "app", "grant"}, where)
        person, app = _text(raw, "person", where), _text(raw, "app", where)
        if person not in person_ids:
            raise ConsentSectionError(f"{where}.person", f"unknown person {person!r}")
        if app not in by_agent:
            raise ConsentSectionError(f"{where}.app", f"unknown app {app!r} (not in [[consent.apps]])")
        decisions.append(ConsentDecision(person=person, app=app,
                                         grant=_scopes(raw, "grant", where, by_agent[app].provider, empty_ok=True)))
    raw_policy = section.get("policy", {})
    if not isinstance(raw_policy, dict):
        raise ConsentSectionError(".policy", "expected a table")
    _keys(raw_policy, {"domain", "users_may_consent", "approved"}, ".policy")
    may_consent = raw_policy.get("users_may_consent", False)
    if not isinstance(may_consent, bool):
        raise ConsentSectionError(".policy.users_may_consent", "expected true or false")
    approved: dict[str, tuple[str, ...]] = {}
    for i, raw in enumerate(_tables(raw_policy, "approved")):
        where = f".policy.approved[{i}]"
        _keys(raw, {"app", "scopes"}, where)
        app = _text(raw, "app", where)
        if app not in by_agent or by_agent[app].provider != "google":
            raise ConsentSectionError(f"{where}.app", f"{app!r} is not a Google app of [[consent.apps]]")
        approved[app] = _scopes(raw, "scopes", where, "google")
    return ConsentSettings(google=_text(section, "google", "", default="google-accounts"),
                           fitness=_text(section, "fitness", "", default="fittrack"),
                           fitness_title=_text(section, "fitness_title", "", default="FitTrack"),
                           apps=tuple(apps), decisions=tuple(decisions),
                           policy=PolicySpec(domain=_text(raw_policy, "domain", ".policy", default=domain).lower(),
                                             users_may_consent=may_consent, approved=approved))

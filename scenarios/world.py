"""World files (TOML): the cast, systems and phases of a scenario, parsed into frozen values.

A world file declares who exists (people, agents), which systems run (the enterprise IdP, the
Google IdP) with their settings, when each phase happens and what the run is expected to show
(``[[expectations]]``, ``scenarios.expectations``). ``load_world`` refuses anything it does not
understand — bad TOML, an unknown section or field, an unknown person, a model OpenFGA would refuse —
with a one-line ``WorldError`` naming the file, the line and the field:
``my-world.toml:42: people[1].manager: unknown person 'bob'``. A world file may extend another
(``[scenario] extends``, ``scenarios.world_extends``): an error then names the file the value is in.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import attrs

from protocols.governance import RoleTemplate
from protocols.jose.keys import Algorithm
from protocols.role_templates import ROLE_TEMPLATES
from scenarios.expectations import Expectation, parse_expectations
from scenarios.role_templates_world import agent_type, parse_role_templates
from scenarios.rotation_world import RotationSpec, parse_rotations, rotation_policy
from scenarios.world_extends import ExtendsError, WorldIndex, resolve_world
from scenarios.world_approvals import ApprovalSection, parse_approvals
from scenarios.world_schema import unknown_field
from scenarios.fga_world import FgaSectionError, FgaSettings, parse_fga
from scenarios.rag_world import RagSectionError, RagSettings, parse_rag
from scenarios.consent_world import ConsentSectionError, ConsentSettings, parse_consent
from scenarios.detection_world import SecuritySectionError, SecuritySettings, parse_security
from scenarios.mcp_world import McpSectionError, McpSettings, parse_mcp
from scenarios.vault_world import ConnectedSystems, parse_agent_integrations, parse_connected_systems
from scenarios.cross_domain_world import (
    ManagedConnectionSpec, PricingSettings, parse_managed_connections, parse_pricing,
)

WORLDS_DIR = Path(__file__).parent / "worlds"
LOGIN_METHODS = ("google", "password")


class WorldError(ValueError):
    """A world file that cannot be used; the message is one line ``FILE:LINE: FIELD: PROBLEM``.

    ``source`` and ``line`` are the file and the 1-based line the problem is at (``None`` only for
    a file that cannot be read at all).
    """

    def __init__(self, message: str, *, source: str = "", line: int | None = None) -> None:
        super().__init__(message)
        self.source = source
        self.line = line


def world_error(*, source: str, line: int | None, where: str, problem: str) -> WorldError:
    """``FILE:LINE: WHERE: PROBLEM`` (``WHERE`` omitted when empty)."""
    at = f"{source}:{line}" if line is not None else source
    return WorldError(f"{at}: {where}: {problem}" if where else f"{at}: {problem}", source=source, line=line)


@attrs.frozen(kw_only=True)
class Person:
    id: str
    name: str
    email: str
    login: str
    role: str
    territory: str
    team: str = ""
    manager: str = ""


@attrs.frozen(kw_only=True)
class AgentSpec:
    id: str
    name: str
    owner: str
    purpose: str
    client_auth: str
    signing_alg: Algorithm
    scopes: tuple[str, ...]
    integrations: dict[str, tuple[str, ...]] = attrs.field(factory=dict)
    """What the token vault may give this agent: integration → scopes (``[agents.integrations]``)."""
    agent_type: str = ""
    """The role template it is registered with (``metadata.agent_type``); "" = the scenario's default."""


@attrs.frozen(kw_only=True)
class IdpSettings:
    name: str
    signing_alg: Algorithm
    id_token_lifetime: int
    access_token_lifetime: int
    session_lifetime: int
    key_rotation_days: int


@attrs.frozen(kw_only=True)
class GoogleSettings:
    name: str
    signing_alg: Algorithm


@attrs.frozen(kw_only=True)
class PhaseSpec:
    number: int
    name: str
    at: datetime
    user: str
    agent: str
    where: str = attrs.field(default="", eq=False)
    """Its place in the file (``phases[3]``), for errors found after parsing."""


@attrs.frozen(kw_only=True)
class World:
    source: str
    sha256: str
    """SHA-256 of the file; of it and its bases, in order, each after its length in bytes, if it
    extends another (``scenarios.world_extends``): a change in a base changes it."""
    name: str
    title: str
    epoch: datetime
    organization: str
    domain: str
    idp: IdpSettings
    google: GoogleSettings
    people: tuple[Person, ...]
    agents: tuple[AgentSpec, ...]
    phases: tuple[PhaseSpec, ...]
    fga: FgaSettings | None = None
    mcp: McpSettings | None = None
    pricing: PricingSettings | None = None
    managed_connections: tuple[ManagedConnectionSpec, ...] = ()
    approvals: ApprovalSection = attrs.field(factory=ApprovalSection)
    """Approval rules, approvers and proposed actions (``scenarios.world_approvals``)."""
    connected: ConnectedSystems = attrs.field(factory=ConnectedSystems)
    """The token vault, the SaaS providers and their integrations (``scenarios.vault_world``)."""
    security: SecuritySettings | None = None
    """Threat detection, the agents' routine and the phase-8 attack (``scenarios.detection_world``)."""
    rag: RagSettings | None = None
    """The financial RAG agent's report index and question (``scenarios.rag_world``)."""
    consent: ConsentSettings | None = None
    """B2C consent and the employer's IT policy (``scenarios.consent_world``)."""
    rotations: tuple[RotationSpec, ...] = ()
    """Rotation periods of the agents' vaulted credentials (``[[credential_rotation]]``)."""
    expectations: tuple[Expectation, ...] = ()
    """What the finished run must show (``[[expectations]]``, checked by ``trustbench check``)."""
    role_templates: dict[str, RoleTemplate] = attrs.field(factory=lambda: dict(ROLE_TEMPLATES))
    """Agent types by name: the built-in ones with the world's ``[[role_templates]]`` merged over them."""
    index: WorldIndex | None = attrs.field(default=None, eq=False, repr=False)
    """Which file and line each key comes from (for errors found after parsing, e.g. by the runner)."""

    def error(self, where: str, problem: str) -> WorldError:
        """A ``WorldError`` at the line of ``where`` (e.g. ``phases[2].number``) in the file it is in."""
        source, line, where = self.index.place(where) if self.index is not None else (self.source, None, where)
        return world_error(source=source, line=line or 1, where=where, problem=problem)

    def rotation_policy(self, agent_id: str, *, default: dict[str, int]) -> dict[str, int]:
        """The vault rotation policy of ``agent_id``'s credential: the world's, else ``default``."""
        return rotation_policy(self.rotations, agent_id, default=default)

    def person(self, person_id: str) -> Person:
        return next(p for p in self.people if p.id == person_id)

    def agent(self, agent_id: str) -> AgentSpec:
        return next(a for a in self.agents if a.id == agent_id)


class _Reader:
    """Typed field access with one-line errors: ``FILE:LINE: people[0].email: expected a string``.

    The file and line are those of the field, else of its closest enclosing table that is in the
    file (a missing key points at its table), else line 1 (a missing section); in a world that
    extends another, the file is the one the field (or table) comes from.
    """

    def __init__(self, source: str, index: WorldIndex) -> None:
        self.source = source
        self.index = index

    def fail(self, where: str, problem: str, *, line: int | None = None) -> WorldError:
        source, found, where = self.index.place(where)
        return world_error(source=source, line=line or found or 1, where=where, problem=problem)

    def table(self, data: dict[str, Any], key: str, where: str = "") -> dict[str, Any]:
        value = data.get(key)
        if not isinstance(value, dict):
            raise self.fail(f"{where}{key}", "missing table" if value is None else "expected a table")
        return value

    def tables(self, data: dict[str, Any], key: str) -> list[dict[str, Any]]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(key, "expected an array of tables ([[...]])")
        return value

    def string(self, data: dict[str, Any], key: str, where: str, *, default: str | None = None) -> str:
        value = data.get(key, default)
        if value is None:
            raise self.fail(f"{where}.{key}", "missing")
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{where}.{key}", "expected a non-empty string")
        return value

    def positive_int(self, data: dict[str, Any], key: str, where: str) -> int:
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"{where}.{key}", "expected an integer")
        if value <= 0:
            raise self.fail(f"{where}.{key}", f"must be positive, got {value}")
        return value

    def instant(self, data: dict[str, Any], key: str, where: str) -> datetime:
        raw = self.string(data, key, where)
        try:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise self.fail(f"{where}.{key}", f"not an ISO 8601 time: {raw!r}") from None
        if value.tzinfo is None:
            raise self.fail(f"{where}.{key}", "needs a time zone (e.g. a trailing Z)")
        return value

    def algorithm(self, data: dict[str, Any], key: str, where: str) -> Algorithm:
        raw = self.string(data, key, where)
        try:
            return Algorithm(raw)
        except ValueError:
            allowed = ", ".join(a.value for a in Algorithm)
            raise self.fail(f"{where}.{key}", f"unsupported algorithm {raw!r} (use {allowed})") from None

    def choice(self, data: dict[str, Any], key: str, where: str, options: tuple[str, ...]) -> str:
        raw = self.string(data, key, where)
        if raw not in options:
            raise self.fail(f"{where}.{key}", f"must be one of {', '.join(options)}, got {raw!r}")
        return raw


def parse_world(text: str, *, source: str) -> World:
    """The world in ``text`` (the file ``source``; a base it extends is read relative to it)."""
    try:
        effective = resolve_world(text, source=source)
    except ExtendsError as error:
        raise world_error(source=error.source, line=error.line, where=error.where, problem=error.problem) from None
    data = effective.data
    read = _Reader(source, effective.index)
    unknown = unknown_field(data)
    if unknown is not None:
        where, known = unknown
        kind = "section" if "." not in where and "[" not in where else "field"
        raise read.fail(where, f"unknown {kind} (known here: {known})")
    scenario = read.table(data, "scenario")
    org = read.table(data, "organization")
    idp = read.table(data, "idp")
    google = read.table(data, "google")
    try:
        fga = parse_fga(data.get("fga"))
    except FgaSectionError as error:
        model_line = (read.index.string_line("fga.model", error.model_line)
                      if error.model_line is not None else None)
        raise read.fail(f"fga{error.where}", error.problem, line=model_line) from None
    try:
        mcp = parse_mcp(data.get("mcp"), base_dir=Path(read.index.source_of("mcp.catalogue")).parent, world=data)
    except McpSectionError as error:
        if error.catalogue:
            raise world_error(source=error.catalogue, line=error.line, where=error.where.lstrip("."),
                              problem=f"{error.problem} (the [mcp] catalogue of "
                                      f"{Path(read.index.source_of('mcp.catalogue')).name})") from None
        raise read.fail(f"mcp{error.where}", error.problem) from None
    people = tuple(
        Person(id=read.string(p, "id", f"people[{i}]"), name=read.string(p, "name", f"people[{i}]"),
               email=read.string(p, "email", f"people[{i}]"),
               login=read.choice(p, "login", f"people[{i}]", LOGIN_METHODS),
               role=read.string(p, "role", f"people[{i}]"), territory=read.string(p, "territory", f"people[{i}]"),
               team=p.get("team", ""), manager=p.get("manager", ""))
        for i, p in enumerate(read.tables(data, "people")))
    person_ids = {p.id for p in people}
    if len(person_ids) != len(people):
        raise read.fail("people", "two people share an id")
    for i, person in enumerate(people):
        if person.manager and person.manager not in person_ids:
            raise read.fail(f"people[{i}].manager", f"unknown person {person.manager!r}")
    role_templates = parse_role_templates(data, read=read)
    agents = []
    for i, a in enumerate(read.tables(data, "agents")):
        where = f"agents[{i}]"
        owner = read.string(a, "owner", where)
        if owner not in person_ids:
            raise read.fail(f"{where}.owner", f"unknown person {owner!r}")
        scopes = a.get("scopes", ["openid"])
        if not isinstance(scopes, list) or "openid" not in scopes or not all(isinstance(s, str) for s in scopes):
            raise read.fail(f"{where}.scopes", "expected a list of scope strings including 'openid'")
        agents.append(AgentSpec(
            id=read.string(a, "id", where), name=read.string(a, "name", where), owner=owner,
            purpose=read.string(a, "purpose", where),
            client_auth=read.choice(a, "client_auth", where, ("private_key_jwt",)),
            signing_alg=read.algorithm(a, "signing_alg", where), scopes=tuple(scopes),
            integrations=parse_agent_integrations(read, a, where),
            agent_type=agent_type(read, a, where, templates=role_templates)))
    agent_ids = {a.id for a in agents}
    try:
        security = parse_security(data, agent_ids=agent_ids)
    except SecuritySectionError as error:
        raise read.fail(error.where, error.problem) from None
    pricing = parse_pricing(read, data, idp_names=(read.string(idp, "name", "idp"),
                                                   read.string(google, "name", "google")))
    try:
        rag = parse_rag(data.get("rag"), agent_ids=agent_ids)
        consent = parse_consent(data.get("consent"), person_ids=person_ids, agent_ids=agent_ids,
                                domain=read.string(org, "domain", "organization"))
    except (RagSectionError, ConsentSectionError) as error:
        section = "rag" if isinstance(error, RagSectionError) else "consent"
        raise read.fail(f"{section}{error.where}", error.problem) from None
    epoch = read.instant(scenario, "epoch", "scenario")
    phases = []
    for i, p in enumerate(read.tables(data, "phases")):
        where = f"phases[{i}]"
        number = read.positive_int(p, "number", where)
        if number > 8:
            raise read.fail(f"{where}.number", f"phases are numbered 1 to 8, got {number}")
        at = read.instant(p, "at", where)
        if at < epoch:
            raise read.fail(f"{where}.at", "is before the scenario epoch")
        user, agent = read.string(p, "user", where), read.string(p, "agent", where)
        if user not in person_ids:
            raise read.fail(f"{where}.user", f"unknown person {user!r}")
        if agent not in agent_ids:
            raise read.fail(f"{where}.agent", f"unknown agent {agent!r}")
        phases.append(PhaseSpec(number=number, name=read.string(p, "name", where), at=at, user=user, agent=agent,
                                where=where))
    return World(
        approvals=parse_approvals(data, read=read, person_ids=person_ids, agent_ids=agent_ids),
        source=source, sha256=effective.sha256,
        name=read.string(scenario, "name", "scenario"), title=read.string(scenario, "title", "scenario"),
        epoch=epoch, organization=read.string(org, "name", "organization"),
        domain=read.string(org, "domain", "organization"),
        idp=IdpSettings(name=read.string(idp, "name", "idp"), signing_alg=read.algorithm(idp, "signing_alg", "idp"),
                        id_token_lifetime=read.positive_int(idp, "id_token_lifetime", "idp"),
                        access_token_lifetime=read.positive_int(idp, "access_token_lifetime", "idp"),
                        session_lifetime=read.positive_int(idp, "session_lifetime", "idp"),
                        key_rotation_days=read.positive_int(idp, "key_rotation_days", "idp")),
        google=GoogleSettings(name=read.string(google, "name", "google"),
                              signing_alg=read.algorithm(google, "signing_alg", "google")),
        people=people, agents=tuple(agents), phases=tuple(sorted(phases, key=lambda ph: ph.number)), fga=fga, mcp=mcp,
        pricing=pricing, managed_connections=parse_managed_connections(read, data, agent_ids=agent_ids,
                                                                       pricing=pricing),
        connected=parse_connected_systems(
            read, data, agent_integrations={a.id: a.integrations for a in agents},
            taken_names={read.string(idp, "name", "idp"), read.string(google, "name", "google"), *agent_ids}),
        security=security, rag=rag, consent=consent,
        rotations=parse_rotations(data, read=read, agent_ids=agent_ids),
        expectations=parse_expectations(data, read=read, person_ids=person_ids, agent_ids=agent_ids,
                                        phase_numbers={p.number for p in phases}),
        role_templates=role_templates, index=read.index,
    )


def load_world(path: Path) -> World:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorldError(f"{path}: no such world file", source=str(path)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise WorldError(f"{path}: cannot read: {type(error).__name__}", source=str(path)) from None
    return parse_world(text, source=str(path))

"""The financial RAG scenario (SPEC.md "Other scenarios"): Alice asks about Q3 results; only her
division's reports reach the model.

The cast: the enterprise IdP (people sign in with a password and their authenticator), the
financial RAG agent (a confidential OIDC client, ``private_key_jwt``), the FGA service loaded with
the world's model and tuples, and the report retrieval service (``actors.report_retrieval``) whose
``sqlite-vec`` index holds every division's quarterly reports, chunked and embedded
(``protocols.retrieval``). The IdP's RFC 8693 grant knows the retrieval service as a delegation
target, so the agent gets a token for it on the user's behalf and for nothing else.

Phases (``FINANCIAL_RAG_PHASES``):
1. the user signs in to the agent (OIDC authorization code + PKCE at the IdP);
2. and 3. the user (signing in first if needed) asks the world's question: the agent retrieves with
   the user's delegated token, FGA filters before the search (ListObjects) and after it
   (BatchCheck), the model is handed only what came back, and the phase checks that no chunk of
   another division is in the context, the prompt or the answer.
"""

from __future__ import annotations

import attrs
import trio

from actors.agent import LOGIN_PATH, AgentActor
from actors.browser import Browser, Navigate
from actors.fga_client import FgaClient
from actors.fga_service import FgaServiceActor
from actors.financial_agent import answer as answer_question, retrieve
from actors.mcp_client import McpAgentClient, McpUnavailable
from actors.oidc_provider import OidcProviderActor
from actors.report_retrieval import SCOPE, SEARCH_PATH, ReportRetrievalActor
from actors.runtime.context import Runtime
from actors.storage.vector_store import VectorStore
from protocols.mcp_authorization import McpProtection
from protocols.oidc.token_exchange_grant import DelegationTarget
from protocols.protected_resource import canonical_resource
from protocols.retrieval import Chunk, chunk_report, embed
from protocols.token_exchange import GRANT_TYPE_TOKEN_EXCHANGE
from scenarios.idp_cast import build_world_idp, enrol_at_idp, register_agent, world_directory
from scenarios.mcp_cast import fga_directory, token_exchange_grant
from scenarios.phase_result import PhaseResult
from scenarios.rag_world import RagSettings
from scenarios.world import PhaseSpec, World

@attrs.define(eq=False)
class RagCast:
    world: World
    runtime: Runtime
    settings: RagSettings
    idp: OidcProviderActor
    agent: AgentActor
    fga: FgaServiceActor
    retrieval: ReportRetrievalActor
    browsers: dict[str, Browser]
    chunks: tuple[Chunk, ...]
    """Every chunk in the index (what the scenario's own leak checks compare against)."""
    tokens: McpAgentClient = attrs.field(init=False)
    """The agent's RFC 8693 client (one per agent: its assertion ids come from one entropy stream)."""
    answers: dict[str, str] = attrs.field(factory=dict)
    prompts: dict[str, str] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        self.tokens = McpAgentClient(agent=self.agent)

    def services(self) -> list[tuple[str, str, str]]:
        return [(a.name, a.base_url, "") for a in (self.idp, self.agent, self.fga, self.retrieval)]


def rag_settings(world: World) -> RagSettings:
    settings = getattr(world, "rag", None)
    if settings is None:
        raise world.error("rag", "the financial-rag scenario needs a [rag] section")
    return settings


def build_index(settings: RagSettings) -> tuple[VectorStore, tuple[Chunk, ...]]:
    """Chunk every report and store the chunks with their embeddings (in memory)."""
    store = VectorStore()
    per_chunk = settings.sentences_per_chunk
    chunks = tuple(c for r in settings.reports for c in chunk_report(r, sentences_per_chunk=per_chunk))
    store.add((c, embed(c.text)) for c in chunks)
    return store, chunks


async def start_rag_cast(*, world: World, runtime: Runtime, nursery: trio.Nursery) -> RagCast:
    settings = rag_settings(world)
    if world.fga is None:
        raise world.error("fga", "the financial-rag scenario needs the [fga] model and tuples")
    directory = world_directory(world)
    idp = build_world_idp(world=world, runtime=runtime, directory=directory)
    # every person signs in at the IdP itself (no federation in this world)
    browsers = enrol_at_idp(runtime=runtime, idp=idp, people=world.people, directory=directory)
    agent = register_agent(runtime=runtime, idp=idp, spec=world.agent(settings.agent),
                           grant_types=frozenset({"authorization_code", GRANT_TYPE_TOKEN_EXCHANGE}))
    fga = FgaServiceActor.build(runtime=runtime, name="fga")
    store, chunks = build_index(settings)
    base = runtime.network.base_url_for(settings.service)
    protection = McpProtection.build(resource=canonical_resource(base + SEARCH_PATH), issuer=idp.base_url,
                                     required_scopes=(SCOPE,), resource_name="Financial report index")
    retrieval = ReportRetrievalActor(name=settings.service, runtime=runtime, base_url=base, protection=protection,
                                     store=store, directory=fga_directory(world, runtime))
    for actor in (idp, agent, fga, retrieval):
        runtime.network.register(actor)
    for actor in (idp, agent, fga, retrieval, *browsers.values()):
        await nursery.start(actor.run)
    await nursery.start(runtime.network.serve)
    await fga.bootstrap(store_name=world.fga.store_name, model=world.fga.model, tuples=world.fga.tuples)
    retrieval.fga = FgaClient(network=runtime.network, base_url=fga.base_url, store_id=fga.store_id,
                              authorization_model_id=fga.model_id, agent=retrieval.name)
    token_exchange_grant(idp).register_target(DelegationTarget(identifier=retrieval.resource, name=retrieval.name,
                                                               scopes=frozenset({SCOPE})))
    return RagCast(world=world, runtime=runtime, settings=settings, idp=idp, agent=agent, fga=fga,
                   retrieval=retrieval, browsers=browsers, chunks=chunks)


def _delegation(cast: RagCast, person_id: str):
    email = cast.world.person(person_id).email
    return next((d for d in cast.agent.delegations.values() if d.email == email), None)


async def phase_sign_in(cast: RagCast, phase: PhaseSpec) -> PhaseResult:
    person = cast.world.person(phase.user)
    result = await cast.browsers[phase.user].ask(Navigate(url=cast.agent.url(LOGIN_PATH)))
    delegation = _delegation(cast, phase.user)
    if delegation is None:
        why = result.problem or f"the agent did not receive a valid ID token (last page: HTTP {result.status})"
        return PhaseResult(number=phase.number, name=phase.name, ok=False, outcome=f"Sign-in failed: {why}.")
    return PhaseResult(number=phase.number, name=phase.name, ok=True,
                       outcome=(f"{person.name} signed in to {cast.agent.display_name} at the enterprise IdP; the "
                                f"agent validated her ID token and now acts on her behalf."),
                       facts={"user": delegation.subject, "amr": " ".join(delegation.claims.amr),
                              "ID token issuer": delegation.claims.issuer, "pages visited": len(result.visits)})


async def phase_ask(cast: RagCast, phase: PhaseSpec) -> PhaseResult:
    """The user asks the world's question (signing in first if the agent does not act for them yet)."""
    person, settings = cast.world.person(phase.user), cast.settings
    if _delegation(cast, phase.user) is None:
        signed_in = await phase_sign_in(cast, phase)
        if not signed_in.ok:
            return signed_in
    delegation = _delegation(cast, phase.user)
    assert delegation is not None
    try:
        context = await retrieve(cast.tokens, delegation, url=cast.retrieval.resource, question=settings.question,
                                 k=settings.k)
    except McpUnavailable as error:
        return PhaseResult(number=phase.number, name=phase.name, ok=False,
                           outcome=f"{person.name}'s question could not be answered: {error}.")
    given, answer = await answer_question(cast.agent, context)
    cast.prompts[phase.user], cast.answers[phase.user] = given, answer
    division = {r.id: r.division for r in settings.reports}
    foreign = [c for c in cast.chunks if division[c.report] != person.team]
    leaked = sorted(c.id for c in foreign if c.text in given or c.text in answer)
    used = sorted({division[item.source.partition("#")[0]] for item in context.items})
    withheld = sorted({r.id for r in settings.reports if r.division != person.team})
    ok = bool(context.items) and used == [person.team] and not leaked
    outcome = (f"{person.name} ({person.team}) asked “{settings.question}”: FGA let {len(context.items)} chunk(s) "
               f"of "
               f"{', '.join(used) or 'no'} division reports reach the model; none of the {len(foreign)} chunks of "
               f"other divisions did.")
    if not ok:
        outcome = (f"Retrieval for {person.name} did not meet the scenario: divisions used {used}, "
                   f"chunks of other divisions in the context or answer: {leaked or 'none'}.")
    return PhaseResult(number=phase.number, name=phase.name, ok=ok, outcome=outcome, facts={
        "user": f"{person.name} ({person.team} division)",
        "FGA user": f"user:{person.id}",
        "chunks in the model's context": len(context.items),
        "context sources": ", ".join(context.sources),
        "reports withheld by FGA": len(withheld),
        "other divisions' chunks in context or answer": len(leaked),
        "answer": answer,
    })


FINANCIAL_RAG_PHASES = {1: phase_sign_in, 2: phase_ask, 3: phase_ask}

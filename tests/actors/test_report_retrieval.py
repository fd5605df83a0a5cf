"""The report retrieval service and the financial agent, on the scenario's own cast: what reaches the
model is Alice's division only — while the same search *without* the filter returns other divisions'
chunks (so the check can fail) — the service fails closed, and bad input gets the right error."""

import attrs
import pytest

from actors.financial_agent import compose_answer, prompt
from actors.report_retrieval import parse_search
from actors.runtime.network import Transport
from protocols.http import HttpRequest
from protocols.oauth.errors import InvalidRequest
from protocols.retrieval import embed
from scenarios.financial_rag import phase_ask, start_rag_cast
from scenarios.library import SCENARIOS
from scenarios.world import PhaseSpec, load_world
from tests.actors.runtime.helpers import running_runtime

WORLD = load_world(SCENARIOS["financial-rag"].world_file)


def ask(user: str) -> PhaseSpec:
    return PhaseSpec(number=2, name="ask", at=WORLD.epoch, user=user, agent="finance-rag-agent")


def foreign_chunks(cast, division):
    reports = {r.id for r in WORLD.rag.reports if r.division != division}
    return [c for c in cast.chunks if c.report in reports]


async def test_only_her_division_reaches_the_model_and_the_filter_is_what_keeps_it_so():
    async with running_runtime(Transport.CHANNEL) as (runtime, nursery, _):
        cast = await start_rag_cast(world=WORLD, runtime=runtime, nursery=nursery)
        result = await phase_ask(cast, ask("alice"))
        assert result.ok, result.outcome
        context = cast.agent.contexts["auth0|alice"]
        given, answer = cast.prompts["alice"], cast.answers["alice"]
        assert given == prompt(context) and answer == compose_answer(context)
        others = foreign_chunks(cast, "retail")
        assert len(others) == 9
        for chunk in others:                       # no sentence of another division, anywhere the model looks
            body = chunk.text.partition(": ")[2]
            for sentence in body.split(". "):
                assert sentence not in given and sentence not in answer and sentence not in context.text()
        assert {i.source.partition("-")[0] for i in context.items} == {"retail"}
        # The same search without the filter: other divisions' chunks rank among the nearest.
        unfiltered = cast.retrieval.store.search(embed(WORLD.rag.question), k=WORLD.rag.k)
        assert {h.chunk.report for h in unfiltered} - {"retail-q3-2025", "retail-q2-2025"}
        nursery.cancel_scope.cancel()


async def test_fails_closed_when_fga_errors_or_is_unreachable():
    async with running_runtime(Transport.CHANNEL) as (runtime, nursery, _):
        cast = await start_rag_cast(world=WORLD, runtime=runtime, nursery=nursery)
        cast.retrieval.fga = attrs.evolve(cast.retrieval.fga, store_id="01JUNKNOWNSTORE0000000000")
        broken = await phase_ask(cast, ask("alice"))
        assert not broken.ok and cast.agent.contexts["auth0|alice"].items == ()   # nothing reached the model
        assert cast.answers["alice"] == "The reports available to you do not answer this question."
        refused = [e for e in runtime.audit.store.entries() if e.event == "rag.report_denied"]
        assert len(refused) == 6 and all("fails closed" in e.reason for e in refused)
        cast.retrieval.fga = attrs.evolve(cast.retrieval.fga, base_url="https://nowhere.trustbench.test")
        unreachable = await phase_ask(cast, ask("alice"))
        assert not unreachable.ok and "503" in unreachable.outcome
        nursery.cancel_scope.cancel()


async def test_bad_requests_get_oauth_errors():
    async with running_runtime(Transport.CHANNEL) as (runtime, nursery, _):
        cast = await start_rag_cast(world=WORLD, runtime=runtime, nursery=nursery)
        url = cast.retrieval.resource
        anonymous = await runtime.network.send(HttpRequest.json_post(url=url, payload={"query": "Q3"}))
        assert anonymous.status == 401 and "resource_metadata" in anonymous.header("www-authenticate")
        forged = await runtime.network.send(HttpRequest.json_post(url=url, payload={"query": "Q3"},
                                                                  headers={"authorization": "Bearer abc.def.ghi"}))
        assert forged.status == 401 and forged.json()["error"] == "invalid_token"
        wrong = await runtime.network.send(HttpRequest.get(url))
        assert wrong.status == 405
        # both refusals are audited; so is a bad search sent with a good token (whose it is, too)
        assert (await phase_ask(cast, ask("alice"))).ok
        delegation = next(iter(cast.agent.delegations.values()))
        token = await cast.tokens.token_for(delegation, resource=url, scope=cast.retrieval.protection.required_scopes)
        bad = await runtime.network.send(HttpRequest.json_post(url=url, payload={"query": ""},
                                                               headers={"authorization": f"Bearer {token}"}))
        assert bad.status == 400
        denied = [e for e in runtime.audit.store.entries() if e.event == "rag.request_denied"]
        # (the agent's discovery probe in between is anonymous by design: audited like the first one)
        assert [e.reason.partition(":")[0] for e in denied] == [
            "no access token", "invalid_token", "no access token", "invalid_request"]
        assert all(e.decision == "deny" for e in denied)
        assert (denied[-1].agent, denied[-1].subject) == ("finance-rag-agent", delegation.subject)
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("payload", [{"query": ""}, {"query": "Q3", "k": 0}, {"query": "Q3", "k": 21},
                                     {"query": "Q3", "k": True}, ["Q3"], {"k": 3}])
def test_a_bad_search_body_is_invalid_request(payload):
    with pytest.raises(InvalidRequest) as caught:
        parse_search(HttpRequest.json_post(url="https://report-index.test/search", payload=payload))
    assert caught.value.to_response().status == 400


async def test_the_post_filter_drops_what_a_too_permissive_pre_filter_let_through(monkeypatch):
    import actors.report_retrieval as retrieval_module
    from protocols.fga.rag import FilterResult

    async def everything(client, *, user, relation, candidates, **_):   # a pre-filter that lets all through
        return FilterResult(mode="pre-filter", user=user, relation=relation, kept=tuple(candidates))

    monkeypatch.setattr(retrieval_module, "prefilter", everything)
    async with running_runtime(Transport.CHANNEL) as (runtime, nursery, _):
        cast = await start_rag_cast(world=WORLD, runtime=runtime, nursery=nursery)
        result = await phase_ask(cast, ask("alice"))
        assert result.ok, result.outcome                      # BatchCheck still kept other divisions out
        entries = runtime.audit.store.entries()
        dropped = [e for e in entries if e.event == "rag.chunk_dropped"]
        assert dropped and {e.details["object"].partition(":")[2].partition("-")[0] for e in dropped} != {"retail"}
        assert all(e.reason.startswith("post-filter: denied") for e in dropped)
        denied_checks = [e for e in entries if e.event == "authz.denied" and e.details.get("query") == "check"]
        assert {e.details["object"] for e in denied_checks} == {e.details["object"] for e in dropped}
        assert {i.source.partition("-")[0] for i in cast.agent.contexts["auth0|alice"].items} == {"retail"}
        nursery.cancel_scope.cancel()

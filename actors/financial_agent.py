"""The financial RAG agent's work for one question: retrieve on the user's behalf, then answer.

1. **Retrieve** (:func:`retrieve`): discover the report retrieval service (its ``401`` and RFC 9728
   metadata), obtain a token for it alone by RFC 8693 delegation at the IdP (subject: the user's ID
   token, ``act``: the agent — ``actors.mcp_client.McpAgentClient.token_for``), and search with it.
   The service applies FGA to the *user*; what comes back is all the agent ever sees.
2. **The context handed to the model** is an :class:`~actors.agent_context.AgentContext` (one item
   per chunk) and the :func:`prompt` built from it — stored on the agent, per user.
3. **Answer** (:func:`compose_answer`): a deterministic, extractive stand-in for the language model —
   it quotes the context's sentences that carry figures, with their sources. It can only repeat
   what is in the context, so a leak into the context would show in the answer.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING

from actors.agent_context import AgentContext, ContextItem, ServerSummary
from actors.mcp_client import McpAgentClient, McpUnavailable, discover
from protocols.http import HttpRequest, MalformedBody
from protocols.retrieval import sentences

if TYPE_CHECKING:
    from actors.agent import AgentActor, Delegation

INSTRUCTION = ("Answer the user's question from the report excerpts below only. Quote figures exactly and "
               "name the report each comes from. If the excerpts do not answer it, say so.")
_FIGURE = re.compile(r"\d")


async def retrieve(client: McpAgentClient, delegation: Delegation, *, url: str, question: str,
                   k: int) -> AgentContext:
    """Steps 1–2 of the module docstring, with the agent's one token client (its entropy stream
    must not restart: assertion ``jti`` values are single-use); raises ``McpUnavailable`` when the
    service cannot be used."""
    agent = client.agent
    network = agent.runtime.network
    found = await discover(network, url)
    if agent.idp_issuer not in found.metadata.authorization_servers:
        raise McpUnavailable(f"{url} does not trust our identity provider")
    token = await client.token_for(delegation, resource=found.metadata.resource, scope=found.scope)
    response = await network.send(HttpRequest.json_post(url=url, payload={"query": question, "k": k},
                                                        headers={"authorization": f"Bearer {token}"}))
    try:
        body = response.json()
    except MalformedBody:
        body = {}
    if response.status != 200 or not isinstance(body.get("chunks"), list):
        await agent.audit("agent.rag_refused", agent=agent.name, subject=delegation.subject, decision="deny",
                          reason=f"the retrieval service answered {response.status} {body.get('error', '')}".strip())
        raise McpUnavailable(f"retrieval answered HTTP {response.status}")
    name = found.metadata.resource_name or url
    items = tuple(ContextItem(source=c["id"], server=name, title=c["title"], content=c["text"])
                  for c in body["chunks"])
    context = AgentContext(subject=delegation.subject, task=question, items=items, servers=(ServerSummary(
        name=name, url=url, authorization_server=agent.idp_issuer, scope=found.scope, resources=(), templates=(),
        tools=()),))
    agent.contexts[delegation.subject] = context
    withheld = body.get("withheld", {})
    await agent.audit("agent.rag_context_assembled", agent=agent.name, subject=delegation.subject, decision="allow",
                      reason=f"{len(items)} chunk(s) retrieved for the user; the service withheld "
                             f"{withheld.get('reports', 0)} report(s)", sources=list(context.sources))
    return context


async def answer(agent: AgentActor, context: AgentContext) -> tuple[str, str]:
    """Hand the context to the model (step 3): ``(prompt, answer)``. The audit entry names the
    excerpts the model was given and the SHA-256 of the exact prompt — evidence, not content."""
    given = prompt(context)
    text = compose_answer(context)
    await agent.audit("agent.model_invoked", agent=agent.name, subject=context.subject, decision="allow",
                      reason=f"the model was given {len(context.items)} excerpt(s) and the question",
                      sources=list(context.sources), prompt_sha256=hashlib.sha256(given.encode()).hexdigest())
    return given, text


def prompt(context: AgentContext) -> str:
    """Exactly what the model is given: the instruction, the excerpts with their sources, the question."""
    excerpts = "\n".join(f"[{item.source}] {item.content}" for item in context.items)
    return f"{INSTRUCTION}\n\nExcerpts:\n{excerpts}\n\nQuestion: {context.task}"


def compose_answer(context: AgentContext) -> str:
    """The extractive stand-in for the model (step 3): sentences with figures, each with its source."""
    quoted: list[str] = []
    for item in context.items:
        text = str(item.content).partition(": ")[2] or str(item.content)
        quoted += [f"{s} [{item.source}]" for s in sentences(text) if _FIGURE.search(s)]
    if not quoted:
        return "The reports available to you do not answer this question."
    return " ".join(dict.fromkeys(quoted))

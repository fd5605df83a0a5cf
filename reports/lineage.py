"""Token lineage: which token was derived from which, built from identifiers in audit details.

Detail keys read (all optional; an event without them simply adds nothing):

==========================  =====================================================================
``details.jti``             the token the event is about; the first entry naming it *creates* it
                            (its issuer is the entry's ``actor`` when the event name ends in
                            ``issued``/``exchanged``/``minted``/``served``/``granted``/``refreshed``/
                            ``redeemed``), later entries *use* it (a resource server, UserInfo...);
                            a ``*.token_served`` entry hands it to its ``agent`` (the new holder)
``details.kind``            what that token is: ``id_token``, ``access_token``, ``refresh_token``,
                            ``id_jag``, ``exchanged_token``, ``vault_token``, ``approval_token``, or
                            an RFC 8693 token-type URN (an explicit kind beats one inferred earlier).
                            Not ``token_type``: the audit redactor replaces the value of any key
                            containing "token" by a fingerprint.
``details.<x>_jti``         any other ``*_jti`` key names the token ``jti`` was derived from:
                            ``parent_jti``, ``subject_jti``, ``subject_token_jti``, ``id_jag_jti``,
                            ``actor_token_jti``...: an edge parent → jti ("derived")
``details.id_token_jti``    an ID token issued in the same grant as ``jti`` (``token.issued``)
``details.upstream_jti``    with ``details.sid``: the upstream (federated) ID token behind a session;
                            tokens later issued with the same ``details.sid`` get an edge from it
                            ("federated")
``details.family``          a refresh-token family: each new token of a family is derived from the
                            previous one ("refreshed")
``details.revoked``         a list of jtis revoked by this event (also ``revoked_jtis``); an event
                            named ``*.revoked`` with a ``jti`` revokes that token
``details.audience``        shown on the node (also ``aud``, first of a list); ``details.scope`` too
==========================  =====================================================================

Security event tokens and stream checks (``set.*``, ``caep.*``, ``ssf.*``: revocation notices) are
notifications, not credentials, and stay out of the lineage.

Identifiers may be clear or fingerprinted by the redactor (``<redacted:sha256:1a2b3c4d>``); nodes
are keyed by that 8-hex fingerprint (computed for clear ids), so both forms link, and the report
never needs the clear identifier. Without a ``kind``, the kind is inferred from the event name.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from protocols.audit_chain import AuditEntry
from reports.audit_fields import detail, identifier_key, text_detail
from reports.classification import RUN, layer_of

NOT_PARENT_KEYS = frozenset({"jti", "id_token_jti", "upstream_jti", "revoked_jtis"})
REVOKED_LIST_KEYS = ("revoked", "revoked_jtis")
ISSUING_SUFFIXES = ("issued", "exchanged", "minted", "served", "granted", "refreshed", "redeemed")
TOKEN_TYPE_URN = "urn:ietf:params:oauth:token-type:"


@attrs.frozen(kw_only=True)
class TokenNode:
    key: str
    kind: str
    issuer: str | None
    holder: str | None
    subject: str | None
    seq: int
    time: str
    event: str
    audience: str | None = None
    scope: str | None = None
    used_by: tuple[str, ...] = ()
    uses: int = 0
    revoked_seq: int | None = None
    revoked_time: str | None = None

    @property
    def label(self) -> str:
        return f"#{self.key}"


@attrs.frozen(kw_only=True)
class TokenEdge:
    parent: str
    child: str
    relation: str


@attrs.frozen(kw_only=True)
class Lineage:
    nodes: tuple[TokenNode, ...]
    edges: tuple[TokenEdge, ...]

    def depth(self) -> dict[str, int]:
        """Generation of every node: 0 for roots, else 1 + the deepest parent."""
        parents: dict[str, list[str]] = {}
        for edge in self.edges:
            parents.setdefault(edge.child, []).append(edge.parent)
        memo: dict[str, int] = {}

        def visit(key: str, trail: frozenset[str]) -> int:
            if key not in memo:
                ups = [p for p in parents.get(key, []) if p not in trail]
                memo[key] = 1 + max((visit(p, trail | {key}) for p in ups), default=-1)
            return memo[key]

        return {node.key: visit(node.key, frozenset()) for node in self.nodes}


def normalized_kind(value: str | None) -> str | None:
    if not value or value.startswith("<redacted"):
        return None
    kind = value.strip().lower()
    if kind.startswith(TOKEN_TYPE_URN):
        kind = kind[len(TOKEN_TYPE_URN):]
    kind = kind.replace("-", "_")
    return kind or None


def inferred_kind(entry: AuditEntry) -> str:
    event = entry.event
    if event.endswith(".redeemed"):
        return "access_token"  # a redeemed grant (ID-JAG via RFC 7523 jwt-bearer) yields an access token
    if event.startswith("id_jag."):
        return "id_jag"
    if event.startswith(("token_exchange.", "token.exchanged")):
        return "exchanged_token"
    if event.startswith("vault."):
        return "vault_token"
    if event.startswith(("ciba.", "approval.")):
        return "approval_token"
    if event.startswith("token."):
        return "access_token"
    return "token"


def _audience(entry: AuditEntry) -> str | None:
    value = detail(entry, "audience") or detail(entry, "aud")
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str)), None)
    return value if isinstance(value, str) and value else None


def _id(entry: AuditEntry, key: str) -> str | None:
    """A token identifier under ``key``: a non-empty string (a jti is a string, RFC 7519 §4.1.7)."""
    value = detail(entry, key)
    return value if isinstance(value, str) and value else None


def _ids(value: object) -> list[str]:
    if isinstance(value, str) and value:
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, str) and v]
    return []


@attrs.define
class _Builder:
    nodes: dict[str, TokenNode] = attrs.field(factory=dict)
    edges: dict[tuple[str, str], TokenEdge] = attrs.field(factory=dict)
    sessions: dict[str, str] = attrs.field(factory=dict)
    families: dict[str, str] = attrs.field(factory=dict)
    explicit: set[str] = attrs.field(factory=set)

    def mention(self, key: str, *, entry: AuditEntry, kind: str, issuer: str | None = None,
                explicit: bool = False) -> bool:
        """Create the node on first mention (return True), else count a use."""
        if key not in self.nodes:
            issuing = entry.event.endswith(ISSUING_SUFFIXES)
            self.nodes[key] = TokenNode(
                key=key, kind=kind, issuer=issuer or (entry.actor if issuing else None),
                holder=entry.agent, subject=entry.subject, seq=entry.seq, time=entry.time, event=entry.event,
                audience=_audience(entry), scope=text_detail(entry, "scope"))
            if explicit:
                self.explicit.add(key)
            return True
        node = self.nodes[key]
        users = node.used_by if entry.actor in node.used_by else (*node.used_by, entry.actor)
        node = attrs.evolve(node, uses=node.uses + 1, used_by=users)
        if explicit and key not in self.explicit:
            node = attrs.evolve(node, kind=kind)
            self.explicit.add(key)
        if entry.event.endswith(".token_served") and entry.agent:
            node = attrs.evolve(node, holder=entry.agent)
        self.nodes[key] = node
        return False

    def link(self, parent: str, child: str, relation: str) -> None:
        if parent != child and parent in self.nodes and child in self.nodes:
            self.edges.setdefault((parent, child), TokenEdge(parent=parent, child=child, relation=relation))

    def revoke(self, key: str, entry: AuditEntry) -> None:
        node = self.nodes.get(key)
        if node is not None and node.revoked_seq is None:
            self.nodes[key] = attrs.evolve(node, revoked_seq=entry.seq, revoked_time=entry.time)

    def add(self, entry: AuditEntry) -> None:
        for revoked in (i for key in REVOKED_LIST_KEYS for i in _ids(detail(entry, key))):
            self.revoke(identifier_key(revoked), entry)
        jti = _id(entry, "jti")
        if jti and entry.event.endswith(".revoked"):
            self.revoke(identifier_key(jti), entry)
            return
        upstream = _id(entry, "upstream_jti")
        if upstream:
            key = identifier_key(upstream)
            self.mention(key, entry=entry, kind="id_token", issuer=text_detail(entry, "upstream"))
            sid = text_detail(entry, "sid")
            if sid:
                self.sessions[sid] = key
        created: list[str] = []
        if jti:
            key = identifier_key(jti)
            kind = normalized_kind(text_detail(entry, "kind"))
            if self.mention(key, entry=entry, kind=kind or inferred_kind(entry), explicit=kind is not None):
                created.append(key)
            family = text_detail(entry, "family")
            if family:
                if family in self.families and key in created:
                    self.link(self.families[family], key, "refreshed")
                self.families[family] = key
        id_token = _id(entry, "id_token_jti")
        if id_token:
            key = identifier_key(id_token)
            if self.mention(key, entry=entry, kind="id_token"):
                created.append(key)
        parent_keys = sorted(k for k in entry.details if k.endswith("_jti") and k not in NOT_PARENT_KEYS)
        for parent_value in (_id(entry, name) for name in parent_keys):
            if parent_value:
                parent = identifier_key(parent_value)
                if parent not in self.nodes:
                    self.mention(parent, entry=entry, kind="token")
                for child in created or ([identifier_key(jti)] if jti else []):
                    self.link(parent, child, "derived")
        sid = text_detail(entry, "sid")
        if sid in self.sessions:
            for child in created:
                self.link(self.sessions[sid], child, "federated")


NOTIFICATION_PREFIXES = ("set.", "caep.", "ssf.")


def build_lineage(entries: Iterable[AuditEntry]) -> Lineage:
    builder = _Builder()
    for entry in entries:
        if layer_of(entry) is not RUN and not entry.event.startswith(NOTIFICATION_PREFIXES):
            builder.add(entry)
    nodes = tuple(sorted(builder.nodes.values(), key=lambda n: (n.seq, n.key)))
    order = {node.key: index for index, node in enumerate(nodes)}
    edges = tuple(sorted(builder.edges.values(), key=lambda e: (order[e.child], order[e.parent])))
    return Lineage(nodes=nodes, edges=edges)


def drawable(lineage: Lineage, *, limit: int) -> tuple[Lineage, int]:
    """What the graph shows: the tokens that belong to a derivation chain (at most ``limit``, in audit
    order), or, if there is no chain, the first ``limit`` tokens; and how many are left to the table."""
    linked = {edge.parent for edge in lineage.edges} | {edge.child for edge in lineage.edges}
    chosen = [node for node in lineage.nodes if node.key in linked] if linked else list(lineage.nodes)
    chosen = chosen[:limit]
    keys = {node.key for node in chosen}
    edges = tuple(edge for edge in lineage.edges if edge.parent in keys and edge.child in keys)
    return Lineage(nodes=tuple(chosen), edges=edges), len(lineage.nodes) - len(chosen)

"""OpenID CIBA Core 1.0 at the OpenID Provider: the per-request state machine. Sans-IO.

- §7.3 accepting a validated request (``CibaLedger.open``): ``auth_req_id`` (192 bits, base64url),
  the expiry (the shorter of ``requested_expiry`` and the client's limit) and the ``interval``; at
  most ``MAX_PENDING_PER_USER`` pending requests per client and user (push-bombing, §6 / §15).
- §10.1 / §11 the token request (``CibaLedger.poll``): ``authorization_pending``, ``slow_down`` (a
  poll sooner than ``interval`` after the previous one; the interval then grows by 5 s, §7.3),
  ``expired_token``, ``access_denied``, ``invalid_grant`` (unknown, another client's, or already
  redeemed — an ``auth_req_id`` is single use).
- The user's answer from their authentication device (``CibaLedger.decide``), and the moves after a
  ping or push delivery (§10.2, §10.3).

State per ``auth_req_id``: ``pending → approved | denied | expired | failed``; ``approved`` and
``denied`` become ``redeemed`` once the client has been told. Terminal records stay a while as
tombstones so a replay is answered precisely, then are purged. The messages carrying the result are
``protocols.ciba_delivery``.
"""

from __future__ import annotations

import enum

import attrs

from protocols.ciba import SLOW_DOWN_STEP, BackchannelRequest, CibaClient, DeliveryMode
from protocols.entropy import SeededEntropy
from protocols.oauth.errors import AccessDenied, AuthorizationPending, ExpiredToken, InvalidGrant, SlowDown

MAX_PENDING_PER_USER = 5
"""Pending requests one client may hold for one person: more is push-bombing (§6 / §15 considerations)."""
TOMBSTONE_SECONDS = 3600


class CibaState(enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    REDEEMED = "redeemed"
    FAILED = "failed"


ACTIVE_STATES = frozenset({CibaState.PENDING, CibaState.APPROVED})


@attrs.frozen(kw_only=True)
class Approval:
    """Who decided, how they authenticated, and when (the evidence kept with the request)."""

    approved: bool
    decided_at: int
    device_id: str
    device_kid: str
    amr: tuple[str, ...]
    reason: str = ""


@attrs.frozen(kw_only=True)
class CibaTransaction:
    """One authentication request: ``auth_req_id`` is the client's handle, ``txn`` the device's."""

    auth_req_id: str = attrs.field(repr=False)
    txn: str
    client_id: str
    mode: DeliveryMode
    subject: str
    request: BackchannelRequest
    created_at: int
    expires_at: int
    interval: int
    state: CibaState = CibaState.PENDING
    last_poll_at: int | None = None
    approval: Approval | None = None
    token_jtis: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES


@attrs.define
class CibaLedger:
    """Every request by ``auth_req_id`` (and by device-facing ``txn``)."""

    _by_id: dict[str, CibaTransaction] = attrs.field(factory=dict, repr=False)
    _by_txn: dict[str, str] = attrs.field(factory=dict, repr=False)

    def open(self, *, request: BackchannelRequest, client: CibaClient, subject: str, now: int,
             entropy: SeededEntropy) -> CibaTransaction:
        """Accept a validated request (§7.3): expiry is the shorter of the asked and allowed waits."""
        pending = sum(1 for t in self._by_id.values()
                      if t.client_id == client.client_id and t.subject == subject and t.active and t.expires_at > now)
        if pending >= MAX_PENDING_PER_USER:
            raise AccessDenied("too many pending requests for this user")
        lifetime = min(request.requested_expiry or client.max_expiry, client.max_expiry)
        txn = CibaTransaction(auth_req_id=entropy.token(24), txn=entropy.token(12), client_id=client.client_id,
                              mode=client.delivery_mode, subject=subject, request=request, created_at=now,
                              expires_at=now + lifetime, interval=client.interval)
        self._by_id[txn.auth_req_id] = txn
        self._by_txn[txn.txn] = txn.auth_req_id
        return txn

    def get(self, auth_req_id: str) -> CibaTransaction | None:
        return self._by_id.get(auth_req_id)

    def by_txn(self, txn: str) -> CibaTransaction | None:
        auth_req_id = self._by_txn.get(txn)
        return self._by_id.get(auth_req_id) if auth_req_id else None

    def _put(self, txn: CibaTransaction) -> CibaTransaction:
        self._by_id[txn.auth_req_id] = txn
        return txn

    def _expire_if_due(self, txn: CibaTransaction, now: int) -> CibaTransaction:
        if txn.active and now >= txn.expires_at:
            return self._put(attrs.evolve(txn, state=CibaState.EXPIRED))
        return txn

    def poll(self, *, auth_req_id: str, client_id: str, now: int) -> CibaTransaction:
        """A token request (§10.1): the approved transaction (now redeemed), or the error to answer."""
        txn = self._by_id.get(auth_req_id)
        if txn is None or txn.client_id != client_id:
            raise InvalidGrant("unknown auth_req_id")
        txn = self._expire_if_due(txn, now)
        if txn.state is CibaState.EXPIRED:
            raise ExpiredToken("the authentication request expired")
        if txn.state in (CibaState.REDEEMED, CibaState.FAILED):
            raise InvalidGrant("the auth_req_id was already used")
        if txn.state is CibaState.DENIED:
            self._put(attrs.evolve(txn, state=CibaState.REDEEMED))
            raise AccessDenied("the user denied the request")
        if txn.state is CibaState.APPROVED:
            return self._put(attrs.evolve(txn, state=CibaState.REDEEMED, last_poll_at=now))
        if txn.last_poll_at is not None and now - txn.last_poll_at < txn.interval:
            self._put(attrs.evolve(txn, last_poll_at=now, interval=txn.interval + SLOW_DOWN_STEP))
            raise SlowDown(f"poll at most every {txn.interval + SLOW_DOWN_STEP} seconds")
        self._put(attrs.evolve(txn, last_poll_at=now))
        raise AuthorizationPending("the user has not answered yet")

    def decide(self, *, txn_id: str, subject: str, approval: Approval, now: int) -> CibaTransaction:
        """Record the user's answer from their authentication device."""
        txn = self.by_txn(txn_id)
        if txn is None or txn.subject != subject:
            raise InvalidGrant("unknown transaction")
        if txn.state is CibaState.EXPIRED or (txn.active and now >= txn.expires_at):
            # Left active: the expiry sweep ends it and tells ping and push clients.
            raise ExpiredToken("the authentication request expired before the answer")
        if txn.state is not CibaState.PENDING:
            raise InvalidGrant("the request was already answered")
        state = CibaState.APPROVED if approval.approved else CibaState.DENIED
        return self._put(attrs.evolve(txn, state=state, approval=approval))

    def mark(self, txn: CibaTransaction, state: CibaState, *, token_jtis: tuple[str, ...] = ()) -> CibaTransaction:
        """Move a transaction on after a delivery (push redeemed or failed, ping answered)."""
        current = self._by_id.get(txn.auth_req_id, txn)
        return self._put(attrs.evolve(current, state=state, token_jtis=token_jtis or current.token_jtis))

    def expire_due(self, *, now: int) -> list[CibaTransaction]:
        """Active requests whose time is up, now expired (oldest first)."""
        due = sorted((t for t in self._by_id.values() if t.active and now >= t.expires_at),
                     key=lambda t: (t.expires_at, t.created_at, t.txn))
        return [self._put(attrs.evolve(t, state=CibaState.EXPIRED)) for t in due]

    def next_deadline(self) -> int | None:
        deadlines = [t.expires_at for t in self._by_id.values() if t.active]
        return min(deadlines) if deadlines else None

    def purge(self, *, now: int) -> None:
        for auth_req_id, txn in list(self._by_id.items()):
            if not txn.active and now >= txn.expires_at + TOMBSTONE_SECONDS:
                del self._by_id[auth_req_id]
                self._by_txn.pop(txn.txn, None)

    def __len__(self) -> int:
        return len(self._by_id)

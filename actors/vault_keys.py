"""The token vault's key-encryption keys (envelope encryption at rest, ``protocols.vault``): KEKs
from the vault's seeded entropy, and their rotation — every record's data key re-wrapped with the
new KEK (RFC 3394 AES Key Wrap) in small transactions while requests go on, the old KEK retired once
nothing uses it. A part of ``actors.vault.VaultActor``, kept apart by concern."""

from __future__ import annotations

import base64
import itertools
from typing import TYPE_CHECKING, Any

import trio

from protocols.vault import Envelope, rewrap

if TYPE_CHECKING:
    from actors.vault import VaultActor

REWRAP_BATCH = 50


class VaultKeys:
    """KEK creation and rotation, mixed into ``VaultActor`` (it uses the actor's KEK ring, store,
    configuration and audit)."""

    def _new_kek(self: VaultActor, generation: int) -> bytes:
        key = self.runtime.entropy_for(self.name).child(f"kek-{generation}").bytes(32)
        self.runtime.secrets.add(base64.b64encode(key).decode(), base64.urlsafe_b64encode(key).decode(), key.hex())
        return key

    async def _rotate_on_schedule(self: VaultActor) -> None:
        while True:
            await trio.sleep(self.config.kek_rotation_period)
            await self.rotate_kek()

    async def rotate_kek(self: VaultActor) -> dict[str, Any]:
        """New KEK; every record's data key is re-wrapped in small transactions while requests go
        on; the old KEK is dropped once nothing uses it."""
        assert self.ring is not None
        old = self.ring.active_id
        self._kek_generation += 1
        self.ring = self.ring.rotate(kek_id=f"kek-{self._kek_generation}", key=self._new_kek(self._kek_generation))
        rewrapped = 0
        while True:
            connections = {c.connection_id: rewrap(c.refresh, ring=self.ring) for c in self._store.connections()
                           if c.refresh.kek_id != self.ring.active_id}
            tokens = {(t.connection_id, t.slot): rewrap(t.token, ring=self.ring) for t in self._store.cached_tokens()
                      if t.token.kek_id != self.ring.active_id}
            batch_c = dict(itertools.islice(connections.items(), REWRAP_BATCH))
            batch_t = dict(itertools.islice(tokens.items(), REWRAP_BATCH - len(batch_c)))
            if not batch_c and not batch_t:
                break
            self._store.rewrap(connections=batch_c, tokens=batch_t)
            rewrapped += len(batch_c) + len(batch_t)
            await trio.sleep(0)  # let requests in between batches: no downtime
        usage = self._store.kek_usage()
        retired = [k for k in self.ring.keys if k != self.ring.active_id and not usage.get(k)]
        for kek_id in retired:
            self.ring = self.ring.retire(kek_id)
        report = {"old_kek": old, "new_kek": self.ring.active_id, "rewrapped": rewrapped, "retired": retired}
        await self.audit("vault.key_rotated", decision="allow", reason="key-encryption key rotated", **report)
        return report

    def envelopes(self: VaultActor) -> list[Envelope]:
        """Every stored envelope (for inspection: which KEK wraps what)."""
        return ([c.refresh for c in self._store.connections()] + [t.token for t in self._store.cached_tokens()])

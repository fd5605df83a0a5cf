"""A consumer fitness tracker (a wearable's cloud): daily activity, heart rate, sleep and nutrition
logs behind its own OAuth 2.0 authorization server with a consent screen (SPEC.md "Other
scenarios": a meal planner asks for the fitness tracker's data).

Each data type is its own scope, as the real fitness APIs do (``activity.read``,
``heart_rate.read``, ``sleep.read``, ``nutrition.read``); one API, ``/fitness/v1``. A user's data is
generated from the run's seed (``FitnessActor.seed_user``): seven days per type, deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from actors.saas.base import ApiReply, Caller, SaasProvider
from protocols.calendar import rfc3339
from protocols.http import HttpRequest
from protocols.oauth.errors import NotFound

API = "/fitness/v1"
SCOPES = {
    "activity.read": "See your daily steps, distance and active minutes",
    "heart_rate.read": "See your heart rate data",
    "sleep.read": "See your sleep logs",
    "nutrition.read": "See your food and water logs",
}
APIS = {API: frozenset(SCOPES)}
KINDS = {"activity": "activity.read", "heart_rate": "heart_rate.read", "sleep": "sleep.read",
         "nutrition": "nutrition.read"}
DAYS = 7


@attrs.define(eq=False)
class FitnessActor(SaasProvider):
    data: dict[str, dict[str, list[dict[str, Any]]]] = attrs.field(factory=dict)
    """user id → kind → daily records."""

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        for kind, scope in KINDS.items():
            self.api_route("GET", f"{API}/users/me/{kind}", self._reader(kind), api=API, scopes=(scope,))

    def seed_user(self, user_id: str, *, start: int) -> None:
        """Seven days of each kind for ``user_id``, from the actor's seeded entropy."""
        rng = self.runtime.entropy_for(self.name).child(f"data:{user_id}")
        days = [rfc3339(start - (DAYS - n) * 86400)[:10] for n in range(DAYS)]
        self.data[user_id] = {
            "activity": [{"date": d, "steps": 4000 + rng.integer_below(9000),
                          "active_minutes": 10 + rng.integer_below(80)} for d in days],
            "heart_rate": [{"date": d, "resting_bpm": 52 + rng.integer_below(20)} for d in days],
            "sleep": [{"date": d, "minutes_asleep": 330 + rng.integer_below(150)} for d in days],
            "nutrition": [{"date": d, "calories": 1600 + rng.integer_below(1100),
                           "water_ml": 900 + rng.integer_below(1600)} for d in days],
        }

    def _reader(self, kind: str):
        async def read(caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
            records = self.data.get(caller.subject, {}).get(kind)
            if records is None:
                raise NotFound("no data for this user")
            return ApiReply(body={"kind": kind, "days": records}, records=len(records))
        return read

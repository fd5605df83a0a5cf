"""Google Workspace's Calendar API (``/calendar/v3``): ``calendar.freebusy`` reads free/busy of the
domain's calendars (RFC 3339 windows of at most 62 days), ``calendar.readonly`` reads events,
``calendar.events`` creates them (and reads the user's own); inviting attendees puts the event on
the calendars of the domain's users and e-mails the others. A part of
``actors.saas.google_workspace.GoogleWorkspaceActor``, kept apart by concern."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from actors.saas.base import ApiReply, Caller, json_object, text_field
from protocols.calendar import merge, parse_rfc3339, rfc3339
from protocols.http import HttpRequest
from protocols.mime import MailMessage, mailbox
from protocols.oauth.errors import AccessDenied, InvalidRequest

if TYPE_CHECKING:
    from actors.saas.google_workspace import GoogleWorkspaceActor

MAX_FREEBUSY_WINDOW = 62 * 86400


@attrs.frozen(kw_only=True)
class CalendarEvent:
    id: str
    calendar: str
    summary: str
    start: int
    end: int
    organizer: str
    attendees: tuple[str, ...] = ()
    description: str = ""
    response_status: str = "accepted"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "summary": self.summary, "description": self.description,
                "start": {"dateTime": rfc3339(self.start)}, "end": {"dateTime": rfc3339(self.end)},
                "organizer": {"email": self.organizer},
                "attendees": [{"email": a} for a in self.attendees], "responseStatus": self.response_status}


class CalendarApi:
    """The Calendar handlers, mixed into ``GoogleWorkspaceActor`` (its users and events)."""

    def _busy(self: GoogleWorkspaceActor, email: str, start: int, end: int) -> list[tuple[int, int]]:
        return merge((e.start, e.end) for (calendar, _), e in self.events.items()
                     if calendar == email and e.response_status != "declined" and e.start < end and start < e.end)

    async def free_busy(self: GoogleWorkspaceActor, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        self._email(caller)
        body = json_object(request)
        try:
            start, end = parse_rfc3339(text_field(body, "timeMin")), parse_rfc3339(text_field(body, "timeMax"))
        except ValueError:
            raise InvalidRequest("timeMin and timeMax must be RFC 3339 date-times") from None
        if not 0 < end - start <= MAX_FREEBUSY_WINDOW:
            raise InvalidRequest("the window must be positive and at most 62 days")
        items = body.get("items")
        if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
            raise InvalidRequest("items must list calendars as {\"id\": ...}")
        calendars: dict[str, Any] = {}
        for item in items:
            calendar_id = text_field(item, "id").lower()
            if self._is_member(calendar_id):
                calendars[calendar_id] = {"busy": [{"start": rfc3339(a), "end": rfc3339(b)}
                                                   for a, b in self._busy(calendar_id, start, end)]}
            else:
                calendars[calendar_id] = {"errors": [{"domain": "global", "reason": "notFound"}]}
        return ApiReply(body={"kind": "calendar#freeBusy", "timeMin": rfc3339(start), "timeMax": rfc3339(end),
                              "calendars": calendars}, records=len(calendars))

    def _calendar(self: GoogleWorkspaceActor, caller: Caller, calendar_id: str) -> str:
        email = self._email(caller)
        if calendar_id not in ("primary", email):
            raise AccessDenied("this token can only use the user's own calendar")
        return email

    async def list_events(self: GoogleWorkspaceActor, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        email = self._calendar(caller, params["calendar_id"])
        query = request.query_params()
        try:
            start = parse_rfc3339(query["timeMin"]) if "timeMin" in query else 0
            end = parse_rfc3339(query["timeMax"]) if "timeMax" in query else 2**40
        except ValueError:
            raise InvalidRequest("timeMin and timeMax must be RFC 3339 date-times") from None
        rows = sorted((e for (calendar, _), e in self.events.items()
                       if calendar == email and e.start < end and start < e.end), key=lambda e: (e.start, e.id))
        return ApiReply(body={"items": [e.to_json() for e in rows]}, records=len(rows))

    async def insert_event(self: GoogleWorkspaceActor, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        email = self._calendar(caller, params["calendar_id"])
        body = json_object(request)
        try:
            start = parse_rfc3339(text_field(body.get("start") or {}, "dateTime"))
            end = parse_rfc3339(text_field(body.get("end") or {}, "dateTime"))
        except (ValueError, AttributeError):
            raise InvalidRequest("start.dateTime and end.dateTime must be RFC 3339 date-times") from None
        if end <= start:
            raise InvalidRequest("the event must end after it starts")
        attendees = body.get("attendees", [])
        if not isinstance(attendees, list) or not all(isinstance(a, dict) for a in attendees):
            raise InvalidRequest("attendees must be a list of {\"email\": ...}")
        guests = tuple(dict.fromkeys(text_field(a, "email").lower() for a in attendees))
        event = CalendarEvent(id=self._ids.hex(13), calendar=email, summary=text_field(body, "summary"),
                              description=text_field(body, "description", required=False), start=start, end=end,
                              organizer=email, attendees=guests)
        self.events[(email, event.id)] = event
        for guest in guests:
            if guest == email:
                continue
            if self._is_member(guest):
                self.events[(guest, event.id)] = attrs.evolve(event, calendar=guest, response_status="needsAction")
        external = tuple(g for g in guests if not self._is_member(g))
        if external:
            invite = MailMessage(sender=email, to=external, subject=f"Invitation: {event.summary} @ {rfc3339(start)}",
                                 text=f"{mailbox(email)} invites you to {event.summary} ({rfc3339(start)} - "
                                      f"{rfc3339(end)}).", message_id=f"<{self._new_id()}@{self.domain}>")
            self._deliver(invite, sent_by=None)
        return ApiReply(body=event.to_json(), records=1)

"""Client calls to the simulated SaaS APIs with a bearer token (RFC 6750 §2.1): what an agent
uses once the vault gave it a provider token. Every error response raises its ``OAuthError``
counterpart (``insufficient_scope``, ``invalid_token``, ``access_denied``...)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import attrs

from actors.runtime.network import Network
from protocols.calendar import Period, parse_rfc3339, rfc3339
from protocols.http import HttpRequest, HttpResponse, MalformedBody
from protocols.mime import MailMessage, build_message, build_related, encode_raw
from protocols.oauth.errors import OAuthError, TemporarilyUnavailable

FOLDER = "application/vnd.google-apps.folder"


def _checked(response: HttpResponse) -> Any:
    if response.status >= 400:
        raise OAuthError.from_response(response)
    try:
        return response.json()
    except MalformedBody:
        raise TemporarilyUnavailable("the API answered with something that is not JSON") from None


@attrs.define(eq=False)
class ApiClient:
    """Calls one provider API (``base`` = its resource URI) with ``token``."""

    network: Network
    base: str
    token: str = attrs.field(repr=False)

    def _headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}", "accept": "application/json", **(extra or {})}

    async def get(self, path: str, **query: str) -> Any:
        url = self.base + path + (("?" + urlencode(query)) if query else "")
        return _checked(await self.network.send(HttpRequest.get(url, headers=self._headers())))

    async def post(self, path: str, payload: Any, **query: str) -> Any:
        url = self.base + path + (("?" + urlencode(query)) if query else "")
        return _checked(await self.network.send(HttpRequest.json_post(url=url, payload=payload,
                                                                      headers=self._headers())))

    async def send(self, request: HttpRequest) -> Any:
        return _checked(await self.network.send(attrs.evolve(request, headers=request.headers + tuple(
            self._headers().items()))))


# ------------------------------------------------------------------------ CRM


async def crm_customer(api: ApiClient, account: str) -> dict[str, Any]:
    """Account, contacts, purchase history and contracts of one account (``crm.read``)."""
    return {"account": await api.get(f"/accounts/{account}"),
            "contacts": (await api.get(f"/accounts/{account}/contacts"))["records"],
            "history": await api.get(f"/accounts/{account}/purchases")}


# ------------------------------------------------------------------------ Drive


async def drive_folder_path(api: ApiClient, path: list[str]) -> str:
    """The id of folder ``path`` under My Drive, creating missing folders (``drive.file``)."""
    parent = "root"
    for name in path:
        escaped = name.replace("\\", "\\\\").replace("'", "\\'")
        found = await api.get("/files", q=f"name = '{escaped}' and '{parent}' in parents and mimeType = '{FOLDER}' "
                                          "and trashed = false")
        if found["files"]:
            parent = found["files"][0]["id"]
        else:
            parent = (await api.post("/files", {"name": name, "mimeType": FOLDER, "parents": [parent]}))["id"]
    return parent


async def drive_upload(api: ApiClient, *, upload_base: str, folder: str, name: str, content: bytes,
                       mime_type: str, boundary: str) -> dict[str, Any]:
    """Create a file with content (``uploadType=multipart``, RFC 2387)."""
    content_type, body = build_related(metadata={"name": name, "parents": [folder], "mimeType": mime_type},
                                       content=content, content_type=mime_type, boundary=boundary)
    return await api.send(HttpRequest(method="POST", url=upload_base + "/files?uploadType=multipart",
                                      headers={"content-type": content_type}, body=body))


async def drive_share(api: ApiClient, file_id: str, *, email: str, kind: str, role: str) -> dict[str, Any]:
    return await api.post(f"/files/{file_id}/permissions", {"type": kind, "role": role, "emailAddress": email})


# ------------------------------------------------------------------------ Gmail


async def gmail_send(api: ApiClient, message: MailMessage, *, boundary: str, now: int) -> dict[str, Any]:
    raw = encode_raw(build_message(message, boundary=boundary, now=now))
    return await api.post("/users/me/messages/send", {"raw": raw})


# ------------------------------------------------------------------------ Calendar


async def calendar_busy(api: ApiClient, calendars: list[str], *, start: int, end: int) -> dict[str, list[Period]]:
    """Busy periods per calendar (``freeBusy.query``); a calendar the API cannot see raises."""
    answer = await api.post("/freeBusy", {"timeMin": rfc3339(start), "timeMax": rfc3339(end),
                                          "items": [{"id": c} for c in calendars]})
    busy: dict[str, list[Period]] = {}
    for calendar in calendars:
        entry = answer["calendars"].get(calendar, {})
        if entry.get("errors"):
            raise TemporarilyUnavailable(f"free/busy of {calendar} is not available: {json.dumps(entry['errors'])}")
        busy[calendar] = [(parse_rfc3339(b["start"]), parse_rfc3339(b["end"])) for b in entry.get("busy", [])]
    return busy


async def calendar_book(api: ApiClient, *, summary: str, description: str, slot: Period,
                        attendees: list[str]) -> dict[str, Any]:
    return await api.post("/calendars/primary/events", {
        "summary": summary, "description": description, "start": {"dateTime": rfc3339(slot[0])},
        "end": {"dateTime": rfc3339(slot[1])}, "attendees": [{"email": a} for a in attendees]})

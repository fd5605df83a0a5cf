"""Google Workspace for one company domain: Drive (files, folders, sharing), Gmail (send with
attachments, mailboxes) and Calendar (free/busy, events, invitations), behind its own OAuth 2.0
authorization server (distinct from the ``google`` social IdP people sign in with).

Scopes follow Google's semantics:
- ``drive.file`` sees and changes only files this app created; ``drive.readonly`` reads every
  file the user can access; ``drive`` does everything;
- ``gmail.send`` sends as the user (the ``From`` must be the user), ``gmail.readonly`` reads
  the user's mailbox;
- ``calendar.freebusy`` reads free/busy of the domain's calendars, ``calendar.readonly`` reads
  events, ``calendar.events`` creates them (and reads the user's own);
- ``admin.readonly`` / ``admin.reports`` (service accounts only) read any user's data and the
  activity reports — what an administrator, an eDiscovery tool or the discovery service uses.

Sharing a file notifies the grantees by e-mail, and inviting attendees to an event puts it on
the calendars of the domain's users and e-mails the others, as Workspace does.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

import attrs

from actors.saas.base import ApiReply, Caller, SaasProvider, json_object, text_field
from protocols.calendar import merge, parse_rfc3339, rfc3339
from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest
from protocols.mime import MailMessage, MalformedMessage, build_message, decode_raw, mailbox, parse_message, parse_related
from protocols.oauth.errors import AccessDenied, InvalidRequest, NotFound

DRIVE, UPLOAD, GMAIL, CALENDAR, ADMIN = "/drive/v3", "/upload/drive/v3", "/gmail/v1", "/calendar/v3", "/admin/v1"
SCOPES = {
    "drive": "See, edit, create and delete all of your Google Drive files",
    "drive.readonly": "See and download all your Google Drive files",
    "drive.file": "See, edit, create and delete only the specific Google Drive files this app uses",
    "gmail.send": "Send email on your behalf",
    "gmail.readonly": "View your email messages and settings",
    "calendar.freebusy": "View your availability in your calendars",
    "calendar.readonly": "See and download any calendar you can access",
    "calendar.events": "View and edit events on all your calendars",
    "admin.readonly": "Read any user's Drive, Gmail and Calendar data (administrators)",
    "admin.reports": "Read the domain's API and login activity reports (administrators)",
}
APIS = {
    DRIVE: frozenset({"drive", "drive.readonly", "drive.file"}),
    GMAIL: frozenset({"gmail.send", "gmail.readonly"}),
    CALENDAR: frozenset({"calendar.freebusy", "calendar.readonly", "calendar.events"}),
    ADMIN: frozenset({"admin.readonly", "admin.reports"}),
}
FOLDER = "application/vnd.google-apps.folder"
ROLES = ("owner", "writer", "commenter", "reader")
MAX_FREEBUSY_WINDOW = 62 * 86400


@attrs.frozen(kw_only=True)
class WorkspaceUser:
    id: str
    email: str
    name: str


@attrs.frozen(kw_only=True)
class Group:
    email: str
    name: str
    members: tuple[str, ...]


@attrs.frozen(kw_only=True)
class Permission:
    id: str
    role: str
    type: str
    email_address: str

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "role": self.role, "type": self.type, "emailAddress": self.email_address}


@attrs.frozen(kw_only=True)
class DriveFile:
    id: str
    name: str
    mime_type: str
    owner: str
    parents: tuple[str, ...] = ()
    content: bytes | None = attrs.field(default=None, repr=False)
    created_time: int = 0
    app: str | None = None
    """The client that created the file (``drive.file`` tokens of that client see it)."""
    permissions: tuple[Permission, ...] = ()

    def to_json(self) -> dict[str, Any]:
        body = {"id": self.id, "name": self.name, "mimeType": self.mime_type, "parents": list(self.parents),
                "owners": [{"emailAddress": self.owner}], "createdTime": rfc3339(self.created_time)}
        if self.content is not None:
            body["size"] = str(len(self.content))
        return body


@attrs.frozen(kw_only=True)
class StoredMail:
    id: str
    mailbox: str
    labels: tuple[str, ...]
    time: int
    raw: bytes = attrs.field(repr=False)
    message: MailMessage = attrs.field(repr=False)

    def metadata(self) -> dict[str, Any]:
        m = self.message
        return {"id": self.id, "labelIds": list(self.labels), "internalDate": str(self.time * 1000),
                "from": m.sender, "to": list(m.to), "cc": list(m.cc), "subject": m.subject,
                "attachments": [{"filename": a.filename, "mimeType": a.content_type, "size": len(a.content),
                                 "sha256": a.sha256} for a in m.attachments]}


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


@attrs.frozen(kw_only=True)
class WorkspaceData:
    """The domain at start: users, groups, files and calendar events (the world's seed)."""

    users: tuple[WorkspaceUser, ...] = ()
    groups: tuple[Group, ...] = ()
    files: tuple[DriveFile, ...] = ()
    events: tuple[CalendarEvent, ...] = ()


_CLAUSE = re.compile(r"^(?:name\s*=\s*'(?P<name>(?:\\.|[^'\\])*)'|'(?P<parent>[^']+)'\s+in\s+parents"
                     r"|mimeType\s*=\s*'(?P<mime>[^']+)'|trashed\s*=\s*false)$")


def parse_query(q: str) -> dict[str, str]:
    """Drive's ``q`` for the subset we serve: clauses joined by ``and``."""
    found: dict[str, str] = {}
    for clause in filter(None, (c.strip() for c in re.split(r"\s+and\s+", q))):
        match = _CLAUSE.match(clause)
        if match is None:
            raise InvalidRequest(f"unsupported query clause: {clause[:60]}")
        for key, value in match.groupdict().items():
            if value is not None:
                found[key] = re.sub(r"\\(.)", r"\1", value)
    return found


@attrs.define(eq=False)
class GoogleWorkspaceActor(SaasProvider):
    domain: str = ""
    users: dict[str, WorkspaceUser] = attrs.field(factory=dict)
    groups: dict[str, Group] = attrs.field(factory=dict)
    files: dict[str, DriveFile] = attrs.field(factory=dict)
    mail: list[StoredMail] = attrs.field(factory=list)
    outbound: list[StoredMail] = attrs.field(factory=list)
    """Messages that left the domain (to external recipients)."""
    events: dict[tuple[str, str], CalendarEvent] = attrs.field(factory=dict)
    _ids: SeededEntropy = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self._ids = self.runtime.entropy_for(self.name).child("ids")
        r = self.api_route
        read_drive = ("drive", "drive.readonly", "drive.file")
        r("GET", f"{DRIVE}/files", self.list_files, api=DRIVE, scopes=read_drive)
        r("POST", f"{DRIVE}/files", self.create_file, api=DRIVE, scopes=("drive", "drive.file"))
        r("POST", f"{UPLOAD}/files", self.upload_file, api=DRIVE, scopes=("drive", "drive.file"))
        r("GET", f"{DRIVE}/files/{{file_id}}", self.get_file, api=DRIVE, scopes=read_drive)
        r("GET", f"{DRIVE}/files/{{file_id}}/permissions", self.list_permissions, api=DRIVE, scopes=read_drive)
        r("POST", f"{DRIVE}/files/{{file_id}}/permissions", self.share_file, api=DRIVE, scopes=("drive", "drive.file"))
        r("POST", f"{GMAIL}/users/{{user_id}}/messages/send", self.send_mail, api=GMAIL, scopes=("gmail.send",))
        r("GET", f"{GMAIL}/users/{{user_id}}/messages", self.list_mail, api=GMAIL, scopes=("gmail.readonly",))
        r("GET", f"{GMAIL}/users/{{user_id}}/messages/{{message_id}}", self.get_mail, api=GMAIL,
          scopes=("gmail.readonly",))
        r("POST", f"{CALENDAR}/freeBusy", self.free_busy, api=CALENDAR,
          scopes=("calendar.freebusy", "calendar.readonly", "calendar.events"))
        r("GET", f"{CALENDAR}/calendars/{{calendar_id}}/events", self.list_events, api=CALENDAR,
          scopes=("calendar.readonly", "calendar.events"))
        r("POST", f"{CALENDAR}/calendars/{{calendar_id}}/events", self.insert_event, api=CALENDAR,
          scopes=("calendar.events",))
        r("GET", f"{ADMIN}/users/{{user_key}}/{{kind}}", self.admin_user_data, api=ADMIN, scopes=("admin.readonly",))
        r("GET", f"{ADMIN}/reports/activity", self.admin_activity, api=ADMIN, scopes=("admin.reports",))

    def load(self, data: WorkspaceData) -> None:
        self.users.update({u.id: u for u in data.users})
        self.groups.update({g.email: g for g in data.groups})
        for user in data.users:
            root = self._root_id(user.email)
            self.files.setdefault(root, DriveFile(id=root, name="My Drive", mime_type=FOLDER, owner=user.email))
        self.files.update({f.id: f for f in data.files})
        self.events.update({(e.calendar, e.id): e for e in data.events})

    # ------------------------------------------------------------------ identities

    @staticmethod
    def _root_id(email: str) -> str:
        return "root-" + email.split("@")[0]

    def _email(self, caller: Caller) -> str:
        user = self.users.get(caller.subject)
        if user is None:
            raise AccessDenied("service accounts have no mailbox, drive or calendar of their own")
        return user.email

    def _is_member(self, email: str) -> bool:
        return any(u.email == email for u in self.users.values())

    def _groups_of(self, email: str) -> set[str]:
        return {g.email for g in self.groups.values() if email in g.members}

    def _new_id(self, prefix: str = "") -> str:
        return prefix + self._ids.token(18)

    # ------------------------------------------------------------------ Drive

    def _role(self, email: str, file: DriveFile) -> str | None:
        if file.owner == email:
            return "owner"
        groups = self._groups_of(email)
        roles = [p.role for p in file.permissions if p.email_address == email or p.email_address in groups]
        return min(roles, key=ROLES.index) if roles else None

    def _drive_view(self, caller: Caller, file: DriveFile) -> bool:
        """Whether this token may see ``file``: access as the user, narrowed by ``drive.file``."""
        if self._role(self._email(caller), file) is None:
            return False
        return bool({"drive", "drive.readonly"} & set(caller.scope)) or file.app == caller.client_id

    def _file(self, caller: Caller, file_id: str) -> DriveFile:
        if file_id == "root":
            file_id = self._root_id(self._email(caller))
        file = self.files.get(file_id)
        if file is None or not (self._drive_view(caller, file) or file.id == self._root_id(self._email(caller))):
            raise NotFound("file not found")
        return file

    async def list_files(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        query = parse_query(request.query_params().get("q", ""))
        parent = query.get("parent")
        if parent == "root":
            parent = self._root_id(self._email(caller))
        rows = [f for f in self.files.values() if not f.id.startswith("root-") and self._drive_view(caller, f)
                and ("name" not in query or f.name == query["name"]) and (parent is None or parent in f.parents)
                and ("mime" not in query or f.mime_type == query["mime"])]
        return ApiReply(body={"files": [f.to_json() for f in rows]}, records=len(rows))

    def _create(self, caller: Caller, metadata: Mapping[str, Any], content: bytes | None, mime: str) -> DriveFile:
        email = self._email(caller)
        name = text_field(metadata, "name")
        if "/" in name or len(name) > 255:
            raise InvalidRequest("name must be a single path segment of at most 255 characters")
        parents = metadata.get("parents", ["root"])
        if not isinstance(parents, list) or len(parents) != 1 or not isinstance(parents[0], str):
            raise InvalidRequest("parents must list exactly one folder id")
        parent = self._file(caller, parents[0])
        if parent.mime_type != FOLDER or self._role(email, parent) not in ("owner", "writer"):
            raise AccessDenied("the parent is not a folder you can write to")
        file = DriveFile(id=self._new_id(), name=name, mime_type=mime, owner=email, parents=(parent.id,),
                         content=content, created_time=self.runtime.clock.now(), app=caller.client_id)
        self.files[file.id] = file
        return file

    async def create_file(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        metadata = json_object(request)
        mime = text_field(metadata, "mimeType", required=False, default="application/octet-stream")
        return ApiReply(body=self._create(caller, metadata, None if mime == FOLDER else b"", mime).to_json(),
                        records=1)

    async def upload_file(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        if request.query_params().get("uploadType") != "multipart":
            raise InvalidRequest("only uploadType=multipart is supported")
        try:
            metadata, content, mime = parse_related(content_type=request.header("content-type") or "",
                                                    body=request.body)
        except MalformedMessage as exc:
            raise InvalidRequest(str(exc)) from None
        if mime == FOLDER:
            raise InvalidRequest("folders have no content")
        return ApiReply(body=self._create(caller, metadata, content, mime).to_json(), records=1)

    async def get_file(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        file = self._file(caller, params["file_id"])
        if request.query_params().get("alt") == "media":
            if file.content is None:
                raise InvalidRequest("folders have no content")
            return ApiReply(raw=file.content, content_type=file.mime_type, records=1)
        return ApiReply(body=file.to_json(), records=1)

    async def list_permissions(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        file = self._file(caller, params["file_id"])
        owner = Permission(id="owner", role="owner", type="user", email_address=file.owner)
        rows = [p.to_json() for p in (owner, *file.permissions)]
        return ApiReply(body={"permissions": rows}, records=len(rows))

    async def share_file(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        file = self._file(caller, params["file_id"])
        email = self._email(caller)
        if self._role(email, file) not in ("owner", "writer"):
            raise AccessDenied("only owners and writers can share")
        body = json_object(request)
        role, kind = text_field(body, "role"), text_field(body, "type")
        target = text_field(body, "emailAddress").lower()
        if role not in ROLES[1:] or kind not in ("user", "group"):
            raise InvalidRequest("role must be writer, commenter or reader; type user or group")
        if kind == "group" and target not in self.groups:
            raise InvalidRequest("no such group in this domain")
        if kind == "user" and not self._is_member(target):
            raise InvalidRequest("sharing outside the domain is disabled by the administrator")
        permission = Permission(id=self._new_id("perm-"), role=role, type=kind, email_address=target)
        self.files[file.id] = attrs.evolve(file, permissions=tuple(
            p for p in file.permissions if p.email_address != target) + (permission,))
        if request.query_params().get("sendNotificationEmail", "true") != "false":
            grantees = self.groups[target].members if kind == "group" else (target,)
            notice = MailMessage(sender="drive-shares-noreply@" + self.domain, to=tuple(grantees),
                                 subject=f'Document shared with you: "{file.name}"',
                                 text=f"{email} shared {file.name} with you ({role}).",
                                 message_id=f"<{self._new_id()}@{self.domain}>")
            self._deliver(notice, sent_by=None)
        return ApiReply(body=permission.to_json(), records=1)

    # ------------------------------------------------------------------ Gmail

    def _mailbox_owner(self, caller: Caller, user_id: str) -> str:
        email = self._email(caller)
        if user_id not in ("me", email):
            raise AccessDenied("delegation denied: a token acts for its own mailbox only")
        return email

    def _deliver(self, message: MailMessage, *, sent_by: str | None, raw: bytes | None = None) -> StoredMail | None:
        """File a message: a SENT copy for the sender, an INBOX copy for every member of the domain
        among the recipients (groups expanded), one outbound record for the external ones."""
        now = self.runtime.clock.now()
        if raw is None:
            raw = build_message(message, boundary="=_" + self._ids.hex(12), now=now)
        stored = None
        if sent_by is not None:
            stored = StoredMail(id=self._new_id(), mailbox=sent_by, labels=("SENT",), time=now, raw=raw,
                                message=message)
            self.mail.append(stored)
        for recipient in message.recipients:
            members = self.groups[recipient].members if recipient in self.groups else (recipient,)
            for member in members:
                if self._is_member(member):
                    self.mail.append(StoredMail(id=self._new_id(), mailbox=member, labels=("INBOX",), time=now,
                                                raw=raw, message=message))
        external = tuple(r for r in message.recipients if not self._is_member(r) and r not in self.groups)
        if external:
            self.outbound.append(StoredMail(id=stored.id if stored else self._new_id(), mailbox="outbound",
                                            labels=external, time=now, raw=raw, message=message))
        return stored

    async def send_mail(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        owner = self._mailbox_owner(caller, params["user_id"])
        raw = text_field(json_object(request), "raw")
        try:
            data = decode_raw(raw)
            message = parse_message(data)
        except MalformedMessage as exc:
            raise InvalidRequest(str(exc)) from None
        if message.sender != owner:
            raise AccessDenied("From must be the authenticated user's address (send-as not configured)")
        if not message.message_id:
            message = attrs.evolve(message, message_id=f"<{self._new_id()}@{self.domain}>")
        stored = self._deliver(message, sent_by=owner, raw=data)
        assert stored is not None
        return ApiReply(body={"id": stored.id, "threadId": stored.id, "labelIds": ["SENT"]}, records=1)

    async def list_mail(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        owner = self._mailbox_owner(caller, params["user_id"])
        label = request.query_params().get("labelIds")
        rows = [{"id": m.id, "threadId": m.id} for m in self.mail
                if m.mailbox == owner and (label is None or label in m.labels)]
        return ApiReply(body={"messages": rows, "resultSizeEstimate": len(rows)}, records=len(rows))

    async def get_mail(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        owner = self._mailbox_owner(caller, params["user_id"])
        found = next((m for m in self.mail if m.id == params["message_id"] and m.mailbox == owner), None)
        if found is None:
            raise NotFound("message not found")
        return ApiReply(body=found.metadata(), records=1)

    # ------------------------------------------------------------------ Calendar

    def _busy(self, email: str, start: int, end: int) -> list[tuple[int, int]]:
        return merge((e.start, e.end) for (calendar, _), e in self.events.items()
                     if calendar == email and e.response_status != "declined" and e.start < end and start < e.end)

    async def free_busy(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
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

    def _calendar(self, caller: Caller, calendar_id: str) -> str:
        email = self._email(caller)
        if calendar_id not in ("primary", email):
            raise AccessDenied("this token can only use the user's own calendar")
        return email

    async def list_events(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
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

    async def insert_event(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
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

    # ------------------------------------------------------------------ Admin (service accounts)

    async def admin_user_data(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        if not caller.service_account:
            raise AccessDenied("administrator service accounts only")
        email, kind = params["user_key"].lower(), params["kind"]
        if not self._is_member(email):
            raise NotFound("no such user")
        if kind == "files":
            rows = [{**f.to_json(), "permissions": [p.to_json() for p in f.permissions],
                     "content_sha256": hashlib.sha256(f.content).hexdigest() if f.content else None}
                    for f in self.files.values() if f.owner == email and not f.id.startswith("root-")]
        elif kind == "messages":
            rows = [m.metadata() for m in self.mail if m.mailbox == email]
        elif kind == "events":
            rows = [e.to_json() for (calendar, _), e in sorted(self.events.items()) if calendar == email]
        else:
            raise NotFound("kind must be files, messages or events")
        return ApiReply(body={"user": email, kind: rows}, records=len(rows))

    async def admin_activity(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        if not caller.service_account:
            raise AccessDenied("administrator service accounts only")
        calls = [e.to_json() for e in self.api_log]
        logins = [e.to_json() for e in self.auth_log]
        outbound = [{"id": m.id, "time": m.time, "from": m.message.sender, "to": list(m.labels),
                     "subject": m.message.subject} for m in self.outbound]
        return ApiReply(body={"api_calls": calls, "auth_events": logins, "outbound_mail": outbound},
                        records=len(calls) + len(logins))

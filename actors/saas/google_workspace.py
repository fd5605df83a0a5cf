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

This module is the provider's OAuth side (its scopes and API resources, RFC 8707 §2, and the route
table that says which scopes each call needs, RFC 6750 §3.1), the domain's identities and the Admin
API; the APIs are in ``actors.saas.workspace_drive``, ``actors.saas.workspace_gmail`` and
``actors.saas.workspace_calendar``, mixed into :class:`GoogleWorkspaceActor`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import attrs

from actors.saas.base import ApiReply, Caller, SaasProvider
from actors.saas.workspace_calendar import CalendarApi, CalendarEvent
from actors.saas.workspace_drive import FOLDER, DriveApi, DriveFile
from actors.saas.workspace_gmail import GmailApi, StoredMail
from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest
from protocols.oauth.errors import AccessDenied, NotFound

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
class WorkspaceData:
    """The domain at start: users, groups, files and calendar events (the world's seed)."""

    users: tuple[WorkspaceUser, ...] = ()
    groups: tuple[Group, ...] = ()
    files: tuple[DriveFile, ...] = ()
    events: tuple[CalendarEvent, ...] = ()


@attrs.define(eq=False)
class GoogleWorkspaceActor(SaasProvider, DriveApi, GmailApi, CalendarApi):
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

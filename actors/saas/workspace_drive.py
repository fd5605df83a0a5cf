"""Google Workspace's Drive API (``/drive/v3``, ``/upload/drive/v3``): files and folders, the
``q`` search subset, multipart uploads (RFC 2387 ``multipart/related``) and sharing within the
domain, which notifies the grantees by e-mail. ``drive.file`` sees and changes only files this app
created; ``drive.readonly`` reads every file the user can access; ``drive`` does everything. A part
of ``actors.saas.google_workspace.GoogleWorkspaceActor``, kept apart by concern."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from actors.saas.base import ApiReply, Caller, json_object, text_field
from protocols.calendar import rfc3339
from protocols.http import HttpRequest
from protocols.mime import MailMessage, MalformedMessage, parse_related
from protocols.oauth.errors import AccessDenied, InvalidRequest, NotFound

if TYPE_CHECKING:
    from actors.saas.google_workspace import GoogleWorkspaceActor

FOLDER = "application/vnd.google-apps.folder"
ROLES = ("owner", "writer", "commenter", "reader")


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


class DriveApi:
    """The Drive handlers, mixed into ``GoogleWorkspaceActor`` (its users, groups and files)."""

    def _role(self: GoogleWorkspaceActor, email: str, file: DriveFile) -> str | None:
        if file.owner == email:
            return "owner"
        groups = self._groups_of(email)
        roles = [p.role for p in file.permissions if p.email_address == email or p.email_address in groups]
        return min(roles, key=ROLES.index) if roles else None

    def _drive_view(self: GoogleWorkspaceActor, caller: Caller, file: DriveFile) -> bool:
        """Whether this token may see ``file``: access as the user, narrowed by ``drive.file``."""
        if self._role(self._email(caller), file) is None:
            return False
        return bool({"drive", "drive.readonly"} & set(caller.scope)) or file.app == caller.client_id

    def _file(self: GoogleWorkspaceActor, caller: Caller, file_id: str) -> DriveFile:
        if file_id == "root":
            file_id = self._root_id(self._email(caller))
        file = self.files.get(file_id)
        if file is None or not (self._drive_view(caller, file) or file.id == self._root_id(self._email(caller))):
            raise NotFound("file not found")
        return file

    async def list_files(self: GoogleWorkspaceActor, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        query = parse_query(request.query_params().get("q", ""))
        parent = query.get("parent")
        if parent == "root":
            parent = self._root_id(self._email(caller))
        rows = [f for f in self.files.values() if not f.id.startswith("root-") and self._drive_view(caller, f)
                and ("name" not in query or f.name == query["name"]) and (parent is None or parent in f.parents)
                and ("mime" not in query or f.mime_type == query["mime"])]
        return ApiReply(body={"files": [f.to_json() for f in rows]}, records=len(rows))

    def _create(self: GoogleWorkspaceActor, caller: Caller, metadata: Mapping[str, Any], content: bytes | None, mime: str) -> DriveFile:
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

    async def create_file(self: GoogleWorkspaceActor, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        metadata = json_object(request)
        mime = text_field(metadata, "mimeType", required=False, default="application/octet-stream")
        return ApiReply(body=self._create(caller, metadata, None if mime == FOLDER else b"", mime).to_json(),
                        records=1)

    async def upload_file(self: GoogleWorkspaceActor, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
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

    async def get_file(self: GoogleWorkspaceActor, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        file = self._file(caller, params["file_id"])
        if request.query_params().get("alt") == "media":
            if file.content is None:
                raise InvalidRequest("folders have no content")
            return ApiReply(raw=file.content, content_type=file.mime_type, records=1)
        return ApiReply(body=file.to_json(), records=1)

    async def list_permissions(self: GoogleWorkspaceActor, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        file = self._file(caller, params["file_id"])
        owner = Permission(id="owner", role="owner", type="user", email_address=file.owner)
        rows = [p.to_json() for p in (owner, *file.permissions)]
        return ApiReply(body={"permissions": rows}, records=len(rows))

    async def share_file(self: GoogleWorkspaceActor, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
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

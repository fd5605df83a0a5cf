"""Subject identifiers for security event tokens (RFC 9493; SSF 1.0 §"Subject Identifiers").

A subject identifier is a JSON object whose ``format`` member names how the other members identify
the subject. RFC 9493 §3.2 defines ``account`` (``uri``: an ``acct:`` URI), ``email`` (``email``),
``iss_sub`` (``iss`` + ``sub``), ``opaque`` (``id``), ``phone_number`` (``phone_number``, E.164),
``did`` (``url``), ``uri`` (``uri``) and ``aliases`` (``identifiers``: other identifiers, none of
them ``aliases``). SSF 1.0 adds the ``complex`` subject whose members (``user``, ``session``,
``tenant``, ``device``, ``application``, ``org_unit``, ``group``) are simple identifiers, all of
which must match (SSF §"Complex Subjects"), and the ``jwt_id`` format (``iss`` + ``jti``).

``SubjectId.from_json`` refuses anything malformed with ``InvalidSubject`` (the receiver answers
``invalid_request``); ``to_json`` gives the wire form; ``local_names`` lists the names a receiver
can look its own principals up by.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

import attrs

SIMPLE_FORMATS: Mapping[str, tuple[str, ...]] = {
    "account": ("uri",),
    "email": ("email",),
    "iss_sub": ("iss", "sub"),
    "opaque": ("id",),
    "phone_number": ("phone_number",),
    "did": ("url",),
    "uri": ("uri",),
    "jwt_id": ("iss", "jti"),
}
"""Format → its required string members (RFC 9493 §3.2.1–§3.2.7; SSF 1.0 ``jwt_id``)."""

COMPLEX_MEMBERS = ("user", "session", "tenant", "device", "application", "org_unit", "group")
"""Members of an SSF complex subject, each a simple subject identifier (SSF 1.0)."""

MAX_MEMBER_LENGTH = 512
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")


class InvalidSubject(ValueError):
    """A subject identifier that does not follow RFC 9493 / SSF 1.0 (message names the rule)."""


@attrs.frozen(kw_only=True)
class SubjectId:
    """A simple subject identifier: its format and members (``aliases`` keeps nested identifiers)."""

    format: str
    members: tuple[tuple[str, str], ...] = ()
    aliases: tuple[SubjectId, ...] = ()

    def get(self, name: str) -> str | None:
        return dict(self.members).get(name)

    def to_json(self) -> dict[str, Any]:
        if self.format == "aliases":
            return {"format": "aliases", "identifiers": [alias.to_json() for alias in self.aliases]}
        return {"format": self.format, **dict(self.members)}

    @classmethod
    def iss_sub(cls, *, iss: str, sub: str) -> SubjectId:
        return cls(format="iss_sub", members=(("iss", iss), ("sub", sub)))

    @classmethod
    def opaque(cls, value: str) -> SubjectId:
        return cls(format="opaque", members=(("id", value),))

    @classmethod
    def email(cls, address: str) -> SubjectId:
        return cls(format="email", members=(("email", address),))

    @classmethod
    def from_json(cls, value: Any, *, nested: bool = False) -> SubjectId:
        """Parse a simple identifier (RFC 9493 §3); ``aliases`` may not nest ``aliases`` (§3.2.8)."""
        if not isinstance(value, Mapping):
            raise InvalidSubject("a subject identifier is a JSON object")
        fmt = value.get("format")
        if not isinstance(fmt, str) or not fmt:
            raise InvalidSubject("a subject identifier needs a string 'format'")
        if fmt == "aliases":
            if nested:
                raise InvalidSubject("an 'aliases' identifier may not contain another 'aliases'")
            identifiers = value.get("identifiers")
            if not isinstance(identifiers, list) or not identifiers:
                raise InvalidSubject("'aliases' needs a non-empty 'identifiers' array")
            return cls(format="aliases", aliases=tuple(cls.from_json(item, nested=True) for item in identifiers))
        required = SIMPLE_FORMATS.get(fmt)
        if required is None:
            raise InvalidSubject(f"unsupported subject identifier format {fmt[:40]!r}")
        members = []
        for name in required:
            member = value.get(name)
            if not isinstance(member, str) or not member or len(member) > MAX_MEMBER_LENGTH:
                raise InvalidSubject(f"format {fmt!r} needs a non-empty string {name!r}")
            members.append((name, member))
        if fmt == "email" and not _EMAIL.match(members[0][1]):
            raise InvalidSubject("'email' is not an e-mail address")
        if fmt == "phone_number" and not _E164.match(members[0][1]):
            raise InvalidSubject("'phone_number' is not in E.164 form")
        if fmt == "account" and not members[0][1].startswith("acct:"):
            raise InvalidSubject("'account' needs an acct: URI")
        return cls(format=fmt, members=tuple(members))


@attrs.frozen(kw_only=True)
class ComplexSubject:
    """An SSF complex subject: named simple identifiers that must all match (kept sorted by name)."""

    parts: tuple[tuple[str, SubjectId], ...]

    def member(self, name: str) -> SubjectId | None:
        return dict(self.parts).get(name)

    def to_json(self) -> dict[str, Any]:
        return {"format": "complex", **{name: sid.to_json() for name, sid in self.parts}}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> ComplexSubject:
        parts = []
        for name, member in value.items():
            if name == "format":
                continue
            if name not in COMPLEX_MEMBERS:
                continue  # SSF: unknown members are ignored
            parts.append((name, SubjectId.from_json(member)))
        if not parts:
            raise InvalidSubject("a complex subject needs at least one member (user, session, application, ...)")
        return cls(parts=tuple(sorted(parts)))


Subject = SubjectId | ComplexSubject


def parse_subject(value: Any) -> Subject:
    """A ``sub_id`` claim (RFC 9493 §4, SSF 1.0): simple or complex."""
    if isinstance(value, Mapping) and value.get("format") == "complex":
        return ComplexSubject.from_json(value)
    return SubjectId.from_json(value)


def principals(subject: Subject) -> tuple[SubjectId, ...]:
    """The simple identifiers a receiver matches against its principals: the identifier itself, or
    the ``application`` then ``user`` members of a complex subject (an agent is an application)."""
    if isinstance(subject, SubjectId):
        return (subject,)
    return tuple(sid for name in ("application", "user") if (sid := subject.member(name)) is not None)


def local_names(subject: Subject, *, issuers: Collection[str]) -> tuple[str, ...]:
    """The names a receiver can look its principals up by: the ``sub`` of an ``iss_sub`` whose
    issuer it trusts, ``opaque`` ids and e-mail addresses — through ``aliases`` and the members of a
    complex subject (``principals``); formats it cannot resolve are skipped."""
    names = []
    for sid in principals(subject):
        for one in sid.aliases if sid.format == "aliases" else (sid,):
            if one.format == "iss_sub" and one.get("iss") in issuers:
                names.append(one.get("sub"))
            elif one.format in ("opaque", "email"):
                names.append(one.get("id") or one.get("email"))
    return tuple(dict.fromkeys(n for n in names if n))

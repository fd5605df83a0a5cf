"""Rich Authorization Requests (RFC 9396): ``authorization_details`` parsed, validated per type,
summarised for the approving human, hashed, and compared with the action a consumer is asked to do.

- §2: the parameter is a JSON array of objects, each with a string ``type``; §2.2 common fields
  ``locations``, ``actions``, ``datatypes``, ``identifier``, ``privileges``. In form posts (token
  and CIBA backchannel requests, §3, §6) it is the URL-encoded JSON text.
- §5: the server refuses with ``invalid_authorization_details`` an unknown ``type``, an unknown
  field for a known type, a value of the wrong JSON type, an invalid value or a missing required
  field — and a type the client is not registered for (§10, ``authorization_details_types``).
- §3.1: the approving person is shown what is requested (``summarise``); §7: the token response
  echoes the granted details; §9.1: a JWT access token carries them as a top-level claim.

Schemas are data (``DetailType``); two are defined: ``proposal_approval`` (a sales proposal to a
customer: send by e-mail, save to Drive, update the CRM) and ``purchase_approval`` (an order placed
with a vendor). Amounts are decimal strings with exactly two decimals (``"450000.00"``) so they
compare exactly; currencies are ISO 4217 alphabetic codes.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import json
import re
import unicodedata
from collections.abc import Collection, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import attrs

from protocols.http import MalformedBody, parse_json
from protocols.oauth.errors import InsufficientScope, InvalidAuthorizationDetails

MAX_DETAILS = 10
MAX_TEXT = 200
MAX_LIST = 50
_AMOUNT = re.compile(r"^(0|[1-9][0-9]{0,11})\.[0-9]{2}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(\.[A-Za-z0-9\-]{1,63})+$")
_URI = re.compile(r"^https?://[^\s]{1,2000}$")


class Kind(enum.Enum):
    """The value kinds a field may have."""

    TEXT = "text"
    AMOUNT = "amount"
    CURRENCY = "currency"
    TEXT_LIST = "text list"
    EMAIL_LIST = "e-mail list"
    ACTION_LIST = "action list"
    URI_LIST = "URI list"


@attrs.frozen(kw_only=True)
class DetailType:
    """The schema of one ``type``: its fields, which are required, and the actions it allows."""

    name: str
    title: str
    fields: Mapping[str, Kind]
    required: frozenset[str]
    actions: frozenset[str]
    party_field: str
    """The field naming who is on the other side (customer, vendor) — shown first to the approver."""


PROPOSAL_APPROVAL = DetailType(
    name="proposal_approval", title="Sales proposal",
    fields=MappingProxyType({"customer": Kind.TEXT, "amount": Kind.AMOUNT, "currency": Kind.CURRENCY,
                             "products": Kind.TEXT_LIST, "recipients": Kind.EMAIL_LIST,
                             "actions": Kind.ACTION_LIST, "identifier": Kind.TEXT, "locations": Kind.URI_LIST}),
    required=frozenset({"customer", "amount", "currency", "products", "recipients", "actions"}),
    actions=frozenset({"send_email", "save_to_drive", "update_crm"}), party_field="customer")

PURCHASE_APPROVAL = DetailType(
    name="purchase_approval", title="Purchase order",
    fields=MappingProxyType({"vendor": Kind.TEXT, "amount": Kind.AMOUNT, "currency": Kind.CURRENCY,
                             "products": Kind.TEXT_LIST, "recipients": Kind.EMAIL_LIST,
                             "actions": Kind.ACTION_LIST, "identifier": Kind.TEXT, "requester": Kind.TEXT,
                             "locations": Kind.URI_LIST}),
    required=frozenset({"vendor", "amount", "currency", "products", "recipients", "actions"}),
    actions=frozenset({"place_order"}), party_field="vendor")

DETAIL_TYPES: Mapping[str, DetailType] = MappingProxyType({t.name: t for t in (PROPOSAL_APPROVAL, PURCHASE_APPROVAL)})
"""The types this platform understands (AS metadata ``authorization_details_types_supported``, §10)."""

ACTION_LABELS = MappingProxyType({"send_email": "send by e-mail", "save_to_drive": "save to Drive",
                                  "update_crm": "update the CRM", "place_order": "place the order"})


def _plain_text(value: str) -> bool:
    """No control or format characters (newlines, bidi overrides, NUL...)."""
    return not any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in value)


def _check_value(kind: Kind, value: Any, *, field: str, detail_type: DetailType) -> Any:
    def bad(problem: str) -> InvalidAuthorizationDetails:
        return InvalidAuthorizationDetails(f"{detail_type.name}.{field}: {problem}")

    if kind in (Kind.TEXT, Kind.AMOUNT, Kind.CURRENCY):
        if not isinstance(value, str):
            raise bad("expected a string")
        if kind is Kind.AMOUNT and not _AMOUNT.match(value):
            raise bad("expected a decimal string with two decimals, e.g. \"450000.00\"")
        if kind is Kind.CURRENCY and not _CURRENCY.match(value):
            raise bad("expected an ISO 4217 currency code")
        if kind is Kind.TEXT and (not value.strip() or len(value) > MAX_TEXT or not _plain_text(value)):
            raise bad(f"expected plain text of 1 to {MAX_TEXT} characters")
        return value
    if not isinstance(value, list) or not value or len(value) > MAX_LIST:
        raise bad(f"expected a non-empty array of at most {MAX_LIST} strings")
    if not all(isinstance(item, str) for item in value):
        raise bad("expected an array of strings")
    if len(set(value)) != len(value):
        raise bad("repeated entry")
    for item in value:
        if kind is Kind.TEXT_LIST and (not item.strip() or len(item) > MAX_TEXT or not _plain_text(item)):
            raise bad(f"entries must be plain text of 1 to {MAX_TEXT} characters")
        if kind is Kind.EMAIL_LIST and not _EMAIL.match(item):
            raise bad("entries must be e-mail addresses")
        if kind is Kind.URI_LIST and not _URI.match(item):
            raise bad("entries must be http(s) URIs")
        if kind is Kind.ACTION_LIST and item not in detail_type.actions:
            raise bad(f"unknown action {item[:40]!r} (allowed: {', '.join(sorted(detail_type.actions))})")
    return list(value)


@attrs.frozen(kw_only=True)
class AuthorizationDetail:
    """One validated authorization details object (its JSON members in ``values``, ``type`` included)."""

    type: str
    values: Mapping[str, Any] = attrs.field(converter=lambda v: MappingProxyType(dict(v)))

    @property
    def schema(self) -> DetailType:
        return DETAIL_TYPES[self.type]

    @property
    def amount(self) -> Decimal:
        return Decimal(self.values["amount"])

    @property
    def currency(self) -> str:
        return self.values["currency"]

    @property
    def party(self) -> str:
        return self.values[self.schema.party_field]

    @property
    def actions(self) -> tuple[str, ...]:
        return tuple(self.values["actions"])

    @property
    def identifier(self) -> str | None:
        return self.values.get("identifier")

    def to_json(self) -> dict[str, Any]:
        return {name: (list(v) if isinstance(v, (list, tuple)) else v) for name, v in self.values.items()}


def parse_detail(obj: Any, *, allowed_types: Collection[str] | None = None) -> AuthorizationDetail:
    """Validate one object against its type's schema (§2, §5)."""
    if not isinstance(obj, Mapping):
        raise InvalidAuthorizationDetails("each authorization details entry must be a JSON object")
    type_name = obj.get("type")
    if not isinstance(type_name, str):
        raise InvalidAuthorizationDetails("each authorization details entry needs a string type")
    schema = DETAIL_TYPES.get(type_name)
    if schema is None:
        raise InvalidAuthorizationDetails(f"unknown authorization details type {type_name[:40]!r}")
    if allowed_types is not None and type_name not in allowed_types:
        raise InvalidAuthorizationDetails(f"the client may not request authorization details of type {type_name}")
    unknown = sorted(set(obj) - set(schema.fields) - {"type"})
    if unknown:
        raise InvalidAuthorizationDetails(f"{type_name}: unknown field {unknown[0][:40]!r}")
    missing = sorted(schema.required - set(obj))
    if missing:
        raise InvalidAuthorizationDetails(f"{type_name}: missing field {missing[0]!r}")
    values: dict[str, Any] = {"type": type_name}
    for name in sorted(obj):
        if name != "type":
            values[name] = _check_value(schema.fields[name], obj[name], field=name, detail_type=schema)
    return AuthorizationDetail(type=type_name, values=values)


def parse_authorization_details(raw: str | list[Any], *,
                                allowed_types: Collection[str] | None = None) -> tuple[AuthorizationDetail, ...]:
    """Parse the ``authorization_details`` parameter: JSON text (form posts) or an already-parsed array."""
    if isinstance(raw, str):
        try:
            raw = parse_json(raw)
        except MalformedBody:
            raise InvalidAuthorizationDetails("authorization_details is not valid JSON") from None
    if not isinstance(raw, list) or not raw:
        raise InvalidAuthorizationDetails("authorization_details must be a non-empty JSON array")
    if len(raw) > MAX_DETAILS:
        raise InvalidAuthorizationDetails(f"at most {MAX_DETAILS} authorization details entries")
    return tuple(parse_detail(obj, allowed_types=allowed_types) for obj in raw)


def to_json(details: Collection[AuthorizationDetail]) -> list[dict[str, Any]]:
    return [d.to_json() for d in details]


def encode(details: Collection[AuthorizationDetail]) -> str:
    """The form-parameter value (§3): compact JSON text."""
    return json.dumps(to_json(details), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def details_hash(details: Collection[AuthorizationDetail]) -> str:
    """base64url(SHA-256(canonical JSON)): a short, stable name for exactly these details."""
    digest = hashlib.sha256(encode(details).encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def format_amount(detail: AuthorizationDetail) -> str:
    """``450 000.00 EUR`` — digits grouped with spaces, unambiguous in every locale."""
    whole, cents = detail.values["amount"].split(".")
    groups = f"{int(whole):,}".replace(",", " ")
    return f"{groups}.{cents} {detail.currency}"


def summarise(detail: AuthorizationDetail) -> dict[str, str]:
    """What the approving person is shown (§3.1): party, amount, products, recipients, actions."""
    schema = detail.schema
    lines = {"request": schema.title, schema.party_field: detail.party, "amount": format_amount(detail),
             "products": "; ".join(detail.values["products"]),
             "recipients": ", ".join(detail.values["recipients"]),
             "actions": ", ".join(ACTION_LABELS.get(a, a) for a in detail.actions)}
    if detail.identifier:
        lines["reference"] = detail.identifier
    return lines


# ------------------------------------------------------------------------ consumer side

COMPARED_FIELDS = ("customer", "vendor", "amount", "currency", "identifier")
COMPARED_SETS = ("products", "recipients")


def require_covered(granted: Collection[AuthorizationDetail], *, requested: AuthorizationDetail, action: str) -> AuthorizationDetail:
    """The granted entry that covers ``action`` on exactly ``requested``; else ``insufficient_scope``.

    A resource server calls this after validating the token (RFC 9396 §9.1): same type, same party,
    amount, currency and reference, the same products and recipients (as sets, e-mail addresses
    case-insensitively), and ``action`` among the granted ``actions``.
    """
    if action not in requested.schema.actions:
        raise InsufficientScope(f"{action[:40]!r} is not an action of {requested.type}")
    problems = []
    for candidate in granted:
        if candidate.type != requested.type:
            problems.append("type differs")
            continue
        mismatch = _first_mismatch(candidate, requested)
        if mismatch is None and action not in candidate.actions:
            mismatch = f"the action {action} was not approved"
        if mismatch is None:
            return candidate
        problems.append(mismatch)
    raise InsufficientScope("the approval does not cover this action: " + (problems[0] if problems else "nothing granted"))


def _first_mismatch(granted: AuthorizationDetail, requested: AuthorizationDetail) -> str | None:
    for name in COMPARED_FIELDS:
        if granted.values.get(name) != requested.values.get(name):
            return f"{name} differs from the approved {name}"
    for name in COMPARED_SETS:
        approved = {v.lower() for v in granted.values[name]}
        asked = {v.lower() for v in requested.values[name]}
        if not asked <= approved:
            return f"{name} include some that were not approved"
    return None

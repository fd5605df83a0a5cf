"""CAEP 1.0 event payloads used for universal logout: Session Revoked and Credential Change
(OpenID Continuous Access Evaluation Profile 1.0 §2 "Optional Event Claims", §3.1, §3.3;
CAEP interoperability profile 1.0).

Common optional claims (§2): ``event_timestamp`` (NumericDate of the real event),
``initiating_entity`` (``admin`` | ``user`` | ``policy`` | ``system``), ``reason_admin`` and
``reason_user`` — objects keyed by BCP 47 language tag. The interoperability profile requires a
non-empty ``reason_admin``; we always emit it with an ``en`` entry.

- **Session Revoked** (§3.1): no event-specific claims; the subject names the sessions (a user, or a
  complex subject with ``session``/``application``).
- **Credential Change** (§3.3): ``credential_type`` (REQUIRED: one of the listed types "or any other
  credential type supported mutually by the Transmitter and the Receiver") and ``change_type``
  (REQUIRED: ``create`` | ``revoke`` | ``update`` | ``delete``); optional ``friendly_name``,
  ``x509_issuer``, ``x509_serial``, ``fido2_aaguid``. Agents hold OAuth client keys and API
  secrets, which CAEP does not list: the platform's transmitter and receivers mutually agree on
  ``PLATFORM_CREDENTIAL_TYPES`` for them.

``session_revoked``/``credential_change`` build payloads; ``PAYLOAD_RULES`` checks received ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from protocols.security_event import PayloadRule

BASE = "https://schemas.openid.net/secevent/caep/event-type/"
SESSION_REVOKED = BASE + "session-revoked"
CREDENTIAL_CHANGE = BASE + "credential-change"

INITIATING_ENTITIES = ("admin", "user", "policy", "system")
CAEP_CREDENTIAL_TYPES = ("password", "pin", "x509", "fido2-platform", "fido2-roaming", "fido-u2f",
                         "verifiable-credential", "phone-voice", "phone-sms", "app")
PLATFORM_CREDENTIAL_TYPES = ("oauth-client-key", "api-secret")
"""Credential types mutually supported inside the platform (CAEP §3.3 allows such agreements):
an agent's ``private_key_jwt`` signing key at the IdP, and a vaulted service-account secret."""
CHANGE_TYPES = ("create", "revoke", "update", "delete")
_OPTIONAL_STRINGS = ("friendly_name", "x509_issuer", "x509_serial", "fido2_aaguid")


def _common(*, event_timestamp: int, initiating_entity: str, reason_admin: str,
            reason_user: str | None) -> dict[str, Any]:
    if initiating_entity not in INITIATING_ENTITIES:
        raise ValueError(f"initiating_entity must be one of {', '.join(INITIATING_ENTITIES)}")
    if not reason_admin:
        raise ValueError("reason_admin must not be empty (CAEP interoperability profile)")
    payload: dict[str, Any] = {"event_timestamp": event_timestamp, "initiating_entity": initiating_entity,
                               "reason_admin": {"en": reason_admin}}
    if reason_user:
        payload["reason_user"] = {"en": reason_user}
    return payload


def session_revoked(*, event_timestamp: int, initiating_entity: str, reason_admin: str,
                    reason_user: str | None = None) -> dict[str, Any]:
    """A Session Revoked payload (CAEP §3.1)."""
    payload = _common(event_timestamp=event_timestamp, initiating_entity=initiating_entity,
                      reason_admin=reason_admin, reason_user=reason_user)
    check_session_revoked(payload)
    return payload


def credential_change(*, credential_type: str, change_type: str, event_timestamp: int, initiating_entity: str,
                      reason_admin: str, reason_user: str | None = None, friendly_name: str | None = None,
                      ) -> dict[str, Any]:
    """A Credential Change payload (CAEP §3.3)."""
    payload = _common(event_timestamp=event_timestamp, initiating_entity=initiating_entity,
                      reason_admin=reason_admin, reason_user=reason_user)
    payload.update(credential_type=credential_type, change_type=change_type)
    if friendly_name:
        payload["friendly_name"] = friendly_name
    check_credential_change(payload)
    return payload


def _check_language_map(payload: Mapping[str, Any], name: str) -> None:
    value = payload.get(name)
    if value is None:
        return
    if not isinstance(value, Mapping) or not value:
        raise ValueError(f"{name} must be an object keyed by language tag")
    for tag, text in value.items():
        if not isinstance(tag, str) or not tag or not isinstance(text, str):
            raise ValueError(f"{name} must map language tags to strings")


def _check_common(payload: Mapping[str, Any]) -> None:
    """CAEP §2: the optional claims, when present, have the right types and values."""
    stamp = payload.get("event_timestamp")
    if stamp is not None and (isinstance(stamp, bool) or not isinstance(stamp, (int, float))):
        raise ValueError("event_timestamp must be a NumericDate")
    entity = payload.get("initiating_entity")
    if entity is not None and entity not in INITIATING_ENTITIES:
        raise ValueError(f"initiating_entity must be one of {', '.join(INITIATING_ENTITIES)}")
    _check_language_map(payload, "reason_admin")
    _check_language_map(payload, "reason_user")


def check_session_revoked(payload: Mapping[str, Any]) -> None:
    """CAEP §3.1 (no event-specific claims; unknown members are ignored)."""
    _check_common(payload)


def check_credential_change(payload: Mapping[str, Any]) -> None:
    """CAEP §3.3: ``credential_type`` and ``change_type`` required, with known values."""
    _check_common(payload)
    credential_type = payload.get("credential_type")
    if credential_type not in CAEP_CREDENTIAL_TYPES + PLATFORM_CREDENTIAL_TYPES:
        raise ValueError("credential_type is missing or not a type this receiver supports")
    if payload.get("change_type") not in CHANGE_TYPES:
        raise ValueError(f"change_type must be one of {', '.join(CHANGE_TYPES)}")
    for name in _OPTIONAL_STRINGS:
        if name in payload and not isinstance(payload[name], str):
            raise ValueError(f"{name} must be a string")


PAYLOAD_RULES: Mapping[str, PayloadRule] = {
    SESSION_REVOKED: check_session_revoked,
    CREDENTIAL_CHANGE: check_credential_change,
}
"""The CAEP events a platform receiver understands, with their payload checks."""


def reason(payload: Mapping[str, Any], name: str = "reason_admin") -> str:
    """The English (or first) text of a ``reason_*`` language map, ``""`` when absent."""
    value = payload.get(name)
    if not isinstance(value, Mapping) or not value:
        return ""
    text = value.get("en", next(iter(value.values())))
    return text if isinstance(text, str) else ""

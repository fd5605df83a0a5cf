"""Privileged credentials (SPEC capability 11), sans-IO: API keys, database passwords and
certificates vaulted and rotated on a schedule with an overlap window, plus JIT credentials.

Zero-downtime rotation follows the dual-credential pattern (MySQL 8.0.14+ ``ALTER USER ...
RETAIN CURRENT PASSWORD`` / ``DISCARD OLD PASSWORD``; AWS Secrets Manager's alternating-users
strategy): at rotation the target system accepts both the new secret and the previous one; the
previous one is discarded when the overlap window closes. Consumers cache a secret for at most its
*lease*; ``RotationPolicy`` refuses an overlap shorter than the lease, since a consumer could then
still hold a secret the target no longer accepts.
"""

from __future__ import annotations

import base64
import enum
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from protocols.entropy import SeededEntropy

DAY = 86400
MAX_JIT_TTL = 8 * 3600


class CredentialKind(enum.Enum):
    API_KEY = "api_key"
    DATABASE_PASSWORD = "database_password"
    CERTIFICATE = "certificate"


class VersionState(enum.Enum):
    CURRENT = "current"
    PREVIOUS = "previous"  # still accepted by the target until ``retire_at``
    RETIRED = "retired"


class PolicyError(ValueError):
    """A rotation or JIT policy that cannot guarantee what it promises."""


@attrs.frozen(kw_only=True)
class RotationPolicy:
    every: int
    overlap: int
    lease: int

    def __attrs_post_init__(self) -> None:
        if self.every <= 0 or self.lease <= 0 or self.overlap < 0:
            raise PolicyError("rotation period and lease must be positive, overlap non-negative")
        if self.overlap < self.lease:
            raise PolicyError(f"overlap ({self.overlap}s) shorter than the lease ({self.lease}s): a consumer "
                              "could hold a secret the target already refuses")
        if self.overlap >= self.every:
            raise PolicyError("the overlap must end before the next rotation")

    @classmethod
    def days(cls, *, every_days: int, overlap_hours: int, lease_hours: int) -> RotationPolicy:
        return cls(every=every_days * DAY, overlap=overlap_hours * 3600, lease=lease_hours * 3600)


@attrs.frozen(kw_only=True)
class CredentialVersion:
    version: int
    created_at: int
    state: VersionState
    fingerprint: str
    retire_at: int | None = None


@attrs.frozen(kw_only=True)
class PrivilegedCredential:
    """A vaulted credential: which agent uses it for which account of which system, its policy and
    its versions (newest last). The secrets themselves are stored encrypted beside this record."""

    id: str
    agent: str
    system: str
    account: str
    kind: CredentialKind
    policy: RotationPolicy
    versions: tuple[CredentialVersion, ...]
    next_rotation_at: int
    revoked_at: int | None = None

    @property
    def current(self) -> CredentialVersion:
        return next(v for v in reversed(self.versions) if v.state is VersionState.CURRENT)

    @property
    def rotations(self) -> int:
        return len(self.versions) - 1

    def accepted(self) -> tuple[CredentialVersion, ...]:
        return tuple(v for v in self.versions if v.state is not VersionState.RETIRED)


def fingerprint(secret: str) -> str:
    """A non-reversible id of a secret for logs and reports (never the secret itself)."""
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()[:12]


def vault_credential(*, credential_id: str, agent: str, system: str, account: str, kind: CredentialKind,
                     policy: RotationPolicy, secret: str, now: int) -> PrivilegedCredential:
    first = CredentialVersion(version=1, created_at=now, state=VersionState.CURRENT, fingerprint=fingerprint(secret))
    return PrivilegedCredential(id=credential_id, agent=agent, system=system, account=account, kind=kind,
                                policy=policy, versions=(first,), next_rotation_at=now + policy.every)


def rotation_due(credential: PrivilegedCredential, *, now: int) -> bool:
    return credential.revoked_at is None and now >= credential.next_rotation_at


def rotate(credential: PrivilegedCredential, *, new_secret: str, now: int,
           retain_previous: bool = True) -> PrivilegedCredential:
    """The new version becomes current; the old one stays accepted for ``policy.overlap`` seconds
    (or is retired at once when ``retain_previous`` is false — e.g. replacing a leaked static key)."""
    versions = []
    for version in credential.versions:
        if version.state is VersionState.CURRENT:
            version = attrs.evolve(version, state=VersionState.PREVIOUS, retire_at=now + credential.policy.overlap) \
                if retain_previous else attrs.evolve(version, state=VersionState.RETIRED, retire_at=now)
        elif version.state is VersionState.PREVIOUS:  # an older overlap still open closes now
            version = attrs.evolve(version, state=VersionState.RETIRED, retire_at=now)
        versions.append(version)
    versions.append(CredentialVersion(version=credential.versions[-1].version + 1, created_at=now,
                                      state=VersionState.CURRENT, fingerprint=fingerprint(new_secret)))
    return attrs.evolve(credential, versions=tuple(versions), next_rotation_at=now + credential.policy.every)


def retirements_due(credential: PrivilegedCredential, *, now: int) -> tuple[CredentialVersion, ...]:
    return tuple(v for v in credential.versions
                 if v.state is VersionState.PREVIOUS and v.retire_at is not None and v.retire_at <= now)


def retire(credential: PrivilegedCredential, *, version: int) -> PrivilegedCredential:
    return attrs.evolve(credential, versions=tuple(
        attrs.evolve(v, state=VersionState.RETIRED) if v.version == version else v for v in credential.versions))


def next_event(credential: PrivilegedCredential) -> int | None:
    """When this credential next needs the vault's attention (a retirement or a rotation)."""
    if credential.revoked_at is not None:
        return None
    times = [credential.next_rotation_at] + [v.retire_at for v in credential.versions
                                             if v.state is VersionState.PREVIOUS and v.retire_at is not None]
    return min(times)


def lease(credential: PrivilegedCredential) -> int:
    """How long a consumer may cache the current secret."""
    return credential.policy.lease


# ------------------------------------------------------------------------ secret generation


def generate_secret(kind: CredentialKind, *, entropy: SeededEntropy, subject: str, now: int,
                    valid_for: int) -> str:
    """A fresh secret of ``kind``: an API key, a database password, or a PEM private key plus a
    self-signed X.509 certificate (RFC 5280) valid ``valid_for`` seconds (Ed25519, deterministic)."""
    if kind is CredentialKind.API_KEY:
        return "tbk_live_" + entropy.token(30)
    if kind is CredentialKind.DATABASE_PASSWORD:
        return entropy.token(24)
    return _certificate(entropy=entropy, subject=subject, now=now, valid_for=valid_for)


def _certificate(*, entropy: SeededEntropy, subject: str, now: int, valid_for: int) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.x509.oid import NameOID

    key = Ed25519PrivateKey.from_private_bytes(entropy.bytes(32))
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    start = datetime.fromtimestamp(now, UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(int.from_bytes(entropy.bytes(16), "big") >> 1)
                   .not_valid_before(start).not_valid_after(start + timedelta(seconds=valid_for))
                   .sign(key, None))
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
    return private_pem + certificate.public_bytes(serialization.Encoding.PEM).decode()


def secret_forms(secret: str) -> list[str]:
    """Every textual form of a secret to register for redaction (PEM body lines included)."""
    forms = [secret]
    if "-----BEGIN" in secret:
        forms += [line for line in secret.splitlines() if len(line) >= 32 and not line.startswith("-----")]
    else:
        forms.append(base64.b64encode(secret.encode()).decode())
    return forms


# ------------------------------------------------------------------------ JIT credentials


@attrs.frozen(kw_only=True)
class JitGrant:
    """A just-in-time credential: a temporary account with narrow privileges that expires by itself."""

    id: str
    agent: str
    system: str
    username: str
    privileges: tuple[str, ...]
    reason: str
    issued_at: int
    expires_at: int

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "agent": self.agent, "system": self.system, "username": self.username,
                "privileges": list(self.privileges), "reason": self.reason, "issued_at": self.issued_at,
                "expires_at": self.expires_at}


def jit_grant(*, grant_id: str, agent: str, system: str, privileges: tuple[str, ...], reason: str, ttl: int,
              now: int) -> JitGrant:
    if not 0 < ttl <= MAX_JIT_TTL:
        raise PolicyError(f"a JIT credential lives between 1 second and {MAX_JIT_TTL // 3600} hours")
    if not privileges:
        raise PolicyError("a JIT credential needs at least one privilege")
    if not reason.strip():
        raise PolicyError("a JIT credential needs a stated reason")
    return JitGrant(id=grant_id, agent=agent, system=system, username=f"jit_{grant_id}", privileges=privileges,
                    reason=reason, issued_at=now, expires_at=now + ttl)

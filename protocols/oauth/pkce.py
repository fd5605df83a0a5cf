"""Proof Key for Code Exchange (RFC 7636) with the RFC 9700 §2.1.1 downgrade defence.

Only the ``S256`` method is supported: ``plain`` and an omitted method (which RFC 7636 §4.3 says
means ``plain``) are refused at the authorization endpoint with ``invalid_request`` (§4.4.1).
At the token endpoint the verifier is recomputed and compared (§4.6); a mismatch, a verifier
without a recorded challenge, or a recorded challenge without a verifier is ``invalid_grant``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

import attrs

from protocols.entropy import SeededEntropy
from protocols.oauth.errors import InvalidGrant, InvalidRequest

S256 = "S256"
"""The only ``code_challenge_method`` this platform accepts (RFC 7636 §4.2)."""

SUPPORTED_METHODS = (S256,)

_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
"""RFC 7636 §4.1: 43–128 characters of the unreserved set."""

_S256_CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")
"""The base64url (unpadded) encoding of a SHA-256 digest is exactly 43 characters."""


def s256_challenge(verifier: str) -> str:
    """``BASE64URL(SHA256(ASCII(code_verifier)))`` (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def generate_verifier(entropy: SeededEntropy) -> str:
    """A 43-character verifier: 32 random octets base64url-encoded (RFC 7636 §4.1)."""
    return entropy.token(32)


@attrs.frozen(kw_only=True)
class PkcePair:
    """A client's verifier and the challenge sent in the authorization request."""

    verifier: str = attrs.field(repr=False)
    challenge: str
    method: str = S256

    @classmethod
    def generate(cls, entropy: SeededEntropy) -> PkcePair:
        verifier = generate_verifier(entropy)
        return cls(verifier=verifier, challenge=s256_challenge(verifier))


def validate_challenge(*, code_challenge: str | None, code_challenge_method: str | None) -> str:
    """Check the authorization request's PKCE parameters; returns the challenge.

    RFC 7636 §4.4.1: a required challenge that is missing, or an unsupported method, is
    ``invalid_request``. The method must be sent explicitly (absent means ``plain``, §4.3).
    """
    if not code_challenge:
        raise InvalidRequest("code_challenge is required (PKCE, RFC 7636)")
    if code_challenge_method is None:
        raise InvalidRequest("code_challenge_method is required and must be S256")
    if code_challenge_method not in SUPPORTED_METHODS:
        raise InvalidRequest("code_challenge_method must be S256")
    if not _S256_CHALLENGE.match(code_challenge):
        raise InvalidRequest("code_challenge is not a base64url SHA-256 digest")
    return code_challenge


def verify(*, code_verifier: str | None, code_challenge: str | None) -> None:
    """Check the token request's verifier against the challenge bound to the code (RFC 7636 §4.6).

    Either side missing is a downgrade attempt (RFC 9700 §2.1.1) and is refused like a mismatch.
    """
    if code_challenge is None and code_verifier is None:
        raise InvalidGrant("the authorization code was issued without PKCE")
    if code_challenge is None:
        raise InvalidGrant("code_verifier sent but no code_challenge was recorded")
    if code_verifier is None:
        raise InvalidGrant("code_verifier is required for this authorization code")
    if not _VERIFIER.match(code_verifier):
        raise InvalidGrant("code_verifier is malformed")
    if not hmac.compare_digest(s256_challenge(code_verifier), code_challenge):
        raise InvalidGrant("code_verifier does not match the code_challenge")

"""The configuration of a plain OAuth 2.0 authorization server (``authorization_server``): its
clients with the provider-side policy around each, the APIs it issues tokens for (RFC 8707
resource identifiers and the scopes each honours), lifetimes, and the RFC 8414 §2 metadata built
from them.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from protocols.oauth.authorization_code import AUTHORIZATION_CODE
from protocols.oauth.client_auth import ClientRegistration
from protocols.oauth.metadata import AuthorizationServerMetadata
from protocols.oauth.refresh import REFRESH_TOKEN

CLIENT_CREDENTIALS = "client_credentials"
AUTHORIZE_PATH, LOGIN_PATH, CONSENT_PATH = "/authorize", "/login", "/consent"
TOKEN_PATH, REVOKE_PATH, JWKS_PATH = "/token", "/revoke", "/jwks"
DAY = 86400


@attrs.frozen(kw_only=True)
class OAuthClient:
    """A client registration plus the provider-side policy around it.

    ``admin_consented``: an administrator approved the app for every user of the tenant (B2B /
    employee access governed by IT policy) — no consent screen. ``service_account``: the subject
    a ``client_credentials`` token acts as (an integration user); ``None`` forbids that grant.
    """

    registration: ClientRegistration
    admin_consented: bool = False
    service_account: str | None = None

    @property
    def client_id(self) -> str:
        return self.registration.client_id


@attrs.frozen(kw_only=True)
class ApiResource:
    """One protected API of the provider: its RFC 8707 resource identifier and the scopes it honours."""

    uri: str
    scopes: frozenset[str] = attrs.field(converter=frozenset)


@attrs.frozen(kw_only=True)
class ServerConfig:
    """One provider's authorization server: issuer, the name on its consent screen, its scopes and
    APIs, and lifetimes in seconds (refresh tokens: RFC 9700 §4.14.2 idle and absolute limits)."""

    issuer: str
    display_name: str
    scopes: Mapping[str, str]
    """Every scope the server knows, with the sentence shown on the consent screen."""
    resources: tuple[ApiResource, ...]
    access_token_lifetime: int = 900
    refresh_idle_lifetime: int = 30 * DAY
    refresh_absolute_lifetime: int = 90 * DAY
    code_lifetime: int = 600
    session_lifetime: int = 8 * 3600
    transaction_lifetime: int = 600
    max_login_failures: int = 5

    def metadata(self) -> AuthorizationServerMetadata:
        """The RFC 8414 §2 document: endpoints at the standard paths below the issuer."""
        base = self.issuer.rstrip("/")
        return AuthorizationServerMetadata(
            issuer=self.issuer, authorization_endpoint=base + AUTHORIZE_PATH, token_endpoint=base + TOKEN_PATH,
            jwks_uri=base + JWKS_PATH, revocation_endpoint=base + REVOKE_PATH, scopes_supported=tuple(self.scopes),
            grant_types_supported=(AUTHORIZATION_CODE, REFRESH_TOKEN, CLIENT_CREDENTIALS))


"""What a validator expects from one kind of JWT (RFC 8725 §3.11, §3.12; RFC 9068 §2, §4;
OIDC Core §2, §3.1.3.7, §9; RFC 7523 §3; RFC 8417 §2.3; draft-ietf-oauth-identity-assertion-authz-grant §3).

RFC 8725 §3.12 asks that different kinds of JWT be *mutually exclusive*: a token minted as one kind
must never validate as another. The profiles below get there with two rules:

1. Explicit typing (§3.11): every kind but the ID token has its own ``typ`` (``at+jwt``,
   ``oauth-id-jag+jwt``, ``secevent+jwt``, ``logout+jwt``, ``client-authentication+jwt``), and an
   *untyped* profile (ID tokens: OIDC defines no ``typ``) accepts only an absent ``typ`` or ``JWT``,
   so a typed token of another kind is refused where an ID token is expected.
2. Claim rules: each profile requires the claims of its kind and forbids the markers of the others —
   an ID token may not carry ``client_id``/``scope`` (RFC 9068 access-token markers) or ``events``
   (SET marker); an access token may not carry ``nonce`` (ID-token marker) or ``events``; a SET
   (SSF profile) carries ``events`` and no ``exp``.

``typ`` comparison follows RFC 7515 §4.1.9: case-insensitive, and a value without ``/`` means
``application/<value>``.
"""

from __future__ import annotations

import attrs

from protocols.jose.keys import Algorithm

MAX_LEEWAY = 60
"""Largest clock-skew allowance a profile may grant, in seconds (platform rule, protocols.md §10)."""

ALL_ALGORITHMS = frozenset(Algorithm)

TYP_ACCESS_TOKEN = "at+jwt"                              # RFC 9068 §2.1
TYP_ID_JAG = "oauth-id-jag+jwt"                          # ID-JAG draft §3
TYP_SECURITY_EVENT = "secevent+jwt"                      # RFC 8417 §2.3
TYP_LOGOUT_TOKEN = "logout+jwt"                          # OIDC Back-Channel Logout 1.0 §2.4
TYP_CLIENT_ASSERTION = "client-authentication+jwt"       # draft-ietf-oauth-rfc7523bis


def normalize_typ(value: str) -> str:
    """RFC 7515 §4.1.9: compare case-insensitively; a value without ``/`` gets ``application/``."""
    lowered = value.lower()
    return lowered if "/" in lowered else "application/" + lowered


_UNTYPED = normalize_typ("JWT")


def _check_leeway(instance: object, attribute: attrs.Attribute, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_LEEWAY:
        raise ValueError(f"leeway must be an integer between 0 and {MAX_LEEWAY} seconds")


def _algorithms(value: object) -> frozenset[Algorithm]:
    """Converter: a non-empty frozenset of :class:`Algorithm` (checked before derived fields)."""
    algorithms = frozenset(value)  # type: ignore[call-overload]
    if not algorithms or not all(isinstance(alg, Algorithm) for alg in algorithms):
        raise ValueError("a profile allows at least one Algorithm (and only Algorithm members)")
    return algorithms


def _check_positive(instance: object, attribute: attrs.Attribute, value: int | None) -> None:
    if value is not None and (not isinstance(value, int) or value <= 0):
        raise ValueError(f"{attribute.name} must be a positive number of seconds")


@attrs.frozen(kw_only=True)
class TokenProfile:
    """The expectations for one kind of token, used by :func:`protocols.jose.jwt.verify_jwt`.

    - ``typ``: required header ``typ`` (RFC 8725 §3.11); ``None`` = untyped kind (ID tokens): the
      header ``typ`` must then be absent or ``JWT``. ``allow_untyped`` additionally accepts an
      absent/``JWT`` typ for a typed kind (client assertions predating rfc7523bis).
    - ``algorithms``: header ``alg`` values accepted (the key's bound algorithm must match too).
    - ``issuer`` / ``audience``: exact ``iss`` and ``aud`` membership (RFC 7519 §4.1.1, §4.1.3);
      ``single_audience`` refuses an ``aud`` array with more than one member.
    - ``required_claims`` / ``forbidden_claims``: presence rules that keep kinds apart. ``exp`` is
      always required unless it is forbidden (SETs).
    - ``leeway``: clock skew in seconds (≤ 60). ``max_lifetime``: cap on ``exp − iat`` (``exp − now``
      without ``iat``). ``max_age``: cap on ``now − iat``.
    - ``authorized_party``: OIDC Core §3.1.3.7 steps 4–5 — an ``azp`` present must equal it, and a
      multi-audience token must carry it.
    """

    name: str
    typ: str | None
    algorithms: frozenset[Algorithm] = attrs.field(default=ALL_ALGORITHMS, converter=_algorithms)
    issuer: str | None
    audience: str | None
    single_audience: bool = False
    required_claims: frozenset[str] = attrs.field(default=frozenset(), converter=frozenset)
    forbidden_claims: frozenset[str] = attrs.field(default=frozenset(), converter=frozenset)
    leeway: int = attrs.field(default=30, validator=_check_leeway)
    max_lifetime: int | None = attrs.field(default=None, validator=_check_positive)
    max_age: int | None = attrs.field(default=None, validator=_check_positive)
    allow_untyped: bool = False
    authorized_party: str | None = None
    # Derived lookups for the verification hot path.
    expected_typ: str | None = attrs.field(init=False, repr=False, eq=False)
    algorithm_names: frozenset[str] = attrs.field(init=False, repr=False, eq=False)
    requires_exp: bool = attrs.field(init=False, repr=False, eq=False)

    @expected_typ.default
    def _expected_typ(self) -> str | None:
        return normalize_typ(self.typ) if self.typ is not None else None

    @algorithm_names.default
    def _algorithm_names(self) -> frozenset[str]:
        return frozenset(alg.value for alg in self.algorithms)

    @requires_exp.default
    def _requires_exp(self) -> bool:
        return "exp" not in self.forbidden_claims

    def __attrs_post_init__(self) -> None:
        if self.typ is None and self.allow_untyped:
            raise ValueError("allow_untyped only makes sense for a typed profile")
        if self.required_claims & self.forbidden_claims:
            raise ValueError("a claim cannot be both required and forbidden")

    def typ_accepted(self, header_typ: str | None) -> bool:
        """Whether a header ``typ`` (``None`` = absent) fits this kind (RFC 8725 §3.11)."""
        if header_typ is None:
            return self.expected_typ is None or self.allow_untyped
        normalized = normalize_typ(header_typ)
        if normalized == self.expected_typ:
            return True
        return normalized == _UNTYPED and (self.expected_typ is None or self.allow_untyped)

    # -- the platform's token kinds -------------------------------------------------------------

    @classmethod
    def id_token(cls, *, issuer: str, client_id: str, algorithms: frozenset[Algorithm] = ALL_ALGORITHMS,
                 max_lifetime: int | None = None, leeway: int = 30) -> TokenProfile:
        """OIDC ID token at the RP (Core §2, §3.1.3.7): untyped; ``aud`` contains ``client_id``;
        ``azp`` (if present) is ``client_id``; access-token and SET markers are forbidden."""
        return cls(name="id_token", typ=None, algorithms=algorithms, issuer=issuer, audience=client_id,
                   required_claims={"iss", "sub", "aud", "exp", "iat"},
                   forbidden_claims={"client_id", "scope", "events"},
                   authorized_party=client_id, max_lifetime=max_lifetime, leeway=leeway)

    @classmethod
    def access_token(cls, *, issuer: str, audience: str, algorithms: frozenset[Algorithm] = ALL_ALGORITHMS,
                     max_lifetime: int | None = None, leeway: int = 30) -> TokenProfile:
        """RFC 9068 JWT access token at a resource server (§2.1, §2.2, §4): ``typ`` ``at+jwt``;
        ``iss exp aud sub client_id iat jti`` required; ID-token (``nonce``) and SET markers forbidden."""
        return cls(name="access_token", typ=TYP_ACCESS_TOKEN, algorithms=algorithms, issuer=issuer,
                   audience=audience,
                   required_claims={"iss", "exp", "aud", "sub", "client_id", "iat", "jti"},
                   forbidden_claims={"nonce", "events"}, max_lifetime=max_lifetime, leeway=leeway)

    @classmethod
    def client_assertion(cls, *, audience: str, client_id: str | None = None,
                         algorithms: frozenset[Algorithm] = ALL_ALGORITHMS,
                         max_lifetime: int | None = 600, leeway: int = 30) -> TokenProfile:
        """``private_key_jwt`` client assertion at an AS (RFC 7523 §3, OIDC Core §9, rfc7523bis):
        ``iss sub aud exp jti`` required, exactly one audience (our issuer identifier), ``typ``
        ``client-authentication+jwt`` or absent/``JWT``. ``client_id`` (if given) is the expected
        ``iss``; the caller still checks ``sub == iss`` and replays of ``jti``."""
        return cls(name="client_assertion", typ=TYP_CLIENT_ASSERTION, allow_untyped=True,
                   algorithms=algorithms, issuer=client_id, audience=audience, single_audience=True,
                   required_claims={"iss", "sub", "aud", "exp", "jti"},
                   forbidden_claims={"nonce", "events"}, max_lifetime=max_lifetime, leeway=leeway)

    @classmethod
    def id_jag(cls, *, issuer: str, audience: str, algorithms: frozenset[Algorithm] = ALL_ALGORITHMS,
               max_lifetime: int | None = 600, leeway: int = 30) -> TokenProfile:
        """Identity Assertion JWT Authorization Grant at the resource AS (ID-JAG draft §3, §4.4):
        ``typ`` ``oauth-id-jag+jwt``; ``iss sub aud client_id jti exp iat`` required; ``aud`` is
        the single issuer identifier of the resource AS."""
        return cls(name="id_jag", typ=TYP_ID_JAG, algorithms=algorithms, issuer=issuer,
                   audience=audience, single_audience=True,
                   required_claims={"iss", "sub", "aud", "client_id", "jti", "exp", "iat"},
                   forbidden_claims={"events"}, max_lifetime=max_lifetime, leeway=leeway)

    @classmethod
    def security_event(cls, *, issuer: str, audience: str, algorithms: frozenset[Algorithm] = ALL_ALGORITHMS,
                       max_age: int | None = None, leeway: int = 30) -> TokenProfile:
        """Security Event Token at a receiver (RFC 8417 §2.2, §2.3, §4; SSF 1.0): ``typ``
        ``secevent+jwt``; ``iss iat jti aud events`` required; ``exp`` and ``nonce`` forbidden
        (SETs state past facts; SSF forbids ``exp``). Replay is the receiver's ``jti`` check."""
        return cls(name="security_event", typ=TYP_SECURITY_EVENT, algorithms=algorithms, issuer=issuer,
                   audience=audience, required_claims={"iss", "iat", "jti", "aud", "events"},
                   forbidden_claims={"exp", "nonce"}, max_age=max_age, leeway=leeway)

    @classmethod
    def logout_token(cls, *, issuer: str, client_id: str, algorithms: frozenset[Algorithm] = ALL_ALGORITHMS,
                     max_lifetime: int | None = 600, leeway: int = 30) -> TokenProfile:
        """OIDC Back-Channel Logout token at the RP (BCL 1.0 §2.4, §2.6): ``typ`` ``logout+jwt``;
        ``iss aud iat exp jti events`` required; ``nonce`` forbidden."""
        return cls(name="logout_token", typ=TYP_LOGOUT_TOKEN, algorithms=algorithms, issuer=issuer,
                   audience=client_id, required_claims={"iss", "aud", "iat", "exp", "jti", "events"},
                   forbidden_claims={"nonce"}, max_lifetime=max_lifetime, leeway=leeway)

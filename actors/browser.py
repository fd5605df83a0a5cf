"""A person's browser: a user agent that follows redirects, keeps cookies and signs in as its person.

The browser is honest HTTP: it sends GETs, stores ``Set-Cookie`` per origin (RFC 6265 §5.3, host-only
cookies), follows ``Location`` (RFC 9110 §15.4), reads login pages rendered by the providers and
posts their forms with what the person knows — a password and the one-time code their
authenticator app shows now (TOTP, RFC 6238). On a page offering federation it picks the provider
the person uses (``Sign in with google``). On an OAuth consent screen it answers as the person
decided for that provider (``consents``): allow or cancel.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import attrs

from actors.runtime.actor import Actor
from protocols.http import HttpRequest, HttpResponse
from protocols.oauth.consent import ALLOW, DENY, ConsentPage, is_consent_page, parse_consent_page
from protocols.oidc.authentication import parse_login_page, totp

MAX_REDIRECTS = 20


@attrs.frozen(kw_only=True)
class Credentials:
    """What the person knows for one provider: username, password, and their authenticator's secret."""

    username: str
    password: str = attrs.field(repr=False)
    totp_secret: bytes | None = attrs.field(default=None, repr=False)


@attrs.frozen(kw_only=True)
class Navigate:
    """Ask the browser to open ``url`` and go wherever it leads."""

    url: str


@attrs.frozen(kw_only=True)
class Submit:
    """Ask the browser to post ``form`` to ``url`` (with its cookies) and go wherever it leads."""

    url: str
    form: dict[str, str] = attrs.field(factory=dict, repr=False)


@attrs.frozen(kw_only=True)
class PageVisit:
    method: str
    url: str
    status: int


@attrs.frozen(kw_only=True)
class BrowsingResult:
    """Where the navigation ended and the pages it went through (URLs without query strings)."""

    final_url: str
    status: int
    body: str
    visits: tuple[PageVisit, ...]
    problem: str = ""


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@attrs.define(eq=False)
class Browser(Actor):
    """``person`` is who uses it; ``credentials`` maps a provider origin to what they know there;
    ``federation`` names the provider they pick on a page offering several."""

    person: str = ""
    credentials: dict[str, Credentials] = attrs.field(factory=dict)
    federation: str | None = None
    consents: dict[str, bool | tuple[str, ...]] = attrs.field(factory=dict)
    """Provider origin → whether the person allows an application's access request there; a tuple
    names the scopes they tick on a screen that offers one checkbox per scope (none: they cancel)."""
    _cookies: dict[str, dict[str, str]] = attrs.field(factory=dict, init=False)

    async def on_message(self, message: Any) -> BrowsingResult:
        if isinstance(message, Navigate):
            return await self.navigate(message.url)
        if isinstance(message, Submit):
            return await self.navigate(message.url, form=message.form)
        raise TypeError(f"unexpected message {type(message).__name__}")

    def _with_cookies(self, request: HttpRequest) -> HttpRequest:
        jar = self._cookies.get(_origin(request.url))
        if not jar:
            return request
        cookie = "; ".join(f"{k}={v}" for k, v in sorted(jar.items()))
        return attrs.evolve(request, headers=request.headers + (("cookie", cookie),))

    def _store_cookies(self, url: str, response: HttpResponse) -> None:
        for name, value in response.headers:
            if name != "set-cookie":
                continue
            pair, *attributes = value.split(";")
            key, _, cookie_value = pair.strip().partition("=")
            expired = any(a.strip().lower() in ("max-age=0",) for a in attributes)
            jar = self._cookies.setdefault(_origin(url), {})
            if expired or not cookie_value:
                jar.pop(key, None)
            else:
                jar[key] = cookie_value

    async def _exchange(self, request: HttpRequest, visits: list[PageVisit]) -> HttpResponse:
        response = await self.runtime.network.send(self._with_cookies(request))
        self._store_cookies(request.url, response)
        visits.append(PageVisit(method=request.method, url=request.url.split("?")[0], status=response.status))
        return response

    def _fill_login(self, page_url: str, body: str) -> HttpRequest | str:
        """The request the person makes on a login page, or why they cannot continue."""
        page = parse_login_page(body)
        if self.federation and self.federation in page.federation_links and _origin(page_url) not in self.credentials:
            return HttpRequest.get(page.federation_links[self.federation])
        known = self.credentials.get(_origin(page_url))
        if known is None:
            return f"{self.person} has no account at {_origin(page_url)}"
        if page.error:
            return f"login refused: {page.error}"
        form = {**page.hidden, "username": known.username, "password": known.password}
        if known.totp_secret is not None:
            form["otp"] = totp(known.totp_secret, now=self.runtime.clock.now())
        action = page.action if "://" in page.action else _origin(page_url) + page.action
        return HttpRequest.form_post(url=action, params=form)

    async def navigate(self, url: str, *, form: dict[str, str] | None = None) -> BrowsingResult:
        visits: list[PageVisit] = []
        request = HttpRequest.get(url, headers={"accept": "text/html"}) if form is None else \
            HttpRequest.form_post(url=url, params=form)
        for _ in range(MAX_REDIRECTS):
            response = await self._exchange(request, visits)
            location = response.header("location")
            if response.status in (301, 302, 303, 307) and location:
                request = HttpRequest.get(location if "://" in location else _origin(request.url) + location)
                continue
            body = response.body.decode("utf-8", errors="replace")
            if response.status == 200 and 'name="password"' in body:
                next_step = self._fill_login(request.url, body)
                if isinstance(next_step, str):
                    return BrowsingResult(final_url=request.url, status=response.status, body=body,
                                          visits=tuple(visits), problem=next_step)
                request = next_step
                continue
            if response.status == 200 and is_consent_page(body):
                decision = self.consents.get(_origin(request.url))
                if decision is None:
                    return BrowsingResult(final_url=request.url, status=response.status, body=body, visits=tuple(visits),
                                          problem=f"{self.person} has not decided on access at {_origin(request.url)}")
                page = parse_consent_page(body)
                action = page.action if "://" in page.action else _origin(request.url) + page.action
                request = HttpRequest.form_post(url=action, params=_consent_answer(page, decision))
                continue
            return BrowsingResult(final_url=request.url, status=response.status, body=body, visits=tuple(visits))
        return BrowsingResult(final_url=request.url, status=0, body="", visits=tuple(visits), problem="too many redirects")


def _consent_answer(page: ConsentPage, decision: bool | tuple[str, ...]) -> dict[str, str]:
    """The consent form as the person submits it: allow or cancel; with a tuple of scopes, tick
    those the page offers a checkbox for (``grant:<scope>``) and allow — cancel if none is offered."""
    if isinstance(decision, bool):
        return {**page.hidden, "decision": ALLOW if decision else DENY}
    ticked = {f"grant:{s}": "on" for s in decision if s in page.scopes}
    return {**page.hidden, **ticked, "decision": ALLOW if ticked else DENY}

"""The consent screen of an authorization server (RFC 6749 §4.1.1 step (B); RFC 9700 §4.5; OIDC
Core §3.1.2.4): the user sees which application asks for which access and allows or declines.

The page names the client and each requested scope with its description; the form carries the
login transaction and the user's decision (``allow``/``deny``). Declining ends in the
``access_denied`` error redirect (RFC 6749 §4.1.2.1). The simulated browser reads the page back
with ``parse_consent_page`` and answers as its person decided.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from html.parser import HTMLParser

import attrs

CONSENT_MARKER = 'data-consent="oauth"'
ALLOW, DENY = "allow", "deny"


def render_consent_page(*, action: str, transaction: str, client_name: str, provider_name: str,
                        scopes: Mapping[str, str]) -> str:
    """``scopes`` maps each requested scope to the description shown to the user."""
    esc = html.escape
    items = "".join(f'<li data-scope="{esc(scope)}">{esc(text)}</li>' for scope, text in scopes.items())
    return (
        "<!doctype html><html><head><title>Allow access?</title></head><body>"
        f'<h1>{esc(client_name)} wants to access your {esc(provider_name)} account</h1>'
        f"<p>This will allow {esc(client_name)} to:</p><ul>{items}</ul>"
        f'<form method="post" action="{esc(action)}" {CONSENT_MARKER}>'
        f'<input type="hidden" name="txn" value="{esc(transaction)}">'
        f'<button type="submit" name="decision" value="{ALLOW}">Allow</button>'
        f'<button type="submit" name="decision" value="{DENY}">Cancel</button>'
        "</form></body></html>"
    )


def is_consent_page(body: str) -> bool:
    return CONSENT_MARKER in body


@attrs.frozen(kw_only=True)
class ConsentPage:
    action: str
    hidden: Mapping[str, str]
    scopes: tuple[str, ...]


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.hidden: dict[str, str] = {}
        self.scopes: list[str] = []

    def handle_starttag(self, tag: str, attrs_: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs_}
        if tag == "form" and a.get("data-consent") == "oauth":
            self.action = a.get("action", "")
        elif tag == "input" and a.get("type") == "hidden":
            self.hidden[a.get("name", "")] = a.get("value", "")
        elif tag == "li" and "data-scope" in a:
            self.scopes.append(a["data-scope"])


def parse_consent_page(text: str) -> ConsentPage:
    parser = _Parser()
    parser.feed(text)
    return ConsentPage(action=parser.action, hidden=parser.hidden, scopes=tuple(parser.scopes))

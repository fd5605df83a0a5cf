"""The data-egress policy of the output filter (protocols.egress_policy): internal content to outside
recipients is blocked; internal recipients, or outside recipients without internal content, pass."""

from protocols.egress_policy import (
    EgressPolicy, approved_recipients, decide, domain_of, external_recipients, fragments,
)
from protocols.rar import parse_detail

POLICY = EgressPolicy(internal_domains=frozenset({"acmecorp.example"}), internal_sources=("docs://pricing/",))
PRICE_LIST = {"year": 2025, "currency": "EUR", "items": [
    {"sku": "platform-seat", "name": "Platform licence (per seat and year)", "list_price": 1200},
    {"sku": "premium-support", "name": "Premium support (per year)", "list_price": 60000}]}
CONTEXT = {"docs://pricing/price-list": PRICE_LIST, "docs://proposals/templates": {"title": "Enterprise proposal"}}


def test_price_list_to_an_outside_address_is_blocked_and_named():
    verdict = decide(text="Premium support: 60 000 EUR", recipients=["x@rival.example"], context=CONTEXT,
                     policy=POLICY)
    assert not verdict.allowed
    assert verdict.external_recipients == ("x@rival.example",) and verdict.sources == ("docs://pricing/price-list",)


def test_internal_recipients_or_harmless_text_pass():
    assert decide(text="Premium support (per year): 60000", recipients=["John <john.smith@acmecorp.example>"],
                  context=CONTEXT, policy=POLICY).allowed
    assert decide(text="Enterprise proposal attached", recipients=["cto@customer.example"], context=CONTEXT,
                  policy=POLICY).allowed  # templates are not an internal source
    assert decide(text="Our offer: 1 seat", recipients=["cto@customer.example"], context=CONTEXT, policy=POLICY).allowed


def test_fragments_and_addresses():
    assert {"Premium support (per year)", "60000", "60,000", "60 000", "1200"} <= fragments(PRICE_LIST)
    assert "EUR" not in fragments(PRICE_LIST) and "2025" in fragments(PRICE_LIST)
    assert domain_of("Julie <julie@Acme-Customer.example>") == "acme-customer.example"
    assert external_recipients(["a@acmecorp.example", " ", "b@else.example"],
                               internal_domains=POLICY.internal_domains) == ("b@else.example",)


def test_recipients_named_by_an_approved_send_email_are_exempt_and_no_one_else():
    approved = parse_detail({"type": "proposal_approval", "customer": "Acme Corp", "amount": "450000.00",
                             "currency": "EUR", "products": ["Premium support"], "actions": ["send_email"],
                             "recipients": ["julie.martinez@acme-customer.example"]})
    not_mail = parse_detail({**approved.to_json(), "actions": ["update_crm"],
                             "recipients": ["cfo@acme-customer.example"]})
    covered = approved_recipients([approved, not_mail])
    assert covered == {"julie.martinez@acme-customer.example"}  # update_crm names no e-mail recipient
    text = "Premium support: 60 000 EUR"
    ok = decide(text=text, recipients=["Julie <Julie.Martinez@acme-customer.example>"], context=CONTEXT,
                policy=POLICY, approved=covered)
    assert ok.allowed and ok.approved == ("Julie <Julie.Martinez@acme-customer.example>",)
    mixed = decide(text=text, recipients=["julie.martinez@acme-customer.example", "x@rival.example"],
                   context=CONTEXT, policy=POLICY, approved=covered)
    assert not mixed.allowed and mixed.external_recipients == ("x@rival.example",)
    assert not decide(text=text, recipients=["cfo@acme-customer.example"], context=CONTEXT, policy=POLICY,
                      approved=covered).allowed

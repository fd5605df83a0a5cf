"""RFC 9396 authorization details: schema per type (§2, §5), display (§3.1), hashing, the consumer
check, and the approval rule that decides when a human must approve."""

import json
from decimal import Decimal

import pytest

from protocols import rar
from protocols.approval_policy import ApprovalRule, evaluate
from protocols.oauth.errors import InsufficientScope, InvalidAuthorizationDetails

PROPOSAL = {"type": "proposal_approval", "customer": "Acme Corp", "amount": "450000.00", "currency": "EUR",
            "products": ["AI training — enterprise tier", "Support contract renewal 2026-2028"],
            "recipients": ["julie.martinez@acme-corp.example", "robert.chen@acme-corp.example"],
            "actions": ["send_email", "save_to_drive", "update_crm"], "identifier": "acme-q1-proposal"}


def detail(**changes):
    obj = {**PROPOSAL, **changes}
    return rar.parse_detail({k: v for k, v in obj.items() if v is not None})


def test_a_valid_proposal_parses_from_form_text_and_round_trips():
    (parsed,) = rar.parse_authorization_details(json.dumps([PROPOSAL]))
    assert parsed.type == "proposal_approval" and parsed.amount == Decimal("450000.00")
    assert parsed.party == "Acme Corp" and parsed.currency == "EUR"
    assert rar.parse_authorization_details(rar.encode([parsed])) == (parsed,)
    assert rar.to_json([parsed]) == [PROPOSAL | {}]


@pytest.mark.parametrize("raw, fragment", [
    ("not json", "not valid JSON"),
    ("{}", "non-empty JSON array"),
    ("[]", "non-empty JSON array"),
    (json.dumps(["x"]), "JSON object"),
    (json.dumps([{"customer": "x"}]), "string type"),
    (json.dumps([{**PROPOSAL, "type": "wire_transfer"}]), "unknown authorization details type"),
    (json.dumps([{**PROPOSAL, "discount": "90%"}]), "unknown field 'discount'"),
    (json.dumps([{k: v for k, v in PROPOSAL.items() if k != "recipients"}]), "missing field 'recipients'"),
    (json.dumps([{**PROPOSAL, "amount": 450000}]), "expected a string"),
    (json.dumps([{**PROPOSAL, "amount": "450000"}]), "two decimals"),
    (json.dumps([{**PROPOSAL, "amount": "-5.00"}]), "two decimals"),
    (json.dumps([{**PROPOSAL, "currency": "euro"}]), "ISO 4217"),
    (json.dumps([{**PROPOSAL, "recipients": ["not-an-address"]}]), "e-mail addresses"),
    (json.dumps([{**PROPOSAL, "recipients": []}]), "non-empty array"),
    (json.dumps([{**PROPOSAL, "products": ["a", "a"]}]), "repeated entry"),
    (json.dumps([{**PROPOSAL, "actions": ["wire_money"]}]), "unknown action"),
    (json.dumps([{**PROPOSAL, "actions": ["place_order"]}]), "unknown action"),   # another type's action
    (json.dumps([{**PROPOSAL, "customer": "Acme\nCorp"}]), "plain text"),
    (json.dumps([{**PROPOSAL, "customer": "x" * 201}]), "plain text"),
    (json.dumps([PROPOSAL] * 11), "at most 10"),
])
def test_bad_details_are_invalid_authorization_details(raw, fragment):
    with pytest.raises(InvalidAuthorizationDetails) as caught:
        rar.parse_authorization_details(raw)
    assert fragment in caught.value.description
    assert caught.value.status == 400 and caught.value.error == "invalid_authorization_details"


def test_a_client_is_limited_to_its_registered_types():
    with pytest.raises(InvalidAuthorizationDetails, match="may not request"):
        rar.parse_authorization_details([PROPOSAL], allowed_types={"purchase_approval"})


def test_summary_shows_what_the_approver_must_see():
    summary = rar.summarise(detail())
    assert summary == {"request": "Sales proposal", "customer": "Acme Corp", "amount": "450 000.00 EUR",
                       "products": "AI training — enterprise tier; Support contract renewal 2026-2028",
                       "recipients": "julie.martinez@acme-corp.example, robert.chen@acme-corp.example",
                       "actions": "send by e-mail, save to Drive, update the CRM", "reference": "acme-q1-proposal"}


def test_hash_is_stable_and_changes_with_any_value():
    assert rar.details_hash([detail()]) == rar.details_hash([detail()])
    assert rar.details_hash([detail()]) != rar.details_hash([detail(amount="450000.01")])


def test_consumer_accepts_exactly_the_approved_action():
    granted = [detail()]
    assert rar.require_covered(granted, requested=detail(), action="send_email") == granted[0]
    # recipients are a set, compared case-insensitively; a subset is still covered
    assert rar.require_covered(granted, requested=detail(recipients=["Julie.Martinez@acme-corp.example"]),
                               action="send_email")


@pytest.mark.parametrize("changes, action, fragment", [
    ({"amount": "460000.00"}, "send_email", "amount differs"),
    ({"currency": "USD"}, "send_email", "currency differs"),
    ({"customer": "Globex"}, "send_email", "customer differs"),
    ({"recipients": ["attacker@evil.example"]}, "send_email", "recipients include"),
    ({"products": ["Something else"]}, "send_email", "products include"),
    ({"identifier": "another-proposal"}, "send_email", "identifier differs"),
    ({}, "place_order", "not an action of proposal_approval"),
])
def test_consumer_refuses_anything_else(changes, action, fragment):
    with pytest.raises(InsufficientScope) as caught:
        rar.require_covered([detail()], requested=detail(**changes), action=action)
    assert fragment in caught.value.description and caught.value.status == 403


def test_an_action_that_was_not_approved_is_refused():
    granted = [detail(actions=["save_to_drive"])]
    with pytest.raises(InsufficientScope, match="send_email was not approved"):
        rar.require_covered(granted, requested=detail(actions=["save_to_drive"]), action="send_email")


RULE = ApprovalRule(detail_type="proposal_approval", threshold="100000", currency="EUR",
                    scopes=("email:send", "drive:write", "crm:update"))


@pytest.mark.parametrize("changes, required, fragment", [
    ({}, True, "450 000.00 EUR is above the 100 000.00 EUR threshold"),
    ({"amount": "100000.00"}, False, "within"),
    ({"amount": "100000.01"}, True, "above"),
    ({"currency": "USD", "amount": "10.00"}, True, "not in EUR"),
])
def test_the_approval_rule(changes, required, fragment):
    verdict = evaluate(RULE, detail(**changes))
    assert verdict.required is required and fragment in verdict.reason


def test_a_rule_only_waives_what_it_understands():
    purchase = rar.parse_detail({"type": "purchase_approval", "vendor": "Contoso", "amount": "1.00", "currency": "EUR",
                                 "products": ["x"], "recipients": ["a@b.example"], "actions": ["place_order"]})
    assert evaluate(RULE, purchase).required


@pytest.mark.parametrize("kwargs", [
    {"scopes": ()}, {"scopes": ("openid", "email:send")}, {"scopes": ("two words",)},
    {"token_lifetime": 0}, {"token_lifetime": 7200}, {"request_expiry": 0}, {"threshold": "-1"},
])
def test_bad_rules_are_refused(kwargs):
    base = {"detail_type": "proposal_approval", "threshold": "100000", "currency": "EUR", "scopes": ("email:send",)}
    with pytest.raises(ValueError):
        ApprovalRule(**{**base, **kwargs})

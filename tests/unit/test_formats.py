"""The documented formats: schemas generated from the type hints, shipped as files,
and read with every problem named by its JSON path."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from milestonebill import formats
from milestonebill._json import CODEC
from milestonebill.agreement import (
    AddOn,
    Agreement,
    AgreementId,
    Amendment,
    AmendmentId,
    AmendmentProposed,
    ApprovalRules,
    CancelAgreement,
    ChangeMilestoneAmount,
    ChangeRecurringPrice,
    Collection,
    PackageOption,
    PaymentMethodKind,
    PaymentMethodRef,
    Proposal,
    ProposalId,
    ProrationPolicy,
    RescheduleMilestone,
    Signed,
)
from milestonebill.engagement import Engagement
from milestonebill.errors import InvalidInputError, ValidationError
from milestonebill.formats import SignedTerms
from milestonebill.ids import ItemId, MilestoneId
from milestonebill.money import Currency, Money
from milestonebill.schedule import BillingSchedule, Milestone, RecurringCharge, Trigger
from milestonebill.testing.firm import Firm, generated_firm
from milestonebill.testing.scenarios import CARD, proposal, signed
from milestonebill.testing.strategies import exponent_currencies, milestone_lists, monthly_retainers

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def firm() -> Firm:
    return generated_firm(agreements=40, months=12, seed=5)


def offer() -> Proposal:
    return proposal([("design", "4000.00"), ("launch", "6000.00")])


# ---------------------------------------------------------------- schemas


@pytest.mark.parametrize("name", formats.SCHEMAS)
def test_the_shipped_schema_files_are_the_generated_schemas(name: str) -> None:
    shipped = resources.files("milestonebill").joinpath(f"schemas/{name}.json")
    assert shipped.read_text("utf-8") == formats.schema_text(name), (
        "regenerate with: python -c \"from milestonebill import formats; "
        "[open(f'src/milestonebill/schemas/{n}.json', 'w').write(formats.schema_text(n)) "
        "for n in formats.SCHEMAS]\"")


def test_no_schema_file_is_shipped_for_a_format_that_does_not_exist() -> None:
    shipped = resources.files("milestonebill").joinpath("schemas")
    assert sorted(p.name for p in shipped.iterdir()) == [f"{n}.json" for n in formats.SCHEMAS]


@pytest.mark.parametrize("name", formats.SCHEMAS)
def test_every_schema_is_a_valid_draft_2020_12_schema(name: str) -> None:
    Draft202012Validator.check_schema(formats.schema(name))


def test_schema_gives_a_copy_the_caller_may_change() -> None:
    formats.schema("proposal")["$defs"].clear()
    assert "Money" in formats.schema("proposal")["$defs"]


def test_unknown_format_names_are_refused_with_the_known_ones() -> None:
    for call in (formats.schema, formats.schema_text, lambda n: formats.read(n, {})):
        with pytest.raises(ValidationError) as info:
            call("invoice")
        assert info.value.field == "name"
        assert "'agreement', 'amendment', 'engagement', 'proposal'" in info.value.expected


def test_the_schema_states_the_codecs_conventions() -> None:
    defs = formats.schema("proposal")["$defs"]
    assert defs["Money"]["required"] == ["amount", "currency"]
    assert defs["Money"]["properties"]["amount"]["type"] == "string"
    milestone = defs["Milestone"]
    assert milestone["additionalProperties"] is False
    assert milestone["required"] == ["id", "name"]  # the rest have defaults
    assert milestone["properties"]["trigger"]["enum"] == ["on_signing", "on_completion",
                                                          "on_date"]
    assert milestone["properties"]["trigger"]["default"] == "on_completion"
    assert milestone["properties"]["due_on"]["anyOf"][1] == {"type": "null"}
    assert defs["ObligationTerms"]["properties"]["milestones"]["items"]["minItems"] == 2


def test_amendment_operations_are_chosen_by_their_type_tag() -> None:
    ops = formats.schema("amendment")["$defs"]["Amendment"]["properties"]["operations"]["items"]
    assert ops["required"] == ["type"]
    assert "RescheduleMilestone" in ops["properties"]["type"]["enum"]
    assert {b["then"]["$ref"] for b in ops["allOf"]} >= {"#/$defs/AddMilestone"}


def test_the_engagement_name_is_written_under_its_file_key() -> None:
    props = formats.schema("engagement")["$defs"]["Engagement"]["properties"]
    assert list(props) == ["schedule", "engagement", "client", "signed_on", "completions"]
    assert props["completions"]["additionalProperties"]["format"] == "date"


def test_importing_formats_does_not_import_jsonschema_until_it_reads() -> None:
    code = ("import sys, milestonebill.formats, milestonebill.integrations.spreadsheet\n"
            "print('jsonschema' in sys.modules)\n"
            "milestonebill.formats.schema('proposal')\n"
            "print('jsonschema' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["False", "False"]


# ---------------------------------------------------------------- round trips


def _checked(name: str, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` after checking it against the schema and through JSON text."""
    errors = list(Draft202012Validator(formats.schema(name)).iter_errors(data))
    assert errors == []
    result: dict[str, Any] = json.loads(json.dumps(data))
    return result


def test_every_agreement_of_a_generated_firm_round_trips_as_its_signed_terms(
        firm: Firm) -> None:
    for a in firm.agreements():
        first = a.events[0]
        assert isinstance(first, Signed)
        back = formats.read("agreement", _checked("agreement", formats.write(a)))
        assert back == Agreement.from_events([first])
        assert formats.read("proposal", _checked("proposal", formats.write(first.proposal))) \
            == first.proposal


def test_every_amendment_of_a_generated_firm_round_trips(firm: Firm) -> None:
    amendments = [e.amendment for a in firm.agreements() for e in a.events
                  if isinstance(e, AmendmentProposed)]
    assert amendments
    for am in amendments:
        assert formats.read("amendment", _checked("amendment", formats.write(am))) == am


def test_the_shipped_example_engagement_is_in_the_engagement_format() -> None:
    text = resources.files("milestonebill").joinpath("examples/engagement.json").read_text()
    eng = formats.read("engagement", text)
    assert eng.name.startswith("Northwind")
    assert eng.completions[MilestoneId("build")] == date(2025, 6, 30)
    assert formats.write(eng) == json.loads(text)


def test_an_engagement_round_trips() -> None:
    eng = Engagement(offer().options[0].schedule, name="Site", client="Acme",
                     signed_on=date(2026, 3, 2),
                     completions={MilestoneId("design"): date(2026, 4, 1)})
    assert formats.read("engagement", _checked("engagement", formats.write(eng))) == eng


#: Text a person could write into a stored field (no NUL, no lone surrogate, and
#: no run of digits long enough to be screened as a card number).
FREE_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Nd")), max_size=30)


@st.composite
def proposals(draw: st.DrawFn) -> Proposal:
    cur = draw(exponent_currencies())
    start = date(2026, 1, 1)
    milestones = draw(milestone_lists(cur, triggers=list(Trigger), first_due=start))
    recurring = draw(st.lists(monthly_retainers(cur, start=start, start_within_days=60),
                              max_size=1))
    schedule = BillingSchedule(currency=cur, milestones=milestones, recurring=recurring)
    extra = BillingSchedule(currency=cur, recurring=[
        RecurringCharge(ItemId("extra"), "Extra", r.amount, r.interval, start=r.start,
                        count=r.count)
        for r in recurring])
    with_addon: bool = draw(st.booleans())
    addons = (AddOn("extra", "Extra", extra),) if recurring and with_addon else ()
    return Proposal(ProposalId(draw(st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True))),
                    draw(FREE_TEXT), cur,
                    (PackageOption("std", "Standard", schedule, draw(FREE_TEXT)),),
                    addons, draw(st.none() | st.dates(date(2026, 1, 1), date(2027, 1, 1))),
                    ApprovalRules(draw(st.booleans()), draw(st.none() | st.integers(0, 60))),
                    draw(st.sampled_from(Collection)))


@settings(max_examples=60, deadline=None)
@given(proposals())
def test_any_proposal_round_trips_through_its_format(offer: Proposal) -> None:
    assert formats.read("proposal", _checked("proposal", formats.write(offer))) == offer


@settings(max_examples=60, deadline=None)
@given(proposals(), st.sampled_from(ProrationPolicy), st.booleans(),
       st.integers(-10**6, 10**6))
def test_any_amendment_round_trips_through_its_format(
        offer: Proposal, policy: ProrationPolicy, credit: bool, minor: int) -> None:
    schedule = offer.options[0].schedule
    amount = Money.from_minor(abs(minor) + 1, schedule.currency)
    ops: list[Any] = [ChangeMilestoneAmount(date(2026, 2, 1), m.id, amount)
                      for m in schedule.milestones]
    ops += [ChangeRecurringPrice(date(2026, 2, 1), r.id, amount, policy)
            for r in schedule.recurring]
    ops += [RescheduleMilestone(date(2026, 2, 1), m.id, date(2026, 9, 1))
            for m in schedule.milestones if m.trigger is Trigger.ON_DATE]
    ops.append(CancelAgreement(date(2026, 12, 31), credit))
    am = Amendment(AmendmentId("am-1"), ops, description="reprice")
    assert formats.read("amendment", _checked("amendment", formats.write(am))) == am


# ---------------------------------------------------------------- agreements


def test_an_agreement_reads_as_the_signed_agreement_with_its_payment_method() -> None:
    a = signed(offer(), at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    data = formats.write(a)
    assert data["payment_method"] == {"gateway": "memory", "customer_id": "cus_1",
                                      "payment_method_id": "pm_card", "kind": "card"}
    assert data["signed_at"] == "2026-03-02T09:30:00+00:00"
    assert formats.read("agreement", data) == a
    assert formats.write(SignedTerms.of(a)) == data


def test_an_agreement_is_written_as_signed_whatever_happened_since(firm: Firm) -> None:
    a = next(a for a in firm.agreements() if a.version > 3)
    assert formats.read("agreement", formats.write(a)).version == 1


def agreement_json() -> dict[str, Any]:
    offer_ = proposal([("design", "4000.00")], collection=Collection.SEND_INVOICE)
    offer_ = Proposal(offer_.id, offer_.client, offer_.currency, offer_.options,
                      (AddOn("care", "Care", BillingSchedule(currency="USD")),),
                      valid_until=date(2026, 3, 31), collection=Collection.SEND_INVOICE)
    terms = SignedTerms(AgreementId("agr-9"), offer_, "std", "Ada",
                        datetime(2026, 3, 2, tzinfo=UTC))
    return formats.write(terms)


@pytest.mark.parametrize(("change", "field", "says"), [
    (lambda d: d.update(option="gold"), "option", "one of the proposal's options ['std']"),
    (lambda d: d.update(addons=["care", "care"]), "addons[1]", "an add-on not already taken"),
    (lambda d: d.update(addons=["cake"]), "addons[0]", "one of the proposal's add-ons"),
    (lambda d: d.update(signed_at="2026-04-01T00:00:00+00:00"), "signed_at",
     "on or before the proposal's valid_until 2026-03-31"),
    (lambda d: d.update(signed_at="2026-03-02T09:00:00"), "signed_at", "an ISO 8601 datetime"),
    (lambda d: d.update(signer=""), "signer", "a non-empty name"),
    (lambda d: d["proposal"].update(collection="auto_charge"), "payment_method",
     "a PaymentMethodRef"),
    (lambda d: d.update(payment_method={"gateway": "stripe", "customer_id": "cus_1",
                                        "payment_method_id": "4242 4242 4242 4242",
                                        "kind": "card"}),
     "payment_method.payment_method_id", "a gateway reference, not a card number"),
])
def test_agreement_errors_name_the_field(change: Callable[[dict[str, Any]], None], field: str,
                                         says: str) -> None:
    data = agreement_json()
    formats.read("agreement", data)
    change(data)
    with pytest.raises(ValidationError) as info:
        formats.read("agreement", data)
    assert (info.value.field, says in str(info.value)) == (field, True), info.value


def test_a_card_number_is_never_echoed() -> None:
    data = agreement_json()
    data["payment_method"] = {"gateway": "stripe", "customer_id": "cus_1",
                              "payment_method_id": "4242 4242 4242 4242", "kind": "card"}
    with pytest.raises(ValidationError) as info:
        formats.read("agreement", data)
    assert "4242 4242" not in str(info.value)  # only the last four digits are shown
    assert "card number ending 4242" in str(info.value)


# ---------------------------------------------------------------- errors


def proposal_json() -> dict[str, Any]:
    return formats.write(offer())


def milestone(d: dict[str, Any], i: int = 1) -> dict[str, Any]:
    m: dict[str, Any] = d["options"][0]["schedule"]["milestones"][i]
    return m


@pytest.mark.parametrize(("change", "field", "expected"), [
    (lambda d: milestone(d)["amount"].update(amount=12.3),
     "options[0].schedule.milestones[1].amount.amount", "a decimal string such as '12.30'"),
    (lambda d: milestone(d).update(amount="12.30"),
     "options[0].schedule.milestones[1].amount", "an object with 'amount' and 'currency'"),
    (lambda d: milestone(d).update(trigger="at_once"),
     "options[0].schedule.milestones[1].trigger",
     "one of 'on_signing', 'on_completion', 'on_date'"),
    (lambda d: milestone(d).pop("name"), "options[0].schedule.milestones[1].name", "present"),
    (lambda d: milestone(d).update(colour="red"), "options[0].schedule.milestones[1].colour",
     "a field of Milestone"),
    (lambda d: milestone(d)["terms"].update(net_days="30"),
     "options[0].schedule.milestones[1].terms.net_days", "a whole number"),
    (lambda d: d.update(valid_until="31/03/2026"), "valid_until",
     "an ISO date string such as '2025-01-31'"),
    (lambda d: d.update(currency="usd"), "currency", "an ISO 4217 code such as 'USD'"),
    (lambda d: d.update(options={}), "options", "a list"),
    (lambda d: d["options"][0].update(obligations=[
        {"id": "o", "name": "O", "progress": "milestones", "milestones": [["design"]]}]),
     "options[0].obligations[0].milestones[0]", "a list of 2 items"),
    # What the schema cannot say, the value's own checks say, at the same path.
    (lambda d: milestone(d)["amount"].update(amount="12.345"),
     "options[0].schedule.milestones[1].amount.amount", "exact to 2 decimal places for USD"),
    (lambda d: milestone(d).update(due_on="2026-05-01"),
     "options[0].schedule.milestones[1].due_on", "None for trigger ON_COMPLETION"),
    (lambda d: d.update(currency="EUR"), "options[0].schedule.currency", "EUR"),
])
def test_proposal_errors_name_the_json_path(change: Callable[[dict[str, Any]], None],
                                            field: str, expected: str) -> None:
    data = proposal_json()
    change(data)
    with pytest.raises(ValidationError) as info:
        formats.read("proposal", data)
    assert (info.value.field, info.value.expected) == (field, expected), info.value


def test_every_problem_the_schema_finds_is_reported_at_once_in_document_order() -> None:
    data = proposal_json()
    milestone(data, 0)["amount"]["amount"] = 40
    milestone(data, 1).pop("id")
    data["options"][0]["schedule"]["recurring"] = "monthly"
    data["valid_until"] = 20260331
    data["discount"] = "10%"
    with pytest.raises(InvalidInputError) as info:
        formats.read("proposal", data)
    assert [p.field for p in info.value.problems] == [
        "discount",
        "options[0].schedule.milestones[0].amount.amount",
        "options[0].schedule.milestones[1].id",
        "options[0].schedule.recurring",
        "valid_until",
    ]
    assert info.value.field == "discount"


def test_a_bad_operation_names_its_index_and_what_the_tag_allows() -> None:
    data = formats.write(Amendment(AmendmentId("am-1"), [
        RescheduleMilestone(date(2026, 5, 1), MilestoneId("launch"), date(2026, 6, 1)),
        CancelAgreement(date(2026, 6, 1))]))
    data["operations"][1]["type"] = "Cancel"
    data["operations"][0].pop("due_on")
    with pytest.raises(InvalidInputError) as info:
        formats.read("amendment", data)
    assert [(p.field, p.expected[:23]) for p in info.value.problems] == [
        ("operations[0].due_on", "present"),
        ("operations[1].type", "one of 'ChangeMilestone"),
    ]


@pytest.mark.parametrize(("data", "expected"), [
    ([], "an object for Proposal"),
    ("[1, 2", "JSON text"),
    ('{"id": "p", "currency": "USD", "client": "A"}', None),
])
def test_the_whole_document_is_named_by_the_format(data: object, expected: str | None) -> None:
    with pytest.raises(ValidationError) as info:
        formats.read("proposal", data)
    if expected is None:
        assert info.value.field == "options"
    else:
        assert (info.value.field, info.value.expected) == ("proposal", expected)


def test_enums_are_written_and_read_by_lower_case_name_only() -> None:
    data = proposal_json()
    assert data["collection"] == "auto_charge"
    assert data["proration_rounding"] == "half_up"
    data["collection"] = "AUTO_CHARGE"
    with pytest.raises(ValidationError, match="'collection' must be one of 'auto_charge'"):
        formats.read("proposal", data)


# ---------------------------------------------------------------- TOML


TOML = '''
id = "p-7"
client = "Acme Ltd"
currency = "USD"
valid_until = 2026-03-31
collection = "send_invoice"

[[options]]
id = "standard"
name = "Standard"

[options.schedule]
currency = "USD"

[[options.schedule.milestones]]
id = "kickoff"
name = "Kickoff"
amount = { amount = "2000.00", currency = "USD" }
trigger = "on_signing"

[[options.schedule.recurring]]
id = "care"
name = "Care plan"
amount = { amount = "500.00", currency = "USD" }
interval = { unit = "month" }
start = 2026-04-01
count = 12
'''


def test_a_proposal_reads_from_toml_with_bare_dates() -> None:
    p = formats.read_toml("proposal", TOML)
    assert isinstance(p, Proposal)
    assert p.valid_until == date(2026, 3, 31)
    assert p.options[0].schedule.recurring[0].start == date(2026, 4, 1)
    assert formats.read("proposal", formats.write(p)) == p


@pytest.mark.parametrize("text", ["[" * 100_000, b"[" * 100_000, '{"id": ' * 5_000])
def test_json_text_nested_too_deeply_is_refused_naming_the_format(text: str | bytes) -> None:
    # Found by the fuzzer: the parser's RecursionError escaped.
    with pytest.raises(ValidationError) as info:
        formats.read("proposal", text)
    assert (info.value.field, info.value.expected) == ("proposal", "JSON text")


@pytest.mark.parametrize("text", ["a = " + "[" * 100_000, "a = " + "{b = " * 5_000])
def test_toml_text_nested_too_deeply_is_refused_naming_the_format(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        formats.read_toml("engagement", text)
    assert (info.value.field, info.value.expected) == ("engagement", "TOML text")


def test_toml_errors_name_the_path_too() -> None:
    with pytest.raises(ValidationError) as info:
        formats.read_toml("proposal", TOML.replace('"500.00"', "500.0"))
    assert info.value.field == "options[0].schedule.recurring[0].amount.amount"
    with pytest.raises(ValidationError) as info:
        formats.read_toml("proposal", "id = ")
    assert (info.value.field, info.value.expected) == ("proposal", "TOML text")


# ---------------------------------------------------------------- the docs


def _doc_examples() -> list[tuple[str, str]]:
    text = (ROOT / "docs" / "formats.md").read_text(encoding="utf-8")
    return re.findall(r"<!-- format: (\w+) -->\s*```json\n(.*?)```", text, re.S)


def test_the_formats_page_has_an_example_of_every_format() -> None:
    assert sorted({name for name, _ in _doc_examples()}) == sorted(formats.SCHEMAS)


@pytest.mark.parametrize(("name", "text"), _doc_examples())
def test_every_example_in_the_docs_validates_and_reads(name: str, text: str) -> None:
    data = json.loads(text)
    assert list(Draft202012Validator(formats.schema(name)).iter_errors(data)) == []
    formats.read(name, data)


# ---------------------------------------------------------------- the walker


@pytest.mark.parametrize("tp", [Proposal, Amendment, Engagement, SignedTerms, Milestone])
def test_the_walker_and_the_codec_agree_on_every_class(tp: type) -> None:
    assert CODEC.schema(tp)["$ref"] == f"#/$defs/{tp.__name__}"


def test_the_walker_refuses_a_union_it_cannot_tag() -> None:
    with pytest.raises(TypeError, match="only value classes can be tagged"):
        CODEC.schema(int | str)


def test_money_json_keeps_every_digit() -> None:
    m = Money("123456789012345.67", "USD")
    data = formats.write(Proposal(ProposalId("p"), "A", Currency.of("USD"), (PackageOption(
        "o", "O", BillingSchedule(currency="USD", milestones=[
            Milestone(MilestoneId("m"), "M", amount=m)])),)))
    assert milestone(data, 0)["amount"] == {"amount": "123456789012345.67", "currency": "USD"}
    back = formats.read("proposal", data)
    assert back.options[0].schedule.milestones[0].amount == m
    assert Decimal(milestone(data, 0)["amount"]["amount"]) == m.amount


def test_a_payment_method_ref_kind_is_an_enum_name() -> None:
    assert CODEC.encode(CARD, PaymentMethodRef)["kind"] == PaymentMethodKind.CARD.name.lower()

"""Outside input of the wrong shape gets a typed error naming the field, or a
correct result -- never a raw Python error."""

from __future__ import annotations

import pytest

from milestonebill._json import decode, parse_json_object
from milestonebill.agreement import PackageOption, Proposal, ProposalId, event_from_json
from milestonebill.errors import ValidationError
from milestonebill.money import Currency, Money
from milestonebill.schedule import BillingSchedule, Milestone, MilestoneId


def options(code: str = "EUR") -> tuple[PackageOption, ...]:
    s = BillingSchedule(currency=code, milestones=[
        Milestone(MilestoneId("m"), "M", amount=Money("10.00", code))])
    return (PackageOption("std", "Std", s),)


@pytest.mark.parametrize("code", ["EUR", "eur", Currency.of("EUR")])
def test_a_proposal_takes_a_currency_code_as_a_billing_schedule_does(code: object) -> None:
    p = Proposal(ProposalId("p"), "Acme", code, options())  # type: ignore[arg-type]
    assert p.currency == BillingSchedule(currency=code).currency == Currency.of("EUR")


@pytest.mark.parametrize("code", ["XXX", "", 978, None])
def test_a_proposal_refuses_what_a_billing_schedule_refuses(code: object) -> None:
    with pytest.raises(ValidationError) as p_err:
        Proposal(ProposalId("p"), "Acme", code, options())  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as s_err:
        BillingSchedule(currency=code)
    assert p_err.value.field == s_err.value.field == "currency"


def test_a_proposal_in_another_currency_than_its_options_names_the_option() -> None:
    with pytest.raises(ValidationError) as caught:
        Proposal(ProposalId("p"), "Acme", "USD", options("EUR"))
    assert caught.value.field == "options[0].schedule.currency"


def test_an_event_nested_where_a_string_belongs_is_refused_by_path() -> None:
    deep: object = "x"
    for _ in range(5000):
        deep = [deep]
    data = {"type": "Paused", "event_id": "e", "version": 2,
            "effective_at": "2026-01-01T00:00:00+00:00", "reason": deep}
    with pytest.raises(ValidationError) as caught:
        event_from_json(data)
    assert caught.value.field == "event.reason"
    assert "too large or too deeply nested" in caught.value.got


def test_a_schedule_read_from_text_with_a_lone_surrogate_is_refused_by_path() -> None:
    data = parse_json_object('{"currency": "USD", "milestones": [{"id": "m", "name": "\\ud800",'
                             ' "amount": {"amount": "1.00", "currency": "USD"}}]}')
    with pytest.raises(ValidationError) as caught:
        decode(data, BillingSchedule)
    assert caught.value.field == "milestones[0].name"


@pytest.mark.parametrize("text", ["", "[]", '"x"', "null", "{", b"\xff\xfe{}", "\x00"])
def test_json_text_that_is_no_object_is_a_typed_error(text: str | bytes) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_json_object(text, "engagement")
    assert caught.value.field == "engagement"

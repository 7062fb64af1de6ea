"""Every size outside input controls is bounded, and a value beyond a bound is a
typed error naming the field -- never a hang, an OverflowError or a changed amount."""

from __future__ import annotations

import decimal
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from milestonebill._json import canonical_json, decode, parse_json_object
from milestonebill.agreement import (
    Agreement,
    AgreementId,
    Amendment,
    AmendmentId,
    ApprovalRules,
    Collection,
    MilestoneCompleted,
    PackageOption,
    Proposal,
    ProposalId,
    RescheduleMilestone,
    complete_milestone,
    sign,
)
from milestonebill.errors import InvalidAmountError, ValidationError
from milestonebill.limits import (
    LATEST_DATE,
    MAX_AMOUNT_MINOR,
    MAX_DAYS,
    MAX_ID_LENGTH,
    MAX_INTERVAL_MONTHS,
    MAX_INTERVAL_WEEKS,
    MAX_JSON_DEPTH,
    MAX_JSON_SIZE,
    MAX_RECURRING_PERIODS,
    MAX_SHOWN_LENGTH,
)
from milestonebill.money import Currency, Money
from milestonebill.schedule import (
    BillingSchedule,
    Escalation,
    Interval,
    IntervalUnit,
    ItemId,
    Milestone,
    MilestoneId,
    PaymentTerms,
    RecurringCharge,
    Trigger,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def usd(amount: str) -> Money:
    return Money(amount, "USD")


def one_milestone_schedule() -> BillingSchedule:
    return BillingSchedule(currency="USD", milestones=[
        Milestone(MilestoneId("launch"), "Launch", amount=usd("4000.00"),
                  terms=PaymentTerms.net(30))])


# ---------------------------------------------------------------- amounts


@pytest.mark.parametrize(("code", "largest"), [
    ("USD", "9999999999999999.99"), ("JPY", "999999999999999999"),
    ("KWD", "999999999999999.999"), ("CLF", "99999999999999.9999"),
])
def test_the_largest_amount_of_each_exponent_is_accepted_and_one_unit_more_is_not(
        code: str, largest: str) -> None:
    assert Money(largest, code).minor == MAX_AMOUNT_MINOR
    assert Money("-" + largest, code).minor == -MAX_AMOUNT_MINOR
    with pytest.raises(InvalidAmountError) as caught:
        Money.from_minor(MAX_AMOUNT_MINOR + 1, code)
    assert caught.value.field == "minor"


def test_an_amount_with_a_huge_exponent_is_refused_at_once() -> None:
    # Before the bound, Money("1e999999") was accepted and printing it took 22 s.
    with pytest.raises(InvalidAmountError) as caught:
        Money(Decimal("1E+999999999"), "USD")
    assert caught.value.field == "amount"
    assert "at most 18 digits in minor units" in str(caught.value)


def test_an_amount_with_a_huge_negative_exponent_is_refused_at_once() -> None:
    with pytest.raises(InvalidAmountError, match="at most 40 decimal places"):
        Money(Decimal("1E-999999999"), "USD")


def test_zero_with_a_huge_exponent_is_zero() -> None:
    assert Money(Decimal("0E+999999999"), "USD") == Money.zero("USD")


def test_an_int_of_a_hundred_thousand_digits_is_refused_and_not_printed() -> None:
    with pytest.raises(InvalidAmountError) as caught:
        Money(10**100_000, "USD")
    assert caught.value.got == "<an int of about 100000 digits>"


def test_arithmetic_that_would_leave_the_bound_raises_a_typed_error() -> None:
    top = Money.from_minor(MAX_AMOUNT_MINOR, "USD")
    with pytest.raises(InvalidAmountError) as caught:
        _ = top + Money.from_minor(1, "USD")
    assert caught.value.field == "amount"


def test_an_escalation_compounding_past_the_bound_raises_a_typed_error() -> None:
    charge = RecurringCharge(ItemId("r"), "Retainer", usd("1000000000000000.00"),
                             Interval.YEARLY, start=date(2026, 1, 1),
                             escalations=(Escalation(percent=Decimal(900)),))
    with pytest.raises(InvalidAmountError):
        charge.price_on(date(2028, 1, 1))


def test_an_amount_is_written_the_same_whatever_the_thread_decimal_context() -> None:
    m = Money("1234567890123456.78", "MXN")
    with decimal.localcontext(prec=5):
        assert (str(m), m.to_json()["amount"]) == ("1234567890123456.78 MXN",
                                                    "1234567890123456.78")


def test_percentages_add_up_exactly_whatever_the_thread_decimal_context() -> None:
    third = Decimal("33.333333333333333333333333333333")  # 32 digits: beyond 28
    rest = Decimal(100) - 2 * third
    with decimal.localcontext(prec=3):  # a caller's narrow context must change nothing
        s = BillingSchedule(currency="USD", fee=usd("300.00"), milestones=[
            Milestone(MilestoneId(f"m{i}"), "M", percent=p)
            for i, p in enumerate([third, third, rest])])
    assert sum(a.minor for a in s.milestone_amounts().values()) == 30000


def test_percentages_that_add_up_to_a_hair_over_100_are_refused_exactly() -> None:
    # 80/3 rounds up in a 28-digit context: three of them and 20 make a hair over 100,
    # which a sum in that context rounded away.
    shares = [Decimal(80) / 3] * 3 + [Decimal(20)]
    with pytest.raises(ValidationError, match=r"totalling at most 100 \(got '100.0+1%'\)"):
        BillingSchedule(currency="USD", fee=usd("300.00"), milestones=[
            Milestone(MilestoneId(f"m{i}"), "M", percent=p) for i, p in enumerate(shares)])


# ---------------------------------------------------------------- days, intervals, counts


def test_net_days_beyond_ten_years_are_refused_by_name() -> None:
    assert PaymentTerms.net(MAX_DAYS).net_days == MAX_DAYS
    with pytest.raises(ValidationError) as caught:
        PaymentTerms.net(3_000_000)
    assert (caught.value.field, caught.value.value) == ("net_days", 3_000_000)


def test_automatic_approval_after_more_than_ten_years_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        ApprovalRules(auto_approve_after_days=10**9)
    assert caught.value.field == "auto_approve_after_days"


@pytest.mark.parametrize(("unit", "most"), [
    (IntervalUnit.WEEK, MAX_INTERVAL_WEEKS), (IntervalUnit.MONTH, MAX_INTERVAL_MONTHS),
    (IntervalUnit.YEAR, MAX_INTERVAL_MONTHS // 12),
])
def test_an_interval_is_at_most_ten_years(unit: IntervalUnit, most: int) -> None:
    assert Interval.every(most, unit).count == most
    with pytest.raises(ValidationError) as caught:
        Interval.every(most + 1, unit)
    assert (caught.value.field, caught.value.value) == ("count", most + 1)


def test_an_interval_count_of_a_trillion_names_the_count_not_a_month_offset() -> None:
    # Was "'n' must be a month offset ... (got -1000000000000)" from deep inside.
    with pytest.raises(ValidationError) as caught:
        Interval.every(10**12, IntervalUnit.MONTH)
    assert str(caught.value) == (
        "'count' must be a whole number of months from 1 to 120 (got 1000000000000)")


def test_a_recurring_count_of_a_billion_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        RecurringCharge(ItemId("r"), "R", usd("1.00"), Interval.MONTHLY,
                        start=date(2026, 1, 1), count=10**9)
    assert caught.value.field == "count"
    assert RecurringCharge(ItemId("r"), "R", usd("1.00"), Interval.WEEKLY,
                           start=date(2026, 1, 1), count=MAX_RECURRING_PERIODS).is_finite


def test_an_end_that_makes_too_many_periods_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        RecurringCharge(ItemId("r"), "R", usd("1.00"), Interval.WEEKLY,
                        start=date(2026, 1, 1), end=date(9000, 1, 1))
    assert caught.value.field == "end"


def test_an_open_ended_charge_stops_at_the_latest_date_with_its_due_date_in_the_calendar() -> None:
    charge = RecurringCharge(ItemId("r"), "R", usd("1.00"), Interval.every(10, IntervalUnit.YEAR),
                             start=date(2026, 1, 1), terms=PaymentTerms.net(MAX_DAYS))
    last = list(charge.charges())[-1]
    assert last.on <= LATEST_DATE
    assert last.due is not None
    assert last.due > last.on


# ---------------------------------------------------------------- dates


def test_a_completion_at_the_end_of_the_calendar_names_the_completion() -> None:
    # Was "'n' must be a month offset ... (got 1)", or an OverflowError.
    s = one_milestone_schedule()
    with pytest.raises(ValidationError) as caught:
        s.charges_between(date(2026, 1, 1), LATEST_DATE,
                          completions={MilestoneId("launch"): date(9999, 12, 31)})
    assert caught.value.field == "completions['launch']"
    assert caught.value.value == date(9999, 12, 31)


@pytest.mark.parametrize("build", [
    lambda d: Milestone(MilestoneId("m"), "M", amount=usd("1.00"), trigger=Trigger.ON_DATE,
                        due_on=d),
    lambda d: RecurringCharge(ItemId("r"), "R", usd("1.00"), Interval.MONTHLY, start=d),
    lambda d: Escalation(percent=Decimal(3), dates=(d,)),
    lambda d: RescheduleMilestone(date(2026, 1, 1), MilestoneId("m"), d),
])
def test_schedule_dates_past_the_latest_date_are_refused(build: object) -> None:
    assert callable(build)
    with pytest.raises(ValidationError, match="9899-12-31"):
        build(date(9999, 12, 1))


def signed_agreement() -> Agreement:
    p = Proposal(ProposalId("p"), "Client", "USD",
                 (PackageOption("std", "Standard", one_milestone_schedule()),),
                 collection=Collection.SEND_INVOICE)
    return sign(p, option="std", signer="Ada", signed_at=T0, payment_method=None,
                agreement_id=AgreementId("agr-1"))


def test_a_milestone_completed_at_the_end_of_the_calendar_is_refused_by_name() -> None:
    with pytest.raises(ValidationError) as caught:
        complete_milestone(signed_agreement(), MilestoneId("launch"), by="Ada", at=T0,
                           completed_on=date(9999, 12, 31))
    assert caught.value.field == "completed_on"


def test_an_event_time_that_overflows_utc_is_a_typed_error() -> None:
    late = datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5)))
    with pytest.raises(ValidationError) as caught:
        MilestoneCompleted("e", 2, late, MilestoneId("launch"), date(2026, 1, 1), "Ada")
    assert caught.value.field == "effective_at"


def test_an_amendment_effective_past_the_latest_date_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        Amendment(AmendmentId("am"), [RescheduleMilestone(date(9999, 1, 1), MilestoneId("m"),
                                                          date(2026, 1, 1))])
    assert caught.value.field == "effective"


# ---------------------------------------------------------------- ids and errors


def test_an_id_longer_than_the_bound_is_refused() -> None:
    Milestone(MilestoneId("m" * MAX_ID_LENGTH), "M", amount=usd("1.00"))
    with pytest.raises(ValidationError) as caught:
        Milestone(MilestoneId("m" * (MAX_ID_LENGTH + 1)), "M", amount=usd("1.00"))
    assert caught.value.field == "id"


def test_an_error_shows_a_long_value_cut_short() -> None:
    with pytest.raises(InvalidAmountError) as caught:
        Money("9" * 5000, "USD")
    assert len(caught.value.got) <= MAX_SHOWN_LENGTH
    assert caught.value.got.endswith("(5002 characters)")
    assert len(str(caught.value)) < 2 * MAX_SHOWN_LENGTH + 200


# ---------------------------------------------------------------- JSON


def test_json_nested_deeper_than_the_bound_is_refused_by_name() -> None:
    def nested(depth: int) -> str:
        return '{"a":' * depth + "1" + "}" * depth

    with pytest.raises(ValidationError) as caught:
        parse_json_object(nested(MAX_JSON_DEPTH + 1), "engagement")
    assert caught.value.field == "engagement"
    assert "nested at most 64 deep" in str(caught.value)
    assert parse_json_object(nested(MAX_JSON_DEPTH))


def test_json_nested_beyond_the_interpreter_stack_is_a_typed_error() -> None:
    with pytest.raises(ValidationError, match="nested at most"):
        parse_json_object("[" * 200_000 + "]" * 200_000)


def test_canonical_json_refuses_a_deeply_nested_dict() -> None:
    data: dict[str, object] = {}
    inner = data
    for _ in range(MAX_JSON_DEPTH + 5):
        inner["a"] = {}
        inner = inner["a"]  # type: ignore[assignment]
    with pytest.raises(ValidationError, match="nested at most"):
        canonical_json(data)


def test_json_larger_than_the_bound_is_refused_before_it_is_parsed() -> None:
    big = '{"a": "' + "x" * MAX_JSON_SIZE + '"}'
    with pytest.raises(ValidationError) as caught:
        parse_json_object(big)
    assert caught.value.got == f"'{len(big)} characters'"


def test_json_bytes_that_are_not_utf8_are_a_typed_error() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_json_object(b'{"client": "Caf\xe9"}', "engagement")
    assert caught.value.field == "engagement"
    assert "UTF-8" in str(caught.value)


def test_json_bytes_that_are_utf8_parse() -> None:
    assert parse_json_object('{"client": "Café"}'.encode()) == {"client": "Café"}


def test_a_json_integer_of_thousands_of_digits_is_a_typed_error() -> None:
    with pytest.raises(ValidationError, match="not valid JSON"):
        parse_json_object('{"n": ' + "9" * 5000 + "}")


def test_a_decoded_schedule_with_an_interval_too_long_names_the_path() -> None:
    data = {"currency": "USD", "recurring": [{
        "id": "r", "name": "R", "amount": {"amount": "1.00", "currency": "USD"},
        "interval": {"unit": "month", "count": 10**12}, "start": "2026-01-01"}]}
    with pytest.raises(ValidationError) as caught:
        decode(data, BillingSchedule)
    assert caught.value.field == "recurring[0].interval.count"


def test_the_currency_bound_text_uses_the_currency_decimals() -> None:
    with pytest.raises(InvalidAmountError, match=r"999999999999999\.999 KWD"):
        Money.from_minor(-MAX_AMOUNT_MINOR - 1, Currency.of("KWD"))

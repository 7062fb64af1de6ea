"""Unit tests for milestonebill.schedule."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from milestonebill.errors import InvalidInputError, ValidationError
from milestonebill.money import Currency, Money, Rounding
from milestonebill.periods import DayCount, Period
from milestonebill.schedule import (
    DUE_ON_RECEIPT,
    BillingSchedule,
    ChargeKind,
    Escalation,
    Interval,
    IntervalUnit,
    ItemId,
    Milestone,
    MilestoneId,
    PaymentTerms,
    RecurringCharge,
    Timing,
    Trigger,
)


def d(text: str) -> date:
    return date.fromisoformat(text)


def usd(text: str) -> Money:
    return Money(text, "USD")


def monthly(amount: Money, start: str, **kwargs: Any) -> RecurringCharge:
    return RecurringCharge(ItemId("r"), "Retainer", amount, kwargs.pop("interval", Interval.MONTHLY),
                           start=d(start), **kwargs)


def billing_dates(rc: RecurringCharge, n: int | None = None) -> list[str]:
    out: list[str] = []
    for c in rc.charges():
        if n is not None and len(out) == n:
            break
        out.append(c.on.isoformat())
    return out


# ------------------------------------------------------------------ payment terms


def test_net_30_is_due_thirty_days_after_issue() -> None:
    assert PaymentTerms.net(30).due_date(d("2024-01-31")) == d("2024-03-01")


def test_due_on_receipt_is_due_the_same_day() -> None:
    assert DUE_ON_RECEIPT.due_date(d("2024-02-29")) == d("2024-02-29")


@pytest.mark.parametrize("days", [-1, True])
def test_payment_terms_refuse_negative_or_non_int_days(days: Any) -> None:
    with pytest.raises(ValidationError, match="'net_days'"):
        PaymentTerms(days)


# ------------------------------------------------------------------ milestones


def schedule_of(fee: Money | None, *milestones: Milestone) -> BillingSchedule:
    cur = fee.currency if fee is not None else Currency.of("USD")
    return BillingSchedule(currency=cur, fee=fee, milestones=milestones)


def pct(mid: str, p: str, **kwargs: Any) -> Milestone:
    return Milestone(MilestoneId(mid), mid.title(), percent=Decimal(p), **kwargs)


def test_three_times_33_33_percent_plus_remainder_sum_exactly_to_the_fee() -> None:
    s = schedule_of(usd("48000.00"), pct("a", "33.33"), pct("b", "33.33"), pct("c", "33.33"),
                    pct("rest", "0.01"))
    amounts = s.milestone_amounts()
    assert [str(m.amount) for m in amounts.values()] == ["15998.40", "15998.40", "15998.40", "4.80"]
    assert Money.total(amounts.values()) == usd("48000.00")


def test_percentages_of_an_awkward_fee_resolve_by_largest_remainder() -> None:
    s = schedule_of(usd("100.00"), pct("a", "33.33"), pct("b", "33.33"), pct("c", "33.34"))
    assert [str(m.amount) for m in s.milestone_amounts().values()] == ["33.33", "33.33", "33.34"]


def test_thirds_of_one_cent_go_to_the_first_milestone() -> None:
    s = schedule_of(usd("0.01"), pct("a", "33.33"), pct("b", "33.33"), pct("c", "33.34"))
    assert [m.minor for m in s.milestone_amounts().values()] == [0, 0, 1]


def test_jpy_percentages_resolve_to_whole_yen() -> None:
    s = schedule_of(Money("1000000", "JPY"), pct("a", "33.33"), pct("b", "33.33"),
                    pct("c", "33.34"))
    assert [str(m.amount) for m in s.milestone_amounts().values()] == ["333300", "333300", "333400"]


def test_kwd_percentages_keep_three_decimals() -> None:
    s = schedule_of(Money("1000.000", "KWD"), pct("a", "12.5"), pct("b", "87.5"))
    assert [str(m.amount) for m in s.milestone_amounts().values()] == ["125.000", "875.000"]


def test_fixed_and_percentage_milestones_together_make_the_fee() -> None:
    s = schedule_of(usd("48000.00"), pct("kickoff", "25"),
                    Milestone(MilestoneId("build"), "Build", amount=usd("12000.00")),
                    pct("rest", "50"))
    assert [str(m.amount) for m in s.milestone_amounts().values()] == ["12000.00", "12000.00",
                                                                       "24000.00"]


def test_milestones_not_adding_up_to_the_fee_are_refused() -> None:
    with pytest.raises(ValidationError) as info:
        schedule_of(usd("100.00"), pct("a", "50"), pct("b", "49"))
    assert (info.value.field, info.value.value) == ("milestones", "99.00 USD")


def test_percentages_over_100_are_refused() -> None:
    with pytest.raises(ValidationError, match="at most 100"):
        schedule_of(usd("100.00"), pct("a", "60"), pct("b", "60"))


def test_percentage_milestone_without_fee_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"'milestones\[0\].percent'"):
        schedule_of(None, pct("a", "100"))


def test_milestone_with_both_amount_and_percent_is_refused() -> None:
    with pytest.raises(ValidationError, match="'percent'"):
        Milestone(MilestoneId("m"), "M", amount=usd("1.00"), percent=Decimal(1))


def test_milestone_collects_every_problem_before_raising() -> None:
    with pytest.raises(InvalidInputError) as info:
        Milestone(MilestoneId(""), "M", percent=Decimal(120), trigger=Trigger.ON_DATE)
    assert [p.field for p in info.value.problems] == ["id", "percent", "due_on"]


def test_on_date_milestone_needs_due_on_and_others_refuse_it() -> None:
    with pytest.raises(ValidationError, match="'due_on'"):
        Milestone(MilestoneId("m"), "M", amount=usd("1.00"), due_on=d("2024-01-01"))


def test_milestone_percent_float_raises_type_error() -> None:
    with pytest.raises(TypeError, match="never float"):
        Milestone(MilestoneId("m"), "M", percent=33.3)  # type: ignore[arg-type]


def test_milestone_percent_accepts_strings_exactly() -> None:
    assert Milestone(MilestoneId("m"), "M", percent="33.33").percent == Decimal("33.33")


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(ValidationError, match=r"'milestones\[1\].id'"):
        schedule_of(usd("2.00"), Milestone(MilestoneId("m"), "A", amount=usd("1.00")),
                    Milestone(MilestoneId("m"), "B", amount=usd("1.00")))


def test_milestone_in_another_currency_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"'milestones\[0\].amount'"):
        BillingSchedule(currency="USD", milestones=[
            Milestone(MilestoneId("m"), "A", amount=Money("1.00", "EUR"))])


def test_milestone_charges_follow_their_triggers() -> None:
    s = schedule_of(usd("300.00"),
                    pct("sign", "10", trigger=Trigger.ON_SIGNING),
                    pct("done", "40", terms=PaymentTerms.net(15)),
                    pct("date", "50", trigger=Trigger.ON_DATE, due_on=d("2024-06-30")))
    charges = s.charges_between(d("2024-01-01"), d("2025-01-01"), signed_on=d("2024-02-01"),
                                completions={MilestoneId("done"): d("2024-03-15")})
    assert [(c.item_id, str(c.on), str(c.amount.amount), str(c.due)) for c in charges] == [
        ("sign", "2024-02-01", "30.00", "2024-02-01"),
        ("done", "2024-03-15", "120.00", "2024-03-30"),
        ("date", "2024-06-30", "150.00", "2024-06-30"),
    ]
    assert {c.kind for c in charges} == {ChargeKind.MILESTONE}


def test_uncompleted_and_unsigned_milestones_are_not_charged() -> None:
    s = schedule_of(usd("100.00"), pct("sign", "50", trigger=Trigger.ON_SIGNING), pct("done", "50"))
    assert s.charges_between(d("2024-01-01"), d("2025-01-01")) == ()


def test_completion_of_unknown_milestone_is_refused() -> None:
    s = schedule_of(usd("100.00"), pct("done", "100"))
    with pytest.raises(ValidationError, match="'completions'"):
        s.charges_between(d("2024-01-01"), d("2025-01-01"),
                          completions={MilestoneId("nope"): d("2024-02-01")})


# ------------------------------------------------------------------ intervals and anchors


def test_monthly_anchor_31_through_a_leap_year() -> None:
    rc = monthly(usd("100.00"), "2024-01-31", count=4)
    assert billing_dates(rc) == ["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30"]


def test_monthly_anchor_31_in_a_common_year_hits_28_february() -> None:
    rc = monthly(usd("100.00"), "2023-01-31", count=3)
    assert billing_dates(rc) == ["2023-01-31", "2023-02-28", "2023-03-31"]


def test_anchor_day_31_starting_on_30_april_is_on_the_anchor() -> None:
    rc = monthly(usd("100.00"), "2024-04-30", anchor_day=31, count=3)
    assert billing_dates(rc) == ["2024-04-30", "2024-05-31", "2024-06-30"]


def test_weekly_every_seven_days() -> None:
    rc = monthly(usd("10.00"), "2024-02-26", interval=Interval.WEEKLY, count=3)
    assert billing_dates(rc) == ["2024-02-26", "2024-03-04", "2024-03-11"]


def test_every_two_weeks() -> None:
    rc = monthly(usd("10.00"), "2024-12-23", interval=Interval.every(2, IntervalUnit.WEEK), count=3)
    assert billing_dates(rc) == ["2024-12-23", "2025-01-06", "2025-01-20"]


def test_quarterly_from_30_november_clamps_to_end_of_february() -> None:
    rc = monthly(usd("10.00"), "2023-11-30", interval=Interval.QUARTERLY, count=4)
    assert billing_dates(rc) == ["2023-11-30", "2024-02-29", "2024-05-30", "2024-08-30"]


def test_yearly_from_29_february() -> None:
    rc = monthly(usd("10.00"), "2024-02-29", interval=Interval.YEARLY, count=5)
    assert billing_dates(rc) == ["2024-02-29", "2025-02-28", "2026-02-28", "2027-02-28",
                                 "2028-02-29"]


def test_every_five_months() -> None:
    rc = monthly(usd("10.00"), "2024-01-31", interval=Interval.every(5, IntervalUnit.MONTH),
                 count=3)
    assert billing_dates(rc) == ["2024-01-31", "2024-06-30", "2024-11-30"]


def test_service_periods_are_contiguous_and_half_open() -> None:
    rc = monthly(usd("10.00"), "2024-01-31", count=3)
    assert list(rc.periods()) == [Period.of("2024-01-31", "2024-02-29"),
                                  Period.of("2024-02-29", "2024-03-31"),
                                  Period.of("2024-03-31", "2024-04-30")]


def test_weekly_refuses_an_anchor_day() -> None:
    with pytest.raises(ValidationError, match="'anchor_day'"):
        monthly(usd("10.00"), "2024-01-01", interval=Interval.WEEKLY, anchor_day=3)


@pytest.mark.parametrize("count", [0, -1])
def test_interval_count_must_be_positive(count: int) -> None:
    with pytest.raises(ValidationError, match="'count'"):
        Interval.every(count, IntervalUnit.MONTH)


# ------------------------------------------------------------------ limits and timing


def test_count_limits_the_number_of_charges() -> None:
    assert len(list(monthly(usd("1.00"), "2024-01-15", count=7).charges())) == 7


def test_end_stops_periods_starting_on_or_after_it() -> None:
    rc = monthly(usd("1.00"), "2024-01-15", end=d("2024-04-15"))
    assert billing_dates(rc) == ["2024-01-15", "2024-02-15", "2024-03-15"]


def test_end_inside_a_period_bills_it_whole_by_default() -> None:
    rc = monthly(usd("31.00"), "2024-01-01", end=d("2024-02-10"))
    assert [(str(c.period), str(c.amount.amount)) for c in rc.charges()] == [
        ("[2024-01-01, 2024-02-01)", "31.00"), ("[2024-02-01, 2024-03-01)", "31.00"),
    ]


def test_end_inside_a_period_with_final_proration_cuts_and_prorates() -> None:
    rc = monthly(usd("29.00"), "2024-01-01", end=d("2024-02-10"),
                 final_period_proration=DayCount.ACTUAL_OVER_PERIOD)
    last = list(rc.charges())[-1]
    assert (str(last.period), str(last.amount.amount), last.proration is not None) == (
        "[2024-02-01, 2024-02-10)", "9.00", True)


def test_count_and_end_together_stop_at_the_first_limit() -> None:
    rc = monthly(usd("1.00"), "2024-01-01", count=12, end=d("2024-03-01"))
    assert billing_dates(rc) == ["2024-01-01", "2024-02-01"]


def test_in_advance_bills_on_period_start_in_arrears_on_period_end() -> None:
    adv = monthly(usd("1.00"), "2024-01-31", count=2)
    arr = monthly(usd("1.00"), "2024-01-31", count=2, timing=Timing.IN_ARREARS)
    assert (billing_dates(adv), billing_dates(arr)) == (
        ["2024-01-31", "2024-02-29"], ["2024-02-29", "2024-03-31"])


def test_in_arrears_charges_cover_the_same_periods() -> None:
    adv = monthly(usd("1.00"), "2024-01-31", count=3)
    arr = monthly(usd("1.00"), "2024-01-31", count=3, timing=Timing.IN_ARREARS)
    assert [c.period for c in adv.charges()] == [c.period for c in arr.charges()]


def test_end_must_be_after_start() -> None:
    with pytest.raises(ValidationError, match="'end'"):
        monthly(usd("1.00"), "2024-01-31", end=d("2024-01-31"))


# ------------------------------------------------------------------ first-period proration


def test_kill_bill_stub_9_january_billed_on_the_1st_is_23_over_31() -> None:
    rc = monthly(usd("100.00"), "2024-01-09", anchor_day=1, count=2,
                 first_period_proration=DayCount.ACTUAL_OVER_PERIOD)
    first, second = rc.charges()
    assert first.proration is not None
    assert (first.on, first.amount, first.proration.fraction, first.proration.whole) == (
        d("2024-01-09"), usd("74.19"), Fraction(23, 31), Period.month(2024, 1))
    assert (second.on, second.amount, second.proration) == (d("2024-02-01"), usd("100.00"), None)


def test_stub_to_the_31st_is_prorated_over_the_month_ending_on_the_anchor() -> None:
    rc = monthly(usd("2450.00"), "2025-03-17", anchor_day=31, count=2,
                 first_period_proration=DayCount.ACTUAL_OVER_PERIOD)
    first = next(iter(rc.charges()))
    assert first.proration is not None
    assert (str(first.proration.whole), first.proration.fraction, first.amount) == (
        "[2025-02-28, 2025-03-31)", Fraction(14, 31), usd("1106.45"))


def test_stub_on_30_360_eu() -> None:
    rc = monthly(usd("300.00"), "2024-01-09", anchor_day=1, count=1,
                 first_period_proration=DayCount.THIRTY_360_EU)
    assert next(iter(rc.charges())).amount == usd("220.00")  # 22/30


def test_stub_counts_towards_count() -> None:
    rc = monthly(usd("1.00"), "2024-01-09", anchor_day=1, count=3,
                 first_period_proration=DayCount.ACTUAL_OVER_PERIOD)
    assert billing_dates(rc) == ["2024-01-09", "2024-02-01", "2024-03-01"]


def test_start_off_the_anchor_without_a_proration_basis_is_refused() -> None:
    with pytest.raises(ValidationError, match="'first_period_proration'"):
        monthly(usd("1.00"), "2024-01-09", anchor_day=1)


def test_stub_in_jpy_rounds_to_whole_yen() -> None:
    rc = monthly(Money("50000", "JPY"), "2024-01-09", anchor_day=1, count=1,
                 first_period_proration=DayCount.ACTUAL_OVER_PERIOD)
    assert next(iter(rc.charges())).amount == Money("37097", "JPY")


def test_stub_in_kwd_keeps_fils() -> None:
    rc = monthly(Money("100.000", "KWD"), "2024-01-09", anchor_day=1, count=1,
                 first_period_proration=DayCount.ACTUAL_OVER_PERIOD)
    assert next(iter(rc.charges())).amount == Money("74.194", "KWD")


# ------------------------------------------------------------------ escalations


def esc(**kwargs: Any) -> Escalation:
    return Escalation(**kwargs)


def test_compounding_3_percent_over_three_anniversaries() -> None:
    rc = monthly(usd("1000.00"), "2024-01-01", escalations=(esc(percent=Decimal(3)),))
    prices = [rc.price_on(d(f"{y}-01-01")).amount for y in (2024, 2025, 2026, 2027)]
    # 1000 -> 1030 -> 1060.90 -> 1092.727 rounded half up to 1092.73
    assert prices == [Decimal("1000.00"), Decimal("1030.00"), Decimal("1060.90"),
                      Decimal("1092.73")]


def test_non_compounding_3_percent_adds_the_same_uplift_each_year() -> None:
    rc = monthly(usd("1000.00"), "2024-01-01",
                 escalations=(esc(percent=Decimal(3), compounding=False),))
    prices = [rc.price_on(d(f"{y}-01-01")).amount for y in (2025, 2026, 2027)]
    assert prices == [Decimal("1030.00"), Decimal("1060.00"), Decimal("1090.00")]


def test_escalation_applies_from_its_date_not_before() -> None:
    rc = monthly(usd("1000.00"), "2024-01-31", escalations=(esc(percent=Decimal(10)),))
    assert (rc.price_on(d("2025-01-30")), rc.price_on(d("2025-01-31"))) == (
        usd("1000.00"), usd("1100.00"))


def test_anniversary_of_29_february_falls_on_28_february() -> None:
    rc = monthly(usd("100.00"), "2024-02-29", escalations=(esc(percent=Decimal(10)),))
    assert (rc.price_on(d("2025-02-27")), rc.price_on(d("2025-02-28"))) == (
        usd("100.00"), usd("110.00"))


@pytest.mark.parametrize(
    ("step", "rounding", "expected"),
    [
        # 2450.00 * 1.03 = 2523.50
        (None, Rounding.HALF_UP, "2523.50"),
        (Decimal(1), Rounding.HALF_UP, "2524.00"),
        (Decimal(1), Rounding.HALF_EVEN, "2524.00"),
        (Decimal(1), Rounding.HALF_DOWN, "2523.00"),
        (Decimal(1), Rounding.DOWN, "2523.00"),
        (Decimal(1), Rounding.UP, "2524.00"),
        (Decimal(5), Rounding.HALF_UP, "2525.00"),
        (Decimal(5), Rounding.DOWN, "2520.00"),
        (Decimal(5), Rounding.UP, "2525.00"),
        (Decimal(10), Rounding.HALF_UP, "2520.00"),
        (Decimal(10), Rounding.UP, "2530.00"),
        (Decimal(10), Rounding.DOWN, "2520.00"),
        (Decimal("0.25"), Rounding.HALF_UP, "2523.50"),
    ],
)
def test_escalation_rounds_to_a_whole_step(step: Decimal | None, rounding: Rounding,
                                           expected: str) -> None:
    rc = monthly(usd("2450.00"), "2024-01-01",
                 escalations=(esc(percent=Decimal(3), step=step, rounding=rounding),))
    assert rc.price_on(d("2025-01-01")).amount == Decimal(expected)


def test_rounded_price_is_the_base_of_the_next_compounding_step() -> None:
    rc = monthly(usd("2450.00"), "2024-01-01",
                 escalations=(esc(percent=Decimal(3), step=Decimal(10), rounding=Rounding.UP),))
    # 2523.50 -> 2530; 2530 * 1.03 = 2605.90 -> 2610
    assert rc.price_on(d("2026-01-01")) == usd("2610.00")


def test_two_escalations_on_the_same_date_apply_in_listed_order() -> None:
    when = (d("2025-01-01"),)
    pct_then_fixed = monthly(usd("100.00"), "2024-01-01", escalations=(
        esc(percent=Decimal(10), dates=when), esc(fixed=usd("5.00"), dates=when)))
    fixed_then_pct = monthly(usd("100.00"), "2024-01-01", escalations=(
        esc(fixed=usd("5.00"), dates=when), esc(percent=Decimal(10), dates=when)))
    assert (pct_then_fixed.price_on(when[0]), fixed_then_pct.price_on(when[0])) == (
        usd("115.00"), usd("115.50"))


def test_two_escalations_on_the_same_date_are_both_recorded() -> None:
    when = (d("2025-01-01"),)
    rc = monthly(usd("100.00"), "2024-01-01", count=13, escalations=(
        esc(percent=Decimal(10), dates=when), esc(percent=Decimal(10), dates=when)))
    last = list(rc.charges())[-1]
    assert (last.amount, len(last.escalations)) == (usd("121.00"), 2)
    assert [line.split(" ")[0] for line in last.escalations] == ["2025-01-01", "2025-01-01"]


def test_anniversary_and_dated_escalation_on_the_same_day_both_apply() -> None:
    rc = monthly(usd("100.00"), "2024-03-01", escalations=(
        esc(percent=Decimal(2)), esc(fixed=usd("1.00"), dates=(d("2025-03-01"),))))
    assert rc.price_on(d("2025-03-01")) == usd("103.00")


def test_fixed_escalation_on_given_dates() -> None:
    rc = monthly(usd("100.00"), "2024-01-01", escalations=(
        esc(fixed=usd("7.50"), dates=(d("2024-04-01"), d("2024-07-01"))),))
    prices = [str(rc.price_on(d(x)).amount) for x in ("2024-03-31", "2024-04-01", "2024-12-31")]
    assert prices == ["100.00", "107.50", "115.00"]


def test_escalated_charges_record_base_price_and_provenance() -> None:
    rc = monthly(usd("1000.00"), "2024-01-01", count=13, escalations=(esc(percent=Decimal(3)),))
    last = list(rc.charges())[-1]
    assert (last.base_amount, last.price, last.amount) == (
        usd("1000.00"), usd("1030.00"), usd("1030.00"))
    assert last.escalations == (
        "2025-01-01 +3% compounding, rounded half_up to minor unit: 1000.00 -> 1030.00 USD",)


def test_escalation_in_jpy_rounds_to_100_yen_steps() -> None:
    rc = monthly(Money("123456", "JPY"), "2024-01-01",
                 escalations=(esc(percent=Decimal("2.5"), step=Decimal(100)),))
    assert rc.price_on(d("2025-01-01")) == Money("126500", "JPY")  # 126542.4 -> 126500


def test_escalation_in_kwd_keeps_fils() -> None:
    rc = monthly(Money("100.000", "KWD"), "2024-01-01",
                 escalations=(esc(percent=Decimal("3.3333")),))
    assert rc.price_on(d("2025-01-01")) == Money("103.333", "KWD")


def test_step_finer_than_the_minor_unit_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"'escalations\[0\].step'"):
        monthly(Money("100", "JPY"), "2024-01-01", escalations=(esc(percent=Decimal(3),
                                                                    step=Decimal("0.5")),))


def test_escalation_needs_exactly_one_of_percent_and_fixed() -> None:
    with pytest.raises(ValidationError, match="'percent'"):
        esc(percent=Decimal(3), fixed=usd("1.00"))


def test_escalation_with_dates_and_anniversary_is_refused() -> None:
    with pytest.raises(ValidationError, match="'on_anniversary'"):
        esc(percent=Decimal(3), dates=(d("2025-01-01"),), on_anniversary=True)


def test_escalation_dates_must_increase() -> None:
    with pytest.raises(ValidationError, match="'dates'"):
        esc(percent=Decimal(3), dates=(d("2025-01-01"), d("2024-01-01")))


def test_escalation_percent_float_raises_type_error() -> None:
    with pytest.raises(TypeError, match="never float"):
        esc(percent=3.0)


def test_escalation_step_float_raises_type_error() -> None:
    with pytest.raises(TypeError, match="never float"):
        esc(percent=Decimal(3), step=1.0)


def test_fixed_escalation_in_another_currency_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"'escalations\[0\].fixed'"):
        monthly(usd("1.00"), "2024-01-01", escalations=(esc(fixed=Money("1.00", "EUR")),))


# ------------------------------------------------------------------ the schedule


def engagement() -> BillingSchedule:
    return BillingSchedule(
        currency="USD", fee=usd("48000.00"),
        milestones=(
            pct("kickoff", "25", trigger=Trigger.ON_SIGNING),
            pct("design", "35", terms=PaymentTerms.net(30)),
            Milestone(MilestoneId("build"), "Build", amount=usd("12000.00"),
                      trigger=Trigger.ON_DATE, due_on=d("2025-03-31")),
            pct("golive", "15"),
        ),
        recurring=(
            RecurringCharge(ItemId("retainer"), "Retainer", usd("2450.00"), Interval.MONTHLY,
                            start=d("2025-01-17"), anchor_day=31,
                            first_period_proration=DayCount.ACTUAL_OVER_PERIOD,
                            escalations=(esc(percent=Decimal(3), step=Decimal(1)),),
                            terms=PaymentTerms.net(15)),
        ),
    )


def test_charges_between_is_half_open_and_sorted_by_date_then_schedule_order() -> None:
    charges = engagement().charges_between(
        d("2025-01-15"), d("2025-03-31"), signed_on=d("2025-01-15"),
        completions={MilestoneId("design"): d("2025-02-28")})
    assert [(str(c.on), c.item_id) for c in charges] == [
        ("2025-01-15", "kickoff"), ("2025-01-17", "retainer"), ("2025-01-31", "retainer"),
        ("2025-02-28", "design"), ("2025-02-28", "retainer"),
    ]


def test_charges_between_empty_window_is_empty() -> None:
    assert engagement().charges_between(d("2025-02-01"), d("2025-02-01")) == ()


def test_charges_between_refuses_a_reversed_window() -> None:
    with pytest.raises(ValidationError, match="'end'"):
        engagement().charges_between(d("2025-02-01"), d("2025-01-01"))


def test_next_charge_after_is_strictly_after() -> None:
    s = engagement()
    nxt = s.next_charge_after(d("2025-01-31"), signed_on=d("2025-01-15"))
    assert nxt is not None
    assert (str(nxt.on), nxt.item_id) == ("2025-02-28", "retainer")


def test_next_charge_after_prefers_schedule_order_on_ties() -> None:
    nxt = engagement().next_charge_after(d("2025-03-30"))
    assert nxt is not None
    assert (str(nxt.on), nxt.item_id) == ("2025-03-31", "build")


def test_next_charge_after_the_last_one_is_none() -> None:
    s = BillingSchedule(currency="USD", recurring=[monthly(usd("1.00"), "2024-01-01", count=2)])
    assert s.next_charge_after(d("2024-02-01")) is None


def test_schedule_refuses_items_in_another_currency() -> None:
    with pytest.raises(ValidationError, match=r"'recurring\[0\].amount'"):
        BillingSchedule(currency="EUR", recurring=[monthly(usd("1.00"), "2024-01-01")])


# ------------------------------------------------------------------ JSON


def test_json_round_trips_exactly() -> None:
    s = engagement()
    doc = s.to_json()
    again = BillingSchedule.from_json(json.loads(json.dumps(doc)))
    assert (again, again.to_json()) == (s, doc)


def test_json_amounts_are_strings_with_their_currency() -> None:
    doc = engagement().to_json()
    assert (doc["fee"], doc["recurring"][0]["amount"], doc["milestones"][0]["percent"]) == (
        {"amount": "48000.00", "currency": "USD"}, {"amount": "2450.00", "currency": "USD"},
        "25")


def test_from_json_fills_optional_keys_with_defaults() -> None:
    s = BillingSchedule.from_json({"currency": "JPY", "recurring": [
        {"id": "r", "name": "R", "amount": {"amount": "5000", "currency": "JPY"},
         "interval": {"unit": "week"},
         "start": "2024-01-01"}]})
    assert s.recurring[0] == RecurringCharge(ItemId("r"), "R", Money("5000", "JPY"),
                                             Interval.WEEKLY, start=d("2024-01-01"))


def test_from_json_refuses_a_float_amount_naming_the_field() -> None:
    doc = engagement().to_json()
    doc["recurring"][0]["amount"] = 2450.0
    with pytest.raises(ValidationError) as info:
        BillingSchedule.from_json(doc)
    assert info.value.field == "recurring[0].amount"


def test_from_json_refuses_a_float_percent_naming_the_field() -> None:
    doc = engagement().to_json()
    doc["milestones"][1]["percent"] = 35.0
    with pytest.raises(ValidationError, match=r"'milestones\[1\].percent'"):
        BillingSchedule.from_json(doc)


def test_from_json_refuses_a_float_escalation_step() -> None:
    doc = engagement().to_json()
    doc["recurring"][0]["escalations"][0]["step"] = 1.0
    with pytest.raises(ValidationError, match=r"'recurring\[0\].escalations\[0\].step'"):
        BillingSchedule.from_json(doc)


def test_from_json_refuses_unknown_keys() -> None:
    doc = engagement().to_json()
    doc["milestones"][0]["colour"] = "red"
    with pytest.raises(ValidationError, match=r"'milestones\[0\].colour'"):
        BillingSchedule.from_json(doc)


def test_from_json_names_the_field_of_a_domain_error() -> None:
    doc = engagement().to_json()
    doc["recurring"][0]["anchor_day"] = 32
    with pytest.raises(ValidationError, match=r"'recurring\[0\].anchor_day'"):
        BillingSchedule.from_json(doc)


def test_from_json_refuses_an_amount_finer_than_the_minor_unit() -> None:
    doc = engagement().to_json()
    doc["fee"] = "48000.001"
    with pytest.raises(ValidationError, match="'fee'"):
        BillingSchedule.from_json(doc)


def test_from_json_refuses_an_unknown_enum_value() -> None:
    doc = engagement().to_json()
    doc["recurring"][0]["timing"] = "sometimes"
    with pytest.raises(ValidationError, match=r"'recurring\[0\].timing'"):
        BillingSchedule.from_json(doc)


def test_charge_to_json_is_plain_json() -> None:
    s = engagement()
    c = s.charges_between(d("2025-01-17"), d("2025-01-18"))[0]
    doc = json.loads(json.dumps(c.to_json()))
    assert (doc["amount"], doc["proration"]["fraction"], doc["period"]) == (
        {"amount": "1106.45", "currency": "USD"}, "14/31",
        {"start": "2025-01-17", "end": "2025-01-31"})

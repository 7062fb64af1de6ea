"""The bulk paths give exactly the per-row calculators' answers and errors."""

from __future__ import annotations

import calendar
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import pytest

from milestonebill import bulk, periods
from milestonebill.errors import ValidationError
from milestonebill.money import Money, Rounding, allocate
from milestonebill.periods import Period, add_months
from milestonebill.recognition import Convention, recognise_straight_line
from milestonebill.schedule import Escalation, Interval, IntervalUnit, ItemId, RecurringCharge


def _rows(seed: int, n: int) -> tuple[list[int], list[int], list[int]]:
    rng = random.Random(seed)
    whole = [rng.randint(1, 400) for _ in range(n)]
    used = [rng.randint(0, w) for w in whole]
    amounts = [rng.randint(-10**18, 10**18) if i % 3 else rng.randint(-50, 50) for i in range(n)]
    return amounts, used, whole


@pytest.mark.parametrize("rounding", list(Rounding))
def test_prorate_many_equals_the_per_row_calculator(rounding: Rounding) -> None:
    amounts, used, whole = _rows(7, 3000)
    expected = [periods.prorate_minor(a, u, w, rounding)
                for a, u, w in zip(amounts, used, whole, strict=True)]
    assert bulk.prorate_many(amounts, used, whole, rounding=rounding) == expected


@pytest.mark.parametrize("rounding", list(Rounding))
def test_prorate_many_rounds_exact_ties_like_round_ratio(rounding: Rounding) -> None:
    # Every row is an exact half: amount odd, used/whole = 1/2.
    amounts = [-7, -5, -3, -1, 1, 3, 5, 7]
    expected = [periods.prorate_minor(a, 1, 2, rounding) for a in amounts]
    assert bulk.prorate_many(amounts, [1] * 8, [2] * 8, rounding=rounding) == expected


def test_prorate_many_refuses_used_days_beyond_the_period() -> None:
    with pytest.raises(ValidationError, match="used_days\\[1\\]"):
        bulk.prorate_many([100, 100], [3, 32], [31, 31], rounding=Rounding.HALF_UP)


def test_prorate_many_refuses_mismatched_lengths() -> None:
    with pytest.raises(ValidationError, match="used_days"):
        bulk.prorate_many([100, 100], [3], [31, 31], rounding=Rounding.HALF_UP)


def test_prorate_many_refuses_float_amounts() -> None:
    amounts: list[int] = [100, 1.5]  # type: ignore[list-item]
    with pytest.raises(TypeError, match="amounts\\[1\\]"):
        bulk.prorate_many(amounts, [3, 3], [31, 31], rounding=Rounding.HALF_UP)


@pytest.mark.parametrize("rounding", list(Rounding))
def test_prorate_many_names_a_float_row_under_every_rounding(rounding: Rounding) -> None:
    used: list[int] = [3, 1.0]  # type: ignore[list-item]
    with pytest.raises(TypeError, match="used_days\\[1\\]"):
        bulk.prorate_many([100, 101], used, [31, 31], rounding=rounding)


def test_prorate_many_is_the_periods_implementation() -> None:
    assert bulk.prorate_many is periods.prorate_many


def test_prorate_many_of_nothing_is_empty() -> None:
    assert bulk.prorate_many([], [], [], rounding=Rounding.HALF_UP) == []


@pytest.mark.parametrize("weights", [[1] * 12, [3, 1, 4, 1, 5, 9, 2, 6], [0, 1, 1]])
def test_allocate_each_equals_allocate(weights: list[int]) -> None:
    rng = random.Random(11)
    totals = [Money.from_minor(rng.randint(-10**9, 10**9), "USD") for _ in range(500)]
    totals += [Money.from_minor(x, "JPY") for x in (0, 1, 11, 12, 13, -13)]
    assert bulk.allocate_each(totals, weights) == [allocate(t, weights) for t in totals]


def test_allocate_each_refuses_a_non_money_total() -> None:
    with pytest.raises(TypeError, match="totals\\[0\\]"):
        bulk.allocate_each([100], [1, 1])  # type: ignore[list-item]


def test_allocate_each_checks_weights_even_without_totals() -> None:
    with pytest.raises(ValidationError, match="weights"):
        bulk.allocate_each([], [0, 0])


# ---------------------------------------------------------------- straight line


def _contracts(seed: int, n: int) -> tuple[list[int], list[date], list[date]]:
    rng = random.Random(seed)
    amounts, starts, ends = [], [], []
    for i in range(n):
        start = date(2023, 1, 1) + timedelta(days=rng.randrange(1200))
        months = rng.choice([1, 3, 12, 36])
        amounts.append(rng.randint(-10**7, 10**9) if i % 5 else rng.randint(0, 40))
        starts.append(start)
        ends.append(add_months(start, months) if i % 4 else start + timedelta(rng.randint(1, 400)))
    return amounts, starts, ends


@pytest.mark.parametrize("rounding", [Rounding.HALF_UP, Rounding.HALF_EVEN, Rounding.FLOOR])
def test_straight_line_many_equals_the_daily_recognition_schedule(rounding: Rounding) -> None:
    amounts, starts, ends = _contracts(3, 150)
    got = bulk.straight_line_many(amounts, starts, ends, rounding=rounding)
    for a, s, e, row in zip(amounts, starts, ends, got, strict=True):
        schedule = recognise_straight_line(Money.from_minor(a, "USD"), Period(s, e),
                                           convention=Convention.DAILY, rounding=rounding)
        assert row == [m.minor for m in schedule.amounts()]


def test_straight_line_many_rows_sum_to_their_amounts() -> None:
    amounts, starts, ends = _contracts(4, 500)
    rows = bulk.straight_line_many(amounts, starts, ends)
    assert [sum(r) for r in rows] == amounts


def test_straight_line_many_refuses_an_empty_service_period() -> None:
    with pytest.raises(ValidationError, match="ends\\[1\\]"):
        bulk.straight_line_many([1, 2], [date(2024, 1, 1)] * 2,
                                [date(2024, 2, 1), date(2024, 1, 1)])


def test_straight_line_many_refuses_datetimes() -> None:
    with pytest.raises(ValidationError, match="starts\\[0\\]"):
        bulk.straight_line_many([1], [datetime(2024, 1, 1, tzinfo=UTC)], [date(2024, 2, 1)])


# ---------------------------------------------------------------- recurring invoices


@pytest.mark.parametrize(
    ("every", "percent", "step", "rounding"),
    [(1, Decimal(3), 1, Rounding.HALF_UP), (3, Decimal("2.5"), 100, Rounding.HALF_UP),
     (1, Decimal(0), 1, Rounding.HALF_UP), (12, Decimal(-4), 5, Rounding.HALF_UP),
     (1, Decimal("3.5"), 1, Rounding.HALF_EVEN), (2, Decimal(7), 10, Rounding.FLOOR)],
)
def test_monthly_invoices_many_equals_the_recurring_charge(
    every: int, percent: Decimal, step: int, rounding: Rounding
) -> None:
    rng = random.Random(every)
    starts, anchors, amounts = [], [], []
    for _ in range(60):
        year, month = rng.randint(2023, 2026), rng.randint(1, 12)
        anchor = rng.choice([1, 15, 28, 29, 30, 31])
        starts.append(date(year, month, min(anchor, calendar.monthrange(year, month)[1])))
        anchors.append(anchor)
        amounts.append(rng.randint(-10**8 if rounding is not Rounding.HALF_UP else 0, 10**8))
    dates, rows = bulk.monthly_invoices_many(starts, amounts, count=30, every_months=every,
                                             anchor_days=anchors, yearly_percent=percent,
                                             step_minor=step, rounding=rounding)
    for s, a, p, got_dates, got_amounts in zip(starts, anchors, amounts, dates, rows, strict=True):
        # cast: mypy types the converter=tuple field of RecurringCharge as Iterable[_T_co]
        escalations = cast("Any", (Escalation(percent=percent, step=Decimal(step) / 100,
                                              rounding=rounding),))
        charge = RecurringCharge(ItemId("r"), "retainer", Money.from_minor(p, "USD"),
                                 Interval.every(every, IntervalUnit.MONTH), start=s,
                                 anchor_day=a, count=30, escalations=escalations)
        expected = [(c.on, c.amount.minor) for c in charge.charges()]
        assert list(zip(got_dates, got_amounts, strict=True)) == expected


def test_monthly_invoices_many_refuses_a_start_off_its_anchor() -> None:
    with pytest.raises(ValidationError, match="starts\\[0\\]"):
        bulk.monthly_invoices_many([date(2024, 1, 30)], [100], count=2, anchor_days=[31])


def test_monthly_invoices_many_refuses_float_amounts() -> None:
    with pytest.raises(TypeError, match="amounts\\[0\\]"):
        bulk.monthly_invoices_many([date(2024, 1, 30)], [1.5], count=2)  # type: ignore[list-item]


def test_straight_line_many_reaches_the_end_of_the_calendar() -> None:
    # 16 of 46 days fall in November 9999: 100 x 16/46 = 34.78 -> 35.
    got = bulk.straight_line_many([100, 7], [date(9999, 11, 15), date(2024, 2, 3)],
                                  [date(9999, 12, 31), date(2024, 2, 20)])
    assert got == [[35, 65], [7]]

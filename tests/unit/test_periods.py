"""Unit tests for milestonebill.periods with published reference numbers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest

from milestonebill.errors import ValidationError
from milestonebill.money import Money, Rounding
from milestonebill.periods import (
    DayCount,
    Period,
    Proration,
    add_months,
    day_fraction,
    days_in_month,
    prorate,
    prorate_many,
    prorate_minor,
    prorate_partition,
    prorate_pieces,
)


def d(text: str) -> date:
    return date.fromisoformat(text)


def nine_places(f: Fraction) -> Decimal:
    return (Decimal(f.numerator) / Decimal(f.denominator)).quantize(
        Decimal("0.000000001"), rounding=ROUND_HALF_UP
    )


# ------------------------------------------------------------------ Period


def test_period_days_counts_start_but_not_end() -> None:
    assert Period.of("2024-01-01", "2024-02-01").days == 31


def test_period_of_accepts_dates_and_iso_strings_alike() -> None:
    assert Period.of(d("2024-01-01"), "2024-01-10") == Period(d("2024-01-01"), d("2024-01-10"))


@pytest.mark.parametrize(("start", "end"), [("2024-01-02", "2024-01-01"), ("2024-01-01", "2024-01-01")])
def test_period_refuses_empty_or_reversed_ranges(start: str, end: str) -> None:
    with pytest.raises(ValidationError) as info:
        Period.of(start, end)
    assert info.value.field == "end"


def test_period_refuses_datetimes() -> None:
    with pytest.raises(ValidationError) as info:
        Period(datetime(2024, 1, 1, tzinfo=UTC), d("2024-02-01"))
    assert info.value.field == "start"


def test_period_refuses_bad_iso_string() -> None:
    with pytest.raises(ValidationError, match="'end' must be an ISO date"):
        Period.of("2024-01-01", "2024-13-01")


def test_period_contains_is_half_open() -> None:
    p = Period.of("2024-01-10", "2024-01-20")
    assert [x in p for x in (d("2024-01-09"), d("2024-01-10"), d("2024-01-19"), d("2024-01-20"))] == [
        False, True, True, False,
    ]


def test_period_does_not_contain_non_dates() -> None:
    assert "2024-01-10" not in Period.of("2024-01-01", "2024-02-01")


def test_overlap_of_touching_periods_is_none() -> None:
    assert Period.month(2024, 1).overlap(Period.month(2024, 2)) is None


def test_overlap_is_the_common_part() -> None:
    a = Period.of("2024-01-10", "2024-03-05")
    assert a.overlap(Period.month(2024, 2)) == Period.month(2024, 2)
    assert a.overlap(Period.of("2024-03-01", "2024-04-01")) == Period.of("2024-03-01", "2024-03-05")


def test_split_at_gives_two_adjacent_periods() -> None:
    left, right = Period.month(2024, 2).split_at(d("2024-02-10"))
    assert (left.days, right.days, left.end == right.start) == (9, 20, True)


@pytest.mark.parametrize("cut", ["2024-02-01", "2024-03-01", "2024-01-15"])
def test_split_at_refuses_boundaries_and_outside_dates(cut: str) -> None:
    with pytest.raises(ValidationError):
        Period.month(2024, 2).split_at(d(cut))


def test_months_pieces_cover_the_period_first_and_last_partial() -> None:
    pieces = list(Period.of("2023-12-15", "2024-03-10").months())
    assert pieces == [
        Period.of("2023-12-15", "2024-01-01"),
        Period.month(2024, 1),
        Period.month(2024, 2),
        Period.of("2024-03-01", "2024-03-10"),
    ]


def test_months_of_a_period_inside_one_month_is_itself() -> None:
    p = Period.of("2024-02-03", "2024-02-09")
    assert list(p.months()) == [p]


def test_month_and_year_constructors_know_leap_years() -> None:
    assert (Period.month(2024, 2).days, Period.month(2023, 2).days) == (29, 28)
    assert (Period.year(2024).days, Period.year(2023).days) == (366, 365)


def test_month_constructor_refuses_month_13() -> None:
    with pytest.raises(ValidationError, match="'month'"):
        Period.month(2024, 13)


def test_periods_order_by_start_then_end() -> None:
    ps = [Period.of("2024-02-01", "2024-03-01"), Period.of("2024-01-01", "2024-03-01"),
          Period.of("2024-01-01", "2024-02-01")]
    assert sorted(ps) == [ps[2], ps[1], ps[0]]


def test_repr_round_trips_through_eval() -> None:
    p = Period.of("2024-01-31", "2024-02-29")
    assert eval(repr(p), {"Period": Period}) == p


# ------------------------------------------------------------------ add_months


def test_anchor_31_jan_2024_clamps_to_29_feb_and_returns_to_31_mar() -> None:
    anchor = d("2024-01-31")
    assert [add_months(anchor, n) for n in range(4)] == [
        d("2024-01-31"), d("2024-02-29"), d("2024-03-31"), d("2024-04-30"),
    ]


def test_anchor_31_jan_2023_clamps_to_28_feb() -> None:
    assert add_months(d("2023-01-31"), 1) == d("2023-02-28")


def test_add_months_never_accumulates_clamping() -> None:
    # Adding one month twice from 31 Jan drifts to 29 Mar; anchor-based stays on the 31st.
    twice = add_months(add_months(d("2024-01-31"), 1), 1)
    assert (twice, add_months(d("2024-01-31"), 2)) == (d("2024-03-29"), d("2024-03-31"))


def test_add_months_day_overrides_anchor_day() -> None:
    assert add_months(d("2024-02-29"), 1, day=31) == d("2024-03-31")


def test_add_months_handles_year_boundaries_and_negative_offsets() -> None:
    assert add_months(d("2024-11-30"), 3) == d("2025-02-28")
    assert add_months(d("2024-03-31"), -13) == d("2023-02-28")


@pytest.mark.parametrize("day", [0, 32, -1])
def test_add_months_refuses_impossible_day(day: int) -> None:
    with pytest.raises(ValidationError, match="'day'"):
        add_months(d("2024-01-01"), 1, day=day)


def test_add_months_refuses_leaving_the_calendar() -> None:
    with pytest.raises(ValidationError, match="'n'"):
        add_months(d("9999-12-01"), 1)


def test_days_in_month_of_february() -> None:
    assert [days_in_month(y, 2) for y in (1900, 2000, 2023, 2024)] == [28, 29, 28, 29]


# ------------------------------------------------------------------ day counts

JAN_2024 = Period.month(2024, 1)
FROM_9_JAN = Period.of("2024-01-09", "2024-02-01")


def test_kill_bill_factor_23_over_31_to_nine_places() -> None:
    f = day_fraction(FROM_9_JAN, JAN_2024, basis=DayCount.ACTUAL_OVER_PERIOD)
    assert (f, nine_places(f)) == (Fraction(23, 31), Decimal("0.741935484"))


@pytest.mark.parametrize(
    ("used", "whole", "expected"),
    [
        # Kill Bill style: days left in the billing period over its length.
        (("2024-02-10", "2024-03-01"), ("2024-02-01", "2024-03-01"), "0.689655172"),  # 20/29
        (("2023-02-10", "2023-03-01"), ("2023-02-01", "2023-03-01"), "0.678571429"),  # 19/28
        (("2024-04-16", "2024-05-01"), ("2024-04-01", "2024-05-01"), "0.500000000"),  # 15/30
        (("2024-01-01", "2024-01-02"), ("2024-01-01", "2024-02-01"), "0.032258065"),  # 1/31
    ],
)
def test_actual_over_period_reference_factors(
    used: tuple[str, str], whole: tuple[str, str], expected: str
) -> None:
    f = day_fraction(Period.of(*used), Period.of(*whole), basis=DayCount.ACTUAL_OVER_PERIOD)
    assert nine_places(f) == Decimal(expected)


def test_actual_365_fixed_prices_a_day_at_twelve_over_365_of_a_month() -> None:
    f = day_fraction(FROM_9_JAN, JAN_2024, basis=DayCount.ACTUAL_365_FIXED)
    assert f == Fraction(23 * 12, 365)


def test_actual_365_fixed_makes_a_leap_year_worth_366_over_365() -> None:
    year = Period.year(2024)
    assert day_fraction(year, year, basis=DayCount.ACTUAL_365_FIXED) == Fraction(366, 365)


def test_thirty_360_eu_counts_every_31st_as_30th() -> None:
    used = Period.of("2024-01-31", "2024-03-31")
    whole = Period.of("2024-01-31", "2024-07-31")
    # 30E/360: 31 Jan -> 30 Jan, 31 Mar -> 30 Mar: 60 days; whole: 180 days.
    assert day_fraction(used, whole, basis=DayCount.THIRTY_360_EU) == Fraction(60, 180)


def test_thirty_360_us_end_of_february_counts_as_30th() -> None:
    # SIA rule: a start on the last day of February counts as the 30th.
    used = Period.of("2023-02-28", "2023-03-31")
    whole = Period.of("2023-02-28", "2023-08-31")
    # US: D1 = 30 (end of Feb), D2 = 31 -> 30 since D1 >= 30: 30 days; whole 180 days.
    assert day_fraction(used, whole, basis=DayCount.THIRTY_360_US) == Fraction(30, 180)


def test_thirty_360_us_and_eu_differ_when_only_the_end_is_a_31st() -> None:
    used = Period.of("2024-01-15", "2024-03-31")
    whole = Period.of("2024-01-15", "2024-07-15")
    us = day_fraction(used, whole, basis=DayCount.THIRTY_360_US)
    eu = day_fraction(used, whole, basis=DayCount.THIRTY_360_EU)
    assert (us, eu) == (Fraction(76, 180), Fraction(75, 180))


def test_months_and_days_counts_whole_months_then_days_over_the_next_month() -> None:
    used = Period.of("2024-01-15", "2024-03-20")  # 2 months to 15 Mar, then 5 of 31 days
    whole = Period.of("2024-01-15", "2025-01-15")  # 12 months
    assert day_fraction(used, whole, basis=DayCount.MONTHS_AND_DAYS) == (2 + Fraction(5, 31)) / 12


def test_every_basis_gives_one_for_the_whole_monthly_period_except_act_365() -> None:
    feb = Period.month(2024, 2)
    fracs = {b: day_fraction(feb, feb, basis=b) for b in DayCount}
    assert fracs == {
        DayCount.ACTUAL_OVER_PERIOD: 1,
        DayCount.ACTUAL_365_FIXED: Fraction(29 * 12, 365),
        DayCount.THIRTY_360_US: 1,
        DayCount.THIRTY_360_EU: 1,
        DayCount.MONTHS_AND_DAYS: 1,
    }


def test_day_fraction_refuses_used_outside_whole() -> None:
    with pytest.raises(ValidationError) as info:
        day_fraction(Period.of("2023-12-20", "2024-01-10"), JAN_2024,
                     basis=DayCount.ACTUAL_OVER_PERIOD)
    assert info.value.field == "used"


def test_day_fraction_refuses_a_whole_of_zero_length_on_30_360() -> None:
    whole = Period.of("2024-01-30", "2024-01-31")  # 30E/360 counts 30 -> 30: zero days
    with pytest.raises(ValidationError, match="'whole'"):
        day_fraction(whole, whole, basis=DayCount.THIRTY_360_EU)


# ------------------------------------------------------------------ prorate


def test_prorate_kill_bill_case_records_its_convention() -> None:
    p = prorate(Money("100.00", "USD"), FROM_9_JAN, JAN_2024,
                basis=DayCount.ACTUAL_OVER_PERIOD, rounding=Rounding.HALF_UP)
    assert p == Proration(Money("74.19", "USD"), Fraction(23, 31), DayCount.ACTUAL_OVER_PERIOD,
                          Rounding.HALF_UP, FROM_9_JAN, JAN_2024)


def test_prorate_jpy_rounds_to_whole_yen() -> None:
    p = prorate(Money("50000", "JPY"), FROM_9_JAN, JAN_2024,
                basis=DayCount.ACTUAL_OVER_PERIOD, rounding=Rounding.HALF_UP)
    assert p.amount == Money("37097", "JPY")  # 50000 * 23 / 31 = 37096.77


def test_prorate_kwd_keeps_three_decimals() -> None:
    p = prorate(Money("100.000", "KWD"), FROM_9_JAN, JAN_2024,
                basis=DayCount.ACTUAL_OVER_PERIOD, rounding=Rounding.HALF_UP)
    assert p.amount == Money("74.194", "KWD")  # 74.1935...


def test_prorate_rounding_direction_is_respected() -> None:
    amounts = [
        prorate(Money("100.00", "USD"), FROM_9_JAN, JAN_2024, basis=DayCount.ACTUAL_OVER_PERIOD,
                rounding=r).amount.amount
        for r in (Rounding.FLOOR, Rounding.CEILING)
    ]
    assert amounts == [Decimal("74.19"), Decimal("74.20")]


def test_prorate_a_refund_is_symmetric() -> None:
    p = prorate(Money("-100.00", "USD"), FROM_9_JAN, JAN_2024,
                basis=DayCount.ACTUAL_OVER_PERIOD, rounding=Rounding.HALF_UP)
    assert p.amount == Money("-74.19", "USD")


def test_prorate_refuses_a_non_money_amount() -> None:
    with pytest.raises(ValidationError, match="'amount'"):
        prorate(Decimal("100"), FROM_9_JAN, JAN_2024,  # type: ignore[arg-type]
                basis=DayCount.ACTUAL_OVER_PERIOD, rounding=Rounding.HALF_UP)


def test_prorate_refuses_a_non_daycount_basis() -> None:
    with pytest.raises(ValidationError, match="'basis'"):
        prorate(Money("1.00", "USD"), FROM_9_JAN, JAN_2024,
                basis="actual", rounding=Rounding.HALF_UP)  # type: ignore[arg-type]


# ------------------------------------------------------------------ partitions


def test_partition_thirds_of_100_sum_exactly_with_cumulative_rounding() -> None:
    parts = prorate_partition(Money("100.00", "USD"), Period.of("2024-01-01", "2024-01-04"),
                              [d("2024-01-02"), d("2024-01-03")],
                              basis=DayCount.ACTUAL_OVER_PERIOD, rounding=Rounding.HALF_UP)
    # cumulative targets 33.33, 66.67, 100.00
    assert [p.amount.amount for p in parts] == [Decimal("33.33"), Decimal("33.34"),
                                                Decimal("33.33")]


def test_partition_by_months_covers_the_whole_period() -> None:
    whole = Period.of("2024-01-15", "2024-04-15")
    cuts = [p.start for p in whole.months()][1:]
    parts = prorate_partition(Money("1000.00", "USD"), whole, cuts,
                              basis=DayCount.ACTUAL_OVER_PERIOD, rounding=Rounding.HALF_EVEN)
    assert [(p.used.days, str(p.amount.amount)) for p in parts] == [
        (17, "186.81"), (29, "318.68"), (31, "340.66"), (14, "153.85"),
    ]
    assert sum(p.amount.minor for p in parts) == 100000


def test_partition_without_cuts_is_the_whole_amount() -> None:
    (only,) = prorate_partition(Money("5", "JPY"), JAN_2024, [],
                                basis=DayCount.THIRTY_360_US, rounding=Rounding.HALF_UP)
    assert (only.amount, only.fraction) == (Money("5", "JPY"), Fraction(1))


def test_partition_normalises_act_365_shares_so_they_sum_to_one() -> None:
    parts = prorate_partition(Money("100.00", "USD"), JAN_2024, [d("2024-01-11")],
                              basis=DayCount.ACTUAL_365_FIXED, rounding=Rounding.HALF_UP)
    assert [p.fraction for p in parts] == [Fraction(10, 31), Fraction(21, 31)]


@pytest.mark.parametrize(
    "cuts",
    [["2024-01-01"], ["2024-02-01"], ["2024-01-20", "2024-01-10"], ["2024-01-10", "2024-01-10"]],
)
def test_partition_refuses_cuts_not_strictly_increasing_inside(cuts: list[str]) -> None:
    with pytest.raises(ValidationError, match="'cuts"):
        prorate_partition(Money("1.00", "USD"), JAN_2024, [d(c) for c in cuts],
                          basis=DayCount.ACTUAL_OVER_PERIOD, rounding=Rounding.HALF_UP)


# ------------------------------------------------------------------ pieces at their own prices


def usd(text: str) -> Money:
    return Money(text, "USD")


def test_pieces_at_two_prices_sum_to_the_day_weighted_price() -> None:
    # 10 days at 100.00, 21 at 800.00: alone they round to 32.26 + 541.94 = 574.20,
    # together to round((10 x 100 + 21 x 800) / 31) = round(574.19...) = 574.19.
    parts = prorate_pieces([(usd("100.00"), Period.of("2024-01-01", "2024-01-11")),
                            (usd("800.00"), Period.of("2024-01-11", "2024-02-01"))],
                           JAN_2024, basis=DayCount.ACTUAL_OVER_PERIOD,
                           rounding=Rounding.HALF_UP)
    assert [str(p.amount) for p in parts] == ["32.26 USD", "541.93 USD"]
    assert [p.fraction for p in parts] == [Fraction(10, 31), Fraction(21, 31)]
    assert [(p.used, p.whole) for p in parts] == [
        (Period.of("2024-01-01", "2024-01-11"), JAN_2024),
        (Period.of("2024-01-11", "2024-02-01"), JAN_2024),
    ]


@pytest.mark.parametrize("basis", list(DayCount))
def test_a_lone_piece_is_charged_what_prorate_charges(basis: DayCount) -> None:
    (only,) = prorate_pieces([(usd("123.45"), FROM_9_JAN)], JAN_2024, basis=basis,
                             rounding=Rounding.HALF_EVEN)
    assert only == prorate(usd("123.45"), FROM_9_JAN, JAN_2024, basis=basis,
                           rounding=Rounding.HALF_EVEN)


def test_a_gap_between_pieces_is_worth_nothing() -> None:
    parts = prorate_pieces([(usd("310.00"), Period.of("2024-01-01", "2024-01-02")),
                            (usd("310.00"), Period.of("2024-01-31", "2024-02-01"))],
                           JAN_2024, basis=DayCount.ACTUAL_OVER_PERIOD,
                           rounding=Rounding.HALF_UP)
    assert [str(p.amount) for p in parts] == ["10.00 USD", "10.00 USD"]


def test_pieces_of_no_parts_are_none() -> None:
    assert prorate_pieces([], JAN_2024, basis=DayCount.ACTUAL_OVER_PERIOD,
                          rounding=Rounding.HALF_UP) == ()


@pytest.mark.parametrize(
    "spans",
    [[("2023-12-31", "2024-01-10")], [("2024-01-20", "2024-02-02")],
     [("2024-01-10", "2024-01-20"), ("2024-01-01", "2024-01-10")],
     [("2024-01-01", "2024-01-11"), ("2024-01-10", "2024-01-20")]],
)
def test_pieces_refuse_parts_outside_out_of_order_or_overlapping(
    spans: list[tuple[str, str]],
) -> None:
    with pytest.raises(ValidationError, match="date order, not overlapping"):
        prorate_pieces([(usd("1.00"), Period.of(a, b)) for a, b in spans], JAN_2024,
                       basis=DayCount.ACTUAL_OVER_PERIOD, rounding=Rounding.HALF_UP)


def test_pieces_refuse_mixed_currencies_and_a_bad_rounding() -> None:
    first, second = Period.of("2024-01-01", "2024-01-10"), Period.of("2024-01-10", "2024-02-01")
    with pytest.raises(ValidationError, match="currency of the first part"):
        prorate_pieces([(usd("1.00"), first), (Money("1", "JPY"), second)], JAN_2024,
                       basis=DayCount.ACTUAL_OVER_PERIOD, rounding=Rounding.HALF_UP)
    with pytest.raises(ValidationError, match="'rounding'"):
        prorate_pieces([(usd("1.00"), first)], JAN_2024, basis=DayCount.ACTUAL_OVER_PERIOD,
                       rounding="half_up")  # type: ignore[arg-type]


# ------------------------------------------------------------------ bulk path


def test_prorate_minor_matches_prorate() -> None:
    p = prorate(Money("123.45", "USD"), FROM_9_JAN, JAN_2024,
                basis=DayCount.ACTUAL_OVER_PERIOD, rounding=Rounding.HALF_EVEN)
    assert prorate_minor(12345, 23, 31, Rounding.HALF_EVEN) == p.amount.minor


def test_prorate_many_equals_row_by_row() -> None:
    amounts, used, whole = [10000, -2999, 7], [23, 10, 1], [31, 30, 2]
    expected = [prorate_minor(a, u, w, Rounding.HALF_UP) for a, u, w in zip(amounts, used, whole, strict=True)]
    assert prorate_many(amounts, used, whole, rounding=Rounding.HALF_UP) == expected == [7419, -1000, 4]


def test_prorate_many_refuses_ragged_inputs() -> None:
    with pytest.raises(ValidationError, match="'used_days'"):
        prorate_many([1, 2], [1], [1, 1], rounding=Rounding.HALF_UP)


@pytest.mark.parametrize(("used", "whole"), [(5, 0), (-1, 3), (4, 3)])
def test_prorate_minor_refuses_impossible_day_counts(used: int, whole: int) -> None:
    with pytest.raises(ValidationError):
        prorate_minor(100, used, whole, Rounding.HALF_UP)


def test_prorate_many_names_the_bad_row() -> None:
    with pytest.raises(ValidationError, match=r"'used_days\[1\]'"):
        prorate_many([1, 2], [1, 9], [1, 3], rounding=Rounding.HALF_UP)


def test_period_constructor_refuses_strings_and_points_to_of() -> None:
    with pytest.raises(ValidationError, match=r"Period\.of"):
        Period("2024-01-01", "2024-02-01")  # type: ignore[arg-type]

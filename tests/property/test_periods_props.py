"""Property tests for milestonebill.periods."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction
from itertools import pairwise

from hypothesis import assume, given
from hypothesis import strategies as st

from milestonebill.errors import ValidationError
from milestonebill.money import Money, Rounding, round_ratio
from milestonebill.periods import (
    DayCount,
    Period,
    add_months,
    day_fraction,
    days_in_month,
    prorate,
    prorate_many,
    prorate_minor,
    prorate_partition,
    prorate_pieces,
)
from milestonebill.testing.strategies import moneys

dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))
roundings = st.sampled_from(list(Rounding))
bases = st.sampled_from(list(DayCount))


@st.composite
def periods(draw: st.DrawFn, max_days: int = 800) -> Period:
    start = draw(dates)
    return Period(start, start + timedelta(days=draw(st.integers(1, max_days))))


@st.composite
def partitions(draw: st.DrawFn) -> tuple[Period, list[date]]:
    whole = draw(periods())
    inner = st.integers(1, whole.days - 1) if whole.days > 1 else st.nothing()
    offsets = sorted(set(draw(st.lists(inner, max_size=12)))) if whole.days > 1 else []
    return whole, [whole.start + timedelta(days=o) for o in offsets]


@given(partitions(), moneys(max_abs=10**12), bases, roundings)
def test_prorations_over_any_partition_sum_to_the_whole(
    part: tuple[Period, list[date]], amount: Money, basis: DayCount, rounding: Rounding
) -> None:
    whole, cuts = part
    try:
        pieces = prorate_partition(amount, whole, cuts, basis=basis, rounding=rounding)
    except ValidationError:
        # only a whole of zero length on a 30/360 basis (e.g. 30th -> 31st) is refused
        assert basis in (DayCount.THIRTY_360_EU, DayCount.THIRTY_360_US)
        return
    assert Money.total(p.amount for p in pieces) == amount
    assert sum(p.fraction for p in pieces) == 1
    assert [p.used for p in pieces] == [
        Period(a, b) for a, b in zip([whole.start, *cuts], [*cuts, whole.end], strict=True)
    ]


@given(partitions(), moneys(max_abs=10**12), bases, roundings)
def test_each_piece_is_within_one_minor_unit_of_its_exact_share(
    part: tuple[Period, list[date]], amount: Money, basis: DayCount, rounding: Rounding
) -> None:
    whole, cuts = part
    try:
        pieces = prorate_partition(amount, whole, cuts, basis=basis, rounding=rounding)
    except ValidationError:
        return
    for p in pieces:
        # cumulative rounding: each piece errs by at most one unit (HALF_EVEN can err +-1/2 at
        # both ends of a piece), and by less than one for one-directional roundings
        assert abs(p.amount.minor - amount.minor * p.fraction) <= 1


@given(partitions(), moneys(max_abs=10**12, allow_negative=False), roundings)
def test_pieces_of_a_positive_amount_are_never_negative(
    part: tuple[Period, list[date]], amount: Money, rounding: Rounding
) -> None:
    whole, cuts = part
    pieces = prorate_partition(amount, whole, cuts, basis=DayCount.ACTUAL_OVER_PERIOD,
                               rounding=rounding)
    assert all(p.amount.minor >= 0 for p in pieces)


@given(partitions(), moneys(max_abs=10**12), roundings)
def test_actual_days_partition_shares_are_days_over_days(
    part: tuple[Period, list[date]], amount: Money, rounding: Rounding
) -> None:
    whole, cuts = part
    pieces = prorate_partition(amount, whole, cuts, basis=DayCount.ACTUAL_OVER_PERIOD,
                               rounding=rounding)
    assert [p.fraction for p in pieces] == [Fraction(p.used.days, whole.days) for p in pieces]


def whole_share(whole: Period, basis: DayCount) -> Fraction:
    """What ``whole`` is worth of itself on ``basis`` (0 when the basis gives it no length)."""
    try:
        return day_fraction(whole, whole, basis=basis)
    except ValidationError:
        return Fraction(0)


@given(partitions(), moneys(max_abs=10**12), roundings,
       st.sampled_from([DayCount.ACTUAL_OVER_PERIOD, DayCount.THIRTY_360_EU]))
def test_pieces_at_one_price_are_the_partition_on_additive_bases(
    part: tuple[Period, list[date]], amount: Money, rounding: Rounding, basis: DayCount
) -> None:
    whole, cuts = part
    assume(whole_share(whole, basis) == 1)
    bounds = [whole.start, *cuts, whole.end]
    pieces = prorate_pieces([(amount, Period(a, b)) for a, b in pairwise(bounds)], whole,
                            basis=basis, rounding=rounding)
    expected = prorate_partition(amount, whole, cuts, basis=basis, rounding=rounding)
    assert [p.amount for p in pieces] == [p.amount for p in expected]


@given(partitions(), st.data(), bases, roundings)
def test_pieces_at_their_own_prices_round_once_and_never_look_ahead(
    part: tuple[Period, list[date]], data: st.DataObject, basis: DayCount, rounding: Rounding
) -> None:
    whole, cuts = part
    assume(whole_share(whole, basis) > 0)
    spans = [Period(a, b) for a, b in pairwise([whole.start, *cuts, whole.end])]
    kept = data.draw(st.lists(st.booleans(), min_size=len(spans), max_size=len(spans)))
    sign = data.draw(st.sampled_from([1, -1]))
    prices = st.integers(0, 10**9).map(lambda m: Money.from_minor(sign * m, "KWD"))
    parts = [(data.draw(prices), s) for s, keep in zip(spans, kept, strict=True) if keep]
    pieces = prorate_pieces(parts, whole, basis=basis, rounding=rounding)
    exact = [price.minor * day_fraction(s, whole, basis=basis) for price, s in parts]
    total = sum(exact, Fraction(0))
    assert sum(p.amount.minor for p in pieces) == round_ratio(
        total.numerator, total.denominator, rounding)
    for p, value in zip(pieces, exact, strict=True):
        # prices of one sign: the running total never changes sign, so each piece errs by
        # at most one unit (a mix of signs under DOWN or UP could err by almost two)
        assert abs(p.amount.minor - value) <= 1
    for n in range(len(parts)):
        assert prorate_pieces(parts[:n], whole, basis=basis, rounding=rounding) == pieces[:n]


@given(periods(), st.data(), moneys(max_abs=10**12), roundings)
def test_prorate_equals_the_bulk_path_on_actual_days(
    whole: Period, data: st.DataObject, amount: Money, rounding: Rounding
) -> None:
    a = data.draw(st.integers(0, whole.days - 1))
    b = data.draw(st.integers(a + 1, whole.days))
    used = Period(whole.start + timedelta(days=a), whole.start + timedelta(days=b))
    p = prorate(amount, used, whole, basis=DayCount.ACTUAL_OVER_PERIOD, rounding=rounding)
    assert p.amount.minor == prorate_minor(amount.minor, used.days, whole.days, rounding)
    assert 0 < p.fraction <= 1


@given(st.lists(st.tuples(st.integers(-10**12, 10**12), st.integers(1, 400)), max_size=50),
       st.data(), roundings)
def test_prorate_many_equals_prorate_minor_row_by_row(
    rows: list[tuple[int, int]], data: st.DataObject, rounding: Rounding
) -> None:
    used = [data.draw(st.integers(0, w)) for _, w in rows]
    amounts = [a for a, _ in rows]
    whole = [w for _, w in rows]
    assert prorate_many(amounts, used, whole, rounding=rounding) == [
        prorate_minor(a, u, w, rounding) for a, u, w in zip(amounts, used, whole, strict=True)
    ]


@given(dates, st.integers(-1200, 1200))
def test_add_months_clamps_to_the_month_end_and_keeps_the_anchor_day(anchor: date, n: int) -> None:
    assume(date(1, 1, 1) < anchor)
    result = add_months(anchor, n)
    assert (result.year * 12 + result.month) - (anchor.year * 12 + anchor.month) == n
    assert result.day == min(anchor.day, days_in_month(result.year, result.month))


@given(dates, st.integers(-600, 600), st.integers(-600, 600))
def test_add_months_is_anchor_based_not_accumulated(anchor: date, m: int, n: int) -> None:
    assert add_months(add_months(anchor, m), n, day=anchor.day) == add_months(anchor, m + n)


@given(dates, st.integers(1, 31), st.integers(0, 240))
def test_anchored_month_dates_strictly_increase(anchor: date, day: int, n: int) -> None:
    assert add_months(anchor, n, day=day) < add_months(anchor, n + 1, day=day)


@given(periods(max_days=2000))
def test_month_pieces_tile_the_period(p: Period) -> None:
    pieces = list(p.months())
    assert pieces[0].start == p.start
    assert pieces[-1].end == p.end
    assert all(a.end == b.start for a, b in pairwise(pieces))
    assert sum(x.days for x in pieces) == p.days
    assert all(x.start.day == 1 for x in pieces[1:])


@given(periods(), periods())
def test_overlap_is_symmetric_and_inside_both(a: Period, b: Period) -> None:
    o = a.overlap(b)
    assert o == b.overlap(a)
    if o is not None:
        assert a.contains_period(o)
        assert b.contains_period(o)
    else:
        assert a.end <= b.start or b.end <= a.start


@given(periods(), bases)
def test_a_period_is_all_of_itself_on_ratio_bases(p: Period, basis: DayCount) -> None:
    assume(basis is not DayCount.ACTUAL_365_FIXED)
    try:
        assert day_fraction(p, p, basis=basis) == 1
    except ValidationError:
        assert basis in (DayCount.THIRTY_360_EU, DayCount.THIRTY_360_US)

"""The integer fast paths give exactly what the plain Fraction-based definitions give.

Each test writes the calculation the straightforward way (Fraction day
counts, bucket-by-bucket periods, replaying every escalation from the
start) and compares it field by field with the library's answer.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from milestonebill.money import Currency, Money, Rounding, round_ratio
from milestonebill.periods import DayCount, Period, day_fraction, prorate
from milestonebill.recognition import Granularity, bucket, recognise_straight_line
from milestonebill.schedule import (
    Escalation,
    Interval,
    IntervalUnit,
    ItemId,
    RecurringCharge,
    Timing,
)
from milestonebill.testing.strategies import currencies

dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))
roundings = st.sampled_from(list(Rounding))


@st.composite
def nested_periods(draw: st.DrawFn) -> tuple[Period, Period]:
    start = draw(dates)
    whole = Period(start, start + timedelta(days=draw(st.integers(1, 800))))
    a = draw(st.integers(0, whole.days - 1))
    b = draw(st.integers(a + 1, whole.days))
    return Period(start + timedelta(days=a), start + timedelta(days=b)), whole


def reference_fraction(used: Period, whole: Period) -> Fraction:
    """ACTUAL_OVER_PERIOD as first written: Fraction days over Fraction days."""
    return max(Fraction(used.days), Fraction(0)) / Fraction(whole.days)


@given(nested_periods())
def test_actual_over_period_fraction_equals_the_fraction_definition(
    pair: tuple[Period, Period],
) -> None:
    used, whole = pair
    got = day_fraction(used, whole, basis=DayCount.ACTUAL_OVER_PERIOD)
    want = reference_fraction(used, whole)
    assert type(got) is Fraction
    assert (got.numerator, got.denominator) == (want.numerator, want.denominator)


@given(currencies(), st.integers(-10**15, 10**15), nested_periods(), roundings)
def test_actual_over_period_prorate_equals_scaling_by_the_fraction(
    cur: Currency, minor: int, pair: tuple[Period, Period], rounding: Rounding
) -> None:
    used, whole = pair
    amount = Money.from_minor(minor, cur)
    p = prorate(amount, used, whole, basis=DayCount.ACTUAL_OVER_PERIOD, rounding=rounding)
    f = reference_fraction(used, whole)
    assert p.amount == amount.scale(f, rounding=rounding)
    assert p.fraction == f
    assert (p.basis, p.rounding, p.used, p.whole) == (
        DayCount.ACTUAL_OVER_PERIOD, rounding, used, whole)


def reference_daily(amount: Money, service: Period, g: Granularity, rounding: Rounding,
                    step: int) -> list[tuple[Period, date, Money, Money, Fraction]]:
    """DAILY straight line, bucket by bucket with Fraction progress."""
    out: list[tuple[Period, date, Money, Money, Fraction]] = []
    cur, done = service.start, 0
    while cur < service.end:
        piece = Period(cur, min(bucket(cur, g).end, service.end))
        progress = day_fraction(Period(service.start, piece.end), service,
                                basis=DayCount.ACTUAL_OVER_PERIOD)
        exact = amount.minor * progress
        cum = amount.minor if progress == 1 else round_ratio(
            exact.numerator, exact.denominator * step, rounding) * step
        out.append((piece, piece.last_day, Money.from_minor(cum - done, amount.currency),
                    Money.from_minor(cum, amount.currency), progress))
        done, cur = cum, piece.end
    return out


@given(currencies(), st.integers(-10**12, 10**12), dates, st.integers(1, 1200),
       st.tuples(st.sampled_from(list(Granularity)), roundings, st.sampled_from([None, 1, 5])))
def test_daily_straight_line_equals_the_bucket_by_bucket_definition(
    cur: Currency, minor: int, start: date, days: int,
    policy: tuple[Granularity, Rounding, int | None],
) -> None:
    g, rounding, whole_units = policy
    service = Period(start, start + timedelta(days=days))
    amount = Money.from_minor(minor, cur)
    quantum = None if whole_units is None else Decimal(whole_units)
    step = 1 if whole_units is None else whole_units * 10**cur.exponent
    s = recognise_straight_line(amount, service, granularity=g, rounding=rounding,
                                quantum=quantum)
    got = [(ln.period, ln.on, ln.amount, ln.cumulative, ln.progress) for ln in s.lines]
    assert got == reference_daily(amount, service, g, rounding, step)
    assert all(ln.catch_up is None for ln in s.lines)


def test_daily_straight_line_reaches_the_end_of_the_calendar() -> None:
    service = Period(date(9999, 11, 15), date(9999, 12, 31))
    s = recognise_straight_line(Money("46.00", "USD"), service)
    assert [(str(ln.period), ln.amount.minor) for ln in s.lines] == [
        ("[9999-11-15, 9999-12-01)", 1600), ("[9999-12-01, 9999-12-31)", 3000)]


@st.composite
def escalating_charges(draw: st.DrawFn) -> RecurringCharge:
    cur = draw(currencies())
    start = draw(st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31)))
    escs: list[Escalation] = []
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            kind: dict[str, object] = {
                "percent": draw(st.decimals(min_value=-20, max_value=50, places=2))}
        else:
            kind = {"fixed": Money.from_minor(draw(st.integers(-10**5, 10**6)), cur)}
        if draw(st.booleans()):
            offsets = draw(st.lists(st.integers(1, 2500), min_size=1, max_size=4, unique=True))
            kind["dates"] = tuple(sorted(start + timedelta(days=o) for o in offsets))
        escs.append(Escalation(compounding=draw(st.booleans()), rounding=draw(roundings),
                               step=draw(st.sampled_from([None, Decimal(1)])),
                               **kind))  # type: ignore[arg-type]
    interval = Interval(draw(st.sampled_from(list(IntervalUnit))), draw(st.integers(1, 4)))
    anchor = None if interval.unit is IntervalUnit.WEEK else draw(
        st.none() | st.integers(1, 31))
    end = draw(st.none() | st.integers(1, 3000).map(lambda n: start + timedelta(days=n)))
    # At most 15 years of anniversaries: three +50 % escalations compounded on
    # each of them (1.5^45) keep 10^9 minor units inside the amount bound
    # (beyond it, a typed error: tests/unit/test_limits.py).
    months = {IntervalUnit.YEAR: 12, IntervalUnit.MONTH: 1}.get(interval.unit)
    most = 60 if months is None else min(60, 180 // (months * interval.count))
    return RecurringCharge(
        ItemId("r"), "R", Money.from_minor(draw(st.integers(0, 10**9)), cur), interval,
        start=start, anchor_day=anchor, end=end, count=draw(st.integers(1, most)),
        timing=draw(st.sampled_from(list(Timing))),
        first_period_proration=DayCount.ACTUAL_OVER_PERIOD,
        final_period_proration=draw(st.none() | st.sampled_from(list(DayCount))),
        escalations=escs,
    )


@settings(deadline=None)
@given(escalating_charges())
def test_charges_carry_the_price_that_escalation_history_replays(rc: RecurringCharge) -> None:
    charges = list(rc.charges())
    assert [c.period for c in charges] == list(rc.periods())
    for c in charges:
        assert c.period is not None
        price, applied = rc.escalation_history(c.period.start)
        assert (c.price, c.escalations) == (price, applied)
        amount = price if c.proration is None else prorate(
            price, c.period, c.proration.whole, basis=c.proration.basis,
            rounding=rc.proration_rounding).amount
        assert c.amount == amount
        for line in applied:
            assert line in c.provenance

"""The object paths' trusted constructors build the values the validating ones build.

Issue #17 gave ``prorate``, ``recognise_straight_line`` and
``RecurringCharge.charges()`` constructors that skip re-validation of fields
already checked.  These properties hold them to the slow paths: a value
built unchecked equals (``==``, ``hash``, ``repr``) the one ``__init__``
builds from the same fields, and every ``Charge`` of a random schedule --
month ends, 29 February, anchor days, stubs, cut last periods, escalations
-- equals one built field by field the straightforward way (anchor dates
through ``add_months``, prices replayed by ``escalation_history``, the
provenance text written out, the ``Charge`` through its own ``__init__``).
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from milestonebill._trusted import constructor, fraction
from milestonebill.limits import LATEST_DATE
from milestonebill.money import Currency, Money, Rounding
from milestonebill.periods import DayCount, Period, Proration, add_months, days_in_month, prorate
from milestonebill.recognition import RecognitionLine
from milestonebill.schedule import (
    Charge,
    ChargeKind,
    Escalation,
    Interval,
    IntervalUnit,
    ItemId,
    PaymentTerms,
    RecurringCharge,
    Timing,
)
from milestonebill.testing.strategies import currencies

dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))
#: Month ends and 29 February turn up far more often than a uniform draw gives.
month_ends = st.builds(
    lambda y, m: date(y, m, days_in_month(y, m)), st.integers(1990, 2090), st.integers(1, 12))
leap_days = st.sampled_from([date(y, 2, 29) for y in range(1992, 2090, 4)])
starts = dates | month_ends | leap_days


def same(a: object, b: object) -> bool:
    return type(a) is type(b) and a == b and hash(a) == hash(b) and repr(a) == repr(b)


@given(currencies(), st.integers(-10**17 + 1, 10**17 - 1))
def test_an_unchecked_money_is_the_money_from_minor_builds(cur: Currency, minor: int) -> None:
    assert same(constructor(Money)(minor, cur), Money.from_minor(minor, cur))


@given(dates, st.integers(1, 5000))
def test_an_unchecked_period_is_the_period_init_builds(start: date, days: int) -> None:
    end = start + timedelta(days=days)
    assert same(constructor(Period)(start, end), Period(start, end))
    assert same(Period(start, end), Period.of(start.isoformat(), end.isoformat()))


@given(st.integers(-10**20, 10**20), st.integers(1, 10**20))
def test_a_trusted_fraction_is_the_fraction_its_constructor_builds(n: int, d: int) -> None:
    got, want = fraction(n, d), Fraction(n, d)
    assert same(got, want)
    assert (got.numerator, got.denominator) == (want.numerator, want.denominator)


@given(currencies(), st.integers(-10**12, 10**12), dates,
       st.tuples(st.integers(1, 400), st.integers(0, 399)), st.sampled_from(list(Rounding)))
def test_a_prorate_result_is_the_proration_init_builds(
    cur: Currency, minor: int, start: date, days_skip: tuple[int, int], rounding: Rounding,
) -> None:
    days, skip = days_skip
    whole = Period(start, start + timedelta(days=days))
    used = Period(start + timedelta(days=skip % days), whole.end)
    amount = Money.from_minor(minor, cur)
    got = prorate(amount, used, whole, basis=DayCount.ACTUAL_OVER_PERIOD, rounding=rounding)
    share = Fraction(used.days, whole.days)
    want = Proration(amount.scale(share, rounding=rounding), share,
                     DayCount.ACTUAL_OVER_PERIOD, rounding, used, whole)
    assert same(got, want)
    assert same(got.amount, want.amount)


def test_an_unchecked_recognition_line_is_the_line_init_builds() -> None:
    usd = Currency.of("USD")
    p = Period(date(2024, 1, 31), date(2024, 2, 29))
    fields = (p, date(2024, 2, 28), Money.from_minor(5, usd), Money.from_minor(7, usd),
              Fraction(1, 3), None)
    assert same(constructor(RecognitionLine)(*fields), RecognitionLine(*fields))


# ---------------------------------------------------------------- RecurringCharge.charges()


@st.composite
def recurring_charges(draw: st.DrawFn) -> RecurringCharge:
    cur = draw(currencies())
    start = draw(starts)
    escs: list[Escalation] = []
    for _ in range(draw(st.integers(0, 2))):
        if draw(st.booleans()):
            kind: dict[str, object] = {
                "percent": draw(st.decimals(min_value=-20, max_value=40, places=2))}
        else:
            kind = {"fixed": Money.from_minor(draw(st.integers(-10**4, 10**6)), cur)}
        if draw(st.booleans()):
            offsets = draw(st.lists(st.integers(1, 2000), min_size=1, max_size=3, unique=True))
            kind["dates"] = tuple(sorted(start + timedelta(days=o) for o in offsets))
        escs.append(Escalation(compounding=draw(st.booleans()),
                               rounding=draw(st.sampled_from(list(Rounding))),
                               step=draw(st.sampled_from([None, Decimal(1)])),
                               **kind))  # type: ignore[arg-type]
    unit = draw(st.sampled_from(list(IntervalUnit)))
    interval = Interval(unit, draw(st.integers(1, 3)))
    anchor = None if unit is IntervalUnit.WEEK else draw(
        st.none() | st.integers(1, 31) | st.sampled_from([28, 29, 30, 31]))
    end = draw(st.none() | st.integers(1, 2500).map(lambda n: start + timedelta(days=n)))
    months = {IntervalUnit.YEAR: 12, IntervalUnit.MONTH: 1}.get(unit)
    most = 40 if months is None else min(40, 120 // (months * interval.count))
    return RecurringCharge(
        ItemId("r"), "Retainer", Money.from_minor(draw(st.integers(0, 10**8)), cur), interval,
        start=start, anchor_day=anchor, end=end,
        count=draw(st.none() | st.integers(1, most)) if end is not None
        else draw(st.integers(1, most)),
        timing=draw(st.sampled_from(list(Timing))),
        first_period_proration=draw(st.sampled_from(list(DayCount))),
        final_period_proration=draw(st.none() | st.sampled_from(list(DayCount))),
        escalations=escs, terms=PaymentTerms.net(draw(st.sampled_from([0, 15, 30]))),
        proration_rounding=draw(st.sampled_from(list(Rounding))),
    )


def reference_boundary(rc: RecurringCharge, first: date, k: int) -> date:
    months = rc.interval.months
    if months is None:
        return first + timedelta(weeks=k * rc.interval.count)
    return add_months(first, k * months, day=rc.anchor)


def reference_first(rc: RecurringCharge) -> date:
    """The first anchor date on or after ``start`` (``start`` itself for weeks)."""
    if rc.interval.months is None:
        return rc.start
    for k in range(2):
        d = add_months(rc.start.replace(day=1), k, day=rc.anchor)
        if d >= rc.start:
            return d
    raise AssertionError(rc)  # pragma: no cover


def reference_slots(rc: RecurringCharge) -> list[tuple[Period, Period, DayCount | None]]:
    """``(service, whole, basis)`` per period, from the definitions in the docstring."""
    first = reference_first(rc)
    out: list[tuple[Period, Period, DayCount | None]] = []
    if first != rc.start:
        assert rc.interval.months is not None
        whole = Period(add_months(first, -rc.interval.months, day=rc.anchor), first)
        out.append((Period(rc.start, first), whole, rc.first_period_proration))
    k = 0
    while rc.count is None or len(out) < rc.count:
        a = reference_boundary(rc, first, k)
        if (rc.end is not None and a >= rc.end) or (out and rc.end is not None
                                                     and out[-1][0].end >= rc.end):
            break
        if a > LATEST_DATE:  # billing stops at the latest date it computes from
            break
        service = Period(a, reference_boundary(rc, first, k + 1))
        out.append((service, service, None))
        k += 1
    cut: list[tuple[Period, Period, DayCount | None]] = []
    for service, whole, basis in out:
        if rc.end is not None and service.end > rc.end and rc.final_period_proration:
            cut.append((Period(service.start, rc.end), whole, rc.final_period_proration))
        else:
            cut.append((service, whole, basis))
    return cut


def reference_charges(rc: RecurringCharge) -> list[Charge]:
    out = []
    for service, whole, basis in reference_slots(rc):
        price, applied = rc.escalation_history(service.start)
        proration = None if basis is None else prorate(
            price, service, whole, basis=basis, rounding=rc.proration_rounding)
        on = service.start if rc.timing is Timing.IN_ADVANCE else service.end
        text = f"{rc.name} ({rc.id}), {rc.interval} {rc.timing.value}, period {service}"
        if applied:
            text += "; escalations: " + "; ".join(applied)
        if proration is not None:
            text += "; " + proration.describe()
        out.append(Charge(
            item_id=rc.id, kind=ChargeKind.RECURRING, name=rc.name, on=on,
            amount=price if proration is None else proration.amount, period=service,
            base_amount=rc.amount, escalations=applied, proration=proration, price=price,
            due=rc.terms.due_date(on), provenance=text + f"; {rc.terms}"))
    return out


@settings(deadline=None, max_examples=300)
@given(recurring_charges())
def test_charges_equal_the_charges_built_the_straightforward_way(rc: RecurringCharge) -> None:
    got = list(rc.charges())
    want = reference_charges(rc)
    assert got == want
    assert [repr(c) for c in got] == [repr(c) for c in want]
    assert [hash(c) for c in got] == [hash(c) for c in want]
    # What billing plans read: the same periods, amounts and provenance.
    assert list(rc.priced_periods()) == [(c.period, c.amount, c.provenance) for c in want]


@settings(deadline=None)
@given(starts, st.sampled_from([None, 28, 29, 30, 31]), st.sampled_from(list(Timing)))
def test_an_unbounded_series_starts_like_the_straightforward_one(
    start: date, anchor: int | None, timing: Timing,
) -> None:
    rc = RecurringCharge(ItemId("r"), "R", Money("100.00", "USD"), Interval.MONTHLY,
                         start=start, anchor_day=anchor, timing=timing,
                         first_period_proration=DayCount.ACTUAL_OVER_PERIOD,
                         escalations=(Escalation(percent=Decimal(3)),))
    bounded = attrs.evolve(rc, count=30)
    assert list(itertools.islice(rc.charges(), 30)) == reference_charges(bounded)


@settings(deadline=None, max_examples=50)
@given(st.dates(min_value=date(9890, 1, 1), max_value=date(9899, 12, 31)),
       st.sampled_from([None, 1, 30, 31]), st.sampled_from([Interval.MONTHLY, Interval.WEEKLY]))
def test_a_series_stops_at_the_latest_billing_date_like_the_straightforward_one(
    start: date, anchor: int | None, interval: Interval,
) -> None:
    weekly = interval.unit is IntervalUnit.WEEK
    rc = RecurringCharge(ItemId("r"), "R", Money("100.00", "USD"), interval, start=start,
                         anchor_day=None if weekly else anchor,
                         first_period_proration=DayCount.ACTUAL_OVER_PERIOD)
    got = list(itertools.islice(rc.charges(), 1000))
    assert len(got) < 1000
    assert got == reference_charges(attrs.evolve(rc, count=999))

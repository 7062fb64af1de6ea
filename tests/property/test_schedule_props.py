"""Property tests for milestonebill.schedule."""

from __future__ import annotations

import decimal
import json
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from milestonebill.errors import ValidationError
from milestonebill.money import Currency, Money, Rounding, allocate
from milestonebill.periods import DayCount, days_in_month
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
    Timing,
    Trigger,
)
from milestonebill.testing.strategies import currencies

dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31))
#: Month ends (28th to 31st), where clamping happens.
month_ends = st.builds(
    lambda y, m, back: date(y, m, days_in_month(y, m) - back),
    st.integers(1990, 2090), st.integers(1, 12), st.integers(0, 3),
)
intervals = st.builds(Interval, st.sampled_from(list(IntervalUnit)), st.integers(1, 6))
roundings = st.sampled_from(list(Rounding))


def money_in(cur: Currency, max_abs: int = 10**9, *, min_value: int | None = None) -> Any:
    lo = -max_abs if min_value is None else min_value
    return st.integers(lo, max_abs).map(lambda m: Money.from_minor(m, cur))


@st.composite
def escalations(draw: st.DrawFn, cur: Currency, start: date) -> Escalation:
    if draw(st.booleans()):
        percent = draw(st.decimals(min_value=-20, max_value=50, places=3))
        fixed = None
    else:
        percent, fixed = None, draw(money_in(cur, 10**6))
    if draw(st.booleans()):
        offsets = draw(st.lists(st.integers(1, 3000), min_size=1, max_size=4, unique=True))
        when = tuple(sorted(start + timedelta(days=o) for o in offsets))
    else:
        when = ()
    step = draw(st.sampled_from([None, 1, 5, 10]))
    return Escalation(
        percent=percent, fixed=fixed, dates=when, compounding=draw(st.booleans()),
        step=None if step is None else Decimal(step), rounding=draw(roundings),
    )


@st.composite
def recurring_charges(draw: st.DrawFn, cur: Currency | None = None, item: str = "r",
                      bounded: bool = True) -> RecurringCharge:
    cur = cur or draw(currencies())
    start = draw(dates | month_ends)
    interval = draw(intervals)
    anchor = None if interval.unit is IntervalUnit.WEEK else draw(
        st.none() | st.sampled_from([29, 30, 31]) | st.integers(1, 31))
    # At most 15 years of anniversaries: three +50 % escalations compounded on
    # each of them (1.5^45) keep 10^9 minor units inside the amount bound.
    months = {IntervalUnit.YEAR: 12, IntervalUnit.MONTH: 1}.get(interval.unit)
    most = 40 if months is None else min(40, 180 // (months * interval.count))
    count = draw(st.integers(1, most)) if bounded else draw(st.none() | st.integers(1, most))
    end = draw(st.none() | st.integers(1, 3000).map(lambda n: start + timedelta(days=n)))
    return RecurringCharge(
        ItemId(item), f"Item {item}", draw(money_in(cur, min_value=0)), interval, start=start,
        anchor_day=anchor, end=end, count=count, timing=draw(st.sampled_from(list(Timing))),
        first_period_proration=draw(st.sampled_from(list(DayCount))),
        final_period_proration=draw(st.none() | st.sampled_from(list(DayCount))),
        proration_rounding=draw(roundings),
        escalations=draw(st.lists(escalations(cur, start), max_size=3)),
        terms=PaymentTerms(draw(st.integers(0, 90))),
    )


@st.composite
def schedules(draw: st.DrawFn) -> BillingSchedule:
    cur = draw(currencies())
    fee = draw(money_in(cur, 10**10, min_value=0))
    n = draw(st.integers(0, 6))
    milestones: list[Milestone] = []
    percents = draw(st.lists(st.decimals(min_value=Decimal("0.01"), max_value=40, places=2),
                             min_size=n, max_size=n))
    total_pct = sum(percents, Decimal(0))
    assume(total_pct <= 100)
    for i, p in enumerate(percents):
        trigger = draw(st.sampled_from(list(Trigger)))
        milestones.append(Milestone(
            MilestoneId(f"m{i}"), f"Milestone {i}", percent=p, trigger=trigger,
            due_on=draw(dates) if trigger is Trigger.ON_DATE else None,
            terms=PaymentTerms(draw(st.integers(0, 60))),
        ))
    if total_pct < 100 or not milestones:
        # a fixed milestone takes what the percentages leave
        rest = allocate(fee, [*percents, Decimal(100) - total_pct])[-1]
        milestones.append(Milestone(MilestoneId("fixed"), "Fixed", amount=rest))
    recurring = [draw(recurring_charges(cur, f"r{i}")) for i in range(draw(st.integers(0, 3)))]
    return BillingSchedule(currency=cur, fee=fee, milestones=milestones, recurring=recurring)


# ------------------------------------------------------------------ dates


@given(recurring_charges())
def test_billing_dates_strictly_increase_and_periods_are_contiguous(rc: RecurringCharge) -> None:
    charges = list(rc.charges())
    ons = [c.on for c in charges]
    assert ons == sorted(set(ons))
    periods = [c.period for c in charges if c.period is not None]
    assert len(periods) == len(charges)
    assert all(a.end == b.start for a, b in pairwise(periods))
    assert periods[0].start == rc.start


@given(recurring_charges())
def test_month_boundaries_sit_on_the_clamped_anchor_day(rc: RecurringCharge) -> None:
    assume(rc.interval.unit is not IntervalUnit.WEEK)
    periods = list(rc.periods())
    for p in periods:
        for boundary in (p.start, p.end):
            if boundary in (rc.start, rc.end):
                continue
            assert boundary.day == min(rc.anchor, days_in_month(boundary.year, boundary.month))


@given(recurring_charges())
def test_count_and_end_limit_the_series(rc: RecurringCharge) -> None:
    periods = list(rc.periods())
    assert rc.count is not None
    assert 1 <= len(periods) <= rc.count
    if rc.end is not None:
        assert all(p.start < rc.end for p in periods)
        if rc.final_period_proration is not None:
            assert all(p.end <= rc.end for p in periods)
    if len(periods) < rc.count:
        assert rc.end is not None


@given(recurring_charges())
def test_only_the_first_and_a_cut_last_period_are_prorated(rc: RecurringCharge) -> None:
    charges = list(rc.charges())
    for i, c in enumerate(charges):
        if c.proration is None:
            assert c.amount == c.price
        else:
            assert i == 0 or (i == len(charges) - 1 and c.period is not None
                              and c.period.end == rc.end)
            assert c.amount == c.price.scale(c.proration.fraction,  # type: ignore[union-attr]
                                             rounding=rc.proration_rounding)


# ------------------------------------------------------------------ escalations


def reference_escalate(base: Money, escs: list[Escalation], n_events: list[int]) -> Decimal:
    """An independent reference in decimal arithmetic: apply events in (date, order)."""
    ctx = decimal.Context(prec=60)
    price = base.amount
    for i in n_events:
        e = escs[i]
        if e.percent is not None:
            source = price if e.compounding else base.amount
            exact = ctx.add(price, ctx.divide(ctx.multiply(source, e.percent), Decimal(100)))
        else:
            assert e.fixed is not None
            exact = price + e.fixed.amount
        step = e.step if e.step is not None else base.currency.quantum
        units = ctx.divide(exact, step).quantize(Decimal(1), rounding=e.rounding.value,
                                                 context=ctx)
        price = units * step
    return price


@settings(deadline=None)  # builds whole schedules; keep slow CI machines from flaking
@given(st.data(), currencies(), st.integers(0, 10**9), dates)
def test_escalated_prices_are_exact(data: st.DataObject, cur: Currency, base_minor: int,
                                    start: date) -> None:
    escs = data.draw(st.lists(escalations(cur, start), min_size=1, max_size=3))
    rc = RecurringCharge(ItemId("r"), "R", Money.from_minor(base_minor, cur), Interval.MONTHLY,
                         start=start, escalations=escs)
    when = start + timedelta(days=data.draw(st.integers(0, 3700)))
    events: list[tuple[date, int]] = []
    for i, e in enumerate(escs):
        if e.dates:
            events += [(x, i) for x in e.dates if x <= when]
        else:
            years = 1
            while True:
                y = start.year + years
                ann = start.replace(year=y, day=min(start.day, days_in_month(y, start.month)))
                if ann > when:
                    break
                events.append((ann, i))
                years += 1
    events.sort()
    price, applied = rc.escalation_history(when)
    assert len(applied) == len(events)  # never dropped, one line per event
    assert price.amount == reference_escalate(rc.amount, escs, [i for _, i in events])


@given(currencies(), st.integers(0, 10**9), st.sampled_from([1, 5, 10]),
       st.tuples(roundings, st.decimals(min_value=0, max_value=25, places=2)), dates)
def test_escalated_prices_are_whole_steps(cur: Currency, base_minor: int, step: int,
                                          policy: tuple[Rounding, Decimal], start: date) -> None:
    rounding, pct = policy
    rc = RecurringCharge(ItemId("r"), "R", Money.from_minor(base_minor, cur), Interval.YEARLY,
                         start=start, escalations=(Escalation(percent=pct, step=Decimal(step),
                                                              rounding=rounding),))
    for years in (1, 2, 3):
        price = rc.price_on(start.replace(year=start.year + years, day=min(
            start.day, days_in_month(start.year + years, start.month))))
        assert price.minor % (step * 10**cur.exponent) == 0


# ------------------------------------------------------------------ milestones


@given(currencies(), st.integers(0, 10**12),
       st.lists(st.decimals(min_value=Decimal("0.01"), max_value=100, places=2), min_size=1,
                max_size=10))
def test_percentage_milestones_sum_exactly_to_the_fee(
    cur: Currency, fee_minor: int, weights: list[Decimal]
) -> None:
    total = sum(weights, Decimal(0))
    # scale the weights so the percentages add up to exactly 100 (last one takes the rest)
    percents = [(w * 100 / total).quantize(Decimal("0.01"), rounding=decimal.ROUND_DOWN)
                for w in weights[:-1]]
    last = Decimal(100) - sum(percents, Decimal(0))
    assume(last > 0 and all(p > 0 for p in percents))
    percents.append(last)
    fee = Money.from_minor(fee_minor, cur)
    s = BillingSchedule(currency=cur, fee=fee, milestones=[
        Milestone(MilestoneId(f"m{i}"), "M", percent=p) for i, p in enumerate(percents)])
    amounts = list(s.milestone_amounts().values())
    assert Money.total(amounts, currency=cur) == fee
    for p, a in zip(percents, amounts, strict=True):
        assert abs(Decimal(a.minor) - Decimal(fee_minor) * p / 100) < 1


# ------------------------------------------------------------------ windows and JSON


@settings(deadline=None)  # builds whole schedules; keep slow CI machines from flaking
@given(schedules(), dates, st.integers(0, 4000), st.integers(0, 4000), dates)
def test_charges_between_splits_at_any_date(s: BillingSchedule, a: date, x: int, y: int,
                                            signed: date) -> None:
    b = a + timedelta(days=x)
    c = b + timedelta(days=y)
    done = {m.id: signed for m in s.milestones if m.trigger is Trigger.ON_COMPLETION}
    whole = s.charges_between(a, c, signed_on=signed, completions=done)
    halves = (s.charges_between(a, b, signed_on=signed, completions=done)
              + s.charges_between(b, c, signed_on=signed, completions=done))
    assert whole == halves
    assert [ch.on for ch in whole] == sorted(ch.on for ch in whole)
    nxt = s.next_charge_after(a, signed_on=signed, completions=done)
    later = s.charges_between(a + timedelta(days=1), date(2200, 1, 1),
                              signed_on=signed, completions=done)
    assert nxt == (later[0] if later else None)


@settings(deadline=None)  # builds whole schedules; keep slow CI machines from flaking
@given(schedules())
def test_json_round_trip_is_exact(s: BillingSchedule) -> None:
    doc = s.to_json()
    text = json.dumps(doc, sort_keys=True)
    again = BillingSchedule.from_json(json.loads(text))
    assert again == s
    assert json.dumps(again.to_json(), sort_keys=True) == text


def _money_paths(doc: dict[str, Any]) -> list[tuple[Any, str | int, str]]:
    """Every place in the JSON form where money or an exact decimal enters."""
    paths: list[tuple[Any, str | int, str]] = [(doc, "fee", "fee")]
    for i, m in enumerate(doc["milestones"]):
        paths += [(m, "amount", f"milestones[{i}].amount"),
                  (m, "percent", f"milestones[{i}].percent")]
    for i, r in enumerate(doc["recurring"]):
        paths.append((r, "amount", f"recurring[{i}].amount"))
        for j, e in enumerate(r["escalations"]):
            for key in ("percent", "fixed", "step"):
                paths.append((e, key, f"recurring[{i}].escalations[{j}].{key}"))
    return paths


@settings(deadline=None)  # builds whole schedules; keep slow CI machines from flaking
@given(schedules(), st.data(), st.floats(allow_nan=False, allow_infinity=False))
def test_floats_are_refused_wherever_money_enters_json(s: BillingSchedule, data: st.DataObject,
                                                       value: float) -> None:
    doc = s.to_json()
    holder, key, field = data.draw(st.sampled_from(_money_paths(doc)))
    holder[key] = value
    with pytest.raises(ValidationError) as info:
        BillingSchedule.from_json(doc)
    assert info.value.field == field


FLOAT_ENTRY_POINTS: dict[str, Callable[[Any], object]] = {
    "milestone percent": lambda v: Milestone(MilestoneId("m"), "M", percent=v),
    "escalation percent": lambda v: Escalation(percent=v),
    "escalation step": lambda v: Escalation(percent=Decimal(1), step=v),
    "money": lambda v: Money(v, "USD"),
    "minor units": lambda v: Money.from_minor(v, "USD"),
}


@given(st.floats(allow_nan=False), st.sampled_from(sorted(FLOAT_ENTRY_POINTS)))
def test_floats_are_refused_by_every_constructor(value: float, where: str) -> None:
    make = FLOAT_ENTRY_POINTS[where]
    with pytest.raises(TypeError, match="float"):
        make(value)


AMOUNT_FIELDS: dict[str, Callable[[Any], object]] = {
    "milestone amount": lambda v: Milestone(MilestoneId("m"), "M", amount=v),
    "recurring amount": lambda v: RecurringCharge(ItemId("r"), "R", v, Interval.MONTHLY,
                                                  start=date(2024, 1, 1)),
    "escalation fixed": lambda v: Escalation(fixed=v),
    "schedule fee": lambda v: BillingSchedule(currency="USD", fee=v),
}


@given(st.floats(allow_nan=False), st.sampled_from(sorted(AMOUNT_FIELDS)))
def test_a_float_where_a_money_belongs_is_refused_naming_the_field(value: float,
                                                                  where: str) -> None:
    with pytest.raises(ValidationError) as info:
        AMOUNT_FIELDS[where](value)
    assert info.value.field == where.rsplit(maxsplit=1)[-1]

"""Random engagements lived through random days, for the properties that compare the
reports' fast paths with their reference (shared by several test modules).

Milestones on completion or on a date, a deposit, sometimes a monthly retainer
with a yearly escalation or a quarterly charge with a prorated stub, some
open-ended; paid by card or sent as invoices; completions, re-pricing,
recurring price changes and ends, cancellation, billing runs and part payments.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

import attrs
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from milestonebill._reference import reference_path
from milestonebill.agreement import (
    Agreement,
    ChangeRecurringPrice,
    Collection,
    EndRecurringCharge,
)
from milestonebill.errors import AmendmentError
from milestonebill.money import Currency, Money
from milestonebill.periods import DayCount
from milestonebill.schedule import (
    Escalation,
    Interval,
    ItemId,
    Milestone,
    MilestoneId,
    RecurringCharge,
    Trigger,
)
from milestonebill.testing.scenarios import CARD, T0, World, proposal
from milestonebill.testing.strategies import exponent_currencies, milestone_lists

START = T0.date()
EXAMPLES = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def fresh(agreements: Sequence[Agreement]) -> list[Agreement]:
    """Copies that have worked nothing out yet (as if just loaded from a store)."""
    return [attrs.evolve(a) for a in agreements]


def fields(a: Agreement) -> list[Any]:
    """Every field of an agreement (equality only compares the events)."""
    return [getattr(a, f.name) for f in attrs.fields(Agreement) if f.init]


def both_ways(compute: Callable[[list[Agreement]], Any], agreements: Sequence[Agreement]
              ) -> tuple[Any, Any, Any]:
    """``compute`` fast on fresh agreements, fast again on the same ones, and by reference."""
    mine = fresh(agreements)
    cold = compute(mine)
    warm = compute(mine)
    with reference_path():
        plain = compute(fresh(agreements))
    return cold, warm, plain


def _recurring(draw: st.DrawFn, cur: Currency) -> list[RecurringCharge]:
    kind = draw(st.sampled_from(["none", "monthly", "quarterly", "open"]))
    price = Money.from_minor(draw(st.integers(1, 10**6)), cur)
    start = START + timedelta(days=draw(st.integers(0, 60)))
    if kind == "monthly":
        return [RecurringCharge(ItemId("ret"), "Retainer", price, Interval.MONTHLY, start=start,
                                count=draw(st.integers(1, 24)),
                                escalations=(Escalation(percent=Decimal(3)),))]
    if kind == "quarterly":
        stub = DayCount.ACTUAL_OVER_PERIOD if start.day != 1 else None
        return [RecurringCharge(ItemId("adv"), "Advice", price, Interval.QUARTERLY, start=start,
                                anchor_day=1, count=draw(st.integers(1, 6)),
                                first_period_proration=stub)]
    if kind == "open":
        return [RecurringCharge(ItemId("ret"), "Retainer", price, Interval.MONTHLY, start=start)]
    return []


def _step(draw: st.DrawFn, w: World[Any], n: int, milestones: list[Milestone],
          card: bool) -> None:
    a = w.load()
    step = draw(st.sampled_from(["complete", "complete", "reprice", "price", "end", "cancel",
                                 "run", "run", "pay"]))
    if step == "run":
        w.biller.run(w.clock.today())
    elif step == "pay":
        owed = [i for i in a.invoices if a.balance_of(i.id).minor > 0]
        if owed and not card:
            left = a.balance_of(owed[0].id)
            w.biller.record_payment(owed[0].id, Money.from_minor(
                draw(st.integers(1, left.minor)), a.currency), reference=f"pay-{n}")
    elif not a.state.amendable:
        return
    elif step == "complete":
        m = milestones[draw(st.integers(0, len(milestones) - 1))]
        if m.trigger is Trigger.ON_COMPLETION and m.id not in a.completions:
            w.complete(m.id)
    elif step == "reprice":
        m = milestones[draw(st.integers(0, len(milestones) - 1))]
        assert m.amount is not None
        w.reprice(m.id, Money.from_minor(max(1, m.amount.minor * draw(st.integers(1, 150))
                                             // 100), a.currency), amendment_id=f"am-{n}")
    elif step in ("price", "end") and a.recurring:
        item = a.recurring[-1].charge.id
        when = w.clock.today() + timedelta(days=draw(st.integers(0, 40)))
        op = (ChangeRecurringPrice(when, item, Money.from_minor(draw(st.integers(1, 10**6)),
                                                                a.currency))
              if step == "price" else EndRecurringCharge(when, item))
        try:
            w.amend(op, amendment_id=f"am-{n}", approved_by="Ada")
        except AmendmentError:
            return  # the charge had ended by then: refused, nothing recorded
    elif step == "cancel" and draw(st.integers(0, 3)) == 0:
        w.cancel()


@st.composite
def lives(draw: st.DrawFn) -> Agreement:
    """An engagement signed at T0 and lived through random days (up to a year)."""
    cur: Currency = draw(exponent_currencies())
    deposit = Milestone(MilestoneId("dep"), "Deposit", trigger=Trigger.ON_SIGNING,
                        amount=Money.from_minor(draw(st.integers(1, 10**6)), cur))
    milestones = draw(milestone_lists(cur, triggers=(Trigger.ON_COMPLETION, Trigger.ON_DATE),
                                      first_due=START, due_within_days=300))
    card = draw(st.booleans())
    w = World()
    w.open(proposal([deposit, *milestones], _recurring(draw, cur), currency=cur,
                    collection=Collection.AUTO_CHARGE if card else Collection.SEND_INVOICE),
           payment_method=CARD if card else None)
    w.biller.run(START)
    for n, day in enumerate(sorted(draw(st.lists(st.integers(0, 365), max_size=10)))):
        w.later(day)
        _step(draw, w, n, milestones, card)
    w.later(366)
    w.biller.run(w.clock.today())
    return w.load()


days = st.lists(st.integers(-5, 900).map(lambda n: START + timedelta(days=n)),
                min_size=1, max_size=12)

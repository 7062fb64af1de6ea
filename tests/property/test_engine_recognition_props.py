"""Property: revenue follows the service rendered; billing only moves the contract balance.

Random retainers (currency, price, anchor day, length), billed by ``run`` on
random days, with an optional mid-term price change (a downgrade or an
upgrade, prorated: credit notes and new pieces), and ``recognise`` on random
days.  After every step the contract balance is an asset or a liability,
never both, and equals what was billed net of credits less the revenue
posted; after a recognition the revenue is exactly what the amended service
periods have earned day by day by then (computed here independently); and
over the life the revenue is the contract value.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milestonebill.agreement import (
    Agreement,
    ApprovalRules,
    ChangeRecurringPrice,
    Collection,
    billing_plan,
    contract_value,
)
from milestonebill.engine import FixedClock
from milestonebill.ledger import Account
from milestonebill.money import Currency, Money
from milestonebill.schedule import ItemId, RecurringCharge
from milestonebill.testing.scenarios import World, proposal
from milestonebill.testing.strategies import exponent_currencies, monthly_retainers

START = date(2026, 1, 1)


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, object]:
    cur = draw(exponent_currencies())
    retainer = draw(monthly_retainers(cur, start=START, start_within_days=60, max_minor=10**7,
                                      max_count=5))
    new_price = draw(st.none() | st.integers(min_value=1, max_value=10**7))
    count = retainer.count
    assert count is not None
    horizon = count * 31 + 70
    drawn = draw(st.lists(
        st.tuples(st.integers(min_value=0, max_value=horizon), st.sampled_from(["run", "rec", "rec"])),
        min_size=1, max_size=14))
    steps = sorted([*drawn, (0, "run")])
    change = draw(st.integers(min_value=1, max_value=count * 28 - 1))
    if new_price is not None:
        # Agreed on a day up to the change, after the first invoice went out.
        steps = [*steps, (draw(st.integers(min_value=0, max_value=change)), "zamend")]
        if draw(st.booleans()):  # recognise soon after the change, perhaps before its credit
            steps.append((change + draw(st.integers(min_value=0, max_value=10)), "rec"))
        steps = sorted(steps)
    return {"cur": cur, "retainer": retainer, "new_price": new_price, "steps": steps,
            "change": change}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_revenue_follows_the_service_and_the_contract_balance_ties_to_billing(
        s: dict[str, object]) -> None:
    cur = s["cur"]
    assert isinstance(cur, Currency)
    retainer = s["retainer"]
    assert isinstance(retainer, RecurringCharge)
    anchor = retainer.start
    w = World(clock=FixedClock(datetime(2025, 12, 1, 12, tzinfo=UTC)))
    w.open(proposal(recurring=[retainer], currency=cur, collection=Collection.SEND_INVOICE,
                    approval=ApprovalRules()), payment_method=None)
    steps = s["steps"]
    assert isinstance(steps, list)
    last_rec: date | None = None
    for offset, kind in steps:
        day = anchor + timedelta(days=offset)
        w.on(day)
        if kind == "run":
            assert w.biller.run(day).problems == ()
        elif kind == "zamend":
            effective = anchor + timedelta(days=int(str(s["change"])))
            new_price = Money.from_minor(int(str(s["new_price"])), cur)
            w.amend(ChangeRecurringPrice(effective, ItemId("ret"), new_price),
                    amendment_id="chg", approved_by="Client")
        else:
            assert w.biller.recognise(day).problems == ()
            last_rec = day
        a = w.load()
        deferred = -w.balance(Account.CONTRACT_LIABILITY, cur).minor
        asset = w.balance(Account.CONTRACT_ASSET, cur).minor
        revenue = -w.balance(Account.REVENUE, cur).minor
        billed = (sum(i.subtotal.minor for i in a.invoices)
                  - sum(c.subtotal.minor for c in a.credit_notes))
        assert deferred >= 0
        assert asset >= 0
        assert min(deferred, asset) == 0
        assert deferred - asset == billed - revenue
        if last_rec is not None and kind == "rec":
            assert revenue == _earned_day_by_day(a, last_rec)
    count = retainer.count
    assert count is not None
    end = anchor + timedelta(days=count * 31 + 400)
    w.on(end)
    w.biller.run(end)
    assert w.biller.recognise(end).problems == ()
    assert -w.balance(Account.REVENUE, cur).minor == contract_value(w.load()).minor
    assert w.balance(Account.CONTRACT_ASSET, cur).minor == 0
    assert w.balance(Account.CONTRACT_LIABILITY, cur).minor == 0


def _earned_day_by_day(a: Agreement, day: date) -> int:
    """Independent arithmetic: each service period of the amended plan earns
    round-half-up(amount x days rendered / days) by the end of ``day``."""
    total = 0
    for item in billing_plan(a, through=day + timedelta(days=1)):
        assert item.period is not None
        p = item.period
        rendered = min(max((day - p.start).days + 1, 0), p.days)
        exact = Fraction(item.amount.minor * rendered, p.days)
        total += int(exact + Fraction(1, 2))
    return total

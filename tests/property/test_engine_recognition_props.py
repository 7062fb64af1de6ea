"""Property: deferred revenue = billed service - recognised, and never a debit.

Random retainers (currency, price, anchor day, length), billed by ``run`` on
random days, with an optional mid-term price change (a downgrade or an
upgrade, prorated: credit notes and new pieces), and ``recognise`` on random
days.  After every step the agreement's deferred revenue equals what its
billed service periods have not yet earned, it is never a debit balance, and
revenue plus deferred revenue equals what was billed net of credits.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milestonebill.agreement import ApprovalRules, ChangeRecurringPrice, Collection
from milestonebill.engine import FixedClock
from milestonebill.ledger import Account
from milestonebill.money import Currency, Money
from milestonebill.recognition import billed_service
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
def test_deferred_revenue_is_billed_service_not_yet_earned(s: dict[str, object]) -> None:
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
        deferred = -w.balance(Account.DEFERRED_REVENUE, cur).minor
        revenue = -w.balance(Account.REVENUE, cur).minor
        billed = (sum(i.subtotal.minor for i in a.invoices)
                  - sum(c.subtotal.minor for c in a.credit_notes))
        assert deferred >= 0
        assert w.balance(Account.CONTRACT_ASSET, cur).minor == 0
        assert revenue + deferred == billed
        if last_rec is not None and kind == "rec":
            services = billed_service(a.invoices, a.credit_notes, last_rec)
            assert deferred == sum(x.unearned.minor for x in services)
            assert revenue == sum(x.earned.minor for x in services)

"""Properties of the cash forecast: over a long enough horizon, with no failures,
it expects exactly what was billed and not collected plus what is still to bill.

Each example signs a random engagement in USD, JPY or KWD -- a deposit on
signing, milestones billed on completion or on a date, sometimes a monthly
retainer; sent as invoices or charged to a card -- and walks random days:
completing milestones, re-pricing one (now, or from a day after ``as_of``:
a credit or a charge still to come), billing runs and part payments of
sent invoices.  Whatever is open at ``as_of`` and whatever the plan still
bills (every on-completion milestone assumed delivered a week after the
previous one) is expected in the next two years, to the minor unit.
"""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milestonebill.agreement import Agreement, ChangeMilestoneAmount, Collection
from milestonebill.invoicing import billing_position
from milestonebill.money import Currency, Money
from milestonebill.reports import (
    Assumptions,
    Cadence,
    CompletionAssumption,
    cash_forecast,
    expected_receipts,
    total,
)
from milestonebill.schedule import Milestone, MilestoneId, Trigger
from milestonebill.testing.scenarios import CARD, T0, World, proposal
from milestonebill.testing.strategies import (
    exponent_currencies,
    milestone_lists,
    monthly_retainers,
)

AS_OF = T0.date() + timedelta(days=100)


@st.composite
def engagements(draw: st.DrawFn) -> Agreement:
    cur: Currency = draw(exponent_currencies())
    deposit = Milestone(MilestoneId("dep"), "Deposit", trigger=Trigger.ON_SIGNING,
                        amount=Money.from_minor(draw(st.integers(1, 10**6)), cur))
    milestones = draw(milestone_lists(cur, triggers=(Trigger.ON_COMPLETION, Trigger.ON_DATE),
                                      first_due=T0.date(), due_within_days=150))
    recurring = [draw(monthly_retainers(cur, start=T0.date(), start_within_days=60))
                 ] if draw(st.booleans()) else []
    card = draw(st.booleans())
    w = World()
    w.open(proposal([deposit, *milestones], recurring, currency=cur,
                    collection=Collection.AUTO_CHARGE if card else Collection.SEND_INVOICE),
           payment_method=CARD if card else None)
    w.biller.run(T0.date())
    days = sorted(draw(st.lists(st.integers(0, 90), max_size=8)))
    for n, day in enumerate(days):
        w.later(day)
        step = draw(st.sampled_from(["complete", "complete", "reprice", "later", "run", "pay"]))
        a = w.load()
        if step == "complete":
            m = milestones[draw(st.integers(0, len(milestones) - 1))]
            if m.trigger is Trigger.ON_COMPLETION and m.id not in a.completions:
                w.complete(m.id)
        elif step == "reprice":
            m = milestones[draw(st.integers(0, len(milestones) - 1))]
            assert m.amount is not None
            w.reprice(m.id, Money.from_minor(max(1, m.amount.minor * draw(
                st.integers(1, 150)) // 100), cur), amendment_id=f"am-{n}")
        elif step == "later":  # re-priced from a day after as_of: a credit or a charge to come
            m = milestones[draw(st.integers(0, len(milestones) - 1))]
            assert m.amount is not None
            w.amend(ChangeMilestoneAmount(AS_OF + timedelta(days=draw(st.integers(1, 60))), m.id,
                                          Money.from_minor(max(1, m.amount.minor // 2), cur)),
                    amendment_id=f"am-{n}")
        elif step == "run":
            w.biller.run(w.clock.today())
        else:
            open_ = [i for i in a.invoices if a.balance_of(i.id).minor > 0]
            if open_ and not card:
                left = a.balance_of(open_[0].id)
                part = Money.from_minor(draw(st.integers(1, left.minor)), cur)
                w.biller.record_payment(open_[0].id, part, reference=f"pay-{n}")
    return w.load()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(engagements(), st.sampled_from(list(Cadence)))
def test_expected_cash_is_billed_not_collected_plus_still_to_bill(a: Agreement,
                                                                  cadence: Cadence) -> None:
    known = a.as_of(AS_OF)
    owed = sum(max(known.balance_of(i.id).minor, 0) for i in known.invoices)
    still = billing_position(known).scheduled.minor
    assumptions = Assumptions(completion=CompletionAssumption(7))
    periods = 24 if cadence is Cadence.MONTH else 104
    rows = cash_forecast([a], AS_OF, periods=periods, cadence=cadence, assumptions=assumptions)
    expected = total(rows, "from_invoices").minor + total(rows, "from_billing").minor
    assert expected == owed + still
    assert total(rows, "collected").minor == 0
    receipts = expected_receipts([a], AS_OF, through=rows[-1].period.end,
                                 assumptions=assumptions)
    assert all(r.expected_on is not None and r.expected_on > AS_OF for r in receipts)
    assert rows[0].period.start <= AS_OF + timedelta(days=1) < rows[0].period.end
    assert date(2026, 3, 2) == T0.date()

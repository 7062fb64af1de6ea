"""Properties of the Biller: exactly once (invariant 4) and a balanced ledger (invariant 5).

Random agreements (signing, dated and on-completion milestones, a monthly
retainer, in JPY, USD or KWD), random gateway outcomes (success, soft and
hard declines, customer action) and random run dates.  After any history:

* re-running any date again, or handling any host event again, changes
  nothing (events, invoices, numbers, attempts, ledger, outbox, charges);
* the ledger balances, and receivable equals what the invoices still owe;
* no invoice is charged successfully more than once, and invoice numbers
  are 1..N.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milestonebill.agreement import Agreement, MilestoneCompleted, complete_milestone
from milestonebill.engine import FixedClock, RetryPolicy
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.invoicing import invoice_balance
from milestonebill.ledger import Account
from milestonebill.money import Currency, Money
from milestonebill.schedule import BillingSchedule, Trigger
from milestonebill.stores.base import BillingStore
from milestonebill.testing.scenarios import AGREEMENT as AGR
from milestonebill.testing.scenarios import FIRM, World, proposal
from milestonebill.testing.strategies import (
    charge_outcomes,
    exponent_currencies,
    milestone_lists,
    monthly_retainers,
)

T0 = datetime(2024, 1, 31, 9, tzinfo=UTC)
D0 = T0.date()
#: What re-running or replaying must leave as it was.
UNCHANGED = ("agreements", "invoices", "entries", "notifications", "unfinished", "charges",
             "gateway_events")


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    cur = draw(exponent_currencies())
    milestones = draw(milestone_lists(cur, triggers=tuple(Trigger), first_due=D0))
    recurring = [draw(monthly_retainers(cur, start=D0))] if draw(st.booleans()) else []
    n = len(milestones)
    return {
        "currency": cur,
        "schedule": BillingSchedule(currency=cur, milestones=milestones, recurring=recurring),
        "completions": draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, 90)),
                                     max_size=3)),
        "runs": draw(st.lists(st.integers(0, 120), min_size=1, max_size=6)),
        "outcomes": draw(st.lists(charge_outcomes(), max_size=8)),
    }


def _build(sc: dict[str, Any]) -> tuple[World[InMemoryGateway], list[MilestoneCompleted]]:
    w = World(clock=FixedClock(T0),
              retry_policy=RetryPolicy(max_attempts=3, spacing_days=(2, 5), same_key_retries=0))
    w.gateway.script_next(*sc["outcomes"])
    schedule = sc["schedule"]
    w.open(proposal(schedule.milestones, schedule.recurring, currency=sc["currency"]))
    handled: list[MilestoneCompleted] = []
    events = sorted((day, i) for i, day in sc["completions"])
    for day in sorted(set(sc["runs"]) | {d for d, _ in events}):
        w.later(day)
        for d, i in events:
            m = schedule.milestones[i]
            a = w.load()
            if d == day and m.trigger is Trigger.ON_COMPLETION and m.id not in a.completions:
                e = complete_milestone(a, m.id, by="Ada", at=w.clock.now())
                w.biller.handle(AGR, e)
                handled.append(e)
        if day in sc["runs"]:
            w.biller.run(D0 + timedelta(days=day))
    # Bill up to the clock's day (a replayed event bills as of today) and finish
    # attempts a gateway timeout left open, so the history is settled.
    w.biller.bill(AGR)
    w.biller.reconcile(grace_seconds=0)  # one worker: nothing else is in flight
    return w, handled


def _balanced(store: BillingStore, a: Agreement, cur: Currency) -> None:
    balances = store.balances(currency=cur)
    assert sum(m.minor for m in balances.values()) == 0
    owed = sum(invoice_balance(a, i.id).minor for i in a.invoices)
    assert balances.get(Account.RECEIVABLE, Money.zero(cur)).minor == owed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sc=scenarios(), again=st.data())
def test_rerunning_any_date_or_replaying_any_event_changes_nothing(
        sc: dict[str, Any], again: st.DataObject) -> None:
    w, handled = _build(sc)
    a = w.load()
    _balanced(w.store, a, sc["currency"])
    succeeded = Counter(p.invoice_id for p in a.payments)
    assert all(n == 1 for n in succeeded.values())
    assert [r.number for r in w.store.invoices(FIRM)] == list(range(1, len(a.invoices) + 1))

    before = w.snapshot(*UNCHANGED)
    day = again.draw(st.sampled_from(sorted(sc["runs"])), label="rerun day")
    w.store.set_next_due(AGR, D0)  # force the agreement to be claimed again
    w.biller.run(D0 + timedelta(days=day))
    if handled:
        e = again.draw(st.sampled_from(handled), label="replayed event")
        w.biller.handle(AGR, e)
    assert w.snapshot(*UNCHANGED) == before


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sc=scenarios())
def test_the_ledger_balances_after_any_history_and_late_runs(sc: dict[str, Any]) -> None:
    w, _ = _build(sc)
    # Run well past everything: all dated items and retries come due.
    late = w.later(200)
    w.biller.run(late)
    # A gateway timeout in that run leaves its attempt open until now (one worker:
    # no grace period needed).
    w.biller.reconcile(grace_seconds=0)
    a = w.load()
    _balanced(w.store, a, sc["currency"])
    charged = Counter(c.invoice_id for c in w.gateway.charges)
    paid = Counter(p.invoice_id for p in a.payments)
    assert paid == Counter(dict.fromkeys(paid, 1))
    # Every charge that moved money is recorded as a payment, and vice versa.
    assert set(charged) == set(paid)
    assert w.store.unfinished_attempts() == []
    nxt = w.store.next_due(AGR)
    assert nxt is None or nxt > late

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

from milestonebill.agreement import (
    Agreement,
    AgreementId,
    MilestoneCompleted,
    PackageOption,
    PaymentMethodKind,
    PaymentMethodRef,
    Proposal,
    ProposalId,
    complete_milestone,
    sign,
)
from milestonebill.engine import Biller, FirmId, FixedClock, RetryPolicy
from milestonebill.gateways.memory import InMemoryGateway, Scripted
from milestonebill.invoicing import invoice_balance
from milestonebill.ledger import Account
from milestonebill.money import Currency, Money
from milestonebill.schedule import (
    BillingSchedule,
    Interval,
    ItemId,
    Milestone,
    MilestoneId,
    RecurringCharge,
    Trigger,
)
from milestonebill.stores.memory import InMemoryStore

T0 = datetime(2024, 1, 31, 9, tzinfo=UTC)
D0 = T0.date()
FIRM = FirmId("firm")
AGR = AgreementId("agr-1")

outcomes = st.sampled_from([
    Scripted.succeed(), Scripted.decline("insufficient_funds"), Scripted.decline("stolen_card"),
    Scripted.require_action(), Scripted.time_out_after_charge(),
])


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    code = draw(st.sampled_from(["USD", "JPY", "KWD"]))
    cur = Currency.of(code)
    n = draw(st.integers(1, 4))
    milestones = []
    for i in range(n):
        minor = draw(st.integers(1, 10**7))
        trigger = draw(st.sampled_from(list(Trigger)))
        due = D0 + timedelta(days=draw(st.integers(0, 90))) if trigger is Trigger.ON_DATE \
            else None
        milestones.append(Milestone(MilestoneId(f"m{i}"), f"M{i}",
                                    amount=Money.from_minor(minor, cur), trigger=trigger,
                                    due_on=due))
    recurring = []
    if draw(st.booleans()):
        recurring.append(RecurringCharge(ItemId("ret"), "Retainer",
                                         Money.from_minor(draw(st.integers(1, 10**6)), cur),
                                         Interval.MONTHLY, start=D0,
                                         count=draw(st.integers(1, 4))))
    return {
        "currency": cur,
        "schedule": BillingSchedule(currency=cur, milestones=milestones, recurring=recurring),
        "completions": draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, 90)),
                                     max_size=3)),
        "runs": draw(st.lists(st.integers(0, 120), min_size=1, max_size=6)),
        "outcomes": draw(st.lists(outcomes, max_size=8)),
    }


def _snapshot(store: InMemoryStore, gateway: InMemoryGateway) -> Any:
    return (
        store.load(AGR), store.invoices(FIRM), [e.canonical() for e in store.entries()],
        store.pending_notifications(10_000), store.unfinished_attempts(),
        gateway.charges, len(gateway.events),
    )


def _build(sc: dict[str, Any]) -> tuple[Biller, InMemoryStore, InMemoryGateway, FixedClock,
                                        list[MilestoneCompleted]]:
    clock = FixedClock(T0)
    store = InMemoryStore(clock=clock)
    gateway = InMemoryGateway()
    gateway.script_next(*sc["outcomes"])
    biller = Biller(store, gateway, clock=clock, firm_id=FIRM,
                    retry_policy=RetryPolicy(max_attempts=3, spacing_days=(2, 5),
                                             same_key_retries=0))
    proposal = Proposal(ProposalId("p"), "Acme", sc["currency"],
                        (PackageOption("std", "Std", sc["schedule"]),))
    card = PaymentMethodRef("memory", "cus", "pm", PaymentMethodKind.CARD)
    biller.open(sign(proposal, option="std", signer="Ada", payment_method=card,
                     agreement_id=AGR, signed_at=T0))
    handled: list[MilestoneCompleted] = []
    events = sorted((day, i) for i, day in sc["completions"])
    for day in sorted(set(sc["runs"]) | {d for d, _ in events}):
        clock.set(T0 + timedelta(days=day))
        for d, i in events:
            m = sc["schedule"].milestones[i]
            a = biller.load(AGR)
            if d == day and m.trigger is Trigger.ON_COMPLETION and m.id not in a.completions:
                e = complete_milestone(a, m.id, by="Ada", at=clock.now())
                biller.handle(AGR, e)
                handled.append(e)
        if day in sc["runs"]:
            biller.run(D0 + timedelta(days=day))
    # Bill up to the clock's day (a replayed event bills as of today) and finish
    # attempts a gateway timeout left open, so the history is settled.
    biller.bill(AGR)
    biller.reconcile(grace_seconds=0)  # one worker: nothing else is in flight
    return biller, store, gateway, clock, handled


def _balanced(store: InMemoryStore, a: Agreement, cur: Currency) -> None:
    balances = store.balances(currency=cur)
    assert sum(m.minor for m in balances.values()) == 0
    owed = sum(invoice_balance(a, i.id).minor for i in a.invoices)
    assert balances.get(Account.RECEIVABLE, Money.zero(cur)).minor == owed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sc=scenarios(), again=st.data())
def test_rerunning_any_date_or_replaying_any_event_changes_nothing(
        sc: dict[str, Any], again: st.DataObject) -> None:
    biller, store, gateway, _clock, handled = _build(sc)
    a = biller.load(AGR)
    _balanced(store, a, sc["currency"])
    succeeded = Counter(p.invoice_id for p in a.payments)
    assert all(n == 1 for n in succeeded.values())
    assert [r.number for r in store.invoices(FIRM)] == list(range(1, len(a.invoices) + 1))

    before = _snapshot(store, gateway)
    day = again.draw(st.sampled_from(sorted(sc["runs"])), label="rerun day")
    store.set_next_due(AGR, D0)  # force the agreement to be claimed again
    biller.run(D0 + timedelta(days=day))
    if handled:
        e = again.draw(st.sampled_from(handled), label="replayed event")
        biller.handle(AGR, e)
    assert _snapshot(store, gateway) == before


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sc=scenarios())
def test_the_ledger_balances_after_any_history_and_late_runs(sc: dict[str, Any]) -> None:
    biller, store, gateway, clock, _ = _build(sc)
    # Run well past everything: all dated items and retries come due.
    late = D0 + timedelta(days=200)
    clock.set(datetime.combine(late, T0.timetz()))
    biller.run(late)
    # A gateway timeout in that run leaves its attempt open until now (one worker:
    # no grace period needed).
    biller.reconcile(grace_seconds=0)
    a = biller.load(AGR)
    _balanced(store, a, sc["currency"])
    charged = Counter(c.invoice_id for c in gateway.charges)
    paid = Counter(p.invoice_id for p in a.payments)
    assert paid == Counter(dict.fromkeys(paid, 1))
    # Every charge that moved money is recorded as a payment, and vice versa.
    assert set(charged) == set(paid)
    assert store.unfinished_attempts() == []
    nxt = store.next_due(AGR)
    assert nxt is None or nxt > late

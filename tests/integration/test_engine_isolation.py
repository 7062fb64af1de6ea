"""One agreement's trouble stays with it: slow gateways and poisoned agreements,
on a real SQLite file and on PostgreSQL.

* A gateway slower than the claim lease must not end the worker's run, must
  not leave the rest of its batch leased, and must not make the worker bill
  agreements another worker took over meanwhile.
* An agreement whose billing raises an error retrying cannot mend is parked:
  every other agreement is billed exactly once, the summary and the outbox
  name it, later runs leave it alone, and once fixed and unparked it bills.

Failures are injected through :class:`milestonebill.testing.faults.Faults`;
the "slow gateway" moves the store's clock past the lease while it answers.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from milestonebill.agreement import AgreementId, ChangeMilestoneAmount
from milestonebill.clock import FixedClock
from milestonebill.engine import WorkerId
from milestonebill.errors import StoreError
from milestonebill.schedule import Milestone, MilestoneId, PaymentTerms, Trigger
from milestonebill.stores.base import BillingStore
from milestonebill.testing.faults import Faults
from milestonebill.testing.scenarios import FIRM, T0, World, proposal, usd

AS_OF = T0.date()
LEASE = 60.0
LATER = AS_OF + timedelta(days=30)
StoreFactory = Callable[[FixedClock], BillingStore]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def open_store(request: pytest.FixtureRequest) -> StoreFactory:
    """Stores on one database of the parameter's kind (``open_sqlite``, ``open_postgres``)."""
    opener = request.getfixturevalue(f"open_{request.param}")
    return lambda clock: opener(clock=clock)


def _offer() -> Any:
    # A deposit billed at signing and a milestone dated 30 days on: after the
    # run each agreement is next due on LATER, not "tomorrow".
    return proposal([
        Milestone(MilestoneId("deposit"), "Deposit", amount=usd("100.00"),
                  trigger=Trigger.ON_SIGNING),
        Milestone(MilestoneId("handover"), "Handover", amount=usd("50.00"),
                  trigger=Trigger.ON_DATE, due_on=LATER, terms=PaymentTerms.net(0)),
    ])


def _world(store: BillingStore, clock: FixedClock, faults: Faults, n: int,
           **settings: Any) -> tuple[World[Any], list[AgreementId]]:
    w: World[Any] = World(store, clock=clock, faults=faults, lease_seconds=LEASE, **settings)
    ids = [AgreementId(f"agr-{i:02d}") for i in range(n)]
    for aid in ids:
        w.open(_offer(), agreement_id=aid)
    return w, ids


# ------------------------------------------------------------ slow gateway


def test_a_gateway_slower_than_the_lease_does_not_end_the_run(open_store: StoreFactory) -> None:
    clock = FixedClock(T0)
    store = open_store(clock)

    def slow(step: str) -> None:
        if step == "after_charge":
            clock.advance(timedelta(seconds=LEASE + 1))

    w, ids = _world(store, clock, Faults(slow), 3, batch_size=3)
    summary = w.biller.run(AS_OF)
    assert summary.problems == ()
    assert sorted(i.agreement_id for i in summary.invoices) == ids
    assert len(w.gateway.charges) == 3
    assert {a: store.next_due(a) for a in ids} == dict.fromkeys(ids, LATER)
    # Nothing is left leased: another worker can claim all of them at once.
    assert store.claim(WorkerId("other"), LATER, limit=10, lease_seconds=LEASE) == ids


def test_a_worker_leaves_the_claims_another_worker_took_over_while_it_waited(
    open_store: StoreFactory,
) -> None:
    clock = FixedClock(T0)
    store = open_store(clock)
    taken: list[AgreementId] = []
    once = threading.Lock()  # the gateway is called from several threads

    def slow_then_taken_over(step: str) -> None:
        with once:
            if step == "after_charge" and not taken:
                clock.advance(timedelta(seconds=LEASE + 1))
                taken.extend(store.claim(WorkerId("w2"), AS_OF, limit=10,
                                         lease_seconds=LEASE))

    w, ids = _world(store, clock, Faults(slow_then_taken_over), 3, batch_size=3)
    summary = w.biller.run(AS_OF)
    # The batch journalled all three charges before w2 took over, so all three
    # are charged (their keys make that safe) and their outcomes recorded; but
    # the claims are left to w2, which has nothing left to do.
    assert (taken, summary.agreements, summary.problems) == (ids, tuple(ids), ())
    assert len(w.gateway.charges) == 3
    # w2's claims are still its own.
    assert store.claim(WorkerId("w3"), AS_OF, limit=10, lease_seconds=LEASE) == []
    # When w2's lease runs out a third worker finishes the job, exactly once.
    clock.advance(timedelta(seconds=LEASE + 1))
    w.worker(worker_id=WorkerId("w3")).run(AS_OF)
    invoices = store.invoices(FIRM)
    assert sorted(r.agreement_id or "" for r in invoices) == ids
    assert Counter(c.invoice_id for c in w.gateway.charges) == Counter(
        {r.invoice_id: 1 for r in invoices})


# ------------------------------------------------------------ a poisoned agreement

POISON = AgreementId("agr-05")


def test_a_poisoned_agreement_is_parked_and_every_other_is_billed_once(
    open_store: StoreFactory,
) -> None:
    clock = FixedClock(T0)
    store = open_store(clock)
    touched: list[str] = []

    def poison(step: str) -> None:
        if faults.agreement_id != POISON:
            return
        touched.append(step)
        amended = any(e.type == "AmendmentProposed" for e in store.load(POISON))
        if step == "before_issue" and not amended:
            raise OverflowError("date value out of range")

    faults = Faults(poison)
    w, ids = _world(store, clock, faults, 12, batch_size=5)

    first = w.biller.run(AS_OF)
    others = [a for a in ids if a != POISON]
    assert sorted(i.agreement_id for i in first.invoices) == others
    assert [(p.agreement_id, p.error, p.message) for p in first.parked] == [
        (POISON, "OverflowError", "date value out of range")]
    assert [(p.agreement_id, p.error, p.parked) for p in first.problems] == [
        (POISON, "OverflowError", True)]
    assert store.parked() == list(first.parked)
    (note,) = [n for n in store.pending_notifications(1000) if n.kind == "agreement.parked"]
    assert (note.agreement_id, note.data["error"], note.data["message"]) == (
        POISON, "OverflowError", "date value out of range")

    touched.clear()
    second = w.biller.run(AS_OF)
    assert (second.agreements, second.invoices, touched) == ((), (), [])

    w.amend(ChangeMilestoneAmount(AS_OF, MilestoneId("deposit"), usd("120.00")),
            agreement_id=POISON)
    assert w.biller.unpark(POISON) == first.parked[0]
    third = w.biller.run(AS_OF)
    assert [(i.agreement_id, str(i.total)) for i in third.invoices] == [(POISON, "120.00 USD")]
    assert (third.problems, store.parked()) == ((), [])

    invoices = store.invoices(FIRM)
    assert Counter(r.agreement_id for r in invoices) == Counter(dict.fromkeys(ids, 1))
    assert sorted(r.number for r in invoices) == list(range(1, 13))
    assert Counter(c.invoice_id for c in w.gateway.charges) == Counter(
        {r.invoice_id: 1 for r in invoices})
    assert w.ledger_sum() == 0
    assert "agreement.unparked" in w.notes()


# ------------------------------------------------------------ a completion that always fails

STUCK = AgreementId("agr-03")


def test_an_agreement_whose_completion_always_fails_does_not_keep_the_run_going(
    open_store: StoreFactory,
) -> None:
    # The store refuses, every time, to store agr-03's next due date.  Giving
    # its claim back would leave it due, and the same run would claim it again
    # for ever; its lease is left to run out instead, so the run ends.
    clock = FixedClock(T0)
    store = open_store(clock)
    claims: list[int] = []

    def stuck(step: str) -> None:
        if step == "before_complete" and faults.agreement_id == STUCK:
            raise StoreError("disk full")

    faults = Faults(stuck)
    w, ids = _world(store, clock, faults, 6, batch_size=2)
    claim = store.claim

    def counted(*args: Any, **kwargs: Any) -> list[AgreementId]:
        claims.append(1)
        if len(claims) > 50:
            raise AssertionError("the run keeps claiming: it loops")
        return claim(*args, **kwargs)

    store.claim = counted  # type: ignore[method-assign]
    summary = w.biller.run(AS_OF)
    assert sorted(i.agreement_id for i in summary.invoices) == ids
    assert [(p.agreement_id, p.error) for p in summary.problems] == [(STUCK, "StoreError")]
    assert Counter(c.invoice_id for c in w.gateway.charges) == Counter(
        {r.invoice_id: 1 for r in store.invoices(FIRM)})
    # The claim is still held until its lease runs out; then a later run finishes it.
    assert store.claim(WorkerId("other"), AS_OF, limit=10, lease_seconds=LEASE) == []
    clock.advance(timedelta(seconds=LEASE + 1))
    faults.hook = lambda step: None
    again = w.biller.run(AS_OF)
    assert (again.agreements, again.invoices, again.problems) == ((STUCK,), (), ())
    assert store.next_due(STUCK) == LATER

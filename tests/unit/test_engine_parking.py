"""Run isolation and parking through every entry point, on the in-memory store.

The SQLite and PostgreSQL runs are in ``tests/integration/test_engine_isolation.py``;
these cover the other entry points (``bill``, ``recognise``, ``reconcile``,
``dry_run``), what a parked problem says, and the edges of a run.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from milestonebill.agreement import AgreementId
from milestonebill.engine import FixedClock, WorkerId, _isolation
from milestonebill.errors import GatewayUnavailableError
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.ledger import JournalEntry
from milestonebill.schedule import Milestone, MilestoneId, Trigger
from milestonebill.stores.base import StoredEvent
from milestonebill.stores.memory import InMemoryStore
from milestonebill.testing.faults import Faults
from milestonebill.testing.scenarios import T0, World, proposal, usd

D0 = T0.date()
GOOD, BAD = AgreementId("agr-good"), AgreementId("agr-bad")


def _deposit() -> Any:
    return proposal([Milestone(MilestoneId("deposit"), "Deposit", amount=usd("100.00"),
                               trigger=Trigger.ON_SIGNING)])


def _poisoned(step: str, error: BaseException) -> Faults:
    def hook(at: str) -> None:
        if at == step and faults.agreement_id == BAD:
            raise error

    faults = Faults(hook)
    return faults


def _world(faults: Faults | None = None, store: type[InMemoryStore] = InMemoryStore,
           **settings: Any) -> World[InMemoryGateway]:
    clock = FixedClock(T0)
    w = World(store(clock=clock), clock=clock, faults=faults, **settings)
    for aid in (BAD, GOOD):
        w.open(_deposit(), agreement_id=aid)
    return w


# ------------------------------------------------------------------ run


def test_a_parked_problem_names_the_error_without_secrets_or_card_numbers() -> None:
    leak = ValueError("card 4242-4242-4242-4242 refused with key sk_live_abcDEF123")
    w = _world(_poisoned("before_issue", leak))
    (parked,) = w.biller.run(D0).parked
    assert (parked.agreement_id, parked.error, parked.message) == (
        BAD, "ValueError", "card [card number] refused with key ***")
    (note,) = [n for n in w.store.pending_notifications() if n.kind == "agreement.parked"]
    assert "4242" not in note.payload
    assert "sk_live" not in note.payload


def test_a_store_or_gateway_failure_is_retried_tomorrow_not_parked() -> None:
    w = _world(_poisoned("before_issue", GatewayUnavailableError("connection reset")))
    s = w.biller.run(D0)
    assert [(p.agreement_id, p.error, p.parked) for p in s.problems] == [
        (BAD, "GatewayUnavailableError", False)]
    assert (s.parked, w.store.parked(), w.store.next_due(BAD)) == ((), [], D0 + timedelta(1))


def test_a_library_error_that_retrying_cannot_mend_parks_the_agreement() -> None:
    from milestonebill.errors import InvalidTransitionError

    w = _world(_poisoned("before_charge", InvalidTransitionError("no such state")))
    s = w.biller.run(D0)
    assert [(p.agreement_id, p.error) for p in s.parked] == [(BAD, "InvalidTransitionError")]
    assert [i.agreement_id for i in s.invoices] == [BAD, GOOD]  # issued before the failure
    assert len(w.gateway.charges) == 1


def test_an_interrupted_run_gives_back_the_rest_of_its_batch() -> None:
    w = _world(_poisoned("before_issue", KeyboardInterrupt()), batch_size=10)
    with pytest.raises(KeyboardInterrupt):
        w.biller.run(D0)
    # No time has passed, yet another worker can claim both at once.
    assert w.store.claim(WorkerId("other"), D0, limit=10, lease_seconds=60) == [BAD, GOOD]


def test_the_retry_day_after_the_last_day_there_is_is_never() -> None:
    # A failed agreement is retried "tomorrow"; after date.max that is no day at all.
    assert (_isolation.tomorrow(D0), _isolation.tomorrow(date.max)) == (
        D0 + timedelta(days=1), None)


def test_bill_leaves_a_parked_agreement_alone() -> None:
    w = _world(_poisoned("before_issue", OverflowError("year 10000 is out of range")))
    (parked,) = w.biller.run(D0).parked
    s = w.biller.bill(BAD)
    assert (s.parked, s.invoices, s.agreements) == ((parked,), (), ())


def test_unparking_tells_the_host_and_returns_none_the_second_time() -> None:
    w = _world(_poisoned("before_issue", OverflowError("out of range")))
    (parked,) = w.biller.run(D0).parked
    assert (w.biller.parked(), w.biller.unpark(BAD), w.biller.unpark(BAD)) == (
        (parked,), parked, None)
    assert [n for n in w.notes() if n.startswith("agreement.")] == [
        "agreement.parked", "agreement.unparked"]



def test_an_agreement_parked_again_in_the_same_instant_for_another_reason_is_parked() -> None:
    # Found by the model check: the outbox key of the second parking was the
    # first one's (agreement and time), so parking failed and every run after
    # retried the agreement instead of leaving it alone.
    step = ["before_issue"]

    def hook(at: str) -> None:
        if at == step[0] and faults.agreement_id == BAD:
            raise OverflowError(at)

    faults = Faults(hook)
    w = _world(faults)
    assert [p.message for p in w.biller.run(D0).parked] == ["before_issue"]
    w.biller.unpark(BAD)
    step[0] = "before_charge"
    s = w.biller.run(D0)
    assert ([p.message for p in s.parked], [p.parked for p in s.problems]) == (
        ["before_charge"], [True])
    assert w.biller.unpark(BAD) is not None
    assert [n for n in w.notes() if n.startswith("agreement.")] == [
        "agreement.parked", "agreement.unparked", "agreement.parked", "agreement.unparked"]


# ------------------------------------------------------------------ recognise


class BrokenLedgerReads(InMemoryStore):
    """Reading one agreement's journal entries fails the way an unguarded edge would."""

    def entries(self, *, agreement_id: str | None = None) -> list[JournalEntry]:
        if agreement_id == BAD:
            raise RecursionError("maximum recursion depth exceeded")
        return super().entries(agreement_id=agreement_id)


def test_recognise_parks_an_agreement_it_cannot_read_and_recognises_the_rest() -> None:
    w = _world(store=BrokenLedgerReads)
    w.store.set_next_due(BAD, None)  # billing would read the journal too
    w.biller.run(D0)
    r = w.biller.recognise(D0)
    assert (r.agreements, [(p.agreement_id, p.error) for p in r.parked]) == (
        (GOOD,), [(BAD, "RecursionError")])
    assert [(p.agreement_id, p.parked) for p in r.problems] == [(BAD, True)]
    again = w.biller.recognise(D0)
    assert (again.agreements, again.problems, again.parked) == ((GOOD,), (), r.parked)


def test_recognise_keeps_refusals_of_its_own_as_problems() -> None:
    w = _world()
    r = w.biller.recognise(D0, agreement_ids=[AgreementId("nobody"), GOOD])
    assert ([(p.agreement_id, p.error, p.parked) for p in r.problems], r.parked) == (
        [("nobody", "NotFoundError", False)], ())


# ------------------------------------------------------------------ reconcile


def test_reconcile_parks_an_agreement_whose_attempt_cannot_be_redriven() -> None:
    charges = {"n": 0}

    def hook(step: str) -> None:
        if step == "before_charge":
            charges["n"] += 1
            if charges["n"] <= 2:
                raise KeyboardInterrupt  # the worker dies with the attempt recorded
            if faults.agreement_id == BAD:
                raise RuntimeError("crash")

    faults = Faults(hook)
    w = _world(faults, batch_size=1)
    with pytest.raises(KeyboardInterrupt):
        w.biller.run(D0)  # dies on agr-bad
    with pytest.raises(KeyboardInterrupt):
        w.biller.bill(GOOD)
    assert len(w.store.unfinished_attempts()) == 2
    w.clock.advance(timedelta(hours=1))
    outcomes = w.biller.reconcile()
    assert [o.agreement_id for o in outcomes] == [GOOD]
    assert [(p.agreement_id, p.error) for p in w.store.parked()] == [(BAD, "RuntimeError")]
    assert w.biller.reconcile() == ()  # parked: left alone


# ------------------------------------------------------------------ dry run


class UnreadableStream(InMemoryStore):
    def load(self, agreement_id: AgreementId, *, after_version: int = 0) -> list[StoredEvent]:
        if agreement_id == BAD and after_version == 0 and getattr(self, "broken", False):
            raise OverflowError("date value out of range")
        return super().load(agreement_id, after_version=after_version)


def test_a_dry_run_reports_an_agreement_it_cannot_plan_and_plans_the_rest() -> None:
    w = _world(store=UnreadableStream)
    store = w.store
    store.broken = True  # type: ignore[attr-defined]
    d = w.biller.dry_run(D0)
    assert (d.agreements, [(p.agreement_id, p.error) for p in d.problems]) == (
        (GOOD,), [(BAD, "OverflowError")])
    assert [i.agreement_id for i in d.invoices] == [GOOD]
    assert store.parked() == []  # a dry run writes nothing

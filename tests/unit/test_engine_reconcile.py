"""Store-wide ``Biller.reconcile``: it never races a live worker for an attempt."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from milestonebill.engine import Biller, FixedClock, RetryPolicy, WorkerId
from milestonebill.errors import ValidationError
from milestonebill.gateways.base import ChargeStatus
from milestonebill.gateways.memory import InMemoryGateway, Scripted
from milestonebill.stores.base import BillingStore
from milestonebill.stores.memory import InMemoryStore
from milestonebill.stores.sqlite import SQLiteStore
from milestonebill.testing.scenarios import AGREEMENT as AGR
from milestonebill.testing.scenarios import FIRM, T0, World, proposal

NO_RETRY = RetryPolicy(same_key_retries=0)


def _left_open(store: BillingStore, gateway: InMemoryGateway, clock: FixedClock) -> None:
    """A charge whose outcome never came back: the attempt stays unfinished."""
    w = World(store, gateway=gateway, clock=clock, retry_policy=NO_RETRY,
              worker_id=WorkerId("first"))
    w.open(proposal([("design", "1000.00")]))
    gateway.script_next(Scripted.time_out_after_charge())
    w.complete("design")
    assert len(store.unfinished_attempts()) == 1


def _rescuer(store: BillingStore, gateway: InMemoryGateway, clock: FixedClock,
             **kw: float) -> Biller:
    return Biller(store, gateway, clock=clock, firm_id=FIRM, worker_id=WorkerId("rescuer"),
                  **kw)  # type: ignore[arg-type]


def test_an_attempt_younger_than_the_grace_period_is_left_alone() -> None:
    clock = FixedClock(T0)
    store, gateway = InMemoryStore(clock=clock), InMemoryGateway()
    _left_open(store, gateway, clock)
    calls = gateway.calls
    clock.advance(timedelta(seconds=299))
    assert _rescuer(store, gateway, clock).reconcile() == ()
    assert (len(store.unfinished_attempts()), gateway.calls) == (1, calls)


def test_an_attempt_past_the_grace_period_is_finished_with_its_key() -> None:
    clock = FixedClock(T0)
    store, gateway = InMemoryStore(clock=clock), InMemoryGateway()
    _left_open(store, gateway, clock)
    clock.advance(timedelta(seconds=300))
    outcomes = _rescuer(store, gateway, clock).reconcile()
    assert [o.status for o in outcomes] == [ChargeStatus.SUCCEEDED]
    assert (store.unfinished_attempts(), len(gateway.charges)) == ([], 1)


def test_the_grace_period_is_a_setting_of_the_biller() -> None:
    clock = FixedClock(T0)
    store, gateway = InMemoryStore(clock=clock), InMemoryGateway()
    _left_open(store, gateway, clock)
    clock.advance(timedelta(seconds=30))
    patient = _rescuer(store, gateway, clock, reconcile_grace_seconds=60)
    first = patient.reconcile()
    clock.advance(timedelta(seconds=30))
    assert (first, [o.status for o in patient.reconcile()]) == ((), [ChargeStatus.SUCCEEDED])


def test_a_grace_of_zero_turns_the_age_check_off() -> None:
    clock = FixedClock(T0)
    store, gateway = InMemoryStore(clock=clock), InMemoryGateway()
    _left_open(store, gateway, clock)
    outcomes = _rescuer(store, gateway, clock).reconcile(grace_seconds=0)
    assert [o.status for o in outcomes] == [ChargeStatus.SUCCEEDED]


def test_an_attempt_stamped_in_the_future_counts_as_young() -> None:
    store_clock, biller_clock = FixedClock(T0 + timedelta(hours=1)), FixedClock(T0)
    store, gateway = InMemoryStore(clock=store_clock), InMemoryGateway()
    _left_open(store, gateway, biller_clock)
    biller_clock.advance(timedelta(minutes=10))
    assert _rescuer(store, gateway, biller_clock).reconcile() == ()


def test_an_attempt_under_another_workers_live_claim_is_left_alone() -> None:
    clock = FixedClock(T0)
    store, gateway = InMemoryStore(clock=clock), InMemoryGateway()
    _left_open(store, gateway, clock)
    clock.advance(timedelta(hours=1))
    assert store.claim_one(WorkerId("busy"), AGR, lease_seconds=600)
    calls = gateway.calls
    assert _rescuer(store, gateway, clock).reconcile() == ()
    assert (len(store.unfinished_attempts()), gateway.calls) == (1, calls)


def test_an_attempt_is_finished_once_the_other_claim_expires() -> None:
    clock = FixedClock(T0)
    store, gateway = InMemoryStore(clock=clock), InMemoryGateway()
    _left_open(store, gateway, clock)
    clock.advance(timedelta(hours=1))
    store.claim_one(WorkerId("crashed"), AGR, lease_seconds=600)
    clock.advance(timedelta(seconds=600))
    outcomes = _rescuer(store, gateway, clock).reconcile()
    assert [o.status for o in outcomes] == [ChargeStatus.SUCCEEDED]


def test_reconcile_gives_its_claim_back() -> None:
    clock = FixedClock(T0)
    store, gateway = InMemoryStore(clock=clock), InMemoryGateway()
    _left_open(store, gateway, clock)
    clock.advance(timedelta(hours=1))
    _rescuer(store, gateway, clock).reconcile()
    assert store.claim_one(WorkerId("next"), AGR, lease_seconds=60) is True


def test_a_claim_on_another_sqlite_handle_is_respected(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    gateway = InMemoryGateway()
    with SQLiteStore(tmp_path / "b.db", clock=clock) as one, \
            SQLiteStore(tmp_path / "b.db", clock=clock) as two:
        _left_open(one, gateway, clock)
        clock.advance(timedelta(hours=1))
        one.claim_one(WorkerId("busy"), AGR, lease_seconds=600)
        skipped = _rescuer(two, gateway, clock).reconcile()
        one.release(WorkerId("busy"), [AGR])
        done = _rescuer(two, gateway, clock).reconcile()
        assert (skipped, [o.status for o in done]) == ((), [ChargeStatus.SUCCEEDED])
        assert len(gateway.charges) == 1


@pytest.mark.parametrize("grace", [-1, "60", True])
def test_a_bad_grace_period_is_refused(grace: object) -> None:
    with pytest.raises(ValidationError):
        Biller(InMemoryStore(), InMemoryGateway(), clock=FixedClock(T0), firm_id=FIRM,
               reconcile_grace_seconds=grace)  # type: ignore[arg-type]
    biller = Biller(InMemoryStore(), InMemoryGateway(), clock=FixedClock(T0), firm_id=FIRM)
    with pytest.raises(ValidationError):
        biller.reconcile(grace_seconds=grace)  # type: ignore[arg-type]

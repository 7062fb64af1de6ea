"""The batched run (``docs/batching.md``) on the in-memory store, a real SQLite file and
PostgreSQL: savepoints, a crash at every boundary of the batch, one bad agreement
among good ones, concurrent gateway calls and rate limits.

A crash here is a :class:`Crash` (a ``BaseException``, which nothing in the
Biller catches) raised by the fault hook: the transaction open at that moment
rolls back, as it would when the process dies, and whatever committed stays.
``tests/integration/test_engine_crash.py`` kills real processes on SQLite.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from milestonebill.agreement import AgreementId
from milestonebill.clock import FixedClock
from milestonebill.engine import WorkerId
from milestonebill.errors import GatewayRateLimitedError
from milestonebill.gateways.base import ChargeRequest, ChargeResult, ChargeStatus
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.invoicing import invoice_balance
from milestonebill.schedule import Milestone, MilestoneId, PaymentTerms, Trigger
from milestonebill.stores.base import BillingStore
from milestonebill.stores.batch import Savepoints
from milestonebill.stores.memory import InMemoryStore
from milestonebill.testing.faults import BATCH_STEPS, Faults
from milestonebill.testing.scenarios import FIRM, T0, World, proposal, usd

AS_OF = T0.date()
N = 3
StoreFactory = Callable[[FixedClock], BillingStore]


class Crash(BaseException):
    """The worker dies here."""


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def open_store(request: pytest.FixtureRequest) -> StoreFactory:
    """Stores on one database of the parameter's kind (``open_sqlite``, ``open_postgres``)."""
    if request.param == "memory":
        return lambda clock: InMemoryStore(clock=clock)
    opener = request.getfixturevalue(f"open_{request.param}")
    return lambda clock: opener(clock=clock)


def _offer() -> Any:
    return proposal([
        Milestone(MilestoneId("deposit"), "Deposit", amount=usd("1000.00"),
                  trigger=Trigger.ON_SIGNING),
        Milestone(MilestoneId("kickoff"), "Kickoff", amount=usd("250.00"),
                  trigger=Trigger.ON_DATE, due_on=AS_OF, terms=PaymentTerms.net(30)),
    ])


def _world(store: BillingStore, clock: FixedClock, faults: Faults | None = None,
           gateway: Any = None, **settings: Any) -> tuple[World[Any], list[AgreementId]]:
    w: World[Any] = World(store, clock=clock, faults=faults,
                          gateway=gateway if gateway is not None else InMemoryGateway(),
                          batch_size=N, **settings)
    ids = [AgreementId(f"agr-{i}") for i in range(N)]
    for aid in ids:
        w.open(_offer(), agreement_id=aid)
    return w, ids


def _assert_billed_once(w: World[Any], store: BillingStore, ids: list[AgreementId]) -> None:
    agreements = [w.biller.load(a) for a in ids]
    invoices = [i for a in agreements for i in a.invoices]
    assert len(invoices) == 2 * N
    assert sorted(r.number for r in store.invoices(FIRM)) == list(range(1, 2 * N + 1))
    charged = Counter(c.invoice_id for c in w.gateway.charges)
    assert charged == Counter({i.id: 1 for i in invoices})
    keys = Counter(x.idempotency_key for a in agreements for x in a.attempts)
    assert set(keys.values()) == {1}
    for a in agreements:
        assert [invoice_balance(a, i.id) for i in a.invoices] == [usd("0.00")] * 2
    assert sum(m.minor for m in store.balances(currency="USD").values()) == 0
    assert store.unfinished_attempts() == []
    assert store.list_due(AS_OF) == []


# ------------------------------------------------------------ savepoints


def test_a_savepoint_that_fails_rolls_back_only_its_own_writes(open_store: StoreFactory) -> None:
    store = open_store(FixedClock(T0))
    assert isinstance(store, Savepoints)
    with store.transaction():
        store.add_notification("kept-1", None, "test", {})

        def fail() -> None:
            with store.savepoint():
                store.add_notification("lost", None, "test", {})
                raise ValueError("bad")

        with pytest.raises(ValueError, match="bad"):
            fail()
        with store.savepoint():
            store.add_notification("kept-2", None, "test", {})
    assert [n.key for n in store.pending_notifications()] == ["kept-1", "kept-2"]


# ------------------------------------------------------------ crashes


CASES = [(step, n) for step in BATCH_STEPS for n in (1, 2)]


@pytest.mark.parametrize(("step", "occurrence"), CASES, ids=[f"{s}-{n}" for s, n in CASES])
@pytest.mark.parametrize("recover", ["run", "reconcile"])
def test_a_crash_at_any_boundary_of_a_batch_loses_nothing_and_charges_once(
        open_store: StoreFactory, step: str, occurrence: int, recover: str) -> None:
    clock = FixedClock(T0)
    store = open_store(clock)
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def hook(at: str) -> None:
        with lock:
            seen[at] += 1
            if at == step and seen[at] == occurrence:
                raise Crash(at)

    w, ids = _world(store, clock, Faults(hook))
    with pytest.raises(Crash):
        w.biller.run(AS_OF)
    # An hour later: the victim's leases ran out, its attempts are past the grace.
    clock.advance(timedelta(hours=1))
    rescuer = w.worker(worker_id=WorkerId("rescuer"))
    if recover == "reconcile":
        rescuer.reconcile()
    assert rescuer.run(AS_OF).problems == ()
    _assert_billed_once(w, store, ids)


def test_a_batch_without_crashes_bills_every_agreement_once(open_store: StoreFactory) -> None:
    clock = FixedClock(T0)
    store = open_store(clock)
    w, ids = _world(store, clock)
    summary = w.biller.run(AS_OF)
    assert (summary.problems, len(summary.invoices), len(summary.charges)) == ((), 2 * N, 2 * N)
    _assert_billed_once(w, store, ids)
    assert w.biller.run(AS_OF).invoices == ()


def test_one_bad_agreement_in_a_batch_is_parked_and_the_others_are_billed(
        open_store: StoreFactory) -> None:
    clock = FixedClock(T0)
    store = open_store(clock)
    bad = AgreementId("agr-1")

    def hook(at: str) -> None:
        if at == "before_attempt" and faults.agreement_id == bad:
            raise ValueError("poisoned")

    faults = Faults(hook)
    w, ids = _world(store, clock, faults)
    summary = w.biller.run(AS_OF)
    assert [p.agreement_id for p in summary.parked] == [bad]
    # Its savepoint rolled the batch's work back; billed alone, as before
    # batches, its invoices are issued and its first charge intent fails again.
    assert [len(w.biller.load(a).invoices) for a in ids] == [2, 2, 2]
    assert sorted({c.agreement_id for c in summary.charges}) == [a for a in ids if a != bad]
    assert len(w.gateway.charges) == 2 * (N - 1)


# ------------------------------------------------------------ concurrent gateway calls


class _Overlapping:
    """An in-memory gateway whose calls wait for each other, counting how many overlap."""

    def __init__(self, inner: InMemoryGateway, parties: int) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self._barrier = threading.Barrier(parties, timeout=10) if parties > 1 else None
        self.in_flight = 0
        self.most = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def charge(self, request: ChargeRequest) -> ChargeResult:
        with self._lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        try:
            if self._barrier is not None:
                self._barrier.wait()  # every party is in flight before any answers
            return self._inner.charge(request)
        finally:
            with self._lock:
                self.in_flight -= 1


@pytest.mark.parametrize("width", [1, 2, 3])
def test_gateway_calls_overlap_up_to_the_pool_size(width: int) -> None:
    clock = FixedClock(T0)
    inner = InMemoryGateway()
    gateway = _Overlapping(inner, width)
    # 2 charges per agreement, 6 in all: a multiple of every width tried.
    w, _ = _world(InMemoryStore(clock=clock), clock, gateway=gateway,
                    gateway_concurrency=width)
    summary = w.biller.run(AS_OF)
    assert (summary.problems, gateway.most) == ((), width)
    assert len(inner.charges) == 2 * N
    assert all(c.status is ChargeStatus.SUCCEEDED for c in summary.charges)


class _Threads(_Overlapping):
    """Also remembers every thread that made a call."""

    def __init__(self, inner: InMemoryGateway, parties: int) -> None:
        super().__init__(inner, parties)
        self.threads: set[threading.Thread] = set()

    def charge(self, request: ChargeRequest) -> ChargeResult:
        with self._lock:
            self.threads.add(threading.current_thread())
        return super().charge(request)


def test_every_batch_of_a_run_shares_its_gateway_threads_and_the_run_stops_them() -> None:
    clock = FixedClock(T0)
    inner = InMemoryGateway()
    gateway = _Threads(inner, 2)
    w: World[Any] = World(InMemoryStore(clock=clock), clock=clock, gateway=gateway,
                          batch_size=1, gateway_concurrency=2)
    for i in range(N):
        w.open(_offer(), agreement_id=AgreementId(f"agr-{i}"))
    summary = w.biller.run(AS_OF)
    assert (summary.problems, len(inner.charges)) == ((), 2 * N)
    # Three batches of two concurrent charges each, on the same two threads.
    assert len(gateway.threads) == 2
    assert not any(t.is_alive() for t in gateway.threads)


class _RateLimited:
    """An in-memory gateway that answers 429 the first ``times`` times it sees each key."""

    def __init__(self, inner: InMemoryGateway, times: int) -> None:
        self._inner = inner
        self._times = times
        self._lock = threading.Lock()
        self.asked: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def charge(self, request: ChargeRequest) -> ChargeResult:
        with self._lock:
            self.asked[request.idempotency_key] += 1
            limited = self.asked[request.idempotency_key] <= self._times
        if limited:
            raise GatewayRateLimitedError("slow down", retry_after=0.0)
        return self._inner.charge(request)


def test_a_rate_limited_charge_backs_off_and_asks_again_with_the_same_key() -> None:
    clock = FixedClock(T0)
    inner = InMemoryGateway()
    gateway = _RateLimited(inner, times=3)  # more than same_key_retries (2)
    w, _ = _world(InMemoryStore(clock=clock), clock, gateway=gateway)
    summary = w.biller.run(AS_OF)
    assert summary.problems == ()
    assert set(gateway.asked.values()) == {4}  # three 429s, then the charge, one key each
    assert len(inner.charges) == 2 * N


def test_a_charge_still_rate_limited_after_the_retries_is_left_for_reconcile() -> None:
    clock = FixedClock(T0)
    inner = InMemoryGateway()
    gateway = _RateLimited(inner, times=10)
    store = InMemoryStore(clock=clock)
    w, _ = _world(store, clock, gateway=gateway, rate_limit_retries=2,
                    reconcile_grace_seconds=0.0)
    summary = w.biller.run(AS_OF)
    assert {p.error for p in summary.problems} == {"GatewayRateLimitedError"}
    assert {c.status for c in summary.charges} == {ChargeStatus.FAILED_RETRYABLE}
    assert w.gateway.charges == ()
    while store.unfinished_attempts():
        w.biller.reconcile()
    assert len(inner.charges) == 2 * N
    assert len({rec.invoice_id for rec in inner.charges}) == 2 * N

"""Fairness of ``TenantScheduler``, for any tenants, amounts of due work and batch.

Fake Billers hand out their tenant's due agreements ``limit`` at a time and
record each turn with the work the tenant had before it; some fail on a
chosen turn.  Whatever the mix:

* between two turns of a tenant with work, every other tenant that had work
  (and had not failed) got a turn;
* every due agreement of a tenant that never failed is billed exactly once;
* a tenant with at most ``batch`` agreements due is done in its first turn;
* a failing tenant is reported and stops no one else.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Self

from hypothesis import given, settings
from hypothesis import strategies as st

from milestonebill.agreement import AgreementId
from milestonebill.engine import RunSummary, TenantScheduler
from milestonebill.errors import StoreError
from milestonebill.ids import TenantId
from milestonebill.stores.tenancy import DEFAULT_TENANT, PlatformStore

AS_OF = date(2026, 3, 2)


class Platform:
    def __init__(self, names: list[TenantId]) -> None:
        self.names = names

    def tenants(self) -> list[TenantId]:
        return sorted(self.names)

    def rename_tenant(self, old: str, new: str) -> None:
        raise NotImplementedError


class Store:
    def __init__(self, names: list[TenantId]) -> None:
        self._platform = Platform(names)

    @property
    def tenant(self) -> TenantId:
        return DEFAULT_TENANT

    def for_tenant(self, tenant: str) -> Self:
        raise NotImplementedError

    def platform(self) -> PlatformStore:
        return self._platform


class Turn:
    def __init__(self, tenant: TenantId, had: int, took: int) -> None:
        self.tenant, self.had, self.took = tenant, had, took


class Queue:
    """A tenant's due agreements; ``log`` sees each turn (failed ones too)."""

    def __init__(self, tenant: TenantId, due: int, log: list[Turn], fail_on: int | None) -> None:
        self._tenant = tenant
        self.due = [AgreementId(f"{tenant}/{i}") for i in range(due)]
        self.billed: list[AgreementId] = []
        self.log, self.fail_on, self.turns = log, fail_on, 0

    @property
    def tenant(self) -> TenantId:
        return self._tenant

    def turns_at(self, i: int, log: list[Turn]) -> int:
        """Which of this tenant's turns turn ``i`` of the log was (from 1)."""
        return sum(1 for t in log[:i + 1] if t.tenant == self._tenant)

    def run(self, as_of: date, *, limit: int | None = None) -> RunSummary:
        self.turns += 1
        had = len(self.due)
        if self.turns == self.fail_on:
            self.log.append(Turn(self._tenant, had, 0))
            raise StoreError("down")
        n = had if limit is None else limit
        taken, self.due = self.due[:n], self.due[n:]
        self.billed.extend(taken)
        self.log.append(Turn(self._tenant, had, len(taken)))
        return RunSummary(as_of, agreements=tuple(taken))


workloads = st.lists(
    st.tuples(st.one_of(st.integers(0, 40), st.sampled_from([0, 1, 10, 200, 1000])),
              st.one_of(st.none(), st.integers(1, 6))),
    min_size=1, max_size=7)


def _run(work: list[tuple[int, int | None]], batch: int
         ) -> tuple[list[Turn], dict[TenantId, Queue], TenantScheduler]:
    names = [TenantId(f"t{i}") for i in range(len(work))]
    log: list[Turn] = []
    queues = {t: Queue(t, due, log, fail) for t, (due, fail) in zip(names, work, strict=True)}
    scheduler = TenantScheduler(Store(names), queues.__getitem__, batch=batch)
    scheduler.run(AS_OF)
    return log, queues, scheduler


@settings(max_examples=200, deadline=None)
@given(workloads, st.integers(1, 60))
def test_between_two_turns_of_a_tenant_every_other_tenant_with_work_has_one(
        work: list[tuple[int, int | None]], batch: int) -> None:
    log, queues, _ = _run(work, batch)
    left = {t: due for t, (due, _) in zip(sorted(queues), work, strict=True)}
    failed: set[TenantId] = set()
    for i, turn in enumerate(log):
        with_work = {t for t, n in left.items() if n > 0 and t not in failed}
        nxt = next((j for j in range(i + 1, len(log)) if log[j].tenant == turn.tenant), None)
        if turn.tenant in with_work and nxt is not None:
            between = {log[k].tenant for k in range(i + 1, nxt)}
            assert with_work - {turn.tenant} <= between
        left[turn.tenant] -= turn.took
        if queues[turn.tenant].fail_on == queues[turn.tenant].turns_at(i, log):
            failed.add(turn.tenant)


@settings(max_examples=200, deadline=None)
@given(workloads, st.integers(1, 60))
def test_every_agreement_of_a_tenant_that_never_failed_is_billed_once(
        work: list[tuple[int, int | None]], batch: int) -> None:
    _, queues, scheduler = _run(work, batch)
    for t, q in queues.items():
        assert set(Counter(q.billed).values()) <= {1}
        if t in scheduler.failures:
            assert q.turns == q.fail_on
        else:
            assert q.due == []
    assert set(scheduler.failures) == {t for t, q in queues.items()
                                       if q.fail_on is not None and q.fail_on <= q.turns}


@settings(max_examples=200, deadline=None)
@given(workloads, st.integers(1, 60))
def test_a_tenant_with_at_most_a_batch_due_is_done_in_its_first_turn(
        work: list[tuple[int, int | None]], batch: int) -> None:
    log, queues, _ = _run(work, batch)
    for t, q in queues.items():
        first = next(x for x in log if x.tenant == t)
        if first.had <= batch and q.fail_on != 1:
            assert first.took == first.had

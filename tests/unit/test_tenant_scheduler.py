"""``TenantScheduler``: fair turns over the tenants a platform lists.

Most tests use a small fake platform and fake Billers that record the order
of turns (the scheduler only calls ``platform().tenants()`` and
``Biller.run(as_of, limit=...)``); the last ones run real Billers.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Self

import pytest

from milestonebill.agreement import AgreementId
from milestonebill.clock import FixedClock
from milestonebill.engine import Biller, RunSummary, TenantFailure, TenantScheduler
from milestonebill.errors import StoreError, ValidationError
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.ids import TenantId
from milestonebill.schedule import Milestone, MilestoneId, Trigger
from milestonebill.stores.memory import InMemoryStore
from milestonebill.stores.tenancy import DEFAULT_TENANT, PlatformStore
from milestonebill.testing.scenarios import FIRM, T0, World, proposal, usd

AS_OF = T0.date()
Turn = tuple[str, int]


class FakePlatform:
    """Lists the tenants it is given (a list the test may change meanwhile)."""

    def __init__(self, tenants: list[str]) -> None:
        self.names = tenants

    def tenants(self) -> list[TenantId]:
        return sorted(TenantId(t) for t in self.names)

    def rename_tenant(self, old: str, new: str) -> None:
        raise NotImplementedError


class FakeStore:
    """Just enough of a tenant-bound store for the scheduler: its platform."""

    def __init__(self, platform: FakePlatform) -> None:
        self._platform = platform

    @property
    def tenant(self) -> TenantId:
        return DEFAULT_TENANT

    def for_tenant(self, tenant: str) -> Self:
        raise NotImplementedError

    def platform(self) -> PlatformStore:
        return self._platform


class FakeBiller:
    """A tenant's due agreements, handed out ``limit`` at a time; logs each turn."""

    def __init__(self, tenant: str, due: int, log: list[Turn], *,
                 fail_on_turn: int | None = None) -> None:
        self._tenant = TenantId(tenant)
        self.due = [AgreementId(f"{tenant}-{i}") for i in range(due)]
        self.log = log
        self.turns = 0
        self.fail_on_turn = fail_on_turn

    @property
    def tenant(self) -> TenantId:
        return self._tenant

    def run(self, as_of: date, *, limit: int | None = None) -> RunSummary:
        self.turns += 1
        if self.turns == self.fail_on_turn:
            raise StoreError(f"{self._tenant}: connection refused")
        n = len(self.due) if limit is None else limit
        taken, self.due = self.due[:n], self.due[n:]
        self.log.append((self._tenant, len(taken)))
        return RunSummary(as_of, agreements=tuple(taken))


def schedule(due: dict[str, int], batch: int, **fails: int
             ) -> tuple[TenantScheduler, list[Turn], dict[str, FakeBiller]]:
    log: list[Turn] = []
    billers = {t: FakeBiller(t, n, log, fail_on_turn=fails.get(t)) for t, n in due.items()}
    return (TenantScheduler(FakeStore(FakePlatform(list(due))), lambda t: billers[t],
                            batch=batch), log, billers)


def test_tenants_take_turns_of_at_most_batch_agreements() -> None:
    scheduler, log, _ = schedule({"a": 5, "b": 3, "c": 0}, batch=2)
    scheduler.run(AS_OF)
    assert log == [("a", 2), ("b", 2), ("c", 0), ("a", 2), ("b", 1),
                   ("a", 1), ("b", 0), ("a", 0)]


def test_each_tenants_summary_combines_all_its_turns() -> None:
    scheduler, _, _ = schedule({"a": 5, "b": 3, "c": 0}, batch=2)
    summaries = scheduler.run(AS_OF)
    assert {t: s.counts.agreements for t, s in summaries.items() if s.counts} == {
        "a": 5, "b": 3, "c": 0}
    assert summaries[TenantId("a")].agreements == tuple(f"a-{i}" for i in range(5))


def test_a_small_tenant_is_done_in_its_first_turn_beside_a_large_one() -> None:
    scheduler, log, billers = schedule({"big": 10_000, "small": 10}, batch=50)
    scheduler.run(AS_OF)
    assert log[:2] == [("big", 50), ("small", 10)]
    assert billers["small"].due == []
    assert sum(n for t, n in log if t == "big") == 10_000


def test_each_run_starts_one_tenant_further_on() -> None:
    scheduler, log, _ = schedule({"a": 0, "b": 0, "c": 0}, batch=5)
    firsts = []
    for _ in range(4):
        log.clear()
        scheduler.run(AS_OF)
        firsts.append(log[0][0])
    assert firsts == ["a", "b", "c", "a"]


def test_biller_for_is_called_once_per_tenant_for_the_schedulers_life() -> None:
    calls: list[str] = []
    log: list[Turn] = []

    def biller_for(t: TenantId) -> FakeBiller:
        calls.append(t)
        return FakeBiller(t, 3, log)

    scheduler = TenantScheduler(FakeStore(FakePlatform(["a", "b"])), biller_for, batch=1)
    scheduler.run(AS_OF)
    scheduler.run(AS_OF)
    assert calls == ["a", "b"]


def test_a_tenant_whose_run_raises_is_reported_and_the_others_are_billed() -> None:
    scheduler, _, billers = schedule({"a": 4, "b": 4, "c": 4}, batch=2, b=2)
    summaries = scheduler.run(AS_OF)
    assert scheduler.failures == {
        "b": TenantFailure(TenantId("b"), "StoreError", "b: connection refused")}
    assert (billers["a"].due, billers["c"].due, len(billers["b"].due)) == ([], [], 2)
    assert summaries[TenantId("b")].agreements == ("b-0", "b-1")


def test_failures_are_those_of_the_last_run() -> None:
    scheduler, _, _ = schedule({"a": 1}, batch=2, a=1)
    scheduler.run(AS_OF)
    assert list(scheduler.failures) == ["a"]
    scheduler.run(AS_OF)
    assert scheduler.failures == {}


def test_a_tenant_whose_biller_cannot_be_made_is_reported_and_tried_next_run() -> None:
    log: list[Turn] = []
    broken = [True]

    def biller_for(t: TenantId) -> FakeBiller:
        if t == "b" and broken[0]:
            raise StoreError("no credentials for b")
        return FakeBiller(t, 1, log)

    scheduler = TenantScheduler(FakeStore(FakePlatform(["a", "b"])), biller_for)
    scheduler.run(AS_OF)
    assert (log, scheduler.failures[TenantId("b")].error) == ([("a", 1), ("a", 0)], "StoreError")
    broken[0] = False
    scheduler.run(AS_OF)
    assert ("b", 1) in log


def test_a_biller_bound_to_another_tenant_is_refused_before_it_bills() -> None:
    log: list[Turn] = []
    wrong = FakeBiller("a", 3, log)
    scheduler = TenantScheduler(FakeStore(FakePlatform(["b"])), lambda t: wrong)
    scheduler.run(AS_OF)
    assert log == []
    assert scheduler.failures[TenantId("b")].error == "ValidationError"
    assert "biller_for" in scheduler.failures[TenantId("b")].message


def test_a_tenant_registered_during_a_run_gets_turns_in_it() -> None:
    names = ["a"]
    log: list[Turn] = []
    billers: dict[str, FakeBiller] = {}

    def biller_for(t: TenantId) -> FakeBiller:
        if t == "a":
            names.append("b")  # b signs up while a is being billed
        billers[t] = FakeBiller(t, 2, log)
        return billers[t]

    TenantScheduler(FakeStore(FakePlatform(names)), biller_for, batch=1).run(AS_OF)
    assert billers["b"].due == []
    assert log[:3] == [("a", 1), ("b", 1), ("a", 1)]


def test_work_that_comes_back_due_the_same_day_ends_the_tenants_run() -> None:
    log: list[Turn] = []

    class Again(FakeBiller):
        def run(self, as_of: date, *, limit: int | None = None) -> RunSummary:
            self.log.append((self.tenant, 1))
            return RunSummary(as_of, agreements=(AgreementId("stuck"),))

    scheduler = TenantScheduler(FakeStore(FakePlatform(["a"])), lambda t: Again(t, 0, log))
    summaries = scheduler.run(AS_OF)
    assert log == [("a", 1), ("a", 1)]
    assert summaries[TenantId("a")].agreements == ("stuck", "stuck")


def test_a_tenants_summary_keeps_at_most_summary_limit_results() -> None:
    log: list[Turn] = []
    scheduler = TenantScheduler(FakeStore(FakePlatform(["a"])), lambda t: FakeBiller(t, 7, log),
                                batch=2, summary_limit=3)
    s = scheduler.run(AS_OF)[TenantId("a")]
    assert (len(s.agreements), s.counts.agreements if s.counts else None, s.complete) == (
        3, 7, False)


@pytest.mark.parametrize(("field", "args"), [
    ("store", {"store": object()}),
    ("biller_for", {"biller_for": "acme"}),
    ("batch", {"batch": 0}),
    ("batch", {"batch": True}),
    ("summary_limit", {"summary_limit": -1}),
])
def test_bad_settings_are_refused_naming_the_setting(field: str, args: dict[str, Any]) -> None:
    kwargs: dict[str, Any] = {"store": FakeStore(FakePlatform([])),
                              "biller_for": lambda t: None, **args}
    store, biller_for = kwargs.pop("store"), kwargs.pop("biller_for")
    with pytest.raises(ValidationError) as e:
        TenantScheduler(store, biller_for, **kwargs)
    assert e.value.field == field


def test_a_bad_as_of_is_refused_before_any_turn() -> None:
    scheduler, log, _ = schedule({"a": 1}, batch=1)
    with pytest.raises(ValidationError) as e:
        scheduler.run("2026-03-02")  # type: ignore[arg-type]
    assert (e.value.field, log) == ("as_of", [])


# ------------------------------------------------------------ real Billers

DEPOSIT = Milestone(MilestoneId("deposit"), "Deposit", amount=usd("100.00"),
                    trigger=Trigger.ON_SIGNING)


def test_a_biller_on_a_store_without_tenants_bills_the_default_tenant() -> None:
    biller = Biller(InMemoryStore(), InMemoryGateway(), clock=FixedClock(T0), firm_id=FIRM)
    assert biller.tenant == DEFAULT_TENANT


def test_a_biller_bills_the_tenant_its_store_is_bound_to() -> None:
    acme = InMemoryStore(tenant="acme")
    billers = [Biller(s, InMemoryGateway(), clock=FixedClock(T0), firm_id=FIRM)
               for s in (acme, acme.for_tenant("bolt"))]
    assert [b.tenant for b in billers] == ["acme", "bolt"]


def test_the_scheduler_drives_real_billers_in_turns_and_bills_each_agreement_once() -> None:
    w = World(clock=FixedClock(T0), batch_size=2)
    for i in range(7):
        w.open(proposal([DEPOSIT]), agreement_id=AgreementId(f"agr-{i}"))
    scheduler = TenantScheduler(FakeStore(FakePlatform([DEFAULT_TENANT])), lambda t: w.biller,
                                batch=3)
    s = scheduler.run(AS_OF)[DEFAULT_TENANT]
    assert (len(s.invoices), len(w.gateway.charges)) == (7, 7)
    assert sorted(r.number for r in w.store.invoices(FIRM)) == list(range(1, 8))
    assert w.store.list_due(AS_OF) == []

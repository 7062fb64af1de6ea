"""``Biller.run(as_of, limit=n)`` claims at most ``n`` agreements and bills each once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from milestonebill.agreement import AgreementId
from milestonebill.clock import FixedClock
from milestonebill.errors import ValidationError
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.schedule import Milestone, MilestoneId, Trigger
from milestonebill.stores.base import BillingStore
from milestonebill.stores.memory import InMemoryStore
from milestonebill.stores.sqlite import SQLiteStore
from milestonebill.testing.scenarios import FIRM, T0, World, proposal, usd

DEPOSIT = Milestone(MilestoneId("deposit"), "Deposit", amount=usd("100.00"),
                    trigger=Trigger.ON_SIGNING)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BillingStore]:
    clock = FixedClock(T0)
    opened: Any = (InMemoryStore(clock=clock) if request.param == "memory"
                   else SQLiteStore(tmp_path / "billing.db", clock=clock))
    yield opened
    if request.param == "sqlite":
        opened.close()


def world_of(store: BillingStore, n: int, **settings: Any) -> World[InMemoryGateway]:
    w = World(store, clock=FixedClock(T0), **settings)
    for i in range(n):
        w.open(proposal([DEPOSIT]), agreement_id=AgreementId(f"agr-{i:02d}"))
    return w


def test_a_limited_run_bills_exactly_that_many_agreements(store: BillingStore) -> None:
    w = world_of(store, 10)
    summary = w.biller.run(w.clock.today(), limit=3)
    assert (len(summary.agreements), len(summary.invoices), len(w.gateway.charges)) == (3, 3, 3)
    assert len(store.list_due(w.clock.today())) == 7


def test_the_next_limited_run_bills_the_next_ones_and_nothing_twice(
        store: BillingStore) -> None:
    w = world_of(store, 10)
    first = w.biller.run(w.clock.today(), limit=3)
    second = w.biller.run(w.clock.today(), limit=3)
    assert len(second.invoices) == 3
    assert set(first.agreements).isdisjoint(second.agreements)
    assert sorted(r.number for r in store.invoices(FIRM)) == [1, 2, 3, 4, 5, 6]
    assert set(Counter(c.invoice_id for c in w.gateway.charges).values()) == {1}


def test_limited_runs_until_empty_bill_every_agreement_once(store: BillingStore) -> None:
    w = world_of(store, 10)
    turns = []
    while (n := len(w.biller.run(w.clock.today(), limit=4).agreements)) > 0:
        turns.append(n)
    assert turns == [4, 4, 2]
    assert sorted(r.number for r in store.invoices(FIRM)) == list(range(1, 11))
    assert len(w.gateway.charges) == 10


def test_a_limit_above_the_claim_batch_spans_several_batches(store: BillingStore) -> None:
    w = world_of(store, 10, batch_size=2)
    summary = w.biller.run(w.clock.today(), limit=5)
    assert len(summary.invoices) == 5
    assert len(store.list_due(w.clock.today())) == 5


def test_a_limit_beyond_the_work_due_bills_it_all(store: BillingStore) -> None:
    w = world_of(store, 4)
    assert len(w.biller.run(w.clock.today(), limit=100).invoices) == 4


@pytest.mark.parametrize("limit", [0, -1, True, 2.0, "3"])
def test_a_limit_that_is_not_a_count_of_at_least_one_is_refused(limit: object) -> None:
    w = world_of(InMemoryStore(clock=FixedClock(T0)), 2)
    with pytest.raises(ValidationError) as e:
        w.biller.run(w.clock.today(), limit=limit)  # type: ignore[arg-type]
    assert (e.value.field, e.value.value) == ("limit", limit)
    assert not w.gateway.charges
    assert len(w.store.list_due(w.clock.today())) == 2

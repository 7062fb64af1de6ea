"""Properties of the batched run: exactly once whatever the batch, the pool and the
agreements that fail in it; a summary that counts everything and keeps a bounded part."""

from __future__ import annotations

from collections import Counter
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from milestonebill.agreement import AgreementId
from milestonebill.clock import FixedClock
from milestonebill.engine.results import Tally
from milestonebill.schedule import Milestone, MilestoneId, Trigger
from milestonebill.stores.memory import InMemoryStore
from milestonebill.testing.faults import Faults
from milestonebill.testing.scenarios import T0, World, proposal, usd


@given(n=st.integers(0, 50), limit=st.integers(0, 60))
def test_a_kept_list_counts_everything_and_keeps_the_first_up_to_its_limit(
        n: int, limit: int) -> None:
    items = [AgreementId(f"agr-{i}") for i in range(n)]
    seen: list[object] = []
    tally = Tally(date(2026, 1, 1), limit=limit, sink=seen.append)
    tally.agreements.extend(items)
    summary = tally.freeze()
    assert summary.counts is not None
    assert (list(summary.agreements), summary.counts.agreements) == (items[:limit], n)
    assert seen == items
    assert summary.complete is (len(items) <= limit)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 7), batch=st.integers(1, 5), width=st.integers(1, 4),
       bad=st.sets(st.integers(0, 6)),
       step=st.sampled_from(["before_issue", "before_attempt", "before_charge",
                             "before_outcome"]))
def test_every_good_agreement_is_billed_once_whatever_the_batch_and_the_failures(
        n: int, batch: int, width: int, bad: set[int], step: str) -> None:
    clock = FixedClock(T0)
    ids = [AgreementId(f"agr-{i}") for i in range(n)]
    poisoned = {ids[i] for i in bad if i < n}

    def hook(at: str) -> None:
        if at == step and faults.agreement_id in poisoned:
            raise ValueError("poisoned")

    faults = Faults(hook)
    w = World(InMemoryStore(clock=clock), clock=clock, faults=faults, batch_size=batch,
              gateway_concurrency=width)
    offer = proposal([Milestone(MilestoneId("deposit"), "Deposit", amount=usd("100.00"),
                                trigger=Trigger.ON_SIGNING)])
    for aid in ids:
        w.open(offer, agreement_id=aid)
    summary = w.biller.run(T0.date())
    assert {p.agreement_id for p in summary.parked} <= poisoned
    charged = Counter(c.agreement_id for c in w.gateway.charges)
    assert all(charged[a] == 1 for a in ids if a not in poisoned)
    assert all(charged[a] <= 1 for a in poisoned)
    assert sum(m.minor for m in w.store.balances(currency="USD").values()) == 0
    # Nothing is left claimed or half-done: a second run bills nothing new.
    again = w.worker().run(T0.date())
    assert again.counts is not None
    assert again.counts.invoices == 0
    assert Counter(c.agreement_id for c in w.gateway.charges) == charged

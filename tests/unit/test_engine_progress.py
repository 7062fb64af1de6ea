"""``Biller.run`` and ``Biller.recognise`` report how many agreements they have handled."""

from __future__ import annotations

from datetime import timedelta

import pytest

from milestonebill.agreement import AgreementId
from milestonebill.errors import ValidationError
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.schedule import Milestone, MilestoneId, Trigger
from milestonebill.testing.scenarios import World, proposal, usd

DEPOSIT = Milestone(MilestoneId("deposit"), "Deposit", amount=usd("100.00"),
                    trigger=Trigger.ON_SIGNING)


def world_of(n: int) -> World[InMemoryGateway]:
    w = World()
    for i in range(n):
        w.open(proposal([DEPOSIT]), agreement_id=AgreementId(f"agr-{i}"))
    return w


def test_run_reports_each_agreement_it_handled() -> None:
    w = world_of(3)
    seen: list[int] = []
    summary = w.biller.run(w.clock.today(), progress=seen.append)
    assert (seen, len(summary.invoices)) == ([1, 2, 3], 3)


def test_run_with_nothing_due_reports_nothing() -> None:
    w = world_of(2)
    w.biller.run(w.clock.today())
    seen: list[int] = []
    w.biller.run(w.clock.today(), progress=seen.append)
    assert seen == []


def test_recognise_reports_every_agreement_including_refused_ones() -> None:
    w = world_of(2)
    seen: list[int] = []
    ids = [AgreementId("agr-0"), AgreementId("agr-missing"), AgreementId("agr-1")]
    summary = w.biller.recognise(w.clock.today() + timedelta(days=1), agreement_ids=ids,
                                 progress=seen.append)
    assert (seen, [p.agreement_id for p in summary.problems]) == ([1, 2, 3], ["agr-missing"])


@pytest.mark.parametrize("call", ["run", "recognise"])
def test_a_progress_that_is_not_a_function_is_refused(call: str) -> None:
    w = world_of(1)
    with pytest.raises(ValidationError, match="'progress'"):
        getattr(w.biller, call)(w.clock.today(), progress=3)
    assert w.store.entries() == []

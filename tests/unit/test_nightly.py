"""The nightly job: billing, reconciliation, expired proposals, recognition at month ends."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from milestonebill.engine import NightlySummary, RetryPolicy, nightly
from milestonebill.engine.nightly import is_month_end
from milestonebill.errors import ValidationError
from milestonebill.gateways.base import ChargeStatus
from milestonebill.gateways.memory import Scripted
from milestonebill.ids import ProposalId
from milestonebill.proposals import ProposalStatus
from milestonebill.testing.scenarios import World, proposal, signed_deposit_agreement


def test_a_night_bills_what_is_due_and_a_second_night_does_nothing() -> None:
    w = World()
    w.biller.open(signed_deposit_agreement(signed_on=date(2026, 3, 2)))
    first = nightly(w.biller, date(2026, 3, 2))
    assert [c.status for c in first.run.charges] == [ChargeStatus.SUCCEEDED]
    again = nightly(w.biller, date(2026, 3, 2))
    assert (again.run.invoices, again.run.charges, again.reconciled) == ((), (), ())


def test_revenue_is_recognised_at_a_month_end_only_unless_asked() -> None:
    w = World()
    w.open()
    w.complete("design")
    assert nightly(w.biller, date(2026, 3, 30)).recognition is None
    forced = nightly(w.biller, date(2026, 3, 30), recognise=True).recognition
    assert forced is not None
    assert [str(m) for m in forced.released.values()] == ["1000.00 USD"]
    month_end = nightly(w.biller, date(2026, 3, 31)).recognition
    assert month_end is not None
    assert month_end.entries == ()  # nothing more was earned


def test_open_proposals_past_their_validity_expire() -> None:
    w = World()
    w.biller.propose(proposal([("design", "100.00")], valid_until=date(2026, 3, 10)))
    assert nightly(w.biller, date(2026, 3, 10)).expired == ()
    assert nightly(w.biller, date(2026, 3, 11)).expired == (ProposalId("p-1"),)
    assert w.biller.load_proposal(ProposalId("p-1")).status is ProposalStatus.EXPIRED
    assert nightly(w.biller, date(2026, 3, 12)).expired == ()


def test_a_charge_left_unanswered_is_reconciled_with_its_key() -> None:
    w = World(retry_policy=RetryPolicy(same_key_retries=0))
    w.open()
    w.gateway.script_next(Scripted.time_out_after_charge())
    w.complete("design")
    assert len(w.store.unfinished_attempts()) == 1
    w.clock.advance(timedelta(hours=1))
    summary = nightly(w.biller, date(2026, 3, 2))
    assert [o.status for o in summary.reconciled] == [ChargeStatus.SUCCEEDED]
    assert (w.store.unfinished_attempts(), len(w.gateway.charges)) == ([], 1)


def test_the_summary_round_trips_through_json() -> None:
    w = World()
    w.open()
    w.complete("design")
    summary = nightly(w.biller, date(2026, 3, 31))
    assert NightlySummary.from_json(summary.to_json()) == summary
    assert summary.to_json()["recognition"]["as_of"] == "2026-03-31"


def test_bad_arguments_are_named() -> None:
    w = World()
    with pytest.raises(ValidationError) as info:
        nightly(w.biller, date(2026, 3, 31), recognise="yes")  # type: ignore[arg-type]
    assert info.value.field == "recognise"
    with pytest.raises(ValidationError) as info:
        nightly(w.biller, "2026-03-31")  # type: ignore[arg-type]
    assert info.value.field == "as_of"


@pytest.mark.parametrize(("day", "end"), [(date(2026, 1, 31), True), (date(2026, 2, 28), True),
                                          (date(2028, 2, 28), False), (date(2026, 4, 30), True),
                                          (date(2026, 12, 31), True), (date(2026, 12, 30), False)])
def test_a_month_end_is_the_last_day_of_its_month(day: date, end: bool) -> None:
    assert is_month_end(day) is end

"""The Biller's verbs for what a host tells it: completions, progress, amendments.

Each is recorded once however often a request is retried, and a refused
one stores nothing.  Run on the in-memory store and on a real SQLite file.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from milestonebill.agreement import Amendment as AmendmentSpec
from milestonebill.agreement import (
    AmendmentId,
    AmendmentStatus,
    ApprovalRules,
    ChangeMilestoneAmount,
    MilestoneCompleted,
    ObligationTerms,
    PackageOption,
    Progress,
    Proposal,
    ProposalId,
)
from milestonebill.clock import FixedClock
from milestonebill.errors import (
    DuplicateIdError,
    InvalidTransitionError,
    NotFoundError,
    ValidationError,
)
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.ids import AgreementId, InvoiceId, MilestoneId, ObligationId
from milestonebill.schedule import BillingSchedule, Milestone
from milestonebill.stores.sqlite import SQLiteStore
from milestonebill.testing.scenarios import AGREEMENT, T0, World, proposal, usd

DESIGN = MilestoneId("design")


@pytest.fixture(params=["memory", "sqlite"])
def w(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World[InMemoryGateway]]:
    if request.param == "memory":
        world = World()
    else:
        clock = FixedClock(T0)
        world = World(SQLiteStore(tmp_path / "billing.db", clock=clock), clock=clock)
    world.open()
    yield world
    close = getattr(world.store, "close", None)
    if close is not None:
        close()


def amendment(amount: str = "1200.00", amendment_id: str = "am-1") -> AmendmentSpec:
    return AmendmentSpec(AmendmentId(amendment_id),
                         (ChangeMilestoneAmount(date(2026, 3, 2), DESIGN, usd(amount)),))


# ------------------------------------------------------------------ completions


def test_completing_a_milestone_records_it_without_billing(w: World[InMemoryGateway]) -> None:
    a = w.biller.complete_milestone(AGREEMENT, DESIGN, by="Ada", evidence="sign-off")
    assert a.completions == {DESIGN: date(2026, 3, 2)}
    assert w.biller.load(AGREEMENT) == a
    assert a.invoices == ()
    assert [i.total for i in w.biller.bill(AGREEMENT).invoices] == [usd("1000.00")]


def test_a_retried_completion_with_its_event_id_changes_nothing(
        w: World[InMemoryGateway]) -> None:
    first = w.biller.complete_milestone(AGREEMENT, DESIGN, by="Ada", event_id="req-1")
    w.biller.bill(AGREEMENT)
    w.clock.advance(timedelta(hours=1))
    again = w.biller.complete_milestone(AGREEMENT, DESIGN, by="Ada", event_id="req-1")
    assert again == w.biller.load(AGREEMENT)
    assert [e.event_id for e in again.events if isinstance(e, MilestoneCompleted)] == ["req-1"]
    assert again.version > first.version  # the invoice came in between


def test_completing_a_completed_milestone_without_an_event_id_is_refused(
        w: World[InMemoryGateway]) -> None:
    w.biller.complete_milestone(AGREEMENT, DESIGN, by="Ada")
    version = w.store.version(AGREEMENT)
    with pytest.raises(InvalidTransitionError, match="already completed"):
        w.biller.complete_milestone(AGREEMENT, DESIGN, by="Ada")
    assert w.store.version(AGREEMENT) == version


def test_an_event_id_used_for_another_milestone_is_refused(w: World[InMemoryGateway]) -> None:
    w.biller.complete_milestone(AGREEMENT, DESIGN, by="Ada", event_id="req-1")
    with pytest.raises(DuplicateIdError, match="req-1"):
        w.biller.complete_milestone(AGREEMENT, MilestoneId("build"), by="Ada",
                                    event_id="req-1")


def test_an_unknown_milestone_or_agreement_is_not_found_and_nothing_is_stored(
        w: World[InMemoryGateway]) -> None:
    version = w.store.version(AGREEMENT)
    with pytest.raises(NotFoundError, match="no milestone 'launch'"):
        w.biller.complete_milestone(AGREEMENT, MilestoneId("launch"), by="Ada")
    with pytest.raises(NotFoundError, match="agr-9"):
        w.biller.complete_milestone(AgreementId("agr-9"), DESIGN, by="Ada")
    assert w.store.version(AGREEMENT) == version


def test_an_empty_signer_is_refused_by_name(w: World[InMemoryGateway]) -> None:
    with pytest.raises(ValidationError) as info:
        w.biller.complete_milestone(AGREEMENT, DESIGN, by="")
    assert info.value.field == "by"


def test_a_time_before_the_last_event_is_moved_up_to_it(w: World[InMemoryGateway]) -> None:
    a = w.biller.complete_milestone(AGREEMENT, DESIGN, by="Ada",
                                    at=w.clock.now() - timedelta(days=30))
    assert a.events[-1].effective_at == a.events[-2].effective_at


# ------------------------------------------------------------------ progress


def hours_offer() -> Proposal:
    ob = ObligationTerms(ObligationId("work"), "Work", Progress.HOURS, items=("design",),
                         estimate=Decimal(100))
    plan = BillingSchedule(currency="USD", milestones=[
        Milestone(DESIGN, "Design", amount=usd("5000.00"))])
    return Proposal(ProposalId("p-h"), "Acme", plan.currency,
                    (PackageOption("std", "Std", plan, obligations=(ob,)),))


def test_progress_is_recorded_once_per_event_id() -> None:
    w = World()
    w.open(hours_offer())
    a = w.biller.report_progress(AGREEMENT, "work", "40", as_of=date(2026, 3, 2),
                                 event_id="hours-1")
    again = w.biller.report_progress(AGREEMENT, "work", "40", as_of=date(2026, 3, 2),
                                     event_id="hours-1")
    assert again == a
    assert a.progress("work") == Decimal(40)


def test_progress_on_an_unknown_obligation_is_refused_by_name_and_stores_nothing() -> None:
    w = World()
    w.open(hours_offer())
    version = w.store.version(AGREEMENT)
    with pytest.raises(ValidationError) as info:
        w.biller.report_progress(AGREEMENT, "nope", "4", as_of=date(2026, 3, 2))
    assert (info.value.field, info.value.value) == ("obligation_id", "nope")
    assert w.store.version(AGREEMENT) == version


# ------------------------------------------------------------------ amendments


def test_an_amendment_proposed_twice_is_recorded_once(w: World[InMemoryGateway]) -> None:
    a = w.biller.propose_amendment(AGREEMENT, amendment(), by="Bo")
    again = w.biller.propose_amendment(AGREEMENT, amendment(), by="Bo")
    assert again == a
    assert [r.amendment.id for r in a.amendments] == ["am-1"]


def test_another_amendment_under_a_used_id_is_refused(w: World[InMemoryGateway]) -> None:
    w.biller.propose_amendment(AGREEMENT, amendment(), by="Bo")
    with pytest.raises(DuplicateIdError, match="am-1"):
        w.biller.propose_amendment(AGREEMENT, amendment("1300.00"), by="Bo")


def approving_world() -> World[InMemoryGateway]:
    w = World()
    w.open(proposal([("design", "1000.00"), ("build", "1500.00")],
                    approval=ApprovalRules(require_client_approval=True)))
    return w


def test_an_amendment_waiting_for_the_client_is_approved_once() -> None:
    w = approving_world()
    pending = w.biller.propose_amendment(AGREEMENT, amendment(), by="Bo")
    assert [r.status for r in pending.amendments] == [AmendmentStatus.PENDING]
    approved = w.biller.approve_amendment(AGREEMENT, AmendmentId("am-1"), by="Client")
    assert [r.status for r in approved.amendments] == [AmendmentStatus.APPROVED]
    assert w.biller.approve_amendment(AGREEMENT, AmendmentId("am-1"), by="Client") == approved


def test_approving_an_unknown_amendment_is_not_found() -> None:
    w = approving_world()
    with pytest.raises(NotFoundError, match="am-7"):
        w.biller.approve_amendment(AGREEMENT, AmendmentId("am-7"), by="Client")


def test_a_preview_prices_the_amendment_and_stores_nothing(w: World[InMemoryGateway]) -> None:
    w.biller.complete_milestone(AGREEMENT, DESIGN, by="Ada")
    w.biller.bill(AGREEMENT)
    version = w.store.version(AGREEMENT)
    p = w.biller.preview_amendment(AGREEMENT, amendment("1250.50"))
    assert [str(c.amount) for c in p.charges] == ["250.50 USD"]
    assert p.value_change == usd("250.50")
    assert w.store.version(AGREEMENT) == version


# ------------------------------------------------------------------ invoices


def test_the_agreement_of_an_invoice_is_found_by_the_invoice_id(
        w: World[InMemoryGateway]) -> None:
    w.biller.complete_milestone(AGREEMENT, DESIGN, by="Ada")
    invoice = w.biller.bill(AGREEMENT).invoices[0]
    assert w.biller.agreement_of(invoice.id).invoice(invoice.id) == invoice
    with pytest.raises(NotFoundError):
        w.biller.agreement_of(InvoiceId("inv-nope"))

"""Agreement and proposal summaries: read from the fold, they round-trip through JSON
and what they say is owed is what the agreement says is owed."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from milestonebill.agreement import AgreementSummary, Collection
from milestonebill.errors import InvalidTransitionError
from milestonebill.money import Currency, Money
from milestonebill.proposals import ProposalSummary
from milestonebill.schedule import Milestone
from milestonebill.testing.firm import Firm, generated_firm
from milestonebill.testing.scenarios import CARD, World, proposal
from milestonebill.testing.strategies import exponent_currencies, milestone_lists


@pytest.fixture(scope="module")
def firm() -> Firm:
    return generated_firm(agreements=25, months=10, seed=13)


def test_every_agreement_of_a_firm_round_trips_and_owes_its_invoices_balances(
        firm: Firm) -> None:
    for a in firm.agreements():
        s = AgreementSummary.of(a)
        assert AgreementSummary.from_json(s.to_json()) == s
        assert s.owed == Money.total((a.balance_of(i.id) for i in a.invoices),
                                     currency=a.currency)
        assert [i.id for i in s.invoices] == [i.id for i in a.invoices]
        assert {m.id: m.completed_on for m in s.milestones if m.completed_on} == a.completions


@st.composite
def billed(draw: st.DrawFn) -> tuple[list[Milestone], list[int], bool]:
    currency: Currency = draw(exponent_currencies())
    milestones = draw(milestone_lists(currency, max_size=4))
    done = draw(st.lists(st.integers(0, len(milestones) - 1), unique=True))
    return milestones, done, draw(st.booleans())


@settings(max_examples=40, deadline=None)
@given(billed())
def test_a_billed_agreement_owes_what_its_summary_says(
        case: tuple[list[Milestone], list[int], bool]) -> None:
    milestones, done, pay = case
    w = World()
    amounts = [m.amount for m in milestones if m.amount is not None]
    offer = proposal(milestones, currency=amounts[0].currency,
                     collection=Collection.AUTO_CHARGE if pay else Collection.SEND_INVOICE)
    w.open(offer, payment_method=CARD if pay else None)
    for i in done:
        w.complete(milestones[i].id)
    a = w.load()
    s = AgreementSummary.of(a)
    assert s.owed.minor == (0 if pay else sum(amounts[i].minor for i in done))
    assert AgreementSummary.from_json(s.to_json()) == s


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["send", "view", "decline", "withdraw"]), max_size=4))
def test_a_proposal_summary_round_trips_at_every_step(steps: list[str]) -> None:
    w = World()
    record = w.biller.propose(proposal([("design", "100.00")]))
    for step in steps:
        w.clock.advance(timedelta(hours=1))
        with contextlib.suppress(InvalidTransitionError):  # a step the status does not allow
            record = getattr(w.biller, {"view": "mark_viewed"}.get(step, step))(record.id)
    s = ProposalSummary.of(record)
    assert ProposalSummary.from_json(s.to_json()) == s
    assert s.status == record.status
    assert s.drafted_at == datetime(2026, 3, 2, 9, tzinfo=UTC)

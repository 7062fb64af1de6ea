"""Properties of agreements over random lives: conservation, idempotence, as_of, JSON.

Each example signs a random agreement (milestones of every trigger, recurring
charges of every interval and timing, a second package and an add-on), then
walks forward in time doing random things: amendments of every kind with
every proration policy, completions, pauses, billing runs.  At every step
invoiced - credited + still scheduled must equal the contract value to the
minor unit; at the end the agreement is cancelled and billed far ahead, and
then nothing may be left scheduled.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milestonebill.agreement import (
    Agreement,
    AgreementId,
    AgreementState,
    Amendment,
    AmendmentId,
    CancelAgreement,
    Operation,
    Proposal,
    apply,
    complete_milestone,
    event_from_json,
    event_to_json,
    pause,
    propose,
    resume,
)
from milestonebill.agreement import sign as sign_proposal
from milestonebill.errors import AmendmentError
from milestonebill.invoicing import billing_position, due_credit_notes, due_invoices
from milestonebill.testing.scenarios import bill_due
from milestonebill.testing.strategies import amendment_operations, offers

START = date(2024, 1, 1)
HORIZON = date(2027, 1, 1)


def noon(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, 12, tzinfo=UTC)


def proposals() -> st.SearchStrategy[Proposal]:
    return offers(start=START)




def operation(a: Agreement, today: date, n: int) -> st.SearchStrategy[Operation]:
    return amendment_operations(a, today, n, start=START)


def check_fold(a: Agreement) -> None:
    assert Agreement.from_events(a.events) == a
    for e in a.events:
        assert apply(a, e) is a  # replaying any event changes nothing
    restored = [event_from_json(json.loads(json.dumps(event_to_json(e)))) for e in a.events]
    assert tuple(restored) == a.events


def sign(p: Proposal) -> Agreement:
    return sign_proposal(p, option="a", signer="S", signed_at=noon(START), payment_method=None,
                         agreement_id=AgreementId("agr"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(proposals(), st.data())
def test_conservation_over_random_amendment_sequences(p: Proposal, data: st.DataObject) -> None:
    a = sign(p)
    today = START
    for n in range(data.draw(st.integers(1, 10))):
        today += timedelta(days=data.draw(st.integers(0, 45)))
        action = data.draw(st.sampled_from(["amend", "amend", "bill", "complete", "pause"]))
        if action == "amend":
            ops = tuple(data.draw(operation(a, today, n)) for _ in range(data.draw(
                st.integers(1, 2))))
            try:
                event = propose(a, Amendment(AmendmentId(f"am{n}"), ops), by="pm",
                                at=noon(today))
            except AmendmentError:
                continue
            a = apply(a, event)
        elif action == "bill":
            a = bill_due(a, today)
            assert due_invoices(a, today) == ()
            assert due_credit_notes(a, today) == ()
        elif action == "complete":
            open_ = [t.milestone.id for t in a.milestones if t.milestone.id not in a.completions]
            if open_ and a.state in (AgreementState.ACTIVE, AgreementState.PAUSED):
                a = apply(a, complete_milestone(a, data.draw(st.sampled_from(open_)), by="pm",
                                                at=noon(today)))
        elif a.state is AgreementState.ACTIVE:
            a = apply(a, pause(a, at=noon(today)))
        elif a.state is AgreementState.PAUSED:
            a = apply(a, resume(a, at=noon(today)))
        if a.state is AgreementState.CANCELLED:
            break
        assert billing_position(a, through=HORIZON).balanced
    check_fold(a)
    # Close the books: cancel, bill far ahead; every item is then billed exactly.
    if a.state is AgreementState.PAUSED:
        a = apply(a, resume(a, at=noon(today)))
    if a.state is not AgreementState.CANCELLED:
        a = apply(a, propose(a, Amendment(AmendmentId("end"), (CancelAgreement(
            today, data.draw(st.booleans())),)), by="pm", at=noon(today)))
    a = bill_due(a, HORIZON)
    position = billing_position(a)
    assert position.scheduled.is_zero()
    assert position.invoiced - position.credited == position.contract_value
    assert position.contract_value.minor >= 0


@settings(max_examples=40, deadline=None)
@given(proposals(), st.lists(st.integers(0, 60), min_size=1, max_size=6))
def test_as_of_equals_folding_the_prefix(p: Proposal, gaps: list[int]) -> None:
    a = sign(p)
    today = START
    for gap in gaps:
        today += timedelta(days=gap)
        a = bill_due(a, today)
    for i, e in enumerate(a.events):
        prefix = Agreement.from_events(a.events[: i + 1])
        later = [x for x in a.events[i + 1:] if x.effective_at == e.effective_at]
        if not later:
            assert a.as_of(e.effective_at) == prefix


@settings(max_examples=40, deadline=None)
@given(proposals(), st.integers(0, 400))
def test_rerunning_a_date_is_deterministic_and_exactly_once(p: Proposal, days: int) -> None:
    a = sign(p)
    d = START + timedelta(days=days)
    assert due_invoices(a, d) == due_invoices(a, d)
    billed = bill_due(a, d)
    assert bill_due(billed, d) == billed
    keys = [ln.item_key for inv in billed.invoices for ln in inv.lines]
    assert len(keys) == len(set(keys))

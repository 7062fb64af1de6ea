"""An agreement rewound to an earlier time is exactly its replay.

``history.as_of`` cuts an agreement's lists back instead of folding its
stream again, which is only right if each event in ``history.APPENDS``
does nothing but append one value to its list.  These tests check that
against the fold's own handlers, on streams that hold every such event,
and compare the rewound agreement with the replay field by field at every
point of each stream.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import attrs
import pytest

from milestonebill._reference import reference_path
from milestonebill.agreement import (
    Agreement,
    AgreementId,
    Collection,
    MilestoneCompleted,
    ObligationTerms,
    PackageOption,
    Progress,
    Proposal,
    ProposalId,
    apply,
    billing_plan,
    history,
    report_progress,
    revise_estimate,
    sign,
)
from milestonebill.agreement._lookups import KEEPS_PLAN
from milestonebill.agreement.fold import _changes
from milestonebill.agreement.plan import fixed_items
from milestonebill.errors import InvalidTransitionError, ValidationError
from milestonebill.gateways.memory import Scripted
from milestonebill.ids import InvoiceId, ObligationId
from milestonebill.money import Currency, Money
from milestonebill.schedule import BillingSchedule, Milestone, MilestoneId, Trigger
from milestonebill.testing.firm import generated_firm
from milestonebill.testing.scenarios import CARD, T0, World, proposal

WORK = ObligationId("work")


def _credited_after_a_decline() -> Agreement:
    """Design paid, build declined, then design repriced: customer credit added and
    applied; later part of the design payment refunded."""
    w = World()
    w.open()
    design = w.complete("design").invoices[0].id
    w.gateway.script_next(Scripted.decline("insufficient_funds"))
    w.complete("build")
    w.later(1)
    w.reprice("design", "750.00")
    w.later(10)
    w.biller.run(w.clock.today())
    w.later(12)
    w.biller.refund(InvoiceId(design), Money("100.00", "USD"), reason="goodwill")
    return w.load()


def _measured_in_hours() -> Agreement:
    """An engagement measured in hours: progress reported, the estimate revised."""
    usd = Currency.of("USD")
    schedule = BillingSchedule(currency=usd, fee=Money("10000.00", usd), milestones=[
        Milestone(MilestoneId("deposit"), "Deposit", percent=Decimal(20),
                  trigger=Trigger.ON_SIGNING),
        Milestone(MilestoneId("work"), "Work", percent=Decimal(80))])
    hours = ObligationTerms(WORK, "The work", Progress.HOURS, items=("deposit", "work"),
                            estimate=100)
    offer = Proposal(ProposalId("p-h"), "Client", usd,
                     (PackageOption("std", "Standard", schedule, obligations=(hours,)),),
                     collection=Collection.SEND_INVOICE)

    def at(d: date) -> datetime:
        return datetime.combine(d, time(12), tzinfo=UTC)

    a = sign(offer, option="std", signer="Ada", payment_method=None,
             agreement_id=AgreementId("agr-h"), signed_at=at(date(2025, 1, 2)))
    a = apply(a, report_progress(a, WORK, 40, as_of=date(2025, 1, 31), at=at(date(2025, 1, 31))))
    a = apply(a, revise_estimate(a, WORK, 150, as_of=date(2025, 2, 28), at=at(date(2025, 2, 28))))
    return apply(a, report_progress(a, WORK, 120, as_of=date(2025, 3, 31),
                                    at=at(date(2025, 3, 31))))


@pytest.fixture(scope="module")
def streams() -> list[Agreement]:
    return [_credited_after_a_decline(), _measured_in_hours(),
            *generated_firm(12, months=12, seed=5).agreements()]


def _fields(a: Agreement) -> list[object]:
    return [getattr(a, f.name) for f in attrs.fields(Agreement) if f.init]


def test_the_streams_hold_every_event_that_only_appends(streams: list[Agreement]) -> None:
    seen = {type(e) for a in streams for e in a.events}
    assert set(history.APPENDS) - seen == set()


def test_each_appending_event_changes_only_its_list_by_one_value(
        streams: list[Agreement]) -> None:
    checked = 0
    for a in streams:
        state = Agreement.from_events(a.events[:1])
        for e in a.events[1:]:
            name = history.APPENDS.get(type(e))
            if name is not None:
                changes = _changes(state, e)
                assert list(changes) == [name]
                assert changes[name][:-1] == getattr(state, name)
                checked += 1
            state = apply(state, e)
    assert checked > 100


def test_the_events_that_hand_the_plan_on_are_those_that_only_append_but_completions() -> None:
    assert set(history.APPENDS) - {MilestoneCompleted} == KEEPS_PLAN


def test_a_plan_handed_on_from_event_to_event_is_the_plan_worked_out_afresh(
        streams: list[Agreement]) -> None:
    handed = 0
    for a in streams:
        state = Agreement.from_events(a.events[:1])
        for e in a.events[1:]:
            asked = state._memo.get("plan")
            state = apply(state, e)
            handed += asked is not None and state._memo.get("plan") is asked
            through = state.signed_on + timedelta(days=400)
            plan = billing_plan(state, through=through)  # kept, and handed on by the next
            fixed = fixed_items(state)
            with reference_path():
                fresh = attrs.evolve(state)
                assert plan == billing_plan(fresh, through=through)
                assert fixed == fixed_items(fresh)
    assert handed > 100


def test_the_agreement_after_each_event_is_the_replay_of_the_stream_so_far(
        streams: list[Agreement]) -> None:
    for a in streams:
        b = attrs.evolve(a)
        for e in a.events:
            assert _fields(history.as_of(b, e.effective_at)) == _fields(a.as_of(e.effective_at))
            day = e.effective_at.date()
            assert _fields(history.as_of(b, day)) == _fields(a.as_of(day))


def test_a_time_before_the_signing_is_refused_as_the_replay_refuses_it() -> None:
    a = _measured_in_hours()
    for path in (history.as_of, Agreement.as_of):
        with pytest.raises(InvalidTransitionError, match="not signed yet"):
            path(a, a.signed_on - timedelta(days=1))
    with pytest.raises(ValidationError) as err:
        history.as_of(a, "2025-01-31")  # type: ignore[arg-type]
    assert err.value.field == "when"


def test_changes_are_the_events_that_do_more_than_append(streams: list[Agreement]) -> None:
    credited = streams[0]
    assert history.changes(credited) == tuple(
        e.effective_at for e in credited.events
        if type(e).__name__ in ("Signed", "AmendmentProposed", "AmendmentApproved"))
    assert credited.refunds  # and a refund, which only appends, is not a change
    assert history.changes(streams[1]) == (streams[1].signed_at,)


def test_inside_the_reference_path_it_is_the_replay_itself() -> None:
    a = _measured_in_hours()
    day = date(2025, 2, 28)
    with reference_path():
        assert history.as_of(a, day) is not history.as_of(a, day)
    assert history.as_of(a, day) is history.as_of(a, day)  # kept with the agreement
    assert history.as_of(a, T0.date() + timedelta(days=9999)) is a


def test_a_derived_value_is_worked_out_once_per_agreement() -> None:
    calls: list[str] = []

    def milestones(agreement: Agreement) -> int:
        calls.append(agreement.id)
        return len(agreement.milestones)

    a = sign(proposal([("design", "4000.00")]), option="std", signer="Ada",
             payment_method=CARD, agreement_id=AgreementId("a-1"),
             signed_at=datetime(2026, 3, 2, tzinfo=UTC))
    assert (a.derived(milestones), a.derived(milestones)) == (1, 1)
    assert calls == ["a-1"]

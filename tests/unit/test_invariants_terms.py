"""The book invariants of the terms of docs/terms.md hold on right books and
name what is wrong on books that were tampered with (so they can fail)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import attrs

from milestonebill.agreement import Agreement, ApprovalRules, Collection, TimeEntry
from milestonebill.documents import LineKind
from milestonebill.engine import DEFAULT_REMINDERS
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.schedule import (
    LateFee,
    Milestone,
    MilestoneId,
    PaymentTerms,
    Rate,
    TimeAndMaterials,
    TimeCadence,
)
from milestonebill.testing.invariants import book_problems
from milestonebill.testing.scenarios import FIRM, World, proposal, usd


def _problems(w: World[InMemoryGateway], a: Agreement) -> list[str]:
    return book_problems(w.store, w.gateway, {a.id: a}, firm_id=FIRM,
                         horizon=w.clock.today())


def _walk(w: World[InMemoryGateway], last: date) -> None:
    day = w.clock.today()
    while day < last:
        day = date.fromordinal(day.toordinal() + 1)
        w.on(day)
        w.biller.run(day)


def _overdue(w: World[InMemoryGateway]) -> Agreement:
    """A 1,000.00 invoice, net 14, reminded and charged 10.00 late fees while unpaid."""
    design = Milestone(MilestoneId("design"), "Design", amount=usd("1000.00"),
                       terms=PaymentTerms.net(14))
    term = LateFee(after_days=10, fixed=usd("10.00"), every_days=10, max_fees=2)
    w.open(attrs.evolve(proposal([design], collection=Collection.SEND_INVOICE),
                        late_fee=term), payment_method=None)
    w.complete("design")
    _walk(w, date(2026, 5, 1))
    return w.load()


def test_a_write_off_and_its_recovery_keep_the_books() -> None:
    w = World()
    w.open(proposal([("design", "1000.00")], collection=Collection.SEND_INVOICE),
           payment_method=None)
    design = w.complete("design").invoices[0]
    w.biller.write_off(design.id, usd("600.00"), reason="client in administration")
    a = w.biller.record_payment(design.id, usd("700.00"), reference="liquidator-1")
    assert (a.balance_of(design.id), a.written_off(design.id)) == (usd("0.00"), usd("300.00"))
    assert _problems(w, a) == []


def test_reminders_and_late_fees_keep_the_books() -> None:
    w = World(reminders=DEFAULT_REMINDERS)
    a = _overdue(w)
    assert len(a.reminders) == len({(r.invoice_id, r.step) for r in a.reminders}) > 0
    assert len([i for i in a.invoices if i.lines[0].kind is LineKind.LATE_FEE]) == 2
    assert _problems(w, a) == []


def test_a_reminder_step_sent_twice_is_a_problem() -> None:
    w = World(reminders=DEFAULT_REMINDERS)
    a = _overdue(w)
    assert a.reminders
    twice = attrs.evolve(a, reminders=(*a.reminders, a.reminders[0]))
    step = a.reminders[0]
    assert _problems(w, twice) == [f"{a.id}: reminder {step.step} of {step.invoice_id} sent 2 times"]


def test_late_fees_beyond_the_term_are_a_problem() -> None:
    w = World()
    a = _overdue(w)
    once = attrs.evolve(a, proposal=attrs.evolve(a.proposal, late_fee=LateFee(
        after_days=10, fixed=usd("10.00"))))
    assert _problems(w, once) == [f"{a.id}: 2 late fees on {a.invoices[0].id}, the term allows 1"]


def test_time_billed_past_the_cap_in_force_is_a_problem() -> None:
    card = (Rate("senior", usd("150.00"), date(2026, 1, 1)),)
    term = TimeAndMaterials(rates=card, cadence=TimeCadence.MONTHLY, cap=usd("1000.00"))
    w = World()
    agreement = w.open(attrs.evolve(proposal(collection=Collection.SEND_INVOICE,
                                             approval=ApprovalRules(auto_approve_after_days=14)),
                                    time_materials=term), payment_method=None)
    w.biller.record_work(agreement.id, [TimeEntry(
        entry_id="T-1", on=date(2026, 3, 13), person="ada", role="senior", hours=Decimal(8))])
    w.on(date(2026, 4, 1))
    w.biller.run(date(2026, 4, 1))
    a = w.load()
    assert _problems(w, a) == []
    lower = attrs.evolve(a, proposal=attrs.evolve(
        a.proposal, time_materials=attrs.evolve(term, cap=usd("900.00"))))
    assert any("past the cap" in p for p in _problems(w, lower)), _problems(w, lower)

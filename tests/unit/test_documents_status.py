"""The status and amounts an invoice shows its client: ``invoice_position``.

Each status comes from a real run of the Biller over an in-memory store
and gateway, and agrees with the receivables report on the same day.
"""

from __future__ import annotations

from datetime import date

import pytest

from milestonebill.agreement import (
    Collection,
    PaymentMethodKind,
    PaymentMethodRef,
    RemoveMilestone,
)
from milestonebill.documents import Invoice
from milestonebill.errors import NotFoundError, ValidationError
from milestonebill.gateways.memory import InMemoryGateway, Scripted
from milestonebill.ids import MilestoneId
from milestonebill.money import Money
from milestonebill.rendering import InvoicePosition, PaymentStatus, invoice_position
from milestonebill.reports import receivables
from milestonebill.testing.scenarios import CARD, World, proposal

MONDAY = date(2026, 3, 2)


def sent(*milestones: tuple[str, str]) -> World[InMemoryGateway]:
    """Invoices sent for the client to pay (no automatic charge)."""
    w = World()
    w.open(proposal(list(milestones) or [("design", "1000.00")],
                    collection=Collection.SEND_INVOICE), payment_method=None)
    return w


def charged(method: PaymentMethodRef | None = None,
            *scripted: Scripted) -> tuple[World[InMemoryGateway], Invoice]:
    """An invoice charged automatically on completion, the gateway scripted."""
    w = World()
    w.open(proposal([("design", "1000.00")]), payment_method=method or CARD)
    if scripted:
        w.gateway.script_next(*scripted)
    (inv,) = w.complete("design").invoices
    return w, inv


def position(w: World[InMemoryGateway], inv: Invoice,
             as_of: date | None = None) -> InvoicePosition:
    return invoice_position(w.load(), inv.id, as_of or w.clock.today())


def adds_up(p: InvoicePosition) -> bool:
    return p.total - p.credited - p.paid - p.account_credit == p.balance


def test_a_sent_invoice_is_due_until_its_due_date_then_overdue() -> None:
    w = sent()
    (inv,) = w.complete("design").invoices
    assert position(w, inv).status is PaymentStatus.DUE
    late = position(w, inv, date(2026, 3, 9))
    assert (late.status, late.days_past_due, late.amount_due) == (
        PaymentStatus.OVERDUE, 7, Money("1000.00", "USD"))


def test_a_part_payment_leaves_the_rest_due() -> None:
    w = sent()
    (inv,) = w.complete("design").invoices
    w.biller.record_payment(inv.id, Money("300.00", "USD"), reference="wire 1")
    p = position(w, inv)
    assert (p.status, p.paid, p.amount_due) == (
        PaymentStatus.PARTIALLY_PAID, Money("300.00", "USD"), Money("700.00", "USD"))
    assert adds_up(p)


def test_an_overdue_invoice_stays_overdue_when_part_of_it_is_paid() -> None:
    w = sent()
    (inv,) = w.complete("design").invoices
    w.later(3)
    w.biller.record_payment(inv.id, Money("300.00", "USD"), reference="wire 1")
    assert position(w, inv).status is PaymentStatus.OVERDUE


def test_the_position_is_the_one_of_the_day_asked_for() -> None:
    w = sent()
    (inv,) = w.complete("design").invoices
    w.later(3)
    w.biller.record_payment(inv.id, Money("1000.00", "USD"), reference="wire 1")
    assert position(w, inv, MONDAY).status is PaymentStatus.DUE
    assert position(w, inv, date(2026, 3, 5)).status is PaymentStatus.PAID


def test_a_card_charged_on_completion_is_paid() -> None:
    w, inv = charged()
    p = position(w, inv)
    assert (p.status, p.paid, p.amount_due) == (
        PaymentStatus.PAID, Money("1000.00", "USD"), Money("0.00", "USD"))


def test_a_bank_debit_clearing_is_processing_never_overdue() -> None:
    debit = PaymentMethodRef("memory", "cus_1", "pm_debit", PaymentMethodKind.BANK_DEBIT)
    w, inv = charged(debit)
    assert position(w, inv).status is PaymentStatus.PROCESSING
    assert position(w, inv, date(2026, 4, 30)).status is PaymentStatus.PROCESSING


def test_a_payment_waiting_for_the_client_to_authenticate_needs_action() -> None:
    w, inv = charged(None, Scripted.require_action())
    assert position(w, inv).status is PaymentStatus.ACTION_REQUIRED


def test_a_declined_card_is_a_failed_payment_with_the_day_of_the_retry() -> None:
    w, inv = charged(None, Scripted.decline("insufficient_funds"))
    p = position(w, inv)
    (row,) = receivables([w.load()], w.clock.today())
    assert (p.status, p.next_retry) == (PaymentStatus.PAYMENT_FAILED, row.next_retry)
    assert p.next_retry is not None
    assert p.next_retry > MONDAY


def test_an_invoice_its_credit_notes_cancel_is_credited() -> None:
    w = sent(("design", "1000.00"), ("build", "500.00"))
    (inv,) = w.complete("design").invoices
    w.later(1)
    w.amend(RemoveMilestone(w.clock.today(), MilestoneId("design")))
    w.biller.run(w.clock.today())
    p = position(w, inv)
    assert (p.status, p.credited, p.amount_due) == (
        PaymentStatus.CREDITED, Money("1000.00", "USD"), Money("0.00", "USD"))
    assert adds_up(p)


def test_a_refund_counts_against_what_was_paid() -> None:
    w, inv = charged()
    a = w.biller.refund(inv.id, Money("250.00", "USD"), reason="Late")
    p = invoice_position(a, inv.id, w.clock.today())
    assert (p.status, p.credited, p.paid) == (
        PaymentStatus.PAID, Money("250.00", "USD"), Money("750.00", "USD"))
    assert adds_up(p)


def test_the_amount_due_is_the_receivables_balance() -> None:
    w = sent(("design", "1000.00"), ("build", "500.00"))
    first = w.complete("design").invoices[0]
    w.later(2)
    second = w.complete("build").invoices[0]
    w.biller.record_payment(first.id, Money("400.00", "USD"), reference="wire")
    rows = {r.invoice_number: r.balance for r in receivables([w.load()], w.clock.today())}
    assert {i.number: position(w, i).amount_due for i in (first, second)} == rows


def test_a_day_before_the_invoice_was_issued_is_refused() -> None:
    w = sent()
    w.later(2)
    (inv,) = w.complete("design").invoices
    with pytest.raises(ValidationError) as e:
        position(w, inv, MONDAY)
    assert e.value.field == "as_of"


def test_an_invoice_the_agreement_never_issued_is_not_found() -> None:
    w = sent()
    with pytest.raises(NotFoundError):
        invoice_position(w.load(), "inv-nope", MONDAY)

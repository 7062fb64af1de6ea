"""Where an invoice stands for the client reading it: :func:`invoice_position`.

A pure function of the agreement and a date, built on the receivables
report (:func:`milestonebill.reports.receivables`), so an invoice shows the
status the firm's aging shows: a bank debit still clearing is
*processing*, never overdue; a declined card being retried is a *failed
payment* with the day of the next try.

One status per invoice, the first that applies:

1. ``PAID`` / ``CREDITED`` -- nothing left to pay (``CREDITED`` when credit
   notes, not payments, settled it); ``IN_CREDIT`` -- the client is owed money;
2. ``PROCESSING``, ``ACTION_REQUIRED``, ``PAYMENT_FAILED`` -- a charge is on its
   way, waits for the client, or failed;
3. ``OVERDUE`` -- past its due date (partly paid or not: the amounts say which);
4. ``PARTIALLY_PAID``, else ``DUE``.

>>> from datetime import date
>>> from milestonebill.agreement import Collection
>>> from milestonebill.testing.scenarios import World, proposal
>>> w = World()  # Monday 2 March 2026
>>> _ = w.open(proposal([("design", "1000.00")], collection=Collection.SEND_INVOICE),
...            payment_method=None)
>>> (inv,) = w.complete("design").invoices
>>> invoice_position(w.load(), inv.id, date(2026, 3, 2)).status.value
'due'
>>> p = invoice_position(w.load(), inv.id, date(2026, 3, 9))
>>> p.status.value, str(p.amount_due), p.days_past_due
('overdue', '1000.00 USD', 7)
"""

from __future__ import annotations

import enum
from datetime import date

import attrs

from milestonebill._validate import check_date
from milestonebill.agreement import Agreement
from milestonebill.collection import RetryPolicy
from milestonebill.documents import Invoice
from milestonebill.errors import ValidationError
from milestonebill.ids import InvoiceId
from milestonebill.money import Money
from milestonebill.reports import ReceivableRow, ReceivableStatus, receivables

__all__ = ["InvoicePosition", "PaymentStatus", "draft_position", "invoice_position"]


class PaymentStatus(enum.Enum):
    """The one status a client document shows for an invoice (see the module's order)."""

    DRAFT = "draft"
    DUE = "due"
    PARTIALLY_PAID = "partially_paid"
    OVERDUE = "overdue"
    PROCESSING = "processing"
    ACTION_REQUIRED = "action_required"
    PAYMENT_FAILED = "payment_failed"
    PAID = "paid"
    CREDITED = "credited"
    IN_CREDIT = "in_credit"


@attrs.frozen
class InvoicePosition:
    """An invoice's money at a date, as the client sees it.

    ``total - credited - paid - account_credit == balance``; ``amount_due``
    is the balance when positive, else zero.  ``paid`` is net of refunds;
    ``account_credit`` is customer credit applied to the invoice less any
    moved from it.  ``next_retry`` is the day of the next charge attempt of a
    failed payment the Biller will retry.
    """

    status: PaymentStatus
    total: Money
    credited: Money
    paid: Money
    account_credit: Money
    balance: Money
    amount_due: Money
    due_on: date
    days_past_due: int = 0
    next_retry: date | None = None


_BY_RECEIVABLE = {
    ReceivableStatus.PROCESSING: PaymentStatus.PROCESSING,
    ReceivableStatus.ACTION_REQUIRED: PaymentStatus.ACTION_REQUIRED,
    ReceivableStatus.RETRYING: PaymentStatus.PAYMENT_FAILED,
    ReceivableStatus.EXHAUSTED: PaymentStatus.PAYMENT_FAILED,
    ReceivableStatus.OWED_TO_CLIENT: PaymentStatus.IN_CREDIT,
}


def draft_position(invoice: Invoice) -> InvoicePosition:
    """The position of an invoice not issued yet: all of it to pay, nothing collected."""
    zero = Money.from_minor(0, invoice.currency)
    return InvoicePosition(PaymentStatus.DRAFT, invoice.total, zero, zero, zero, invoice.total,
                           invoice.total, invoice.due_on)


def _status(row: ReceivableRow | None, paid: Money, account_credit: Money) -> PaymentStatus:
    if row is None:
        return PaymentStatus.PAID if paid.minor or account_credit.minor else (
            PaymentStatus.CREDITED)
    if row.status in _BY_RECEIVABLE:
        return _BY_RECEIVABLE[row.status]
    if row.days_past_due > 0:
        return PaymentStatus.OVERDUE
    return PaymentStatus.PARTIALLY_PAID if paid.minor > 0 else PaymentStatus.DUE


def invoice_position(agreement: Agreement, invoice_id: InvoiceId | str, as_of: date, *,
                     policy: RetryPolicy | None = None) -> InvoicePosition:
    """Where ``invoice_id`` of ``agreement`` stands at the end of ``as_of``.

    The agreement is replayed to ``as_of`` (later payments are not seen).
    ``policy`` is the Biller's retry policy, which dates the next retry.
    An invoice the agreement had not issued by then raises
    :class:`~milestonebill.errors.ValidationError`; one it never issued,
    :class:`~milestonebill.errors.NotFoundError`.
    """
    check_date("as_of", as_of)
    invoice = agreement.invoice(invoice_id)
    if as_of < invoice.issued_on:
        raise ValidationError("as_of", f"on or after the issue of invoice {invoice.number} "
                              f"({invoice.issued_on.isoformat()})", as_of)
    then = agreement.as_of(as_of)
    if not any(i.id == invoice.id for i in then.invoices):
        raise ValidationError("as_of", f"a day by which invoice {invoice.number} was issued",
                              as_of)
    rows = receivables([then], as_of, policy=policy)
    row = next((r for r in rows if r.invoice_number == invoice.number), None)
    cur = invoice.currency
    credited = Money.total((c.total for c in then.credit_notes if c.credits == invoice.id),
                           currency=cur)
    paid = then.net_paid(invoice.id)
    moved = Money.total((c.amount for c in then.credits_added if c.invoice_id == invoice.id),
                        currency=cur)
    applied = Money.total((c.amount for c in then.credits_applied if c.invoice_id == invoice.id),
                          currency=cur)
    balance = then.balance_of(invoice.id)
    due = balance if balance.minor > 0 else Money.from_minor(0, cur)
    return InvoicePosition(
        status=_status(row, paid, applied - moved),
        total=invoice.total, credited=credited, paid=paid, account_credit=applied - moved,
        balance=balance, amount_due=due, due_on=invoice.due_on,
        days_past_due=row.days_past_due if row is not None else 0,
        next_retry=row.next_retry if row is not None else None,
    )

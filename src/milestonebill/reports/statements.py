"""A client statement: what one client was billed, paid and credited over a period.

:func:`client_statement` lists, in date order, every movement of what the
client owes on its invoices -- invoices, credit notes, payments, refunds,
over-credit kept as customer credit and customer credit applied, balances
written off and recovered, customer credit forfeited -- between
an opening and a closing line, with the running balance after each.  The
balance is the client's receivable: the closing balance is what
:func:`~milestonebill.reports.receivables` shows for the client at the
period's last day, and the ledger's receivable for its agreements.  The
customer credit the client holds (money the firm owes it, a liability) is
carried beside it in :attr:`StatementLine.credit`.

A movement is dated on the day its event took effect (UTC), as the Biller
posts it.  One statement has one balance, so it is in one currency.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from datetime import date, datetime

import attrs

from milestonebill.agreement import (
    Agreement,
    CreditApplied,
    CreditForfeited,
    CreditIssued,
    CustomerCreditAdded,
    Event,
    InvoiceIssued,
    InvoiceWrittenOff,
    PaymentSucceeded,
    Refunded,
    WriteOffRecovered,
)
from milestonebill.errors import ValidationError
from milestonebill.ledger import DateRange
from milestonebill.money import Currency, Money
from milestonebill.reports._inputs import checked_agreements, for_client, single_currency
from milestonebill.reports._table import Table

__all__ = ["MovementKind", "StatementLine", "client_statement"]


class MovementKind(enum.Enum):
    """What a statement line is.

    ``OPENING`` and ``CLOSING`` carry the balance brought and carried
    forward and move nothing; ``CREDIT_ADDED`` is what a credit note left
    the client owed on an invoice, kept as customer credit (the invoice's
    balance rises back to zero, the credit grows); ``CREDIT_APPLIED`` is
    customer credit paying an invoice (or returned with a credit refund).
    ``WRITE_OFF`` is a balance the firm gave up on (the client is no longer
    asked for it), ``RECOVERY`` a written-off balance owed again because the
    client paid after all (the payment follows), and ``CREDIT_FORFEITED``
    customer credit the client forfeited (it moves the credit only).
    """

    OPENING = "opening"
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    PAYMENT = "payment"
    REFUND = "refund"
    CREDIT_ADDED = "credit_added"
    CREDIT_APPLIED = "credit_applied"
    WRITE_OFF = "write_off"
    RECOVERY = "recovery"
    CREDIT_FORFEITED = "credit_forfeited"
    CLOSING = "closing"


@attrs.frozen
class StatementLine:
    """One line of a statement.

    ``amount`` is what the line adds to the client's balance (negative for
    a payment or a credit note); ``balance`` is what the client owes on its
    invoices after it and ``credit`` the customer credit it holds after it.
    ``document`` is the number of the invoice or credit note concerned.
    """

    on: date
    kind: MovementKind
    agreement_id: str | None
    document: str
    description: str
    amount: Money
    balance: Money
    credit: Money


@attrs.frozen
class _Move:
    at: datetime
    on: date
    agreement_id: str
    version: int
    kind: MovementKind
    document: str
    description: str
    owed: int
    credit: int


def _number(a: Agreement, invoice_id: str) -> str:
    return a.invoice(invoice_id).number or invoice_id


def _describe(a: Agreement, e: Event) -> tuple[MovementKind, str, str, int, int] | None:
    """(kind, document, description, change of the balance, change of the credit)."""
    if isinstance(e, InvoiceIssued):
        inv = e.invoice
        number = inv.number or inv.id
        return (MovementKind.INVOICE, number, f"Invoice {number}, due {inv.due_on.isoformat()}",
                inv.total.minor, 0)
    if isinstance(e, CreditIssued):
        cn = e.credit_note
        return (MovementKind.CREDIT_NOTE, cn.number or cn.id,
                f"Credit note {cn.number} on {_number(a, cn.credits)} ({cn.reason.value})",
                -cn.total.minor, 0)
    if isinstance(e, PaymentSucceeded):
        number = _number(a, e.invoice_id)
        return (MovementKind.PAYMENT, number, f"Payment on {number} ({e.gateway_reference})",
                -e.amount.minor, 0)
    if isinstance(e, Refunded):
        number = _number(a, e.invoice_id)
        return (MovementKind.REFUND, number, f"Refund on {number} ({e.gateway_reference})",
                e.amount.minor, 0)
    if isinstance(e, CustomerCreditAdded):
        number = _number(a, e.invoice_id)
        return (MovementKind.CREDIT_ADDED, number,
                f"Over-credit on {number} kept as customer credit", e.amount.minor,
                e.amount.minor)
    if isinstance(e, CreditApplied):
        number = _number(a, e.invoice_id)
        return (MovementKind.CREDIT_APPLIED, number, f"Customer credit applied to {number}",
                -e.amount.minor, -e.amount.minor)
    return _describe_collection(a, e)


def _describe_collection(a: Agreement, e: Event) -> tuple[MovementKind, str, str, int,
                                                          int] | None:
    """Write-offs, their recoveries and forfeited credit, as :func:`_describe`."""
    if isinstance(e, InvoiceWrittenOff):
        number = _number(a, e.invoice_id)
        return (MovementKind.WRITE_OFF, number, f"Written off on {number} ({e.reason})",
                -e.amount.minor, 0)
    if isinstance(e, WriteOffRecovered):
        number = _number(a, e.invoice_id)
        return (MovementKind.RECOVERY, number, f"Write-off on {number} recovered",
                e.amount.minor, 0)
    if isinstance(e, CreditForfeited):
        return (MovementKind.CREDIT_FORFEITED, "", f"Customer credit forfeited ({e.reason})",
                0, -e.amount.minor)
    return None


def _moves(agreements: Iterable[Agreement]) -> Iterator[_Move]:
    for a in agreements:
        for e in a.events:
            found = _describe(a, e)
            if found is not None:
                kind, document, text, owed, credit = found
                yield _Move(e.effective_at, e.effective_at.date(), a.id, e.version, kind,
                            document, text, owed, credit)


def _checked_period(period: DateRange) -> DateRange:
    start, end = getattr(period, "start", None), getattr(period, "end", None)
    if not (isinstance(start, date) and isinstance(end, date)) or isinstance(
            start, datetime) or isinstance(end, datetime) or not start < end:
        raise ValidationError("period", "a period of at least one day (start < end, "
                              "end excluded)", period)
    return period


def client_statement(agreements: Iterable[Agreement], client: str, period: DateRange, *,
                     currency: Currency | str | None = None) -> Table[StatementLine]:
    """``client``'s statement over the half-open ``period`` (``[start, end)``).

    An ``OPENING`` line (what the client owed at the end of the day before
    the period), each movement in the period in date order with the running
    balance, and a ``CLOSING`` line: what the client owes at the end of the
    period's last day.  ``agreements`` may be the whole firm's; the
    client's are picked by the client named on their proposals.  A client
    with agreements in several currencies needs ``currency`` (a statement
    has one balance).  An unknown client, an empty period or a currency the
    client has no agreement in raises :class:`~milestonebill.errors.ValidationError`.

    >>> from datetime import UTC, datetime
    >>> from milestonebill.agreement import Collection
    >>> from milestonebill.periods import Period
    >>> from milestonebill.testing.scenarios import World, proposal, usd
    >>> w = World()  # Monday 2 March 2026
    >>> _ = w.open(proposal([("design", "1000.00")], collection=Collection.SEND_INVOICE),
    ...            payment_method=None)
    >>> invoice = w.complete("design").invoices[0]
    >>> _ = w.biller.record_payment(invoice.id, usd("400.00"), reference="wire-1",
    ...     received_at=datetime(2026, 3, 20, 10, tzinfo=UTC))
    >>> for line in client_statement([w.load()], "Acme", Period.month(2026, 3)):
    ...     print(line.on, line.kind.value, line.amount.amount, line.balance.amount)
    2026-03-01 opening 0.00 0.00
    2026-03-02 invoice 1000.00 1000.00
    2026-03-20 payment -400.00 600.00
    2026-03-31 closing 0.00 600.00
    """
    given = for_client(checked_agreements(agreements), client)
    span = _checked_period(period)
    cur = single_currency(given, currency, "a statement")
    mine = [a for a in given if a.currency == cur]
    moves = sorted(_moves(mine), key=lambda m: (m.at, m.agreement_id, m.version))
    owed = sum(m.owed for m in moves if m.on < span.start)
    credit = sum(m.credit for m in moves if m.on < span.start)

    def money(minor: int) -> Money:
        return Money.from_minor(minor, cur)

    last = date.fromordinal(span.end.toordinal() - 1)
    lines = [StatementLine(span.start, MovementKind.OPENING, None, "", "Balance brought forward",
                           money(0), money(owed), money(credit))]
    for m in moves:
        if span.start <= m.on < span.end:
            owed += m.owed
            credit += m.credit
            lines.append(StatementLine(m.on, m.kind, m.agreement_id, m.document, m.description,
                                       money(m.owed), money(owed), money(credit)))
    lines.append(StatementLine(last, MovementKind.CLOSING, None, "", "Balance carried forward",
                               money(0), money(owed), money(credit)))
    return Table(f"Statement for {client}, {span.start.isoformat()} to {last.isoformat()}",
                 lines)

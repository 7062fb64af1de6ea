"""Reminders of unpaid invoices and late fees: what is due on a day, pure.

For invoices the client pays itself (a send-invoice agreement, or any
agreement the Biller does not charge automatically):

* a :class:`ReminderSchedule` lists the days, counted from an invoice's
  due date, on which its client is reminded (negative: before it) --
  :func:`reminders_due` says which reminder each open invoice is due on a
  day, :func:`next_reminder` when the next one falls;
* the agreement's :class:`~milestonebill.schedule.LateFee` term says when an
  overdue invoice costs extra -- :func:`late_fees_due` drafts each fee as an
  invoice of its own, :func:`next_late_fee` says when the next one falls.

Both stop when the invoice is settled: paid, written off or credited.  The
:class:`~milestonebill.engine.Biller` acts on them in ``run``; the work
queue (:func:`milestonebill.work.next_due`) claims the agreement on the
days they fall.  See ``docs/terms.md``.

>>> from datetime import date
>>> s = ReminderSchedule((-7, 0, 7, 14, 30))
>>> s == DEFAULT_REMINDERS, [s.kind(d) for d in (-7, 0, 7)]
(True, ['invoice.reminder', 'invoice.reminder', 'invoice.overdue'])
>>> ReminderSchedule((7, 7))
Traceback (most recent call last):
...
milestonebill.errors.ValidationError: 'days' must be whole numbers of days from the due date, strictly increasing (got (7, 7))
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Final

import attrs

from milestonebill.agreement import Agreement
from milestonebill.collection import auto_collects
from milestonebill.documents import Invoice, InvoiceLine, LineKind
from milestonebill.errors import ValidationError
from milestonebill.ids import InvoiceId
from milestonebill.invoicing import invoice_balance
from milestonebill.limits import MAX_DAYS
from milestonebill.money import Money

__all__ = [
    "DEFAULT_REMINDERS",
    "NO_REMINDERS",
    "Reminder",
    "ReminderSchedule",
    "is_late_fee_invoice",
    "late_fee_line_id",
    "late_fees_due",
    "next_late_fee",
    "next_reminder",
    "reminder_key",
    "reminders_due",
]


def _days(value: Iterable[int]) -> tuple[int, ...]:
    days = tuple(value)
    if any(type(d) is not int or not -MAX_DAYS <= d <= MAX_DAYS for d in days) \
            or list(days) != sorted(set(days)):
        raise ValidationError("days", "whole numbers of days from the due date, strictly "
                              "increasing", days)
    return days


@attrs.frozen
class ReminderSchedule:
    """The days, counted from an invoice's due date, its client is reminded on.

    ``days`` are strictly increasing whole numbers from
    -:data:`~milestonebill.limits.MAX_DAYS` to ``MAX_DAYS``: ``-7`` a week
    before the due date, ``0`` on it, ``30`` a month after.  A reminder is
    an outbox notification (:meth:`kind`): ``invoice.reminder`` up to the
    due date, ``invoice.overdue`` after it.  A day on or before the
    invoice's issue day is skipped (the invoice itself just went out), and
    when a run comes late only the latest reminder that fell is sent, once.
    """

    days: tuple[int, ...] = attrs.field(default=(), converter=_days)

    @staticmethod
    def kind(step: int) -> str:
        """The notification kind of the reminder ``step`` days from the due date."""
        return "invoice.reminder" if step <= 0 else "invoice.overdue"


#: A week before the due date, on it, then one, two weeks and a month after.
DEFAULT_REMINDERS: Final = ReminderSchedule((-7, 0, 7, 14, 30))
#: No reminders at all (the Biller's default).
NO_REMINDERS: Final = ReminderSchedule(())


@attrs.frozen
class Reminder:
    """A reminder due: the invoice, the step (days from its due date), the day it
    fell, what the invoice still owes, and the notification kind."""

    invoice_id: InvoiceId
    step: int
    on: date
    balance: Money
    kind: str


def reminder_key(invoice_id: str, step: int) -> str:
    """The outbox key of an invoice's reminder ``step``: one notification each, ever."""
    return f"invoice.reminder:{invoice_id}:{step}"


def is_late_fee_invoice(invoice: Invoice) -> bool:
    """True for an invoice that charges late fees only (it bears no fee itself)."""
    return all(ln.kind is LineKind.LATE_FEE for ln in invoice.lines)


def _open_invoices(a: Agreement) -> Iterable[tuple[Invoice, Money]]:
    """Invoices the client pays itself that still owe something, with the balance."""
    if auto_collects(a):
        return
    for inv in a.invoices:
        balance = invoice_balance(a, inv.id)
        if balance.minor > 0:
            yield inv, balance


def _pending_steps(a: Agreement, inv: Invoice, schedule: ReminderSchedule) -> list[int]:
    """The steps of ``inv`` not yet sent, after the last one sent and its issue day."""
    sent = [r.step for r in a.reminders if r.invoice_id == inv.id]
    last = max(sent, default=None)
    return [d for d in schedule.days if (last is None or d > last)
            and inv.due_on + timedelta(days=d) > inv.issued_on]


def reminders_due(agreement: Agreement, as_of: date, schedule: ReminderSchedule
                  ) -> list[Reminder]:
    """The reminder each open invoice is due by ``as_of``: the latest step that fell
    and was not sent yet (earlier ones a late run missed are skipped)."""
    out: list[Reminder] = []
    for inv, balance in _open_invoices(agreement):
        fell = [d for d in _pending_steps(agreement, inv, schedule)
                if inv.due_on + timedelta(days=d) <= as_of]
        if fell:
            step = fell[-1]
            out.append(Reminder(inv.id, step, inv.due_on + timedelta(days=step), balance,
                                schedule.kind(step)))
    return out


def next_reminder(agreement: Agreement, schedule: ReminderSchedule) -> date | None:
    """The day the next reminder of any open invoice falls (it may have passed:
    a reminder is due now); ``None`` when none is left to send."""
    days = [inv.due_on + timedelta(days=steps[0]) for inv, _b in _open_invoices(agreement)
            if (steps := _pending_steps(agreement, inv, schedule))]
    return min(days, default=None)


# ---------------------------------------------------------------- late fees


def late_fee_line_id(agreement_id: str, invoice_id: str, n: int) -> str:
    """The line id of the ``n``-th late fee (0, 1, ...) on an invoice."""
    return f"{agreement_id}:late-fee:{invoice_id}:{n}"


def _fees_issued(a: Agreement) -> dict[str, list[Invoice]]:
    """Late-fee invoices by the invoice they charge a fee on."""
    out: dict[str, list[Invoice]] = {}
    for inv in a.invoices:
        for ln in inv.lines:
            if ln.kind is LineKind.LATE_FEE and ln.adjusts is not None:
                out.setdefault(ln.adjusts, []).append(inv)
    return out


def _fee_terms(a: Agreement) -> list[tuple[Invoice, Money, list[Invoice]]]:
    """Open invoices that may bear late fees, their balances and fees so far."""
    if a.proposal.late_fee is None:
        return []
    fees = _fees_issued(a)
    return [(inv, balance, fees.get(inv.id, [])) for inv, balance in _open_invoices(a)
            if not is_late_fee_invoice(inv)]


def late_fees_due(agreement: Agreement, as_of: date) -> tuple[Invoice, ...]:
    """Unnumbered invoice drafts for the late fees that fell by ``as_of``, one each.

    Only on invoices that still owe something (never on a late-fee
    invoice).  A fee is the term's fixed amount, or its percentage of the
    invoice's balance on the day the Biller runs -- plus, when the term
    compounds, what the invoice's earlier fees still owe.  Each draft is
    issued on ``as_of``, due the same day, untaxed, with one ``LATE_FEE``
    line (``adjusts``: the overdue invoice) and an id derived from the
    agreement, the invoice and the fee's number, so a fee is never charged
    twice.  A fee that rounds to zero is not charged.
    """
    fee = agreement.proposal.late_fee
    out: list[Invoice] = []
    for inv, balance, issued in _fee_terms(agreement):
        assert fee is not None
        done = {ln.line_id for i in issued for ln in i.lines}
        extra = sum(invoice_balance(agreement, i.id).minor for i in issued) if fee.compound else 0
        for n in range(fee.fees_by(inv.due_on, as_of)):
            line_id = late_fee_line_id(agreement.id, inv.id, n)
            if line_id in done:
                continue
            base = balance + Money.from_minor(extra, agreement.currency)
            amount = fee.fee_on(base)
            if amount.minor <= 0:
                continue
            extra += amount.minor if fee.compound else 0
            line = InvoiceLine(
                line_id, None, LineKind.LATE_FEE, f"Late fee on {inv.number}", amount,
                adjusts=inv.id, provenance=(
                    f"late fee {n + 1}: {fee.describe()}",
                    f"fell on {fee.assessment_day(inv.due_on, n).isoformat()}, "
                    f"{inv.number} due {inv.due_on.isoformat()}, charged on {base}"))
            h = hashlib.sha256(f"{agreement.id}\n{line_id}".encode()).hexdigest()[:24]
            out.append(Invoice.build(id=InvoiceId(f"inv_{h}"), agreement_id=agreement.id,
                                     currency=agreement.currency, issued_on=as_of,
                                     due_on=as_of, lines=[line]))
    return tuple(out)


def next_late_fee(agreement: Agreement) -> date | None:
    """The day the next late fee of any open invoice falls (it may have passed: a
    fee is due now); ``None`` when no more can fall."""
    fee = agreement.proposal.late_fee
    days: list[date] = []
    for inv, balance, issued in _fee_terms(agreement):
        assert fee is not None
        done = {ln.line_id for i in issued for ln in i.lines}
        n = next(k for k in range(len(done) + 1)
                 if late_fee_line_id(agreement.id, inv.id, k) not in done)
        if (fee.limit is None or n < fee.limit) and fee.fee_on(balance).minor > 0:
            days.append(fee.assessment_day(inv.due_on, n))
    return min(days, default=None)

"""How an agreement folds the events of the billing terms in ``docs/terms.md``.

Write-offs and their recoveries, forfeited customer credit, reminders sent,
and time and materials (entries, cap raises, write-downs) each have a
handler here, registered with :func:`~milestonebill.agreement.fold.handles`
when the package is imported, so :func:`~milestonebill.agreement.apply`
folds them like the events of the core lifecycle in
:mod:`~milestonebill.agreement.fold`.
"""

from __future__ import annotations

from typing import Any

from milestonebill.agreement.events import (
    CreditForfeited,
    InvoiceWrittenOff,
    ReminderSent,
    WriteOffRecovered,
)
from milestonebill.agreement.fold import Agreement, handles
from milestonebill.agreement.time_entries import (
    ExpenseRecorded,
    TimeCapRaised,
    TimeEvent,
    TimeRecorded,
    WorkWrittenDown,
    check_time_event,
)
from milestonebill.errors import DuplicateIdError, InvalidTransitionError, ValidationError
from milestonebill.money import Money

__all__: list[str] = []


def _positive(a: Agreement, amount: Money, cap: int, what: str) -> None:
    if amount.currency != a.currency or not 0 < amount.minor <= cap:
        raise ValidationError("amount", f"a positive amount up to {what} "
                              f"({Money.from_minor(max(cap, 0), a.currency)})", amount)


@handles(InvoiceWrittenOff)
def _on_invoice_written_off(a: Agreement, e: InvoiceWrittenOff) -> dict[str, Any]:
    balance = a.balance_of(e.invoice_id)
    if balance.minor <= 0:
        raise InvalidTransitionError(f"invoice {a.invoice(e.invoice_id).number} has nothing "
                                     f"owed to write off (balance {balance})")
    _positive(a, e.amount, balance.minor, "the invoice's balance")
    return {"write_offs": (*a.write_offs, e)}


@handles(WriteOffRecovered)
def _on_write_off_recovered(a: Agreement, e: WriteOffRecovered) -> dict[str, Any]:
    _positive(a, e.amount, a.written_off(e.invoice_id).minor, "what is written off")
    return {"recoveries": (*a.recoveries, e)}


@handles(CreditForfeited)
def _on_credit_forfeited(a: Agreement, e: CreditForfeited) -> dict[str, Any]:
    _positive(a, e.amount, a.credit_balance.minor, "the customer credit outstanding")
    return {"forfeits": (*a.forfeits, e)}


@handles(ReminderSent)
def _on_reminder_sent(a: Agreement, e: ReminderSent) -> dict[str, Any]:
    a.invoice(e.invoice_id)
    if type(e.step) is not int or e.balance.currency != a.currency:
        raise ValidationError("step", f"a whole number of days, balance in {a.currency.code}",
                              (e.step, e.balance))
    if any(r.invoice_id == e.invoice_id and r.step == e.step for r in a.reminders):
        raise DuplicateIdError("reminder", f"{e.invoice_id}:{e.step}")
    return {"reminders": (*a.reminders, e)}


def _on_time_event(a: Agreement, e: TimeEvent) -> dict[str, Any]:
    # The entries are read from the stream (agreement.time_entries.time_work).
    check_time_event(a.proposal.time_materials, a.currency, a.events, a.id, e)
    return {}


handles(TimeRecorded)(_on_time_event)
handles(ExpenseRecorded)(_on_time_event)
handles(TimeCapRaised)(_on_time_event)
handles(WorkWrittenDown)(_on_time_event)

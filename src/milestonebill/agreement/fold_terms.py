"""How an agreement folds the events of the billing terms in ``docs/terms.md``.

Write-offs and their recoveries, forfeited customer credit, reminders sent,
time and materials (entries, cap raises, write-downs), and the progress
and estimates of input-measured obligations each have a
handler here, registered with :func:`~milestonebill.agreement.fold.handles`
when the package is imported, so :func:`~milestonebill.agreement.apply`
folds them like the events of the core lifecycle in
:mod:`~milestonebill.agreement.fold`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from milestonebill.agreement._lookups import appended, lookups
from milestonebill.agreement.events import (
    CreditForfeited,
    EstimateRevised,
    InvoiceWrittenOff,
    ProgressReported,
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
    return {"write_offs": appended(a.write_offs, e)}


@handles(WriteOffRecovered)
def _on_write_off_recovered(a: Agreement, e: WriteOffRecovered) -> dict[str, Any]:
    _positive(a, e.amount, a.written_off(e.invoice_id).minor, "what is written off")
    return {"recoveries": appended(a.recoveries, e)}


@handles(CreditForfeited)
def _on_credit_forfeited(a: Agreement, e: CreditForfeited) -> dict[str, Any]:
    _positive(a, e.amount, a.credit_balance.minor, "the customer credit outstanding")
    return {"forfeits": appended(a.forfeits, e)}


@handles(ReminderSent)
def _on_reminder_sent(a: Agreement, e: ReminderSent) -> dict[str, Any]:
    a.invoice(e.invoice_id)
    if type(e.step) is not int or e.balance.currency != a.currency:
        raise ValidationError("step", f"a whole number of days, balance in {a.currency.code}",
                              (e.step, e.balance))
    if any(r.invoice_id == e.invoice_id and r.step == e.step for r in a.reminders):
        raise DuplicateIdError("reminder", f"{e.invoice_id}:{e.step}")
    return {"reminders": appended(a.reminders, e)}


def _on_time_event(a: Agreement, e: TimeEvent) -> dict[str, Any]:
    # The entries are read from the stream (agreement.time_entries.time_work).
    check_time_event(a.proposal.time_materials, a.currency, a.events, a.id, e,
                     recorded=lookups(a).time_entries)
    return {}


handles(TimeRecorded)(_on_time_event)
handles(ExpenseRecorded)(_on_time_event)
handles(TimeCapRaised)(_on_time_event)
handles(WorkWrittenDown)(_on_time_event)


def _input_event(a: Agreement, e: ProgressReported | EstimateRevised,
                 earlier: Sequence[ProgressReported | EstimateRevised], what: str) -> None:
    """Checks both input-measure events share: the obligation is measured by
    hours, costs or units, and the events of one obligation are in date order
    from signing on."""
    if not a.state.amendable:
        raise InvalidTransitionError(
            f"{type(e).__name__} is not allowed while agreement {a.id!r} is {a.state.value}")
    terms = next((o for o in a.obligation_terms if o.id == e.obligation_id), None)
    if terms is None or not terms.progress.is_input:
        raise ValidationError("obligation_id", "an obligation of the package measured by "
                              "hours, costs or units", e.obligation_id)
    first = earlier[-1].as_of if earlier else a.signed_on
    if e.as_of < first:
        raise ValidationError("as_of", f"on or after {what} ({first})", e.as_of)


@handles(ProgressReported)
def _on_progress_reported(a: Agreement, e: ProgressReported) -> dict[str, Any]:
    earlier = [r for r in a.progress_reports if r.obligation_id == e.obligation_id]
    _input_event(a, e, earlier, "the last report" if earlier else "signing")
    floor = earlier[-1].to_date if earlier else 0
    if e.to_date < floor:
        raise ValidationError("to_date", f"at least {floor} (progress to date never goes "
                              "backwards)", e.to_date)
    estimate = a.estimate(e.obligation_id, e.as_of)
    if e.to_date > estimate:
        raise ValidationError("to_date", f"at most the estimate in force ({estimate}); "
                              "revise the estimate first", e.to_date)
    return {"progress_reports": appended(a.progress_reports, e)}


@handles(EstimateRevised)
def _on_estimate_revised(a: Agreement, e: EstimateRevised) -> dict[str, Any]:
    earlier = [r for r in a.estimates if r.obligation_id == e.obligation_id]
    _input_event(a, e, earlier, "the last revision" if earlier else "signing")
    done = a.progress(e.obligation_id)
    if e.total <= 0 or e.total < done:
        raise ValidationError("total", f"a positive total, at least the {done} reported "
                              "to date", e.total)
    return {"estimates": appended(a.estimates, e)}

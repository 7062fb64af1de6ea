"""The events of an agreement's stream, and their JSON form.

Every event carries ``event_id``, ``version`` (1, 2, 3, ... with no gaps)
and ``effective_at`` (aware UTC; an aware time in another zone is
converted).  :class:`Signed` is always the first;
:func:`~milestonebill.agreement.apply` folds the rest.  :data:`Event` is the
union of them all, and :func:`event_to_json` / :func:`event_from_json` are
their exact JSON round trip through the library's one codec
(:mod:`milestonebill._json`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import attrs

from milestonebill._json import decode_tagged, encode_tagged
from milestonebill._validate import (
    check_id,
    exact_decimal,
    redact_card_numbers,
)
from milestonebill.agreement._fields import checked_id as _id
from milestonebill.agreement._fields import day as _day
from milestonebill.agreement._fields import effective_at as _effective_at
from milestonebill.agreement._fields import event_id as _event_id
from milestonebill.agreement._fields import reason as _reason
from milestonebill.agreement._fields import text as _text
from milestonebill.agreement.amendments import Amendment
from milestonebill.agreement.proposal import Proposal

# Time and materials (docs/terms.md): the events live in their own module.
from milestonebill.agreement.time_entries import (
    ExpenseRecorded,
    TimeCapRaised,
    TimeRecorded,
    WorkWrittenDown,
)
from milestonebill.documents import CreditNote, Invoice
from milestonebill.errors import ValidationError
from milestonebill.ids import AgreementId, AmendmentId, InvoiceId, ObligationId
from milestonebill.money import Money
from milestonebill.payment_methods import PaymentMethodRef
from milestonebill.schedule import MilestoneId

__all__ = [
    "AmendmentApproved",
    "AmendmentProposed",
    "AmendmentRejected",
    "Cancelled",
    "ChargeAttempted",
    "Completed",
    "CreditApplied",
    "CreditForfeited",
    "CreditIssued",
    "CustomerCreditAdded",
    "EstimateRevised",
    "Event",
    "InvoiceIssued",
    "InvoiceWrittenOff",
    "MilestoneCompleted",
    "Paused",
    "PaymentFailed",
    "PaymentSucceeded",
    "ProgressReported",
    "Refunded",
    "ReminderSent",
    "Resumed",
    "Signed",
    "WriteOffRecovered",
    "event_from_json",
    "event_to_json",
]


# ---------------------------------------------------------------- field checks
#
# Every field that holds outside input is checked as it enters, so an event
# that exists can be stored by every store and read back: ids by the id
# rule, free text by the text rule (which refuses card numbers), dates and
# times within the calendar's bounds.  Text a gateway reports about money
# that already moved is redacted instead of refused, so it is never lost.








def _ids(_inst: object, attr: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    for i, v in enumerate(value):
        check_id(f"{attr.name}[{i}]", v)






def _reported(value: str) -> str:
    return redact_card_numbers(value) if isinstance(value, str) else value



@attrs.frozen
class Signed:
    """The proposal was signed: the first event of every agreement."""

    event_id: str = attrs.field(validator=_event_id)
    version: int
    effective_at: datetime = attrs.field(converter=_effective_at)
    agreement_id: AgreementId = attrs.field(validator=_id)
    proposal: Proposal
    option_id: str = attrs.field(validator=_id)
    signer: str = attrs.field(validator=_text)
    payment_method: PaymentMethodRef | None = None
    addon_ids: tuple[str, ...] = attrs.field(default=(), validator=_ids)


@attrs.frozen
class MilestoneCompleted:
    """A milestone was delivered (``completed_on``), by whom, with what evidence."""

    event_id: str = attrs.field(validator=_event_id)
    version: int
    effective_at: datetime = attrs.field(converter=_effective_at)
    milestone_id: MilestoneId = attrs.field(validator=_id)
    completed_on: date = attrs.field(validator=_day)
    completed_by: str = attrs.field(validator=_text)
    evidence: str = attrs.field(default="", validator=_text)


@attrs.frozen
class AmendmentProposed:
    """An amendment was proposed; pending until approved unless no approval is needed."""

    event_id: str = attrs.field(validator=_event_id)
    version: int
    effective_at: datetime = attrs.field(converter=_effective_at)
    amendment: Amendment
    proposed_by: str = attrs.field(validator=_text)
    requires_approval: bool
    auto_approve_at: datetime | None = None


@attrs.frozen
class AmendmentApproved:
    """A pending amendment was approved (``automatic`` after the notice period)."""

    event_id: str = attrs.field(validator=_event_id)
    version: int
    effective_at: datetime = attrs.field(converter=_effective_at)
    amendment_id: AmendmentId = attrs.field(validator=_id)
    approved_by: str = attrs.field(validator=_text)
    automatic: bool = False


@attrs.frozen
class AmendmentRejected:
    """A pending amendment was rejected."""

    event_id: str = attrs.field(validator=_event_id)
    version: int
    effective_at: datetime = attrs.field(converter=_effective_at)
    amendment_id: AmendmentId = attrs.field(validator=_id)
    rejected_by: str = attrs.field(validator=_text)
    reason: str = attrs.field(default="", validator=_text)


@attrs.frozen
class Paused:
    """Billing is held: no invoices are due while paused (charges accrue)."""

    event_id: str = attrs.field(validator=_event_id)
    version: int
    effective_at: datetime = attrs.field(converter=_effective_at)
    reason: str = attrs.field(default="", validator=_text)


@attrs.frozen
class Resumed:
    """Billing resumes; everything that came due while paused is due now."""

    event_id: str = attrs.field(validator=_event_id)
    version: int
    effective_at: datetime = attrs.field(converter=_effective_at)


@attrs.frozen
class Cancelled:
    """The agreement was cancelled on ``effective_on`` (same effect as :class:`~milestonebill.agreement.CancelAgreement`)."""

    event_id: str = attrs.field(validator=_event_id)
    version: int
    effective_at: datetime = attrs.field(converter=_effective_at)
    effective_on: date = attrs.field(validator=_day)
    credit_unused: bool = True
    reason: str = attrs.field(default="", validator=_text)


@attrs.frozen
class Completed:
    """The engagement is closed: every milestone delivered; recurring charges end."""

    event_id: str = attrs.field(validator=_event_id)
    version: int
    effective_at: datetime = attrs.field(converter=_effective_at)
    effective_on: date = attrs.field(validator=_day)


@attrs.frozen
class InvoiceIssued:
    """The engine issued a (numbered) invoice."""

    event_id: str = attrs.field(validator=_event_id)
    version: int
    effective_at: datetime = attrs.field(converter=_effective_at)
    invoice: Invoice


@attrs.frozen
class CreditIssued:
    """The engine issued a (numbered) credit note."""

    event_id: str = attrs.field(validator=_event_id)
    version: int
    effective_at: datetime = attrs.field(converter=_effective_at)
    credit_note: CreditNote


@attrs.frozen
class ChargeAttempted:
    """The engine asked the gateway to charge an invoice (attempt 1, 2, ...)."""

    event_id: str = attrs.field(validator=_event_id)
    version: int
    effective_at: datetime = attrs.field(converter=_effective_at)
    invoice_id: InvoiceId
    attempt: int
    idempotency_key: str
    amount: Money


@attrs.frozen
class PaymentSucceeded:
    """Money was received against an invoice; ``fee`` is the gateway's fee if known,
    ``application_fee`` the platform's cut of a payment on a connected account
    (events stored before it existed read as ``None``)."""

    event_id: str = attrs.field(validator=_event_id)
    version: int
    effective_at: datetime = attrs.field(converter=_effective_at)
    invoice_id: InvoiceId
    amount: Money
    gateway_reference: str
    attempt: int | None = None
    fee: Money | None = None
    application_fee: Money | None = None


@attrs.frozen
class PaymentFailed:
    """A charge attempt was declined or failed."""

    event_id: str = attrs.field(validator=_event_id)
    version: int
    effective_at: datetime = attrs.field(converter=_effective_at)
    invoice_id: InvoiceId
    attempt: int
    decline_code: str
    message: str = attrs.field(default="", converter=_reported)
    retryable: bool = False


@attrs.frozen
class Refunded:
    """Money was paid back against an invoice."""

    event_id: str = attrs.field(validator=_event_id)
    version: int
    effective_at: datetime = attrs.field(converter=_effective_at)
    invoice_id: InvoiceId
    amount: Money
    gateway_reference: str
    idempotency_key: str = ""
    reason: str = attrs.field(default="", converter=_reported)


@attrs.frozen
class CustomerCreditAdded:
    """What an over-credited invoice's client is owed became customer credit.

    ``amount`` (at most the invoice's negative balance) moves from the
    invoice to the agreement's
    :attr:`~milestonebill.agreement.Agreement.credit_balance`; the invoice
    balance rises by it (back to zero at most).
    """

    event_id: str = attrs.field(validator=_event_id)
    version: int
    effective_at: datetime = attrs.field(converter=_effective_at)
    invoice_id: InvoiceId
    amount: Money
    credit_note_id: str = ""


@attrs.frozen
class CreditApplied:
    """Customer credit paid ``amount`` of an invoice (at most its balance and the credit)."""

    event_id: str = attrs.field(validator=_event_id)
    version: int
    effective_at: datetime = attrs.field(converter=_effective_at)
    invoice_id: InvoiceId
    amount: Money


def _to_date(value: Decimal | int | str) -> Decimal:
    return exact_decimal(value, "to_date")


def _total(value: Decimal | int | str) -> Decimal:
    return exact_decimal(value, "total")


@attrs.frozen
class ProgressReported:
    """Progress on an obligation measured by hours, costs or units, to date.

    ``to_date`` is the cumulative quantity incurred or delivered by the end
    of ``as_of`` (not the increment): hours, units, or costs in the
    agreement's currency units.  Reports never go backwards and never pass
    the current estimate; revise the estimate first
    (:class:`EstimateRevised`).
    """

    event_id: str = attrs.field(validator=_event_id)
    version: int
    effective_at: datetime = attrs.field(converter=_effective_at)
    obligation_id: ObligationId = attrs.field(validator=_id)
    to_date: Decimal = attrs.field(converter=_to_date)
    as_of: date = attrs.field(validator=_day)


@attrs.frozen
class EstimateRevised:
    """A new estimated total for an obligation measured by hours, costs or units.

    From ``as_of`` on, progress is measured against ``total``; revenue
    catches up cumulatively (ASC 606-10-55-133 style): a change in
    estimate, not a contract modification.
    """

    event_id: str = attrs.field(validator=_event_id)
    version: int
    effective_at: datetime = attrs.field(converter=_effective_at)
    obligation_id: ObligationId = attrs.field(validator=_id)
    total: Decimal = attrs.field(converter=_total)
    as_of: date = attrs.field(validator=_day)


# ---------------------------------------------------------------- collection terms
#
# Write-offs, their recovery, forfeited customer credit and reminders of
# unpaid invoices (docs/terms.md).  The Biller appends them; the fold checks
# each against the invoice or the credit it concerns.




@attrs.frozen
class InvoiceWrittenOff:
    """``amount`` (tax included) of an invoice's balance was written off as
    uncollectible: a credit loss (bad debt), not a change of the price."""

    event_id: str = attrs.field(validator=_event_id)
    version: int
    effective_at: datetime = attrs.field(converter=_effective_at)
    invoice_id: InvoiceId = attrs.field(validator=_id)
    amount: Money
    reason: str = attrs.field(validator=_reason)


@attrs.frozen
class WriteOffRecovered:
    """Money came in on a written-off invoice: ``amount`` of the write-off is
    reversed (the receivable is owed again) so that the payment that follows
    settles it.  ``reference`` names that payment."""

    event_id: str = attrs.field(validator=_event_id)
    version: int
    effective_at: datetime = attrs.field(converter=_effective_at)
    invoice_id: InvoiceId = attrs.field(validator=_id)
    amount: Money
    reference: str = ""  # the payment's reference, as PaymentSucceeded stores it


@attrs.frozen
class CreditForfeited:
    """The client forfeited ``amount`` of its customer credit (it will not be
    applied or paid back)."""

    event_id: str = attrs.field(validator=_event_id)
    version: int
    effective_at: datetime = attrs.field(converter=_effective_at)
    amount: Money
    reason: str = attrs.field(validator=_reason)


@attrs.frozen
class ReminderSent:
    """The client was reminded of an unpaid invoice, ``step`` days from its due
    date (negative: before it, 0: on it, positive: overdue); ``balance`` is
    what it still owed."""

    event_id: str = attrs.field(validator=_event_id)
    version: int
    effective_at: datetime = attrs.field(converter=_effective_at)
    invoice_id: InvoiceId = attrs.field(validator=_id)
    step: int
    balance: Money


Event = (
    Signed
    | MilestoneCompleted
    | AmendmentProposed
    | AmendmentApproved
    | AmendmentRejected
    | Paused
    | Resumed
    | Cancelled
    | Completed
    | InvoiceIssued
    | CreditIssued
    | ChargeAttempted
    | PaymentSucceeded
    | PaymentFailed
    | Refunded
    | CustomerCreditAdded
    | CreditApplied
    | ProgressReported
    | EstimateRevised
    | InvoiceWrittenOff
    | WriteOffRecovered
    | CreditForfeited
    | ReminderSent
    | TimeRecorded
    | ExpenseRecorded
    | TimeCapRaised
    | WorkWrittenDown
)
_EVENT_TYPES: tuple[type, ...] = (
    Signed, MilestoneCompleted, AmendmentProposed, AmendmentApproved, AmendmentRejected,
    Paused, Resumed, Cancelled, Completed, InvoiceIssued, CreditIssued, ChargeAttempted,
    PaymentSucceeded, PaymentFailed, Refunded, CustomerCreditAdded, CreditApplied,
    ProgressReported, EstimateRevised,
    InvoiceWrittenOff, WriteOffRecovered, CreditForfeited, ReminderSent,
    TimeRecorded, ExpenseRecorded, TimeCapRaised, WorkWrittenDown,
)
_EVENTS_BY_NAME = {t.__name__: t for t in _EVENT_TYPES}


def event_to_json(event: Event) -> dict[str, Any]:
    """The JSON form of an event: its fields plus a ``"type"`` discriminator.

    Money is ``{"amount": "12.30", "currency": "USD"}``; the round trip through
    :func:`event_from_json` is exact.  Raises :class:`~milestonebill.errors.ValidationError` naming
    ``event`` for anything that is not an agreement event.

    >>> from datetime import UTC
    >>> e = Paused("agr-1/2", 2, datetime(2026, 5, 1, 12, tzinfo=UTC), reason="client request")
    >>> event_to_json(e)
    {'type': 'Paused', 'event_id': 'agr-1/2', 'version': 2, 'effective_at': '2026-05-01T12:00:00+00:00', 'reason': 'client request'}
    >>> event_from_json(event_to_json(e)) == e
    True
    """
    if not isinstance(event, _EVENT_TYPES):
        raise ValidationError("event", "an agreement event", event)
    return encode_tagged(event)


def event_from_json(data: Mapping[str, Any]) -> Event:
    """Parse the form made by :func:`event_to_json`; unknown types and fields are refused."""
    return decode_tagged(data, _EVENTS_BY_NAME, "event")  # type: ignore[no-any-return]

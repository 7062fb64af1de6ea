"""Proposals, signed agreements as a fold over events, and priced amendments.

Life of an engagement, as pure values (no clock, no I/O):

1. A :class:`Proposal` offers one or more :class:`PackageOption` s (each a
   :class:`~milestonebill.schedule.BillingSchedule` and a scope text) and
   optional :class:`AddOn` s, valid until a date.
2. :func:`sign` turns it into an :class:`Agreement` whose first event is
   :class:`Signed`.  The payment method is a :class:`PaymentMethodRef`
   (gateway ids only); anything that looks like a raw card number is refused.
3. Everything after that is an event appended to the agreement's stream;
   ``Agreement.from_events(events)`` and :func:`apply` fold them.  Events
   carry ``event_id``, ``version`` (1, 2, 3, ... with no gaps) and
   ``effective_at`` (aware UTC).  Re-applying an event id is a no-op; a
   version that is not the next one raises :class:`EventOrderError`.
4. Amendments (:class:`Amendment`, a tuple of typed operations) are
   proposed, then approved (explicitly, or automatically after the
   proposal's notice period -- see :func:`approvals_due`) or rejected.
   Pending amendments do not affect billing.  :func:`preview` prices an
   amendment before anything is applied.

Queries the billing engine calls (all pure; ``as_of``/``through`` always
explicit):

* :func:`billing_plan` -- every billable item with its current amount and
  billing date (see ``_amendments`` for the keys).
* :func:`contract_value` -- the sum of the plan.  Open-ended recurring
  charges have no total, so their value is counted over a *stated horizon*:
  the service-period pieces that start before ``through``.  ``through`` is
  required when any recurring charge is open-ended.
* :func:`preview` -- the exact money effect of an amendment.
* :func:`approvals_due` -- amendments whose notice period has run out.
* ``milestonebill.invoicing.due_invoices`` and friends decide what to bill.

>>> from milestonebill.schedule import BillingSchedule, Milestone, MilestoneId, Trigger
>>> usd = Currency.of("USD")
>>> basic = PackageOption("basic", "Basic", BillingSchedule(currency=usd, milestones=[
...     Milestone(MilestoneId("kickoff"), "Kickoff", amount=Money("1000.00", "USD"),
...               trigger=Trigger.ON_SIGNING),
...     Milestone(MilestoneId("launch"), "Launch", amount=Money("4000.00", "USD"))]))
>>> proposal = Proposal(ProposalId("p-1"), "Acme Ltd", usd, (basic,),
...                     valid_until=date(2026, 3, 31), collection=Collection.SEND_INVOICE)
>>> a = sign(proposal, option="basic", signer="Ada", agreement_id=AgreementId("agr-1"),
...          signed_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC), payment_method=None)
>>> a.state, a.version, contract_value(a)
(<AgreementState.ACTIVE: 'active'>, 1, Money('5000.00', 'USD'))
>>> a = apply(a, complete_milestone(a, MilestoneId("launch"), by="Ada", evidence="go-live",
...                                  at=datetime(2026, 4, 1, tzinfo=UTC)))
>>> a.completions[MilestoneId("launch")]
datetime.date(2026, 4, 1)
>>> a.as_of(date(2026, 3, 31)).version
1
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NewType

import attrs

from milestonebill._amendments import (
    AddAddOn,
    AddMilestone,
    AddRecurringCharge,
    Amendment,
    AmendmentId,
    CancelAddOn,
    CancelAgreement,
    Catalogue,
    ChangeBillingDay,
    ChangeMilestoneAmount,
    ChangeRecurringInterval,
    ChangeRecurringPrice,
    Draft,
    EndRecurringCharge,
    MilestoneTerm,
    Operation,
    PlanItem,
    ProrationPolicy,
    RecurringTerm,
    RemoveMilestone,
    RescheduleMilestone,
    SwitchPackage,
    apply_operation,
    milestone_item,
    term_limit,
    term_pieces,
)
from milestonebill._json import decode, encode
from milestonebill._validate import utc_datetime
from milestonebill.documents import CreditNote, Invoice, InvoiceId
from milestonebill.errors import (
    DuplicateIdError,
    EventOrderError,
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
    ProposalExpiredError,
    ValidationError,
)
from milestonebill.ids import PlanKey
from milestonebill.money import Currency, Money, Rounding
from milestonebill.payment_methods import (
    PaymentMethodKind,
    PaymentMethodRef,
    contains_card_number,
)
from milestonebill.periods import DayCount
from milestonebill.schedule import (
    BillingSchedule,
    Milestone,
    MilestoneId,
    RecurringCharge,
    Trigger,
)

__all__ = [
    "AddAddOn",
    "AddMilestone",
    "AddOn",
    "AddRecurringCharge",
    "Agreement",
    "AgreementId",
    "AgreementState",
    "Amendment",
    "AmendmentApproved",
    "AmendmentId",
    "AmendmentPreview",
    "AmendmentProposed",
    "AmendmentRecord",
    "AmendmentRejected",
    "AmendmentStatus",
    "ApprovalRules",
    "CancelAddOn",
    "CancelAgreement",
    "Cancelled",
    "ChangeBillingDay",
    "ChangeMilestoneAmount",
    "ChangeRecurringInterval",
    "ChangeRecurringPrice",
    "ChargeAttempted",
    "Collection",
    "Completed",
    "Completion",
    "CreditApplied",
    "CreditIssued",
    "CustomerCreditAdded",
    "EndRecurringCharge",
    "Event",
    "InvoiceIssued",
    "MilestoneCompleted",
    "MilestoneTerm",
    "Operation",
    "PackageOption",
    "Paused",
    "PaymentFailed",
    "PaymentMethodKind",
    "PaymentMethodRef",
    "PaymentSucceeded",
    "PlanItem",
    "PreviewLine",
    "Proposal",
    "ProposalId",
    "ProrationPolicy",
    "RecurringTerm",
    "Refunded",
    "RemoveMilestone",
    "RescheduleMilestone",
    "Resumed",
    "ScheduleChange",
    "Signed",
    "SwitchPackage",
    "apply",
    "approvals_due",
    "approve",
    "billed_by_key",
    "billing_plan",
    "cancel",
    "complete",
    "complete_milestone",
    "contains_card_number",
    "contract_value",
    "event_from_json",
    "event_to_json",
    "pause",
    "preview",
    "propose",
    "reject",
    "resume",
    "sign",
]

AgreementId = NewType("AgreementId", str)
ProposalId = NewType("ProposalId", str)


# ---------------------------------------------------------------- proposals


class Collection(enum.Enum):
    """How invoices are paid: charged automatically, or sent for the client to pay."""

    AUTO_CHARGE = "auto_charge"
    SEND_INVOICE = "send_invoice"


@attrs.frozen
class ApprovalRules:
    """Whether amendments that change money or scope need the client's approval.

    ``auto_approve_after_days``: a pending amendment counts as approved once
    this many days have passed since it was proposed (the engine appends the
    :class:`AmendmentApproved` event, see :func:`approvals_due`).
    """

    require_client_approval: bool = True
    auto_approve_after_days: int | None = None

    def __attrs_post_init__(self) -> None:
        n = self.auto_approve_after_days
        if n is not None and (type(n) is not int or n < 0):
            raise ValidationError("auto_approve_after_days", "None or a whole number >= 0", n)


@attrs.frozen
class PackageOption:
    """A package the client can choose: a billing schedule and a scope text."""

    id: str
    name: str
    schedule: BillingSchedule
    scope: str = ""


@attrs.frozen
class AddOn:
    """An optional extra with its own milestones and recurring charges."""

    id: str
    name: str
    schedule: BillingSchedule
    scope: str = ""


def _item_ids(schedule: BillingSchedule) -> list[str]:
    return [m.id for m in schedule.milestones] + [r.id for r in schedule.recurring]


@attrs.frozen
class Proposal:
    """What is offered to a client: package options, add-ons, validity and rules.

    ``proration_basis``/``proration_rounding`` are used whenever a service
    period is cut by an amendment.  With ``Collection.AUTO_CHARGE`` a
    payment method is required at signing.
    """

    id: ProposalId
    client: str
    currency: Currency
    options: tuple[PackageOption, ...]
    addons: tuple[AddOn, ...] = ()
    valid_until: date | None = None
    approval: ApprovalRules = ApprovalRules()
    collection: Collection = Collection.AUTO_CHARGE
    proration_basis: DayCount = DayCount.ACTUAL_OVER_PERIOD
    proration_rounding: Rounding = Rounding.HALF_UP

    def __attrs_post_init__(self) -> None:
        problems: list[ValidationError] = []
        if not isinstance(self.currency, Currency):
            problems.append(ValidationError("currency", "a Currency", self.currency))
        if not self.options:
            problems.append(ValidationError("options", "at least one package option", ()))
        seen: set[str] = set()
        groups: tuple[tuple[str, tuple[PackageOption | AddOn, ...]], ...] = (
            ("options", self.options), ("addons", self.addons))
        for kind, entries in groups:
            for i, entry in enumerate(entries):
                if entry.id in seen:
                    problems.append(ValidationError(f"{kind}[{i}].id", "a unique id", entry.id))
                seen.add(entry.id)
                if entry.schedule.currency != self.currency:
                    problems.append(ValidationError(f"{kind}[{i}].schedule.currency",
                                                    f"{self.currency.code}",
                                                    entry.schedule.currency.code))
        addon_items = [x for a in self.addons for x in _item_ids(a.schedule)]
        if len(addon_items) != len(set(addon_items)):
            problems.append(ValidationError("addons", "item ids unique across add-ons",
                                            sorted(addon_items)))
        for i, o in enumerate(self.options):
            clash = set(_item_ids(o.schedule)) & set(addon_items)
            if clash:
                problems.append(ValidationError(f"options[{i}]",
                                                "item ids distinct from the add-ons'",
                                                sorted(clash)))
        if len(problems) == 1:
            raise problems[0]
        if problems:
            raise InvalidInputError(problems)

    def option(self, option_id: str) -> PackageOption:
        """The package option with this id, or :class:`NotFoundError`."""
        for o in self.options:
            if o.id == option_id:
                return o
        raise NotFoundError(f"proposal {self.id!r} has no package option {option_id!r} "
                            f"(options: {[o.id for o in self.options]})")

    def addon(self, addon_id: str) -> AddOn:
        """The add-on with this id, or :class:`NotFoundError`."""
        for a in self.addons:
            if a.id == addon_id:
                return a
        raise NotFoundError(f"proposal {self.id!r} has no add-on {addon_id!r}")


# ---------------------------------------------------------------- events


def _utc(value: datetime) -> datetime:
    return utc_datetime(value)


@attrs.frozen
class Signed:
    """The proposal was signed: the first event of every agreement."""

    event_id: str
    version: int
    effective_at: datetime = attrs.field(converter=_utc)
    agreement_id: AgreementId
    proposal: Proposal
    option_id: str
    signer: str
    payment_method: PaymentMethodRef | None = None
    addon_ids: tuple[str, ...] = ()


@attrs.frozen
class MilestoneCompleted:
    """A milestone was delivered (``completed_on``), by whom, with what evidence."""

    event_id: str
    version: int
    effective_at: datetime = attrs.field(converter=_utc)
    milestone_id: MilestoneId
    completed_on: date
    completed_by: str
    evidence: str = ""


@attrs.frozen
class AmendmentProposed:
    """An amendment was proposed; pending until approved unless no approval is needed."""

    event_id: str
    version: int
    effective_at: datetime = attrs.field(converter=_utc)
    amendment: Amendment
    proposed_by: str
    requires_approval: bool
    auto_approve_at: datetime | None = None


@attrs.frozen
class AmendmentApproved:
    """A pending amendment was approved (``automatic`` after the notice period)."""

    event_id: str
    version: int
    effective_at: datetime = attrs.field(converter=_utc)
    amendment_id: AmendmentId
    approved_by: str
    automatic: bool = False


@attrs.frozen
class AmendmentRejected:
    """A pending amendment was rejected."""

    event_id: str
    version: int
    effective_at: datetime = attrs.field(converter=_utc)
    amendment_id: AmendmentId
    rejected_by: str
    reason: str = ""


@attrs.frozen
class Paused:
    """Billing is held: no invoices are due while paused (charges accrue)."""

    event_id: str
    version: int
    effective_at: datetime = attrs.field(converter=_utc)
    reason: str = ""


@attrs.frozen
class Resumed:
    """Billing resumes; everything that came due while paused is due now."""

    event_id: str
    version: int
    effective_at: datetime = attrs.field(converter=_utc)


@attrs.frozen
class Cancelled:
    """The agreement was cancelled on ``effective_on`` (same effect as :class:`CancelAgreement`)."""

    event_id: str
    version: int
    effective_at: datetime = attrs.field(converter=_utc)
    effective_on: date
    credit_unused: bool = True
    reason: str = ""


@attrs.frozen
class Completed:
    """The engagement is closed: every milestone delivered; recurring charges end."""

    event_id: str
    version: int
    effective_at: datetime = attrs.field(converter=_utc)
    effective_on: date


@attrs.frozen
class InvoiceIssued:
    """The engine issued a (numbered) invoice."""

    event_id: str
    version: int
    effective_at: datetime = attrs.field(converter=_utc)
    invoice: Invoice


@attrs.frozen
class CreditIssued:
    """The engine issued a (numbered) credit note."""

    event_id: str
    version: int
    effective_at: datetime = attrs.field(converter=_utc)
    credit_note: CreditNote


@attrs.frozen
class ChargeAttempted:
    """The engine asked the gateway to charge an invoice (attempt 1, 2, ...)."""

    event_id: str
    version: int
    effective_at: datetime = attrs.field(converter=_utc)
    invoice_id: InvoiceId
    attempt: int
    idempotency_key: str
    amount: Money


@attrs.frozen
class PaymentSucceeded:
    """Money was received against an invoice; ``fee`` is the gateway's fee if known."""

    event_id: str
    version: int
    effective_at: datetime = attrs.field(converter=_utc)
    invoice_id: InvoiceId
    amount: Money
    gateway_reference: str
    attempt: int | None = None
    fee: Money | None = None


@attrs.frozen
class PaymentFailed:
    """A charge attempt was declined or failed."""

    event_id: str
    version: int
    effective_at: datetime = attrs.field(converter=_utc)
    invoice_id: InvoiceId
    attempt: int
    decline_code: str
    message: str = ""
    retryable: bool = False


@attrs.frozen
class Refunded:
    """Money was paid back against an invoice."""

    event_id: str
    version: int
    effective_at: datetime = attrs.field(converter=_utc)
    invoice_id: InvoiceId
    amount: Money
    gateway_reference: str
    idempotency_key: str = ""
    reason: str = ""


@attrs.frozen
class CustomerCreditAdded:
    """What an over-credited invoice's client is owed became customer credit.

    ``amount`` (at most the invoice's negative balance) moves from the
    invoice to the agreement's :attr:`Agreement.credit_balance`; the invoice
    balance rises by it (back to zero at most).
    """

    event_id: str
    version: int
    effective_at: datetime = attrs.field(converter=_utc)
    invoice_id: InvoiceId
    amount: Money
    credit_note_id: str = ""


@attrs.frozen
class CreditApplied:
    """Customer credit paid ``amount`` of an invoice (at most its balance and the credit)."""

    event_id: str
    version: int
    effective_at: datetime = attrs.field(converter=_utc)
    invoice_id: InvoiceId
    amount: Money


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
)
_EVENT_TYPES: tuple[type, ...] = (
    Signed, MilestoneCompleted, AmendmentProposed, AmendmentApproved, AmendmentRejected,
    Paused, Resumed, Cancelled, Completed, InvoiceIssued, CreditIssued, ChargeAttempted,
    PaymentSucceeded, PaymentFailed, Refunded, CustomerCreditAdded, CreditApplied,
)
_EVENTS_BY_NAME = {t.__name__: t for t in _EVENT_TYPES}


def event_to_json(event: Event) -> dict[str, Any]:
    """The JSON form of an event: its fields plus a ``"type"`` discriminator.

    Money is ``{"amount": "12.30", "currency": "USD"}``; the round trip
    through :func:`event_from_json` is exact.

    >>> e = Paused("agr-1/2", 2, datetime(2026, 5, 1, 12, tzinfo=UTC), reason="client request")
    >>> event_to_json(e)
    {'type': 'Paused', 'event_id': 'agr-1/2', 'version': 2, 'effective_at': '2026-05-01T12:00:00+00:00', 'reason': 'client request'}
    >>> event_from_json(event_to_json(e)) == e
    True
    """
    if not isinstance(event, _EVENT_TYPES):
        raise ValidationError("event", "an agreement event", event)
    body = encode(event)
    return {"type": type(event).__name__, **body}


def event_from_json(data: Mapping[str, Any]) -> Event:
    """Parse the form made by :func:`event_to_json`; unknown types and fields are refused."""
    if not isinstance(data, Mapping) or not isinstance(data.get("type"), str):
        raise ValidationError("event", "an object with a 'type' string", data)
    kind = _EVENTS_BY_NAME.get(data["type"])
    if kind is None:
        raise ValidationError("event.type", f"one of {sorted(_EVENTS_BY_NAME)}", data["type"])
    body = {k: v for k, v in data.items() if k != "type"}
    return decode(body, kind, "event")  # type: ignore[no-any-return]


# ---------------------------------------------------------------- the agreement


class AgreementState(enum.Enum):
    """Where an agreement is in its life."""

    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class AmendmentStatus(enum.Enum):
    """Where an amendment is in its approval."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@attrs.frozen
class AmendmentRecord:
    """An amendment with its approval history."""

    amendment: Amendment
    status: AmendmentStatus
    proposed_at: datetime
    proposed_by: str
    auto_approve_at: datetime | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None
    automatic: bool = False


@attrs.frozen
class Completion:
    """A delivered milestone: when, by whom, with what evidence."""

    milestone_id: MilestoneId
    completed_on: date
    completed_by: str
    evidence: str = ""


def _catalogue(proposal: Proposal) -> Catalogue:
    def split(s: BillingSchedule) -> tuple[tuple[Milestone, ...], tuple[RecurringCharge, ...]]:
        amounts = s.milestone_amounts()
        ms = tuple(attrs.evolve(m, amount=amounts[m.id], percent=None) for m in s.milestones)
        return ms, s.recurring

    return Catalogue({o.id: split(o.schedule) for o in proposal.options},
                     {a.id: split(a.schedule) for a in proposal.addons})


@attrs.frozen(eq=False)
class Agreement:
    """A signed agreement: the fold of its events (kept in :attr:`events`).

    Use :meth:`from_events` or :func:`sign`, then :func:`apply`.  The
    current terms are :attr:`milestones` (amounts resolved) and
    :attr:`recurring` (charges with their active ranges); the billing state
    is :attr:`invoices`, :attr:`credit_notes` and the payment events.
    Two agreements are equal when their event streams are equal.
    """

    id: AgreementId
    proposal: Proposal
    option_id: str
    signer: str
    signed_at: datetime
    payment_method: PaymentMethodRef | None
    state: AgreementState
    milestones: tuple[MilestoneTerm, ...]
    recurring: tuple[RecurringTerm, ...]
    addons: tuple[str, ...]
    completion_records: tuple[Completion, ...]
    amendments: tuple[AmendmentRecord, ...]
    changed_on: tuple[tuple[str, date], ...]
    cancelled_on: date | None
    invoices: tuple[Invoice, ...]
    credit_notes: tuple[CreditNote, ...]
    attempts: tuple[ChargeAttempted, ...]
    payments: tuple[PaymentSucceeded, ...]
    failures: tuple[PaymentFailed, ...]
    refunds: tuple[Refunded, ...]
    events: tuple[Event, ...]
    credits_added: tuple[CustomerCreditAdded, ...] = ()
    credits_applied: tuple[CreditApplied, ...] = ()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Agreement) and self.events == other.events

    def __hash__(self) -> int:
        return hash(self.events)

    @property
    def version(self) -> int:
        """The version of the last applied event."""
        return self.events[-1].version

    @property
    def currency(self) -> Currency:
        """The agreement's currency."""
        return self.proposal.currency

    @property
    def credit_balance(self) -> Money:
        """Customer credit not yet applied: added minus applied (never negative)."""
        return Money.from_minor(
            sum(c.amount.minor for c in self.credits_added)
            - sum(c.amount.minor for c in self.credits_applied), self.currency)

    @property
    def signed_on(self) -> date:
        """The UTC date of signing."""
        return self.signed_at.date()

    @property
    def completions(self) -> dict[MilestoneId, date]:
        """Delivered milestones and their completion dates."""
        return {c.milestone_id: c.completed_on for c in self.completion_records}

    @property
    def pending_amendments(self) -> tuple[AmendmentRecord, ...]:
        """Amendments waiting for approval."""
        return tuple(r for r in self.amendments if r.status is AmendmentStatus.PENDING)

    @property
    def schedule(self) -> BillingSchedule:
        """The current terms as a billing schedule (the charges as currently defined).

        Active ranges of recurring terms are not representable in a schedule;
        :func:`billing_plan` is the authoritative, amended view.
        """
        return BillingSchedule(currency=self.currency,
                               milestones=tuple(t.milestone for t in self.milestones),
                               recurring=_last_terms(self.recurring))

    def invoice(self, invoice_id: str) -> Invoice:
        """The issued invoice with this id, or :class:`NotFoundError`."""
        for inv in self.invoices:
            if inv.id == invoice_id:
                return inv
        raise NotFoundError(f"agreement {self.id!r} has no invoice {invoice_id!r}")

    @classmethod
    def from_events(cls, events: Iterable[Event]) -> Agreement:
        """Fold a stream of events; the first must be :class:`Signed` at version 1."""
        it = iter(events)
        first = next(it, None)
        if not isinstance(first, Signed):
            raise InvalidTransitionError("an agreement's first event must be Signed "
                                         f"(got {type(first).__name__})")
        agreement = _from_signed(first)
        for e in it:
            agreement = apply(agreement, e)
        return agreement

    def as_of(self, when: datetime | date) -> Agreement:
        """The agreement as it stood at ``when`` (a date means the end of that UTC day).

        Events are replayed up to and including ``when``; a date before the
        signing raises :class:`InvalidTransitionError`.
        """
        if isinstance(when, datetime):
            cutoff = utc_datetime(when, "when")
            keep = [e for e in self.events if e.effective_at <= cutoff]
        elif isinstance(when, date):
            limit = datetime.combine(when + timedelta(days=1), time(), tzinfo=UTC)
            keep = [e for e in self.events if e.effective_at < limit]
        else:
            raise ValidationError("when", "a datetime or a date", when)
        if not keep:
            raise InvalidTransitionError(f"agreement {self.id!r} was not signed yet at {when}")
        return Agreement.from_events(keep)


def _last_terms(terms: Sequence[RecurringTerm]) -> tuple[RecurringCharge, ...]:
    last: dict[str, RecurringCharge] = {}
    for t in terms:
        last[t.charge.id] = t.charge
    return tuple(last.values())


def _from_signed(e: Signed) -> Agreement:
    proposal = e.proposal
    option = proposal.option(e.option_id)
    catalogue = _catalogue(proposal)
    ms, rs = catalogue.options[option.id]
    signed_on = e.effective_at.date()
    milestones = [MilestoneTerm(m, "package", signed_on) for m in ms]
    recurring = [RecurringTerm(r, "package", r.start) for r in rs]
    for addon_id in e.addon_ids:
        proposal.addon(addon_id)
        ams, ars = catalogue.addons[addon_id]
        milestones += [MilestoneTerm(m, addon_id, signed_on) for m in ams]
        recurring += [RecurringTerm(r, addon_id, r.start) for r in ars]
    if e.version != 1:
        raise EventOrderError(e.agreement_id, 1, e.version, "Signed must be version 1")
    return Agreement(
        id=e.agreement_id, proposal=proposal, option_id=option.id, signer=e.signer,
        signed_at=e.effective_at, payment_method=e.payment_method, state=AgreementState.ACTIVE,
        milestones=tuple(milestones), recurring=tuple(recurring), addons=tuple(e.addon_ids),
        completion_records=(), amendments=(), changed_on=(), cancelled_on=None, invoices=(),
        credit_notes=(), attempts=(), payments=(), failures=(), refunds=(), events=(e,),
    )


def _draft(a: Agreement) -> Draft:
    return Draft(
        currency=a.currency, option_id=a.option_id, milestones=list(a.milestones),
        recurring=list(a.recurring), addons=list(a.addons),
        completions={str(k): v for k, v in a.completions.items()},
        changed=dict(a.changed_on),
        cancelled_on=a.cancelled_on,
    )


def _apply_amendment(a: Agreement, amendment: Amendment) -> dict[str, Any]:
    """The evolved fields after applying an amendment's operations, all or nothing."""
    d = _draft(a)
    catalogue = _catalogue(a.proposal)
    for op in amendment.operations:
        apply_operation(d, op, catalogue)
    return _fields_from_draft(d)


def _fields_from_draft(d: Draft) -> dict[str, Any]:
    return {
        "option_id": d.option_id,
        "milestones": tuple(d.milestones),
        "recurring": tuple(d.recurring),
        "addons": tuple(d.addons),
        "changed_on": tuple(sorted(d.changed.items())),
        "cancelled_on": d.cancelled_on,
    }


_AMENDABLE = (AgreementState.ACTIVE, AgreementState.PAUSED)


def _require(a: Agreement, e: object, allowed: tuple[AgreementState, ...]) -> None:
    if a.state not in allowed:
        raise InvalidTransitionError(
            f"{type(e).__name__} is not allowed while agreement {a.id!r} is {a.state.value}"
        )


def _record(a: Agreement, amendment_id: str) -> tuple[int, AmendmentRecord]:
    for i, r in enumerate(a.amendments):
        if r.amendment.id == amendment_id:
            return i, r
    raise NotFoundError(f"agreement {a.id!r} has no amendment {amendment_id!r}")


def _replace(t: tuple[Any, ...], i: int, value: Any) -> tuple[Any, ...]:
    return (*t[:i], value, *t[i + 1:])


def _approve(a: Agreement, i: int, record: AmendmentRecord, **changes: Any) -> dict[str, Any]:
    fields = _apply_amendment(a, record.amendment)
    fields["amendments"] = _replace(a.amendments, i, attrs.evolve(
        record, status=AmendmentStatus.APPROVED, **changes))
    if fields["cancelled_on"] is not None and a.cancelled_on is None:
        fields["state"] = AgreementState.CANCELLED
    return fields


def _known_invoice(a: Agreement, invoice_id: str) -> Invoice:
    return a.invoice(invoice_id)


def _paid(a: Agreement, invoice_id: str) -> Money:
    return Money.total((p.amount for p in a.payments if p.invoice_id == invoice_id),
                       currency=a.currency) - Money.total(
        (r.amount for r in a.refunds if r.invoice_id == invoice_id), currency=a.currency)


def _balance_minor(a: Agreement, invoice_id: str) -> int:
    # Mirrors invoicing.invoice_balance (which cannot be imported here).
    inv = _known_invoice(a, invoice_id)
    return (inv.total.minor
            - sum(c.total.minor for c in a.credit_notes if c.credits == invoice_id)
            - sum(p.amount.minor for p in a.payments if p.invoice_id == invoice_id)
            + sum(r.amount.minor for r in a.refunds if r.invoice_id == invoice_id)
            + sum(c.amount.minor for c in a.credits_added if c.invoice_id == invoice_id)
            - sum(c.amount.minor for c in a.credits_applied if c.invoice_id == invoice_id))


def _evolve_for(a: Agreement, e: Event) -> dict[str, Any]:
    if isinstance(e, Signed):
        raise InvalidTransitionError(f"agreement {a.id!r} is already signed")
    if isinstance(e, MilestoneCompleted):
        _require(a, e, _AMENDABLE)
        if not any(t.milestone.id == e.milestone_id for t in a.milestones):
            raise NotFoundError(f"agreement {a.id!r} has no milestone {e.milestone_id!r}")
        if e.milestone_id in a.completions:
            raise InvalidTransitionError(f"milestone {e.milestone_id!r} is already completed")
        return {"completion_records": (*a.completion_records, Completion(
            e.milestone_id, e.completed_on, e.completed_by, e.evidence))}
    if isinstance(e, AmendmentProposed):
        _require(a, e, _AMENDABLE)
        if any(r.amendment.id == e.amendment.id for r in a.amendments):
            raise DuplicateIdError("amendment", e.amendment.id)
        record = AmendmentRecord(e.amendment, AmendmentStatus.PENDING, e.effective_at,
                                 e.proposed_by, e.auto_approve_at)
        if not e.requires_approval:
            fields = _apply_amendment(a, e.amendment)  # validates as well
            record = attrs.evolve(record, status=AmendmentStatus.APPROVED,
                                  decided_at=e.effective_at, decided_by=e.proposed_by)
            fields["amendments"] = (*a.amendments, record)
            if fields["cancelled_on"] is not None and a.cancelled_on is None:
                fields["state"] = AgreementState.CANCELLED
            return fields
        _apply_amendment(a, e.amendment)  # refuse what could never be approved
        return {"amendments": (*a.amendments, record)}
    if isinstance(e, AmendmentApproved | AmendmentRejected):
        i, record = _record(a, e.amendment_id)
        if record.status is not AmendmentStatus.PENDING:
            raise InvalidTransitionError(
                f"amendment {e.amendment_id!r} is already {record.status.value}")
        if isinstance(e, AmendmentRejected):
            return {"amendments": _replace(a.amendments, i, attrs.evolve(
                record, status=AmendmentStatus.REJECTED, decided_at=e.effective_at,
                decided_by=e.rejected_by))}
        _require(a, e, _AMENDABLE)
        if e.automatic and (record.auto_approve_at is None
                            or e.effective_at < record.auto_approve_at):
            raise InvalidTransitionError(
                f"amendment {e.amendment_id!r} cannot be approved automatically before "
                f"{record.auto_approve_at}")
        return _approve(a, i, record, decided_at=e.effective_at, decided_by=e.approved_by,
                        automatic=e.automatic)
    if isinstance(e, Paused):
        _require(a, e, (AgreementState.ACTIVE,))
        return {"state": AgreementState.PAUSED}
    if isinstance(e, Resumed):
        _require(a, e, (AgreementState.PAUSED,))
        return {"state": AgreementState.ACTIVE}
    if isinstance(e, Cancelled):
        _require(a, e, _AMENDABLE)
        d = _draft(a)
        apply_operation(d, CancelAgreement(e.effective_on, e.credit_unused), _catalogue(a.proposal))
        return {**_fields_from_draft(d), "state": AgreementState.CANCELLED}
    if isinstance(e, Completed):
        _require(a, e, (AgreementState.ACTIVE,))
        done = a.completions
        open_ = [t.milestone.id for t in a.milestones
                 if t.milestone.trigger is Trigger.ON_COMPLETION and t.milestone.id not in done]
        if open_:
            raise InvalidTransitionError(f"cannot complete agreement {a.id!r}: milestones "
                                         f"{open_} are not delivered")
        d = _draft(a)
        for t in list(d.recurring):
            limit = term_limit(t)
            if limit is None or limit > e.effective_on:
                apply_operation(d, EndRecurringCharge(e.effective_on, t.charge.id,
                                                      ProrationPolicy.NEXT_PERIOD),
                                _catalogue(a.proposal))
        fields = _fields_from_draft(d)
        fields.pop("cancelled_on")
        return {**fields, "state": AgreementState.COMPLETED}
    if isinstance(e, InvoiceIssued):
        inv = e.invoice
        if inv.agreement_id != a.id or inv.currency != a.currency:
            raise ValidationError("invoice.agreement_id", f"{a.id!r} in {a.currency.code}",
                                  (inv.agreement_id, inv.currency.code))
        if inv.number is None:
            raise ValidationError("invoice.number", "a number on an issued invoice", None)
        for other in a.invoices:
            if other.id == inv.id or other.number == inv.number:
                raise DuplicateIdError("invoice", inv.id)
        return {"invoices": (*a.invoices, inv)}
    if isinstance(e, CreditIssued):
        cn = e.credit_note
        _known_invoice(a, cn.credits)
        if cn.agreement_id != a.id or cn.currency != a.currency:
            raise ValidationError("credit_note.agreement_id", f"{a.id!r} in {a.currency.code}",
                                  (cn.agreement_id, cn.currency.code))
        if cn.number is None:
            raise ValidationError("credit_note.number", "a number on an issued credit note",
                                  None)
        if any(c.id == cn.id for c in a.credit_notes):
            raise DuplicateIdError("credit note", cn.id)
        return {"credit_notes": (*a.credit_notes, cn)}
    if isinstance(e, ChargeAttempted):
        _known_invoice(a, e.invoice_id)
        previous = [x.attempt for x in a.attempts if x.invoice_id == e.invoice_id]
        want = max(previous, default=0) + 1
        if e.attempt != want:
            raise ValidationError("attempt", f"the next attempt number {want}", e.attempt)
        if any(x.idempotency_key == e.idempotency_key for x in a.attempts):
            raise DuplicateIdError("idempotency key", e.idempotency_key)
        return {"attempts": (*a.attempts, e)}
    if isinstance(e, PaymentSucceeded):
        _known_invoice(a, e.invoice_id)
        if e.amount.currency != a.currency or e.amount.minor <= 0:
            raise ValidationError("amount", f"a positive amount in {a.currency.code}", e.amount)
        return {"payments": (*a.payments, e)}
    if isinstance(e, PaymentFailed):
        _known_invoice(a, e.invoice_id)
        return {"failures": (*a.failures, e)}
    if isinstance(e, Refunded):
        _known_invoice(a, e.invoice_id)
        paid = _paid(a, e.invoice_id)
        if e.amount.currency != a.currency or not 0 < e.amount.minor <= paid.minor:
            raise ValidationError("amount", f"a positive amount up to what was paid ({paid})",
                                  e.amount)
        return {"refunds": (*a.refunds, e)}
    if isinstance(e, CustomerCreditAdded):
        owed = -_balance_minor(a, e.invoice_id)
        if e.amount.currency != a.currency or not 0 < e.amount.minor <= owed:
            raise ValidationError("amount", "a positive amount up to what the invoice owes "
                                  f"the client ({Money.from_minor(max(owed, 0), a.currency)})",
                                  e.amount)
        return {"credits_added": (*a.credits_added, e)}
    if isinstance(e, CreditApplied):
        cap = min(_balance_minor(a, e.invoice_id), a.credit_balance.minor)
        if e.amount.currency != a.currency or not 0 < e.amount.minor <= cap:
            raise ValidationError("amount", "a positive amount up to the invoice balance and "
                                  f"the customer credit ({Money.from_minor(max(cap, 0), a.currency)})",
                                  e.amount)
        return {"credits_applied": (*a.credits_applied, e)}
    raise ValidationError("event", "an agreement event", e)


def apply(agreement: Agreement, event: Event) -> Agreement:
    """Apply one event; re-applying an event id already seen is a no-op.

    Raises :class:`EventOrderError` when ``event.version`` is not
    ``agreement.version + 1`` or its time runs backwards,
    :class:`DuplicateIdError` when a known id comes with different content,
    and :class:`InvalidTransitionError` for an event the state does not allow.
    Nothing is applied when it raises.
    """
    for seen in agreement.events:
        if seen.event_id == event.event_id:
            if seen == event:
                return agreement
            raise DuplicateIdError("event", event.event_id)
    want = agreement.version + 1
    if event.version != want:
        raise EventOrderError(agreement.id, want, event.version)
    last = agreement.events[-1].effective_at
    if event.effective_at < last:
        raise EventOrderError(agreement.id, want, event.version,
                              f"effective_at {event.effective_at.isoformat()} is before the "
                              f"previous event's {last.isoformat()}")
    changes = _evolve_for(agreement, event)
    return attrs.evolve(agreement, events=(*agreement.events, event), **changes)


# ---------------------------------------------------------------- commands


def _next(a: Agreement, event_id: str | None, suffix: str) -> tuple[str, int]:
    version = a.version + 1
    return (event_id or f"{a.id}/{version}/{suffix}"), version


def sign(
    proposal: Proposal,
    *,
    option: str,
    signer: str,
    signed_at: datetime,
    payment_method: PaymentMethodRef | None,
    agreement_id: AgreementId,
    addons: Sequence[str] = (),
    event_id: str | None = None,
) -> Agreement:
    """Sign ``proposal`` for ``option``; the agreement's first event is :class:`Signed`.

    Raises :class:`ProposalExpiredError` after ``valid_until``,
    :class:`NotFoundError` for an unknown option or add-on, and
    :class:`ValidationError` (field ``payment_method``) when the proposal
    charges automatically and no payment method is given.
    """
    at = utc_datetime(signed_at, "signed_at")
    if proposal.valid_until is not None and at.date() > proposal.valid_until:
        raise ProposalExpiredError(proposal.id, proposal.valid_until.isoformat(),
                                   at.date().isoformat())
    proposal.option(option)
    for addon_id in addons:
        proposal.addon(addon_id)
    if len(set(addons)) != len(addons):
        raise ValidationError("addons", "distinct add-on ids", list(addons))
    if payment_method is None and proposal.collection is Collection.AUTO_CHARGE:
        raise ValidationError("payment_method",
                              "a PaymentMethodRef, since the proposal charges automatically",
                              None)
    if payment_method is not None and not isinstance(payment_method, PaymentMethodRef):
        raise ValidationError("payment_method", "a PaymentMethodRef", "[not shown]")
    if not isinstance(signer, str) or not signer.strip():
        raise ValidationError("signer", "a non-empty name", signer)
    if not isinstance(agreement_id, str) or not agreement_id:
        raise ValidationError("agreement_id", "a non-empty string", agreement_id)
    event = Signed(event_id or f"{agreement_id}/1/signed", 1, at, agreement_id, proposal,
                   option, signer, payment_method, tuple(addons))
    return Agreement.from_events((event,))


def complete_milestone(
    agreement: Agreement,
    milestone_id: MilestoneId,
    *,
    by: str,
    at: datetime,
    evidence: str = "",
    completed_on: date | None = None,
    event_id: str | None = None,
) -> MilestoneCompleted:
    """A :class:`MilestoneCompleted` event (checked against the agreement)."""
    eid, version = _next(agreement, event_id, f"complete:{milestone_id}")
    at = utc_datetime(at, "at")
    e = MilestoneCompleted(eid, version, at, milestone_id, completed_on or at.date(), by,
                           evidence)
    _evolve_for(agreement, e)
    return e


def propose(
    agreement: Agreement,
    amendment: Amendment,
    *,
    by: str,
    at: datetime,
    event_id: str | None = None,
) -> AmendmentProposed:
    """An :class:`AmendmentProposed` event; approval need and deadline follow the rules.

    The amendment is checked against the agreement now (an
    :class:`AmendmentError` if it cannot apply).
    """
    rules = agreement.proposal.approval
    at = utc_datetime(at, "at")
    needs = rules.require_client_approval and amendment.changes_money_or_scope()
    deadline = None
    if needs and rules.auto_approve_after_days is not None:
        deadline = at + timedelta(days=rules.auto_approve_after_days)
    eid, version = _next(agreement, event_id, f"propose:{amendment.id}")
    e = AmendmentProposed(eid, version, at, amendment, by, needs, deadline)
    _evolve_for(agreement, e)
    return e


def approve(
    agreement: Agreement,
    amendment_id: AmendmentId,
    *,
    by: str,
    at: datetime,
    automatic: bool = False,
    event_id: str | None = None,
) -> AmendmentApproved:
    """An :class:`AmendmentApproved` event for a pending amendment."""
    eid, version = _next(agreement, event_id, f"approve:{amendment_id}")
    e = AmendmentApproved(eid, version, utc_datetime(at, "at"), amendment_id, by, automatic)
    _evolve_for(agreement, e)
    return e


def reject(
    agreement: Agreement,
    amendment_id: AmendmentId,
    *,
    by: str,
    at: datetime,
    reason: str = "",
    event_id: str | None = None,
) -> AmendmentRejected:
    """An :class:`AmendmentRejected` event for a pending amendment."""
    eid, version = _next(agreement, event_id, f"reject:{amendment_id}")
    e = AmendmentRejected(eid, version, utc_datetime(at, "at"), amendment_id, by, reason)
    _evolve_for(agreement, e)
    return e


def approvals_due(agreement: Agreement, at: datetime) -> tuple[AmendmentApproved, ...]:
    """Automatic approvals whose notice period has run out by ``at``, as events to append.

    Versions follow on from the agreement's, in proposal order.
    """
    at = utc_datetime(at, "at")
    out: list[AmendmentApproved] = []
    a = agreement
    for r in agreement.pending_amendments:
        if r.auto_approve_at is not None and r.auto_approve_at <= at:
            e = approve(a, r.amendment.id, by="automatic", at=max(at, a.events[-1].effective_at),
                        automatic=True)
            a = apply(a, e)
            out.append(e)
    return tuple(out)


def pause(agreement: Agreement, *, at: datetime, reason: str = "",
          event_id: str | None = None) -> Paused:
    """A :class:`Paused` event."""
    eid, version = _next(agreement, event_id, "pause")
    e = Paused(eid, version, utc_datetime(at, "at"), reason)
    _evolve_for(agreement, e)
    return e


def resume(agreement: Agreement, *, at: datetime, event_id: str | None = None) -> Resumed:
    """A :class:`Resumed` event."""
    eid, version = _next(agreement, event_id, "resume")
    e = Resumed(eid, version, utc_datetime(at, "at"))
    _evolve_for(agreement, e)
    return e


def cancel(agreement: Agreement, *, at: datetime, effective_on: date | None = None,
           credit_unused: bool = True, reason: str = "",
           event_id: str | None = None) -> Cancelled:
    """A :class:`Cancelled` event (effective on ``effective_on``, default ``at``'s date)."""
    eid, version = _next(agreement, event_id, "cancel")
    at = utc_datetime(at, "at")
    e = Cancelled(eid, version, at, effective_on or at.date(), credit_unused, reason)
    _evolve_for(agreement, e)
    return e


def complete(agreement: Agreement, *, at: datetime, effective_on: date | None = None,
             event_id: str | None = None) -> Completed:
    """A :class:`Completed` event closing the engagement."""
    eid, version = _next(agreement, event_id, "complete")
    at = utc_datetime(at, "at")
    e = Completed(eid, version, at, effective_on or at.date())
    _evolve_for(agreement, e)
    return e


# ---------------------------------------------------------------- plan and value


def _open_ended(a: Agreement) -> bool:
    return any(term_limit(t) is None for t in a.recurring)


def billing_plan(agreement: Agreement, *, through: date | None = None) -> tuple[PlanItem, ...]:
    """Every billable item of the amended agreement with its current amount.

    Milestones first (in agreement order), then each recurring term's
    service-period pieces that start before ``through`` (all of them when
    ``through`` is ``None``, which requires every recurring charge to end).
    Approved amendments are included; pending ones are not.
    """
    if through is None and _open_ended(agreement):
        raise ValidationError("through", "a horizon date, since a recurring charge is open-ended",
                              None)
    horizon = through if through is not None else date.max
    completions = {str(k): v for k, v in agreement.completions.items()}
    items: list[PlanItem] = []
    for mt in agreement.milestones:
        item = milestone_item(mt, agreement.signed_on, completions)
        if item is not None:
            items.append(item)
    basis = agreement.proposal.proration_basis
    rounding = agreement.proposal.proration_rounding
    for t in agreement.recurring:
        items.extend(term_pieces(t, horizon, basis=basis, rounding=rounding))
    return tuple(items)


def contract_value(agreement: Agreement, *, through: date | None = None) -> Money:
    """The agreement's current value: the sum of its billing plan (tax excluded).

    Open-ended recurring charges are counted over the stated horizon: the
    service-period pieces that start before ``through``.

    >>> from milestonebill.schedule import BillingSchedule, Interval, ItemId
    >>> usd = Currency.of("USD")
    >>> s = BillingSchedule(currency=usd, recurring=[RecurringCharge(ItemId("retainer"),
    ...     "Retainer", Money("2000.00", "USD"), Interval.MONTHLY, start=date(2026, 1, 31))])
    >>> p = Proposal(ProposalId("p"), "Acme", usd, (PackageOption("std", "Standard", s),),
    ...              collection=Collection.SEND_INVOICE)
    >>> a = sign(p, option="std", signer="Ada", signed_at=datetime(2026, 1, 20, tzinfo=UTC),
    ...          payment_method=None, agreement_id=AgreementId("agr-7"))
    >>> contract_value(a, through=date(2027, 1, 31))
    Money('24000.00', 'USD')
    """
    items = billing_plan(agreement, through=through)
    return Money.total((i.amount for i in items), currency=agreement.currency)


# ---------------------------------------------------------------- preview


@attrs.frozen
class ScheduleChange:
    """One item of the plan that an amendment adds, removes or changes."""

    key: PlanKey
    name: str
    before: Money | None
    after: Money | None
    on_before: date | None
    on_after: date | None


@attrs.frozen
class PreviewLine:
    """An immediate money effect: ``amount`` to charge (or credit) on ``due_on``.

    ``adjusts`` is the invoice that originally billed the item, for
    adjustments and credits of invoiced items.
    """

    key: PlanKey
    description: str
    amount: Money
    due_on: date
    adjusts: InvoiceId | None = None


@attrs.frozen
class AmendmentPreview:
    """The exact money effect of an amendment, before anything is applied.

    ``charges`` and ``credits`` are what becomes billable by the time the
    amendment takes effect (the later of ``as_of`` and its latest effective
    date): new and extra charges, and credits for unused prepaid time.
    ``changes`` is the full schedule diff (future items included).
    """

    amendment_id: AmendmentId
    charges: tuple[PreviewLine, ...]
    credits: tuple[PreviewLine, ...]
    contract_value_before: Money
    contract_value_after: Money
    changes: tuple[ScheduleChange, ...]

    @property
    def charges_total(self) -> Money:
        """Sum of :attr:`charges`."""
        return Money.total((c.amount for c in self.charges),
                           currency=self.contract_value_before.currency)

    @property
    def credits_total(self) -> Money:
        """Sum of :attr:`credits` (positive)."""
        return Money.total((c.amount for c in self.credits),
                           currency=self.contract_value_before.currency)

    @property
    def value_change(self) -> Money:
        """New contract value minus old."""
        return self.contract_value_after - self.contract_value_before


def billed_by_key(agreement: Agreement) -> dict[PlanKey, tuple[int, InvoiceId, int]]:
    """Per plan key: (net minor units billed, first invoice id, documents that billed it).

    Item-keyed lines count: invoice lines add, amendment and cancellation
    credit lines subtract.  A refund or goodwill credit note (lines without
    an item key) reduces the invoice balance, not what an item is billed
    for -- until the plan drops an item below what was billed and the
    invoice has no room left to credit it.  Room on an invoice (taken
    together with the adjustment invoices that billed the same items) is
    its subtotal less every credit note against it, refunds included, so an
    amendment credit is never more than the invoice still holds.  The part
    of an item's reduction that finds no room was already given back by
    the refund, so the refund *absorbs* it: it is subtracted here (up to the
    refund credits on those invoices, shared over their reduced items in the
    order they were billed) and no credit note is ever due for it.

    Example: an invoice of 1,000.00 is paid and 600.00 refunded with a
    refund credit note; an amendment then removes the item.  Room is 400.00,
    so the amendment credit is 400.00 and the other 600.00 of the item is
    absorbed by the refund: the item's net billed amount becomes 0.00 once
    that credit is issued, matching the plan, and the client is paid back
    1,000.00 in all.  ``billing_position`` counts the absorbed part as
    credited, so ``invoiced - credited + scheduled == contract value`` holds.
    """
    out: dict[PlanKey, tuple[int, InvoiceId, int]] = {}
    for inv in agreement.invoices:
        for line in inv.lines:
            if line.item_key is None:
                continue
            net, first, n = out.get(line.item_key, (0, inv.id, 0))
            out[line.item_key] = (net + line.amount.minor, first, n + 1)
    refunds: dict[InvoiceId, int] = {}
    for cn in agreement.credit_notes:
        for line in cn.lines:
            if line.item_key is None:
                refunds[cn.credits] = refunds.get(cn.credits, 0) + line.amount.minor
                continue
            net, first, n = out.get(line.item_key, (0, cn.credits, 0))
            out[line.item_key] = (net - line.amount.minor, first, n + 1)
    if refunds:
        _absorb_refunds(agreement, out, refunds)
    return out


def _absorb_refunds(agreement: Agreement, billed: dict[PlanKey, tuple[int, InvoiceId, int]],
                    refunds: dict[InvoiceId, int]) -> None:
    """Subtract from ``billed`` the item reductions refund credits already gave back.

    Invoices that bill the same item (the first one and its adjustment
    invoices) are taken together: their room is their subtotals less every
    credit note against them, their refund credits absorb what their items'
    reductions need beyond that room.
    """
    latest = max([agreement.signed_on, *(i.issued_on for i in agreement.invoices)])
    lines = [ln for inv in agreement.invoices for ln in inv.lines]
    lines += [ln for cn in agreement.credit_notes for ln in cn.lines]
    for line in lines:
        if line.period is not None:
            latest = max(latest, line.period.start)
    through = date.fromordinal(min(latest.toordinal() + 1, date.max.toordinal()))
    planned = {i.key: i.amount.minor for i in billing_plan(agreement, through=through)}
    # Group invoices that bill a common item (union-find on invoice ids).
    parent: dict[str, str] = {inv.id: inv.id for inv in agreement.invoices}

    def root(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for inv in agreement.invoices:
        for line in inv.lines:
            if line.item_key is not None and line.item_key in billed:
                parent[root(inv.id)] = root(billed[line.item_key][1])
    room: dict[str, int] = {}
    refunded: dict[str, int] = {}
    for inv in agreement.invoices:
        r = root(inv.id)
        room[r] = room.get(r, 0) + inv.subtotal.minor
        refunded[r] = refunded.get(r, 0) + refunds.get(inv.id, 0)
    for cn in agreement.credit_notes:
        r = root(cn.credits)
        room[r] -= cn.subtotal.minor
    surplus: dict[str, dict[PlanKey, int]] = {}
    for key, (net, first, _n) in billed.items():
        if net > planned.get(key, 0):
            surplus.setdefault(root(first), {})[key] = net - planned.get(key, 0)
    for r, extras in surplus.items():
        left = min(max(0, sum(extras.values()) - room[r]), refunded[r])
        for key, extra in extras.items():
            if left <= 0:
                break
            take = min(left, extra)
            net, first, n = billed[key]
            billed[key] = (net - take, first, n)
            left -= take


def preview(
    agreement: Agreement,
    amendment: Amendment,
    *,
    as_of: date,
    through: date | None = None,
) -> AmendmentPreview:
    """Price ``amendment`` against ``agreement`` without applying it.

    Raises :class:`AmendmentError` if it cannot apply.  ``through`` is the
    contract-value horizon (required with open-ended recurring charges).
    See ``docs/agreements.md`` for a worked example.
    """
    if agreement.state not in _AMENDABLE:
        raise InvalidTransitionError(f"agreement {agreement.id!r} is {agreement.state.value}")
    after = attrs.evolve(agreement, **_apply_amendment(agreement, amendment))
    horizon = through
    if horizon is None and (_open_ended(agreement) or _open_ended(after)):
        raise ValidationError("through",
                              "a horizon date, since a recurring charge is open-ended", None)
    before_items = {i.key: i for i in billing_plan(agreement, through=horizon)}
    after_items = {i.key: i for i in billing_plan(after, through=horizon)}
    billed = billed_by_key(after)  # after: a refund absorbs against the amended plan
    changed_on = dict(after.changed_on)
    takes_effect = max(as_of, amendment.effective)
    cur = agreement.currency
    charges: list[PreviewLine] = []
    credits: list[PreviewLine] = []
    changes: list[ScheduleChange] = []
    for key in list(dict.fromkeys([*before_items, *after_items])):
        b, x = before_items.get(key), after_items.get(key)
        if b is not None and x is not None and (b.amount, b.on) == (x.amount, x.on):
            continue
        ref = b or x
        assert ref is not None
        changes.append(ScheduleChange(key, ref.name, None if b is None else b.amount,
                                      None if x is None else x.amount,
                                      None if b is None else b.on, None if x is None else x.on))
        net, first, _n = billed.get(key, (0, None, 0))
        planned = 0 if x is None else x.amount.minor
        delta = planned - net
        if first is not None:
            due = max(x.on if x is not None and x.on is not None else date.min,
                      changed_on.get(key.item_id, date.min))
            adjusts: InvoiceId | None = first
        else:
            if x is None or x.on is None:
                continue
            due = x.on
            adjusts = None
        if delta == 0 or due > takes_effect:
            continue
        line = PreviewLine(key, f"{ref.name} {key}", Money.from_minor(abs(delta), cur), due,
                           adjusts)
        (charges if delta > 0 else credits).append(line)
    return AmendmentPreview(
        amendment.id, tuple(charges), tuple(credits),
        contract_value(agreement, through=horizon), contract_value(after, through=horizon),
        tuple(changes),
    )


"""The agreement as a fold over its events: :class:`Agreement` and :func:`apply`.

An :class:`Agreement` is built from its :class:`~milestonebill.agreement.Signed`
event and evolved by :func:`apply`, one event at a time, through one
handler per event type; each handler checks the event against the
agreement and returns the fields it changes.  Re-applying an event id is a
no-op; a version that is not the next one raises
:class:`~milestonebill.errors.EventOrderError`.  Nothing is applied when
an event is refused.

The class and the fold live together because
:meth:`Agreement.from_events` folds.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeVar, cast

import attrs

from milestonebill._reference import reference
from milestonebill._validate import utc_datetime
from milestonebill.agreement._lookups import (
    GROWN,
    Lookups,
    appended,
    balances,
    hand_on,
    invoices_by_id,
    lookups,
    went_on,
)
from milestonebill.agreement.amendments import (
    Amendment,
    CancelAgreement,
    EndRecurringCharge,
    ProrationPolicy,
)
from milestonebill.agreement.draft import Catalogue, Draft, apply_operation
from milestonebill.agreement.events import (
    AmendmentApproved,
    AmendmentProposed,
    AmendmentRejected,
    Cancelled,
    ChargeAttempted,
    Completed,
    CreditApplied,
    CreditForfeited,
    CreditIssued,
    CustomerCreditAdded,
    EstimateRevised,
    Event,
    InvoiceIssued,
    InvoiceWrittenOff,
    MilestoneCompleted,
    Paused,
    PaymentFailed,
    PaymentSucceeded,
    ProgressReported,
    Refunded,
    ReminderSent,
    Resumed,
    Signed,
    WriteOffRecovered,
)
from milestonebill.agreement.obligations import ObligationTerms
from milestonebill.agreement.proposal import Proposal
from milestonebill.agreement.terms import (
    DiscountTerm,
    InstallmentTerm,
    MilestoneTerm,
    RecurringTerm,
    term_limit,
)
from milestonebill.documents import CreditNote, Invoice
from milestonebill.errors import (
    DuplicateIdError,
    EventOrderError,
    InvalidTransitionError,
    NotFoundError,
    ValidationError,
)
from milestonebill.ids import AgreementId, ProposalId
from milestonebill.money import Currency, Money
from milestonebill.payment_methods import PaymentMethodRef
from milestonebill.schedule import BillingSchedule, MilestoneId, RecurringCharge, Trigger

__all__ = [
    "Agreement",
    "AgreementState",
    "AmendmentRecord",
    "AmendmentStatus",
    "Completion",
    "amended",
    "apply",
    "check_event",
    "fold",
    "handles",
]


_T = TypeVar("_T")


class AgreementState(enum.Enum):
    """Where an agreement is in its life."""

    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    @property
    def amendable(self) -> bool:
        """True while amendments may be proposed and applied (ACTIVE or PAUSED).

        Delivering a milestone and cancelling are allowed in the same states.
        """
        return self in (AgreementState.ACTIVE, AgreementState.PAUSED)


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
    progress_reports: tuple[ProgressReported, ...] = ()
    estimates: tuple[EstimateRevised, ...] = ()
    # The terms of docs/terms.md (handled in fold_terms): collection, installments, discounts.
    write_offs: tuple[InvoiceWrittenOff, ...] = ()
    recoveries: tuple[WriteOffRecovered, ...] = ()
    forfeits: tuple[CreditForfeited, ...] = ()
    reminders: tuple[ReminderSent, ...] = ()
    installments: tuple[InstallmentTerm, ...] = ()
    discounts: tuple[DiscountTerm, ...] = ()
    #: Values derived from this immutable agreement alone (plan, balances, earlier
    #: states; :meth:`derived`): they never go stale.  Not part of equality.
    _memo: dict[object, Any] = attrs.field(init=False, factory=dict, repr=False)

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
    def proposal_id(self) -> ProposalId:
        """The proposal the agreement was signed from (its ``Signed`` event carries it)."""
        return self.proposal.id

    @property
    def credit_balance(self) -> Money:
        """Customer credit not yet applied: added minus applied and forfeited (never
        negative)."""
        return Money.from_minor(
            sum(c.amount.minor for c in self.credits_added)
            - sum(c.amount.minor for c in self.credits_applied)
            - sum(f.amount.minor for f in self.forfeits), self.currency)

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
                               recurring=_last_terms(self.recurring),
                               installments=tuple(t.plan for t in self.installments))

    @property
    def obligation_terms(self) -> tuple[ObligationTerms, ...]:
        """The performance obligations the chosen package states (empty: the default)."""
        return self.proposal.option(self.option_id).obligations

    def estimate(self, obligation_id: str, as_of: date | None = None) -> Decimal:
        """The estimated total (hours, cost or units; not money) of an input-measured obligation
        in force on ``as_of`` (the latest revision dated on or before it; default: the latest).
        Raises :class:`~milestonebill.errors.NotFoundError` for no such obligation."""
        terms = next((o for o in self.obligation_terms if o.id == obligation_id), None)
        if terms is None or terms.estimate is None:
            raise NotFoundError(f"agreement {self.id!r} has no obligation {obligation_id!r} "
                                "measured against an estimate")
        revisions = [r for r in self.estimates if r.obligation_id == obligation_id
                     and (as_of is None or r.as_of <= as_of)]
        return revisions[-1].total if revisions else terms.estimate

    def progress(self, obligation_id: str, as_of: date | None = None) -> Decimal:
        """Hours, costs or units reported to date for an obligation by ``as_of`` (inclusive)."""
        reports = [r for r in self.progress_reports if r.obligation_id == obligation_id
                   and (as_of is None or r.as_of <= as_of)]
        return reports[-1].to_date if reports else Decimal(0)

    def invoice(self, invoice_id: str) -> Invoice:
        """The issued invoice with this id (:class:`~milestonebill.errors.NotFoundError` if none)."""
        found = invoices_by_id(self).get(invoice_id)
        if found is not None:
            return found
        raise NotFoundError(f"agreement {self.id!r} has no invoice {invoice_id!r}")

    def derived(self, compute: Callable[[Agreement], _T]) -> _T:
        """``compute(self)``, worked out once and kept with this agreement.

        An agreement never changes, so neither does anything computed from it
        alone: reports that ask about the same agreement (its billing plan,
        its revenue model, its balances) share the work this way.  ``compute``
        itself is the key, so pass a function defined once (a new lambda on
        every call would never be found again).
        """
        memo = self._memo
        if compute in memo:
            value: _T = memo[compute]
            return value
        value = memo[compute] = compute(self)
        return value

    def net_paid(self, invoice_id: str) -> Money:
        """Paid against an issued invoice less what was refunded of it (never negative).

        Raises :class:`~milestonebill.errors.NotFoundError` for an invoice it did not issue."""
        if not reference():
            known = self.derived(balances).get(invoice_id)
            if known is not None:
                return Money.from_minor(known[1], self.currency)
        self.invoice(invoice_id)
        paid = self._sum(p.amount for p in self.payments if p.invoice_id == invoice_id)
        refunded = self._sum(r.amount for r in self.refunds if r.invoice_id == invoice_id)
        return paid - refunded

    def balance_of(self, invoice_id: str) -> Money:
        """Still owed on an issued invoice (tax included).

        Its total, less its credit notes and :meth:`net_paid`, plus what was
        moved from it to customer credit, less customer credit applied to
        it, less what is written off (:meth:`written_off`).  Negative when
        the client is owed money.  The fold checks
        :class:`CustomerCreditAdded`, :class:`CreditApplied` and
        :class:`InvoiceWrittenOff` against it;
        :func:`milestonebill.invoicing.invoice_balance` returns it.
        """
        if not reference():
            known = self.derived(balances).get(invoice_id)
            if known is not None:
                return Money.from_minor(known[0], self.currency)
        credited = self._sum(c.total for c in self.credit_notes if c.credits == invoice_id)
        moved = self._sum(c.amount for c in self.credits_added if c.invoice_id == invoice_id)
        applied = self._sum(c.amount for c in self.credits_applied if c.invoice_id == invoice_id)
        return (self.invoice(invoice_id).total - credited - self.net_paid(invoice_id)
                + moved - applied - self.written_off(invoice_id))

    def written_off(self, invoice_id: str) -> Money:
        """Written off on an issued invoice and not recovered since (never negative)."""
        self.invoice(invoice_id)
        return (self._sum(w.amount for w in self.write_offs if w.invoice_id == invoice_id)
                - self._sum(r.amount for r in self.recoveries if r.invoice_id == invoice_id))

    def _sum(self, amounts: Iterable[Money]) -> Money:
        return Money.total(amounts, currency=self.currency)

    @classmethod
    def from_events(cls, events: Iterable[Event]) -> Agreement:
        """Fold a stream of events; the first must be :class:`Signed` at version 1, else
        :class:`~milestonebill.errors.InvalidTransitionError` (later events: see :func:`apply`)."""
        it = iter(events)
        first = next(it, None)
        if not isinstance(first, Signed):
            raise InvalidTransitionError("an agreement's first event must be Signed "
                                         f"(got {type(first).__name__})")
        return fold(_from_signed(first), it)

    def as_of(self, when: datetime | date) -> Agreement:
        """The agreement as it stood at ``when`` (a date means the end of that UTC day).

        Events are replayed up to and including ``when``; a date before the
        signing raises :class:`~milestonebill.errors.InvalidTransitionError`, and anything but a
        date or datetime raises :class:`~milestonebill.errors.ValidationError` naming ``when``."""
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
    catalogue = Catalogue.of(proposal)
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
    # Installment plans and discounts: the package's, then each add-on's.
    sources = [(option.id, "package"), *((x, x) for x in e.addon_ids)]
    plans = tuple(InstallmentTerm.of(p, src) for k, src in sources for p in catalogue.plans[k])
    discounts = tuple(DiscountTerm(d, src) for k, src in sources for d in catalogue.discounts[k])
    return Agreement(
        id=e.agreement_id, proposal=proposal, option_id=option.id, signer=e.signer,
        signed_at=e.effective_at, payment_method=e.payment_method, state=AgreementState.ACTIVE,
        milestones=tuple(milestones), recurring=tuple(recurring), addons=tuple(e.addon_ids),
        completion_records=(), amendments=(), changed_on=(), cancelled_on=None, invoices=(),
        credit_notes=(), attempts=(), payments=(), failures=(), refunds=(), events=(e,),
        installments=plans, discounts=discounts,
    )


def _draft(a: Agreement) -> Draft:
    return Draft(
        currency=a.currency, option_id=a.option_id, milestones=list(a.milestones),
        recurring=list(a.recurring), addons=list(a.addons),
        completions={str(k): v for k, v in a.completions.items()},
        changed=dict(a.changed_on),
        cancelled_on=a.cancelled_on, events=a.events, agreement_id=a.id,
        installments=list(a.installments), discounts=list(a.discounts),
    )


def _apply_amendment(a: Agreement, amendment: Amendment) -> dict[str, Any]:
    """The evolved fields after applying an amendment's operations, all or nothing."""
    d = _draft(a)
    catalogue = Catalogue.of(a.proposal)
    for op in amendment.operations:
        apply_operation(d, op, catalogue)
    return _fields_from_draft(d)


def amended(agreement: Agreement, amendment: Amendment) -> Agreement:
    """The agreement with ``amendment`` applied to its terms, as if approved now.

    No event is recorded: the result's events (and so its equality) are the
    agreement's own, only the terms differ.  For pricing (see
    :func:`~milestonebill.agreement.preview`); raises :class:`~milestonebill.errors.AmendmentError`
    if the amendment cannot apply.
    """
    return attrs.evolve(agreement, **_apply_amendment(agreement, amendment))


def _fields_from_draft(d: Draft) -> dict[str, Any]:
    return {
        "option_id": d.option_id,
        "milestones": tuple(d.milestones),
        "recurring": tuple(d.recurring),
        "addons": tuple(d.addons),
        "changed_on": tuple(sorted(d.changed.items())),
        "cancelled_on": d.cancelled_on,
        "installments": tuple(d.installments),
        "discounts": tuple(d.discounts),
    }


_AMENDABLE = tuple(s for s in AgreementState if s.amendable)
_Fields = dict[str, Any]


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


def _pending(a: Agreement, amendment_id: str) -> tuple[int, AmendmentRecord]:
    i, record = _record(a, amendment_id)
    if record.status is not AmendmentStatus.PENDING:
        raise InvalidTransitionError(
            f"amendment {amendment_id!r} is already {record.status.value}")
    return i, record


def _replace(t: tuple[Any, ...], i: int, value: Any) -> tuple[Any, ...]:
    return (*t[:i], value, *t[i + 1:])


def _approved(a: Agreement, amendments: tuple[AmendmentRecord, ...],
              amendment: Amendment) -> _Fields:
    """Fields once ``amendment`` applies, with ``amendments`` as the new records."""
    fields = _apply_amendment(a, amendment)
    fields["amendments"] = amendments
    if fields["cancelled_on"] is not None and a.cancelled_on is None:
        fields["state"] = AgreementState.CANCELLED
    return fields


# ---------------------------------------------------------------- one handler per event


def _on_signed(a: Agreement, e: Signed) -> _Fields:
    raise InvalidTransitionError(f"agreement {a.id!r} is already signed")


def _on_milestone_completed(a: Agreement, e: MilestoneCompleted) -> _Fields:
    _require(a, e, _AMENDABLE)
    if not any(t.milestone.id == e.milestone_id for t in a.milestones):
        raise NotFoundError(f"agreement {a.id!r} has no milestone {e.milestone_id!r}")
    if e.milestone_id in a.completions:
        raise InvalidTransitionError(f"milestone {e.milestone_id!r} is already completed")
    return {"completion_records": appended(a.completion_records, Completion(
        e.milestone_id, e.completed_on, e.completed_by, e.evidence))}


def _on_amendment_proposed(a: Agreement, e: AmendmentProposed) -> _Fields:
    _require(a, e, _AMENDABLE)
    if any(r.amendment.id == e.amendment.id for r in a.amendments):
        raise DuplicateIdError("amendment", e.amendment.id)
    record = AmendmentRecord(e.amendment, AmendmentStatus.PENDING, e.effective_at,
                             e.proposed_by, e.auto_approve_at)
    if not e.requires_approval:
        record = attrs.evolve(record, status=AmendmentStatus.APPROVED,
                              decided_at=e.effective_at, decided_by=e.proposed_by)
        return _approved(a, (*a.amendments, record), e.amendment)  # validates as well
    _apply_amendment(a, e.amendment)  # refuse what could never be approved
    return {"amendments": (*a.amendments, record)}


def _on_amendment_approved(a: Agreement, e: AmendmentApproved) -> _Fields:
    i, record = _pending(a, e.amendment_id)
    _require(a, e, _AMENDABLE)
    if e.automatic and (record.auto_approve_at is None
                        or e.effective_at < record.auto_approve_at):
        raise InvalidTransitionError(
            f"amendment {e.amendment_id!r} cannot be approved automatically before "
            f"{record.auto_approve_at}")
    record = attrs.evolve(record, status=AmendmentStatus.APPROVED, decided_at=e.effective_at,
                          decided_by=e.approved_by, automatic=e.automatic)
    return _approved(a, _replace(a.amendments, i, record), record.amendment)


def _on_amendment_rejected(a: Agreement, e: AmendmentRejected) -> _Fields:
    i, record = _pending(a, e.amendment_id)
    return {"amendments": _replace(a.amendments, i, attrs.evolve(
        record, status=AmendmentStatus.REJECTED, decided_at=e.effective_at,
        decided_by=e.rejected_by))}


def _on_paused(a: Agreement, e: Paused) -> _Fields:
    _require(a, e, (AgreementState.ACTIVE,))
    return {"state": AgreementState.PAUSED}


def _on_resumed(a: Agreement, e: Resumed) -> _Fields:
    _require(a, e, (AgreementState.PAUSED,))
    return {"state": AgreementState.ACTIVE}


def _on_cancelled(a: Agreement, e: Cancelled) -> _Fields:
    _require(a, e, _AMENDABLE)
    d = _draft(a)
    apply_operation(d, CancelAgreement(e.effective_on, e.credit_unused), Catalogue.of(a.proposal))
    return {**_fields_from_draft(d), "state": AgreementState.CANCELLED}


def _on_completed(a: Agreement, e: Completed) -> _Fields:
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
                            Catalogue.of(a.proposal))
    fields = _fields_from_draft(d)
    fields.pop("cancelled_on")
    return {**fields, "state": AgreementState.COMPLETED}


def _on_invoice_issued(a: Agreement, e: InvoiceIssued) -> _Fields:
    inv = e.invoice
    if inv.agreement_id != a.id or inv.currency != a.currency:
        raise ValidationError("invoice.agreement_id", f"{a.id!r} in {a.currency.code}",
                              (inv.agreement_id, inv.currency.code))
    if inv.number is None:
        raise ValidationError("invoice.number", "a number on an issued invoice", None)
    known = lookups(a)
    if inv.id in known.invoices or inv.number in known.invoice_numbers:
        raise DuplicateIdError("invoice", inv.id)
    return {"invoices": appended(a.invoices, inv)}


def _on_credit_issued(a: Agreement, e: CreditIssued) -> _Fields:
    cn = e.credit_note
    a.invoice(cn.credits)
    if cn.agreement_id != a.id or cn.currency != a.currency:
        raise ValidationError("credit_note.agreement_id", f"{a.id!r} in {a.currency.code}",
                              (cn.agreement_id, cn.currency.code))
    if cn.number is None:
        raise ValidationError("credit_note.number", "a number on an issued credit note",
                              None)
    if any(c.id == cn.id for c in a.credit_notes):
        raise DuplicateIdError("credit note", cn.id)
    return {"credit_notes": appended(a.credit_notes, cn)}


def _on_charge_attempted(a: Agreement, e: ChargeAttempted) -> _Fields:
    a.invoice(e.invoice_id)
    known = lookups(a)
    want = known.last_attempt.get(e.invoice_id, 0) + 1
    if e.attempt != want:
        raise ValidationError("attempt", f"the next attempt number {want}", e.attempt)
    if e.idempotency_key in known.attempt_keys:
        raise DuplicateIdError("idempotency key", e.idempotency_key)
    return {"attempts": appended(a.attempts, e)}


def _on_payment_succeeded(a: Agreement, e: PaymentSucceeded) -> _Fields:
    a.invoice(e.invoice_id)
    if e.amount.currency != a.currency or e.amount.minor <= 0:
        raise ValidationError("amount", f"a positive amount in {a.currency.code}", e.amount)
    return {"payments": appended(a.payments, e)}


def _on_payment_failed(a: Agreement, e: PaymentFailed) -> _Fields:
    a.invoice(e.invoice_id)
    return {"failures": appended(a.failures, e)}


def _on_refunded(a: Agreement, e: Refunded) -> _Fields:
    paid = a.net_paid(e.invoice_id)
    if e.amount.currency != a.currency or not 0 < e.amount.minor <= paid.minor:
        raise ValidationError("amount", f"a positive amount up to what was paid ({paid})",
                              e.amount)
    return {"refunds": appended(a.refunds, e)}


def _on_customer_credit_added(a: Agreement, e: CustomerCreditAdded) -> _Fields:
    owed = -a.balance_of(e.invoice_id).minor
    if e.amount.currency != a.currency or not 0 < e.amount.minor <= owed:
        raise ValidationError("amount", "a positive amount up to what the invoice owes "
                              f"the client ({Money.from_minor(max(owed, 0), a.currency)})",
                              e.amount)
    return {"credits_added": appended(a.credits_added, e)}


def _on_credit_applied(a: Agreement, e: CreditApplied) -> _Fields:
    cap = min(a.balance_of(e.invoice_id).minor, a.credit_balance.minor)
    if e.amount.currency != a.currency or not 0 < e.amount.minor <= cap:
        raise ValidationError("amount", "a positive amount up to the invoice balance and "
                              f"the customer credit ({Money.from_minor(max(cap, 0), a.currency)})",
                              e.amount)
    return {"credits_applied": appended(a.credits_applied, e)}


_HANDLERS: dict[type, Callable[[Agreement, Any], _Fields]] = {
    Signed: _on_signed,
    MilestoneCompleted: _on_milestone_completed,
    AmendmentProposed: _on_amendment_proposed,
    AmendmentApproved: _on_amendment_approved,
    AmendmentRejected: _on_amendment_rejected,
    Paused: _on_paused,
    Resumed: _on_resumed,
    Cancelled: _on_cancelled,
    Completed: _on_completed,
    InvoiceIssued: _on_invoice_issued,
    CreditIssued: _on_credit_issued,
    ChargeAttempted: _on_charge_attempted,
    PaymentSucceeded: _on_payment_succeeded,
    PaymentFailed: _on_payment_failed,
    Refunded: _on_refunded,
    CustomerCreditAdded: _on_customer_credit_added,
    CreditApplied: _on_credit_applied,
}


def handles(event_type: type[_T]) -> Callable[[Callable[[Agreement, _T], dict[str, Any]]],
                                              Callable[[Agreement, _T], dict[str, Any]]]:
    """Make the decorated function how :func:`apply` folds ``event_type`` (one per type):
    it raises what it refuses and returns the fields the event changes."""
    def register(handler: Callable[[Agreement, _T], dict[str, Any]]
                 ) -> Callable[[Agreement, _T], dict[str, Any]]:
        if event_type in _HANDLERS:
            raise ValueError(f"{event_type.__name__} has a handler already")
        _HANDLERS[event_type] = handler
        return handler
    return register


def _changes(a: Agreement, e: Event) -> _Fields:
    """The fields ``e`` changes, from the handler for its type; raises what it refuses."""
    handler = next((_HANDLERS[t] for t in type(e).__mro__ if t in _HANDLERS), None)
    if handler is None:
        raise ValidationError("event", "an agreement event", e)
    return handler(a, e)


def check_event(agreement: Agreement, event: Event) -> None:
    """Raise what :func:`apply` would raise for the content of ``event``.

    Its id, version and time are not looked at: the commands build the
    next event and check it here before handing it out.
    """
    _changes(agreement, event)


def apply(agreement: Agreement, event: Event) -> Agreement:
    """Apply one event; re-applying an event id already seen is a no-op.

    Raises :class:`~milestonebill.errors.EventOrderError` when ``event.version`` is not
    ``agreement.version + 1`` or its time runs backwards,
    :class:`~milestonebill.errors.DuplicateIdError` when a known id comes with different content,
    and :class:`~milestonebill.errors.InvalidTransitionError` for an event the state does not
    allow.  Nothing is applied when it raises."""
    known = _locked(agreement)
    try:
        changes = _accepted(agreement, event, known)
        if changes is None:
            return agreement
        after = attrs.evolve(agreement, events=(*agreement.events, event), **changes)
        hand_on(agreement, after, known, event)
        return after
    finally:
        known.lock.release()


def fold(agreement: Agreement, events: Iterable[Event]) -> Agreement:
    """``events`` applied in order, as :func:`apply` one at a time would, in time
    linear in the history: the events tuple is built once, at the end.  When
    a later agreement made from this one by applying exactly ``events`` is
    still held, that agreement is the answer."""
    events = list(events)
    ahead = went_on(agreement, events)
    if ahead is not None:
        return cast(Agreement, ahead)
    known = _locked(agreement)
    try:
        log = list(agreement.events)
        # The agreements in between hold lists that grow as the events fold
        # (``appended``); each handler reads them whole as of its own event.
        grown: dict[str, Any] = {name: list(getattr(agreement, name)) for name in GROWN}
        a = attrs.evolve(agreement, events=cast("tuple[Event, ...]", log), **grown)
        hand_on(agreement, a, known, log[-1], added=True)
        folded = False
        for e in events:
            changes = _accepted(a, e, known)
            if changes is None:
                continue
            log.append(e)
            before, a = a, attrs.evolve(a, events=cast("tuple[Event, ...]", log), **changes)
            known.add((e,))
            hand_on(before, a, known, e, added=True)
            folded = True
        if not folded:  # all replays: the lookups stay the agreement's own
            hand_on(a, agreement, known, log[-1], added=True)
            return agreement
        frozen: dict[str, Any] = {name: tuple(getattr(a, name)) for name in GROWN}
        after = attrs.evolve(a, events=tuple(log), **frozen)
        hand_on(a, after, known, log[-1], added=True)
        return after
    finally:
        known.lock.release()


def _locked(agreement: Agreement) -> Lookups:
    """The lookups of ``agreement`` with their lock held (release it)."""
    while True:
        known = lookups(agreement)
        known.lock.acquire()
        if known.describes(agreement):
            return known
        known.lock.release()  # another thread extended them first: build our own


def _accepted(agreement: Agreement, event: Event, known: Lookups) -> _Fields | None:
    """The fields ``event`` changes, or None when it was applied already; raises what
    :func:`apply` refuses."""
    seen = known.events.get(event.event_id)
    if seen is not None:
        if seen == event:
            return None
        raise DuplicateIdError("event", event.event_id)
    want = agreement.version + 1
    if event.version != want:
        raise EventOrderError(agreement.id, want, event.version)
    last = agreement.events[-1].effective_at
    if event.effective_at < last:
        raise EventOrderError(agreement.id, want, event.version,
                              f"effective_at {event.effective_at.isoformat()} is before the "
                              f"previous event's {last.isoformat()}")
    return _changes(agreement, event)

"""The Biller: turns events and dates into invoices, charges and postings, exactly once.

The Biller is the thin shell around the pure core.  It asks
:mod:`milestonebill.invoicing` what is due, and acts through three ports: an
:class:`~milestonebill.stores.base.BillingStore` (event streams, invoice
numbers, the charge-attempt journal, the outbox and the ledger), a
:class:`~milestonebill.gateways.base.PaymentGateway` and a
:class:`~milestonebill.clock.Clock`.

Every invoice goes through three units of work (each one store transaction)
with the gateway call outside all of them:

1. **issue** -- a gap-free number for the invoice id, the ``InvoiceIssued``
   event, the ledger posting (receivable against revenue, deferred revenue
   and tax payable) and an ``invoice.issued`` notification;
2. **attempt** -- the intent to charge in the attempt journal under the key
   derived from ``(agreement, invoice, attempt)`` and ``ChargeAttempted``;
3. the gateway is called with that key; then **outcome** -- the journal
   entry is completed, ``PaymentSucceeded``/``PaymentFailed`` appended, the
   ledger posted (clearing and gateway fees against receivable) and the host
   notified.

A crash anywhere leaves either nothing or a finished unit of work behind;
the next :meth:`Biller.run` (or :meth:`Biller.reconcile`) finishes the job,
calling the gateway again with the *same* key, which replays the first
outcome instead of charging twice.  ``docs/engine.md`` walks through it.

Deferred revenue is released by a separate step, :meth:`Biller.recognise`
(call it at each period close): revenue-only entries from
:func:`milestonebill.recognition.release_entry`, never cash or receivable.

>>> from datetime import UTC, date, datetime
>>> from milestonebill.agreement import (AgreementId, PackageOption, PaymentMethodKind,
...     PaymentMethodRef, Proposal, ProposalId, complete_milestone, sign)
>>> from milestonebill.gateways.memory import InMemoryGateway
>>> from milestonebill.ledger import Account
>>> from milestonebill.money import Currency, Money
>>> from milestonebill.schedule import BillingSchedule, Milestone, MilestoneId
>>> from milestonebill.stores.memory import InMemoryStore
>>> usd = Currency.of("USD")
>>> plan = BillingSchedule(currency=usd, milestones=[
...     Milestone(MilestoneId("design"), "Design", amount=Money("2500.00", "USD"))])
>>> proposal = Proposal(ProposalId("p-1"), "Acme", usd, (PackageOption("std", "Standard", plan),))
>>> card = PaymentMethodRef("memory", "cus_1", "pm_1", PaymentMethodKind.CARD)
>>> clock = FixedClock(datetime(2026, 3, 2, 9, tzinfo=UTC))
>>> store, gateway = InMemoryStore(), InMemoryGateway()
>>> biller = Biller(store, gateway, clock=clock, firm_id=FirmId("acme-consulting"))
>>> a = biller.open(sign(proposal, option="std", signer="Ada", payment_method=card,
...     agreement_id=AgreementId("agr-1"), signed_at=clock.now()))
>>> done = complete_milestone(a, MilestoneId("design"), by="Ada", at=clock.now())
>>> summary = biller.handle(AgreementId("agr-1"), done)
>>> [(i.number, str(i.total)) for i in summary.invoices]
[('INV-000001', '2500.00 USD')]
>>> [(c.attempt, c.status.value) for c in summary.charges], len(gateway.charges)
([(1, 'succeeded')], 1)
>>> biller.handle(AgreementId("agr-1"), done).invoices  # a replay changes nothing
()
>>> store.balance(Account.CLEARING, currency="USD"), store.balance(Account.RECEIVABLE, currency="USD")
(Money('2500.00', 'USD'), Money('0.00', 'USD'))
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

import attrs

from milestonebill._json import decode, encode
from milestonebill._validate import utc_datetime
from milestonebill.agreement import (
    Agreement,
    AgreementId,
    AgreementState,
    AmendmentApproved,
    AmendmentProposed,
    AmendmentRejected,
    Cancelled,
    ChargeAttempted,
    Collection,
    Completed,
    CreditApplied,
    CreditIssued,
    CustomerCreditAdded,
    Event,
    InvoiceIssued,
    MilestoneCompleted,
    Paused,
    PaymentFailed,
    PaymentSucceeded,
    Refunded,
    Resumed,
    Signed,
    apply,
    approvals_due,
    billed_by_key,
    billing_plan,
    event_from_json,
    event_to_json,
)
from milestonebill.clock import Clock, FixedClock, SystemClock
from milestonebill.errors import (
    ConcurrencyError,
    CurrencyMismatchError,
    DuplicateIdError,
    GatewayError,
    GatewayUnavailableError,
    InvalidInputError,
    LeaseLostError,
    MilestonebillError,
    NotFoundError,
    RefundLimitError,
    ValidationError,
)
from milestonebill.gateways.base import (
    HARD_DECLINE_CODES,
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    CustomerId,
    GatewayEvent,
    GatewayEventKind,
    PaymentGateway,
    PaymentMethodId,
    RefundRequest,
    RefundResult,
    RefundStatus,
    refund_idempotency_key,
)
from milestonebill.invoicing import (
    NO_TAX,
    CreditNote,
    CreditReason,
    Invoice,
    InvoiceId,
    NumberingPolicy,
    TaxPolicy,
    due_credit_notes,
    due_invoices,
    invoice_balance,
    refund_credit_note,
)
from milestonebill.ledger import Account, EntryId, JournalEntry, JournalLine
from milestonebill.money import Money
from milestonebill.recognition import billed_service, release_entry
from milestonebill.stores.base import (
    AttemptKey,
    AttemptRecord,
    BillingStore,
    EventId,
    FirmId,
    StoredEvent,
    WorkerId,
)

__all__ = [
    "ACTION_REQUIRED_CODES",
    "CREDIT_STEPS",
    "REFUND_STEPS",
    "STEPS",
    "Biller",
    "BillingProblem",
    "ChargeOutcome",
    "Clock",
    "CollectionState",
    "CreditPolicy",
    "DryRun",
    "DunningStatus",
    "FirmId",
    "FixedClock",
    "InvoiceCollection",
    "PlannedCharge",
    "RecognitionSummary",
    "RetryPolicy",
    "RunSummary",
    "SystemClock",
    "WorkerId",
    "collection_state",
    "dunning_status",
    "format_number",
    "refundable",
]

#: The step boundaries at which the Biller calls its fault hook, in order of
#: occurrence for one invoice (used by the crash tests).
STEPS: Final[tuple[str, ...]] = (
    "before_issue", "after_issue",
    "before_attempt", "after_attempt",
    "before_charge", "after_charge",
    "before_outcome", "after_outcome",
    "before_complete",
)

#: The fault-hook steps around the unit of work that moves over-credited
#: amounts to customer credit and applies credit to open invoices; called
#: only when there is such work.
CREDIT_STEPS: Final[tuple[str, ...]] = ("before_credit", "after_credit")

#: The fault-hook steps around each gateway refund call: after its intent is
#: in the attempt journal and before the call, and after the gateway answered
#: and before the result is recorded (``Refunded``, ledger, intent finished).
REFUND_STEPS: Final[tuple[str, ...]] = ("before_refund", "after_refund")

#: Decline codes that mean the customer must act (authenticate): automatic
#: retries stop and the host is told.
ACTION_REQUIRED_CODES: Final[frozenset[str]] = frozenset(
    {"authentication_required", "requires_action"})

#: Events a host records; the Biller writes the billing events itself.
_HOST_EVENTS: Final = (MilestoneCompleted, AmendmentProposed, AmendmentApproved,
                       AmendmentRejected, Paused, Resumed, Cancelled, Completed)
_CONCURRENCY_RETRIES: Final = 5
_INVOICE_NUMBERS: Final = NumberingPolicy()
_CREDIT_NUMBERS: Final = NumberingPolicy(prefix="CN-")
_DEFAULT_WORKER: Final = WorkerId("biller")


# ------------------------------------------------------------------ policy


def _int_tuple(value: Iterable[int]) -> tuple[int, ...]:
    return tuple(value)


def _str_set(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


def _non_negative_days(_inst: object, _attr: object, value: tuple[int, ...]) -> None:
    if not value or any(type(d) is not int or d < 0 for d in value):
        raise ValidationError("spacing_days", "one or more whole numbers of days, 0 or more",
                              value)


def _positive(field: str) -> Callable[[object, object, object], None]:
    def check(_inst: object, _attr: object, value: object) -> None:
        if type(value) is not int or value < 1:
            raise ValidationError(field, "a whole number, 1 or more", value)
    return check


def _non_negative(field: str) -> Callable[[object, object, object], None]:
    def check(_inst: object, _attr: object, value: object) -> None:
        if type(value) is not int or value < 0:
            raise ValidationError(field, "a whole number, 0 or more", value)
    return check


@attrs.frozen
class RetryPolicy:
    """When to try a failed payment again, as data.

    * ``max_attempts`` -- after this many failed attempts on an invoice the
      Biller stops (dunning ``EXHAUSTED``);
    * ``spacing_days`` -- the wait after the 1st, 2nd, ... failure; the last
      value repeats;
    * ``final_decline_codes`` -- declines after which retrying the same
      payment method cannot help (default: the gateway's hard declines);
    * ``same_key_retries`` -- how often a *retryable* gateway failure (timeout,
      outage) is retried at once with the same key before the attempt is
      left for :meth:`Biller.reconcile`.

    >>> p = RetryPolicy(max_attempts=3, spacing_days=(2, 5))
    >>> p.retry_on(date(2024, 2, 27), failures=1), p.retry_on(date(2024, 2, 27), failures=2)
    (datetime.date(2024, 2, 29), datetime.date(2024, 3, 3))
    >>> p.retry_on(date(2024, 2, 27), failures=3) is None, p.is_final("stolen_card")
    (True, True)
    """

    max_attempts: int = attrs.field(default=4, validator=_positive("max_attempts"))
    spacing_days: tuple[int, ...] = attrs.field(default=(3, 5, 7), converter=_int_tuple,
                                                validator=_non_negative_days)
    final_decline_codes: frozenset[str] = attrs.field(default=HARD_DECLINE_CODES,
                                                      converter=_str_set)
    same_key_retries: int = attrs.field(default=2, validator=_non_negative("same_key_retries"))

    def is_final(self, decline_code: str | None) -> bool:
        """True when ``decline_code`` stops automatic retries."""
        return decline_code is not None and decline_code in self.final_decline_codes

    def retry_on(self, failed_on: date, *, failures: int) -> date | None:
        """The day of the next attempt after ``failures`` failures (``None``: give up)."""
        if failures >= self.max_attempts:
            return None
        wait = self.spacing_days[min(max(failures, 1), len(self.spacing_days)) - 1]
        return failed_on + timedelta(days=wait)


_DEFAULT_POLICY: Final = RetryPolicy()


class CreditPolicy(enum.Enum):
    """What the Biller does when a credit note leaves an invoice owing the client money.

    An amendment or cancellation credit on an invoice that was already paid
    makes its balance negative: the client has paid for what was taken
    back.  The policy, set on the :class:`Biller` (and per agreement), says
    where that money goes:

    * ``APPLY_TO_NEXT_INVOICES`` (the default) -- it becomes customer credit
      (ledger: *Dr receivable / Cr customer credit*) and is applied to the
      agreement's open invoices, oldest first, before anything is charged
      (*Dr customer credit / Cr receivable*); only the remainder is charged.
    * ``REFUND`` -- it is paid back through the gateway, once, under a key
      derived from the credit note.
    * ``HOLD`` -- it is left on the invoice as a negative balance for the
      host to settle; the host is told (``invoice.overcredited``).

    Customer credit that exists is applied to open invoices whatever the
    policy.
    """

    APPLY_TO_NEXT_INVOICES = "apply_to_next_invoices"
    REFUND = "refund"
    HOLD = "hold"


class CollectionState(enum.Enum):
    """Where collecting one invoice stands (see :func:`collection_state`)."""

    SETTLED = "settled"
    NOT_COLLECTED = "not_collected"
    DUE = "due"
    IN_FLIGHT = "in_flight"
    RETRY_SCHEDULED = "retry_scheduled"
    ACTION_REQUIRED = "action_required"
    EXHAUSTED = "exhausted"
    ON_HOLD = "on_hold"


@attrs.frozen
class InvoiceCollection:
    """:class:`CollectionState` of one invoice, with the next attempt's number and day."""

    invoice_id: InvoiceId
    state: CollectionState
    balance: Money
    next_attempt: int
    retry_on: date | None = None


class DunningStatus(enum.Enum):
    """An agreement's dunning state, the worst over its unpaid invoices."""

    CURRENT = "current"
    RETRYING = "retrying"
    ACTION_REQUIRED = "action_required"
    EXHAUSTED = "exhausted"


def _auto(agreement: Agreement) -> bool:
    return (agreement.proposal.collection is Collection.AUTO_CHARGE
            and agreement.payment_method is not None)


def _outcomes(agreement: Agreement, invoice_id: str, attempt: int
              ) -> tuple[PaymentSucceeded | None, PaymentFailed | None]:
    ok = next((p for p in agreement.payments
               if p.invoice_id == invoice_id and p.attempt == attempt), None)
    bad = next((f for f in agreement.failures
                if f.invoice_id == invoice_id and f.attempt == attempt), None)
    return ok, bad


def collection_state(agreement: Agreement, invoice_id: InvoiceId,
                     policy: RetryPolicy | None = None) -> InvoiceCollection:
    """Where collecting ``invoice_id`` stands: a pure function of the agreement.

    ``NOT_COLLECTED`` for send-invoice agreements (the client pays), ``DUE``
    when a charge should be made now (never charged, or a partial payment
    left a balance), ``IN_FLIGHT`` while an attempt has no outcome (the
    gateway is processing it, or a crash interrupted it), then
    ``RETRY_SCHEDULED`` / ``ACTION_REQUIRED`` / ``EXHAUSTED`` after a failure.
    ``ON_HOLD``: money was refunded on the invoice, so the Biller does not
    charge it again by itself.
    """
    policy = policy or _DEFAULT_POLICY
    invoice = agreement.invoice(invoice_id)
    balance = invoice_balance(agreement, invoice.id)
    attempts = [x for x in agreement.attempts if x.invoice_id == invoice.id]
    following = (attempts[-1].attempt if attempts else 0) + 1
    if balance.minor <= 0:
        return InvoiceCollection(invoice.id, CollectionState.SETTLED, balance, following)
    if not _auto(agreement):
        return InvoiceCollection(invoice.id, CollectionState.NOT_COLLECTED, balance, following)
    if any(r.invoice_id == invoice.id for r in agreement.refunds):
        return InvoiceCollection(invoice.id, CollectionState.ON_HOLD, balance, following)
    if not attempts:
        return InvoiceCollection(invoice.id, CollectionState.DUE, balance, following)
    last = attempts[-1]
    ok, bad = _outcomes(agreement, invoice.id, last.attempt)
    if ok is not None:
        return InvoiceCollection(invoice.id, CollectionState.DUE, balance, following)
    if bad is None:
        return InvoiceCollection(invoice.id, CollectionState.IN_FLIGHT, balance, following)
    if bad.decline_code in ACTION_REQUIRED_CODES:
        return InvoiceCollection(invoice.id, CollectionState.ACTION_REQUIRED, balance, following)
    failures = sum(1 for f in agreement.failures if f.invoice_id == invoice.id)
    when = policy.retry_on(bad.effective_at.date(), failures=failures)
    if policy.is_final(bad.decline_code) or when is None:
        return InvoiceCollection(invoice.id, CollectionState.EXHAUSTED, balance, following)
    return InvoiceCollection(invoice.id, CollectionState.RETRY_SCHEDULED, balance, following, when)


_DUNNING_RANK: Final = {
    CollectionState.RETRY_SCHEDULED: DunningStatus.RETRYING,
    CollectionState.ACTION_REQUIRED: DunningStatus.ACTION_REQUIRED,
    CollectionState.EXHAUSTED: DunningStatus.EXHAUSTED,
}
_DUNNING_ORDER: Final = (DunningStatus.CURRENT, DunningStatus.RETRYING,
                         DunningStatus.ACTION_REQUIRED, DunningStatus.EXHAUSTED)


def dunning_status(agreement: Agreement, policy: RetryPolicy | None = None) -> DunningStatus:
    """The agreement's dunning state: the worst over its invoices' collection states.

    ``CURRENT`` (nothing failed), ``RETRYING`` (a retry is scheduled),
    ``ACTION_REQUIRED`` (the customer must authenticate; automatic retries
    stopped) or ``EXHAUSTED`` (a final decline, or ``max_attempts`` failures).
    """
    worst = DunningStatus.CURRENT
    for inv in agreement.invoices:
        status = _DUNNING_RANK.get(collection_state(agreement, inv.id, policy).state,
                                   DunningStatus.CURRENT)
        if _DUNNING_ORDER.index(status) > _DUNNING_ORDER.index(worst):
            worst = status
    return worst


def format_number(policy: NumberingPolicy, n: int) -> str:
    """The document number for the store's ``n``-th number (1, 2, ...) of a firm.

    >>> format_number(NumberingPolicy(prefix="2026-", width=4), 42)
    '2026-0042'
    """
    return f"{policy.prefix}{policy.start + n - 1:0{policy.width}d}"


# ------------------------------------------------------------------ results


@attrs.frozen
class ChargeOutcome:
    """What one charge attempt came to (``FAILED_RETRYABLE``: left for reconciliation)."""

    agreement_id: AgreementId
    invoice_id: InvoiceId
    attempt: int
    amount: Money
    status: ChargeStatus
    decline_code: str | None = None
    gateway_ref: str | None = None


@attrs.frozen
class BillingProblem:
    """An agreement the Biller could not finish; it is tried again on a later run."""

    agreement_id: AgreementId
    error: str
    message: str


@attrs.frozen
class RunSummary:
    """What :meth:`Biller.run`, :meth:`Biller.bill` or :meth:`Biller.handle` did."""

    as_of: date
    agreements: tuple[AgreementId, ...] = ()
    approvals: tuple[AmendmentApproved, ...] = ()
    invoices: tuple[Invoice, ...] = ()
    credit_notes: tuple[CreditNote, ...] = ()
    charges: tuple[ChargeOutcome, ...] = ()
    reconciled: tuple[ChargeOutcome, ...] = ()
    problems: tuple[BillingProblem, ...] = ()

    @property
    def failures(self) -> tuple[ChargeOutcome, ...]:
        """Charges and re-driven attempts that did not succeed."""
        return tuple(c for c in (*self.reconciled, *self.charges)
                     if c.status is not ChargeStatus.SUCCEEDED)


@attrs.frozen
class RecognitionSummary:
    """What :meth:`Biller.recognise` posted: one release entry per agreement that moved."""

    as_of: date
    agreements: tuple[AgreementId, ...] = ()
    entries: tuple[JournalEntry, ...] = ()
    problems: tuple[BillingProblem, ...] = ()

    @property
    def released(self) -> dict[str, Money]:
        """Revenue posted, per currency code (negative: reversed)."""
        out: dict[str, Money] = {}
        for e in self.entries:
            for ln in e.lines:
                if ln.account is Account.REVENUE:
                    code = ln.amount.currency.code
                    out[code] = out.get(code, Money.zero(code)) - Money.from_minor(
                        ln.signed_minor, ln.amount.currency)
        return out


@attrs.frozen
class PlannedCharge:
    """A charge :meth:`Biller.dry_run` says would be made."""

    agreement_id: AgreementId
    invoice_id: InvoiceId
    attempt: int
    amount: Money
    reason: str


@attrs.frozen
class DryRun:
    """What :meth:`Biller.run` would do on ``as_of``; invoices are unnumbered drafts."""

    as_of: date
    agreements: tuple[AgreementId, ...]
    approvals: tuple[AmendmentApproved, ...]
    invoices: tuple[Invoice, ...]
    credit_notes: tuple[CreditNote, ...]
    charges: tuple[PlannedCharge, ...]


@attrs.define
class _Tally:
    as_of: date
    agreements: list[AgreementId] = attrs.Factory(list)
    approvals: list[AmendmentApproved] = attrs.Factory(list)
    invoices: list[Invoice] = attrs.Factory(list)
    credit_notes: list[CreditNote] = attrs.Factory(list)
    charges: list[ChargeOutcome] = attrs.Factory(list)
    reconciled: list[ChargeOutcome] = attrs.Factory(list)
    problems: list[BillingProblem] = attrs.Factory(list)

    def problem(self, agreement_id: str, exc: BaseException) -> None:
        self.problems.append(BillingProblem(AgreementId(agreement_id), type(exc).__name__,
                                            str(exc)))

    def freeze(self) -> RunSummary:
        return RunSummary(self.as_of, tuple(self.agreements), tuple(self.approvals),
                          tuple(self.invoices), tuple(self.credit_notes), tuple(self.charges),
                          tuple(self.reconciled), tuple(self.problems))


# ------------------------------------------------------------------ helpers


def _stored(agreement_id: str, event: Event) -> StoredEvent:
    return StoredEvent(AgreementId(agreement_id), EventId(event.event_id), event.version,
                       type(event).__name__, event.effective_at, event_to_json(event))


def _money(m: Money | None) -> dict[str, str] | None:
    return None if m is None else m.to_json()


def _result_from_outcome(key: str, data: dict[str, Any]) -> ChargeResult:
    # The key is the record's own; outcomes written before it was kept lack it.
    return decode({**data, "idempotency_key": key}, ChargeResult,  # type: ignore[no-any-return]
                  "outcome")


def _end_of(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=UTC)


def _revenue_account(period_end: date | None, on: date) -> Account:
    # Point-in-time items (milestones) are revenue when billed; service not
    # yet rendered is a contract liability until recognition releases it.
    if period_end is not None and period_end > on:
        return Account.DEFERRED_REVENUE
    return Account.REVENUE


def _split(amounts: dict[Account, int], cur: Any, *, debit: bool) -> list[JournalLine]:
    out = []
    for account, minor in amounts.items():
        if minor > 0:
            m = Money.from_minor(minor, cur)
            out.append(JournalLine.dr(account, m) if debit else JournalLine.cr(account, m))
    return out


def _issue_entry(invoice: Invoice) -> JournalEntry:
    by: dict[Account, int] = {}
    for line in invoice.lines:
        acct = _revenue_account(None if line.period is None else line.period.end,
                                invoice.issued_on)
        by[acct] = by.get(acct, 0) + line.amount.minor
    if invoice.tax_total.minor:
        by[Account.TAX_PAYABLE] = invoice.tax_total.minor
    return JournalEntry(
        id=EntryId(f"{invoice.id}:issue"), posted_on=invoice.issued_on,
        lines=(JournalLine.dr(Account.RECEIVABLE, invoice.total),
               *_split(by, invoice.currency, debit=False)),
        memo=f"Invoice {invoice.number}", agreement_id=invoice.agreement_id)


def _credit_entry(cn: CreditNote, deferred: int | None = None) -> JournalEntry:
    by: dict[Account, int] = {}
    for line in cn.lines:
        acct = _revenue_account(None if line.period is None else line.period.end, cn.issued_on)
        by[acct] = by.get(acct, 0) + line.amount.minor
    taken = by.get(Account.DEFERRED_REVENUE, 0)
    if deferred is not None and taken > max(deferred, 0):
        # Recognition already released part of what is credited: reverse that
        # part from revenue so deferred revenue never turns into a debit.
        by[Account.DEFERRED_REVENUE] = max(deferred, 0)
        by[Account.REVENUE] = by.get(Account.REVENUE, 0) + taken - max(deferred, 0)
    if cn.tax_total.minor:
        by[Account.TAX_PAYABLE] = cn.tax_total.minor
    return JournalEntry(
        id=EntryId(f"{cn.id}:credit"), posted_on=cn.issued_on,
        lines=(*_split(by, cn.currency, debit=True), JournalLine.cr(Account.RECEIVABLE, cn.total)),
        memo=f"Credit note {cn.number} on {cn.credits}", agreement_id=cn.agreement_id)


def _payment_entry(agreement_id: str, e: PaymentSucceeded, entry_id: str,
                   account: Account) -> JournalEntry:
    fee = e.fee
    lines: list[JournalLine] = []
    net = e.amount
    if fee is not None and fee.currency == e.amount.currency and 0 < fee.minor < e.amount.minor:
        net = e.amount - fee
        lines.append(JournalLine.dr(Account.GATEWAY_FEES, fee))
    return JournalEntry(
        id=EntryId(entry_id), posted_on=e.effective_at.date(),
        lines=(JournalLine.dr(account, net), *lines, JournalLine.cr(Account.RECEIVABLE, e.amount)),
        memo=f"Payment on {e.invoice_id} ({e.gateway_reference})", agreement_id=agreement_id)


def _refund_entry(agreement_id: str, e: Refunded) -> JournalEntry:
    return JournalEntry(
        id=EntryId(f"{e.invoice_id}:refund:{e.event_id}"), posted_on=e.effective_at.date(),
        lines=(JournalLine.dr(Account.RECEIVABLE, e.amount),
               JournalLine.cr(Account.CLEARING, e.amount)),
        memo=f"Refund on {e.invoice_id} ({e.gateway_reference})", agreement_id=agreement_id)


def _credit_added_entry(agreement_id: str, e: CustomerCreditAdded) -> JournalEntry:
    return JournalEntry(
        id=EntryId(f"{e.invoice_id}:customer-credit:{e.event_id}"),
        posted_on=e.effective_at.date(),
        lines=(JournalLine.dr(Account.RECEIVABLE, e.amount),
               JournalLine.cr(Account.CUSTOMER_CREDIT, e.amount)),
        memo=f"Over-credit on {e.invoice_id} held as customer credit",
        agreement_id=agreement_id)


def _credit_applied_entry(agreement_id: str, e: CreditApplied) -> JournalEntry:
    return JournalEntry(
        id=EntryId(f"{e.invoice_id}:credit-applied:{e.event_id}"),
        posted_on=e.effective_at.date(),
        lines=(JournalLine.dr(Account.CUSTOMER_CREDIT, e.amount),
               JournalLine.cr(Account.RECEIVABLE, e.amount)),
        memo=f"Customer credit applied to {e.invoice_id}", agreement_id=agreement_id)


def _pending_refunds(a: Agreement, invoice_id: str) -> int:
    """Refund credit notes on ``invoice_id`` whose gateway refund is not recorded yet."""
    done = {r.idempotency_key for r in a.refunds}
    return sum(cn.total.minor for cn in a.credit_notes
               if cn.credits == invoice_id and cn.reason is CreditReason.REFUND
               and refund_idempotency_key(a.id, cn.credits, cn.id) not in done)


def _owed_back(a: Agreement, invoice_id: InvoiceId) -> int:
    """What ``invoice_id`` owes the client (minor units), less refunds already on their way."""
    return max(0, -invoice_balance(a, invoice_id).minor - _pending_refunds(a, invoice_id))


def _refundable(a: Agreement, invoice_id: str) -> int:
    """The most one gateway payment on ``invoice_id`` can still refund (earlier refunds
    are taken from earlier payments first, as :meth:`Biller.refund` does)."""
    refunded = sum(r.amount.minor for r in a.refunds if r.invoice_id == invoice_id)
    best = 0
    for p in a.payments:
        if p.invoice_id != invoice_id or p.attempt is None:
            continue
        take = min(refunded, p.amount.minor)
        refunded -= take
        best = max(best, p.amount.minor - take)
    return best


#: Event-id tags of the pair of events :meth:`Biller.refund_credit` appends
#: per refund: ``Refunded`` (cash back through an invoice's payment) and
#: ``CreditApplied`` (the customer credit it uses up).
_CREDIT_REFUND_TAG: Final = "refunded-credit"
_CREDIT_RETURN_TAG: Final = "credit-refunded"


def _tagged(a: Agreement, event_id: str, tag: str) -> bool:
    return event_id.startswith(f"{a.id}:{tag}:")


def _credit_refunds(a: Agreement) -> int:
    """How many customer-credit refunds :meth:`Biller.refund_credit` has recorded."""
    return sum(1 for r in a.refunds if _tagged(a, r.event_id, _CREDIT_REFUND_TAG))


def _credit_refund_id(k: int) -> str:
    return f"credit-refund-{k}"


def _item_group(a: Agreement, invoice_id: str) -> list[str]:
    """``invoice_id`` and every invoice linked to it by a common plan item.

    An item's first invoice and its adjustment invoices are one group: an
    amendment credit for the item is issued against the first invoice only
    but may take back what an adjustment invoice billed (its room is their
    subtotals together, see :func:`~milestonebill.agreement.billed_by_key`).
    """
    keys: dict[str, set[str]] = {inv.id: {ln.item_key for ln in inv.lines
                                          if ln.item_key is not None}
                                 for inv in a.invoices}
    group = {invoice_id}
    seen = set(keys.get(invoice_id, set()))
    grew = True
    while grew:
        grew = False
        for inv_id, mine in keys.items():
            if inv_id not in group and mine & seen:
                group.add(inv_id)
                seen |= mine
                grew = True
    return [inv.id for inv in a.invoices if inv.id in group]


def _refund_terms(a: Agreement, invoice_id: str) -> tuple[int, int, int]:
    """The three limits of :func:`_refund_cap` for one invoice, unclamped (minor units)."""
    inv = a.invoice(invoice_id)
    paid = sum(p.amount.minor for p in a.payments if p.invoice_id == invoice_id)
    mine = [r for r in a.refunds if r.invoice_id == invoice_id]
    refunded = sum(r.amount.minor for r in mine)
    for_credit = sum(r.amount.minor for r in mine if _tagged(a, r.event_id, _CREDIT_REFUND_TAG))
    moved = sum(c.amount.minor for c in a.credits_added if c.invoice_id == invoice_id)
    applied = sum(c.amount.minor for c in a.credits_applied if c.invoice_id == invoice_id
                  and not _tagged(a, c.event_id, _CREDIT_RETURN_TAG))
    credited = sum(c.total.minor for c in a.credit_notes if c.credits == invoice_id)
    pending = _pending_refunds(a, invoice_id)
    return (paid - refunded - pending,
            paid - (refunded - for_credit) - moved - pending,
            inv.total.minor - credited - applied)


def _refund_cap(a: Agreement, invoice_id: str) -> int:
    """The most (minor units, tax included) a refund may still return on ``invoice_id``.

    The least of: the cash paid on it less every refund (customer-credit
    refunds routed through its payments included) and refunds still on
    their way; the same less what was moved from it to customer credit
    (applied elsewhere or outstanding), not counting cash already returned
    for credit; and its total less credit notes and credit applied to it
    (what is both charged and paid for in cash).  The last two are also
    taken over the invoice's item group (:func:`_item_group`): an amendment
    credit on an item's first invoice may take back what an adjustment
    invoice billed and was paid, and that payment must not be refunded too.
    """
    cash, kept, charged = _refund_terms(a, invoice_id)
    group_kept, group_charged = kept, charged
    for other in _item_group(a, invoice_id):
        if other != invoice_id:
            _cash, k, ch = _refund_terms(a, other)
            group_kept, group_charged = group_kept + k, group_charged + ch
    return max(0, min(cash, kept, charged, group_kept, group_charged))


def refundable(agreement: Agreement, invoice_id: InvoiceId) -> Money:
    """The most :meth:`Biller.refund` may still return on an invoice (tax included).

    What the client paid on it, less what was refunded (or is being), moved
    to customer credit, or credited without being paid for in cash.  A
    1,000.00 invoice paid in full and then credited 400.00 whose over-credit
    became customer credit has 600.00 left to refund -- not 1,000.00.
    An item's first invoice and its adjustment invoices are also capped
    together, since an amendment credit on the first may take back what an
    adjustment invoice billed.  See ``docs/engine.md``.
    """
    agreement.invoice(invoice_id)
    return Money.from_minor(_refund_cap(agreement, invoice_id), agreement.currency)


def _payment_headroom(a: Agreement, invoice_id: str) -> list[tuple[PaymentSucceeded, int]]:
    """Gateway payments on ``invoice_id`` with what each can still refund (earlier
    refunds are taken from earlier payments first)."""
    refunded = sum(r.amount.minor for r in a.refunds if r.invoice_id == invoice_id)
    out: list[tuple[PaymentSucceeded, int]] = []
    for p in a.payments:
        if p.invoice_id != invoice_id or p.attempt is None:
            continue
        take = min(refunded, p.amount.minor)
        refunded -= take
        if p.amount.minor - take > 0:
            out.append((p, p.amount.minor - take))
    return out


def _credit_work(a: Agreement, policy: CreditPolicy, in_flight: Callable[[InvoiceId], bool],
                 reserved: int = 0
                 ) -> tuple[list[tuple[InvoiceId, int]], list[tuple[InvoiceId, int]]]:
    """What one credit unit of work does: (invoice, amount) moved to credit, then applied.

    ``reserved`` is credit an unfinished customer-credit refund will use up:
    it is not applied to invoices meanwhile.
    """
    added: list[tuple[InvoiceId, int]] = []
    if policy is CreditPolicy.APPLY_TO_NEXT_INVOICES:
        added = [(inv.id, owed) for inv in a.invoices if (owed := _owed_back(a, inv.id)) > 0]
    credit = a.credit_balance.minor + sum(m for _i, m in added) - reserved
    applied: list[tuple[InvoiceId, int]] = []
    for inv in a.invoices:
        if credit <= 0:
            break
        balance = invoice_balance(a, inv.id).minor
        if balance > 0 and not in_flight(inv.id):
            take = min(balance, credit)
            applied.append((inv.id, take))
            credit -= take
    return added, applied


def _is_grace(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and value >= 0


def _check_date(field: str, value: object) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValidationError(field, "a date (not a datetime)", value)
    return value


def _check_id(field: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, "a non-empty string", value)
    return value


# ------------------------------------------------------------------ the Biller


class Biller:
    """Bills agreements exactly once through a store, a gateway and a clock.

    ``store`` is a :class:`~milestonebill.stores.base.BillingStore` (it is
    also the ledger, so postings commit with the events that cause them).
    ``firm_id`` names the invoice number sequence; credit notes use
    ``f"{firm_id}/credit-notes"``.  ``numbering``/``credit_numbering`` format
    the numbers, ``tax`` is applied to every document.  ``credit_policy``
    (a :class:`CreditPolicy`, overridden per agreement id by
    ``credit_policies``) says what happens when a credit note leaves an
    invoice owing the client money.  ``worker_id``,
    ``lease_seconds`` and ``batch_size`` govern claims in :meth:`run`;
    ``reconcile_grace_seconds`` is how old an unfinished charge attempt must
    be before :meth:`reconcile` touches it.
    ``_fault`` is a test hook called with each name in :data:`STEPS`.
    """

    def __init__(
        self,
        store: BillingStore,
        gateway: PaymentGateway,
        *,
        clock: Clock,
        firm_id: FirmId,
        numbering: NumberingPolicy = _INVOICE_NUMBERS,
        credit_numbering: NumberingPolicy = _CREDIT_NUMBERS,
        tax: TaxPolicy = NO_TAX,
        retry_policy: RetryPolicy = _DEFAULT_POLICY,
        credit_policy: CreditPolicy = CreditPolicy.APPLY_TO_NEXT_INVOICES,
        credit_policies: Mapping[str, CreditPolicy] | None = None,
        worker_id: WorkerId = _DEFAULT_WORKER,
        lease_seconds: float = 300.0,
        reconcile_grace_seconds: float = 300.0,
        batch_size: int = 50,
        horizon_days: int = 400,
        _fault: Callable[[str], None] | None = None,
    ) -> None:
        problems: list[ValidationError] = []
        checks: tuple[tuple[str, object, type], ...] = (
            ("clock", clock, Clock), ("numbering", numbering, NumberingPolicy),
            ("credit_numbering", credit_numbering, NumberingPolicy), ("tax", tax, TaxPolicy),
            ("retry_policy", retry_policy, RetryPolicy), ("credit_policy", credit_policy, CreditPolicy),
        )
        for name, value, kind in checks:
            if not isinstance(value, kind):
                problems.append(ValidationError(name, f"a {kind.__name__}", value))
        overrides = {} if credit_policies is None else credit_policies
        if not isinstance(overrides, Mapping):
            problems.append(ValidationError("credit_policies",
                                            "a mapping of agreement id to CreditPolicy",
                                            credit_policies))
            overrides = {}
        for aid, pol in overrides.items():
            if not isinstance(aid, str) or not aid.strip() or not isinstance(pol, CreditPolicy):
                problems.append(ValidationError(f"credit_policies[{aid!r}]",
                                                "a CreditPolicy under a non-empty agreement id",
                                                pol))
        for name, text in (("firm_id", firm_id), ("worker_id", worker_id)):
            if not isinstance(text, str) or not text.strip():
                problems.append(ValidationError(name, "a non-empty string", text))
        for name, number in (("batch_size", batch_size), ("horizon_days", horizon_days)):
            if type(number) is not int or number < 1:
                problems.append(ValidationError(name, "a whole number, 1 or more", number))
        if isinstance(lease_seconds, bool) or not isinstance(lease_seconds, int | float) \
                or not lease_seconds > 0:
            problems.append(ValidationError("lease_seconds", "a number greater than zero",
                                            lease_seconds))
        if not _is_grace(reconcile_grace_seconds):
            problems.append(ValidationError("reconcile_grace_seconds", "a number, 0 or more",
                                            reconcile_grace_seconds))
        if len(problems) == 1:
            raise problems[0]
        if problems:
            raise InvalidInputError(problems)
        self._store = store
        self._gateway = gateway
        self._clock = clock
        self._firm = firm_id
        self._credit_firm = FirmId(f"{firm_id}/credit-notes")
        self._numbering = numbering
        self._credit_numbering = credit_numbering
        self._tax = tax
        self._policy = retry_policy
        self._credit_policy = credit_policy
        self._credit_policies = dict(overrides)
        self._worker = worker_id
        self._lease = float(lease_seconds)
        self._grace = float(reconcile_grace_seconds)
        self._batch = batch_size
        self._horizon = timedelta(days=horizon_days)
        self._fault_hook = _fault

    @property
    def retry_policy(self) -> RetryPolicy:
        """The retry policy in force."""
        return self._policy

    @property
    def credit_policy(self) -> CreditPolicy:
        """The default :class:`CreditPolicy` (agreements may override it)."""
        return self._credit_policy

    def credit_policy_for(self, agreement_id: str) -> CreditPolicy:
        """The :class:`CreditPolicy` in force for one agreement."""
        return self._credit_policies.get(agreement_id, self._credit_policy)

    def _fault(self, step: str) -> None:
        if self._fault_hook is not None:
            self._fault_hook(step)

    # ------------------------------------------------------------ streams

    def load(self, agreement_id: AgreementId) -> Agreement:
        """The agreement as folded from its stored events (:class:`NotFoundError` if none)."""
        _check_id("agreement_id", agreement_id)
        stored = self._store.load(agreement_id)
        if not stored:
            raise NotFoundError(f"no agreement {agreement_id!r} in the store")
        return Agreement.from_events(event_from_json(e.data) for e in stored)

    def open(self, agreement: Agreement) -> Agreement:
        """Store a new agreement (its ``Signed`` event and any that follow).

        Opening the same agreement again is a no-op; a different agreement
        under a used id raises :class:`~milestonebill.errors.ConcurrencyError`
        or :class:`~milestonebill.errors.DuplicateIdError`.  Nothing is billed
        yet: :meth:`run` (or :meth:`bill`) does that.
        """
        if not isinstance(agreement, Agreement):
            raise ValidationError("agreement", "an Agreement (see agreement.sign)", agreement)
        for e in agreement.events:
            if not isinstance(e, (Signed, *_HOST_EVENTS)):
                raise ValidationError("agreement.events", "Signed and host events only",
                                      type(e).__name__)
        with self._store.transaction():
            before = self._store.version(agreement.id)
            after = self._store.append(agreement.id, [_stored(agreement.id, e)
                                                      for e in agreement.events], 0)
            if after != before:
                self._store.set_next_due(agreement.id, self._next_due(agreement, None))
        return self.load(agreement.id)

    def record(self, agreement_id: AgreementId, events: Sequence[Event]) -> Agreement:
        """Append host events (completions, amendments, pauses...) without billing.

        The events must follow on from the stored version (optimistic
        concurrency: a stale caller gets
        :class:`~milestonebill.errors.ConcurrencyError`); events already
        stored are skipped.  Everything is checked before anything is written.
        """
        if isinstance(events, _HOST_EVENTS) or not isinstance(events, Sequence):
            raise ValidationError("events", "a sequence of events", events)
        for i, e in enumerate(events):
            if not isinstance(e, _HOST_EVENTS):
                raise ValidationError(f"events[{i}]",
                                      "a host event (" + ", ".join(t.__name__ for t in _HOST_EVENTS)
                                      + ")", type(e).__name__)
        a = self.load(agreement_id)
        new = a
        fresh: list[Event] = []
        for e in events:
            after = apply(new, e)
            if after is not new:
                fresh.append(e)
            new = after
        if not fresh:
            return a
        with self._store.transaction():
            self._store.append(a.id, [_stored(a.id, e) for e in fresh], a.version)
            self._store.set_next_due(a.id, self._next_due(new, None))
        return new

    # ------------------------------------------------------------ entry points

    def handle(self, agreement_id: AgreementId, event: Event) -> RunSummary:
        """Record a host event (a completed milestone, an approved amendment...) and
        bill what is now due for that agreement, as of the clock's today.

        Handling the same event again changes nothing.
        """
        self.record(agreement_id, [event])
        return self.bill(agreement_id)

    def bill(self, agreement_id: AgreementId, as_of: date | None = None) -> RunSummary:
        """Bill one agreement now (no claim is taken): finish interrupted attempts,
        apply due approvals, issue, charge and retry what is due by ``as_of``."""
        day = self._clock.today() if as_of is None else _check_date("as_of", as_of)
        tally = _Tally(day)
        a = self._process(agreement_id, day, tally)
        nxt = self._next_due(a, day)
        self._store.set_next_due(a.id, nxt)
        return tally.freeze()

    def run(self, as_of: date) -> RunSummary:
        """Do everything date-driven that is due by ``as_of``, for every agreement.

        Claims due agreements in batches (a lease, so workers never share
        one) until none are left; for each: re-drive its unfinished charge
        attempts with their original keys, append automatic approvals whose
        notice ran out, issue due credit notes and invoices, charge them,
        retry failed payments whose day has come, then store the next due
        date and release the claim.  An agreement that fails is reported in
        :attr:`RunSummary.problems` and tried again the next day.
        """
        _check_date("as_of", as_of)
        tally = _Tally(as_of)
        seen: set[str] = set()
        while True:
            ids = self._store.claim(self._worker, as_of, limit=self._batch,
                                    lease_seconds=self._lease)
            if not ids:
                break
            for aid in ids:
                nxt: date | None = as_of + timedelta(days=1)
                if aid in seen:
                    # Defensive: never loop on one agreement within a run.
                    self._store.complete(self._worker, aid, nxt)
                    continue
                seen.add(aid)
                try:
                    a = self._process(aid, as_of, tally)
                    nxt = self._next_due(a, as_of)
                except MilestonebillError as exc:
                    tally.problem(aid, exc)
                self._fault("before_complete")
                try:
                    self._store.complete(self._worker, aid, nxt)
                except LeaseLostError as exc:
                    tally.problem(aid, exc)
        return tally.freeze()

    def reconcile(self, *, grace_seconds: float | None = None) -> tuple[ChargeOutcome, ...]:
        """Finish unfinished charge attempts store-wide, each with its original key.

        Safe while other workers run: an attempt is left alone while it is
        younger than the grace period (``grace_seconds``, default the
        Biller's ``reconcile_grace_seconds``; ``0`` turns the age check off)
        -- a live worker is most likely still waiting for the gateway -- or
        while another worker holds a live claim on its agreement.  Otherwise
        the Biller claims the agreement (``claim_one``), re-drives its
        unfinished attempts and releases the claim.  Age is ``recorded_at``
        (the store's clock) against this Biller's clock; an attempt stamped
        in the future is treated as young, one without a time (recorded
        before stores kept it) as old.  ``run`` re-drives the attempts of
        each agreement it claims anyway; skipped attempts are left to it or
        to a later ``reconcile``.  The gateway replays the outcome of a key
        it has seen, so nothing is charged twice.
        """
        grace = self._grace if grace_seconds is None else grace_seconds
        if not _is_grace(grace):
            raise ValidationError("grace_seconds", "a number, 0 or more", grace_seconds)
        now = utc_datetime(self._clock.now(), "clock.now()")
        tally = _Tally(now.date())
        by_agreement: dict[AgreementId, list[AttemptRecord]] = {}
        for rec in self._store.unfinished_attempts():
            if grace > 0 and rec.recorded_at is not None \
                    and now - rec.recorded_at < timedelta(seconds=grace):
                continue
            by_agreement.setdefault(rec.agreement_id, []).append(rec)
        for aid, recs in by_agreement.items():
            try:
                if not self._store.claim_one(self._worker, aid, lease_seconds=self._lease):
                    continue
            except MilestonebillError as exc:
                tally.problem(aid, exc)
                continue
            try:
                a = self.load(aid)
                for rec in recs:
                    a = self._redrive(a, rec, tally)
            except MilestonebillError as exc:
                tally.problem(aid, exc)
            finally:
                self._store.release(self._worker, [aid])
        return tuple(tally.reconciled)

    # ------------------------------------------------------------ revenue recognition

    def recognise(self, as_of: date, *,
                  agreement_ids: Sequence[AgreementId] | None = None) -> RecognitionSummary:
        """Release the deferred revenue earned by the end of ``as_of``.

        Invoices post service not yet rendered as deferred revenue; this
        moves what has been earned since into revenue.  For each agreement
        (all in the store, or ``agreement_ids``), every billed service
        period is recognised straight line, daily-accurate, over the period
        as billed (less any tail a credit note took back) --
        :func:`milestonebill.recognition.billed_service`, cumulative
        ``round(billed x elapsed / days)`` -- and one revenue-only entry
        (:func:`milestonebill.recognition.release_entry`: *Dr deferred
        revenue / Cr revenue*; a reversal after a late credit; a contract
        asset if recognition ever ran ahead of billing) brings the ledger to
        exactly the unearned amount, in one unit of work.

        Separate from :meth:`run` on purpose: recognition closes a
        reporting period, so call it at each period end (or nightly).  It is
        idempotent: a second call for the same day posts nothing.  Entry ids
        are ``"<agreement>:recognition:<n>"`` (the n-th release of the
        agreement), so two workers racing on one agreement cannot both post
        (the loser's entry is refused and it recomputes).  An ``as_of``
        before the agreement's last release posts nothing for it: the
        ledger's history is never rewritten.
        """
        _check_date("as_of", as_of)
        ids = self._store.agreement_ids() if agreement_ids is None else list(agreement_ids)
        done: list[AgreementId] = []
        entries: list[JournalEntry] = []
        problems: list[BillingProblem] = []
        for aid in ids:
            try:
                entry = self._recognise_one(AgreementId(_check_id("agreement_ids", aid)), as_of)
            except MilestonebillError as exc:
                problems.append(BillingProblem(AgreementId(str(aid)), type(exc).__name__,
                                               str(exc)))
                continue
            done.append(aid)
            if entry is not None:
                entries.append(entry)
        return RecognitionSummary(as_of, tuple(done), tuple(entries), tuple(problems))

    def _posted(self, agreement_id: str) -> dict[str, JournalEntry]:
        return {e.id: e for e in self._store.entries(agreement_id=agreement_id)}

    def _contract_position(self, a: Agreement, posted: dict[str, JournalEntry],
                           as_of: date | None = None) -> tuple[int, int, int, date | None]:
        """Deferred revenue (credit) and contract asset (debit) of ``a`` in minor units,
        the number of release entries and the last one's date.

        Only entries of documents in ``a`` (issued by ``as_of``) and release
        entries count, so a document committed after ``a`` was loaded cannot
        skew the position.
        """
        ids = {f"{i.id}:issue" for i in a.invoices if as_of is None or i.issued_on <= as_of}
        ids |= {f"{c.id}:credit" for c in a.credit_notes
                if as_of is None or c.issued_on <= as_of}
        prefix = f"{a.id}:recognition:"
        releases = [e for e in posted.values() if e.id.startswith(prefix)]
        deferred = asset = 0
        for e in (*(posted[i] for i in ids if i in posted), *releases):
            for ln in e.lines:
                if ln.account is Account.DEFERRED_REVENUE:
                    deferred -= ln.signed_minor
                elif ln.account is Account.CONTRACT_ASSET:
                    asset += ln.signed_minor
        last = max((e.posted_on for e in releases), default=None)
        return deferred, asset, len(releases), last

    def _recognise_one(self, agreement_id: AgreementId, as_of: date) -> JournalEntry | None:
        for n in range(_CONCURRENCY_RETRIES):
            try:
                with self._store.transaction():
                    # Entries first, then the stream: every document in the
                    # snapshot whose entry was read counts; a newer one waits.
                    posted = self._posted(agreement_id)
                    a = self.load(agreement_id)
                    deferred, asset, count, last = self._contract_position(a, posted, as_of)
                    if last is not None and last > as_of:
                        return None
                    invoices = [i for i in a.invoices if f"{i.id}:issue" in posted]
                    credits = [c for c in a.credit_notes if f"{c.id}:credit" in posted]
                    services = billed_service(invoices, credits, as_of)
                    cur = a.currency
                    unearned = sum(s.unearned.minor for s in services)
                    entry = release_entry(
                        f"{a.id}:recognition:{count + 1:06d}", as_of,
                        deferred=Money.from_minor(deferred, cur),
                        contract_asset=Money.from_minor(asset, cur),
                        unearned=Money.from_minor(unearned, cur), agreement_id=a.id)
                    if entry is None:
                        return None
                    self._store.post(entry)
                    return entry
            except DuplicateIdError:
                # Another worker posted this release first: recompute from its result.
                if n == _CONCURRENCY_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    # ------------------------------------------------------------ dry run

    def dry_run(self, as_of: date) -> DryRun:
        """What :meth:`run` would bill on ``as_of``; writes nothing, calls no gateway."""
        _check_date("as_of", as_of)
        ids: list[AgreementId] = []
        approvals: list[AmendmentApproved] = []
        invoices: list[Invoice] = []
        credits: list[CreditNote] = []
        charges: list[PlannedCharge] = []
        for aid in self._store.list_due(as_of):
            a = self.load(aid)
            ids.append(aid)
            for e in approvals_due(a, _end_of(as_of)):
                a = apply(a, e)
                approvals.append(e)
            credits.extend(due_credit_notes(a, as_of, tax=self._tax))
            drafts = due_invoices(a, as_of, tax=self._tax)
            invoices.extend(drafts)
            if not _auto(a):
                continue
            # Customer credit is applied before anything is charged.
            reserved = self._credit_reserved(a)
            added, applied = _credit_work(a, self.credit_policy_for(a.id), self._in_flight(a),
                                          reserved)
            covered = dict(applied)
            left = a.credit_balance.minor + sum(m for _i, m in added) - sum(covered.values()) \
                - reserved
            for inv in a.invoices:
                st = collection_state(a, inv.id, self._policy)
                amount = st.balance - Money.from_minor(covered.get(inv.id, 0), a.currency)
                if amount.minor > 0 and (st.state is CollectionState.DUE or (
                        st.state is CollectionState.RETRY_SCHEDULED
                        and st.retry_on is not None and st.retry_on <= as_of)):
                    reason = "retry" if st.state is CollectionState.RETRY_SCHEDULED else "due"
                    charges.append(PlannedCharge(a.id, inv.id, st.next_attempt, amount,
                                                 reason))
            for d in drafts:
                take = min(left, d.total.minor)
                left -= take
                if d.total.minor > take:
                    charges.append(PlannedCharge(a.id, d.id, 1,
                                                 d.total - Money.from_minor(take, a.currency),
                                                 "new invoice"))
        return DryRun(as_of, tuple(ids), tuple(approvals), tuple(invoices), tuple(credits),
                      tuple(charges))

    # ------------------------------------------------------------ payments

    def record_payment(self, invoice_id: InvoiceId, amount: Money, *, reference: str,
                       received_at: datetime | None = None) -> Agreement:
        """Record money received outside the gateway (a bank transfer, a cheque).

        Posts cash against receivable; a partial amount leaves a balance.
        The same ``reference`` again is a no-op.
        """
        _check_id("reference", reference)
        a = self._agreement_of(invoice_id)
        inv = a.invoice(invoice_id)
        if not isinstance(amount, Money) or amount.currency != inv.currency or amount.minor <= 0:
            raise ValidationError("amount", f"a positive amount in {inv.currency.code}", amount)
        eid = f"{a.id}:paid:{invoice_id}:manual:{reference}"

        def work(a: Agreement) -> Agreement:
            if any(e.event_id == eid for e in a.events):
                return a
            at = self._at(a) if received_at is None else max(
                utc_datetime(received_at, "received_at"), a.events[-1].effective_at)
            e = PaymentSucceeded(eid, a.version + 1, at, inv.id, amount, reference)
            new = self._append(a, [e])
            self._store.post(_payment_entry(a.id, e, f"{inv.id}:payment:manual:{reference}",
                                            Account.CASH))
            self._notify(f"payment.succeeded:{eid}", a.id, "payment.succeeded",
                         {"invoice_id": inv.id, "amount": amount.to_json(),
                          "reference": reference})
            return new

        return self._reschedule(self._unit(a, work))

    def refund(self, invoice_id: InvoiceId, amount: Money, *, reason: str = "") -> Agreement:
        """Refund ``amount`` (net of tax; its tax is refunded with it) of a paid invoice.

        Issues a refund credit note (so the invoice is not charged again),
        refunds its total through the gateway under a key derived from the
        credit note, then records :class:`~milestonebill.agreement.Refunded`
        and posts the ledger.  A crash after the credit note is finished by
        the next :meth:`run` of the agreement, with the amount recorded in
        the attempt journal before the gateway was first called.

        Capped: a refund whose total is more than :func:`refundable` (what
        the client paid on the invoice less what was refunded, moved to
        customer credit or applied elsewhere) raises
        :class:`~milestonebill.errors.RefundLimitError` naming the invoice,
        the amount and the maximum; nothing is written and the gateway is
        not called.
        """
        a = self._agreement_of(invoice_id)
        cn = refund_credit_note(a, invoice_id, amount, issued_on=self._clock.today(),
                                reason=CreditReason.REFUND, memo=reason, tax=self._tax)
        cap = _refund_cap(a, invoice_id)
        if cn.total.minor > cap:
            raise RefundLimitError(invoice_id, cn.total, Money.from_minor(cap, cn.currency))
        self._check_no_credit_refund_on(a, cn)
        if self._refund_payment(a, cn) is None:
            raise ValidationError("amount", "at most what is left of a gateway payment",
                                  cn.total)
        a = self._issue_credit(a, cn, _Tally(self._clock.today()))
        issued = next(c for c in a.credit_notes if c.id == cn.id)
        try:
            a = self._refund_through_gateway(a, issued)
        finally:
            # If the gateway failed, the next run finishes the refund.
            self._reschedule(self.load(a.id))
        return a

    def apply_gateway_event(self, event: GatewayEvent) -> tuple[Event, ...]:
        """Apply a verified webhook (see ``PaymentGateway.parse_webhook``).

        Succeeded, failed and refunded payments become events and postings;
        a processing payment needs nothing; a dispute is passed to the host
        as a ``payment.disputed`` notification.  Duplicate or stale
        deliveries change nothing.  Returns the events appended.
        """
        if not isinstance(event, GatewayEvent):
            raise ValidationError("event", "a GatewayEvent", event)
        kind = event.kind
        if kind is GatewayEventKind.PAYMENT_METHOD_SAVED:
            return ()
        if event.agreement_id is None or event.invoice_id is None:
            raise ValidationError("event.invoice_id", "the agreement and invoice it concerns",
                                  (event.agreement_id, event.invoice_id))
        a = self.load(AgreementId(event.agreement_id))
        inv = a.invoice(event.invoice_id)
        if kind is GatewayEventKind.DISPUTE_OPENED:
            self._notify(f"gateway:{event.event_id}", a.id, "payment.disputed",
                         {"invoice_id": inv.id, "payment_ref": event.payment_ref,
                          "amount": _money(event.amount), "reason": event.reason})
            return ()
        if kind is GatewayEventKind.PAYMENT_REFUNDED:
            return self._webhook_refund(a, inv.id, event)
        attempt = next((x for x in a.attempts
                        if x.invoice_id == inv.id and x.attempt == event.attempt), None)
        if attempt is None:
            raise NotFoundError(f"agreement {a.id!r} has no charge attempt {event.attempt!r} "
                                f"on invoice {inv.id!r}")
        if kind is GatewayEventKind.PAYMENT_SUCCEEDED:
            status = ChargeStatus.SUCCEEDED
        elif kind is GatewayEventKind.PAYMENT_PROCESSING:
            status = ChargeStatus.PROCESSING
        elif event.charge_status is ChargeStatus.REQUIRES_ACTION or \
                event.decline_code in ACTION_REQUIRED_CODES:
            status = ChargeStatus.REQUIRES_ACTION
        else:
            status = ChargeStatus.DECLINED
        result = ChargeResult(status=status, amount=event.amount or attempt.amount,
                              idempotency_key=attempt.idempotency_key,
                              gateway_ref=event.payment_ref, decline_code=event.decline_code,
                              decline_hard=event.decline_hard, message=event.message,
                              fee=event.fee)
        before = a.version
        after = self._settle(a, attempt, result, _Tally(self._clock.today()))
        self._reschedule(after)
        return after.events[before:]

    # ------------------------------------------------------------ internals: units of work

    def _at(self, a: Agreement) -> datetime:
        return max(utc_datetime(self._clock.now(), "clock.now()"), a.events[-1].effective_at)

    def _append(self, a: Agreement, events: Sequence[Event]) -> Agreement:
        new = a
        for e in events:
            new = apply(new, e)
        self._store.append(a.id, [_stored(a.id, e) for e in events], a.version)
        return new

    def _notify(self, key: str, agreement_id: str | None, kind: str,
                payload: dict[str, Any]) -> None:
        self._store.add_notification(key, None if agreement_id is None
                                     else AgreementId(agreement_id), kind, payload)

    def _unit(self, a: Agreement, work: Callable[[Agreement], Agreement]) -> Agreement:
        """Run ``work`` in one transaction; on a concurrent append, reload and redo."""
        for n in range(_CONCURRENCY_RETRIES):
            try:
                with self._store.transaction():
                    return work(a)
            except ConcurrencyError:
                if n == _CONCURRENCY_RETRIES - 1:
                    raise
                a = self.load(a.id)
        raise AssertionError("unreachable")

    def _reschedule(self, a: Agreement) -> Agreement:
        """Bring the next due date forward when outside events created work."""
        nxt = self._next_due(a, None)
        current = self._store.next_due(a.id)
        if nxt is not None and (current is None or nxt < current):
            self._store.set_next_due(a.id, nxt)
        return a

    def _agreement_of(self, invoice_id: InvoiceId) -> Agreement:
        _check_id("invoice_id", invoice_id)
        rec = self._store.get_invoice(invoice_id)
        if rec is None or rec.agreement_id is None:
            raise NotFoundError(f"no issued invoice {invoice_id!r}")
        return self.load(rec.agreement_id)

    # ------------------------------------------------------------ internals: billing

    def _process(self, agreement_id: AgreementId, as_of: date, tally: _Tally) -> Agreement:
        a = self.load(agreement_id)
        tally.agreements.append(a.id)
        a = self._finish_interrupted(a, tally)
        a = self._approve(a, as_of, tally)
        a = self._issue_due(a, as_of, tally)
        a = self._settle_credits(a)
        return self._collect(a, as_of, tally)

    def _finish_interrupted(self, a: Agreement, tally: _Tally) -> Agreement:
        for x in a.attempts:
            ok, bad = _outcomes(a, x.invoice_id, x.attempt)
            if ok is not None or bad is not None:
                continue
            rec = self._store.get_attempt(AttemptKey(x.idempotency_key))
            if rec is None:
                continue
            a = self._redrive(a, rec, tally)
        for cn in a.credit_notes:
            key = self._refund_key(a, cn)
            if not any(r.idempotency_key == key for r in a.refunds) and (
                    cn.reason is CreditReason.REFUND or self._refund_intent(key) is not None):
                a = self._refund_through_gateway(a, cn)
        a, _found = self._finish_credit_refund(a)
        return a

    def _redrive(self, a: Agreement, rec: AttemptRecord, tally: _Tally) -> Agreement:
        attempt = next((x for x in a.attempts if x.idempotency_key == rec.key), None)
        if attempt is None:
            # A refund intent: finish it with its recorded amount.
            cn = next((c for c in a.credit_notes if self._refund_key(a, c) == rec.key), None)
            if cn is not None:
                return self._refund_through_gateway(a, cn)
            return self._finish_credit_refund(a)[0]
        ok, bad = _outcomes(a, attempt.invoice_id, attempt.attempt)
        if ok is not None or bad is not None:
            return a
        data = rec.outcome_data
        if data is not None:
            result = _result_from_outcome(rec.key, data)
            if result.status is ChargeStatus.PROCESSING:
                return a
            return self._settle(a, attempt, result, tally)
        return self._call_and_settle(a, attempt, tally, reconciling=True)

    def _approve(self, a: Agreement, as_of: date, tally: _Tally) -> Agreement:
        if not approvals_due(a, _end_of(as_of)):
            return a

        def work(a: Agreement) -> Agreement:
            due = approvals_due(a, _end_of(as_of))
            if not due:
                return a
            new = self._append(a, due)
            tally.approvals.extend(due)
            return new

        return self._unit(a, work)

    def _issue_due(self, a: Agreement, as_of: date, tally: _Tally) -> Agreement:
        for _ in range(1000):
            credits = due_credit_notes(a, as_of, tax=self._tax)
            if credits:
                a = self._issue_credit(a, credits[0], tally)
                continue
            drafts = due_invoices(a, as_of, tax=self._tax)
            if not drafts:
                return a
            a = self._issue(a, drafts[0], as_of, tally)
        raise AssertionError(f"agreement {a.id!r} kept producing documents")

    def _issue(self, a: Agreement, draft: Invoice, as_of: date, tally: _Tally) -> Agreement:
        self._fault("before_issue")

        def work(a: Agreement) -> Agreement:
            if any(i.id == draft.id for i in a.invoices):
                return a
            n = self._store.issue_invoice_number(
                self._firm, draft.id, agreement_id=a.id,
                payload={"kind": "invoice", "total": draft.total.to_json()})
            invoice = attrs.evolve(draft, number=format_number(self._numbering, n))
            e = InvoiceIssued(f"{a.id}:issued:{invoice.id}", a.version + 1, self._at(a), invoice)
            new = self._append(a, [e])
            self._store.post(_issue_entry(invoice))
            self._notify(f"invoice.issued:{invoice.id}", a.id, "invoice.issued",
                         {"invoice_id": invoice.id, "number": invoice.number,
                          "total": invoice.total.to_json(),
                          "due_on": invoice.due_on.isoformat(),
                          "collection": a.proposal.collection.value})
            tally.invoices.append(invoice)
            return new

        a = self._unit(a, work)
        self._fault("after_issue")
        return a

    def _issue_credit(self, a: Agreement, draft: CreditNote, tally: _Tally) -> Agreement:
        def work(a: Agreement) -> Agreement:
            if any(c.id == draft.id for c in a.credit_notes):
                return a
            if draft.reason is CreditReason.REFUND:
                # Checked again in the unit of work: a concurrent refund may
                # have used up what was left since the caller looked.
                cap = _refund_cap(a, draft.credits)
                if draft.total.minor > cap:
                    raise RefundLimitError(draft.credits, draft.total,
                                           Money.from_minor(cap, draft.currency))
                self._check_no_credit_refund_on(a, draft)
            n = self._store.issue_invoice_number(
                self._credit_firm, InvoiceId(draft.id), agreement_id=a.id,
                payload={"kind": "credit_note", "credits": draft.credits})
            cn = attrs.evolve(draft, number=format_number(self._credit_numbering, n))
            e = CreditIssued(f"{a.id}:credited:{cn.id}", a.version + 1, self._at(a), cn)
            deferred = None
            if any(ln.period is not None and ln.period.end > cn.issued_on for ln in cn.lines):
                deferred, _asset, _n, _last = self._contract_position(a, self._posted(a.id))
            new = self._append(a, [e])
            self._store.post(_credit_entry(cn, deferred))
            over = min(_owed_back(new, cn.credits), cn.total.minor)
            if over > 0 and cn.reason is not CreditReason.REFUND:
                self._notify(f"invoice.overcredited:{cn.id}", a.id, "invoice.overcredited",
                             {"invoice_id": cn.credits, "credit_note_id": cn.id,
                              "amount": Money.from_minor(over, cn.currency).to_json(),
                              "policy": self.credit_policy_for(a.id).value})
            self._notify(f"credit_note.issued:{cn.id}", a.id, "credit_note.issued",
                         {"credit_note_id": cn.id, "number": cn.number, "credits": cn.credits,
                          "total": cn.total.to_json(), "reason": cn.reason.value})
            tally.credit_notes.append(cn)
            return new

        return self._unit(a, work)

    def _collect(self, a: Agreement, as_of: date, tally: _Tally) -> Agreement:
        if not _auto(a):
            return a
        for inv in a.invoices:
            st = collection_state(a, inv.id, self._policy)
            if st.state is CollectionState.DUE or (
                    st.state is CollectionState.RETRY_SCHEDULED
                    and st.retry_on is not None and st.retry_on <= as_of):
                a = self._charge(a, inv, st.next_attempt, st.balance, tally)
        return a

    def _request(self, a: Agreement, invoice: Invoice, attempt: int, amount: Money
                 ) -> ChargeRequest:
        pm = a.payment_method
        assert pm is not None
        return ChargeRequest(agreement_id=a.id, invoice_id=invoice.id, attempt=attempt,
                             amount=amount, customer_id=CustomerId(pm.customer_id),
                             payment_method_id=PaymentMethodId(pm.payment_method_id),
                             description=f"Invoice {invoice.number}", payment_method_kind=pm.kind)

    def _charge(self, a: Agreement, invoice: Invoice, attempt: int, amount: Money,
                tally: _Tally) -> Agreement:
        key = AttemptKey(self._request(a, invoice, attempt, amount).idempotency_key)
        self._fault("before_attempt")

        def work(a: Agreement) -> Agreement:
            if any(x.idempotency_key == key for x in a.attempts):
                return a
            self._store.record_attempt(key, a.id, invoice.id, attempt, amount)
            e = ChargeAttempted(f"{a.id}:attempt:{invoice.id}:{attempt}", a.version + 1,
                                self._at(a), invoice.id, attempt, key, amount)
            return self._append(a, [e])

        a = self._unit(a, work)
        self._fault("after_attempt")
        x = next(x for x in a.attempts if x.idempotency_key == key)
        return self._call_and_settle(a, x, tally, reconciling=False)

    def _call_and_settle(self, a: Agreement, x: ChargeAttempted, tally: _Tally, *,
                         reconciling: bool) -> Agreement:
        invoice = a.invoice(x.invoice_id)
        request = self._request(a, invoice, x.attempt, x.amount)
        self._fault("before_charge")
        result: ChargeResult | None = None
        error: GatewayError | None = None
        for _ in range(1 + self._policy.same_key_retries):
            try:
                result = self._gateway.charge(request)
                error = None
            except GatewayUnavailableError as exc:
                result, error = None, exc
                continue
            except GatewayError as exc:
                result, error = None, exc
                break
            if result.status is not ChargeStatus.FAILED_RETRYABLE:
                break
        self._fault("after_charge")
        outcome_list = tally.reconciled if reconciling else tally.charges
        if result is None or result.status is ChargeStatus.FAILED_RETRYABLE:
            # The charge may or may not have happened: leave the attempt open so
            # reconciliation asks again with the same key.
            outcome_list.append(ChargeOutcome(a.id, invoice.id, x.attempt, x.amount,
                                              ChargeStatus.FAILED_RETRYABLE))
            if error is not None:
                tally.problem(a.id, error)
                if not isinstance(error, GatewayUnavailableError):
                    with contextlib.suppress(DuplicateIdError):  # told the host already
                        self._notify(f"charge.error:{x.idempotency_key}", a.id,
                                     "charge.error",
                                     {"invoice_id": invoice.id, "attempt": x.attempt,
                                      "error": type(error).__name__, "message": str(error)})
            return a
        return self._settle(a, x, result, tally, outcome_list)

    def _settle(self, a: Agreement, x: ChargeAttempted, result: ChargeResult, tally: _Tally,
                outcomes: list[ChargeOutcome] | None = None) -> Agreement:
        """Unit of work 3: complete the journal entry and record the outcome."""
        self._fault("before_outcome")
        key = AttemptKey(x.idempotency_key)

        def work(a: Agreement) -> Agreement:
            rec = self._store.get_attempt(key)
            if rec is not None and not rec.finished and \
                    result.status is not ChargeStatus.FAILED_RETRYABLE:
                self._store.complete_attempt(key, encode(result))
            return self._record_outcome(a, x, result)

        a = self._unit(a, work)
        (tally.reconciled if outcomes is None else outcomes).append(ChargeOutcome(
            a.id, x.invoice_id, x.attempt, x.amount, result.status, result.decline_code,
            result.gateway_ref))
        self._fault("after_outcome")
        return a

    def _record_outcome(self, a: Agreement, x: ChargeAttempted, result: ChargeResult
                        ) -> Agreement:
        ok, bad = _outcomes(a, x.invoice_id, x.attempt)
        status = result.status
        at = self._at(a)
        base = {"invoice_id": x.invoice_id, "attempt": x.attempt, "amount": x.amount.to_json(),
                "gateway_ref": result.gateway_ref}
        if status is ChargeStatus.SUCCEEDED:
            if ok is not None:
                return a
            paid = PaymentSucceeded(f"{a.id}:paid:{x.invoice_id}:{x.attempt}", a.version + 1, at,
                                    x.invoice_id, result.amount, result.gateway_ref or x.idempotency_key,
                                    x.attempt, result.fee)
            new = self._append(a, [paid])
            self._store.post(_payment_entry(a.id, paid, f"{x.invoice_id}:payment:{x.attempt}",
                                            Account.CLEARING))
            self._notify(f"payment.succeeded:{paid.event_id}", a.id, "payment.succeeded",
                         {**base, "amount": result.amount.to_json()})
            return new
        if status in (ChargeStatus.DECLINED, ChargeStatus.REQUIRES_ACTION):
            if ok is not None or bad is not None:
                return a
            action = status is ChargeStatus.REQUIRES_ACTION or \
                result.decline_code in ACTION_REQUIRED_CODES
            code = result.decline_code or ("requires_action" if action else "declined")
            if action and code not in ACTION_REQUIRED_CODES:
                code = "requires_action"
            final = action or result.decline_hard or self._policy.is_final(code)
            failed = PaymentFailed(f"{a.id}:failed:{x.invoice_id}:{x.attempt}", a.version + 1, at,
                                   x.invoice_id, x.attempt, code, result.message or "",
                                   retryable=not final)
            new = self._append(a, [failed])
            kind = "payment.action_required" if action else "payment.failed"
            st = collection_state(new, x.invoice_id, self._policy)
            self._notify(f"{kind}:{failed.event_id}", a.id, kind,
                         {**base, "decline_code": code, "action_ref": result.action_ref,
                          "collection": st.state.value,
                          "retry_on": None if st.retry_on is None else st.retry_on.isoformat()})
            return new
        return a

    # ------------------------------------------------------------ internals: credits

    def _in_flight(self, a: Agreement) -> Callable[[InvoiceId], bool]:
        def check(invoice_id: InvoiceId) -> bool:
            # An attempt without an outcome may still take the full amount:
            # credit waits until it is settled.
            return any(x.invoice_id == invoice_id and _outcomes(a, invoice_id, x.attempt)
                       == (None, None) for x in a.attempts)
        return check

    def _credit_refunds_due(self, a: Agreement) -> list[tuple[CreditNote, Money]]:
        """Under ``REFUND``: credit notes whose over-credit is still to be paid back."""
        if self.credit_policy_for(a.id) is not CreditPolicy.REFUND:
            return []
        done = {r.idempotency_key for r in a.refunds}
        out: list[tuple[CreditNote, Money]] = []
        owed: dict[InvoiceId, int] = {}
        for cn in a.credit_notes:
            key = self._refund_key(a, cn)
            if cn.reason is CreditReason.REFUND or key in done or self._refund_given_up(key):
                continue
            left = owed.setdefault(cn.credits, _owed_back(a, cn.credits))
            rec = self._refund_intent(key)
            if rec is not None:
                # Asked before (the gateway failed or a crash): the same amount again.
                out.append((cn, rec.amount))
                owed[cn.credits] = left - rec.amount.minor
                continue
            # One refund per credit note, from one gateway payment of the
            # credited invoice: at most what is left of the largest one.
            # Refunds of this invoice still on their way take their money first.
            held = self._credit_refund_intent_on(a, cn.credits)
            amount = min(left, cn.total.minor,
                         _refundable(a, cn.credits) - _pending_refunds(a, cn.credits)
                         - (0 if held is None else held.amount.minor))
            if amount > 0:
                out.append((cn, Money.from_minor(amount, cn.currency)))
                owed[cn.credits] = left - amount
        return out

    def _settle_credits(self, a: Agreement) -> Agreement:
        """Pay back over-credits per the credit policy and apply customer credit.

        ``REFUND``: each credit note's over-credit through the gateway (key
        from the credit note).  Then, in one unit of work, ``APPLY``
        moves what invoices owe the client to customer credit and (every
        policy) credit is applied to open invoices, oldest first.
        """
        for cn, amount in self._credit_refunds_due(a):
            a = self._refund_through_gateway(a, cn, amount)
            short = min(_owed_back(a, cn.credits), cn.total.minor)
            if short > 0 and any(r.idempotency_key == self._refund_key(a, cn)
                                 for r in a.refunds):
                # More is owed than this invoice's payment can return: the
                # rest stays on the invoice (as under HOLD) for the host.
                with contextlib.suppress(DuplicateIdError):
                    self._notify(f"refund.partial:{cn.id}", a.id, "refund.partial",
                                 {"invoice_id": cn.credits, "credit_note_id": cn.id,
                                  "refunded": amount.to_json(),
                                  "left": Money.from_minor(short, cn.currency).to_json()})
        policy = self.credit_policy_for(a.id)
        added, applied = _credit_work(a, policy, self._in_flight(a), self._credit_reserved(a))
        if not added and not applied:
            return a
        self._fault("before_credit")

        def work(a: Agreement) -> Agreement:
            added, applied = _credit_work(a, policy, self._in_flight(a), self._credit_reserved(a))
            new = a
            at = self._at(a)
            for inv_id, minor in added:
                n = sum(1 for c in new.credits_added if c.invoice_id == inv_id)
                source = [c.id for c in new.credit_notes if c.credits == inv_id]
                e1 = CustomerCreditAdded(f"{a.id}:credit-added:{inv_id}:{n}", new.version + 1,
                                         at, inv_id, Money.from_minor(minor, a.currency),
                                         source[-1] if source else "")
                new = self._append(new, [e1])
                self._store.post(_credit_added_entry(a.id, e1))
                self._notify(f"credit.added:{e1.event_id}", a.id, "credit.added",
                             {"invoice_id": inv_id, "amount": e1.amount.to_json(),
                              "credit_note_id": e1.credit_note_id,
                              "credit_balance": new.credit_balance.to_json()})
            for inv_id, minor in applied:
                n = sum(1 for c in new.credits_applied if c.invoice_id == inv_id)
                e2 = CreditApplied(f"{a.id}:credit-applied:{inv_id}:{n}", new.version + 1, at,
                                   inv_id, Money.from_minor(minor, a.currency))
                new = self._append(new, [e2])
                self._store.post(_credit_applied_entry(a.id, e2))
                self._notify(f"credit.applied:{e2.event_id}", a.id, "credit.applied",
                             {"invoice_id": inv_id, "amount": e2.amount.to_json(),
                              "balance": invoice_balance(new, inv_id).to_json(),
                              "credit_balance": new.credit_balance.to_json()})
            return new

        a = self._unit(a, work)
        self._fault("after_credit")
        return a

    # ------------------------------------------------------------ internals: refunds

    def _refund_key(self, a: Agreement, cn: CreditNote) -> str:
        return refund_idempotency_key(a.id, cn.credits, cn.id)

    def _refund_payment(self, a: Agreement, cn: CreditNote, amount: Money | None = None
                        ) -> PaymentSucceeded | None:
        want = cn.total if amount is None else amount
        refunded = sum(r.amount.minor for r in a.refunds if r.invoice_id == cn.credits)
        held = self._credit_refund_intent_on(a, cn.credits)
        for p in a.payments:
            if p.invoice_id != cn.credits or p.attempt is None:
                continue
            # Earlier refunds are taken from earlier payments first.
            take = min(refunded, p.amount.minor)
            refunded -= take
            # What the unfinished customer-credit refund returns through this
            # payment has left (or may have left) at the gateway already.
            if held is not None and held.attempt == p.attempt:
                take += held.amount.minor
            if p.amount.minor - take >= want.minor:
                return p
        return None

    def _refund_given_up(self, key: str) -> bool:
        """True when the refund under ``key`` failed ``max_attempts`` times (marked in
        the attempt journal: its intent finished with status ``failed``)."""
        rec = self._store.get_attempt(AttemptKey(key))
        data = None if rec is None else rec.outcome_data
        return data is not None and data.get("status") == RefundStatus.FAILED.value

    def _refund_intent(self, key: str) -> AttemptRecord | None:
        """The recorded, unfinished intent of the refund under ``key``."""
        rec = self._store.get_attempt(AttemptKey(key))
        return rec if rec is not None and not rec.finished else None

    def _record_refund_intent(self, a: Agreement, key: str, invoice_id: str,
                              payment: PaymentSucceeded, amount: Money) -> AttemptRecord:
        """Unit of work: the refund's amount and payment (by its charge attempt) in the
        attempt journal, before the gateway is called; a recorded intent wins."""
        rec = self._store.get_attempt(AttemptKey(key))
        if rec is not None:
            return rec
        assert payment.attempt is not None
        try:
            return self._store.record_attempt(AttemptKey(key), a.id, InvoiceId(invoice_id),
                                              payment.attempt, amount)
        except DuplicateIdError:  # another worker recorded it first
            rec = self._store.get_attempt(AttemptKey(key))
            assert rec is not None
            return rec

    def _refund_failed(self, a: Agreement, key: str, invoice_id: str, amount: Money, *,
                       message: str | None, subject: dict[str, Any]) -> Agreement:
        """Record one outright gateway refusal; after ``max_attempts`` of them the
        refund is given up (intent finished as ``failed``) and the host told."""
        n = 1
        while self._store.get_attempt(AttemptKey(f"{key}:failed:{n}")) is not None:
            n += 1
        limit = self._policy.max_attempts
        payload = {**subject, "invoice_id": invoice_id, "amount": amount.to_json(),
                   "message": message, "failures": n, "limit": limit}
        fkey = AttemptKey(f"{key}:failed:{n}")
        with self._store.transaction():
            self._store.record_attempt(fkey, a.id, InvoiceId(invoice_id), n, amount)
            self._store.complete_attempt(fkey, {"status": RefundStatus.FAILED.value,
                                                "message": message})
            if n >= limit:
                self._store.complete_attempt(AttemptKey(key), {
                    "status": RefundStatus.FAILED.value, "failures": n, "message": message})
                self._notify(f"refund.abandoned:{key}", a.id, "refund.abandoned", payload)
            else:
                self._notify(f"refund.failed:{key}:{n}", a.id, "refund.failed", payload)
        return a

    def _refund_through_gateway(self, a: Agreement, cn: CreditNote,
                                amount: Money | None = None) -> Agreement:
        key = self._refund_key(a, cn)
        if any(r.idempotency_key == key for r in a.refunds) or self._refund_given_up(key):
            return a
        rec = self._refund_intent(key)
        payment: PaymentSucceeded | None
        if rec is not None:
            # Retry exactly what was asked the first time (same key, same amount).
            amount = rec.amount
            payment = next((p for p in a.payments
                            if p.invoice_id == cn.credits and p.attempt == rec.attempt), None)
        else:
            amount = cn.total if amount is None else amount
            payment = self._refund_payment(a, cn, amount)
        if payment is None:
            self._notify(f"refund.failed:{cn.id}", a.id, "refund.failed",
                         {"credit_note_id": cn.id, "invoice_id": cn.credits,
                          "message": "no gateway payment left to refund"})
            return a
        rec = self._record_refund_intent(a, key, cn.credits, payment, amount)
        amount = rec.amount
        request = RefundRequest(a.id, cn.credits, cn.id, payment.gateway_reference,
                                amount=amount, reason=cn.memo or None)
        self._fault("before_refund")
        result = self._call_refund(request)
        self._fault("after_refund")
        if result.status is RefundStatus.FAILED:
            return self._refund_failed(a, key, cn.credits, amount,
                                       message=result.message,
                                       subject={"credit_note_id": cn.id})

        def work(a: Agreement) -> Agreement:
            if any(r.idempotency_key == request.idempotency_key for r in a.refunds):
                return a
            e = Refunded(f"{a.id}:refunded:{cn.credits}:{cn.id}", a.version + 1, self._at(a),
                         cn.credits, result.amount, result.refund_ref or request.idempotency_key,
                         request.idempotency_key, cn.memo)
            new = self._append(a, [e])
            self._store.post(_refund_entry(a.id, e))
            self._finish_refund_intent(key, result)
            self._notify(f"payment.refunded:{e.event_id}", a.id, "payment.refunded",
                         {"invoice_id": cn.credits, "credit_note_id": cn.id,
                          "amount": e.amount.to_json(), "status": result.status.value})
            return new

        return self._unit(a, work)

    def _call_refund(self, request: RefundRequest) -> RefundResult:
        """The gateway's answer; a request it refuses as invalid (a domain error:
        more than is left on the payment, another currency) counts as a ``FAILED``
        refund.  Outages, reused keys and other gateway errors (a revoked API
        key) propagate: they say nothing about this refund."""
        try:
            return self._gateway.refund(request)
        except (ValidationError, CurrencyMismatchError) as exc:
            assert request.amount is not None
            return RefundResult(RefundStatus.FAILED, request.amount, request.idempotency_key,
                                message=f"{type(exc).__name__}: {exc}")

    def _finish_refund_intent(self, key: str, result: RefundResult) -> None:
        rec = self._store.get_attempt(AttemptKey(key))
        if rec is not None and not rec.finished:
            self._store.complete_attempt(AttemptKey(key), encode(result))

    # ------------------------------------------------------------ customer credit refunds

    def refund_credit(self, agreement_id: AgreementId, amount: Money | None = None, *,
                      reason: str = "") -> Agreement:
        """Pay outstanding customer credit back through the gateway.

        For credit no invoice will take (the agreement was cancelled or
        completed, or the client asks for the money).  ``amount`` defaults
        to all of :attr:`~milestonebill.agreement.Agreement.credit_balance`;
        more than that raises :class:`~milestonebill.errors.ValidationError`
        (field ``amount``), as does more than the agreement's settled
        invoices' gateway payments can still return -- checked before
        anything is written or the gateway called.

        The money goes back against settled invoices' gateway payments,
        oldest first, one refund per payment used; the k-th credit refund of
        the agreement is keyed ``refund_idempotency_key(agreement, invoice,
        "credit-refund-<k>")`` and its amount is recorded in the attempt
        journal before the gateway is called.  Each refund appends
        ``Refunded`` and ``CreditApplied`` (the credit it uses up) on that
        invoice in one unit of work -- ledger net *Dr customer credit / Cr
        clearing* -- and tells the host (``credit.refunded``).

        Idempotent: a call that finds a credit refund interrupted (a crash,
        the gateway unreachable) finishes that one with its recorded amount
        and does nothing else, so retrying a failed call never refunds
        twice; :meth:`run` finishes it too.  A gateway refusal counts
        towards the retry policy's ``max_attempts``, then the refund is
        given up and the host told (``refund.abandoned``).
        """
        a = self.load(agreement_id)
        a, finished = self._finish_credit_refund(a)
        if finished:
            return self._reschedule(a)
        outstanding = a.credit_balance
        want = outstanding if amount is None else amount
        if not isinstance(want, Money) or want.currency != a.currency or want.minor < 0 \
                or (amount is not None and want.minor == 0):
            raise ValidationError("amount", f"a positive amount in {a.currency.code}", amount)
        if want.minor > outstanding.minor:
            raise ValidationError("amount", f"at most the customer credit outstanding "
                                  f"({outstanding})", want)
        plan = self._credit_refund_plan(a, want.minor)
        if sum(m for _i, _p, m in plan) < want.minor:
            room = Money.from_minor(sum(m for _i, _p, m in plan), a.currency)
            raise ValidationError("amount", f"at most what settled invoices' gateway payments "
                                  f"can still return ({room})", want)
        try:
            for invoice_id, payment, minor in plan:
                before = _credit_refunds(a)
                a = self._credit_refund(a, invoice_id, payment,
                                        Money.from_minor(minor, a.currency), reason)
                if _credit_refunds(a) == before:
                    break  # refused: the host has been told; the next run tries again
        finally:
            # If the gateway failed, the next run finishes the recorded refund.
            self._reschedule(self.load(a.id))
        return a

    def _credit_refund_plan(self, a: Agreement, want: int
                            ) -> list[tuple[InvoiceId, PaymentSucceeded, int]]:
        plan: list[tuple[InvoiceId, PaymentSucceeded, int]] = []
        left = want
        for inv in a.invoices:
            if left <= 0:
                break
            # Settled invoices only: a refund on one with a balance would
            # stop its collection (ON_HOLD) or leave it owing the client.
            if invoice_balance(a, inv.id).minor != 0:
                continue
            cash = sum(p.amount.minor for p in a.payments if p.invoice_id == inv.id) \
                - sum(r.amount.minor for r in a.refunds if r.invoice_id == inv.id) \
                - _pending_refunds(a, inv.id)
            for payment, room in _payment_headroom(a, inv.id):
                take = min(left, room, cash)
                if take <= 0:
                    break
                plan.append((inv.id, payment, take))
                left -= take
                cash -= take
        return plan

    def _credit_reserved(self, a: Agreement) -> int:
        """Credit held for the interrupted customer-credit refund, if any (minor units)."""
        if a.credit_balance.minor <= 0:
            return 0
        k = _credit_refunds(a) + 1
        for inv in a.invoices:
            rec = self._refund_intent(self._credit_refund_key(a, inv.id, k))
            if rec is not None:
                return rec.amount.minor
        return 0

    def _credit_refund_intent_on(self, a: Agreement, invoice_id: str) -> AttemptRecord | None:
        """The journalled, unfinished customer-credit refund through ``invoice_id``'s
        payments, if any: until it is finished, the cash it returns is not there to
        refund again (host or policy refunds), nor is its credit to apply."""
        return self._refund_intent(self._credit_refund_key(a, invoice_id,
                                                           _credit_refunds(a) + 1))

    def _check_no_credit_refund_on(self, a: Agreement, cn: CreditNote) -> None:
        """Refuse a host refund of an invoice whose payment an unfinished customer-credit
        refund is using: its cash may have left at the gateway already, and finishing it
        (``Refunded`` then ``CreditApplied`` on that invoice) needs the invoice settled,
        not owing the client a refund still on its way."""
        held = self._credit_refund_intent_on(a, cn.credits)
        if held is not None:
            raise ValidationError(
                "amount", f"nothing refunded on {cn.credits} until its customer-credit "
                f"refund of {held.amount} is finished (the next run finishes it)", cn.total)

    def _credit_refund_key(self, a: Agreement, invoice_id: str, k: int) -> str:
        return refund_idempotency_key(a.id, invoice_id, _credit_refund_id(k))

    def _finish_credit_refund(self, a: Agreement) -> tuple[Agreement, bool]:
        """Finish the interrupted customer-credit refund, if any (True when found)."""
        k = _credit_refunds(a) + 1
        for inv in a.invoices:
            rec = self._refund_intent(self._credit_refund_key(a, inv.id, k))
            if rec is None:
                continue
            payment = next((p for p in a.payments
                            if p.invoice_id == inv.id and p.attempt == rec.attempt), None)
            if payment is None:
                return a, True
            return self._credit_refund(a, inv.id, payment, rec.amount, ""), True
        return a, False

    def _credit_refund(self, a: Agreement, invoice_id: InvoiceId, payment: PaymentSucceeded,
                       amount: Money, reason: str) -> Agreement:
        k = _credit_refunds(a) + 1
        key = self._credit_refund_key(a, invoice_id, k)
        if self._refund_given_up(key):
            return a
        rec = self._record_refund_intent(a, key, invoice_id, payment, amount)
        amount = rec.amount
        request = RefundRequest(a.id, invoice_id, _credit_refund_id(k),
                                payment.gateway_reference, amount=amount,
                                reason=reason or "customer credit refunded")
        self._fault("before_refund")
        result = self._call_refund(request)
        self._fault("after_refund")
        if result.status is RefundStatus.FAILED:
            return self._refund_failed(a, key, invoice_id, amount,
                                       message=result.message, subject={"credit_refund": k})

        def work(a: Agreement) -> Agreement:
            if any(r.idempotency_key == key for r in a.refunds):
                return a
            at = self._at(a)
            r = Refunded(f"{a.id}:{_CREDIT_REFUND_TAG}:{invoice_id}:{k}", a.version + 1, at,
                         invoice_id, result.amount, result.refund_ref or key, key,
                         reason or "customer credit refunded")
            c = CreditApplied(f"{a.id}:{_CREDIT_RETURN_TAG}:{invoice_id}:{k}", a.version + 2,
                              at, invoice_id, result.amount)
            new = self._append(a, [r, c])
            self._store.post(_refund_entry(a.id, r))
            self._store.post(_credit_applied_entry(a.id, c))
            self._finish_refund_intent(key, result)
            self._notify(f"credit.refunded:{r.event_id}", a.id, "credit.refunded",
                         {"invoice_id": invoice_id, "amount": r.amount.to_json(),
                          "status": result.status.value,
                          "credit_balance": new.credit_balance.to_json()})
            return new

        return self._unit(a, work)

    def _refund_intents_on(self, a: Agreement, invoice_id: InvoiceId) -> list[AttemptRecord]:
        """Our refunds on ``invoice_id`` recorded in the attempt journal and not finished:
        credit-note refunds not yet ``Refunded`` and the next customer-credit refund."""
        out: list[AttemptRecord] = []
        done = {r.idempotency_key for r in a.refunds}
        keys = [self._refund_key(a, cn) for cn in a.credit_notes if cn.credits == invoice_id]
        keys.append(self._credit_refund_key(a, invoice_id, _credit_refunds(a) + 1))
        for key in keys:
            rec = None if key in done else self._refund_intent(key)
            if rec is not None:
                out.append(rec)
        return out

    def _finish_refunds_on(self, a: Agreement, invoice_id: InvoiceId
                           ) -> tuple[Agreement, frozenset[str]]:
        """Finish our unfinished refunds on ``invoice_id`` under their own keys.

        Returns the agreement and the keys of those the gateway could not
        answer now: they stay in the journal for ``run``/``reconcile`` and
        may be what the webhook reports.  (One the gateway refused did not
        happen, so it is not among them.)
        """
        unknown: set[str] = set()
        for rec in self._refund_intents_on(a, invoice_id):
            cn = next((c for c in a.credit_notes if self._refund_key(a, c) == rec.key), None)
            try:
                a = self._refund_through_gateway(a, cn) if cn is not None \
                    else self._finish_credit_refund(a)[0]
            except GatewayError:
                unknown.add(rec.key)
                a = self.load(a.id)
        return a, frozenset(unknown)

    def _webhook_refund(self, a: Agreement, invoice_id: InvoiceId, event: GatewayEvent
                        ) -> tuple[Event, ...]:
        """A ``PAYMENT_REFUNDED`` webhook: ``event.amount`` is the total refunded so far.

        The webhook may report one of our own refunds whose intent is in the
        attempt journal but whose result is not yet recorded (a crash or a
        timeout after the gateway call, or a worker still waiting for the
        answer).  Those intents are finished first, with their own keys (the
        gateway replays its answer, so no money moves twice); any the gateway
        cannot answer now are counted as ours and left for ``run`` or
        ``reconcile``.  Only the rest of the total is recorded as a refund
        made outside milestonebill; a duplicate delivery finds nothing left.
        """
        if event.amount is None:
            raise ValidationError("event.amount", "the total refunded", None)
        total = event.amount
        before = a.version
        a, unknown = self._finish_refunds_on(a, invoice_id)

        def work(a: Agreement) -> Agreement:
            known = sum(r.amount.minor for r in a.refunds if r.invoice_id == invoice_id)
            extra = total.minor - known - sum(rec.amount.minor
                                              for rec in self._refund_intents_on(a, invoice_id)
                                              if rec.key in unknown)
            if extra <= 0:
                return a
            e = Refunded(f"{a.id}:refunded:{invoice_id}:gateway:{event.event_id}", a.version + 1,
                         self._at(a), invoice_id, Money.from_minor(extra, total.currency),
                         event.object_ref, f"gateway:{event.event_id}", event.reason or "")
            new = self._append(a, [e])
            self._store.post(_refund_entry(a.id, e))
            self._notify(f"payment.refunded:{e.event_id}", a.id, "payment.refunded",
                         {"invoice_id": invoice_id, "amount": e.amount.to_json(),
                          "external": True})
            return new

        after = self._unit(a, work)
        self._reschedule(after)
        return after.events[before:]

    # ------------------------------------------------------------ internals: next due

    def _next_due(self, a: Agreement, as_of: date | None) -> date | None:
        """The next day with date-driven work; after ``as_of`` when one is given."""
        floor = None if as_of is None else as_of + timedelta(days=1)
        today = self._clock.today() if as_of is None else as_of
        candidates: list[date] = []
        if a.state is not AgreementState.PAUSED:
            billed = billed_by_key(a)
            latest = max([today, *(i.issued_on for i in a.invoices)])
            plan = billing_plan(a, through=latest + self._horizon)
            for item in plan:
                net = billed[item.key][0] if item.key in billed else 0
                if item.on is not None and net != item.amount.minor:
                    candidates.append(item.on)
            planned = {i.key for i in plan}
            if any(net and key not in planned for key, (net, _f, _n) in billed.items()):
                candidates.append(today)  # a removed item still to be credited
        for r in a.pending_amendments:
            if r.auto_approve_at is not None:
                candidates.append(r.auto_approve_at.date())
        if _auto(a):
            for inv in a.invoices:
                st = collection_state(a, inv.id, self._policy)
                if st.state is CollectionState.DUE:
                    candidates.append(today)
                elif st.state is CollectionState.RETRY_SCHEDULED and st.retry_on is not None:
                    candidates.append(st.retry_on)
                elif st.state is CollectionState.IN_FLIGHT:
                    last = [x for x in a.attempts if x.invoice_id == inv.id][-1]
                    rec = self._store.get_attempt(AttemptKey(last.idempotency_key))
                    if rec is None or not rec.finished:
                        candidates.append(today)
        for cn in a.credit_notes:
            key = self._refund_key(a, cn)
            if cn.reason is CreditReason.REFUND and not any(
                    r.idempotency_key == key for r in a.refunds) \
                    and not self._refund_given_up(key) \
                    and (self._refund_intent(key) is not None
                         or self._refund_payment(a, cn) is not None):
                candidates.append(today)
        if self._credit_reserved(a):
            candidates.append(today)
        added, applied = _credit_work(a, self.credit_policy_for(a.id), self._in_flight(a),
                                      self._credit_reserved(a))
        if added or applied or self._credit_refunds_due(a):
            candidates.append(today)
        if not candidates:
            return None
        nxt = min(candidates)
        return nxt if floor is None else max(nxt, floor)

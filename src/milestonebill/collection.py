"""Collecting what invoices are owed: retry policy, collection state, dunning, credit.

Pure decisions over an agreement, as data: when a failed payment is tried
again (:class:`RetryPolicy`), where collecting one invoice stands
(:func:`collection_state`), the agreement's dunning state
(:func:`dunning_status`), which invoices to charge today (:func:`due_charges`)
and what customer credit does (:class:`CreditPolicy`, :func:`credit_work`).
The :class:`~milestonebill.engine.Biller` acts on them through its ports.

>>> from datetime import date
>>> p = RetryPolicy(max_attempts=3, spacing_days=(2, 5))
>>> p.retry_on(date(2024, 2, 27), failures=1), p.retry_on(date(2024, 2, 27), failures=2)
(datetime.date(2024, 2, 29), datetime.date(2024, 3, 3))
>>> p.retry_on(date(2024, 2, 27), failures=3) is None, p.is_final("stolen_card")
(True, True)
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Final

import attrs

from milestonebill._reference import reference
from milestonebill._validate import check_int
from milestonebill.agreement import Agreement, Collection, PaymentFailed, PaymentSucceeded
from milestonebill.documents import Invoice
from milestonebill.errors import ValidationError
from milestonebill.ids import AgreementId, InvoiceId
from milestonebill.invoicing import invoice_balance
from milestonebill.money import Money
from milestonebill.refunds import owed_back

__all__ = [
    "ACTION_REQUIRED_CODES",
    "DEFAULT_RETRY_POLICY",
    "HARD_DECLINE_CODES",
    "CollectionState",
    "CreditPolicy",
    "DunningStatus",
    "InvoiceCollection",
    "PlannedCharge",
    "RetryPolicy",
    "attempt_outcome",
    "auto_collects",
    "collection_state",
    "credit_work",
    "due_charges",
    "dunning_status",
    "has_open_attempt",
    "planned_charges",
]

#: Decline codes that mean the customer must act (authenticate): automatic
#: retries stop and the host is told.
ACTION_REQUIRED_CODES: Final[frozenset[str]] = frozenset(
    {"authentication_required", "requires_action"})

#: Decline codes after which retrying the same card cannot succeed (the card
#: is lost, stolen, closed, invalid or the issuer said never to retry).  Any
#: other code is soft: a later attempt may succeed.
HARD_DECLINE_CODES: Final[frozenset[str]] = frozenset(
    {
        "account_closed",
        "bank_account_restricted",
        "card_not_supported",
        "currency_not_supported",
        "debit_not_authorized",
        "do_not_try_again",
        "expired_card",
        "fraudulent",
        "incorrect_cvc",
        "incorrect_number",
        "invalid_account",
        "invalid_account_number",
        "invalid_cvc",
        "invalid_expiry_month",
        "invalid_expiry_year",
        "invalid_number",
        "lost_card",
        "merchant_blacklist",
        "new_account_information_available",
        "no_account",
        "pickup_card",
        "restricted_card",
        "revocation_of_all_authorizations",
        "revocation_of_authorization",
        "security_violation",
        "stolen_card",
        "stop_payment_order",
    }
)


def _spacing(value: Iterable[int]) -> tuple[int, ...]:
    days = tuple(value)
    if not days or any(type(d) is not int or d < 0 for d in days):
        raise ValidationError("spacing_days", "one or more whole numbers of days, 0 or more",
                              days)
    return days


@attrs.frozen
class RetryPolicy:
    """When to try a failed payment again, as data.

    * ``max_attempts`` -- after this many failed attempts on an invoice the
      Biller stops (dunning ``EXHAUSTED``);
    * ``spacing_days`` -- the wait after the 1st, 2nd, ... failure; the last
      value repeats;
    * ``final_decline_codes`` -- declines after which retrying the same
      payment method cannot help (default: the hard declines);
    * ``same_key_retries`` -- how often a *retryable* gateway failure (timeout,
      outage) is retried at once with the same key before the attempt is
      left for reconciliation.
    """

    max_attempts: int = attrs.field(
        default=4, validator=lambda _i, _a, v: check_int("max_attempts", v, at_least=1))
    spacing_days: tuple[int, ...] = attrs.field(default=(3, 5, 7), converter=_spacing)
    final_decline_codes: frozenset[str] = attrs.field(default=HARD_DECLINE_CODES,
                                                      converter=frozenset)
    same_key_retries: int = attrs.field(
        default=2, validator=lambda _i, _a, v: check_int("same_key_retries", v, at_least=0))

    def is_final(self, decline_code: str | None) -> bool:
        """True when ``decline_code`` stops automatic retries."""
        return decline_code is not None and decline_code in self.final_decline_codes

    def retry_on(self, failed_on: date, *, failures: int) -> date | None:
        """The day of the next attempt after ``failures`` failures (``None``: give up)."""
        if failures >= self.max_attempts:
            return None
        wait = self.spacing_days[min(max(failures, 1), len(self.spacing_days)) - 1]
        return failed_on + timedelta(days=wait)


#: The policy a Biller uses unless told otherwise.
DEFAULT_RETRY_POLICY: Final = RetryPolicy()


class CreditPolicy(enum.Enum):
    """What happens when a credit note leaves an invoice owing the client money.

    An amendment or cancellation credit on an invoice that was already paid
    makes its balance negative: the client has paid for what was taken
    back.  The policy (set on the Biller, and per agreement) says where
    that money goes:

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

    def chargeable(self, as_of: date) -> bool:
        """True when the Biller charges this invoice on ``as_of``: due now, or a
        scheduled retry whose day has come."""
        return self.state is CollectionState.DUE or (
            self.state is CollectionState.RETRY_SCHEDULED
            and self.retry_on is not None and self.retry_on <= as_of)


class DunningStatus(enum.Enum):
    """An agreement's dunning state, the worst over its unpaid invoices."""

    CURRENT = "current"
    RETRYING = "retrying"
    ACTION_REQUIRED = "action_required"
    EXHAUSTED = "exhausted"


def auto_collects(agreement: Agreement) -> bool:
    """True when the Biller charges the agreement's saved payment method itself."""
    return (agreement.proposal.collection is Collection.AUTO_CHARGE
            and agreement.payment_method is not None)


def attempt_outcome(agreement: Agreement, invoice_id: str, attempt: int
                    ) -> tuple[PaymentSucceeded | None, PaymentFailed | None]:
    """The recorded success or failure of one charge attempt (both ``None``: none yet)."""
    ok = next((p for p in agreement.payments
               if p.invoice_id == invoice_id and p.attempt == attempt), None)
    bad = next((f for f in agreement.failures
                if f.invoice_id == invoice_id and f.attempt == attempt), None)
    return ok, bad


def has_open_attempt(agreement: Agreement, invoice_id: str) -> bool:
    """True while a charge attempt on ``invoice_id`` has no recorded outcome: it may
    still take the full amount, so credit waits until it is settled."""
    return any(x.invoice_id == invoice_id
               and attempt_outcome(agreement, invoice_id, x.attempt) == (None, None)
               for x in agreement.attempts)


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
    policy = policy or DEFAULT_RETRY_POLICY
    invoice = agreement.invoice(invoice_id)
    balance = invoice_balance(agreement, invoice.id)
    if balance.minor <= 0 or not auto_collects(agreement):
        following = _following(agreement, invoice.id)
        settled = balance.minor <= 0
        return InvoiceCollection(invoice.id, CollectionState.SETTLED if settled
                                 else CollectionState.NOT_COLLECTED, balance, following)
    if reference():
        return _plain_state(agreement, invoice.id, balance, policy)
    last, paid, failed, failures, refunded = agreement.derived(_attempt_facts)
    n = last.get(invoice.id)
    following = (n or 0) + 1

    def state(s: CollectionState, retry_on: date | None = None) -> InvoiceCollection:
        return InvoiceCollection(invoice.id, s, balance, following, retry_on)

    if invoice.id in refunded:
        return state(CollectionState.ON_HOLD)
    if n is None or (invoice.id, n) in paid:
        return state(CollectionState.DUE)
    bad = failed.get((invoice.id, n))
    if bad is None:
        return state(CollectionState.IN_FLIGHT)
    code, failed_on = bad
    if code in ACTION_REQUIRED_CODES:
        return state(CollectionState.ACTION_REQUIRED)
    when = policy.retry_on(failed_on, failures=failures[invoice.id])
    if policy.is_final(code) or when is None:
        return state(CollectionState.EXHAUSTED)
    return state(CollectionState.RETRY_SCHEDULED, when)


def _following(agreement: Agreement, invoice_id: str) -> int:
    """The number of the next charge attempt on an invoice."""
    attempts = [x for x in agreement.attempts if x.invoice_id == invoice_id]
    return (attempts[-1].attempt if attempts else 0) + 1


#: Per agreement: the last attempt number per invoice, the (invoice, attempt) pairs
#: paid, the first failure of each (invoice, attempt) as (decline code, day), failures
#: per invoice, and the invoices refunded on -- plain values, read once.
_Facts = tuple[dict[str, int], dict[tuple[str, int | None], bool],
               dict[tuple[str, int], tuple[str, date]], dict[str, int], dict[str, bool]]


def _attempt_facts(agreement: Agreement) -> _Facts:
    """What :func:`collection_state` reads of an agreement's charge attempts, payments,
    failures and refunds, for all its invoices in one pass over each list."""
    last: dict[str, int] = {x.invoice_id: x.attempt for x in agreement.attempts}
    paid: dict[tuple[str, int | None], bool] = {(p.invoice_id, p.attempt): True
                                                for p in agreement.payments}
    failed: dict[tuple[str, int], tuple[str, date]] = {}
    failures: dict[str, int] = {}
    for f in agreement.failures:
        failed.setdefault((f.invoice_id, f.attempt), (f.decline_code, f.effective_at.date()))
        failures[f.invoice_id] = failures.get(f.invoice_id, 0) + 1
    refunded: dict[str, bool] = {r.invoice_id: True for r in agreement.refunds}
    return last, paid, failed, failures, refunded


def _plain_state(agreement: Agreement, invoice_id: InvoiceId, balance: Money,
                 policy: RetryPolicy) -> InvoiceCollection:
    """:func:`collection_state` of an invoice with a balance that is charged
    automatically, read straight off the agreement's lists (the plain definition)."""
    attempts = [x for x in agreement.attempts if x.invoice_id == invoice_id]
    following = (attempts[-1].attempt if attempts else 0) + 1

    def state(s: CollectionState, retry_on: date | None = None) -> InvoiceCollection:
        return InvoiceCollection(invoice_id, s, balance, following, retry_on)

    if any(r.invoice_id == invoice_id for r in agreement.refunds):
        return state(CollectionState.ON_HOLD)
    if not attempts:
        return state(CollectionState.DUE)
    ok, bad = attempt_outcome(agreement, invoice_id, attempts[-1].attempt)
    if ok is not None:
        return state(CollectionState.DUE)
    if bad is None:
        return state(CollectionState.IN_FLIGHT)
    if bad.decline_code in ACTION_REQUIRED_CODES:
        return state(CollectionState.ACTION_REQUIRED)
    failures = sum(1 for f in agreement.failures if f.invoice_id == invoice_id)
    when = policy.retry_on(bad.effective_at.date(), failures=failures)
    if policy.is_final(bad.decline_code) or when is None:
        return state(CollectionState.EXHAUSTED)
    return state(CollectionState.RETRY_SCHEDULED, when)


_DUNNING: Final = {
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
    states = (_DUNNING.get(collection_state(agreement, inv.id, policy).state,
                           DunningStatus.CURRENT) for inv in agreement.invoices)
    return max(states, key=_DUNNING_ORDER.index, default=DunningStatus.CURRENT)


def due_charges(agreement: Agreement, as_of: date,
                policy: RetryPolicy | None = None) -> list[InvoiceCollection]:
    """The invoices the Biller charges on ``as_of``, oldest first (none unless the
    agreement is charged automatically)."""
    if not auto_collects(agreement):
        return []
    states = (collection_state(agreement, inv.id, policy) for inv in agreement.invoices)
    return [s for s in states if s.chargeable(as_of)]


def credit_work(agreement: Agreement, policy: CreditPolicy, reserved: int = 0
                ) -> tuple[list[tuple[InvoiceId, int]], list[tuple[InvoiceId, int]]]:
    """What one credit unit of work does: ``(invoice, minor units)`` moved to
    customer credit, then applied to open invoices (oldest first).

    Under ``APPLY_TO_NEXT_INVOICES`` what over-credited invoices owe the
    client becomes customer credit; under every policy credit is applied to
    invoices with a balance and no charge attempt in flight.  ``reserved`` is
    credit an unfinished customer-credit refund will use up: it is not
    applied meanwhile.
    """
    added: list[tuple[InvoiceId, int]] = []
    if policy is CreditPolicy.APPLY_TO_NEXT_INVOICES:
        added = [(inv.id, owed) for inv in agreement.invoices
                 if (owed := owed_back(agreement, inv.id)) > 0]
    credit = agreement.credit_balance.minor + sum(m for _i, m in added) - reserved
    applied: list[tuple[InvoiceId, int]] = []
    for inv in agreement.invoices:
        if credit <= 0:
            break
        balance = invoice_balance(agreement, inv.id).minor
        if balance > 0 and not has_open_attempt(agreement, inv.id):
            take = min(balance, credit)
            applied.append((inv.id, take))
            credit -= take
    return added, applied


@attrs.frozen
class PlannedCharge:
    """A charge that would be made (see :func:`planned_charges`)."""

    agreement_id: AgreementId
    invoice_id: InvoiceId
    attempt: int
    amount: Money
    reason: str


def planned_charges(agreement: Agreement, as_of: date, drafts: Sequence[Invoice], *,
                    policy: RetryPolicy | None, credit_policy: CreditPolicy,
                    reserved: int = 0) -> list[PlannedCharge]:
    """The charges a run on ``as_of`` makes: due and retried invoices, then the new
    ``drafts``, each less the customer credit applied to it first.

    ``reserved`` is credit an unfinished customer-credit refund holds, in
    integer minor units.
    """
    if not auto_collects(agreement):
        return []
    added, applied = credit_work(agreement, credit_policy, reserved)
    covered = dict(applied)
    left = agreement.credit_balance.minor + sum(m for _i, m in added) \
        - sum(covered.values()) - reserved
    cur = agreement.currency
    out: list[PlannedCharge] = []
    for inv in agreement.invoices:
        st = collection_state(agreement, inv.id, policy)
        amount = st.balance - Money.from_minor(covered.get(inv.id, 0), cur)
        if amount.minor > 0 and st.chargeable(as_of):
            reason = "retry" if st.state is CollectionState.RETRY_SCHEDULED else "due"
            out.append(PlannedCharge(agreement.id, inv.id, st.next_attempt, amount, reason))
    for d in drafts:
        take = min(left, d.total.minor)
        left -= take
        if d.total.minor > take:
            out.append(PlannedCharge(agreement.id, d.id, 1,
                                     d.total - Money.from_minor(take, cur), "new invoice"))
    return out

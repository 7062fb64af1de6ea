"""How much may be refunded on an invoice, through which payment, and what is owed back.

Pure decisions over an agreement (and, where a refund may be half-done, what
the attempt journal says about it): the :class:`~milestonebill.engine.Biller`
asks these before it records a refund intent or calls a gateway, so the
rules can be tested without a store or a gateway.

The limits, in minor units of the agreement's currency:

* :func:`refund_cap` -- the most a refund may still return on one invoice:
  the cash paid on it less refunds (made or on their way), less what was
  moved to customer credit, and never more than it is both charged and paid
  for in cash; an item's first invoice and its adjustment invoices are
  capped together (:func:`item_group`);
* :func:`refundable` -- the same as :class:`~milestonebill.money.Money`;
* :func:`owed_back` -- what a credit note left an invoice owing the client;
* :func:`credit_refund_plan` -- which settled invoices' payments pay
  customer credit back.

>>> from milestonebill.testing.scenarios import paid_invoice
>>> a, invoice_id = paid_invoice("1000.00")
>>> refundable(a, invoice_id)
Money('1000.00', 'USD')
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final, Protocol

from milestonebill.agreement import Agreement, PaymentSucceeded
from milestonebill.documents import CreditNote, CreditReason
from milestonebill.ids import AttemptKey, InvoiceId, PlanKey, refund_idempotency_key
from milestonebill.invoicing import invoice_balance
from milestonebill.money import Money

__all__ = [
    "CREDIT_REFUND_TAG",
    "CREDIT_RETURN_TAG",
    "Intent",
    "IntentLookup",
    "credit_refund_count",
    "credit_refund_id",
    "credit_refund_intent_on",
    "credit_refund_key",
    "credit_refund_plan",
    "credit_refunds_due",
    "credit_reserved",
    "given_up",
    "item_group",
    "open_intent",
    "owed_back",
    "payment_headroom",
    "payment_to_refund",
    "pending_refunds",
    "refund_cap",
    "refund_key",
    "refundable",
    "tagged",
]

#: Event-id tags of the pair of events a customer-credit refund appends:
#: ``Refunded`` (cash back through an invoice's payment) and ``CreditApplied``
#: (the customer credit it uses up).
CREDIT_REFUND_TAG: Final = "refunded-credit"
CREDIT_RETURN_TAG: Final = "credit-refunded"


class Intent(Protocol):
    """What the attempt journal knows of one refund (or charge) under its key.

    :class:`~milestonebill.stores.base.AttemptRecord` is one; the core only
    reads these attributes.
    """

    @property
    def key(self) -> AttemptKey:
        """The idempotency key the gateway saw (``ids.refund_key`` / ``attempt_key``)."""

    @property
    def amount(self) -> Money:
        """The amount asked for, in integer minor units."""

    @property
    def attempt(self) -> int:
        """The attempt number, 1 for the first try."""

    @property
    def finished(self) -> bool:
        """Whether the gateway's answer was recorded (``False``: still on its way)."""

    @property
    def outcome_data(self) -> dict[str, Any] | None:
        """The recorded answer as JSON-ready data, ``None`` while unfinished."""


#: Reads the journal record under an idempotency key (``None``: nothing recorded).
IntentLookup = Callable[[AttemptKey], Intent | None]


def open_intent(journal: IntentLookup, key: AttemptKey) -> Intent | None:
    """The recorded, unfinished intent under ``key`` (a refund asked of the gateway
    whose result is not recorded yet), if any."""
    rec = journal(key)
    return rec if rec is not None and not rec.finished else None


def given_up(journal: IntentLookup, key: AttemptKey) -> bool:
    """True when the refund under ``key`` was abandoned after too many refusals
    (its intent finished with status ``failed``)."""
    rec = journal(key)
    data = None if rec is None else rec.outcome_data
    return data is not None and data.get("status") == "failed"


def refund_key(agreement: Agreement, cn: CreditNote) -> AttemptKey:
    """The idempotency key of the gateway refund that pays out credit note ``cn``."""
    return refund_idempotency_key(agreement.id, cn.credits, cn.id)


def credit_refund_id(k: int) -> str:
    """The refund id of the ``k``-th customer-credit refund of an agreement."""
    return f"credit-refund-{k}"


def credit_refund_key(agreement: Agreement, invoice_id: str, k: int) -> AttemptKey:
    """The key of the ``k``-th customer-credit refund, paid through ``invoice_id``'s payment."""
    return refund_idempotency_key(agreement.id, invoice_id, credit_refund_id(k))


def tagged(agreement: Agreement, event_id: str, tag: str) -> bool:
    """True when ``event_id`` is one the Biller appended under ``tag``."""
    return event_id.startswith(f"{agreement.id}:{tag}:")


def credit_refund_count(agreement: Agreement) -> int:
    """How many customer-credit refunds were recorded on the agreement."""
    return sum(1 for r in agreement.refunds if tagged(agreement, r.event_id, CREDIT_REFUND_TAG))


def pending_refunds(agreement: Agreement, invoice_id: str) -> int:
    """Refund credit notes on ``invoice_id`` whose gateway refund is not recorded yet."""
    done = {r.idempotency_key for r in agreement.refunds}
    return sum(cn.total.minor for cn in agreement.credit_notes
               if cn.credits == invoice_id and cn.reason is CreditReason.REFUND
               and refund_key(agreement, cn) not in done)


def owed_back(agreement: Agreement, invoice_id: InvoiceId) -> int:
    """What ``invoice_id`` owes the client (minor units), less refunds already on their way."""
    return max(0, -invoice_balance(agreement, invoice_id).minor
               - pending_refunds(agreement, invoice_id))


def _gateway_payments(agreement: Agreement, invoice_id: str) -> Iterable[tuple[PaymentSucceeded,
                                                                               int]]:
    """Each gateway payment on ``invoice_id`` with what earlier refunds left of it
    (refunds are taken from the earliest payments first)."""
    refunded = sum(r.amount.minor for r in agreement.refunds if r.invoice_id == invoice_id)
    for p in agreement.payments:
        if p.invoice_id != invoice_id or p.attempt is None:
            continue
        take = min(refunded, p.amount.minor)
        refunded -= take
        yield p, p.amount.minor - take


def payment_headroom(agreement: Agreement, invoice_id: str) -> list[tuple[PaymentSucceeded, int]]:
    """Gateway payments on ``invoice_id`` that can still refund something, with how
    much (minor units)."""
    return [(p, room) for p, room in _gateway_payments(agreement, invoice_id) if room > 0]


def item_group(agreement: Agreement, invoice_id: str) -> list[str]:
    """``invoice_id`` and every invoice linked to it by a common plan item.

    An item's first invoice and its adjustment invoices are one group: an
    amendment credit for the item is issued against the first invoice only
    but may take back what an adjustment invoice billed.
    """
    keys: dict[str, set[PlanKey]] = {
        inv.id: {ln.item_key for ln in inv.lines if ln.item_key is not None}
        for inv in agreement.invoices}
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
    return [inv.id for inv in agreement.invoices if inv.id in group]


def _refund_terms(a: Agreement, invoice_id: str) -> tuple[int, int, int]:
    """The three limits of :func:`refund_cap` for one invoice, unclamped."""
    inv = a.invoice(invoice_id)
    paid = sum(p.amount.minor for p in a.payments if p.invoice_id == invoice_id)
    mine = [r for r in a.refunds if r.invoice_id == invoice_id]
    refunded = sum(r.amount.minor for r in mine)
    for_credit = sum(r.amount.minor for r in mine if tagged(a, r.event_id, CREDIT_REFUND_TAG))
    moved = sum(c.amount.minor for c in a.credits_added if c.invoice_id == invoice_id)
    applied = sum(c.amount.minor for c in a.credits_applied if c.invoice_id == invoice_id
                  and not tagged(a, c.event_id, CREDIT_RETURN_TAG))
    credited = sum(c.total.minor for c in a.credit_notes if c.credits == invoice_id)
    pending = pending_refunds(a, invoice_id)
    return (paid - refunded - pending,
            paid - (refunded - for_credit) - moved - pending,
            inv.total.minor - credited - applied)


def refund_cap(agreement: Agreement, invoice_id: str) -> int:
    """The most (minor units, tax included) a refund may still return on ``invoice_id``.

    The least of: the cash paid on it less every refund (customer-credit
    refunds routed through its payments included) and refunds still on
    their way; the same less what was moved from it to customer credit
    (applied elsewhere or outstanding), not counting cash already returned
    for credit; and its total less credit notes and credit applied to it
    (what is both charged and paid for in cash).  The last two are also
    taken over the invoice's :func:`item_group`: an amendment credit on an
    item's first invoice may take back what an adjustment invoice billed and
    was paid, and that payment must not be refunded too.
    """
    cash, kept, charged = _refund_terms(agreement, invoice_id)
    group_kept, group_charged = kept, charged
    for other in item_group(agreement, invoice_id):
        if other != invoice_id:
            _cash, k, ch = _refund_terms(agreement, other)
            group_kept, group_charged = group_kept + k, group_charged + ch
    return max(0, min(cash, kept, charged, group_kept, group_charged))


def refundable(agreement: Agreement, invoice_id: InvoiceId) -> Money:
    """The most :meth:`~milestonebill.engine.Biller.refund` may still return on an
    invoice (tax included).

    What the client paid on it, less what was refunded (or is being), moved
    to customer credit, or credited without being paid for in cash.  A
    1,000.00 invoice paid in full and then credited 400.00 whose over-credit
    became customer credit has 600.00 left to refund -- not 1,000.00.
    See :func:`refund_cap` and ``docs/engine.md``.
    """
    agreement.invoice(invoice_id)
    return Money.from_minor(refund_cap(agreement, invoice_id), agreement.currency)


def credit_refund_intent_on(agreement: Agreement, invoice_id: str,
                            journal: IntentLookup) -> Intent | None:
    """The unfinished customer-credit refund through ``invoice_id``'s payments, if any.

    Until it is finished, the cash it returns is not there to refund again
    (host or policy refunds), nor is its credit to apply.
    """
    k = credit_refund_count(agreement) + 1
    return open_intent(journal, credit_refund_key(agreement, invoice_id, k))


def credit_reserved(agreement: Agreement, journal: IntentLookup) -> int:
    """Customer credit (minor units) held for the interrupted customer-credit refund, if any."""
    if agreement.credit_balance.minor <= 0:
        return 0
    for inv in agreement.invoices:
        rec = credit_refund_intent_on(agreement, inv.id, journal)
        if rec is not None:
            return rec.amount.minor
    return 0


def payment_to_refund(agreement: Agreement, invoice_id: str, want: Money,
                      journal: IntentLookup) -> PaymentSucceeded | None:
    """The first gateway payment on ``invoice_id`` with ``want`` left to refund.

    Earlier refunds are taken from earlier payments first, and what an
    unfinished customer-credit refund returns through a payment has (or may
    have) left at the gateway already.
    """
    held = credit_refund_intent_on(agreement, invoice_id, journal)
    for p, left in _gateway_payments(agreement, invoice_id):
        held_here = held.amount.minor if held is not None and held.attempt == p.attempt else 0
        if left - held_here >= want.minor:
            return p
    return None


def _largest_room(agreement: Agreement, invoice_id: str) -> int:
    return max((room for _p, room in _gateway_payments(agreement, invoice_id)), default=0)


def credit_refunds_due(agreement: Agreement, journal: IntentLookup
                       ) -> list[tuple[CreditNote, Money]]:
    """Under the ``REFUND`` credit policy: credit notes whose over-credit is still to
    be paid back through the gateway, with the amount of each refund.

    One refund per credit note, from one gateway payment of the credited
    invoice: at most what is left of the largest one, after refunds of that
    invoice still on their way.  A refund asked before (the gateway failed,
    or a crash) is asked again for exactly the recorded amount.
    """
    done = {r.idempotency_key for r in agreement.refunds}
    out: list[tuple[CreditNote, Money]] = []
    owed: dict[InvoiceId, int] = {}
    for cn in agreement.credit_notes:
        key = refund_key(agreement, cn)
        if cn.reason is CreditReason.REFUND or key in done or given_up(journal, key):
            continue
        left = owed.setdefault(cn.credits, owed_back(agreement, cn.credits))
        rec = open_intent(journal, key)
        if rec is not None:
            out.append((cn, rec.amount))
            owed[cn.credits] = left - rec.amount.minor
            continue
        held = credit_refund_intent_on(agreement, cn.credits, journal)
        amount = min(left, cn.total.minor,
                     _largest_room(agreement, cn.credits) - pending_refunds(agreement, cn.credits)
                     - (0 if held is None else held.amount.minor))
        if amount > 0:
            out.append((cn, Money.from_minor(amount, cn.currency)))
            owed[cn.credits] = left - amount
    return out


def credit_refund_plan(agreement: Agreement, want: int
                       ) -> list[tuple[InvoiceId, PaymentSucceeded, int]]:
    """Which payments pay ``want`` (minor units) of customer credit back, oldest first.

    Settled invoices only (a refund on one with a balance would stop its
    collection or leave it owing the client), one refund per payment used,
    never more than the invoice's cash left after refunds made and on their
    way.  The plan may fall short of ``want``; the caller says so.
    """
    plan: list[tuple[InvoiceId, PaymentSucceeded, int]] = []
    left = want
    for inv in agreement.invoices:
        if left <= 0:
            break
        if invoice_balance(agreement, inv.id).minor != 0:
            continue
        cash = sum(p.amount.minor for p in agreement.payments if p.invoice_id == inv.id) \
            - sum(r.amount.minor for r in agreement.refunds if r.invoice_id == inv.id) \
            - pending_refunds(agreement, inv.id)
        for payment, room in payment_headroom(agreement, inv.id):
            take = min(left, room, cash)
            if take <= 0:
                break
            plan.append((inv.id, payment, take))
            left -= take
            cash -= take
    return plan

"""Money a host collects or gives up: payments by hand, write-offs, forfeited credit.

Private to :mod:`milestonebill.engine`.  The rules are the core's
(:mod:`milestonebill.writeoffs`, :mod:`milestonebill.postings`); each verb
checks everything before it writes, then appends its event, posts its entry
and queues its notification in one unit of work.  With the caller's
``event_id`` a retried request changes nothing.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from milestonebill._validate import check_id, check_text, utc_datetime
from milestonebill.agreement import (
    Agreement,
    CreditForfeited,
    Event,
    InvoiceWrittenOff,
    PaymentSucceeded,
    WriteOffRecovered,
)
from milestonebill.engine._context import Context
from milestonebill.errors import DuplicateIdError, ValidationError
from milestonebill.ids import AgreementId, InvoiceId
from milestonebill.invoicing import invoice_balance
from milestonebill.ledger import Account
from milestonebill.money import Money
from milestonebill.postings import forfeit_entry, payment_entry, recovery_entry, write_off_entry
from milestonebill.refunds import credit_reserved
from milestonebill.writeoffs import check_forfeit, check_write_off, recovery_on

__all__ = ["CollectionCommands", "recover"]


def recover(ctx: Context, a: Agreement, payment: PaymentSucceeded) -> Agreement:
    """Inside a unit of work, before ``payment`` is appended: reverse the part of a
    written-off balance it pays (``WriteOffRecovered`` at the payment's time,
    posted and notified), so the payment settles a receivable again.

    Returns the agreement with the recovery; number the payment after it.
    """
    invoice_id, reference = payment.invoice_id, payment.gateway_reference
    minor = recovery_on(a, invoice_id, payment.amount)
    if minor <= 0:
        return a
    e = WriteOffRecovered(f"{payment.event_id}:recovery", a.version + 1, payment.effective_at,
                          invoice_id, Money.from_minor(minor, a.currency), reference)
    new = ctx.append(a, [e])
    ctx.store.post(recovery_entry(a.id, e))
    ctx.notify(f"write_off.recovered:{e.event_id}", a.id, "write_off.recovered",
               {"invoice_id": invoice_id, "amount": e.amount.to_json(), "reference": reference,
                "written_off": new.written_off(invoice_id).to_json()})
    return new


def _reason(reason: object) -> str:
    text = check_text("reason", reason)
    if not text.strip():
        raise ValidationError("reason", "a reason (non-empty text)", reason)
    return text


def _retried(a: Agreement, event_id: str, same: type[Event], invoice_id: str | None) -> bool:
    """True when ``event_id`` is already recorded for the same request."""
    found = next((e for e in a.events if e.event_id == event_id), None)
    if found is None:
        return False
    if isinstance(found, same) and getattr(found, "invoice_id", None) == invoice_id:
        return True
    raise DuplicateIdError("event", event_id)


def _write_off(ctx: Context, invoice_id: InvoiceId, amount: Money | None, reason: str,
               event_id: str | None) -> Agreement:
    reason = _reason(reason)
    if event_id is not None:
        check_id("event_id", event_id)
    a = ctx.agreement_of(invoice_id)
    inv = a.invoice(invoice_id)
    if event_id is None or not _retried(a, event_id, InvoiceWrittenOff, inv.id):
        check_write_off(a, inv.id, amount)  # refuse before the unit of work

    def work(a: Agreement) -> Agreement:
        n = sum(1 for w in a.write_offs if w.invoice_id == inv.id)
        eid = event_id or f"{a.id}:written-off:{inv.id}:{n}"
        if _retried(a, eid, InvoiceWrittenOff, inv.id):
            return a
        e = InvoiceWrittenOff(eid, a.version + 1, ctx.at(a), inv.id,
                              check_write_off(a, inv.id, amount), reason)
        new = ctx.append(a, [e])
        ctx.store.post(write_off_entry(a.id, e))
        ctx.notify(f"invoice.written_off:{eid}", a.id, "invoice.written_off",
                   {"invoice_id": inv.id, "number": inv.number, "amount": e.amount.to_json(),
                    "balance": invoice_balance(new, inv.id).to_json(), "reason": reason})
        ctx.store.set_next_due(a.id, ctx.next_due(new, None))
        return new

    return ctx.unit(a, work)


def _forfeit(ctx: Context, agreement_id: AgreementId, amount: Money | None, reason: str,
             event_id: str | None) -> Agreement:
    reason = _reason(reason)
    if event_id is not None:
        check_id("event_id", event_id)
    a = ctx.load(agreement_id)
    if event_id is None or not _retried(a, event_id, CreditForfeited, None):
        check_forfeit(a, amount, credit_reserved(a, ctx.journal))

    def work(a: Agreement) -> Agreement:
        eid = event_id or f"{a.id}:forfeited:{len(a.forfeits)}"
        if _retried(a, eid, CreditForfeited, None):
            return a
        e = CreditForfeited(eid, a.version + 1, ctx.at(a),
                            check_forfeit(a, amount, credit_reserved(a, ctx.journal)), reason)
        new = ctx.append(a, [e])
        ctx.store.post(forfeit_entry(a.id, e))
        ctx.notify(f"credit.forfeited:{eid}", a.id, "credit.forfeited",
                   {"amount": e.amount.to_json(), "reason": reason,
                    "credit_balance": new.credit_balance.to_json()})
        ctx.store.set_next_due(a.id, ctx.next_due(new, None))
        return new

    return ctx.unit(a, work)


class CollectionCommands:
    """The :class:`~milestonebill.engine.Biller`'s verbs for money collected by hand
    or given up: :meth:`record_payment`, :meth:`write_off`, :meth:`forfeit_credit`."""

    _ctx: Context

    def record_payment(self, invoice_id: InvoiceId, amount: Money, *, reference: str,
                       received_at: datetime | None = None) -> Agreement:
        """Record money received outside the gateway (a bank transfer, a cheque).

        Posts cash against receivable; a partial amount leaves a balance.  The same ``reference``
        again is a no-op.  On a written-off invoice the payment first recovers the write-off (see
        :meth:`write_off`).  ``amount`` is :class:`~milestonebill.money.Money`; one that is not
        positive or not in the invoice's currency raises
        :class:`~milestonebill.errors.ValidationError` naming ``amount`` (an unknown invoice:
        :class:`~milestonebill.errors.NotFoundError`); nothing is written then.
        """
        ctx = self._ctx
        check_id("reference", reference)
        a = ctx.agreement_of(invoice_id)
        inv = a.invoice(invoice_id)
        if not isinstance(amount, Money) or amount.currency != inv.currency or amount.minor <= 0:
            raise ValidationError("amount", f"a positive amount in {inv.currency.code}", amount)
        eid = f"{a.id}:paid:{invoice_id}:manual:{reference}"

        def work(a: Agreement) -> Agreement:
            if any(e.event_id == eid for e in a.events):
                return a
            at = ctx.at(a) if received_at is None else max(
                utc_datetime(received_at, "received_at"), a.events[-1].effective_at)
            e = PaymentSucceeded(eid, a.version + 1, at, inv.id, amount, reference)
            a = recover(ctx, a, e)
            e = attrs.evolve(e, version=a.version + 1)
            new = ctx.append(a, [e])
            ctx.store.post(payment_entry(a.id, e, f"{inv.id}:payment:manual:{reference}",
                                         Account.CASH))
            ctx.notify(f"payment.succeeded:{eid}", a.id, "payment.succeeded",
                       {"invoice_id": inv.id, "amount": amount.to_json(),
                        "reference": reference})
            return new

        return ctx.reschedule(ctx.unit(a, work))

    def write_off(self, invoice_id: InvoiceId, amount: Money | None = None, *, reason: str,
                  event_id: str | None = None) -> Agreement:
        """Write off ``amount`` (default: all) of an invoice's balance as uncollectible.

        Appends :class:`~milestonebill.agreement.InvoiceWrittenOff` with the
        ``reason`` (required free text), posts *Dr bad debt expense / Cr
        receivable* -- a credit loss (ASC 326), so revenue and the contract
        value do not change -- and tells the host (``invoice.written_off``).
        The invoice's balance falls by the amount: it is no longer overdue,
        reminded, charged, or charged a late fee.  Money that comes in on it
        later (:meth:`record_payment`, a gateway payment) first reverses the
        write-off: ``WriteOffRecovered``, *Dr receivable / Cr bad debt
        expense*, then the payment as usual.

        Refused before anything is written
        (:func:`milestonebill.writeoffs.check_write_off`): more than the
        balance (``ValidationError`` on ``amount``), a paid invoice or one
        with a charge attempt in flight (``InvalidTransitionError``).  With
        ``event_id`` (your request's id) a retry changes nothing; without,
        the event id counts the invoice's write-offs, so repeating a partial
        write-off writes off more.
        """
        return _write_off(self._ctx, invoice_id, amount, reason, event_id)

    def forfeit_credit(self, agreement_id: AgreementId, amount: Money | None = None, *,
                       reason: str, event_id: str | None = None) -> Agreement:
        """The client forfeits ``amount`` (default: all) of its customer credit.

        Appends :class:`~milestonebill.agreement.CreditForfeited` with the
        ``reason``, posts *Dr customer credit / Cr other income* and tells the
        host (``credit.forfeited``); the credit is no longer applied to
        invoices or refundable.  No credit, more than is outstanding, or
        credit an unfinished credit refund holds raises ``ValidationError``
        on ``amount``, before anything is written.  With ``event_id`` a
        retry changes nothing.
        """
        return _forfeit(self._ctx, agreement_id, amount, reason, event_id)

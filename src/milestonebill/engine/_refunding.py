"""Refunds and customer credit: paying money back through the gateway, exactly once.

Private to :mod:`milestonebill.engine`.  Each refund's intent (key, amount,
the payment it goes through) is recorded in the attempt journal before the
gateway is called, the gateway is called outside any transaction, and the
result is recorded in one unit of work; a crash in between is finished by
the next run with the same key.  The amounts come from
:mod:`milestonebill.refunds`.
"""

from __future__ import annotations

import contextlib
from typing import Any

from milestonebill._json import encode
from milestonebill.agreement import (
    Agreement,
    CreditApplied,
    CustomerCreditAdded,
    Event,
    PaymentSucceeded,
    Refunded,
)
from milestonebill.collection import CreditPolicy, credit_work
from milestonebill.documents import CreditNote
from milestonebill.engine._context import Context
from milestonebill.errors import (
    CurrencyMismatchError,
    DuplicateIdError,
    GatewayError,
    ValidationError,
)
from milestonebill.gateways.base import GatewayEvent, RefundRequest, RefundResult, RefundStatus
from milestonebill.ids import AttemptKey, InvoiceId
from milestonebill.invoicing import invoice_balance
from milestonebill.money import Money
from milestonebill.postings import credit_added_entry, credit_applied_entry, refund_entry
from milestonebill.refunds import (
    CREDIT_REFUND_TAG,
    CREDIT_RETURN_TAG,
    Intent,
    credit_refund_count,
    credit_refund_id,
    credit_refund_key,
    credit_refund_plan,
    credit_refunds_due,
    credit_reserved,
    given_up,
    open_intent,
    owed_back,
    payment_to_refund,
    refund_key,
)
from milestonebill.stores.base import AttemptRecord

__all__ = [
    "finish_credit_refund",
    "refund_credit",
    "refund_through_gateway",
    "settle_credits",
    "webhook_refund",
]


# ------------------------------------------------------------------ one refund


def _record_intent(ctx: Context, a: Agreement, key: AttemptKey, invoice_id: str, *,
                   payment: PaymentSucceeded, amount: Money) -> AttemptRecord:
    """The refund's amount and payment (by its charge attempt) in the attempt journal,
    before the gateway is called; an intent already recorded wins."""
    rec = ctx.store.get_attempt(key)
    if rec is not None:
        return rec
    assert payment.attempt is not None
    try:
        return ctx.store.record_attempt(key, a.id, InvoiceId(invoice_id), payment.attempt, amount)
    except DuplicateIdError:  # another worker recorded it first
        rec = ctx.store.get_attempt(key)
        assert rec is not None
        return rec


def _refused(ctx: Context, a: Agreement, key: AttemptKey, invoice_id: str, amount: Money, *,
             message: str | None, subject: dict[str, Any]) -> Agreement:
    """Record one outright gateway refusal; after ``max_attempts`` of them the
    refund is given up (intent finished as ``failed``) and the host told."""
    n = 1
    while ctx.store.get_attempt(AttemptKey(f"{key}:failed:{n}")) is not None:
        n += 1
    limit = ctx.settings.retry_policy.max_attempts
    payload = {**subject, "invoice_id": invoice_id, "amount": amount.to_json(),
               "message": message, "failures": n, "limit": limit}
    fkey = AttemptKey(f"{key}:failed:{n}")
    with ctx.store.transaction():
        ctx.store.record_attempt(fkey, a.id, InvoiceId(invoice_id), n, amount)
        ctx.store.complete_attempt(fkey, {"status": RefundStatus.FAILED.value,
                                          "message": message})
        if n >= limit:
            ctx.store.complete_attempt(key, {"status": RefundStatus.FAILED.value,
                                             "failures": n, "message": message})
            ctx.notify(f"refund.abandoned:{key}", a.id, "refund.abandoned", payload)
        else:
            ctx.notify(f"refund.failed:{key}:{n}", a.id, "refund.failed", payload)
    return a


def _call(ctx: Context, request: RefundRequest) -> RefundResult:
    """The gateway's answer; a request it refuses as invalid (a domain error: more
    than is left on the payment, another currency) counts as a ``FAILED`` refund.
    Outages, reused keys and other gateway errors (a revoked API key) propagate:
    they say nothing about this refund."""
    try:
        return ctx.gateway.refund(request)
    except (ValidationError, CurrencyMismatchError) as exc:
        assert request.amount is not None
        return RefundResult(RefundStatus.FAILED, request.amount, request.idempotency_key,
                            message=f"{type(exc).__name__}: {exc}")


def _finish_intent(ctx: Context, key: AttemptKey, result: RefundResult) -> None:
    rec = ctx.store.get_attempt(key)
    if rec is not None and not rec.finished:
        ctx.store.complete_attempt(key, encode(result))


def refund_through_gateway(ctx: Context, a: Agreement, cn: CreditNote,
                           amount: Money | None = None) -> Agreement:
    """Pay credit note ``cn`` (or ``amount`` of it) back through the gateway, once."""
    key = refund_key(a, cn)
    if any(r.idempotency_key == key for r in a.refunds) or given_up(ctx.journal, key):
        return a
    rec = open_intent(ctx.journal, key)
    payment: PaymentSucceeded | None
    if rec is not None:
        # Retry exactly what was asked the first time (same key, same amount).
        amount = rec.amount
        payment = next((p for p in a.payments
                        if p.invoice_id == cn.credits and p.attempt == rec.attempt), None)
    else:
        amount = cn.total if amount is None else amount
        payment = payment_to_refund(a, cn.credits, amount, ctx.journal)
    if payment is None:
        ctx.notify(f"refund.failed:{cn.id}", a.id, "refund.failed",
                   {"credit_note_id": cn.id, "invoice_id": cn.credits,
                    "message": "no gateway payment left to refund"})
        return a
    amount = _record_intent(ctx, a, key, cn.credits, payment=payment, amount=amount).amount
    request = RefundRequest(a.id, cn.credits, cn.id, payment.gateway_reference,
                            amount=amount, reason=cn.memo or None)
    result = _call(ctx, request)
    if result.status is RefundStatus.FAILED:
        return _refused(ctx, a, key, cn.credits, amount, message=result.message,
                        subject={"credit_note_id": cn.id})

    def work(a: Agreement) -> Agreement:
        if any(r.idempotency_key == request.idempotency_key for r in a.refunds):
            return a
        e = Refunded(f"{a.id}:refunded:{cn.credits}:{cn.id}", a.version + 1, ctx.at(a),
                     cn.credits, result.amount, result.refund_ref or request.idempotency_key,
                     request.idempotency_key, cn.memo)
        new = ctx.append(a, [e])
        ctx.store.post(refund_entry(a.id, e))
        _finish_intent(ctx, key, result)
        ctx.notify(f"payment.refunded:{e.event_id}", a.id, "payment.refunded",
                   {"invoice_id": cn.credits, "credit_note_id": cn.id,
                    "amount": e.amount.to_json(), "status": result.status.value})
        return new

    return ctx.unit(a, work)


# ------------------------------------------------------------------ credit policy


def _refund_over_credits(ctx: Context, a: Agreement) -> Agreement:
    """Under ``REFUND``: pay each credit note's over-credit back (key from the note)."""
    if ctx.credit_policy_for(a.id) is not CreditPolicy.REFUND:
        return a
    for cn, amount in credit_refunds_due(a, ctx.journal):
        a = refund_through_gateway(ctx, a, cn, amount)
        short = min(owed_back(a, cn.credits), cn.total.minor)
        if short > 0 and any(r.idempotency_key == refund_key(a, cn) for r in a.refunds):
            # More is owed than this invoice's payment can return: the rest
            # stays on the invoice (as under HOLD) for the host.
            with contextlib.suppress(DuplicateIdError):
                ctx.notify(f"refund.partial:{cn.id}", a.id, "refund.partial",
                           {"invoice_id": cn.credits, "credit_note_id": cn.id,
                            "refunded": amount.to_json(),
                            "left": Money.from_minor(short, cn.currency).to_json()})
    return a


def _move_and_apply(ctx: Context, a: Agreement, policy: CreditPolicy) -> Agreement:
    """One unit of work: over-credits become customer credit (``APPLY``) and credit
    is applied to open invoices, oldest first."""
    added, applied = credit_work(a, policy, credit_reserved(a, ctx.journal))
    new = a
    at = ctx.at(a)
    for inv_id, minor in added:
        n = sum(1 for c in new.credits_added if c.invoice_id == inv_id)
        source = [c.id for c in new.credit_notes if c.credits == inv_id]
        e1 = CustomerCreditAdded(f"{a.id}:credit-added:{inv_id}:{n}", new.version + 1, at,
                                 inv_id, Money.from_minor(minor, a.currency),
                                 source[-1] if source else "")
        new = ctx.append(new, [e1])
        ctx.store.post(credit_added_entry(a.id, e1))
        ctx.notify(f"credit.added:{e1.event_id}", a.id, "credit.added",
                   {"invoice_id": inv_id, "amount": e1.amount.to_json(),
                    "credit_note_id": e1.credit_note_id,
                    "credit_balance": new.credit_balance.to_json()})
    for inv_id, minor in applied:
        n = sum(1 for c in new.credits_applied if c.invoice_id == inv_id)
        e2 = CreditApplied(f"{a.id}:credit-applied:{inv_id}:{n}", new.version + 1, at,
                           inv_id, Money.from_minor(minor, a.currency))
        new = ctx.append(new, [e2])
        ctx.store.post(credit_applied_entry(a.id, e2))
        ctx.notify(f"credit.applied:{e2.event_id}", a.id, "credit.applied",
                   {"invoice_id": inv_id, "amount": e2.amount.to_json(),
                    "balance": invoice_balance(new, inv_id).to_json(),
                    "credit_balance": new.credit_balance.to_json()})
    return new


def settle_credits(ctx: Context, a: Agreement) -> Agreement:
    """Pay back over-credits per the credit policy and apply customer credit.

    ``REFUND``: each credit note's over-credit through the gateway.  Then,
    in one unit of work, ``APPLY_TO_NEXT_INVOICES`` moves what invoices owe
    the client to customer credit and (every policy) credit is applied to
    open invoices, oldest first.
    """
    a = _refund_over_credits(ctx, a)
    policy = ctx.credit_policy_for(a.id)
    added, applied = credit_work(a, policy, credit_reserved(a, ctx.journal))
    if not added and not applied:
        return a
    return ctx.unit(a, lambda a: _move_and_apply(ctx, a, policy))


# ------------------------------------------------------------------ customer credit refunds


def _credit_refund(ctx: Context, a: Agreement, invoice_id: InvoiceId, *,
                   payment: PaymentSucceeded, amount: Money, reason: str) -> Agreement:
    k = credit_refund_count(a) + 1
    key = credit_refund_key(a, invoice_id, k)
    if given_up(ctx.journal, key):
        return a
    amount = _record_intent(ctx, a, key, invoice_id, payment=payment, amount=amount).amount
    request = RefundRequest(a.id, invoice_id, credit_refund_id(k), payment.gateway_reference,
                            amount=amount, reason=reason or "customer credit refunded")
    result = _call(ctx, request)
    if result.status is RefundStatus.FAILED:
        return _refused(ctx, a, key, invoice_id, amount, message=result.message,
                        subject={"credit_refund": k})

    def work(a: Agreement) -> Agreement:
        if any(r.idempotency_key == key for r in a.refunds):
            return a
        at = ctx.at(a)
        r = Refunded(f"{a.id}:{CREDIT_REFUND_TAG}:{invoice_id}:{k}", a.version + 1, at,
                     invoice_id, result.amount, result.refund_ref or key, key,
                     reason or "customer credit refunded")
        c = CreditApplied(f"{a.id}:{CREDIT_RETURN_TAG}:{invoice_id}:{k}", a.version + 2, at,
                          invoice_id, result.amount)
        new = ctx.append(a, [r, c])
        ctx.store.post(refund_entry(a.id, r))
        ctx.store.post(credit_applied_entry(a.id, c))
        _finish_intent(ctx, key, result)
        ctx.notify(f"credit.refunded:{r.event_id}", a.id, "credit.refunded",
                   {"invoice_id": invoice_id, "amount": r.amount.to_json(),
                    "status": result.status.value,
                    "credit_balance": new.credit_balance.to_json()})
        return new

    return ctx.unit(a, work)


def finish_credit_refund(ctx: Context, a: Agreement) -> tuple[Agreement, bool]:
    """Finish the interrupted customer-credit refund, if any (True when found)."""
    k = credit_refund_count(a) + 1
    for inv in a.invoices:
        rec = open_intent(ctx.journal, credit_refund_key(a, inv.id, k))
        if rec is None:
            continue
        payment = next((p for p in a.payments
                        if p.invoice_id == inv.id and p.attempt == rec.attempt), None)
        if payment is None:
            return a, True
        return _credit_refund(ctx, a, inv.id, payment=payment, amount=rec.amount,
                              reason=""), True
    return a, False


def _check_credit_refund(a: Agreement, amount: Money | None) -> Money:
    outstanding = a.credit_balance
    want = outstanding if amount is None else amount
    if not isinstance(want, Money) or want.currency != a.currency or want.minor < 0 \
            or (amount is not None and want.minor == 0):
        raise ValidationError("amount", f"a positive amount in {a.currency.code}", amount)
    if want.minor > outstanding.minor:
        raise ValidationError("amount", f"at most the customer credit outstanding "
                              f"({outstanding})", want)
    return want


def refund_credit(ctx: Context, a: Agreement, amount: Money | None, reason: str) -> Agreement:
    """Pay customer credit back through settled invoices' payments (see
    :meth:`milestonebill.engine.Biller.refund_credit`)."""
    a, finished = finish_credit_refund(ctx, a)
    if finished:
        return ctx.reschedule(a)
    want = _check_credit_refund(a, amount)
    plan = credit_refund_plan(a, want.minor)
    room = sum(m for _i, _p, m in plan)
    if room < want.minor:
        raise ValidationError("amount", f"at most what settled invoices' gateway payments "
                              f"can still return ({Money.from_minor(room, a.currency)})", want)
    try:
        for invoice_id, payment, minor in plan:
            before = credit_refund_count(a)
            a = _credit_refund(ctx, a, invoice_id, payment=payment,
                               amount=Money.from_minor(minor, a.currency), reason=reason)
            if credit_refund_count(a) == before:
                break  # refused: the host has been told; the next run tries again
    finally:
        # If the gateway failed, the next run finishes the recorded refund.
        ctx.reschedule(ctx.load(a.id))
    return a


# ------------------------------------------------------------------ refund webhooks


def _intents_on(ctx: Context, a: Agreement, invoice_id: InvoiceId) -> list[Intent]:
    """Our refunds on ``invoice_id`` recorded in the attempt journal and not finished:
    credit-note refunds not yet ``Refunded`` and the next customer-credit refund."""
    done = {r.idempotency_key for r in a.refunds}
    keys = [refund_key(a, cn) for cn in a.credit_notes if cn.credits == invoice_id]
    keys.append(credit_refund_key(a, invoice_id, credit_refund_count(a) + 1))
    return [rec for key in keys if key not in done
            and (rec := open_intent(ctx.journal, key)) is not None]


def _finish_refunds_on(ctx: Context, a: Agreement, invoice_id: InvoiceId
                       ) -> tuple[Agreement, frozenset[str]]:
    """Finish our unfinished refunds on ``invoice_id`` under their own keys.

    Returns the agreement and the keys of those the gateway could not answer
    now: they stay in the journal for ``run``/``reconcile`` and may be what
    the webhook reports.  (One the gateway refused did not happen, so it is
    not among them.)
    """
    unknown: set[str] = set()
    for rec in _intents_on(ctx, a, invoice_id):
        key = rec.key
        cn = next((c for c in a.credit_notes if refund_key(a, c) == key), None)
        try:
            a = refund_through_gateway(ctx, a, cn) if cn is not None \
                else finish_credit_refund(ctx, a)[0]
        except GatewayError:
            unknown.add(key)
            a = ctx.load(a.id)
    return a, frozenset(unknown)


def webhook_refund(ctx: Context, a: Agreement, invoice_id: InvoiceId, event: GatewayEvent
                   ) -> tuple[Event, ...]:
    """A ``PAYMENT_REFUNDED`` webhook: ``event.amount`` is the total refunded so far.

    The webhook may report one of our own refunds whose intent is in the
    attempt journal but whose result is not yet recorded (a crash or a
    timeout after the gateway call, or a worker still waiting for the
    answer).  Those intents are finished first, with their own keys (the
    gateway replays its answer, so no money moves twice); any the gateway
    cannot answer now are counted as ours and left for ``run`` or
    ``reconcile``.  Only the rest of the total is recorded as a refund made
    outside milestonebill; a duplicate delivery finds nothing left.
    """
    if event.amount is None:
        raise ValidationError("event.amount", "the total refunded", None)
    total = event.amount
    before = a.version
    a, unknown = _finish_refunds_on(ctx, a, invoice_id)

    def work(a: Agreement) -> Agreement:
        known = sum(r.amount.minor for r in a.refunds if r.invoice_id == invoice_id)
        extra = total.minor - known - sum(rec.amount.minor
                                          for rec in _intents_on(ctx, a, invoice_id)
                                          if rec.key in unknown)
        if extra <= 0:
            return a
        e = Refunded(f"{a.id}:refunded:{invoice_id}:gateway:{event.event_id}", a.version + 1,
                     ctx.at(a), invoice_id, Money.from_minor(extra, total.currency),
                     event.object_ref, f"gateway:{event.event_id}", event.reason or "")
        new = ctx.append(a, [e])
        ctx.store.post(refund_entry(a.id, e))
        ctx.notify(f"payment.refunded:{e.event_id}", a.id, "payment.refunded",
                   {"invoice_id": invoice_id, "amount": e.amount.to_json(), "external": True})
        return new

    after = ctx.unit(a, work)
    ctx.reschedule(after)
    return after.events[before:]

"""Charging invoices exactly once: attempt, gateway call, outcome; and re-driving them.

Private to :mod:`milestonebill.engine`.  Unit of work 2 records the intent
(attempt journal + ``ChargeAttempted``) under the key derived from
``(agreement, invoice, attempt)``; the gateway is called outside any
transaction; unit of work 3 records the outcome.  A crash in between leaves
an unfinished attempt that :func:`redrive` finishes with the same key.
"""

from __future__ import annotations

import contextlib
from datetime import date
from typing import Any, Final

import attrs

from milestonebill._json import decode, encode
from milestonebill.agreement import (
    Agreement,
    ChargeAttempted,
    PaymentFailed,
    PaymentSucceeded,
)
from milestonebill.collection import (
    ACTION_REQUIRED_CODES,
    attempt_outcome,
    collection_state,
    due_charges,
)
from milestonebill.documents import CreditReason, Invoice
from milestonebill.engine._collecting import recover
from milestonebill.engine._context import Context
from milestonebill.engine._refunding import finish_credit_refund, refund_through_gateway
from milestonebill.engine.results import ChargeOutcome, Tally
from milestonebill.errors import (
    DuplicateIdError,
    GatewayError,
    GatewayRateLimitedError,
    GatewayUnavailableError,
    NotFoundError,
)
from milestonebill.gateways.base import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    GatewayEvent,
    GatewayEventKind,
)
from milestonebill.ids import AttemptKey, CustomerId, PaymentMethodId
from milestonebill.ledger import Account
from milestonebill.money import Money
from milestonebill.postings import payment_entry
from milestonebill.refunds import open_intent, refund_key
from milestonebill.stores.base import AttemptRecord

#: The longest wait between two asks after rate-limited answers, in seconds.
_MAX_BACKOFF: Final = 30.0

__all__ = ["answer", "ask", "charge_event_result", "collect", "finish_interrupted", "intent",
           "journal", "journal_due", "redrive", "request_of", "settle"]


def collect(ctx: Context, a: Agreement, as_of: date, tally: Tally) -> Agreement:
    """Charge every invoice that is due, or whose retry day has come, by ``as_of``."""
    for st in due_charges(a, as_of, ctx.settings.retry_policy):
        a = _charge(ctx, a, a.invoice(st.invoice_id), attempt=st.next_attempt,
                    amount=st.balance, tally=tally)
    return a


def _request(a: Agreement, invoice: Invoice, attempt: int, amount: Money) -> ChargeRequest:
    pm = a.payment_method
    assert pm is not None
    return ChargeRequest(agreement_id=a.id, invoice_id=invoice.id, attempt=attempt,
                         amount=amount, customer_id=CustomerId(pm.customer_id),
                         payment_method_id=PaymentMethodId(pm.payment_method_id),
                         description=f"Invoice {invoice.number}", payment_method_kind=pm.kind)


def _charge(ctx: Context, a: Agreement, invoice: Invoice, *, attempt: int, amount: Money,
            tally: Tally) -> Agreement:
    a = ctx.unit(a, lambda a: journal(ctx, a, invoice, attempt=attempt, amount=amount))
    return _call_and_settle(ctx, a, intent(a, invoice, attempt, amount), tally,
                            reconciling=False)


def intent(a: Agreement, invoice: Invoice, attempt: int, amount: Money) -> ChargeAttempted:
    """The journalled attempt to charge ``amount`` on ``invoice`` (after :func:`journal`)."""
    key = _request(a, invoice, attempt, amount).idempotency_key
    return next(x for x in a.attempts if x.idempotency_key == key)


def journal(ctx: Context, a: Agreement, invoice: Invoice, *, attempt: int, amount: Money
            ) -> Agreement:
    """Unit of work 2 (inside the caller's transaction): record the intent to charge
    in the attempt journal and as ``ChargeAttempted``, unless it is recorded."""
    key = AttemptKey(_request(a, invoice, attempt, amount).idempotency_key)
    if any(x.idempotency_key == key for x in a.attempts):
        return a
    ctx.store.record_attempt(key, a.id, invoice.id, attempt, amount)
    e = ChargeAttempted(f"{a.id}:attempt:{invoice.id}:{attempt}", a.version + 1,
                        ctx.at(a), invoice.id, attempt, key, amount)
    return ctx.append(a, [e])


def journal_due(ctx: Context, a: Agreement, as_of: date
                ) -> tuple[Agreement, list[ChargeAttempted]]:
    """Journal every charge :func:`collect` would make (inside the caller's transaction);
    the gateway is not called: the attempts are returned for :func:`ask` and
    :func:`answer`."""
    intents: list[ChargeAttempted] = []
    for st in due_charges(a, as_of, ctx.settings.retry_policy):
        invoice = a.invoice(st.invoice_id)
        a = journal(ctx, a, invoice, attempt=st.next_attempt, amount=st.balance)
        intents.append(intent(a, invoice, st.next_attempt, st.balance))
    return a, intents


def request_of(a: Agreement, x: ChargeAttempted) -> ChargeRequest:
    """The gateway request of a journalled attempt (its key is the attempt's)."""
    return _request(a, a.invoice(x.invoice_id), x.attempt, x.amount)


def _backoff(n: int) -> float:
    """Seconds to wait before the ``n``-th ask after a 429 that named no wait:
    doubling from a quarter second, at most :data:`_MAX_BACKOFF`."""
    return min(_MAX_BACKOFF, 0.25 * float(2 ** max(n - 1, 0)))


def ask(ctx: Context, request: ChargeRequest) -> tuple[ChargeResult | None, GatewayError | None]:
    """The gateway's answer to ``request``: :func:`_ask_gateway`, callable from a thread."""
    return _ask_gateway(ctx, request)


def _ask_gateway(ctx: Context, request: ChargeRequest
                 ) -> tuple[ChargeResult | None, GatewayError | None]:
    """The gateway's answer, asking again with the same key after a retryable failure.

    A rate-limited answer (:class:`~milestonebill.errors.GatewayRateLimitedError`)
    waits before asking again, as long as the gateway asked (or the retry
    policy's back-off), and does not use up one of the retries.
    """
    result: ChargeResult | None = None
    error: GatewayError | None = None
    tries, limited = 0, 0
    while tries < 1 + ctx.settings.retry_policy.same_key_retries:
        try:
            result = ctx.gateway.charge(request)
            error = None
        except GatewayRateLimitedError as exc:
            result, error = None, exc
            limited += 1
            if limited > ctx.settings.rate_limit_retries:
                break
            ctx.sleep(exc.retry_after if exc.retry_after is not None
                      else _backoff(limited))
            continue
        except GatewayUnavailableError as exc:
            result, error = None, exc
            tries += 1
            continue
        except GatewayError as exc:
            result, error = None, exc
            break
        tries += 1
        if result.status is not ChargeStatus.FAILED_RETRYABLE:
            break
    return result, error


def _call_and_settle(ctx: Context, a: Agreement, x: ChargeAttempted, tally: Tally, *,
                     reconciling: bool) -> Agreement:
    return answer(ctx, a, x, _ask_gateway(ctx, request_of(a, x)), tally,
                  reconciling=reconciling)


def answer(ctx: Context, a: Agreement, x: ChargeAttempted,
           asked: tuple[ChargeResult | None, GatewayError | None], tally: Tally, *,
           reconciling: bool) -> Agreement:
    """Record what the gateway answered to attempt ``x`` (unit of work 3): ``asked``
    is what :func:`ask` returned."""
    result, error = asked
    invoice = a.invoice(x.invoice_id)
    outcomes = tally.reconciled if reconciling else tally.charges
    if result is None or result.status is ChargeStatus.FAILED_RETRYABLE:
        # The charge may or may not have happened: leave the attempt open so
        # reconciliation asks again with the same key.
        outcomes.append(ChargeOutcome(a.id, invoice.id, x.attempt, x.amount,
                                      ChargeStatus.FAILED_RETRYABLE))
        if error is not None:
            tally.problem(a.id, error)
            if not isinstance(error, GatewayUnavailableError):
                with contextlib.suppress(DuplicateIdError):  # told the host already
                    ctx.notify(f"charge.error:{x.idempotency_key}", a.id, "charge.error",
                               {"invoice_id": invoice.id, "attempt": x.attempt,
                                "error": type(error).__name__, "message": str(error)})
        return a
    return settle(ctx, a, x, result, tally, outcomes=outcomes)


def settle(ctx: Context, a: Agreement, x: ChargeAttempted, result: ChargeResult, tally: Tally,
           *, outcomes: list[ChargeOutcome] | None = None) -> Agreement:
    """Unit of work 3: complete the journal entry and record the outcome."""
    key = AttemptKey(x.idempotency_key)

    def work(a: Agreement) -> Agreement:
        rec = ctx.store.get_attempt(key)
        if rec is not None and not rec.finished and \
                result.status is not ChargeStatus.FAILED_RETRYABLE:
            ctx.store.complete_attempt(key, encode(result))
        return _record_outcome(ctx, a, x, result)

    a = ctx.unit(a, work)
    (tally.reconciled if outcomes is None else outcomes).append(ChargeOutcome(
        a.id, x.invoice_id, x.attempt, x.amount, result.status, result.decline_code,
        result.gateway_ref))
    return a


def _record_outcome(ctx: Context, a: Agreement, x: ChargeAttempted, result: ChargeResult
                    ) -> Agreement:
    ok, bad = attempt_outcome(a, x.invoice_id, x.attempt)
    base = {"invoice_id": x.invoice_id, "attempt": x.attempt, "amount": x.amount.to_json(),
            "gateway_ref": result.gateway_ref}
    if result.status is ChargeStatus.SUCCEEDED:
        return a if ok is not None else _paid(ctx, a, x, result, base)
    if result.status in (ChargeStatus.DECLINED, ChargeStatus.REQUIRES_ACTION):
        return a if ok is not None or bad is not None else _failed(ctx, a, x, result, base)
    return a


def _paid(ctx: Context, a: Agreement, x: ChargeAttempted, result: ChargeResult,
          base: dict[str, Any]) -> Agreement:
    paid = PaymentSucceeded(f"{a.id}:paid:{x.invoice_id}:{x.attempt}", a.version + 1, ctx.at(a),
                            x.invoice_id, result.amount, result.gateway_ref or x.idempotency_key,
                            x.attempt, result.fee, result.application_fee)
    a = recover(ctx, a, paid)  # a payment on a written-off invoice reverses the write-off
    paid = attrs.evolve(paid, version=a.version + 1)
    new = ctx.append(a, [paid])
    ctx.store.post(payment_entry(a.id, paid, f"{x.invoice_id}:payment:{x.attempt}",
                                 Account.CLEARING))
    ctx.notify(f"payment.succeeded:{paid.event_id}", a.id, "payment.succeeded",
               {**base, "amount": result.amount.to_json()})
    return new


def _failed(ctx: Context, a: Agreement, x: ChargeAttempted, result: ChargeResult,
            base: dict[str, Any]) -> Agreement:
    policy = ctx.settings.retry_policy
    action = result.status is ChargeStatus.REQUIRES_ACTION or \
        result.decline_code in ACTION_REQUIRED_CODES
    code = result.decline_code or ("requires_action" if action else "declined")
    if action and code not in ACTION_REQUIRED_CODES:
        code = "requires_action"
    final = action or result.decline_hard or policy.is_final(code)
    failed = PaymentFailed(f"{a.id}:failed:{x.invoice_id}:{x.attempt}", a.version + 1,
                           ctx.at(a), x.invoice_id, x.attempt, code, result.message or "",
                           retryable=not final)
    new = ctx.append(a, [failed])
    kind = "payment.action_required" if action else "payment.failed"
    st = collection_state(new, x.invoice_id, policy)
    ctx.notify(f"{kind}:{failed.event_id}", a.id, kind,
               {**base, "decline_code": code, "action_ref": result.action_ref,
                "collection": st.state.value,
                "retry_on": None if st.retry_on is None else st.retry_on.isoformat()})
    return new


def _result_of(rec: AttemptRecord) -> ChargeResult | None:
    data = rec.outcome_data
    if data is None:
        return None
    # Outcomes written before the key was kept in them lack it: it is the record's.
    return decode({**data, "idempotency_key": rec.key}, ChargeResult,  # type: ignore[no-any-return]
                  "outcome")


def redrive(ctx: Context, a: Agreement, rec: AttemptRecord, tally: Tally) -> Agreement:
    """Finish an unfinished attempt from the journal with its original key and amount."""
    attempt = next((x for x in a.attempts if x.idempotency_key == rec.key), None)
    if attempt is None:
        # A refund intent: finish it with its recorded amount.
        cn = next((c for c in a.credit_notes if refund_key(a, c) == rec.key), None)
        if cn is not None:
            return refund_through_gateway(ctx, a, cn)
        return finish_credit_refund(ctx, a)[0]
    if attempt_outcome(a, attempt.invoice_id, attempt.attempt) != (None, None):
        return a
    result = _result_of(rec)
    if result is not None:
        if result.status is ChargeStatus.PROCESSING:
            return a
        return settle(ctx, a, attempt, result, tally)
    return _call_and_settle(ctx, a, attempt, tally, reconciling=True)


def finish_interrupted(ctx: Context, a: Agreement, tally: Tally) -> Agreement:
    """Re-drive every attempt and refund a crash (or an outage) left unfinished."""
    for x in a.attempts:
        if attempt_outcome(a, x.invoice_id, x.attempt) != (None, None):
            continue
        rec = ctx.store.get_attempt(AttemptKey(x.idempotency_key))
        if rec is not None:
            a = redrive(ctx, a, rec, tally)
    for cn in a.credit_notes:
        key = refund_key(a, cn)
        if not any(r.idempotency_key == key for r in a.refunds) and (
                cn.reason is CreditReason.REFUND or open_intent(ctx.journal, key) is not None):
            a = refund_through_gateway(ctx, a, cn)
    return finish_credit_refund(ctx, a)[0]


def charge_event_result(a: Agreement, event: GatewayEvent) -> tuple[ChargeAttempted,
                                                                     ChargeResult]:
    """The attempt a payment webhook reports on and its result, as the gateway says."""
    assert event.invoice_id is not None
    inv = a.invoice(event.invoice_id)
    attempt = next((x for x in a.attempts
                    if x.invoice_id == inv.id and x.attempt == event.attempt), None)
    if attempt is None:
        raise NotFoundError(f"agreement {a.id!r} has no charge attempt {event.attempt!r} "
                            f"on invoice {inv.id!r}")
    if event.kind is GatewayEventKind.PAYMENT_SUCCEEDED:
        status = ChargeStatus.SUCCEEDED
    elif event.kind is GatewayEventKind.PAYMENT_PROCESSING:
        status = ChargeStatus.PROCESSING
    elif event.charge_status is ChargeStatus.REQUIRES_ACTION or \
            event.decline_code in ACTION_REQUIRED_CODES:
        status = ChargeStatus.REQUIRES_ACTION
    else:
        status = ChargeStatus.DECLINED
    return attempt, ChargeResult(status=status, amount=event.amount or attempt.amount,
                                 idempotency_key=attempt.idempotency_key,
                                 gateway_ref=event.payment_ref, decline_code=event.decline_code,
                                 decline_hard=event.decline_hard, message=event.message,
                                 fee=event.fee, application_fee=event.application_fee)

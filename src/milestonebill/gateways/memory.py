"""A deterministic, scriptable in-memory payment gateway.

:class:`InMemoryGateway` keeps everything in dictionaries, numbers its ids
(``cus_mem_0001``, ``pi_mem_0001``...), never reads the clock unless given
one, and behaves like a careful real gateway:

* a repeated idempotency key replays the first outcome and moves no money;
* the same key with a different amount raises :class:`~milestonebill.errors.IdempotencyError`
  naming the key;
* outcomes can be scripted for the next calls or per payment method:
  succeed, decline with a code, require customer action, stay processing,
  time out *after* charging (the ambiguous case: the caller gets
  ``FAILED_RETRYABLE`` although the money moved; retrying with the same key
  returns the original success), or fail retryably before charging;
* every real charge is recorded (:attr:`InMemoryGateway.charges`) so tests
  can count them;
* every state change produces a signed webhook
  (:meth:`InMemoryGateway.deliveries`) that :meth:`InMemoryGateway.parse_webhook`
  verifies and maps, so an engine can be tested end to end;
* everything it remembers can be saved as JSON-ready data
  (:meth:`InMemoryGateway.to_state`) and restored
  (:meth:`InMemoryGateway.from_state`), so it can outlive a process the way a
  real gateway does (the ``milestonebill`` command keeps it in a file).

>>> from milestonebill.money import Money
>>> from milestonebill.gateways.base import ChargeRequest, CustomerRequest, SetupRequest
>>> gw = InMemoryGateway()
>>> cust = gw.create_customer(CustomerRequest(reference="client-42"))
>>> saved = gw.save_payment_method(SetupRequest(cust.customer_id, "tok_visa"))
>>> pm = saved.payment_method.payment_method_id
>>> gw.script_next(Scripted.time_out_after_charge())
>>> req = ChargeRequest("agr-1", "INV-0001", 1, Money("100.00", "USD"), cust.customer_id, pm)
>>> gw.charge(req).status
<ChargeStatus.FAILED_RETRYABLE: 'failed_retryable'>
>>> gw.charge(req).status, len(gw.charges)
(<ChargeStatus.SUCCEEDED: 'succeeded'>, 1)

A webhook body is JSON with ``id`` (``evt_mem_...``), ``type`` (a
:class:`GatewayEventKind` value), ``created`` (Unix seconds) and ``data``
(the payment as this gateway knows it, money as ``{"amount",
"currency"}``); the header is ``t=<Unix seconds>,v1=<hex HMAC-SHA256 of
"t.body" under the webhook secret>``, Stripe's scheme:

>>> import json
>>> delivery = gw.deliveries()[-1]
>>> body = json.loads(delivery.payload)
>>> body["type"], body["id"], sorted(body["data"])[:5]
('payment.succeeded', 'evt_mem_000002', ['agreement_id', 'amount', 'attempt', 'charge_status', 'customer_id'])
>>> body["data"]["payment_ref"], body["data"]["amount"]
('pi_mem_0001', {'amount': '100.00', 'currency': 'USD'})
>>> delivery.signature_header.split(",")[0]
't=1767225600'
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVar

import attrs

from milestonebill._json import decode, encode
from milestonebill.clock import Clock, FixedClock
from milestonebill.errors import (
    CurrencyMismatchError,
    GatewayError,
    IdempotencyError,
    ValidationError,
    WebhookPayloadError,
)
from milestonebill.gateways import _signing, _state, _webhook
from milestonebill.gateways._scripting import (
    Behaviour,
    ChargeRecord,
    Scripted,
    percent_plus_fixed,
)
from milestonebill.gateways.base import (
    DEFAULT_WEBHOOK_TOLERANCE,
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    CustomerId,
    CustomerRef,
    CustomerRequest,
    GatewayEvent,
    GatewayEventKind,
    PaymentMethodId,
    PaymentMethodKind,
    RefundRequest,
    RefundResult,
    RefundStatus,
    SavedPaymentMethod,
    SetupRequest,
    SetupResult,
    SetupStatus,
    WebhookDelivery,
    is_hard_decline,
)
from milestonebill.money import Money

__all__ = [
    "STATE_FORMAT",
    "Behaviour",
    "ChargeRecord",
    "InMemoryGateway",
    "Scripted",
    "percent_plus_fixed",
]

_Id = TypeVar("_Id", bound=str)
#: The ``format`` tag of :meth:`InMemoryGateway.to_state` (version 1).
STATE_FORMAT: Final = "milestonebill.memory-gateway/1"

#: The moment the default clock always answers: deterministic by default.
_EPOCH: Final = datetime(2026, 1, 1, tzinfo=UTC)


@attrs.define
class _Method:
    saved: SavedPaymentMethod
    token: str
    attached: bool = True


@attrs.define
class _Payment:
    request: ChargeRequest
    status: ChargeStatus
    refunded_minor: int = 0
    fee: Money | None = None


def _event_from_json(body: dict[str, Any], kind: GatewayEventKind) -> GatewayEvent:
    """The event a rendered webhook body describes; every field is checked."""
    data = _webhook.subobject(body, "data", "data")

    def opt(key: str) -> str | None:
        return _webhook.optional_text(data, key, f"data.{key}")

    attempt = data.get("attempt")
    status = opt("charge_status")
    try:
        charge_status = None if status is None else ChargeStatus(status)
    except ValueError:
        raise WebhookPayloadError("data.charge_status", "a charge status", status) from None
    hard = data.get("decline_hard", False)
    if not isinstance(hard, bool):
        raise WebhookPayloadError("data.decline_hard", "true or false", hard)
    return GatewayEvent(
        event_id=_webhook.text(body, "id", "id"),
        kind=kind,
        occurred_at=_webhook.unix_time(body.get("created"), "created"),
        object_ref=_webhook.text(data, "object_ref", "data.object_ref"),
        payment_ref=opt("payment_ref"),
        agreement_id=opt("agreement_id"),
        invoice_id=opt("invoice_id"),
        attempt=None if attempt is None else _webhook.integer(attempt, "data.attempt",
                                                               at_least=1),
        amount=_webhook.money(data.get("amount"), "data.amount"),
        charge_status=charge_status,
        decline_code=opt("decline_code"),
        decline_hard=hard,
        message=opt("message"),
        fee=_webhook.money(data.get("fee"), "data.fee"),
        customer_id=_opt_id(CustomerId, opt("customer_id")),
        payment_method_id=_opt_id(PaymentMethodId, opt("payment_method_id")),
        reason=opt("reason"),
    )


def _opt_id(make: Callable[[str], _Id], value: str | None) -> _Id | None:
    return None if value is None else make(value)


def _money_json(m: Money | None) -> dict[str, str] | None:
    return None if m is None else m.to_json()


class InMemoryGateway:
    """A deterministic :class:`~milestonebill.gateways.base.PaymentGateway` kept in memory.

    ``fees`` maps a charged amount to the gateway's fee (default: no fee);
    ``clock`` stamps webhooks (default: always 2026-01-01T00:00Z, so runs are
    repeatable).  Charges to a ``BANK_DEBIT`` method stay processing unless
    scripted otherwise, as bank debits do.
    """

    #: How :class:`~milestonebill.payment_methods.PaymentMethodRef` names this gateway.
    name: Final = "memory"

    def __init__(
        self,
        *,
        webhook_secret: str = "whsec_memory",
        fees: Callable[[Money], Money | None] | None = None,
        clock: Clock | None = None,
        webhook_tolerance: timedelta = DEFAULT_WEBHOOK_TOLERANCE,
    ) -> None:
        self._secret = webhook_secret
        self._fees = fees
        self._clock: Clock = clock or FixedClock(_EPOCH)
        self._tolerance = webhook_tolerance
        self._lock = threading.RLock()
        self._counters: dict[str, int] = {}
        self._customers: dict[str, CustomerRef] = {}
        self._setups: dict[str, tuple[tuple[object, ...], SetupResult]] = {}
        self._methods: dict[str, _Method] = {}
        self._charge_keys: dict[str, tuple[tuple[object, ...], ChargeResult]] = {}
        self._payments: dict[str, _Payment] = {}
        self._charges: list[ChargeRecord] = []
        self._refund_keys: dict[str, tuple[tuple[object, ...], RefundResult]] = {}
        self._events: list[GatewayEvent] = []
        self._queue: deque[Scripted] = deque()
        self._by_method: dict[str, Scripted] = {}
        self._setup_scripts: dict[str, Scripted] = {}
        self.calls = 0
        """How many port calls were made (replays included)."""

    def __repr__(self) -> str:
        return (
            f"InMemoryGateway(customers={len(self._customers)}, "
            f"charges={len(self._charges)}, events={len(self._events)})"
        )

    # ------------------------------------------------------------ scripting

    def script_next(self, *outcomes: Scripted) -> None:
        """Queue outcomes for the next charge calls that actually execute (not replays)."""
        with self._lock:
            self._queue.extend(outcomes)

    def script_payment_method(self, token_or_id: str, outcome: Scripted) -> None:
        """Every charge to this payment method (its token or its id) has ``outcome``.

        The per-call queue from :meth:`script_next` takes precedence.
        """
        with self._lock:
            self._by_method[token_or_id] = outcome

    def script_setup(self, token: str, outcome: Scripted) -> None:
        """Saving ``token`` has ``outcome`` (``succeed``, ``decline``, ``require_action``
        or ``stay_processing``)."""
        with self._lock:
            self._setup_scripts[token] = outcome

    # ------------------------------------------------------------ inspection

    @property
    def charges(self) -> tuple[ChargeRecord, ...]:
        """Every charge that reached the money, in order; replays add nothing."""
        with self._lock:
            return tuple(self._charges)

    @property
    def customers(self) -> tuple[CustomerRef, ...]:
        """Every customer created, in order; a repeated key adds none."""
        with self._lock:
            return tuple(self._customers.values())

    @property
    def events(self) -> tuple[GatewayEvent, ...]:
        """Every notification the gateway would send, in order."""
        with self._lock:
            return tuple(self._events)

    def deliveries(self, since: int = 0) -> tuple[WebhookDelivery, ...]:
        """The events from index ``since`` on as signed webhook deliveries."""
        with self._lock:
            return tuple(self.render_webhook(e) for e in self._events[since:])

    def render_webhook(self, event: GatewayEvent) -> WebhookDelivery:
        """``event`` as the JSON body and signature header this gateway would POST."""
        body = {
            "id": event.event_id,
            "type": event.kind.value,
            "created": int(event.occurred_at.timestamp()),
            "data": {
                "object_ref": event.object_ref,
                "payment_ref": event.payment_ref,
                "agreement_id": event.agreement_id,
                "invoice_id": event.invoice_id,
                "attempt": event.attempt,
                "amount": _money_json(event.amount),
                "charge_status": None if event.charge_status is None else event.charge_status.value,
                "decline_code": event.decline_code,
                "decline_hard": event.decline_hard,
                "message": event.message,
                "fee": _money_json(event.fee),
                "customer_id": event.customer_id,
                "payment_method_id": event.payment_method_id,
                "reason": event.reason,
            },
        }
        payload = json.dumps(body, sort_keys=True).encode("utf-8")
        return WebhookDelivery(payload, _signing.sign(self._secret, payload, event.occurred_at),
                               event.occurred_at)

    # ------------------------------------------------------------ the port

    def create_customer(self, request: CustomerRequest) -> CustomerRef:
        """Create the customer, or return the one created under the same key."""
        with self._lock:
            self.calls += 1
            key = request.idempotency_key
            found = self._customers.get(key)
            if found is None:
                found = CustomerRef(CustomerId(self._next_id("cus_mem")), request.reference)
                self._customers[key] = found
            return found

    def save_payment_method(self, request: SetupRequest) -> SetupResult:
        """Save a token for off-session use; scripted per token with :meth:`script_setup`."""
        with self._lock:
            self.calls += 1
            key = request.idempotency_key
            fingerprint = (request.customer_id, request.payment_method_token, request.kind)
            stored = self._setups.get(key)
            if stored is not None:
                if stored[0] != fingerprint:
                    raise IdempotencyError(key)
                return stored[1]
            script = self._setup_scripts.get(request.payment_method_token, Scripted.succeed())
            setup_ref = self._next_id("seti_mem")
            if script.behaviour is Behaviour.DECLINE:
                result = SetupResult(SetupStatus.DECLINED, setup_ref, None,
                                     script.decline_code, script.message or "declined")
            else:
                saved = SavedPaymentMethod(
                    PaymentMethodId(self._next_id("pm_mem")), request.customer_id, request.kind,
                    last4=request.payment_method_token[-4:].rjust(4, "0")
                    if request.payment_method_token[-4:].isdigit() else None,
                )
                self._methods[saved.payment_method_id] = _Method(saved, request.payment_method_token)
                status = {
                    Behaviour.REQUIRE_ACTION: SetupStatus.REQUIRES_ACTION,
                    Behaviour.STAY_PROCESSING: SetupStatus.PROCESSING,
                }.get(script.behaviour, SetupStatus.SUCCEEDED)
                result = SetupResult(status, setup_ref, saved)
                if status is SetupStatus.SUCCEEDED:
                    self._emit(GatewayEventKind.PAYMENT_METHOD_SAVED, setup_ref,
                               customer_id=request.customer_id,
                               payment_method_id=saved.payment_method_id)
            self._setups[key] = (fingerprint, result)
            return result

    def detach_payment_method(
        self, payment_method_id: PaymentMethodId, *, idempotency_key: str
    ) -> None:
        """Detach; later charges to it raise :class:`~milestonebill.errors.GatewayError`.
        Detaching twice is harmless."""
        with self._lock:
            self.calls += 1
            method = self._methods.get(payment_method_id)
            if method is None:
                raise GatewayError(f"no such payment method {payment_method_id!r}")
            method.attached = False

    def charge(self, request: ChargeRequest) -> ChargeResult:
        """Charge off-session, replaying the first outcome for a repeated key."""
        with self._lock:
            self.calls += 1
            key = request.idempotency_key
            fingerprint = (request.amount, request.customer_id, request.payment_method_id)
            stored = self._charge_keys.get(key)
            if stored is not None:
                first = stored[0]
                if first != fingerprint:
                    if first[0] != request.amount:
                        raise IdempotencyError(
                            key, f"reused with a different amount (first {first[0]}, "
                            f"now {request.amount})")
                    raise IdempotencyError(key)
                return stored[1]
            kind = self._check_method(request)
            script = self._pick_script(request, kind)
            return self._execute(request, script, fingerprint)

    def refund(self, request: RefundRequest) -> RefundResult:
        """Refund all or part of a succeeded payment; more than is left is refused.

        Raises :class:`~milestonebill.errors.GatewayError` for an unknown or unsucceeded payment,
        :class:`~milestonebill.errors.CurrencyMismatchError` for an amount in
        another currency, and :class:`~milestonebill.errors.ValidationError` naming ``amount``
        when it is not positive or more than is left to refund.
        """
        with self._lock:
            self.calls += 1
            key = request.idempotency_key
            fingerprint = (request.gateway_ref, request.amount)
            stored = self._refund_keys.get(key)
            if stored is not None:
                if stored[0] != fingerprint:
                    raise IdempotencyError(key)
                return stored[1]
            payment = self._payments.get(request.gateway_ref)
            if payment is None:
                raise GatewayError(f"no such payment {request.gateway_ref!r}")
            if payment.status is not ChargeStatus.SUCCEEDED:
                raise GatewayError(
                    f"payment {request.gateway_ref!r} is {payment.status.value}; "
                    "only a succeeded payment can be refunded"
                )
            charged = payment.request.amount
            remaining = Money.from_minor(charged.minor - payment.refunded_minor, charged.currency)
            amount = remaining if request.amount is None else request.amount
            if amount.currency != charged.currency:
                raise CurrencyMismatchError(charged.currency.code, amount.currency.code, "refund")
            if amount.minor > remaining.minor or amount.minor <= 0:
                raise ValidationError("amount", f"between 0.00 and {remaining} (what is left to refund)", amount)
            payment.refunded_minor += amount.minor
            refund_ref = self._next_id("re_mem")
            result = RefundResult(RefundStatus.SUCCEEDED, amount, key, refund_ref)
            self._refund_keys[key] = (fingerprint, result)
            self._emit(
                GatewayEventKind.PAYMENT_REFUNDED, refund_ref, payment=payment,
                amount=Money.from_minor(payment.refunded_minor, charged.currency),
            )
            return result

    def parse_webhook(
        self, payload: bytes, signature_header: str, now: datetime
    ) -> GatewayEvent | None:
        """Verify a delivery from :meth:`deliveries` and map it back to a :class:`GatewayEvent`.

        A forged, tampered or stale delivery raises
        :class:`~milestonebill.errors.WebhookSignatureError`; a correctly
        signed body this gateway would not send raises
        :class:`~milestonebill.errors.WebhookPayloadError` naming the field;
        an event type it does not know returns ``None``.
        """
        _signing.verify(self._secret, payload, signature_header, now, self._tolerance)
        body = _webhook.load_object(payload)
        try:
            kind = GatewayEventKind(_webhook.text(body, "type", "type"))
        except ValueError as exc:
            if isinstance(exc, WebhookPayloadError):
                raise
            return None
        return _event_from_json(body, kind)

    # ------------------------------------------------------------ persistence

    def to_state(self) -> dict[str, Any]:
        """Everything the gateway remembers, as JSON-ready data.

        Customers, saved payment methods, payments, the charges that moved
        money, every idempotency record (so a replay after
        :meth:`from_state` returns the first outcome), the id counters, the
        events, pending scripts and :attr:`calls`.  Money is written as
        ``{"amount", "currency"}``; configuration (the webhook secret, fees,
        clock, tolerance) is not state and is not written.

        >>> gw = InMemoryGateway()
        >>> _ = gw.create_customer(CustomerRequest(reference="client-42"))
        >>> state = gw.to_state()
        >>> state["format"], state["counters"], state["customers"][0]["customer"]
        ('milestonebill.memory-gateway/1', {'cus_mem': 1}, {'customer_id': 'cus_mem_0001', 'reference': 'client-42'})
        """
        with self._lock:
            return {
                "format": STATE_FORMAT,
                "calls": self.calls,
                "counters": dict(self._counters),
                "customers": [{"key": k, "customer": encode(c)}
                              for k, c in self._customers.items()],
                "setups": [{"key": k, "customer_id": fp[0], "token": fp[1],
                            "kind": encode(fp[2]), "result": encode(r)}
                           for k, (fp, r) in self._setups.items()],
                "methods": [{"saved": encode(m.saved), "token": m.token, "attached": m.attached}
                            for m in self._methods.values()],
                "charge_keys": [{"key": k, "amount": encode(fp[0]), "customer_id": fp[1],
                                 "payment_method_id": fp[2], "result": encode(r)}
                                for k, (fp, r) in self._charge_keys.items()],
                "payments": [{"ref": ref, "request": encode(p.request),
                              "status": encode(p.status), "refunded_minor": p.refunded_minor,
                              "fee": _money_json(p.fee)}
                             for ref, p in self._payments.items()],
                "charges": [encode(c) for c in self._charges],
                "refund_keys": [{"key": k, "gateway_ref": fp[0], "amount": encode(fp[1], Money | None),
                                 "result": encode(r)}
                                for k, (fp, r) in self._refund_keys.items()],
                "events": [encode(e) for e in self._events],
                "scripts": {
                    "next": [encode(x) for x in self._queue],
                    "payment_methods": [{"key": k, "outcome": encode(x)}
                                        for k, x in self._by_method.items()],
                    "setups": [{"key": k, "outcome": encode(x)}
                               for k, x in self._setup_scripts.items()],
                },
            }

    @classmethod
    def from_state(
        cls,
        state: object,
        *,
        webhook_secret: str = "whsec_memory",
        fees: Callable[[Money], Money | None] | None = None,
        clock: Clock | None = None,
        webhook_tolerance: timedelta = DEFAULT_WEBHOOK_TOLERANCE,
    ) -> InMemoryGateway:
        """A gateway that remembers what ``state`` (from :meth:`to_state`) says.

        It behaves exactly as the gateway that wrote ``state`` would have,
        given the same configuration: a repeated idempotency key replays the
        first outcome, ids continue from the same counters.  A state that is
        not of this form raises :class:`~milestonebill.errors.ValidationError`
        naming the path of the bad value (``state.payments[0].status``);
        nothing is half-restored.

        >>> gw = InMemoryGateway()
        >>> cust = gw.create_customer(CustomerRequest(reference="client-42"))
        >>> again = InMemoryGateway.from_state(gw.to_state())
        >>> again.create_customer(CustomerRequest(reference="client-42")) == cust
        True
        >>> again.create_customer(CustomerRequest(reference="client-43")).customer_id
        'cus_mem_0002'
        """
        gw = cls(webhook_secret=webhook_secret, fees=fees, clock=clock,
                 webhook_tolerance=webhook_tolerance)
        _restore(gw, state)
        return gw

    # --------------------------------------------------- later developments

    def settle(self, gateway_ref: str, outcome: Scripted) -> ChargeResult:
        """Resolve a processing payment, or one awaiting customer action.

        ``Scripted.succeed()`` (the debit cleared / the customer authenticated)
        or ``Scripted.decline(code)``; emits the matching webhook and returns
        the new state.  The stored replay for the key is *not* changed: like
        Stripe, an idempotent replay returns the first response.  Raises
        :class:`~milestonebill.errors.GatewayError` for an unknown payment or one already
        resolved, and :class:`~milestonebill.errors.ValidationError` naming ``outcome`` for
        anything but those two outcomes.
        """
        with self._lock:
            payment = self._payments.get(gateway_ref)
            if payment is None:
                raise GatewayError(f"no such payment {gateway_ref!r}")
            if payment.status not in (ChargeStatus.PROCESSING, ChargeStatus.REQUIRES_ACTION):
                raise GatewayError(f"payment {gateway_ref!r} is already {payment.status.value}")
            req = payment.request
            if outcome.behaviour is Behaviour.SUCCEED:
                if payment.status is ChargeStatus.REQUIRES_ACTION:
                    self._record(req, gateway_ref)
                payment.status = ChargeStatus.SUCCEEDED
                payment.fee = self._fee(req.amount)
                self._emit(GatewayEventKind.PAYMENT_SUCCEEDED, gateway_ref, payment=payment)
                return self._result(req, ChargeStatus.SUCCEEDED, gateway_ref, fee=payment.fee)
            if outcome.behaviour is Behaviour.DECLINE:
                payment.status = ChargeStatus.DECLINED
                code = outcome.decline_code or "card_declined"
                self._emit(GatewayEventKind.PAYMENT_FAILED, gateway_ref, payment=payment,
                           decline_code=code, message=outcome.message)
                return self._result(req, ChargeStatus.DECLINED, gateway_ref, decline_code=code,
                                    message=outcome.message)
            raise ValidationError("outcome", "Scripted.succeed() or Scripted.decline(code)", outcome)

    def open_dispute(self, gateway_ref: str, reason: str = "fraudulent") -> GatewayEvent:
        """The customer's bank disputes a succeeded payment; emits ``DISPUTE_OPENED``.

        Raises :class:`~milestonebill.errors.GatewayError` when there is no succeeded payment
        ``gateway_ref``.
        """
        with self._lock:
            payment = self._payments.get(gateway_ref)
            if payment is None or payment.status is not ChargeStatus.SUCCEEDED:
                raise GatewayError(f"no succeeded payment {gateway_ref!r} to dispute")
            return self._emit(GatewayEventKind.DISPUTE_OPENED, self._next_id("dp_mem"),
                              payment=payment, reason=reason)

    # --------------------------------------------------------------- private

    def _next_id(self, prefix: str) -> str:
        n = self._counters.get(prefix, 0) + 1
        self._counters[prefix] = n
        width = 6 if prefix == "evt_mem" else 4
        return f"{prefix}_{n:0{width}d}"

    def _check_method(self, request: ChargeRequest) -> PaymentMethodKind:
        method = self._methods.get(request.payment_method_id)
        if method is None:
            # Unknown ids are accepted as cards so a test can charge without saving first.
            return request.payment_method_kind
        if not method.attached:
            raise GatewayError(f"payment method {request.payment_method_id!r} is detached")
        if method.saved.customer_id != request.customer_id:
            raise GatewayError(
                f"payment method {request.payment_method_id!r} belongs to another customer"
            )
        return method.saved.kind

    def _pick_script(self, request: ChargeRequest, kind: PaymentMethodKind) -> Scripted:
        if self._queue:
            return self._queue.popleft()
        method = self._methods.get(request.payment_method_id)
        for k in (request.payment_method_id, method.token if method else None):
            if k is not None and k in self._by_method:
                return self._by_method[k]
        if kind is PaymentMethodKind.BANK_DEBIT:
            return Scripted.stay_processing()
        return Scripted.succeed()

    def _fee(self, amount: Money) -> Money | None:
        return None if self._fees is None else self._fees(amount)

    def _result(self, req: ChargeRequest, status: ChargeStatus, ref: str | None, **kw: Any) -> ChargeResult:
        return ChargeResult(status=status, amount=req.amount, idempotency_key=req.idempotency_key,
                            gateway_ref=ref, **kw)

    def _record(self, req: ChargeRequest, ref: str) -> None:
        self._charges.append(ChargeRecord(req.idempotency_key, ref, req.agreement_id,
                                          req.invoice_id, req.attempt, req.amount,
                                          req.payment_method_id))

    def _execute(self, req: ChargeRequest, script: Scripted, fingerprint: tuple[object, ...]) -> ChargeResult:
        key = req.idempotency_key
        b = script.behaviour
        if b is Behaviour.FAIL_RETRYABLY:
            # Nothing reached the money and nothing is remembered for the key.
            return self._result(req, ChargeStatus.FAILED_RETRYABLE, None,
                                message=script.message or "gateway unavailable")
        ref = self._next_id("pi_mem")
        payment = _Payment(req, ChargeStatus.SUCCEEDED)
        self._payments[ref] = payment
        if b in (Behaviour.SUCCEED, Behaviour.TIME_OUT_AFTER_CHARGE):
            self._record(req, ref)
            payment.fee = self._fee(req.amount)
            stored = self._result(req, ChargeStatus.SUCCEEDED, ref, fee=payment.fee)
            self._charge_keys[key] = (fingerprint, stored)
            self._emit(GatewayEventKind.PAYMENT_SUCCEEDED, ref, payment=payment)
            if b is Behaviour.TIME_OUT_AFTER_CHARGE:
                return self._result(req, ChargeStatus.FAILED_RETRYABLE, None,
                                    message="timed out waiting for the gateway; retry with the same key")
            return stored
        if b is Behaviour.STAY_PROCESSING:
            self._record(req, ref)
            payment.status = ChargeStatus.PROCESSING
            result = self._result(req, ChargeStatus.PROCESSING, ref)
            self._emit(GatewayEventKind.PAYMENT_PROCESSING, ref, payment=payment)
        elif b is Behaviour.REQUIRE_ACTION:
            payment.status = ChargeStatus.REQUIRES_ACTION
            result = self._result(req, ChargeStatus.REQUIRES_ACTION, ref, action_ref=ref,
                                  decline_code="authentication_required",
                                  message="the customer must authenticate this payment")
            self._emit(GatewayEventKind.PAYMENT_FAILED, ref, payment=payment,
                       decline_code="authentication_required")
        else:
            payment.status = ChargeStatus.DECLINED
            code = script.decline_code or "card_declined"
            result = self._result(req, ChargeStatus.DECLINED, ref, decline_code=code,
                                  decline_hard=is_hard_decline(code),
                                  message=script.message or "the card was declined")
            self._emit(GatewayEventKind.PAYMENT_FAILED, ref, payment=payment, decline_code=code,
                       message=result.message)
        self._charge_keys[key] = (fingerprint, result)
        return result

    def _emit(
        self,
        kind: GatewayEventKind,
        object_ref: str,
        *,
        payment: _Payment | None = None,
        amount: Money | None = None,
        decline_code: str | None = None,
        message: str | None = None,
        customer_id: CustomerId | None = None,
        payment_method_id: PaymentMethodId | None = None,
        reason: str | None = None,
    ) -> GatewayEvent:
        req = payment.request if payment is not None else None
        payment_ref = object_ref if kind in (
            GatewayEventKind.PAYMENT_SUCCEEDED, GatewayEventKind.PAYMENT_FAILED,
            GatewayEventKind.PAYMENT_PROCESSING) else None
        if payment_ref is None and payment is not None:
            payment_ref = next((r for r, p in self._payments.items() if p is payment), None)
        event = GatewayEvent(
            event_id=self._next_id("evt_mem"),
            kind=kind,
            occurred_at=self._clock.now(),
            object_ref=object_ref,
            payment_ref=payment_ref,
            agreement_id=req.agreement_id if req else None,
            invoice_id=req.invoice_id if req else None,
            attempt=req.attempt if req else None,
            amount=amount if amount is not None else (req.amount if req else None),
            charge_status=payment.status if payment is not None and kind in (
                GatewayEventKind.PAYMENT_SUCCEEDED, GatewayEventKind.PAYMENT_FAILED,
                GatewayEventKind.PAYMENT_PROCESSING) else None,
            decline_code=decline_code,
            decline_hard=is_hard_decline(decline_code),
            message=message,
            fee=payment.fee if payment is not None and kind is GatewayEventKind.PAYMENT_SUCCEEDED else None,
            customer_id=customer_id if customer_id is not None else (req.customer_id if req else None),
            payment_method_id=payment_method_id if payment_method_id is not None
            else (req.payment_method_id if req else None),
            reason=reason,
        )
        self._events.append(event)
        return event



# ------------------------------------------------------------------ restoring state


def _restore(gw: InMemoryGateway, state: object) -> None:
    """Fill the empty ``gw`` from ``state``, checking everything before changing it."""
    f = "state"
    top = _state.record(state, f, "an object written by InMemoryGateway.to_state()")
    if top.get("format") != STATE_FORMAT:
        raise ValidationError(f"{f}.format", repr(STATE_FORMAT), top.get("format"))
    _state.known(top, f, ("format", "calls", "counters", "customers", "setups", "methods",
                          "charge_keys", "payments", "charges", "refund_keys", "events",
                          "scripts"))
    counters = _state.record(top.get("counters", {}), f"{f}.counters", "an object of counts")
    counts = {k: _state.count(v, f"{f}.counters.{k}") for k, v in counters.items()}
    customers: dict[str, CustomerRef] = _state.keyed(top, "customers", f, lambda x, p: _state.field(
        x, "customer", CustomerRef, p))
    setups: dict[str, tuple[tuple[object, ...], SetupResult]] = _state.keyed(top, "setups", f, lambda x, p: (
        (_state.field(x, "customer_id", str, p), _state.field(x, "token", str, p),
         _state.field(x, "kind", PaymentMethodKind, p)),
        _state.field(x, "result", SetupResult, p)))
    methods = [_Method(_state.field(x, "saved", SavedPaymentMethod, p),
                       _state.field(x, "token", str, p), _state.field(x, "attached", bool, p))
               for x, p in _state.listed(top, "methods", f)]
    charge_keys: dict[str, tuple[tuple[object, ...], ChargeResult]] = _state.keyed(top, "charge_keys", f, lambda x, p: (
        (_state.field(x, "amount", Money, p), _state.field(x, "customer_id", str, p),
         _state.field(x, "payment_method_id", str, p)),
        _state.field(x, "result", ChargeResult, p)))
    payments = {_state.field(x, "ref", str, p): _Payment(
        _state.field(x, "request", ChargeRequest, p), _state.field(x, "status", ChargeStatus, p),
        _state.count(x.get("refunded_minor"), f"{p}.refunded_minor"),
        _state.field(x, "fee", Money | None, p)) for x, p in _state.listed(top, "payments", f)}
    refund_keys: dict[str, tuple[tuple[object, ...], RefundResult]] = _state.keyed(top, "refund_keys", f, lambda x, p: (
        (_state.field(x, "gateway_ref", str, p), _state.field(x, "amount", Money | None, p)),
        _state.field(x, "result", RefundResult, p)))
    charges = decode(top.get("charges", []), tuple[ChargeRecord, ...], f"{f}.charges")
    events = decode(top.get("events", []), tuple[GatewayEvent, ...], f"{f}.events")
    scripts = _state.record(top.get("scripts", {}), f"{f}.scripts", "an object of scripts")
    queue = decode(scripts.get("next", []), tuple[Scripted, ...], f"{f}.scripts.next")
    by_method, setup_scripts = (
        _state.keyed(scripts, name, f"{f}.scripts",
                     lambda x, p: _state.field(x, "outcome", Scripted, p))
        for name in ("payment_methods", "setups"))
    with gw._lock:
        gw.calls = _state.count(top.get("calls", 0), f"{f}.calls")
        gw._counters, gw._customers, gw._setups = counts, customers, setups
        gw._methods = {m.saved.payment_method_id: m for m in methods}
        gw._charge_keys, gw._payments, gw._refund_keys = charge_keys, payments, refund_keys
        gw._charges, gw._events, gw._queue = list(charges), list(events), deque(queue)
        gw._by_method, gw._setup_scripts = by_method, setup_scripts

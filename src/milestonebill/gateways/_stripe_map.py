"""The Stripe adapter's pure half: amounts and the mapping of Stripe's objects.

Private to :mod:`milestonebill.gateways`; :mod:`milestonebill.gateways.stripe`
re-exports the public names.  Nothing here imports the ``stripe`` package or
touches the network: these functions read plain mappings (an API response,
a webhook's event) and return milestonebill values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar, cast

from milestonebill.errors import GatewayError, ValidationError, WebhookPayloadError
from milestonebill.gateways import _webhook
from milestonebill.gateways.base import (
    ChargeResult,
    ChargeStatus,
    CustomerId,
    GatewayEvent,
    GatewayEventKind,
    PaymentMethodId,
    PaymentMethodKind,
    RefundResult,
    RefundStatus,
    SavedPaymentMethod,
    SetupResult,
    SetupStatus,
    is_hard_decline,
)
from milestonebill.money import Currency, Money

__all__ = [
    "STRIPE_TYPES",
    "application_fee_of",
    "decline_of",
    "fee_of",
    "from_stripe_amount",
    "get_in",
    "latest_charge",
    "map_charge_error",
    "map_event",
    "map_payment_intent",
    "map_refund",
    "map_setup_intent",
    "ref_of",
    "stripe_step",
    "text_in",
    "to_stripe_amount",
]

_T = TypeVar("_T")

# Where Stripe's amount exponent differs from ISO 4217's: ISK stays two-decimal
# in the API (whole krónur only), MGA is zero-decimal at Stripe.
_STRIPE_EXPONENT: Final[dict[str, int]] = {"ISK": 2, "MGA": 0}
# Three-decimal currencies whose last digit Stripe requires to be zero.
_ROUND_TO_TEN: Final = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})


def stripe_step(currency: Currency) -> int:
    """The smallest amount Stripe can charge in ``currency``, in ISO minor units.

    1 for most currencies; 10 for the three-decimal ones (Stripe wants a
    last digit of 0); 100 for MGA, which Stripe keeps zero-decimal.

    >>> stripe_step(Currency.of("USD")), stripe_step(Currency.of("KWD")), stripe_step(Currency.of("MGA"))
    (1, 10, 100)
    """
    if currency.code in _ROUND_TO_TEN:
        return 10
    shift = _STRIPE_EXPONENT.get(currency.code, currency.exponent) - currency.exponent
    return 10**-shift if shift < 0 else 1


def to_stripe_amount(money: Money, field: str = "amount") -> int:
    """``money`` as the integer Stripe expects in ``amount``.

    Usually the ISO minor units; Stripe keeps ISK two-decimal and MGA
    zero-decimal, and wants three-decimal amounts to end in 0.  Amounts
    Stripe cannot represent exactly are refused rather than rounded.

    >>> to_stripe_amount(Money("12.34", "USD")), to_stripe_amount(Money("500", "JPY"))
    (1234, 500)
    >>> to_stripe_amount(Money("5", "ISK")), to_stripe_amount(Money("5.120", "KWD"))
    (500, 5120)
    >>> to_stripe_amount(Money("5.124", "KWD"))
    Traceback (most recent call last):
    ...
    milestonebill.errors.ValidationError: 'amount' must be a multiple of 0.010 KWD for Stripe (got Money('5.124', 'KWD'))
    """
    cur = money.currency
    code = cur.code
    if code in _ROUND_TO_TEN and money.minor % 10:
        raise ValidationError(field, f"a multiple of 0.010 {code} for Stripe", money)
    stripe_exp = _STRIPE_EXPONENT.get(code, cur.exponent)
    shift = stripe_exp - cur.exponent
    if shift >= 0:
        return int(money.minor * 10**shift)
    q, r = divmod(int(money.minor), 10**-shift)
    if r:
        raise ValidationError(field, f"whole units of {code} for Stripe", money)
    return int(q)


def from_stripe_amount(amount: int, currency: str) -> Money:
    """A Stripe ``amount`` and ``currency`` as :class:`Money`.

    ``amount`` is Stripe's integer in the currency's smallest unit (Stripe's
    own, which for a few currencies differs from ISO 4217's minor unit).
    Raises :class:`~milestonebill.errors.ValidationError` naming ``amount``
    for a non-integer or one that is not a whole number of minor units.

    >>> from_stripe_amount(1234, "usd"), from_stripe_amount(500, "isk")
    (Money('12.34', 'USD'), Money('5', 'ISK'))
    """
    if type(amount) is not int:
        raise ValidationError("amount", "an integer from Stripe", amount)
    cur = Currency.of(currency)
    shift = _STRIPE_EXPONENT.get(cur.code, cur.exponent) - cur.exponent
    if shift >= 0:
        q, r = divmod(amount, 10**shift)
        if r:
            raise ValidationError("amount", f"whole {cur.code} minor units", amount)
        return Money.from_minor(q, cur)
    return Money.from_minor(amount * 10**-shift, cur)


# ------------------------------------------------------------ pure mappers


def get_in(obj: Any, *path: str) -> Any:
    for p in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(p)
    return obj


def text_in(obj: Any, *path: str) -> str | None:
    """The string at ``path``, or ``None`` when absent or not a string."""
    value = get_in(obj, *path)
    return value if isinstance(value, str) else None


def ref_of(value: Any) -> str | None:
    """An id, whether Stripe sent it bare or expanded into an object."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return cast(str, value["id"])
    return None


def _opt(make: Callable[[str], _T], value: Any) -> _T | None:
    ref = ref_of(value)
    return None if ref is None else make(ref)


def fee_of(charge: Any) -> Money | None:
    """The fee on a charge's balance transaction, when it is there (expanded) and readable."""
    bt = get_in(charge, "balance_transaction")
    if not isinstance(bt, Mapping) or type(bt.get("fee")) is not int:
        return None
    currency = bt.get("currency")
    if not isinstance(currency, str) or bt["fee"] < 0:
        return None
    try:
        return from_stripe_amount(bt["fee"], currency)
    except ValidationError:
        return None


def application_fee_of(pi: Mapping[str, Any]) -> Money | None:
    """The platform's application fee a PaymentIntent names, when it names a readable one.

    ``application_fee_amount`` is in the PaymentIntent's currency (Stripe
    caps what it collects at the amount); absent or null means none.
    """
    value = pi.get("application_fee_amount")
    currency = pi.get("currency")
    if type(value) is not int or value < 0 or not isinstance(currency, str):
        return None
    try:
        return from_stripe_amount(value, currency)
    except ValidationError:
        return None


def latest_charge(pi: Mapping[str, Any]) -> Any:
    latest = pi.get("latest_charge")
    if latest is not None:
        return latest
    # API versions before 2022-11-15 list charges instead.
    data = get_in(pi, "charges", "data")
    return data[-1] if isinstance(data, list) and data else None


def decline_of(code: str | None, decline_code: str | None) -> tuple[str | None, bool]:
    chosen = decline_code or code
    return chosen, is_hard_decline(chosen) or is_hard_decline(code)


def map_payment_intent(
    pi: Mapping[str, Any], *, idempotency_key: str, amount: Money | None = None
) -> ChargeResult:
    """A PaymentIntent (as a plain mapping) as a :class:`ChargeResult`.

    ``amount`` (:class:`Money`) defaults to the PaymentIntent's own amount.
    Raises :class:`~milestonebill.errors.GatewayError` for a status this adapter does not know.
    """
    pi_id = ref_of(pi)
    charged = amount if amount is not None else from_stripe_amount(pi["amount"], pi["currency"])
    status = pi.get("status")
    common: dict[str, Any] = {"amount": charged, "idempotency_key": idempotency_key,
                              "gateway_ref": pi_id}
    if status == "succeeded":
        return ChargeResult(ChargeStatus.SUCCEEDED, fee=fee_of(latest_charge(pi)),
                            application_fee=application_fee_of(pi), **common)
    if status == "processing":
        return ChargeResult(ChargeStatus.PROCESSING, **common)
    if status in ("requires_action", "requires_confirmation"):
        return ChargeResult(ChargeStatus.REQUIRES_ACTION, action_ref=pi_id,
                            message="the customer must authenticate this payment", **common)
    error = pi.get("last_payment_error") or {}
    code = text_in(error, "code")
    if status == "requires_payment_method" and code == "authentication_required":
        return ChargeResult(ChargeStatus.REQUIRES_ACTION, action_ref=pi_id,
                            decline_code=code, message=text_in(error, "message"), **common)
    if status in ("requires_payment_method", "canceled"):
        chosen, hard = decline_of(code, text_in(error, "decline_code"))
        return ChargeResult(ChargeStatus.DECLINED, decline_code=chosen or status,
                            decline_hard=hard, message=text_in(error, "message"), **common)
    raise GatewayError(f"PaymentIntent {pi_id!r} has an unexpected status {status!r}")


def map_charge_error(
    error: Mapping[str, Any], *, idempotency_key: str, amount: Money
) -> ChargeResult:
    """The ``error`` object of a 402 card error as a :class:`ChargeResult`."""
    code = text_in(error, "code")
    pi = get_in(error, "payment_intent")
    ref = ref_of(pi) or ref_of(get_in(error, "charge"))
    message = text_in(error, "message")
    if code == "authentication_required":
        return ChargeResult(ChargeStatus.REQUIRES_ACTION, amount, idempotency_key,
                            gateway_ref=ref, action_ref=ref_of(pi) or ref, decline_code=code,
                            message=message)
    chosen, hard = decline_of(code, text_in(error, "decline_code"))
    return ChargeResult(ChargeStatus.DECLINED, amount, idempotency_key, gateway_ref=ref,
                        decline_code=chosen or "card_declined", decline_hard=hard, message=message)


#: Stripe's payment method type for each kind; Stripe debits bank accounts as US ones.
STRIPE_TYPES: Mapping[PaymentMethodKind, str] = {
    PaymentMethodKind.CARD: "card",
    PaymentMethodKind.BANK_DEBIT: "us_bank_account",
}
_KINDS = {stripe_type: kind for kind, stripe_type in STRIPE_TYPES.items()}


def _kind_of(value: Any) -> PaymentMethodKind:
    kind = _KINDS.get(value) if isinstance(value, str) else None
    if kind is None:
        raise GatewayError(f"unsupported payment method type {value!r}")
    return kind


def map_setup_intent(si: Mapping[str, Any], *, customer_id: CustomerId | None = None) -> SetupResult:
    """A SetupIntent (as a plain mapping) as a :class:`SetupResult`."""
    status = si.get("status")
    pm = si.get("payment_method")
    saved = None
    pm_id = ref_of(pm)
    cust = customer_id or ref_of(si.get("customer"))
    if pm_id is not None and cust is not None:
        kind_name = get_in(pm, "type") if isinstance(pm, Mapping) else None
        types = si.get("payment_method_types") or ["card"]
        kind = _kind_of(kind_name or types[0])
        details = get_in(pm, STRIPE_TYPES[kind]) if isinstance(pm, Mapping) else None
        saved = SavedPaymentMethod(
            PaymentMethodId(pm_id), CustomerId(cust), kind,
            last4=get_in(details, "last4"),
            brand=get_in(details, "brand") or get_in(details, "bank_name"),
        )
    ref = ref_of(si)
    if status == "succeeded":
        return SetupResult(SetupStatus.SUCCEEDED, ref, saved)
    if status == "processing":
        return SetupResult(SetupStatus.PROCESSING, ref, saved)
    if status in ("requires_action", "requires_confirmation"):
        return SetupResult(SetupStatus.REQUIRES_ACTION, ref, saved)
    error = si.get("last_setup_error") or {}
    chosen, _hard = decline_of(text_in(error, "code"), text_in(error, "decline_code"))
    return SetupResult(SetupStatus.DECLINED, ref, None, chosen or str(status),
                       text_in(error, "message"))


def map_refund(refund: Mapping[str, Any], *, idempotency_key: str) -> RefundResult:
    """A Refund (as a plain mapping) as a :class:`RefundResult`."""
    status = refund.get("status")
    mapped = {
        "succeeded": RefundStatus.SUCCEEDED,
        "pending": RefundStatus.PENDING,
        "requires_action": RefundStatus.PENDING,
    }.get(str(status), RefundStatus.FAILED)
    return RefundResult(mapped, from_stripe_amount(refund["amount"], refund["currency"]),
                        idempotency_key, ref_of(refund), text_in(refund, "failure_reason"))


_ATTEMPT: Final = re.compile(r"[0-9]{1,9}")
_MAPPED_EVENTS: Final = frozenset({
    "payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.processing",
    "charge.refunded", "charge.dispute.created", "setup_intent.succeeded"})


def _link(metadata: Any) -> dict[str, Any]:
    """The agreement, invoice and attempt our charges carry in their metadata."""
    md = metadata if isinstance(metadata, Mapping) else {}
    where = "data.object.metadata"
    attempt = md.get("attempt")
    return {
        "agreement_id": _webhook.optional_text(md, "agreement_id", f"{where}.agreement_id"),
        "invoice_id": _webhook.optional_text(md, "invoice_id", f"{where}.invoice_id"),
        "attempt": int(attempt) if isinstance(attempt, str) and _ATTEMPT.fullmatch(attempt)
        and int(attempt) > 0 else None,
    }


def _amount(obj: Mapping[str, Any], key: str) -> Money:
    """``obj[key]`` in ``obj["currency"]``: a Stripe amount in a webhook, never negative."""
    field = f"data.object.{key}"
    value = obj.get(key)
    if type(value) is not int or value < 0:
        raise WebhookPayloadError(field, "a whole number of Stripe units, 0 or more",
                                  value if type(value) is int else type(value).__name__)
    currency = obj.get("currency")
    if not isinstance(currency, str):
        raise WebhookPayloadError("data.object.currency", "a currency code",
                                  type(currency).__name__)
    try:
        return from_stripe_amount(value, currency)
    except ValidationError as exc:
        raise WebhookPayloadError(field, exc.expected, exc.value) from None


def _payment_event(kind: str, obj: Mapping[str, Any], base: dict[str, Any]) -> GatewayEvent:
    amount = _amount(obj, "amount")
    fee: Money | None = None
    decline_code: str | None = None
    hard = False
    message: str | None = None
    application_fee: Money | None = None
    if kind == "payment_intent.succeeded":
        status, event_kind = ChargeStatus.SUCCEEDED, GatewayEventKind.PAYMENT_SUCCEEDED
        fee = fee_of(latest_charge(obj))
        if obj.get("application_fee_amount") is not None:
            application_fee = _amount(obj, "application_fee_amount")
    elif kind == "payment_intent.processing":
        status, event_kind = ChargeStatus.PROCESSING, GatewayEventKind.PAYMENT_PROCESSING
    else:
        event_kind = GatewayEventKind.PAYMENT_FAILED
        error = obj.get("last_payment_error") or {}
        failed = map_charge_error(error if isinstance(error, Mapping) else {},
                                  idempotency_key="", amount=amount)
        status, decline_code = failed.status, failed.decline_code
        hard, message = failed.decline_hard, failed.message
    return GatewayEvent(
        kind=event_kind, payment_ref=base["object_ref"], amount=amount,
        charge_status=status, decline_code=decline_code,
        decline_hard=hard, message=message, fee=fee, application_fee=application_fee,
        customer_id=_opt(CustomerId, obj.get("customer")),
        payment_method_id=_opt(PaymentMethodId, obj.get("payment_method")),
        **_link(obj.get("metadata")), **base,
    )


def map_event(event: Mapping[str, Any]) -> GatewayEvent | None:
    """A Stripe Event (already verified) as a :class:`GatewayEvent`; ``None`` if unused.

    The fields it reads must have the shape Stripe sends: a missing or
    mistyped one raises :class:`~milestonebill.errors.WebhookPayloadError`
    naming it (``'data.object.amount'``...), never ``KeyError`` or
    ``TypeError``.  Payment webhooks are not expanded, so ``fee`` is
    usually ``None`` here (:meth:`StripeGateway.parse_webhook` fetches it).
    """
    kind = _webhook.text(event, "type", "type")
    if kind not in _MAPPED_EVENTS:
        return None
    obj = _webhook.subobject(_webhook.subobject(event, "data", "data"), "object", "data.object")
    base: dict[str, Any] = {
        "event_id": _webhook.text(event, "id", "id"),
        "occurred_at": _webhook.unix_time(event.get("created"), "created"),
        "object_ref": _webhook.text(obj, "id", "data.object.id"),
    }
    if kind.startswith("payment_intent."):
        return _payment_event(kind, obj, base)
    if kind == "charge.refunded":
        return GatewayEvent(
            kind=GatewayEventKind.PAYMENT_REFUNDED,
            payment_ref=ref_of(obj.get("payment_intent")) or base["object_ref"],
            amount=_amount(obj, "amount_refunded"),
            customer_id=_opt(CustomerId, obj.get("customer")),
            **_link(obj.get("metadata")), **base,
        )
    if kind == "charge.dispute.created":
        return GatewayEvent(
            kind=GatewayEventKind.DISPUTE_OPENED,
            payment_ref=ref_of(obj.get("payment_intent")) or ref_of(obj.get("charge")),
            amount=_amount(obj, "amount"),
            reason=_webhook.optional_text(obj, "reason", "data.object.reason"),
            **_link(obj.get("metadata")), **base,
        )
    return GatewayEvent(
        kind=GatewayEventKind.PAYMENT_METHOD_SAVED,
        customer_id=_opt(CustomerId, obj.get("customer")),
        payment_method_id=_opt(PaymentMethodId, obj.get("payment_method")),
        **base,
    )

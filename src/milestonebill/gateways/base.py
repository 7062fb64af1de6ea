"""The payment gateway port: a small protocol and the values it speaks.

The :class:`PaymentGateway` protocol uses only milestonebill types, so the
engine never sees a vendor object.  Every mutating call carries an
idempotency key that is *derived* from domain identity, never random: a
charge's key comes from ``(agreement, invoice, attempt)``, so a crashed
worker that retries the same attempt gets the original outcome instead of a
second charge.

>>> from milestonebill.money import Money
>>> req = ChargeRequest(agreement_id="agr-1", invoice_id="INV-0007", attempt=1,
...                     amount=Money("1250.00", "USD"), customer_id=CustomerId("cus_1"),
...                     payment_method_id=PaymentMethodId("pm_1"))
>>> req.idempotency_key
'mb-charge-v1-370ffa484af0d10e694fa37832d1957c06a940cc'
>>> req.idempotency_key == charge_idempotency_key("agr-1", "INV-0007", 1)
True

Charge outcomes are data, and whether to try again is a pure function of
the outcome:

>>> ok = ChargeResult(status=ChargeStatus.SUCCEEDED, amount=req.amount,
...                   idempotency_key=req.idempotency_key, gateway_ref="pi_1")
>>> retry_advice(ok)
<RetryAdvice.DONE: 'done'>
>>> soft = ChargeResult(status=ChargeStatus.DECLINED, amount=req.amount,
...                     idempotency_key=req.idempotency_key, decline_code="insufficient_funds")
>>> retry_advice(soft)
<RetryAdvice.RETRY_NEW_ATTEMPT: 'retry_new_attempt'>
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final, Protocol, runtime_checkable

import attrs

from milestonebill._validate import check_id, check_int, check_text, utc_datetime
from milestonebill.collection import HARD_DECLINE_CODES
from milestonebill.errors import (
    GatewayUnavailableError,
    IdempotencyError,
    MilestonebillError,
    ValidationError,
)
from milestonebill.ids import (
    CustomerId,
    PaymentMethodId,
    charge_idempotency_key,
    customer_idempotency_key,
    detach_idempotency_key,
    refund_idempotency_key,
    setup_idempotency_key,
)
from milestonebill.money import Money
from milestonebill.payment_methods import PaymentMethodKind

__all__ = [
    "DEFAULT_WEBHOOK_TOLERANCE",
    "HARD_DECLINE_CODES",
    "ChargeRequest",
    "ChargeResult",
    "ChargeStatus",
    "CustomerId",
    "CustomerRef",
    "CustomerRequest",
    "GatewayEvent",
    "GatewayEventKind",
    "MandateAcceptance",
    "PaymentGateway",
    "PaymentMethodId",
    "PaymentMethodKind",
    "RefundRequest",
    "RefundResult",
    "RefundStatus",
    "RetryAdvice",
    "SavedPaymentMethod",
    "SetupRequest",
    "SetupResult",
    "SetupStatus",
    "WebhookDelivery",
    "charge_idempotency_key",
    "customer_idempotency_key",
    "detach_idempotency_key",
    "is_hard_decline",
    "refund_idempotency_key",
    "retry_advice",
    "settle_status",
    "setup_idempotency_key",
]


#: Stripe's maximum idempotency-key and metadata sizes, which we keep to everywhere.
_MAX_METADATA_KEYS: Final = 50
_MAX_METADATA_KEY_LEN: Final = 40
_MAX_METADATA_VALUE_LEN: Final = 500
#: Metadata keys the gateway itself writes to link a payment to the agreement.
_RESERVED_METADATA: Final = frozenset({"agreement_id", "invoice_id", "attempt"})


def _metadata(value: Mapping[str, str] | tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    items = tuple(sorted(value.items())) if isinstance(value, Mapping) else tuple(value)
    if len(items) > _MAX_METADATA_KEYS:
        raise ValidationError("metadata", f"at most {_MAX_METADATA_KEYS} keys", len(items))
    seen: set[str] = set()
    for k, v in items:
        if not isinstance(k, str) or not k or len(k) > _MAX_METADATA_KEY_LEN or "[" in k:
            raise ValidationError(
                "metadata", f"keys of 1..{_MAX_METADATA_KEY_LEN} characters without '['", k
            )
        if k in seen:
            raise ValidationError("metadata", "unique keys", k)
        seen.add(k)
        if not isinstance(v, str) or len(v) > _MAX_METADATA_VALUE_LEN:
            raise ValidationError(
                f"metadata[{k}]", f"a string of at most {_MAX_METADATA_VALUE_LEN} characters", v
            )
    return tuple(sorted(items))


def _optional_text(_inst: object, attr: attrs.Attribute[Any], value: str | None) -> None:
    # Text a person typed, kept by the gateway: screened like the library's own.
    if value is not None:
        check_text(attr.name, value)


def _positive_money(field: str) -> Callable[[Any, Any, Any], None]:
    def check(_inst: object, _attr: object, value: object) -> None:
        if not isinstance(value, Money):
            raise ValidationError(field, "a Money", value)
        if value.minor <= 0:
            raise ValidationError(field, "a positive amount", value)

    return check


# --------------------------------------------------------------------- enums


class ChargeStatus(enum.Enum):
    """The outcome of one charge attempt.

    * ``SUCCEEDED`` -- the money moved.
    * ``DECLINED`` -- the issuer or bank said no (``decline_code``, hard or soft).
    * ``REQUIRES_ACTION`` -- the customer must authenticate; automatic retries stop.
    * ``PROCESSING`` -- accepted, final answer later by webhook (bank debits take days).
    * ``FAILED_RETRYABLE`` -- we do not know or the gateway was unavailable; retry
      with the *same* idempotency key.
    """

    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    FAILED_RETRYABLE = "failed_retryable"


class SetupStatus(enum.Enum):
    """The outcome of saving a payment method for off-session use."""

    SUCCEEDED = "succeeded"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    DECLINED = "declined"


class RefundStatus(enum.Enum):
    """The outcome of a refund request.

    A gateway that cannot be reached raises
    :class:`~milestonebill.errors.GatewayUnavailableError` instead; retry with
    the same request (the same key).
    """

    SUCCEEDED = "succeeded"
    PENDING = "pending"
    FAILED = "failed"


class RetryAdvice(enum.Enum):
    """What to do after a charge outcome; see :func:`retry_advice`."""

    DONE = "done"
    RETRY_SAME_KEY = "retry_same_key"
    RETRY_NEW_ATTEMPT = "retry_new_attempt"
    WAIT_FOR_CUSTOMER = "wait_for_customer"
    WAIT_FOR_WEBHOOK = "wait_for_webhook"
    STOP = "stop"


class GatewayEventKind(enum.Enum):
    """The kinds of webhook notification a gateway maps to milestonebill events."""

    PAYMENT_SUCCEEDED = "payment.succeeded"
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_PROCESSING = "payment.processing"
    PAYMENT_REFUNDED = "payment.refunded"
    DISPUTE_OPENED = "dispute.opened"
    PAYMENT_METHOD_SAVED = "payment_method.saved"




def is_hard_decline(code: str | None) -> bool:
    """True when ``code`` means the same payment method will never succeed.

    >>> is_hard_decline("stolen_card"), is_hard_decline("insufficient_funds"), is_hard_decline(None)
    (True, False, False)
    """
    return code is not None and code in HARD_DECLINE_CODES


# -------------------------------------------------------------------- values


@attrs.frozen
class CustomerRequest:
    """Create the gateway customer for the host's client ``reference``."""

    reference: str = attrs.field(validator=lambda _i, _a, v: check_id("reference", v))
    name: str | None = attrs.field(default=None, validator=_optional_text)
    email: str | None = attrs.field(default=None, validator=_optional_text)
    metadata: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_metadata)

    @property
    def idempotency_key(self) -> str:
        """Derived from ``reference``: creating the same client twice yields one customer."""
        return customer_idempotency_key(self.reference)


@attrs.frozen
class CustomerRef:
    """A customer at the gateway."""

    customer_id: CustomerId
    reference: str


@attrs.frozen
class MandateAcceptance:
    """Proof that the customer accepted a debit mandate (required for bank accounts).

    ``accepted_at`` must be timezone-aware (a naive one raises
    :class:`~milestonebill.errors.ValidationError`).  ``Biller.onboard`` builds
    it from ``mandate_accepted_at``, ``mandate_ip_address`` and
    ``mandate_user_agent``; build it yourself only to call the gateway directly.

    >>> from datetime import UTC, datetime
    >>> MandateAcceptance(datetime(2026, 3, 2, 9, tzinfo=UTC), "203.0.113.7", "Mozilla/5.0").ip_address
    '203.0.113.7'
    """

    #: When the customer accepted the mandate (timezone-aware).
    accepted_at: datetime
    #: The customer's IP address at acceptance, as the host saw it.
    ip_address: str | None = None
    #: The customer's browser user agent at acceptance.
    user_agent: str | None = None

    def __attrs_post_init__(self) -> None:
        utc_datetime(self.accepted_at, "accepted_at")


@attrs.frozen
class SetupRequest:
    """Save ``payment_method_token`` (from the client's browser) for off-session use.

    For ``BANK_DEBIT`` a :class:`MandateAcceptance` is required: without one
    :class:`~milestonebill.errors.ValidationError` names ``mandate``.
    """

    customer_id: CustomerId = attrs.field(validator=lambda _i, _a, v: check_id("customer_id", v))
    payment_method_token: str = attrs.field(
        validator=lambda _i, _a, v: check_id("payment_method_token", v)
    )
    kind: PaymentMethodKind = PaymentMethodKind.CARD
    mandate: MandateAcceptance | None = None
    metadata: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_metadata)

    def __attrs_post_init__(self) -> None:
        if self.kind is PaymentMethodKind.BANK_DEBIT and self.mandate is None:
            raise ValidationError("mandate", "given for a bank debit", None)

    @property
    def idempotency_key(self) -> str:
        """Derived from ``(customer_id, payment_method_token)``."""
        return setup_idempotency_key(self.customer_id, self.payment_method_token)


@attrs.frozen
class SavedPaymentMethod:
    """A payment method saved for off-session charges."""

    payment_method_id: PaymentMethodId
    customer_id: CustomerId
    kind: PaymentMethodKind
    last4: str | None = None
    brand: str | None = None


@attrs.frozen
class SetupResult:
    """What saving a payment method did.

    ``setup_ref`` is the gateway's id of the setup (a SetupIntent); with
    ``REQUIRES_ACTION`` the host brings the client back to finish it.
    """

    status: SetupStatus
    setup_ref: str | None
    payment_method: SavedPaymentMethod | None = None
    decline_code: str | None = None
    message: str | None = None


@attrs.frozen
class ChargeRequest:
    """Charge one invoice off-session, as attempt number ``attempt``.

    The idempotency key is derived from ``(agreement_id, invoice_id,
    attempt)``; there is no way to pass a random one.  ``metadata`` using one
    of those three reserved keys raises :class:`~milestonebill.errors.ValidationError` naming
    ``metadata``.
    """

    agreement_id: str = attrs.field(validator=lambda _i, _a, v: check_id("agreement_id", v))
    invoice_id: str = attrs.field(validator=lambda _i, _a, v: check_id("invoice_id", v))
    attempt: int = attrs.field(validator=lambda _i, _a, v: check_int("attempt", v, at_least=1))
    amount: Money = attrs.field(validator=_positive_money("amount"))
    customer_id: CustomerId = attrs.field(validator=lambda _i, _a, v: check_id("customer_id", v))
    payment_method_id: PaymentMethodId = attrs.field(
        validator=lambda _i, _a, v: check_id("payment_method_id", v)
    )
    description: str | None = None
    metadata: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_metadata)
    payment_method_kind: PaymentMethodKind = PaymentMethodKind.CARD

    def __attrs_post_init__(self) -> None:
        clash = sorted(_RESERVED_METADATA & {k for k, _ in self.metadata})
        if clash:
            raise ValidationError("metadata", "free of the reserved keys agreement_id, invoice_id, attempt", clash[0])

    @property
    def idempotency_key(self) -> str:
        """``charge_idempotency_key(agreement_id, invoice_id, attempt)``."""
        return charge_idempotency_key(self.agreement_id, self.invoice_id, self.attempt)

    def link_metadata(self) -> tuple[tuple[str, str], ...]:
        """The metadata a gateway stores with the payment: the link back plus ``metadata``.

        >>> from milestonebill.money import Money
        >>> ChargeRequest("agr-1", "INV-1", 2, Money("5.00", "USD"), CustomerId("c"),
        ...               PaymentMethodId("p")).link_metadata()
        (('agreement_id', 'agr-1'), ('attempt', '2'), ('invoice_id', 'INV-1'))
        """
        link = {"agreement_id": self.agreement_id, "invoice_id": self.invoice_id,
                "attempt": str(self.attempt)}
        return tuple(sorted({**dict(self.metadata), **link}.items()))


@attrs.frozen
class ChargeResult:
    """The outcome of one charge attempt.

    ``gateway_ref`` identifies the payment at the gateway (a PaymentIntent
    id); ``action_ref`` is what the host needs to bring the client back when
    ``status`` is ``REQUIRES_ACTION``; ``fee`` is the gateway's fee when known
    (it may be in the settlement currency, not the charge currency);
    ``application_fee`` is the platform's cut of a charge made on a connected
    account (Stripe Connect's ``application_fee_amount``), in the charge's
    currency, ``None`` when the platform takes none.
    """

    status: ChargeStatus
    amount: Money
    idempotency_key: str
    gateway_ref: str | None = None
    decline_code: str | None = None
    decline_hard: bool = False
    message: str | None = None
    fee: Money | None = None
    action_ref: str | None = None
    application_fee: Money | None = None


@attrs.frozen
class RefundRequest:
    """Refund all (``amount=None``) or part of a succeeded payment.

    ``refund_id`` is the domain's id for this refund (a credit note id); the
    idempotency key is derived from ``(agreement_id, invoice_id, refund_id)``.
    """

    agreement_id: str = attrs.field(validator=lambda _i, _a, v: check_id("agreement_id", v))
    invoice_id: str = attrs.field(validator=lambda _i, _a, v: check_id("invoice_id", v))
    refund_id: str = attrs.field(validator=lambda _i, _a, v: check_id("refund_id", v))
    gateway_ref: str = attrs.field(validator=lambda _i, _a, v: check_id("gateway_ref", v))
    amount: Money | None = attrs.field(default=None)
    reason: str | None = attrs.field(default=None, validator=_optional_text)
    metadata: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_metadata)

    @amount.validator
    def _check_amount(self, _attr: object, value: Money | None) -> None:
        if value is not None:
            _positive_money("amount")(self, _attr, value)

    @property
    def idempotency_key(self) -> str:
        """``refund_idempotency_key(agreement_id, invoice_id, refund_id)``."""
        return refund_idempotency_key(self.agreement_id, self.invoice_id, self.refund_id)


@attrs.frozen
class RefundResult:
    """The outcome of a refund; ``amount`` is what this refund returns."""

    status: RefundStatus
    amount: Money
    idempotency_key: str
    refund_ref: str | None = None
    message: str | None = None


@attrs.frozen
class GatewayEvent:
    """A verified webhook notification, mapped to milestonebill terms.

    ``event_id`` is the gateway's id of the notification: a consumer that
    has already seen it can drop it (duplicates).  The other fields state
    the *current* state of an object, not a delta, so applying them in any
    order with :func:`settle_status` gives the same result (out of order).
    Fields not relevant to a ``kind`` are ``None``.  ``amount`` is the
    payment amount, or for ``PAYMENT_REFUNDED`` the total refunded so far,
    or for ``DISPUTE_OPENED`` the disputed amount.  ``application_fee`` is
    the platform's cut of a payment on a connected account, when it took one.
    """

    event_id: str
    kind: GatewayEventKind
    occurred_at: datetime
    object_ref: str
    payment_ref: str | None = None
    agreement_id: str | None = None
    invoice_id: str | None = None
    attempt: int | None = None
    amount: Money | None = None
    charge_status: ChargeStatus | None = None
    decline_code: str | None = None
    decline_hard: bool = False
    message: str | None = None
    fee: Money | None = None
    customer_id: CustomerId | None = None
    payment_method_id: PaymentMethodId | None = None
    reason: str | None = None
    application_fee: Money | None = None


@attrs.frozen
class WebhookDelivery:
    """A webhook as received over HTTP: raw body bytes and signature header."""

    payload: bytes
    signature_header: str
    received_at: datetime


# ---------------------------------------------------------------------- port


@runtime_checkable
class PaymentGateway(Protocol):
    """The port the engine charges through; adapters implement it.

    Contract (checked by :mod:`milestonebill.testing.gateway_contract`):

    * every mutating call is idempotent under the request's derived key: a
      repeat returns the first outcome and moves no more money; the same key
      with a different amount raises :class:`~milestonebill.errors.IdempotencyError`;
    * payment outcomes (declines, required actions, transient failures) are
      returned as :class:`ChargeResult`, never raised; misconfiguration and
      refused requests raise :class:`~milestonebill.errors.GatewayError`;
    * no vendor exception escapes.

    An adapter may name itself with a ``name`` string attribute (the shipped
    ones are ``"memory"`` and ``"stripe"``): the Biller writes it into the
    :class:`~milestonebill.payment_methods.PaymentMethodRef` of a payment
    method it saves while onboarding a client (``"gateway"`` without one).
    """

    def create_customer(self, request: CustomerRequest) -> CustomerRef:
        """Create (or return, for a repeated key) the customer for ``request.reference``."""
        ...

    def save_payment_method(self, request: SetupRequest) -> SetupResult:
        """Save a payment method for off-session charges (a SetupIntent at Stripe)."""
        ...

    def detach_payment_method(
        self, payment_method_id: PaymentMethodId, *, idempotency_key: str
    ) -> None:
        """Detach a saved payment method so it can no longer be charged."""
        ...

    def charge(self, request: ChargeRequest) -> ChargeResult:
        """Charge off-session; the outcome is data (see :class:`ChargeStatus`)."""
        ...

    def refund(self, request: RefundRequest) -> RefundResult:
        """Refund all or part of a succeeded payment."""
        ...

    def parse_webhook(
        self, payload: bytes, signature_header: str, now: datetime
    ) -> GatewayEvent | None:
        """Verify and map a webhook; ``None`` for event types we do not use.

        A forged, tampered or replayed (outside the tolerance window
        around ``now``) payload, or a malformed signature header, raises
        :class:`~milestonebill.errors.WebhookSignatureError`; a header that
        is not text a :class:`~milestonebill.errors.ValidationError`; a
        correctly signed body the gateway would not send (not a JSON object,
        too deep, a field missing or of the wrong type)
        :class:`~milestonebill.errors.WebhookPayloadError` naming the field.
        Never a raw ``TypeError``, ``OverflowError`` or ``RecursionError``.
        """
        ...


# ------------------------------------------------------------ pure decisions

_STATUS_RANK: Final[dict[ChargeStatus, int]] = {
    ChargeStatus.FAILED_RETRYABLE: 0,
    ChargeStatus.REQUIRES_ACTION: 1,
    ChargeStatus.PROCESSING: 2,
    ChargeStatus.DECLINED: 3,
    ChargeStatus.SUCCEEDED: 4,
}


def settle_status(current: ChargeStatus | None, incoming: ChargeStatus) -> ChargeStatus:
    """Combine what we knew about a payment with a newly reported status.

    Statuses are ordered ``FAILED_RETRYABLE < REQUIRES_ACTION < PROCESSING <
    DECLINED < SUCCEEDED`` and the result is the larger: a payment that
    succeeded stays succeeded whatever arrives later, a bank debit that was
    processing may still fail, and a decline can be overtaken by a success
    after the customer authenticates.  Being a maximum, the combination is
    idempotent and order-free, which is what makes duplicate and
    out-of-order webhook deliveries harmless.

    >>> settle_status(ChargeStatus.SUCCEEDED, ChargeStatus.PROCESSING)
    <ChargeStatus.SUCCEEDED: 'succeeded'>
    >>> settle_status(ChargeStatus.PROCESSING, ChargeStatus.DECLINED)
    <ChargeStatus.DECLINED: 'declined'>
    >>> settle_status(None, ChargeStatus.PROCESSING)
    <ChargeStatus.PROCESSING: 'processing'>
    """
    if current is None:
        return incoming
    return incoming if _STATUS_RANK[incoming] > _STATUS_RANK[current] else current


def retry_advice(outcome: ChargeResult | BaseException) -> RetryAdvice:
    """What to do after a charge outcome or error: a pure function of it.

    * succeeded → ``DONE``;
    * failed retryably, or :class:`~milestonebill.errors.GatewayUnavailableError`
      → ``RETRY_SAME_KEY`` (the charge may have happened; only the same key
      is safe);
    * soft decline → ``RETRY_NEW_ATTEMPT`` (later, per the retry policy);
      hard decline → ``STOP``;
    * requires action → ``WAIT_FOR_CUSTOMER``; processing → ``WAIT_FOR_WEBHOOK``;
    * an idempotency conflict, any other milestonebill error or unknown
      exception → ``STOP`` (a human must look).

    >>> from milestonebill.errors import GatewayUnavailableError
    >>> retry_advice(GatewayUnavailableError("timeout"))
    <RetryAdvice.RETRY_SAME_KEY: 'retry_same_key'>
    """
    if isinstance(outcome, BaseException):
        if isinstance(outcome, GatewayUnavailableError):
            return RetryAdvice.RETRY_SAME_KEY
        if isinstance(outcome, IdempotencyError | MilestonebillError):
            return RetryAdvice.STOP
        return RetryAdvice.STOP
    status = outcome.status
    if status is ChargeStatus.SUCCEEDED:
        return RetryAdvice.DONE
    if status is ChargeStatus.FAILED_RETRYABLE:
        return RetryAdvice.RETRY_SAME_KEY
    if status is ChargeStatus.REQUIRES_ACTION:
        return RetryAdvice.WAIT_FOR_CUSTOMER
    if status is ChargeStatus.PROCESSING:
        return RetryAdvice.WAIT_FOR_WEBHOOK
    if outcome.decline_hard or is_hard_decline(outcome.decline_code):
        return RetryAdvice.STOP
    return RetryAdvice.RETRY_NEW_ATTEMPT


#: How far a webhook's signed timestamp may be from ``now`` (Stripe's default).
DEFAULT_WEBHOOK_TOLERANCE: Final = timedelta(minutes=5)

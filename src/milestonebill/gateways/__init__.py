"""Payment gateways: the :class:`PaymentGateway` port and its adapters.

* :mod:`milestonebill.gateways.base` -- the port and its request/result values.
* :mod:`milestonebill.gateways.memory` -- :class:`InMemoryGateway`, deterministic
  and scriptable, for tests, notebooks and the demo.
* :mod:`milestonebill.gateways.stripe` -- the Stripe adapter (extra ``stripe``);
  import it explicitly, this package never imports the Stripe SDK.

>>> from milestonebill.gateways import ChargeStatus, charge_idempotency_key
>>> charge_idempotency_key("agr-1", "INV-0001", 1) == charge_idempotency_key("agr-1", "INV-0001", 1)
True
"""

from milestonebill.gateways.base import (
    HARD_DECLINE_CODES,
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    CustomerId,
    CustomerRef,
    CustomerRequest,
    GatewayEvent,
    GatewayEventKind,
    MandateAcceptance,
    PaymentGateway,
    PaymentMethodId,
    PaymentMethodKind,
    RefundRequest,
    RefundResult,
    RefundStatus,
    RetryAdvice,
    SavedPaymentMethod,
    SetupRequest,
    SetupResult,
    SetupStatus,
    WebhookDelivery,
    charge_idempotency_key,
    customer_idempotency_key,
    detach_idempotency_key,
    is_hard_decline,
    refund_idempotency_key,
    retry_advice,
    settle_status,
    setup_idempotency_key,
)
from milestonebill.gateways.memory import InMemoryGateway, Scripted

__all__ = [
    "HARD_DECLINE_CODES",
    "ChargeRequest",
    "ChargeResult",
    "ChargeStatus",
    "CustomerId",
    "CustomerRef",
    "CustomerRequest",
    "GatewayEvent",
    "GatewayEventKind",
    "InMemoryGateway",
    "MandateAcceptance",
    "PaymentGateway",
    "PaymentMethodId",
    "PaymentMethodKind",
    "RefundRequest",
    "RefundResult",
    "RefundStatus",
    "RetryAdvice",
    "SavedPaymentMethod",
    "Scripted",
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

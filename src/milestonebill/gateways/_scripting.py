"""What the in-memory gateway can be told to do, and what it records.

Private: :mod:`milestonebill.gateways.memory` re-exports every name here
(:class:`Scripted` outcomes and their :class:`Behaviour`, the
:class:`ChargeRecord` of money that moved, and the :func:`percent_plus_fixed`
fee schedule).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from decimal import Decimal

import attrs

from milestonebill.gateways.base import PaymentMethodId
from milestonebill.money import Money, Rounding

__all__ = ["Behaviour", "ChargeRecord", "Scripted", "percent_plus_fixed"]


class Behaviour(enum.Enum):
    """What a scripted call does."""

    SUCCEED = "succeed"
    DECLINE = "decline"
    REQUIRE_ACTION = "require_action"
    STAY_PROCESSING = "stay_processing"
    TIME_OUT_AFTER_CHARGE = "time_out_after_charge"
    FAIL_RETRYABLY = "fail_retryably"


@attrs.frozen
class Scripted:
    """One scripted outcome; build them with the classmethods.

    >>> Scripted.decline("insufficient_funds")
    Scripted(behaviour=<Behaviour.DECLINE: 'decline'>, decline_code='insufficient_funds', message=None)
    """

    behaviour: Behaviour
    decline_code: str | None = None
    message: str | None = None

    @classmethod
    def succeed(cls) -> Scripted:
        """The payment succeeds."""
        return cls(Behaviour.SUCCEED)

    @classmethod
    def decline(cls, code: str = "card_declined", message: str | None = None) -> Scripted:
        """The issuer declines with ``code`` (hard or soft per ``is_hard_decline``)."""
        return cls(Behaviour.DECLINE, code, message)

    @classmethod
    def require_action(cls) -> Scripted:
        """The customer must authenticate (3-D Secure) before the payment can go on."""
        return cls(Behaviour.REQUIRE_ACTION)

    @classmethod
    def stay_processing(cls) -> Scripted:
        """The payment is accepted but unresolved (a bank debit); see ``settle``."""
        return cls(Behaviour.STAY_PROCESSING)

    @classmethod
    def time_out_after_charge(cls) -> Scripted:
        """The money moves but the caller sees a retryable failure."""
        return cls(Behaviour.TIME_OUT_AFTER_CHARGE)

    @classmethod
    def fail_retryably(cls, message: str = "gateway unavailable") -> Scripted:
        """The gateway fails before charging; nothing is remembered for the key."""
        return cls(Behaviour.FAIL_RETRYABLY, None, message)


@attrs.frozen
class ChargeRecord:
    """One charge that reached the money: succeeded, processing, or timed out after charging."""

    idempotency_key: str
    gateway_ref: str
    agreement_id: str
    invoice_id: str
    attempt: int
    amount: Money
    payment_method_id: PaymentMethodId


def percent_plus_fixed(percent: str | Decimal, fixed_minor: int = 0) -> Callable[[Money], Money]:
    """A fee schedule: ``percent`` of the amount (half-up to the minor unit) plus a fixed part.

    >>> fee = percent_plus_fixed("2.9", 30)
    >>> fee(Money("100.00", "USD"))
    Money('3.20', 'USD')
    >>> fee(Money("1000", "JPY"))
    Money('59', 'JPY')
    """
    ratio = Decimal(percent) / 100

    def fee(amount: Money) -> Money:
        return amount.scale(ratio, rounding=Rounding.HALF_UP) + Money.from_minor(
            fixed_minor, amount.currency
        )

    fee.__doc__ = f"The fee on an amount: {percent} % half-up plus {fixed_minor} minor units."
    return fee

"""Payment methods as the library knows them: a kind, and a reference held by a gateway.

One :class:`PaymentMethodKind` serves the agreement (what the client signed
up to pay with) and the gateway port (what a saved method is, what a charge
debits), so the engine passes the kind through without translating it.
Vendor spellings (Stripe's ``"us_bank_account"``) stay inside the adapters.

A :class:`PaymentMethodRef` holds gateway ids only; anything that looks like
a raw card number is refused, and :func:`contains_card_number` is the test.

>>> PaymentMethodKind("bank_debit")
<PaymentMethodKind.BANK_DEBIT: 'bank_debit'>
"""

from __future__ import annotations

import enum
import re

import attrs

from milestonebill._validate import check_id
from milestonebill.errors import ValidationError

__all__ = [
    "PaymentMethodKind",
    "PaymentMethodRef",
    "contains_card_number",
]

_DIGIT_RUN = re.compile(r"\d(?:[ -]?\d)*")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def contains_card_number(text: str) -> bool:
    """True if ``text`` holds a run of 13-19 digits (spaces/dashes allowed) passing Luhn.

    >>> contains_card_number("4242 4242 4242 4242"), contains_card_number("pm_1NqX4242")
    (True, False)
    >>> contains_card_number("cus-4111-1111-1111-1111"), contains_card_number("4242424242424241")
    (True, False)
    >>> contains_card_number("ref 2024-4242424242424242")
    True
    """
    for match in _DIGIT_RUN.finditer(text):
        groups = re.split(r"[ -]", match.group())
        # Any run of whole digit groups may be the card: "2024-4242424242424242" holds one.
        for i in range(len(groups)):
            digits = ""
            for group in groups[i:]:
                digits += group
                if len(digits) > 19:
                    break
                if len(digits) >= 13 and _luhn(digits):
                    return True
    return False


class PaymentMethodKind(enum.Enum):
    """What kind of instrument a payment method is: a card, or a bank account debited."""

    CARD = "card"
    BANK_DEBIT = "bank_debit"


@attrs.frozen
class PaymentMethodRef:
    """A reference to a payment method stored at a gateway -- never the card itself.

    Each of ``gateway``, ``customer_id`` and ``payment_method_id`` is an id
    (non-empty, no surrounding spaces) that holds no card number; a card
    number is never echoed in the error.

    >>> PaymentMethodRef("stripe", "cus_Q1", "pm_1Nq", PaymentMethodKind.CARD).kind.name
    'CARD'
    >>> PaymentMethodRef("stripe", "cus_Q1", "4242-4242-4242-4242", PaymentMethodKind.CARD)
    Traceback (most recent call last):
    ...
    milestonebill.errors.ValidationError: 'payment_method_id' must be a gateway reference, not a card number (got '[redacted]')
    """

    gateway: str
    customer_id: str
    payment_method_id: str
    kind: PaymentMethodKind

    def __attrs_post_init__(self) -> None:
        for name in ("gateway", "customer_id", "payment_method_id"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValidationError(name, "a non-empty string", value)
            # Before check_id, whose message would show the value.
            if contains_card_number(value):
                raise ValidationError(name, "a gateway reference, not a card number",
                                      "[redacted]")
            check_id(name, value)
        if not isinstance(self.kind, PaymentMethodKind):
            raise ValidationError("kind", "a PaymentMethodKind", self.kind)

"""Payment methods as the library knows them: a kind, and a reference held by a gateway.

One :class:`PaymentMethodKind` serves the agreement (what the client signed
up to pay with) and the gateway port (what a saved method is, what a charge
debits), so the engine passes the kind through without translating it.
Vendor spellings (Stripe's ``"us_bank_account"``) stay inside the adapters.

A :class:`PaymentMethodRef` holds gateway ids only; anything that looks like
a raw card number is refused, and :func:`contains_card_number` is the test
(the same one that screens every free-text field the library stores).

>>> PaymentMethodKind("bank_debit")
<PaymentMethodKind.BANK_DEBIT: 'bank_debit'>
"""

from __future__ import annotations

import enum

import attrs

from milestonebill._validate import card_number_spans, check_id, redact_card_numbers
from milestonebill.errors import CardNumberError, ValidationError

__all__ = [
    "PaymentMethodKind",
    "PaymentMethodRef",
    "contains_card_number",
]

def contains_card_number(text: str) -> bool:
    """True if ``text`` holds 13-19 digits in whole groups, separated by anything
    a person might type between them (spaces of any kind, dashes, dots,
    underscores, slashes) or by nothing, not starting with 0 and passing Luhn.

    >>> contains_card_number("4242 4242 4242 4242"), contains_card_number("pm_1NqX4242")
    (True, False)
    >>> contains_card_number("cus-4111-1111-1111-1111"), contains_card_number("4242424242424241")
    (True, False)
    >>> contains_card_number("ref 2024-4242424242424242")
    True
    >>> contains_card_number("4242.4242.4242.4242"), contains_card_number("4242_4242/4242 4242")
    (True, True)
    """
    return any(True for _ in card_number_spans(text))


class PaymentMethodKind(enum.Enum):
    """What kind of instrument a payment method is: a card, or a bank account debited."""

    CARD = "card"
    BANK_DEBIT = "bank_debit"


@attrs.frozen
class PaymentMethodRef:
    """A reference to a payment method stored at a gateway -- never the card itself.

    Each of ``gateway``, ``customer_id`` and ``payment_method_id`` is an id
    (non-empty, no surrounding spaces) that holds no card number; a card
    number is never echoed in the error (only its last four digits).

    Raises :class:`~milestonebill.errors.ValidationError` naming the field for an
    empty or non-text id or a ``kind`` that is not a :class:`PaymentMethodKind`, and
    :class:`~milestonebill.errors.CardNumberError` for an id that is a card number.

    >>> PaymentMethodRef("stripe", "cus_Q1", "pm_1Nq", PaymentMethodKind.CARD).kind.name
    'CARD'
    >>> PaymentMethodRef("stripe", "cus_Q1", "4242-4242-4242-4242", PaymentMethodKind.CARD)
    Traceback (most recent call last):
    ...
    milestonebill.errors.CardNumberError: 'payment_method_id' must be a gateway reference, not a card number (got '[card number ending 4242]')
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
                redacted = redact_card_numbers(value)
                raise CardNumberError(name, redacted, f"{name!r} must be a gateway reference, "
                                      f"not a card number (got {redacted!r})")
            check_id(name, value)
        if not isinstance(self.kind, PaymentMethodKind):
            raise ValidationError("kind", "a PaymentMethodKind", self.kind)

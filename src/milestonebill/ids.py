"""Every identifier type of milestonebill, and the typed key of a billable item.

Identifiers are :func:`typing.NewType` s of ``str``: free at run time, and
distinct to mypy, so an invoice id is never passed where an agreement id is
expected.  The modules that use them re-export them (``from
milestonebill.agreement import AgreementId`` keeps working).

Idempotency keys are ids too: each is a pure function of the domain identity
of one request to a gateway (a charge attempt, a refund, a customer), never
random, so a retried request carries the key of the first and cannot move
money twice:

>>> k1 = charge_idempotency_key("agr-1", "INV-0001", 1)
>>> k1 == charge_idempotency_key("agr-1", "INV-0001", 1), k1[:13]
(True, 'mb-charge-v1-')
>>> k1 == charge_idempotency_key("agr-1", "INV-0001", 2)
False
>>> charge_idempotency_key("agr-1", "INV-0001", 0)
Traceback (most recent call last):
...
milestonebill.errors.ValidationError: 'attempt' must be a whole number, 1 or more (got 0)

A :class:`PlanKey` names one billable item of an agreement's plan: a
milestone, or one service period of a recurring charge.  It is a ``str`` (so
it is its own JSON form and compares equal to the text stored in earlier
events) with typed parts, parsed in one place:

>>> from datetime import date
>>> k = PlanKey.piece(ItemId("retainer"), date(2026, 1, 31))
>>> k, k.item_id, k.start, k.is_milestone
('r:retainer:2026-01-31', 'retainer', datetime.date(2026, 1, 31), False)
>>> PlanKey.parse("m:design") == PlanKey.milestone(MilestoneId("design"))
True
>>> PlanKey.parse("x:1")
Traceback (most recent call last):
...
milestonebill.errors.ValidationError: 'item_key' must be a plan key such as 'm:<milestone>', 'r:<item>:<YYYY-MM-DD>', 'i:<plan>:<n>' or 'd:<discount>:<key>' (got 'x:1')
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import NewType

from milestonebill._validate import check_id, check_int
from milestonebill.errors import ValidationError

__all__ = [
    "AgreementId",
    "AmendmentId",
    "AttemptKey",
    "ContractId",
    "CreditNoteId",
    "CustomerId",
    "EntryId",
    "EventId",
    "FirmId",
    "InvoiceId",
    "ItemId",
    "MilestoneId",
    "ObligationId",
    "PaymentMethodId",
    "PlanKey",
    "ProposalId",
    "TenantId",
    "WorkerId",
    "charge_idempotency_key",
    "customer_idempotency_key",
    "detach_idempotency_key",
    "refund_idempotency_key",
    "setup_idempotency_key",
]

#: A signed agreement (one event stream).
AgreementId = NewType("AgreementId", str)
#: A proposal a client may sign.
ProposalId = NewType("ProposalId", str)
#: An amendment to an agreement.
AmendmentId = NewType("AmendmentId", str)
#: A milestone of a billing schedule.
MilestoneId = NewType("MilestoneId", str)
#: A recurring charge (or any billable item) of a billing schedule.
ItemId = NewType("ItemId", str)
#: An invoice (stable before it is numbered).
InvoiceId = NewType("InvoiceId", str)
#: A credit note.
CreditNoteId = NewType("CreditNoteId", str)
#: One event of an agreement's stream.
EventId = NewType("EventId", str)
#: The firm whose document numbers a sequence counts.
FirmId = NewType("FirmId", str)
#: A worker process that claims agreements to bill.
WorkerId = NewType("WorkerId", str)
#: One firm on a shared deployment: part of the identity of everything stored.
TenantId = NewType("TenantId", str)
#: The idempotency key of one charge or refund attempt.
AttemptKey = NewType("AttemptKey", str)
#: A ledger journal entry.
EntryId = NewType("EntryId", str)
#: A gateway's id for a customer (``cus_...`` at Stripe).
CustomerId = NewType("CustomerId", str)
#: A gateway's id for a saved payment method (``pm_...`` at Stripe).
PaymentMethodId = NewType("PaymentMethodId", str)
#: A performance obligation of a contract (ASC 606 / IFRS 15 step 2).
ObligationId = NewType("ObligationId", str)
#: A revenue contract (ASC 606 / IFRS 15 step 1).
ContractId = NewType("ContractId", str)

_EXPECTED = ("a plan key such as 'm:<milestone>', 'r:<item>:<YYYY-MM-DD>', 'i:<plan>:<n>' "
             "or 'd:<discount>:<key>'")


class PlanKey(str):
    """The key of one billable item of an agreement's plan.

    * ``m:<milestone id>`` -- a milestone;
    * ``r:<item id>:<period start>`` -- one service period of a recurring charge;
    * ``i:<plan id>:<n>`` -- the ``n``-th installment (1, 2, ...) of an installment plan;
    * ``d:<discount id>:<key>`` -- a discount on the item of ``key`` (a
      discount id holds no ``:``, so the key after it is unambiguous).

    Build one with :meth:`milestone`, :meth:`piece`, :meth:`installment` or
    :meth:`discount`; read one from text with :meth:`parse`.  The parts are
    :attr:`item_id` (for a discount: the discounted item's), :attr:`start`
    (a service period's first day, else ``None``), :attr:`number` (an
    installment's number), :attr:`discount_id` and :attr:`discounted`.

    >>> k = PlanKey.discount("early", PlanKey.installment("fee", 3))
    >>> k, k.item_id, k.discount_id, k.discounted, k.discounted.number
    ('d:early:i:fee:3', 'fee', 'early', 'i:fee:3', 3)
    """

    __slots__ = ()

    @classmethod
    def milestone(cls, milestone_id: str) -> PlanKey:
        """The key of a milestone."""
        return cls(f"m:{milestone_id}")

    @classmethod
    def piece(cls, item_id: str, start: date) -> PlanKey:
        """The key of the service period of a recurring item that starts on ``start``."""
        return cls(f"r:{item_id}:{start.isoformat()}")

    @classmethod
    def installment(cls, plan_id: str, n: int) -> PlanKey:
        """The key of installment ``n`` (1, 2, ...) of an installment plan."""
        return cls(f"i:{plan_id}:{check_int('n', n, at_least=1)}")

    @classmethod
    def discount(cls, discount_id: str, key: str) -> PlanKey:
        """The key of discount ``discount_id`` on the item of ``key``.

        Raises :class:`~milestonebill.errors.ValidationError` naming
        ``discount_id`` when it holds ``':'``, or ``key`` when it is itself a
        discount's key.
        """
        if ":" in discount_id or not discount_id:
            raise ValidationError("discount_id", "an id without ':'", discount_id)
        item = cls.parse(key)
        if item.is_discount:
            raise ValidationError("key", "the key of a discounted item, not of a discount", key)
        return cls(f"d:{discount_id}:{item}")

    @classmethod
    def parse(cls, text: object, field: str = "item_key") -> PlanKey:
        """Check that ``text`` is a plan key and return it typed.

        Raises :class:`~milestonebill.errors.ValidationError` naming ``field``
        for text that is not a plan key.
        """
        if isinstance(text, str) and _valid(text):
            return cls(text)
        raise ValidationError(field, _EXPECTED, text)

    @property
    def is_milestone(self) -> bool:
        """True for a milestone's key."""
        return self[:2] == "m:"

    @property
    def is_installment(self) -> bool:
        """True for an installment's key."""
        return self[:2] == "i:"

    @property
    def is_discount(self) -> bool:
        """True for the key of a discount on an item."""
        return self[:2] == "d:"

    @property
    def discount_id(self) -> str | None:
        """The discount a discount key belongs to (``None`` for other keys)."""
        return self[2:].partition(":")[0] if self.is_discount else None

    @property
    def discounted(self) -> PlanKey | None:
        """The key of the item a discount key discounts (``None`` for other keys)."""
        return PlanKey(self[2:].partition(":")[2]) if self.is_discount else None

    @property
    def item_id(self) -> str:
        """The milestone, recurring item or installment plan the key belongs to."""
        inner = self.discounted
        if inner is not None:
            return inner.item_id
        return self[2:] if self.is_milestone else self[2:].rpartition(":")[0]

    @property
    def start(self) -> date | None:
        """The first day of the service period (``None`` unless the key is one's)."""
        if self[:2] != "r:":
            return None
        return date.fromisoformat(self.rpartition(":")[2])

    @property
    def number(self) -> int | None:
        """The number of an installment (``None`` unless the key is one's)."""
        return int(self.rpartition(":")[2]) if self.is_installment else None


def _valid(text: str) -> bool:
    """Whether ``text`` has the form of a plan key."""
    kind, rest = text[:2], text[2:]
    if kind == "m:":
        return bool(rest)
    if kind == "r:":
        item, _sep, start = rest.rpartition(":")
        try:
            date.fromisoformat(start)
        except ValueError:
            return False
        return bool(item)
    if kind == "i:":
        item, _sep, n = rest.rpartition(":")
        return bool(item) and n.isascii() and n.isdigit() and n[0] != "0"
    if kind == "d:":
        discount, _sep, inner = rest.partition(":")
        return bool(discount) and inner[:2] != "d:" and _valid(inner)
    return False


# ---------------------------------------------------------------- idempotency keys


def _idempotency_key(purpose: str, *parts: str | int) -> AttemptKey:
    # The parts as a JSON list cannot collide even when an id holds the
    # separator, and the hash keeps every key well under Stripe's 255 characters.
    text = json.dumps([purpose, *parts], separators=(",", ":"), ensure_ascii=False)
    return AttemptKey(f"mb-{purpose}-v1-{hashlib.sha1(text.encode('utf-8')).hexdigest()}")


def charge_idempotency_key(agreement_id: str, invoice_id: str, attempt: int) -> AttemptKey:
    """The key of charge attempt ``attempt`` (1, 2, ...) on one invoice.

    The same attempt always gets the same key, so retrying it after a crash
    or a timeout cannot charge twice; the next attempt after a decline gets
    a new one.
    """
    return _idempotency_key("charge", check_id("agreement_id", agreement_id),
                            check_id("invoice_id", invoice_id),
                            check_int("attempt", attempt, at_least=1))


def refund_idempotency_key(agreement_id: str, invoice_id: str, refund_id: str) -> AttemptKey:
    """The key of one refund on an invoice; ``refund_id`` is the domain's id for it
    (a credit note, or ``credit-refund-<n>`` for customer credit paid back).

    >>> refund_idempotency_key("agr-1", "INV-0001", "CN-1")[:13]
    'mb-refund-v1-'
    """
    return _idempotency_key("refund", check_id("agreement_id", agreement_id),
                            check_id("invoice_id", invoice_id), check_id("refund_id", refund_id))


def customer_idempotency_key(reference: str) -> AttemptKey:
    """The key for creating the gateway customer of the host's ``reference``."""
    return _idempotency_key("customer", check_id("reference", reference))


def setup_idempotency_key(customer_id: str, payment_method_token: str) -> AttemptKey:
    """The key for saving one payment-method token for one customer."""
    return _idempotency_key("setup", check_id("customer_id", customer_id),
                            check_id("payment_method_token", payment_method_token))


def detach_idempotency_key(payment_method_id: str) -> AttemptKey:
    """The key for detaching a saved payment method."""
    return _idempotency_key("detach", check_id("payment_method_id", payment_method_id))

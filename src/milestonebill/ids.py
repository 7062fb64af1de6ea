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
milestonebill.errors.ValidationError: 'item_key' must be a plan key such as 'm:<milestone>' or 'r:<item>:<YYYY-MM-DD>' (got 'x:1')
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

_EXPECTED = "a plan key such as 'm:<milestone>' or 'r:<item>:<YYYY-MM-DD>'"


class PlanKey(str):
    """The key of one billable item: ``m:<milestone id>`` or ``r:<item id>:<period start>``.

    Build one with :meth:`milestone` or :meth:`piece`; read one from text
    with :meth:`parse`.  The parts are :attr:`item_id` and :attr:`start`
    (``None`` for a milestone).
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
    def parse(cls, text: object, field: str = "item_key") -> PlanKey:
        """Check that ``text`` is a plan key and return it typed."""
        if isinstance(text, str) and text[:2] == "m:" and len(text) > 2:
            return cls(text)
        if isinstance(text, str) and text[:2] == "r:":
            item, _sep, start = text[2:].rpartition(":")
            try:
                date.fromisoformat(start)
            except ValueError:
                item = ""
            if item:
                return cls(text)
        raise ValidationError(field, _EXPECTED, text)

    @property
    def is_milestone(self) -> bool:
        """True for a milestone's key, false for a recurring service period's."""
        return self[:2] == "m:"

    @property
    def item_id(self) -> str:
        """The milestone or recurring item the key belongs to."""
        return self[2:] if self.is_milestone else self[2:].rpartition(":")[0]

    @property
    def start(self) -> date | None:
        """The first day of the service period (``None`` for a milestone)."""
        return None if self.is_milestone else date.fromisoformat(self.rpartition(":")[2])


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

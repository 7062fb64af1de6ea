"""The one error tree of milestonebill.

Every error the library raises on purpose derives from
:class:`MilestonebillError`.  There are two branches:

* :class:`DomainError` -- the input or the request does not make sense
  (bad amounts, mixed currencies, illegal state transitions).  Nothing was
  stored and nothing was charged.
* :class:`InfrastructureError` -- a store or gateway failed or refused.

Errors also subclass the builtin they mean, so ``except ValueError`` keeps
working for callers who do not know this library.

Validation errors name the field, what was expected and what was got:

>>> from decimal import Decimal
>>> err = ValidationError("amount", "exact to 2 decimal places for USD", Decimal("1.005"))
>>> str(err)
"'amount' must be exact to 2 decimal places for USD (got Decimal('1.005'))"
>>> err.field, err.expected
('amount', 'exact to 2 decimal places for USD')
>>> isinstance(err, ValueError)
True
"""

from __future__ import annotations

from collections.abc import Iterable

from milestonebill.limits import MAX_SHOWN_LENGTH

__all__ = [
    "AccountingSinkError",
    "AmendmentError",
    "CardNumberError",
    "ConcurrencyError",
    "CurrencyMismatchError",
    "DocumentRefusedError",
    "DomainError",
    "DuplicateIdError",
    "EventOrderError",
    "GatewayError",
    "GatewayRateLimitedError",
    "GatewayUnavailableError",
    "IdempotencyError",
    "InfrastructureError",
    "InvalidAmountError",
    "InvalidInputError",
    "InvalidTransitionError",
    "LeaseLostError",
    "MilestonebillError",
    "NotFoundError",
    "PaymentMethodRefusedError",
    "ProposalExpiredError",
    "RefundLimitError",
    "StoreError",
    "UnbalancedEntryError",
    "ValidationError",
    "WebhookPayloadError",
    "WebhookSignatureError",
]


class MilestonebillError(Exception):
    """Root of every error milestonebill raises on purpose."""


class DomainError(MilestonebillError):
    """The request does not make sense for the domain; nothing was changed."""


def _shown(value: object) -> str:
    """``repr(value)``, cut to :data:`~milestonebill.limits.MAX_SHOWN_LENGTH` characters.

    An error must never be the thing that hangs or fails: an int of
    thousands of digits (which ``repr`` refuses) or a structure nested too
    deep to print is described instead of shown.

    >>> _shown("x" * 1000)[-30:]
    'xxxxxxxxx... (1002 characters)'
    >>> _shown(-10**5000)
    '<an int of about 5000 digits>'
    """
    if type(value) is int and value.bit_length() > 600:
        return f"<an int of about {int(value.bit_length() * 0.30103)} digits>"
    try:
        text = repr(value)
    except (ValueError, RecursionError):
        return f"<a {type(value).__name__} too large or too deeply nested to show>"
    if len(text) <= MAX_SHOWN_LENGTH:
        return text
    return f"{text[:MAX_SHOWN_LENGTH - 30]}... ({len(text)} characters)"


class ValidationError(DomainError, ValueError):
    """A single input value is wrong.

    ``field`` names the input (dotted for nested values, e.g.
    ``'milestones[2].amount'``), ``expected`` says what would have been
    accepted, ``value`` is what was given and ``got`` its ``repr`` (cut to
    :data:`~milestonebill.limits.MAX_SHOWN_LENGTH` characters).
    """

    def __init__(self, field: str, expected: str, got: object, message: str | None = None):
        self.field = field
        self.expected = expected
        self.value = got
        self.got = _shown(got)
        self.message = message or f"{field!r} must be {expected} (got {self.got})"
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.field, self.expected, self.value, self.message))


class InvalidAmountError(ValidationError):
    """An amount is not exact at its currency's minor unit, or is not money at all."""


class InvalidInputError(ValidationError):
    """Several problems found while validating one whole object, raised once.

    ``problems`` holds each :class:`ValidationError` found.

    >>> e = InvalidInputError([ValidationError("a", "positive", -1),
    ...                        ValidationError("b", "a date", "x")])
    >>> print(e)
    2 problems: 'a' must be positive (got -1); 'b' must be a date (got 'x')
    >>> e.field
    'a'
    """

    def __init__(self, problems: Iterable[ValidationError]):
        self.problems = tuple(problems)
        if not self.problems:
            raise ValueError("InvalidInputError needs at least one problem")
        first = self.problems[0]
        text = "; ".join(str(p) for p in self.problems)
        n = len(self.problems)
        message = text if n == 1 else f"{n} problems: {text}"
        super().__init__(first.field, first.expected, first.value, message)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.problems,))


class CurrencyMismatchError(DomainError, ValueError):
    """Two amounts in different currencies were combined."""

    def __init__(self, left: str, right: str, operation: str = "combine"):
        self.left = left
        self.right = right
        self.operation = operation
        super().__init__(f"cannot {operation} {left} with {right}: currencies differ")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.left, self.right, self.operation))


class InvalidTransitionError(DomainError, ValueError):
    """An event or command is not allowed in the current state."""


class AmendmentError(DomainError, ValueError):
    """An amendment cannot be applied to the agreement as it stands."""


class NotFoundError(DomainError, KeyError):
    """A referenced thing (milestone, option, invoice, agreement) does not exist."""

    def __str__(self) -> str:  # KeyError quotes its argument; we want plain text
        return str(self.args[0]) if self.args else ""


class InfrastructureError(MilestonebillError):
    """A store or gateway failed or refused."""


class StoreError(InfrastructureError):
    """A store could not read or write."""


class ConcurrencyError(StoreError):
    """Optimistic concurrency: the stream moved on since the writer read it."""

    def __init__(self, stream: str, expected: int, actual: int):
        self.stream = stream
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"stream {stream!r} is at version {actual}, writer expected {expected}"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.stream, self.expected, self.actual))


class GatewayError(InfrastructureError):
    """A payment gateway failed in a way that is not a normal payment outcome."""


class AccountingSinkError(InfrastructureError):
    """An accounting system (QuickBooks, Xero) could not be reached, or its answer is unknown.

    Whether the document was created there is not known: the sync journal keeps
    it as unfinished and the next sync sends it again under the same
    idempotency key, which the system answers without creating it twice.
    """


class DocumentRefusedError(AccountingSinkError, ValueError):
    """An accounting system refused a document (its own validation failed); nothing
    was created there, so the sync forgets the attempt and reports it."""


class IdempotencyError(GatewayError):
    """An idempotency key was reused with a different request."""

    def __init__(self, key: str, detail: str = "reused with different parameters"):
        self.key = key
        self.detail = detail
        super().__init__(f"idempotency key {key!r} {detail}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.key, self.detail))


class UnbalancedEntryError(DomainError, ValueError):
    """A journal entry's debits and credits differ; nothing was posted.

    >>> print(UnbalancedEntryError("je-1", "100.00 USD", "99.99 USD"))
    journal entry 'je-1' does not balance: debits 100.00 USD, credits 99.99 USD
    """

    def __init__(self, entry_id: str, debits: str, credits: str):
        self.entry_id = entry_id
        self.debits = debits
        self.credits = credits
        super().__init__(
            f"journal entry {entry_id!r} does not balance: debits {debits}, credits {credits}"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.entry_id, self.debits, self.credits))


class DuplicateIdError(DomainError, ValueError):
    """An id that must be unique was reused for different content.

    Re-sending the *same* content under the same id is a no-op everywhere
    (that is what makes retries safe); different content is refused.

    >>> print(DuplicateIdError("journal entry", "je-1"))
    journal entry id 'je-1' is already used for different content
    """

    def __init__(self, kind: str, ident: str, detail: str = "is already used for different content"):
        self.kind = kind
        self.ident = ident
        self.detail = detail
        super().__init__(f"{kind} id {ident!r} {detail}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.kind, self.ident, self.detail))


class LeaseLostError(StoreError):
    """A worker acted on a claim it no longer holds (the lease expired or moved)."""

    def __init__(self, agreement_id: str, worker_id: str):
        self.agreement_id = agreement_id
        self.worker_id = worker_id
        super().__init__(f"worker {worker_id!r} does not hold the claim on {agreement_id!r}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.agreement_id, self.worker_id))


class GatewayUnavailableError(GatewayError):
    """A gateway could not be reached or asked us to come back later.

    Connection failures, timeouts, 5xx answers and rate limits.  Retrying the
    same call with the same idempotency key is safe.
    """


class GatewayRateLimitedError(GatewayUnavailableError):
    """A gateway answered that we call it too often (HTTP 429).

    ``retry_after`` is how many seconds it asked us to wait (``None``: it did
    not say).  Retrying the same call with the same idempotency key after
    waiting is safe; the Biller backs off and asks again.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (str(self), self.retry_after))


class WebhookSignatureError(GatewayError, ValueError):
    """A webhook payload is forged, tampered with, or outside the tolerance window."""


class WebhookPayloadError(ValidationError, GatewayError):
    """A correctly signed webhook whose body is not what the gateway sends.

    Invalid UTF-8, JSON that is not an object or nests too deep, a missing
    field or one of the wrong type: ``field`` names the part (``'payload'``,
    ``'data.object.amount'``...).  It is a :class:`ValidationError` (answer
    the sender 400) and, for code written before it existed, a
    :class:`GatewayError`.

    >>> err = WebhookPayloadError("payload", "a JSON object", "list")
    >>> print(err)
    'payload' must be a JSON object (got 'list')
    >>> isinstance(err, ValidationError), isinstance(err, GatewayError)
    (True, True)
    """


class EventOrderError(DomainError, ValueError):
    """An event does not follow its stream: its version is not the next one.

    ``kind`` says what the stream is of (an agreement, a proposal).

    >>> print(EventOrderError("agr-1", 4, 6))
    agreement 'agr-1' expects event version 4 next (got 6)
    >>> print(EventOrderError("prop-1", 2, 2, "time runs backwards", kind="proposal"))
    proposal 'prop-1' expects event version 2 next (got 2): time runs backwards
    """

    def __init__(self, stream: str, expected: int, got: int, detail: str = "",
                 kind: str = "agreement"):
        self.stream = stream
        self.expected = expected
        self.got = got
        self.detail = detail
        self.kind = kind
        extra = f": {detail}" if detail else ""
        super().__init__(
            f"{kind} {stream!r} expects event version {expected} next (got {got}){extra}"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.stream, self.expected, self.got, self.detail, self.kind))


class ProposalExpiredError(InvalidTransitionError):
    """A proposal was signed after its validity date: a transition its state refuses.

    >>> print(ProposalExpiredError("prop-1", "2026-01-31", "2026-02-01"))
    proposal 'prop-1' was valid until 2026-01-31 (signed on 2026-02-01)
    """

    def __init__(self, proposal_id: str, valid_until: str, signed_on: str):
        self.proposal_id = proposal_id
        self.valid_until = valid_until
        self.signed_on = signed_on
        super().__init__(
            f"proposal {proposal_id!r} was valid until {valid_until} (signed on {signed_on})"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.proposal_id, self.valid_until, self.signed_on))


class PaymentMethodRefusedError(ValidationError):
    """The gateway would not save the client's payment method for off-session use.

    ``field`` is ``'payment_method_token'``.  ``status`` is the setup's
    outcome (``'declined'``, or ``'requires_action'`` when the client must
    authenticate first), ``decline_code`` and ``reason`` are the gateway's,
    and ``setup_ref`` is the gateway's id of the setup (to bring the client
    back to it).

    >>> print(PaymentMethodRefusedError("declined", "card_declined", "Your card was declined."))
    'payment_method_token' was not saved by the gateway: declined (card_declined): Your card was declined.
    >>> PaymentMethodRefusedError("declined").field
    'payment_method_token'
    """

    def __init__(self, status: str, decline_code: str | None = None, reason: str | None = None,
                 setup_ref: str | None = None):
        self.status = status
        self.decline_code = decline_code
        self.reason = reason
        self.setup_ref = setup_ref
        code = f" ({decline_code})" if decline_code else ""
        why = f": {reason}" if reason else ""
        super().__init__("payment_method_token", "a payment method the gateway saves", status,
                         f"'payment_method_token' was not saved by the gateway: "
                         f"{status}{code}{why}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.status, self.decline_code, self.reason, self.setup_ref))


class RefundLimitError(ValidationError):
    """A refund asks for more than the client paid on an invoice and has not had back.

    ``invoice_id`` names the invoice, ``requested`` is what the refund would
    return (tax included) and ``maximum`` the most that may still be
    refunded on it (both as given, usually :class:`~milestonebill.money.Money`).
    ``field`` is ``'amount'``.

    >>> print(RefundLimitError("INV-1", "700.00 USD", "600.00 USD"))
    refund of 700.00 USD on invoice 'INV-1' is more than can still be refunded on it (600.00 USD)
    """

    def __init__(self, invoice_id: str, requested: object, maximum: object,
                 message: str | None = None):
        self.invoice_id = invoice_id
        self.requested = requested
        self.maximum = maximum
        super().__init__(
            "amount", f"at most {maximum} (what is left to refund on {invoice_id})", requested,
            message or f"refund of {requested} on invoice {invoice_id!r} is more than can "
                       f"still be refunded on it ({maximum})")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.invoice_id, self.requested, self.maximum, self.message))


class CardNumberError(ValidationError):
    """Free text holds what looks like a payment card number; it was not stored.

    Card numbers belong at the payment gateway, never in the library's
    events and documents.  The error shows the text with each number
    replaced by its last four digits, and keeps nothing else of it.

    >>> print(CardNumberError("evidence", "paid with [card number ending 4242]"))
    'evidence' must be text without a payment card number (got 'paid with [card number ending 4242]')
    """

    def __init__(self, field: str, redacted: str, message: str | None = None):
        super().__init__(field, "text without a payment card number", redacted, message)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.field, self.value, self.message))

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

>>> err = ValidationError("amount", "exact to 2 decimal places for USD", "Decimal('1.005')")
>>> str(err)
"'amount' must be exact to 2 decimal places for USD (got Decimal('1.005'))"
>>> err.field, err.expected
('amount', 'exact to 2 decimal places for USD')
>>> isinstance(err, ValueError)
True
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "AmendmentError",
    "ConcurrencyError",
    "CurrencyMismatchError",
    "DomainError",
    "GatewayError",
    "IdempotencyError",
    "InfrastructureError",
    "InvalidAmountError",
    "InvalidInputError",
    "InvalidTransitionError",
    "MilestonebillError",
    "NotFoundError",
    "StoreError",
    "ValidationError",
]


class MilestonebillError(Exception):
    """Root of every error milestonebill raises on purpose."""


class DomainError(MilestonebillError):
    """The request does not make sense for the domain; nothing was changed."""


class ValidationError(DomainError, ValueError):
    """A single input value is wrong.

    ``field`` names the input (dotted for nested values, e.g.
    ``'milestones[2].amount'``), ``expected`` says what would have been
    accepted and ``got`` is the ``repr`` of what was given.
    """

    def __init__(self, field: str, expected: str, got: object, message: str | None = None):
        self.field = field
        self.expected = expected
        self.got = got if isinstance(got, str) else repr(got)
        self.message = message or f"{field!r} must be {expected} (got {self.got})"
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.field, self.expected, self.got, self.message))


class InvalidAmountError(ValidationError):
    """An amount is not exact at its currency's minor unit, or is not money at all."""


class InvalidInputError(ValidationError):
    """Several problems found while validating one whole object, raised once.

    ``problems`` holds each :class:`ValidationError` found.

    >>> e = InvalidInputError([ValidationError("a", "positive", -1),
    ...                        ValidationError("b", "a date", "'x'")])
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
        super().__init__(first.field, first.expected, first.got, message)

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


class IdempotencyError(GatewayError):
    """An idempotency key was reused with a different request."""

    def __init__(self, key: str, detail: str = "reused with different parameters"):
        self.key = key
        self.detail = detail
        super().__init__(f"idempotency key {key!r} {detail}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.key, self.detail))

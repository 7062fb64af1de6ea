"""Library errors as HTTP answers, for services that wrap milestonebill.

A service that exposes the library over HTTP needs one decision per error:
which status, and what body.  :func:`http_status` makes the first and
:func:`problem_details` the second, as an RFC 9457 "problem details" object
(``application/problem+json``) that also carries the field, the expectation
and the value of a :class:`~milestonebill.errors.ValidationError`.

The mapping, most specific class first (:data:`STATUS_BY_ERROR`):

* 400 -- a webhook whose signature does not verify or whose body cannot be
  read;
* 404 -- :class:`~milestonebill.errors.NotFoundError`;
* 409 -- a conflict with the current state: an invalid transition, an
  amendment refused, an id reused for different content, events out of
  order, an expired proposal, a concurrent writer, a lost lease;
* 422 -- every other :class:`~milestonebill.errors.DomainError`
  (validation, amounts, currencies, refund limits) and an idempotency key
  reused with a different request;
* 503 -- a gateway or accounting system that cannot be reached and any
  other :class:`~milestonebill.errors.InfrastructureError` (a store); 502 --
  any other gateway failure, and a document an accounting system refused;
* 500 -- anything else.

>>> from milestonebill.errors import NotFoundError, ValidationError
>>> http_status(NotFoundError("no agreement 'agr-9'"))
404
>>> body = problem_details(ValidationError("signed_on", "a date", "2025-02-30"))
>>> body["status"], body["error"], body["field"], body["got"]
(422, 'ValidationError', 'signed_on', "'2025-02-30'")
>>> body["detail"]
"'signed_on' must be a date (got '2025-02-30')"

Errors that are not the library's own (a bug, or a dependency failing in a
way nobody expected) are 500 and their text is *not* put in the body: it may
hold anything, including a secret from a connection string.

>>> problem_details(RuntimeError("password=hunter2"))["detail"]
'internal error'

A card number a client sent where it does not belong is never echoed back,
whichever message quotes it:

>>> problem_details(ValidationError("reference", "an id", "4242 4242 4242 4242"))["got"]
"'[redacted]'"
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from milestonebill.errors import (
    AccountingSinkError,
    AmendmentError,
    ConcurrencyError,
    DocumentRefusedError,
    DomainError,
    DuplicateIdError,
    EventOrderError,
    GatewayError,
    GatewayUnavailableError,
    IdempotencyError,
    InfrastructureError,
    InvalidInputError,
    InvalidTransitionError,
    LeaseLostError,
    MilestonebillError,
    NotFoundError,
    ProposalExpiredError,
    ValidationError,
    WebhookPayloadError,
    WebhookSignatureError,
)
from milestonebill.payment_methods import contains_card_number

__all__ = ["STATUS_BY_ERROR", "http_status", "problem_details"]

#: Status per error class; :func:`http_status` uses the first class in the
#: error's method resolution order that has an entry.
STATUS_BY_ERROR: dict[type[BaseException], int] = {
    WebhookSignatureError: 400,
    WebhookPayloadError: 400,
    NotFoundError: 404,
    InvalidTransitionError: 409,
    AmendmentError: 409,
    DuplicateIdError: 409,
    EventOrderError: 409,
    ProposalExpiredError: 409,
    ConcurrencyError: 409,
    LeaseLostError: 409,
    IdempotencyError: 422,
    DomainError: 422,
    GatewayUnavailableError: 503,
    GatewayError: 502,
    DocumentRefusedError: 502,
    AccountingSinkError: 503,
    InfrastructureError: 503,
}

_TITLES = {
    400: "Bad Request",
    404: "Not Found",
    409: "Conflict",
    422: "Unprocessable Content",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def http_status(exc: BaseException) -> int:
    """The HTTP status a service should answer with when ``exc`` is raised.

    >>> from milestonebill.errors import InvalidTransitionError, GatewayUnavailableError
    >>> http_status(InvalidTransitionError("milestone 'm1' is already completed"))
    409
    >>> http_status(GatewayUnavailableError("timed out")), http_status(KeyError("x"))
    (503, 500)
    """
    for cls in type(exc).__mro__:
        status = STATUS_BY_ERROR.get(cls)
        if status is not None:
            return status
    return 500


_DIGITS = re.compile(r"\d(?:[ -]?\d){12,}")


def _redacted(text: str) -> str:
    """``text`` with any card number in it replaced by ``[redacted]``."""
    return _DIGITS.sub("[redacted]", text) if contains_card_number(text) else text


def _shown(value: object, got: str) -> str:
    # Dates as people write them; everything else as the error shows it.
    return value.isoformat() if isinstance(value, date) else _redacted(got)


def _validation(exc: ValidationError) -> dict[str, Any]:
    fields: dict[str, Any] = {"field": exc.field, "expected": exc.expected,
                              "got": _shown(exc.value, exc.got)}
    if isinstance(exc, InvalidInputError):
        fields["problems"] = [
            {"field": p.field, "expected": p.expected, "got": _shown(p.value, p.got),
             "detail": _redacted(str(p))}
            for p in exc.problems
        ]
    return fields


_UNAVAILABLE = {
    502: "the payment gateway failed; nothing was charged twice, and the request can be retried",
    503: "a store or the payment gateway is not available; try again later",
}


def _detail(exc: BaseException, status: int) -> str:
    if not isinstance(exc, MilestonebillError) or status == 500:
        return "internal error"
    if status in _UNAVAILABLE:
        return _UNAVAILABLE[status]
    return _redacted(str(exc))


def problem_details(exc: BaseException, *, instance: str | None = None) -> dict[str, Any]:
    """``exc`` as an RFC 9457 problem details object (JSON-ready).

    Members: ``type`` (``about:blank``: the status says what kind of
    problem it is), ``title``, ``status``, ``detail`` (the error's message
    for the library's 4xx errors; a fixed sentence for 5xx answers, whose
    text -- a file path, a host name, a connection string -- is for the
    server's log, not the client), ``error`` (the
    library's class name, for programs), ``instance`` when given, and for
    validation errors ``field``, ``expected``, ``got`` and, when several
    problems were found at once, ``problems``.

    >>> from milestonebill.errors import InvalidInputError, ValidationError
    >>> err = InvalidInputError([ValidationError("a", "positive", -1),
    ...                          ValidationError("b", "a date", "x")])
    >>> [p["field"] for p in problem_details(err, instance="/agreements")["problems"]]
    ['a', 'b']
    """
    status = http_status(exc)
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": _TITLES[status],
        "status": status,
        "detail": _detail(exc, status),
        "error": type(exc).__name__ if isinstance(exc, MilestonebillError) else "InternalError",
    }
    if instance is not None:
        body["instance"] = instance
    if isinstance(exc, ValidationError):
        body.update(_validation(exc))
    return body

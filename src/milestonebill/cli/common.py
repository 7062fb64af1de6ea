"""What every ``milestonebill`` subcommand shares: the handler and registrar
types, argument types (ISO dates, ids, numbers), the usage error and error
messages for people.

>>> date_arg("2025-01-31")
datetime.date(2025, 1, 31)
>>> error_text(ValidationError("--to", "a date on or after --from 2025-02-01", date(2025, 1, 1)))
"'--to' must be a date on or after --from 2025-02-01 (got 2025-01-01)"
>>> plain_text("'to_date' must be at least 0 (got Decimal('-1'))")
"'to_date' must be at least 0 (got -1)"
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any, Final, TextIO

from milestonebill._validate import exact_decimal
from milestonebill.errors import InvalidInputError, ValidationError
from milestonebill.money import Money

__all__ = [
    "FIRST_DATE",
    "LAST_DATE",
    "Handler",
    "Registrar",
    "UsageError",
    "date_arg",
    "datetime_arg",
    "decimal_arg",
    "error_text",
    "id_arg",
    "plain_text",
]

#: Runs a parsed subcommand: from the arguments and an output stream to an exit code.
Handler = Callable[[argparse.Namespace, TextIO], int]
#: Adds one subcommand's parser to the subparsers and sets its ``handler``.
Registrar = Callable[[Any], None]

#: The dates the command accepts: billing dates, not the ends of the calendar
#: (the engine looks up to a year ahead of a date, which 9999-12-31 has not).
FIRST_DATE: Final = date(1900, 1, 1)
LAST_DATE: Final = date(2999, 12, 31)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class UsageError(ValidationError):
    """The command line is wrong: an option missing or in conflict, a value of the
    wrong form.  The command exits with status 2 and nothing was done."""


def date_arg(text: str) -> date:
    """An argparse ``type`` for ISO dates such as ``2025-01-31``, from
    :data:`FIRST_DATE` to :data:`LAST_DATE`."""
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be an ISO date such as 2025-01-31 (got {text!r})") from None
    if not FIRST_DATE <= value <= LAST_DATE:
        raise argparse.ArgumentTypeError(
            f"must be a date from {FIRST_DATE} to {LAST_DATE} (got {text!r})")
    return value


def datetime_arg(text: str) -> datetime:
    """An argparse ``type`` for a moment with its zone, such as ``2025-01-15T09:30:00Z``
    or ``2025-01-15T10:30+01:00``; the value is in UTC.

    >>> datetime_arg("2025-01-15T10:30+01:00").isoformat()
    '2025-01-15T09:30:00+00:00'
    """
    expected = "an ISO date and time with its zone such as 2025-01-15T09:30:00Z"
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {expected} (got {text!r})") from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise argparse.ArgumentTypeError(f"must be {expected} (got {text!r})")
    if not FIRST_DATE <= value.date() <= LAST_DATE:
        raise argparse.ArgumentTypeError(
            f"must be a time from {FIRST_DATE} to {LAST_DATE} (got {text!r})")
    return value.astimezone(UTC)


def id_arg(text: str) -> str:
    """An argparse ``type`` for ids (agreements, milestones, obligations, firms)."""
    if not text or text != text.strip() or _CONTROL.search(text) or len(text) > 200:
        raise argparse.ArgumentTypeError(
            "must be an id: 1 to 200 characters, no control characters or surrounding "
            f"spaces (got {text!r})")
    return text


def decimal_arg(text: str) -> Decimal:
    """An argparse ``type`` for exact numbers such as ``12.5`` (never a float)."""
    try:
        return exact_decimal(text, "value")
    except ValidationError as exc:
        raise argparse.ArgumentTypeError(f"must be {exc.expected} (got {text!r})") from None


def _plain(value: object) -> str | None:
    """``value`` as a person writes it, or ``None`` when its repr will do."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Money):
        return f"{value.amount} {value.currency.code}"
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    if isinstance(value, list | tuple) and value:
        parts = [_plain(v) for v in value]
        if all(p is not None for p in parts):
            return "[" + ", ".join(p for p in parts if p is not None) + "]"
    return None


def _problems(exc: ValidationError) -> list[ValidationError]:
    if isinstance(exc, InvalidInputError):
        return [q for p in exc.problems for q in _problems(p)]
    return [exc]


_REPRS: Final = (
    (re.compile(r"datetime\.date\((\d+), (\d+), (\d+)\)"),
     lambda m: f"{int(m[1]):04d}-{int(m[2]):02d}-{int(m[3]):02d}"),
    (re.compile(r"datetime\.datetime\((\d+), (\d+), (\d+)(?:, (\d+))?(?:, (\d+))?(?:, (\d+))?"
                r"(?:, \d+)?(?:, tzinfo=datetime\.timezone\.utc)?\)"),
     lambda m: (f"{int(m[1]):04d}-{int(m[2]):02d}-{int(m[3]):02d}T{int(m[4] or 0):02d}:"
                f"{int(m[5] or 0):02d}:{int(m[6] or 0):02d}")),
    (re.compile(r"Decimal\('([^']*)'\)"), lambda m: m[1]),
    (re.compile(r"Money\('([^']*)', '([A-Z]{3})'\)"), lambda m: f"{m[1]} {m[2]}"),
    (re.compile(r"Fraction\((-?\d+), (\d+)\)"), lambda m: f"{m[1]}/{m[2]}"),
)


def plain_text(text: str) -> str:
    """``text`` on one line, with the Python reprs of dates, times, decimals, money
    and fractions written as a person would (``2025-01-01``, ``12.30 USD``)."""
    for pattern, repl in _REPRS:
        text = pattern.sub(repl, text)
    return " ".join(text.split())


def error_text(exc: BaseException) -> str:
    """The message of ``exc`` for a person at a terminal, on one line.

    A :class:`~milestonebill.errors.ValidationError` shows what it got as a
    Python ``repr``; where that is a date (or a list of dates), a decimal or
    money it is written as text instead (``2025-01-01``, not
    ``datetime.date(2025, 1, 1)``).
    """
    text = str(exc)
    if isinstance(exc, ValidationError):
        # Longest first: a list's repr contains the reprs of the dates in it.
        for problem in sorted(_problems(exc), key=lambda p: -len(p.got)):
            shown = _plain(problem.value)
            if shown is not None:
                text = text.replace(problem.got, shown)
    elif isinstance(exc, OSError) and exc.strerror and exc.filename:
        text = f"{exc.filename}: {exc.strerror}"
    return plain_text(text)

"""What every ``milestonebill`` subcommand shares: the handler and registrar
types, the ISO date argument and error messages for people.

>>> date_arg("2025-01-31")
datetime.date(2025, 1, 31)
>>> error_text(ValidationError("--to", "a date on or after --from 2025-02-01", date(2025, 1, 1)))
"'--to' must be a date on or after --from 2025-02-01 (got 2025-01-01)"
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date
from typing import Any, TextIO

from milestonebill.errors import InvalidInputError, ValidationError

__all__ = ["Handler", "Registrar", "date_arg", "error_text"]

#: Runs a parsed subcommand: from the arguments and an output stream to an exit code.
Handler = Callable[[argparse.Namespace, TextIO], int]
#: Adds one subcommand's parser to the subparsers and sets its ``handler``.
Registrar = Callable[[Any], None]


def date_arg(text: str) -> date:
    """An argparse ``type`` for ISO dates such as ``2025-01-31``."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO date such as 2025-01-31, got {text!r}"
        ) from None


def _iso(value: object) -> str | None:
    """``value`` as a person writes it when it is a date or a list of dates."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple) and value and all(isinstance(v, date) for v in value):
        return "[" + ", ".join(v.isoformat() for v in value) + "]"
    return None


def _problems(exc: ValidationError) -> list[ValidationError]:
    if isinstance(exc, InvalidInputError):
        return [q for p in exc.problems for q in _problems(p)]
    return [exc]


def error_text(exc: BaseException) -> str:
    """The message of ``exc`` for a person at a terminal.

    A :class:`~milestonebill.errors.ValidationError` shows what it got as a
    Python ``repr``; where that is a date (or a list of dates) it is written
    as ISO text instead (``2025-01-01``, not ``datetime.date(2025, 1, 1)``).
    """
    text = str(exc)
    if isinstance(exc, ValidationError):
        # Longest first: a list's repr contains the reprs of the dates in it.
        for problem in sorted(_problems(exc), key=lambda p: -len(p.got)):
            iso = _iso(problem.value)
            if iso is not None:
                text = text.replace(problem.got, iso)
    return text

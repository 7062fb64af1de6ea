"""Exit statuses and error reports of the ``milestonebill`` command.

======  ==================================================================
status  meaning
======  ==================================================================
0       done
1       refused: the library said no (a :class:`~milestonebill.errors.DomainError`:
        an unknown agreement, a milestone already completed, a bad file), or
        a run finished with problems
2       usage: the command line is wrong (an unknown option, a value of the
        wrong form, options in conflict, a required setting missing)
3       infrastructure: the store or the gateway failed or cannot be reached
        (:class:`~milestonebill.errors.InfrastructureError`, an operating-system
        error on the store), or an unexpected internal error
130     interrupted (Ctrl-C)
======  ==================================================================

Every error is reported on one line of standard error, naming the field and
the value as the user wrote them; with ``--json`` that line is a JSON object
``{"error": {"type", "exit_code", "field", "expected", "got", "message"}}``.

>>> from milestonebill.errors import NotFoundError
>>> exit_code(NotFoundError("no agreement 'agr-9' in the store"))
1
>>> error_document(UsageError("--as-of", "an ISO date", "31/01/2025"), 2)["error"]["got"]
'31/01/2025'
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any, Final, TextIO

from milestonebill.cli.common import UsageError, error_text, plain_text
from milestonebill.errors import (
    DomainError,
    InfrastructureError,
    InvalidInputError,
    ValidationError,
)
from milestonebill.money import Money

__all__ = [
    "EXIT_INFRASTRUCTURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_USAGE",
    "error_document",
    "exit_code",
    "report",
]

EXIT_OK: Final = 0
EXIT_REFUSED: Final = 1
EXIT_USAGE: Final = 2
EXIT_INFRASTRUCTURE: Final = 3
EXIT_INTERRUPTED: Final = 130


def exit_code(exc: BaseException) -> int:
    """The exit status an exception ends the command with (see the module docs)."""
    if isinstance(exc, UsageError):
        return EXIT_USAGE
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, DomainError):
        return EXIT_REFUSED
    return EXIT_INFRASTRUCTURE


def _shown(value: object) -> object:
    """A value for the ``got`` of a JSON error: what the user wrote, as JSON."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Money):
        return value.to_json()
    if isinstance(value, list | tuple):
        return [_shown(v) for v in value]
    return plain_text(repr(value))


def _problem(exc: ValidationError) -> dict[str, Any]:
    return {"field": exc.field, "expected": exc.expected, "got": _shown(exc.value),
            "message": error_text(exc)}


def error_document(exc: BaseException, code: int, *, internal: bool = False) -> dict[str, Any]:
    """The JSON form of an error report."""
    doc: dict[str, Any] = {"type": type(exc).__name__, "exit_code": code,
                           "field": None, "expected": None, "got": None,
                           "message": _message(exc, internal)}
    if isinstance(exc, ValidationError):
        doc.update({k: v for k, v in _problem(exc).items() if k != "message"})
        if isinstance(exc, InvalidInputError):
            doc["problems"] = [_problem(p) for p in exc.problems]
    return {"error": doc}


def _message(exc: BaseException, internal: bool) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    text = error_text(exc) or type(exc).__name__
    if internal:
        return f"internal error: {type(exc).__name__}: {text} (run with --debug for the traceback)"
    return text


def _is_internal(exc: BaseException) -> bool:
    return not isinstance(exc, (UsageError, DomainError, InfrastructureError, OSError,
                                KeyboardInterrupt))


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def report(exc: BaseException, *, command: str | None, err: TextIO, json_mode: bool,
           debug: bool, secrets: Iterable[str] = (), hint: str | None = None) -> int:
    """Write the one-line report of ``exc`` to ``err``; return the exit status.

    With ``debug`` the traceback comes first.  ``secrets`` (an API key) are
    replaced by ``***`` wherever they would appear.
    """
    code = exit_code(exc)
    internal = _is_internal(exc)
    secrets = tuple(secrets)
    if debug:
        err.write(_scrub("".join(traceback.format_exception(exc)), secrets))
    if json_mode:
        doc = error_document(exc, code, internal=internal)
        doc["error"]["message"] = _scrub(doc["error"]["message"], secrets)
        err.write(json.dumps(doc, ensure_ascii=False, default=str) + "\n")
        return code
    where = "milestonebill" if command is None else f"milestonebill {command}"
    line = f"{where}: error: {_message(exc, internal)}"
    if hint is not None:
        line += f" ({hint})"
    err.write(_scrub(line, secrets) + "\n")
    return code

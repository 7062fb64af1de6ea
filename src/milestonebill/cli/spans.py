"""The periods the command takes: ``--period P`` and ``--from``/``--to``.

``P`` is one of

* ``2025-03`` -- a month;
* ``2025-Q1`` -- a quarter (``Q1`` to ``Q4``, any case);
* ``2025`` -- a year;
* ``2025-01-01..2025-03-31`` -- from the first day through the last day,
  both included.

Each becomes a half-open :class:`~milestonebill.periods.Period` ``[start,
end)``, the library's convention: its ``end`` is the day *after* the last
day.

>>> for text in ["2025-03", "2025-q1", "2025", "2025-01-15..2025-02-14"]:
...     p = period_arg(text)
...     print(p.start, p.end)
2025-03-01 2025-04-01
2025-01-01 2025-04-01
2025-01-01 2026-01-01
2025-01-15 2025-02-15
>>> period_arg("2025-13")
Traceback (most recent call last):
...
argparse.ArgumentTypeError: must be a period such as 2025-03, 2025-Q1, 2025 or 2025-01-01..2025-03-31 (got '2025-13')
"""

from __future__ import annotations

import argparse
import re
from datetime import date, timedelta
from typing import Any, Final

from milestonebill.cli.common import FIRST_DATE, LAST_DATE, UsageError, date_arg
from milestonebill.periods import Period, add_months

__all__ = ["PERIOD_FORMS", "add_span_options", "period_arg", "span_of"]

#: How ``--period`` may be written, for messages and help.
PERIOD_FORMS: Final = "2025-03, 2025-Q1, 2025 or 2025-01-01..2025-03-31"
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_QUARTER = re.compile(r"(\d{4})-[Qq]([1-4])")
_YEAR = re.compile(r"(\d{4})")


def _bad(text: str, why: str = f"a period such as {PERIOD_FORMS}") -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(f"must be {why} (got {text!r})")


def _parse(text: str) -> Period | None:
    if m := _MONTH.fullmatch(text):
        if not 1 <= int(m[2]) <= 12:
            return None
        start = date(int(m[1]), int(m[2]), 1)
        return Period(start, add_months(start, 1))
    if m := _QUARTER.fullmatch(text):
        start = date(int(m[1]), 3 * int(m[2]) - 2, 1)
        return Period(start, add_months(start, 3))
    if m := _YEAR.fullmatch(text):
        return Period(date(int(m[1]), 1, 1), date(int(m[1]) + 1, 1, 1))
    return None


def period_arg(text: str) -> Period:
    """An argparse ``type`` for the period grammar of the module docs."""
    text = text.strip()
    if ".." in text:
        first, _, last = text.partition("..")
        try:
            start, end = date_arg(first.strip()), date_arg(last.strip())
        except argparse.ArgumentTypeError:
            raise _bad(text) from None
        if end < start:
            raise _bad(text, "a range whose last day is not before its first")
        return Period(start, end + timedelta(days=1))
    try:
        period = _parse(text)
    except ValueError:
        period = None
    if period is None:
        raise _bad(text)
    if not (period.start >= FIRST_DATE and period.end <= LAST_DATE + timedelta(days=1)):
        raise _bad(text, f"a period from {FIRST_DATE} to {LAST_DATE}")
    return period


def add_span_options(parser: Any, *, what: str) -> None:
    """Add ``--period``, ``--from`` and ``--to`` to a subcommand's parser."""
    parser.add_argument("--period", type=period_arg, metavar="P",
                        help=f"{what}: {PERIOD_FORMS}")
    parser.add_argument("--from", dest="span_from", type=date_arg, metavar="DATE",
                        help="first day of the period (with --to)")
    parser.add_argument("--to", dest="span_to", type=date_arg, metavar="DATE",
                        help="last day of the period, included (with --from)")


def span_of(args: argparse.Namespace, *, required: bool) -> Period | None:
    """The period ``--period`` or ``--from``/``--to`` gave (``None`` when neither and
    not ``required``).

    The result is half-open: ``--to`` is the last day included, so the period ends
    the day after it.  Raises :class:`~milestonebill.cli.common.UsageError` naming the
    option for ``--period`` given with ``--from``/``--to``, one end without the
    other, no period where one is ``required``, or ``--to`` before ``--from``.
    """
    period: Period | None = args.period
    start, last = args.span_from, args.span_to
    if period is not None and (start is not None or last is not None):
        raise UsageError("--period", "given without --from/--to", str(period.start),
                         "give --period or --from/--to, not both")
    if period is not None:
        return period
    if (start is None) != (last is None):
        missing = "--to" if last is None else "--from"
        raise UsageError(missing, "given with the other end of the period", None,
                         f"--from and --to go together: {missing} is missing")
    if start is None or last is None:
        if required:
            raise UsageError("--period", f"a period such as {PERIOD_FORMS}", None,
                             f"this needs a period: --period P ({PERIOD_FORMS}) or "
                             "--from DATE --to DATE")
        return None
    if last < start:
        raise UsageError("--to", f"a day on or after --from {start}", last)
    return Period(start, last + timedelta(days=1))

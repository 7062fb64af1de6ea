"""What a report of ``milestonebill report`` is: the request it answers, its entry in
the registry, the books it reads, and how its table is printed.

:class:`ReportRequest` carries the books, the day, the period and the
report options of the command line (``--periods``, ``--cadence``,
``--history``, ``--months``, ``--client``, ``--currency``); a
:class:`Report` names the options it takes, so giving one to a report that
does not is a usage error rather than silently ignored.
:mod:`milestonebill.cli.reports` re-exports all of it.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any, Final, Protocol

import attrs

from milestonebill.agreement import Agreement
from milestonebill.cli.output import text_table
from milestonebill.ledger import JournalEntry
from milestonebill.periods import Period
from milestonebill.reports import Cadence, Table

__all__ = [
    "FORMATS",
    "OPTIONS",
    "Books",
    "Report",
    "ReportRequest",
    "count_arg",
    "render",
]

#: The output formats of ``report``.
FORMATS: Final = ("table", "json", "csv")
#: The report options a :class:`Report` may take, by their ``ReportRequest`` field.
OPTIONS: Final = ("periods", "cadence", "history", "months", "client", "currency")


class Books(Protocol):
    """What a report reads: every agreement and every journal entry of the store."""

    def agreements(self) -> Sequence[Agreement]:
        """Every agreement, folded from its events, in id order."""
        ...

    def entries(self) -> Sequence[JournalEntry]:
        """Every journal entry posted."""
        ...


@attrs.frozen
class ReportRequest:
    """What a report is asked: the books, the day, the period (when it needs one) and
    the report options given (``None``: not given; the report picks its default)."""

    books: Books
    as_of: date
    span: Period | None = None
    periods: int | None = None
    cadence: Cadence | None = None
    history: int | None = None
    months: int | None = None
    client: str | None = None
    currency: str | None = None


def _options(names: Iterable[str]) -> frozenset[str]:
    chosen = frozenset(names)
    unknown = sorted(chosen - set(OPTIONS))
    if unknown:
        raise ValueError(f"report options must be among {OPTIONS} (got {unknown})")
    return chosen


@attrs.frozen
class Report:
    """A report the command can print: ``make`` builds its table.

    ``needs_period``: ``--period`` (or ``--from``/``--to``) is required.
    ``options``: which of :data:`OPTIONS` it takes.
    """

    make: Callable[[ReportRequest], Table[Any]]
    help: str
    needs_period: bool = False
    options: frozenset[str] = attrs.field(default=frozenset(), converter=_options)


def count_arg(text: str, *, at_least: int = 1, at_most: int = 1200) -> int:
    """An argparse ``type`` for a whole number from ``at_least`` to ``at_most``.

    >>> count_arg("12")
    12
    """
    try:
        value = int(text, 10)
    except ValueError:
        value = at_least - 1
    if not at_least <= value <= at_most:
        raise argparse.ArgumentTypeError(
            f"must be a whole number from {at_least} to {at_most} (got {text!r})")
    return value


def render(table: Table[Any], fmt: str) -> str:
    """``table`` as ``table`` text, ``json`` or ``csv``."""
    if fmt == "csv":
        return table.to_csv()
    if fmt == "json":
        return json.dumps({"title": table.title, "rows": table.to_records()}, indent=2,
                          ensure_ascii=False) + "\n"
    if not table.rows:
        return f"{table.title}: no rows\n"
    columns = table.columns()
    rows = [[getattr(r, c) for c in columns] for r in table.rows]
    return f"{table.title}\n{text_table(columns, rows)}\n"

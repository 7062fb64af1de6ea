"""``milestonebill report NAME``: the reports of :mod:`milestonebill.reports`,
read from the store.

Every report is one entry of :data:`REPORTS`: a name, a function from a
:class:`ReportRequest` to a :class:`~milestonebill.reports.Table`, and
whether it needs a period.  Adding a report to the command is adding one
entry.  ``--format`` chooses ``table`` (text for people; the default),
``json`` (``Table.to_records()``; the default with ``--json``) or ``csv``
(``Table.to_csv()``).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final, Protocol, TextIO

import attrs

from milestonebill.agreement import Agreement
from milestonebill.cli.common import date_arg
from milestonebill.cli.failures import EXIT_OK
from milestonebill.cli.output import text_table
from milestonebill.cli.session import Session, open_session
from milestonebill.cli.spans import add_span_options, span_of
from milestonebill.ledger import JournalEntry
from milestonebill.periods import Period
from milestonebill.recognition import Granularity, buckets
from milestonebill.reports import (
    Table,
    contract_positions,
    remaining_obligations,
    revenue_schedule,
    rollforward,
)

__all__ = [
    "FORMATS",
    "REPORTS",
    "Books",
    "Report",
    "ReportRequest",
    "contract_balances_report",
    "register",
    "remaining_obligations_report",
    "render",
    "revenue_schedule_report",
    "rollforward_report",
]

#: The output formats of ``report``.
FORMATS: Final = ("table", "json", "csv")


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
    """What a report is asked: the books, the day, and the period (when it needs one)."""

    books: Books
    as_of: date
    span: Period | None = None


@attrs.frozen
class Report:
    """A report the command can print: ``make`` builds its table."""

    make: Callable[[ReportRequest], Table[Any]]
    help: str
    needs_period: bool = False


def _span(req: ReportRequest) -> Period:
    assert req.span is not None  # the command checked it: needs_period
    return req.span


def _currencies(entries: Sequence[JournalEntry]) -> list[str]:
    return sorted({e.currency.code for e in entries})


def revenue_schedule_report(req: ReportRequest) -> Table[Any]:
    """Revenue each obligation of each agreement earns per month of the period."""
    return Table("Revenue schedule", [row for a in req.books.agreements()
                                      for row in revenue_schedule(a, _span(req))])


def remaining_obligations_report(req: ReportRequest) -> Table[Any]:
    """Remaining performance obligations at ``as_of`` (ASC 606-10-50-13)."""
    return Table("Remaining performance obligations",
                 [row for a in req.books.agreements() if a.signed_on <= req.as_of
                  for row in remaining_obligations(a, req.as_of)])


def contract_balances_report(req: ReportRequest) -> Table[Any]:
    """Each contract's net balance at ``as_of``: a contract asset or a liability."""
    entries = req.books.entries()
    return Table("Contract balances", [row for code in _currencies(entries)
                                       for row in contract_positions(entries, req.as_of, code)])


def rollforward_report(req: ReportRequest) -> Table[Any]:
    """The deferred revenue roll-forward, month by month over the period, per currency."""
    entries = req.books.entries()
    months = list(buckets(_span(req), Granularity.MONTH))
    return Table("Deferred revenue roll-forward",
                 [row for code in _currencies(entries)
                  for row in rollforward(entries, months, currency=code)])


#: Every report the command knows, by name.
REPORTS: Final[Mapping[str, Report]] = {
    "contract-balances": Report(contract_balances_report,
                                "each contract's net asset or liability at --as-of"),
    "remaining-obligations": Report(remaining_obligations_report,
                                    "transaction price not yet earned at --as-of, by timing"),
    "revenue-schedule": Report(revenue_schedule_report,
                               "revenue earned per obligation and month of the period",
                               needs_period=True),
    "rollforward": Report(rollforward_report,
                          "deferred revenue roll-forward per month of the period",
                          needs_period=True),
}


class _StoreBooks:
    """The books of the store a command opened, each read once."""

    def __init__(self, session: Session) -> None:
        self._s = session
        self._agreements: list[Agreement] | None = None
        self._entries: list[JournalEntry] | None = None

    def agreements(self) -> Sequence[Agreement]:
        if self._agreements is None:
            self._agreements = [self._s.biller.load(aid) for aid in self._s.store.agreement_ids()]
        return self._agreements

    def entries(self) -> Sequence[JournalEntry]:
        if self._entries is None:
            self._entries = self._s.store.entries()
        return self._entries


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


def _report(args: argparse.Namespace, out: TextIO) -> int:
    spec = REPORTS[args.name]
    span = span_of(args, required=spec.needs_period)
    as_of = args.as_of or datetime.now(UTC).date()
    if span is not None and args.as_of is None:
        as_of = min(as_of, span.end - timedelta(days=1))
    fmt = args.format or ("json" if args.json else "table")
    with open_session(args) as s:
        table = spec.make(ReportRequest(_StoreBooks(s), as_of, span))
    out.write(render(table, fmt))
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``report`` to ``sub`` (an argparse subparsers object)."""
    names = "; ".join(f"{name}: {r.help}" for name, r in REPORTS.items())
    p = sub.add_parser(
        "report", help="print a report from the books",
        description=f"Print one report read from the store. Reports: {names}.")
    p.add_argument("name", choices=sorted(REPORTS), metavar="NAME",
                   help="one of: " + ", ".join(sorted(REPORTS)))
    p.add_argument("--as-of", dest="as_of", type=date_arg, metavar="DATE",
                   help="the day the report is as of (default today, or the last day of "
                   "the period)")
    add_span_options(p, what="the period the report covers")
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="table (default), json (default with --json) or csv")
    p.set_defaults(handler=_report)

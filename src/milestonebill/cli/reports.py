"""``milestonebill report NAME``: the reports of :mod:`milestonebill.reports`,
read from the store.

Every report is one entry of :data:`REPORTS`: a name, a function from a
:class:`ReportRequest` to a :class:`~milestonebill.reports.Table`, whether it
needs a period and which report options it takes (``--periods``,
``--cadence``, ``--history``, ``--months``, ``--client``, ``--currency``;
see :mod:`milestonebill.cli.firm_reports`).  Adding a report to the command
is adding one entry.  ``--format`` chooses ``table`` (text for people; the
default), ``json`` (``Table.to_records()``; the default with ``--json``) or
``csv`` (``Table.to_csv()``).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Final, TextIO

from milestonebill.agreement import Agreement
from milestonebill.cli import firm_reports as firm
from milestonebill.cli.common import UsageError, date_arg
from milestonebill.cli.failures import EXIT_OK
from milestonebill.cli.reporting import (
    FORMATS,
    OPTIONS,
    Books,
    Report,
    ReportRequest,
    count_arg,
    render,
)
from milestonebill.cli.session import Session, open_session
from milestonebill.cli.spans import add_span_options, span_of
from milestonebill.ledger import JournalEntry
from milestonebill.periods import Period
from milestonebill.recognition import Granularity, buckets
from milestonebill.reports import (
    Cadence,
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


_FORECAST: Final = ("periods", "cadence", "history")

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
    "cash-forecast": Report(firm.cash_forecast_report,
                            "cash collected, then expected, per week or month after --as-of",
                            options=_FORECAST),
    "billing-revenue": Report(firm.billing_revenue_report,
                              "billing and revenue side by side per week or month",
                              options=_FORECAST),
    "expected-receipts": Report(firm.expected_receipts_report,
                                "each receipt the cash forecast expects, with its basis",
                                options=("periods", "cadence")),
    "receivables": Report(firm.receivables_report,
                          "every invoice with a balance at --as-of", options=("client",)),
    "aging": Report(firm.aging_report, "open invoices per client and aging bucket",
                    options=("client",)),
    "statement": Report(firm.statement_report,
                        "one client's statement over the period (--client)",
                        needs_period=True, options=("client", "currency")),
    "leakage": Report(firm.leakage_report,
                      "what was due by --as-of and not billed or collected"),
    "mrr": Report(firm.mrr_report, "recurring charges in force at --as-of: MRR and ARR"),
    "mrr-movements": Report(firm.mrr_movements_report,
                            "MRR new, expansion, contraction, churn over the period "
                            "(or --months)", options=("months",)),
    "nrr": Report(firm.nrr_report, "net revenue retention over the period",
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


def _options(args: argparse.Namespace, name: str, spec: Report) -> dict[str, Any]:
    """The report options given, each checked to be one the report takes."""
    given = {o: getattr(args, o) for o in OPTIONS if getattr(args, o) is not None}
    for option, value in given.items():
        if option not in spec.options:
            takes = ", ".join(f"--{o}" for o in sorted(spec.options)) or "none"
            raise UsageError(f"--{option}", f"an option of report {name} (it takes: {takes})",
                             str(getattr(value, "value", value)),
                             f"report {name} does not take --{option} (it takes: {takes})")
    if "cadence" in given:
        given["cadence"] = Cadence(given["cadence"])
    return given


def _report(args: argparse.Namespace, out: TextIO) -> int:
    spec = REPORTS[args.name]
    options = _options(args, args.name, spec)
    span = span_of(args, required=spec.needs_period)
    as_of = args.as_of or datetime.now(UTC).date()
    if span is not None and args.as_of is None:
        as_of = min(as_of, span.end - timedelta(days=1))
    fmt = args.format or ("json" if args.json else "table")
    with open_session(args) as s:
        table = spec.make(ReportRequest(_StoreBooks(s), as_of, span, **options))
    out.write(render(table, fmt))
    return EXIT_OK


def _add_report_options(p: Any) -> None:
    g = p.add_argument_group("report options (each report takes some; see NAME above)")
    g.add_argument("--periods", type=count_arg, metavar="N",
                   help=f"forecasts: how many weeks or months after --as-of (default "
                   f"{firm.DEFAULT_PERIODS})")
    g.add_argument("--cadence", choices=[c.value for c in Cadence],
                   help="forecasts: week or month (default month)")
    g.add_argument("--history", type=partial(count_arg, at_least=0), metavar="N",
                   help="forecasts: how many periods before the first one (default 0)")
    g.add_argument("--months", type=count_arg, metavar="N",
                   help="mrr-movements: month by month over the N months ending with the "
                   "month of --as-of (instead of a period)")
    g.add_argument("--client", metavar="NAME",
                   help="statement (required), receivables, aging: the client, as named on "
                   "the proposals")
    g.add_argument("--currency", metavar="CODE",
                   help="statement: the currency, for a client billed in several")


def register(sub: Any) -> None:
    """Add ``report`` to ``sub`` (an argparse subparsers object)."""
    names = "; ".join(
        f"{name}: {r.help}" + (f" [{', '.join('--' + o for o in sorted(r.options))}]"
                               if r.options else "") for name, r in REPORTS.items())
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
    _add_report_options(p)
    p.set_defaults(handler=_report)

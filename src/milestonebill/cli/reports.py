"""``milestonebill report NAME``: the reports of :mod:`milestonebill.reports`,
read from the store.

The command has no registry of its own: it runs the library's catalogue,
:data:`milestonebill.reports.catalog.REPORTS`, the one a wrapping service
runs too, so a report added there is a report of the command.  The command
line gives a report's parameters as options -- ``--as-of``, a period
(``--period`` or ``--from``/``--to``) for ``start`` and ``end``,
``--periods``, ``--cadence``, ``--history``, ``--months``, ``--client``,
``--currency`` -- and an option the report does not take is a usage error.
``--format`` chooses ``table`` (text for people; the default), ``json``
(``Table.to_records()``; the default with ``--json``) or ``csv``
(``Table.to_csv()``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any, Final, TextIO

from milestonebill.agreement import Agreement
from milestonebill.cli.common import UsageError, date_arg
from milestonebill.cli.failures import EXIT_OK
from milestonebill.cli.reporting import FORMATS, count_arg, render
from milestonebill.cli.session import Session, open_session
from milestonebill.cli.spans import add_span_options, span_of
from milestonebill.ledger import JournalEntry
from milestonebill.periods import Period
from milestonebill.reports import Cadence
from milestonebill.reports.catalog import REPORTS, Report, run_report

__all__ = ["FORMATS", "OPTIONS", "REPORTS", "register", "render"]

#: The report parameters the command takes as options of their own (``--name``).
OPTIONS: Final = ("periods", "cadence", "history", "months", "client", "currency")
_METAVARS: Final = {"periods": "N", "history": "N", "months": "N", "client": "NAME",
                    "currency": "CODE", "cadence": "week|month"}


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


def _takes(report: Report) -> str:
    return ", ".join(f"--{o}" for o in OPTIONS if o in report.parameters) or "none"


def _option_params(args: argparse.Namespace, name: str, report: Report) -> dict[str, str]:
    """The report options given, as the catalogue's text parameters."""
    params: dict[str, str] = {}
    for option in OPTIONS:
        value = getattr(args, option)
        if value is None:
            continue
        if option not in report.parameters:
            raise UsageError(f"--{option}", f"an option of report {name} (it takes: "
                             f"{_takes(report)})", str(getattr(value, "value", value)),
                             f"report {name} does not take --{option} (it takes: "
                             f"{_takes(report)})")
        params[option] = str(getattr(value, "value", value))
    for option in OPTIONS:
        if option in report.required and option not in params:
            raise UsageError(f"--{option}", "given", None,
                             f"report {name} needs --{option} {_METAVARS.get(option, 'VALUE')}")
    return params


def _span(args: argparse.Namespace, name: str, report: Report,
          params: dict[str, str]) -> Period | None:
    """The period given, checked against what the report takes."""
    if "months" in report.parameters:  # a period, or months instead of one
        span = span_of(args, required=False)
        if "months" in params and span is not None:
            raise UsageError("--months", "given without --period or --from/--to",
                             params["months"], "give --months N or a period, not both")
        if "months" not in params and span is None:
            raise UsageError("--period", "a period, or --months N", None,
                             f"report {name} needs a period (--period P or --from DATE "
                             "--to DATE) or --months N")
        return span
    return span_of(args, required="start" in report.required)


def _params(args: argparse.Namespace, name: str, report: Report) -> dict[str, str]:
    params = _option_params(args, name, report)
    span = _span(args, name, report, params)
    as_of: date = args.as_of or datetime.now(UTC).date()
    if span is not None and args.as_of is None:
        as_of = min(as_of, span.end - timedelta(days=1))
    if span is not None and "start" in report.parameters:
        params["start"], params["end"] = span.start.isoformat(), span.end.isoformat()
    if "as_of" in report.parameters:
        params["as_of"] = as_of.isoformat()
    return params


def _report(args: argparse.Namespace, out: TextIO) -> int:
    report = REPORTS[args.name]
    params = _params(args, args.name, report)
    fmt = args.format or ("json" if args.json else "table")
    with open_session(args) as s:
        table = run_report(args.name, _StoreBooks(s), params, today=datetime.now(UTC).date(),
                           policy=s.biller.retry_policy)
    out.write(render(table, fmt))
    return EXIT_OK


def _add_report_options(p: Any) -> None:
    g = p.add_argument_group("report options (each report takes some; see NAME above)")
    g.add_argument("--periods", type=count_arg, metavar="N",
                   help="forecasts: how many weeks or months after --as-of (default 3)")
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
                   help="statement, contract-balances, rollforward: one currency")


def register(sub: Any) -> None:
    """Add ``report`` to ``sub`` (an argparse subparsers object)."""
    names = "; ".join(
        f"{name}: {r.summary}" + (f" [{_takes(r)}]" if _takes(r) != "none" else "")
        for name, r in REPORTS.items())
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

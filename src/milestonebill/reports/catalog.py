"""Every report by name, with its parameters as text: one registry for commands and services.

A command line or an HTTP service gets a report's name and its parameters
as strings (``?as_of=2026-03-31&client=Acme``).  :func:`run_report` looks
the name up in :data:`REPORTS`, reads the parameters -- every problem at
once, each named by its parameter -- and builds the report's
:class:`~milestonebill.reports.Table` from the firm's :class:`Books`.

Parameters (a report takes those its :attr:`Report.parameters` lists):

* ``as_of`` -- the day the report is as of (default: ``today``);
* ``start``, ``end`` -- a period, ``start`` included and ``end`` excluded
  (``start=2026-01-01&end=2026-04-01`` is the first quarter);
* ``client`` -- one client's documents, by the name on their proposals;
* ``currency`` -- an ISO 4217 code;
* ``periods``, ``cadence`` (``week`` or ``month``), ``history`` -- a forecast's
  window: ``periods`` after ``as_of`` and ``history`` before it;
* ``months`` -- ``mrr-movements`` month by month over the ``months`` calendar
  months ending with the one holding ``as_of`` (instead of ``start`` and
  ``end``).

Reports that replay agreements to ``as_of`` only see agreements signed by
then.

>>> from milestonebill.agreement import Collection
>>> from milestonebill.testing.scenarios import World, proposal
>>> w = World()  # Monday 2 March 2026
>>> _ = w.open(proposal([("design", "1000.00")], collection=Collection.SEND_INVOICE),
...            payment_method=None)
>>> _ = w.complete("design")
>>> books = Books.of([w.load()], w.store.entries())
>>> table = run_report("receivables", books, {"as_of": "2026-03-31"}, today=w.clock.today())
>>> [(r.invoice_number, str(r.balance), r.days_past_due) for r in table]
[('INV-000001', '1000.00 USD', 29)]
>>> run_report("aging", books, {"as_of": "31/03/2026", "colour": "red"}, today=w.clock.today())
Traceback (most recent call last):
...
milestonebill.errors.InvalidInputError: 2 problems: 'as_of' must be an ISO date such as '2024-01-31' (got '31/03/2026'); 'colour' must be a parameter of report 'aging' (as_of, client) (got 'colour')
>>> run_report("churn", books, {}, today=w.clock.today())
Traceback (most recent call last):
...
milestonebill.errors.NotFoundError: no report 'churn' (reports: aging, billing-revenue-forecast, cash-forecast, contract-balances, expected-receipts, leakage, mrr, mrr-movements, net-revenue-retention, receivables, remaining-obligations, revenue-schedule, rollforward, statement)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import Any, Final, Protocol

import attrs

from milestonebill._validate import check_date, parse_date, raise_all
from milestonebill.agreement import Agreement
from milestonebill.collection import RetryPolicy
from milestonebill.errors import NotFoundError, ValidationError
from milestonebill.ledger import JournalEntry
from milestonebill.money import Currency
from milestonebill.periods import Period, add_months
from milestonebill.recognition import Granularity, buckets
from milestonebill.reports._table import Table
from milestonebill.reports.books import (
    contract_positions,
    remaining_obligations,
    revenue_schedule,
    rollforward,
)
from milestonebill.reports.forecast import (
    Cadence,
    billing_revenue_forecast,
    cash_forecast,
    expected_receipts,
    forecast_periods,
)
from milestonebill.reports.leakage import leakage_audit
from milestonebill.reports.receivables import aging, receivables
from milestonebill.reports.retainers import (
    monthly_movements,
    mrr,
    mrr_movements,
    net_revenue_retention,
)
from milestonebill.reports.statements import client_statement

__all__ = [
    "PARAMETERS",
    "REPORTS",
    "Books",
    "FirmBooks",
    "Report",
    "ReportQuery",
    "report_query",
    "run_report",
]


class FirmBooks(Protocol):
    """What a report reads: every agreement and every journal entry of the firm."""

    def agreements(self) -> Sequence[Agreement]:
        """Every agreement, folded from its events."""
        ...

    def entries(self) -> Sequence[JournalEntry]:
        """Every journal entry posted."""
        ...


@attrs.frozen
class Books:
    """:class:`FirmBooks` already read: the agreements and the entries as values."""

    agreement_list: tuple[Agreement, ...]
    entry_list: tuple[JournalEntry, ...]

    @classmethod
    def of(cls, agreements: Iterable[Agreement], entries: Iterable[JournalEntry]) -> Books:
        """The books of these agreements and entries."""
        return cls(tuple(agreements), tuple(entries))

    def agreements(self) -> Sequence[Agreement]:
        """The agreements given."""
        return self.agreement_list

    def entries(self) -> Sequence[JournalEntry]:
        """The entries given."""
        return self.entry_list


#: Every parameter a report may take, and what it is.
PARAMETERS: Final[Mapping[str, str]] = {
    "as_of": "the day the report is as of (default today)",
    "start": "the first day of the period",
    "end": "the day after the period (excluded)",
    "client": "one client, by the name on their proposals",
    "currency": "an ISO 4217 code such as USD",
    "periods": "how many forecast periods after as_of (default 3)",
    "cadence": "week or month (default month)",
    "history": "how many periods before as_of (default 0)",
    "months": "how many calendar months, month by month, ending with as_of's (not with start, end)",
}


@attrs.frozen
class ReportQuery:
    """A report's parameters, read (see :func:`report_query`)."""

    as_of: date
    start: date | None = None
    end: date | None = None
    client: str | None = None
    currency: Currency | None = None
    periods: int = 3
    cadence: Cadence = Cadence.MONTH
    history: int = 0
    months: int | None = None
    policy: RetryPolicy | None = None

    @property
    def span(self) -> Period:
        """``[start, end)``; the reports that take a period require both.

        Raises :class:`~milestonebill.errors.ValidationError` naming ``start``
        when either end is missing.
        """
        if self.start is None or self.end is None:
            raise ValidationError("start", "given with end: the report covers a period",
                                  self.start)
        return Period(self.start, self.end)


@attrs.frozen
class Report:
    """One report: what it shows, the parameters it takes (``required`` among them) and
    ``make``, which builds its table from the books and the query."""

    name: str
    summary: str
    make: Callable[[FirmBooks, ReportQuery], Table[Any]]
    parameters: tuple[str, ...] = ("as_of",)
    required: tuple[str, ...] = ()


def _signed_by(books: FirmBooks, day: date) -> list[Agreement]:
    return [a for a in books.agreements() if a.signed_on <= day]


def _currencies(q: ReportQuery, entries: Sequence[JournalEntry]) -> list[str]:
    if q.currency is not None:
        return [q.currency.code]
    return sorted({e.currency.code for e in entries})


def _revenue_schedule(b: FirmBooks, q: ReportQuery) -> Table[Any]:
    span = q.span
    return Table("Revenue schedule", [row for a in b.agreements() if a.signed_on < span.end
                                      for row in revenue_schedule(a, span)])


def _remaining(b: FirmBooks, q: ReportQuery) -> Table[Any]:
    return Table("Remaining performance obligations",
                 [row for a in _signed_by(b, q.as_of) for row in remaining_obligations(a, q.as_of)])


def _contract_balances(b: FirmBooks, q: ReportQuery) -> Table[Any]:
    entries = b.entries()
    return Table("Contract balances", [row for code in _currencies(q, entries)
                                       for row in contract_positions(entries, q.as_of, code)])


def _rollforward(b: FirmBooks, q: ReportQuery) -> Table[Any]:
    entries = b.entries()
    months = list(buckets(q.span, Granularity.MONTH))
    return Table("Deferred revenue roll-forward",
                 [row for code in _currencies(q, entries)
                  for row in rollforward(entries, months, currency=code)])


def _forecast(kind: Callable[..., Table[Any]]) -> Callable[[FirmBooks, ReportQuery], Table[Any]]:
    def make(b: FirmBooks, q: ReportQuery) -> Table[Any]:
        return kind(_signed_by(b, q.as_of), q.as_of, periods=q.periods, cadence=q.cadence,
                    history=q.history)
    return make


def _receipts(b: FirmBooks, q: ReportQuery) -> Table[Any]:
    window = forecast_periods(q.as_of, periods=q.periods, cadence=q.cadence)
    return expected_receipts(_signed_by(b, q.as_of), q.as_of, through=window[-1].end)


def _movements(b: FirmBooks, q: ReportQuery) -> Table[Any]:
    if q.months is None:
        if q.start is None or q.end is None:
            raise ValidationError("start", "given with end, or months given instead",
                                  q.start)
        return mrr_movements(b.agreements(), q.start, q.end)
    if q.start is not None or q.end is not None:
        raise ValidationError("months", "given without start and end (one or the other)",
                              q.months)
    first = add_months(q.as_of.replace(day=1), 1 - q.months)
    return monthly_movements(b.agreements(), first, q.months)


_PERIOD = ("start", "end")
_WINDOW = ("as_of", "periods", "cadence", "history")

#: Every report by name.
REPORTS: Final[Mapping[str, Report]] = {r.name: r for r in (
    Report("aging", "what clients owe, by how overdue, per client and currency",
           lambda b, q: aging(_signed_by(b, q.as_of), q.as_of, policy=q.policy,
                              client=q.client), ("as_of", "client")),
    Report("billing-revenue-forecast", "billing and revenue expected per period",
           _forecast(billing_revenue_forecast), _WINDOW),
    Report("cash-forecast", "cash expected per period", _forecast(cash_forecast), _WINDOW),
    Report("contract-balances", "each contract's net asset or liability at as_of",
           _contract_balances, ("as_of", "currency")),
    Report("expected-receipts", "each receipt the cash forecast expects, with its basis",
           _receipts, ("as_of", "periods", "cadence")),
    Report("leakage", "what should have been billed, charged or credited and was not",
           lambda b, q: leakage_audit(_signed_by(b, q.as_of), q.as_of, policy=q.policy)),
    Report("mrr", "monthly recurring revenue per agreement and charge at as_of",
           lambda b, q: mrr(_signed_by(b, q.as_of), q.as_of)),
    Report("mrr-movements", "MRR movements per agreement from start to end, or month by "
           "month over the last `months` months", _movements, ("as_of", *_PERIOD, "months")),
    Report("net-revenue-retention", "net revenue retention from start to end, per currency",
           lambda b, q: net_revenue_retention(b.agreements(), q.span.start, q.span.end),
           _PERIOD, _PERIOD),
    Report("receivables", "every issued invoice: balance, due date, days overdue",
           lambda b, q: receivables(_signed_by(b, q.as_of), q.as_of, policy=q.policy,
                                    client=q.client), ("as_of", "client")),
    Report("remaining-obligations", "transaction price not yet earned at as_of, by timing",
           _remaining),
    Report("revenue-schedule", "revenue earned per obligation and month of the period",
           _revenue_schedule, _PERIOD, _PERIOD),
    Report("rollforward", "deferred revenue roll-forward per month of the period",
           _rollforward, (*_PERIOD, "currency"), _PERIOD),
    Report("statement", "a client's statement over the period",
           lambda b, q: client_statement(b.agreements(), q.client or "", q.span,
                                         currency=q.currency),
           ("client", *_PERIOD, "currency"), ("client", *_PERIOD)),
)}


def _report(name: object) -> Report:
    found = REPORTS.get(name) if isinstance(name, str) else None
    if found is None:
        raise NotFoundError(f"no report {name!r} (reports: {', '.join(sorted(REPORTS))})")
    return found


def _whole(name: str, text: str, least: int) -> int:
    if not text.isdigit() or int(text) < least or int(text) > 1000:
        raise ValidationError(name, f"a whole number from {least} to 1000", text)
    return int(text)


def _value(name: str, text: str) -> Any:
    if name in ("as_of", "start", "end"):
        return parse_date(name, text)
    if name == "currency":
        try:
            return Currency.of(text)
        except ValidationError:
            raise ValidationError(name, "an ISO 4217 code such as 'USD'", text) from None
    if name == "cadence":
        try:
            return Cadence(text.lower())
        except ValueError:
            raise ValidationError(name, "week or month", text) from None
    if name in ("periods", "history", "months"):
        return _whole(name, text, 0 if name == "history" else 1)
    if not text.strip():
        raise ValidationError(name, "a non-empty name", text)
    return text


def report_query(name: str, params: Mapping[str, str], *, today: date,
                 policy: RetryPolicy | None = None) -> ReportQuery:
    """The parameters ``params`` (text, as from a query string) of report ``name``, read.

    Raises :class:`~milestonebill.errors.NotFoundError` for an unknown
    report and every problem with the parameters at once (an unknown or
    missing one, a value that does not read, an empty period).  ``policy``
    is the Biller's retry policy, which dates retries in the receivables
    reports.
    """
    report = _report(name)
    check_date("today", today)
    problems: list[ValidationError] = []
    values: dict[str, Any] = {}
    for key, text in params.items():
        if key not in report.parameters:
            problems.append(ValidationError(key, f"a parameter of report {name!r} "
                                            f"({', '.join(report.parameters)})", key))
            continue
        try:
            values[key] = _value(key, text if isinstance(text, str) else repr(text))
        except ValidationError as exc:
            problems.append(exc)
    problems += [ValidationError(key, f"given: report {name!r} needs it ({PARAMETERS[key]})",
                                 None) for key in report.required if key not in params]
    start, end = values.get("start"), values.get("end")
    if start is not None and end is not None and not start < end:
        problems.append(ValidationError("end", f"after start ({start.isoformat()}): the "
                                        "period excludes its end", end.isoformat()))
    raise_all(problems)
    return ReportQuery(as_of=values.pop("as_of", today), policy=policy, **values)


def run_report(name: str, books: FirmBooks, params: Mapping[str, str], *, today: date,
               policy: RetryPolicy | None = None) -> Table[Any]:
    """Report ``name`` over ``books`` with the parameters ``params`` (see :func:`report_query`)."""
    query = report_query(name, params, today=today, policy=policy)
    return REPORTS[name].make(books, query)

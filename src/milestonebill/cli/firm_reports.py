"""The firm's reports of ``milestonebill report``: forecasts, receivables and retainers.

Each function answers a :class:`~milestonebill.cli.reporting.ReportRequest`
with one report of :mod:`milestonebill.reports`, read from every agreement
in the store (``docs/forecasts.md``, ``docs/receivables.md``,
``docs/retainers.md``):

* ``cash-forecast``, ``billing-revenue``, ``expected-receipts`` --
  ``--periods N`` (default 3) weeks or months (``--cadence``, default
  month) from the one holding the day after ``--as-of``, after
  ``--history N`` earlier ones (default 0), on the default assumptions;
* ``receivables``, ``aging`` -- the open invoices at the end of ``--as-of``
  (``--client NAME`` keeps one client's);
* ``statement`` -- one client's statement (``--client``, required) over the
  period, ``--currency`` for a client billed in several;
* ``leakage`` -- what was due by ``--as-of`` and not billed or collected;
* ``mrr`` -- recurring charges in force on ``--as-of``, per month and year;
* ``mrr-movements`` -- each agreement's MRR at the start and the end of the
  period, or, with ``--months N``, the movements month by month over the N
  calendar months ending with the one holding ``--as-of``;
* ``nrr`` -- net revenue retention over the period.

Agreements signed after ``--as-of`` are not part of the as-of reports yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from milestonebill.agreement import Agreement
from milestonebill.cli.common import UsageError
from milestonebill.cli.reporting import ReportRequest
from milestonebill.periods import Period, add_months
from milestonebill.reports import (
    Cadence,
    Table,
    aging,
    billing_revenue_forecast,
    cash_forecast,
    client_statement,
    expected_receipts,
    forecast_periods,
    leakage_audit,
    monthly_movements,
    mrr,
    mrr_movements,
    net_revenue_retention,
    receivables,
)

__all__ = [
    "DEFAULT_PERIODS",
    "aging_report",
    "billing_revenue_report",
    "cash_forecast_report",
    "expected_receipts_report",
    "leakage_report",
    "mrr_movements_report",
    "mrr_report",
    "nrr_report",
    "receivables_report",
    "statement_report",
]

#: How many forecast periods a forecast covers when ``--periods`` is not given.
DEFAULT_PERIODS = 3


def _signed_by(req: ReportRequest) -> list[Agreement]:
    return [a for a in req.books.agreements() if a.signed_on <= req.as_of]


def _forecast_args(req: ReportRequest) -> dict[str, Any]:
    return {"periods": req.periods or DEFAULT_PERIODS, "cadence": req.cadence or Cadence.MONTH,
            "history": req.history or 0}


def cash_forecast_report(req: ReportRequest) -> Table[Any]:
    """Cash per period: collected through ``as_of``, expected after it."""
    return cash_forecast(_signed_by(req), req.as_of, **_forecast_args(req))


def billing_revenue_report(req: ReportRequest) -> Table[Any]:
    """Billing and revenue per period, side by side."""
    return billing_revenue_forecast(_signed_by(req), req.as_of, **_forecast_args(req))


def expected_receipts_report(req: ReportRequest) -> Table[Any]:
    """Each receipt expected after ``as_of`` until the end of the forecast's last period."""
    args = _forecast_args(req)
    window = forecast_periods(req.as_of, periods=args["periods"], cadence=args["cadence"])
    return expected_receipts(_signed_by(req), req.as_of, through=window[-1].end)


def receivables_report(req: ReportRequest) -> Table[Any]:
    """Every invoice with a balance at the end of ``as_of``."""
    return receivables(_signed_by(req), req.as_of, client=req.client)


def aging_report(req: ReportRequest) -> Table[Any]:
    """The open invoices summed per client and aging bucket."""
    return aging(_signed_by(req), req.as_of, client=req.client)


def statement_report(req: ReportRequest) -> Table[Any]:
    """One client's statement over the period: opening, movements, closing."""
    if req.client is None:
        raise UsageError("--client", "the client's name, as on their proposals", None,
                         "report statement needs --client NAME")
    return client_statement(req.books.agreements(), req.client, _period(req, "statement"),
                            currency=req.currency)


def leakage_report(req: ReportRequest) -> Table[Any]:
    """What leaks at the end of ``as_of``: not billed, or not collected."""
    return leakage_audit(_signed_by(req), req.as_of)


def mrr_report(req: ReportRequest) -> Table[Any]:
    """Every recurring charge in force on ``as_of``, normalised to a month."""
    return mrr(req.books.agreements(), req.as_of)


def _period(req: ReportRequest, name: str) -> Period:
    if req.span is None:
        raise UsageError("--period", "a period", None,
                         f"report {name} needs a period: --period P or --from DATE --to DATE")
    return req.span


def mrr_movements_report(req: ReportRequest) -> Table[Any]:
    """MRR movements over the period, or month by month with ``--months``."""
    agreements: Sequence[Agreement] = req.books.agreements()
    if req.months is not None:
        if req.span is not None:
            raise UsageError("--months", "given without --period or --from/--to", req.months,
                             "give --months N or a period, not both")
        first = add_months(req.as_of.replace(day=1), 1 - req.months)
        return monthly_movements(agreements, first, req.months)
    if req.span is None:
        raise UsageError("--period", "a period, or --months N", None,
                         "report mrr-movements needs a period (--period P or --from DATE "
                         "--to DATE) or --months N")
    return mrr_movements(agreements, req.span.start, req.span.end)


def nrr_report(req: ReportRequest) -> Table[Any]:
    """Net revenue retention per currency over the period."""
    span = _period(req, "nrr")
    return net_revenue_retention(req.books.agreements(), span.start, span.end)

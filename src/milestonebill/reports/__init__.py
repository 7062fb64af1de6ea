"""The firm's view of its money: reports read from agreements and the books.

Pure functions of agreements, ledger entries and dates.  Every report is a
:class:`Table` of typed rows, with ``to_records()`` (JSON), ``to_pandas()``
(extra ``pandas``) and an HTML view for notebooks.  See ``docs/books.md``
(revenue, contract balances, RPO, roll-forward), ``docs/forecasts.md``
(cash, billing and revenue ahead; scenarios), ``docs/receivables.md``
(aging, client statements, the leakage audit) and ``docs/retainers.md``
(MRR, ARR, movements and net revenue retention).  :mod:`~milestonebill.reports.catalog`
names every report, with its parameters as text, for commands and services
(:func:`run_report`).
"""

from milestonebill.reports._table import Table
from milestonebill.reports.books import (
    ContractBalance,
    RemainingObligation,
    RevenueRow,
    RollforwardRow,
    contract_positions,
    remaining_obligations,
    revenue_schedule,
    rollforward,
)
from milestonebill.reports.catalog import (
    PARAMETERS,
    REPORTS,
    Books,
    FirmBooks,
    Report,
    ReportQuery,
    report_query,
    run_report,
)
from milestonebill.reports.forecast import (
    DEFAULT_ASSUMPTIONS,
    Approval,
    Assumptions,
    BillingRevenueRow,
    Cadence,
    CashRow,
    CollectionLag,
    CompletionAssumption,
    ExpectedReceipt,
    Measure,
    Scenario,
    ScenarioRow,
    Signing,
    billing_revenue_forecast,
    cash_forecast,
    compare_scenarios,
    expected_receipts,
    forecast_periods,
    total,
)
from milestonebill.reports.leakage import (
    LeakageKind,
    LeakageRow,
    leakage_audit,
)
from milestonebill.reports.receivables import (
    AgingBucket,
    AgingRow,
    ReceivableRow,
    ReceivableStatus,
    aging,
    receivables,
)
from milestonebill.reports.retainers import (
    Movement,
    MovementRow,
    MovementTotal,
    MrrRow,
    MrrTotal,
    RetentionRow,
    monthly_equivalent,
    monthly_movements,
    movement_totals,
    mrr,
    mrr_movements,
    mrr_totals,
    net_revenue_retention,
)
from milestonebill.reports.statements import (
    MovementKind,
    StatementLine,
    client_statement,
)

__all__ = [
    "DEFAULT_ASSUMPTIONS",
    "PARAMETERS",
    "REPORTS",
    "AgingBucket",
    "AgingRow",
    "Approval",
    "Assumptions",
    "BillingRevenueRow",
    "Books",
    "Cadence",
    "CashRow",
    "CollectionLag",
    "CompletionAssumption",
    "ContractBalance",
    "ExpectedReceipt",
    "FirmBooks",
    "LeakageKind",
    "LeakageRow",
    "Measure",
    "Movement",
    "MovementKind",
    "MovementRow",
    "MovementTotal",
    "MrrRow",
    "MrrTotal",
    "ReceivableRow",
    "ReceivableStatus",
    "RemainingObligation",
    "Report",
    "ReportQuery",
    "RetentionRow",
    "RevenueRow",
    "RollforwardRow",
    "Scenario",
    "ScenarioRow",
    "Signing",
    "StatementLine",
    "Table",
    "aging",
    "billing_revenue_forecast",
    "cash_forecast",
    "client_statement",
    "compare_scenarios",
    "contract_positions",
    "expected_receipts",
    "forecast_periods",
    "leakage_audit",
    "monthly_equivalent",
    "monthly_movements",
    "movement_totals",
    "mrr",
    "mrr_movements",
    "mrr_totals",
    "net_revenue_retention",
    "receivables",
    "remaining_obligations",
    "report_query",
    "revenue_schedule",
    "rollforward",
    "run_report",
    "total",
]

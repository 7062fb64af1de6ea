"""The firm's view of its money: reports read from agreements and the books.

Pure functions of agreements, ledger entries and dates.  Every report is a
:class:`Table` of typed rows, with ``to_records()`` (JSON), ``to_pandas()``
(extra ``pandas``) and an HTML view for notebooks; see ``docs/books.md``
(revenue, RPO, contract balances) and ``docs/receivables.md`` (aging,
client statements, the leakage audit).
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
from milestonebill.reports.leakage import LeakageKind, LeakageRow, leakage_audit
from milestonebill.reports.receivables import (
    AgingBucket,
    AgingRow,
    ReceivableRow,
    ReceivableStatus,
    aging,
    receivables,
)
from milestonebill.reports.statements import MovementKind, StatementLine, client_statement

__all__ = [
    "AgingBucket",
    "AgingRow",
    "ContractBalance",
    "LeakageKind",
    "LeakageRow",
    "MovementKind",
    "ReceivableRow",
    "ReceivableStatus",
    "RemainingObligation",
    "RevenueRow",
    "RollforwardRow",
    "StatementLine",
    "Table",
    "aging",
    "client_statement",
    "contract_positions",
    "leakage_audit",
    "receivables",
    "remaining_obligations",
    "revenue_schedule",
    "rollforward",
]

"""The firm's view of its money: reports read from agreements and the books.

Pure functions of agreements, ledger entries and dates; see ``docs/books.md``.
"""

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

__all__ = [
    "ContractBalance",
    "RemainingObligation",
    "RevenueRow",
    "RollforwardRow",
    "contract_positions",
    "remaining_obligations",
    "revenue_schedule",
    "rollforward",
]

"""milestonebill: milestone billing for service firms.

Exact money, billing schedules, agreements with priced amendments,
exactly-once charging and ASC 606 / IFRS 15 revenue recognition.
The nouns and verbs most users need are re-exported here; the modules hold
the rest.

>>> from milestonebill import Money, allocate
>>> allocate(Money("100.00", "USD"), [1, 1, 1])
(Money('33.34', 'USD'), Money('33.33', 'USD'), Money('33.33', 'USD'))
"""

from milestonebill.errors import (
    CurrencyMismatchError,
    DomainError,
    InfrastructureError,
    InvalidAmountError,
    MilestonebillError,
    ValidationError,
)
from milestonebill.money import (
    Currency,
    Money,
    Rounding,
    allocate,
    allocate_evenly,
    allocate_many,
    format_money,
)
from milestonebill.periods import (
    DayCount,
    Period,
    Proration,
    add_months,
    prorate,
    prorate_partition,
)
from milestonebill.schedule import (
    BillingSchedule,
    Charge,
    Escalation,
    Interval,
    ItemId,
    Milestone,
    MilestoneId,
    PaymentTerms,
    RecurringCharge,
    Timing,
    Trigger,
)

__all__ = [
    "BillingSchedule",
    "Charge",
    "Currency",
    "CurrencyMismatchError",
    "DayCount",
    "DomainError",
    "Escalation",
    "InfrastructureError",
    "Interval",
    "InvalidAmountError",
    "ItemId",
    "Milestone",
    "MilestoneId",
    "MilestonebillError",
    "Money",
    "PaymentTerms",
    "Period",
    "Proration",
    "RecurringCharge",
    "Rounding",
    "Timing",
    "Trigger",
    "ValidationError",
    "add_months",
    "allocate",
    "allocate_evenly",
    "allocate_many",
    "format_money",
    "prorate",
    "prorate_partition",
]

__version__ = "0.1.0.dev0"

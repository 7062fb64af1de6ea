"""milestonebill: milestone billing for service firms.

Exact money, billing schedules, agreements with priced amendments,
exactly-once charging and ASC 606 / IFRS 15 revenue recognition.
The nouns and verbs most users need are re-exported here; the modules hold
the rest.

>>> from milestonebill import Money, allocate
>>> allocate(Money("100.00", "USD"), [1, 1, 1])
(Money('33.34', 'USD'), Money('33.33', 'USD'), Money('33.33', 'USD'))
"""

from milestonebill.agreement import (
    Agreement,
    AgreementId,
    Amendment,
    AmendmentId,
    PackageOption,
    PaymentMethodRef,
    Proposal,
    ProrationPolicy,
    apply,
    contract_value,
    preview,
    sign,
)
from milestonebill.errors import (
    CurrencyMismatchError,
    DomainError,
    InfrastructureError,
    InvalidAmountError,
    MilestonebillError,
    ValidationError,
)
from milestonebill.gateways import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    InMemoryGateway,
    PaymentGateway,
    charge_idempotency_key,
)
from milestonebill.invoicing import (
    CreditNote,
    Invoice,
    due_credit_notes,
    due_invoices,
    invoice_balance,
    next_number,
)
from milestonebill.ledger import Account, InMemoryLedger, JournalEntry, JournalLine, Ledger
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
from milestonebill.recognition import (
    Contract,
    PerformanceObligation,
    allocate_transaction_price,
    contract_balances,
    estimate_transaction_price,
    journal_entries,
    modify_contract,
    recognise_cost_to_cost,
    recognise_straight_line,
    revenue_waterfall,
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
from milestonebill.stores import (
    AgreementStore,
    BillingStore,
    InMemoryStore,
    SQLiteStore,
    StoredEvent,
)

__all__ = [
    "Account",
    "Agreement",
    "AgreementId",
    "AgreementStore",
    "Amendment",
    "AmendmentId",
    "BillingSchedule",
    "BillingStore",
    "Charge",
    "ChargeRequest",
    "ChargeResult",
    "ChargeStatus",
    "Contract",
    "CreditNote",
    "Currency",
    "CurrencyMismatchError",
    "DayCount",
    "DomainError",
    "Escalation",
    "InMemoryGateway",
    "InMemoryLedger",
    "InMemoryStore",
    "InfrastructureError",
    "Interval",
    "InvalidAmountError",
    "Invoice",
    "ItemId",
    "JournalEntry",
    "JournalLine",
    "Ledger",
    "Milestone",
    "MilestoneId",
    "MilestonebillError",
    "Money",
    "PackageOption",
    "PaymentGateway",
    "PaymentMethodRef",
    "PaymentTerms",
    "PerformanceObligation",
    "Period",
    "Proposal",
    "Proration",
    "ProrationPolicy",
    "RecurringCharge",
    "Rounding",
    "SQLiteStore",
    "StoredEvent",
    "Timing",
    "Trigger",
    "ValidationError",
    "add_months",
    "allocate",
    "allocate_evenly",
    "allocate_many",
    "allocate_transaction_price",
    "apply",
    "charge_idempotency_key",
    "contract_balances",
    "contract_value",
    "due_credit_notes",
    "due_invoices",
    "estimate_transaction_price",
    "format_money",
    "invoice_balance",
    "journal_entries",
    "modify_contract",
    "next_number",
    "preview",
    "prorate",
    "prorate_partition",
    "recognise_cost_to_cost",
    "recognise_straight_line",
    "revenue_waterfall",
    "sign",
]

__version__ = "0.1.0.dev0"

"""Revenue recognition (ASC 606 / IFRS 15) as pure, exact calculators.

The five steps, each a value or a function you can use on its own -- in a
notebook without any agreement, or fed from a billing schedule:

1. :class:`PerformanceObligation` (and :func:`combine_obligations`,
   :func:`obligations_from_schedule`); a :class:`Contract` holds them with a
   transaction price.
2. :func:`estimate_transaction_price`: fixed plus variable consideration by
   expected value or most likely amount, net of the constraint.
3. :func:`allocate_transaction_price`: relative SSP, discounts on bundles
   with observable evidence, the residual approach (refused outside the
   observed range); exact sums by largest remainder at a named quantum.
4. Schedules per day/month/quarter/year: :func:`recognise_at`,
   :func:`recognise_straight_line` (four named :class:`Convention` s),
   :func:`recognise_output`, :func:`recognise_cost_to_cost`.
5. :func:`modify_contract`: separate contract, prospective or cumulative
   catch-up, chosen by the rules or forced, recorded on the result.

Then :func:`contract_balances` / :func:`portfolio_balances`, balanced
:func:`journal_entries` (``milestonebill.ledger.JournalEntry``) and the
:func:`revenue_waterfall`.  Every result names its rounding and quantum.

For a ledger whose billing is already posted (the Biller's invoices), the
revenue-only postings: :func:`recognition_entries` (per reporting period),
:func:`release_entry` (one contract to a given unearned amount) and
:func:`billed_service` (what each billed service period has earned by a
date) -- *Dr deferred revenue* or *Dr contract asset* */ Cr revenue*, never
cash or receivable.

Short forms for the common questions, on plain values (no objects to
build): :func:`allocate_by_ssp` (SSPs in, shares out),
:func:`allocate_discount` (the discount on the obligations you name),
:func:`catch_up` (cost-to-cost revenue to date after a change in estimate)
and :func:`straight_line_monthly` (equal months, cumulative rounding).

Every name is importable from here; the submodules hold them by concern:
``model`` (obligations, contracts, transaction price, allocation),
``methods`` (schedules by method and convention), ``modifications``,
``balances`` (contract balances, journal entries, the waterfall),
``release`` (billed service and the revenue-only entries the Biller posts),
``agreements`` (contracts from schedules and signed agreements) and
``shortcuts`` (the short forms).

ASC 606-10-55-259 (Example 34, Case A): products A, B, C with SSPs 40, 55,
45 sold for 100; B and C regularly sell together for 60:

>>> from decimal import Decimal
>>> from milestonebill.money import Money
>>> usd = lambda v: Money(v, "USD")
>>> c = Contract(ContractId("ex34a"), [
...     PerformanceObligation(ObligationId("A"), "Product A", usd(40)),
...     PerformanceObligation(ObligationId("B"), "Product B", usd(55)),
...     PerformanceObligation(ObligationId("C"), "Product C", usd(45))], usd(100))
>>> a = allocate_transaction_price(c, discounts=[DiscountEvidence({"B", "C"}, usd(60))],
...                                quantum=Decimal(1))
>>> {k: str(v.amount) for k, v in a.as_dict().items()}
{'A': '40.00', 'B': '33.00', 'C': '27.00'}
"""

from __future__ import annotations

from milestonebill.ids import ContractId, ObligationId
from milestonebill.recognition.agreements import (
    contract_from_agreement,
    contract_from_schedule,
    obligations_from_agreement,
    obligations_from_schedule,
)
from milestonebill.recognition.balances import (
    Billing,
    ContractActivity,
    ContractBalances,
    Payment,
    PortfolioBalances,
    RevenueEvent,
    Waterfall,
    WaterfallRow,
    contract_balances,
    journal_entries,
    portfolio_balances,
    revenue_waterfall,
)
from milestonebill.recognition.methods import (
    Convention,
    CostReport,
    Granularity,
    Method,
    RecognitionLine,
    RecognitionSchedule,
    bucket,
    buckets,
    recognise_at,
    recognise_cost_to_cost,
    recognise_output,
    recognise_straight_line,
)
from milestonebill.recognition.model import (
    Allocation,
    AllocationLine,
    Contract,
    DiscountEvidence,
    Estimate,
    Outcome,
    PerformanceObligation,
    Satisfaction,
    SSPRange,
    TransactionPrice,
    VariableConsideration,
    VariableEstimate,
    allocate_transaction_price,
    combine_obligations,
    estimate_transaction_price,
)
from milestonebill.recognition.modifications import (
    Modification,
    ModificationResult,
    ModificationTreatment,
    ObligationPosition,
    classify_modification,
    modify_contract,
    positions,
)
from milestonebill.recognition.release import (
    BilledService,
    billed_service,
    recognition_entries,
    release_entry,
)
from milestonebill.recognition.shortcuts import (
    CatchUp,
    allocate_by_ssp,
    allocate_discount,
    catch_up,
    straight_line_monthly,
)

__all__ = [
    "Allocation",
    "AllocationLine",
    "BilledService",
    "Billing",
    "CatchUp",
    "Contract",
    "ContractActivity",
    "ContractBalances",
    "ContractId",
    "Convention",
    "CostReport",
    "DiscountEvidence",
    "Estimate",
    "Granularity",
    "Method",
    "Modification",
    "ModificationResult",
    "ModificationTreatment",
    "ObligationId",
    "ObligationPosition",
    "Outcome",
    "Payment",
    "PerformanceObligation",
    "PortfolioBalances",
    "RecognitionLine",
    "RecognitionSchedule",
    "RevenueEvent",
    "SSPRange",
    "Satisfaction",
    "TransactionPrice",
    "VariableConsideration",
    "VariableEstimate",
    "Waterfall",
    "WaterfallRow",
    "allocate_by_ssp",
    "allocate_discount",
    "allocate_transaction_price",
    "billed_service",
    "bucket",
    "buckets",
    "catch_up",
    "classify_modification",
    "combine_obligations",
    "contract_balances",
    "contract_from_agreement",
    "contract_from_schedule",
    "estimate_transaction_price",
    "journal_entries",
    "modify_contract",
    "obligations_from_agreement",
    "obligations_from_schedule",
    "portfolio_balances",
    "positions",
    "recognise_at",
    "recognise_cost_to_cost",
    "recognise_output",
    "recognise_straight_line",
    "recognition_entries",
    "release_entry",
    "revenue_waterfall",
    "straight_line_monthly",
]

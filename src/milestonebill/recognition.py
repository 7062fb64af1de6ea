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

ASC 606-10-55-259 (Example 34, Case A): products A, B, C with SSPs 40, 55,
45 sold for 100; B and C regularly sell together for 60:

>>> from decimal import Decimal
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

import itertools
from collections.abc import Collection, Mapping
from datetime import date
from typing import TYPE_CHECKING

from milestonebill._recognition_balances import (
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
from milestonebill._recognition_methods import (
    Convention,
    CostReport,
    Granularity,
    Method,
    RecognitionLine,
    RecognitionSchedule,
    bucket,
    recognise_at,
    recognise_cost_to_cost,
    recognise_output,
    recognise_straight_line,
)
from milestonebill._recognition_model import (
    Allocation,
    AllocationLine,
    Contract,
    ContractId,
    DiscountEvidence,
    Estimate,
    ObligationId,
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
from milestonebill._recognition_modifications import (
    Modification,
    ModificationResult,
    ModificationTreatment,
    ObligationPosition,
    classify_modification,
    modify_contract,
    positions,
)
from milestonebill._recognition_release import (
    BilledService,
    billed_service,
    recognition_entries,
    release_entry,
)
from milestonebill.errors import ValidationError
from milestonebill.money import Money
from milestonebill.periods import Period

if TYPE_CHECKING:
    from milestonebill.agreement import Agreement, PlanItem
    from milestonebill.schedule import BillingSchedule

__all__ = [
    "Allocation",
    "AllocationLine",
    "BilledService",
    "Billing",
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
    "allocate_transaction_price",
    "billed_service",
    "bucket",
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
]


def obligations_from_schedule(
    schedule: BillingSchedule,
    *,
    until: date | None = None,
    ssp: Mapping[str, Money] | None = None,
    over_time: Collection[str] = (),
) -> tuple[PerformanceObligation, ...]:
    """One obligation per milestone deliverable and one series per recurring service.

    Milestones become point-in-time obligations (or over time when their id
    is in ``over_time``) with the milestone amount as SSP; each recurring
    charge becomes an over-time series whose period spans its service
    periods and whose SSP is the sum of its charges.  Open-ended recurring
    charges need ``until`` (periods starting before it are counted).
    ``ssp`` overrides any SSP by item id.

    >>> from milestonebill.schedule import (BillingSchedule, Milestone, MilestoneId,
    ...     RecurringCharge, ItemId, Interval)
    >>> from milestonebill.money import Currency
    >>> s = BillingSchedule(Currency.of("USD"), Money("30000.00", "USD"),
    ...     (Milestone(MilestoneId("design"), "Design", Money("10000.00", "USD")),
    ...      Milestone(MilestoneId("build"), "Build", Money("20000.00", "USD"))),
    ...     (RecurringCharge(ItemId("support"), "Support", Money("500.00", "USD"),
    ...                      Interval.MONTHLY, start=date(2025, 1, 1), count=12),))
    >>> [(o.id, str(o.ssp), o.satisfaction.value, o.series) for o in obligations_from_schedule(s)]
    [('design', '10000.00 USD', 'point_in_time', False), ('build', '20000.00 USD', 'point_in_time', False), ('support', '6000.00 USD', 'over_time', True)]
    """
    overrides = dict(ssp or {})
    out: list[PerformanceObligation] = []
    for mid, amount in schedule.milestone_amounts().items():
        name = next(m.name for m in schedule.milestones if m.id == mid)
        sat = Satisfaction.OVER_TIME if mid in over_time else Satisfaction.POINT_IN_TIME
        out.append(PerformanceObligation(ObligationId(mid), name, overrides.get(mid, amount), sat,
                                         sources=(mid,)))
    for rc in schedule.recurring:
        if not rc.is_finite and until is None:
            raise ValidationError("until", f"a date to bound the open-ended item {rc.id!r}", None)
        charges = list(itertools.takewhile(
            lambda ch: until is None or (ch.period is not None and ch.period.start < until),
            rc.charges()))
        if not charges:
            continue
        spans = [ch.period for ch in charges if ch.period is not None]
        period = Period(min(p.start for p in spans), max(p.end for p in spans)) if spans else None
        total = Money.total((ch.amount for ch in charges), currency=schedule.currency)
        out.append(PerformanceObligation(
            ObligationId(rc.id), rc.name, overrides.get(rc.id, total), Satisfaction.OVER_TIME,
            period=period, series=True, sources=(rc.id,),
        ))
    return tuple(out)


def contract_from_schedule(
    schedule: BillingSchedule,
    contract_id: str,
    *,
    price: Money | TransactionPrice | None = None,
    until: date | None = None,
    ssp: Mapping[str, Money] | None = None,
    over_time: Collection[str] = (),
) -> Contract:
    """A :class:`Contract` from a schedule; the price defaults to everything it bills."""
    obligations = obligations_from_schedule(schedule, until=until, ssp=ssp, over_time=over_time)
    if price is None:
        billed = list(schedule.milestone_amounts().values())
        for rc in schedule.recurring:
            billed.extend(ch.amount for ch in itertools.takewhile(
                lambda ch: until is None or (ch.period is not None and ch.period.start < until),
                rc.charges()))
        price = Money.total(billed, currency=schedule.currency)
    return Contract(ContractId(contract_id), obligations, price)


def obligations_from_agreement(
    agreement: Agreement,
    *,
    through: date | None = None,
    ssp: Mapping[str, Money] | None = None,
    over_time: Collection[str] = (),
) -> tuple[PerformanceObligation, ...]:
    """Obligations of a signed agreement as amended: milestones, recurring series, add-ons.

    Reads ``milestonebill.agreement.billing_plan`` (approved amendments
    included), so add-on items and amended amounts are covered.  Each
    milestone is a point-in-time obligation (over time when its id is in
    ``over_time``); each recurring item is an over-time series spanning its
    service-period pieces, priced at their sum.  ``through`` bounds
    open-ended recurring charges; ``ssp`` overrides SSPs by item id.

    >>> from datetime import UTC, datetime
    >>> from milestonebill.agreement import (AgreementId, Collection, PackageOption, Proposal,
    ...     ProposalId, sign)
    >>> from milestonebill.schedule import (BillingSchedule, Interval, ItemId, Milestone,
    ...     MilestoneId, RecurringCharge)
    >>> from milestonebill.money import Currency
    >>> sched = BillingSchedule(currency=Currency.of("USD"),
    ...     milestones=[Milestone(MilestoneId("audit"), "Audit", Money("8000.00", "USD"))],
    ...     recurring=[RecurringCharge(ItemId("care"), "Care plan", Money("500.00", "USD"),
    ...                                Interval.MONTHLY, start=date(2026, 2, 1), count=6)])
    >>> p = Proposal(ProposalId("p"), "Acme", Currency.of("USD"),
    ...     (PackageOption("std", "Standard", sched),), collection=Collection.SEND_INVOICE)
    >>> a = sign(p, option="std", signer="Ada", signed_at=datetime(2026, 1, 20, tzinfo=UTC),
    ...          payment_method=None, agreement_id=AgreementId("agr-9"))
    >>> [(o.id, str(o.ssp), o.satisfaction.value, str(o.period)) for o in obligations_from_agreement(a)]
    [('audit', '8000.00 USD', 'point_in_time', 'None'), ('care', '3000.00 USD', 'over_time', '[2026-02-01, 2026-08-01)')]
    """
    from milestonebill.agreement import billing_plan
    from milestonebill.schedule import ChargeKind

    overrides = dict(ssp or {})
    grouped: dict[str, list[PlanItem]] = {}
    for item in billing_plan(agreement, through=through):
        grouped.setdefault(item.item_id, []).append(item)
    out: list[PerformanceObligation] = []
    for item_id, pieces in grouped.items():
        total = Money.total((i.amount for i in pieces), currency=agreement.currency)
        first = pieces[0]
        if first.kind is ChargeKind.MILESTONE:
            sat = Satisfaction.OVER_TIME if item_id in over_time else Satisfaction.POINT_IN_TIME
            out.append(PerformanceObligation(ObligationId(item_id), first.name,
                                             overrides.get(item_id, total), sat,
                                             sources=(first.key,)))
            continue
        spans = [i.period for i in pieces if i.period is not None]
        period = Period(min(p.start for p in spans), max(p.end for p in spans)) if spans else None
        out.append(PerformanceObligation(
            ObligationId(item_id), first.name, overrides.get(item_id, total),
            Satisfaction.OVER_TIME, period=period, series=True,
            sources=tuple(i.key for i in pieces),
        ))
    return tuple(out)


def contract_from_agreement(
    agreement: Agreement,
    *,
    through: date | None = None,
    ssp: Mapping[str, Money] | None = None,
    over_time: Collection[str] = (),
) -> Contract:
    """A :class:`Contract` for an agreement; the price is its current contract value."""
    from milestonebill.agreement import contract_value

    obligations = obligations_from_agreement(agreement, through=through, ssp=ssp,
                                             over_time=over_time)
    return Contract(ContractId(agreement.id), obligations,
                    contract_value(agreement, through=through))

"""Revenue contracts from what the library bills: schedules and signed agreements.

:func:`obligations_from_schedule` and :func:`contract_from_schedule` read a
:class:`~milestonebill.schedule.BillingSchedule`;
:func:`obligations_from_agreement` and :func:`contract_from_agreement` read an
agreement as amended (its billing plan).  Milestones become point-in-time
obligations, recurring charges over-time series.  Everything here is also
importable from :mod:`milestonebill.recognition`.

``milestonebill.agreement`` sits above recognition in the layers, so the
agreement functions import it when they run, never at import time.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import date
from typing import TYPE_CHECKING

from milestonebill.errors import ValidationError
from milestonebill.ids import ContractId, ObligationId
from milestonebill.money import Money
from milestonebill.periods import Period
from milestonebill.recognition.model import (
    Contract,
    PerformanceObligation,
    Satisfaction,
    TransactionPrice,
)

if TYPE_CHECKING:
    from milestonebill.agreement import Agreement, PlanItem
    from milestonebill.schedule import BillingSchedule, Charge, RecurringCharge

__all__ = [
    "contract_from_agreement",
    "contract_from_schedule",
    "obligations_from_agreement",
    "obligations_from_schedule",
]


def _charges_until(item: RecurringCharge, until: date | None) -> Iterator[Charge]:
    """The charges of a recurring item whose service period starts before ``until``."""
    return itertools.takewhile(
        lambda ch: until is None or (ch.period is not None and ch.period.start < until),
        item.charges())


def _span(periods: Iterable[Period | None]) -> Period | None:
    """The period from the earliest start to the latest end (``None`` for no periods)."""
    spans = [p for p in periods if p is not None]
    return Period(min(p.start for p in spans), max(p.end for p in spans)) if spans else None


def obligations_from_schedule(
    schedule: BillingSchedule,
    *,
    until: date | None = None,
    ssp: Mapping[str, Money] | None = None,
    over_time: Collection[str] = (),
) -> tuple[PerformanceObligation, ...]:
    """One obligation per milestone deliverable and one series per recurring service.

    Milestones (and installment plans) become point-in-time obligations (or
    over time when their id is in ``over_time``) with the milestone amount
    (the plan's fee) as SSP -- discounts are not modelled here; each recurring
    charge becomes an over-time series whose period spans its service
    periods and whose SSP is the sum of its charges.  Open-ended recurring
    charges need ``until`` (periods starting before it are counted; it is
    excluded) -- without it they raise :class:`~milestonebill.errors.ValidationError` naming
    ``until``.  ``ssp`` overrides any SSP by item id (:class:`~milestonebill.money.Money`).

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
    for plan in schedule.installments:
        # An installment plan pays for what it is the price of, like a milestone's fee.
        sat = Satisfaction.OVER_TIME if plan.id in over_time else Satisfaction.POINT_IN_TIME
        out.append(PerformanceObligation(ObligationId(plan.id), plan.name,
                                         overrides.get(plan.id, plan.amount), sat,
                                         sources=(plan.id,)))
    for rc in schedule.recurring:
        if not rc.is_finite and until is None:
            raise ValidationError("until", f"a date to bound the open-ended item {rc.id!r}", None)
        charges = list(_charges_until(rc, until))
        if not charges:
            continue
        period = _span(ch.period for ch in charges)
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
    """A :class:`Contract` from a schedule; the price defaults to everything it bills.

    ``price`` is :class:`~milestonebill.money.Money` (or a
    :class:`TransactionPrice`); ``until`` bounds open-ended recurring charges: the
    periods that start before it count (the day itself is excluded).
    """
    obligations = obligations_from_schedule(schedule, until=until, ssp=ssp, over_time=over_time)
    if price is None:
        billed = list(schedule.milestone_amounts().values())
        billed.extend(p.amount for p in schedule.installments)
        for rc in schedule.recurring:
            billed.extend(ch.amount for ch in _charges_until(rc, until))
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
        if first.kind in (ChargeKind.MILESTONE, ChargeKind.INSTALLMENT):
            sat = Satisfaction.OVER_TIME if item_id in over_time else Satisfaction.POINT_IN_TIME
            out.append(PerformanceObligation(ObligationId(item_id), first.name,
                                             overrides.get(item_id, total), sat,
                                             sources=(first.key,)))
            continue
        out.append(PerformanceObligation(
            ObligationId(item_id), first.name, overrides.get(item_id, total),
            Satisfaction.OVER_TIME, period=_span(i.period for i in pieces), series=True,
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
    """A :class:`Contract` for an agreement; the price is its current contract value.

    ``through`` bounds open-ended recurring charges: the pieces that start before it
    count (the day itself is excluded).  Amounts are
    :class:`~milestonebill.money.Money`.
    """
    from milestonebill.agreement import contract_value

    obligations = obligations_from_agreement(agreement, through=through, ssp=ssp,
                                             over_time=over_time)
    return Contract(ContractId(agreement.id), obligations,
                    contract_value(agreement, through=through))

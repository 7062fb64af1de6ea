"""An agreement's terms and the billable items they produce.

The terms are milestones (:class:`MilestoneTerm`, amount resolved),
recurring charges, each active on ``[active_from, active_until)``
(:class:`RecurringTerm`), installment plans with their installments
resolved (:class:`InstallmentTerm`) and discounts (:class:`DiscountTerm`).
Every billable item is a :class:`PlanItem`: each milestone (key
``m:<id>``), each service-period piece of each recurring term (key
``r:<item>:<piece start>``), each installment (key ``i:<plan>:<n>``) and
each discount on one of those (key ``d:<discount>:<item key>``, a negative
amount).  A service period cut by term
boundaries is prorated on the agreement's basis, its pieces rounded
together so they sum to the period's day-weighted price.

Amendments never edit invoices; they change the terms, and invoicing bills
the difference between the plan and what was already billed for each key.
That is what makes adjustments of invoiced items reference their original
invoice, and what makes invoiced - credited + still scheduled = contract
value hold by construction.

These functions know terms, not agreements:
:func:`~milestonebill.agreement.billing_plan` puts them together.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date

import attrs

from milestonebill._trusted import constructor
from milestonebill.ids import PlanKey
from milestonebill.money import Money, Rounding
from milestonebill.periods import DayCount, Period, prorate_pieces
from milestonebill.schedule import (
    ChargeKind,
    Discount,
    Installment,
    InstallmentPlan,
    Milestone,
    PaymentTerms,
    RecurringCharge,
    Timing,
    Trigger,
)

__all__ = [
    "DiscountTerm",
    "InstallmentTerm",
    "MilestoneTerm",
    "PlanItem",
    "RecurringTerm",
    "containing_period",
    "discount_items",
    "installment_items",
    "milestone_item",
    "recurring_pieces",
    "service_pieces",
    "term_limit",
]


@attrs.frozen
class MilestoneTerm:
    """A milestone of the agreement, its amount resolved, with where it came from."""

    milestone: Milestone
    source: str
    added_on: date


@attrs.frozen
class RecurringTerm:
    """A recurring charge active on ``[active_from, active_until)``."""

    charge: RecurringCharge
    source: str
    active_from: date
    active_until: date | None = None


@attrs.frozen
class InstallmentTerm:
    """An installment plan of the agreement: its installments as they now stand.

    ``plan`` is the plan as last (re)planned; ``installments`` are all of them
    in order, those kept from before a re-plan included (installment ``n``
    is ``installments[n - 1]``, key ``i:<plan>:<n>``).
    """

    plan: InstallmentPlan
    source: str
    installments: tuple[Installment, ...]

    @classmethod
    def of(cls, plan: InstallmentPlan, source: str) -> InstallmentTerm:
        """The term of a plan as signed or added."""
        return cls(plan, source, plan.installments())


@attrs.frozen
class DiscountTerm:
    """A discount of the agreement, with where it came from (package, add-on, amendment)."""

    discount: Discount
    source: str


@attrs.frozen
class PlanItem:
    """One billable item of the plan with its current amount.

    ``on`` is the billing date (``None`` while an on-completion milestone is
    not yet delivered); ``provenance`` explains the amount.
    """

    key: PlanKey
    kind: ChargeKind
    item_id: str
    name: str
    amount: Money
    on: date | None
    period: Period | None
    terms: PaymentTerms
    provenance: tuple[str, ...] = ()


#: A :class:`PlanItem` from fields that are already valid, in field order.
_make_item = constructor(PlanItem)


def term_limit(term: RecurringTerm) -> date | None:
    """Where a term stops producing periods, or ``None`` if open-ended."""
    charge = term.charge
    ends: list[date] = []
    if term.active_until is not None:
        ends.append(term.active_until)
    if charge.count is not None:
        last = None
        for i, p in enumerate(charge.periods()):
            last = p
            if i + 1 >= charge.count:
                break
        if last is not None:
            ends.append(last.end)
    elif charge.end is not None:
        last_end = charge.end
        for p in charge.periods():
            last_end = max(last_end, p.end)
        ends.append(last_end)
    return min(ends) if ends else None


#: A service period with its amount and provenance (:meth:`RecurringCharge.priced_periods`).
_Priced = tuple[Period, Money, str]


def _charges(charge: RecurringCharge, before: date) -> Iterator[_Priced]:
    """The charge's service periods that start before ``before``, priced."""
    for priced in charge.priced_periods():
        if priced[0].start >= before:
            return
        yield priced


def containing_period(charge: RecurringCharge, d: date) -> Period | None:
    """The service period of ``charge`` that contains ``d``, if any."""
    for p in charge.periods():
        if p.start > d:
            return None
        if d < p.end:
            return p
    return None


def _cut_pieces(term: RecurringTerm, through: date) -> Iterator[tuple[_Priced, Period]]:
    """The term's priced service periods with the piece of each that the term covers."""
    stop = through if term.active_until is None else min(through, term.active_until)
    for c in _charges(term.charge, stop):
        whole = c[0]
        lo = max(whole.start, term.active_from)
        hi = whole.end if term.active_until is None else min(whole.end, term.active_until)
        if lo == whole.start and hi == whole.end:
            yield c, whole  # the term covers the whole period (the usual case)
        elif lo < hi:
            yield c, Period(lo, hi)


def _price_period(
    whole: Period, pieces: list[tuple[_Priced, Period]], *, basis: DayCount, rounding: Rounding,
) -> list[tuple[Money, tuple[str, ...]]]:
    """Amount and provenance of each piece of one service period (pieces in date order).

    A period nobody cut keeps its amount; cut pieces are prorated together,
    each at its own term's price, rounding once across them in date order.
    """
    if len(pieces) == 1 and pieces[0][1] == whole:
        _period, amount, provenance = pieces[0][0]
        return [(amount, (provenance,))]
    prorations = prorate_pieces([(c[1], piece) for c, piece in pieces], whole,
                                basis=basis, rounding=rounding)
    out: list[tuple[Money, tuple[str, ...]]] = []
    for k, ((c, _), pr) in enumerate(zip(pieces, prorations, strict=True)):
        notes = [c[2], pr.describe()]
        if k:
            notes.append(f"rounded cumulatively after the earlier pieces of {whole}")
        out.append((pr.amount, tuple(notes)))
    return out


def recurring_pieces(
    terms: Sequence[RecurringTerm],
    through: date,
    *,
    basis: DayCount,
    rounding: Rounding,
) -> Iterator[PlanItem]:
    """Plan items of the terms' pieces that start before ``through``, term by term.

    Amendments cut one recurring charge into several terms; the pieces of a
    service period that those terms (same charge id) share are priced
    together by :func:`~milestonebill.periods.prorate_pieces`, so they sum
    to the period's day-weighted price exactly and a piece's amount depends
    only on the pieces before it: a later cut never changes an earlier piece.
    """
    for _whole, item in service_pieces(terms, through, basis=basis, rounding=rounding):
        yield item


def service_pieces(
    terms: Sequence[RecurringTerm],
    through: date,
    *,
    basis: DayCount,
    rounding: Rounding,
) -> Iterator[tuple[Period, PlanItem]]:
    """:func:`recurring_pieces` with the whole service period each piece belongs to.

    The pieces for an earlier ``through`` are exactly those whose whole
    service period starts before it (a service period's pieces come and are
    priced together), in the same order with the same amounts, which is
    what lets :func:`~milestonebill.agreement.billing_plan` compute an
    agreement's plan once and cut it at any earlier horizon.
    """
    cut = [(t, c, piece) for t in terms for c, piece in _cut_pieces(t, through)]
    # Only terms of one charge share service periods; a charge with one term
    # has a period per piece, priced on its own.
    ids = [t.charge.id for t in terms]
    shared = {i for i in ids if ids.count(i) > 1}
    by_period: dict[tuple[str, Period | int], list[int]] = {}
    for i, (t, c, _) in enumerate(cut):
        key = (t.charge.id, c[0] if t.charge.id in shared else i)
        by_period.setdefault(key, []).append(i)
    priced: dict[int, tuple[Money, tuple[str, ...]]] = {}
    for members in by_period.values():
        members.sort(key=lambda i: cut[i][2].start)
        pieces = [(cut[i][1], cut[i][2]) for i in members]
        whole = cut[members[0]][1][0]
        priced.update(zip(members, _price_period(whole, pieces, basis=basis, rounding=rounding),
                          strict=True))
    for i, (t, c, piece) in enumerate(cut):
        amount, provenance = priced[i]
        if amount.is_zero():
            continue
        charge = t.charge
        on = piece.start if charge.timing is Timing.IN_ADVANCE else piece.end
        yield c[0], PlanItem(
            key=PlanKey.piece(charge.id, piece.start), kind=ChargeKind.RECURRING, item_id=charge.id,
            name=charge.name, amount=amount, on=on, period=piece, terms=charge.terms,
            provenance=provenance,
        )


def milestone_item(
    term: MilestoneTerm, signed_on: date, completions: Mapping[str, date]
) -> PlanItem | None:
    """The plan item of a milestone term (``None`` for a zero amount)."""
    m = term.milestone
    assert m.amount is not None
    if m.amount.is_zero():
        return None
    if m.trigger is Trigger.ON_SIGNING:
        on: date | None = max(signed_on, term.added_on)
    elif m.trigger is Trigger.ON_DATE:
        on = m.due_on
    else:
        on = completions.get(m.id)
    # Checked fields, made without the checks; the key is shared by every milestone of
    # that id (a firm's agreements name their milestones alike), one object fewer each
    # for the collector to walk while the plan is kept.
    return _make_item(_milestone_key(m.id), ChargeKind.MILESTONE, m.id, m.name, m.amount, on,
                      None, m.terms,
                      (f"{m.name} ({m.id}), milestone {m.trigger.value}; {m.terms}",))


_milestone_key = functools.lru_cache(maxsize=4096)(PlanKey.milestone)


def installment_items(term: InstallmentTerm) -> Iterator[PlanItem]:
    """The plan items of an installment plan's installments, in order."""
    plan = term.plan
    n = len(term.installments)
    for k, inst in enumerate(term.installments, 1):
        yield PlanItem(
            key=PlanKey.installment(plan.id, k), kind=ChargeKind.INSTALLMENT, item_id=plan.id,
            name=f"{plan.name} {k}/{n}", amount=inst.amount, on=inst.on, period=None,
            terms=plan.terms, provenance=(inst.provenance,))


def _billing_order(items: Sequence[PlanItem]) -> list[PlanItem]:
    """Items by billing date then plan order; items not dated yet last, in plan order."""
    dated = sorted((i for i in range(len(items)) if items[i].on is not None),
                   key=lambda i: (items[i].on, i))
    return [items[i] for i in dated] + [i for i in items if i.on is None]


def discount_items(
    terms: Sequence[DiscountTerm],
    items: Sequence[PlanItem],
    in_scope: Callable[[DiscountTerm, PlanItem], bool],
) -> Iterator[PlanItem]:
    """The discounts' plan items (negative amounts), discount by discount in order.

    A percentage is taken off each item in scope and in the window, rounded
    on its own; a fixed amount is taken from them in billing order until used
    up.  Each discount takes at most what the earlier ones left of an item,
    so no item is discounted below zero.  A recurring piece is dated by its
    service period's first day for the window, every other item by its
    billing date.
    """
    left = {i.key: i.amount.minor for i in items}
    ordered = _billing_order(items)
    for term in terms:
        d = term.discount
        budget = None if d.amount is None else d.amount.minor
        for item in ordered:
            when = item.period.start if item.period is not None else item.on
            if not (in_scope(term, item) and d.covers(when)):
                continue
            if budget is None:
                want = d.percent_of(item.amount).minor
                how = f"{d.percent}% of {item.amount}, rounded {d.rounding.name.lower()}"
            else:
                want = budget
                how = f"of {d.amount} in all, taken in billing order"
            take = min(want, left[item.key])
            if budget is not None:
                budget -= take
            if take <= 0:
                continue
            left[item.key] -= take
            yield PlanItem(
                key=PlanKey.discount(d.id, item.key), kind=ChargeKind.DISCOUNT,
                item_id=item.item_id, name=f"{d.name} on {item.name}",
                amount=Money.from_minor(-take, item.amount.currency),
                on=item.on, period=item.period, terms=item.terms,
                provenance=(f"{d.name} ({d.id}) on {item.name} {item.key}: "
                            f"{Money.from_minor(take, item.amount.currency)} ({how})",))
            if budget == 0:
                break

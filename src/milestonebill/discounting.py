"""How discounts lower an agreement's transaction price.

A discount is billed as its own negative invoice line (``docs/terms.md``),
but in the books it lowers the transaction price, which is then shared by
the performance obligations (ASC 606-10-32-36 and 32-37; IFRS 15.81-82).
:func:`plan_discounts` reads an agreement's discounts from its billing plan;
:func:`discount_allocation` says how much of each lowers each obligation's
price.  :func:`milestonebill.revenue.revenue_model` applies them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Protocol

from milestonebill._reference import reference
from milestonebill.agreement import Agreement, ObligationTerms, billing_plan
from milestonebill.ids import ObligationId, PlanKey
from milestonebill.money import Money, allocate_minor
from milestonebill.schedule import ChargeKind, Discount

__all__ = ["Priced", "discount_allocation", "plan_discounts"]


class Priced(Protocol):
    """An obligation with its price, as :class:`milestonebill.revenue.Obligation` is."""

    @property
    def id(self) -> ObligationId:
        """The obligation's id."""
        ...

    @property
    def price(self) -> Money:
        """Its price before the discounts."""
        ...

    @property
    def series(self) -> str | None:
        """The recurring item it is, for a series (discounts on periods stay with it)."""
        ...

    @property
    def terms(self) -> ObligationTerms:
        """Its terms, with the stand-alone selling price when stated."""
        ...


def plan_discounts(a: Agreement, through: date
                   ) -> tuple[dict[PlanKey, int], list[tuple[Discount, int]]]:
    """The plan's discounts (positive minor units): on service periods, by the
    period's key; on milestones and installments, each discount's total."""
    pieces: dict[PlanKey, int] = {}
    totals: dict[str, int] = {}
    if not a.discounts and not reference():  # nothing to find: the plan is not needed
        return pieces, []
    for i in billing_plan(a, through=through):
        inner, did = i.key.discounted, i.key.discount_id
        if i.kind is not ChargeKind.DISCOUNT or inner is None or did is None:
            continue
        if inner.start is not None:
            pieces[inner] = pieces.get(inner, 0) - i.amount.minor
        else:
            totals[did] = totals.get(did, 0) - i.amount.minor
    return pieces, [(t.discount, totals[t.discount.id]) for t in a.discounts
                    if totals.get(t.discount.id)]


def _spread(total: int, group: Sequence[Priced], room: Mapping[str, int]
            ) -> list[int] | None:
    """``total`` over ``group`` by relative SSP (stated on every one) or else by
    price; by what is left of each price if a share would pass it; ``None`` when
    even that cannot hold it."""
    if not group or sum(room[o.id] for o in group) < total:
        return None
    ssps = [o.terms.ssp.minor if o.terms.ssp is not None else 0 for o in group]
    weights = ssps if all(ssps) else [o.price.minor for o in group]
    shares = allocate_minor(total, weights)
    if all(x <= room[o.id] for x, o in zip(shares, group, strict=True)):
        return shares
    return allocate_minor(total, [room[o.id] for o in group])


def discount_allocation(obligations: Sequence[Priced],
                        discounts: Sequence[tuple[Discount, int]]) -> dict[ObligationId, int]:
    """How much of each discount (minor units) lowers each obligation's price.

    A discount on milestones or installments lowers the transaction price and
    is shared by every obligation that is not a recurring series, by relative
    stand-alone selling price (ASC 606-10-32-36): the SSPs the package states
    when every one states one, else the obligations' own prices (the prices
    the items were offered at).  A discount whose ``relates_to`` names
    obligations, with the observable evidence of 32-37 stated, goes to those
    only, shared the same way.  No obligation's price goes below zero: a
    share that would pass it is shared by what is left of each price.
    Discounts on service periods stay with their series.
    """
    candidates = [o for o in obligations if o.series is None and o.price.minor > 0]
    room: dict[str, int] = {o.id: o.price.minor for o in candidates}
    out: dict[ObligationId, int] = {}
    for discount, total in discounts:
        group = [o for o in candidates if o.id in discount.relates_to]
        shares = _spread(total, group, room) if discount.relates_to else None
        if shares is None:
            group = candidates
            shares = _spread(total, group, room)
        assert shares is not None  # no item is ever discounted below zero
        for o, x in zip(group, shares, strict=True):
            out[o.id] = out.get(o.id, 0) + x
            room[o.id] -= x
    return out

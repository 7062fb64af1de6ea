"""The amended agreement's billing plan, its value, and what was billed per plan key.

:func:`billing_plan` lists every billable item of an agreement (see
:mod:`milestonebill.agreement.terms` for the items and their keys),
approved amendments included and pending ones not.  :func:`contract_value`
is its sum; open-ended recurring charges have no total, so their value is
counted over a *stated horizon*: the service-period pieces that start
before ``through``, which is required when any recurring charge is
open-ended (:func:`open_ended`).  :func:`billed_by_key` is what the issued
invoices and credit notes billed for each key, which invoicing compares
with the plan.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from types import MappingProxyType

import attrs

from milestonebill._reference import reference
from milestonebill.agreement._lookups import balances
from milestonebill.agreement.fold import Agreement
from milestonebill.agreement.terms import (
    DiscountTerm,
    PlanItem,
    RecurringTerm,
    discount_items,
    installment_items,
    milestone_item,
    service_pieces,
    term_limit,
)
from milestonebill.errors import ValidationError
from milestonebill.ids import InvoiceId, PlanKey
from milestonebill.money import Money
from milestonebill.schedule import DiscountScope

__all__ = [
    "billed_by_key",
    "billing_plan",
    "bulk_pieces",
    "changed_since",
    "contract_value",
    "fixed_items",
    "invoice_balances",
    "open_ended",
    "plan_pieces",
]


def open_ended(agreement: Agreement) -> bool:
    """True when a recurring charge has no end, so the plan needs a horizon."""
    if reference():
        return any(term_limit(t) is None for t in agreement.recurring)
    known: bool | None = agreement._memo.get("open_ended")
    if known is None:
        source: Agreement | None = agreement._memo.get("plan_source")
        known = (open_ended(source) if source is not None
                 else any(_unlimited(t) for t in agreement.recurring))
        agreement._memo["open_ended"] = known
    return known


def _unlimited(term: RecurringTerm) -> bool:
    """``term_limit(term) is None``, without walking the periods to find the limit."""
    if term.active_until is not None:
        return False
    if term.charge.count is not None:  # limited by its last period, if it has any
        return next(iter(term.charge.periods()), None) is None
    return term.charge.end is None


def billing_plan(agreement: Agreement, *, through: date | None = None) -> tuple[PlanItem, ...]:
    """Every billable item of the amended agreement with its current amount.

    Milestones first (in agreement order), then installments (plan by
    plan), then each recurring term's service-period pieces that start
    before ``through`` (all of them when ``through`` is ``None``, which
    requires every recurring charge to end), then the discounts on those
    items (negative amounts; see :class:`~milestonebill.schedule.Discount`).
    Approved amendments are included; pending ones are not.

    The agreement is immutable, so its plan is worked out once, kept with
    it and cut at each horizon asked for (see :class:`_Plan`); an agreement
    with discounts has its plan worked out per call.

    Raises :class:`~milestonebill.errors.ValidationError` naming ``through``
    when it is ``None`` and a recurring charge is open-ended.
    """
    if through is None and open_ended(agreement):
        raise ValidationError("through", "a horizon date, since a recurring charge is open-ended",
                              None)
    horizon = through if through is not None else date.max
    if reference() or agreement.discounts:
        milestones, pieces = _plan_parts(agreement, horizon)
        return _discounted(agreement, (*milestones, *(item for _whole, item in pieces)))
    plan: _Plan | None = agreement._memo.get("plan")
    if plan is None or plan.horizon < horizon:
        source: Agreement | None = agreement._memo.get("plan_source")
        if source is not None:  # an earlier state with the same terms and completions
            billing_plan(source, through=through)
            plan = source._memo["plan"]
        else:
            # A plan that ends is worked out in full; an open-ended one up to the horizon.
            plan = _Plan.of(agreement, horizon if open_ended(agreement) else date.max)
        agreement._memo["plan"] = plan
    return plan.cut(horizon)


def plan_pieces(agreement: Agreement, *, through: date) -> tuple[tuple[date, PlanItem], ...]:
    """The recurring items of ``billing_plan(agreement, through=through)``, in its order,
    each with the first day of the service period it is a piece of.

    A piece is in the plan for a horizon ``t`` exactly when that day is before
    ``t`` (the pieces of one service period come together), so this says how
    the plan grows with the horizon without working it out again: what
    revenue over many dates needs (see :func:`milestonebill.revenue.earned_series`).
    """
    if reference() or agreement.discounts:
        return tuple(_plan_parts(agreement, through)[1])
    billing_plan(agreement, through=through)  # the plan, worked out to the horizon at least
    plan: _Plan = agreement._memo["plan"]
    return tuple((start, item) for start, item in plan.pieces if start < through)


def fixed_items(agreement: Agreement) -> tuple[PlanItem, ...]:
    """The milestone and installment items of the plan, in its order: what
    ``billing_plan`` lists before the recurring pieces, which no horizon changes.

    Worked out once per agreement, without the recurring pieces.
    """
    if reference():
        return tuple(_plan_parts(agreement, date.min)[0])  # no recurring piece starts before
    known: tuple[PlanItem, ...] | None = agreement._memo.get("fixed")
    if known is None:
        source: Agreement | None = agreement._memo.get("plan_source")  # same terms
        known = agreement._memo["fixed"] = (fixed_items(source) if source is not None
                                            else tuple(_fixed_parts(agreement)))
    return known


def invoice_balances(agreement: Agreement) -> Mapping[str, tuple[int, int]]:
    """Per issued invoice id: its :meth:`~Agreement.balance_of` and
    :meth:`~Agreement.net_paid` in minor units -- the table those methods read,
    worked out once per agreement; for reading many invoices without a call and a
    :class:`~milestonebill.money.Money` each.  A read-only view: the agreement keeps
    the table and its methods read it."""
    return MappingProxyType(balances(agreement) if reference()
                            else agreement.derived(balances))


def _plan_parts(agreement: Agreement, horizon: date
                ) -> tuple[list[PlanItem], list[tuple[date, PlanItem]]]:
    """The milestone and installment items, and each recurring piece with the start of
    its service period."""
    items = _fixed_parts(agreement)
    basis = agreement.proposal.proration_basis
    rounding = agreement.proposal.proration_rounding
    pieces = [(whole.start, item) for whole, item in service_pieces(
        agreement.recurring, horizon, basis=basis, rounding=rounding)]
    return items, pieces


def _fixed_parts(agreement: Agreement) -> list[PlanItem]:
    """The milestone and installment items, in plan order."""
    completions = {str(k): v for k, v in agreement.completions.items()}
    items: list[PlanItem] = []
    for mt in agreement.milestones:
        item = milestone_item(mt, agreement.signed_on, completions)
        if item is not None:
            items.append(item)
    for it in agreement.installments:
        items.extend(installment_items(it))
    return items


def _discounted(agreement: Agreement, items: tuple[PlanItem, ...]) -> tuple[PlanItem, ...]:
    """``items`` and, after them, the agreement's discounts on them (negative amounts)."""
    if not agreement.discounts:
        return items
    return (*items, *discount_items(agreement.discounts, items, _scope(agreement)))


@attrs.define
class _Plan:
    """An agreement's plan up to ``horizon``, and its cuts at earlier horizons.

    The plan up to an earlier horizon is this one less the recurring pieces
    whose service period starts on or after it (see
    :func:`~milestonebill.agreement.terms.service_pieces`).  Only for
    agreements without discounts: a discount's items depend on every item in
    the plan (a fixed amount is taken in billing order), so those plans are
    worked out per horizon.
    """

    horizon: date
    milestones: tuple[PlanItem, ...]
    pieces: list[tuple[date, PlanItem]]
    cuts: dict[date, tuple[PlanItem, ...]]

    #: How many cuts are kept: horizons a long-lived agreement is asked about vary.
    KEEP = 64

    @classmethod
    def of(cls, agreement: Agreement, horizon: date) -> _Plan:
        milestones, pieces = _plan_parts(agreement, horizon)
        whole = (*milestones, *(item for _start, item in pieces))
        return cls(horizon, tuple(milestones), pieces, {horizon: whole})

    def cut(self, horizon: date) -> tuple[PlanItem, ...]:
        items = self.cuts.get(horizon)
        if items is None:
            items = (*self.milestones, *(item for start, item in self.pieces if start < horizon))
            if len(self.cuts) >= self.KEEP:
                self.cuts = {self.horizon: self.cuts[self.horizon]}
            self.cuts[horizon] = items
        return items


def _scope(agreement: Agreement) -> Callable[[DiscountTerm, PlanItem], bool]:
    """Whether a discount's scope takes in an item: named, the same package or add-on,
    or the whole agreement (items an amendment added belong to the package)."""
    addons = {a.id for a in agreement.proposal.addons}
    source: dict[str, str] = {t.milestone.id: t.source for t in agreement.milestones}
    source.update({t.charge.id: t.source for t in agreement.recurring})
    source.update({t.plan.id: t.source for t in agreement.installments})

    def group(s: str) -> str:
        return s if s in addons else "package"

    def in_scope(term: DiscountTerm, item: PlanItem) -> bool:
        d = term.discount
        if d.scope is DiscountScope.ITEMS:
            return item.item_id in d.items
        if d.scope is DiscountScope.AGREEMENT:
            return True
        return group(source.get(item.item_id, "package")) == group(term.source)

    return in_scope


def changed_since(agreement: Agreement, key: PlanKey) -> date:
    """The last day an amendment changed the item of ``key`` (for a discount key:
    its item or the discount), ``date.min`` if none did.  A change to a billed
    item is billed or credited from that day on."""
    changed = dict(agreement.changed_on)
    days = [changed.get(key.item_id, date.min)]
    if key.discount_id is not None:
        days.append(changed.get(key.discount_id, date.min))
    return max(days)


def contract_value(agreement: Agreement, *, through: date | None = None) -> Money:
    """The agreement's current value: the sum of its billing plan (tax excluded).

    Open-ended recurring charges are counted over the stated horizon: the
    service-period pieces that start before ``through``.

    >>> from datetime import UTC, datetime
    >>> from milestonebill.agreement import (AgreementId, Collection, PackageOption, Proposal,
    ...                                      ProposalId, sign)
    >>> from milestonebill.money import Currency
    >>> from milestonebill.schedule import (BillingSchedule, Interval, ItemId,
    ...                                     RecurringCharge)
    >>> usd = Currency.of("USD")
    >>> s = BillingSchedule(currency=usd, recurring=[RecurringCharge(ItemId("retainer"),
    ...     "Retainer", Money("2000.00", "USD"), Interval.MONTHLY, start=date(2026, 1, 31))])
    >>> p = Proposal(ProposalId("p"), "Acme", usd, (PackageOption("std", "Standard", s),),
    ...              collection=Collection.SEND_INVOICE)
    >>> a = sign(p, option="std", signer="Ada", signed_at=datetime(2026, 1, 20, tzinfo=UTC),
    ...          payment_method=None, agreement_id=AgreementId("agr-7"))
    >>> contract_value(a, through=date(2027, 1, 31))
    Money('24000.00', 'USD')
    """
    items = billing_plan(agreement, through=through)
    return Money.total((i.amount for i in items), currency=agreement.currency)


def billed_by_key(agreement: Agreement) -> dict[PlanKey, tuple[int, InvoiceId, int]]:
    """Per plan key: (net minor units billed, first invoice id, documents that billed it).

    Item-keyed lines count: invoice lines add, amendment and cancellation
    credit lines subtract.  A refund or goodwill credit note (lines without
    an item key) reduces the invoice balance, not what an item is billed
    for -- until the plan drops an item below what was billed and the
    invoice has no room left to credit it.  Room on an invoice (taken
    together with the adjustment invoices that billed the same items) is
    its subtotal less every credit note against it, refunds included, so an
    amendment credit is never more than the invoice still holds.  The part
    of an item's reduction that finds no room was already given back by
    the refund, so the refund *absorbs* it: it is subtracted here (up to the
    refund credits on those invoices, shared over their reduced items in the
    order they were billed) and no credit note is ever due for it.

    Example: an invoice of 1,000.00 is paid and 600.00 refunded with a
    refund credit note; an amendment then removes the item.  Room is 400.00,
    so the amendment credit is 400.00 and the other 600.00 of the item is
    absorbed by the refund: the item's net billed amount becomes 0.00 once
    that credit is issued, matching the plan, and the client is paid back
    1,000.00 in all.  ``billing_position`` counts the absorbed part as
    credited, so ``invoiced - credited + scheduled == contract value`` holds.

    Worked out once per agreement (it is immutable); each call gets its own dict.
    """
    if reference():
        return _billed_by_key(agreement)
    known: dict[PlanKey, tuple[int, InvoiceId, int]] | None = agreement._memo.get("billed")
    if known is None:
        known = agreement._memo["billed"] = _billed_by_key(agreement)
    return dict(known)


def _billed_by_key(agreement: Agreement) -> dict[PlanKey, tuple[int, InvoiceId, int]]:
    out: dict[PlanKey, tuple[int, InvoiceId, int]] = {}
    for inv in agreement.invoices:
        for line in inv.lines:
            if line.item_key is None:
                continue
            net, first, n = out.get(line.item_key, (0, inv.id, 0))
            out[line.item_key] = (net + line.amount.minor, first, n + 1)
    refunds: dict[InvoiceId, int] = {}
    for cn in agreement.credit_notes:
        for line in cn.lines:
            if line.item_key is None:
                refunds[cn.credits] = refunds.get(cn.credits, 0) + line.amount.minor
                continue
            net, first, n = out.get(line.item_key, (0, cn.credits, 0))
            out[line.item_key] = (net - line.amount.minor, first, n + 1)
    if refunds:
        _absorb_refunds(agreement, out, refunds)
    return out


def _absorb_refunds(agreement: Agreement, billed: dict[PlanKey, tuple[int, InvoiceId, int]],
                    refunds: dict[InvoiceId, int]) -> None:
    """Subtract from ``billed`` the item reductions refund credits already gave back.

    Invoices that bill the same item (the first one and its adjustment
    invoices) are taken together: their room is their subtotals less every
    credit note against them, their refund credits absorb what their items'
    reductions need beyond that room.
    """
    latest = max([agreement.signed_on, *(i.issued_on for i in agreement.invoices)])
    lines = [ln for inv in agreement.invoices for ln in inv.lines]
    lines += [ln for cn in agreement.credit_notes for ln in cn.lines]
    for line in lines:
        if line.period is not None:
            latest = max(latest, line.period.start)
    through = date.fromordinal(min(latest.toordinal() + 1, date.max.toordinal()))
    planned = _planned(agreement, through)
    # Group invoices that bill a common item (union-find on invoice ids).
    parent: dict[str, str] = {inv.id: inv.id for inv in agreement.invoices}

    def root(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for inv in agreement.invoices:
        for line in inv.lines:
            if line.item_key is not None and line.item_key in billed:
                parent[root(inv.id)] = root(billed[line.item_key][1])
    room: dict[str, int] = {}
    refunded: dict[str, int] = {}
    for inv in agreement.invoices:
        r = root(inv.id)
        room[r] = room.get(r, 0) + inv.subtotal.minor
        refunded[r] = refunded.get(r, 0) + refunds.get(inv.id, 0)
    for cn in agreement.credit_notes:
        r = root(cn.credits)
        room[r] -= cn.subtotal.minor
    surplus: dict[str, dict[PlanKey, int]] = {}
    for key, (net, first, _n) in billed.items():
        if net > planned.get(key, 0):
            surplus.setdefault(root(first), {})[key] = net - planned.get(key, 0)
    for r, extras in surplus.items():
        left = min(max(0, sum(extras.values()) - room[r]), refunded[r])
        for key, extra in extras.items():
            if left <= 0:
                break
            take = min(left, extra)
            net, first, n = billed[key]
            billed[key] = (net - take, first, n)
            left -= take


def _planned(agreement: Agreement, through: date) -> dict[str, int]:
    """Each plan key's amount in minor units, the plan cut at ``through``: from the fixed
    items and the charges' calendars when every piece is a whole service period (no
    :class:`PlanItem` per piece), else from :func:`billing_plan`."""
    pieces = None if reference() or agreement.discounts else bulk_pieces(agreement, through)
    if pieces is None:
        return {i.key: i.amount.minor for i in billing_plan(agreement, through=through)}
    out: dict[str, int] = {i.key: i.amount.minor for i in fixed_items(agreement)}
    ids, wholes, _ends, minors, _names = pieces
    for iid, whole, minor in zip(ids, wholes, minors, strict=True):
        out[f"r:{iid}:{date.fromordinal(whole).isoformat()}"] = minor
    return out


def _inside(periods: list[tuple[date, date, int]], since: date, until: date | None
            ) -> list[tuple[date, date, int]] | None:
    """The periods a term covers whole; ``None`` when it covers part of one (prorated)."""
    out: list[tuple[date, date, int]] = []
    for start, end, minor in periods:
        if start < since or (until is not None and end > until):
            if max(start, since) < (end if until is None else min(end, until)):
                return None  # the term covers part of this period: prorated
            continue  # the term covers none of it
        out.append((start, end, minor))
    return out


#: Recurring pieces as columns: item ids, first days (ordinals; each piece is a whole
#: service period), end days, minor units and charge names.
BulkPieces = tuple[tuple[str, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...],
                   tuple[str, ...]]


def bulk_pieces(agreement: Agreement, horizon: date) -> BulkPieces | None:
    """The recurring pieces that start before ``horizon``, straight from each charge's
    calendar (no :class:`PlanItem`); ``None`` when a piece would be prorated (a term
    cut inside a service period, a charge split over terms).  The bulk plan of
    :mod:`milestonebill.agreement.columns`."""
    terms = agreement.recurring
    if len({t.charge.id for t in terms}) != len(terms):
        return None
    ids: list[str] = []
    wholes: list[int] = []
    ends: list[int] = []
    minors: list[int] = []
    names: list[str] = []
    for t in terms:
        until, since, charge = t.active_until, t.active_from, t.charge
        stop = horizon if until is None else min(horizon, until)
        bounds, amounts = charge.minor_calendar(stop)
        n = len(amounts)
        if not n:
            continue
        # Service periods follow each other: when the first starts in the term and the
        # last ends in it, every one is inside it.
        if bounds[0] < since or (until is not None and bounds[n] > until):
            got = _inside(list(zip(bounds[:-1], bounds[1:], amounts, strict=True)), since, until)
            if got is None:
                return None
            bounds = [start for start, _end, _m in got]
            bounds.append(got[-1][1] if got else since)
            amounts = [m for _s, _e, m in got]
            n = len(amounts)
        days = [d.toordinal() for d in bounds]
        starts, stops = days[:n], days[1:]
        if 0 in amounts:  # a piece of nothing is no piece
            kept = [k for k in range(n) if amounts[k]]
            starts = [starts[k] for k in kept]
            stops = [stops[k] for k in kept]
            amounts = [amounts[k] for k in kept]
            n = len(kept)
        ids += [charge.id] * n
        names += [charge.name] * n
        wholes += starts
        ends += stops
        minors += amounts
    return tuple(ids), tuple(wholes), tuple(ends), tuple(minors), tuple(names)

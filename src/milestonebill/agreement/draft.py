"""Applying amendment operations to a working copy of an agreement's terms.

A :class:`Draft` is the mutable copy; :func:`apply_operation` changes it
for one operation (one handler per operation type) or raises
:class:`~milestonebill.errors.AmendmentError`, and the fold turns the draft
back into the agreement's fields.  A :class:`Catalogue` is what the
proposal offers, for operations that add an add-on or switch the package.

A price change splits a recurring term into two at a cut date chosen by
the :class:`~milestonebill.agreement.ProrationPolicy`; ending a term cuts it
the same way.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import attrs

from milestonebill.agreement.amendments import (
    AddAddOn,
    AddDiscount,
    AddMilestone,
    AddRecurringCharge,
    CancelAddOn,
    CancelAgreement,
    ChangeBillingDay,
    ChangeInstallments,
    ChangeMilestoneAmount,
    ChangeRecurringInterval,
    ChangeRecurringPrice,
    EndDiscount,
    EndRecurringCharge,
    Operation,
    ProrationPolicy,
    RaiseTimeCap,
    RemoveMilestone,
    RescheduleMilestone,
    SwitchPackage,
)
from milestonebill.agreement.proposal import Proposal
from milestonebill.agreement.terms import (
    DiscountTerm,
    InstallmentTerm,
    MilestoneTerm,
    RecurringTerm,
    containing_period,
    term_limit,
)
from milestonebill.agreement.time_entries import check_cap_raise
from milestonebill.errors import AmendmentError, ValidationError
from milestonebill.money import Currency, Money
from milestonebill.periods import DayCount, add_months
from milestonebill.schedule import (
    BillingSchedule,
    Discount,
    DiscountScope,
    InstallmentPlan,
    IntervalUnit,
    Milestone,
    MilestoneId,
    RecurringCharge,
    TimeAndMaterials,
    Timing,
    Trigger,
)

__all__ = [
    "Catalogue",
    "Draft",
    "apply_operation",
]


@attrs.define
class Draft:
    """Mutable working copy of an agreement's terms while operations apply.

    ``events`` is the agreement's stream so far and ``agreement_id`` its id,
    for the operations that depend on recorded work (:class:`RaiseTimeCap`);
    ``time_raises`` collects those applied to this draft, in order.
    """

    currency: Currency
    option_id: str
    milestones: list[MilestoneTerm]
    recurring: list[RecurringTerm]
    addons: list[str]
    completions: dict[str, date]
    changed: dict[str, date]
    cancelled_on: date | None = None
    installments: list[InstallmentTerm] = attrs.Factory(list)
    discounts: list[DiscountTerm] = attrs.Factory(list)
    events: tuple[object, ...] = ()
    agreement_id: str = ""
    time_raises: list[RaiseTimeCap] = attrs.Factory(list)


class Catalogue:
    """What the proposal offers: options and add-ons as (milestones, recurring).

    Milestone amounts are resolved (a percentage becomes its share of the
    schedule's total), so every milestone in a catalogue has an ``amount``.
    ``plans`` and ``discounts`` are the installment plans and discounts of
    each option and add-on (by its id); ``obligations`` the ids of each
    option's stated obligations; ``time_materials`` the proposal's
    time-and-materials term, if any.
    """

    def __init__(
        self,
        options: Mapping[str, tuple[tuple[Milestone, ...], tuple[RecurringCharge, ...]]],
        addons: Mapping[str, tuple[tuple[Milestone, ...], tuple[RecurringCharge, ...]]],
        *,
        plans: Mapping[str, tuple[InstallmentPlan, ...]] | None = None,
        discounts: Mapping[str, tuple[Discount, ...]] | None = None,
        obligations: Mapping[str, frozenset[str]] | None = None,
        time_materials: TimeAndMaterials | None = None,
    ) -> None:
        self.options = options
        self.addons = addons
        self.plans = plans or {}
        self.discounts = discounts or {}
        self.obligations = obligations or {}
        self.time_materials = time_materials

    @classmethod
    def of(cls, proposal: Proposal) -> Catalogue:
        """The catalogue of a proposal's package options and add-ons.

        Worked out once per proposal object while it lives: an agreement's
        signing, each amendment and each replay of its stream (reports rewind
        agreements to month ends) all ask for the same one, and resolving
        percentages re-validates every milestone.  A catalogue is read-only.
        """
        held = _CATALOGUES.get(id(proposal))
        if held is not None and held[0]() is proposal:
            return held[1]
        made = cls._made(proposal)
        key = id(proposal)
        _CATALOGUES[key] = (weakref.ref(proposal, lambda _r: _forget(key, _r)), made)
        return made

    @classmethod
    def _made(cls, proposal: Proposal) -> Catalogue:
        entries = [(e.id, e.schedule) for e in proposal.options]
        entries += [(e.id, e.schedule) for e in proposal.addons]
        return cls(MappingProxyType({o.id: _offered(o.schedule) for o in proposal.options}),
                   MappingProxyType({a.id: _offered(a.schedule) for a in proposal.addons}),
                   plans=MappingProxyType({k: s.installments for k, s in entries}),
                   discounts=MappingProxyType({k: s.discounts for k, s in entries}),
                   obligations=MappingProxyType({o.id: frozenset(t.id for t in o.obligations)
                                                 for o in proposal.options}),
                   time_materials=proposal.time_materials)


#: Catalogues by the id of their proposal, with a weak reference to it (the entry
#: goes when the proposal does; a reused id is told apart by the reference).  No
#: lock: single dict operations are atomic, and the callback below may run inside a
#: garbage collection on any thread, where waiting for a lock could deadlock.  The
#: worst a race does is forget an entry, which is then worked out again.
_CATALOGUES: dict[int, tuple[weakref.ref[Proposal], Catalogue]] = {}


def _forget(key: int, ref: weakref.ref[Proposal]) -> None:
    held = _CATALOGUES.get(key)
    if held is not None and held[0] is ref:
        _CATALOGUES.pop(key, None)


def _offered(s: BillingSchedule) -> tuple[tuple[Milestone, ...], tuple[RecurringCharge, ...]]:
    amounts = s.milestone_amounts()
    return tuple(_resolved(m, amounts) for m in s.milestones), s.recurring


def _fail(op: object, message: str) -> AmendmentError:
    return AmendmentError(f"{type(op).__name__}: {message}")


def _find_milestone(d: Draft, op: object, mid: str) -> int:
    for i, t in enumerate(d.milestones):
        if t.milestone.id == mid:
            return i
    raise _fail(op, f"no milestone {mid!r} in the agreement")


def _live_term(d: Draft, op: object, item_id: str, at: date) -> int:
    """Index of the item's last term, which must not have ended by ``at``."""
    found = [i for i, t in enumerate(d.recurring) if t.charge.id == item_id]
    if not found:
        raise _fail(op, f"no recurring charge {item_id!r} in the agreement")
    i = found[-1]
    limit = term_limit(d.recurring[i])
    if limit is not None and limit <= at:
        raise _fail(op, f"recurring charge {item_id!r} has ended on {limit}")
    return i


def _cut(term: RecurringTerm, at: date, policy: ProrationPolicy, *, price_change: bool) -> date:
    """The date the old terms end and the new ones start."""
    if policy is ProrationPolicy.PRORATE_NOW:
        return at
    period = containing_period(term.charge, at)
    if period is None or period.start == at:
        return at
    if price_change and policy is ProrationPolicy.NONE and (
        term.charge.timing is Timing.IN_ARREARS
    ):
        return max(period.start, term.active_from)
    return period.end


def _split(d: Draft, i: int, cut: date, new_charge: RecurringCharge | None,
           new_until: date | None) -> None:
    """End term ``i`` at ``cut``; start ``new_charge`` there (if any)."""
    old = d.recurring[i]
    until = old.active_until
    replacement: list[RecurringTerm] = []
    if cut > old.active_from:
        end = cut if until is None else min(until, cut)
        replacement.append(attrs.evolve(old, active_until=end))
    if new_charge is not None:
        start = max(cut, old.active_from)
        if new_until is None or new_until > start:
            replacement.append(RecurringTerm(new_charge, old.source, start, new_until))
    d.recurring[i:i + 1] = replacement


def _keeps(d: Draft, t: MilestoneTerm, at: date) -> bool:
    """Whether a milestone survives a cancellation at ``at`` (work done or billed)."""
    m = t.milestone
    if m.trigger is Trigger.ON_SIGNING:
        return True
    if m.trigger is Trigger.ON_DATE:
        assert m.due_on is not None
        return m.due_on < at
    done = d.completions.get(m.id)
    return done is not None and done <= at


def _resolved(milestone: Milestone, amounts: Mapping[MilestoneId, Money]) -> Milestone:
    amount = amounts[milestone.id]
    if milestone.percent is None and milestone.amount == amount:
        return milestone  # already what it resolves to (most are): no copy to validate
    return attrs.evolve(milestone, amount=amount, percent=None)


def _end_source(d: Draft, op: object, source: str | None, at: date,
                policy: ProrationPolicy) -> None:
    for i in reversed(range(len(d.recurring))):
        t = d.recurring[i]
        if source is not None and t.source != source:
            continue
        limit = term_limit(t)
        if limit is not None and limit <= at:
            continue
        if t.active_from >= at:
            del d.recurring[i]
            d.changed[t.charge.id] = at
            continue
        _split(d, i, _cut(t, at, policy, price_change=False), None, None)
        d.changed[t.charge.id] = at


def _drop_milestones(d: Draft, source: str | None, at: date,
                     keep_ids: frozenset[str] = frozenset()) -> None:
    kept = []
    for t in d.milestones:
        if (source is None or t.source == source) and t.milestone.id not in keep_ids and (
            not _keeps(d, t, at)
        ):
            d.changed[t.milestone.id] = at
            continue
        kept.append(t)
    d.milestones = kept


def _drop_installments(d: Draft, source: str | None, at: date) -> None:
    """Installments dated on or after ``at`` of the source's plans are no longer due."""
    kept: list[InstallmentTerm] = []
    for t in d.installments:
        if source is not None and t.source != source:
            kept.append(t)
            continue
        before = tuple(x for x in t.installments if x.on < at)
        if len(before) != len(t.installments):
            d.changed[t.plan.id] = at
        if before:
            kept.append(attrs.evolve(t, installments=before))
    d.installments = kept


def _plan_and_discount_ids(d: Draft) -> set[str]:
    return {t.plan.id for t in d.installments} | {t.discount.id for t in d.discounts}


def _item_ids(d: Draft) -> set[str]:
    return ({t.milestone.id for t in d.milestones} | {t.charge.id for t in d.recurring}
            | {t.plan.id for t in d.installments} | {t.discount.id for t in d.discounts})


def _add_plans(d: Draft, op: object, plans: tuple[InstallmentPlan, ...], source: str,
               at: date) -> None:
    for p in plans:
        if p.id in _item_ids(d):
            raise _fail(op, f"item {p.id!r} already exists")
        if p.amount.currency != d.currency:
            raise _fail(op, f"installment plan {p.id!r} must be in {d.currency.code}")
        d.installments.append(InstallmentTerm.of(p, source))
        d.changed[p.id] = at


def _window(discount: Discount, start: date | None, end: date | None) -> Discount | None:
    """The discount narrowed to items dated in ``[start, end)`` (``None``: nothing left)."""
    lo = max((x for x in (discount.starts_on, start) if x is not None), default=None)
    hi = min((x for x in (discount.ends_on, end) if x is not None), default=None)
    if lo is not None and hi is not None and hi <= lo:
        return None
    return attrs.evolve(discount, starts_on=lo, ends_on=hi)


def _add_discounts(d: Draft, op: object, discounts: tuple[Discount, ...], source: str,
                   at: date, *, catalogue: Catalogue, from_at: bool = False) -> None:
    """Add discounts (``from_at``: only for items dated from ``at`` on)."""
    for disc in discounts:
        if disc.id in _item_ids(d):
            raise _fail(op, f"item {disc.id!r} already exists")
        if disc.amount is not None and disc.amount.currency != d.currency:
            raise _fail(op, f"discount {disc.id!r} must be in {d.currency.code}")
        missing = [x for x in disc.items if x not in _item_ids(d)]
        if missing:
            raise _fail(op, f"discount {disc.id!r} names no item of the agreement: {missing}")
        stated = catalogue.obligations.get(d.option_id, frozenset())
        if any(o not in stated for o in disc.relates_to):
            raise _fail(op, f"discount {disc.id!r} relates to obligations the package does "
                        f"not state: {sorted(set(disc.relates_to) - stated)}")
        narrowed = _window(disc, at, None) if from_at else disc
        if narrowed is not None:
            d.discounts.append(DiscountTerm(narrowed, source))
        d.changed[disc.id] = at


def _end_discounts(d: Draft, source: str, at: date) -> None:
    """The source's discounts no longer apply to items dated from ``at`` on."""
    kept: list[DiscountTerm] = []
    for t in d.discounts:
        if t.source != source:
            kept.append(t)
            continue
        narrowed = _window(t.discount, None, at)
        d.changed[t.discount.id] = at
        if narrowed is not None:
            kept.append(attrs.evolve(t, discount=narrowed))
    d.discounts = kept


def _add_recurring(d: Draft, op: object, charge: RecurringCharge, source: str, at: date) -> None:
    if charge.amount.currency != d.currency:
        raise _fail(op, f"charge {charge.id!r} must be in {d.currency.code}")
    if charge.id in _plan_and_discount_ids(d):
        raise _fail(op, f"item {charge.id!r} already exists")
    live = [t for t in d.recurring if t.charge.id == charge.id]
    limit = term_limit(live[-1]) if live else at
    if limit is None or limit > at:
        raise _fail(op, f"recurring charge {charge.id!r} is already active")
    d.recurring.append(RecurringTerm(charge, source, max(charge.start, at)))
    d.changed[charge.id] = at


def _add_milestones(d: Draft, op: object, milestones: tuple[Milestone, ...], source: str,
                    at: date) -> None:
    for m in milestones:
        if any(t.milestone.id == m.id for t in d.milestones) or m.id in _plan_and_discount_ids(d):
            raise _fail(op, f"milestone {m.id!r} already exists")
        if m.amount is None:
            raise _fail(op, f"milestone {m.id!r} needs a fixed amount")
        if m.amount.currency != d.currency:
            raise _fail(op, f"milestone {m.id!r} must be in {d.currency.code}")
        if m.amount.minor < 0:
            raise _fail(op, f"milestone {m.id!r} amount must not be negative")
        d.milestones.append(MilestoneTerm(m, source, at))
        d.changed[m.id] = at


def apply_operation(d: Draft, op: Operation, catalogue: Catalogue) -> None:
    """Apply one operation to the draft, or raise :class:`~milestonebill.errors.AmendmentError`."""
    try:
        _apply_operation(d, op, catalogue)
    except ValidationError as exc:
        raise _fail(op, str(exc)) from exc


# ---------------------------------------------------------------- one handler per operation


def _check_amount(d: Draft, op: ChangeMilestoneAmount | ChangeRecurringPrice) -> None:
    if op.amount.currency != d.currency or op.amount.minor < 0:
        raise _fail(op, f"amount must be zero or more in {d.currency.code} (got {op.amount})")


def _change_milestone_amount(d: Draft, op: ChangeMilestoneAmount, _c: Catalogue) -> None:
    i = _find_milestone(d, op, op.milestone_id)
    _check_amount(d, op)
    mt = d.milestones[i]
    d.milestones[i] = attrs.evolve(mt, milestone=attrs.evolve(mt.milestone, amount=op.amount))
    d.changed[op.milestone_id] = op.effective


def _add_milestone(d: Draft, op: AddMilestone, _c: Catalogue) -> None:
    _add_milestones(d, op, (op.milestone,), "amendment", op.effective)


def _remove_milestone(d: Draft, op: RemoveMilestone, _c: Catalogue) -> None:
    i = _find_milestone(d, op, op.milestone_id)
    del d.milestones[i]
    d.changed[op.milestone_id] = op.effective


def _reschedule_milestone(d: Draft, op: RescheduleMilestone, _c: Catalogue) -> None:
    i = _find_milestone(d, op, op.milestone_id)
    mt = d.milestones[i]
    if mt.milestone.trigger is not Trigger.ON_DATE:
        raise _fail(op, f"milestone {op.milestone_id!r} is not billed on a date")
    d.milestones[i] = attrs.evolve(mt, milestone=attrs.evolve(mt.milestone, due_on=op.due_on))
    d.changed[op.milestone_id] = op.effective


def _change_recurring_price(d: Draft, op: ChangeRecurringPrice, _c: Catalogue) -> None:
    at = op.effective
    i = _live_term(d, op, op.item_id, at)
    _check_amount(d, op)
    t = d.recurring[i]
    new = attrs.evolve(t.charge, amount=op.amount, escalations=())
    cut = _cut(t, at, op.proration, price_change=True)
    _split(d, i, cut, new, t.active_until)
    d.changed[op.item_id] = at


def _change_recurring_interval(d: Draft, op: ChangeRecurringInterval, _c: Catalogue) -> None:
    at = op.effective
    i = _live_term(d, op, op.item_id, at)
    t = d.recurring[i]
    cut = max(_cut(t, at, op.proration, price_change=False), t.active_from)
    anchor = None if op.interval.unit is IntervalUnit.WEEK else (
        cut.day if op.proration is ProrationPolicy.PRORATE_NOW else t.charge.anchor)
    stub = None if anchor is None else (t.charge.first_period_proration
                                        or DayCount.ACTUAL_OVER_PERIOD)
    new = attrs.evolve(t.charge, interval=op.interval, start=cut, anchor_day=anchor,
                       end=None, count=None, escalations=(), first_period_proration=stub)
    _split(d, i, cut, new, term_limit(t))
    d.changed[op.item_id] = at


def _change_billing_day(d: Draft, op: ChangeBillingDay, _c: Catalogue) -> None:
    at = op.effective
    i = _live_term(d, op, op.item_id, at)
    t = d.recurring[i]
    months = t.charge.interval.months
    if months is None:
        raise _fail(op, f"recurring charge {op.item_id!r} is weekly and has no billing day")
    if type(op.anchor_day) is not int or not 1 <= op.anchor_day <= 31:
        raise _fail(op, f"anchor_day must be 1..31 (got {op.anchor_day!r})")
    cut = _cut(t, at, op.proration, price_change=False)
    aligned = add_months(cut.replace(day=1), 0, day=op.anchor_day)
    if aligned > cut:
        aligned = add_months(cut.replace(day=1), -months, day=op.anchor_day)
    new = attrs.evolve(t.charge, start=aligned, anchor_day=op.anchor_day, end=None,
                       count=None, escalations=(), first_period_proration=None)
    _split(d, i, cut, new, term_limit(t))
    d.changed[op.item_id] = at


def _add_recurring_charge(d: Draft, op: AddRecurringCharge, _c: Catalogue) -> None:
    _add_recurring(d, op, op.charge, "amendment", op.effective)


def _end_recurring_charge(d: Draft, op: EndRecurringCharge, _c: Catalogue) -> None:
    at = op.effective
    i = _live_term(d, op, op.item_id, at)
    t = d.recurring[i]
    if t.active_from >= at:
        del d.recurring[i]
    else:
        _split(d, i, _cut(t, at, op.proration, price_change=False), None, None)
    d.changed[op.item_id] = at


def _add_addon(d: Draft, op: AddAddOn, catalogue: Catalogue) -> None:
    if op.addon_id not in catalogue.addons:
        raise _fail(op, f"the proposal has no add-on {op.addon_id!r}")
    if op.addon_id in d.addons:
        raise _fail(op, f"add-on {op.addon_id!r} is already active")
    ms, rs = catalogue.addons[op.addon_id]
    _add_milestones(d, op, ms, op.addon_id, op.effective)
    for r in rs:
        _add_recurring(d, op, r, op.addon_id, op.effective)
    _add_plans(d, op, catalogue.plans.get(op.addon_id, ()), op.addon_id, op.effective)
    _add_discounts(d, op, catalogue.discounts.get(op.addon_id, ()), op.addon_id, op.effective,
                   catalogue=catalogue)
    d.addons.append(op.addon_id)


def _cancel_addon(d: Draft, op: CancelAddOn, _c: Catalogue) -> None:
    if op.addon_id not in d.addons:
        raise _fail(op, f"add-on {op.addon_id!r} is not active")
    _end_source(d, op, op.addon_id, op.effective, op.proration)
    _drop_milestones(d, op.addon_id, op.effective)
    _drop_installments(d, op.addon_id, op.effective)
    d.addons.remove(op.addon_id)


def _switch_package(d: Draft, op: SwitchPackage, catalogue: Catalogue) -> None:
    at = op.effective
    if op.option_id not in catalogue.options:
        raise _fail(op, f"the proposal has no package option {op.option_id!r}")
    if op.option_id == d.option_id:
        raise _fail(op, f"package {op.option_id!r} is already the current one")
    ms, rs = catalogue.options[op.option_id]
    new_ids = {m.id: m for m in ms}
    cuts = [_cut(t, at, op.proration, price_change=False) for t in d.recurring
            if t.source == "package" and (term_limit(t) or date.max) > at
            and t.active_from < at]
    new_start = max(cuts, default=at)
    _end_source(d, op, "package", at, op.proration)
    # Milestones the new package shares by id keep their history and take the new amount.
    for i, mt in enumerate(d.milestones):
        if mt.source == "package" and mt.milestone.id in new_ids:
            d.milestones[i] = MilestoneTerm(new_ids[mt.milestone.id], "package", mt.added_on)
            d.changed[mt.milestone.id] = at
    _drop_milestones(d, "package", at, keep_ids=frozenset(new_ids))
    present = {t.milestone.id for t in d.milestones}
    _add_milestones(d, op, tuple(m for m in ms if m.id not in present), "package", at)
    for r in rs:
        _add_recurring(d, op, r, "package", new_start)
    _drop_installments(d, "package", at)
    _end_discounts(d, "package", at)
    d.option_id = op.option_id
    _add_plans(d, op, catalogue.plans.get(op.option_id, ()), "package", at)
    _add_discounts(d, op, catalogue.discounts.get(op.option_id, ()), "package", at,
                   catalogue=catalogue, from_at=True)


def _cancel_agreement(d: Draft, op: CancelAgreement, _c: Catalogue) -> None:
    policy = ProrationPolicy.PRORATE_NOW if op.credit_unused else ProrationPolicy.NEXT_PERIOD
    _end_source(d, op, None, op.effective, policy)
    _drop_milestones(d, None, op.effective)
    _drop_installments(d, None, op.effective)
    d.cancelled_on = op.effective


# ---------------------------------------------------------------- installments and discounts


def _change_installments(d: Draft, op: ChangeInstallments, _c: Catalogue) -> None:
    at = op.effective
    i = next((k for k, t in enumerate(d.installments) if t.plan.id == op.plan_id), None)
    if i is None:
        raise _fail(op, f"no installment plan {op.plan_id!r} in the agreement")
    t = d.installments[i]
    kept = tuple(x for x in t.installments if x.on < at)
    rest = t.installments[len(kept):]
    cur = d.currency
    total = Money.total((x.amount for x in t.installments), currency=cur)
    if op.amount is not None:
        if op.amount.currency != cur or op.amount.minor <= 0:
            raise _fail(op, f"amount must be positive in {cur.code} (got {op.amount})")
        total = op.amount
    remaining = total - Money.total((x.amount for x in kept), currency=cur)
    if remaining.minor <= 0:
        raise _fail(op, f"nothing is left to pay in installments: {total} less the "
                    f"installments before {at}")
    start = op.start if op.start is not None else (rest[0].on if rest else None)
    if start is None or start < at:
        raise _fail(op, f"start must be a date on or after {at} (got {start}): "
                    "every installment dated before it stays as it is")
    interval = op.interval or t.plan.interval
    weekly = interval.unit is IntervalUnit.WEEK
    anchor = op.anchor_day if op.anchor_day is not None else (
        None if weekly or op.start is not None else (t.plan.anchor_day or t.plan.start.day))
    count, weights = op.count, op.weights
    if count is None and not weights:
        if not rest:
            raise _fail(op, "no installment is left to re-plan; give count or weights")
        weights = tuple(Decimal(x.amount.minor) for x in rest)
    plan = InstallmentPlan(t.plan.id, t.plan.name, remaining, interval, start, count=count,
                           weights=weights, anchor_day=anchor, terms=t.plan.terms)
    new = tuple(attrs.evolve(x, provenance=f"re-planned on {at}: {x.provenance}")
                for x in plan.installments())
    d.installments[i] = InstallmentTerm(plan, t.source, kept + new)
    d.changed[op.plan_id] = at


def _add_discount(d: Draft, op: AddDiscount, catalogue: Catalogue) -> None:
    disc = op.discount
    if (disc.amount is not None and disc.amount.currency == d.currency
            and disc.scope is DiscountScope.ITEMS and disc.starts_on is None
            and disc.ends_on is None):
        # As in a schedule: a fixed discount for ever on milestones and plans is
        # no more than they come to, so no line is discounted below zero.
        sizes: dict[str, int] = {t.milestone.id: t.milestone.amount.minor
                                 for t in d.milestones if t.milestone.amount is not None}
        sizes.update({t.plan.id: sum(i.amount.minor for i in t.installments)
                      for t in d.installments})
        if all(x in sizes for x in disc.items):
            most = Money.from_minor(sum(sizes[x] for x in disc.items), d.currency)
            if disc.amount > most:
                raise _fail(op, f"discount {disc.id!r} of {disc.amount} is more than its "
                            f"items come to ({most})")
    _add_discounts(d, op, (disc,), "amendment", op.effective, catalogue=catalogue)


def _end_discount(d: Draft, op: EndDiscount, _c: Catalogue) -> None:
    i = next((k for k, t in enumerate(d.discounts) if t.discount.id == op.discount_id), None)
    if i is None:
        raise _fail(op, f"no discount {op.discount_id!r} in the agreement")
    narrowed = _window(d.discounts[i].discount, None, op.effective)
    if narrowed is None:
        del d.discounts[i]
    else:
        d.discounts[i] = attrs.evolve(d.discounts[i], discount=narrowed)
    d.changed[op.discount_id] = op.effective


def _raise_time_cap(d: Draft, op: RaiseTimeCap, catalogue: Catalogue) -> None:
    # The cap applies when the amendment is approved (time_entries replays it);
    # here it is only checked against the work recorded so far.
    try:
        check_cap_raise(catalogue.time_materials, d.currency, d.events, d.agreement_id,
                        (*d.time_raises, op))
    except ValidationError as exc:
        raise _fail(op, str(exc)) from exc
    d.time_raises.append(op)


_HANDLERS: dict[type, Callable[[Draft, Any, Catalogue], None]] = {
    ChangeMilestoneAmount: _change_milestone_amount,
    AddMilestone: _add_milestone,
    RemoveMilestone: _remove_milestone,
    RescheduleMilestone: _reschedule_milestone,
    ChangeRecurringPrice: _change_recurring_price,
    ChangeRecurringInterval: _change_recurring_interval,
    ChangeBillingDay: _change_billing_day,
    AddRecurringCharge: _add_recurring_charge,
    EndRecurringCharge: _end_recurring_charge,
    AddAddOn: _add_addon,
    CancelAddOn: _cancel_addon,
    SwitchPackage: _switch_package,
    CancelAgreement: _cancel_agreement,
    ChangeInstallments: _change_installments,
    AddDiscount: _add_discount,
    EndDiscount: _end_discount,
    RaiseTimeCap: _raise_time_cap,
}


def _apply_operation(d: Draft, op: Operation, catalogue: Catalogue) -> None:
    if d.cancelled_on is not None:
        raise _fail(op, f"the agreement was cancelled on {d.cancelled_on}")
    handler = next((_HANDLERS[t] for t in type(op).__mro__ if t in _HANDLERS), None)
    if handler is None:  # pragma: no cover - the converter on Amendment refuses anything else
        raise _fail(op, "unknown operation")
    handler(d, op, catalogue)

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

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

import attrs

from milestonebill.agreement.amendments import (
    AddAddOn,
    AddMilestone,
    AddRecurringCharge,
    CancelAddOn,
    CancelAgreement,
    ChangeBillingDay,
    ChangeMilestoneAmount,
    ChangeRecurringInterval,
    ChangeRecurringPrice,
    EndRecurringCharge,
    Operation,
    ProrationPolicy,
    RemoveMilestone,
    RescheduleMilestone,
    SwitchPackage,
)
from milestonebill.agreement.proposal import Proposal
from milestonebill.agreement.terms import (
    MilestoneTerm,
    RecurringTerm,
    containing_period,
    term_limit,
)
from milestonebill.errors import AmendmentError, ValidationError
from milestonebill.money import Currency, Money
from milestonebill.periods import DayCount, add_months
from milestonebill.schedule import (
    BillingSchedule,
    IntervalUnit,
    Milestone,
    MilestoneId,
    RecurringCharge,
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
    """Mutable working copy of an agreement's terms while operations apply."""

    currency: Currency
    option_id: str
    milestones: list[MilestoneTerm]
    recurring: list[RecurringTerm]
    addons: list[str]
    completions: dict[str, date]
    changed: dict[str, date]
    cancelled_on: date | None = None


class Catalogue:
    """What the proposal offers: options and add-ons as (milestones, recurring).

    Milestone amounts are resolved (a percentage becomes its share of the
    schedule's total), so every milestone in a catalogue has an ``amount``.
    """

    def __init__(
        self,
        options: Mapping[str, tuple[tuple[Milestone, ...], tuple[RecurringCharge, ...]]],
        addons: Mapping[str, tuple[tuple[Milestone, ...], tuple[RecurringCharge, ...]]],
    ) -> None:
        self.options = options
        self.addons = addons

    @classmethod
    def of(cls, proposal: Proposal) -> Catalogue:
        """The catalogue of a proposal's package options and add-ons."""
        return cls({o.id: _offered(o.schedule) for o in proposal.options},
                   {a.id: _offered(a.schedule) for a in proposal.addons})


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
    return attrs.evolve(milestone, amount=amounts[milestone.id], percent=None)


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


def _add_recurring(d: Draft, op: object, charge: RecurringCharge, source: str, at: date) -> None:
    if charge.amount.currency != d.currency:
        raise _fail(op, f"charge {charge.id!r} must be in {d.currency.code}")
    live = [t for t in d.recurring if t.charge.id == charge.id]
    limit = term_limit(live[-1]) if live else at
    if limit is None or limit > at:
        raise _fail(op, f"recurring charge {charge.id!r} is already active")
    d.recurring.append(RecurringTerm(charge, source, max(charge.start, at)))
    d.changed[charge.id] = at


def _add_milestones(d: Draft, op: object, milestones: tuple[Milestone, ...], source: str,
                    at: date) -> None:
    for m in milestones:
        if any(t.milestone.id == m.id for t in d.milestones):
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
    """Apply one operation to the draft, or raise :class:`AmendmentError`."""
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
    d.addons.append(op.addon_id)


def _cancel_addon(d: Draft, op: CancelAddOn, _c: Catalogue) -> None:
    if op.addon_id not in d.addons:
        raise _fail(op, f"add-on {op.addon_id!r} is not active")
    _end_source(d, op, op.addon_id, op.effective, op.proration)
    _drop_milestones(d, op.addon_id, op.effective)
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
    d.option_id = op.option_id


def _cancel_agreement(d: Draft, op: CancelAgreement, _c: Catalogue) -> None:
    policy = ProrationPolicy.PRORATE_NOW if op.credit_unused else ProrationPolicy.NEXT_PERIOD
    _end_source(d, op, None, op.effective, policy)
    _drop_milestones(d, None, op.effective)
    d.cancelled_on = op.effective


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
}


def _apply_operation(d: Draft, op: Operation, catalogue: Catalogue) -> None:
    if d.cancelled_on is not None:
        raise _fail(op, f"the agreement was cancelled on {d.cancelled_on}")
    handler = next((_HANDLERS[t] for t in type(op).__mro__ if t in _HANDLERS), None)
    if handler is None:  # pragma: no cover - the converter on Amendment refuses anything else
        raise _fail(op, "unknown operation")
    handler(d, op, catalogue)

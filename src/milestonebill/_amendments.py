"""Amendment operations and the billing plan they act on (re-exported by ``agreement``).

The *plan* of an agreement is every billable item with its current amount:
each milestone (key ``m:<id>``) and each service-period piece of each
recurring charge (key ``r:<item>:<piece start>``).  Amendments never edit
invoices; they change the plan, and invoicing bills the difference between
the plan and what was already billed for each key.  That is what makes
adjustments of invoiced items reference their original invoice, and what
makes invoiced - credited + still scheduled = contract value hold by
construction.

Recurring charges live in *terms*: a charge active on ``[active_from,
active_until)``.  A service period cut by a term boundary is prorated on
the agreement's basis; a price change splits one term into two at a cut
date chosen by the :class:`ProrationPolicy`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, timedelta

import attrs

from milestonebill.errors import AmendmentError, ValidationError
from milestonebill.ids import AmendmentId, PlanKey
from milestonebill.money import Currency, Money, Rounding
from milestonebill.periods import DayCount, Period, add_months, prorate
from milestonebill.schedule import (
    Charge,
    ChargeKind,
    Interval,
    IntervalUnit,
    ItemId,
    Milestone,
    MilestoneId,
    PaymentTerms,
    RecurringCharge,
    Timing,
    Trigger,
)

__all__ = [
    "AddAddOn",
    "AddMilestone",
    "AddRecurringCharge",
    "Amendment",
    "AmendmentId",
    "CancelAddOn",
    "CancelAgreement",
    "ChangeBillingDay",
    "ChangeMilestoneAmount",
    "ChangeRecurringInterval",
    "ChangeRecurringPrice",
    "EndRecurringCharge",
    "MilestoneTerm",
    "Operation",
    "PlanItem",
    "ProrationPolicy",
    "RecurringTerm",
    "RemoveMilestone",
    "RescheduleMilestone",
    "SwitchPackage",
]



class ProrationPolicy(enum.Enum):
    """How a change in the middle of a service period is billed.

    * ``PRORATE_NOW`` -- the old terms end and the new ones start on the
      effective date: unused time on the old terms is credited, the rest of
      the period on the new terms is charged (prorated).
    * ``NEXT_PERIOD`` -- the period in progress keeps the old terms; the new
      terms start with the next period.
    * ``NONE`` -- no proration either way: the period in progress is billed
      whole at the terms in force when it is billed, i.e. the old terms for
      a charge billed in advance and the new terms for one billed in arrears.
      For interval and billing-day changes and for ending a charge it
      behaves as ``NEXT_PERIOD``.
    """

    PRORATE_NOW = "prorate_now"
    NEXT_PERIOD = "next_period"
    NONE = "none"


# ---------------------------------------------------------------- operations


@attrs.frozen
class ChangeMilestoneAmount:
    """Set a milestone's amount from ``effective`` on."""

    effective: date
    milestone_id: MilestoneId
    amount: Money


@attrs.frozen
class AddMilestone:
    """Add a milestone; it must have a fixed ``amount`` (no percentage)."""

    effective: date
    milestone: Milestone

    def __attrs_post_init__(self) -> None:
        if self.milestone.amount is None:
            raise ValidationError("milestone.amount", "a fixed amount in an amendment",
                                  self.milestone.percent)


@attrs.frozen
class RemoveMilestone:
    """Remove a milestone; if it was invoiced it is credited in full."""

    effective: date
    milestone_id: MilestoneId


@attrs.frozen
class RescheduleMilestone:
    """Move an ``ON_DATE`` milestone to ``due_on``."""

    effective: date
    milestone_id: MilestoneId
    due_on: date


@attrs.frozen
class ChangeRecurringPrice:
    """New price for a recurring charge (its escalations are replaced by none)."""

    effective: date
    item_id: ItemId
    amount: Money
    proration: ProrationPolicy = ProrationPolicy.PRORATE_NOW


@attrs.frozen
class ChangeRecurringInterval:
    """New interval; with ``PRORATE_NOW`` the billing cycle restarts on the effective date."""

    effective: date
    item_id: ItemId
    interval: Interval
    proration: ProrationPolicy = ProrationPolicy.PRORATE_NOW


@attrs.frozen
class ChangeBillingDay:
    """New anchor day (month and year intervals); the stub up to it is prorated."""

    effective: date
    item_id: ItemId
    anchor_day: int
    proration: ProrationPolicy = ProrationPolicy.PRORATE_NOW


@attrs.frozen
class AddRecurringCharge:
    """Add a recurring charge, active from ``max(effective, charge.start)``."""

    effective: date
    charge: RecurringCharge


@attrs.frozen
class EndRecurringCharge:
    """End a recurring charge on ``effective`` (policy decides the cut)."""

    effective: date
    item_id: ItemId
    proration: ProrationPolicy = ProrationPolicy.PRORATE_NOW


@attrs.frozen
class AddAddOn:
    """Add one of the proposal's add-ons."""

    effective: date
    addon_id: str


@attrs.frozen
class CancelAddOn:
    """Cancel an active add-on: end its charges, drop its undelivered milestones."""

    effective: date
    addon_id: str
    proration: ProrationPolicy = ProrationPolicy.PRORATE_NOW


@attrs.frozen
class SwitchPackage:
    """Switch to another package option of the proposal (upgrade or downgrade)."""

    effective: date
    option_id: str
    proration: ProrationPolicy = ProrationPolicy.PRORATE_NOW


@attrs.frozen
class CancelAgreement:
    """Cancel the agreement, crediting unused prepaid time or not."""

    effective: date
    credit_unused: bool = True


Operation = (
    ChangeMilestoneAmount
    | AddMilestone
    | RemoveMilestone
    | RescheduleMilestone
    | ChangeRecurringPrice
    | ChangeRecurringInterval
    | ChangeBillingDay
    | AddRecurringCharge
    | EndRecurringCharge
    | AddAddOn
    | CancelAddOn
    | SwitchPackage
    | CancelAgreement
)
_OPERATION_TYPES = (
    ChangeMilestoneAmount, AddMilestone, RemoveMilestone, RescheduleMilestone,
    ChangeRecurringPrice, ChangeRecurringInterval, ChangeBillingDay, AddRecurringCharge,
    EndRecurringCharge, AddAddOn, CancelAddOn, SwitchPackage, CancelAgreement,
)


def _operations(value: Iterable[Operation]) -> tuple[Operation, ...]:
    ops = tuple(value)
    for i, op in enumerate(ops):
        if not isinstance(op, _OPERATION_TYPES):
            raise ValidationError(f"operations[{i}]", "an amendment operation", op)
    return ops


@attrs.frozen
class Amendment:
    """One or more operations proposed and approved together, applied in order."""

    id: AmendmentId
    operations: tuple[Operation, ...] = attrs.field(converter=_operations)
    description: str = ""

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValidationError("id", "a non-empty string", self.id)
        if not self.operations:
            raise ValidationError("operations", "at least one operation", self.operations)

    @property
    def effective(self) -> date:
        """The latest effective date of its operations."""
        return max(op.effective for op in self.operations)

    def changes_money_or_scope(self) -> bool:
        """True unless every operation only reschedules a dated milestone."""
        return not all(isinstance(op, RescheduleMilestone) for op in self.operations)


# ---------------------------------------------------------------- terms


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


def _after_intervals(d: date, interval: Interval, n: int) -> date:
    months = interval.months
    if months is None:
        return d + timedelta(weeks=interval.count * n)
    return add_months(d, months * n)


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


def _charges(charge: RecurringCharge, before: date) -> Iterator[Charge]:
    """Charges of service periods that start before ``before``."""
    for c in charge.charges():
        assert c.period is not None
        if c.period.start >= before:
            return
        yield c


def containing_period(charge: RecurringCharge, d: date) -> Period | None:
    """The service period of ``charge`` that contains ``d``, if any."""
    for p in charge.periods():
        if p.start > d:
            return None
        if d < p.end:
            return p
    return None


def term_pieces(
    term: RecurringTerm,
    through: date,
    *,
    basis: DayCount,
    rounding: Rounding,
) -> Iterator[PlanItem]:
    """Plan items of one term whose piece starts before ``through``."""
    charge = term.charge
    stop = through if term.active_until is None else min(through, term.active_until)
    for c in _charges(charge, stop):
        assert c.period is not None
        lo = max(c.period.start, term.active_from)
        hi = c.period.end if term.active_until is None else min(c.period.end, term.active_until)
        if lo >= hi:
            continue
        piece = Period(lo, hi)
        amount = c.amount
        provenance = [c.provenance]
        if piece != c.period:
            pr = prorate(c.amount, piece, c.period, basis=basis, rounding=rounding)
            amount = pr.amount
            provenance.append(pr.describe())
        if amount.is_zero():
            continue
        on = piece.start if charge.timing is Timing.IN_ADVANCE else piece.end
        yield PlanItem(
            key=PlanKey.piece(charge.id, piece.start), kind=ChargeKind.RECURRING, item_id=charge.id,
            name=charge.name, amount=amount, on=on, period=piece, terms=charge.terms,
            provenance=tuple(provenance),
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
    return PlanItem(
        key=PlanKey.milestone(m.id), kind=ChargeKind.MILESTONE, item_id=m.id, name=m.name,
        amount=m.amount, on=on, period=None, terms=m.terms,
        provenance=(f"{m.name} ({m.id}), milestone {m.trigger.value}; {m.terms}",),
    )


# ---------------------------------------------------------------- applying operations


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
    """What the proposal offers: options and add-ons as (milestones, recurring)."""

    def __init__(
        self,
        options: Mapping[str, tuple[tuple[Milestone, ...], tuple[RecurringCharge, ...]]],
        addons: Mapping[str, tuple[tuple[Milestone, ...], tuple[RecurringCharge, ...]]],
    ) -> None:
        self.options = options
        self.addons = addons


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
    until = old.active_until if old.active_until is not None else None
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
    if live and (term_limit(live[-1]) is None or term_limit(live[-1]) > at):  # type: ignore[operator]
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


def _apply_operation(d: Draft, op: Operation, catalogue: Catalogue) -> None:
    at = op.effective
    if d.cancelled_on is not None:
        raise _fail(op, f"the agreement was cancelled on {d.cancelled_on}")
    if isinstance(op, ChangeMilestoneAmount):
        i = _find_milestone(d, op, op.milestone_id)
        if op.amount.currency != d.currency or op.amount.minor < 0:
            raise _fail(op, f"amount must be zero or more in {d.currency.code} (got {op.amount})")
        mt = d.milestones[i]
        d.milestones[i] = attrs.evolve(mt, milestone=attrs.evolve(mt.milestone, amount=op.amount))
        d.changed[op.milestone_id] = at
    elif isinstance(op, AddMilestone):
        _add_milestones(d, op, (op.milestone,), "amendment", at)
    elif isinstance(op, RemoveMilestone):
        i = _find_milestone(d, op, op.milestone_id)
        del d.milestones[i]
        d.changed[op.milestone_id] = at
    elif isinstance(op, RescheduleMilestone):
        i = _find_milestone(d, op, op.milestone_id)
        mt = d.milestones[i]
        if mt.milestone.trigger is not Trigger.ON_DATE:
            raise _fail(op, f"milestone {op.milestone_id!r} is not billed on a date")
        d.milestones[i] = attrs.evolve(mt, milestone=attrs.evolve(mt.milestone, due_on=op.due_on))
        d.changed[op.milestone_id] = at
    elif isinstance(op, ChangeRecurringPrice):
        i = _live_term(d, op, op.item_id, at)
        if op.amount.currency != d.currency or op.amount.minor < 0:
            raise _fail(op, f"amount must be zero or more in {d.currency.code} (got {op.amount})")
        t = d.recurring[i]
        new = attrs.evolve(t.charge, amount=op.amount, escalations=())
        cut = _cut(t, at, op.proration, price_change=True)
        _split(d, i, cut, new, t.active_until)
        d.changed[op.item_id] = at
    elif isinstance(op, ChangeRecurringInterval):
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
    elif isinstance(op, ChangeBillingDay):
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
    elif isinstance(op, AddRecurringCharge):
        _add_recurring(d, op, op.charge, "amendment", at)
    elif isinstance(op, EndRecurringCharge):
        i = _live_term(d, op, op.item_id, at)
        t = d.recurring[i]
        if t.active_from >= at:
            del d.recurring[i]
        else:
            _split(d, i, _cut(t, at, op.proration, price_change=False), None, None)
        d.changed[op.item_id] = at
    elif isinstance(op, AddAddOn):
        if op.addon_id not in catalogue.addons:
            raise _fail(op, f"the proposal has no add-on {op.addon_id!r}")
        if op.addon_id in d.addons:
            raise _fail(op, f"add-on {op.addon_id!r} is already active")
        ms, rs = catalogue.addons[op.addon_id]
        _add_milestones(d, op, ms, op.addon_id, at)
        for r in rs:
            _add_recurring(d, op, r, op.addon_id, at)
        d.addons.append(op.addon_id)
    elif isinstance(op, CancelAddOn):
        if op.addon_id not in d.addons:
            raise _fail(op, f"add-on {op.addon_id!r} is not active")
        _end_source(d, op, op.addon_id, at, op.proration)
        _drop_milestones(d, op.addon_id, at)
        d.addons.remove(op.addon_id)
    elif isinstance(op, SwitchPackage):
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
    elif isinstance(op, CancelAgreement):
        policy = ProrationPolicy.PRORATE_NOW if op.credit_unused else ProrationPolicy.NEXT_PERIOD
        _end_source(d, op, None, at, policy)
        _drop_milestones(d, None, at)
        d.cancelled_on = at
    else:  # pragma: no cover - the converter on Amendment refuses anything else
        raise _fail(op, "unknown operation")


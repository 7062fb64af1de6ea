"""Amendment operations: typed changes to an agreement's terms, proposed together.

An :class:`Amendment` is one or more :data:`Operation` s, applied in order
and all or nothing once approved (see :mod:`milestonebill.agreement.draft`
for what each one does to the terms).  Changes to a recurring charge in the
middle of a service period are cut as the :class:`ProrationPolicy` says.

>>> from datetime import date
>>> from milestonebill.schedule import MilestoneId
>>> a = Amendment(AmendmentId("am-1"), [RescheduleMilestone(date(2026, 5, 1),
...               MilestoneId("launch"), date(2026, 6, 1))])
>>> a.effective, a.changes_money_or_scope()
(datetime.date(2026, 5, 1), False)
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

import attrs

from milestonebill._validate import (
    check_billing_date,
    check_id,
    check_int,
    exact_decimal,
)
from milestonebill.agreement._fields import checked_id as _id
from milestonebill.agreement._fields import day as _day
from milestonebill.agreement._fields import text as _text
from milestonebill.errors import ValidationError
from milestonebill.ids import AmendmentId
from milestonebill.money import Money
from milestonebill.schedule import (
    Discount,
    Interval,
    ItemId,
    Milestone,
    MilestoneId,
    RecurringCharge,
)

__all__ = [
    "AddAddOn",
    "AddDiscount",
    "AddMilestone",
    "AddRecurringCharge",
    "Amendment",
    "CancelAddOn",
    "CancelAgreement",
    "ChangeBillingDay",
    "ChangeInstallments",
    "ChangeMilestoneAmount",
    "ChangeRecurringInterval",
    "ChangeRecurringPrice",
    "EndDiscount",
    "EndRecurringCharge",
    "Operation",
    "ProrationPolicy",
    "RaiseTimeCap",
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

    effective: date = attrs.field(validator=_day)
    milestone_id: MilestoneId = attrs.field(validator=_id)
    amount: Money


@attrs.frozen
class AddMilestone:
    """Add a milestone; it must have a fixed ``amount`` (no percentage).

    Raises :class:`~milestonebill.errors.ValidationError` naming ``milestone.amount`` for a
    percentage milestone.
    """

    effective: date = attrs.field(validator=_day)
    milestone: Milestone

    def __attrs_post_init__(self) -> None:
        if self.milestone.amount is None:
            raise ValidationError("milestone.amount", "a fixed amount in an amendment",
                                  self.milestone.percent)


@attrs.frozen
class RemoveMilestone:
    """Remove a milestone; if it was invoiced it is credited in full."""

    effective: date = attrs.field(validator=_day)
    milestone_id: MilestoneId = attrs.field(validator=_id)


@attrs.frozen
class RescheduleMilestone:
    """Move an ``ON_DATE`` milestone to ``due_on``."""

    effective: date = attrs.field(validator=_day)
    milestone_id: MilestoneId = attrs.field(validator=_id)
    due_on: date = attrs.field(validator=_day)


@attrs.frozen
class ChangeRecurringPrice:
    """New price for a recurring charge (its escalations are replaced by none)."""

    effective: date = attrs.field(validator=_day)
    item_id: ItemId = attrs.field(validator=_id)
    amount: Money
    proration: ProrationPolicy = ProrationPolicy.PRORATE_NOW


@attrs.frozen
class ChangeRecurringInterval:
    """New interval; with ``PRORATE_NOW`` the billing cycle restarts on the effective date."""

    effective: date = attrs.field(validator=_day)
    item_id: ItemId = attrs.field(validator=_id)
    interval: Interval
    proration: ProrationPolicy = ProrationPolicy.PRORATE_NOW


@attrs.frozen
class ChangeBillingDay:
    """New anchor day (month and year intervals); the stub up to it is prorated."""

    effective: date = attrs.field(validator=_day)
    item_id: ItemId = attrs.field(validator=_id)
    anchor_day: int
    proration: ProrationPolicy = ProrationPolicy.PRORATE_NOW


@attrs.frozen
class AddRecurringCharge:
    """Add a recurring charge, active from ``max(effective, charge.start)``."""

    effective: date = attrs.field(validator=_day)
    charge: RecurringCharge


@attrs.frozen
class EndRecurringCharge:
    """End a recurring charge on ``effective`` (policy decides the cut)."""

    effective: date = attrs.field(validator=_day)
    item_id: ItemId = attrs.field(validator=_id)
    proration: ProrationPolicy = ProrationPolicy.PRORATE_NOW


@attrs.frozen
class AddAddOn:
    """Add one of the proposal's add-ons."""

    effective: date = attrs.field(validator=_day)
    addon_id: str = attrs.field(validator=_id)


@attrs.frozen
class CancelAddOn:
    """Cancel an active add-on: end its charges, drop its undelivered milestones."""

    effective: date = attrs.field(validator=_day)
    addon_id: str = attrs.field(validator=_id)
    proration: ProrationPolicy = ProrationPolicy.PRORATE_NOW


@attrs.frozen
class SwitchPackage:
    """Switch to another package option of the proposal (upgrade or downgrade)."""

    effective: date = attrs.field(validator=_day)
    option_id: str = attrs.field(validator=_id)
    proration: ProrationPolicy = ProrationPolicy.PRORATE_NOW


@attrs.frozen
class CancelAgreement:
    """Cancel the agreement, crediting unused prepaid time or not."""

    effective: date = attrs.field(validator=_day)
    credit_unused: bool = True


# ---------------------------------------------------------------- installments and discounts


def _weights(value: Iterable[Decimal | int | str]) -> tuple[Decimal, ...]:
    if isinstance(value, str):
        raise ValidationError("weights", "a list of weights, not one string", value)
    return tuple(exact_decimal(w, "weights") for w in value)


@attrs.frozen
class ChangeInstallments:
    """Re-plan the installments of a plan dated on or after ``effective``.

    Installments dated before ``effective`` stay as they are; the rest of
    the plan's total (``amount`` when given, else the total as it stands)
    is split again, through :func:`~milestonebill.money.allocate`, into
    ``count`` equal installments or by ``weights`` (default: as many as
    remain, in proportion to their amounts -- so moving dates alone keeps
    every amount), the first on ``start`` (default: the first remaining
    installment's date; never before ``effective``), every ``interval``
    (default: the plan's) on ``anchor_day`` (default: the plan's when
    ``start`` is not given, else ``start``'s day).  Installment numbers go
    on from the kept ones.  ``amount`` is :class:`~milestonebill.money.Money`.

    Raises :class:`~milestonebill.errors.ValidationError` naming ``count`` when both ``count`` and
    ``weights`` are given, or the field that is out of range.
    """

    effective: date = attrs.field(validator=_day)
    plan_id: ItemId = attrs.field(validator=_id)
    count: int | None = None
    weights: tuple[Decimal, ...] = attrs.field(default=(), converter=_weights)
    start: date | None = None
    interval: Interval | None = None
    anchor_day: int | None = None
    amount: Money | None = None

    def __attrs_post_init__(self) -> None:
        if self.count is not None and self.weights:
            raise ValidationError("count", "None when weights are given", self.count)
        if self.count is not None:
            check_int("count", self.count, at_least=1, unit="installments")
        if self.start is not None:
            check_billing_date("start", self.start)


@attrs.frozen
class AddDiscount:
    """Add a discount; it applies to the items in its scope and window, billed or not.

    Items already billed that it covers are credited once the amendment takes
    effect; give the discount a ``starts_on`` to leave them alone.
    """

    effective: date = attrs.field(validator=_day)
    discount: Discount


@attrs.frozen
class EndDiscount:
    """End a discount: items dated on or after ``effective`` are no longer discounted."""

    effective: date = attrs.field(validator=_day)
    discount_id: ItemId = attrs.field(validator=_id)


def _cap_phase(_inst: object, attr: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None:
        check_id(attr.name, value)


@attrs.frozen
class RaiseTimeCap:
    """Set the not-to-exceed cap of a time-and-materials term: of the agreement
    (``phase=None``) or of ``phase``, to ``new_cap``.

    The client's approval of a higher cap, through the amendment flow (approval
    rules, notice period, :func:`~milestonebill.agreement.preview`).  From the
    moment the amendment is approved, work held past the old cap becomes
    billable, first recorded first, as far as ``new_cap`` goes; the next run
    bills it.  ``new_cap`` is refused below what is already approved (billed or
    still to bill) under that cap, in another currency, for a phase without a
    cap, or on an agreement without a time-and-materials term.  A firm-side
    raise that needs no approval is :class:`~milestonebill.agreement.TimeCapRaised`.

    ``new_cap`` is :class:`~milestonebill.money.Money`; one that is not a
    positive Money raises :class:`~milestonebill.errors.ValidationError` naming ``new_cap``.
    """

    effective: date = attrs.field(validator=_day)
    new_cap: Money
    phase: str | None = attrs.field(default=None, validator=_cap_phase)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.new_cap, Money) or self.new_cap.minor <= 0:
            raise ValidationError("new_cap", "a positive Money", self.new_cap)

    @property
    def scope(self) -> str:
        """The cap it sets: ``""`` for the agreement's, else the phase."""
        return self.phase or ""


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
    | ChangeInstallments
    | AddDiscount
    | EndDiscount
    | RaiseTimeCap
)
_OPERATION_TYPES = (
    ChangeMilestoneAmount, AddMilestone, RemoveMilestone, RescheduleMilestone,
    ChangeRecurringPrice, ChangeRecurringInterval, ChangeBillingDay, AddRecurringCharge,
    EndRecurringCharge, AddAddOn, CancelAddOn, SwitchPackage, CancelAgreement,
    ChangeInstallments, AddDiscount, EndDiscount, RaiseTimeCap,
)


def _operations(value: Iterable[Operation]) -> tuple[Operation, ...]:
    ops = tuple(value)
    for i, op in enumerate(ops):
        if not isinstance(op, _OPERATION_TYPES):
            raise ValidationError(f"operations[{i}]", "an amendment operation", op)
    return ops


@attrs.frozen
class Amendment:
    """One or more operations proposed and approved together, applied in order.

    Raises :class:`~milestonebill.errors.ValidationError` naming ``operations`` when there is none,
    or ``id`` for an id that is not a valid key.
    """

    id: AmendmentId
    operations: tuple[Operation, ...] = attrs.field(converter=_operations)
    description: str = attrs.field(default="", validator=_text)

    def __attrs_post_init__(self) -> None:
        check_id("id", self.id)
        if not self.operations:
            raise ValidationError("operations", "at least one operation", self.operations)

    @property
    def effective(self) -> date:
        """The latest effective date of its operations."""
        return max(op.effective for op in self.operations)

    def changes_money_or_scope(self) -> bool:
        """True unless every operation only reschedules a dated milestone, or only
        moves installments without changing their number, weights or total."""
        return not all(isinstance(op, RescheduleMilestone) or (
            isinstance(op, ChangeInstallments) and op.count is None and not op.weights
            and op.amount is None) for op in self.operations)

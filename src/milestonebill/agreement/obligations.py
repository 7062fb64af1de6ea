"""The performance obligations a package states: how the firm earns its price.

A :class:`~milestonebill.agreement.PackageOption` may list
:class:`ObligationTerms`: what the firm promises (ASC 606-10-25-14 / IFRS 15
22), how its performance is measured (:class:`Progress`) and which billing
items pay for it -- or, when no item is mapped, a stand-alone selling price
to share the milestones' price by (ASC 606-10-32-28).  Milestones are then
payment terms: billing a milestone is not earning it.  Recurring charges
are always series of their own, earned straight line over each service
period.  :mod:`milestonebill.revenue` turns these terms into revenue.

When a package states no obligation, it has one: an over-time obligation
measured by the milestones achieved (completed, or dated and passed),
weighted by their amounts; a deposit billed on signing is an advance, not
progress.  See ``docs/books.md``.

>>> from decimal import Decimal
>>> ObligationTerms(ObligationId("work"), "The engagement", Progress.HOURS,
...                 estimate=Decimal(400)).progress.is_input
True
>>> ObligationTerms(ObligationId("work"), "The engagement", Progress.HOURS)
Traceback (most recent call last):
...
milestonebill.errors.ValidationError: 'estimate' must be a positive estimated total for progress 'hours' (got None)
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

import attrs

from milestonebill._validate import check_id, check_text, exact_decimal, raise_all
from milestonebill.errors import ValidationError
from milestonebill.ids import ObligationId
from milestonebill.money import Money
from milestonebill.periods import Period
from milestonebill.schedule import BillingSchedule, Trigger

__all__ = [
    "ObligationTerms",
    "Progress",
    "SspApproach",
    "obligation_problems",
]


class Progress(enum.Enum):
    """How an obligation's performance is measured.

    Over time: ``MILESTONES`` (output method: milestones achieved, by
    weight), ``UNITS`` (output: units delivered of an estimated total),
    ``HOURS`` and ``COSTS`` (input methods: incurred to date against an
    estimated total, ASC 606-10-55-20), ``STRAIGHT_LINE`` (evenly over a
    period, day by day).  At a point in time: ``ON_COMPLETION`` (a named
    milestone's completion) or ``ON_DATE``.
    """

    MILESTONES = "milestones"
    UNITS = "units"
    HOURS = "hours"
    COSTS = "costs"
    STRAIGHT_LINE = "straight_line"
    ON_COMPLETION = "on_completion"
    ON_DATE = "on_date"

    @property
    def is_input(self) -> bool:
        """True for measures reported as progress events against an estimate."""
        return self in (Progress.UNITS, Progress.HOURS, Progress.COSTS)

    @property
    def over_time(self) -> bool:
        """True when the obligation is satisfied over time."""
        return self not in (Progress.ON_COMPLETION, Progress.ON_DATE)


class SspApproach(enum.Enum):
    """Where a stand-alone selling price comes from (ASC 606-10-32-33/34).

    ``OBSERVABLE`` -- the price the firm sells it for on its own;
    ``ADJUSTED_MARKET`` and ``EXPECTED_COST_PLUS_MARGIN`` -- estimates
    (the SSP given is the estimate; the approach is recorded);
    ``RESIDUAL`` -- the price left after the others' SSPs (no SSP given;
    at most one obligation).
    """

    OBSERVABLE = "observable"
    ADJUSTED_MARKET = "adjusted_market"
    EXPECTED_COST_PLUS_MARGIN = "expected_cost_plus_margin"
    RESIDUAL = "residual"


def _str_tuple(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise ValidationError("items", "a list of item ids, not one string", value)
    return tuple(value)


def _weights(value: Iterable[tuple[str, Decimal | int | str]]) -> tuple[tuple[str, Decimal], ...]:
    pairs = value.items() if isinstance(value, dict) else value
    return tuple((str(k), exact_decimal(w, "milestones")) for k, w in pairs)


def _optional_decimal(value: Decimal | int | str | None) -> Decimal | None:
    return None if value is None else exact_decimal(value, "estimate")


@attrs.frozen
class ObligationTerms:
    """One performance obligation of a package.

    * ``progress`` -- how it is measured (:class:`Progress`).
    * ``items`` -- the billing items (milestone and installment plan ids)
      whose price is this obligation's; leave every obligation's ``items``
      empty to share the milestones' and plans' price by ``ssp`` instead.  Recurring charges are series
      of their own and cannot be mapped.
    * ``ssp`` / ``ssp_approach`` -- the stand-alone selling price and where it
      comes from.
    * ``estimate`` -- the estimated total hours, costs or units (input
      measures); :class:`~milestonebill.agreement.EstimateRevised` changes it.
    * ``milestones`` -- ``MILESTONES``: the milestones that count, with
      weights (default: its own mapped milestones achieved by completion or
      date, weighted by amount -- the package's when nothing is mapped).
    * ``milestone`` -- ``ON_COMPLETION``: the milestone whose completion
      satisfies it; ``on`` -- ``ON_DATE``: the date; ``period`` --
      ``STRAIGHT_LINE``: the half-open period ``[start, end)`` (default:
      signing to the last dated milestone).
    * ``expected_end`` -- when the firm expects to finish, for the timing of
      remaining performance obligations.
    """

    id: ObligationId = attrs.field(validator=lambda _i, _a, v: check_id("id", v))
    name: str = attrs.field(validator=lambda _i, _a, v: check_text("name", v))
    progress: Progress = attrs.field(validator=attrs.validators.instance_of(Progress))
    items: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    ssp: Money | None = None
    ssp_approach: SspApproach = SspApproach.OBSERVABLE
    estimate: Decimal | None = attrs.field(default=None, converter=_optional_decimal)
    milestones: tuple[tuple[str, Decimal], ...] = attrs.field(default=(), converter=_weights)
    milestone: str | None = None
    on: date | None = None
    period: Period | None = None
    expected_end: date | None = None

    def __attrs_post_init__(self) -> None:
        raise_all(self._problems())

    def _problems(self) -> list[ValidationError]:
        p, out = self.progress, []
        if p.is_input and (self.estimate is None or self.estimate <= 0):
            out.append(ValidationError("estimate", f"a positive estimated total for progress "
                                       f"{p.value!r}", self.estimate))
        if not p.is_input and self.estimate is not None:
            out.append(ValidationError("estimate", f"None for progress {p.value!r}",
                                       self.estimate))
        if (p is Progress.ON_COMPLETION) != (self.milestone is not None):
            out.append(ValidationError("milestone", "the completing milestone, only for "
                                       "progress 'on_completion'", self.milestone))
        if (p is Progress.ON_DATE) != (self.on is not None):
            out.append(ValidationError("on", "a date, only for progress 'on_date'", self.on))
        if self.period is not None and p is not Progress.STRAIGHT_LINE:
            out.append(ValidationError("period", "None unless progress is 'straight_line'",
                                       self.period))
        if self.milestones and p is not Progress.MILESTONES:
            out.append(ValidationError("milestones", "empty unless progress is 'milestones'",
                                       self.milestones))
        if any(w <= 0 for _m, w in self.milestones):
            out.append(ValidationError("milestones", "positive weights", self.milestones))
        if self.ssp_approach is SspApproach.RESIDUAL and self.ssp is not None:
            out.append(ValidationError("ssp", "None for the residual approach", self.ssp))
        return out


def obligation_problems(obligations: Sequence[ObligationTerms], schedule: BillingSchedule,
                        field: str) -> list[ValidationError]:
    """What is wrong with ``obligations`` for a package billed by ``schedule``.

    Every milestone is mapped to exactly one obligation, or none is mapped
    and every obligation has an SSP (or one is residual); recurring charges
    are never mapped; milestones named for progress exist; ids are unique;
    SSPs are in the schedule's currency.
    """
    out: list[ValidationError] = []
    # An installment plan is the price of what it pays for, mapped as a milestone is.
    payable_ids = [*(m.id for m in schedule.milestones), *(p.id for p in schedule.installments)]
    milestone_ids = [m.id for m in schedule.milestones]
    recurring_ids = {r.id for r in schedule.recurring}
    seen: dict[str, str] = {}
    for i, o in enumerate(obligations):
        at = f"{field}[{i}]"
        if o.id in {x.id for x in obligations[:i]}:
            out.append(ValidationError(f"{at}.id", "a unique obligation id", o.id))
        if o.ssp is not None and o.ssp.currency != schedule.currency:
            out.append(ValidationError(f"{at}.ssp", f"an amount in {schedule.currency.code}",
                                       o.ssp))
        for item in o.items:
            if item in recurring_ids:
                out.append(ValidationError(f"{at}.items", "milestone ids (a recurring charge "
                                           "is a series of its own)", item))
            elif item not in payable_ids:
                out.append(ValidationError(f"{at}.items", "ids of the package's milestones "
                                           "and installment plans", item))
            elif item in seen:
                out.append(ValidationError(f"{at}.items", f"an item not already mapped to "
                                           f"{seen[item]!r}", item))
            seen.setdefault(item, o.id)
        named = [m for m, _w in o.milestones] + ([o.milestone] if o.milestone else [])
        out += [ValidationError(f"{at}.milestones", "ids of the package's milestones", m)
                for m in named if m not in milestone_ids]
        if o.milestone is not None and o.milestone in milestone_ids and next(
                m for m in schedule.milestones if m.id == o.milestone).trigger \
                is not Trigger.ON_COMPLETION:
            out.append(ValidationError(f"{at}.milestone", "a milestone billed on completion",
                                       o.milestone))
    out += _mapping_problems(obligations, payable_ids, seen, field)
    stated = {o.id for o in obligations}
    for i, d in enumerate(schedule.discounts):
        unknown = [o for o in d.relates_to if o not in stated]
        if unknown:
            out.append(ValidationError(f"{field.rpartition('.')[0]}.schedule.discounts[{i}]"
                                       ".relates_to", "ids of the obligations the package "
                                       "states", unknown))
    return out


def _mapping_problems(obligations: Sequence[ObligationTerms], milestone_ids: Sequence[str],
                      seen: dict[str, str], field: str) -> list[ValidationError]:
    if not obligations:
        return []
    if seen:
        unmapped = [m for m in milestone_ids if m not in seen]
        empty = [o.id for o in obligations if not o.items]
        out = [ValidationError(field, "every milestone mapped to one obligation "
                               "(or none mapped, shared by SSP)", unmapped)] if unmapped else []
        if empty:
            out.append(ValidationError(field, "items on every obligation once any is mapped",
                                       empty))
        return out
    residual = [o.id for o in obligations if o.ssp_approach is SspApproach.RESIDUAL]
    missing = [o.id for o in obligations if o.ssp is None
               and o.ssp_approach is not SspApproach.RESIDUAL]
    out = []
    if missing:
        out.append(ValidationError(field, "an SSP on every obligation when no item is mapped",
                                   missing))
    if len(residual) > 1:
        out.append(ValidationError(field, "at most one residual obligation", residual))
    return out

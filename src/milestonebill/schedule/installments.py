"""A fee paid in installments on a cadence: :class:`InstallmentPlan`.

An installment plan is a *payment* schedule: it says when the client pays
a fee, not when the firm earns it.  The fee is split into ``count`` equal
installments or by ``weights`` through :func:`milestonebill.money.allocate`
(largest remainder, ties to the earliest installment), so the installments
add up to the fee exactly.  The first installment falls on ``start``; the
others on the boundaries a :class:`~milestonebill.schedule.RecurringCharge`
with the same start, interval and anchor day would have: month and year
intervals keep to the anchor day (clamped to a month's end, never
accumulated), and a start off the anchor day is followed by the first
anchor date after it.

1,000.00 in three monthly installments from 31 January 2024:

>>> plan = InstallmentPlan(ItemId("fee"), "Project fee", Money("1000.00", "USD"),
...                        Interval.MONTHLY, start=date(2024, 1, 31), count=3)
>>> [(str(i.on), str(i.amount)) for i in plan.installments()]
[('2024-01-31', '333.34 USD'), ('2024-02-29', '333.33 USD'), ('2024-03-31', '333.33 USD')]
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

import attrs

from milestonebill._validate import (
    check_id,
    check_int,
    check_text,
    exact_decimal,
    problem,
    raise_all,
)
from milestonebill.errors import ValidationError
from milestonebill.ids import ItemId
from milestonebill.limits import MAX_RECURRING_PERIODS
from milestonebill.money import Money, allocate
from milestonebill.periods import DayCount
from milestonebill.schedule._common import date_problems
from milestonebill.schedule.charges import Charge, ChargeKind
from milestonebill.schedule.recurring import Interval, IntervalUnit, RecurringCharge
from milestonebill.schedule.terms import DUE_ON_RECEIPT, PaymentTerms

__all__ = ["Installment", "InstallmentPlan"]


def _weights(value: Iterable[Decimal | int | str]) -> tuple[Decimal, ...]:
    if isinstance(value, str):
        raise ValidationError("weights", "a list of weights, not one string", value)
    return tuple(exact_decimal(w, "weights") for w in value)


@attrs.frozen
class Installment:
    """One installment: its date, its amount and how it came about."""

    on: date
    amount: Money
    provenance: str = ""


@attrs.frozen
class InstallmentPlan:
    """A fee (``amount``) paid in installments every ``interval`` from ``start``.

    Exactly one of ``count`` (equal installments) and ``weights`` (one
    positive weight per installment) is given; there are at most
    :data:`~milestonebill.limits.MAX_RECURRING_PERIODS` installments and
    each is at least one minor unit.  ``anchor_day`` (month and year
    intervals; default ``start.day``) dates the installments after the
    first as a recurring charge's periods.  Each installment is due under
    ``terms`` from its date.

    100 JPY in seven weekly installments: 100 = 7 x 14 + 2, so the first two
    take a yen more:

    >>> plan = InstallmentPlan(ItemId("fee"), "Fee", Money(100, "JPY"), Interval.WEEKLY,
    ...                        start=date(2025, 3, 3), count=7)
    >>> [i.amount.minor for i in plan.installments()]
    [15, 15, 14, 14, 14, 14, 14]
    >>> InstallmentPlan(ItemId("fee"), "Fee", Money(5, "JPY"), Interval.WEEKLY,
    ...                 start=date(2025, 3, 3), count=7)
    Traceback (most recent call last):
    ...
    milestonebill.errors.ValidationError: 'count' must be at most 5, so that each installment is at least one minor unit of 5 JPY (got 7)
    """

    id: ItemId
    name: str
    amount: Money
    interval: Interval
    start: date
    count: int | None = None
    weights: tuple[Decimal, ...] = attrs.field(default=(), converter=_weights)
    anchor_day: int | None = None
    terms: PaymentTerms = DUE_ON_RECEIPT

    def __attrs_post_init__(self) -> None:
        problems = problem(check_id, "id", self.id) + problem(check_text, "name", self.name)
        if not isinstance(self.amount, Money) or self.amount.minor <= 0:
            problems.append(ValidationError("amount", "a positive Money", self.amount))
        if not isinstance(self.interval, Interval):
            problems.append(ValidationError("interval", "an Interval", self.interval))
        problems += date_problems("start", self.start)
        if (self.count is None) == (not self.weights):
            problems.append(ValidationError("count", "given, or weights given, not both",
                                            self.count))
        elif self.count is not None:
            problems += problem(check_int, "count", self.count, at_least=1,
                                at_most=MAX_RECURRING_PERIODS, unit="installments")
        elif len(self.weights) > MAX_RECURRING_PERIODS or any(w <= 0 for w in self.weights):
            problems.append(ValidationError(
                "weights", f"1 to {MAX_RECURRING_PERIODS} positive weights", self.weights))
        if not isinstance(self.terms, PaymentTerms):
            problems.append(ValidationError("terms", "a PaymentTerms", self.terms))
        raise_all(problems)
        n = self.number
        if n > self.amount.minor:
            field = "count" if self.count is not None else "weights"
            raise ValidationError(field, f"at most {self.amount.minor}, so that each installment "
                                  f"is at least one minor unit of {self.amount}", n)
        if any(m.minor == 0 for m in self.amounts()):
            raise ValidationError("weights", f"weights giving each installment at least one "
                                  f"minor unit of {self.amount}", self.weights)
        self.dates()  # the calendar checks the anchor day and the last date

    @property
    def number(self) -> int:
        """How many installments there are."""
        return self.count if self.count is not None else len(self.weights)

    def amounts(self) -> tuple[Money, ...]:
        """The installments' amounts: the fee split by the weights (or evenly), exactly."""
        weights = self.weights or [1] * self.number
        return allocate(self.amount, list(weights))

    def dates(self) -> tuple[date, ...]:
        """The installments' dates: ``start``, then a recurring charge's period starts.

        Raises :class:`~milestonebill.errors.ValidationError` naming ``count`` when the
        installments would not all fall by the end of the calendar (year 9999).
        """
        weekly = self.interval.unit is IntervalUnit.WEEK
        anchor = self.anchor_day if weekly else (self.anchor_day or self.start.day)
        # The periods of this charge start exactly where the installments fall.
        shape = RecurringCharge(self.id, self.name, self.amount, self.interval,
                                start=self.start, anchor_day=anchor, count=self.number,
                                first_period_proration=None if weekly
                                else DayCount.ACTUAL_OVER_PERIOD)
        out = tuple(p.start for p in shape.periods())
        if len(out) < self.number:
            raise ValidationError("count", f"installments that all fall by the end of the "
                                  f"calendar ({len(out)} do)", self.number)
        return out

    def installments(self) -> tuple[Installment, ...]:
        """Every installment with its date, amount and provenance, in order."""
        n = self.number
        share = "equal shares" if self.count is not None else "weights " + ":".join(
            str(w) for w in self.weights)
        return tuple(
            Installment(on, amount, f"{self.name} ({self.id}), installment {k} of {n}: "
                        f"{share} of {self.amount}, {self.interval} from {self.start}; "
                        f"{self.terms}")
            for k, (on, amount) in enumerate(zip(self.dates(), self.amounts(), strict=True), 1))

    def charges(self) -> tuple[Charge, ...]:
        """The installments as dated :class:`Charge` s (kind ``INSTALLMENT``)."""
        return tuple(
            Charge(item_id=self.id, kind=ChargeKind.INSTALLMENT, name=self.name, on=i.on,
                   amount=i.amount, period=None, base_amount=self.amount,
                   due=self.terms.due_date(i.on), provenance=i.provenance)
            for i in self.installments())

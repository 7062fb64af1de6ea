"""Billing schedules: milestones, recurring charges, escalations and dated charges.

A :class:`BillingSchedule` holds the billable items of one engagement and
resolves them into exact, dated :class:`Charge` values with their
provenance (which item, which service period, which escalations, which
proration).

>>> fee = Money("48000.00", "USD")
>>> schedule = BillingSchedule(
...     currency=Currency.of("USD"), fee=fee,
...     milestones=(
...         Milestone(MilestoneId("kickoff"), "Kickoff", percent=Decimal("25"),
...                   trigger=Trigger.ON_SIGNING),
...         Milestone(MilestoneId("design"), "Design", percent=Decimal("75"),
...                   terms=PaymentTerms.net(30)),
...     ),
...     recurring=(
...         RecurringCharge(ItemId("retainer"), "Retainer", Money("2450.00", "USD"),
...                         Interval.MONTHLY, start=date(2025, 1, 31)),
...     ),
... )
>>> for c in schedule.charges_between(date(2025, 1, 1), date(2025, 4, 1),
...                                   signed_on=date(2025, 1, 15),
...                                   completions={MilestoneId("design"): date(2025, 3, 14)}):
...     print(c.on, c.item_id, c.amount, c.due)
2025-01-15 kickoff 12000.00 USD 2025-01-15
2025-01-31 retainer 2450.00 USD 2025-01-31
2025-02-28 retainer 2450.00 USD 2025-02-28
2025-03-14 design 36000.00 USD 2025-04-13
2025-03-31 retainer 2450.00 USD 2025-03-31
"""

from __future__ import annotations

import enum
import heapq
import types
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any, ClassVar, TypeVar

import attrs

from milestonebill._json import decode, encode
from milestonebill._validate import exact_decimal, raise_all
from milestonebill.errors import ValidationError
from milestonebill.ids import ItemId, MilestoneId
from milestonebill.money import Currency, Money, Rounding, allocate, round_ratio
from milestonebill.periods import (
    DayCount,
    Period,
    Proration,
    add_months,
    days_in_month,
    prorate,
)

__all__ = [
    "DUE_ON_RECEIPT",
    "BillingSchedule",
    "Charge",
    "ChargeKind",
    "Escalation",
    "Interval",
    "IntervalUnit",
    "ItemId",
    "Milestone",
    "MilestoneId",
    "PaymentTerms",
    "RecurringCharge",
    "StepRounding",
    "Timing",
    "Trigger",
]

_E = TypeVar("_E", bound=enum.Enum)


def _percent(value: Decimal | int | str | None) -> Decimal | None:
    return None if value is None else exact_decimal(value, "percent")


def _step(value: Decimal | int | str | None) -> Decimal | None:
    return None if value is None else exact_decimal(value, "step")


def _dates(value: Iterable[date]) -> tuple[date, ...]:
    return tuple(value)


def _escalations(value: Iterable[Escalation]) -> tuple[Escalation, ...]:
    return tuple(value)


def _milestones(value: Iterable[Milestone]) -> tuple[Milestone, ...]:
    return tuple(value)


def _recurrings(value: Iterable[RecurringCharge]) -> tuple[RecurringCharge, ...]:
    return tuple(value)


def _is_date(value: object) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


# ---------------------------------------------------------------- terms and triggers


class Trigger(enum.Enum):
    """What makes a milestone billable."""

    ON_SIGNING = "on_signing"
    ON_COMPLETION = "on_completion"
    ON_DATE = "on_date"


@attrs.frozen
class PaymentTerms:
    """When an invoice is due: ``net_days`` after it is issued (0 = due on receipt).

    >>> PaymentTerms.net(30).due_date(date(2025, 1, 31))
    datetime.date(2025, 3, 2)
    >>> DUE_ON_RECEIPT.due_date(date(2025, 1, 31)), str(DUE_ON_RECEIPT), str(PaymentTerms.net(15))
    (datetime.date(2025, 1, 31), 'due on receipt', 'net 15')
    """

    net_days: int = 0

    def __attrs_post_init__(self) -> None:
        if type(self.net_days) is not int or self.net_days < 0:
            raise ValidationError("net_days", "a whole number of days, 0 or more", self.net_days)

    @classmethod
    def net(cls, days: int) -> PaymentTerms:
        """Due ``days`` days after issue."""
        return cls(days)

    def due_date(self, issued: date) -> date:
        """The due date of an invoice issued on ``issued``."""
        return issued + timedelta(days=self.net_days)

    def __str__(self) -> str:
        return "due on receipt" if self.net_days == 0 else f"net {self.net_days}"


#: Payment due the day the invoice is issued.
DUE_ON_RECEIPT = PaymentTerms(0)


# ---------------------------------------------------------------- milestones


@attrs.frozen
class Milestone:
    """A one-off billable event: a fixed amount or a percentage of the fee.

    Exactly one of ``amount`` and ``percent`` is given; ``percent`` is in
    percent (``Decimal("33.33")`` is 33.33 %).  ``due_on`` is required for
    ``Trigger.ON_DATE`` and refused otherwise.

    >>> Milestone(MilestoneId("m1"), "Deposit", amount=Money("100", "USD"), percent=Decimal(10))
    Traceback (most recent call last):
    ...
    milestonebill.errors.ValidationError: 'percent' must be None when amount is given (got Decimal('10'))
    >>> Milestone(MilestoneId("m1"), "Deposit", percent=0.1)
    Traceback (most recent call last):
    ...
    TypeError: 'percent' must be Decimal, int or str, never float (got 0.1)
    """

    id: MilestoneId
    name: str
    amount: Money | None = None
    percent: Decimal | None = attrs.field(default=None, converter=_percent)
    trigger: Trigger = Trigger.ON_COMPLETION
    due_on: date | None = None
    terms: PaymentTerms = DUE_ON_RECEIPT

    def __attrs_post_init__(self) -> None:
        problems: list[ValidationError] = []
        if not isinstance(self.id, str) or not self.id:
            problems.append(ValidationError("id", "a non-empty string", self.id))
        if not isinstance(self.name, str):
            problems.append(ValidationError("name", "a string", self.name))
        if self.amount is None and self.percent is None:
            problems.append(ValidationError("amount", "given, or percent given", None))
        elif self.amount is not None and self.percent is not None:
            problems.append(ValidationError("percent", "None when amount is given", self.percent))
        if self.amount is not None and not isinstance(self.amount, Money):
            problems.append(ValidationError("amount", "a Money", self.amount))
        if self.percent is not None and not 0 < self.percent <= 100:
            problems.append(ValidationError("percent", "more than 0 and at most 100", self.percent))
        if not isinstance(self.trigger, Trigger):
            problems.append(ValidationError("trigger", "a Trigger", self.trigger))
        if self.trigger is Trigger.ON_DATE:
            if not _is_date(self.due_on):
                problems.append(ValidationError("due_on", "a date for trigger ON_DATE", self.due_on))
        elif self.due_on is not None:
            problems.append(
                ValidationError("due_on", f"None for trigger {self.trigger.name}", self.due_on)
            )
        if not isinstance(self.terms, PaymentTerms):
            problems.append(ValidationError("terms", "a PaymentTerms", self.terms))
        raise_all(problems)


# ---------------------------------------------------------------- intervals


class IntervalUnit(enum.Enum):
    """The unit of a recurring interval."""

    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


@attrs.frozen
class Interval:
    """``count`` units between charges: ``Interval.every(2, IntervalUnit.WEEK)``.

    >>> Interval.QUARTERLY, str(Interval.MONTHLY), str(Interval.every(6, IntervalUnit.WEEK))
    (Interval(unit=<IntervalUnit.MONTH: 'month'>, count=3), 'every 1 month', 'every 6 weeks')
    """

    unit: IntervalUnit
    count: int = 1

    WEEKLY: ClassVar[Interval]
    MONTHLY: ClassVar[Interval]
    QUARTERLY: ClassVar[Interval]
    YEARLY: ClassVar[Interval]

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.unit, IntervalUnit):
            raise ValidationError("unit", "an IntervalUnit", self.unit)
        if type(self.count) is not int or self.count < 1:
            raise ValidationError("count", "a whole number of units, 1 or more", self.count)

    @classmethod
    def every(cls, n: int, unit: IntervalUnit) -> Interval:
        """Every ``n`` units."""
        return cls(unit, n)

    @property
    def months(self) -> int | None:
        """Length in months for month and year units; ``None`` for weeks."""
        if self.unit is IntervalUnit.MONTH:
            return self.count
        if self.unit is IntervalUnit.YEAR:
            return 12 * self.count
        return None

    def __str__(self) -> str:
        return f"every {self.count} {self.unit.value}{'s' if self.count != 1 else ''}"


Interval.WEEKLY = Interval(IntervalUnit.WEEK)
Interval.MONTHLY = Interval(IntervalUnit.MONTH)
Interval.QUARTERLY = Interval(IntervalUnit.MONTH, 3)
Interval.YEARLY = Interval(IntervalUnit.YEAR)


class Timing(enum.Enum):
    """Bill a service period at its start (in advance) or at its end (in arrears)."""

    IN_ADVANCE = "in_advance"
    IN_ARREARS = "in_arrears"


# ---------------------------------------------------------------- escalations


@attrs.frozen(kw_only=True)
class Escalation:
    """A price uplift: a percentage or a fixed amount, each anniversary or on dates.

    * ``percent`` (in percent, may be negative but above -100) or ``fixed``
      (a ``Money`` added to the price) -- exactly one.
    * ``dates``: the uplift applies on each of these dates; when empty,
      ``on_anniversary`` must be true and it applies on each anniversary of
      the charge's ``start`` (anchor-based, 29 Feb clamps to 28 Feb).
    * ``compounding``: a percentage of the current (already escalated)
      price; otherwise a percentage of the base amount, so the uplift is
      the same every time.
    * After each application the new price is rounded once with
      ``rounding`` to a multiple of ``step`` currency units (``None`` = the
      minor unit; ``Decimal(5)`` rounds to 5.00) and the next application
      starts from the rounded price.

    Several escalations that fall on the same date all apply, in the order
    they are listed on the charge.

    >>> e = Escalation(percent=Decimal(3), step=Decimal(1), rounding=Rounding.HALF_UP)
    >>> e.apply(Money("2450.00", "USD"), base=Money("2450.00", "USD"))
    Money('2524.00', 'USD')
    >>> e.describe()
    '+3% compounding, rounded half_up to 1'
    """

    percent: Decimal | None = attrs.field(default=None, converter=_percent)
    fixed: Money | None = None
    dates: tuple[date, ...] = attrs.field(default=(), converter=_dates)
    on_anniversary: bool = attrs.field()
    compounding: bool = True
    step: Decimal | None = attrs.field(default=None, converter=_step)
    rounding: Rounding = Rounding.HALF_UP

    @on_anniversary.default
    def _anniversary_when_no_dates(self) -> bool:
        return not self.dates

    def __attrs_post_init__(self) -> None:
        problems: list[ValidationError] = []
        if (self.percent is None) == (self.fixed is None):
            problems.append(ValidationError("percent", "given, or fixed given (exactly one)",
                                            self.percent))
        if self.percent is not None and not self.percent > -100:
            problems.append(ValidationError("percent", "more than -100", self.percent))
        if self.fixed is not None and not isinstance(self.fixed, Money):
            problems.append(ValidationError("fixed", "a Money", self.fixed))
        for i, d in enumerate(self.dates):
            if not _is_date(d):
                problems.append(ValidationError(f"dates[{i}]", "a date", d))
        if all(_is_date(d) for d in self.dates) and list(self.dates) != sorted(set(self.dates)):
            problems.append(ValidationError("dates", "strictly increasing dates", self.dates))
        if type(self.on_anniversary) is not bool:
            problems.append(ValidationError("on_anniversary", "a bool", self.on_anniversary))
        elif self.on_anniversary == bool(self.dates):
            problems.append(ValidationError(
                "on_anniversary", "true without dates, or false with dates", self.on_anniversary
            ))
        if type(self.compounding) is not bool:
            problems.append(ValidationError("compounding", "a bool", self.compounding))
        if self.step is not None and not self.step > 0:
            problems.append(ValidationError("step", "a positive number of currency units",
                                            self.step))
        if not isinstance(self.rounding, Rounding):
            problems.append(ValidationError("rounding", "a Rounding", self.rounding))
        raise_all(problems)

    def step_minor(self, currency: Currency) -> int:
        """The rounding step in minor units of ``currency``."""
        if self.step is None:
            return 1
        f = Fraction(self.step) * 10**currency.exponent
        if f.denominator != 1:
            raise ValidationError(
                "step", f"a whole number of minor units of {currency.code}", self.step
            )
        return int(f)

    def apply(self, price: Money, *, base: Money) -> Money:
        """The price after one application of this escalation, rounded to the step."""
        step = self.step_minor(price.currency)
        if self.percent is not None:
            source = price if self.compounding else base
            exact = price.minor + source.minor * Fraction(self.percent) / 100
        else:
            assert self.fixed is not None
            exact = Fraction(price.minor + self.fixed.with_currency_check(price.currency).minor)
        rounded = round_ratio(exact.numerator, exact.denominator * step, self.rounding) * step
        return Money.from_minor(rounded, price.currency)

    def describe(self) -> str:
        """Short text for provenance."""
        if self.percent is not None:
            sign = "+" if self.percent >= 0 else ""
            what = f"{sign}{self.percent}% {'compounding' if self.compounding else 'of base'}"
        else:
            assert self.fixed is not None
            sign = "+" if self.fixed.minor >= 0 else ""
            what = f"{sign}{self.fixed}"
        step = "minor unit" if self.step is None else str(self.step)
        return f"{what}, rounded {self.rounding.name.lower()} to {step}"


#: The API names the rounding policy of an escalation as well; they are one type.
StepRounding = Escalation


# ---------------------------------------------------------------- recurring charges


class ChargeKind(enum.Enum):
    """Where a charge comes from."""

    MILESTONE = "milestone"
    RECURRING = "recurring"


@attrs.frozen
class _Slot:
    """One service period of a recurring charge before pricing."""

    service: Period
    whole: Period
    basis: DayCount | None


@attrs.frozen
class RecurringCharge:
    """A charge repeated every ``interval`` from ``start``.

    Month and year intervals are anchor-based on ``anchor_day`` (default
    ``start.day``), clamped to the month's end and never accumulated: a
    monthly charge anchored on the 31st bills 31 Jan, 29 Feb 2024, 31 Mar.
    When ``start`` is not on the anchor, the first service period is the
    stub up to the first anchor date, prorated on ``first_period_proration``
    (required in that case).  Weekly charges have no anchor day.

    The series stops after ``count`` service periods (a stub counts as
    one) and no period starts on or after ``end``.  A period that runs past
    ``end`` is billed whole, unless ``final_period_proration`` names a basis:
    then it is cut at ``end`` and prorated.  ``IN_ADVANCE`` bills on the
    period's start, ``IN_ARREARS`` on its end.  The price of a period is the
    escalated price in force on the period's first day; anniversary
    escalations count from ``start``.  Year intervals keep the anchor day in
    the month of the first anchor date (the first anchor day on or after
    ``start``).

    >>> rc = RecurringCharge(ItemId("r"), "Retainer", Money("1000.00", "USD"), Interval.MONTHLY,
    ...                      start=date(2024, 1, 31), count=3)
    >>> [str(p) for p in rc.periods()]
    ['[2024-01-31, 2024-02-29)', '[2024-02-29, 2024-03-31)', '[2024-03-31, 2024-04-30)']
    """

    id: ItemId
    name: str
    amount: Money
    interval: Interval
    start: date
    anchor_day: int | None = None
    end: date | None = None
    count: int | None = None
    timing: Timing = Timing.IN_ADVANCE
    first_period_proration: DayCount | None = None
    escalations: tuple[Escalation, ...] = attrs.field(default=(), converter=_escalations)
    terms: PaymentTerms = DUE_ON_RECEIPT
    final_period_proration: DayCount | None = None
    proration_rounding: Rounding = Rounding.HALF_UP

    def __attrs_post_init__(self) -> None:
        problems = self._problems()
        raise_all(problems)

    def _problems(self) -> list[ValidationError]:
        problems: list[ValidationError] = []
        if not isinstance(self.id, str) or not self.id:
            problems.append(ValidationError("id", "a non-empty string", self.id))
        if not isinstance(self.name, str):
            problems.append(ValidationError("name", "a string", self.name))
        if not isinstance(self.amount, Money):
            problems.append(ValidationError("amount", "a Money", self.amount))
        if not isinstance(self.interval, Interval):
            problems.append(ValidationError("interval", "an Interval", self.interval))
        if not _is_date(self.start):
            problems.append(ValidationError("start", "a date", self.start))
        if self.anchor_day is not None:
            if type(self.anchor_day) is not int or not 1 <= self.anchor_day <= 31:
                problems.append(ValidationError("anchor_day", "a day from 1 to 31",
                                                self.anchor_day))
            elif isinstance(self.interval, Interval) and self.interval.unit is IntervalUnit.WEEK:
                problems.append(ValidationError("anchor_day", "None for a weekly interval",
                                                self.anchor_day))
        if self.end is not None and not (
            _is_date(self.end) and _is_date(self.start) and self.end > self.start
        ):
            problems.append(ValidationError("end", f"a date after start {self.start}", self.end))
        if self.count is not None and (type(self.count) is not int or self.count < 1):
            problems.append(ValidationError("count", "a whole number, 1 or more", self.count))
        if not isinstance(self.timing, Timing):
            problems.append(ValidationError("timing", "a Timing", self.timing))
        for name in ("first_period_proration", "final_period_proration"):
            v = getattr(self, name)
            if v is not None and not isinstance(v, DayCount):
                problems.append(ValidationError(name, "a DayCount or None", v))
        if not isinstance(self.proration_rounding, Rounding):
            problems.append(ValidationError("proration_rounding", "a Rounding",
                                            self.proration_rounding))
        if not isinstance(self.terms, PaymentTerms):
            problems.append(ValidationError("terms", "a PaymentTerms", self.terms))
        if problems:
            return problems
        cur = self.amount.currency
        for i, e in enumerate(self.escalations):
            if not isinstance(e, Escalation):
                problems.append(ValidationError(f"escalations[{i}]", "an Escalation", e))
                continue
            if e.fixed is not None and e.fixed.currency != cur:
                problems.append(ValidationError(f"escalations[{i}].fixed",
                                                f"an amount in {cur.code}", e.fixed))
            try:
                e.step_minor(cur)
            except ValidationError as exc:
                problems.append(ValidationError(f"escalations[{i}].step", exc.expected, e.step))
            if e.dates and e.dates[0] <= self.start:
                problems.append(ValidationError(f"escalations[{i}].dates",
                                                f"dates after start {self.start}", e.dates[0]))
        first = self._first_boundary()
        if first != self.start and self.first_period_proration is None:
            problems.append(ValidationError(
                "first_period_proration",
                f"a DayCount, since start {self.start} is not on anchor day {self.anchor}",
                None,
            ))
        return problems

    @property
    def anchor(self) -> int:
        """The anchor day of month in use (``anchor_day`` or ``start.day``)."""
        return self.start.day if self.anchor_day is None else self.anchor_day

    @property
    def is_finite(self) -> bool:
        """True when ``end`` or ``count`` bounds the series."""
        return self.end is not None or self.count is not None

    def _first_boundary(self) -> date:
        months = self.interval.months
        if months is None:
            return self.start
        day = self.anchor
        here = self.start.replace(day=min(day, days_in_month(self.start.year, self.start.month)))
        if here >= self.start:
            return here
        return add_months(self.start.replace(day=1), 1, day=day)

    def _boundary(self, first: date, k: int) -> date:
        months = self.interval.months
        if months is None:
            return first + timedelta(weeks=k * self.interval.count)
        return add_months(first, k * months, day=self.anchor)

    def _slots(self) -> Iterator[_Slot]:
        first = self._first_boundary()
        emitted = 0
        if first != self.start:
            assert self.first_period_proration is not None
            months = self.interval.months
            assert months is not None
            whole = Period(add_months(first, -months, day=self.anchor), first)
            stub = Period(self.start, first)
            emitted += 1
            yield from self._limit(stub, whole, self.first_period_proration)
            if self.count == emitted or (self.end is not None and first >= self.end):
                return
        k = 0
        while self.count is None or emitted < self.count:
            try:
                a, b = self._boundary(first, k), self._boundary(first, k + 1)
            except (ValidationError, OverflowError):
                return  # the calendar ends in year 9999
            if self.end is not None and a >= self.end:
                return
            yield from self._limit(Period(a, b), Period(a, b), None)
            emitted += 1
            k += 1

    def _limit(self, service: Period, whole: Period, basis: DayCount | None) -> Iterator[_Slot]:
        if self.end is not None and service.end > self.end and self.final_period_proration:
            yield _Slot(Period(service.start, self.end), whole, self.final_period_proration)
        else:
            yield _Slot(service, whole, basis)

    def periods(self) -> Iterator[Period]:
        """The service periods, in order (infinite without ``end`` or ``count``)."""
        for slot in self._slots():
            yield slot.service

    def _events(self) -> Iterator[tuple[date, int, Escalation]]:
        def one(i: int, e: Escalation) -> Iterator[tuple[date, int, Escalation]]:
            if e.dates:
                for d in e.dates:
                    yield d, i, e
            else:
                years = 1
                while True:
                    try:
                        d = add_months(self.start, 12 * years)
                    except ValidationError:
                        return
                    yield d, i, e
                    years += 1

        return heapq.merge(*(one(i, e) for i, e in enumerate(self.escalations)),
                           key=lambda t: (t[0], t[1]))

    def escalation_history(self, d: date) -> tuple[Money, tuple[str, ...]]:
        """The price in force on ``d`` and the escalations applied to reach it, in order.

        >>> rc = RecurringCharge(ItemId("r"), "Retainer", Money("100.00", "USD"),
        ...     Interval.MONTHLY, start=date(2024, 1, 1), escalations=(
        ...         Escalation(percent=Decimal(10), dates=(date(2024, 6, 1),)),
        ...         Escalation(fixed=Money("5.00", "USD"), dates=(date(2024, 6, 1),))))
        >>> price, applied = rc.escalation_history(date(2024, 6, 1))
        >>> price
        Money('115.00', 'USD')
        >>> for line in applied: print(line)
        2024-06-01 +10% compounding, rounded half_up to minor unit: 100.00 -> 110.00 USD
        2024-06-01 +5.00 USD, rounded half_up to minor unit: 110.00 -> 115.00 USD
        """
        price = self.amount
        applied: list[str] = []
        for when, _, e in self._events():
            if when > d:
                break
            new = e.apply(price, base=self.amount)
            applied.append(f"{when.isoformat()} {e.describe()}: {price.amount} -> {new}")
            price = new
        return price, tuple(applied)

    def price_on(self, d: date) -> Money:
        """The escalated price in force on ``d`` (escalations apply from their date on).

        >>> rc = RecurringCharge(ItemId("r"), "Retainer", Money("2450.00", "USD"),
        ...     Interval.MONTHLY, start=date(2025, 1, 31),
        ...     escalations=(Escalation(percent=Decimal(3), step=Decimal(1)),))
        >>> rc.price_on(date(2026, 1, 30)), rc.price_on(date(2026, 1, 31)), rc.price_on(date(2027, 1, 31))
        (Money('2450.00', 'USD'), Money('2524.00', 'USD'), Money('2600.00', 'USD'))
        """
        return self.escalation_history(d)[0]

    def _charge(self, slot: _Slot, price: Money, applied: tuple[str, ...]) -> Charge:
        proration: Proration | None = None
        amount = price
        if slot.basis is not None:
            proration = prorate(price, slot.service, slot.whole, basis=slot.basis,
                                rounding=self.proration_rounding)
            amount = proration.amount
        on = slot.service.start if self.timing is Timing.IN_ADVANCE else slot.service.end
        text = f"{self.name} ({self.id}), {self.interval} {self.timing.value}, period {slot.service}"
        if applied:
            text += "; escalations: " + "; ".join(applied)
        if proration is not None:
            text += "; " + proration.describe()
        text += f"; {self.terms}"
        return Charge(
            item_id=self.id, kind=ChargeKind.RECURRING, name=self.name, on=on, amount=amount,
            period=slot.service, base_amount=self.amount, escalations=applied,
            proration=proration, price=price, due=self.terms.due_date(on), provenance=text,
        )

    def charges(self) -> Iterator[Charge]:
        """All charges in billing-date order (infinite without ``end`` or ``count``)."""
        # Periods start in order, so the escalated price is carried forward:
        # each escalation event is applied once, exactly as
        # ``escalation_history(slot.service.start)`` would replay it.
        base = self.amount
        price = base
        applied: list[str] = []
        snapshot: tuple[str, ...] = ()
        events = iter(self._events())
        pending = next(events, None)
        for slot in self._slots():
            d = slot.service.start
            while pending is not None and pending[0] <= d:
                when, _, e = pending
                new = e.apply(price, base=base)
                applied.append(f"{when.isoformat()} {e.describe()}: {price.amount} -> {new}")
                price = new
                snapshot = tuple(applied)
                pending = next(events, None)
            yield self._charge(slot, price, snapshot)


# ---------------------------------------------------------------- charges


@attrs.frozen
class Charge:
    """One resolved, dated amount with its provenance.

    ``on`` is the billing date and ``due`` the payment due date.
    ``base_amount`` is the item's amount before escalation and proration,
    ``price`` (recurring only) the escalated price in force for the
    period, ``escalations`` the escalations applied to reach it, in order,
    and ``proration`` how a partial period was prorated.
    """

    item_id: str
    kind: ChargeKind
    name: str
    on: date
    amount: Money
    period: Period | None
    base_amount: Money
    escalations: tuple[str, ...] = ()
    proration: Proration | None = None
    price: Money | None = None
    due: date | None = None
    provenance: str = ""

    def to_json(self) -> dict[str, Any]:
        """The JSON form (money as objects, fractions as ``"n/d"``, periods as
        ``{"start", "end"}``), in the library's one JSON convention."""
        return encode(self)  # type: ignore[no-any-return]


# ---------------------------------------------------------------- the schedule

_NO_COMPLETIONS: Mapping[MilestoneId, date] = types.MappingProxyType({})


def _currency(value: object) -> Currency:
    if isinstance(value, Currency):
        return value
    if isinstance(value, str):
        return Currency.of(value)
    raise ValidationError("currency", "a Currency or ISO 4217 code", value)


@attrs.frozen
class BillingSchedule:
    """The billable items of one engagement, all in one currency.

    When ``fee`` is given the milestones must add up to it exactly;
    percentage milestones are shares of the fee, resolved together by
    largest remainder (:func:`milestonebill.money.allocate`), so 3 x 33.33 %
    plus 0.01 % of 100.00 is 33.33 + 33.33 + 33.33 + 0.01 and nothing is lost.
    """

    currency: Currency = attrs.field(converter=_currency)
    fee: Money | None = None
    milestones: tuple[Milestone, ...] = attrs.field(default=(), converter=_milestones)
    recurring: tuple[RecurringCharge, ...] = attrs.field(default=(), converter=_recurrings)

    def __attrs_post_init__(self) -> None:
        problems: list[ValidationError] = []
        cur = self.currency
        if self.fee is not None and not (isinstance(self.fee, Money) and self.fee.currency == cur):
            problems.append(ValidationError("fee", f"a Money in {cur.code}", self.fee))
        seen: set[str] = set()
        for i, m in enumerate(self.milestones):
            if not isinstance(m, Milestone):
                problems.append(ValidationError(f"milestones[{i}]", "a Milestone", m))
                continue
            if m.id in seen:
                problems.append(ValidationError(f"milestones[{i}].id", "a unique id", m.id))
            seen.add(m.id)
            if m.amount is not None and m.amount.currency != cur:
                problems.append(ValidationError(f"milestones[{i}].amount",
                                                f"an amount in {cur.code}", m.amount))
            if m.percent is not None and self.fee is None:
                problems.append(ValidationError(f"milestones[{i}].percent",
                                                "None unless the schedule has a fee", m.percent))
        for i, r in enumerate(self.recurring):
            if not isinstance(r, RecurringCharge):
                problems.append(ValidationError(f"recurring[{i}]", "a RecurringCharge", r))
                continue
            if r.id in seen:
                problems.append(ValidationError(f"recurring[{i}].id", "a unique id", r.id))
            seen.add(r.id)
            if r.amount.currency != cur:
                problems.append(ValidationError(f"recurring[{i}].amount",
                                                f"an amount in {cur.code}", r.amount))
        if not problems and self.fee is not None:
            pct = sum((m.percent for m in self.milestones if m.percent is not None), Decimal(0))
            if pct > 100:
                problems.append(ValidationError("milestones", "percentages totalling at most 100",
                                                f"{pct}%"))
            else:
                total = Money.total(self._resolve().values(), currency=cur)
                if total != self.fee:
                    problems.append(ValidationError(
                        "milestones", f"amounts adding up to the fee {self.fee}", str(total)
                    ))
        raise_all(problems)

    def _resolve(self) -> dict[MilestoneId, Money]:
        pcts = [m for m in self.milestones if m.percent is not None]
        shares: dict[MilestoneId, Money] = {}
        if pcts:
            assert self.fee is not None
            weights = [m.percent for m in pcts if m.percent is not None]
            rest = Decimal(100) - sum(weights, Decimal(0))
            parts = allocate(self.fee, [*weights, rest] if rest else weights)
            shares = {m.id: part for m, part in zip(pcts, parts, strict=False)}
        return {m.id: m.amount if m.amount is not None else shares[m.id] for m in self.milestones}

    def milestone_amounts(self) -> dict[MilestoneId, Money]:
        """Each milestone's amount, percentages resolved so the total is exactly the fee.

        >>> s = BillingSchedule(currency="USD", fee=Money("100.00", "USD"), milestones=[
        ...     Milestone(MilestoneId(f"m{i}"), f"Phase {i}", percent=Decimal("33.33"))
        ...     for i in range(3)] + [Milestone(MilestoneId("m3"), "Rest", percent=Decimal("0.01"))])
        >>> [str(a.amount) for a in s.milestone_amounts().values()]
        ['33.33', '33.33', '33.33', '0.01']
        """
        return self._resolve()

    def _milestone_charges(
        self, signed_on: date | None, completions: Mapping[MilestoneId, date]
    ) -> list[tuple[date, int, Charge]]:
        known = {m.id for m in self.milestones}
        for k, v in completions.items():
            if k not in known:
                raise ValidationError("completions", "ids of this schedule's milestones", k)
            if not _is_date(v):
                raise ValidationError(f"completions[{k!r}]", "a date", v)
        if signed_on is not None and not _is_date(signed_on):
            raise ValidationError("signed_on", "a date", signed_on)
        amounts = self._resolve()
        out: list[tuple[date, int, Charge]] = []
        for order, m in enumerate(self.milestones):
            if m.trigger is Trigger.ON_SIGNING:
                on = signed_on
            elif m.trigger is Trigger.ON_DATE:
                on = m.due_on
            else:
                on = completions.get(m.id)
            if on is None:
                continue
            amount = amounts[m.id]
            share = (f"{m.percent}% of fee {self.fee}" if m.percent is not None
                     else f"fixed {amount}")
            text = (f"{m.name} ({m.id}), milestone {m.trigger.value} {on.isoformat()}: "
                    f"{share}; {m.terms}")
            charge = Charge(
                item_id=m.id, kind=ChargeKind.MILESTONE, name=m.name, on=on, amount=amount,
                period=None, base_amount=amount, due=m.terms.due_date(on), provenance=text,
            )
            out.append((on, order, charge))
        return out

    def charges_between(
        self,
        start: date,
        end: date,
        *,
        signed_on: date | None = None,
        completions: Mapping[MilestoneId, date] = _NO_COMPLETIONS,
    ) -> tuple[Charge, ...]:
        """Charges billed on dates in ``[start, end)``, by (date, schedule order).

        Schedule order is the milestones as listed, then the recurring items
        as listed.  Milestones on signing need ``signed_on``; milestones on
        completion appear once their id is in ``completions`` (an id not in
        the schedule is refused; completion dates of milestones with another
        trigger are ignored, since their own trigger dates them).
        """
        if not (_is_date(start) and _is_date(end)) or end < start:
            raise ValidationError("end", f"a date on or after start {start}", end)
        found = [t for t in self._milestone_charges(signed_on, completions) if start <= t[0] < end]
        base = len(self.milestones)
        for i, r in enumerate(self.recurring):
            for c in r.charges():
                if c.on >= end:
                    break
                if c.on >= start:
                    found.append((c.on, base + i, c))
        found.sort(key=lambda t: (t[0], t[1]))
        return tuple(c for _, _, c in found)

    def next_charge_after(
        self,
        d: date,
        *,
        signed_on: date | None = None,
        completions: Mapping[MilestoneId, date] = _NO_COMPLETIONS,
    ) -> Charge | None:
        """The first charge billed strictly after ``d``, or ``None`` if there is none.

        >>> s = BillingSchedule(currency="USD", recurring=[RecurringCharge(ItemId("r"), "Support",
        ...     Money("500.00", "USD"), Interval.QUARTERLY, start=date(2024, 11, 30))])
        >>> s.next_charge_after(date(2024, 11, 30)).on
        datetime.date(2025, 2, 28)
        """
        if not _is_date(d):
            raise ValidationError("d", "a date", d)
        best: tuple[date, int, Charge] | None = None
        for t in self._milestone_charges(signed_on, completions):
            if t[0] > d and (best is None or (t[0], t[1]) < (best[0], best[1])):
                best = t
        base = len(self.milestones)
        for i, r in enumerate(self.recurring):
            for c in r.charges():
                if best is not None and c.on > best[0]:
                    break
                if c.on > d:
                    if best is None or (c.on, base + i) < (best[0], best[1]):
                        best = (c.on, base + i, c)
                    break
        return None if best is None else best[2]

    # ------------------------------------------------------------ JSON

    def to_json(self) -> dict[str, Any]:
        """The JSON form (the library's one JSON convention: every field present,
        money as ``{"amount": "12.30", "currency": "USD"}``, decimals as strings,
        enums by lower-case name).

        >>> s = BillingSchedule(currency="JPY", fee=Money(300000, "JPY"), milestones=[
        ...     Milestone(MilestoneId("a"), "All", percent=Decimal(100))])
        >>> s.to_json()["milestones"][0]["percent"], s.to_json()["fee"]
        ('100', {'amount': '300000', 'currency': 'JPY'})
        >>> BillingSchedule.from_json(s.to_json()) == s
        True
        """
        return encode(self)  # type: ignore[no-any-return]

    @classmethod
    def from_json(cls, data: object) -> BillingSchedule:
        """Parse the form made by :meth:`to_json`; fields with defaults may be left out.

        Amounts and decimals must be strings; a JSON number there (a float
        after ``json.loads``) is refused with the field named, as is a key
        the schedule does not know.

        >>> BillingSchedule.from_json({"currency": "USD", "fee": {"amount": 48000.0,
        ...                                                      "currency": "USD"}})
        Traceback (most recent call last):
        ...
        milestonebill.errors.ValidationError: 'fee.amount' must be a decimal string such as '12.30' (got 48000.0)
        """
        return decode(data, cls)  # type: ignore[no-any-return]

"""Charges repeated on a calendar: :class:`RecurringCharge`, its :class:`Interval`
and its :class:`Timing`.

A recurring charge bills an amount every week, month, quarter, year or N of
them from its start.  Month and year intervals keep to an anchor day of the
month; a start off the anchor gives a prorated first stub, and an ``end``
can cut the last period.  Each period is billed at its start or its end
(:class:`Timing`) at the price in force that day, after its
:class:`~milestonebill.schedule.escalations.Escalation` s.

>>> support = RecurringCharge(ItemId("support"), "Support", Money("500.00", "USD"),
...                           Interval.QUARTERLY, start=date(2024, 11, 30), count=2,
...                           timing=Timing.IN_ARREARS, terms=PaymentTerms.net(15))
>>> for c in support.charges():
...     print(c.period, c.on, c.amount, c.due)
[2024-11-30, 2025-02-28) 2025-02-28 500.00 USD 2025-03-15
[2025-02-28, 2025-05-30) 2025-05-30 500.00 USD 2025-06-14
"""

from __future__ import annotations

import bisect
import enum
import functools
import heapq
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from itertools import islice, repeat
from typing import ClassVar

import attrs

from milestonebill._trusted import constructor
from milestonebill._validate import check_id, check_int, check_text, problem, raise_all
from milestonebill.errors import ValidationError
from milestonebill.ids import ItemId
from milestonebill.limits import (
    LATEST_DATE,
    MAX_INTERVAL_MONTHS,
    MAX_INTERVAL_WEEKS,
    MAX_RECURRING_PERIODS,
)
from milestonebill.money import Money, Rounding
from milestonebill.periods import DayCount, Period, Proration, add_months, days_in_month, prorate
from milestonebill.schedule._common import date_problems, is_date
from milestonebill.schedule.charges import Charge, ChargeKind
from milestonebill.schedule.escalations import Escalation
from milestonebill.schedule.terms import DUE_ON_RECEIPT, PaymentTerms

__all__ = ["Interval", "IntervalUnit", "RecurringCharge", "Timing"]


def _escalations(value: Iterable[Escalation]) -> tuple[Escalation, ...]:
    return tuple(value)


# ---------------------------------------------------------------- intervals


class IntervalUnit(enum.Enum):
    """The unit of a recurring interval."""

    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


@attrs.frozen
class Interval:
    """``count`` units between charges: ``Interval.every(2, IntervalUnit.WEEK)``.

    At most ten years: :data:`~milestonebill.limits.MAX_INTERVAL_WEEKS` weeks,
    :data:`~milestonebill.limits.MAX_INTERVAL_MONTHS` months or a tenth of that in years;
    :class:`~milestonebill.errors.ValidationError` names ``unit`` or ``count`` otherwise.

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
        most = {IntervalUnit.WEEK: MAX_INTERVAL_WEEKS, IntervalUnit.MONTH: MAX_INTERVAL_MONTHS,
                IntervalUnit.YEAR: MAX_INTERVAL_MONTHS // 12}[self.unit]
        check_int("count", self.count, at_least=1, at_most=most, unit=f"{self.unit.value}s")

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


# ---------------------------------------------------------------- service periods


@attrs.frozen
class _Slot:
    """One service period of a recurring charge before pricing."""

    service: Period
    whole: Period
    basis: DayCount | None


_make_period = constructor(Period)
_AFTER_LATEST = LATEST_DATE + timedelta(days=1)
#: The month index (``year * 12 + month - 1``) of January of the year after 9999.
_END_INDEX = 10_000 * 12


@functools.lru_cache(maxsize=8192)
def _anchored(index: int, anchor: int) -> date:
    """Day ``anchor`` (clamped to the month's end) of month ``index``; schedules share the
    date objects, as they share the months they bill in."""
    year, month0 = divmod(index, 12)
    return date(year, month0 + 1, min(anchor, days_in_month(year, month0 + 1)))


def _weekly(first: date, step: timedelta) -> Iterator[date]:
    b = first
    while True:
        try:
            b += step
        except OverflowError:
            return
        yield b

_make_charge = constructor(Charge)


# ---------------------------------------------------------------- recurring charges


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
    one) and no period starts on or after ``end``; together they allow at
    most :data:`~milestonebill.limits.MAX_RECURRING_PERIODS` periods.  A
    series with neither runs until :data:`~milestonebill.limits.LATEST_DATE`.  A period that runs past
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
        problems = problem(check_id, "id", self.id) + problem(check_text, "name", self.name)
        if not isinstance(self.amount, Money):
            problems.append(ValidationError("amount", "a Money", self.amount))
        if not isinstance(self.interval, Interval):
            problems.append(ValidationError("interval", "an Interval", self.interval))
        problems += date_problems("start", self.start)
        if self.anchor_day is not None:
            if type(self.anchor_day) is not int or not 1 <= self.anchor_day <= 31:
                problems.append(ValidationError("anchor_day", "a day from 1 to 31",
                                                self.anchor_day))
            elif isinstance(self.interval, Interval) and self.interval.unit is IntervalUnit.WEEK:
                problems.append(ValidationError("anchor_day", "None for a weekly interval",
                                                self.anchor_day))
        if self.end is not None and not (
            is_date(self.end) and is_date(self.start) and self.end > self.start
        ):
            problems.append(ValidationError("end", f"a date after start {self.start}", self.end))
        elif self.end is not None:
            problems += date_problems("end", self.end)
        if self.count is not None:
            problems += problem(check_int, "count", self.count, at_least=1,
                                at_most=MAX_RECURRING_PERIODS, unit="service periods")
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
        problems += self._length_problems()
        if problems:
            return problems
        first = self._first_boundary()
        if first != self.start and self.first_period_proration is None:
            problems.append(ValidationError(
                "first_period_proration",
                f"a DayCount, since start {self.start} is not on anchor day {self.anchor}",
                None,
            ))
        return problems

    def _length_problems(self) -> list[ValidationError]:
        """An ``end`` without a ``count`` may not make more periods than the bound."""
        if self.end is None or self.count is not None:
            return []
        months = self.interval.months
        if months is None:
            n = (self.end - self.start).days // (7 * self.interval.count)
        else:
            n = ((self.end.year - self.start.year) * 12 + self.end.month - self.start.month) \
                // months
        if n < MAX_RECURRING_PERIODS:
            return []
        return [ValidationError(
            "end", f"a date at most {MAX_RECURRING_PERIODS} service periods after start "
            f"{self.start} (or a count)", self.end)]

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
        a = first
        boundaries = self._boundaries(first)
        count, end = self.count, self.end
        while count is None or emitted < count:
            b = next(boundaries, None)  # the end of one period starts the next
            if b is None:
                return  # the calendar ends in year 9999
            if (end is not None and a >= end) or a > LATEST_DATE:
                return
            service = Period(a, b)
            if end is not None and b > end and self.final_period_proration:
                yield _Slot(Period(a, end), service, self.final_period_proration)
            else:
                yield _Slot(service, service, None)
            emitted += 1
            a = b

    def _boundaries(self, first: date) -> Iterator[date]:
        """``_boundary(first, k)`` for k = 1, 2, ... while the calendar lasts, each from
        the anchor (never from the previous one), in integer month arithmetic."""
        months = self.interval.months
        if months is None:
            return _weekly(first, timedelta(weeks=self.interval.count))
        index = first.year * 12 + first.month - 1
        return map(_anchored, range(index + months, _END_INDEX, months), repeat(self.anchor))

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

        if len(self.escalations) == 1:  # one stream, in order already: nothing to merge
            return one(0, self.escalations[0])
        return heapq.merge(*(one(i, e) for i, e in enumerate(self.escalations)),
                           key=lambda t: (t[0], t[1]))

    def escalation_history(self, d: date) -> tuple[Money, tuple[str, ...]]:
        """The price in force on ``d`` and the escalations applied to reach it, in order.

        >>> from decimal import Decimal
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

    def price_changes(self) -> Iterator[tuple[date, Money]]:
        """The price from ``start``, then each escalated price from the day it applies.

        The price in force on a date is the last one listed on or before it
        (:meth:`price_on`), so a calendar of prices needs one pass, not a
        replay per date.  Infinite for anniversary escalations.

        >>> from decimal import Decimal
        >>> rc = RecurringCharge(ItemId("r"), "Retainer", Money("2450.00", "USD"),
        ...     Interval.MONTHLY, start=date(2025, 1, 31),
        ...     escalations=(Escalation(percent=Decimal(3), step=Decimal(1)),))
        >>> import itertools
        >>> [(d.isoformat(), str(m.amount)) for d, m in itertools.islice(rc.price_changes(), 3)]
        [('2025-01-31', '2450.00'), ('2026-01-31', '2524.00'), ('2027-01-31', '2600.00')]
        """
        price = self.amount
        yield self.start, price
        for when, _, e in self._events():
            price = e.apply(price, base=self.amount)
            yield when, price

    def price_on(self, d: date) -> Money:
        """The escalated price in force on ``d`` (escalations apply from their date on).

        >>> from decimal import Decimal
        >>> rc = RecurringCharge(ItemId("r"), "Retainer", Money("2450.00", "USD"),
        ...     Interval.MONTHLY, start=date(2025, 1, 31),
        ...     escalations=(Escalation(percent=Decimal(3), step=Decimal(1)),))
        >>> rc.price_on(date(2026, 1, 30)), rc.price_on(date(2026, 1, 31)), rc.price_on(date(2027, 1, 31))
        (Money('2450.00', 'USD'), Money('2524.00', 'USD'), Money('2600.00', 'USD'))
        """
        return self.escalation_history(d)[0]

    def _priced(self) -> Iterator[tuple[_Slot, Money, tuple[str, ...], Proration | None, str]]:
        """Each slot with its price, the escalations applied, its proration and provenance."""
        # Periods start in order, so the escalated price is carried forward:
        # each escalation event is applied once, exactly as
        # ``escalation_history(slot.service.start)`` would replay it.
        base = self.amount
        price = base
        applied: list[str] = []
        snapshot: tuple[str, ...] = ()
        events = iter(self._events())
        pending = next(events, None)
        # The provenance text around each period is the same for every charge.
        head = f"{self.name} ({self.id}), {self.interval} {self.timing.value}, period "
        tail = f"; {self.terms}"
        for slot in self._slots():
            d = slot.service.start
            while pending is not None and pending[0] <= d:
                when, _, e = pending
                new = e.apply(price, base=base)
                applied.append(f"{when.isoformat()} {e.describe()}: {price.amount} -> {new}")
                price = new
                snapshot = tuple(applied)
                pending = next(events, None)
            proration: Proration | None = None
            if slot.basis is not None:
                proration = prorate(price, slot.service, slot.whole, basis=slot.basis,
                                    rounding=self.proration_rounding)
            text = f"{head}{slot.service}"
            if snapshot:
                text += "; escalations: " + "; ".join(snapshot)
            if proration is not None:
                text += "; " + proration.describe()
            yield slot, price, snapshot, proration, text + tail

    def charges(self) -> Iterator[Charge]:
        """All charges in billing-date order (infinite without ``end`` or ``count``)."""
        if self._first_boundary() == self.start and not (
            self.end is not None and self.final_period_proration
        ):
            return self._whole_charges()  # no stub and no cut: every period is whole
        return self._prorated_charges()

    def _whole_charges(self) -> Iterator[Charge]:
        """:meth:`charges` of a series whose periods are all whole, in one pass.

        What ``_slots`` and ``_priced`` give without a proration, built in one
        loop: each boundary date is computed once (it ends one period and
        starts the next, and so does its text), the escalation text is joined
        once per price change, and the ``Period`` and ``Charge`` of each
        period -- valid by construction -- skip re-validation.
        """
        advance = self.timing is Timing.IN_ADVANCE
        base = price = self.amount
        applied: list[str] = []
        snapshot: tuple[str, ...] = ()
        escalated = ""
        events = iter(self._events())
        pending = next(events, None)
        head = f"{self.name} ({self.id}), {self.interval} {self.timing.value}, period ["
        tail = f"; {self.terms}"
        delay = timedelta(days=self.terms.net_days)
        item, name, kind = self.id, self.name, ChargeKind.RECURRING
        # No period starts on or after ``end``, nor after the latest billing date.
        stop = _AFTER_LATEST if self.end is None else min(self.end, _AFTER_LATEST)
        a = self.start
        a_text = a.isoformat()
        for b in islice(self._boundaries(a), self.count):
            if a >= stop:
                return
            if pending is not None and pending[0] <= a:
                while pending is not None and pending[0] <= a:
                    when, _, e = pending
                    new = e.apply(price, base=base)
                    applied.append(f"{when.isoformat()} {e.describe()}: {price.amount} -> {new}")
                    price = new
                    pending = next(events, None)
                snapshot = tuple(applied)
                escalated = "; escalations: " + "; ".join(snapshot)
            b_text = b.isoformat()
            on = a if advance else b
            yield _make_charge(item, kind, name, on, price, _make_period(a, b), base, snapshot,
                               None, price, on + delay,
                               f"{head}{a_text}, {b_text}){escalated}{tail}")
            a, a_text = b, b_text

    def _prorated_charges(self) -> Iterator[Charge]:
        """:meth:`charges` of a series with a prorated first or last period."""
        advance = self.timing is Timing.IN_ADVANCE
        for slot, price, applied, proration, text in self._priced():
            on = slot.service.start if advance else slot.service.end
            yield Charge(
                item_id=self.id, kind=ChargeKind.RECURRING, name=self.name, on=on,
                amount=price if proration is None else proration.amount, period=slot.service,
                base_amount=self.amount, escalations=applied, proration=proration, price=price,
                due=self.terms.due_date(on), provenance=text,
            )

    def priced_periods(self) -> Iterator[tuple[Period, Money, str]]:
        """Each service period with its amount and provenance: what :meth:`charges` gives,
        without building the :class:`Charge` (billing plans need only these)."""
        if self._first_boundary() == self.start and not (
            self.end is not None and self.final_period_proration
        ):  # every period whole: the one-pass charges, read back
            for c in self._whole_charges():
                assert c.period is not None  # a recurring charge always has its period
                yield c.period, c.amount, c.provenance
            return
        for slot, price, _applied, proration, text in self._priced():
            yield slot.service, price if proration is None else proration.amount, text

    def minor_periods(self, before: date) -> Iterator[tuple[date, date, int]]:
        """Each service period that starts before ``before`` as ``(start, end, amount in
        minor units)``: :meth:`priced_periods` without the provenance text or the
        :class:`Period` and :class:`Money` of each (bulk billing plans need only these).

        >>> rc = RecurringCharge(ItemId("r"), "Retainer", Money("1000.00", "USD"),
        ...                      Interval.MONTHLY, start=date(2024, 1, 31))
        >>> [(s.isoformat(), m) for s, _e, m in rc.minor_periods(date(2024, 3, 1))]
        [('2024-01-31', 100000), ('2024-02-29', 100000)]
        """
        bounds, minors = self.minor_calendar(before)
        return zip(bounds[:-1], bounds[1:], minors, strict=True)

    def minor_calendar(self, before: date) -> tuple[list[date], list[int]]:
        """:meth:`minor_periods` as two lists: the ``n + 1`` boundaries of the ``n``
        service periods that start before ``before`` (period ``k`` is
        ``[bounds[k], bounds[k + 1])``; they follow each other) and their ``n``
        amounts in minor units -- made in bulk, for the bulk billing plan.

        >>> rc = RecurringCharge(ItemId("r"), "Retainer", Money("1000.00", "USD"),
        ...                      Interval.MONTHLY, start=date(2024, 1, 31))
        >>> bounds, minors = rc.minor_calendar(date(2024, 3, 1))
        >>> [b.isoformat() for b in bounds], minors
        (['2024-01-31', '2024-02-29', '2024-03-31'], [100000, 100000])
        """
        first = self._first_boundary()
        if first != self.start or (self.end is not None and self.final_period_proration):
            # A prorated stub or a cut last period: priced the long way.
            bounds: list[date] = []
            minors: list[int] = []
            for period, amount, _text in self.priced_periods():
                if period.start >= before:
                    break
                bounds.append(period.start)
                minors.append(amount.minor)
                end = period.end
            if minors:
                bounds.append(end)
            return bounds, minors
        bounds = self._whole_bounds(first, before)
        return bounds, self._whole_minors(bounds)

    def _whole_bounds(self, first: date, before: date) -> list[date]:
        """The boundaries of the whole service periods from ``first`` that start before
        ``before``, ``end`` and the latest date, at most ``count`` of them: one more
        boundary than periods (none when there is no period)."""
        stop = min(before, _AFTER_LATEST if self.end is None else min(self.end, _AFTER_LATEST))
        count = MAX_RECURRING_PERIODS * 10 if self.count is None else self.count
        months = self.interval.months
        if months is None:  # weekly: every step from the first day
            days = 7 * self.interval.count
            n = min(count, max(0, -(-(stop.toordinal() - first.toordinal()) // days)))
            return [first + timedelta(days=k * days) for k in range(n + 1)] if n else []
        index = first.year * 12 + first.month - 1
        # Every anchor day up to one interval past the month of ``stop``, at most
        # ``count`` intervals from ``first``, while the calendar lasts.
        hi = min(stop.year * 12 + stop.month - 1 + months, index + count * months)
        bounds = [first, *map(_anchored, range(index + months, min(hi + 1, _END_INDEX), months),
                              repeat(self.anchor))]
        n = min(bisect.bisect_left(bounds, stop), len(bounds) - 1, count)
        return bounds[:n + 1] if n else []

    def _whole_minors(self, bounds: list[date]) -> list[int]:
        """The escalated price in minor units of each period that starts on ``bounds[k]``
        (all but the last boundary), with each escalation from its date on."""
        n = len(bounds) - 1
        if n <= 0:
            return []
        base = price = self.amount
        if not self.escalations:
            return [price.minor] * n
        minors: list[int] = []
        last = bounds[n - 1]
        for when, _, e in self._events():
            if when > last:
                break
            at = bisect.bisect_left(bounds, when, 0, n)  # the periods from ``when`` on
            minors += [price.minor] * (at - len(minors))
            price = e.apply(price, base=base)
        minors += [price.minor] * (n - len(minors))
        return minors

    def rate_periods(self, before: date) -> Iterator[tuple[date, date, int]]:
        """Each service period that starts before ``before`` as ``(start, end, the price
        in force on its start in minor units)``: a prorated first or last period with
        the full price of a period, as a rate (MRR) reads it, where
        :meth:`minor_periods` gives what that period bills.

        >>> rc = RecurringCharge(ItemId("r"), "Retainer", Money("3000.00", "USD"),
        ...                      Interval.QUARTERLY, start=date(2024, 2, 15), anchor_day=1,
        ...                      first_period_proration=DayCount.ACTUAL_OVER_PERIOD)
        >>> [(s.isoformat(), e.isoformat(), m) for s, e, m in rc.rate_periods(date(2024, 6, 1))]
        [('2024-02-15', '2024-03-01', 300000), ('2024-03-01', '2024-06-01', 300000)]
        """
        first = self._first_boundary()
        if first == self.start and not (self.end is not None and self.final_period_proration):
            yield from self.minor_periods(before)  # every period whole: what it bills
            return
        changes = self.price_changes()
        price, upcoming = next(changes)[1], next(changes, None)
        for period in self.periods():
            if period.start >= before:
                return
            while upcoming is not None and upcoming[0] <= period.start:
                price, upcoming = upcoming[1], next(changes, None)
            yield period.start, period.end, price.minor

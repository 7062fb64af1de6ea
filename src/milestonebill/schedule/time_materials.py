"""Time and materials: a term that bills hours worked at a rate card, up to a cap.

A :class:`TimeAndMaterials` term on a proposal says how the work the firm
records (time and expense entries, see
:mod:`milestonebill.agreement.time_entries`) is billed:

* ``rates`` -- the rate card: an hourly :class:`Rate` per role, each from
  its ``effective_from`` day; an entry is priced at the rate in force on
  the day it was worked, so a rate change in the middle of a billing
  period prices each entry on its own side of the change;
* ``cadence`` -- :class:`TimeCadence`: weekly (each Monday, for the work
  before it), monthly (on the 1st, for the month before) or on demand;
* ``cap`` -- the not-to-exceed amount of the whole agreement, and
  ``phase_caps`` one per phase; work past a cap is held for approval;
* ``rounding`` and ``rounding_scope`` -- :class:`RoundingScope`: each entry
  rounded to the minor unit on its own (``PER_LINE``), or each invoice's
  total rounded once (``PER_INVOICE``);
* ``terms`` -- when a time invoice is due.

>>> from datetime import date
>>> card = (Rate("senior", Money("150.00", "USD"), date(2026, 1, 1)),
...         Rate("senior", Money("165.00", "USD"), date(2026, 3, 16)))
>>> tm = TimeAndMaterials(rates=card, cap=Money("10000.00", "USD"))
>>> str(tm.rate_for("senior", date(2026, 3, 15)).amount), str(tm.rate_for("senior", date(2026, 3, 16)).amount)
('150.00 USD', '165.00 USD')
>>> tm.value_of_hours(Decimal("1.5"), tm.rate_for("senior", date(2026, 3, 16)))
Fraction(24750, 1)
>>> tm.next_billing_day(date(2026, 3, 18)), TimeCadence.WEEKLY.next_day(date(2026, 3, 18))
(datetime.date(2026, 4, 1), datetime.date(2026, 3, 23))
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

import attrs

from milestonebill._validate import check_id, problem, raise_all
from milestonebill.errors import NotFoundError, ValidationError
from milestonebill.money import Money, Rounding, round_ratio
from milestonebill.schedule.terms import DUE_ON_RECEIPT, PaymentTerms

__all__ = [
    "PhaseCap",
    "Rate",
    "RoundingScope",
    "TimeAndMaterials",
    "TimeCadence",
    "hours_in_minutes",
]


class TimeCadence(enum.Enum):
    """When time and expenses are billed.

    ``WEEKLY`` -- each Monday, for the work dated before it; ``MONTHLY`` -- on
    the 1st of each month, for the work dated before it; ``ON_DEMAND`` -- only
    when the host asks (``Biller.bill_time``).
    """

    WEEKLY = "weekly"
    MONTHLY = "monthly"
    ON_DEMAND = "on_demand"

    def next_day(self, worked_on: date) -> date | None:
        """The billing day of work done on ``worked_on`` (``None`` on demand)."""
        if self is TimeCadence.WEEKLY:
            return worked_on + timedelta(days=7 - worked_on.weekday())
        if self is TimeCadence.MONTHLY:
            return date(worked_on.year + worked_on.month // 12, worked_on.month % 12 + 1, 1)
        return None


class RoundingScope(enum.Enum):
    """Where an amount of time is rounded to the minor unit.

    ``PER_LINE`` -- each entry's hours x rate, on its own (the invoice is the
    sum of rounded lines); ``PER_INVOICE`` -- entries stay exact and each
    invoice's total is rounded once (lines are the total allocated by their
    exact values, so they add up to it).
    """

    PER_LINE = "per_line"
    PER_INVOICE = "per_invoice"


_SIX_PLACES = Decimal("0.000001")


def hours_in_minutes(hours: object, field: str = "hours") -> int:
    """``hours`` (a ``Decimal``, more than 0, at most 24) as whole minutes.

    A whole number of minutes written exactly (``1.25`` is 75 minutes), or --
    as time tools export minutes that are no exact decimal of an hour -- to
    six decimal places, half even (``0.416667`` is 25 minutes).  Anything
    finer than a minute is refused.

    >>> hours_in_minutes(Decimal("1.25")), hours_in_minutes(Decimal("0.05"))
    (75, 3)
    >>> hours_in_minutes(Decimal("0.416667"))
    25
    >>> hours_in_minutes(Decimal("0.01"))
    Traceback (most recent call last):
    ...
    milestonebill.errors.ValidationError: 'hours' must be a Decimal number of hours to the minute, more than 0 and at most 24 (got Decimal('0.01'))
    """
    expected = "a Decimal number of hours to the minute, more than 0 and at most 24"
    if not isinstance(hours, Decimal) or not hours.is_finite() or not 0 < hours <= 24:
        raise ValidationError(field, expected, hours)
    minutes = hours * 60
    whole = minutes.to_integral_value(rounding=ROUND_HALF_EVEN)
    if minutes != whole and (hours.as_tuple().exponent != -6 or hours != (
            whole / 60).quantize(_SIX_PLACES, rounding=ROUND_HALF_EVEN)):
        raise ValidationError(field, expected, hours)
    return int(whole)


def _role(_inst: object, attr: attrs.Attribute[str], value: str) -> None:
    check_id(attr.name, value)


@attrs.frozen
class Rate:
    """The hourly rate of ``role`` from ``effective_from`` (until the next one).

    ``amount`` is :class:`~milestonebill.money.Money` per hour;
    ``effective_from`` is the first day the rate applies (included).  Raises
    :class:`~milestonebill.errors.ValidationError` naming ``rate.amount`` for anything but a
    positive Money, ``rate.effective_from`` for a non-date, or ``role``.
    """

    role: str = attrs.field(validator=_role)
    amount: Money
    effective_from: date

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.amount, Money) or self.amount.minor <= 0:
            raise ValidationError("rate.amount", "a positive Money per hour", self.amount)
        if not isinstance(self.effective_from, date):
            raise ValidationError("rate.effective_from", "a date", self.effective_from)


@attrs.frozen
class PhaseCap:
    """The not-to-exceed amount of the work recorded against one ``phase``."""

    phase: str = attrs.field(validator=_role)
    cap: Money


def _problems(tm: TimeAndMaterials) -> list[ValidationError]:
    problems: list[ValidationError] = []
    if not tm.rates:
        problems.append(ValidationError("rates", "at least one Rate", tm.rates))
    currencies = {r.amount.currency for r in tm.rates}
    caps = [c for c in (tm.cap, *(p.cap for p in tm.phase_caps)) if c is not None]
    for c in caps:
        if not isinstance(c, Money) or c.minor <= 0:
            problems.append(ValidationError("cap", "a positive Money", c))
        else:
            currencies.add(c.currency)
    if len(currencies) > 1:
        problems.append(ValidationError("rates", "amounts in one currency",
                                        sorted(c.code for c in currencies)))
    seen = [(r.role, r.effective_from) for r in tm.rates]
    if len(set(seen)) != len(seen):
        problems.append(ValidationError("rates", "one rate per role and effective day", seen))
    phases = [p.phase for p in tm.phase_caps]
    if len(set(phases)) != len(phases):
        problems.append(ValidationError("phase_caps", "one cap per phase", phases))
    for name, value, kind in (("cadence", tm.cadence, TimeCadence),
                              ("rounding", tm.rounding, Rounding),
                              ("rounding_scope", tm.rounding_scope, RoundingScope),
                              ("terms", tm.terms, PaymentTerms)):
        problems += problem(_instance, name, value, kind)
    return problems


def _rates(value: Iterable[Rate]) -> tuple[Rate, ...]:
    return tuple(value)


def _phase_caps(value: Iterable[PhaseCap]) -> tuple[PhaseCap, ...]:
    return tuple(value)


def _instance(field: str, value: object, kind: type) -> None:
    if not isinstance(value, kind):
        raise ValidationError(field, f"a {kind.__name__}", value)


@attrs.frozen(kw_only=True)
class TimeAndMaterials:
    """The time-and-materials term of an agreement (see the module docstring).

    Every amount is in one currency, the proposal's.  ``cap`` is ``None`` for
    no cap on the agreement; ``phase_caps`` cap the work recorded against a
    phase (an entry with no phase counts only against ``cap``).
    """

    rates: tuple[Rate, ...] = attrs.field(converter=_rates)
    cadence: TimeCadence = TimeCadence.MONTHLY
    cap: Money | None = None
    phase_caps: tuple[PhaseCap, ...] = attrs.field(default=(), converter=_phase_caps)
    rounding: Rounding = Rounding.HALF_UP
    rounding_scope: RoundingScope = RoundingScope.PER_LINE
    terms: PaymentTerms = DUE_ON_RECEIPT

    def __attrs_post_init__(self) -> None:
        raise_all(_problems(self))

    @property
    def currency_code(self) -> str:
        """The currency of the rate card."""
        return self.rates[0].amount.currency.code

    def rate_for(self, role: str, on: date) -> Rate:
        """The rate of ``role`` in force on ``on``; :class:`~milestonebill.errors.NotFoundError`
        when none is."""
        in_force = [r for r in self.rates if r.role == role and r.effective_from <= on]
        if not in_force:
            raise NotFoundError("rate", f"{role} on {on.isoformat()}")
        return max(in_force, key=lambda r: r.effective_from)

    def phase_cap(self, phase: str) -> Money | None:
        """The cap of ``phase`` (``None``: the phase has none)."""
        return next((p.cap for p in self.phase_caps if p.phase == phase), None)

    def value_of_hours(self, hours: Decimal, rate: Rate) -> Fraction:
        """``hours x rate`` in minor units: exact, or rounded when per line."""
        exact = Fraction(hours_in_minutes(hours) * rate.amount.minor, 60)
        return self.rounded(exact)

    def rounded(self, exact: Fraction) -> Fraction:
        """``exact`` as a line amount: rounded per line, or left exact per invoice."""
        if self.rounding_scope is RoundingScope.PER_LINE:
            return Fraction(round_ratio(exact.numerator, exact.denominator, self.rounding))
        return exact

    def round_total(self, exact: Fraction) -> int:
        """``exact`` minor units rounded once with the term's rounding."""
        return round_ratio(exact.numerator, exact.denominator, self.rounding)

    def next_billing_day(self, worked_on: date) -> date | None:
        """The cadence's billing day of work done on ``worked_on``."""
        return self.cadence.next_day(worked_on)

"""Price uplifts of recurring charges: :class:`Escalation` (also named ``StepRounding``).

An escalation raises (or lowers) a price by a percentage or by a fixed
amount, on each anniversary of the charge's start or on listed dates, and
rounds the new price once, to a step.  This module says what one
application does; :class:`~milestonebill.schedule.recurring.RecurringCharge`
says when each one applies.

>>> fee = Escalation(fixed=Money("50.00", "USD"), dates=(date(2026, 1, 1),))
>>> fee.on_anniversary, fee.apply(Money("1000.00", "USD"), base=Money("1000.00", "USD"))
(False, Money('1050.00', 'USD'))
>>> Escalation(percent=Decimal(3), fixed=Money("50.00", "USD"))
Traceback (most recent call last):
...
milestonebill.errors.ValidationError: 'percent' must be given, or fixed given (exactly one) (got Decimal('3'))
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from fractions import Fraction

import attrs

from milestonebill._validate import exact_decimal, raise_all
from milestonebill.errors import ValidationError
from milestonebill.money import Currency, Money, Rounding, round_ratio
from milestonebill.schedule._common import date_problems, is_date, optional_percent

__all__ = ["Escalation", "StepRounding"]


def _step(value: Decimal | int | str | None) -> Decimal | None:
    return None if value is None else exact_decimal(value, "step")


def _dates(value: Iterable[date]) -> tuple[date, ...]:
    return tuple(value)


@functools.lru_cache(maxsize=1024)
def _ratio(percent: Decimal) -> tuple[int, int]:
    """``percent`` as ``(numerator, denominator)``; a charge applies the same one each year."""
    return percent.as_integer_ratio()


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

    percent: Decimal | None = attrs.field(default=None, converter=optional_percent)
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
            problems += date_problems(f"dates[{i}]", d)
        if all(is_date(d) for d in self.dates) and list(self.dates) != sorted(set(self.dates)):
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
        """The rounding step in integer minor units of ``currency`` (1 without a step).

        Raises :class:`~milestonebill.errors.ValidationError` naming ``step`` when it is not a
        whole number of ``currency``'s minor units.
        """
        if self.step is None:
            return 1
        return _step_minor(self.step, currency)

    def apply(self, price: Money, *, base: Money) -> Money:
        """The price after one application of this escalation, rounded to the step."""
        step = self.step_minor(price.currency)
        if self.percent is not None:
            source = price if self.compounding else base
            # price + source x percent / 100 as one integer ratio: rounding depends only
            # on the rational's value, so it need not be reduced.
            num, den = _ratio(self.percent)
            exact, over = price.minor * 100 * den + source.minor * num, 100 * den
        else:
            assert self.fixed is not None
            exact = price.minor + self.fixed.with_currency_check(price.currency).minor
            over = 1
        rounded = round_ratio(exact, over * step, self.rounding) * step
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


@functools.lru_cache(maxsize=256)
def _step_minor(step: Decimal, currency: Currency) -> int:
    """:meth:`Escalation.step_minor`, worked out once per step and currency (a charge's
    calendar applies its escalation every year, and a firm's charges share their steps)."""
    f = Fraction(step) * 10**currency.exponent
    if f.denominator != 1:
        raise ValidationError("step", f"a whole number of minor units of {currency.code}", step)
    return int(f)


#: The API names the rounding policy of an escalation as well; they are one type.
StepRounding = Escalation

"""Discounts on billable items: :class:`Discount` and its :class:`DiscountScope`.

A discount is a percentage or a fixed amount off the items in its scope --
named items (milestones, recurring charges, installment plans), every item
of the package or add-on whose schedule carries it, or every item of the
agreement -- for the items dated in a window (``starts_on`` to ``ends_on``,
either open) or forever.  It is applied by the agreement's billing plan
(:func:`~milestonebill.agreement.billing_plan`), which gives each
discounted item a negative plan item of its own, shown as its own invoice
line:

* a **percentage** is taken off each item in scope, rounded on its own with
  the named ``rounding`` (half up by default);
* a **fixed amount** is a total, taken from the items in scope in billing
  order (by date, then plan order; items not dated yet come last), each at
  most what is left of it, until the amount is used up.

Several discounts on one item apply in the order they are listed (the
package's, the add-ons', then amendments'), each at most what the earlier
ones left, so no item is ever discounted below zero.  A recurring item is
dated by its service period's first day, every other item by its billing date.

In the books a discount lowers the transaction price.  ``relates_to`` with
``evidence`` states that the observable-evidence conditions of ASC
606-10-32-37 hold for the obligations named, so the discount is allocated to
them only; otherwise it is shared by relative stand-alone selling price
(32-36).  See ``docs/terms.md``.

>>> early = Discount(ItemId("early"), "Early signing", percent=Decimal(10), scope=DiscountScope.PACKAGE)
>>> early.percent_of(Money("333.35", "USD")), early.covers(date(2025, 1, 1))
(Money('33.34', 'USD'), True)
>>> Discount(ItemId("x"), "X", percent=Decimal(10))
Traceback (most recent call last):
...
milestonebill.errors.ValidationError: 'items' must be the ids of the items discounted, for scope ITEMS (got ())
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from fractions import Fraction

import attrs

from milestonebill._validate import check_id, check_text, problem, raise_all
from milestonebill.errors import ValidationError
from milestonebill.ids import ItemId, ObligationId
from milestonebill.money import Money, Rounding, round_ratio
from milestonebill.schedule._common import date_problems, optional_percent

__all__ = ["Discount", "DiscountScope"]


class DiscountScope(enum.Enum):
    """What a discount applies to.

    ``ITEMS``: the items named in ``items``; ``PACKAGE``: every item of the
    package (or add-on) whose schedule carries the discount, items an
    amendment added to the package included; ``AGREEMENT``: every item of the
    agreement, add-ons included.
    """

    ITEMS = "items"
    PACKAGE = "package"
    AGREEMENT = "agreement"


def _ids(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise ValidationError("items", "a list of ids, not one string", value)
    return tuple(value)


@attrs.frozen
class Discount:
    """A percentage (``percent``) or fixed (``amount``) discount; exactly one is given.

    ``percent`` is in percent (``Decimal("12.5")`` is 12.5 %), more than 0 and
    at most 100.  ``amount`` is positive, a total for the whole scope.  The
    id holds no ``:`` (it is part of plan keys, ``d:<id>:<item key>``).
    ``relates_to`` names the obligations the discount belongs to entirely,
    and needs ``evidence``: the statement that the conditions of ASC
    606-10-32-37 are met (each obligation is regularly sold on its own and
    the bundle regularly at this discount).

    The window is half-open: an item dated on ``starts_on`` is discounted,
    one dated on ``ends_on`` is not.  Bad fields raise
    :class:`~milestonebill.errors.ValidationError` naming each one (all of
    them at once).
    """

    id: ItemId
    name: str
    percent: Decimal | None = attrs.field(default=None, converter=optional_percent)
    amount: Money | None = None
    scope: DiscountScope = DiscountScope.ITEMS
    items: tuple[str, ...] = attrs.field(default=(), converter=_ids)
    starts_on: date | None = None
    ends_on: date | None = None
    rounding: Rounding = Rounding.HALF_UP
    relates_to: tuple[ObligationId, ...] = attrs.field(default=(), converter=_ids)
    evidence: str = ""

    def __attrs_post_init__(self) -> None:
        raise_all(self._problems())

    def _problems(self) -> list[ValidationError]:
        out = problem(check_id, "id", self.id) + problem(check_text, "name", self.name)
        if isinstance(self.id, str) and ":" in self.id:
            out.append(ValidationError("id", "an id without ':'", self.id))
        if (self.percent is None) == (self.amount is None):
            out.append(ValidationError("percent", "given, or amount given, not both",
                                       self.percent))
        if self.percent is not None and not 0 < self.percent <= 100:
            out.append(ValidationError("percent", "more than 0 and at most 100", self.percent))
        if self.amount is not None and not (isinstance(self.amount, Money)
                                            and self.amount.minor > 0):
            out.append(ValidationError("amount", "a positive Money", self.amount))
        if not isinstance(self.scope, DiscountScope):
            out.append(ValidationError("scope", "a DiscountScope", self.scope))
        elif (self.scope is DiscountScope.ITEMS) != bool(self.items):
            out.append(ValidationError(
                "items", "the ids of the items discounted, for scope ITEMS"
                if self.scope is DiscountScope.ITEMS else
                f"empty for scope {self.scope.name}", self.items))
        for i, item in enumerate(self.items):
            out += problem(check_id, f"items[{i}]", item)
        for name in ("starts_on", "ends_on"):
            if getattr(self, name) is not None:
                out += date_problems(name, getattr(self, name))
        if (not out and self.starts_on is not None and self.ends_on is not None
                and self.ends_on <= self.starts_on):
            out.append(ValidationError("ends_on", f"a date after starts_on {self.starts_on}",
                                       self.ends_on))
        if not isinstance(self.rounding, Rounding):
            out.append(ValidationError("rounding", "a Rounding", self.rounding))
        for i, o in enumerate(self.relates_to):
            out += problem(check_id, f"relates_to[{i}]", o)
        out += problem(check_text, "evidence", self.evidence)
        if bool(self.relates_to) != bool(isinstance(self.evidence, str) and self.evidence.strip()):
            out.append(ValidationError(
                "evidence", "the observable evidence of ASC 606-10-32-37, given exactly when "
                "relates_to names obligations", self.evidence))
        return out

    def covers(self, on: date | None) -> bool:
        """True when an item dated ``on`` falls in the discount's window.

        An item not dated yet falls in it only when the window is open on
        both sides (a discount for ever).
        """
        if on is None:
            return self.starts_on is None and self.ends_on is None
        return ((self.starts_on is None or self.starts_on <= on)
                and (self.ends_on is None or on < self.ends_on))

    def percent_of(self, amount: Money) -> Money:
        """The percentage of ``amount``, rounded once with :attr:`rounding`."""
        assert self.percent is not None
        f = Fraction(self.percent) / 100
        return Money.from_minor(round_ratio(amount.minor * f.numerator, f.denominator,
                                            self.rounding), amount.currency)

    def describe(self) -> str:
        """One line: what is taken off and from what."""
        what = f"{self.percent}% rounded {self.rounding.name.lower()}" \
            if self.percent is not None else f"{self.amount} in all, in billing order"
        scope = ("items " + ", ".join(self.items) if self.scope is DiscountScope.ITEMS
                 else f"the {self.scope.value}")
        window = "" if self.starts_on is None and self.ends_on is None else \
            f", dated from {self.starts_on or 'the start'} to {self.ends_on or 'the end'}"
        return f"{self.name} ({self.id}): {what} off {scope}{window}"

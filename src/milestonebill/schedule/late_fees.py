"""Late fees: an optional term of an agreement whose invoices the client pays itself.

A :class:`LateFee` says what an invoice still unpaid ``after_days`` days past
its due date costs extra: a percentage of the balance still owed, or a fixed
amount.  It is charged once per invoice, or -- with ``every_days`` -- again
every that many days while the invoice stays unpaid (at most ``max_fees``
times).  A later fee is a percentage of the invoice's own balance, never of
earlier fees, unless ``compound`` says so.  The Biller issues each fee as an
invoice of its own (see :func:`milestonebill.reminders.late_fees_due` and
``docs/terms.md``); this module only says what one fee is and when it falls.

>>> from datetime import date
>>> fee = LateFee(after_days=30, percent=Decimal("1.5"), every_days=30, max_fees=3)
>>> fee.fee_on(Money("1000.00", "USD")), fee.assessment_day(date(2026, 4, 1), 1)
(Money('15.00', 'USD'), datetime.date(2026, 5, 31))
>>> LateFee(after_days=15, fixed=Money("40.00", "USD")).describe()
'40.00 USD once, 15 days after the due date'
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import attrs

from milestonebill._validate import check_int, raise_all
from milestonebill.errors import ValidationError
from milestonebill.limits import MAX_DAYS
from milestonebill.money import Money, Rounding
from milestonebill.schedule._common import optional_percent

__all__ = ["LateFee"]


@attrs.frozen(kw_only=True)
class LateFee:
    """What an invoice unpaid past its due date costs extra, and when.

    * ``after_days`` -- the first fee falls this many days after the due
      date (1 to :data:`~milestonebill.limits.MAX_DAYS`);
    * ``percent`` (of the invoice's balance still owed, e.g.
      ``Decimal("1.5")``, more than 0 and at most 100) or ``fixed`` (a
      positive ``Money`` in the agreement's currency) -- exactly one;
    * ``every_days`` -- ``None``: at most one fee per invoice; a number of
      days: another fee each time that many more days pass unpaid;
    * ``max_fees`` -- with ``every_days``, at most this many fees per
      invoice (``None``: no limit);
    * ``compound`` -- with ``every_days`` and ``percent``, a later fee is a
      percentage of the invoice's balance *plus* what its earlier fees still
      owe; without it (the default) fees never compound;
    * ``rounding`` -- how a percentage is rounded, once, to the minor unit.
    """

    after_days: int
    percent: Decimal | None = attrs.field(default=None, converter=optional_percent)
    fixed: Money | None = None
    every_days: int | None = None
    max_fees: int | None = None
    compound: bool = False
    rounding: Rounding = Rounding.HALF_UP

    def __attrs_post_init__(self) -> None:
        problems: list[ValidationError] = []
        for name, value, least in (("after_days", self.after_days, 1),
                                   ("every_days", self.every_days, 1),
                                   ("max_fees", self.max_fees, 1)):
            if value is not None or name == "after_days":
                try:
                    check_int(name, value, at_least=least, at_most=MAX_DAYS,
                              unit="fees" if name == "max_fees" else "days")
                except ValidationError as exc:
                    problems.append(exc)
        if (self.percent is None) == (self.fixed is None):
            problems.append(ValidationError("percent", "given, or fixed given (exactly one)",
                                            self.percent))
        if self.percent is not None and not 0 < self.percent <= 100:
            problems.append(ValidationError("percent", "more than 0 and at most 100",
                                            self.percent))
        if self.fixed is not None and (not isinstance(self.fixed, Money)
                                       or self.fixed.minor <= 0):
            problems.append(ValidationError("fixed", "a positive Money", self.fixed))
        if self.max_fees is not None and self.every_days is None:
            problems.append(ValidationError("max_fees", "given only with every_days",
                                            self.max_fees))
        if type(self.compound) is not bool or (self.compound and (
                self.every_days is None or self.percent is None)):
            problems.append(ValidationError("compound", "false, or true with every_days and "
                                            "percent", self.compound))
        if not isinstance(self.rounding, Rounding):
            problems.append(ValidationError("rounding", "a Rounding", self.rounding))
        raise_all(problems)

    @property
    def limit(self) -> int | None:
        """How many fees one invoice can bear (``None``: no limit)."""
        return 1 if self.every_days is None else self.max_fees

    def assessment_day(self, due_on: date, n: int) -> date:
        """The day the ``n``-th fee (0, 1, ...) of an invoice due on ``due_on`` falls."""
        return due_on + timedelta(days=self.after_days + n * (self.every_days or 0))

    def fees_by(self, due_on: date, as_of: date) -> int:
        """How many fees have fallen by ``as_of`` on an invoice due on ``due_on``."""
        first = due_on + timedelta(days=self.after_days)
        if as_of < first:
            return 0
        n = 1 if self.every_days is None else (as_of - first).days // self.every_days + 1
        return n if self.limit is None else min(n, self.limit)

    def fee_on(self, base: Money) -> Money:
        """One fee on ``base`` (the balance it is charged on); zero when nothing is owed."""
        if base.minor <= 0:
            return Money.zero(base.currency)
        if self.fixed is not None:
            return self.fixed.with_currency_check(base.currency)
        assert self.percent is not None
        return base.scale(self.percent / 100, rounding=self.rounding)

    def describe(self) -> str:
        """The term in words, for provenance and documents."""
        what = f"{self.percent}% of the balance" if self.percent is not None else str(self.fixed)
        when = "once" if self.every_days is None else f"every {self.every_days} days" + (
            "" if self.max_fees is None else f" (at most {self.max_fees})")
        how = ", compounding" if self.compound else ""
        return f"{what} {when}, {self.after_days} days after the due date{how}"

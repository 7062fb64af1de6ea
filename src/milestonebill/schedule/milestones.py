"""One-off billable events: :class:`Milestone`.

A milestone bills a fixed amount, or a percentage of the schedule's fee,
once its :class:`~milestonebill.schedule.terms.Trigger` fires: on signing,
on completion, or on its own ``due_on`` date.  Each milestone checks itself;
the fee, the currency and the resolution of percentages into exact amounts
belong to :class:`~milestonebill.schedule.billing.BillingSchedule`.

>>> build = Milestone(MilestoneId("build"), "Build", amount=Money("12000.00", "USD"),
...                   trigger=Trigger.ON_DATE, due_on=date(2025, 6, 30),
...                   terms=PaymentTerms.net(30))
>>> build.terms.due_date(date(2025, 6, 30))
datetime.date(2025, 7, 30)
>>> Milestone(MilestoneId("build"), "Build", percent=Decimal(40), trigger=Trigger.ON_DATE)
Traceback (most recent call last):
...
milestonebill.errors.ValidationError: 'due_on' must be a date for trigger ON_DATE (got None)
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import attrs

from milestonebill._validate import check_id, check_text, problem, raise_all
from milestonebill.errors import ValidationError
from milestonebill.ids import MilestoneId
from milestonebill.money import Money
from milestonebill.schedule._common import date_problems, optional_percent
from milestonebill.schedule.terms import DUE_ON_RECEIPT, PaymentTerms, Trigger

__all__ = ["Milestone"]


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
    percent: Decimal | None = attrs.field(default=None, converter=optional_percent)
    trigger: Trigger = Trigger.ON_COMPLETION
    due_on: date | None = None
    terms: PaymentTerms = DUE_ON_RECEIPT

    def __attrs_post_init__(self) -> None:
        problems = problem(check_id, "id", self.id) + problem(check_text, "name", self.name)
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
            problems += date_problems("due_on", self.due_on, "a date for trigger ON_DATE")
        elif self.due_on is not None:
            problems.append(
                ValidationError("due_on", f"None for trigger {self.trigger.name}", self.due_on)
            )
        if not isinstance(self.terms, PaymentTerms):
            problems.append(ValidationError("terms", "a PaymentTerms", self.terms))
        raise_all(problems)

"""Billing schedules: milestones, recurring charges, escalations and dated charges.

A :class:`BillingSchedule` holds the billable items of one engagement and
resolves them into exact, dated :class:`Charge` values with their
provenance (which item, which service period, which escalations, which
proration).  Every public name is importable from here; the submodules
hold one concept each:

* :mod:`~milestonebill.schedule.terms`: ``Trigger``, ``PaymentTerms``, ``DUE_ON_RECEIPT``;
* :mod:`~milestonebill.schedule.late_fees`: ``LateFee``;
* :mod:`~milestonebill.schedule.time_materials`: ``TimeAndMaterials``, ``Rate``,
  ``PhaseCap``, ``TimeCadence``, ``RoundingScope``;
* :mod:`~milestonebill.schedule.milestones`: ``Milestone``;
* :mod:`~milestonebill.schedule.escalations`: ``Escalation`` (alias ``StepRounding``);
* :mod:`~milestonebill.schedule.recurring`: ``IntervalUnit``, ``Interval``, ``Timing``,
  ``RecurringCharge``;
* :mod:`~milestonebill.schedule.installments`: ``InstallmentPlan``, ``Installment``;
* :mod:`~milestonebill.schedule.discounts`: ``Discount``, ``DiscountScope``;
* :mod:`~milestonebill.schedule.charges`: ``ChargeKind``, ``Charge``;
* :mod:`~milestonebill.schedule.billing`: ``BillingSchedule``.

``MilestoneId`` and ``ItemId`` come from :mod:`milestonebill.ids`.

>>> from datetime import date
>>> from decimal import Decimal
>>> from milestonebill.money import Currency, Money
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

from milestonebill.ids import ItemId, MilestoneId
from milestonebill.schedule.billing import BillingSchedule
from milestonebill.schedule.charges import Charge, ChargeKind
from milestonebill.schedule.discounts import Discount, DiscountScope
from milestonebill.schedule.escalations import Escalation, StepRounding
from milestonebill.schedule.installments import Installment, InstallmentPlan
from milestonebill.schedule.late_fees import LateFee
from milestonebill.schedule.milestones import Milestone
from milestonebill.schedule.recurring import Interval, IntervalUnit, RecurringCharge, Timing
from milestonebill.schedule.terms import DUE_ON_RECEIPT, PaymentTerms, Trigger
from milestonebill.schedule.time_materials import (
    PhaseCap,
    Rate,
    RoundingScope,
    TimeAndMaterials,
    TimeCadence,
)

__all__ = [
    "DUE_ON_RECEIPT",
    "BillingSchedule",
    "Charge",
    "ChargeKind",
    "Discount",
    "DiscountScope",
    "Escalation",
    "Installment",
    "InstallmentPlan",
    "Interval",
    "IntervalUnit",
    "ItemId",
    "LateFee",
    "Milestone",
    "MilestoneId",
    "PaymentTerms",
    "PhaseCap",
    "Rate",
    "RecurringCharge",
    "RoundingScope",
    "StepRounding",
    "TimeAndMaterials",
    "TimeCadence",
    "Timing",
    "Trigger",
]

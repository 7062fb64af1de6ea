"""When a milestone becomes billable and when an invoice is due.

A :class:`Trigger` says what makes a milestone billable (signing, completion
or a date); :class:`PaymentTerms` turns an invoice's issue date into its due
date, with :data:`DUE_ON_RECEIPT` for payment on the day of issue.

>>> [t.value for t in Trigger]
['on_signing', 'on_completion', 'on_date']
>>> PaymentTerms.net(30).due_date(date(2025, 6, 30)), DUE_ON_RECEIPT.net_days
(datetime.date(2025, 7, 30), 0)
"""

from __future__ import annotations

import enum
from datetime import date, timedelta

import attrs

from milestonebill._validate import check_int
from milestonebill.limits import MAX_DAYS

__all__ = ["DUE_ON_RECEIPT", "PaymentTerms", "Trigger"]


class Trigger(enum.Enum):
    """What makes a milestone billable."""

    ON_SIGNING = "on_signing"
    ON_COMPLETION = "on_completion"
    ON_DATE = "on_date"


@attrs.frozen
class PaymentTerms:
    """When an invoice is due: ``net_days`` after it is issued (0 = due on receipt).

    ``net_days`` is at most :data:`~milestonebill.limits.MAX_DAYS` (ten years).

    >>> PaymentTerms.net(30).due_date(date(2025, 1, 31))
    datetime.date(2025, 3, 2)
    >>> DUE_ON_RECEIPT.due_date(date(2025, 1, 31)), str(DUE_ON_RECEIPT), str(PaymentTerms.net(15))
    (datetime.date(2025, 1, 31), 'due on receipt', 'net 15')
    """

    net_days: int = 0

    def __attrs_post_init__(self) -> None:
        check_int("net_days", self.net_days, at_least=0, at_most=MAX_DAYS, unit="days")

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

"""Checks the schedule modules share.

Private to :mod:`milestonebill.schedule`: a date that is not a datetime, the
check of every date a schedule names (within the calendar's bounds), and
the converter of every ``percent`` field (an exact decimal, never a float).

>>> is_date(date(2025, 1, 31)), is_date(datetime(2025, 1, 31, 9, 0))
(True, False)
>>> optional_percent("12.5"), optional_percent(None)
(Decimal('12.5'), None)
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from milestonebill._validate import check_billing_date, exact_decimal
from milestonebill.errors import ValidationError

__all__ = ["date_problems", "is_date", "optional_percent"]


def is_date(value: object) -> bool:
    """True for a calendar ``date``; a ``datetime`` (which is also a date) is not one."""
    return isinstance(value, date) and not isinstance(value, datetime)


def date_problems(field: str, value: object, expected: str = "a date") -> list[ValidationError]:
    """``[]`` for a date within :data:`~milestonebill.limits.EARLIEST_DATE` ..
    :data:`~milestonebill.limits.LATEST_DATE`, else the one problem.

    >>> [str(p) for p in date_problems("due_on", date(9999, 12, 31))]
    ["'due_on' must be a date from 1900-01-01 to 9899-12-31 (got datetime.date(9999, 12, 31))"]
    """
    if not is_date(value):
        return [ValidationError(field, expected, value)]
    try:
        check_billing_date(field, value)
    except ValidationError as exc:
        return [exc]
    return []


def optional_percent(value: Decimal | int | str | None) -> Decimal | None:
    """The converter of ``percent`` fields: ``None`` stays, the rest is an exact decimal."""
    return None if value is None else exact_decimal(value, "percent")

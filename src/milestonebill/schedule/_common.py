"""Checks the schedule modules share.

Private to :mod:`milestonebill.schedule`: a date that is not a datetime, and
the converter of every ``percent`` field (an exact decimal, never a float).

>>> is_date(date(2025, 1, 31)), is_date(datetime(2025, 1, 31, 9, 0))
(True, False)
>>> optional_percent("12.5"), optional_percent(None)
(Decimal('12.5'), None)
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from milestonebill._validate import exact_decimal

__all__ = ["is_date", "optional_percent"]


def is_date(value: object) -> bool:
    """True for a calendar ``date``; a ``datetime`` (which is also a date) is not one."""
    return isinstance(value, date) and not isinstance(value, datetime)


def optional_percent(value: Decimal | int | str | None) -> Decimal | None:
    """The converter of ``percent`` fields: ``None`` stays, the rest is an exact decimal."""
    return None if value is None else exact_decimal(value, "percent")

"""The field rules of the agreement's events, shared by the modules that define them.

Every field that holds outside input is checked as it enters, so an event
that exists can be stored by every store and read back: ids by the id rule,
free text by the text rule (which refuses card numbers), times within the
calendar's bounds.  :mod:`~milestonebill.agreement.events` and
:mod:`~milestonebill.agreement.time_entries` both use these (the second is
imported by the first, so neither can hold them for the other).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from milestonebill._validate import check_billing_date, check_id, check_text, utc_datetime
from milestonebill.errors import ValidationError
from milestonebill.limits import EARLIEST_DATE, LATEST_DATE, MAX_KEY_LENGTH

__all__ = ["checked_id", "day", "effective_at", "event_id", "reason", "text"]


def effective_at(value: object) -> datetime:
    """An event's time: aware, in UTC, on a day from ``EARLIEST_DATE`` to ``LATEST_DATE``."""
    at = utc_datetime(value)
    if not EARLIEST_DATE <= at.date() <= LATEST_DATE:
        raise ValidationError("effective_at", f"a time from {EARLIEST_DATE} to {LATEST_DATE}",
                              at)
    return at


def event_id(_inst: object, _attr: object, value: str) -> None:
    """An event id: the id rule, up to ``MAX_KEY_LENGTH`` characters."""
    check_id("event_id", value, max_length=MAX_KEY_LENGTH)


def checked_id(_inst: object, attr: attrs.Attribute[Any], value: str) -> None:
    """A field that holds an id, by the id rule."""
    check_id(attr.name, value)


def day(_inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    """A billing date: a date from ``EARLIEST_DATE`` to ``LATEST_DATE``."""
    check_billing_date(attr.name, value)


def text(_inst: object, attr: attrs.Attribute[Any], value: str) -> None:
    """Free text, by the text rule (no control characters, no card numbers)."""
    check_text(attr.name, value)


def reason(_inst: object, attr: attrs.Attribute[Any], value: str) -> None:
    """A reason: free text that is not empty."""
    check_text(attr.name, value)
    if not value.strip():
        raise ValidationError(attr.name, "a reason (non-empty text)", value)

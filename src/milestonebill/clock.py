"""Clocks for the shell: the only place the library reads the time.

The pure core never reads a clock; services such as
:class:`~milestonebill.engine.Biller` receive a :class:`Clock`.  Use
:class:`SystemClock` in production and :class:`FixedClock` in tests and
notebooks.  Everything that reads the time takes one of these: the Biller,
the stores (for claim leases and to stamp charge attempts) and the in-memory
gateway (to stamp webhooks).

>>> from datetime import UTC, datetime, timedelta
>>> clock = FixedClock(datetime(2024, 2, 28, 23, 30, tzinfo=UTC))
>>> clock.today()
datetime.date(2024, 2, 28)
>>> clock.advance(timedelta(hours=1)).today()
datetime.date(2024, 2, 29)
>>> clock.advance(days=1).now()
datetime.datetime(2024, 3, 1, 0, 30, tzinfo=datetime.timezone.utc)
>>> FixedClock(datetime(2024, 1, 1))
Traceback (most recent call last):
...
milestonebill.errors.ValidationError: 'at' must be a timezone-aware datetime (naive refused) (got datetime.datetime(2024, 1, 1, 0, 0))
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Protocol, runtime_checkable

from milestonebill._validate import utc_datetime
from milestonebill.errors import ValidationError

__all__ = ["Clock", "FixedClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Port: the current time, always timezone-aware UTC."""

    def now(self) -> datetime:
        """The current instant (aware, UTC)."""
        ...

    def today(self) -> date:
        """The current UTC date."""
        ...


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> datetime:
        """``datetime.now(UTC)``."""
        return datetime.now(UTC)

    def today(self) -> date:
        """The UTC date of :meth:`now`."""
        return self.now().date()

    def __repr__(self) -> str:
        return "SystemClock()"


class FixedClock:
    """A clock that stands still until it is set or advanced (thread-safe)."""

    def __init__(self, at: datetime) -> None:
        self._at = utc_datetime(at, "at")
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The time the clock was set to."""
        with self._lock:
            return self._at

    def today(self) -> date:
        """The UTC date of :meth:`now`."""
        return self.now().date()

    def set(self, at: datetime) -> FixedClock:
        """Move the clock to ``at`` (any direction); returns the clock."""
        value = utc_datetime(at, "at")
        with self._lock:
            self._at = value
        return self

    def advance(self, delta: timedelta | None = None, *, days: int = 0) -> FixedClock:
        """Move the clock forward by ``delta`` plus ``days``; returns the clock.

        Raises :class:`~milestonebill.errors.ValidationError` naming ``delta``
        for a step backwards (use :meth:`set` to go back).
        """
        step = (delta or timedelta()) + timedelta(days=days)
        if step < timedelta():
            raise ValidationError("delta", "a step forward (use set() to go back)", step)
        with self._lock:
            self._at = self._at + step
        return self

    def __repr__(self) -> str:
        return f"FixedClock({self.now().isoformat()!r})"

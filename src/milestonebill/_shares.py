"""Progress as a fraction of integers, as a function of the date: the pieces
:mod:`milestonebill.revenue` builds each obligation's progress from when it
works revenue out for many dates at once.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from datetime import date
from fractions import Fraction

from milestonebill.periods import Period

__all__ = ["ONE", "ZERO", "Share", "days_share", "half_up", "reduced", "steps"]

Share = tuple[int, int]  # progress as a fraction (numerator, positive denominator)
ZERO: Share = (0, 1)
ONE: Share = (1, 1)


def half_up(numerator: int, denominator: int) -> int:
    """``round_ratio(numerator, denominator, Rounding.HALF_UP)`` for a positive
    ``denominator``, in one expression (halves away from zero): what the many-dates
    paths round with, once per obligation and day, without a call through the
    rounding modes.

    >>> [half_up(n, 4) for n in (-6, -5, -2, 2, 5, 6)]
    [-2, -1, -1, 1, 1, 2]
    """
    if numerator >= 0:
        return (2 * numerator + denominator) // (2 * denominator)
    return -((denominator - 2 * numerator) // (2 * denominator))


def reduced(f: Fraction) -> Share:
    return f.numerator, f.denominator


def days_share(period: Period) -> Callable[[date], Share]:
    """``revenue._days_progress`` over ``period`` as a function of the date."""
    start, n = period.start.toordinal(), period.days

    def share(d: date) -> Share:
        if n == 0:
            return ONE if d >= period.start else ZERO
        # elapsed / n, not reduced: the rounding reads only the value of the ratio
        return min(max(d.toordinal() + 1 - start, 0), n), n

    return share


def steps(points: Sequence[date], values: Sequence[Share], before: Share
           ) -> Callable[[date], Share]:
    """The share ``values[i]`` from ``points[i]`` on (points sorted), ``before`` earlier."""
    def share(d: date) -> Share:
        i = bisect.bisect_right(points, d)
        return values[i - 1] if i else before

    return share

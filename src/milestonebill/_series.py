"""Recurring revenue series as integers: what :mod:`milestonebill.revenue` earns from
the bulk plan (:func:`~milestonebill.agreement.columns.plan_columns`) at many dates.

A series is one recurring item's pieces as ``(start, end, days, price less
concessions)`` in date ordinals; a piece earns day by day, rounded half up
once, so what a series earned by a day is the pieces over by then plus the
started part of the one under way.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Mapping
from datetime import date

import attrs

from milestonebill.agreement import Agreement
from milestonebill.agreement.columns import plan_columns
from milestonebill.ids import PlanKey
from milestonebill.money import Rounding, round_ratio

__all__ = ["Series", "series_of"]


@attrs.define
class Series:
    """One recurring item's pieces as integers: (start, end, days, price less concessions),
    sorted by start, and the first day of their earliest service period."""

    item_id: str
    first: int
    pieces: list[tuple[int, int, int, int]]
    #: Piece starts, and the running total of the pieces before each (when pieces do
    #: not overlap, so all but the last started one are over).
    starts: list[int] = attrs.Factory(list)
    before: list[int] | None = None

    def settle(self) -> None:
        """Sort the pieces and index them (once all are in)."""
        self.pieces.sort()
        self.starts = [p[0] for p in self.pieces]
        if all(a[1] <= b[0] for a, b in itertools.pairwise(self.pieces)):
            self.before = [0, *itertools.accumulate(p[3] for p in self.pieces)]

    def earned(self, t: int) -> int:
        """Earned by the day before ordinal ``t`` (as ``revenue._series_earned`` defines it)."""
        if self.before is not None:
            k = bisect.bisect_left(self.starts, t)  # pieces that started before t
            if not k:
                return 0
            start, end, days, net = self.pieces[k - 1]
            last = net if t >= end else round_ratio(net * (t - start), days, Rounding.HALF_UP)
            return self.before[k - 1] + last
        total = 0
        for start, end, days, net in self.pieces:
            if t >= end:
                total += net
            elif t > start:
                total += round_ratio(net * (t - start), days, Rounding.HALF_UP)
            else:
                break  # sorted by start: the rest have not started
        return total


def series_of(a: Agreement, through: date, less: Mapping[PlanKey, int]
               ) -> tuple[list[Series], bool]:
    """Each series of the plan up to ``through`` in the order it first appears, and whether
    that order holds at every earlier horizon (each series' earliest piece first)."""
    found: dict[str, Series] = {}
    in_order = True
    c = plan_columns(a, through=through)  # the bulk plan: no PlanItem is made
    for item_id, whole, start, end, minor in zip(c.item_ids, c.wholes, c.starts, c.ends,
                                                 c.minors, strict=True):
        s = found.get(item_id)
        if s is None:
            s = found[item_id] = Series(item_id, whole, [])
        elif whole < s.first:
            in_order, s.first = False, whole
        net = minor - (less.get(PlanKey.piece(item_id, date.fromordinal(start)), 0)
                       if less else 0)
        s.pieces.append((start, end, end - start, net))  # pieces are never empty
    for s in found.values():
        s.settle()
    return list(found.values()), in_order

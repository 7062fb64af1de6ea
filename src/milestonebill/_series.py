"""Recurring revenue series as integers: what :mod:`milestonebill.revenue` earns from
the bulk plan (:func:`~milestonebill.agreement.columns.plan_columns`) at many dates.

A series is one recurring item's pieces as columns of start, end and price less
concessions, in date ordinals; a piece earns day by day, rounded half up
once, so what a series earned by a day is the pieces over by then plus the
started part of the one under way.
"""

from __future__ import annotations

import bisect
import itertools
import operator
from collections.abc import Mapping, Sequence
from datetime import date

import attrs

from milestonebill._shares import half_up
from milestonebill.agreement import Agreement
from milestonebill.agreement.columns import plan_columns
from milestonebill.ids import PlanKey
from milestonebill.money import Rounding, round_ratio

__all__ = ["Series", "series_of"]


@attrs.define
class Series:
    """One recurring item's pieces as integer columns (piece starts, ends and prices less
    concessions, in date ordinals), sorted by start, and the first day of their earliest
    service period.  Columns of ints, not a tuple per piece: a firm's revenue models
    stay few objects for the garbage collector."""

    item_id: str
    first: int
    starts: Sequence[int]
    ends: Sequence[int]
    nets: Sequence[int]
    #: The running total of the pieces before each (when pieces do not overlap, so all
    #: but the last started one are over).
    before: Sequence[int] | None = None

    def settle(self) -> None:
        """Sort the pieces and index them (once all are in), as tuples: a tuple of ints is
        nothing the garbage collector walks, a list is walked at every full collection."""
        starts, ends, nets = tuple(self.starts), tuple(self.ends), tuple(self.nets)
        if not all(map(operator.le, starts, starts[1:])):
            # the order a tuple per piece would sort in: by start, end, price
            order = sorted(range(len(starts)), key=lambda k: (starts[k], ends[k], nets[k]))
            starts = tuple(starts[k] for k in order)
            ends = tuple(ends[k] for k in order)
            nets = tuple(nets[k] for k in order)
        self.starts, self.ends, self.nets = starts, ends, nets
        if all(map(operator.le, ends, starts[1:])):  # map: no Python frame per piece
            self.before = (0, *itertools.accumulate(nets))

    def earned_at(self, ts: Sequence[int]) -> list[int]:
        """:meth:`earned` at each of the ordinals ``ts`` (any order), zero before the
        series' first day: one pass with the columns in local names, no call per day."""
        before = self.before
        if before is None:
            return [self.earned(t) if self.first < t else 0 for t in ts]
        starts, ends, nets, first = self.starts, self.ends, self.nets, self.first
        out: list[int] = []
        for t in ts:
            k = bisect.bisect_left(starts, t) if first < t else 0
            if not k:
                out.append(0)
                continue
            start, end, net = starts[k - 1], ends[k - 1], nets[k - 1]
            if t >= end:
                out.append(before[k])
            else:
                out.append(before[k - 1] + half_up(net * (t - start), end - start))
        return out

    def earned(self, t: int) -> int:
        """Earned by the day before ordinal ``t`` (as ``revenue._series_earned`` defines it)."""
        starts, ends, nets = self.starts, self.ends, self.nets
        if self.before is not None:
            k = bisect.bisect_left(starts, t)  # pieces that started before t
            if not k:
                return 0
            start, end, net = starts[k - 1], ends[k - 1], nets[k - 1]
            last = net if t >= end else round_ratio(net * (t - start), end - start,
                                                    Rounding.HALF_UP)
            return self.before[k - 1] + last
        total = 0
        for start, end, net in zip(starts, ends, nets, strict=True):
            if t >= end:
                total += net
            elif t > start:
                total += round_ratio(net * (t - start), end - start, Rounding.HALF_UP)
            else:
                break  # sorted by start: the rest have not started
        return total


def series_of(a: Agreement, through: date, less: Mapping[PlanKey, int]
               ) -> tuple[list[Series], bool]:
    """Each series of the plan up to ``through`` in the order it first appears, and whether
    that order holds at every earlier horizon (each series' earliest piece first)."""
    if not a.recurring:  # no recurring charge, no series (the plan is not needed)
        return [], True
    c = plan_columns(a, through=through)  # the bulk plan: no PlanItem is made
    ids = c.item_ids
    if len(set(ids)) == 1:  # the usual retainer: one series, the columns as they are
        minors = c.minors
        if less:
            minors = tuple(minor - less.get(PlanKey.piece(ids[0], date.fromordinal(start)), 0)
                           for minor, start in zip(minors, c.starts, strict=True))
        one = Series(ids[0], min(c.wholes), c.starts, c.ends, minors)
        one.settle()
        return [one], one.first == c.wholes[0]  # its earliest piece first
    groups: dict[str, list[int]] = {}
    for k, item_id in enumerate(ids):
        groups.setdefault(item_id, []).append(k)
    out: list[Series] = []
    in_order = True
    for item_id, where in groups.items():
        first = min(c.wholes[k] for k in where)
        # A later piece of an earlier service period: the series' order may change.
        in_order = in_order and first == c.wholes[where[0]]
        starts = [c.starts[k] for k in where]
        nets = [c.minors[k] for k in where]
        if less:
            nets = [minor - less.get(PlanKey.piece(item_id, date.fromordinal(start)), 0)
                    for minor, start in zip(nets, starts, strict=True)]
        s = Series(item_id, first, starts, [c.ends[k] for k in where], nets)
        s.settle()
        out.append(s)
    return out, in_order

"""The recurring part of an agreement's billing plan as integer columns: the bulk plan.

:func:`plan_columns` gives what :func:`~milestonebill.agreement.plan_pieces`
gives -- each recurring piece that starts before a horizon, in plan order --
as plain integers: the item id, the first day of the piece's whole service
period, the piece's first and end day (date ordinals, half-open) and its
amount in minor units.  No :class:`~milestonebill.agreement.PlanItem`, no
:class:`~milestonebill.money.Money`, no :class:`~milestonebill.periods.Period`
and no provenance text is made: revenue over many dates needs only these
numbers, and the objects stay available from ``plan_pieces`` for a caller
who reads them.

Agreements whose pieces are all whole service periods of charges that no
amendment cut (the usual retainer) are worked out straight from each
charge's calendar (:meth:`~milestonebill.schedule.RecurringCharge.minor_periods`);
any other agreement -- a term that starts or ends inside a service period,
a charge split over terms, discounts -- takes its columns from
``plan_pieces``, and so does everything inside
:func:`~milestonebill._reference.reference_path`.  Like the plan, the
columns are worked out once per agreement and cut at each horizon.

>>> from datetime import UTC, datetime
>>> from milestonebill.agreement import AgreementId, sign
>>> from milestonebill.money import Money
>>> from milestonebill.schedule import Interval, ItemId, RecurringCharge
>>> from milestonebill.testing.scenarios import CARD, proposal
>>> fee = RecurringCharge(ItemId("ret"), "Retainer", Money("3100.00", "USD"),
...                       Interval.MONTHLY, start=date(2026, 1, 1))
>>> a = sign(proposal(recurring=[fee]), option="std", signer="Ada", payment_method=CARD,
...          agreement_id=AgreementId("a-1"), signed_at=datetime(2025, 12, 20, tzinfo=UTC))
>>> cols = plan_columns(a, through=date(2026, 3, 1))
>>> len(cols), cols.minors, date.fromordinal(cols.ends[-1])
(2, (310000, 310000), datetime.date(2026, 3, 1))
"""

from __future__ import annotations

import bisect
import itertools
from datetime import date
from typing import TypeVar

import attrs

from milestonebill._reference import reference
from milestonebill.agreement.fold import Agreement
from milestonebill.agreement.plan import bulk_pieces, open_ended, plan_pieces

__all__ = ["PlanColumns", "plan_columns"]

_T = TypeVar("_T")


@attrs.frozen
class PlanColumns:
    """Recurring plan pieces as columns, one position per piece, in plan order.

    ``wholes`` is the first day of each piece's whole service period,
    ``starts`` and ``ends`` the piece itself (half-open), all as
    :meth:`date.toordinal` numbers; ``minors`` the amount in minor units;
    ``names`` the name of the charge the piece bills.
    """

    item_ids: tuple[str, ...]
    wholes: tuple[int, ...]
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    minors: tuple[int, ...]
    names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.minors)

    def cut(self, through: date) -> PlanColumns:
        """The pieces whose whole service period starts before ``through``."""
        t = through.toordinal()
        if not self.wholes or max(self.wholes) < t:
            return self
        keep = [i for i, w in enumerate(self.wholes) if w < t]

        def ints(col: tuple[int, ...]) -> tuple[int, ...]:
            return tuple(col[i] for i in keep)

        return PlanColumns(tuple(self.item_ids[i] for i in keep), ints(self.wholes),
                           ints(self.starts), ints(self.ends), ints(self.minors),
                           tuple(self.names[i] for i in keep))


def plan_columns(agreement: Agreement, *, through: date) -> PlanColumns:
    """The pieces of ``plan_pieces(agreement, through=through)`` as integer columns."""
    if reference() or agreement.discounts:
        return _from_pieces(agreement, through)
    known: _Kept | None = agreement._memo.get("columns")
    if known is None or known.horizon < through:
        source: Agreement | None = agreement._memo.get("plan_source")
        if source is not None:  # an earlier state with the same terms (history.as_of)
            plan_columns(source, through=through)
            known = source._memo["columns"]
        elif not agreement.recurring:  # no piece at any horizon (most project agreements)
            known = _NO_PIECES
        else:
            horizon = through if open_ended(agreement) else date.max
            cols = _bulk(agreement, horizon)
            known = _Kept(horizon, cols if cols is not None else _from_pieces(agreement, horizon))
        agreement._memo["columns"] = known
    return known.cut(through)


class _Kept:
    """An agreement's columns to a horizon, and the cuts asked for, kept with it.

    The pieces of one charge come in the order of their service periods, so
    the columns are a few runs of ascending ``wholes``: a cut keeps a prefix
    of each run (found by bisection, taken by slicing), not a filter of
    every position.  The last few cuts are kept: the reports of one date
    ask for the same horizons again.
    """

    __slots__ = ("cols", "cuts", "horizon", "runs")

    def __init__(self, horizon: date, cols: PlanColumns) -> None:
        self.horizon, self.cols = horizon, cols
        w = cols.wholes
        # One charge (most agreements) is one run: found by a sort, not position by position.
        self.runs: tuple[int, ...] = ((0, len(w)) if list(w) == sorted(w) else (
            0, *(i for i in range(1, len(w)) if w[i] < w[i - 1]), len(w)))
        self.cuts: dict[date, PlanColumns] = {}

    def cut(self, through: date) -> PlanColumns:
        if not self.cols.wholes:
            return self.cols
        got = self.cuts.get(through)
        if got is None:
            if len(self.cuts) >= _CUTS:
                self.cuts.clear()
            got = self.cuts[through] = self._cut(through.toordinal())
        return got

    def _cut(self, t: int) -> PlanColumns:
        c, runs = self.cols, self.runs
        w = c.wholes
        if len(runs) == 2:  # one run: a prefix
            k = bisect.bisect_left(w, t)
            return c if k == len(w) else PlanColumns(
                c.item_ids[:k], w[:k], c.starts[:k], c.ends[:k], c.minors[:k], c.names[:k])
        bounds = list(itertools.pairwise(runs))
        spans = [(lo, bisect.bisect_left(w, t, lo, hi)) for lo, hi in bounds]
        if all(k == hi for (_lo, k), (_lo2, hi) in zip(spans, bounds, strict=True)):
            return c

        def part(col: tuple[_T, ...]) -> tuple[_T, ...]:
            return tuple(itertools.chain.from_iterable(col[lo:k] for lo, k in spans))

        return PlanColumns(part(c.item_ids), part(w), part(c.starts), part(c.ends),
                           part(c.minors), part(c.names))


#: How many cuts of its columns an agreement keeps.
_CUTS = 4

#: The columns of every agreement without a recurring term, shared: three objects fewer
#: kept per such agreement, for the collector to walk in every full collection.
_NO_PIECES = _Kept(date.max, PlanColumns((), (), (), (), (), ()))


def _from_pieces(agreement: Agreement, through: date) -> PlanColumns:
    """The columns read off the plan's pieces (the plain definition)."""
    pieces = plan_pieces(agreement, through=through)
    periods = [item.period for _whole, item in pieces]
    return PlanColumns(
        tuple(item.item_id for _whole, item in pieces),
        tuple(whole.toordinal() for whole, _item in pieces),
        tuple(p.start.toordinal() for p in periods if p is not None),
        tuple(p.end.toordinal() for p in periods if p is not None),
        tuple(item.amount.minor for _whole, item in pieces),
        tuple(item.name for _whole, item in pieces))


def _bulk(agreement: Agreement, horizon: date) -> PlanColumns | None:
    """The columns straight from each charge's calendar; ``None`` when a piece would be
    prorated (a term cut inside a service period, a charge split over terms)."""
    got = bulk_pieces(agreement, horizon)
    if got is None:
        return None
    ids, wholes, ends, minors, names = got
    return PlanColumns(ids, wholes, wholes, ends, minors, names)

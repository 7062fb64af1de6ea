"""Revenue at many dates from one model of an agreement.  Private to
:mod:`milestonebill.revenue`, which builds the obligations and keeps one
:class:`Earning` per agreement.

What an obligation has earned moves only at known days: a milestone achieved,
a progress report or estimate, the agreement's end; a series moves inside its
service periods.  So the model, the concessions and each obligation's
progress steps are worked out once per agreement, and each date costs a few
binary searches and integer roundings.  ``tests/property/test_report_fastpaths.py``
and ``tests/property/test_revenue_columns.py`` compare it with the definition
(``revenue._earned_reference``) on every date.
"""

from __future__ import annotations

import bisect
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Protocol

from milestonebill._reference import reference
from milestonebill._series import Series, series_of
from milestonebill._shares import ONE, ZERO, Share, half_up, reduced, steps
from milestonebill.agreement import (
    Agreement,
    AgreementState,
    Completed,
    MilestoneTerm,
    ObligationTerms,
    Progress,
    billing_plan,
)
from milestonebill.agreement.columns import plan_columns
from milestonebill.agreement.plan import open_ended
from milestonebill.ids import MilestoneId, ObligationId, PlanKey
from milestonebill.money import Money, Rounding, round_ratio
from milestonebill.periods import Period
from milestonebill.schedule import ChargeKind, Trigger

__all__ = ["Earning", "Funded", "advance_span", "default_period", "milestone_weights"]


class Funded(Protocol):
    """What this module reads of a :class:`milestonebill.revenue.Obligation`."""

    @property
    def terms(self) -> ObligationTerms: ...

    @property
    def price(self) -> Money: ...

    @property
    def milestones(self) -> tuple[str, ...]: ...

    @property
    def id(self) -> ObligationId: ...


def advance_span(a: Agreement) -> Period | None:
    """The recurring services an up-front fee is earned over (``None``: none, or open-ended)."""
    if not a.recurring or open_ended(a):
        return None
    if not reference():  # the same from the bulk plan's columns
        c = plan_columns(a, through=date.max)
        return (Period(date.fromordinal(min(c.starts)), date.fromordinal(max(c.ends)))
                if c.starts else None)
    pieces = [i.period for i in billing_plan(a) if i.kind is ChargeKind.RECURRING
              and i.period is not None]
    if not pieces:
        return None
    return Period(min(p.start for p in pieces), max(p.end for p in pieces))



def default_period(a: Agreement, o: Funded) -> Period | None:
    """Signing to the last dated milestone (or the expected end); ``None`` if that
    is no later than signing."""
    dated = [t.milestone.due_on for t in a.milestones
             if t.milestone.id in o.milestones and t.milestone.due_on is not None]
    end = max([*dated, *([o.terms.expected_end] if o.terms.expected_end else [])],
              default=a.signed_on)
    return Period(a.signed_on, end) if end > a.signed_on else None



#: Progress that steps: ``values[i]`` from ``points[i]`` on, nothing before the first.
Steps = tuple[tuple[date, ...], tuple[Share, ...]]
#: Progress by days: ``(first day's ordinal, days)`` -- days elapsed over days.
Days = tuple[int, int]
#: One obligation's progress as data (tuples of ints and dates, which the garbage
#: collector does not walk), or a function for progress reported against an estimate.
ShareOf = Steps | Days | Callable[[date], Share]

NO_STEPS: Steps = ((), ())


def _days(period: Period) -> Steps | Days:
    """:func:`~milestonebill._shares.days_share` as data."""
    if period.days == 0:
        return (period.start,), (ONE,)
    return period.start.toordinal(), period.days


def _advance_share(a: Agreement) -> Steps | Days:
    span = advance_span(a)
    return NO_STEPS if span is None else _days(span)


def milestone_weights(o: Funded, amounts: Mapping[str, Money],
                      terms: Mapping[str, MilestoneTerm]) -> dict[str, Decimal]:
    """How much each of an obligation's milestones weighs in its progress: the weights
    its terms state, else each milestone's amount (milestones due on signing and
    those no longer in the agreement left out).  The reference progress
    (``revenue._milestone_progress``) and the step function here both read it."""
    if o.terms.milestones:
        return dict(o.terms.milestones)
    return {m: Decimal(amounts[m].minor) for m in o.milestones
            if m in terms and terms[m].milestone.trigger is not Trigger.ON_SIGNING}


def _milestone_share(a: Agreement, o: Funded, amounts: Mapping[str, Money]
                     ) -> Steps | Days:
    """:func:`_milestone_progress` as a step function of the date."""
    terms: dict[str, MilestoneTerm] = {t.milestone.id: t for t in a.milestones}
    if not o.terms.milestones and not reference():
        by_amounts = _by_amounts(a, o, amounts, terms)
        if by_amounts is not None:
            return by_amounts
    weights = milestone_weights(o, amounts, terms)
    total = sum(weights.values(), Decimal(0))
    if total == 0:
        return _advance_share(a)
    done = a.completions
    achieved: list[tuple[str, date | None]] = []
    for m in weights:
        if m not in terms:
            continue
        ms = terms[m].milestone
        when = (done.get(ms.id) if ms.trigger is Trigger.ON_COMPLETION
                else ms.due_on if ms.trigger is Trigger.ON_DATE else None)
        achieved.append((m, when))
    points = sorted({when for _m, when in achieved if when is not None})
    values = []
    # Weights from amounts are whole minor units: their ratio reduced in integers.
    whole = not o.terms.milestones and total > 0 and not reference()
    for p in points:  # the same sum, in the same order, as on any day from p on
        reached = {m for m, when in achieved if when is not None and when <= p}
        got = sum((w for m, w in weights.items() if m in reached), Decimal(0))
        if whole:
            g = math.gcd(int(got), int(total))
            values.append((int(got) // g, int(total) // g))
        else:
            values.append(reduced(Fraction(got) / Fraction(total)))
    return tuple(points), tuple(values)


def _by_amounts(a: Agreement, o: Funded, amounts: Mapping[str, Money],
                terms: Mapping[str, MilestoneTerm]) -> Steps | None:
    """:func:`_milestone_share` weighted by amounts, in integers: each day a milestone is
    achieved adds its amount, and the share is the running sum over the total, reduced
    (``None`` for a total that is not positive: the general path says what that gives)."""
    total = 0
    by_day: dict[date, int] = {}
    done = a.completions
    for m in dict.fromkeys(o.milestones):  # each once, as a dict of weights has it
        t = terms.get(m)
        if t is None or t.milestone.trigger is Trigger.ON_SIGNING:
            continue
        ms = t.milestone
        w = amounts[m].minor
        total += w
        when = (done.get(ms.id) if ms.trigger is Trigger.ON_COMPLETION
                else ms.due_on if ms.trigger is Trigger.ON_DATE else None)
        if when is not None:
            by_day[when] = by_day.get(when, 0) + w
    if total <= 0:
        return None
    points = tuple(sorted(by_day))
    values = []
    got = 0
    for p in points:
        got += by_day[p]
        g = math.gcd(got, total)
        values.append((got // g, total // g))
    return points, tuple(values)


def _input_share(a: Agreement, o: Funded) -> Steps | Callable[[date], Share]:
    """Hours, costs or units reported against the estimate in force, as of a date.

    Reports and revisions of one obligation are in date order (the fold
    refuses others), so the latest on or before a date is a binary search.
    The share moves only on a report's or a revision's day: as steps (data,
    nothing for the collector to walk, one binary search a day), unless an
    estimate is missing or zero, which the function raises on when asked.
    """
    reports = [r for r in a.progress_reports if r.obligation_id == o.id]
    revisions = [r for r in a.estimates if r.obligation_id == o.id]
    report_days = [r.as_of for r in reports]
    revision_days = [r.as_of for r in revisions]
    # With no revision in force the estimate is the terms' (``Agreement.estimate``).
    stated = next((t.estimate for t in a.obligation_terms if t.id == o.id), None)
    if not reference() and stated and all(r.total for r in revisions):
        points = sorted({*report_days, *revision_days})
        values = []
        for p in points:  # the share on any day from p to the next point
            i, j = bisect.bisect_right(report_days, p), bisect.bisect_right(revision_days, p)
            got = reports[i - 1].to_date if i else Decimal(0)
            values.append(_capped(got, revisions[j - 1].total if j else stated))
        return tuple(points), tuple(values)

    # By (i, j) alone: with no revision in force (j == 0) the estimate is the terms'.
    known: dict[tuple[int, int], Share] = {}

    def share(d: date) -> Share:
        i, j = bisect.bisect_right(report_days, d), bisect.bisect_right(revision_days, d)
        out = known.get((i, j))
        if out is None:
            got = reports[i - 1].to_date if i else Decimal(0)
            estimate = revisions[j - 1].total if j else a.estimate(o.id, d)
            out = known[i, j] = reduced(min(Fraction(got) / Fraction(estimate), Fraction(1)))
        return out

    return share


def _capped(got: Decimal, estimate: Decimal) -> Share:
    """``reduced(min(Fraction(got) / Fraction(estimate), Fraction(1)))`` for a non-zero
    ``estimate``, in integers (no Fraction made)."""
    gn, gd = got.as_integer_ratio()
    en, ed = estimate.as_integer_ratio()
    num, den = gn * ed, gd * en
    if den < 0:
        num, den = -num, -den
    if num >= den:
        return ONE
    g = math.gcd(num, den)
    return num // g, den // g


def _obligation_share(a: Agreement, o: Funded, amounts: Mapping[str, Money]) -> ShareOf:
    """:func:`_progress` of one obligation as a function of the date, between signing and
    the agreement's end (:func:`_end_day`): the caller checks those two."""
    p = o.terms.progress
    if p is Progress.MILESTONES:
        return _milestone_share(a, o, amounts)
    if p.is_input:
        return _input_share(a, o)
    if p is Progress.STRAIGHT_LINE:
        period = o.terms.period or default_period(a, o)
        return _advance_share(a) if period is None else _days(period)
    when = (a.completions.get(MilestoneId(o.terms.milestone or ""))
            if p is Progress.ON_COMPLETION else o.terms.on)
    return ((when,), (ONE,)) if when is not None else NO_STEPS


def _function(share: ShareOf) -> Callable[[date], Share]:
    """A share kept as data as the function of the date it stands for."""
    if callable(share):
        return share
    if isinstance(share[0], tuple):
        points, values = share
        return steps(points, values, ZERO)
    start, n = share
    return lambda d: (min(max(d.toordinal() + 1 - start, 0), n), n)


def _end_day(a: Agreement) -> date | None:
    """The day from which the agreement has ended (``revenue._ended``), if any."""
    if a.state is AgreementState.CANCELLED and a.cancelled_on is not None:
        return a.cancelled_on
    if a.state is AgreementState.COMPLETED:
        return next(e for e in reversed(a.events) if isinstance(e, Completed)).effective_on
    return None



class Earning:
    """One agreement's revenue model, ready to say what it earned by any day up to ``last``."""

    # Slots: no __dict__ per agreement for the garbage collector to walk.
    __slots__ = ("end", "fixed", "in_order", "last", "less", "prices", "series", "shares",
                 "signed", "stepped")

    def __init__(self, a: Agreement, last: date, fixed: Sequence[Funded],
                 amounts: Mapping[str, Money], less: Mapping[PlanKey, int]) -> None:
        through = last + timedelta(days=1)
        self.last = last
        self.fixed = fixed
        self.less = less
        self.series, self.in_order = series_of(a, through, self.less)
        self.shares = tuple(_obligation_share(a, o, amounts) for o in self.fixed)
        self.signed, self.end = a.signed_on, _end_day(a)
        # Tuples of ints: the collector stops tracking them (and then this dict) once it
        # has seen them, so a firm's kept models are fewer objects for it to walk.
        self.prices: dict[tuple[str, ...], tuple[int, ...]] = {}
        #: What the stepping obligations earn together, at fixed prices (see totals).
        self.stepped: tuple[tuple[date, ...], tuple[int, ...]] | None = None

    def _prices(self, present: tuple[str, ...]) -> tuple[int, ...]:
        """The milestone obligations' prices less concessions, as :func:`revenue_model`
        sets them when the series ``present`` are in the model."""
        got = self.prices.get(present)
        if got is None:
            owner = {m: o.id for o in self.fixed for m in o.milestones}
            owner.update({s: ObligationId(s) for s in present})
            less: dict[str, int] = {}
            for key, minor in self.less.items():
                if key.item_id in owner:
                    less[owner[key.item_id]] = less.get(owner[key.item_id], 0) + minor
            got = self.prices[present] = tuple([o.price.minor - less.get(o.id, 0)
                                                for o in self.fixed])
        return got

    def _present(self, a: Agreement, t: int, through: date) -> list[Series]:
        if self.in_order:
            return [s for s in self.series if s.first < t]
        order = dict.fromkeys(plan_columns(a, through=through).item_ids)
        by_id = {s.item_id: s for s in self.series}
        return [by_id[i] for i in order]

    def many(self, a: Agreement, days: Sequence[date]) -> list[dict[str, int]]:
        """Earned by the end of each day per obligation, in minor units (:func:`earned`'s).

        At fixed prices with the series in order, each obligation and series is
        evaluated over all the days at once (:meth:`_columns`); otherwise day by day.
        """
        ids: list[str] = [o.id for o in self.fixed]
        if not self.less and self.in_order:
            made: list[dict[str, int]] = [
                dict(zip(ids, row, strict=True))
                for row in zip(*self._columns(days), strict=True)] if ids else [{} for _ in days]
            if self.series:
                ts = [d.toordinal() + 1 for d in days]  # the ordinal of the day after each
                for s in self.series:
                    first, item_id = s.first, s.item_id
                    for row, t, v in zip(made, ts, s.earned_at(ts), strict=True):
                        if first < t:
                            row[item_id] = v
            return made
        fixed = list(zip(ids, map(_function, self.shares), strict=True))
        plain = self._prices(()) if not self.less else None  # no concession: fixed prices
        signed, end, series = self.signed, self.end, self.series
        rows: list[dict[str, int]] = []
        for d in days:
            t = d.toordinal() + 1  # the ordinal of the day after d
            if not series:
                present: list[Series] = []
            elif self.in_order:
                present = [s for s in series if s.first < t]
            else:
                present = self._present(a, t, d + timedelta(days=1))
            prices = plain if plain is not None else self._prices(
                tuple(s.item_id for s in present))
            if d < signed:  # nothing earned before signing, everything once it ended
                out = dict.fromkeys(ids, 0)
            elif end is not None and end <= d:
                out = dict(zip(ids, prices, strict=True))
            else:
                out = {}
                for (oid, share), price in zip(fixed, prices, strict=True):
                    num, den = share(d)
                    out[oid] = (0 if num == 0 else price if num == den
                                else round_ratio(price * num, den, Rounding.HALF_UP))
            for s in present:
                out[s.item_id] = s.earned(t)
            rows.append(out)
        return rows


    def unique(self, *more: str) -> bool:
        """Whether no two obligations (nor one of ``more``) share an id: then a row of
        :meth:`many` has an entry per obligation and its sum is :meth:`totals`'."""
        ids = [*(o.id for o in self.fixed), *(s.item_id for s in self.series), *more]
        return len(set(ids)) == len(ids)

    def totals(self, days: Sequence[date]) -> list[int]:
        """What every obligation earned by the end of each day, together: the sum of each
        row of :meth:`many` without the rows (series in order, ids :meth:`unique`).

        At fixed prices (no concession) the obligations whose progress steps earn
        together a step function of the date, worked out once: a day costs one
        binary search for them.  Each other obligation and each series is evaluated
        over all the days at once (a column of ints, :func:`_evaluate`), not day by day.
        """
        if self.less:  # prices hang on the series present: obligation by obligation
            return self._totals(days)
        prices = self._prices(())
        live, ldays = self._live(days)
        points, levels = self._stepped(prices)
        if points:
            stepped = (0, *levels)
            col = [stepped[bisect.bisect_right(points, d)] for d in ldays]
        else:
            col = [0] * len(ldays)
        for share, price in zip(self.shares, prices, strict=True):
            if callable(share) or not isinstance(share[0], tuple):
                col = list(map(operator.add, col, _evaluate(share, price, ldays)))
        out = col if live is None else self._filled(days, live, col, sum(prices))
        if self.series:
            ts = [d.toordinal() + 1 for d in days]  # the ordinal of the day after each
            for s in self.series:
                out = list(map(operator.add, out, s.earned_at(ts)))
        return out

    def _live(self, days: Sequence[date]) -> tuple[list[int] | None, Sequence[date]]:
        """Where among ``days`` the agreement is signed and not ended, and those days
        (``None`` and ``days`` themselves when that is all of them)."""
        signed, end = self.signed, self.end
        if min(days) >= signed and (end is None or max(days) < end):
            return None, days
        live = [i for i, d in enumerate(days) if signed <= d and (end is None or d < end)]
        if len(live) == len(days):
            return None, days
        return live, [days[i] for i in live]

    def _stepped(self, prices: Sequence[int]) -> tuple[tuple[date, ...], tuple[int, ...]]:
        """The obligations whose progress steps, earning together at ``prices``: from
        ``points[i]`` on they have earned ``levels[i]``, nothing before the first."""
        if self.stepped is None:
            stepping = [(share, price)
                        for share, price in zip(self.shares, prices, strict=True)
                        if not callable(share) and isinstance(share[0], tuple)]
            points = tuple(sorted({p for (ps, _v), _price in stepping for p in ps}))
            levels = []
            for p in points:  # each obligation's own rounding, on any day from p on
                level = 0
                for (ps, values), price in stepping:
                    i = bisect.bisect_right(ps, p)
                    num, den = values[i - 1] if i else ZERO
                    if num:
                        level += price if num == den else round_ratio(price * num, den,
                                                                      Rounding.HALF_UP)
                levels.append(level)
            self.stepped = points, tuple(levels)
        return self.stepped

    def _totals(self, days: Sequence[date]) -> list[int]:
        """:meth:`totals` obligation by obligation, for prices that change with the
        series present (concessions): the sums of :meth:`_priced_columns`, and each
        series from its first day."""
        ts = [d.toordinal() + 1 for d in days]  # the ordinal of the day after each
        columns = self._priced_columns(days, ts)
        out = [sum(row) for row in zip(*columns, strict=True)] if columns else [0] * len(days)
        for s in self.series:
            out = list(map(operator.add, out, s.earned_at(ts)))
        return out

    def changes(self, days: Sequence[date]) -> list[list[tuple[str, int]]] | None:
        """:func:`earned_minor_changes` by obligation over all days at once (series in
        order); ``None`` when two obligations share an id (the day-by-day path says how
        their rows go)."""
        ids: list[str] = [o.id for o in self.fixed]
        if len({*ids, *(s.item_id for s in self.series)}) < len(ids) + len(self.series):
            return None
        ts = [d.toordinal() + 1 for d in days]  # the ordinal of the day after each
        columns: list[tuple[str, list[int]]] = []
        if self.less:
            columns.extend(zip(ids, self._priced_columns(days, ts), strict=True))
        else:
            columns.extend(zip(ids, self._columns(days), strict=True))
        out: list[list[tuple[str, int]]] = [[] for _ in ts[1:]]
        for oid, col in columns:
            if col.count(col[0]) == len(col):  # earned nothing in the span
                continue
            for i, delta in enumerate(map(operator.sub, col[1:], col)):
                if delta:
                    out[i].append((oid, delta))
        for s in self.series:
            first = s.first
            earned = s.earned_at(ts)
            was = 0
            for i, (t, now) in enumerate(zip(ts, earned, strict=True)):
                if first >= t:  # not yet in the model: no row, and 0 before
                    was = 0
                    continue
                if i and now != was:
                    out[i - 1].append((s.item_id, now - was))
                was = now
        return out

    def _columns(self, days: Sequence[date]) -> list[list[int]]:
        """Each fixed obligation's earnings by the end of each day at fixed prices (no
        concession): nothing before signing, its price once the agreement ended."""
        live, ldays = self._live(days)
        columns: list[list[int]] = []
        for share, price in zip(self.shares, self._prices(()), strict=True):
            col = _evaluate(share, price, ldays)
            columns.append(col if live is None else self._filled(days, live, col, price))
        return columns

    def _filled(self, days: Sequence[date], live: Sequence[int], col: Sequence[int],
                ended: int) -> list[int]:
        """``col`` (values on the days at positions ``live``, see :meth:`_live`) over all
        ``days``: nothing before signing, ``ended`` once the agreement ended."""
        signed = self.signed
        out = [0 if d < signed else ended for d in days]
        for i, v in zip(live, col, strict=True):
            out[i] = v
        return out

    def _priced_columns(self, days: Sequence[date], ts: Sequence[int]) -> list[list[int]]:
        """Each fixed obligation's earnings by day when its price hangs on the series
        present (concessions): day by day, as :meth:`many` has it."""
        prices = [self._prices(tuple(s.item_id for s in self.series if s.first < t))
                  for t in ts]
        signed, end = self.signed, self.end
        columns: list[list[int]] = []
        for k, share in enumerate(map(_function, self.shares)):
            col: list[int] = []
            for d, price in zip(days, prices, strict=True):
                if d < signed:
                    col.append(0)
                elif end is not None and end <= d:
                    col.append(price[k])
                else:
                    num, den = share(d)
                    col.append(0 if num == 0 else price[k] if num == den
                               else round_ratio(price[k] * num, den, Rounding.HALF_UP))
            columns.append(col)
        return columns


def _evaluate(share: ShareOf, price: int, days: Sequence[date]) -> list[int]:
    """What an obligation of ``price`` with progress ``share`` earned by the end of each
    of ``days`` (signed and not ended), rounded half up as :meth:`Earning.many` rounds:
    steps as one amount per step and a binary search a day, days elapsed as one
    expression a day."""
    if callable(share):
        out: list[int] = []
        for d in days:
            num, den = share(d)
            out.append(0 if num == 0 else price if num == den else half_up(price * num, den))
        return out
    if isinstance(share[0], tuple):
        points, values = share
        if not points:
            return [0] * len(days)
        amounts = (0, *(0 if num == 0 else price if num == den else half_up(price * num, den)
                        for num, den in values))
        return [amounts[bisect.bisect_right(points, d)] for d in days]
    start, n = share
    ts = [d.toordinal() + 1 for d in days]
    if price >= 0:  # half up of a non-negative ratio: one floor division
        twice, n2 = 2 * price, 2 * n
        return [0 if t <= start else price if t - start >= n else (twice * (t - start) + n) // n2
                for t in ts]
    return [0 if t <= start else price if t - start >= n else half_up(price * (t - start), n)
            for t in ts]

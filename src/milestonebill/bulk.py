"""Bulk paths tuned for throughput: whole columns of integer minor units.

These functions give exactly the answers of the per-row calculators in
:mod:`milestonebill.money` and :mod:`milestonebill.periods`; they exist
because a billing run or a notebook handles hundreds of thousands of rows,
and there the interpreter's per-call overhead is the cost.  Each one checks
its whole input once (in C-speed passes), then runs one tight comprehension
per rounding mode.  Bad input is handed to the per-row calculator, so the
error names the same field and value it would name there.

>>> prorate_many([10000, -10000, 5000], [23, 23, 14], [31, 31, 28], rounding=Rounding.HALF_UP)
[7419, -7419, 2500]
>>> [[m.minor for m in row] for row in allocate_each([Money("1.00", "USD")], [1, 1, 1])]
[[34, 33, 33]]
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from fractions import Fraction
from operator import lt, sub

from milestonebill import periods
from milestonebill._validate import check_date
from milestonebill.errors import ValidationError
from milestonebill.money import (
    Money,
    Rounding,
    Weight,
    allocate_many,
    allocate_minor,
    as_fraction,
    round_ratio,
)
from milestonebill.periods import prorate_many

# ``prorate_many`` is :func:`milestonebill.periods.prorate_many` itself (one
# implementation, re-exported here beside the other column-at-a-time paths).

__all__ = ["allocate_each", "monthly_invoices_many", "prorate_many", "straight_line_many"]


def allocate_each(totals: Sequence[Money], weights: Sequence[Weight]) -> list[tuple[Money, ...]]:
    """Split each ``Money`` in ``totals`` by the same ``weights``; see :func:`allocate`.

    One tuple of ``Money`` per total, equal to
    :func:`milestonebill.money.allocate` ``(total, weights)``.
    Equal parts share one immutable ``Money`` instance, so an equal split
    builds two objects per row instead of one per part.

    >>> for row in allocate_each([Money("100.00", "EUR"), Money("-0.05", "EUR")], [1, 1, 1]):
    ...     print(row)
    (Money('33.34', 'EUR'), Money('33.33', 'EUR'), Money('33.33', 'EUR'))
    (Money('-0.02', 'EUR'), Money('-0.02', 'EUR'), Money('-0.01', 'EUR'))
    >>> from decimal import Decimal
    >>> allocate_each([Money("10", "JPY")], [Decimal("0.5"), 1])
    [(Money('3', 'JPY'), Money('7', 'JPY'))]
    """
    if not totals:
        allocate_minor(0, weights)  # validate the weights even with no totals
        return []
    for i, t in enumerate(totals):
        if not isinstance(t, Money):
            raise TypeError(f"'totals[{i}]' must be Money (got {t!r})")
    n = len(weights)
    parts_of = allocate_many([t.minor for t in totals], weights)
    from_minor = Money.from_minor
    out: list[tuple[Money, ...]] = []
    append = out.append
    equal = all(w == weights[0] for w in weights)
    for t, parts in zip(totals, parts_of, strict=True):
        cur = t.currency
        if equal:
            first, last = parts[0], parts[-1]
            big = from_minor(first, cur)
            if first == last:
                append((big,) * n)
                continue
            k = parts.index(last)
            append((big,) * k + (from_minor(last, cur),) * (n - k))
        else:
            append(tuple([from_minor(p, cur) for p in parts]))
    return out



# ---------------------------------------------------------------- calendar columns


def _check_dates(values: Sequence[date], field: str) -> None:
    # One pass over the types for the whole column; the slow check names the bad one.
    if not set(map(type, values)) <= {date}:
        for i, d in enumerate(values):
            check_date(f"{field}[{i}]", d)


def _check_ints(values: Sequence[int], field: str) -> None:
    if not set(map(type, values)) <= {int}:
        for i, v in enumerate(values):
            if type(v) is not int:
                raise TypeError(f"'{field}[{i}]' must be int minor units (got {v!r})")


def _month_index(d: date) -> int:
    return d.year * 12 + d.month - 1


def _month_firsts(lo: int, hi: int) -> list[int]:
    """Ordinals of the 1st of each month with index ``lo .. hi`` inclusive."""
    return [date(i // 12, i % 12 + 1, 1).toordinal() for i in range(lo, hi + 1)]


def straight_line_many(
    amounts: Sequence[int],
    starts: Sequence[date],
    ends: Sequence[date],
    *,
    rounding: Rounding = Rounding.HALF_UP,
) -> list[list[int]]:
    """Straight-line revenue per calendar month for many contracts at once.

    Contract ``i`` recognises ``amounts[i]`` (integer minor units) over the
    half-open service period ``[starts[i], ends[i])``, daily-accurate: the
    cumulative target at the end of each calendar month is ``amount x days
    elapsed / days of service``, rounded once with ``rounding``, and each
    month gets its target minus what was recognised before.  So the first and
    last months are partial, nothing drifts, and every row sums exactly to its
    amount.  This is the ``DAILY`` convention of the recognition module, one
    list of ints per contract (one entry per calendar month touched).

    1,000.00 from 15 Jan to 14 Apr 2025 inclusive, and 100.00 over February:

    Raises :class:`~milestonebill.errors.ValidationError` naming ``starts`` when the
    sequences differ in length, ``ends[i]`` for an end not after its start, or
    ``rounding`` for anything but a :class:`~milestonebill.money.Rounding`.

    >>> straight_line_many([100000, 10000], [date(2025, 1, 15), date(2024, 2, 1)],
    ...                    [date(2025, 4, 15), date(2024, 3, 1)])
    [[18889, 31111, 34444, 15556], [10000]]
    """
    n = len(amounts)
    if len(starts) != n or len(ends) != n:
        raise ValidationError("starts", f"starts and ends as long as amounts ({n})",
                              f"{len(starts)} starts and {len(ends)} ends")
    if n == 0:
        return []
    _check_ints(amounts, "amounts")
    _check_dates(starts, "starts")
    _check_dates(ends, "ends")
    s_ord = [d.toordinal() for d in starts]
    e_ord = [d.toordinal() for d in ends]
    if not all(map(lt, s_ord, e_ord)):
        i = next(i for i, (s, e) in enumerate(zip(s_ord, e_ord, strict=True)) if not s < e)
        raise ValidationError(f"ends[{i}]", f"a date after starts[{i}] ({starts[i]})", ends[i])
    if not isinstance(rounding, Rounding):
        raise ValidationError("rounding", "a Rounding", rounding)
    idx = [_month_index(d) for d in starts]
    lo = min(idx)
    firsts = _month_firsts(lo, max(map(_month_index, ends)))
    half_up = rounding is Rounding.HALF_UP
    out: list[list[int]] = []
    append = out.append
    for a, s, e, i in zip(amounts, s_ord, e_ord, idx, strict=True):
        t = e - s
        j = i - lo + 1
        # days elapsed at each month end inside the service, then at its end
        elapsed = [f - s for f in firsts[j:bisect_left(firsts, e, j)]]
        elapsed.append(t)
        if half_up and a >= 0:
            t2 = 2 * t
            cum = [(2 * a * d + t) // t2 for d in elapsed]
        else:
            cum = [round_ratio(a * d, t, rounding) for d in elapsed]
        append(list(map(sub, cum, [0, *cum])))
    return out


def monthly_invoices_many(
    starts: Sequence[date],
    amounts: Sequence[int],
    *,
    count: int,
    every_months: int = 1,
    anchor_days: Sequence[int] | None = None,
    yearly_percent: Decimal | int = 0,
    step_minor: int = 1,
    rounding: Rounding = Rounding.HALF_UP,
) -> tuple[list[list[date]], list[list[int]]]:
    """Billing dates and amounts of many recurring charges billed in advance.

    Row ``i`` is the charge that starts on ``starts[i]`` (which must be on its
    anchor day, ``anchor_days[i]`` or by default ``starts[i].day``, clamped to
    the month's end) at ``amounts[i]`` minor units, billed every
    ``every_months`` months for ``count`` periods.  Dates are anchor-based,
    never accumulated: anchored on the 31st it bills 31 Jan, 29 Feb, 31 Mar.
    On each anniversary of the start the price rises by ``yearly_percent``,
    compounding, rounded once with ``rounding`` to a multiple of
    ``step_minor``.  The result equals the billing date and amount of each
    charge of ``RecurringCharge(..., count=count, escalations=(Escalation(
    percent=yearly_percent, ...),)).charges()``, as two lists of lists; equal
    dates share one ``date`` object.

    >>> dates, amounts = monthly_invoices_many([date(2024, 11, 30)], [100000], count=4,
    ...                                        anchor_days=[31], yearly_percent=3)
    >>> [d.isoformat() for d in dates[0]], amounts
    (['2024-11-30', '2024-12-31', '2025-01-31', '2025-02-28'], [[100000, 100000, 100000, 100000]])
    >>> monthly_invoices_many([date(2024, 1, 31)], [2450], count=14, yearly_percent=3)[1]
    [[2450, 2450, 2450, 2450, 2450, 2450, 2450, 2450, 2450, 2450, 2450, 2450, 2524, 2524]]
    """
    n = len(starts)
    pct = _check_series(n, amounts, anchor_days, count=count, every_months=every_months,
                        step_minor=step_minor, rounding=rounding, yearly_percent=yearly_percent)
    if n == 0:
        return [], []
    _check_ints(amounts, "amounts")
    _check_dates(starts, "starts")
    anchors = [d.day for d in starts] if anchor_days is None else list(anchor_days)
    dates = _anchored_dates(starts, anchors, count=count, every_months=every_months)
    # Period k starts (k * every_months) months after the start, on or after
    # the anniversary in the same month, so its price has had
    # (k * every_months) // 12 uplifts.  Runs of equal prices per row:
    runs: list[int] = []
    for k in range(count):
        year = k * every_months // 12
        if year == len(runs):
            runs.append(0)
        runs[year] += 1
    return dates, _escalated_rows(amounts, runs, (100 + pct) / 100, step_minor, rounding)


def _check_series(n: int, amounts: Sequence[int], anchor_days: Sequence[int] | None, *,
                  count: int, every_months: int, step_minor: int, rounding: Rounding,
                  yearly_percent: Decimal | int) -> Fraction:
    """Check the arguments of :func:`monthly_invoices_many`; the uplift as a fraction."""
    if type(count) is not int or count < 1:
        raise ValidationError("count", "a whole number, 1 or more", count)
    if type(every_months) is not int or every_months < 1:
        raise ValidationError("every_months", "a whole number of months, 1 or more",
                              every_months)
    if type(step_minor) is not int or step_minor < 1:
        raise ValidationError("step_minor", "a whole number of minor units, 1 or more",
                              step_minor)
    if not isinstance(rounding, Rounding):
        raise ValidationError("rounding", "a Rounding", rounding)
    pct = as_fraction(yearly_percent, "yearly_percent")
    if not pct > -100:
        raise ValidationError("yearly_percent", "more than -100", yearly_percent)
    if len(amounts) != n:
        raise ValidationError("amounts", f"one amount per start ({n})", f"{len(amounts)} amounts")
    if anchor_days is not None and len(anchor_days) != n:
        raise ValidationError("anchor_days", f"one anchor day per start ({n})",
                              f"{len(anchor_days)} anchor days")
    return pct


def _anchored_dates(starts: Sequence[date], anchors: list[int], *, count: int,
                    every_months: int) -> list[list[date]]:
    """Each series' billing dates, anchor-based; equal dates share one object."""
    if not (set(map(type, anchors)) <= {int} and min(anchors) >= 1 and max(anchors) <= 31):
        i = next(i for i, a in enumerate(anchors) if type(a) is not int or not 1 <= a <= 31)
        raise ValidationError(f"anchor_days[{i}]", "a day from 1 to 31", anchors[i])
    idx = [_month_index(d) for d in starts]
    lo = min(idx)
    span = (count - 1) * every_months
    hi = max(idx) + span
    if hi // 12 > 9999:
        raise ValidationError("count", "periods that end by the year 9999", count)
    month_days = [periods.days_in_month(i // 12, i % 12 + 1) for i in range(lo, hi + 1)]
    on_anchor = [d.day == (a if a < m else m) for d, a, m in
                 zip(starts, anchors, [month_days[i - lo] for i in idx], strict=True)]
    if not all(on_anchor):
        i = on_anchor.index(False)
        raise ValidationError(f"starts[{i}]", f"a date on anchor day {anchors[i]}", starts[i])
    # One row of shared date objects per anchor day in use, indexed by month.
    tables: dict[int, list[date]] = {}
    for a in set(anchors):
        tables[a] = [date(i // 12, i % 12 + 1, min(a, month_days[i - lo]))
                     for i in range(lo, hi + 1)]
    stop = span + 1
    return [tables[a][i - lo:i - lo + stop:every_months]
            for a, i in zip(anchors, idx, strict=True)]


def _escalated_rows(amounts: Sequence[int], runs: list[int], ratio: Fraction, step_minor: int,
                    rounding: Rounding) -> list[list[int]]:
    """Each series' price per period: ``runs[y]`` periods at the price of year ``y``,
    each year's uplift rounded once to a multiple of ``step_minor``."""
    rows: list[list[int]] = []
    append = rows.append
    if len(runs) == 1:
        only = runs[0]
        for p in amounts:
            append([p] * only)
        return rows
    up_num = ratio.numerator
    up_den = ratio.denominator * step_minor
    later = runs[1:]
    if rounding is Rounding.HALF_UP and min(amounts) >= 0 and up_num >= 0:
        # round_ratio inlined for non-negative prices: half-up is (2x + d) // 2d
        up_num2, up_den2 = 2 * up_num, 2 * up_den
        for base in amounts:
            price = base
            row = [price] * runs[0]
            for length in later:
                price = (price * up_num2 + up_den) // up_den2 * step_minor
                row += [price] * length
            append(row)
        return rows
    for base in amounts:
        price = base
        row = [price] * runs[0]
        for length in later:
            price = round_ratio(price * up_num, up_den, rounding) * step_minor
            row += [price] * length
        append(row)
    return rows

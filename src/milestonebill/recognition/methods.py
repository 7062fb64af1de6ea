"""Step 4 of the revenue model: recognition schedules by method and convention.

Point in time (:func:`recognise_at`), straight line under four named
:class:`Convention` s (:func:`recognise_straight_line`), the output method
(:func:`recognise_output`) and the cost-to-cost input method
(:func:`recognise_cost_to_cost`), each a :class:`RecognitionSchedule` per
reporting period of a :class:`Granularity`.  Everything here is also
importable from :mod:`milestonebill.recognition`.  Every over-time schedule recognises ``round(cumulative target) - recognised
so far`` in each reporting period, so nothing drifts and the last period ties.

Units: amounts are :class:`~milestonebill.money.Money`; ``service`` and each
reporting period are half-open :class:`~milestonebill.periods.Period` s
(start included, end excluded); units delivered and costs are exact numbers
(int, ``Decimal``, ``Fraction``; never float).

Every function here raises :class:`~milestonebill.errors.ValidationError` naming the field and the
value for bad input: an empty list of deliveries or cost reports, an
argument of the wrong type (``service`` not a Period, ``granularity`` not a
:class:`Granularity`, ``convention`` not a :class:`Convention`), negative
units, or a total below what was already delivered.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import attrs

from milestonebill._trusted import constructor, fraction
from milestonebill.errors import ValidationError
from milestonebill.ids import ObligationId
from milestonebill.limits import MAX_AMOUNT_MINOR
from milestonebill.money import Money, Ratio, Rounding, as_fraction, round_ratio
from milestonebill.periods import DayCount, Period, add_months, day_fraction
from milestonebill.recognition._quantum import quantum_of, quantum_step, round_to_step

__all__ = [
    "Convention",
    "CostReport",
    "Granularity",
    "Method",
    "RecognitionLine",
    "RecognitionSchedule",
    "bucket",
    "buckets",
    "recognise_at",
    "recognise_cost_to_cost",
    "recognise_output",
    "recognise_straight_line",
]


class Granularity(enum.Enum):
    """The reporting period revenue is bucketed into."""

    DAY = "day"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"

    @property
    def rank(self) -> int:
        """0 for a day up to 3 for a year: a coarser period ranks higher.

        >>> max([Granularity.QUARTER, Granularity.DAY], key=lambda g: g.rank)
        <Granularity.QUARTER: 'quarter'>
        """
        return _RANK[self]


_RANK = {Granularity.DAY: 0, Granularity.MONTH: 1, Granularity.QUARTER: 2, Granularity.YEAR: 3}


def bucket(d: date, granularity: Granularity) -> Period:
    """The reporting period of ``granularity`` that contains ``d``.

    >>> str(bucket(date(2025, 5, 17), Granularity.QUARTER))
    '[2025-04-01, 2025-07-01)'
    """
    if granularity is Granularity.DAY:
        return Period(d, d + timedelta(days=1))
    if granularity is Granularity.MONTH:
        return Period.month(d.year, d.month)
    if granularity is Granularity.QUARTER:
        first = date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)
        return Period(first, add_months(first, 3))
    if granularity is Granularity.YEAR:
        return Period.year(d.year)
    raise ValidationError("granularity", "a Granularity", granularity)


def buckets(span: Period, granularity: Granularity) -> Iterator[Period]:
    """The pieces of ``span`` cut at reporting-period boundaries."""
    cur = span.start
    while cur < span.end:
        b = bucket(cur, granularity)
        piece = Period(cur, min(b.end, span.end))
        yield piece
        cur = piece.end


class Method(enum.Enum):
    """How progress is measured (ASC 606-10-25-31 and 55-16 to 55-21)."""

    POINT_IN_TIME = "point_in_time"
    STRAIGHT_LINE = "straight_line"
    OUTPUT = "output"
    COST_TO_COST = "cost_to_cost"


class Convention(enum.Enum):
    """How a straight-line schedule splits an amount over calendar periods.

    * ``DAILY`` -- this library: actual days elapsed over actual days in the
      service period, cumulative rounding; partial first and last periods.
    * ``DAY_RATE`` -- a daily rate rounded to the quantum, times the days in
      each period; the last period takes the plug.
    * ``THIRTY_DAY_MONTH`` -- every month counts 30 days (30E/360),
      cumulative rounding.
    * ``FULL_MONTH`` -- the amount over the service length in months gives a
      monthly amount; each calendar month from the first gets it in full and
      the last period takes the plug.
    """

    DAILY = "daily"
    DAY_RATE = "day_rate"
    THIRTY_DAY_MONTH = "thirty_day_month"
    FULL_MONTH = "full_month"


@attrs.frozen
class RecognitionLine:
    """Revenue recognised in one reporting period.

    ``on`` is the date the revenue is booked: the event date for a point in
    time, otherwise the last day of the reporting period.  ``progress`` is
    the measure of progress at the end of the period (0 to 1).  ``catch_up``
    is the part of ``amount`` that corrects earlier periods after a change of
    estimate or price (cost-to-cost only).
    """

    period: Period
    on: date
    amount: Money
    cumulative: Money
    progress: Fraction
    catch_up: Money | None = None


_make_line = constructor(RecognitionLine)
_make_period = constructor(Period)
_make_money = constructor(Money)


def _lines(value: Iterable[RecognitionLine]) -> tuple[RecognitionLine, ...]:
    return tuple(value)


@attrs.frozen
class RecognitionSchedule:
    """Revenue of one obligation per reporting period, with its conventions named.

    ``total`` is what the schedule recognises over its life; ``rounding`` and
    ``quantum`` (currency units) say how each cumulative target was rounded.
    """

    obligation_id: ObligationId | None
    total: Money
    method: Method
    convention: Convention | None
    granularity: Granularity
    rounding: Rounding
    quantum: Decimal
    lines: tuple[RecognitionLine, ...] = attrs.field(converter=_lines)

    @property
    def recognised(self) -> Money:
        """Sum of all lines."""
        return Money.total((ln.amount for ln in self.lines), currency=self.total.currency)

    def recognised_through(self, d: date) -> Money:
        """Revenue booked on or before ``d``."""
        return Money.total((ln.amount for ln in self.lines if ln.on <= d),
                           currency=self.total.currency)

    def amounts(self) -> tuple[Money, ...]:
        """The per-period amounts, in order."""
        return tuple(ln.amount for ln in self.lines)

    def table(self) -> list[tuple[str, str]]:
        """``(period, amount)`` text pairs, handy in notebooks and docs."""
        return [(str(ln.period), str(ln.amount.amount)) for ln in self.lines]


def _check(amount: Money, granularity: Granularity, rounding: Rounding) -> None:
    if not isinstance(amount, Money):
        raise ValidationError("amount", "a Money", amount)
    if not isinstance(granularity, Granularity):
        raise ValidationError("granularity", "a Granularity", granularity)
    if not isinstance(rounding, Rounding):
        raise ValidationError("rounding", "a Rounding", rounding)


def _cumulative_lines(
    amount: Money,
    targets: Sequence[tuple[Period, date, Fraction]],
    rounding: Rounding,
    step: int,
) -> list[RecognitionLine]:
    """Lines from cumulative progress per period: round(target) - recognised so far."""
    cur = amount.currency
    out: list[RecognitionLine] = []
    done = 0
    for period, on, progress in targets:
        if progress == 1:
            cum = amount.minor
        else:
            cum = round_to_step(amount.minor * progress, step, rounding)
        out.append(RecognitionLine(period, on, Money.from_minor(cum - done, cur),
                                   Money.from_minor(cum, cur), progress))
        done = cum
    return out


def recognise_at(
    amount: Money,
    on: date,
    *,
    granularity: Granularity = Granularity.MONTH,
    obligation_id: str | None = None,
) -> RecognitionSchedule:
    """Point in time: all of ``amount`` on the day control passes (acceptance, completion).

    >>> s = recognise_at(Money("40000.00", "USD"), date(2025, 3, 14))
    >>> s.table(), s.lines[0].on
    ([('[2025-03-01, 2025-04-01)', '40000.00')], datetime.date(2025, 3, 14))
    """
    _check(amount, granularity, Rounding.HALF_UP)
    line = RecognitionLine(bucket(on, granularity), on, amount, amount, Fraction(1))
    return RecognitionSchedule(
        _oid(obligation_id), amount, Method.POINT_IN_TIME, None, granularity,
        Rounding.HALF_UP, amount.currency.quantum, (line,),
    )


def _oid(value: str | None) -> ObligationId | None:
    return None if value is None else ObligationId(value)


def _months_count(service: Period) -> Fraction:
    k = 0
    while add_months(service.start, k + 1) <= service.end:
        k += 1
    boundary = add_months(service.start, k)
    rest = (service.end - boundary).days
    if rest == 0:
        return Fraction(k)
    return k + Fraction(rest, (add_months(service.start, k + 1) - boundary).days)


def recognise_straight_line(
    amount: Money,
    service: Period,
    *,
    granularity: Granularity = Granularity.MONTH,
    convention: Convention = Convention.DAILY,
    rounding: Rounding = Rounding.HALF_UP,
    quantum: Decimal | None = None,
    obligation_id: str | None = None,
) -> RecognitionSchedule:
    """Straight line over the half-open ``service`` period.

    The default ``Convention.DAILY`` is daily-accurate: the cumulative
    target at the end of each reporting period is ``amount x days elapsed /
    days of service``, rounded once, so partial first and last months get
    exactly their days.  The other conventions reproduce what other systems
    do (see :class:`Convention` and ``docs/recognition.md``).

    1,000.00 from 15 Jan to 14 Apr 2025 inclusive (90 days):

    >>> s = recognise_straight_line(Money("1000.00", "USD"), Period.of("2025-01-15", "2025-04-15"))
    >>> [a for _, a in s.table()]
    ['188.89', '311.11', '344.44', '155.56']
    """
    _check(amount, granularity, rounding)
    if not isinstance(service, Period):
        raise ValidationError("service", "a Period", service)
    if not isinstance(convention, Convention):
        raise ValidationError("convention", "a Convention", convention)
    cur = amount.currency
    step = quantum_step(cur, quantum)
    if convention is Convention.FULL_MONTH:
        lines = _full_month_lines(amount, service, granularity, rounding, step)
    elif convention is Convention.DAY_RATE:
        lines = _day_rate_lines(amount, service, granularity, rounding, step)
    elif convention is Convention.DAILY:
        lines = _daily_lines(amount, service, granularity, rounding, step)
    else:
        basis = DayCount.THIRTY_360_EU
        if basis is DayCount.THIRTY_360_EU and _days_30e(service) == 0:
            # A single 31st counts as no day on 30E/360: fall back to actual days.
            basis = DayCount.ACTUAL_OVER_PERIOD
        targets = []
        for piece in buckets(service, granularity):
            elapsed = Period(service.start, piece.end)
            progress = day_fraction(elapsed, service, basis=basis)
            targets.append((piece, piece.last_day, min(progress, Fraction(1))))
        lines = _cumulative_lines(amount, targets, rounding, step)
    return RecognitionSchedule(
        _oid(obligation_id), amount, Method.STRAIGHT_LINE, convention, granularity,
        rounding, quantum_of(cur, quantum), tuple(lines),
    )


def _daily_lines(
    amount: Money, service: Period, granularity: Granularity, rounding: Rounding, step: int
) -> list[RecognitionLine]:
    """``Convention.DAILY``: cumulative targets ``amount x elapsed / total`` in integer days.

    Gives the lines of ``day_fraction`` on ``ACTUAL_OVER_PERIOD`` and
    ``_cumulative_lines`` without ``Fraction`` arithmetic per period.  Month
    pieces are walked as integer month indices, and the values of each line
    (a ``Period`` of two dates in order, two ``Money`` within the bound) are
    built through trusted constructors: they are valid by construction.
    """
    if granularity is not Granularity.MONTH:
        return _daily_lines_of(amount, service, buckets(service, granularity), rounding, step)
    cur = amount.currency
    minor = amount.minor
    start, end = service.start, service.end
    total = (end - start).days
    den = total * step
    half_up = rounding is Rounding.HALF_UP and minor >= 0 and step == 1
    one_day = timedelta(days=1)
    out: list[RecognitionLine] = []
    append = out.append
    shared: dict[int, Money] = {}
    done = 0
    a = start
    index = start.year * 12 + start.month - 1  # ``a``'s month: year * 12 + month - 1
    while a < end:
        if a.day == 1 and index < _LAST_MONTH and (whole := _calendar_month(index))[2] <= end:
            piece, on, b = whole  # a whole calendar month: shared with every schedule
        else:
            year, month0 = divmod(index + 1, 12)
            nxt = date(year, month0 + 1, 1) if year <= 9999 else end
            b = nxt if nxt < end else end
            piece, on = _make_period(a, b), b - one_day
        elapsed = (b - start).days
        if elapsed == total:
            cum = minor
        elif half_up:
            cum = (2 * minor * elapsed + total) // (2 * total)  # round_ratio, HALF_UP, >= 0
        else:
            cum = round_ratio(minor * elapsed, den, rounding) * step
            if not -MAX_AMOUNT_MINOR <= cum <= MAX_AMOUNT_MINOR:
                Money.from_minor(cum - done, cur)  # raises for the first amount past the
                Money.from_minor(cum, cur)  # bound, as the checked constructor would
        part = cum - done
        if not -MAX_AMOUNT_MINOR <= part <= MAX_AMOUNT_MINOR:
            Money.from_minor(part, cur)  # raises, naming the amount
        share = shared.get(part)  # most months recognise one of a few amounts
        if share is None:
            share = shared[part] = _make_money(part, cur)
        append(_make_line(piece, on, share, _make_money(cum, cur), fraction(elapsed, total),
                          None))
        done = cum
        a = b
        index += 1
    return out


#: The index of December 9999: the one month whose end is not a date.
_LAST_MONTH = 9999 * 12 + 11


@functools.lru_cache(maxsize=4096)
def _calendar_month(index: int) -> tuple[Period, date, date]:
    """Month ``index`` (``year * 12 + month - 1``, before December 9999) as its
    ``Period``, last day and end: the middle pieces of every monthly schedule."""
    year, month0 = divmod(index, 12)
    nyear, nmonth0 = divmod(index + 1, 12)
    end = date(nyear, nmonth0 + 1, 1)
    return _make_period(date(year, month0 + 1, 1), end), end - timedelta(days=1), end


def _daily_lines_of(
    amount: Money, service: Period, pieces: Iterable[Period], rounding: Rounding, step: int
) -> list[RecognitionLine]:
    """``Convention.DAILY`` over any reporting pieces (weeks, quarters, years)."""
    cur = amount.currency
    minor = amount.minor
    start = service.start
    total = (service.end - start).days
    den = total * step
    one_day = timedelta(days=1)
    from_minor = Money.from_minor
    out: list[RecognitionLine] = []
    done = 0
    for piece in pieces:
        elapsed = (piece.end - start).days
        cum = minor if elapsed == total else round_ratio(minor * elapsed, den, rounding) * step
        out.append(RecognitionLine(piece, piece.end - one_day, from_minor(cum - done, cur),
                                   from_minor(cum, cur), Fraction(elapsed, total)))
        done = cum
    return out


def _days_30e(p: Period) -> int:
    """Days of ``p`` on 30E/360 (every 31st counts as the 30th)."""
    d1, d2 = min(p.start.day, 30), min(p.end.day, 30)
    return 360 * (p.end.year - p.start.year) + 30 * (p.end.month - p.start.month) + d2 - d1


def _plugged(amount: Money, pieces: Sequence[tuple[Period, int]]) -> list[RecognitionLine]:
    """Lines from per-piece amounts; the last piece takes the plug."""
    cur = amount.currency
    out: list[RecognitionLine] = []
    done = 0
    for i, (piece, part) in enumerate(pieces):
        value = amount.minor - done if i == len(pieces) - 1 else part
        done += value
        progress = Fraction(done, amount.minor) if amount.minor else Fraction(1)
        out.append(RecognitionLine(piece, piece.last_day, Money.from_minor(value, cur),
                                   Money.from_minor(done, cur), progress))
    return out


def _day_rate_lines(
    amount: Money, service: Period, granularity: Granularity, rounding: Rounding, step: int
) -> list[RecognitionLine]:
    rate = round_ratio(amount.minor, service.days * step, rounding) * step
    pieces = [(p, rate * p.days) for p in buckets(service, granularity)]
    return _plugged(amount, pieces)


def _full_month_lines(
    amount: Money, service: Period, granularity: Granularity, rounding: Rounding, step: int
) -> list[RecognitionLine]:
    if granularity is Granularity.DAY:
        raise ValidationError("granularity", "MONTH, QUARTER or YEAR for FULL_MONTH",
                              granularity.name)
    months = _months_count(service)
    monthly = round_to_step(amount.minor / months, step, rounding)
    sign = -1 if amount.minor < 0 else 1
    left = amount.minor
    per_month: list[tuple[Period, int]] = []
    for piece in buckets(service, Granularity.MONTH):
        part = sign * min(abs(monthly), abs(left))
        per_month.append((piece, part))
        left -= part
    merged: list[tuple[Period, int]] = []
    for piece, part in per_month:
        b = bucket(piece.start, granularity)
        if merged and merged[-1][0].end == piece.start and bucket(merged[-1][0].start,
                                                                   granularity) == b:
            prev, value = merged[-1]
            merged[-1] = (Period(prev.start, piece.end), value + part)
        else:
            merged.append((piece, part))
    return _plugged(amount, merged)


def recognise_output(
    amount: Money,
    deliveries: Sequence[tuple[date, Ratio]],
    *,
    total_units: Ratio | None = None,
    granularity: Granularity = Granularity.MONTH,
    rounding: Rounding = Rounding.HALF_UP,
    quantum: Decimal | None = None,
    obligation_id: str | None = None,
) -> RecognitionSchedule:
    """Output method: progress is units delivered (or milestone weights achieved).

    ``deliveries`` are ``(date, units)``; ``total_units`` defaults to their
    sum (everything delivered).  Cumulative rounding per reporting period.

    Three milestones weighted 1 : 2 : 1 on a 10,000.00 engagement:

    >>> s = recognise_output(Money("10000.00", "EUR"), [(date(2025, 2, 10), 1),
    ...     (date(2025, 4, 30), 2), (date(2025, 6, 2), 1)])
    >>> [a for _, a in s.table()]
    ['2500.00', '5000.00', '2500.00']
    """
    _check(amount, granularity, rounding)
    units = [(d, as_fraction(u, f"deliveries[{i}].units")) for i, (d, u) in enumerate(deliveries)]
    if not units:
        raise ValidationError("deliveries", "at least one delivery", [])
    for i, (_, u) in enumerate(units):
        if u < 0:
            raise ValidationError(f"deliveries[{i}].units", "zero or more", u)
    total = sum((u for _, u in units), Fraction(0)) if total_units is None else as_fraction(
        total_units, "total_units")
    done_units = sum((u for _, u in units), Fraction(0))
    if total <= 0 or done_units > total:
        raise ValidationError("total_units", f"positive and at least the units delivered "
                              f"({done_units})", total)
    targets = _group_progress(sorted(units, key=lambda x: x[0]), granularity, total)
    cur = amount.currency
    lines = _cumulative_lines(amount, targets, rounding, quantum_step(cur, quantum))
    return RecognitionSchedule(
        _oid(obligation_id), amount, Method.OUTPUT, None, granularity, rounding,
        quantum_of(cur, quantum), tuple(lines),
    )


def _group_progress(
    points: Sequence[tuple[date, Fraction]],
    granularity: Granularity,
    total: Fraction,
) -> list[tuple[Period, date, Fraction]]:
    acc = Fraction(0)
    out: list[tuple[Period, date, Fraction]] = []
    for d, u in points:
        acc += u
        b = bucket(d, granularity)
        entry = (b, b.last_day, acc / total)
        if out and out[-1][0] == b:
            out[-1] = entry
        else:
            out.append(entry)
    return out


@attrs.frozen
class CostReport:
    """Costs measured on ``on`` for the cost-to-cost input method.

    ``incurred`` is cumulative cost to date; ``estimated_total`` the current
    estimate of total cost; ``price`` the transaction price from this date
    when it changed (modification, released variable consideration).
    """

    on: date
    incurred: Money
    estimated_total: Money
    price: Money | None = None


def _progress(report: CostReport, places: int | None, rounding: Rounding, i: int) -> Fraction:
    if report.estimated_total.minor <= 0:
        raise ValidationError(f"reports[{i}].estimated_total", "greater than zero",
                              report.estimated_total)
    if not 0 <= report.incurred.minor <= report.estimated_total.minor:
        raise ValidationError(f"reports[{i}].incurred",
                              f"between 0 and the estimated total {report.estimated_total}",
                              report.incurred)
    exact = Fraction(report.incurred.minor, report.estimated_total.minor)
    if places is None:
        return exact
    scale = 10**places
    return Fraction(round_ratio(exact.numerator * scale, exact.denominator, rounding), scale)


def recognise_cost_to_cost(
    price: Money,
    reports: Sequence[CostReport],
    *,
    granularity: Granularity = Granularity.MONTH,
    rounding: Rounding = Rounding.HALF_UP,
    quantum: Decimal | None = None,
    progress_places: int | None = None,
    progress_rounding: Rounding = Rounding.HALF_UP,
    obligation_id: str | None = None,
) -> RecognitionSchedule:
    """Input method, cost-to-cost: progress = costs incurred / estimated total costs.

    Each reporting period recognises ``round(price x progress) - recognised so
    far``.  A change of estimate or of price produces a cumulative catch-up
    in the period it is made, shown on the line as ``catch_up`` (the effect
    on work already done).  ``progress_places`` rounds progress to that many
    decimal places first, as published examples do (3 places: 51.2%); the
    default ``None`` keeps it exact.

    A 100,000.00 fee, costs estimated at 60,000 then at 80,000:

    >>> r = [CostReport(date(2025, 1, 31), Money("30000", "USD"), Money("60000", "USD")),
    ...      CostReport(date(2025, 2, 28), Money("40000", "USD"), Money("80000", "USD")),
    ...      CostReport(date(2025, 3, 31), Money("80000", "USD"), Money("80000", "USD"))]
    >>> s = recognise_cost_to_cost(Money("100000.00", "USD"), r)
    >>> [(a, str(ln.catch_up.amount)) for (_, a), ln in zip(s.table(), s.lines)]
    [('50000.00', '0.00'), ('0.00', '-12500.00'), ('50000.00', '0.00')]
    """
    _check(price, granularity, rounding)
    if not reports:
        raise ValidationError("reports", "at least one cost report", [])
    cur = price.currency
    step = quantum_step(cur, quantum)
    if progress_places is not None and (type(progress_places) is not int or progress_places < 0):
        raise ValidationError("progress_places", "None or a whole number >= 0", progress_places)
    ordered = sorted(enumerate(reports), key=lambda x: x[1].on)
    current_price = price
    prev_incurred: Money | None = None
    prev_estimate: Money | None = None
    done = 0
    out: list[RecognitionLine] = []
    for i, rep in ordered:
        if rep.price is not None:
            rep.price.with_currency_check(cur)
        new_price = rep.price if rep.price is not None else current_price
        progress = _progress(rep, progress_places, progress_rounding, i)
        cum = (new_price.minor if progress == 1
               else round_to_step(new_price.minor * progress, step, rounding))
        catch_up = 0
        changed = prev_estimate is not None and (
            rep.estimated_total != prev_estimate or new_price != current_price)
        if changed and prev_incurred is not None:
            earlier = _progress(attrs.evolve(rep, incurred=prev_incurred), progress_places,
                                progress_rounding, i)
            catch_up = round_to_step(new_price.minor * earlier, step, rounding) - _cum_at(out)
        b = bucket(rep.on, granularity)
        if out and out[-1].period == b:
            last = out.pop()
            done -= last.amount.minor
            catch_up += last.catch_up.minor if last.catch_up is not None else 0
        out.append(RecognitionLine(b, b.last_day, Money.from_minor(cum - done, cur),
                                   Money.from_minor(cum, cur), progress,
                                   Money.from_minor(catch_up, cur)))
        done = cum
        current_price = new_price
        prev_incurred, prev_estimate = rep.incurred, rep.estimated_total
    return RecognitionSchedule(
        _oid(obligation_id), current_price, Method.COST_TO_COST, None, granularity, rounding,
        quantum_of(cur, quantum), tuple(out),
    )


def _cum_at(lines: Sequence[RecognitionLine]) -> int:
    return lines[-1].cumulative.minor if lines else 0

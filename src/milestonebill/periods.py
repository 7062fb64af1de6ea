"""Date periods, day-count bases and exact proration.

A :class:`Period` is a half-open range of dates ``[start, end)``: the end
date is the first day *not* in the period, so consecutive periods share a
boundary and never overlap.

>>> jan = Period.month(2024, 1)
>>> jan.days, date(2024, 1, 31) in jan, date(2024, 2, 1) in jan
(31, True, False)

Proration names its day-count basis and its rounding on every result.  Kill
Bill's reference case: a monthly charge of 100.00 that starts on 9 January
with the billing day on the 1st is charged for 23 of January's 31 days:

>>> from decimal import Decimal
>>> used = Period.of("2024-01-09", "2024-02-01")
>>> p = prorate(Money("100.00", "USD"), used, jan,
...             basis=DayCount.ACTUAL_OVER_PERIOD, rounding=Rounding.HALF_UP)
>>> p.amount, p.fraction, round(Decimal(p.fraction.numerator) / p.fraction.denominator, 9)
(Money('74.19', 'USD'), Fraction(23, 31), Decimal('0.741935484'))

Month arithmetic is anchor-based with month-end clamping, never accumulated:

>>> [add_months(date(2024, 1, 31), n) for n in range(3)]
[datetime.date(2024, 1, 31), datetime.date(2024, 2, 29), datetime.date(2024, 3, 31)]
"""

from __future__ import annotations

import calendar
import enum
import functools
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from fractions import Fraction
from itertools import pairwise
from operator import le

import attrs

from milestonebill._trusted import constructor
from milestonebill._validate import check_date, parse_date
from milestonebill.errors import ValidationError
from milestonebill.limits import MAX_AMOUNT_MINOR
from milestonebill.money import Currency, Money, Rounding, round_ratio

__all__ = [
    "DayCount",
    "Period",
    "Proration",
    "add_months",
    "day_fraction",
    "days_in_month",
    "prorate",
    "prorate_many",
    "prorate_minor",
    "prorate_partition",
    "prorate_pieces",
]


def days_in_month(year: int, month: int) -> int:
    """Number of days in a calendar month.

    >>> days_in_month(2024, 2), days_in_month(2023, 2), days_in_month(2024, 12)
    (29, 28, 31)
    """
    if type(month) is int and 1 <= month <= 12 and type(year) is int:
        # A table look-up: calendar.monthrange also works out the weekday.
        return 29 if month == 2 and calendar.isleap(year) else _MONTH_DAYS[month]
    return calendar.monthrange(year, month)[1]


_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def add_months(anchor: date, n: int, *, day: int | None = None) -> date:
    """The date ``n`` months after ``anchor``, on ``day`` clamped to the month's end.

    ``day`` defaults to ``anchor.day``.  The result is always computed from
    the anchor, never from a previous result, so a schedule anchored on the
    31st bills 31 Jan, 29 Feb (leap year), 31 Mar -- it does not drift to
    the 29th.  ``n`` may be negative.  Raises :class:`~milestonebill.errors.ValidationError` naming
    ``n`` (not an int, or a result outside years 1 to 9999) or ``day`` (not
    1 to 31).

    >>> add_months(date(2023, 1, 31), 1)
    datetime.date(2023, 2, 28)
    >>> add_months(date(2024, 2, 29), 12)
    datetime.date(2025, 2, 28)
    >>> add_months(date(2024, 2, 29), 1, day=31)
    datetime.date(2024, 3, 31)
    >>> add_months(date(2024, 3, 31), -1)
    datetime.date(2024, 2, 29)
    """
    if type(n) is not int:
        raise ValidationError("n", "a whole number of months", n)
    if day is None:
        day = anchor.day
    elif type(day) is not int or not 1 <= day <= 31:
        raise ValidationError("day", "a day of the month from 1 to 31", day)
    index = anchor.year * 12 + (anchor.month - 1) + n
    year, month0 = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise ValidationError("n", "a month offset that stays within years 1..9999", n)
    month = month0 + 1
    return date(year, month, min(day, days_in_month(year, month)))


def _months_between(start: date, end: date) -> int:
    """Largest ``k`` with ``add_months(start, k) <= end`` (``start <= end``)."""
    k = (end.year - start.year) * 12 + (end.month - start.month)
    if k > 0 and add_months(start, k) > end:
        k -= 1
    return k


@attrs.frozen(order=True, repr=False, init=False)
class Period:
    """A half-open range of dates ``[start, end)`` with ``start < end``.

    ``start`` is in the period and ``end`` is not.  Raises
    :class:`~milestonebill.errors.ValidationError` naming ``start`` or ``end`` for a value that is
    not a date, and ``end`` when it is not after ``start``.

    >>> q = Period.of("2024-01-15", "2024-04-15")
    >>> q.days
    91
    >>> [str(m) for m in q.months()]
    ['[2024-01-15, 2024-02-01)', '[2024-02-01, 2024-03-01)', '[2024-03-01, 2024-04-01)', '[2024-04-01, 2024-04-15)']
    >>> q.overlap(Period.month(2024, 2))
    Period.of('2024-02-01', '2024-03-01')
    >>> q.split_at(date(2024, 3, 1))
    (Period.of('2024-01-15', '2024-03-01'), Period.of('2024-03-01', '2024-04-15'))
    >>> Period.of("2024-02-01", "2024-02-01")
    Traceback (most recent call last):
    ...
    milestonebill.errors.ValidationError: 'end' must be after start 2024-02-01 (got datetime.date(2024, 2, 1))
    """

    start: date
    end: date

    def __init__(self, start: date, end: date) -> None:
        # Written out rather than generated: a schedule builds one per line,
        # and the common case -- plain dates in order -- is checked in one test.
        if not (type(start) is date and type(end) is date and start < end):
            _check_bounds(start, end)
        _set_start(self, start)
        _set_end(self, end)

    @classmethod
    def of(cls, start: date | str, end: date | str) -> Period:
        """A half-open period ``[start, end)`` from two dates or ISO date strings.

        Raises :class:`~milestonebill.errors.ValidationError` naming ``start`` or ``end`` for text
        that is not an ISO date, or ``end`` when it is not after ``start``.
        """
        return cls(parse_date("start", start), parse_date("end", end))

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        """The calendar month ``[1st of month, 1st of next month)``.

        Raises :class:`~milestonebill.errors.ValidationError` naming ``month`` outside 1-12.

        >>> Period.month(2024, 12)
        Period.of('2024-12-01', '2025-01-01')
        """
        if type(month) is not int or not 1 <= month <= 12:
            raise ValidationError("month", "a month number from 1 to 12", month)
        first = date(year, month, 1)
        return cls(first, add_months(first, 1))

    @classmethod
    def year(cls, year: int) -> Period:
        """The calendar year ``[1 Jan, 1 Jan of the next year)``.

        >>> Period.year(2024).days
        366
        """
        return cls(date(year, 1, 1), date(year + 1, 1, 1))

    @property
    def days(self) -> int:
        """Number of days in the period (the end date is not counted)."""
        return (self.end - self.start).days

    @property
    def last_day(self) -> date:
        """The last date inside the period (``end`` minus one day)."""
        return self.end - timedelta(days=1)

    def __contains__(self, d: object) -> bool:
        if isinstance(d, datetime) or not isinstance(d, date):
            return False
        return self.start <= d < self.end

    def contains_period(self, other: Period) -> bool:
        """True when ``other`` lies entirely inside this period."""
        return self.start <= other.start and other.end <= self.end

    def overlap(self, other: Period) -> Period | None:
        """The common part of two periods (half-open), or ``None`` when they do not meet."""
        start = max(self.start, other.start)
        end = min(self.end, other.end)
        return Period(start, end) if start < end else None

    def split_at(self, d: date) -> tuple[Period, Period]:
        """Split into ``[start, d)`` and ``[d, end)``; ``d`` must be strictly inside.

        Raises :class:`~milestonebill.errors.ValidationError` naming ``d`` if not strictly inside.
        """
        if not self.start < d < self.end:
            raise ValidationError("d", f"a date strictly inside {self}", d)
        return Period(self.start, d), Period(d, self.end)

    def months(self) -> Iterator[Period]:
        """The calendar-month pieces of the period; the first and last may be partial."""
        cur = self.start
        while cur < self.end:
            nxt = min(add_months(cur.replace(day=1), 1), self.end)
            yield Period(cur, nxt)
            cur = nxt

    def __repr__(self) -> str:
        return f"Period.of('{self.start.isoformat()}', '{self.end.isoformat()}')"

    def __str__(self) -> str:
        return f"[{self.start.isoformat()}, {self.end.isoformat()})"


_set_start = vars(Period)["start"].__set__
_set_end = vars(Period)["end"].__set__


def _check_bounds(start: object, end: object) -> None:
    """Raise the error that names what makes ``[start, end)`` not a period."""
    for name, value in (("start", start), ("end", end)):
        if isinstance(value, str):
            raise ValidationError(name, "a date (use Period.of for ISO strings)", value)
        check_date(name, value)
    assert isinstance(start, date)
    assert isinstance(end, date)
    if not start < end:
        raise ValidationError("end", f"after start {start.isoformat()}", end)


class DayCount(enum.Enum):
    """How much of a whole period a part of it is worth.

    Every basis gives ``measure(used) / measure(whole)``:

    * ``ACTUAL_OVER_PERIOD`` -- actual days used over the actual days of the
      whole period (Kill Bill): 23 days of a 31-day month are 23/31.
    * ``ACTUAL_365_FIXED`` -- actual days used over 365, against the whole
      period measured in years as months/12: one day of a monthly charge is
      12/365 of it, whatever the month's length.
    * ``THIRTY_360_US`` -- both periods counted 30/360 with the US (SIA) rules:
      a start on the 31st or on the last day of February counts as the 30th,
      and an end on the 31st counts as the 30th when the start is the 30th/31st.
    * ``THIRTY_360_EU`` -- 30E/360: every 31st counts as the 30th.
    * ``MONTHS_AND_DAYS`` -- whole months (anchor-based from the start)
      plus the remaining days over the length of the month-long period that
      follows the last whole month.
    """

    ACTUAL_OVER_PERIOD = "actual_over_period"
    ACTUAL_365_FIXED = "actual_365_fixed"
    THIRTY_360_US = "thirty_360_us"
    THIRTY_360_EU = "thirty_360_eu"
    MONTHS_AND_DAYS = "months_and_days"


def _is_last_of_february(d: date) -> bool:
    return d.month == 2 and d.day == days_in_month(d.year, 2)


def _days_360(p: Period, *, us: bool) -> int:
    d1, d2 = p.start.day, p.end.day
    if us:
        if _is_last_of_february(p.start) and _is_last_of_february(p.end):
            d2 = 30
        if _is_last_of_february(p.start):
            d1 = 30
        if d2 == 31 and d1 >= 30:
            d2 = 30
        if d1 == 31:
            d1 = 30
    else:
        d1, d2 = min(d1, 30), min(d2, 30)
    return (
        360 * (p.end.year - p.start.year) + 30 * (p.end.month - p.start.month) + (d2 - d1)
    )


def _months_measure(p: Period) -> Fraction:
    k = _months_between(p.start, p.end)
    boundary = add_months(p.start, k)
    rest = (p.end - boundary).days
    if rest == 0:
        return Fraction(k)
    month_len = (add_months(p.start, k + 1) - boundary).days
    return k + Fraction(rest, month_len)


def _measure(p: Period, basis: DayCount) -> Fraction:
    if basis is DayCount.ACTUAL_OVER_PERIOD:
        return Fraction(p.days)
    if basis is DayCount.THIRTY_360_US:
        return Fraction(_days_360(p, us=True))
    if basis is DayCount.THIRTY_360_EU:
        return Fraction(_days_360(p, us=False))
    if basis is DayCount.MONTHS_AND_DAYS:
        return _months_measure(p)
    raise AssertionError(basis)  # pragma: no cover


def day_fraction(used: Period, whole: Period, *, basis: DayCount) -> Fraction:
    """The exact share of ``whole`` that ``used`` represents on ``basis``.

    ``used`` must lie inside ``whole`` (both half-open).  The result is an exact ``Fraction``,
    never rounded.  Raises :class:`~milestonebill.errors.ValidationError` naming ``basis`` (not a
    :class:`DayCount`), ``used`` (not inside ``whole``) or ``whole`` (zero length on a 30/360
    basis).

    >>> jan = Period.month(2024, 1)
    >>> used = Period.of("2024-01-09", "2024-02-01")
    >>> [str(day_fraction(used, jan, basis=b)) for b in DayCount]
    ['23/31', '276/365', '11/15', '11/15', '23/31']
    """
    if not isinstance(basis, DayCount):
        raise ValidationError("basis", "a DayCount", basis)
    if not whole.contains_period(used):
        raise ValidationError("used", f"a period inside {whole}", str(used))
    if basis is DayCount.ACTUAL_OVER_PERIOD:
        # Both lengths are positive whole days (``Period`` guarantees start < end).
        return Fraction((used.end - used.start).days, (whole.end - whole.start).days)
    if basis is DayCount.ACTUAL_365_FIXED:
        return Fraction(used.days * 12) / (365 * _months_measure(whole))
    den = _measure(whole, basis)
    if den <= 0:
        raise ValidationError("whole", f"a period of positive length on {basis.name}", str(whole))
    num = _measure(used, basis)
    return max(num, Fraction(0)) / den


@attrs.frozen
class Proration:
    """The result of prorating an amount: what was charged and why.

    ``amount`` is the prorated amount, rounded once with ``rounding``;
    ``fraction`` is the exact share of the whole that was charged.
    """

    amount: Money
    fraction: Fraction
    basis: DayCount
    rounding: Rounding
    used: Period
    whole: Period

    def describe(self) -> str:
        """One-line provenance text.

        >>> p = prorate(Money("100.00", "USD"), Period.of("2024-01-09", "2024-02-01"),
        ...             Period.month(2024, 1), basis=DayCount.ACTUAL_OVER_PERIOD,
        ...             rounding=Rounding.HALF_UP)
        >>> p.describe()
        'prorated 23/31 of [2024-01-01, 2024-02-01) for [2024-01-09, 2024-02-01) (actual_over_period, half_up)'
        """
        return (
            f"prorated {self.fraction} of {self.whole} for {self.used} "
            f"({self.basis.value}, {self.rounding.name.lower()})"
        )


_make_money = constructor(Money)
_make_proration = constructor(Proration)


def prorate(
    amount: Money, used: Period, whole: Period, *, basis: DayCount, rounding: Rounding
) -> Proration:
    """Charge ``amount`` (the price of ``whole``) for the part ``used``.

    ``amount`` is :class:`Money`; ``used`` and ``whole`` are half-open periods.  The exact fraction
    is applied once and rounded once to the minor unit.  Raises
    :class:`~milestonebill.errors.ValidationError` naming ``amount`` (not Money), ``rounding`` (not
    a :class:`Rounding`) or ``used`` (not inside ``whole``).

    >>> jan = Period.month(2024, 1)
    >>> used = Period.of("2024-01-09", "2024-02-01")
    >>> prorate(Money("100.00", "USD"), used, jan,
    ...         basis=DayCount.THIRTY_360_EU, rounding=Rounding.HALF_UP).amount
    Money('73.33', 'USD')
    >>> prorate(Money("10000", "JPY"), used, jan,
    ...         basis=DayCount.ACTUAL_OVER_PERIOD, rounding=Rounding.HALF_EVEN).amount
    Money('7419', 'JPY')
    """
    if not isinstance(amount, Money):
        raise ValidationError("amount", "a Money", amount)
    if not isinstance(rounding, Rounding):
        raise ValidationError("rounding", "a Rounding", rounding)
    if basis is DayCount.ACTUAL_OVER_PERIOD:
        start, end = used.start, used.end
        if not (whole.start <= start and end <= whole.end):
            raise ValidationError("used", f"a period inside {whole}", str(used))
        # Integer days: the same rational as the day fraction, rounded once;
        # the fields are valid by construction, so the values are built unchecked.
        u = (end - start).days
        w = (whole.end - whole.start).days
        exact = amount.minor * u
        if rounding is Rounding.HALF_UP and exact >= 0:
            minor = (2 * exact + w) // (2 * w)  # round_ratio's HALF_UP for a non-negative ratio
        else:
            minor = _checked_minor(round_ratio(exact, w, rounding), amount.currency)
        return _make_proration(_make_money(minor, amount.currency), _day_share(u, w), basis,
                               rounding, used, whole)
    fraction = day_fraction(used, whole, basis=basis)
    return Proration(amount.scale(fraction, rounding=rounding), fraction, basis, rounding, used, whole)


@functools.lru_cache(maxsize=4096)
def _day_share(used_days: int, whole_days: int) -> Fraction:
    """``Fraction(used_days, whole_days)``, shared: the same few day counts recur."""
    return Fraction(used_days, whole_days)


def _checked_minor(minor: int, currency: Currency) -> int:
    """``minor`` if it is within the amount bound (``Money.from_minor``'s own check)."""
    if -MAX_AMOUNT_MINOR <= minor <= MAX_AMOUNT_MINOR:
        return minor
    return Money.from_minor(minor, currency).minor  # raises, naming the amount


def prorate_partition(
    amount: Money,
    whole: Period,
    cuts: Sequence[date],
    *,
    basis: DayCount,
    rounding: Rounding,
) -> tuple[Proration, ...]:
    """Split ``amount`` over the pieces of ``whole`` cut at ``cuts``; they sum exactly.

    ``cuts`` are strictly increasing dates strictly inside ``whole``.  Each
    piece weighs its :func:`day_fraction` on ``basis``; the weights are
    normalised to sum to one (they already do for additive bases such as
    actual days and 30E/360), and rounding is cumulative: piece ``i`` gets
    ``round(amount * (w1 + ... + wi)) - round(amount * (w1 + ... + wi-1))``,
    so no minor unit is lost or invented and the last piece ties.  The pieces
    are half-open: a cut date starts the piece after it.

    Raises :class:`~milestonebill.errors.ValidationError` naming ``amount``, ``rounding``, the
    offending ``cuts[i]``, or ``whole`` when its length is zero on ``basis``.

    >>> parts = prorate_partition(Money("100.00", "USD"), Period.month(2024, 1),
    ...                           [date(2024, 1, 11), date(2024, 1, 21)],
    ...                           basis=DayCount.ACTUAL_OVER_PERIOD, rounding=Rounding.HALF_UP)
    >>> [(str(p.fraction), p.amount.amount) for p in parts]
    [('10/31', Decimal('32.26')), ('10/31', Decimal('32.26')), ('11/31', Decimal('35.48'))]
    >>> sum(p.amount.minor for p in parts)
    10000
    """
    if not isinstance(amount, Money):
        raise ValidationError("amount", "a Money", amount)
    if not isinstance(rounding, Rounding):
        raise ValidationError("rounding", "a Rounding", rounding)
    bounds = [whole.start]
    for i, raw in enumerate(cuts):
        c = parse_date(f"cuts[{i}]", raw)
        if not bounds[-1] < c < whole.end:
            raise ValidationError(
                f"cuts[{i}]", f"a date after {bounds[-1].isoformat()} and before "
                f"{whole.end.isoformat()} (cuts strictly increasing, inside the period)", c
            )
        bounds.append(c)
    bounds.append(whole.end)
    pieces = [Period(a, b) for a, b in pairwise(bounds)]
    weights = [day_fraction(p, whole, basis=basis) for p in pieces]
    total = sum(weights, Fraction(0))
    if total <= 0:
        raise ValidationError("whole", f"a period of positive length on {basis.name}", str(whole))
    shares = [w / total for w in weights]
    steps = _cumulative_steps((amount.minor * s for s in shares), rounding)
    return tuple(
        Proration(Money.from_minor(step, amount.currency), share, basis, rounding, piece, whole)
        for piece, share, step in zip(pieces, shares, steps, strict=True)
    )


def _cumulative_steps(exact: Iterable[Fraction], rounding: Rounding) -> list[int]:
    """Round a running total once per value; return the steps between rounded totals.

    Step ``i`` is ``round(v1 + ... + vi) - round(v1 + ... + vi-1)``: the steps
    add up to the rounded total, each is within one unit of its value, and a
    step depends only on the values up to its own.
    """
    steps: list[int] = []
    running = Fraction(0)
    charged = 0
    for value in exact:
        running += value
        target = round_ratio(running.numerator, running.denominator, rounding)
        steps.append(target - charged)
        charged = target
    return steps


def prorate_pieces(
    parts: Sequence[tuple[Money, Period]],
    whole: Period,
    *,
    basis: DayCount,
    rounding: Rounding,
) -> tuple[Proration, ...]:
    """Prorate pieces of ``whole``, each at its own price, rounding once across them.

    ``parts`` are ``(price of the whole period, piece)`` pairs in date order:
    the pieces lie inside ``whole`` and do not overlap (gaps are allowed).
    Piece ``i`` is worth exactly ``price_i x day_fraction(piece_i, whole)``
    and is charged ``round(worth of pieces 1..i) - round(worth of pieces
    1..i-1)``, so the pieces sum to the rounded day-weighted price of what
    they cover.  The fractions are not normalised (unlike
    :func:`prorate_partition`): a piece's amount depends only on the pieces
    before it, and a lone piece is charged what :func:`prorate` charges.
    When the prices share a sign, each piece is within one minor unit of
    its worth.  Pieces and ``whole`` are half-open periods.

    Raises :class:`~milestonebill.errors.ValidationError` naming ``rounding`` or the offending
    ``parts[i]`` (a price in another currency, or a piece out of order,
    overlapping or outside ``whole``).

    Ten days of January at 100.00, ten at 300.00, then eleven at 100.00 (the
    last piece alone would round to 35.48; the three sum to 5100.00/31):

    >>> jan = Period.month(2024, 1)
    >>> parts = prorate_pieces(
    ...     [(Money("100.00", "USD"), Period.of("2024-01-01", "2024-01-11")),
    ...      (Money("300.00", "USD"), Period.of("2024-01-11", "2024-01-21")),
    ...      (Money("100.00", "USD"), Period.of("2024-01-21", "2024-02-01"))],
    ...     jan, basis=DayCount.ACTUAL_OVER_PERIOD, rounding=Rounding.HALF_UP)
    >>> [(str(p.fraction), str(p.amount)) for p in parts]
    [('10/31', '32.26 USD'), ('10/31', '96.77 USD'), ('11/31', '35.49 USD')]
    >>> Money.total(p.amount for p in parts)
    Money('164.52', 'USD')
    """
    if not isinstance(rounding, Rounding):
        raise ValidationError("rounding", "a Rounding", rounding)
    after = whole.start
    for i, (price, piece) in enumerate(parts):
        if not isinstance(price, Money) or price.currency != parts[0][0].currency:
            raise ValidationError(f"parts[{i}]", "a Money in the currency of the first part",
                                  price)
        if not isinstance(piece, Period) or piece.start < after or piece.end > whole.end:
            raise ValidationError(
                f"parts[{i}]", f"a period inside {whole} starting on or after "
                f"{after.isoformat()} (pieces in date order, not overlapping)", str(piece))
        after = piece.end
    fractions = [day_fraction(piece, whole, basis=basis) for _, piece in parts]
    steps = _cumulative_steps(
        (price.minor * f for (price, _), f in zip(parts, fractions, strict=True)), rounding)
    return tuple(
        Proration(Money.from_minor(step, price.currency), f, basis, rounding, piece, whole)
        for (price, piece), f, step in zip(parts, fractions, steps, strict=True)
    )


def prorate_minor(amount_minor: int, used_days: int, whole_days: int, rounding: Rounding) -> int:
    """Bulk path: prorate integer minor units by ``used_days / whole_days``.

    Returns integer minor units.  Raises :class:`~milestonebill.errors.ValidationError` naming
    ``whole_days`` (not positive) or ``used_days`` (not between 0 and
    ``whole_days``).

    >>> prorate_minor(10000, 23, 31, Rounding.HALF_UP)
    7419
    >>> prorate_minor(-10000, 23, 31, Rounding.HALF_UP)
    -7419
    """
    if whole_days <= 0:
        raise ValidationError("whole_days", "a positive number of days", whole_days)
    if not 0 <= used_days <= whole_days:
        raise ValidationError("used_days", f"between 0 and whole_days ({whole_days})", used_days)
    return round_ratio(amount_minor * used_days, whole_days, rounding)


def prorate_many(
    amounts: Sequence[int],
    used_days: Sequence[int],
    whole_days: Sequence[int],
    *,
    rounding: Rounding,
) -> list[int]:
    """Bulk path over parallel sequences of integer minor units and day counts.

    Equals ``[prorate_minor(a, u, w, rounding) for a, u, w in zip(...)]``
    (exact integer arithmetic, any sign, any size) without building an
    object per row: the columns are checked in whole-column passes, then one
    comprehension per rounding mode computes every row.

    >>> prorate_many([10000, 5000, 999], [23, 28, 1], [31, 29, 3], rounding=Rounding.HALF_EVEN)
    [7419, 4828, 333]
    >>> prorate_many([999, -999], [1, 1], [2, 2], rounding=Rounding.HALF_DOWN)
    [499, -499]
    >>> prorate_many([100], [32], [31], rounding=Rounding.HALF_UP)
    Traceback (most recent call last):
    ...
    milestonebill.errors.ValidationError: 'used_days[0]' must be between 0 and whole_days[0] (31) (got 32)
    >>> prorate_many([1.5], [1], [2], rounding=Rounding.HALF_UP)
    Traceback (most recent call last):
    ...
    TypeError: 'amounts[0]' must be int (got 1.5)
    """
    n = len(amounts)
    if len(used_days) != n or len(whole_days) != n:
        raise ValidationError(
            "used_days", f"sequences as long as amounts ({n})",
            f"{len(used_days)} used_days and {len(whole_days)} whole_days",
        )
    if n == 0:
        return []
    if not isinstance(rounding, Rounding):
        raise ValidationError("rounding", "a Rounding", rounding)
    try:
        ok = min(whole_days) > 0 and min(used_days) >= 0 and all(map(le, used_days, whole_days))
    except TypeError:
        ok = False
    if not ok:
        _refuse_rows(amounts, used_days, whole_days)
    try:
        out = _prorate_rows(zip(amounts, used_days, whole_days, strict=True), rounding)
    except TypeError:  # e.g. ``q & 1`` on a float row under HALF_EVEN
        _refuse_rows(amounts, used_days, whole_days)
        raise
    # A float or Decimal anywhere in a row makes that row's result a non-int:
    # one pass over the output checks all three inputs.
    if not set(map(type, out)) <= {int}:
        _refuse_rows(amounts, used_days, whole_days)
    return out


def _refuse_rows(
    amounts: Sequence[int], used_days: Sequence[int], whole_days: Sequence[int]
) -> None:
    """Raise the typed error naming the first bad value of ``prorate_many``'s input."""
    for field, column in (("amounts", amounts), ("used_days", used_days),
                          ("whole_days", whole_days)):
        for i, v in enumerate(column):
            if type(v) is not int:
                raise TypeError(f"'{field}[{i}]' must be int (got {v!r})")
    for i, (u, w) in enumerate(zip(used_days, whole_days, strict=True)):
        if w <= 0 or not 0 <= u <= w:
            raise ValidationError(f"used_days[{i}]", f"between 0 and whole_days[{i}] ({w})", u)
    raise AssertionError("prorate_many: no bad row found")  # pragma: no cover


def _prorate_rows(rows: Iterator[tuple[int, int, int]], rounding: Rounding) -> list[int]:
    # x = a*u is the exact numerator; (2x + w) // 2w rounds half toward +inf.
    if rounding is Rounding.HALF_UP:
        return [(2 * a * u + w) // (2 * w) if a >= 0 else -((w - 2 * a * u) // (2 * w))
                for a, u, w in rows]
    if rounding is Rounding.HALF_DOWN:
        return [(2 * a * u + w - 1) // (2 * w) if a >= 0 else -((w - 1 - 2 * a * u) // (2 * w))
                for a, u, w in rows]
    if rounding is Rounding.HALF_EVEN:
        # Half toward +inf, then step back to the even neighbour on an exact tie.
        return [(q := (t := 2 * a * u + w) // (w2 := 2 * w)) - (q & 1 and not t % w2)
                for a, u, w in rows]
    if rounding is Rounding.FLOOR:
        return [a * u // w for a, u, w in rows]
    if rounding is Rounding.CEILING:
        return [-(-a * u // w) for a, u, w in rows]
    if rounding is Rounding.DOWN:
        return [a * u // w if a >= 0 else -(-a * u // w) for a, u, w in rows]
    return [-(-a * u // w) if a >= 0 else a * u // w for a, u, w in rows]

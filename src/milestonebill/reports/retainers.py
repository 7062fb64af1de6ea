"""Retainer metrics: MRR and ARR at a date, MRR movements between two dates, NRR.

The definitions (``docs/retainers.md`` works through them with numbers):

* **In force.**  A recurring charge is in force on a date when one of its
  service periods covers that date inside the active range of its
  (amended) terms, *as the agreement stood at the end of that day*
  (:meth:`~milestonebill.agreement.Agreement.as_of`): amendments approved by
  then count from their effective dates, ones approved later do not, so the
  MRR reported for a date never changes afterwards.  An agreement not yet
  signed on the date has no MRR (it is not an error).  A *paused* agreement
  stays in force: pausing holds its billing, not its charges, which accrue
  and are billed on resumption.  An ended or cancelled charge stops when
  its terms stop -- on the effective date when unused time is credited, at
  the end of the period in progress otherwise.
* **Price in force.**  The price the charge bills for the service period
  covering the date: its escalations applied up to the first day of that
  period, amendments included.  A prorated stub or a cut last period shows
  its full-period price: MRR is a rate, not an invoice.
* **MRR.**  Each charge normalised to a month, exactly: its price divided
  by the months of its interval (a quarterly 3,000.00 is 1,000.00, a yearly
  12,000.00 is 1,000.00); a week is 52/12 of a month, so a weekly 600.00 is
  2,600.00.  An agreement's exact monthly amounts are added and rounded
  once, half up, to the currency's minor unit.  Each :class:`MrrRow` shows
  its charge's exact amount and its share of the agreement's rounded MRR
  (the rounded running total less what the rows before it show), so the
  rows of an agreement sum to its MRR exactly.
* **ARR** is 12 x MRR, exact in minor units (never rounded again).
* **Movements** compare each agreement's MRR at two dates only (what
  happens in between is not seen): new (0 -> x), expansion (x -> y > x),
  contraction (x -> 0 < y < x), churn (x -> 0).  Per agreement and in total,
  opening + new + expansion - contraction - churn = closing, exactly.
  Movements are per agreement: a client who replaces one agreement by
  another shows a churn and a new.
* **NRR** (net revenue retention) of the agreements that had MRR at
  ``start``: (their opening + expansion - contraction - churn) / opening, an
  exact ``Fraction``, with a percentage for display rounded half up to one
  decimal.  With no opening MRR in a currency it is ``None``.

Currencies are never added together: every total is per currency.  Bad
input raises :class:`~milestonebill.errors.ValidationError` naming the
field: an ``end`` before ``start``, the same agreement given twice, an id in
``agreement_ids`` that is not among the agreements given.
"""

from __future__ import annotations

import bisect
import enum
import itertools
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import attrs

from milestonebill._reference import reference
from milestonebill._validate import check_date, check_int
from milestonebill.agreement import (
    AddMilestone,
    Agreement,
    AgreementState,
    AmendmentApproved,
    AmendmentProposed,
    AmendmentRejected,
    ChangeMilestoneAmount,
    RecurringTerm,
    RemoveMilestone,
    RescheduleMilestone,
    history,
)
from milestonebill.agreement.terms import containing_period
from milestonebill.errors import ValidationError
from milestonebill.money import Currency, Money, Rounding, round_ratio
from milestonebill.periods import Period, add_months
from milestonebill.reports._amounts import Amounts
from milestonebill.reports._table import Table
from milestonebill.schedule import Interval

__all__ = [
    "Movement",
    "MovementRow",
    "MovementTotal",
    "MrrRow",
    "MrrTotal",
    "RetentionRow",
    "monthly_equivalent",
    "monthly_movements",
    "movement_totals",
    "mrr",
    "mrr_movements",
    "mrr_totals",
    "net_revenue_retention",
]

#: Weeks in a month: 52 weeks a year over 12 months.
_WEEKS_PER_MONTH = Fraction(52, 12)


def monthly_equivalent(price: Money, interval: Interval) -> Fraction:
    """``price`` billed every ``interval`` as an exact monthly amount, in currency units.

    Month and year intervals divide by their months; a week is 52/12 of a
    month.  Nothing is rounded here (see :func:`mrr` for where it is).

    >>> from milestonebill.schedule import IntervalUnit
    >>> monthly_equivalent(Money("3000.00", "USD"), Interval.QUARTERLY)
    Fraction(1000, 1)
    >>> monthly_equivalent(Money("1000.00", "USD"), Interval.QUARTERLY)
    Fraction(1000, 3)
    >>> monthly_equivalent(Money("600.00", "USD"), Interval.WEEKLY)
    Fraction(2600, 1)
    >>> monthly_equivalent(Money("100.00", "USD"), Interval.every(2, IntervalUnit.WEEK))
    Fraction(650, 3)
    """
    amount = Fraction(price.minor, 10**price.currency.exponent)
    months = interval.months
    if months is None:
        return amount * _WEEKS_PER_MONTH / interval.count
    return amount / months


# ---------------------------------------------------------------- input


def _selected(agreements: Iterable[Agreement],
              agreement_ids: Iterable[str] | None) -> list[Agreement]:
    """The agreements to report on, in the order given; bad input raises."""
    if isinstance(agreements, Agreement):
        raise ValidationError("agreements", "a collection of agreements (not one)", agreements)
    given = list(agreements)
    by_id: dict[str, Agreement] = {}
    for i, a in enumerate(given):
        if not isinstance(a, Agreement):
            raise ValidationError(f"agreements[{i}]", "an Agreement", a)
        if a.id in by_id:
            raise ValidationError(f"agreements[{i}].id", "an agreement given once", a.id)
        by_id[a.id] = a
    if agreement_ids is None:
        return given
    if isinstance(agreement_ids, str):
        raise ValidationError("agreement_ids", "a collection of agreement ids (not one string)",
                              agreement_ids)
    wanted = list(agreement_ids)
    unknown = [x for x in wanted if x not in by_id]
    if unknown:
        raise ValidationError("agreement_ids", "ids of the agreements given", unknown)
    keep = set(wanted)
    return [a for a in given if a.id in keep]


def _span(start: date, end: date) -> tuple[date, date]:
    start, end = check_date("start", start), check_date("end", end)
    if end < start:
        raise ValidationError("end", f"a date on or after start {start.isoformat()}", end)
    return start, end


# ---------------------------------------------------------------- MRR and ARR


@attrs.frozen
class MrrRow:
    """One recurring charge of an agreement in force on ``as_of``.

    ``price`` is billed every ``interval`` for ``period`` (the service period
    covering ``as_of``); ``exact_monthly`` is its exact monthly equivalent in
    currency units; ``mrr`` is its share of the agreement's MRR (rounded
    once per agreement, so an agreement's rows sum to its MRR) and ``arr``
    is 12 x ``mrr``.  ``state`` is the agreement's (``paused``: billing held).
    """

    client: str
    agreement_id: str
    item_id: str
    name: str
    as_of: date
    state: AgreementState
    price: Money
    interval: Interval
    period: Period
    exact_monthly: Fraction
    mrr: Money
    arr: Money


def _as_known(agreement: Agreement, d: date) -> Agreement | None:
    """The agreement as it stood at the end of ``d``; ``None`` before its signing."""
    if agreement.signed_on > d:
        return None
    if agreement.events[-1].effective_at.date() <= d:
        return agreement  # nothing happened after that day: no need to replay
    return history.as_of(agreement, d)


def _in_force(terms: Sequence[RecurringTerm], d: date) -> Iterator[tuple[RecurringTerm, Period]]:
    """Each term active on ``d`` with its charge's service period covering ``d``."""
    for t in terms:
        if t.active_from > d or (t.active_until is not None and d >= t.active_until):
            continue
        period = containing_period(t.charge, d)
        if period is not None:
            yield t, period


def _known_terms(agreement: Agreement, d: date) -> Agreement | None:
    """An agreement whose terms, state and client are those of ``agreement`` as it stood
    at the end of ``d`` (``None`` before its signing).

    When nothing but records (documents, payments, completions) came after the
    day (see :func:`~milestonebill.agreement.history.changes`), the agreement
    itself has them, with no replay.
    """
    if agreement.signed_on > d:
        return None
    if not reference() and history.changes(agreement)[-1].date() <= d:
        return agreement
    return _as_known(agreement, d)


def _agreement_rows(agreement: Agreement, d: date, money: Amounts) -> list[MrrRow]:
    """The MRR rows of one agreement on ``d`` (equal amounts held once in ``money``)."""
    known = _known_terms(agreement, d)
    if known is None:
        return []
    cur = known.currency
    unit = 10**cur.exponent
    running = Fraction(0)
    shown = 0
    rows: list[MrrRow] = []
    for term, period in _in_force(known.recurring, d):
        charge = term.charge
        price = charge.price_on(period.start)
        exact = monthly_equivalent(price, charge.interval)
        running += exact * unit
        total = round_ratio(running.numerator, running.denominator, Rounding.HALF_UP)
        share, shown = total - shown, total
        rows.append(MrrRow(known.proposal.client, known.id, charge.id, charge.name, d,
                           known.state, price, charge.interval, period, exact,
                           money(share, cur), money(12 * share, cur)))
    return rows


def mrr(agreements: Iterable[Agreement], as_of: date, *,
        agreement_ids: Iterable[str] | None = None) -> Table[MrrRow]:
    """Every recurring charge in force on ``as_of``, normalised to a month.

    One row per agreement and charge, in the order the agreements are given
    (``agreement_ids`` keeps only those).  See the module's definitions:
    the price of the service period covering the date, divided by its
    months (a week is 52/12 of a month), rounded once per agreement, half
    up; ARR is 12 x MRR.  :func:`mrr_totals` adds the rows up per currency.

    >>> from datetime import UTC, datetime
    >>> from milestonebill.schedule import ItemId, RecurringCharge
    >>> from milestonebill.testing.scenarios import proposal, signed
    >>> advice = RecurringCharge(ItemId("advice"), "Advice", Money("1000.00", "USD"),
    ...                          Interval.QUARTERLY, start=date(2026, 1, 1))
    >>> a = signed(proposal(recurring=[advice]), at=datetime(2026, 1, 1, tzinfo=UTC))
    >>> row, = mrr([a], date(2026, 2, 10))
    >>> row.exact_monthly, row.mrr, row.arr, str(row.period)
    (Fraction(1000, 3), Money('333.33', 'USD'), Money('3999.96', 'USD'), '[2026-01-01, 2026-04-01)')
    >>> len(mrr([a], date(2025, 12, 31)))   # not signed yet: no MRR
    0
    """
    as_of = check_date("as_of", as_of)
    chosen = _selected(agreements, agreement_ids)
    plain, amounts = reference(), Amounts()
    return Table("MRR", [r for a in chosen if plain or not _never_recurring(a)
                         for r in _agreement_rows(a, as_of, amounts)])


@attrs.frozen
class MrrTotal:
    """MRR and ARR of one currency on ``as_of``, over ``agreements`` agreements."""

    as_of: date
    agreements: int
    mrr: Money
    arr: Money


def mrr_totals(rows: Iterable[MrrRow]) -> Table[MrrTotal]:
    """The rows of :func:`mrr` added up per currency (and date), sorted by currency.

    >>> from datetime import UTC, datetime
    >>> from milestonebill.schedule import ItemId, RecurringCharge
    >>> from milestonebill.testing.scenarios import proposal, signed
    >>> def retainer(agreement_id, price, currency):
    ...     charge = RecurringCharge(ItemId("r"), "Retainer", Money(price, currency),
    ...                              Interval.MONTHLY, start=date(2026, 1, 1))
    ...     return signed(proposal(recurring=[charge], currency=currency),
    ...                   at=datetime(2026, 1, 1, tzinfo=UTC), agreement_id=agreement_id)
    >>> book = [retainer("a", "100.00", "USD"), retainer("b", "250.00", "USD"),
    ...         retainer("c", "90.00", "EUR")]
    >>> [(t.agreements, str(t.mrr), str(t.arr)) for t in mrr_totals(mrr(book, date(2026, 3, 1)))]
    [(1, '90.00 EUR', '1080.00 EUR'), (2, '350.00 USD', '4200.00 USD')]
    """
    groups: dict[tuple[str, date], list[MrrRow]] = {}
    for r in rows:
        groups.setdefault((r.mrr.currency.code, r.as_of), []).append(r)
    out: list[MrrTotal] = []
    for (code, when), members in sorted(groups.items()):
        cur = Currency.of(code)
        monthly = Money.total((r.mrr for r in members), currency=cur)
        out.append(MrrTotal(when, len({r.agreement_id for r in members}), monthly,
                            Money.from_minor(12 * monthly.minor, cur)))
    return Table("MRR totals", out)


# ---------------------------------------------------------------- movements


class Movement(enum.Enum):
    """How an agreement's MRR moved between two dates."""

    NEW = "new"
    EXPANSION = "expansion"
    CONTRACTION = "contraction"
    CHURN = "churn"
    UNCHANGED = "unchanged"


@attrs.frozen
class MovementRow:
    """One agreement's MRR at ``start`` (opening) and ``end`` (closing), and the move.

    Exactly one of ``new``, ``expansion``, ``contraction``, ``churn`` is
    non-zero (none when unchanged); all are zero or more, and
    ``opening + new + expansion - contraction - churn == closing``.
    """

    client: str
    agreement_id: str
    start: date
    end: date
    movement: Movement
    opening: Money
    new: Money
    expansion: Money
    contraction: Money
    churn: Money
    closing: Money


def _classified(opening: int, closing: int) -> tuple[Movement, int, int, int, int]:
    """(movement, new, expansion, contraction, churn) in minor units."""
    if opening == closing:
        return Movement.UNCHANGED, 0, 0, 0, 0
    if opening == 0:
        return Movement.NEW, closing, 0, 0, 0
    if closing == 0:
        return Movement.CHURN, 0, 0, 0, opening
    if closing > opening:
        return Movement.EXPANSION, 0, closing - opening, 0, 0
    return Movement.CONTRACTION, 0, 0, opening - closing, 0


def _agreement_mrr(agreement: Agreement, d: date) -> int:
    return sum(r.mrr.minor for r in _agreement_rows(agreement, d, Amounts()))


def _levels(terms: Sequence[RecurringTerm], days: Sequence[date]) -> list[int]:
    """An agreement's MRR (minor units) with these terms at each of ``days`` (ascending):
    the exact monthly amounts of the charges in force, added and rounded once.

    One pass per term over its service periods as ``(start, end, price)``
    (:meth:`~milestonebill.schedule.RecurringCharge.rate_periods`) beside the days.
    """
    if not terms:  # no recurring charge: no MRR (most project agreements)
        return [0] * len(days)
    num, den = [0] * len(days), [1] * len(days)
    if not days:
        return []
    before = days[-1] + timedelta(days=1) if days[-1] < date.max else date.max
    for term in terms:
        interval = term.charge.interval
        months = interval.months
        weekly = months is None
        m = 12 * interval.count if months is None else months
        lo, hi = term.active_from, term.active_until
        periods = term.charge.rate_periods(before)
        period = next(periods, None)
        for i, d in enumerate(days):
            if d < lo or (hi is not None and d >= hi):
                continue
            while period is not None and period[1] <= d:
                period = next(periods, None)
            if period is None:
                break
            if period[0] > d:
                continue
            # monthly_equivalent x 10**exponent: the price over its months (a week is 52/12)
            n = period[2] * 52 if weekly else period[2]
            num[i], den[i] = num[i] * m + n * den[i], den[i] * m
    return [round_ratio(n, m, Rounding.HALF_UP) for n, m in zip(num, den, strict=True)]


def _levels_by(_agreement: Agreement) -> dict[date, int]:
    """A table for an agreement's MRR by date, kept with it
    (:meth:`~milestonebill.agreement.Agreement.derived`): movements, monthly
    movements and retention of one firm ask for the same month boundaries.
    A plain dict of dates and ints, which the garbage collector stops tracking
    (a dict subclass it would walk in every full collection)."""
    return {}


def _mrr_at(agreement: Agreement, days: Sequence[date]) -> list[int]:
    """:func:`_agreement_mrr` at each of ``days`` (ascending), one pass per set of terms."""
    if reference():
        return [_agreement_mrr(agreement, d) for d in days]
    if _never_recurring(agreement):
        return [0] * len(days)
    known = agreement.derived(_levels_by)
    # Read into a dict of this call's own: another thread may clear the kept one meanwhile.
    levels = {d: level for d in days if (level := known.get(d)) is not None}
    missing = sorted(set(days) - levels.keys())
    if missing:
        computed = dict(zip(missing, _mrr_computed(agreement, missing), strict=True))
        if len(known) + len(missing) > 256:  # a long-lived agreement asked about many dates
            known.clear()
        known.update(computed)
        levels.update(computed)
    return [levels[d] for d in days]


#: Amendment operations that never touch a recurring charge.
_MILESTONES_ONLY = (ChangeMilestoneAmount, AddMilestone, RemoveMilestone, RescheduleMilestone)


def _rate_changes(agreement: Agreement) -> tuple[date, ...]:
    """The days on which the agreement's recurring terms may have changed: those of
    :func:`~milestonebill.agreement.history.changes` less a rejection and an amendment
    (proposed or approved) whose every operation is on milestones -- between two of
    these days, and after the last, the recurring terms as they stood are the same."""
    every = history.changes(agreement)
    if len(every) == 1:  # its signing: no event to look into (most agreements)
        return (every[0].date(),)
    amendments: dict[str, tuple[object, ...]] = {}
    out: list[date] = []
    for e in agreement.events:
        kind = type(e)
        if kind in history.APPENDS or kind is AmendmentRejected:
            continue
        ops: tuple[object, ...] | None = None
        if isinstance(e, AmendmentProposed):
            ops = amendments[e.amendment.id] = e.amendment.operations
        elif isinstance(e, AmendmentApproved):
            ops = amendments.get(e.amendment_id)
        if ops is not None and all(isinstance(op, _MILESTONES_ONLY) for op in ops):
            continue
        out.append(e.effective_at.date())
    return tuple(out)


def _never_recurring(agreement: Agreement) -> bool:
    """True when the agreement had no recurring charge at any time since its signing:
    none now and no change since that could have touched one (most project agreements)."""
    return not agreement.recurring and len(agreement.derived(_rate_changes)) == 1


def _mrr_computed(agreement: Agreement, days: Sequence[date]) -> list[int]:
    """:func:`_agreement_mrr` at each of ``days``: one pass of :func:`_levels` per set of
    recurring terms, the agreement's own after the last :func:`_rate_changes` day."""
    out = [0] * len(days)
    changed = agreement.derived(_rate_changes)
    signed, last, everything = agreement.signed_on, changed[-1], len(changed)
    if everything == 1:  # the terms of its signing throughout (most agreements)
        first = bisect.bisect_left(days, signed)
        return [0] * first + _levels(agreement.recurring, days[first:])
    groups: dict[int, tuple[Sequence[RecurringTerm], list[int]]] = {}
    for i, d in enumerate(days):
        if signed > d:
            continue
        # the changes known by the end of d
        known = everything if d >= last else bisect.bisect_right(changed, d)
        if known not in groups:
            terms: Sequence[RecurringTerm] = (agreement.recurring if known == len(changed)
                                              else history.as_of(agreement, d).recurring)
            groups[known] = (terms, [])
        groups[known][1].append(i)
    for terms, where in groups.values():
        for i, level in zip(where, _levels(terms, [days[i] for i in where]), strict=True):
            out[i] = level
    return out


def _movement_rows(chosen: Sequence[Agreement], start: date, end: date) -> list[MovementRow]:
    rows: list[MovementRow] = []
    money = Amounts()  # equal amounts held once
    for a in chosen:
        opening, closing = _mrr_at(a, [start, end])
        if opening == 0 and closing == 0:
            continue
        movement, *moves = _classified(opening, closing)
        cur = a.currency
        new, expansion, contraction, churn = (money(m, cur) for m in moves)
        rows.append(MovementRow(a.proposal.client, a.id, start, end, movement,
                                money(opening, cur), new, expansion, contraction,
                                churn, money(closing, cur)))
    return rows


def mrr_movements(agreements: Iterable[Agreement], start: date, end: date, *,
                  agreement_ids: Iterable[str] | None = None) -> Table[MovementRow]:
    """How each agreement's MRR moved from ``start`` to ``end``.

    One row per agreement with MRR at either date (unchanged ones
    included), in the order given; ``end`` may equal ``start`` but not
    come before it.  :func:`movement_totals` adds the rows up per currency.

    >>> from datetime import UTC, datetime
    >>> from milestonebill.agreement import (Amendment, AmendmentId, ChangeRecurringPrice,
    ...                                      EndRecurringCharge, apply, propose)
    >>> from milestonebill.schedule import ItemId, RecurringCharge
    >>> from milestonebill.testing.scenarios import proposal, signed
    >>> def retainer(agreement_id, price, signed_on):
    ...     charge = RecurringCharge(ItemId("r"), "Retainer", Money(price, "USD"),
    ...                              Interval.MONTHLY, start=signed_on)
    ...     at = datetime.combine(signed_on, datetime.min.time(), UTC)
    ...     return signed(proposal(recurring=[charge]), at=at, agreement_id=agreement_id)
    >>> def amend(a, op):
    ...     amendment = Amendment(AmendmentId("am-1"), [op])
    ...     return apply(a, propose(a, amendment, by="Bo", at=datetime(2026, 2, 1, tzinfo=UTC)))
    >>> up = amend(retainer("up", "100.00", date(2026, 1, 1)),
    ...            ChangeRecurringPrice(date(2026, 3, 1), ItemId("r"), Money("150.00", "USD")))
    >>> gone = amend(retainer("gone", "80.00", date(2026, 1, 1)),
    ...              EndRecurringCharge(date(2026, 3, 1), ItemId("r")))
    >>> fresh = retainer("fresh", "40.00", date(2026, 2, 15))
    >>> for r in mrr_movements([up, gone, fresh], date(2026, 1, 1), date(2026, 4, 1)):
    ...     print(r.agreement_id, r.movement.value, r.opening, r.closing)
    up expansion 100.00 USD 150.00 USD
    gone churn 80.00 USD 0.00 USD
    fresh new 0.00 USD 40.00 USD
    """
    start, end = _span(start, end)
    return Table("MRR movements", _movement_rows(_selected(agreements, agreement_ids),
                                                 start, end))


@attrs.frozen
class MovementTotal:
    """The MRR movements of one currency from ``start`` to ``end``:
    ``opening + new + expansion - contraction - churn == closing``."""

    start: date
    end: date
    opening: Money
    new: Money
    expansion: Money
    contraction: Money
    churn: Money
    closing: Money


_AMOUNTS = ("opening", "new", "expansion", "contraction", "churn", "closing")


def movement_totals(rows: Iterable[MovementRow]) -> Table[MovementTotal]:
    """The rows of :func:`mrr_movements` added up per currency (and span), sorted by currency.

    >>> from datetime import UTC, datetime
    >>> from milestonebill.schedule import ItemId, RecurringCharge
    >>> from milestonebill.testing.scenarios import proposal, signed
    >>> charge = RecurringCharge(ItemId("r"), "Retainer", Money("1200", "JPY"),
    ...                          Interval.YEARLY, start=date(2026, 2, 1))
    >>> a = signed(proposal(recurring=[charge], currency="JPY"),
    ...            at=datetime(2026, 1, 20, tzinfo=UTC))
    >>> total, = movement_totals(mrr_movements([a], date(2026, 1, 1), date(2026, 3, 1)))
    >>> total.opening, total.new, total.closing
    (Money('0', 'JPY'), Money('100', 'JPY'), Money('100', 'JPY'))
    """
    groups: dict[tuple[str, date, date], list[MovementRow]] = {}
    for r in rows:
        groups.setdefault((r.opening.currency.code, r.start, r.end), []).append(r)
    out: list[MovementTotal] = []
    for (code, start, end), members in sorted(groups.items()):
        cur = Currency.of(code)
        sums = [Money.total((getattr(r, f) for r in members), currency=cur) for f in _AMOUNTS]
        out.append(MovementTotal(start, end, *sums))
    return Table("MRR movement totals", out)


def monthly_movements(agreements: Iterable[Agreement], start: date, months: int, *,
                      agreement_ids: Iterable[str] | None = None) -> Table[MovementTotal]:
    """The MRR movements month by month: :func:`movement_totals` of
    :func:`mrr_movements` over ``[start + i months, start + i + 1 months)``
    for ``i`` in ``range(months)``, per currency.

    Each agreement's MRR is worked out once per month boundary, so twelve
    months cost thirteen evaluations per agreement, not twenty-four.  A
    month-end ``start`` keeps to month ends (``add_months`` clamps).

    >>> from datetime import UTC, datetime
    >>> from milestonebill.schedule import ItemId, RecurringCharge
    >>> from milestonebill.testing.scenarios import proposal, signed
    >>> charge = RecurringCharge(ItemId("r"), "Retainer", Money("500.00", "USD"),
    ...                          Interval.MONTHLY, start=date(2026, 2, 1))
    >>> a = signed(proposal(recurring=[charge]), at=datetime(2026, 1, 20, tzinfo=UTC))
    >>> for t in monthly_movements([a], date(2026, 1, 1), 3):
    ...     print(t.start, t.new, t.closing)
    2026-01-01 500.00 USD 500.00 USD
    2026-02-01 0.00 USD 500.00 USD
    2026-03-01 0.00 USD 500.00 USD
    """
    months = check_int("months", months, at_least=1)
    if months > 1200:
        raise ValidationError("months", "at most 1200 (a century of months)", months)
    start = _span(start, start)[0]
    chosen = _selected(agreements, agreement_ids)
    bounds = [add_months(start, i) for i in range(months + 1)]
    if reference():
        totals = _monthly_totals_reference(chosen, bounds)
    else:
        totals = _monthly_totals(chosen, bounds)
    return Table("MRR movements by month", totals)


def _monthly_totals_reference(chosen: Sequence[Agreement], bounds: Sequence[date]
                              ) -> list[MovementTotal]:
    """:func:`monthly_movements` as defined: a row per agreement and month, then their totals."""
    rows: list[MovementRow] = []
    for a in chosen:
        levels = _mrr_at(a, bounds)
        cur = a.currency
        for i, (opening, closing) in enumerate(itertools.pairwise(levels)):
            if opening == 0 and closing == 0:
                continue
            movement, *moves = _classified(opening, closing)
            new, expansion, contraction, churn = (Money.from_minor(m, cur) for m in moves)
            rows.append(MovementRow(a.proposal.client, a.id, bounds[i], bounds[i + 1],
                                    movement, Money.from_minor(opening, cur), new, expansion,
                                    contraction, churn, Money.from_minor(closing, cur)))
    return sorted(movement_totals(rows), key=lambda t: (t.start, t.opening.currency.code))


def _monthly_totals(chosen: Sequence[Agreement], bounds: Sequence[date]) -> list[MovementTotal]:
    """The same totals added up in integers, with no row objects in between: per
    currency, six columns by month (opening, new, expansion, contraction, churn,
    closing) and which months have a row.  Only a month whose MRR moved is
    classified (:func:`_classified`); most months of most agreements stay level."""
    months = len(bounds) - 1
    sums: dict[str, tuple[list[list[int]], list[bool]]] = {}
    for a in chosen:
        levels = _mrr_at(a, bounds)
        code = a.currency.code
        got = sums.get(code)
        if got is None:
            got = sums[code] = ([[0] * months for _ in range(6)], [False] * months)
        (opening_, new_, expansion_, contraction_, churn_, closing_), shown = got
        for i in range(months):
            opening, closing = levels[i], levels[i + 1]
            if opening != closing:
                _moved, new, expansion, contraction, churn = _classified(opening, closing)
                new_[i] += new
                expansion_[i] += expansion
                contraction_[i] += contraction
                churn_[i] += churn
            elif opening == 0:
                continue
            opening_[i] += opening
            closing_[i] += closing
            shown[i] = True
    out: list[MovementTotal] = []
    for i in range(months):
        for code in sorted(sums):
            columns, shown = sums[code]
            if shown[i]:
                cur = Currency.of(code)
                out.append(MovementTotal(bounds[i], bounds[i + 1],
                                         *(Money.from_minor(c[i], cur) for c in columns)))
    return out


# ---------------------------------------------------------------- net revenue retention


@attrs.frozen
class RetentionRow:
    """Net revenue retention of one currency from ``start`` to ``end``.

    ``opening`` is the MRR at ``start`` of the agreements that had any;
    ``retained`` is what they bring at ``end``: opening + expansion -
    contraction - churn (new agreements are left out).  ``ratio`` is
    retained / opening exactly and ``percent`` that ratio in percent,
    rounded half up to one decimal; both are ``None`` when the opening is
    zero (only new business in that currency).
    """

    start: date
    end: date
    opening: Money
    expansion: Money
    contraction: Money
    churn: Money
    retained: Money
    ratio: Fraction | None
    percent: Decimal | None


def _percent(ratio: Fraction) -> Decimal:
    """``ratio`` in percent, rounded half up to one decimal: 531/565 -> 94.0."""
    tenths = round_ratio(ratio.numerator * 1000, ratio.denominator, Rounding.HALF_UP)
    return Decimal(tenths).scaleb(-1)


def net_revenue_retention(agreements: Iterable[Agreement], start: date, end: date, *,
                          agreement_ids: Iterable[str] | None = None) -> Table[RetentionRow]:
    """Net revenue retention per currency from ``start`` to ``end``.

    (opening MRR + expansion - contraction - churn) / opening MRR, over the
    agreements that had MRR at ``start``: an exact ``Fraction`` and a
    percentage rounded half up to one decimal.  A currency with no opening
    MRR (only new agreements) has a row whose ``ratio`` and ``percent``
    are ``None``: retention of nothing is undefined, not 0 % or 100 %.

    >>> from datetime import UTC, datetime
    >>> from milestonebill.agreement import Amendment, AmendmentId, ChangeRecurringPrice
    >>> from milestonebill.agreement import apply, propose
    >>> from milestonebill.schedule import ItemId, RecurringCharge
    >>> from milestonebill.testing.scenarios import proposal, signed
    >>> charge = RecurringCharge(ItemId("r"), "Retainer", Money("300.00", "USD"),
    ...                          Interval.MONTHLY, start=date(2026, 1, 1))
    >>> a = signed(proposal(recurring=[charge]), at=datetime(2026, 1, 1, tzinfo=UTC))
    >>> cut = ChangeRecurringPrice(date(2026, 2, 1), ItemId("r"), Money("250.00", "USD"))
    >>> a = apply(a, propose(a, Amendment(AmendmentId("am-1"), [cut]), by="Bo",
    ...                      at=datetime(2026, 1, 20, tzinfo=UTC)))
    >>> row, = net_revenue_retention([a], date(2026, 1, 1), date(2026, 3, 1))
    >>> row.ratio, row.percent, row.contraction
    (Fraction(5, 6), Decimal('83.3'), Money('50.00', 'USD'))
    """
    start, end = _span(start, end)
    chosen = _selected(agreements, agreement_ids)
    if reference():
        totals = list(movement_totals(_movement_rows(chosen, start, end)))
    else:  # the same totals added up in integers, with no movement row in between
        totals = _monthly_totals(chosen, [start, end])
    out: list[RetentionRow] = []
    for t in totals:
        retained = t.opening + t.expansion - t.contraction - t.churn
        ratio = Fraction(retained.minor, t.opening.minor) if t.opening.minor else None
        out.append(RetentionRow(start, end, t.opening, t.expansion, t.contraction, t.churn,
                                retained, ratio, None if ratio is None else _percent(ratio)))
    return Table("Net revenue retention", out)

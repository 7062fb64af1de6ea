"""Reports that come straight from the books: revenue schedules, RPO, roll-forwards.

Pure functions of agreements, ledger entries and dates:

* :func:`revenue_schedule` -- per agreement and obligation, the revenue
  earned in each reporting period, to date, and still to come
  (from :mod:`milestonebill.revenue`, the same numbers ``Biller.recognise``
  posts);
* :func:`remaining_obligations` -- the transaction price allocated to
  performance not yet rendered at a date, with its expected timing in
  buckets (ASC 606-10-50-13);
* :func:`contract_positions` and :func:`rollforward` -- each contract's
  balance presented net (an asset or a liability, never both), and the
  deferred revenue roll-forward per period (opening + billings - credits -
  recognised = closing), read from the journal entries, so they tie to the
  ledger to the cent.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from fractions import Fraction

import attrs

from milestonebill._reference import reference
from milestonebill._trusted import constructor
from milestonebill._validate import check_billing_date, check_date, check_int
from milestonebill.agreement import Agreement
from milestonebill.agreement.columns import plan_columns
from milestonebill.errors import ValidationError
from milestonebill.ledger import Account, JournalEntry
from milestonebill.limits import EARLIEST_DATE, LATEST_DATE
from milestonebill.money import Currency, Money, allocate_minor
from milestonebill.periods import Period, add_months
from milestonebill.recognition import Granularity, buckets
from milestonebill.reports._amounts import Amounts
from milestonebill.reports._table import Table
from milestonebill.revenue import (
    Obligation,
    earned_minor_changes,
    earned_minor_series,
    obligation_names,
    revenue_model,
)
from milestonebill.timebilling import TIME_OBLIGATION

__all__ = [
    "ContractBalance",
    "RemainingObligation",
    "RevenueRow",
    "RollforwardRow",
    "contract_positions",
    "remaining_obligations",
    "revenue_schedule",
    "rollforward",
]


# ---------------------------------------------------------------- revenue schedule


@attrs.frozen
class RevenueRow:
    """Revenue one obligation earned in one reporting period."""

    agreement_id: str
    obligation_id: str
    name: str
    period: Period
    amount: Money


def revenue_schedule(agreement: Agreement, span: Period, *,
                     granularity: Granularity = Granularity.MONTH) -> Table[RevenueRow]:
    """Revenue each obligation earns in each period of ``span`` (cut at period ends).

    Each row is what was earned by the end of the period less what was
    earned by the end of the one before, so the rows of an obligation sum
    to what it earned over ``span``; periods with nothing earned are left
    out.  Progress after today's reports is what the agreement says now.
    Raises :class:`~milestonebill.errors.ValidationError` naming ``span`` for
    anything but a :class:`~milestonebill.periods.Period` within the dates billing
    reads (:mod:`milestonebill.limits`), ``granularity`` for
    anything but a :class:`~milestonebill.recognition.Granularity`.
    """
    if not isinstance(span, Period):
        raise ValidationError("span", "a Period (start < end, end excluded)", span)
    if span.start < EARLIEST_DATE or span.end > LATEST_DATE:
        raise ValidationError("span", f"a Period within {EARLIEST_DATE} to {LATEST_DATE}", span)
    if not isinstance(granularity, Granularity):
        raise ValidationError("granularity", "a Granularity", granularity)
    names = obligation_names(agreement, through=span.end + timedelta(days=1))
    names[TIME_OBLIGATION] = "Time and materials"
    pieces, days = _pieces(span, granularity)
    # Earned by the day before the span and by each piece's last day, all at once, and
    # what changed from one to the next: Money and rows only for what is reported.
    # Trusted constructors: every field is already a checked value (the agreement's id,
    # an obligation id and name, a piece of the span, minor units of its currency).
    # Equal amounts share one Money (a value: nothing can tell them apart): an agreement's
    # months repeat a few amounts, and fewer objects outlive the report's young collections.
    # The sharing is inline (not ``Amounts``): a call per row costs 20 ms at 46,000 rows.
    cur, aid, row, money = agreement.currency, agreement.id, _make_row, _make_money
    amounts: dict[int, Money] = {}
    rows = []
    for piece, changes in zip(pieces, earned_minor_changes(agreement, days), strict=True):
        for oid, delta in changes:
            amount = amounts.get(delta)
            if amount is None:
                amount = amounts[delta] = money(delta, cur)
            rows.append(row(aid, oid, names.get(oid, oid), piece, amount))
    return Table("Revenue schedule", rows)


@functools.lru_cache(maxsize=64)
def _pieces(span: Period, granularity: Granularity
            ) -> tuple[tuple[Period, ...], tuple[date, ...]]:
    """The span cut at reporting-period boundaries and the days revenue is read at
    (the day before the span, each piece's last day), worked out once per span (the
    same for every agreement of a firm)."""
    pieces = tuple(buckets(span, granularity))
    return pieces, (span.start - timedelta(days=1), *(piece.last_day for piece in pieces))


_make_row = constructor(RevenueRow)
_make_money = constructor(Money)


# ---------------------------------------------------------------- remaining obligations


@attrs.frozen
class RemainingObligation:
    """What an obligation has still to earn at a date, by when it is expected.

    ``within_12``, ``within_24`` and ``beyond`` split :attr:`remaining` by
    the months after ``as_of`` in which it is expected to be earned;
    ``timing`` says how that was judged.
    """

    agreement_id: str
    obligation_id: str
    as_of: date
    price: Money
    remaining: Money
    within_12: Money
    within_24: Money
    beyond: Money
    timing: str


def _timing(agreement: Agreement, o: Obligation) -> tuple[Period | None, date | None, str]:
    """(a period earned evenly, or an expected end date, and how it was judged)."""
    t = o.terms
    if t.period is not None:
        return t.period, None, "straight line over the stated period"
    if t.expected_end is not None:
        return None, t.expected_end, "by the expected end"
    if t.on is not None:
        return None, t.on, "on its date"
    dated = [m.milestone.due_on for m in agreement.milestones
             if m.milestone.id in o.milestones and m.milestone.due_on is not None]
    if dated:
        return None, max(dated), "by the last dated milestone"
    return None, None, "no end stated: assumed within 12 months"


@functools.lru_cache(maxsize=64)
def _years(as_of: date) -> tuple[date, date]:
    """12 and 24 months after ``as_of``, the buckets' ends: worked out once per date (the
    same for every obligation of a firm's report)."""
    return add_months(as_of, 12), add_months(as_of, 24)


def _split(remaining: int, as_of: date, period: Period | None, end: date | None
           ) -> tuple[int, int, int]:
    one, two = _years(as_of)
    if period is None:
        when = end if end is not None else as_of
        return ((remaining, 0, 0) if when <= one else (0, remaining, 0) if when <= two
                else (0, 0, remaining))
    left = Period(max(period.start, as_of + timedelta(days=1)), max(period.end,
                                                                     as_of + timedelta(days=1)))
    if left.days == 0:
        return remaining, 0, 0
    first = Period(left.start, max(left.start, min(left.end, one + timedelta(days=1)))).days
    second = Period(left.start, max(left.start, min(left.end, two + timedelta(days=1)))).days
    a = remaining * first // left.days
    b = remaining * second // left.days - a
    return a, b, remaining - a - b


def remaining_obligations(agreement: Agreement, as_of: date, *,
                          horizon_months: int = 24) -> Table[RemainingObligation]:
    """The transaction price allocated to obligations not yet satisfied at ``as_of``.

    Recurring series count their service periods that start within
    ``horizon_months`` after ``as_of`` (an open-ended charge has no total).
    The three buckets always sum to the remaining amount.  Raises
    :class:`~milestonebill.errors.ValidationError` naming ``as_of`` for a day that
    is not a date, comes before the signing (nothing was promised yet) or after
    :data:`~milestonebill.limits.LATEST_DATE`, and ``horizon_months`` for anything
    but a whole number from 0 to 1200 (a horizon ending before the year 10000).
    """
    as_of = check_billing_date("as_of", as_of)
    if as_of < agreement.signed_on:
        raise ValidationError("as_of", f"on or after the signing of agreement {agreement.id!r} "
                              f"({agreement.signed_on})", as_of)
    horizon_months = check_int("horizon_months", horizon_months, at_least=0, at_most=1200,
                               unit="months")
    if as_of.year * 12 + as_of.month + horizon_months > 9999 * 12 + 11:  # through in 9999
        raise ValidationError("horizon_months", f"a horizon that ends before the year 10000 "
                              f"from {as_of}", horizon_months)
    through = add_months(as_of, horizon_months) + timedelta(days=1)
    model = revenue_model(agreement, through=through)
    done = earned_minor_series(agreement, [as_of])[0]  # integers: Money only for the rows
    cur = agreement.currency
    out: list[RemainingObligation] = []
    series: dict[str, list[tuple[int, int, int]]] | None = None
    # Equal amounts of a row (zero buckets, a remainder all in one bucket) share one
    # Money: a value, and fewer objects for the garbage collector to keep walking.
    amounts = Amounts()

    for o in model.obligations:
        left = o.price.minor - done.get(o.id, 0)
        if left <= 0:
            continue
        if o.series is not None:
            if series is None:  # the plan's pieces by series, read once per agreement
                series = _series_pieces(agreement, as_of, through)
            a, b, c = _series_split(series.get(o.series, []), left, as_of)
            how = "service periods"
        else:
            period, end, how = _timing(agreement, o)
            a, b, c = _split(left, as_of, period, end)
        out.append(RemainingObligation(agreement.id, o.id, as_of, amounts.held(o.price),
                                       amounts(left, cur), amounts(a, cur), amounts(b, cur),
                                       amounts(c, cur), how))
    return Table("Remaining performance obligations", out)


def _series_pieces(agreement: Agreement, as_of: date, through: date
                   ) -> dict[str, list[tuple[int, int, int]]]:
    """Each series' plan pieces up to ``through`` that end after ``as_of``, as
    (start, end, minor units) ordinals, in plan order."""
    after = as_of.toordinal() + 1
    out: dict[str, list[tuple[int, int, int]]] = {}
    cols = plan_columns(agreement, through=through)  # the bulk plan: no PlanItem is made
    for item_id, start, end, minor in zip(cols.item_ids, cols.starts, cols.ends, cols.minors,
                                          strict=True):
        if end > after:
            out.setdefault(item_id, []).append((start, end, minor))
    return out


def _in_buckets(pieces: Sequence[tuple[int, int, int]], c0: int, c1: int, c2: int
                ) -> list[tuple[int, int, tuple[int, int, int]]]:
    """Each piece's (price, days, days in each bucket) for buckets cut at ``c0``, ``c1``
    and ``c2`` (ordinals; the last bucket has no end)."""
    return [(minor, end - start, (max(min(end, c1) - max(start, c0), 0),
                                  max(min(end, c2) - max(start, c1), 0),
                                  max(end - max(start, c2), 0)))
            for start, end, minor in pieces]


def _series_split(pieces: Sequence[tuple[int, int, int]], remaining: int, as_of: date
                  ) -> tuple[int, int, int]:
    """``remaining`` of a recurring series split by when its service periods
    are earned: each period's price day by day across the next 12 months,
    the 12 after and beyond (so an escalation lands in the year it applies),
    shared exactly by largest remainder."""
    one, two = _years(as_of)
    c0, c1, c2 = as_of.toordinal() + 1, one.toordinal() + 1, two.toordinal() + 1
    shares: list[Fraction] | list[int]
    if reference():  # per piece: its price times the days it has in each bucket, over its days
        parts = _in_buckets(pieces, c0, c1, c2)
        shares = [sum((Fraction(m * d[k], n) for m, n, d in parts), Fraction(0))
                  for k in range(3)]
    else:  # the same ratios times one common multiple of the pieces' days, in integers
        whole = [0, 0, 0]  # a piece all in one bucket adds its price times the multiple
        cut: list[tuple[int, int, int, int]] = []
        for start, end, minor in pieces:
            if c0 <= start and end <= c1:
                whole[0] += minor
            elif c1 <= start and end <= c2:
                whole[1] += minor
            elif c2 <= start:
                whole[2] += minor
            else:
                cut.append((start, end, minor, end - start))
        den = math.lcm(*(n for *_p, n in cut)) if cut else 1
        shares = [w * den for w in whole]
        for m, n, d in _in_buckets([p[:3] for p in cut], c0, c1, c2):
            f = m * (den // n)
            shares[0] += f * d[0]
            shares[1] += f * d[1]
            shares[2] += f * d[2]
    if not any(shares):
        return remaining, 0, 0
    a, b, c = allocate_minor(remaining, shares)
    return a, b, c


# ---------------------------------------------------------------- contract balances


@attrs.frozen
class ContractBalance:
    """One contract's balance at a date, presented net: an asset or a liability."""

    agreement_id: str
    as_of: date
    contract_asset: Money
    contract_liability: Money


def _net_of(entries: Iterable[JournalEntry], currency: Currency) -> dict[str, int]:
    """Contract liability minus contract asset per agreement (minor units)."""
    out: dict[str, int] = {}
    for e in entries:
        if e.currency != currency or e.agreement_id is None:
            continue
        for ln in e.lines:
            if ln.account in (Account.CONTRACT_ASSET, Account.CONTRACT_LIABILITY):
                out[e.agreement_id] = out.get(e.agreement_id, 0) - ln.signed_minor
    return out


def contract_positions(entries: Iterable[JournalEntry], as_of: date,
                       currency: Currency | str) -> Table[ContractBalance]:
    """Every contract's net balance from the entries posted on or before ``as_of``.

    A contract with a net debit is a contract asset, one with a net credit a
    contract liability (ASC 606-10-45-1): never both.
    """
    cur, as_of = Currency.of(currency), check_date("as_of", as_of)
    if reference():
        net = _net_of((e for e in entries if e.posted_on <= as_of), cur)
    else:
        net = _net_by_agreement(entries, as_of, cur)
    zero, money, row = Money.zero(cur), _make_money, _make_balance
    return Table("Contract balances", [row(aid, as_of, money(-n, cur) if n < 0 else zero,
                                           money(n, cur) if n > 0 else zero)
                                       for aid, n in sorted(net.items())])


def _net_by_agreement(entries: Iterable[JournalEntry], as_of: date, cur: Currency
                      ) -> dict[str, int]:
    """:func:`_net_of` of the entries posted by ``as_of`` in one pass: no generator or
    property per entry or line (the currency read off the first line, as ``_moves``
    reads it), and an agreement only once one of its lines is a contract balance."""
    held = (Account.CONTRACT_ASSET, Account.CONTRACT_LIABILITY)
    out: dict[str, int] = {}
    for e in entries:
        aid = e.agreement_id
        if aid is None or e.posted_on > as_of:
            continue
        first = e.lines[0]
        amount = first.debit if first.debit is not None else first.credit
        assert amount is not None
        if amount.currency is not cur and amount.currency != cur:
            continue
        for ln in e.lines:
            if ln.account in held:
                debit = ln.debit
                moved = -debit.minor if debit is not None else ln.credit.minor  # type: ignore[union-attr]
                out[aid] = out.get(aid, 0) + moved
    return out


_make_balance = constructor(ContractBalance)


# ---------------------------------------------------------------- roll-forward


@attrs.frozen
class RollforwardRow:
    """The net contract liability of one period: opening + billings - credits -
    recognised (+ other) = closing."""

    period: Period
    opening: Money
    billings: Money
    credits: Money
    recognised: Money
    other: Money
    closing: Money


def _movement(e: JournalEntry) -> int:
    return -sum(ln.signed_minor for ln in e.lines
                if ln.account in (Account.CONTRACT_ASSET, Account.CONTRACT_LIABILITY))


def _checked_periods(periods: Iterable[Period]) -> list[Period]:
    got = list(periods)
    for i, p in enumerate(got):
        if not isinstance(p, Period):
            raise ValidationError(f"periods[{i}]", "a Period", p)
    return got


def rollforward(entries: Sequence[JournalEntry], periods: Iterable[Period], *,
                currency: Currency | str, agreement_id: str | None = None
                ) -> Table[RollforwardRow]:
    """The deferred revenue roll-forward (net contract liability) per period.

    Billings are invoices issued, credits their credit notes, recognised the
    revenue entries (a reversal is negative); ``other`` holds anything else
    that moved the balance (there should be none).  Each row's closing is
    the ledger's net contract balance at the period's end, so the
    roll-forward ties to the ledger to the cent.
    """
    cur = Currency.of(currency)
    ordered = sorted(_checked_periods(periods), key=lambda x: x.start)
    if reference():
        moves = _moves_reference([e for e in entries if e.currency == cur and (
            agreement_id is None or e.agreement_id == agreement_id)], ordered)
    else:
        moves = _moves(entries, ordered, cur, agreement_id)
    rows: list[RollforwardRow] = []
    for p, (opening, moved) in zip(ordered, moves, strict=True):
        closing = opening + sum(moved)
        issue, credit, revenue, other = moved
        rows.append(RollforwardRow(
            p, Money.from_minor(opening, cur), Money.from_minor(issue, cur),
            Money.from_minor(-credit, cur), Money.from_minor(-revenue, cur),
            Money.from_minor(other, cur), Money.from_minor(closing, cur)))
    return Table("Deferred revenue roll-forward", rows)


_KINDS = ("issue", "credit", "revenue", "other")


def _kind(e: JournalEntry) -> int:
    """Which column of the roll-forward an entry moves (an index into ``_KINDS``)."""
    return (2 if e.obligation_id is not None else 0 if e.id.endswith(":issue") else
            1 if e.id.endswith(":credit") else 3)


def _moves_reference(mine: Sequence[JournalEntry], periods: Sequence[Period]
                     ) -> list[tuple[int, list[int]]]:
    """Per period: the opening balance and the movement of each kind, entry by entry."""
    out: list[tuple[int, list[int]]] = []
    for p in periods:
        opening = sum(_movement(e) for e in mine if e.posted_on < p.start)
        moved = [0, 0, 0, 0]
        for e in mine:
            if p.start <= e.posted_on < p.end:
                moved[_kind(e)] += _movement(e)
        out.append((opening, moved))
    return out


def _moves(entries: Iterable[JournalEntry], periods: Sequence[Period], cur: Currency,
           agreement_id: str | None) -> list[tuple[int, list[int]]]:
    """The same from running totals: each entry of ``cur`` (and the agreement) adds its
    movement to its posting day's sums once, then every period reads the running sums
    of the days by binary search (periods may overlap or leave gaps)."""
    held = (Account.CONTRACT_ASSET, Account.CONTRACT_LIABILITY)
    by_day: dict[date, list[int]] = {}
    for e in entries:
        if agreement_id is not None and e.agreement_id != agreement_id:
            continue
        first = e.lines[0]  # e.currency, read without the properties
        money = first.debit if first.debit is not None else first.credit
        assert money is not None
        if money.currency is not cur and money.currency != cur:
            continue
        m = 0  # _movement(e), without a generator per entry
        for ln in e.lines:
            if ln.account in held:
                if ln.debit is not None:
                    m -= ln.debit.minor
                elif ln.credit is not None:
                    m += ln.credit.minor
        sums = by_day.get(e.posted_on)
        if sums is None:
            sums = by_day[e.posted_on] = [0, 0, 0, 0]
        sums[_kind(e)] += m
    days = sorted(by_day)
    running = [[0, *itertools.accumulate(by_day[d][j] for d in days)] for j in range(4)]
    out: list[tuple[int, list[int]]] = []
    for p in periods:
        lo, hi = bisect.bisect_left(days, p.start), bisect.bisect_left(days, p.end)
        opening = sum(column[lo] for column in running)
        out.append((opening, [column[hi] - column[lo] for column in running]))
    return out

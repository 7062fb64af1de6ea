"""Forecasts: cash, billing and revenue by week or month, and scenarios side by side.

Pure functions of the firm's agreements, a date ``as_of`` and stated
:class:`Assumptions` (see ``docs/forecasts.md``):

* :func:`expected_receipts` -- each receipt expected after ``as_of``: open
  invoice balances, and what the plan still bills (dated milestones,
  recurring charges with their escalations, approved amendments,
  on-completion milestones on their expected dates), each moved by the
  :class:`CollectionLag` of how the agreement is paid, with the basis of
  both dates;
* :func:`cash_forecast` -- per period: cash collected through ``as_of``
  (payments less refunds), then expected from open invoices and from
  billing still to come, times ``1 - failure_rate``;
* :func:`billing_revenue_forecast` -- per period, billed (net of tax, less
  credit notes) next to revenue earned (the cumulative figures of
  :func:`milestonebill.revenue.earned` at period ends, the numbers
  ``Biller.recognise`` posts at month ends);
* :func:`compare_scenarios` -- any of those measures for the firm as it is
  and with hypothetical changes (:class:`Scenario`: a pending amendment
  approved, a proposal signed on a stated date), and the difference;
* :func:`total` -- one money column summed, never across currencies.

What is known is each agreement as it stood at the end of ``as_of``;
events after it are ignored.  Periods (:func:`forecast_periods`) are whole
ISO weeks or calendar months: ``periods`` of them from the one that holds
the day after ``as_of``, after ``history`` earlier ones.  Days up to
``as_of`` show what happened, days after it what is expected; each row
says which (``basis``).  Rows come per currency (sorted by code), then per
period: amounts in different currencies are never added.

>>> from datetime import date
>>> [str(p) for p in forecast_periods(date(2026, 3, 15), periods=2)]
['[2026-03-01, 2026-04-01)', '[2026-04-01, 2026-05-01)']
"""

from __future__ import annotations

import bisect
import enum
import functools
from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta
from fractions import Fraction
from typing import TypeVar, cast

import attrs

from milestonebill._kept import fill, slot
from milestonebill._reference import reference
from milestonebill._validate import check_date, check_int
from milestonebill.agreement import Agreement
from milestonebill.errors import ValidationError
from milestonebill.invoicing import unbilled_minor
from milestonebill.money import Currency, Money, Rounding, round_ratio
from milestonebill.periods import Period
from milestonebill.reports._forecasting import (
    DEFAULT_ASSUMPTIONS,
    Approval,
    Assumptions,
    CollectionLag,
    CompletionAssumption,
    ExpectedReceipt,
    Prepared,
    Row,
    Scenario,
    Signing,
    prepare,
    receipt_rows,
    receipts,
    stood,
    time_billing,
)
from milestonebill.reports._table import Table
from milestonebill.revenue import earned_minor_totals

__all__ = [
    "DEFAULT_ASSUMPTIONS",
    "Approval",
    "Assumptions",
    "BillingRevenueRow",
    "Cadence",
    "CashRow",
    "CollectionLag",
    "CompletionAssumption",
    "ExpectedReceipt",
    "Measure",
    "Scenario",
    "ScenarioRow",
    "Signing",
    "billing_revenue_forecast",
    "cash_forecast",
    "compare_scenarios",
    "expected_receipts",
    "forecast_periods",
    "total",
]


class Cadence(enum.Enum):
    """How long a forecast period is: an ISO week (Monday to Sunday) or a calendar month.

    Weeks do not nest in months, which is why this is not a
    :class:`~milestonebill.recognition.Granularity`.

    >>> str(Cadence.WEEK.period(date(2026, 3, 4))), str(Cadence.MONTH.period(date(2026, 3, 4)))
    ('[2026-03-02, 2026-03-09)', '[2026-03-01, 2026-04-01)')
    """

    WEEK = "week"
    MONTH = "month"

    def period(self, d: date) -> Period:
        """The period of this cadence that holds ``d``."""
        if self is Cadence.WEEK:
            monday = d - timedelta(days=d.weekday())
            return Period(monday, monday + timedelta(days=7))
        return Period.month(d.year, d.month)


def forecast_periods(as_of: date, *, periods: int, cadence: Cadence = Cadence.MONTH,
                     history: int = 0) -> tuple[Period, ...]:
    """``history`` whole periods, then ``periods`` more from the one holding the day
    after ``as_of``.

    >>> [str(p) for p in forecast_periods(date(2026, 3, 31), periods=1, history=1)]
    ['[2026-03-01, 2026-04-01)', '[2026-04-01, 2026-05-01)']
    >>> forecast_periods(date(2026, 3, 31), periods=0)
    Traceback (most recent call last):
    ...
    milestonebill.errors.ValidationError: 'periods' must be a whole number, 1 or more (got 0)
    """
    check_date("as_of", as_of)
    check_int("periods", periods, at_least=1)
    check_int("history", history, at_least=0)
    if not isinstance(cadence, Cadence):
        raise ValidationError("cadence", "a Cadence", cadence)
    first = cadence.period(as_of + timedelta(days=1))
    for _ in range(history):
        first = cadence.period(first.start - timedelta(days=1))
    out = [first]
    while len(out) < periods + history:
        out.append(cadence.period(out[-1].end))
    return tuple(out)


def _basis(period: Period, as_of: date) -> str:
    if period.end <= as_of + timedelta(days=1):
        return "actual"
    if period.start > as_of:
        return "forecast"
    return f"actual through {as_of}, forecast after"


def _indexer(window: Sequence[Period]) -> Callable[[date | None], int | None]:
    """The position of the period of ``window`` holding a day (``None``: outside it)."""
    starts = [p.start for p in window]
    first, end = window[0].start, window[-1].end

    def index(d: date | None) -> int | None:
        if d is None or not first <= d < end:
            return None
        return bisect.bisect_right(starts, d) - 1

    return index


def _check(as_of: date, assumptions: Assumptions, scenario: Scenario | None) -> None:
    check_date("as_of", as_of)
    if not isinstance(assumptions, Assumptions):
        raise ValidationError("assumptions", "an Assumptions", assumptions)
    if scenario is not None and not isinstance(scenario, Scenario):
        raise ValidationError("scenario", "a Scenario or None", scenario)


def _currencies(prepared: Iterable[Prepared]) -> list[Currency]:
    return sorted({p.future.currency for p in prepared}, key=lambda c: c.code)


# ---------------------------------------------------------------- receipts


def expected_receipts(agreements: Sequence[Agreement], as_of: date, *, through: date,
                      assumptions: Assumptions = DEFAULT_ASSUMPTIONS,
                      scenario: Scenario | None = None) -> Table[ExpectedReceipt]:
    """Each receipt expected after ``as_of`` from open invoices and from billing before
    ``through``, and each amount left out (no expected date), with the basis of both dates.

    Amounts include tax (``assumptions.tax`` for invoices still to come) and
    are before the failure rate; a credit an amendment makes is negative.
    Billing days follow the plan exactly as
    :func:`~milestonebill.invoicing.due_invoices` would bill it, one
    expected invoice per agreement, day and payment terms.  Raises
    :class:`~milestonebill.errors.ValidationError` naming ``through`` when it
    is not after ``as_of``, or the assumption that does not hold.

    >>> from datetime import UTC, datetime
    >>> from milestonebill.agreement import AgreementId, Collection, sign
    >>> from milestonebill.testing.scenarios import proposal
    >>> a = sign(proposal([("design", "4000.00")], collection=Collection.SEND_INVOICE),
    ...          option="std", signer="Ada", payment_method=None, agreement_id=AgreementId("a-1"),
    ...          signed_at=datetime(2026, 3, 2, tzinfo=UTC))
    >>> rows = expected_receipts([a], date(2026, 3, 31), through=date(2026, 6, 1),
    ...     assumptions=Assumptions(expected_dates={("a-1", "design"): date(2026, 4, 20)}))
    >>> [(r.source, r.expected_on, str(r.amount), r.timing, r.collection) for r in rows]
    [('billing m:design', datetime.date(2026, 4, 20), '4000.00 USD', 'completion on its stated expected date', 'sent invoice: on its due date')]
    """
    _check(as_of, assumptions, scenario)
    check_date("through", through)
    if through <= as_of:
        raise ValidationError("through", f"a date after as_of ({as_of})", through)
    prepared = prepare(agreements, as_of, assumptions, scenario)
    return Table("Expected receipts", receipts(prepared, as_of, through, assumptions))


# ---------------------------------------------------------------- cash


@attrs.frozen
class CashRow:
    """Cash of one period in one currency: collected, then expected.

    ``collected`` is what was received through ``as_of`` (payments less
    refunds, gross of gateway fees); ``from_invoices`` and ``from_billing``
    are expected after it from invoices open at ``as_of`` and from billing
    still to come, each ``round(sum x (1 - failure_rate))``; ``total`` is the
    three together.  ``notes`` names the completion assumptions the
    expected figures rest on, and the failure rate.
    """

    period: Period
    collected: Money
    from_invoices: Money
    from_billing: Money
    total: Money
    basis: str
    notes: str


def _collected(prepared: Iterable[Prepared], window: Sequence[Period]
               ) -> dict[tuple[str, int], int]:
    out: dict[tuple[str, int], int] = {}
    index = _memo_index(window)
    key = _window_key(window)
    for p in prepared:
        cur = p.past.currency.code
        for i, minor in _kept_cells(p.past, _COLLECTED, None, key,
                                    functools.partial(_collected_of, p.past, index)):
            out[cur, i] = out.get((cur, i), 0) + minor
    return out


def _collected_of(a: Agreement, index: Callable[[date | None], int | None]
                  ) -> tuple[tuple[int, int], ...]:
    """One agreement's cash received, per period of the window: (position, minor units)."""
    sums: dict[int, int] = {}
    for day, minor in (_moves(a) if reference() else a.derived(_moves)):
        i = index(day)
        if i is not None:
            sums[i] = sums.get(i, 0) + minor
    return tuple(sums.items())


_Cells = TypeVar("_Cells")


def _window_key(window: Sequence[Period]) -> tuple[date, ...]:
    """What :func:`_indexer` depends on: the periods' first days and the window's end."""
    return (*(p.start for p in window), window[-1].end)


_Slot = tuple[object, tuple[date, ...], object]  # (source, window key, cells)


#: One agreement's :func:`_collected_of` for the last window asked about.
_COLLECTED = "kept:collected cells"
#: One agreement's :func:`_expected_cells` for the last window and receipts asked about.
_EXPECTED_CELLS = "kept:expected cells"


def _kept_cells(a: Agreement, kind: str, source: object,
                key: tuple[date, ...], compute: Callable[[], _Cells]) -> _Cells:
    """``compute()``, kept with ``a`` for one window (``key``) and one ``source`` object
    (``None``, or the receipts kept with it): the cash forecast and both passes of
    a scenario comparison of one window add up the same receipts.  One value per kind,
    so it stays bounded whatever windows are asked about."""
    if reference():
        return compute()
    kept: _Slot | None = slot(a, kind)  # one read: another thread may replace it meanwhile
    if kept is not None and kept[0] is source and kept[1] == key:
        return cast(_Cells, kept[2])
    got = compute()
    fill(a, kind, (source, key, got))
    return got


def _moves(a: Agreement) -> tuple[tuple[date, int], ...]:
    """Cash an agreement received: each payment, then each refund (negative), by day."""
    return (*((x.effective_at.date(), x.amount.minor) for x in a.payments),
            *((r.effective_at.date(), -r.amount.minor) for r in a.refunds))


def _memo_index(window: Sequence[Period]) -> Callable[[date | None], int | None]:
    """:func:`_indexer`, each day's answer kept for the next receipt of that day."""
    index = _indexer(window)
    seen: dict[date | None, int | None] = {}

    def at(d: date | None) -> int | None:
        got = seen.get(d, -1)
        if got == -1:
            got = seen[d] = index(d)
        return got

    return at


def _expected_cells(found: Sequence[Row], index: Callable[[date | None], int | None]
                    ) -> tuple[tuple[tuple[str, int, bool, int], ...],
                               tuple[tuple[str, int, str], ...]]:
    """One agreement's expected receipts per period of the window: (currency, position,
    from an open invoice, minor units), and the completion notes of each period."""
    sums: dict[tuple[str, int, bool], int] = {}
    said: dict[tuple[str, int, str], None] = {}
    for _source, _billed, _due, when, minor, code, timing, _how in found:
        i = index(when)
        if i is None:
            continue
        key = (code, i, timing == "open invoice")
        sums[key] = sums.get(key, 0) + minor
        if "completion" in timing:
            said.update(((code, i, t), None) for t in timing.split("; ")
                        if t.startswith("completion"))
    return tuple((*k, m) for k, m in sums.items()), tuple(said)


def _cash_rows(prepared: Sequence[Prepared], as_of: date, window: Sequence[Period],
               assumptions: Assumptions) -> list[CashRow]:
    collected = _collected(prepared, window)
    expected: dict[tuple[str, int, bool], int] = {}
    notes: dict[tuple[str, int], set[str]] = {}
    index = _memo_index(window)
    wkey = _window_key(window)
    for p, found in receipt_rows(prepared, as_of, window[-1].end, assumptions):
        sums, completions = _kept_cells(p.future, _EXPECTED_CELLS, found, wkey,
                                        functools.partial(_expected_cells, found, index))
        for code, i, open_invoice, minor in sums:
            key = (code, i, open_invoice)
            expected[key] = expected.get(key, 0) + minor
        for code, i, note in completions:
            notes.setdefault((code, i), set()).add(note)
    keep = 1 - Fraction(assumptions.failure_rate)

    def cell(cur: Currency, i: int, open_invoices: bool) -> Money:
        minor = expected.get((cur.code, i, open_invoices), 0)
        return Money.from_minor(round_ratio(minor * keep.numerator, keep.denominator,
                                            Rounding.HALF_UP), cur)

    rate = (f"failure rate {assumptions.failure_rate}"
            if assumptions.failure_rate else "")
    rows: list[CashRow] = []
    for cur in _currencies(prepared):
        for i, period in enumerate(window):
            got = Money.from_minor(collected.get((cur.code, i), 0), cur)
            inv, bill = cell(cur, i, True), cell(cur, i, False)
            said = sorted(notes.get((cur.code, i), ()))
            if rate and period.end > as_of + timedelta(days=1):
                said.append(rate)
            rows.append(CashRow(period, got, inv, bill, got + inv + bill, _basis(period, as_of),
                                "; ".join(said)))
    return rows


def cash_forecast(agreements: Sequence[Agreement], as_of: date, *, periods: int,
                  cadence: Cadence = Cadence.MONTH, history: int = 0,
                  assumptions: Assumptions = DEFAULT_ASSUMPTIONS,
                  scenario: Scenario | None = None) -> Table[CashRow]:
    """Cash per period: collected through ``as_of``, expected after it.

    Expected receipts are those of :func:`expected_receipts` that fall in
    the window; those with no expected date (a milestone not forecast, an
    auto-charged invoice whose collection stopped) count nowhere.  Each
    expected figure is exact until one rounding: ``round(sum of gross
    amounts x (1 - failure_rate))``, half up to the minor unit.

    >>> from datetime import UTC, datetime
    >>> from milestonebill.agreement import AgreementId, sign
    >>> from milestonebill.testing.scenarios import CARD, proposal
    >>> a = sign(proposal([("design", "4000.00"), ("build", "6000.00")]), option="std",
    ...          signer="Ada", payment_method=CARD, agreement_id=AgreementId("a-1"),
    ...          signed_at=datetime(2026, 3, 2, tzinfo=UTC))
    >>> rows = cash_forecast([a], date(2026, 3, 31), periods=3,
    ...     assumptions=Assumptions(completion=CompletionAssumption(30), failure_rate="0.1"))
    >>> [(r.period.start.month, str(r.total)) for r in rows]
    [(4, '3600.00 USD'), (5, '5400.00 USD'), (6, '0.00 USD')]
    >>> rows[0].notes
    'completion assumed 30 days after the previous milestone; failure rate 0.1'
    """
    _check(as_of, assumptions, scenario)
    window = forecast_periods(as_of, periods=periods, cadence=cadence, history=history)
    prepared = prepare(agreements, as_of, assumptions, scenario)
    return Table("Cash forecast", _cash_rows(prepared, as_of, window, assumptions))


# ---------------------------------------------------------------- billing and revenue


@attrs.frozen
class BillingRevenueRow:
    """What one period bills and earns in one currency, both net of tax.

    ``billed``: invoices less credit notes issued (through ``as_of``), then
    the plan's billing still to come.  ``revenue``: earned by the period's
    last day less earned by the day before it starts -- through ``as_of``
    from each agreement as it stood at those days (what month-end
    recognition posted), after it with the expected completions.
    """

    period: Period
    billed: Money
    revenue: Money
    basis: str


def _billed(prepared: Iterable[Prepared], as_of: date, window: Sequence[Period]
            ) -> dict[tuple[str, int], int]:
    out: dict[tuple[str, int], int] = {}
    index = _indexer(window)
    tomorrow, end = as_of + timedelta(days=1), window[-1].end

    def add(cur: str, d: date, minor: int) -> None:
        i = index(d)
        if i is not None:
            out[cur, i] = out.get((cur, i), 0) + minor

    for p in prepared:
        cur = p.future.currency.code
        for inv in p.past.invoices:
            add(cur, inv.issued_on, inv.subtotal.minor)
        for cn in p.past.credit_notes:
            add(cur, cn.issued_on, -cn.subtotal.minor)
        for day, minor in unbilled_minor(p.future, through=end):
            if (day := max(day, tomorrow)) < end:  # as plan_days places it
                add(cur, day, minor)
        for day, minor, _tax in time_billing(p, as_of, end):
            add(cur, day, minor)
    return out


def _earned_by(p: Prepared, days: Sequence[date], as_of: date) -> list[int]:
    """Revenue earned by the end of each day: through ``as_of`` by the agreement as it
    stood that day, after it by the agreement as expected.

    Days that see the same agreement share one revenue model, and only its total is
    read (:func:`~milestonebill.revenue.earned_minor_totals`: time and materials too).
    Only the days up to ``as_of`` are rewound; all later ones read ``p.future``.
    """
    future, signed = p.future, p.future.signed_on
    seen: dict[int, tuple[Agreement, list[int]]] = {}
    for i, day in enumerate(days):
        if signed <= day <= as_of:
            a = stood(p.past, day)
            if a is not None:
                seen.setdefault(id(a), (a, []))[1].append(i)
    later = [i for i, day in enumerate(days) if day > as_of and day >= signed]
    if later:
        seen.setdefault(id(future), (future, []))[1].extend(later)
    if len(seen) == 1:
        a, where = next(iter(seen.values()))
        if len(where) == len(days):  # every day reads one agreement: its totals as they are
            return earned_minor_totals(a, days)
    out = [0] * len(days)
    for a, where in seen.values():
        for i, total in zip(where, earned_minor_totals(a, [days[i] for i in where]),
                            strict=True):
            out[i] = total
    return out


def _revenue(prepared: Iterable[Prepared], as_of: date, window: Sequence[Period]
             ) -> dict[tuple[str, int], int]:
    """Revenue per (currency, period): the agreements' levels by period end added up per
    currency first (a column of ints), then differenced once."""
    days = [window[0].start - timedelta(days=1), *(period.last_day for period in window)]
    levels: dict[str, list[int]] = {}
    for p in prepared:
        cur = p.future.currency.code
        mine = _earned_by(p, days, as_of)
        got = levels.get(cur)
        levels[cur] = mine if got is None else [x + y for x, y in zip(got, mine, strict=True)]
    return {(cur, i): level[i + 1] - level[i]
            for cur, level in levels.items() for i in range(len(window))}


def _billing_revenue_rows(prepared: Sequence[Prepared], as_of: date,
                          window: Sequence[Period]) -> list[BillingRevenueRow]:
    billed, revenue = _billed(prepared, as_of, window), _revenue(prepared, as_of, window)
    return [BillingRevenueRow(period, Money.from_minor(billed.get((cur.code, i), 0), cur),
                              Money.from_minor(revenue.get((cur.code, i), 0), cur),
                              _basis(period, as_of))
            for cur in _currencies(prepared) for i, period in enumerate(window)]


def billing_revenue_forecast(agreements: Sequence[Agreement], as_of: date, *, periods: int,
                             cadence: Cadence = Cadence.MONTH, history: int = 0,
                             assumptions: Assumptions = DEFAULT_ASSUMPTIONS,
                             scenario: Scenario | None = None) -> Table[BillingRevenueRow]:
    """Billing and revenue per period, side by side (see :class:`BillingRevenueRow`).

    Billing follows performance only where the terms say so; revenue always
    does.  A 12,000.00 retainer billed quarterly in advance is earned day by
    day over its quarter (30 of 91 days in April):

    >>> from datetime import UTC, datetime
    >>> from milestonebill.agreement import AgreementId, sign
    >>> from milestonebill.schedule import Interval, ItemId, RecurringCharge
    >>> from milestonebill.testing.scenarios import CARD, proposal, usd
    >>> fee = RecurringCharge(ItemId("ret"), "Retainer", usd("12000.00"), Interval.QUARTERLY,
    ...                       start=date(2026, 4, 1), count=2)
    >>> a = sign(proposal(recurring=[fee]), option="std", signer="Ada", payment_method=CARD,
    ...          agreement_id=AgreementId("a-2"), signed_at=datetime(2026, 3, 20, tzinfo=UTC))
    >>> [(r.period.start.month, str(r.billed.amount), str(r.revenue.amount))
    ...  for r in billing_revenue_forecast([a], date(2026, 3, 31), periods=4)]
    [(4, '12000.00', '3956.04'), (5, '0.00', '4087.92'), (6, '0.00', '3956.04'), (7, '12000.00', '4043.48')]
    """
    _check(as_of, assumptions, scenario)
    window = forecast_periods(as_of, periods=periods, cadence=cadence, history=history)
    prepared = prepare(agreements, as_of, assumptions, scenario)
    return Table("Billing and revenue forecast", _billing_revenue_rows(prepared, as_of, window))


# ---------------------------------------------------------------- scenarios


class Measure(enum.Enum):
    """What :func:`compare_scenarios` compares: cash (``CashRow.total``), billing or revenue."""

    CASH = "cash"
    BILLED = "billed"
    REVENUE = "revenue"


@attrs.frozen
class ScenarioRow:
    """One period of one scenario next to the firm as it is, in one currency."""

    scenario: str
    period: Period
    base: Money
    alternative: Money
    difference: Money


def _measured(measure: Measure, prepared: Sequence[Prepared], as_of: date,
              window: Sequence[Period], assumptions: Assumptions
              ) -> dict[tuple[str, Period], Money]:
    if measure is Measure.CASH:
        return {(r.total.currency.code, r.period): r.total
                for r in _cash_rows(prepared, as_of, window, assumptions)}
    out: dict[tuple[str, Period], Money] = {}
    for r in _billing_revenue_rows(prepared, as_of, window):
        m = r.billed if measure is Measure.BILLED else r.revenue
        out[m.currency.code, r.period] = m
    return out


def compare_scenarios(agreements: Sequence[Agreement], scenarios: Sequence[Scenario],
                      as_of: date, *, periods: int, measure: Measure = Measure.CASH,
                      cadence: Cadence = Cadence.MONTH, history: int = 0,
                      assumptions: Assumptions = DEFAULT_ASSUMPTIONS) -> Table[ScenarioRow]:
    """``measure`` per period for the firm as it is and for each scenario, and the difference.

    One row per scenario, currency and period (a currency only a scenario
    brings has a zero base).  Each scenario is computed from the same
    agreements and assumptions with its changes applied on top.  Raises
    :class:`~milestonebill.errors.ValidationError` naming ``measure`` (not a
    :class:`Measure`) or ``scenarios`` (names missing or repeated).

    >>> from datetime import UTC, datetime
    >>> from milestonebill.agreement import AgreementId, sign
    >>> from milestonebill.testing.scenarios import CARD, proposal
    >>> offer = proposal([("audit", "2500.00")])
    >>> a = sign(proposal([("design", "4000.00")]), option="std", signer="Ada",
    ...          payment_method=CARD, agreement_id=AgreementId("a-1"),
    ...          signed_at=datetime(2026, 3, 2, tzinfo=UTC))
    >>> won = Scenario("audit won", [Signing(offer, "std", date(2026, 4, 1), AgreementId("a-2"),
    ...                                      payment_method=CARD)])
    >>> rows = compare_scenarios([a], [won], date(2026, 3, 31), periods=2, measure=Measure.BILLED,
    ...     assumptions=Assumptions(completion=CompletionAssumption(14)))
    >>> [(r.period.start.month, str(r.base.amount), str(r.alternative.amount),
    ...   str(r.difference.amount)) for r in rows]
    [(4, '4000.00', '6500.00', '2500.00'), (5, '0.00', '0.00', '0.00')]
    """
    _check(as_of, assumptions, None)
    if not isinstance(measure, Measure):
        raise ValidationError("measure", "a Measure", measure)
    names = [s.name for s in scenarios if isinstance(s, Scenario)]
    if len(names) != len(scenarios) or len(set(names)) != len(names) or not all(names):
        raise ValidationError("scenarios", "Scenario values with distinct, non-empty names",
                              [getattr(s, "name", s) for s in scenarios])
    window = forecast_periods(as_of, periods=periods, cadence=cadence, history=history)
    signed = frozenset(c.agreement_id for s in scenarios for c in s.changes
                       if isinstance(c, Signing))
    base = _measured(measure, prepare(agreements, as_of, assumptions, None, signed), as_of,
                     window, assumptions)
    rows: list[ScenarioRow] = []
    for s in scenarios:
        alt = _measured(measure, prepare(agreements, as_of, assumptions, s, signed), as_of,
                        window, assumptions)
        for code in sorted({c for c, _p in [*base, *alt]}):
            for period in window:
                b = base.get((code, period), Money.zero(code))
                x = alt.get((code, period), Money.zero(code))
                rows.append(ScenarioRow(s.name, period, b, x, x - b))
    return Table(f"Scenarios: {measure.value}", rows)


# ---------------------------------------------------------------- totals


def total(rows: Iterable[object], column: str, *, currency: Currency | str | None = None
          ) -> Money:
    """The sum of a money ``column`` over ``rows`` -- in one currency only.

    With rows in several currencies, ``currency`` says which to add; without
    it a :class:`~milestonebill.errors.ValidationError` names the field.

    >>> from milestonebill.periods import Period
    >>> p = Period(date(2026, 4, 1), date(2026, 5, 1))
    >>> rows = [BillingRevenueRow(p, Money("10.00", "USD"), Money("4.00", "USD"), "forecast"),
    ...         BillingRevenueRow(p, Money("1000", "JPY"), Money("0", "JPY"), "forecast")]
    >>> total(rows, "billed", currency="JPY")
    Money('1000', 'JPY')
    >>> total(rows, "billed")
    Traceback (most recent call last):
    ...
    milestonebill.errors.ValidationError: 'currency' must be one of ['JPY', 'USD'], since the rows hold several currencies (got None)
    """
    amounts: list[Money] = []
    for i, r in enumerate(rows):
        value = getattr(r, column, None)
        if not isinstance(value, Money):
            raise ValidationError("column", f"the name of a money field of rows[{i}]", column)
        amounts.append(value)
    codes = sorted({m.currency.code for m in amounts})
    if currency is not None:
        cur = Currency.of(currency)
        return Money.total((m for m in amounts if m.currency == cur), currency=cur)
    if len(codes) != 1:
        expected = (f"one of {codes}, since the rows hold several currencies" if codes
                    else "given, since there are no rows")
        raise ValidationError("currency", expected, None)
    return Money.total(amounts)

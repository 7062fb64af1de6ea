"""Steps 6-7: contract balances, journal entries and the revenue waterfall.

A :class:`ContractActivity` (billings, payments, revenue) gives the
:func:`contract_balances` of one contract (receivable, contract asset,
contract liability), the :func:`portfolio_balances` of many, the balanced
:func:`journal_entries` that post its whole story, and schedules laid out as
a :func:`revenue_waterfall`.  Everything here is also importable from
:mod:`milestonebill.recognition`.

Units: amounts are :class:`~milestonebill.money.Money` in the contract's
currency; a balance "at the end of ``as_of``" includes that day's events;
waterfall periods are half-open :class:`~milestonebill.periods.Period` s.

Every value and function here raises :class:`~milestonebill.errors.ValidationError` naming the
field and the value for bad input: an amount in another currency, no
contracts or schedules and no ``currency`` to fall back on, or a schedule
coarser than the waterfall's periods.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

import attrs

from milestonebill.errors import ValidationError
from milestonebill.ids import ContractId, ObligationId
from milestonebill.ledger import Account, EntryId, JournalEntry, JournalLine
from milestonebill.money import Currency, Money
from milestonebill.periods import Period
from milestonebill.recognition.methods import Granularity, RecognitionSchedule, bucket

__all__ = [
    "Billing",
    "ContractActivity",
    "ContractBalances",
    "Payment",
    "PortfolioBalances",
    "RevenueEvent",
    "Waterfall",
    "WaterfallRow",
    "contract_balances",
    "journal_entries",
    "portfolio_balances",
    "revenue_waterfall",
]


@attrs.frozen
class Billing:
    """The right to ``amount`` became unconditional on ``on`` (a receivable).

    Bill on the date the customer owes the money: an invoice on a
    non-cancellable contract, or the due date (ASC 606-10-55-285).  A
    cancellable contract has no receivable before payment: record only the
    :class:`Payment`.
    """

    on: date
    amount: Money
    reference: str = ""


@attrs.frozen
class Payment:
    """Cash received from the customer on ``on`` (negative for a refund)."""

    on: date
    amount: Money
    reference: str = ""


@attrs.frozen
class RevenueEvent:
    """Revenue recognised on ``on``."""

    on: date
    amount: Money
    obligation_id: ObligationId | None = None


def _currency(value: Currency | str) -> Currency:
    return Currency.of(value)


def _billings(value: Iterable[Billing]) -> tuple[Billing, ...]:
    return tuple(value)


def _payments(value: Iterable[Payment]) -> tuple[Payment, ...]:
    return tuple(value)


def _revenue(value: Iterable[RevenueEvent]) -> tuple[RevenueEvent, ...]:
    return tuple(value)


@attrs.frozen
class ContractActivity:
    """Everything that moves one contract's balances: billings, payments, revenue."""

    contract_id: ContractId
    currency: Currency = attrs.field(converter=_currency)
    billings: tuple[Billing, ...] = attrs.field(default=(), converter=_billings)
    payments: tuple[Payment, ...] = attrs.field(default=(), converter=_payments)
    revenue: tuple[RevenueEvent, ...] = attrs.field(default=(), converter=_revenue)

    def __attrs_post_init__(self) -> None:
        named: tuple[tuple[str, Sequence[Billing | Payment | RevenueEvent]], ...] = (
            ("billings", self.billings), ("payments", self.payments), ("revenue", self.revenue))
        for name, events in named:
            for i, e in enumerate(events):
                if not isinstance(e.amount, Money) or e.amount.currency != self.currency:
                    raise ValidationError(f"{name}[{i}].amount", f"a Money in {self.currency.code}",
                                          e.amount)

    @classmethod
    def from_schedules(
        cls,
        contract_id: str,
        schedules: Sequence[RecognitionSchedule],
        *,
        billings: Sequence[Billing] = (),
        payments: Sequence[Payment] = (),
        currency: Currency | str | None = None,
    ) -> ContractActivity:
        """Activity whose revenue is the lines of ``schedules``."""
        if currency is None:
            if not schedules:
                raise ValidationError("currency", "given when there are no schedules", None)
            currency = schedules[0].total.currency
        revenue = [RevenueEvent(ln.on, ln.amount, s.obligation_id)
                   for s in schedules for ln in s.lines if ln.amount.minor]
        return cls(ContractId(contract_id), Currency.of(currency), tuple(billings),
                   tuple(payments), tuple(revenue))

    def dates(self) -> list[date]:
        """Every date on which something happened, sorted."""
        found: set[date] = {e.on for e in self.billings}
        found.update(e.on for e in self.payments)
        found.update(e.on for e in self.revenue)
        return sorted(found)


@attrs.frozen
class ContractBalances:
    """One contract's position at the end of ``as_of``, netted per contract.

    ``receivable`` is billed and unpaid; the net position ``recognised -
    max(billed, paid)`` is a ``contract_asset`` when positive and a
    ``contract_liability`` when negative -- never both.
    """

    contract_id: ContractId
    as_of: date
    recognised: Money
    billed: Money
    paid: Money
    receivable: Money
    contract_asset: Money
    contract_liability: Money

    @property
    def net_position(self) -> Money:
        """Contract asset minus contract liability."""
        return self.contract_asset - self.contract_liability


def _sum_through(events: Iterable[Billing | Payment | RevenueEvent], d: date) -> int:
    return sum(e.amount.minor for e in events if e.on <= d)


def contract_balances(activity: ContractActivity, as_of: date) -> ContractBalances:
    """Step 6: receivable, contract asset and contract liability at the end of ``as_of``.

    ASC 606-10-55-287 (Example 39): product A (allocated 400) delivered, the
    1,000 is due only once B is delivered too -- a contract asset:

    >>> act = ContractActivity(ContractId("ex39"), "USD",
    ...     revenue=[RevenueEvent(date(2028, 2, 1), Money("400", "USD"))])
    >>> b = contract_balances(act, date(2028, 2, 1))
    >>> b.contract_asset, b.receivable, b.contract_liability
    (Money('400.00', 'USD'), Money('0.00', 'USD'), Money('0.00', 'USD'))
    """
    return _balances(activity, as_of, _sum_through(activity.revenue, as_of),
                     _sum_through(activity.billings, as_of), _sum_through(activity.payments, as_of))


def _balances(activity: ContractActivity, as_of: date, r: int, b: int, p: int) -> ContractBalances:
    cur = activity.currency
    net = r - max(b, p)

    def m(v: int) -> Money:
        return Money.from_minor(v, cur)

    return ContractBalances(activity.contract_id, as_of, m(r), m(b), m(p), m(max(b - p, 0)),
                            m(max(net, 0)), m(max(-net, 0)))


@attrs.frozen
class PortfolioBalances:
    """Balances over many contracts: netted within each contract, summed across."""

    as_of: date
    receivable: Money
    contract_assets: Money
    contract_liabilities: Money
    contracts: tuple[ContractBalances, ...]


def portfolio_balances(activities: Sequence[ContractActivity], as_of: date, *,
                       currency: Currency | str | None = None) -> PortfolioBalances:
    """Per-contract netting, then totals (an asset of one contract never nets another's liability).

    >>> a = ContractActivity(ContractId("a"), "USD", revenue=[RevenueEvent(date(2025, 1, 5), Money("10", "USD"))])
    >>> b = ContractActivity(ContractId("b"), "USD", payments=[Payment(date(2025, 1, 6), Money("4", "USD"))])
    >>> p = portfolio_balances([a, b], date(2025, 1, 31))
    >>> p.contract_assets, p.contract_liabilities
    (Money('10.00', 'USD'), Money('4.00', 'USD'))
    """
    rows = tuple(contract_balances(a, as_of) for a in activities)
    cur = Currency.of(currency) if currency is not None else (
        activities[0].currency if activities else None)
    if cur is None:
        raise ValidationError("currency", "given when there are no contracts", None)
    return PortfolioBalances(
        as_of,
        Money.total((r.receivable for r in rows), currency=cur),
        Money.total((r.contract_asset for r in rows), currency=cur),
        Money.total((r.contract_liability for r in rows), currency=cur),
        rows,
    )


def journal_entries(
    activity: ContractActivity,
    *,
    granularity: Granularity = Granularity.MONTH,
    cash_account: Account = Account.CASH,
) -> tuple[JournalEntry, ...]:
    """Balanced entries, one per reporting period with movements, dated its last day.

    Each entry moves the accounts from their balances at the end of the
    previous period to those at the end of this one: cash (or
    ``cash_account``), receivable, contract asset, deferred revenue (the
    contract liability) and revenue.  Debits always equal credits because
    ``cash + receivable + contract asset - contract liability = revenue``.
    Entry ids are ``"<contract>:revenue:<period start>"``, so re-running posts once.

    ASC 606-10-55-285 (Example 38, Case B): 1,000 due 31 January, paid
    1 March, product transferred 31 March:

    >>> usd = Money("1000", "USD")
    >>> act = ContractActivity(ContractId("ex38b"), "USD",
    ...     billings=[Billing(date(2029, 1, 31), usd)], payments=[Payment(date(2029, 3, 1), usd)],
    ...     revenue=[RevenueEvent(date(2029, 3, 31), usd)])
    >>> for e in journal_entries(act, granularity=Granularity.DAY):
    ...     print(e.posted_on, [(ln.side.value, ln.account.value, str(ln.amount.amount)) for ln in e.lines])
    2029-01-31 [('debit', 'receivable', '1000.00'), ('credit', 'deferred_revenue', '1000.00')]
    2029-03-01 [('debit', 'cash', '1000.00'), ('credit', 'receivable', '1000.00')]
    2029-03-31 [('debit', 'deferred_revenue', '1000.00'), ('credit', 'revenue', '1000.00')]
    """
    cur = activity.currency
    periods: list[Period] = []
    for d in activity.dates():
        b = bucket(d, granularity)
        if not periods or periods[-1] != b:
            periods.append(b)
    running = _Running(activity)
    out: list[JournalEntry] = []
    for period in periods:
        before = running.at(period.start - timedelta(days=1))
        after = running.at(period.last_day)
        deltas = (
            (cash_account, after.paid.minor - before.paid.minor),
            (Account.RECEIVABLE, after.receivable.minor - before.receivable.minor),
            (Account.CONTRACT_ASSET, after.contract_asset.minor - before.contract_asset.minor),
            (Account.DEFERRED_REVENUE,
             -(after.contract_liability.minor - before.contract_liability.minor)),
            (Account.REVENUE, -(after.recognised.minor - before.recognised.minor)),
        )
        lines = [
            JournalLine.dr(acct, Money.from_minor(v, cur)) if v > 0
            else JournalLine.cr(acct, Money.from_minor(-v, cur))
            for acct, v in deltas if v
        ]
        if not lines:
            continue
        out.append(JournalEntry(
            id=EntryId(f"{activity.contract_id}:revenue:{period.start.isoformat()}"),
            posted_on=period.last_day, lines=tuple(lines),
            memo=f"revenue recognition {period}", agreement_id=activity.contract_id,
        ))
    return tuple(out)


class _Running:
    """Cumulative sums by date (bisect), so entries for many periods stay linear-ish."""

    def __init__(self, activity: ContractActivity) -> None:
        self.activity = activity
        self.series = [_prefix(activity.billings), _prefix(activity.payments),
                       _prefix(activity.revenue)]

    def at(self, d: date) -> ContractBalances:
        b, p, r = (sums[bisect_right(days, d)] for days, sums in self.series)
        return _balances(self.activity, d, r, b, p)


def _prefix(events: Sequence[Billing | Payment | RevenueEvent]) -> tuple[list[date], list[int]]:
    ordered = sorted(events, key=lambda e: e.on)
    sums = [0]
    for e in ordered:
        sums.append(sums[-1] + e.amount.minor)
    return [e.on for e in ordered], sums


@attrs.frozen
class WaterfallRow:
    """One obligation's revenue per period of a :class:`Waterfall`."""

    obligation_id: ObligationId | None
    amounts: tuple[Money, ...]
    total: Money


@attrs.frozen
class Waterfall:
    """Step 7: obligations x reporting periods; rows and columns add up."""

    granularity: Granularity
    periods: tuple[Period, ...]
    rows: tuple[WaterfallRow, ...]
    column_totals: tuple[Money, ...]
    total: Money

    def ties_to(self, price: Money) -> bool:
        """True when the grand total equals ``price`` (the transaction price)."""
        return self.total == price

    def table(self) -> list[list[str]]:
        """Header row plus one text row per obligation and a totals row."""
        head = ["obligation", *(p.start.isoformat() for p in self.periods), "total"]
        body = [[str(r.obligation_id), *(str(a.amount) for a in r.amounts), str(r.total.amount)]
                for r in self.rows]
        foot = ["total", *(str(a.amount) for a in self.column_totals), str(self.total.amount)]
        return [head, *body, foot]


def revenue_waterfall(
    schedules: Sequence[RecognitionSchedule],
    *,
    granularity: Granularity | None = None,
) -> Waterfall:
    """Lay schedules out as obligations x periods (coarser periods sum finer ones).

    >>> from milestonebill.recognition.methods import recognise_at, recognise_straight_line
    >>> s1 = recognise_straight_line(Money("900", "USD"), Period.of("2025-01-01", "2025-04-01"),
    ...                              obligation_id="support")
    >>> s2 = recognise_at(Money("100", "USD"), date(2025, 2, 14), obligation_id="setup")
    >>> w = revenue_waterfall([s1, s2], granularity=Granularity.QUARTER)
    >>> w.table()
    [['obligation', '2025-01-01', 'total'], ['support', '900.00', '900.00'], ['setup', '100.00', '100.00'], ['total', '1000.00', '1000.00']]
    """
    if not schedules:
        raise ValidationError("schedules", "at least one schedule", [])
    cur = schedules[0].total.currency
    g = granularity or max((s.granularity for s in schedules), key=lambda each: each.rank)
    for i, s in enumerate(schedules):
        s.total.with_currency_check(cur)
        if s.granularity.rank > g.rank:
            raise ValidationError(f"schedules[{i}].granularity",
                                  f"no coarser than {g.name}", s.granularity.name)
    periods = sorted({bucket(ln.on, g) for s in schedules for ln in s.lines})
    index = {p: i for i, p in enumerate(periods)}
    rows: list[WaterfallRow] = []
    for s in schedules:
        cells = [0] * len(periods)
        for ln in s.lines:
            cells[index[bucket(ln.on, g)]] += ln.amount.minor
        amounts = tuple(Money.from_minor(c, cur) for c in cells)
        rows.append(WaterfallRow(s.obligation_id, amounts, Money.from_minor(sum(cells), cur)))
    cols = tuple(Money.from_minor(sum(r.amounts[i].minor for r in rows), cur)
                 for i in range(len(periods)))
    return Waterfall(g, tuple(periods), tuple(rows), cols,
                     Money.from_minor(sum(c.minor for c in cols), cur))

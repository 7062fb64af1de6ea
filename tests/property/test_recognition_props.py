"""Property tests for the recognition calculators (DESIGN invariants 2, 5, 6)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from milestonebill.ledger import Account
from milestonebill.money import Currency, Money, Rounding
from milestonebill.periods import Period
from milestonebill.recognition import (
    Billing,
    Contract,
    ContractActivity,
    ContractId,
    Convention,
    CostReport,
    Granularity,
    Modification,
    ObligationId,
    ObligationPosition,
    Payment,
    PerformanceObligation,
    RevenueEvent,
    allocate_transaction_price,
    contract_balances,
    journal_entries,
    modify_contract,
    recognise_cost_to_cost,
    recognise_output,
    recognise_straight_line,
)
from milestonebill.testing.strategies import currencies

DAY0 = date(2024, 1, 1)

dates = st.integers(0, 3 * 366).map(lambda n: DAY0 + timedelta(days=n))
periods = st.tuples(dates, st.integers(1, 800)).map(
    lambda t: Period(t[0], t[0] + timedelta(days=t[1])))
granularities = st.sampled_from(list(Granularity))
roundings = st.sampled_from(list(Rounding))
amounts = st.integers(-10**9, 10**9)
quanta = st.sampled_from([None, "unit"])


def quantum_for(cur: Currency, q: str | None) -> Decimal | None:
    return None if q is None else Decimal(1)


@given(currencies(), amounts, periods, granularities,
       st.tuples(st.sampled_from(list(Convention)), roundings, quanta))
def test_straight_line_recognises_exactly_the_amount(
    cur: Currency, minor: int, service: Period, g: Granularity,
    policy: tuple[Convention, Rounding, str | None],
) -> None:
    conv, rounding, q = policy
    if conv is Convention.FULL_MONTH and g is Granularity.DAY:
        g = Granularity.MONTH
    amount = Money.from_minor(minor, cur)
    s = recognise_straight_line(amount, service, granularity=g, convention=conv,
                                rounding=rounding, quantum=quantum_for(cur, q))
    assert s.recognised == amount
    assert s.lines[-1].cumulative == amount


@given(currencies(), st.integers(0, 10**9), periods, granularities, roundings)
def test_daily_straight_line_is_monotone_for_non_negative_amounts(
    cur: Currency, minor: int, service: Period, g: Granularity, rounding: Rounding
) -> None:
    s = recognise_straight_line(Money.from_minor(minor, cur), service, granularity=g,
                                rounding=rounding)
    assert all(ln.amount.minor >= 0 for ln in s.lines)


@given(currencies(), st.integers(0, 10**9),
       st.lists(st.tuples(dates, st.integers(0, 50)), min_size=1, max_size=12), granularities)
def test_output_method_ties_and_is_monotone(
    cur: Currency, minor: int, deliveries: list[tuple[date, int]], g: Granularity
) -> None:
    if sum(u for _, u in deliveries) == 0:
        deliveries = [*deliveries, (deliveries[0][0], 1)]
    s = recognise_output(Money.from_minor(minor, cur), deliveries, granularity=g)
    assert s.recognised == Money.from_minor(minor, cur)
    assert all(ln.amount.minor >= 0 for ln in s.lines)


@st.composite
def cost_reports(draw: st.DrawFn, *, fixed_estimate: bool) -> list[CostReport]:
    n = draw(st.integers(1, 10))
    start = draw(dates)
    incurred = 0
    out = []
    estimate = draw(st.integers(1, 10**8))
    for i in range(n):
        if not fixed_estimate:
            estimate = max(incurred, 1, draw(st.integers(1, 10**8)))
        incurred = draw(st.integers(incurred, estimate)) if i < n - 1 else estimate
        out.append(CostReport(start + timedelta(days=20 * i),
                              Money.from_minor(incurred, "USD"), Money.from_minor(estimate, "USD")))
    return out


@given(st.integers(-10**9, 10**9), cost_reports(fixed_estimate=False), granularities,
       st.sampled_from([None, 3]))
def test_cost_to_cost_recognises_the_price_over_the_life(
    minor: int, reports: list[CostReport], g: Granularity, places: int | None
) -> None:
    price = Money.from_minor(minor, "USD")
    s = recognise_cost_to_cost(price, reports, granularity=g, progress_places=places)
    assert s.recognised == price


@given(st.integers(0, 10**9), cost_reports(fixed_estimate=True), granularities)
def test_cost_to_cost_without_changes_is_monotone(
    minor: int, reports: list[CostReport], g: Granularity
) -> None:
    s = recognise_cost_to_cost(Money.from_minor(minor, "USD"), reports, granularity=g)
    assert all(ln.amount.minor >= 0 for ln in s.lines)


@given(currencies(), st.lists(st.integers(0, 10**7), min_size=1, max_size=8),
       st.integers(-10**10, 10**10), quanta)
def test_allocation_sums_exactly_to_the_price(
    cur: Currency, ssps: list[int], price: int, q: str | None
) -> None:
    obligations = [PerformanceObligation(ObligationId(f"o{i}"), f"O{i}",
                                         Money.from_minor(s, cur)) for i, s in enumerate(ssps)]
    c = Contract(ContractId("c"), obligations, Money.from_minor(price, cur))
    a = allocate_transaction_price(c, quantum=quantum_for(cur, q))
    assert a.total == c.price.amount
    if sum(ssps):
        step = 1 if q is None else 10**cur.exponent
        for ln, s in zip(a.lines, ssps, strict=True):
            exact = price * s / sum(ssps)
            assert abs(ln.amount.minor - exact) < 2 * step


events = st.lists(st.tuples(dates, st.integers(-10**6, 10**7)), max_size=8)


@st.composite
def activities(draw: st.DrawFn) -> ContractActivity:
    usd = "USD"
    return ContractActivity(
        ContractId(draw(st.sampled_from(["c1", "c2"]))), usd,
        billings=[Billing(d, Money.from_minor(abs(v), usd)) for d, v in draw(events)],
        payments=[Payment(d, Money.from_minor(v, usd)) for d, v in draw(events)],
        revenue=[RevenueEvent(d, Money.from_minor(v, usd)) for d, v in draw(events)],
    )


@given(activities(), dates)
def test_net_contract_position_is_recognised_minus_consideration(
    act: ContractActivity, as_of: date
) -> None:
    b = contract_balances(act, as_of)
    assert b.net_position == b.recognised - max(b.billed, b.paid)
    assert min(b.contract_asset, b.contract_liability).is_zero()
    assert b.receivable.minor >= 0


@given(activities(), granularities)
def test_journal_entries_balance_and_reproduce_the_balances(
    act: ContractActivity, g: Granularity
) -> None:
    entries = journal_entries(act, granularity=g)
    for e in entries:
        assert sum(ln.signed_minor for ln in e.lines) == 0
    end = contract_balances(act, date(2100, 1, 1))

    def total(account: Account) -> int:
        return sum(ln.signed_minor for e in entries for ln in e.lines if ln.account is account)

    assert total(Account.REVENUE) == -end.recognised.minor
    assert total(Account.RECEIVABLE) == end.receivable.minor
    assert total(Account.CONTRACT_ASSET) == end.contract_asset.minor
    assert total(Account.DEFERRED_REVENUE) == -end.contract_liability.minor


@given(st.integers(0, 10**8), st.integers(0, 100), st.integers(-10**7, 10**7),
       st.integers(0, 10**7), st.booleans())
def test_modification_conserves_consideration(
    allocated: int, pct: int, change: int, added_ssp: int, distinct: bool
) -> None:
    usd = "USD"
    recognised = allocated * pct // 100
    o = PerformanceObligation(ObligationId("o"), "O", Money.from_minor(allocated, usd))
    extra = PerformanceObligation(ObligationId("x"), "X", Money.from_minor(added_ssp, usd))
    pos = [ObligationPosition(o, Money.from_minor(allocated, usd),
                              Money.from_minor(recognised, usd))]
    if recognised == allocated and not distinct:
        return
    mod = Modification(date(2025, 1, 1), Money.from_minor(change, usd), [extra],
                       distinct=distinct, progress="0.5")
    r = modify_contract(pos, mod)
    before = Money.from_minor(recognised, usd)
    assert before + r.adjustment + r.remaining_total == Money.from_minor(allocated + change, usd)

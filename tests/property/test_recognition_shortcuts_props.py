"""Properties of the recognition short forms: every split sums exactly to its total.

In USD (2 decimals), JPY (none) and KWD (3), at the minor unit and at a
whole-unit quantum.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from milestonebill.money import Currency, Money, Rounding
from milestonebill.recognition import (
    allocate_by_ssp,
    allocate_discount,
    catch_up,
    straight_line_monthly,
)

currencies = st.sampled_from(["USD", "JPY", "KWD"]).map(Currency.of)
quanta = st.sampled_from([None, Decimal(1)])
ssp_lists = st.lists(st.integers(0, 10**9), min_size=1, max_size=8)
starts = st.integers(0, 4 * 366).map(lambda n: date(2024, 1, 1) + timedelta(days=n))


def named(cur: Currency, minors: list[int]) -> dict[str, Money]:
    return {f"po{i}": Money.from_minor(m, cur) for i, m in enumerate(minors)}


@settings(max_examples=300, deadline=None)
@given(currencies, st.integers(-10**12, 10**12), ssp_lists, quanta)
def test_allocate_by_ssp_shares_sum_exactly_to_the_price(
    cur: Currency, price: int, ssps: list[int], quantum: Decimal | None
) -> None:
    total = Money.from_minor(price, cur)
    shares = allocate_by_ssp(total, named(cur, ssps), quantum=quantum)
    assert list(shares) == list(named(cur, ssps))
    assert Money.total(shares.values()) == total


@settings(max_examples=300, deadline=None)
@given(currencies, st.integers(0, 10**12), ssp_lists)
def test_allocate_by_ssp_shares_are_within_one_minor_unit_of_the_exact_share(
    cur: Currency, price: int, ssps: list[int]
) -> None:
    shares = allocate_by_ssp(Money.from_minor(price, cur), named(cur, ssps))
    weights = ssps if sum(ssps) else [1] * len(ssps)
    for share, weight in zip(shares.values(), weights, strict=True):
        assert abs(share.minor - Fraction(price * weight, sum(weights))) < 1


@st.composite
def discounted(draw: st.DrawFn) -> tuple[list[int], list[bool], int]:
    """SSPs, which of them take the discount (at least one), and a price they can absorb."""
    ssps = draw(ssp_lists)
    to = draw(st.lists(st.booleans(), min_size=len(ssps), max_size=len(ssps)))
    to[draw(st.integers(0, len(ssps) - 1))] = True
    others = sum(m for m, t in zip(ssps, to, strict=True) if not t)
    return ssps, to, draw(st.integers(others, sum(ssps)))


@settings(max_examples=300, deadline=None)
@given(currencies, discounted(), quanta)
def test_allocate_discount_sums_to_the_price_and_spares_the_others(
    cur: Currency, case: tuple[list[int], list[bool], int], quantum: Decimal | None
) -> None:
    ssps, to, price = case
    by_name = named(cur, ssps)
    names = [n for n, t in zip(by_name, to, strict=True) if t]
    total = Money.from_minor(price, cur)
    shares = allocate_discount(total, by_name, to=names, quantum=quantum)
    assert Money.total(shares.values()) == total
    assert all(shares[n] == by_name[n] for n in by_name if n not in names)
    assert all(shares[n].minor >= 0 for n in names)


@settings(max_examples=300, deadline=None)
@given(currencies, st.integers(-10**12, 10**12), starts, st.integers(1, 120),
       st.tuples(st.sampled_from(list(Rounding)), quanta))
def test_straight_line_monthly_months_sum_exactly_to_the_amount(
    cur: Currency, minor: int, start: date, months: int,
    policy: tuple[Rounding, Decimal | None],
) -> None:
    rounding, quantum = policy
    amount = Money.from_minor(minor, cur)
    s = straight_line_monthly(amount, start, months, rounding=rounding, quantum=quantum)
    assert len(s.lines) == months
    assert s.recognised == amount
    if quantum is None:  # each month within one minor unit of its exact share
        assert all(abs(ln.amount.minor - Fraction(minor, months)) < 1 for ln in s.lines)


@settings(max_examples=300, deadline=None)
@given(currencies, st.integers(0, 10**12), st.integers(1, 10**9), st.data(), quanta)
def test_catch_up_brings_recognised_revenue_to_the_cumulative_amount(
    cur: Currency, price: int, estimate: int, data: st.DataObject, quantum: Decimal | None
) -> None:
    cost = data.draw(st.integers(0, estimate))
    booked = Money.from_minor(data.draw(st.integers(0, price)), cur)
    r = catch_up(Money.from_minor(price, cur), cost_to_date=Money.from_minor(cost, cur),
                 estimated_total=Money.from_minor(estimate, cur), recognised=booked,
                 quantum=quantum)
    assert booked + r.adjustment == r.cumulative
    if quantum is None:  # a whole-unit quantum may round past a price that is not whole
        assert 0 <= r.cumulative.minor <= price
    assert (r.cumulative.minor == price) or cost < estimate

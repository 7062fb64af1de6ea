"""Property tests for invariants 1 and 2 of DESIGN.md on money and allocation."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from milestonebill.errors import InvalidAmountError
from milestonebill.money import (
    Currency,
    Money,
    Rounding,
    allocate,
    allocate_evenly,
    allocate_many,
    allocate_minor,
    as_fraction,
)
from milestonebill.testing.strategies import (
    currencies,
    decimal_weights,
    int_weights,
    minor_amounts,
    moneys,
)


@given(minor_amounts(max_abs=10**18), int_weights())
def test_allocation_parts_sum_to_the_total(total: int, weights: list[int]) -> None:
    assert sum(allocate_minor(total, weights)) == total


@given(minor_amounts(max_abs=10**18), int_weights())
def test_each_part_is_within_one_unit_of_its_exact_share(total: int, weights: list[int]) -> None:
    wsum = sum(weights)
    for part, w in zip(allocate_minor(total, weights), weights, strict=True):
        assert abs(Fraction(part) - Fraction(total * w, wsum)) < 1


@given(minor_amounts(max_abs=10**12), decimal_weights())
def test_decimal_weights_split_exactly(total: int, weights: list[Decimal]) -> None:
    parts = allocate_minor(total, weights)
    assert sum(parts) == total
    wsum = sum(as_fraction(w) for w in weights)
    for part, w in zip(parts, weights, strict=True):
        assert abs(Fraction(part) - total * as_fraction(w) / wsum) < 1


@given(minor_amounts(max_abs=10**15), int_weights())
def test_negative_totals_allocate_symmetrically(total: int, weights: list[int]) -> None:
    assert allocate_minor(-total, weights) == [-p for p in allocate_minor(total, weights)]


@given(moneys(), st.integers(1, 50))
def test_allocate_evenly_sums_and_differs_by_at_most_one(total: Money, n: int) -> None:
    parts = allocate_evenly(total, n)
    assert Money.total(parts, currency=total.currency) == total
    assert max(p.minor for p in parts) - min(p.minor for p in parts) <= 1


@given(st.lists(minor_amounts(max_abs=10**17), max_size=30), int_weights(max_size=12))
def test_bulk_split_equals_one_by_one(totals: list[int], weights: list[int]) -> None:
    assert allocate_many(totals, weights) == [allocate_minor(t, weights) for t in totals]


@given(moneys(), int_weights())
def test_allocate_keeps_the_currency(total: Money, weights: list[int]) -> None:
    parts = allocate(total, weights)
    assert all(p.currency == total.currency for p in parts)
    assert Money.total(parts, currency=total.currency) == total


@given(st.floats(allow_nan=True, allow_infinity=True), currencies())
def test_floats_never_become_money(value: float, currency: Currency) -> None:
    with pytest.raises(TypeError):
        Money(value, currency)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money.from_minor(value, currency)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money.zero(currency).scale(value, rounding=Rounding.HALF_UP)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        allocate_minor(100, [value])  # type: ignore[list-item]


@given(moneys())
def test_string_round_trip_is_exact(m: Money) -> None:
    assert Money(str(m.amount), m.currency) == m
    assert Money.from_json(m.to_json()) == m


@given(currencies(), st.integers(-(10**9), 10**9), st.integers(1, 6))
def test_amounts_finer_than_the_minor_unit_are_refused_without_rounding(
    currency: Currency, coefficient: int, extra: int
) -> None:
    d = Decimal(coefficient * 10 + 1).scaleb(-(currency.exponent + extra))
    with pytest.raises(InvalidAmountError):
        Money(d, currency)
    rounded = Money(d, currency, rounding=Rounding.HALF_EVEN)
    assert rounded.amount == d.quantize(currency.quantum, rounding=Rounding.HALF_EVEN.value)


@given(moneys(), moneys())
def test_addition_is_exact_integer_arithmetic(a: Money, b: Money) -> None:
    b = Money.from_minor(b.minor, a.currency)
    assert (a + b).amount == a.amount + b.amount
    assert (a + b) - b == a

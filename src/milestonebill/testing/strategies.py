"""Hypothesis strategies for milestonebill values, shared by the property tests.

Host applications can use them to property-test their own adapters.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

from milestonebill.money import ISO_4217_EXPONENTS, Currency, Money

__all__ = [
    "currencies",
    "decimal_weights",
    "int_weights",
    "minor_amounts",
    "moneys",
    "sample_currencies",
]

#: A spread of exponents: 0 (JPY), 2 (USD, EUR), 3 (KWD), 4 (CLF).
sample_currencies = ("USD", "EUR", "JPY", "KWD", "BHD", "CLF", "GBP", "KRW")


def currencies(*, every: bool = False) -> st.SearchStrategy[Currency]:
    """Currencies; by default a sample covering exponents 0, 2, 3 and 4."""
    codes = sorted(ISO_4217_EXPONENTS) if every else list(sample_currencies)
    return st.sampled_from(codes).map(Currency.of)


def minor_amounts(*, max_abs: int = 10**15, allow_negative: bool = True) -> st.SearchStrategy[int]:
    """Integer minor-unit amounts."""
    return st.integers(min_value=-max_abs if allow_negative else 0, max_value=max_abs)


def moneys(
    currency: Currency | str | None = None,
    *,
    max_abs: int = 10**15,
    allow_negative: bool = True,
) -> st.SearchStrategy[Money]:
    """Money values in one currency, or in a drawn currency when none is given."""
    cur = st.just(Currency.of(currency)) if currency is not None else currencies()
    return st.builds(
        Money.from_minor, minor_amounts(max_abs=max_abs, allow_negative=allow_negative), cur
    )


def int_weights(*, max_size: int = 24) -> st.SearchStrategy[list[int]]:
    """Non-negative integer weights with a positive sum."""
    return st.lists(st.integers(0, 10**6), min_size=1, max_size=max_size).filter(
        lambda ws: sum(ws) > 0
    )


def decimal_weights(*, max_size: int = 12) -> st.SearchStrategy[list[Decimal]]:
    """Percent-like Decimal weights with up to 4 decimals and a positive sum."""
    w = st.decimals(min_value=0, max_value=100, places=4, allow_nan=False, allow_infinity=False)
    return st.lists(w, min_size=1, max_size=max_size).filter(lambda ws: sum(ws) > 0)

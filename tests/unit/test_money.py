"""Unit tests for milestonebill.money with published reference numbers."""

from __future__ import annotations

import pickle
import re
from decimal import Decimal
from fractions import Fraction

import pytest
from babel.numbers import get_decimal_symbol, get_group_symbol, get_minus_sign_symbol

from milestonebill.errors import (
    CurrencyMismatchError,
    InvalidAmountError,
    MilestonebillError,
    ValidationError,
)
from milestonebill.money import (
    ISO_4217_EXPONENTS,
    Currency,
    Money,
    Rounding,
    allocate,
    allocate_evenly,
    allocate_many,
    allocate_minor,
    allocate_rows,
    format_money,
    round_ratio,
)


def usd(s: str) -> Money:
    return Money(s, "USD")


# ------------------------------------------------------------------ currencies


@pytest.mark.parametrize(
    ("code", "exponent"),
    [("USD", 2), ("EUR", 2), ("JPY", 0), ("KRW", 0), ("KWD", 3), ("BHD", 3), ("CLF", 4)],
)
def test_currency_exponent_comes_from_iso_4217(code: str, exponent: int) -> None:
    assert Currency.of(code).exponent == exponent


def test_unknown_currency_is_a_validation_error_naming_the_field() -> None:
    with pytest.raises(ValidationError) as info:
        Currency.of("XYZ")
    assert info.value.field == "currency"
    assert "'XYZ'" in str(info.value)


def test_the_iso_table_holds_the_published_exponents_where_display_data_disagrees() -> None:
    """ISO 4217 decides the minor unit; these are the currencies whose ISO
    exponent is most often shown differently for display (CLDR rounds them to
    whole units). Our own table is checked, never the display data."""
    assert {code: ISO_4217_EXPONENTS[code] for code in ("AFN", "IQD", "IRR", "RSD", "YER")} == {
        "AFN": 2, "IQD": 3, "IRR": 2, "RSD": 2, "YER": 2,
    }


def test_iqd_keeps_its_three_iso_decimals_even_though_cldr_shows_none() -> None:
    assert Money("1.250", "IQD").minor == 1250


# ------------------------------------------------------------------ construction


def test_money_from_str_int_decimal_and_minor_units_agree() -> None:
    assert Money("12.30", "USD") == Money(Decimal("12.3"), "USD") == Money.from_minor(1230, "USD")
    assert Money(12, "USD").minor == 1200


def test_jpy_has_no_minor_unit_and_kwd_has_three() -> None:
    assert Money("1500", "JPY").minor == 1500
    assert Money("2.125", "KWD").minor == 2125
    with pytest.raises(InvalidAmountError):
        Money("1500.5", "JPY")
    with pytest.raises(InvalidAmountError):
        Money("2.1255", "KWD")


def test_float_amount_raises_type_error() -> None:
    with pytest.raises(TypeError, match="never float"):
        Money(1.5, "USD")  # type: ignore[arg-type]


def test_float_minor_units_raise_type_error() -> None:
    with pytest.raises(TypeError, match="never float"):
        Money.from_minor(150.0, "USD")  # type: ignore[arg-type]


def test_bool_is_not_money() -> None:
    with pytest.raises(TypeError):
        Money(True, "USD")


def test_amount_finer_than_minor_unit_names_field_expected_and_got() -> None:
    with pytest.raises(InvalidAmountError) as info:
        Money("1.005", "USD")
    err = info.value
    assert (err.field, err.expected, err.got) == (
        "amount", "exact to 2 decimal places for USD", "Decimal('1.005')",
    )
    assert isinstance(err, ValueError)
    assert isinstance(err, MilestonebillError)


@pytest.mark.parametrize(
    ("rounding", "expected"),
    [
        (Rounding.HALF_UP, "1.01"),
        (Rounding.HALF_EVEN, "1.00"),
        (Rounding.HALF_DOWN, "1.00"),
        (Rounding.UP, "1.01"),
        (Rounding.DOWN, "1.00"),
        (Rounding.CEILING, "1.01"),
        (Rounding.FLOOR, "1.00"),
    ],
)
def test_named_rounding_resolves_a_fine_amount(rounding: Rounding, expected: str) -> None:
    assert Money("1.005", "USD", rounding=rounding) == usd(expected)


@pytest.mark.parametrize("bad", ["abc", "NaN", "Infinity", "", "1,00"])
def test_unparseable_or_infinite_amounts_are_refused(bad: str) -> None:
    with pytest.raises(InvalidAmountError):
        Money(bad, "USD")


def test_trailing_zeros_beyond_minor_unit_are_exact_and_accepted() -> None:
    assert Money("1.2500", "USD") == usd("1.25")


def test_money_is_immutable_and_hashable() -> None:
    m = usd("1.00")
    with pytest.raises(AttributeError):
        m.minor = 5  # type: ignore[misc]
    assert {m, usd("1.00")} == {m}


def test_money_pickles() -> None:
    m = Money("3.141", "KWD")
    assert pickle.loads(pickle.dumps(m)) == m


# ------------------------------------------------------------------ arithmetic


def test_same_currency_arithmetic() -> None:
    assert usd("1.10") + usd("2.20") == usd("3.30")
    assert usd("1.10") - usd("2.20") == usd("-1.10")
    assert -usd("1.10") == usd("-1.10")
    assert abs(usd("-1.10")) == usd("1.10")


def test_mixing_currencies_raises_currency_mismatch() -> None:
    with pytest.raises(CurrencyMismatchError):
        usd("1") + Money("1", "EUR")
    with pytest.raises(CurrencyMismatchError):
        _ = usd("1") < Money("1", "EUR")


def test_comparisons_within_a_currency() -> None:
    assert usd("1.00") < usd("1.01") <= usd("1.01")
    assert usd("2") > usd("1")
    assert max(usd("1"), usd("3"), usd("2")) == usd("3")


def test_money_does_not_equal_a_bare_number() -> None:
    assert usd("1.00") != Decimal("1.00")


def test_adding_a_number_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        usd("1") + 1  # type: ignore[operator]


def test_total_of_empty_needs_a_currency() -> None:
    assert Money.total([], currency="KWD") == Money("0", "KWD")
    with pytest.raises(ValidationError):
        Money.total([])


def test_total_refuses_mixed_currencies() -> None:
    with pytest.raises(CurrencyMismatchError):
        Money.total([usd("1"), Money("1", "EUR")])


def test_scale_rounds_once_with_the_named_rounding() -> None:
    assert usd("10.00").scale(Fraction(23, 31), rounding=Rounding.HALF_UP) == usd("7.42")
    assert usd("0.05").scale("0.5", rounding=Rounding.HALF_EVEN) == usd("0.02")
    assert usd("0.05").scale("0.5", rounding=Rounding.HALF_UP) == usd("0.03")
    assert usd("-0.05").scale("0.5", rounding=Rounding.HALF_UP) == usd("-0.03")


def test_scale_refuses_a_float_ratio() -> None:
    with pytest.raises(TypeError):
        usd("10").scale(0.5, rounding=Rounding.HALF_UP)  # type: ignore[arg-type]


def test_round_ratio_matches_decimal_quantize_on_ties() -> None:
    for n in range(-30, 31):
        for rounding in Rounding:
            expected = int((Decimal(n) / 4).quantize(Decimal(1), rounding=rounding.value))
            assert round_ratio(n, 4, rounding) == expected, (n, rounding)


def test_json_form_keeps_amounts_as_strings() -> None:
    m = Money("0.105", "KWD")
    assert m.to_json() == {"amount": "0.105", "currency": "KWD"}
    assert Money.from_json(m.to_json()) == m


def test_json_form_refuses_numbers() -> None:
    with pytest.raises(ValidationError) as info:
        Money.from_json({"amount": 1.05, "currency": "USD"})
    assert info.value.field == "money.amount"


# ------------------------------------------------------------------ allocation


def test_hundred_dollars_three_ways_gives_the_extra_cent_to_the_first_part() -> None:
    assert allocate(usd("100.00"), [1, 1, 1]) == (usd("33.34"), usd("33.33"), usd("33.33"))


def test_percentage_weights_as_decimals() -> None:
    parts = allocate(usd("0.10"), [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")])
    assert parts == (usd("0.03"), usd("0.03"), usd("0.04"))


def test_ties_go_to_the_lowest_index() -> None:
    assert allocate_minor(2, [1, 1, 1, 1]) == [1, 1, 0, 0]


def test_largest_remainder_beats_index_order() -> None:
    # exact shares 0.3, 0.6, 0.1 of 1 -> the unit goes to the 0.6 share.
    assert allocate_minor(1, [3, 6, 1]) == [0, 1, 0]


def test_negative_total_allocates_symmetrically() -> None:
    assert allocate(usd("-100.00"), [1, 1, 1]) == (usd("-33.34"), usd("-33.33"), usd("-33.33"))


def test_zero_weights_get_nothing() -> None:
    assert allocate_minor(100, [0, 1, 0, 1]) == [0, 50, 0, 50]


@pytest.mark.parametrize(
    ("weights", "field"),
    [([], "weights"), ([0, 0], "weights"), ([1, -1], "weights[1]")],
)
def test_bad_weights_are_named(weights: list[int], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        allocate_minor(100, weights)
    assert info.value.field == field


def test_float_weights_are_refused() -> None:
    with pytest.raises(TypeError):
        allocate_minor(100, [0.5, 0.5])  # type: ignore[list-item]


def test_allocate_evenly_jpy_and_kwd() -> None:
    assert allocate_evenly(Money("10", "JPY"), 3) == (
        Money("4", "JPY"), Money("3", "JPY"), Money("3", "JPY"),
    )
    assert sum(p.minor for p in allocate_evenly(Money("1.000", "KWD"), 7)) == 1000


def test_allocate_evenly_refuses_zero_parts() -> None:
    with pytest.raises(ValidationError) as info:
        allocate_evenly(usd("1"), 0)
    assert info.value.field == "n"


def test_bulk_paths_equal_the_object_path() -> None:
    totals = [0, 1, 99, 100, 101, -101, 10**17 + 3]
    weights = [5, 3, 2, 7]
    assert allocate_many(totals, weights) == [allocate_minor(t, weights) for t in totals]
    assert allocate_many(totals, [1, 1, 1]) == [allocate_minor(t, [1, 1, 1]) for t in totals]
    rows: list[list[int | Decimal]] = [[1, 2], [3], [1, 1, 1], [0, 1], [Decimal("0.5"), Decimal("0.25")], [9, 1], [1, 1]]
    assert allocate_rows(totals, rows) == [
        allocate_minor(t, w) for t, w in zip(totals, rows, strict=True)
    ]


def test_allocate_rows_needs_one_row_per_total() -> None:
    with pytest.raises(ValidationError):
        allocate_rows([1, 2], [[1]])


# ------------------------------------------------------------------ formatting


LOCALES = ("en_US", "de_DE", "fr_FR", "ja_JP", "en_IN", "de_CH")


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def test_format_money_uses_the_locales_own_separators() -> None:
    # The symbols are read from the locale data at test time, not pinned here.
    for locale in ("de_DE", "fr_FR", "en_US"):
        shown = format_money(Money("1234.5", "EUR"), locale=locale)
        group, dec = get_group_symbol(locale), get_decimal_symbol(locale)
        assert f"1{group}234{dec}50" in shown


def test_format_money_marks_a_negative_amount_with_the_locales_minus_sign() -> None:
    shown = format_money(Money("-5", "USD"))
    assert get_minus_sign_symbol("en_US") in shown
    assert _digits(shown) == "500"


@pytest.mark.parametrize("locale", LOCALES)
def test_format_money_shows_every_iso_decimal_of_every_currency(locale: str) -> None:
    """Whatever the display data says about a currency, every minor unit shows."""
    after_decimal = re.compile(re.escape(get_decimal_symbol(locale)) + r"(\d+)")
    for code, exponent in ISO_4217_EXPONENTS.items():
        shown = format_money(Money.from_minor(1234567, code), locale=locale)
        assert _digits(shown) == "1234567", (code, shown)
        fractions = after_decimal.findall(shown)
        if exponent:
            assert fractions[-1:] == ["1234567"[-exponent:]], (code, shown)
        else:
            assert fractions == [], (code, shown)


@pytest.mark.parametrize(("text", "says"), [
    ("1e999999999", "must be a number such as"),  # no exponents in the grammar
    ("1" + "0" * 5000, "at most"),
    ("0e999999", "must be a number such as"),
    ("0." + "0" * 5000 + "1", "at most"),
])
def test_an_amount_too_large_to_be_real_is_refused_at_once(text: str, says: str) -> None:
    with pytest.raises(InvalidAmountError, match=says):
        Money(text, "USD")


def test_a_ratio_too_large_to_be_real_is_refused() -> None:
    with pytest.raises(ValidationError, match="at most 18 digits"):
        Money("10.00", "USD").scale("1" + "0" * 30, rounding=Rounding.HALF_UP)


def test_the_largest_amount_allowed_keeps_every_digit() -> None:
    m = Money("9999999999999999.99", "USD")
    assert (str(m.amount), Money.from_minor(m.minor, "USD") == m) == (
        "9999999999999999.99", True)

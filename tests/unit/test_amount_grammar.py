"""One way to write a number: ASCII digits, an optional leading '-', an optional
point with digits.  Everywhere text becomes an amount, a percentage or a rate."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction

import pytest

from milestonebill._json import decode
from milestonebill.agreement import ProgressReported
from milestonebill.documents import TaxRate
from milestonebill.errors import InvalidAmountError, ValidationError
from milestonebill.ids import ObligationId
from milestonebill.money import Money, as_fraction
from milestonebill.schedule import BillingSchedule, Escalation, Milestone, MilestoneId

REFUSED = [
    "  1.00", "1.00 ", "\t1", "1_000.00", "1,000.00", "1e2", "1E+2", "1e-2",
    "+1.00", "--1", "-", "", ".5", "5.", "1.2.3",
    "\u0661\u0662",  # Arabic-Indic digits
    "\uff11\uff12",  # full-width digits
    "\u0967",  # Devanagari one
    "NaN", "nan", "Infinity", "-Infinity", "inf", "sNaN",
    "1\n", "1\u00a0000",
]


@pytest.mark.parametrize("text", REFUSED)
def test_money_refuses_every_other_spelling(text: str) -> None:
    with pytest.raises(InvalidAmountError) as caught:
        Money(text, "USD")
    assert caught.value.field == "amount"
    assert caught.value.value == text


@pytest.mark.parametrize(("text", "minor"), [
    ("0", 0), ("-0", 0), ("12", 1200), ("12.3", 1230), ("-12.30", -1230), ("007.50", 750),
    ("0.10", 10), ("1234567.89", 123456789),
])
def test_money_reads_the_grammar(text: str, minor: int) -> None:
    assert Money(text, "USD").minor == minor


@pytest.mark.parametrize("text", REFUSED)
def test_the_json_codec_refuses_every_other_spelling_and_names_the_path(text: str) -> None:
    data = {"currency": "USD", "fee": {"amount": text, "currency": "USD"}}
    with pytest.raises(ValidationError) as caught:
        decode(data, BillingSchedule)
    assert caught.value.field == "fee.amount"


@pytest.mark.parametrize("text", ["1e1", " 50", "5_0", "+50", "NaN", "\uff15\uff10"])
def test_percentages_read_from_text_follow_the_grammar(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Milestone(MilestoneId("m"), "M", percent=text)
    assert caught.value.field == "percent"


@pytest.mark.parametrize("text", ["1e1", " 50", "NaN"])
def test_percentages_in_json_follow_the_grammar(text: str) -> None:
    data = {"currency": "USD", "fee": {"amount": "100.00", "currency": "USD"},
            "milestones": [{"id": "m", "name": "M", "percent": text}]}
    with pytest.raises(ValidationError) as caught:
        decode(data, BillingSchedule)
    assert caught.value.field == "milestones[0].percent"


def test_an_escalation_step_follows_the_grammar() -> None:
    with pytest.raises(ValidationError) as caught:
        Escalation(percent="3", step="1e0")
    assert caught.value.field == "step"


def test_progress_quantities_follow_the_grammar() -> None:
    with pytest.raises(ValidationError) as caught:
        ProgressReported("e", 2, datetime(2026, 1, 1, tzinfo=UTC), ObligationId("build"), "1e3",
                         date(2026, 1, 1))
    assert caught.value.field == "to_date"


@pytest.mark.parametrize(("text", "expected"), [
    ("0.25", Fraction(1, 4)), ("1/3", Fraction(1, 3)), ("-2/4", Fraction(-1, 2)), ("7", 7),
])
def test_ratios_are_decimals_or_fractions_of_ascii_digits(text: str, expected: Fraction) -> None:
    assert as_fraction(text) == expected


@pytest.mark.parametrize("text", ["1e999999999", " 1/3", "1_0/3", "1/0", "1/3/4", "NaN",
                                  "1" * 30 + "/3"])
def test_other_ratio_spellings_are_refused(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        as_fraction(text)
    assert caught.value.field == "ratio"


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"),
                                   Decimal("-Infinity")])
def test_decimal_amounts_must_be_finite(value: Decimal) -> None:
    with pytest.raises(InvalidAmountError):
        Money(value, "USD")


def test_decimal_amounts_keep_working_with_exponents_inside_the_bounds() -> None:
    assert Money(Decimal("1.5E+3"), "USD") == Money("1500.00", "USD")
    assert Money(Decimal("12.3400"), "USD") == Money("12.34", "USD")


def test_a_tax_rate_beyond_the_bounds_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        TaxRate("VAT", Decimal("1E+999999999"))
    assert caught.value.field == "rate"


def test_the_codec_writes_what_it_reads() -> None:
    m = Money("-1234567.891", "KWD")
    assert decode({"amount": str(m.amount), "currency": "KWD"}, Money) == m

"""The short forms of :mod:`milestonebill.recognition.shortcuts`.

Each agrees with the full calculator it is built on, reproduces the published
example where one fits (ASC 606-10-55 Examples 33, 34 and 8) and refuses bad
input with a typed error naming the field.
"""

from __future__ import annotations

import re
from contextlib import AbstractContextManager
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

import pytest

import milestonebill
from milestonebill.errors import ValidationError
from milestonebill.money import Money, Rounding
from milestonebill.periods import Period
from milestonebill.recognition import (
    Contract,
    ContractId,
    Convention,
    CostReport,
    DiscountEvidence,
    Granularity,
    Method,
    ObligationId,
    PerformanceObligation,
    allocate_by_ssp,
    allocate_discount,
    allocate_transaction_price,
    catch_up,
    recognise_cost_to_cost,
    recognise_straight_line,
    shortcuts,
    straight_line_monthly,
)

UNIT = Decimal(1)


def usd(value: int | str) -> Money:
    return Money(value, "USD")


EX33 = {"A": usd(50), "B": usd(25), "C": usd(75)}
EX34 = {"A": usd(40), "B": usd(55), "C": usd(45)}


def contract_of(ssps: dict[str, Money], price: Money) -> Contract:
    """The full objects the short forms stand for, to compare against."""
    return Contract(ContractId("c"), [PerformanceObligation(ObligationId(n), n, ssp)
                                      for n, ssp in ssps.items()], price)


def refused(field: str) -> AbstractContextManager[pytest.ExceptionInfo[ValidationError]]:
    """``pytest.raises`` for a ValidationError whose message starts with ``field``."""
    return pytest.raises(ValidationError, match="^" + re.escape(repr(field)))


# ------------------------------------------------------------- allocate_by_ssp


def test_allocate_by_ssp_reproduces_example_33_in_whole_dollars() -> None:
    """ASC 606-10-55-256 to 55-258: SSPs 50 / 25 / 75, price 100 -> 33 / 17 / 50."""
    assert allocate_by_ssp(usd(100), EX33, quantum=UNIT) == {
        "A": usd(33), "B": usd(17), "C": usd(50)}


def test_allocate_by_ssp_shares_example_33_to_the_cent() -> None:
    assert allocate_by_ssp(usd(100), EX33) == {
        "A": usd("33.33"), "B": usd("16.67"), "C": usd("50.00")}


def test_allocate_by_ssp_gives_what_allocate_transaction_price_gives() -> None:
    ssps = {"x": usd("19.99"), "y": usd("0.03"), "z": usd("7.50")}
    contract = contract_of(ssps, usd("10.00"))
    full = allocate_transaction_price(contract).as_dict()
    assert allocate_by_ssp(usd("10.00"), ssps) == dict(full)


def test_allocate_by_ssp_keeps_the_order_of_the_ssps() -> None:
    ssps = {"z": usd(1), "a": usd(2), "m": usd(3)}
    assert list(allocate_by_ssp(usd(6), ssps)) == ["z", "a", "m"]


def test_allocate_by_ssp_shares_equally_when_every_ssp_is_zero() -> None:
    got = allocate_by_ssp(usd("1.00"), {"a": usd(0), "b": usd(0), "c": usd(0)})
    assert list(got.values()) == [usd("0.34"), usd("0.33"), usd("0.33")]


def test_allocate_by_ssp_splits_yen_in_whole_yen() -> None:
    jpy = {"a": Money(1, "JPY"), "b": Money(1, "JPY"), "c": Money(1, "JPY")}
    assert list(allocate_by_ssp(Money(100, "JPY"), jpy).values()) == [
        Money(34, "JPY"), Money(33, "JPY"), Money(33, "JPY")]


def test_allocate_by_ssp_refuses_a_float_price_with_a_type_error() -> None:
    with pytest.raises(TypeError, match="'price' must be a Money, never float"):
        allocate_by_ssp(100.0, EX33)  # type: ignore[arg-type]


def test_allocate_by_ssp_refuses_a_float_ssp_with_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"'ssps\[B\]' must be a Money, never float"):
        allocate_by_ssp(usd(100), {"A": usd(50), "B": 25.0})  # type: ignore[dict-item]


def test_allocate_by_ssp_refuses_a_price_that_is_not_money() -> None:
    with refused("price") as info:
        allocate_by_ssp("100", EX33)  # type: ignore[arg-type]
    assert info.value.field == "price"


def test_allocate_by_ssp_refuses_an_ssp_in_another_currency() -> None:
    with refused("ssps[B]") as info:
        allocate_by_ssp(usd(100), {"A": usd(50), "B": Money(25, "EUR")})
    assert info.value.expected == "a Money in USD"


def test_allocate_by_ssp_refuses_a_negative_ssp() -> None:
    with refused("ssps[B]") as info:
        allocate_by_ssp(usd(100), {"A": usd(50), "B": usd(-25)})
    assert info.value.expected == "zero or more"


def test_allocate_by_ssp_refuses_no_ssps() -> None:
    with refused("ssps"):
        allocate_by_ssp(usd(100), {})


def test_allocate_by_ssp_refuses_an_empty_obligation_name() -> None:
    with refused("ssps") as info:
        allocate_by_ssp(usd(100), {"": usd(50)})
    assert info.value.value == ""


def test_allocate_by_ssp_refuses_a_quantum_finer_than_the_minor_unit() -> None:
    with refused("quantum"):
        allocate_by_ssp(usd(100), EX33, quantum=Decimal("0.001"))


# ----------------------------------------------------------- allocate_discount


def test_allocate_discount_reproduces_example_34_case_a() -> None:
    """ASC 606-10-55-259 to 55-264: the discount of 40 goes to B and C -> 40 / 33 / 27."""
    assert allocate_discount(usd(100), EX34, to=["B", "C"]) == {
        "A": usd(40), "B": usd(33), "C": usd(27)}


def test_allocate_discount_gives_what_bundle_evidence_gives() -> None:
    ssps = {"A": usd("40.10"), "B": usd("55.25"), "C": usd("45.05")}
    contract = contract_of(ssps, usd(100))
    evidence = DiscountEvidence({"B", "C"}, usd(100) - usd("40.10"))
    full = allocate_transaction_price(contract, discounts=[evidence]).as_dict()
    assert allocate_discount(usd(100), ssps, to={"C", "B"}) == dict(full)


def test_allocate_discount_leaves_the_others_at_their_ssp_at_a_coarse_quantum() -> None:
    ssps = {"A": usd("40.40"), "B": usd(55), "C": usd(45)}
    got = allocate_discount(usd(100), ssps, to=["B", "C"], quantum=UNIT)
    assert got["A"] == usd("40.40")
    assert sum(m.minor for m in got.values()) == usd(100).minor


def test_allocate_discount_to_every_obligation_is_the_relative_ssp_split() -> None:
    assert allocate_discount(usd(100), EX34, to=EX34) == allocate_by_ssp(usd(100), EX34)


def test_allocate_discount_without_a_discount_gives_every_obligation_its_ssp() -> None:
    assert allocate_discount(usd(140), EX34, to=["B"]) == EX34


def test_allocate_discount_refuses_a_price_above_the_sum_of_the_ssps() -> None:
    with refused("price") as info:
        allocate_discount(usd(141), EX34, to=["B"])
    assert "140.00 USD" in info.value.expected


def test_allocate_discount_refuses_a_discount_the_named_ssps_cannot_absorb() -> None:
    with refused("to") as info:
        allocate_discount(usd(80), EX34, to=["A"])
    assert info.value.value == ["A"]


def test_allocate_discount_refuses_a_name_that_has_no_ssp() -> None:
    with refused("to") as info:
        allocate_discount(usd(100), EX34, to=["B", "D"])
    assert info.value.value == ["D"]


def test_allocate_discount_refuses_one_bare_string_for_to() -> None:
    with refused("to"):
        allocate_discount(usd(100), EX34, to="BC")


def test_allocate_discount_refuses_an_empty_to() -> None:
    with refused("to"):
        allocate_discount(usd(100), EX34, to=[])


# -------------------------------------------------------------------- catch_up


def ex8(**kw: object) -> shortcuts.CatchUp:
    """ASC 606-10-55-129 to 55-133: price 1,350,000, costs 420,000 of 820,000, 600,000 booked."""
    return catch_up(usd(1350000), cost_to_date=usd(420000), estimated_total=usd(820000),
                    recognised=usd(600000), quantum=UNIT, **kw)  # type: ignore[arg-type]


def test_catch_up_reproduces_example_8_with_progress_rounded_to_three_places() -> None:
    r = ex8(progress_places=3)
    assert (r.progress, r.cumulative, r.adjustment) == (
        Fraction("0.512"), usd(691200), usd(91200))


def test_catch_up_with_exact_progress_reproduces_the_exact_example_8_figure() -> None:
    r = ex8()
    assert (r.progress, r.cumulative, r.adjustment) == (
        Fraction(420, 820), usd(691463), usd(91463))


def test_catch_up_agrees_with_the_cost_to_cost_schedule() -> None:
    reports = [CostReport(date(2028, 12, 31), usd(420000), usd(700000)),
               CostReport(date(2029, 3, 1), usd(420000), usd(820000), price=usd(1350000))]
    s = recognise_cost_to_cost(usd(1000000), reports, granularity=Granularity.YEAR,
                               quantum=UNIT, progress_places=3)
    r = ex8(progress_places=3)
    assert (r.cumulative, r.adjustment) == (s.lines[-1].cumulative, s.lines[-1].amount)


def test_catch_up_is_a_reversal_when_the_estimated_cost_rises() -> None:
    """A 100,000.00 fee: 30,000 of 60,000 recognised 50,000; the estimate rises to 80,000."""
    r = catch_up(usd(100000), cost_to_date=usd(30000), estimated_total=usd(80000),
                 recognised=usd(50000))
    assert (r.cumulative, r.adjustment) == (usd(37500), usd(-12500))


def test_catch_up_recognises_the_whole_price_at_full_progress() -> None:
    r = catch_up(usd("999.99"), cost_to_date=usd(7), estimated_total=usd(7),
                 recognised=usd(0), rounding=Rounding.FLOOR, quantum=UNIT)
    assert r.cumulative == usd("999.99")


def test_catch_up_names_its_rounding_and_quantum() -> None:
    r = catch_up(usd(100), cost_to_date=usd(1), estimated_total=usd(3), recognised=usd(0),
                 rounding=Rounding.HALF_EVEN)
    assert (r.rounding, r.quantum, r.cumulative) == (Rounding.HALF_EVEN, Decimal("0.01"),
                                                     usd("33.33"))


def test_catch_up_measures_costs_in_their_own_currency() -> None:
    r = catch_up(usd(1000), cost_to_date=Money(250, "JPY"), estimated_total=Money(1000, "JPY"),
                 recognised=usd(0))
    assert r.cumulative == usd(250)


def test_catch_up_refuses_cost_to_date_above_the_estimated_total() -> None:
    with refused("cost_to_date"):
        catch_up(usd(100), cost_to_date=usd(5), estimated_total=usd(4), recognised=usd(0))


def test_catch_up_refuses_negative_cost_to_date() -> None:
    with refused("cost_to_date"):
        catch_up(usd(100), cost_to_date=usd(-1), estimated_total=usd(4), recognised=usd(0))


def test_catch_up_refuses_an_estimated_total_of_zero() -> None:
    with refused("estimated_total"):
        catch_up(usd(100), cost_to_date=usd(0), estimated_total=usd(0), recognised=usd(0))


def test_catch_up_refuses_costs_in_two_currencies() -> None:
    with refused("cost_to_date"):
        catch_up(usd(100), cost_to_date=Money(1, "EUR"), estimated_total=usd(4),
                 recognised=usd(0))


def test_catch_up_refuses_recognised_revenue_in_another_currency() -> None:
    with refused("recognised"):
        catch_up(usd(100), cost_to_date=usd(1), estimated_total=usd(4),
                 recognised=Money(0, "EUR"))


def test_catch_up_refuses_a_float_cost_with_a_type_error() -> None:
    with pytest.raises(TypeError, match="'cost_to_date' must be a Money, never float"):
        catch_up(usd(100), cost_to_date=1.5, estimated_total=usd(4),  # type: ignore[arg-type]
                 recognised=usd(0))


def test_catch_up_refuses_negative_progress_places() -> None:
    with refused("progress_places"):
        catch_up(usd(100), cost_to_date=usd(1), estimated_total=usd(4), recognised=usd(0),
                 progress_places=-1)


# ------------------------------------------------------- straight_line_monthly


def retainer(**kw: object) -> list[str]:
    s = straight_line_monthly(usd("1000.00"), date(2025, 1, 1), 12, **kw)  # type: ignore[arg-type]
    return [amount for _, amount in s.table()]


def test_straight_line_monthly_splits_a_retainer_by_cumulative_rounding() -> None:
    assert retainer() == ["83.33", "83.34", "83.33"] * 4


def test_straight_line_monthly_never_plugs_the_last_month_as_full_month_does() -> None:
    full = recognise_straight_line(usd("1000.00"), Period.of("2025-01-01", "2026-01-01"),
                                   convention=Convention.FULL_MONTH)
    assert (full.table()[-1][1], retainer()[-1]) == ("83.37", "83.33")


def test_straight_line_monthly_gives_february_what_it_gives_march() -> None:
    daily = recognise_straight_line(usd("1200.00"), Period.of("2025-01-01", "2026-01-01"))
    monthly = straight_line_monthly(usd("1200.00"), date(2025, 1, 1), 12)
    assert daily.amounts()[1:3] == (usd("92.05"), usd("101.92"))
    assert monthly.amounts()[1:3] == (usd(100), usd(100))


def test_straight_line_monthly_keeps_each_month_within_one_cent_of_its_share() -> None:
    s = straight_line_monthly(usd("1000.00"), date(2025, 1, 1), 7)
    exact = Fraction(100000, 7)
    assert all(abs(ln.amount.minor - exact) < 1 for ln in s.lines)
    assert s.recognised == usd("1000.00")


def test_straight_line_monthly_books_a_mid_month_start_at_each_service_month_end() -> None:
    s = straight_line_monthly(usd("300.00"), date(2025, 1, 15), 3)
    assert [(ln.on, str(ln.amount.amount)) for ln in s.lines] == [
        (date(2025, 2, 28), "100.00"), (date(2025, 3, 31), "100.00"),
        (date(2025, 4, 30), "100.00")]


def test_straight_line_monthly_sums_quarters_from_the_same_cumulative_targets() -> None:
    assert retainer(granularity=Granularity.QUARTER) == ["250.00"] * 4


def test_straight_line_monthly_rounds_to_a_whole_unit_quantum() -> None:
    assert retainer(quantum=UNIT)[:3] == ["83.00", "84.00", "83.00"]


def test_straight_line_monthly_names_its_method_rounding_and_obligation() -> None:
    s = straight_line_monthly(usd(120), date(2025, 1, 1), 12, rounding=Rounding.HALF_EVEN,
                              obligation_id="support")
    assert (s.method, s.rounding, s.quantum, s.obligation_id) == (
        Method.OUTPUT, Rounding.HALF_EVEN, Decimal("0.01"), "support")


def test_straight_line_monthly_accepts_an_iso_start_date() -> None:
    assert straight_line_monthly(usd(12), "2025-01-01", 12).amounts() == (usd(1),) * 12


def test_straight_line_monthly_refuses_zero_months() -> None:
    with refused("months"):
        straight_line_monthly(usd(12), date(2025, 1, 1), 0)


def test_straight_line_monthly_refuses_months_that_run_past_the_year_9999() -> None:
    with refused("months"):
        straight_line_monthly(usd(12), date(9999, 1, 1), 12)


def test_straight_line_monthly_refuses_a_datetime_start() -> None:
    with refused("start"):
        straight_line_monthly(usd(12), datetime(2025, 1, 1), 12)


def test_straight_line_monthly_refuses_a_float_amount_with_a_type_error() -> None:
    with pytest.raises(TypeError, match="'amount' must be a Money, never float"):
        straight_line_monthly(1000.0, date(2025, 1, 1), 12)  # type: ignore[arg-type]


# --------------------------------------------------------------------- exports


def test_the_short_forms_are_importable_from_the_package() -> None:
    for name in ("allocate_by_ssp", "allocate_discount", "catch_up", "straight_line_monthly"):
        assert getattr(milestonebill, name) is getattr(shortcuts, name)

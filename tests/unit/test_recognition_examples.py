"""Acceptance tests: the published ASC 606 / IFRS 15 illustrative examples.

Each test cites the example and its paragraphs (ASC 606-10-55-xx, IFRS 15
IExx).  The textbook examples use whole currency units (``quantum=1``);
the figures are the published ones.  Dates ``20X8``/``20X9`` are taken as
2028/2029.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from milestonebill.errors import ValidationError
from milestonebill.ledger import Account, JournalEntry, Side
from milestonebill.money import Money, Rounding
from milestonebill.periods import Period
from milestonebill.recognition import (
    Billing,
    Contract,
    ContractActivity,
    ContractId,
    CostReport,
    DiscountEvidence,
    Granularity,
    Modification,
    ModificationTreatment,
    ObligationId,
    ObligationPosition,
    Payment,
    PerformanceObligation,
    RevenueEvent,
    Satisfaction,
    SSPRange,
    VariableConsideration,
    allocate_transaction_price,
    contract_balances,
    estimate_transaction_price,
    journal_entries,
    modify_contract,
    recognise_cost_to_cost,
    recognise_output,
)

UNIT = Decimal(1)


def usd(value: int | str) -> Money:
    return Money(value, "USD")


def po(oid: str, ssp: int | None, **kw: object) -> PerformanceObligation:
    return PerformanceObligation(ObligationId(oid), f"Product {oid}",
                                 None if ssp is None else usd(ssp), **kw)  # type: ignore[arg-type]


def shares(contract: Contract, **kw: object) -> dict[str, Decimal]:
    a = allocate_transaction_price(contract, quantum=UNIT, **kw)  # type: ignore[arg-type]
    assert a.total == contract.price.amount
    return {k: v.amount for k, v in a.as_dict().items()}


def entry_lines(entry: JournalEntry) -> list[tuple[str, str, Money]]:
    return [(ln.side.value, ln.account.value, ln.amount) for ln in entry.lines]


# ------------------------------------------------------------------ allocation


def test_example_33_allocation_methodology_relative_ssp() -> None:
    """ASC 606-10-55-256 to 55-258 / IFRS 15 IE164-IE166 (Example 33).

    SSPs 50 (observable), 25 (adjusted market assessment), 75 (cost plus
    margin); price 100 allocated 33 / 17 / 50.
    """
    c = Contract(ContractId("ex33"), [po("A", 50), po("B", 25), po("C", 75)], usd(100))
    assert shares(c) == {"A": 33, "B": 17, "C": 50}


def test_example_33_allocation_records_quantum_and_method() -> None:
    """ASC 606-10-55-258: the published allocation is in whole dollars."""
    c = Contract(ContractId("ex33"), [po("A", 50), po("B", 25), po("C", 75)], usd(100))
    a = allocate_transaction_price(c, quantum=UNIT)
    assert (a.quantum, a.method) == (Decimal(1), "largest remainder")


def test_example_33_in_cents_is_exact_to_the_cent() -> None:
    """Example 33 at the minor unit: 33.33 / 16.67 / 50.00, still summing to 100."""
    c = Contract(ContractId("ex33"), [po("A", 50), po("B", 25), po("C", 75)], usd(100))
    a = allocate_transaction_price(c)
    assert [ln.amount for ln in a.lines] == [usd("33.33"), usd("16.67"), usd("50.00")]


def _ex34(price: int, with_d: bool) -> Contract:
    obligations = [po("A", 40), po("B", 55), po("C", 45)]
    if with_d:
        obligations.append(po("D", None, ssp_range=SSPRange(usd(15), usd(45))))
    return Contract(ContractId("ex34"), obligations, usd(price))


def test_example_34_case_a_discount_allocated_to_b_and_c() -> None:
    """ASC 606-10-55-259 to 55-264 / IFRS 15 IE167-IE172 (Example 34, Case A).

    SSPs 40 / 55 / 45 (total 140) sold for 100; B and C regularly sell
    together for 60, so the 40 discount goes to them: A 40, B 33, C 27.
    """
    got = shares(_ex34(100, False), discounts=[DiscountEvidence({"B", "C"}, usd(60))])
    assert got == {"A": 40, "B": 33, "C": 27}


def test_example_34_without_evidence_discount_is_spread_over_all() -> None:
    """ASC 606-10-32-38: without evidence the discount is allocated proportionately."""
    assert shares(_ex34(100, False)) == {"A": 29, "B": 39, "C": 32}


def test_example_34_case_b_residual_approach_for_d() -> None:
    """ASC 606-10-55-265 to 55-268 / IFRS 15 IE173-IE176 (Example 34, Case B).

    Product D added, price 130; D's SSP is highly variable (15 to 45).  A, B,
    C take 40 / 33 / 27 and the residual 30 goes to D, inside the range.
    """
    got = shares(_ex34(130, True), discounts=[DiscountEvidence({"B", "C"}, usd(60))],
                 residual="D")
    assert got == {"A": 40, "B": 33, "C": 27, "D": 30}


def test_example_34_case_c_residual_outside_observed_range_is_refused() -> None:
    """ASC 606-10-55-269 / IFRS 15 IE177 (Example 34, Case C).

    Same as Case B with a price of 105: the residual of 5 is outside the
    observed 15-45 range, so the residual approach is not appropriate.
    """
    with pytest.raises(ValidationError, match="residual approach refused") as info:
        allocate_transaction_price(_ex34(105, True), quantum=UNIT, residual="D",
                                   discounts=[DiscountEvidence({"B", "C"}, usd(60))])
    assert info.value.field == "obligations[D].residual"


# ---------------------------------------------------------------- modifications


PRODUCTS = PerformanceObligation(ObligationId("products"), "120 products", usd(12000))


def test_example_5_case_a_additional_products_at_ssp_are_a_separate_contract() -> None:
    """ASC 606-10-55-111 to 55-112 / IFRS 15 IE19-IE20 (Example 5, Case A).

    120 products at 100 each; after 60 are delivered, 30 more are added at
    95 each, their standalone selling price: a separate contract.  The
    original 60 remaining products stay at 100 each (6,000).
    """
    extra = PerformanceObligation(ObligationId("extra"), "30 more products", usd(2850))
    r = modify_contract([ObligationPosition(PRODUCTS, usd(12000), usd(6000))],
                        Modification(date(2025, 4, 1), usd(2850), [extra]), quantum=UNIT)
    assert r.treatment is ModificationTreatment.SEPARATE_CONTRACT
    assert (r.remaining_for("products"), r.remaining_for("extra")) == (usd(6000), usd(2850))
    assert r.adjustment == usd(0)


def test_example_5_case_b_prospective_with_credit_for_past_defects() -> None:
    """ASC 606-10-55-113 to 55-116 / IFRS 15 IE21-IE24 (Example 5, Case B).

    The 30 extra products are priced at 80 (not SSP) less a 900 credit for
    defects in the 60 already delivered, i.e. 1,500.  The credit reduces
    revenue at once; the remaining 60 products (6,000) and the 30 extra at
    80 (2,400) -- 8,400 -- are recognised at 93.33 a product.
    """
    extra = PerformanceObligation(ObligationId("extra"), "30 more products", usd(2850))
    r = modify_contract(
        [ObligationPosition(PRODUCTS, usd(12000), usd(6000), remaining_ssp=usd(5700))],
        Modification(date(2025, 4, 1), usd(1500), [extra], credit_for_past=usd(900)),
    )
    assert r.treatment is ModificationTreatment.PROSPECTIVE
    assert r.adjustment == usd(-900)
    assert r.remaining_total == usd(8400)
    per_product = (r.remaining_for("products").scale(Fraction(1, 60), rounding=Rounding.HALF_UP),
                   r.remaining_for("extra").scale(Fraction(1, 30), rounding=Rounding.HALF_UP))
    assert per_product == (usd("93.33"), usd("93.33"))


def test_example_7_services_contract_modified_prospectively() -> None:
    """ASC 606-10-55-125 to 55-128 / IFRS 15 IE33-IE36 (Example 7).

    Three years of cleaning at 100,000 a year; after two years year 3 is cut
    to 80,000 and three more years are added for 200,000 (SSP 80,000 a
    year).  Distinct services not at SSP: prospective, 280,000 over the four
    remaining years = 70,000 a year.
    """
    clean = PerformanceObligation(ObligationId("clean"), "Cleaning, 3 years", usd(300000),
                                  series=True)
    more = PerformanceObligation(ObligationId("more"), "Cleaning, years 4-6", usd(240000),
                                 series=True)
    r = modify_contract(
        [ObligationPosition(clean, usd(300000), usd(200000), remaining_ssp=usd(80000))],
        Modification(date(2027, 1, 1), usd(-20000) + usd(200000), [more]), quantum=UNIT,
    )
    assert r.treatment is ModificationTreatment.PROSPECTIVE
    assert r.remaining_total == usd(280000)
    years = [(date(y, 12, 31), 1) for y in (2027, 2028, 2029, 2030)]
    schedule = recognise_output(r.remaining_total, years, granularity=Granularity.YEAR)
    assert schedule.amounts() == (usd(70000),) * 4


def _ex8(progress_places: int | None) -> tuple[ModificationTreatment, Money, Money]:
    building = PerformanceObligation(ObligationId("building"), "Building", usd(1000000),
                                     satisfaction=Satisfaction.OVER_TIME)
    new_price = estimate_transaction_price(
        usd(1150000), [VariableConsideration.certain("bonus", usd(200000))]).amount
    r = modify_contract(
        [ObligationPosition(building, usd(1000000), usd(600000))],
        Modification(date(2029, 3, 1), new_price - usd(1000000), distinct=False,
                     progress=Fraction(420000, 820000)),
        quantum=UNIT, progress_places=progress_places,
    )
    return r.treatment, r.adjustment, usd(600000) + r.adjustment


def test_example_8_cumulative_catch_up_published_rounded_progress() -> None:
    """ASC 606-10-55-129 to 55-133 / IFRS 15 IE37-IE41 (Example 8), published convention.

    Building for 1,000,000 plus a 200,000 bonus (constrained at inception);
    costs 700,000, 420,000 incurred in year 1 (60%, revenue 600,000).  The
    floor plan changes: +150,000 price, +120,000 costs, and the bonus is now
    included -- price 1,350,000, costs 820,000.  Progress rounded to 51.2%
    gives cumulative revenue 691,200: a catch-up of 91,200.
    """
    treatment, catch_up, cumulative = _ex8(progress_places=3)
    assert treatment is ModificationTreatment.CUMULATIVE_CATCH_UP
    assert (catch_up, cumulative) == (usd(91200), usd(691200))


def test_example_8_cumulative_catch_up_exact_progress() -> None:
    """ASC 606-10-55-133 with exact progress 420/820: 691,463 cumulative, catch-up 91,463."""
    _, catch_up, cumulative = _ex8(progress_places=None)
    assert (catch_up, cumulative) == (usd(91463), usd(691463))


def test_example_8_year_one_bonus_is_constrained_out_of_the_price() -> None:
    """ASC 606-10-55-130: at inception the 200,000 bonus is excluded (constraint)."""
    tp = estimate_transaction_price(
        usd(1000000), [VariableConsideration.certain("bonus", usd(200000), constrained=True)])
    assert (tp.amount, tp.constrained) == (usd(1000000), usd(200000))


def test_example_8_as_a_cost_to_cost_schedule_with_catch_up_line() -> None:
    """ASC 606-10-55-131 to 55-133 as a schedule: year 1 600,000, then the catch-up 91,200."""
    reports = [
        CostReport(date(2028, 12, 31), usd(420000), usd(700000)),
        CostReport(date(2029, 3, 1), usd(420000), usd(820000), price=usd(1350000)),
    ]
    s = recognise_cost_to_cost(usd(1000000), reports, granularity=Granularity.YEAR,
                               quantum=UNIT, progress_places=3)
    assert s.amounts() == (usd(600000), usd(91200))
    assert s.lines[1].catch_up == usd(91200)


# ------------------------------------------------------------ contract balances


def test_example_38_case_a_cancellable_contract_entries() -> None:
    """ASC 606-10-55-283 to 55-284 / IFRS 15 IE198-IE199 (Example 38, Case A).

    Cancellable contract, 1,000 due in advance on 31 January, paid 1 March,
    product transferred 31 March: no receivable; cash against a contract
    liability, then the liability to revenue.
    """
    act = ContractActivity(ContractId("ex38a"), "USD",
                           payments=[Payment(date(2029, 3, 1), usd(1000))],
                           revenue=[RevenueEvent(date(2029, 3, 31), usd(1000))])
    entries = journal_entries(act, granularity=Granularity.DAY)
    assert [entry_lines(e) for e in entries] == [
        [("debit", "cash", usd(1000)), ("credit", "deferred_revenue", usd(1000))],
        [("debit", "deferred_revenue", usd(1000)), ("credit", "revenue", usd(1000))],
    ]
    assert contract_balances(act, date(2029, 1, 31)).receivable == usd(0)


def test_example_38_case_b_noncancellable_contract_balances() -> None:
    """ASC 606-10-55-285 / IFRS 15 IE200 (Example 38, Case B).

    The contract becomes noncancellable on 31 January: a receivable and a
    contract liability of 1,000 each on that date; cash settles the
    receivable on 1 March; revenue releases the liability on 31 March.
    """
    act = ContractActivity(ContractId("ex38b"), "USD",
                           billings=[Billing(date(2029, 1, 31), usd(1000))],
                           payments=[Payment(date(2029, 3, 1), usd(1000))],
                           revenue=[RevenueEvent(date(2029, 3, 31), usd(1000))])
    seen = [(b.receivable, b.contract_liability)
            for b in (contract_balances(act, d) for d in
                      (date(2029, 1, 31), date(2029, 3, 1), date(2029, 3, 31)))]
    assert seen == [(usd(1000), usd(1000)), (usd(0), usd(1000)), (usd(0), usd(0))]
    first = journal_entries(act, granularity=Granularity.DAY)[0]
    assert entry_lines(first) == [("debit", "receivable", usd(1000)),
                                  ("credit", "deferred_revenue", usd(1000))]


def test_example_39_contract_asset_then_receivable() -> None:
    """ASC 606-10-55-287 to 55-290 / IFRS 15 IE201-IE204 (Example 39).

    Products A and B for 1,000, allocated 400 / 600; payment is conditional
    on delivering both.  A delivered: contract asset 400 against revenue.  B
    delivered: receivable 1,000, contract asset 400 released, revenue 600.
    """
    act = ContractActivity(ContractId("ex39"), "USD",
                           billings=[Billing(date(2028, 6, 30), usd(1000))],
                           revenue=[RevenueEvent(date(2028, 2, 1), usd(400), ObligationId("A")),
                                    RevenueEvent(date(2028, 6, 30), usd(600), ObligationId("B"))])
    entries = journal_entries(act, granularity=Granularity.DAY)
    assert [entry_lines(e) for e in entries] == [
        [("debit", "contract_asset", usd(400)), ("credit", "revenue", usd(400))],
        [("debit", "receivable", usd(1000)), ("credit", "contract_asset", usd(400)),
         ("credit", "revenue", usd(600))],
    ]
    assert contract_balances(act, date(2028, 2, 1)).contract_asset == usd(400)
    assert all(ln.account is not Account.CASH for e in entries for ln in e.lines)
    assert {ln.side for e in entries for ln in e.lines} == {Side.DEBIT, Side.CREDIT}


def test_example_39_allocation_by_relative_ssp() -> None:
    """ASC 606-10-55-288: the 1,000 is allocated 400 to A and 600 to B by relative SSP."""
    c = Contract(ContractId("ex39"), [po("A", 500), po("B", 750)], usd(1000))
    assert shares(c) == {"A": 400, "B": 600}


def test_period_type_is_used_for_service_periods() -> None:
    """Obligations carry a half-open service period from ``periods``."""
    o = po("S", 10, period=Period.of("2025-01-01", "2025-02-01"))
    assert o.period == Period(date(2025, 1, 1), date(2025, 2, 1))

"""Unit tests of the recognition calculators: edge cases, conventions and bad input."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction

import pytest

from milestonebill.agreement import (
    AgreementId,
    Collection,
    PackageOption,
    Proposal,
    ProposalId,
    sign,
)
from milestonebill.errors import NotFoundError, ValidationError
from milestonebill.ledger import Account, InMemoryLedger
from milestonebill.money import Currency, Money, Rounding
from milestonebill.periods import Period
from milestonebill.recognition import (
    Billing,
    Contract,
    ContractActivity,
    ContractId,
    Convention,
    CostReport,
    DiscountEvidence,
    Estimate,
    Granularity,
    Modification,
    ModificationTreatment,
    ObligationId,
    ObligationPosition,
    Outcome,
    Payment,
    PerformanceObligation,
    RevenueEvent,
    Satisfaction,
    SSPRange,
    VariableConsideration,
    allocate_transaction_price,
    bucket,
    combine_obligations,
    contract_balances,
    contract_from_agreement,
    contract_from_schedule,
    estimate_transaction_price,
    journal_entries,
    modify_contract,
    obligations_from_agreement,
    obligations_from_schedule,
    portfolio_balances,
    recognise_at,
    recognise_cost_to_cost,
    recognise_output,
    recognise_straight_line,
    revenue_waterfall,
)
from milestonebill.schedule import (
    BillingSchedule,
    Interval,
    ItemId,
    Milestone,
    MilestoneId,
    RecurringCharge,
)


def usd(value: int | str) -> Money:
    return Money(value, "USD")


def po(oid: str, ssp: Money | None) -> PerformanceObligation:
    return PerformanceObligation(ObligationId(oid), oid.title(), ssp)


Q1 = Period.of("2025-01-15", "2025-04-15")


# ------------------------------------------------------------- straight line


def test_daily_straight_line_gives_partial_first_and_last_months() -> None:
    s = recognise_straight_line(usd("1000.00"), Q1)
    assert [str(ln.period) for ln in s.lines] == [
        "[2025-01-15, 2025-02-01)", "[2025-02-01, 2025-03-01)",
        "[2025-03-01, 2025-04-01)", "[2025-04-01, 2025-04-15)"]
    assert s.amounts() == (usd("188.89"), usd("311.11"), usd("344.44"), usd("155.56"))


def test_daily_straight_line_counts_the_leap_day() -> None:
    s = recognise_straight_line(usd("366.00"), Period.year(2024))
    assert s.amounts()[1] == usd(29)


@pytest.mark.parametrize(("convention", "expected"), [
    (Convention.DAILY, ("188.89", "311.11", "344.44", "155.56")),
    (Convention.DAY_RATE, ("188.87", "311.08", "344.41", "155.64")),
    (Convention.THIRTY_DAY_MONTH, ("177.78", "333.33", "333.33", "155.56")),
    (Convention.FULL_MONTH, ("333.33", "333.33", "333.33", "0.01")),
])
def test_each_convention_splits_the_docs_example_its_own_way(
    convention: Convention, expected: tuple[str, ...]
) -> None:
    s = recognise_straight_line(usd("1000.00"), Q1, convention=convention)
    assert s.amounts() == tuple(usd(v) for v in expected)
    assert s.convention is convention


def test_full_month_plugs_the_last_month_when_service_starts_on_the_first() -> None:
    s = recognise_straight_line(usd("100.00"), Period.of("2025-01-01", "2025-04-01"),
                                convention=Convention.FULL_MONTH)
    assert s.amounts() == (usd("33.33"), usd("33.33"), usd("33.34"))


def test_full_month_refuses_daily_granularity() -> None:
    with pytest.raises(ValidationError) as info:
        recognise_straight_line(usd(100), Q1, convention=Convention.FULL_MONTH,
                                granularity=Granularity.DAY)
    assert info.value.field == "granularity"


def test_thirty_day_month_single_day_on_the_30th_still_recognises_the_amount() -> None:
    s = recognise_straight_line(usd(10), Period.of("2025-01-30", "2025-01-31"),
                                convention=Convention.THIRTY_DAY_MONTH)
    assert s.amounts() == (usd(10),)


@pytest.mark.parametrize(("granularity", "count"), [
    (Granularity.DAY, 90), (Granularity.MONTH, 4), (Granularity.QUARTER, 2), (Granularity.YEAR, 1)])
def test_straight_line_per_granularity(granularity: Granularity, count: int) -> None:
    s = recognise_straight_line(usd("1000.00"), Q1, granularity=granularity)
    assert (len(s.lines), s.recognised) == (count, usd("1000.00"))


def test_straight_line_in_yen_and_dinar_is_exact_to_their_minor_units() -> None:
    jpy = recognise_straight_line(Money(100000, "JPY"), Q1)
    kwd = recognise_straight_line(Money("1000.000", "KWD"), Q1)
    assert jpy.amounts() == tuple(Money(v, "JPY") for v in (18889, 31111, 34444, 15556))
    assert kwd.amounts()[0] == Money("188.889", "KWD")


def test_negative_amount_mirrors_the_positive_split() -> None:
    s = recognise_straight_line(usd("-1000.00"), Q1, rounding=Rounding.HALF_EVEN)
    assert s.amounts() == (usd("-188.89"), usd("-311.11"), usd("-344.44"), usd("-155.56"))


def test_whole_unit_quantum_is_recorded_and_used() -> None:
    s = recognise_straight_line(usd("1000.00"), Q1, quantum=Decimal(1))
    assert (s.quantum, s.amounts()) == (Decimal(1), (usd(189), usd(311), usd(344), usd(156)))


def test_quantum_finer_than_the_minor_unit_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        recognise_straight_line(usd(1), Q1, quantum=Decimal("0.001"))
    assert info.value.field == "quantum"


def test_bucket_of_a_date_per_granularity() -> None:
    d = date(2024, 2, 29)
    assert [str(bucket(d, g)) for g in Granularity] == [
        "[2024-02-29, 2024-03-01)", "[2024-02-01, 2024-03-01)",
        "[2024-01-01, 2024-04-01)", "[2024-01-01, 2025-01-01)"]


# ----------------------------------------------------- point in time / output


def test_point_in_time_books_on_the_event_date() -> None:
    s = recognise_at(usd(500), date(2025, 6, 30), granularity=Granularity.QUARTER)
    assert (s.lines[0].on, str(s.lines[0].period)) == (date(2025, 6, 30),
                                                       "[2025-04-01, 2025-07-01)")


def test_output_method_partial_delivery_recognises_only_what_was_delivered() -> None:
    s = recognise_output(usd(1000), [(date(2025, 1, 10), 3)], total_units=10)
    assert s.recognised == usd(300)


def test_output_method_refuses_more_units_than_the_total() -> None:
    with pytest.raises(ValidationError) as info:
        recognise_output(usd(1000), [(date(2025, 1, 10), 11)], total_units=10)
    assert info.value.field == "total_units"


def test_output_method_merges_deliveries_in_one_period() -> None:
    s = recognise_output(usd(90), [(date(2025, 1, 3), 1), (date(2025, 1, 20), 1),
                                   (date(2025, 2, 2), 1)])
    assert s.amounts() == (usd(60), usd(30))


# ----------------------------------------------------------- cost-to-cost


def test_cost_to_cost_refuses_costs_above_the_estimate() -> None:
    with pytest.raises(ValidationError) as info:
        recognise_cost_to_cost(usd(100), [
            CostReport(date(2025, 1, 31), usd(10), usd(20)),
            CostReport(date(2025, 2, 28), usd(30), usd(20))])
    assert info.value.field == "reports[1].incurred"


def test_cost_to_cost_partial_schedule_recognises_to_date() -> None:
    s = recognise_cost_to_cost(usd(100), [CostReport(date(2025, 1, 31), usd(1), usd(3))])
    assert (s.recognised, s.lines[0].progress) == (usd("33.33"), Fraction(1, 3))


def test_cost_to_cost_price_increase_is_caught_up() -> None:
    s = recognise_cost_to_cost(usd(100), [
        CostReport(date(2025, 1, 31), usd(50), usd(100)),
        CostReport(date(2025, 2, 28), usd(50), usd(100), price=usd(120)),
        CostReport(date(2025, 3, 31), usd(100), usd(100))])
    assert s.amounts() == (usd(50), usd(10), usd(60))
    assert [ln.catch_up for ln in s.lines] == [usd(0), usd(10), usd(0)]
    assert s.total == usd(120)


# ------------------------------------------------------- transaction price


def test_expected_value_weights_each_outcome() -> None:
    vc = VariableConsideration("perf", [Outcome(usd(100), "0.25"), Outcome(usd(200), "0.75")],
                               Estimate.EXPECTED_VALUE)
    assert vc.estimate() == usd(175)


def test_most_likely_amount_breaks_ties_to_the_smaller_amount() -> None:
    vc = VariableConsideration("perf", [Outcome(usd(200), "0.5"), Outcome(usd(100), "0.5")],
                               Estimate.MOST_LIKELY_AMOUNT)
    assert vc.estimate() == usd(100)


def test_probabilities_must_sum_to_one() -> None:
    with pytest.raises(ValidationError) as info:
        VariableConsideration("perf", [Outcome(usd(1), "0.5")], Estimate.EXPECTED_VALUE)
    assert info.value.field == "variable[perf].outcomes"


def test_partial_release_of_a_constraint() -> None:
    vc = VariableConsideration.certain("bonus", usd(1000), constrained=True).release(usd(400))
    tp = estimate_transaction_price(usd(5000), [vc])
    assert (tp.amount, tp.constrained) == (usd(5400), usd(600))


def test_constraint_larger_than_the_estimate_is_refused() -> None:
    vc = VariableConsideration("bonus", [Outcome(usd(100), 1)], Estimate.MOST_LIKELY_AMOUNT,
                               constrained=usd(150))
    with pytest.raises(ValidationError) as info:
        estimate_transaction_price(usd(1000), [vc])
    assert info.value.field == "variable[0].constrained"


# ---------------------------------------------------------------- allocation


def test_allocation_names_the_obligation_missing_an_ssp() -> None:
    c = Contract(ContractId("c"), [po("a", usd(10)), po("b", None)], usd(10))
    with pytest.raises(ValidationError) as info:
        allocate_transaction_price(c)
    assert info.value.field == "obligations[b].ssp"


def test_discount_bundle_with_unknown_obligation_is_refused() -> None:
    c = Contract(ContractId("c"), [po("a", usd(10)), po("b", usd(10))], usd(15))
    with pytest.raises(ValidationError) as info:
        allocate_transaction_price(c, discounts=[DiscountEvidence({"a", "z"}, usd(5))])
    assert info.value.field == "discounts[0].obligations"


def test_overlapping_discount_bundles_are_refused() -> None:
    c = Contract(ContractId("c"), [po("a", usd(10)), po("b", usd(10)), po("c", usd(10))], usd(25))
    with pytest.raises(ValidationError, match="disjoint"):
        allocate_transaction_price(c, discounts=[DiscountEvidence({"a", "b"}, usd(15)),
                                                 DiscountEvidence({"b", "c"}, usd(15))])


def test_negative_residual_is_refused_even_without_a_range() -> None:
    c = Contract(ContractId("c"), [po("a", usd(10)), po("b", None)], usd(5))
    with pytest.raises(ValidationError) as info:
        allocate_transaction_price(c, residual="b")
    assert info.value.field == "obligations[b].residual"


def test_residual_inside_the_range_is_accepted() -> None:
    b = PerformanceObligation(ObligationId("b"), "B", None,
                              ssp_range=SSPRange(usd(1), usd(10)))
    c = Contract(ContractId("c"), [po("a", usd(10)), b], usd(15))
    assert allocate_transaction_price(c, residual="b").amount("b") == usd(5)


def test_whole_unit_allocation_of_an_odd_price_gives_the_cents_to_the_largest() -> None:
    c = Contract(ContractId("c"), [po("a", usd(1)), po("b", usd(2))], usd("100.50"))
    a = allocate_transaction_price(c, quantum=Decimal(1))
    assert [ln.amount for ln in a.lines] == [usd(33), usd("67.50")]


def test_contract_refuses_an_ssp_in_another_currency() -> None:
    with pytest.raises(ValidationError) as info:
        Contract(ContractId("c"), [po("a", Money(10, "EUR"))], usd(10))
    assert info.value.field == "obligations[a].ssp"


def test_contract_refuses_duplicate_obligation_ids() -> None:
    with pytest.raises(ValidationError, match="unique ids"):
        Contract(ContractId("c"), [po("a", usd(1)), po("a", usd(2))], usd(3))


def test_unknown_obligation_is_not_found() -> None:
    c = Contract(ContractId("c"), [po("a", usd(1))], usd(1))
    with pytest.raises(NotFoundError):
        c.obligation("zz")


def test_combined_obligation_is_over_time_if_any_part_is() -> None:
    a = PerformanceObligation(ObligationId("a"), "A", usd(1), Satisfaction.OVER_TIME,
                              period=Period.of("2025-01-01", "2025-02-01"))
    b = PerformanceObligation(ObligationId("b"), "B", None,
                              period=Period.of("2025-03-01", "2025-04-01"))
    c = combine_obligations([a, b], id="ab", name="A+B")
    assert (c.satisfaction, c.ssp, str(c.period)) == (
        Satisfaction.OVER_TIME, None, "[2025-01-01, 2025-04-01)")


# -------------------------------------------------------------- modifications


def test_catch_up_needs_the_remeasured_progress() -> None:
    pos = [ObligationPosition(po("a", usd(100)), usd(100), usd(50))]
    with pytest.raises(ValidationError) as info:
        modify_contract(pos, Modification(date(2025, 1, 1), usd(10), distinct=False))
    assert info.value.field == "modification.progress"


def test_catch_up_with_two_open_obligations_must_name_the_affected_one() -> None:
    pos = [ObligationPosition(po("a", usd(100)), usd(100), usd(50)),
           ObligationPosition(po("b", usd(100)), usd(100), usd(0))]
    mod = Modification(date(2025, 1, 1), usd(10), distinct=False, progress="0.5")
    with pytest.raises(ValidationError) as info:
        modify_contract(pos, mod)
    assert info.value.field == "modification.affects"
    r = modify_contract(pos, Modification(date(2025, 1, 1), usd(10), distinct=False,
                                          progress="0.5", affects=ObligationId("a")))
    assert (r.adjustment, r.remaining_for("a"), r.remaining_for("b")) == (
        usd(5), usd(55), usd(100))


def test_forced_catch_up_is_recorded_as_forced() -> None:
    pos = [ObligationPosition(po("a", usd(100)), usd(100), usd(50))]
    r = modify_contract(pos, Modification(
        date(2025, 1, 1), usd(-20), progress="0.5",
        treatment=ModificationTreatment.CUMULATIVE_CATCH_UP))
    assert (r.treatment, r.forced, r.reason, r.adjustment) == (
        ModificationTreatment.CUMULATIVE_CATCH_UP, True, "forced: cumulative_catch_up", usd(-10))


def test_prospective_without_remaining_ssp_uses_ssp_share_of_what_is_left() -> None:
    pos = [ObligationPosition(po("a", usd(100)), usd(100), usd(75))]
    extra = po("x", usd(75))
    r = modify_contract(pos, Modification(date(2025, 1, 1), usd(50), [extra]))
    assert (r.remaining_for("a"), r.remaining_for("x")) == (usd("18.75"), usd("56.25"))


# ------------------------------------------------ balances, entries, ledger


def _activity() -> ContractActivity:
    return ContractActivity(
        ContractId("c-9"), "USD",
        billings=[Billing(date(2025, 1, 1), usd(600))],
        payments=[Payment(date(2025, 1, 20), usd(600))],
        revenue=[RevenueEvent(date(2025, 1, 31), usd(200)), RevenueEvent(date(2025, 2, 28), usd(200)),
                 RevenueEvent(date(2025, 3, 31), usd(200))])


def test_entries_post_once_and_ledger_matches_the_balances() -> None:
    act = _activity()
    ledger = InMemoryLedger()
    entries = journal_entries(act)
    assert [ledger.post(e) for e in entries] == [True, True, True]
    assert [ledger.post(e) for e in journal_entries(act)] == [False, False, False]
    b = contract_balances(act, date(2025, 2, 28))
    assert ledger.balance(Account.DEFERRED_REVENUE, currency="USD", as_of=date(2025, 2, 28)) == \
        -b.contract_liability
    assert ledger.balance(Account.REVENUE, currency="USD") == usd(-600)


def test_entry_ids_are_derived_from_contract_and_period() -> None:
    assert [e.id for e in journal_entries(_activity())] == [
        "c-9:revenue:2025-01-01", "c-9:revenue:2025-02-01", "c-9:revenue:2025-03-01"]


def test_activity_refuses_an_amount_in_another_currency() -> None:
    with pytest.raises(ValidationError) as info:
        ContractActivity(ContractId("c"), "USD", payments=[Payment(date(2025, 1, 1),
                                                                   Money(1, "EUR"))])
    assert info.value.field == "payments[0].amount"


def test_refund_turns_a_liability_back() -> None:
    act = ContractActivity(ContractId("c"), "USD",
                           payments=[Payment(date(2025, 1, 1), usd(100)),
                                     Payment(date(2025, 1, 5), usd(-100))])
    assert contract_balances(act, date(2025, 1, 5)).contract_liability == usd(0)


def test_portfolio_never_nets_one_contract_against_another() -> None:
    a = ContractActivity(ContractId("a"), "USD", revenue=[RevenueEvent(date(2025, 1, 1), usd(10))])
    b = ContractActivity(ContractId("b"), "USD", payments=[Payment(date(2025, 1, 1), usd(10))])
    p = portfolio_balances([a, b], date(2025, 1, 31))
    assert (p.contract_assets, p.contract_liabilities) == (usd(10), usd(10))


def test_waterfall_refuses_a_finer_granularity_than_a_schedule() -> None:
    s = recognise_straight_line(usd(100), Q1, granularity=Granularity.QUARTER)
    with pytest.raises(ValidationError) as info:
        revenue_waterfall([s], granularity=Granularity.MONTH)
    assert info.value.field == "schedules[0].granularity"


def test_waterfall_columns_sum_rows() -> None:
    s1 = recognise_straight_line(usd(100), Q1, obligation_id="a")
    s2 = recognise_at(usd(50), date(2025, 2, 3), obligation_id="b")
    w = revenue_waterfall([s1, s2])
    assert [c.amount for c in w.column_totals] == [Decimal("18.89"), Decimal("81.11"),
                                                   Decimal("34.44"), Decimal("15.56")]
    assert w.ties_to(usd(150))


# ---------------------------------------------------------------- adapters

SCHEDULE = BillingSchedule(
    Currency.of("USD"), None,
    (Milestone(MilestoneId("discovery"), "Discovery", usd(5000)),),
    (RecurringCharge(ItemId("hosting"), "Hosting", usd(100), Interval.MONTHLY,
                     start=date(2025, 1, 1)),),
)


def test_open_ended_recurring_service_needs_a_horizon() -> None:
    with pytest.raises(ValidationError) as info:
        obligations_from_schedule(SCHEDULE)
    assert info.value.field == "until"


def test_schedule_adapter_counts_recurring_periods_before_the_horizon() -> None:
    obligations = obligations_from_schedule(SCHEDULE, until=date(2025, 7, 1),
                                            over_time={"discovery"},
                                            ssp={"hosting": usd(900)})
    assert [(o.id, o.ssp, o.satisfaction) for o in obligations] == [
        ("discovery", usd(5000), Satisfaction.OVER_TIME),
        ("hosting", usd(900), Satisfaction.OVER_TIME)]
    assert str(obligations[1].period) == "[2025-01-01, 2025-07-01)"


def test_contract_from_schedule_prices_at_what_it_bills() -> None:
    c = contract_from_schedule(SCHEDULE, "s-1", until=date(2025, 7, 1))
    assert c.price.amount == usd(5600)


def test_contract_from_agreement_uses_the_contract_value() -> None:
    p = Proposal(ProposalId("p"), "Acme", Currency.of("USD"),
                 (PackageOption("std", "Standard", SCHEDULE),), collection=Collection.SEND_INVOICE)
    a = sign(p, option="std", signer="Ada", signed_at=datetime(2025, 1, 1, tzinfo=UTC),
             payment_method=None, agreement_id=AgreementId("agr-1"))
    c = contract_from_agreement(a, through=date(2025, 4, 1))
    assert (c.id, c.price.amount) == ("agr-1", usd(5300))
    assert [o.id for o in obligations_from_agreement(a, through=date(2025, 4, 1))] == [
        "discovery", "hosting"]

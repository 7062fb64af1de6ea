"""Professional-services scenarios for the recognition calculators (issue 4)."""

from __future__ import annotations

from datetime import date

from milestonebill.ledger import Account, JournalEntry
from milestonebill.money import Money
from milestonebill.periods import Period
from milestonebill.recognition import (
    Billing,
    Contract,
    ContractActivity,
    ContractId,
    CostReport,
    Granularity,
    Modification,
    ModificationTreatment,
    ObligationId,
    ObligationPosition,
    Payment,
    PerformanceObligation,
    Satisfaction,
    allocate_transaction_price,
    contract_balances,
    journal_entries,
    modify_contract,
    recognise_at,
    recognise_cost_to_cost,
    recognise_straight_line,
    revenue_waterfall,
)


def usd(value: int | str) -> Money:
    return Money(value, "USD")


def account_total(entries: tuple[JournalEntry, ...], account: Account) -> Money:
    """Debit-minus-credit total of one account over the entries."""
    return Money.total((Money.from_minor(ln.signed_minor, "USD") for e in entries
                        for ln in e.lines if ln.account is account), currency="USD")


# ------------------------------------------- fixed fee, milestones, cost-to-cost

FEE = usd("90000.00")
COSTS = [
    CostReport(date(2025, 1, 31), usd(15000), usd(60000)),
    CostReport(date(2025, 2, 28), usd(30000), usd(75000)),  # estimate raised mid-project
    CostReport(date(2025, 3, 31), usd(60000), usd(75000)),
    CostReport(date(2025, 4, 30), usd(75000), usd(75000)),
]
MILESTONE_BILLS = [Billing(date(2025, 2, 15), usd(30000), "M1"),
                   Billing(date(2025, 3, 20), usd(30000), "M2"),
                   Billing(date(2025, 4, 30), usd(30000), "M3")]


def test_fixed_fee_cost_to_cost_recognises_catch_up_on_estimate_change() -> None:
    s = recognise_cost_to_cost(FEE, COSTS, obligation_id="engagement")
    assert s.amounts() == (usd(22500), usd(13500), usd(36000), usd(18000))
    assert s.lines[1].catch_up == usd(-4500)


def test_fixed_fee_cost_to_cost_recognises_the_whole_fee() -> None:
    s = recognise_cost_to_cost(FEE, COSTS)
    assert s.recognised == FEE


def test_fixed_fee_milestones_balances_each_month_end() -> None:
    s = recognise_cost_to_cost(FEE, COSTS, obligation_id="engagement")
    act = ContractActivity.from_schedules(
        "eng-1", [s], billings=MILESTONE_BILLS,
        payments=[Payment(date(2025, 3, 10), usd(30000))])
    seen = [(b.receivable, b.contract_asset, b.contract_liability)
            for b in (contract_balances(act, ln.on) for ln in s.lines)]
    assert seen == [
        (usd(0), usd(22500), usd(0)),
        (usd(30000), usd(6000), usd(0)),
        (usd(30000), usd(12000), usd(0)),
        (usd(60000), usd(0), usd(0)),
    ]


def test_fixed_fee_milestones_monthly_entries_post_the_fee_to_revenue() -> None:
    s = recognise_cost_to_cost(FEE, COSTS)
    act = ContractActivity.from_schedules("eng-1", [s], billings=MILESTONE_BILLS)
    entries = journal_entries(act)
    assert account_total(entries, Account.REVENUE) == -FEE
    assert account_total(entries, Account.RECEIVABLE) == FEE
    assert account_total(entries, Account.CONTRACT_ASSET) == usd(0)


# --------------------------------------- monthly retainer modified below SSP

RETAINER = PerformanceObligation(ObligationId("retainer"), "Advisory retainer", usd(60000),
                                 Satisfaction.OVER_TIME,
                                 period=Period.of("2025-01-01", "2026-01-01"), series=True)


def test_retainer_straight_line_is_daily_accurate() -> None:
    s = recognise_straight_line(usd(60000), Period.of("2025-01-01", "2026-01-01"))
    assert s.amounts()[:2] == (usd("5095.89"), usd("4602.74"))
    assert s.recognised == usd(60000)


def test_retainer_modified_below_ssp_is_prospective() -> None:
    before = recognise_straight_line(usd(60000), Period.of("2025-01-01", "2026-01-01"))
    done = before.recognised_through(date(2025, 6, 30))
    extension = PerformanceObligation(ObligationId("retainer-2026"), "Retainer H1 2026",
                                      usd(30000), Satisfaction.OVER_TIME, series=True)
    # Rest of 2025 cut from 5,000 to 4,000 a month; six more months at 4,000 (SSP 5,000).
    mod = Modification(date(2025, 7, 1), usd(-6000) + usd(24000), [extension])
    r = modify_contract([ObligationPosition(RETAINER, usd(60000), done,
                                            remaining_ssp=usd(30000))], mod)
    assert r.treatment is ModificationTreatment.PROSPECTIVE
    assert not r.forced
    assert done + r.adjustment + r.remaining_total == usd(60000) + usd(18000)
    assert r.remaining_for("retainer") == r.remaining_for("retainer-2026")


def test_retainer_modification_can_be_forced_and_is_recorded() -> None:
    extension = PerformanceObligation(ObligationId("retainer-2026"), "Retainer H1 2026",
                                      usd(30000), Satisfaction.OVER_TIME, series=True)
    mod = Modification(date(2025, 7, 1), usd(18000), [extension],
                       treatment=ModificationTreatment.SEPARATE_CONTRACT)
    r = modify_contract([ObligationPosition(RETAINER, usd(60000), usd(30000))], mod)
    assert (r.treatment, r.forced) == (ModificationTreatment.SEPARATE_CONTRACT, True)
    assert r.remaining_for("retainer-2026") == usd(18000)


def test_retainer_after_modification_ties_over_its_life() -> None:
    before = recognise_straight_line(usd(60000), Period.of("2025-01-01", "2026-01-01"))
    done = before.recognised_through(date(2025, 6, 30))
    extension = PerformanceObligation(ObligationId("retainer-2026"), "Retainer H1 2026",
                                      usd(30000), Satisfaction.OVER_TIME, series=True)
    r = modify_contract([ObligationPosition(RETAINER, usd(60000), done,
                                            remaining_ssp=usd(30000))],
                        Modification(date(2025, 7, 1), usd(18000), [extension]))
    after = recognise_straight_line(r.remaining_total, Period.of("2025-07-01", "2026-07-01"))
    assert done + after.recognised == usd(78000)
    assert len(after.lines) == 12


# ----------------------------------------------------- billing vs recognition


def test_billing_ahead_of_recognition_is_a_contract_liability() -> None:
    s = recognise_straight_line(usd(40000), Period.of("2025-01-01", "2025-05-01"))
    act = ContractActivity.from_schedules(
        "eng-2", [s], billings=[Billing(date(2025, 1, 1), usd(20000), "50% on signing")],
        payments=[Payment(date(2025, 1, 10), usd(20000))])
    b = contract_balances(act, date(2025, 1, 31))
    assert (b.recognised, b.receivable, b.contract_asset, b.contract_liability) == (
        usd("10333.33"), usd(0), usd(0), usd("9666.67"))


def test_recognition_ahead_of_billing_is_a_contract_asset() -> None:
    s = recognise_straight_line(usd(40000), Period.of("2025-01-01", "2025-05-01"))
    act = ContractActivity.from_schedules(
        "eng-3", [s], billings=[Billing(date(2025, 4, 30), usd(40000), "on completion")])
    b = contract_balances(act, date(2025, 2, 28))
    assert (b.contract_asset, b.contract_liability, b.receivable) == (
        usd("19666.67"), usd(0), usd(0))
    assert contract_balances(act, date(2025, 4, 30)).receivable == usd(40000)


def test_waterfall_of_a_design_and_support_engagement_ties_to_the_price() -> None:
    design = PerformanceObligation(ObligationId("design"), "Design", usd(24000))
    support = PerformanceObligation(ObligationId("support"), "Support", usd(12000),
                                    Satisfaction.OVER_TIME,
                                    period=Period.of("2025-02-01", "2026-02-01"))
    c = Contract(ContractId("eng-4"), [design, support], usd(30000))
    a = allocate_transaction_price(c)
    schedules = [recognise_at(a.amount("design"), date(2025, 3, 3), obligation_id="design"),
                 recognise_straight_line(a.amount("support"), Period.of("2025-02-01", "2026-02-01"),
                                         obligation_id="support")]
    w = revenue_waterfall(schedules, granularity=Granularity.QUARTER)
    assert w.ties_to(c.price.amount)
    assert [r.total for r in w.rows] == [usd(20000), usd(10000)]
    assert len(w.periods) == 5

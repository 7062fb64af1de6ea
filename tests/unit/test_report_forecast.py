"""Forecasts: each rule with hand-checked numbers.

Agreements are signed on Monday 2 March 2026 (``T0``) and forecast as of
31 March unless a test says otherwise, so April is the first period.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from milestonebill.agreement import (
    Agreement,
    AgreementId,
    Amendment,
    AmendmentId,
    ApprovalRules,
    ChangeMilestoneAmount,
    ChangeRecurringPrice,
    Collection,
    PaymentMethodKind,
    PaymentMethodRef,
    apply,
    approve,
    propose,
)
from milestonebill.documents import FlatTax, TaxPolicy, TaxRate
from milestonebill.errors import ValidationError
from milestonebill.gateways.memory import InMemoryGateway, Scripted
from milestonebill.money import Money
from milestonebill.reports import (
    Approval,
    Assumptions,
    Cadence,
    CollectionLag,
    CompletionAssumption,
    Measure,
    Scenario,
    Signing,
    billing_revenue_forecast,
    cash_forecast,
    compare_scenarios,
    expected_receipts,
    forecast_periods,
    total,
)
from milestonebill.schedule import (
    Escalation,
    Interval,
    ItemId,
    Milestone,
    MilestoneId,
    PaymentTerms,
    RecurringCharge,
    Trigger,
)
from milestonebill.testing.scenarios import CARD, T0, World, proposal, signed, usd

AS_OF = date(2026, 3, 31)
BANK = PaymentMethodRef("memory", "cus_1", "pm_bank", PaymentMethodKind.BANK_DEBIT)


def dated(mid: str, amount: str, on: date, *, net: int = 0) -> Milestone:
    return Milestone(MilestoneId(mid), mid.title(), amount=usd(amount), trigger=Trigger.ON_DATE,
                     due_on=on, terms=PaymentTerms.net(net))


def sent(*milestones: Milestone | tuple[str, str], agreement_id: str = "agr-1") -> Agreement:
    return signed(proposal(milestones, collection=Collection.SEND_INVOICE), payment_method=None,
                  agreement_id=AgreementId(agreement_id))


def retainer(amount: str = "1000.00", **kw: object) -> RecurringCharge:
    return RecurringCharge(ItemId("ret"), "Retainer", usd(amount), Interval.MONTHLY,
                           start=date(2026, 4, 1), count=6, **kw)  # type: ignore[arg-type]


def when(rows: object) -> list[tuple[date | None, str, str]]:
    return [(r.expected_on, str(r.amount), r.collection) for r in rows]  # type: ignore[attr-defined]


# ---------------------------------------------------------------- collection lags


def test_a_card_payment_is_expected_the_card_lag_after_billing() -> None:
    a = signed(proposal([dated("m", "1000.00", date(2026, 4, 10))]))
    rows = expected_receipts([a], AS_OF, through=date(2026, 6, 1),
                             assumptions=Assumptions(lag=CollectionLag(card_days=3)))
    assert when(rows) == [(date(2026, 4, 13), "1000.00 USD", "card: 3 days after billing")]


def test_a_bank_debit_is_expected_the_bank_lag_after_billing() -> None:
    a = signed(proposal([dated("m", "1000.00", date(2026, 4, 10))]), payment_method=BANK)
    rows = expected_receipts([a], AS_OF, through=date(2026, 6, 1))
    assert when(rows) == [(date(2026, 4, 15), "1000.00 USD", "bank debit: 5 days after billing")]


def test_a_sent_invoice_is_expected_on_its_due_date_by_its_terms() -> None:
    a = sent(dated("m", "1000.00", date(2026, 4, 10), net=30))
    (row,) = expected_receipts([a], AS_OF, through=date(2026, 6, 1))
    assert (row.billed_on, row.due_on, row.expected_on, row.collection) == (
        date(2026, 4, 10), date(2026, 5, 10), date(2026, 5, 10), "sent invoice: on its due date")


def late_payer() -> World[InMemoryGateway]:
    """Design invoiced 2 March and paid 12 March (10 days late), build invoiced 16 March
    and paid 29 March (13 days late); launch is dated 1 May, net 14."""
    w = World()
    w.open(proposal([("design", "1000.00"), ("build", "1000.00"),
                     dated("launch", "2000.00", date(2026, 5, 1), net=14)],
                    collection=Collection.SEND_INVOICE), payment_method=None)
    for done, paid, mid in ((date(2026, 3, 2), date(2026, 3, 12), "design"),
                            (date(2026, 3, 16), date(2026, 3, 29), "build")):
        w.on(done)
        (inv,) = w.complete(mid).invoices
        w.on(paid)
        w.biller.record_payment(inv.id, usd("1000.00"), reference=f"bank-{mid}")
    return w


def test_a_client_that_pays_late_is_expected_its_average_days_late_after_the_due_date() -> None:
    (row,) = expected_receipts([late_payer().load()], AS_OF, through=date(2026, 6, 1))
    # (10 + 13) / 2 = 11.5 days, rounded half up to 12: 15 May + 12 days.
    assert (row.due_on, row.expected_on) == (date(2026, 5, 15), date(2026, 5, 27))
    assert row.collection == "sent invoice: due date + 12 days (the client's average over 2 paid)"


def test_without_history_a_late_payer_is_expected_by_its_terms() -> None:
    lag = CollectionLag(use_history=False)
    (row,) = expected_receipts([late_payer().load()], AS_OF, through=date(2026, 6, 1),
                               assumptions=Assumptions(lag=lag))
    assert row.expected_on == date(2026, 5, 15)


def test_an_open_sent_invoice_is_expected_by_the_same_rule_as_new_billing() -> None:
    w = World()
    w.open(proposal([Milestone(MilestoneId("design"), "Design", amount=usd("800.00"),
                               terms=PaymentTerms.net(30))], collection=Collection.SEND_INVOICE),
           payment_method=None)
    w.on(date(2026, 3, 20))
    w.complete("design")
    (row,) = expected_receipts([w.load()], AS_OF, through=date(2026, 6, 1))
    assert (row.timing, row.expected_on, str(row.amount)) == (
        "open invoice", date(2026, 4, 19), "800.00 USD")
    (april, _may) = cash_forecast([w.load()], AS_OF, periods=2)
    assert (str(april.from_invoices), str(april.from_billing)) == ("800.00 USD", "0.00 USD")


def test_an_overdue_invoice_is_expected_the_day_after_as_of() -> None:
    w = World()
    w.open(proposal([("design", "800.00")], collection=Collection.SEND_INVOICE),
           payment_method=None)
    w.complete("design")  # due on receipt, 2 March, never paid
    (row,) = expected_receipts([w.load()], AS_OF, through=date(2026, 6, 1))
    assert (row.expected_on, row.collection) == (
        date(2026, 4, 1), "sent invoice: on its due date; overdue, so the day after as_of")


def test_a_charge_whose_retries_are_exhausted_is_not_forecast() -> None:
    w = World()
    w.gateway.script_next(Scripted.decline("stolen_card"))
    w.open(proposal([("design", "800.00")]))
    w.complete("design")
    (row,) = expected_receipts([w.load()], AS_OF, through=date(2026, 6, 1))
    assert (row.expected_on, row.collection) == (None, "not forecast: collection exhausted")
    assert str(cash_forecast([w.load()], AS_OF, periods=1)[0].total) == "0.00 USD"


# ---------------------------------------------------------------- failure rate and tax


def test_a_failure_rate_scales_each_expected_figure_with_one_rounding() -> None:
    a = signed(proposal([dated(f"m{i}", "333.33", date(2026, 4, 10 + i)) for i in range(3)]))
    (april,) = cash_forecast([a], AS_OF, periods=1,
                             assumptions=Assumptions(failure_rate=Decimal("0.5")))
    # 999.99 x 0.5 = 499.995 -> 500.00 (rounding each 166.665 first would give 500.01).
    assert (str(april.from_billing), april.notes) == ("500.00 USD", "failure rate 0.5")


def test_expected_invoices_bring_the_tax_the_biller_would_add() -> None:
    a = signed(proposal([dated("m", "1000.00", date(2026, 4, 10))]))
    vat = TaxPolicy(FlatTax(TaxRate("VAT", Decimal("0.2"))))
    (row,) = expected_receipts([a], AS_OF, through=date(2026, 6, 1),
                               assumptions=Assumptions(tax=vat))
    assert str(row.amount) == "1200.00 USD"
    assert str(billing_revenue_forecast([a], AS_OF, periods=1)[0].billed) == "1000.00 USD"


# ---------------------------------------------------------------- the plan


def test_an_escalation_is_picked_up_from_the_plan() -> None:
    up = Escalation(percent=Decimal(10), dates=(date(2026, 7, 1),))
    a = signed(proposal(recurring=[retainer(escalations=(up,))]))
    rows = billing_revenue_forecast([a], AS_OF, periods=7)
    assert [str(r.billed.amount) for r in rows] == [
        "1000.00", "1000.00", "1000.00", "1100.00", "1100.00", "1100.00", "0.00"]


def test_an_approved_amendment_is_in_the_plan() -> None:
    a = signed(proposal([dated("m", "1000.00", date(2026, 4, 10))]))
    am = Amendment(AmendmentId("am-1"), (ChangeMilestoneAmount(date(2026, 3, 20), MilestoneId("m"),
                                                               usd("1250.00")),))
    a = apply(a, propose(a, am, by="Bo", at=datetime(2026, 3, 20, tzinfo=UTC)))
    assert str(billing_revenue_forecast([a], AS_OF, periods=1)[0].billed) == "1250.00 USD"


def pending_raise() -> Agreement:
    offer = proposal(recurring=[retainer()], approval=ApprovalRules())
    a = signed(offer)
    am = Amendment(AmendmentId("raise"), (ChangeRecurringPrice(date(2026, 6, 1), ItemId("ret"),
                                                               usd("1500.00")),))
    return apply(a, propose(a, am, by="Bo", at=datetime(2026, 3, 20, tzinfo=UTC)))


def test_a_pending_amendment_counts_only_in_a_scenario_that_approves_it() -> None:
    a = pending_raise()
    rows = compare_scenarios([a], [Scenario("raise approved", [Approval("agr-1", "raise")])],
                             AS_OF, periods=6, measure=Measure.BILLED)
    assert [(str(r.base.amount), str(r.alternative.amount), str(r.difference.amount))
            for r in rows] == [("1000.00", "1000.00", "0.00")] * 2 + [
        ("1000.00", "1500.00", "500.00")] * 4


def test_an_amendment_not_yet_proposed_can_be_a_scenario() -> None:
    a = signed(proposal(recurring=[retainer()]))
    cut = Amendment(AmendmentId("cut"), (ChangeRecurringPrice(date(2026, 8, 1), ItemId("ret"),
                                                              usd("600.00")),))
    rows = compare_scenarios([a], [Scenario("cut", [Approval("agr-1", cut)])], AS_OF,
                             periods=6, measure=Measure.REVENUE)
    assert [str(r.difference.amount) for r in rows] == [
        "0.00", "0.00", "0.00", "0.00", "-400.00", "-400.00"]


def test_a_proposal_signed_hypothetically_adds_its_cash() -> None:
    a = signed(proposal([dated("m", "1000.00", date(2026, 4, 10))]))
    offer = proposal([Milestone(MilestoneId("dep"), "Deposit", amount=usd("2500.00"),
                                trigger=Trigger.ON_SIGNING)])
    won = Scenario("won", [Signing(offer, "std", date(2026, 5, 4), AgreementId("agr-2"),
                                   payment_method=CARD)])
    rows = compare_scenarios([a], [won], AS_OF, periods=2)
    assert [(r.period.start, str(r.base), str(r.alternative)) for r in rows] == [
        (date(2026, 4, 1), "1000.00 USD", "1000.00 USD"),
        (date(2026, 5, 1), "0.00 USD", "2500.00 USD")]



def test_ways_to_bill_compared_as_scenarios_take_expected_completion_dates() -> None:
    """An expected date for a milestone of an agreement only one scenario signs is
    that scenario's assumption, not an error in the base or in other scenarios."""
    def offer(trigger: Trigger) -> Scenario:
        m = Milestone(MilestoneId("work"), "Work", amount=usd("3000.00"), trigger=trigger,
                      due_on=date(2026, 5, 20) if trigger is Trigger.ON_DATE else None)
        aid = AgreementId(f"way-{trigger.value}")
        return Scenario(trigger.value, [Signing(proposal([m]), "std", date(2026, 4, 1), aid,
                                                payment_method=CARD)])
    ways = [offer(Trigger.ON_COMPLETION), offer(Trigger.ON_DATE)]
    assume = Assumptions(expected_dates={("way-on_completion", "work"): date(2026, 6, 10)})
    rows = compare_scenarios([], ways, AS_OF, periods=3, measure=Measure.BILLED,
                             assumptions=assume)
    assert [(r.scenario, r.period.start.month, str(r.alternative)) for r in rows
            if r.alternative.minor] == [("on_completion", 6, "3000.00 USD"),
                                        ("on_date", 5, "3000.00 USD")]
    with pytest.raises(ValidationError, match="expected_dates"):
        compare_scenarios([], ways, AS_OF, periods=3, assumptions=Assumptions(
            expected_dates={("nobody", "work"): date(2026, 6, 10)}))

# ---------------------------------------------------------------- completions


def test_a_completion_milestone_is_billed_on_its_stated_expected_date() -> None:
    a = sent(("design", "4000.00"))
    dates = {("agr-1", "design"): date(2026, 5, 6)}
    (row,) = expected_receipts([a], AS_OF, through=date(2026, 7, 1),
                               assumptions=Assumptions(expected_dates=dates))
    assert (row.billed_on, row.timing) == (date(2026, 5, 6),
                                           "completion on its stated expected date")


def test_the_completion_assumption_chains_from_signing_through_the_milestones() -> None:
    a = sent(("design", "4000.00"), ("build", "6000.00"))
    rows = expected_receipts([a], AS_OF, through=date(2026, 7, 1),
                             assumptions=Assumptions(completion=CompletionAssumption(30)))
    assert [(r.billed_on, r.timing) for r in rows] == [
        (date(2026, 4, 1), "completion assumed 30 days after the previous milestone"),
        (date(2026, 5, 1), "completion assumed 30 days after the previous milestone")]


def test_an_overdue_completion_is_assumed_the_day_after_as_of() -> None:
    a = sent(("design", "4000.00"))
    (row,) = expected_receipts([a], date(2026, 6, 30), through=date(2026, 8, 1),
                               assumptions=Assumptions(completion=CompletionAssumption(30)))
    assert row.billed_on == date(2026, 7, 1)


def test_a_milestone_not_forecast_is_listed_without_a_date_and_counts_nowhere() -> None:
    a = sent(("design", "4000.00"))
    (row,) = expected_receipts([a], AS_OF, through=date(2026, 7, 1))
    assert (row.expected_on, str(row.amount), row.timing) == (
        None, "4000.00 USD", "completion not forecast (no expected date)")
    assert [str(r.total.amount) for r in cash_forecast([a], AS_OF, periods=3)] == ["0.00"] * 3


def test_revenue_follows_the_expected_completions_and_is_stated_beside_billing() -> None:
    a = signed(proposal([("design", "4000.00"), ("build", "6000.00")]))
    dates = {("agr-1", "design"): date(2026, 4, 20), ("agr-1", "build"): date(2026, 5, 20)}
    rows = billing_revenue_forecast([a], AS_OF, periods=2,
                                    assumptions=Assumptions(expected_dates=dates))
    assert [(str(r.billed.amount), str(r.revenue.amount), r.basis) for r in rows] == [
        ("4000.00", "4000.00", "forecast"), ("6000.00", "6000.00", "forecast")]


# ---------------------------------------------------------------- periods, actuals, currencies


def test_weekly_periods_are_iso_weeks_from_the_one_after_as_of() -> None:
    assert [str(p) for p in forecast_periods(date(2026, 4, 1), periods=2, cadence=Cadence.WEEK,
                                             history=1)] == [
        "[2026-03-23, 2026-03-30)", "[2026-03-30, 2026-04-06)", "[2026-04-06, 2026-04-13)"]


def test_a_weekly_cash_forecast_puts_each_receipt_in_its_week() -> None:
    a = signed(proposal([dated("m", "1000.00", date(2026, 4, 10))]))
    rows = cash_forecast([a], AS_OF, periods=3, cadence=Cadence.WEEK,
                         assumptions=Assumptions(lag=CollectionLag(card_days=3)))
    # Billed Friday 10 April, settled Monday 13 April.
    assert [(r.period.start, str(r.total.amount)) for r in rows] == [
        (date(2026, 3, 30), "0.00"), (date(2026, 4, 6), "0.00"), (date(2026, 4, 13), "1000.00")]


def test_a_period_holding_as_of_shows_what_was_collected_and_what_is_expected() -> None:
    w = World()
    w.open(proposal([dated("a", "300.00", date(2026, 3, 10)),
                     dated("b", "700.00", date(2026, 3, 20))]))
    w.on(date(2026, 3, 10))
    w.biller.run(date(2026, 3, 10))
    (march,) = cash_forecast([w.load()], date(2026, 3, 15), periods=1)
    assert (str(march.collected), str(march.from_billing), str(march.total), march.basis) == (
        "300.00 USD", "700.00 USD", "1000.00 USD", "actual through 2026-03-15, forecast after")


def test_rows_come_per_currency_and_one_total_needs_one_currency() -> None:
    a = signed(proposal([dated("m", "1000.00", date(2026, 4, 10))]))
    yen = Milestone(MilestoneId("m"), "M", amount=Money("50000", "JPY"), trigger=Trigger.ON_DATE,
                    due_on=date(2026, 4, 10))
    b = signed(proposal([yen], currency="JPY"),
               agreement_id=AgreementId("agr-2"))
    rows = cash_forecast([a, b], AS_OF, periods=1)
    assert [str(r.total) for r in rows] == ["50000 JPY", "1000.00 USD"]
    assert total(rows, "total", currency="USD") == Money("1000.00", "USD")
    with pytest.raises(ValidationError) as err:
        total(rows, "total")
    assert err.value.field == "currency"


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"periods": 0}, "periods"), ({"periods": 2, "history": -1}, "history"),
    ({"periods": 1.0}, "periods"), ({"periods": 1, "cadence": "week"}, "cadence")])
def test_period_counts_and_cadence_are_checked(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        cash_forecast([], AS_OF, **kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


def test_as_of_before_an_agreements_signing_is_refused() -> None:
    with pytest.raises(ValidationError, match="signing of 'agr-1'") as err:
        cash_forecast([signed(proposal([("m", "1.00")]))], date(2026, 3, 1), periods=1)
    assert err.value.field == "as_of"


@pytest.mark.parametrize("rate", [Decimal(1), Decimal("-0.1"), "1.5"])
def test_a_failure_rate_outside_zero_to_one_is_refused(rate: object) -> None:
    with pytest.raises(ValidationError) as err:
        Assumptions(failure_rate=rate)
    assert err.value.field == "failure_rate"


def test_floats_are_refused_with_the_field_named() -> None:
    with pytest.raises(TypeError, match="failure_rate"):
        Assumptions(failure_rate=0.1)
    with pytest.raises(ValidationError, match="card_days"):
        CollectionLag(card_days=2.0)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="days_after_previous"):
        CompletionAssumption(30.0)  # type: ignore[arg-type]


def test_unknown_agreement_ids_are_refused() -> None:
    a = signed(proposal([("design", "1.00")]))
    with pytest.raises(ValidationError) as err:
        cash_forecast([a], AS_OF, periods=1, assumptions=Assumptions(
            expected_dates={("agr-9", "design"): date(2026, 4, 1)}))
    assert err.value.field == "expected_dates[('agr-9', 'design')]"
    with pytest.raises(ValidationError) as err:
        cash_forecast([a], AS_OF, periods=1,
                      scenario=Scenario("x", [Approval("agr-9", "raise")]))
    assert err.value.field == "scenario.changes[0].agreement_id"


def test_an_expected_date_on_or_before_as_of_is_refused() -> None:
    a = signed(proposal([("design", "1.00")]))
    with pytest.raises(ValidationError, match="after as_of"):
        cash_forecast([a], AS_OF, periods=1, assumptions=Assumptions(
            expected_dates={("agr-1", "design"): AS_OF}))


def test_an_unknown_pending_amendment_is_refused() -> None:
    with pytest.raises(ValidationError) as err:
        cash_forecast([pending_raise()], AS_OF, periods=1,
                      scenario=Scenario("x", [Approval("agr-1", "nope")]))
    assert err.value.field == "scenario.changes[0].amendment"


def test_scenarios_need_distinct_names() -> None:
    s = Scenario("same", [])
    with pytest.raises(ValidationError) as err:
        compare_scenarios([], [s, s], AS_OF, periods=1)
    assert err.value.field == "scenarios"


def test_an_approval_applies_once_even_when_already_approved() -> None:
    a = pending_raise()
    a = apply(a, approve(a, AmendmentId("raise"), by="Client",
                         at=datetime(2026, 3, 25, tzinfo=UTC)))
    rows = compare_scenarios([a], [Scenario("again", [Approval("agr-1", "raise")])], AS_OF,
                             periods=3, measure=Measure.BILLED)
    assert [str(r.difference.amount) for r in rows] == ["0.00"] * 3
    assert T0.date() == date(2026, 3, 2)


def test_a_raise_of_a_billed_milestone_is_expected_as_an_adjustment_on_its_effective_day(
) -> None:
    """A milestone billed before ``as_of`` and raised by an amendment effective later: the
    difference is billed on that day, timed as an adjustment, on both paths."""
    import attrs

    from milestonebill._reference import reference_path
    from milestonebill.testing.scenarios import bill_due

    a = bill_due(signed(proposal([dated("m", "1000.00", date(2026, 3, 10))])),
                 date(2026, 3, 10))
    raise_ = Amendment(AmendmentId("am-1"), (ChangeMilestoneAmount(
        date(2026, 4, 15), MilestoneId("m"), usd("1250.00")),))
    a = apply(a, propose(a, raise_, by="Bo", at=datetime(2026, 3, 20, tzinfo=UTC)))
    with reference_path():
        want = list(expected_receipts([a], AS_OF, through=date(2026, 6, 1)))
    got = list(expected_receipts([attrs.evolve(a)], AS_OF, through=date(2026, 6, 1)))
    assert got == want
    assert [(r.billed_on, str(r.amount), r.timing) for r in got] == [
        (date(2026, 3, 10), "1000.00 USD", "open invoice"),
        (date(2026, 4, 15), "250.00 USD", "adjustment from an amendment")]

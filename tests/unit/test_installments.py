"""Installment plans: hand-computed splits and dates, billing, amendments, preview."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import attrs
import pytest

from milestonebill.agreement import (
    Agreement,
    AgreementId,
    Amendment,
    AmendmentId,
    ApprovalRules,
    ChangeInstallments,
    Collection,
    CreditIssued,
    InvoiceIssued,
    PackageOption,
    Proposal,
    ProposalId,
    apply,
    billing_plan,
    cancel,
    contract_value,
    preview,
    propose,
    sign,
)
from milestonebill.documents import LineKind
from milestonebill.errors import AmendmentError, ValidationError
from milestonebill.ids import PlanKey
from milestonebill.invoicing import billing_position, due_credit_notes, due_invoices
from milestonebill.money import Currency, Money
from milestonebill.schedule import (
    BillingSchedule,
    ChargeKind,
    InstallmentPlan,
    Interval,
    IntervalUnit,
    ItemId,
    Milestone,
    MilestoneId,
    PaymentTerms,
)

FEE = ItemId("fee")


def plan(amount: str, currency: str, n: int | None = None, *, start: date = date(2024, 1, 31),
         interval: Interval = Interval.MONTHLY, **kw: object) -> InstallmentPlan:
    return InstallmentPlan(FEE, "Project fee", Money(amount, currency), interval, start=start,
                           count=n, **kw)  # type: ignore[arg-type]


def minors(p: InstallmentPlan) -> list[int]:
    return [i.amount.minor for i in p.installments()]


# ---------------------------------------------------------------- splits


def test_one_thousand_in_three_gives_the_extra_cent_to_the_first() -> None:
    assert [str(i.amount) for i in plan("1000.00", "USD", 3).installments()] == [
        "333.34 USD", "333.33 USD", "333.33 USD"]


def test_one_hundred_yen_in_seven_gives_the_two_extra_yen_to_the_first_two() -> None:
    # 100 = 7 x 14 + 2
    assert minors(plan("100", "JPY", 7)) == [15, 15, 14, 14, 14, 14, 14]


def test_one_hundred_dinars_in_seven_splits_at_the_fils() -> None:
    # 100.000 KWD = 100000 fils = 7 x 14285 + 5
    assert [str(i.amount.amount) for i in plan("100.000", "KWD", 7).installments()] == [
        "14.286", "14.286", "14.286", "14.286", "14.286", "14.285", "14.285"]


def test_weights_split_by_largest_remainder() -> None:
    # 100 x 3/7 = 42.86, 100 x 1/7 = 14.29: floors 42, 42, 14 (98), the two
    # largest remainders (.857, .857) take the two yen left.
    p = InstallmentPlan(FEE, "Fee", Money(100, "JPY"), Interval.MONTHLY,
                        start=date(2025, 1, 1), weights=[3, 3, 1])
    assert minors(p) == [43, 43, 14]


def test_decimal_weights_keep_the_fee_exact() -> None:
    p = InstallmentPlan(FEE, "Fee", Money("60000.00", "USD"), Interval.QUARTERLY,
                        start=date(2025, 1, 1), weights=["25", "25", "50"])
    assert [str(i.amount) for i in p.installments()] == [
        "15000.00 USD", "15000.00 USD", "30000.00 USD"]


# ---------------------------------------------------------------- dates


def test_monthly_installments_keep_the_31st_and_clamp_in_february() -> None:
    assert plan("1000.00", "USD", 3).dates() == (
        date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31))


def test_a_first_installment_off_the_anchor_is_followed_by_the_first_anchor_day() -> None:
    p = plan("900.00", "USD", 3, start=date(2025, 1, 15), anchor_day=1)
    assert p.dates() == (date(2025, 1, 15), date(2025, 2, 1), date(2025, 3, 1))


def test_weekly_installments_are_seven_days_apart() -> None:
    p = plan("300.00", "USD", 3, start=date(2025, 3, 3),
             interval=Interval.every(2, IntervalUnit.WEEK))
    assert p.dates() == (date(2025, 3, 3), date(2025, 3, 17), date(2025, 3, 31))


def test_each_installment_is_due_under_the_plans_terms() -> None:
    p = plan("1000.00", "USD", 3, terms=PaymentTerms.net(15))
    assert [c.due for c in p.charges()] == [date(2024, 2, 15), date(2024, 3, 15),
                                            date(2024, 4, 15)]
    assert {c.kind for c in p.charges()} == {ChargeKind.INSTALLMENT}


# ---------------------------------------------------------------- refused


def test_count_and_weights_together_are_refused() -> None:
    with pytest.raises(ValidationError, match="'count' must be given, or weights given"):
        plan("100.00", "USD", 2, weights=[1, 1])


def test_more_installments_than_minor_units_are_refused() -> None:
    with pytest.raises(ValidationError, match="'count' must be at most 5"):
        plan("5", "JPY", 7)


def test_a_weight_that_leaves_an_installment_empty_is_refused() -> None:
    with pytest.raises(ValidationError, match="'weights' must be weights giving each"):
        InstallmentPlan(FEE, "Fee", Money(10, "JPY"), Interval.MONTHLY,
                        start=date(2025, 1, 1), weights=[100, 1])


def test_an_anchor_day_on_a_weekly_plan_is_refused() -> None:
    with pytest.raises(ValidationError, match="'anchor_day' must be None for a weekly"):
        plan("100.00", "USD", 2, interval=Interval.WEEKLY, anchor_day=3)


def test_a_schedule_fee_counts_its_installment_plans() -> None:
    ok = BillingSchedule(currency="USD", fee=Money("60000.00", "USD"),
                         installments=[plan("60000.00", "USD", 12)])
    assert ok.installments[0].number == 12
    with pytest.raises(ValidationError, match=r"milestone and installment plan amounts adding "
                       r"up to the fee 60000\.00 USD"):
        BillingSchedule(currency="USD", fee=Money("60000.00", "USD"),
                        milestones=[Milestone(MilestoneId("kickoff"), "Kickoff",
                                              amount=Money("1.00", "USD"))],
                        installments=[plan("60000.00", "USD", 12)])


def test_a_plan_id_shared_with_a_milestone_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"'installments\[0\].id' must be a unique id"):
        BillingSchedule(currency="USD", milestones=[Milestone(MilestoneId("fee"), "Fee",
                                                              amount=Money("1.00", "USD"))],
                        installments=[plan("100.00", "USD", 2)])


def test_schedule_charges_include_the_installments_in_date_order() -> None:
    s = BillingSchedule(currency="USD", installments=[plan("1000.00", "USD", 3)])
    assert [(c.on, str(c.amount)) for c in s.charges_between(date(2024, 2, 1),
                                                             date(2024, 4, 1))] == [
        (date(2024, 2, 29), "333.33 USD"), (date(2024, 3, 31), "333.33 USD")]
    nxt = s.next_charge_after(date(2024, 1, 31))
    assert nxt is not None
    assert nxt.on == date(2024, 2, 29)


def test_a_schedule_with_a_plan_round_trips_through_json() -> None:
    s = BillingSchedule(currency="KWD", installments=[plan("100.000", "KWD", 7)])
    assert BillingSchedule.from_json(s.to_json()) == s


# ---------------------------------------------------------------- billing


def signed(*plans: InstallmentPlan, signed_on: date = date(2024, 1, 31),
           currency: str = "USD") -> Agreement:
    cur = Currency.of(currency)
    s = BillingSchedule(currency=cur, installments=plans)
    p = Proposal(ProposalId("p"), "Acme", cur, (PackageOption("std", "Std", s),),
                 collection=Collection.SEND_INVOICE,
                 approval=ApprovalRules(require_client_approval=False))
    return sign(p, option="std", signer="Ada", payment_method=None, agreement_id=AgreementId("a"),
                signed_at=datetime(signed_on.year, signed_on.month, signed_on.day, 9, tzinfo=UTC))


def bill(a: Agreement, day: date) -> Agreement:
    at = datetime(day.year, day.month, day.day, 18, tzinfo=UTC)
    for draft in due_invoices(a, day):
        n = f"INV-{len(a.invoices) + 1:04d}"
        a = apply(a, InvoiceIssued(f"{a.id}/{n}", a.version + 1, at,
                                   attrs.evolve(draft, number=n)))
    for cn in due_credit_notes(a, day):
        n = f"CN-{len(a.credit_notes) + 1:04d}"
        a = apply(a, CreditIssued(f"{a.id}/{n}", a.version + 1, at, attrs.evolve(cn, number=n)))
    return a


def amend(a: Agreement, day: date, *ops: object) -> Agreement:
    am = Amendment(AmendmentId(f"am-{day}"), ops)  # type: ignore[arg-type]
    return apply(a, propose(a, am, by="pm", at=datetime(day.year, day.month, day.day, 9,
                                                        tzinfo=UTC)))


def test_each_installment_is_billed_on_its_date_as_an_installment_line() -> None:
    a = signed(plan("1000.00", "USD", 3))
    for day in (date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31)):
        a = bill(a, day)
    assert [(i.issued_on, [(ln.kind, ln.item_key, str(ln.amount)) for ln in i.lines])
            for i in a.invoices] == [
        (date(2024, 1, 31), [(LineKind.INSTALLMENT, "i:fee:1", "333.34 USD")]),
        (date(2024, 2, 29), [(LineKind.INSTALLMENT, "i:fee:2", "333.33 USD")]),
        (date(2024, 3, 31), [(LineKind.INSTALLMENT, "i:fee:3", "333.33 USD")])]
    assert billing_position(a).balanced
    assert due_invoices(a, date(2025, 1, 1)) == ()


def test_the_contract_value_is_the_fee() -> None:
    assert contract_value(signed(plan("100", "JPY", 7, start=date(2024, 2, 1)),
                                 currency="JPY")) == Money(100, "JPY")


def test_replanning_splits_what_is_left_over_the_new_count() -> None:
    # 333.34 billed; 666.66 left, in three from 15 March: 222.22 each.
    a = bill(signed(plan("1000.00", "USD", 3)), date(2024, 1, 31))
    a = amend(a, date(2024, 2, 10), ChangeInstallments(date(2024, 2, 10), FEE, count=3,
                                                       start=date(2024, 3, 15)))
    items = [(i.key, i.on, str(i.amount)) for i in billing_plan(a)]
    assert items == [
        (PlanKey("i:fee:1"), date(2024, 1, 31), "333.34 USD"),
        (PlanKey("i:fee:2"), date(2024, 3, 15), "222.22 USD"),
        (PlanKey("i:fee:3"), date(2024, 4, 15), "222.22 USD"),
        (PlanKey("i:fee:4"), date(2024, 5, 15), "222.22 USD")]
    assert contract_value(a) == Money("1000.00", "USD")


def test_moving_dates_alone_keeps_every_amount() -> None:
    a = signed(plan("100", "JPY", 7, start=date(2024, 2, 1)), currency="JPY")
    a = bill(a, date(2024, 2, 1))
    a = amend(a, date(2024, 2, 20), ChangeInstallments(date(2024, 2, 20), FEE,
                                                       start=date(2024, 3, 10)))
    assert [(i.on.day if i.on else None, i.amount.minor) for i in billing_plan(a)] == [
        (1, 15), (10, 15), (10, 14), (10, 14), (10, 14), (10, 14), (10, 14)]
    assert [i.on.month for i in billing_plan(a) if i.on is not None] == [2, 3, 4, 5, 6, 7, 8]


def test_a_new_total_is_split_over_the_remaining_installments() -> None:
    # 1,200.00 less the 333.34 billed is 866.66, in two: 433.33 each.
    a = bill(signed(plan("1000.00", "USD", 3)), date(2024, 1, 31))
    a = amend(a, date(2024, 2, 10), ChangeInstallments(date(2024, 2, 10), FEE, count=2,
                                                       amount=Money("1200.00", "USD")))
    assert [str(i.amount) for i in billing_plan(a)] == ["333.34 USD", "433.33 USD",
                                                         "433.33 USD"]


def test_preview_prices_a_replan() -> None:
    a = bill(signed(plan("1000.00", "USD", 3)), date(2024, 1, 31))
    am = Amendment(AmendmentId("am-1"), (ChangeInstallments(
        date(2024, 2, 10), FEE, count=2, amount=Money("1200.00", "USD")),))
    pv = preview(a, am, as_of=date(2024, 2, 10))
    assert (pv.charges, pv.credits) == ((), ())
    assert pv.value_change == Money("200.00", "USD")
    assert [(c.key, str(c.before), str(c.after)) for c in pv.changes] == [
        ("i:fee:2", "333.33 USD", "433.33 USD"), ("i:fee:3", "333.33 USD", "433.33 USD")]


def test_a_replan_backdated_over_a_billed_installment_adjusts_it() -> None:
    a = bill(bill(signed(plan("1000.00", "USD", 3)), date(2024, 1, 31)), date(2024, 2, 29))
    am = Amendment(AmendmentId("am-1"), (ChangeInstallments(
        date(2024, 2, 29), FEE, count=1, start=date(2024, 3, 5)),))
    pv = preview(a, am, as_of=date(2024, 3, 5))
    # Installment 2 (333.33, billed) becomes the single 666.66; installment 3 goes.
    assert [(c.key, str(c.amount)) for c in pv.charges] == [("i:fee:2", "333.33 USD")]
    a = bill(amend(a, date(2024, 3, 1), *am.operations), date(2024, 3, 5))
    assert [(ln.kind, str(ln.amount)) for ln in a.invoices[-1].lines] == [
        (LineKind.ADJUSTMENT, "333.33 USD")]
    assert billing_position(a).balanced


def test_a_replan_cannot_start_before_it_takes_effect() -> None:
    a = signed(plan("1000.00", "USD", 3))
    with pytest.raises(AmendmentError, match="start must be a date on or after 2024-03-01"):
        amend(a, date(2024, 3, 1), ChangeInstallments(date(2024, 3, 1), FEE, count=2,
                                                      start=date(2024, 2, 1)))


def test_a_replan_of_a_plan_already_paid_in_full_is_refused() -> None:
    a = signed(plan("1000.00", "USD", 3))
    with pytest.raises(AmendmentError, match="nothing is left to pay"):
        amend(a, date(2024, 6, 1), ChangeInstallments(date(2024, 6, 1), FEE, count=2,
                                                      start=date(2024, 7, 1)))


def test_an_unknown_plan_is_refused() -> None:
    with pytest.raises(AmendmentError, match="no installment plan 'nope'"):
        amend(signed(plan("1000.00", "USD", 3)), date(2024, 2, 1),
              ChangeInstallments(date(2024, 2, 1), ItemId("nope"), count=2))


def test_cancelling_drops_the_installments_not_yet_due() -> None:
    a = bill(signed(plan("1000.00", "USD", 3)), date(2024, 1, 31))
    a = apply(a, cancel(a, effective_on=date(2024, 2, 10), at=datetime(2024, 2, 10, tzinfo=UTC)))
    assert [str(i.amount) for i in billing_plan(a)] == ["333.34 USD"]
    assert contract_value(a) == Money("333.34", "USD")


def test_moving_dates_alone_needs_no_client_approval() -> None:
    moves = Amendment(AmendmentId("am-1"), (ChangeInstallments(date(2024, 2, 1), FEE,
                                                               start=date(2024, 3, 1)),))
    changes = Amendment(AmendmentId("am-2"), (ChangeInstallments(date(2024, 2, 1), FEE,
                                                                 count=4),))
    assert (moves.changes_money_or_scope(), changes.changes_money_or_scope()) == (False, True)


def test_the_weights_of_a_replan_are_checked_when_built() -> None:
    with pytest.raises(ValidationError, match="'count' must be None when weights are given"):
        ChangeInstallments(date(2024, 2, 1), FEE, count=2, weights=[Decimal(1), Decimal(1)])


def test_a_replan_by_weights_on_a_new_cadence() -> None:
    # 666.66 left after 333.34, split 1:2 -> 222.22 and 444.44, weekly from 1 March.
    a = bill(signed(plan("1000.00", "USD", 3)), date(2024, 1, 31))
    a = amend(a, date(2024, 2, 10), ChangeInstallments(
        date(2024, 2, 10), FEE, weights=[Decimal(1), Decimal(2)], start=date(2024, 3, 1),
        interval=Interval.WEEKLY))
    assert [(i.key, i.on, str(i.amount)) for i in billing_plan(a)] == [
        (PlanKey("i:fee:1"), date(2024, 1, 31), "333.34 USD"),
        (PlanKey("i:fee:2"), date(2024, 3, 1), "222.22 USD"),
        (PlanKey("i:fee:3"), date(2024, 3, 8), "444.44 USD")]
    a = bill(bill(a, date(2024, 3, 1)), date(2024, 3, 8))
    assert billing_position(a).scheduled == Money("0.00", "USD")
    assert sum(i.total.minor for i in a.invoices) == 100000

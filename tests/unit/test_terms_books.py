"""Installments and discounts in the books: hand-computed prices and revenue.

An installment plan is a payment schedule: revenue follows the obligations'
progress, never the installments.  A discount lowers the transaction price
and is shared by relative SSP (ASC 606-10-32-36), unless it states the
evidence of 32-37 for the obligations it relates to.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import attrs

from milestonebill.agreement import (
    Agreement,
    AgreementId,
    ApprovalRules,
    Collection,
    InvoiceIssued,
    ObligationTerms,
    PackageOption,
    Progress,
    Proposal,
    ProposalId,
    apply,
    complete,
    complete_milestone,
    report_progress,
    sign,
)
from milestonebill.ids import ObligationId
from milestonebill.invoicing import due_invoices
from milestonebill.money import Currency, Money
from milestonebill.periods import Period
from milestonebill.revenue import earned, revenue_model
from milestonebill.schedule import (
    BillingSchedule,
    Discount,
    DiscountScope,
    InstallmentPlan,
    Interval,
    ItemId,
    Milestone,
    MilestoneId,
    RecurringCharge,
    Trigger,
)

USD = Currency.of("USD")
JAN1 = date(2024, 1, 1)


def usd(v: str) -> Money:
    return Money(v, "USD")


def signed(schedule: BillingSchedule, *obligations: ObligationTerms) -> Agreement:
    p = Proposal(ProposalId("p"), "Acme", USD,
                 (PackageOption("std", "Std", schedule, obligations=obligations),),
                 collection=Collection.SEND_INVOICE,
                 approval=ApprovalRules(require_client_approval=False))
    return sign(p, option="std", signer="Ada", payment_method=None, agreement_id=AgreementId("a"),
                signed_at=datetime(2024, 1, 1, 9, tzinfo=UTC))


def bill(a: Agreement, day: date) -> Agreement:
    at = datetime(day.year, day.month, day.day, 18, tzinfo=UTC)
    for draft in due_invoices(a, day):
        n = f"INV-{len(a.invoices) + 1:04d}"
        a = apply(a, InvoiceIssued(f"{a.id}/{n}", a.version + 1, at,
                                   attrs.evolve(draft, number=n)))
    return a


def billed(a: Agreement) -> Money:
    return Money.total((i.subtotal for i in a.invoices), currency=USD)


FEE = InstallmentPlan(ItemId("fee"), "Fee", usd("1000.00"), Interval.MONTHLY, start=JAN1,
                      count=3)


def prices(a: Agreement, through: date = date(2024, 12, 31)) -> dict[str, str]:
    return {o.id: str(o.price) for o in revenue_model(a, through=through).obligations}


# ---------------------------------------------------------------- installments


def test_revenue_follows_the_obligation_over_time_not_the_installments() -> None:
    # Paid 1,000.00 in three monthly installments from 1 January; earned straight
    # line over the 182 days from 1 January to 1 July 2024.
    work = ObligationTerms(ObligationId("work"), "Work", Progress.STRAIGHT_LINE, items=("fee",),
                           period=Period(JAN1, date(2024, 7, 1)))
    a = signed(BillingSchedule(currency=USD, installments=[FEE]), work)
    a = bill(a, date(2024, 1, 31))
    # Billed 333.34 by 31 January; earned 1,000.00 x 31/182 = 170.33.
    assert (billed(a), earned(a, date(2024, 1, 31))["work"]) == (usd("333.34"), usd("170.33"))
    a = bill(a, date(2024, 3, 31))
    # All 1,000.00 billed by 31 March; earned 1,000.00 x 91/182 = 500.00.
    assert (billed(a), earned(a, date(2024, 3, 31))["work"]) == (usd("1000.00"), usd("500.00"))
    assert earned(a, date(2024, 6, 30))["work"] == usd("1000.00")


def test_revenue_measured_by_hours_ignores_when_installments_fall() -> None:
    work = ObligationTerms(ObligationId("work"), "Work", Progress.HOURS, items=("fee",),
                           estimate=Decimal(40))
    a = bill(signed(BillingSchedule(currency=USD, installments=[FEE]), work), date(2024, 3, 1))
    a = apply(a, report_progress(a, "work", 10, as_of=date(2024, 3, 1),
                                 at=datetime(2024, 3, 1, 19, tzinfo=UTC)))
    # Everything billed; 10 of 40 hours done: 250.00 earned.
    assert (billed(a), earned(a, date(2024, 3, 1))["work"]) == (usd("1000.00"), usd("250.00"))


def test_installments_under_the_default_model_are_an_advance_until_completion() -> None:
    a = bill(signed(BillingSchedule(currency=USD, installments=[FEE])), date(2024, 3, 1))
    assert earned(a, date(2024, 3, 1)) == {"package": usd("0.00")}
    a = apply(a, complete(a, at=datetime(2024, 4, 1, 9, tzinfo=UTC)))
    assert earned(a, date(2024, 4, 1)) == {"package": usd("1000.00")}


def test_installments_and_milestones_share_a_price_by_ssp() -> None:
    # 3,000.00 of milestones and 1,000.00 of installments, shared 3:1 by SSP.
    s = BillingSchedule(currency=USD, milestones=[
        Milestone(MilestoneId("report"), "Report", amount=usd("3000.00"))], installments=[FEE])
    advice = ObligationTerms(ObligationId("advice"), "Advice", Progress.STRAIGHT_LINE,
                             ssp=usd("300.00"), period=Period(JAN1, date(2024, 7, 1)))
    report = ObligationTerms(ObligationId("rep"), "Report", Progress.ON_COMPLETION,
                             ssp=usd("100.00"), milestone="report")
    assert prices(signed(s, advice, report)) == {"advice": "3000.00 USD", "rep": "1000.00 USD"}


# ---------------------------------------------------------------- discounts


def two_obligations(discount: Discount, ssps: tuple[str, str] | None = None) -> Agreement:
    s = BillingSchedule(currency=USD, milestones=[
        Milestone(MilestoneId("design"), "Design", amount=usd("6000.00")),
        Milestone(MilestoneId("build"), "Build", amount=usd("4000.00"))], discounts=[discount])
    a_ssp, b_ssp = (None, None) if ssps is None else (usd(ssps[0]), usd(ssps[1]))
    return signed(s, ObligationTerms(ObligationId("a"), "A", Progress.ON_COMPLETION,
                                     items=("design",), milestone="design", ssp=a_ssp),
                  ObligationTerms(ObligationId("b"), "B", Progress.ON_COMPLETION,
                                  items=("build",), milestone="build", ssp=b_ssp))


TEN_ON_DESIGN = Discount(ItemId("d"), "Loyalty", percent=Decimal(10), items=("design",))


def test_a_discount_on_one_item_is_shared_by_relative_prices() -> None:
    # 600.00 off Design, shared 6,000 : 4,000 -> 360.00 and 240.00 (ASC 606-10-32-36).
    assert prices(two_obligations(TEN_ON_DESIGN)) == {"a": "5640.00 USD", "b": "3760.00 USD"}


def test_a_discount_is_shared_by_the_ssps_when_every_obligation_states_one() -> None:
    # Equal SSPs: 300.00 each.
    assert prices(two_obligations(TEN_ON_DESIGN, ("5000.00", "5000.00"))) == {
        "a": "5700.00 USD", "b": "3700.00 USD"}


def test_a_discount_with_the_evidence_of_32_37_goes_to_its_obligation_only() -> None:
    related = attrs.evolve(TEN_ON_DESIGN, relates_to=("a",),
                           evidence="design is regularly sold alone at 10 % off")
    assert prices(two_obligations(related)) == {"a": "5400.00 USD", "b": "4000.00 USD"}


def test_revenue_of_a_discounted_contract_is_the_discounted_price() -> None:
    a = two_obligations(TEN_ON_DESIGN)
    for mid in ("design", "build"):
        a = apply(a, complete_milestone(a, MilestoneId(mid), by="Ada",
                                        at=datetime(2024, 2, 1, 9, tzinfo=UTC)))
    assert earned(a, date(2024, 2, 1)) == {"a": usd("5640.00"), "b": usd("3760.00")}


def test_a_package_discount_in_an_ssp_split_follows_the_ssps() -> None:
    # 10,000.00 less 10 % is 9,000.00, shared 3:1 -> 6,750.00 and 2,250.00.
    s = BillingSchedule(currency=USD, milestones=[
        Milestone(MilestoneId("m"), "M", amount=usd("10000.00"), trigger=Trigger.ON_SIGNING)],
        discounts=[Discount(ItemId("d"), "D", percent=Decimal(10), scope=DiscountScope.PACKAGE)])
    a = signed(s, ObligationTerms(ObligationId("x"), "X", Progress.STRAIGHT_LINE,
                                  ssp=usd("75.00"), period=Period(JAN1, date(2024, 7, 1))),
               ObligationTerms(ObligationId("y"), "Y", Progress.STRAIGHT_LINE, ssp=usd("25.00"),
                               period=Period(JAN1, date(2024, 7, 1))))
    assert prices(a) == {"x": "6750.00 USD", "y": "2250.00 USD"}


def test_a_discount_on_a_service_period_stays_with_its_series() -> None:
    care = RecurringCharge(ItemId("care"), "Care", usd("620.00"), Interval.MONTHLY, start=JAN1,
                           count=2)
    s = BillingSchedule(currency=USD, milestones=[
        Milestone(MilestoneId("m"), "M", amount=usd("1000.00"))], recurring=[care],
        discounts=[Discount(ItemId("d"), "First month", percent=Decimal(50), items=("care",),
                            ends_on=date(2024, 2, 1))])
    a = signed(s)
    assert prices(a) == {"package": "1000.00 USD", "care": "930.00 USD"}
    # January earns its discounted 310.00 day by day: 10 of 31 days = 100.00.
    assert earned(a, date(2024, 1, 10))["care"] == usd("100.00")
    assert earned(a, date(2024, 2, 29))["care"] == usd("930.00")


def test_the_forecast_bills_the_discounted_installments_and_earns_by_performance() -> None:
    from milestonebill.reports import billing_revenue_forecast

    # 1,000.00 in three from 1 January, 10 % off January's (33.334 -> 33.33): billed
    # 300.01, 333.33, 333.33; the 966.67 price earned straight line over January to June.
    work = ObligationTerms(ObligationId("work"), "Work", Progress.STRAIGHT_LINE, items=("fee",),
                           period=Period(JAN1, date(2024, 7, 1)))
    off = Discount(ItemId("d"), "January", percent=Decimal(10), items=("fee",),
                   ends_on=date(2024, 2, 1))
    a = signed(BillingSchedule(currency=USD, installments=[FEE], discounts=[off]), work)
    rows = list(billing_revenue_forecast([a], JAN1, periods=6))
    assert [str(r.billed.amount) for r in rows] == [
        "300.01", "333.33", "333.33", "0.00", "0.00", "0.00"]
    # 966.67 x 31/182 = 164.65 earned in January; all of it by the end of June.
    assert str(rows[0].revenue.amount) == "164.65"
    assert sum(r.revenue.minor for r in rows) == 96667

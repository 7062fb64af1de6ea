"""Discounts: hand-computed lines, rounding, scopes, windows, tax, amendments, preview."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import attrs
import pytest

from milestonebill.agreement import (
    AddAddOn,
    AddDiscount,
    AddOn,
    Agreement,
    AgreementId,
    Amendment,
    AmendmentId,
    ApprovalRules,
    ChangeMilestoneAmount,
    Collection,
    CreditIssued,
    EndDiscount,
    InvoiceIssued,
    ObligationTerms,
    PackageOption,
    Progress,
    Proposal,
    ProposalId,
    apply,
    billing_plan,
    contract_value,
    preview,
    propose,
    sign,
)
from milestonebill.documents import (
    NO_TAX,
    FlatTax,
    Invoice,
    InvoiceId,
    InvoiceLine,
    LineKind,
    TaxMethod,
    TaxPolicy,
    TaxRate,
)
from milestonebill.errors import AmendmentError, ValidationError
from milestonebill.ids import ObligationId
from milestonebill.invoicing import (
    billing_position,
    due_credit_notes,
    due_invoices,
    unbilled_minor,
)
from milestonebill.money import Currency, Money, Rounding
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
SIGNED = date(2024, 1, 31)


def usd(v: str) -> Money:
    return Money(v, "USD")


def dated(mid: str, amount: str, on: date) -> Milestone:
    return Milestone(MilestoneId(mid), mid.title(), amount=usd(amount), trigger=Trigger.ON_DATE,
                     due_on=on)


def signed(schedule: BillingSchedule, *, addons: tuple[AddOn, ...] = (),
           obligations: tuple[ObligationTerms, ...] = ()) -> Agreement:
    p = Proposal(ProposalId("p"), "Acme", USD,
                 (PackageOption("std", "Std", schedule, obligations=obligations),), addons,
                 collection=Collection.SEND_INVOICE,
                 approval=ApprovalRules(require_client_approval=False))
    return sign(p, option="std", signer="Ada", payment_method=None, agreement_id=AgreementId("a"),
                signed_at=datetime(2024, 1, 31, 9, tzinfo=UTC))


def bill(a: Agreement, day: date, tax: TaxPolicy | None = None) -> Agreement:
    at = datetime(day.year, day.month, day.day, 18, tzinfo=UTC)
    for draft in due_invoices(a, day, tax=NO_TAX if tax is None else tax):
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


def lines(doc: object) -> list[tuple[str, str]]:
    return [(ln.kind.name, str(ln.amount)) for ln in doc.lines]  # type: ignore[attr-defined]


def ten_percent_on(*items: str, rounding: Rounding = Rounding.HALF_UP, **kw: object) -> Discount:
    return Discount(ItemId("loyal"), "Loyalty", percent=Decimal(10), items=items,
                    rounding=rounding, **kw)  # type: ignore[arg-type]


# ---------------------------------------------------------------- lines and rounding


def test_a_percentage_discount_is_its_own_negative_line_beside_its_item() -> None:
    a = signed(BillingSchedule(currency=USD, milestones=[dated("design", "6000.00", SIGNED)],
                               discounts=[ten_percent_on("design")]))
    a = bill(a, SIGNED)
    (inv,) = a.invoices
    assert lines(inv) == [("MILESTONE", "6000.00 USD"), ("DISCOUNT", "-600.00 USD")]
    assert inv.lines[1].item_key == "d:loyal:m:design"
    assert inv.lines[1].description == "Discount: Loyalty on Design"
    assert inv.total == usd("5400.00")
    assert contract_value(a) == usd("5400.00")


@pytest.mark.parametrize(("rounding", "want"), [(Rounding.HALF_UP, "-33.34 USD"),
                                                (Rounding.DOWN, "-33.33 USD"),
                                                (Rounding.HALF_EVEN, "-33.34 USD"),
                                                (Rounding.FLOOR, "-33.33 USD")])
def test_each_items_discount_is_rounded_once_with_the_named_rounding(
        rounding: Rounding, want: str) -> None:
    # 10 % of 333.35 is 33.335.
    a = signed(BillingSchedule(currency=USD, milestones=[dated("m", "333.35", SIGNED)],
                               discounts=[ten_percent_on("m", rounding=rounding)]))
    assert lines(bill(a, SIGNED).invoices[0])[1] == ("DISCOUNT", want)


def test_tax_is_computed_on_the_discounted_base_by_the_documents_rule() -> None:
    # 333.35 less 33.34 is 300.01.  At 19 %: once per invoice 300.01 x 0.19 = 57.0019
    # -> 57.00; per line 63.3365 -> 63.34 and -6.3346 -> -6.33, so 57.01.
    a = signed(BillingSchedule(currency=USD, milestones=[dated("m", "333.35", SIGNED)],
                               discounts=[ten_percent_on("m")]))
    rate = FlatTax(TaxRate("VAT", Decimal("0.19")))
    per_invoice = bill(a, SIGNED, TaxPolicy(rate, method=TaxMethod.PER_INVOICE)).invoices[0]
    per_line = bill(a, SIGNED, TaxPolicy(rate, method=TaxMethod.PER_LINE)).invoices[0]
    assert (per_invoice.subtotal, per_invoice.tax_lines[0].taxable) == (usd("300.01"),
                                                                         usd("300.01"))
    assert (per_invoice.tax_total, per_invoice.total) == (usd("57.00"), usd("357.01"))
    assert (per_line.tax_total, per_line.total) == (usd("57.01"), usd("357.02"))


def test_a_fixed_discount_is_taken_from_the_items_in_billing_order() -> None:
    # 1,000.00 off the package: the 600.00 signing milestone first, 400.00 of the next.
    s = BillingSchedule(currency=USD, milestones=[
        dated("build", "2000.00", date(2024, 3, 1)),
        Milestone(MilestoneId("kickoff"), "Kickoff", amount=usd("600.00"),
                  trigger=Trigger.ON_SIGNING)],
        discounts=[Discount(ItemId("intro"), "Introductory", amount=usd("1000.00"),
                            scope=DiscountScope.PACKAGE)])
    a = signed(s)
    assert [(i.key, str(i.amount)) for i in billing_plan(a) if i.amount.minor < 0] == [
        ("d:intro:m:kickoff", "-600.00 USD"), ("d:intro:m:build", "-400.00 USD")]
    a = bill(bill(a, SIGNED), date(2024, 3, 1))
    assert [i.total for i in a.invoices] == [usd("0.00"), usd("1600.00")]


def test_a_discount_for_a_period_covers_the_service_periods_starting_in_it() -> None:
    care = RecurringCharge(ItemId("care"), "Care", usd("500.00"), Interval.MONTHLY,
                           start=date(2024, 2, 1), count=5)
    s = BillingSchedule(currency=USD, recurring=[care], discounts=[Discount(
        ItemId("first3"), "First quarter", percent=Decimal(20), items=("care",),
        starts_on=date(2024, 2, 1), ends_on=date(2024, 5, 1))])
    plan = billing_plan(signed(s))
    assert [(i.key, str(i.amount)) for i in plan if i.amount.minor < 0] == [
        ("d:first3:r:care:2024-02-01", "-100.00 USD"),
        ("d:first3:r:care:2024-03-01", "-100.00 USD"),
        ("d:first3:r:care:2024-04-01", "-100.00 USD")]
    assert contract_value(signed(s)) == usd("2200.00")


def test_discounts_on_one_item_add_up_and_never_go_below_zero() -> None:
    s = BillingSchedule(currency=USD, milestones=[dated("m", "100.00", SIGNED)], discounts=[
        Discount(ItemId("a"), "A", percent=Decimal(60), items=("m",)),
        Discount(ItemId("b"), "B", percent=Decimal(60), items=("m",))])
    assert [str(i.amount) for i in billing_plan(signed(s))] == [
        "100.00 USD", "-60.00 USD", "-40.00 USD"]


def test_an_agreement_discount_covers_the_add_ons_and_a_package_one_does_not() -> None:
    seo = AddOn("seo", "SEO", BillingSchedule(currency=USD, milestones=[
        dated("audit", "1000.00", date(2024, 3, 1))]))
    s = BillingSchedule(currency=USD, milestones=[dated("site", "5000.00", date(2024, 3, 1))],
                        discounts=[
                            Discount(ItemId("pkg"), "Package", percent=Decimal(10),
                                     scope=DiscountScope.PACKAGE),
                            Discount(ItemId("all"), "Everything", percent=Decimal(5),
                                     scope=DiscountScope.AGREEMENT)])
    a = amend(signed(s, addons=(seo,)), date(2024, 2, 1), AddAddOn(date(2024, 2, 1), "seo"))
    assert {i.key: str(i.amount) for i in billing_plan(a) if i.amount.minor < 0} == {
        "d:pkg:m:site": "-500.00 USD", "d:all:m:site": "-250.00 USD",
        "d:all:m:audit": "-50.00 USD"}


def test_installments_can_be_discounted() -> None:
    fee = InstallmentPlan(ItemId("fee"), "Fee", usd("1000.00"), Interval.MONTHLY,
                          start=SIGNED, count=3)
    s = BillingSchedule(currency=USD, installments=[fee], discounts=[
        Discount(ItemId("d"), "Prompt payer", percent=Decimal(5), items=("fee",))])
    a = bill(signed(s), SIGNED)
    # 5 % of 333.34 is 16.667 -> 16.67.
    assert lines(a.invoices[0]) == [("INSTALLMENT", "333.34 USD"), ("DISCOUNT", "-16.67 USD")]


# ---------------------------------------------------------------- never negative


def test_a_fixed_discount_larger_than_its_items_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"'discounts\[0\].amount' must be at most what "
                       r"the items add up to \(100.00 USD\)"):
        BillingSchedule(currency=USD, milestones=[dated("m", "100.00", SIGNED)],
                        discounts=[Discount(ItemId("d"), "D", amount=usd("100.01"),
                                            items=("m",))])


def test_a_fixed_package_discount_larger_than_the_package_is_refused() -> None:
    kickoff = Milestone(MilestoneId("k"), "Kickoff", amount=usd("60.00"),
                        trigger=Trigger.ON_SIGNING)
    fee = InstallmentPlan(ItemId("fee"), "Fee", usd("40.00"), Interval.MONTHLY, start=SIGNED,
                          count=2)

    def package(off: str) -> BillingSchedule:
        return BillingSchedule(currency=USD, milestones=[kickoff], installments=[fee],
                               discounts=[Discount(ItemId("d"), "D", amount=usd(off),
                                                   scope=DiscountScope.PACKAGE)])

    assert contract_value(signed(package("100.00"))) == usd("0.00")
    with pytest.raises(ValidationError, match=r"'discounts\[0\].amount' must be at most what "
                       r"the items add up to \(100.00 USD\)"):
        package("100.01")


def test_a_discount_line_must_be_negative_and_an_invoice_never_is() -> None:
    with pytest.raises(ValidationError, match=r"'line\.amount' must be a negative amount"):
        InvoiceLine("l", "d:x:m:m", LineKind.DISCOUNT, "D", usd("1.00"))
    with pytest.raises(ValidationError, match=r"'invoice\.subtotal' must be zero or more"):
        Invoice.build(id=InvoiceId("i"), agreement_id="a", currency=USD, issued_on=SIGNED,
                      due_on=SIGNED, lines=[
                          InvoiceLine("l1", "m:m", LineKind.MILESTONE, "M", usd("1.00")),
                          InvoiceLine("l2", "d:x:m:m", LineKind.DISCOUNT, "D", usd("-1.01"))])


def test_percent_and_amount_together_or_neither_are_refused() -> None:
    with pytest.raises(ValidationError, match="'percent' must be given, or amount given"):
        Discount(ItemId("d"), "D", percent=Decimal(5), amount=usd("1.00"), items=("m",))
    with pytest.raises(ValidationError, match="'percent' must be more than 0 and at most 100"):
        Discount(ItemId("d"), "D", percent=Decimal(101), items=("m",))


def test_a_discount_naming_an_unknown_item_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"'discounts\[0\].items' must be ids of this "
                       "schedule's"):
        BillingSchedule(currency=USD, milestones=[dated("m", "100.00", SIGNED)],
                        discounts=[ten_percent_on("nope")])


def test_relating_a_discount_to_obligations_needs_the_evidence_stated() -> None:
    with pytest.raises(ValidationError, match="'evidence' must be the observable evidence of "
                       "ASC 606-10-32-37"):
        ten_percent_on("m", relates_to=("design",))


def test_a_discount_may_only_relate_to_obligations_the_package_states() -> None:
    s = BillingSchedule(currency=USD, milestones=[dated("m", "100.00", SIGNED)],
                        discounts=[ten_percent_on("m", relates_to=("nope",),
                                                  evidence="sold alone at 10 % off")])
    with pytest.raises(ValidationError, match=r"'options\[0\].schedule.discounts\[0\]"
                       r".relates_to' must be ids of the obligations the package states"):
        signed(s)


def test_a_discount_id_with_a_colon_is_refused() -> None:
    with pytest.raises(ValidationError, match="'id' must be an id without ':'"):
        Discount(ItemId("a:b"), "D", percent=Decimal(5), items=("m",))


# ---------------------------------------------------------------- amendments


def design_agreement() -> Agreement:
    s = BillingSchedule(currency=USD, milestones=[dated("design", "6000.00", date(2024, 2, 15))],
                        discounts=[ten_percent_on("design")])
    return bill(signed(s), date(2024, 2, 15))


def test_raising_a_discounted_item_bills_the_difference_less_its_discount() -> None:
    # Design 6,000.00 less 10 % was billed 5,400.00.  Amended to 7,000.00: the
    # adjustment is +1,000.00 with a discount line of -100.00, 900.00 in all.
    a = design_agreement()
    am = Amendment(AmendmentId("am-1"), (ChangeMilestoneAmount(
        date(2024, 3, 5), MilestoneId("design"), usd("7000.00")),))
    pv = preview(a, am, as_of=date(2024, 3, 5))
    assert [(c.key, str(c.amount)) for c in pv.charges] == [
        ("m:design", "1000.00 USD"), ("d:loyal:m:design", "-100.00 USD")]
    assert (pv.credits, pv.charges_total, pv.value_change) == ((), usd("900.00"), usd("900.00"))
    a = amend(a, date(2024, 3, 5), *am.operations)
    assert unbilled_minor(a, through=date(2024, 4, 1)) == [
        (date(2024, 3, 5), 100000), (date(2024, 3, 5), -10000)]
    a = bill(a, date(2024, 3, 5))
    assert lines(a.invoices[-1]) == [("ADJUSTMENT", "1000.00 USD"), ("DISCOUNT", "-100.00 USD")]
    assert a.invoices[-1].lines[1].adjusts == a.invoices[0].id
    assert a.invoices[-1].total == usd("900.00")
    assert billing_position(a).balanced
    assert contract_value(a) == usd("6300.00")


def test_lowering_a_discounted_item_credits_the_difference_less_its_discount() -> None:
    # To 5,000.00: a credit of 1,000.00 less the 100.00 of discount given back, 900.00.
    a = design_agreement()
    am = Amendment(AmendmentId("am-1"), (ChangeMilestoneAmount(
        date(2024, 3, 5), MilestoneId("design"), usd("5000.00")),))
    pv = preview(a, am, as_of=date(2024, 3, 5))
    assert [(c.key, str(c.amount)) for c in pv.credits] == [
        ("m:design", "1000.00 USD"), ("d:loyal:m:design", "-100.00 USD")]
    assert pv.credits_total == usd("900.00")
    a = amend(a, date(2024, 3, 5), *am.operations)
    # The forecasts' amounts without lines: the credit and its discount given back.
    assert unbilled_minor(a, through=date(2024, 4, 1)) == [
        (date(2024, 3, 5), -100000), (date(2024, 3, 5), 10000)]
    a = bill(a, date(2024, 3, 5))
    (cn,) = a.credit_notes
    assert lines(cn) == [("CREDIT", "1000.00 USD"), ("DISCOUNT", "-100.00 USD")]
    assert (cn.credits, cn.total) == (a.invoices[0].id, usd("900.00"))
    assert billing_position(a).balanced
    assert contract_value(a) == usd("4500.00")


def test_a_discount_added_to_a_billed_item_is_credited_when_it_takes_effect() -> None:
    s = BillingSchedule(currency=USD, milestones=[dated("design", "6000.00", date(2024, 2, 15))])
    a = bill(signed(s), date(2024, 2, 15))
    add = AddDiscount(date(2024, 3, 10), Discount(ItemId("sorry"), "Goodwill",
                                                  amount=usd("250.00"), items=("design",)))
    pv = preview(a, Amendment(AmendmentId("am-1"), (add,)), as_of=date(2024, 3, 1))
    assert [(c.key, str(c.amount), c.due_on) for c in pv.credits] == [
        ("d:sorry:m:design", "250.00 USD", date(2024, 3, 10))]
    a = amend(a, date(2024, 3, 1), add)
    assert due_credit_notes(a, date(2024, 3, 9)) == ()
    a = bill(a, date(2024, 3, 10))
    assert [(lines(cn), cn.credits) for cn in a.credit_notes] == [
        ([("CREDIT", "250.00 USD")], a.invoices[0].id)]
    assert billing_position(a).balanced


def test_a_discount_starting_later_leaves_billed_items_alone() -> None:
    care = RecurringCharge(ItemId("care"), "Care", usd("500.00"), Interval.MONTHLY,
                           start=date(2024, 1, 31), count=4)
    a = bill(signed(BillingSchedule(currency=USD, recurring=[care])), SIGNED)
    a = amend(a, date(2024, 2, 10), AddDiscount(date(2024, 2, 10), Discount(
        ItemId("half"), "Half price", percent=Decimal(50), items=("care",),
        starts_on=date(2024, 2, 10))))
    a = bill(a, date(2024, 2, 29))
    assert a.credit_notes == ()
    assert lines(a.invoices[-1]) == [("RECURRING", "500.00 USD"), ("DISCOUNT", "-250.00 USD")]


def test_ending_a_discount_stops_it_for_items_dated_from_then_on() -> None:
    care = RecurringCharge(ItemId("care"), "Care", usd("500.00"), Interval.MONTHLY,
                           start=date(2024, 1, 31), count=3)
    s = BillingSchedule(currency=USD, recurring=[care], discounts=[
        Discount(ItemId("promo"), "Promo", percent=Decimal(20), items=("care",))])
    a = amend(bill(signed(s), SIGNED), date(2024, 2, 5),
              EndDiscount(date(2024, 2, 5), ItemId("promo")))
    assert [str(i.amount) for i in billing_plan(a)] == [
        "500.00 USD", "500.00 USD", "500.00 USD", "-100.00 USD"]
    pv = preview(a, Amendment(AmendmentId("x"), (EndDiscount(date(2024, 2, 6),
                                                             ItemId("promo")),)),
                 as_of=date(2024, 2, 6))
    assert pv.value_change == usd("0.00")


def test_a_discount_with_an_id_already_used_is_refused() -> None:
    a = design_agreement()
    with pytest.raises(AmendmentError, match="item 'loyal' already exists"):
        amend(a, date(2024, 3, 1), AddDiscount(date(2024, 3, 1), ten_percent_on("design")))


def test_an_added_discount_relating_to_an_unstated_obligation_is_refused() -> None:
    a = signed(BillingSchedule(currency=USD, milestones=[dated("m", "100.00", SIGNED)]),
               obligations=(ObligationTerms(ObligationId("work"), "Work", Progress.MILESTONES,
                                            items=("m",)),))
    with pytest.raises(AmendmentError, match="relates to obligations the package does not "
                       r"state: \['other'\]"):
        amend(a, date(2024, 3, 1), AddDiscount(date(2024, 3, 1), Discount(
            ItemId("d"), "D", percent=Decimal(5), items=("m",), relates_to=("other",),
            evidence="sold alone")))


def test_an_added_fixed_discount_larger_than_its_items_is_refused() -> None:
    # Design stands at 6,000.00: 6,000.00 off is allowed, a cent more is refused.
    a = design_agreement()
    whole = Discount(ItemId("all"), "All of it", amount=usd("6000.00"), items=("design",))
    assert contract_value(amend(a, date(2024, 3, 1), AddDiscount(date(2024, 3, 1), whole))) \
        == usd("0.00")
    with pytest.raises(AmendmentError, match=r"discount 'all' of 6000.01 USD is more than its "
                       r"items come to \(6000.00 USD\)"):
        amend(a, date(2024, 3, 1), AddDiscount(date(2024, 3, 1), attrs.evolve(
            whole, amount=usd("6000.01"))))

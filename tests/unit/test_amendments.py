"""Amendment operations, their proration policies, previews and approval."""

from __future__ import annotations

from datetime import UTC, date, datetime
from fractions import Fraction

import attrs
import pytest

from milestonebill.agreement import (
    AddAddOn,
    AddMilestone,
    AddOn,
    AddRecurringCharge,
    Agreement,
    AgreementId,
    AgreementState,
    Amendment,
    AmendmentId,
    AmendmentStatus,
    ApprovalRules,
    CancelAddOn,
    CancelAgreement,
    ChangeBillingDay,
    ChangeMilestoneAmount,
    ChangeRecurringInterval,
    ChangeRecurringPrice,
    Collection,
    CreditIssued,
    EndRecurringCharge,
    InvoiceIssued,
    Operation,
    PackageOption,
    Proposal,
    ProposalId,
    ProrationPolicy,
    RemoveMilestone,
    RescheduleMilestone,
    SwitchPackage,
    apply,
    approvals_due,
    approve,
    billing_plan,
    complete_milestone,
    contract_value,
    preview,
    propose,
    reject,
    sign,
)
from milestonebill.errors import AmendmentError, InvalidTransitionError
from milestonebill.invoicing import (
    CreditReason,
    LineKind,
    billing_position,
    due_credit_notes,
    due_invoices,
)
from milestonebill.money import Currency, Money, Rounding
from milestonebill.schedule import (
    BillingSchedule,
    Interval,
    ItemId,
    Milestone,
    MilestoneId,
    RecurringCharge,
    Timing,
    Trigger,
)

USD = Currency.of("USD")
NO_APPROVAL = ApprovalRules(require_client_approval=False)


def usd(amount: str) -> Money:
    return Money(amount, USD)


def noon(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, 12, tzinfo=UTC)


def monthly(item: str, amount: str, start: date, **kw: object) -> RecurringCharge:
    return RecurringCharge(ItemId(item), item.title(), usd(amount), Interval.MONTHLY,
                           start=start, **kw)  # type: ignore[arg-type]


def make(
    schedule: BillingSchedule,
    *,
    signed: date,
    others: tuple[PackageOption, ...] = (),
    addons: tuple[AddOn, ...] = (),
    approval: ApprovalRules = NO_APPROVAL,
    option: str = "std",
) -> Agreement:
    proposal = Proposal(ProposalId("p-1"), "Acme", USD,
                        (PackageOption("std", "Standard", schedule), *others), addons,
                        approval=approval, collection=Collection.SEND_INVOICE)
    return sign(proposal, option=option, signer="Ada", signed_at=noon(signed),
                payment_method=None, agreement_id=AgreementId("agr-1"))


def bill(a: Agreement, d: date) -> Agreement:
    """Issue every due invoice and credit note on ``d``, numbering as it goes."""
    for draft in due_invoices(a, d):
        inv = attrs.evolve(draft, number=f"INV-{len(a.invoices) + 1:04d}")
        a = apply(a, InvoiceIssued(f"ev-{a.version + 1}", a.version + 1, noon(d), inv))
    for cn_draft in due_credit_notes(a, d):
        cn = attrs.evolve(cn_draft, number=f"CN-{len(a.credit_notes) + 1:04d}")
        a = apply(a, CreditIssued(f"ev-{a.version + 1}", a.version + 1, noon(d), cn))
    return a


def amend(a: Agreement, d: date, *ops: Operation, aid: str = "am-1") -> Agreement:
    return apply(a, propose(a, Amendment(AmendmentId(aid), ops), by="pm", at=noon(d)))


def invoiced_lines(a: Agreement) -> list[tuple[str, str, Money]]:
    return [(ln.line_id, ln.kind.name, ln.amount) for inv in a.invoices for ln in inv.lines]


def credit_lines(a: Agreement) -> list[tuple[str, Money, str]]:
    return [(ln.line_id, ln.amount, str(ln.period)) for cn in a.credit_notes for ln in cn.lines]


def prorated(amount: str, days: int, of: int) -> Money:
    return usd(amount).scale(Fraction(days, of), rounding=Rounding.HALF_UP)


# ---------------------------------------------------------------- recurring price


def test_price_change_on_the_31st_keeps_the_month_end_anchor() -> None:
    a = make(BillingSchedule(currency=USD, recurring=[monthly("retainer", "1000.00",
                                                                date(2024, 1, 31))]),
             signed=date(2024, 1, 31))
    for d in (date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31)):
        a = bill(a, d)
    a = amend(a, date(2024, 3, 31),
              ChangeRecurringPrice(date(2024, 3, 31), ItemId("retainer"), usd("1500.00")))
    for d in (date(2024, 3, 31), date(2024, 4, 30), date(2024, 5, 31)):
        a = bill(a, d)
    first_march = a.invoices[2].id
    assert invoiced_lines(a)[3:] == [
        ("agr-1:r:retainer:2024-03-31:1", "ADJUSTMENT", usd("500.00")),
        ("agr-1:r:retainer:2024-04-30:0", "RECURRING", usd("1500.00")),
        ("agr-1:r:retainer:2024-05-31:0", "RECURRING", usd("1500.00")),
    ]
    assert a.invoices[3].lines[0].adjusts == first_march


def test_price_change_effective_on_the_31st_mid_period_is_prorated_by_days() -> None:
    a = make(BillingSchedule(currency=USD, recurring=[monthly("retainer", "1000.00",
                                                                date(2024, 1, 15))]),
             signed=date(2024, 1, 15))
    a = bill(a, date(2024, 1, 15))
    a = amend(a, date(2024, 1, 31),
              ChangeRecurringPrice(date(2024, 1, 31), ItemId("retainer"), usd("1500.00")))
    a = bill(a, date(2024, 1, 31))
    # [15 Jan, 15 Feb) has 31 days; 15 of them are on the new price.
    assert credit_lines(a) == [("agr-1:r:retainer:2024-01-15:1", prorated("1000.00", 15, 31),
                                "[2024-01-31, 2024-02-15)")]
    assert invoiced_lines(a)[1] == ("agr-1:r:retainer:2024-01-31:0", "RECURRING",
                                    prorated("1500.00", 15, 31))


def test_price_change_from_next_period_leaves_the_current_period_alone() -> None:
    a = make(BillingSchedule(currency=USD, recurring=[monthly("retainer", "1000.00",
                                                                date(2024, 1, 1))]),
             signed=date(2024, 1, 1))
    a = bill(a, date(2024, 1, 1))
    a = amend(a, date(2024, 1, 10), ChangeRecurringPrice(
        date(2024, 1, 10), ItemId("retainer"), usd("1200.00"), ProrationPolicy.NEXT_PERIOD))
    a = bill(a, date(2024, 1, 10))
    assert a.credit_notes == ()
    assert len(a.invoices) == 1
    a = bill(a, date(2024, 2, 1))
    assert invoiced_lines(a)[-1] == ("agr-1:r:retainer:2024-02-01:0", "RECURRING",
                                     usd("1200.00"))


def test_no_proration_bills_arrears_period_whole_at_the_new_price() -> None:
    charge = monthly("support", "1000.00", date(2024, 1, 1), timing=Timing.IN_ARREARS)
    a = make(BillingSchedule(currency=USD, recurring=[charge]), signed=date(2024, 1, 1))
    a = amend(a, date(2024, 1, 20), ChangeRecurringPrice(
        date(2024, 1, 20), ItemId("support"), usd("800.00"), ProrationPolicy.NONE))
    a = bill(a, date(2024, 2, 1))
    assert invoiced_lines(a) == [("agr-1:r:support:2024-01-01:0", "RECURRING", usd("800.00"))]


def test_no_proration_on_an_advance_charge_keeps_the_billed_period() -> None:
    a = make(BillingSchedule(currency=USD, recurring=[monthly("retainer", "1000.00",
                                                                date(2024, 1, 1))]),
             signed=date(2024, 1, 1))
    a = bill(a, date(2024, 1, 1))
    a = amend(a, date(2024, 1, 20), ChangeRecurringPrice(
        date(2024, 1, 20), ItemId("retainer"), usd("800.00"), ProrationPolicy.NONE))
    a = bill(a, date(2024, 2, 1))
    assert invoiced_lines(a)[1:] == [("agr-1:r:retainer:2024-02-01:0", "RECURRING",
                                      usd("800.00"))]
    assert a.credit_notes == ()


# ---------------------------------------------------------------- packages


def _packages() -> tuple[BillingSchedule, PackageOption]:
    basic = BillingSchedule(currency=USD, recurring=[monthly("plan", "100.00", date(2024, 1, 1))])
    premium = BillingSchedule(currency=USD,
                              recurring=[monthly("plan", "300.00", date(2024, 1, 1))])
    return basic, PackageOption("premium", "Premium", premium)


def test_downgrade_mid_period_credits_unused_time_and_charges_the_rest() -> None:
    basic, premium = _packages()
    a = make(basic, signed=date(2024, 1, 1), others=(premium,), option="premium")
    a = bill(a, date(2024, 2, 1))
    down = Amendment(AmendmentId("down"), (SwitchPackage(date(2024, 2, 11), "std"),))
    pv = preview(a, down, as_of=date(2024, 2, 11), through=date(2024, 4, 1))
    # February 2024 has 29 days: 19 unused premium days credited, 19 basic days charged.
    assert [c.amount for c in pv.credits] == [prorated("300.00", 19, 29)]
    assert [c.amount for c in pv.charges] == [prorated("100.00", 19, 29)]
    assert pv.credits[0].adjusts == a.invoices[0].id
    a = amend(a, date(2024, 2, 11), *down.operations, aid="down")
    a = bill(a, date(2024, 2, 11))
    assert credit_lines(a) == [("agr-1:r:plan:2024-02-01:1", usd("196.55"),
                                "[2024-02-11, 2024-03-01)")]
    assert a.credit_notes[0].credits == a.invoices[0].id
    assert a.credit_notes[0].reason is CreditReason.AMENDMENT
    assert invoiced_lines(a)[-1] == ("agr-1:r:plan:2024-02-11:0", "RECURRING", usd("65.52"))
    assert a.option_id == "std"


def test_upgrade_then_downgrade_in_the_same_period_nets_to_the_days_on_each() -> None:
    basic, premium = _packages()
    a = make(basic, signed=date(2024, 1, 1), others=(premium,))
    a = bill(a, date(2024, 1, 1))
    a = amend(a, date(2024, 1, 11), SwitchPackage(date(2024, 1, 11), "premium"), aid="up")
    a = bill(a, date(2024, 1, 11))
    a = amend(a, date(2024, 1, 21), SwitchPackage(date(2024, 1, 21), "std"), aid="down")
    a = bill(a, date(2024, 1, 21))
    net = (Money.total(inv.subtotal for inv in a.invoices)
           - Money.total(cn.subtotal for cn in a.credit_notes))
    # 10 days basic, 10 days premium, 11 days basic, rounded once across the month:
    # (10 x 100.00 + 10 x 300.00 + 11 x 100.00) / 31 = 164.516...  Rounding each piece
    # on its own (32.26 + 96.77 + 35.48) would lose a cent.
    expected = prorated("5100.00", 1, 31)
    assert expected == usd("164.52")
    assert net == expected
    assert [cn.credits for cn in a.credit_notes] == [a.invoices[0].id, a.invoices[1].id]
    assert billing_position(a, through=date(2024, 2, 1)).balanced


# ---------------------------------------------------------------- cancellation


def test_cancelling_a_prepaid_annual_charge_on_day_100_of_a_leap_year() -> None:
    annual = RecurringCharge(ItemId("licence"), "Licence", usd("12000.00"), Interval.YEARLY,
                             start=date(2024, 1, 1))
    a = make(BillingSchedule(currency=USD, recurring=[annual]), signed=date(2024, 1, 1))
    a = bill(a, date(2024, 1, 1))
    day_100 = date(2024, 4, 9)
    assert day_100.timetuple().tm_yday == 100
    a = amend(a, day_100, CancelAgreement(day_100, credit_unused=True))
    assert a.state is AgreementState.CANCELLED
    a = bill(a, day_100)
    # Used 1 Jan .. 8 Apr = 99 days; 267 of 366 days are credited.
    assert credit_lines(a) == [("agr-1:r:licence:2024-01-01:1", prorated("12000.00", 267, 366),
                                "[2024-04-09, 2025-01-01)")]
    assert a.credit_notes[0].reason is CreditReason.CANCELLATION
    assert a.credit_notes[0].subtotal == usd("8754.10")
    assert contract_value(a) == usd("3245.90")


def test_cancelling_without_credit_keeps_the_prepaid_period() -> None:
    annual = RecurringCharge(ItemId("licence"), "Licence", usd("12000.00"), Interval.YEARLY,
                             start=date(2024, 1, 1))
    a = make(BillingSchedule(currency=USD, recurring=[annual]), signed=date(2024, 1, 1))
    a = bill(a, date(2024, 1, 1))
    a = amend(a, date(2024, 4, 9), CancelAgreement(date(2024, 4, 9), credit_unused=False))
    a = bill(a, date(2026, 1, 1))
    assert a.credit_notes == ()
    assert len(a.invoices) == 1
    assert contract_value(a) == usd("12000.00")


def test_cancelling_drops_undelivered_milestones_and_keeps_delivered_ones() -> None:
    s = BillingSchedule(currency=USD, milestones=[
        Milestone(MilestoneId("design"), "Design", amount=usd("3000.00")),
        Milestone(MilestoneId("build"), "Build", amount=usd("7000.00")),
    ])
    a = make(s, signed=date(2024, 1, 1))
    a = apply(a, complete_milestone(a, MilestoneId("design"), by="pm", at=noon(date(2024, 2, 1))))
    a = amend(a, date(2024, 3, 1), CancelAgreement(date(2024, 3, 1)))
    assert [t.milestone.id for t in a.milestones] == ["design"]
    assert contract_value(a) == usd("3000.00")


def test_no_amendment_after_cancellation() -> None:
    a = make(BillingSchedule(currency=USD, milestones=[
        Milestone(MilestoneId("m"), "M", amount=usd("10.00"))]), signed=date(2024, 1, 1))
    a = amend(a, date(2024, 1, 5), CancelAgreement(date(2024, 1, 5)))
    with pytest.raises(InvalidTransitionError):
        propose(a, Amendment(AmendmentId("x"), (RemoveMilestone(date(2024, 1, 6),
                                                                MilestoneId("m")),)),
                by="pm", at=noon(date(2024, 1, 6)))


# ---------------------------------------------------------------- milestones


def _two_milestones() -> BillingSchedule:
    return BillingSchedule(currency=USD, fee=usd("12000.00"), milestones=[
        Milestone(MilestoneId("design"), "Design", percent="40"),
        Milestone(MilestoneId("build"), "Build", percent="60"),
    ])


def test_amending_an_invoiced_milestone_up_adds_an_adjustment_to_the_original() -> None:
    a = make(_two_milestones(), signed=date(2024, 1, 1))
    a = apply(a, complete_milestone(a, MilestoneId("design"), by="pm", at=noon(date(2024, 2, 1))))
    a = bill(a, date(2024, 2, 1))
    a = amend(a, date(2024, 2, 10),
              ChangeMilestoneAmount(date(2024, 2, 10), MilestoneId("design"), usd("5000.00")))
    a = bill(a, date(2024, 2, 10))
    line = a.invoices[1].lines[0]
    assert (line.line_id, line.kind, line.amount) == ("agr-1:m:design:1", LineKind.ADJUSTMENT,
                                                      usd("200.00"))
    assert line.adjusts == a.invoices[0].id


def test_amending_an_invoiced_milestone_down_issues_a_credit_note_against_it() -> None:
    a = make(_two_milestones(), signed=date(2024, 1, 1))
    a = apply(a, complete_milestone(a, MilestoneId("design"), by="pm", at=noon(date(2024, 2, 1))))
    a = bill(a, date(2024, 2, 1))
    a = amend(a, date(2024, 2, 10),
              ChangeMilestoneAmount(date(2024, 2, 10), MilestoneId("design"), usd("4000.00")))
    assert due_credit_notes(a, date(2024, 2, 9)) == ()
    a = bill(a, date(2024, 2, 10))
    assert credit_lines(a) == [("agr-1:m:design:1", usd("800.00"), "None")]
    assert a.credit_notes[0].credits == a.invoices[0].id


def test_add_remove_and_reschedule_milestones() -> None:
    s = BillingSchedule(currency=USD, milestones=[
        Milestone(MilestoneId("kickoff"), "Kickoff", amount=usd("500.00"),
                  trigger=Trigger.ON_DATE, due_on=date(2024, 2, 1)),
        Milestone(MilestoneId("build"), "Build", amount=usd("4000.00")),
    ])
    a = make(s, signed=date(2024, 1, 1))
    extra = Milestone(MilestoneId("training"), "Training", amount=usd("750.00"),
                      trigger=Trigger.ON_DATE, due_on=date(2024, 3, 1))
    a = amend(a, date(2024, 1, 10),
              RescheduleMilestone(date(2024, 1, 10), MilestoneId("kickoff"), date(2024, 2, 15)),
              AddMilestone(date(2024, 1, 10), extra),
              RemoveMilestone(date(2024, 1, 10), MilestoneId("build")))
    plan = {i.key: (i.amount, i.on) for i in billing_plan(a)}
    assert plan == {"m:kickoff": (usd("500.00"), date(2024, 2, 15)),
                    "m:training": (usd("750.00"), date(2024, 3, 1))}
    assert due_invoices(a, date(2024, 2, 14)) == ()


def test_removing_an_invoiced_milestone_credits_it_in_full() -> None:
    a = make(_two_milestones(), signed=date(2024, 1, 1))
    a = apply(a, complete_milestone(a, MilestoneId("design"), by="pm", at=noon(date(2024, 2, 1))))
    a = bill(a, date(2024, 2, 1))
    a = amend(a, date(2024, 3, 1), RemoveMilestone(date(2024, 3, 1), MilestoneId("design")))
    a = bill(a, date(2024, 3, 1))
    assert credit_lines(a) == [("agr-1:m:design:1", usd("4800.00"), "None")]


def test_unknown_milestone_is_an_amendment_error() -> None:
    a = make(_two_milestones(), signed=date(2024, 1, 1))
    with pytest.raises(AmendmentError, match="no milestone 'nope'"):
        propose(a, Amendment(AmendmentId("x"), (ChangeMilestoneAmount(
            date(2024, 1, 2), MilestoneId("nope"), usd("1.00")),)), by="pm",
            at=noon(date(2024, 1, 2)))


def test_rescheduling_a_completion_milestone_is_refused() -> None:
    a = make(_two_milestones(), signed=date(2024, 1, 1))
    with pytest.raises(AmendmentError, match="not billed on a date"):
        propose(a, Amendment(AmendmentId("x"), (RescheduleMilestone(
            date(2024, 1, 2), MilestoneId("build"), date(2024, 5, 1)),)), by="pm",
            at=noon(date(2024, 1, 2)))


# ---------------------------------------------------------------- recurring structure


def test_add_and_end_a_recurring_charge() -> None:
    a = make(BillingSchedule(currency=USD, milestones=[
        Milestone(MilestoneId("m"), "M", amount=usd("10.00"))]), signed=date(2024, 1, 1))
    hosting = monthly("hosting", "90.00", date(2024, 1, 1))
    a = amend(a, date(2024, 1, 1), AddRecurringCharge(date(2024, 1, 16), hosting), aid="add")
    a = amend(a, date(2024, 1, 2), EndRecurringCharge(date(2024, 3, 11), ItemId("hosting")),
              aid="end")
    pieces = [(i.key, i.amount) for i in billing_plan(a) if i.item_id == "hosting"]
    assert pieces == [("r:hosting:2024-01-16", prorated("90.00", 16, 31)),
                      ("r:hosting:2024-02-01", usd("90.00")),
                      ("r:hosting:2024-03-01", prorated("90.00", 10, 31))]


def test_interval_change_with_proration_restarts_the_cycle() -> None:
    a = make(BillingSchedule(currency=USD, recurring=[monthly("plan", "100.00",
                                                                date(2024, 1, 1))]),
             signed=date(2024, 1, 1))
    a = bill(a, date(2024, 1, 1))
    a = amend(a, date(2024, 1, 16),
              ChangeRecurringInterval(date(2024, 1, 16), ItemId("plan"), Interval.QUARTERLY))
    a = bill(a, date(2024, 1, 16))
    assert credit_lines(a) == [("agr-1:r:plan:2024-01-01:1", prorated("100.00", 16, 31),
                                "[2024-01-16, 2024-02-01)")]
    assert invoiced_lines(a)[-1] == ("agr-1:r:plan:2024-01-16:0", "RECURRING", usd("100.00"))
    later = [i.key for i in billing_plan(a, through=date(2024, 8, 1)) if i.on is not None]
    assert later == ["r:plan:2024-01-01", "r:plan:2024-01-16", "r:plan:2024-04-16",
                     "r:plan:2024-07-16"]


def test_interval_change_next_period_keeps_the_anchor() -> None:
    a = make(BillingSchedule(currency=USD, recurring=[monthly("plan", "100.00",
                                                                date(2024, 1, 31))]),
             signed=date(2024, 1, 31))
    a = amend(a, date(2024, 2, 10), ChangeRecurringInterval(
        date(2024, 2, 10), ItemId("plan"), Interval.QUARTERLY, ProrationPolicy.NEXT_PERIOD))
    keys = [i.key for i in billing_plan(a, through=date(2024, 9, 1))]
    assert keys == ["r:plan:2024-01-31", "r:plan:2024-02-29", "r:plan:2024-05-31",
                    "r:plan:2024-08-31"]


def test_billing_day_change_prorates_the_stub_to_the_new_day() -> None:
    a = make(BillingSchedule(currency=USD, recurring=[monthly("plan", "310.00",
                                                                date(2024, 1, 1))]),
             signed=date(2024, 1, 1))
    a = amend(a, date(2024, 1, 2), ChangeBillingDay(
        date(2024, 1, 10), ItemId("plan"), 15, ProrationPolicy.NEXT_PERIOD))
    plan = [(i.key, i.amount) for i in billing_plan(a, through=date(2024, 3, 1))]
    # January whole; stub 1..14 Feb of the [15 Jan, 15 Feb) period (14 of 31 days).
    assert plan == [("r:plan:2024-01-01", usd("310.00")),
                    ("r:plan:2024-02-01", prorated("310.00", 14, 31)),
                    ("r:plan:2024-02-15", usd("310.00"))]


def test_billing_day_change_at_a_period_start_cuts_there() -> None:
    a = make(BillingSchedule(currency=USD, recurring=[monthly("plan", "310.00",
                                                                date(2024, 1, 1))]),
             signed=date(2024, 1, 1))
    a = amend(a, date(2024, 1, 1), ChangeBillingDay(date(2024, 1, 1), ItemId("plan"), 15))
    plan = [(i.key, i.amount) for i in billing_plan(a, through=date(2024, 2, 1))]
    # The stub 1..14 Jan is 14 of the 31 days of [15 Dec, 15 Jan).
    assert plan == [("r:plan:2024-01-01", prorated("310.00", 14, 31)),
                    ("r:plan:2024-01-15", usd("310.00"))]


def test_billing_day_of_a_weekly_charge_is_refused() -> None:
    weekly = RecurringCharge(ItemId("w"), "W", usd("10.00"), Interval.WEEKLY,
                             start=date(2024, 1, 1))
    a = make(BillingSchedule(currency=USD, recurring=[weekly]), signed=date(2024, 1, 1))
    with pytest.raises(AmendmentError, match="weekly"):
        propose(a, Amendment(AmendmentId("x"), (ChangeBillingDay(
            date(2024, 1, 3), ItemId("w"), 5),)), by="pm", at=noon(date(2024, 1, 2)))


# ---------------------------------------------------------------- add-ons


def _with_addon() -> tuple[BillingSchedule, AddOn]:
    base = BillingSchedule(currency=USD, milestones=[
        Milestone(MilestoneId("setup"), "Setup", amount=usd("1000.00"),
                  trigger=Trigger.ON_SIGNING)])
    seo = AddOn("seo", "SEO", BillingSchedule(currency=USD, milestones=[
        Milestone(MilestoneId("audit"), "Audit", amount=usd("400.00"))], recurring=[
        monthly("seo-retainer", "200.00", date(2024, 1, 1))]))
    return base, seo


def test_add_an_addon_mid_month_prorates_its_first_period() -> None:
    base, seo = _with_addon()
    a = make(base, signed=date(2024, 1, 1), addons=(seo,))
    a = amend(a, date(2024, 1, 17), AddAddOn(date(2024, 1, 17), "seo"))
    assert a.addons == ("seo",)
    items = {i.key: i.amount for i in billing_plan(a, through=date(2024, 2, 2))}
    assert items == {"m:setup": usd("1000.00"), "m:audit": usd("400.00"),
                     "r:seo-retainer:2024-01-17": prorated("200.00", 15, 31),
                     "r:seo-retainer:2024-02-01": usd("200.00")}


def test_cancel_an_addon_credits_its_unused_time_and_drops_its_open_work() -> None:
    base, seo = _with_addon()
    a = make(base, signed=date(2024, 1, 1), addons=(seo,))
    a = amend(a, date(2024, 1, 1), AddAddOn(date(2024, 1, 1), "seo"), aid="add")
    a = bill(a, date(2024, 1, 1))
    a = amend(a, date(2024, 1, 11), CancelAddOn(date(2024, 1, 11), "seo"), aid="cancel")
    a = bill(a, date(2024, 1, 11))
    assert a.addons == ()
    assert credit_lines(a) == [("agr-1:r:seo-retainer:2024-01-01:1",
                                prorated("200.00", 21, 31), "[2024-01-11, 2024-02-01)")]
    assert [t.milestone.id for t in a.milestones] == ["setup"]


def test_unknown_addon_is_refused() -> None:
    base, seo = _with_addon()
    a = make(base, signed=date(2024, 1, 1), addons=(seo,))
    with pytest.raises(AmendmentError, match="no add-on 'ads'"):
        propose(a, Amendment(AmendmentId("x"), (AddAddOn(date(2024, 1, 2), "ads"),)),
                by="pm", at=noon(date(2024, 1, 2)))


# ---------------------------------------------------------------- preview and approval


def test_preview_changes_nothing_and_matches_what_is_billed_after_approval() -> None:
    a = make(BillingSchedule(currency=USD, recurring=[monthly("retainer", "1000.00",
                                                                date(2024, 1, 1))]),
             signed=date(2024, 1, 1), approval=ApprovalRules())
    a = bill(a, date(2024, 1, 1))
    am = Amendment(AmendmentId("up"), (ChangeRecurringPrice(date(2024, 1, 11),
                                                            ItemId("retainer"), usd("1300.00")),))
    pv = preview(a, am, as_of=date(2024, 1, 11), through=date(2024, 4, 1))
    assert pv.contract_value_before == usd("3000.00")
    assert pv.value_change == prorated("300.00", 21, 31) + usd("600.00")
    a = apply(a, propose(a, am, by="pm", at=noon(date(2024, 1, 10))))
    assert a.pending_amendments[0].status is AmendmentStatus.PENDING
    assert due_credit_notes(a, date(2024, 1, 11)) == ()  # pending: no effect on billing
    assert contract_value(a, through=date(2024, 4, 1)) == usd("3000.00")
    a = apply(a, approve(a, AmendmentId("up"), by="client", at=noon(date(2024, 1, 11))))
    a = bill(a, date(2024, 1, 11))
    assert Money.total(cn.subtotal for cn in a.credit_notes) == pv.credits_total
    assert Money.total(inv.subtotal for inv in a.invoices[1:]) == pv.charges_total
    assert contract_value(a, through=date(2024, 4, 1)) == pv.contract_value_after


def test_rejected_amendment_never_affects_billing() -> None:
    a = make(_two_milestones(), signed=date(2024, 1, 1), approval=ApprovalRules())
    am = Amendment(AmendmentId("x"), (ChangeMilestoneAmount(date(2024, 1, 2),
                                                            MilestoneId("build"), usd("1.00")),))
    a = apply(a, propose(a, am, by="pm", at=noon(date(2024, 1, 2))))
    a = apply(a, reject(a, AmendmentId("x"), by="client", at=noon(date(2024, 1, 3)),
                        reason="no"))
    assert a.amendments[0].status is AmendmentStatus.REJECTED
    assert contract_value(a) == usd("12000.00")
    with pytest.raises(InvalidTransitionError, match="already rejected"):
        approve(a, AmendmentId("x"), by="client", at=noon(date(2024, 1, 4)))


def test_automatic_approval_after_the_notice_period() -> None:
    a = make(_two_milestones(), signed=date(2024, 1, 1),
             approval=ApprovalRules(auto_approve_after_days=14))
    am = Amendment(AmendmentId("x"), (ChangeMilestoneAmount(date(2024, 1, 2),
                                                            MilestoneId("build"), usd("8000.00")),))
    a = apply(a, propose(a, am, by="pm", at=noon(date(2024, 1, 2))))
    assert approvals_due(a, noon(date(2024, 1, 15))) == ()
    with pytest.raises(InvalidTransitionError, match="automatically"):
        approve(a, AmendmentId("x"), by="auto", at=noon(date(2024, 1, 10)), automatic=True)
    (event,) = approvals_due(a, noon(date(2024, 1, 16)))
    a = apply(a, event)
    assert a.amendments[0].automatic
    assert contract_value(a) == usd("12800.00")


def test_rescheduling_only_needs_no_client_approval() -> None:
    s = BillingSchedule(currency=USD, milestones=[Milestone(
        MilestoneId("k"), "K", amount=usd("5.00"), trigger=Trigger.ON_DATE,
        due_on=date(2024, 2, 1))])
    a = make(s, signed=date(2024, 1, 1), approval=ApprovalRules())
    a = amend(a, date(2024, 1, 2),
              RescheduleMilestone(date(2024, 1, 2), MilestoneId("k"), date(2024, 3, 1)))
    assert a.amendments[0].status is AmendmentStatus.APPROVED
    assert [i.on for i in billing_plan(a)] == [date(2024, 3, 1)]


def test_an_amendment_is_all_or_nothing() -> None:
    a = make(_two_milestones(), signed=date(2024, 1, 1))
    bad = Amendment(AmendmentId("x"), (
        ChangeMilestoneAmount(date(2024, 1, 2), MilestoneId("build"), usd("1.00")),
        RemoveMilestone(date(2024, 1, 2), MilestoneId("missing"))))
    with pytest.raises(AmendmentError):
        propose(a, bad, by="pm", at=noon(date(2024, 1, 2)))
    assert contract_value(a) == usd("12000.00")


def test_an_amendment_needs_operations() -> None:
    with pytest.raises(ValueError, match="at least one operation"):
        Amendment(AmendmentId("x"), ())


def test_open_ended_charges_need_a_stated_horizon() -> None:
    a = make(BillingSchedule(currency=USD, recurring=[monthly("retainer", "1000.00",
                                                                date(2024, 1, 1))]),
             signed=date(2024, 1, 1))
    with pytest.raises(ValueError, match="horizon") as info:
        contract_value(a)
    assert getattr(info.value, "field", None) == "through"
    am = Amendment(AmendmentId("x"), (ChangeRecurringPrice(date(2024, 2, 1), ItemId("retainer"),
                                                           usd("1.00")),))
    with pytest.raises(ValueError, match="horizon"):
        preview(a, am, as_of=date(2024, 1, 5))
    assert contract_value(a, through=date(2025, 1, 1)) == usd("12000.00")


def test_ending_a_charge_from_the_next_period_keeps_the_current_one_whole() -> None:
    a = make(BillingSchedule(currency=USD, recurring=[monthly("retainer", "1000.00",
                                                                date(2024, 1, 1))]),
             signed=date(2024, 1, 1))
    a = bill(a, date(2024, 1, 1))
    a = amend(a, date(2024, 1, 20), EndRecurringCharge(date(2024, 1, 20), ItemId("retainer"),
                                                       ProrationPolicy.NEXT_PERIOD))
    a = bill(a, date(2024, 6, 1))
    assert (len(a.invoices), a.credit_notes) == (1, ())
    assert contract_value(a) == usd("1000.00")

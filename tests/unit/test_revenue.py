"""The revenue model of an agreement: obligations, prices and what each has earned."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from milestonebill.agreement import (
    AddMilestone,
    Agreement,
    AgreementId,
    Amendment,
    AmendmentId,
    ApprovalRules,
    Collection,
    ObligationTerms,
    PackageOption,
    Progress,
    Proposal,
    ProposalId,
    SspApproach,
    apply,
    cancel,
    complete,
    complete_milestone,
    propose,
    sign,
)
from milestonebill.errors import ValidationError
from milestonebill.ids import ObligationId
from milestonebill.money import Currency, Money
from milestonebill.periods import Period
from milestonebill.reports import revenue_schedule
from milestonebill.revenue import PACKAGE, earned, revenue_model
from milestonebill.schedule import BillingSchedule, Milestone, MilestoneId, Trigger
from milestonebill.testing.scenarios import World, proposal

USD = Currency.of("USD")
SIGNED = date(2026, 1, 1)


def usd(v: str) -> Money:
    return Money(v, "USD")


def at(d: date) -> datetime:
    return datetime.combine(d, time(12), tzinfo=UTC)


def agreement(obligations: tuple[ObligationTerms, ...] = (),
              extra: tuple[Milestone, ...] = ()) -> Agreement:
    schedule = BillingSchedule(currency=USD, milestones=[
        Milestone(MilestoneId("design"), "Design", amount=usd("4000.00")),
        Milestone(MilestoneId("launch"), "Launch", amount=usd("6000.00"),
                  trigger=Trigger.ON_DATE, due_on=date(2026, 3, 1)),
        *extra])
    p = Proposal(ProposalId("p"), "Client", USD,
                 (PackageOption("std", "Std", schedule, obligations=obligations),),
                 collection=Collection.SEND_INVOICE,
                 approval=ApprovalRules(require_client_approval=False))
    return sign(p, option="std", signer="Ada", payment_method=None,
                agreement_id=AgreementId("agr"), signed_at=at(SIGNED))


def done(a: Agreement, milestone: str, on: date) -> Agreement:
    return apply(a, complete_milestone(a, MilestoneId(milestone), by="Ada", at=at(on)))


def test_the_default_obligation_earns_by_the_milestones_achieved_by_amount() -> None:
    a = done(agreement(), "design", date(2026, 1, 20))
    assert earned(a, date(2026, 1, 19)) == {PACKAGE: usd("0.00")}
    assert earned(a, date(2026, 1, 20)) == {PACKAGE: usd("4000.00")}
    # The dated launch counts as achieved on its date.
    assert earned(a, date(2026, 3, 1)) == {PACKAGE: usd("10000.00")}


def test_prices_are_shared_by_relative_ssp_when_no_item_is_mapped() -> None:
    terms = (ObligationTerms(ObligationId("advice"), "Advice", Progress.STRAIGHT_LINE,
                             ssp=usd("9000.00"),
                             period=Period(date(2026, 1, 1), date(2026, 1, 31))),
             ObligationTerms(ObligationId("report"), "Report", Progress.ON_COMPLETION,
                             ssp=usd("3000.00"), milestone="design"))
    a = agreement(terms)
    model = revenue_model(a, through=date(2026, 6, 1))
    assert {o.id: o.price for o in model.obligations} == {
        "advice": usd("7500.00"), "report": usd("2500.00")}
    assert model.transaction_price == usd("10000.00")
    # 15 of 30 days of advice; the report only when Design is completed.
    assert earned(a, date(2026, 1, 15)) == {"advice": usd("3750.00"), "report": usd("0.00")}
    assert earned(done(a, "design", date(2026, 1, 20)), date(2026, 1, 20))["report"] == \
        usd("2500.00")


def test_a_residual_obligation_takes_what_the_others_ssps_leave() -> None:
    terms = (ObligationTerms(ObligationId("a"), "A", Progress.ON_DATE, ssp=usd("7000.00"),
                             on=date(2026, 2, 1)),
             ObligationTerms(ObligationId("b"), "B", Progress.ON_DATE,
                             ssp_approach=SspApproach.RESIDUAL, on=date(2026, 3, 1)))
    model = revenue_model(agreement(terms), through=date(2026, 6, 1))
    assert {o.id: o.price for o in model.obligations} == {"a": usd("7000.00"),
                                                          "b": usd("3000.00")}


def test_a_completed_agreement_has_earned_its_whole_price() -> None:
    a = done(agreement(), "design", date(2026, 1, 20))
    a = apply(a, complete(a, at=at(date(2026, 1, 25))))
    assert earned(a, date(2026, 1, 25)) == {PACKAGE: usd("10000.00")}


def test_a_cancelled_agreement_earns_what_it_keeps_when_it_ends() -> None:
    a = done(agreement(), "design", date(2026, 1, 20))
    a = apply(a, cancel(a, at=at(date(2026, 2, 10))))
    # Launch (not yet due) is cancelled; Design, delivered, is kept and earned.
    assert earned(a, date(2026, 2, 10)) == {PACKAGE: usd("4000.00")}


def test_a_refund_is_a_price_concession_on_what_the_invoice_billed() -> None:
    w = World()
    w.open(proposal([("design", "1000.00"), ("build", "500.00")]))
    invoice = w.complete("design").invoices[0]
    w.biller.refund(invoice.id, usd("300.00"), reason="goodwill")
    model = revenue_model(w.load(), through=SIGNED)
    assert model.transaction_price == usd("1200.00")
    # One obligation: the lower price is earned by the same progress (2 of 3 by amount).
    assert earned(w.load(), w.clock.today()) == {PACKAGE: usd("800.00")}


def test_a_milestone_an_amendment_adds_to_mapped_obligations_is_its_own() -> None:
    terms = (ObligationTerms(ObligationId("all"), "All", Progress.MILESTONES,
                             items=("design", "launch")),)
    a = agreement(terms)
    extra = Milestone(MilestoneId("extra"), "Extra", amount=usd("500.00"))
    a = apply(a, propose(a, Amendment(AmendmentId("more"), (AddMilestone(SIGNED, extra),)),
                         by="Ada", at=at(SIGNED)))
    model = revenue_model(a, through=date(2026, 6, 1))
    extra_obligation = model.obligation("extra")
    assert (extra_obligation.price, extra_obligation.terms.progress) == (
        usd("500.00"), Progress.ON_COMPLETION)
    assert earned(done(a, "extra", date(2026, 1, 9)), date(2026, 1, 9))["extra"] == usd("500.00")


def test_the_revenue_schedule_by_month_sums_to_what_was_earned() -> None:
    a = done(agreement(), "design", date(2026, 1, 20))
    rows = revenue_schedule(a, Period(date(2026, 1, 1), date(2026, 4, 1)))
    assert [(r.period.start, r.obligation_id, r.amount) for r in rows] == [
        (date(2026, 1, 1), PACKAGE, usd("4000.00")), (date(2026, 3, 1), PACKAGE, usd("6000.00"))]
    assert sum(r.amount.minor for r in rows) == earned(a, date(2026, 3, 31))[PACKAGE].minor


def test_an_obligation_naming_an_unknown_milestone_is_refused() -> None:
    terms = (ObligationTerms(ObligationId("x"), "X", Progress.ON_COMPLETION,
                             items=("design", "launch"), milestone="nope"),)
    with pytest.raises(ValidationError) as err:
        agreement(terms)
    assert err.value.field == "options[0].obligations[0].milestones"


def test_a_milestone_billed_on_a_date_cannot_complete_an_obligation() -> None:
    terms = (ObligationTerms(ObligationId("x"), "X", Progress.ON_COMPLETION,
                             items=("design", "launch"), milestone="launch"),)
    with pytest.raises(ValidationError) as err:
        agreement(terms)
    assert err.value.field == "options[0].obligations[0].milestone"

"""Invoicing decisions: drafts, tax, numbering, credit notes, balances."""

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
    ChangeMilestoneAmount,
    Collection,
    CreditIssued,
    InvoiceIssued,
    PackageOption,
    PaymentSucceeded,
    Proposal,
    ProposalId,
    Refunded,
    RemoveMilestone,
    apply,
    complete_milestone,
    pause,
    preview,
    propose,
    resume,
    sign,
)
from milestonebill.errors import NotFoundError, ValidationError
from milestonebill.invoicing import (
    NO_TAX,
    CreditReason,
    FlatTax,
    Invoice,
    InvoiceId,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    Numbering,
    NumberingPolicy,
    TaxMethod,
    TaxPolicy,
    TaxRate,
    billing_position,
    compute_tax,
    due_credit_notes,
    due_invoices,
    invoice_balance,
    invoice_status,
    next_number,
    refund_credit_note,
)
from milestonebill.money import Currency, Money, Rounding
from milestonebill.schedule import (
    BillingSchedule,
    Escalation,
    Interval,
    ItemId,
    Milestone,
    MilestoneId,
    PaymentTerms,
    RecurringCharge,
    Timing,
    Trigger,
)

VAT = TaxPolicy(FlatTax(TaxRate("VAT", Decimal("0.2"))))


def noon(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, 12, tzinfo=UTC)


def make(schedule: BillingSchedule, signed: date = date(2026, 1, 5)) -> Agreement:
    p = Proposal(ProposalId("p"), "Acme", schedule.currency,
                 (PackageOption("std", "Standard", schedule),),
                 approval=ApprovalRules(require_client_approval=False),
                 collection=Collection.SEND_INVOICE)
    return sign(p, option="std", signer="Ada", signed_at=noon(signed), payment_method=None,
                agreement_id=AgreementId("agr-7"))


def issue(a: Agreement, inv: Invoice, number: str) -> Agreement:
    return apply(a, InvoiceIssued(f"e{a.version + 1}", a.version + 1, noon(inv.issued_on),
                                  attrs.evolve(inv, number=number)))


def milestones(currency: str = "USD") -> BillingSchedule:
    cur = Currency.of(currency)
    return BillingSchedule(currency=cur, milestones=[
        Milestone(MilestoneId("deposit"), "Deposit", amount=Money("1000", cur),
                  trigger=Trigger.ON_SIGNING),
        Milestone(MilestoneId("design"), "Design", amount=Money("2500", cur),
                  terms=PaymentTerms.net(30)),
        Milestone(MilestoneId("handover"), "Handover", amount=Money("1500", cur),
                  trigger=Trigger.ON_DATE, due_on=date(2026, 6, 30), terms=PaymentTerms.net(30)),
    ])


# ---------------------------------------------------------------- what is due


def test_only_signing_milestones_are_due_at_signing() -> None:
    a = make(milestones())
    (inv,) = due_invoices(a, date(2026, 1, 5))
    assert [(ln.line_id, ln.kind, ln.amount) for ln in inv.lines] == [
        ("agr-7:m:deposit:0", LineKind.MILESTONE, Money("1000.00", "USD"))]
    assert inv.number is None
    assert inv.due_on == date(2026, 1, 5)


def test_completed_and_dated_milestones_become_due_grouped_by_terms() -> None:
    a = make(milestones())
    a = issue(a, due_invoices(a, date(2026, 1, 5))[0], "INV-1")
    a = apply(a, complete_milestone(a, MilestoneId("design"), by="pm", at=noon(date(2026, 3, 1))))
    assert [ln.item_key for inv in due_invoices(a, date(2026, 3, 1)) for ln in inv.lines] == [
        "m:design"]
    (inv,) = due_invoices(a, date(2026, 7, 1))
    assert [ln.item_key for ln in inv.lines] == ["m:design", "m:handover"]
    assert inv.due_on == date(2026, 7, 31)


def test_rerunning_the_same_date_gives_the_same_ids_and_issuing_clears_them() -> None:
    a = make(milestones())
    first = due_invoices(a, date(2026, 1, 5))
    assert due_invoices(a, date(2026, 1, 5)) == first
    a = issue(a, first[0], "INV-1")
    assert due_invoices(a, date(2026, 1, 5)) == ()
    assert due_invoices(a, date(2026, 2, 1)) == ()


def test_in_arrears_periods_are_due_at_their_end_with_provenance() -> None:
    support = RecurringCharge(ItemId("support"), "Support", Money("100.00", "USD"),
                              Interval.MONTHLY, start=date(2026, 1, 1),
                              timing=Timing.IN_ARREARS, escalations=(
                                  Escalation(percent=Decimal(10), dates=(date(2026, 2, 1),)),))
    a = make(BillingSchedule(currency="USD", recurring=[support]), signed=date(2026, 1, 1))
    assert due_invoices(a, date(2026, 1, 31)) == ()
    (inv,) = due_invoices(a, date(2026, 3, 1))
    assert [(ln.item_key, ln.amount) for ln in inv.lines] == [
        ("r:support:2026-01-01", Money("100.00", "USD")),
        ("r:support:2026-02-01", Money("110.00", "USD"))]
    assert "+10%" in inv.lines[1].provenance[0]
    assert str(inv.lines[0].period) == "[2026-01-01, 2026-02-01)"


def test_paused_agreements_have_nothing_due_until_resumed() -> None:
    a = make(milestones())
    a = apply(a, pause(a, at=noon(date(2026, 1, 5))))
    assert due_invoices(a, date(2026, 2, 1)) == ()
    a = apply(a, resume(a, at=noon(date(2026, 2, 1))))
    assert len(due_invoices(a, date(2026, 2, 1))) == 1


@pytest.mark.parametrize(("currency", "amount"), [("JPY", "1000"), ("KWD", "1000.000")])
def test_zero_and_three_decimal_currencies(currency: str, amount: str) -> None:
    a = make(milestones(currency))
    (inv,) = due_invoices(a, date(2026, 1, 5), tax=VAT)
    assert inv.subtotal == Money(amount, currency)
    assert inv.tax_total == Money(amount, currency).scale("0.2", rounding=Rounding.HALF_UP)
    assert inv.currency == Currency.of(currency)


# ---------------------------------------------------------------- tax


def _lines(*amounts: str) -> list[InvoiceLine]:
    return [InvoiceLine(f"l{i}", None, LineKind.CREDIT, "x", Money(a, "USD"))
            for i, a in enumerate(amounts)]


def test_tax_rounded_per_line_versus_per_invoice() -> None:
    lines = _lines("0.05", "0.05", "0.05")  # 10 % of 0.05 = 0.005 each
    per_line = TaxPolicy(FlatTax(TaxRate("VAT", Decimal("0.1"))), rounding=Rounding.HALF_UP)
    per_invoice = attrs.evolve(per_line, method=TaxMethod.PER_INVOICE)
    usd = Currency.of("USD")
    assert compute_tax(lines, per_line, usd)[0].amount == Money("0.03", "USD")
    assert compute_tax(lines, per_invoice, usd)[0].amount == Money("0.02", "USD")


def test_no_tax_gives_no_tax_lines() -> None:
    assert compute_tax(_lines("10.00"), NO_TAX, Currency.of("USD")) == ()


def test_invoice_totals_are_checked() -> None:
    inv = Invoice.build(id=InvoiceId("i"), agreement_id="a", currency=Currency.of("USD"),
                        issued_on=date(2026, 1, 1), due_on=date(2026, 1, 31),
                        lines=_lines("10.00", "5.00"), tax=VAT)
    assert (inv.subtotal, inv.tax_total, inv.total) == (
        Money("15.00", "USD"), Money("3.00", "USD"), Money("18.00", "USD"))
    with pytest.raises(ValidationError, match=r"invoice\.total"):
        attrs.evolve(inv, total=Money("18.01", "USD"))
    with pytest.raises(ValidationError, match=r"invoice\.due_on"):
        attrs.evolve(inv, due_on=date(2025, 12, 31))


def test_lines_must_be_positive() -> None:
    with pytest.raises(ValidationError, match="positive"):
        _lines("0.00")


# ---------------------------------------------------------------- numbering


def test_next_number_has_no_gaps_and_pads() -> None:
    policy = NumberingPolicy(prefix="ACME-", width=5)
    numbers = [next_number(policy, None)]
    for _ in range(3):
        numbers.append(next_number(policy, numbers[-1]))
    assert numbers == ["ACME-00001", "ACME-00002", "ACME-00003", "ACME-00004"]


@pytest.mark.parametrize("last", ["INV-00001", "ACME-1", "ACME-0000x", "ACME-"])
def test_next_number_refuses_a_foreign_last_number(last: str) -> None:
    with pytest.raises(ValidationError) as info:
        next_number(NumberingPolicy(prefix="ACME-", width=4), last)
    assert info.value.field == "last"


def test_numbering_drafts_continues_from_the_last_number() -> None:
    a = make(milestones())
    a = apply(a, complete_milestone(a, MilestoneId("design"), by="pm", at=noon(date(2026, 1, 5))))
    drafts = due_invoices(a, date(2026, 1, 5),
                          numbering=Numbering(NumberingPolicy("INV-", 4), "INV-0041"))
    assert [d.number for d in drafts] == ["INV-0042", "INV-0043"]


def test_a_prefix_ending_in_a_digit_is_refused() -> None:
    with pytest.raises(ValidationError, match="prefix"):
        NumberingPolicy(prefix="2026")


# ---------------------------------------------------------------- balances and credits


def _issued() -> tuple[Agreement, InvoiceId]:
    a = make(milestones())
    (draft,) = due_invoices(a, date(2026, 1, 5), tax=VAT)
    a = issue(a, draft, "INV-1")
    return a, InvoiceId(draft.id)


def test_partial_payments_reduce_the_balance() -> None:
    a, inv = _issued()
    assert invoice_balance(a, inv) == Money("1200.00", "USD")
    assert invoice_status(a, inv) is InvoiceStatus.OPEN
    a = apply(a, PaymentSucceeded("p1", a.version + 1, noon(date(2026, 1, 6)), inv,
                                  Money("200.00", "USD"), "ch_1"))
    assert invoice_balance(a, inv) == Money("1000.00", "USD")
    assert invoice_status(a, inv) is InvoiceStatus.PARTIALLY_PAID
    a = apply(a, PaymentSucceeded("p2", a.version + 1, noon(date(2026, 1, 7)), inv,
                                  Money("1000.00", "USD"), "ch_2"))
    assert invoice_status(a, inv) is InvoiceStatus.PAID


def test_a_refund_credit_note_and_refund_settle_an_overpayment() -> None:
    a, inv = _issued()
    a = apply(a, PaymentSucceeded("p1", a.version + 1, noon(date(2026, 1, 6)), inv,
                                  Money("1200.00", "USD"), "ch_1"))
    cn = refund_credit_note(a, inv, Money("100.00", "USD"), issued_on=date(2026, 1, 8),
                            tax=VAT, number="CN-1", memo="late delivery")
    assert (cn.credits, cn.reason, cn.total) == (inv, CreditReason.REFUND,
                                                 Money("120.00", "USD"))
    a = apply(a, CreditIssued("c1", a.version + 1, noon(date(2026, 1, 8)), cn))
    assert invoice_balance(a, inv) == Money("-120.00", "USD")
    assert invoice_status(a, inv) is InvoiceStatus.OVERPAID
    a = apply(a, Refunded("r1", a.version + 1, noon(date(2026, 1, 9)), inv,
                          Money("120.00", "USD"), "re_1"))
    assert invoice_balance(a, inv) == Money("0.00", "USD")
    # A refund credit is tied to no plan item: nothing is re-billed.
    assert due_invoices(a, date(2026, 1, 9)) == ()
    position = billing_position(a)
    assert position.other_credits == Money("100.00", "USD")
    assert position.balanced


def test_refund_credit_note_limits() -> None:
    a, inv = _issued()
    with pytest.raises(ValidationError, match=r"up to 1000\.00 USD"):
        refund_credit_note(a, inv, Money("1000.01", "USD"), issued_on=date(2026, 1, 8))
    with pytest.raises(ValidationError, match="REFUND or GOODWILL"):
        refund_credit_note(a, inv, Money("1", "USD"), issued_on=date(2026, 1, 8),
                           reason=CreditReason.AMENDMENT)
    with pytest.raises(NotFoundError):
        invoice_balance(a, InvoiceId("nope"))


def test_amendment_credit_references_and_reduces_the_original_invoice() -> None:
    a, inv = _issued()
    a = apply(a, propose(a, Amendment(AmendmentId("x"), (ChangeMilestoneAmount(
        date(2026, 1, 10), MilestoneId("deposit"), Money("600.00", "USD")),)), by="pm",
        at=noon(date(2026, 1, 10))))
    (cn,) = due_credit_notes(a, date(2026, 1, 10), tax=VAT)
    assert (cn.credits, cn.subtotal, cn.total) == (inv, Money("400.00", "USD"),
                                                   Money("480.00", "USD"))
    assert cn.lines[0].adjusts == inv
    a = apply(a, CreditIssued("c", a.version + 1, noon(date(2026, 1, 10)),
                              attrs.evolve(cn, number="CN-1")))
    assert invoice_balance(a, inv) == Money("720.00", "USD")
    assert due_credit_notes(a, date(2026, 1, 10)) == ()


def _paid_and_refunded(refund: str) -> tuple[Agreement, InvoiceId]:
    """The 1,000.00 deposit invoiced, paid, and ``refund`` of it refunded with a credit note."""
    a = make(milestones())
    (draft,) = due_invoices(a, date(2026, 1, 5))
    a = issue(a, draft, "INV-1")
    inv = InvoiceId(draft.id)
    a = apply(a, PaymentSucceeded("p1", a.version + 1, noon(date(2026, 1, 6)), inv,
                                  Money("1000.00", "USD"), "ch_1"))
    cn = refund_credit_note(a, inv, Money(refund, "USD"), issued_on=date(2026, 1, 7),
                            number="CN-1")
    a = apply(a, CreditIssued("c1", a.version + 1, noon(date(2026, 1, 7)), cn))
    a = apply(a, Refunded("r1", a.version + 1, noon(date(2026, 1, 7)), inv,
                          Money(refund, "USD"), "re_1"))
    return a, inv


def _amend(a: Agreement, name: str, op: RemoveMilestone | ChangeMilestoneAmount) -> Agreement:
    return apply(a, propose(a, Amendment(AmendmentId(name), (op,)), by="pm",
                            at=noon(op.effective)))


def test_an_amendment_credit_after_a_refund_credits_only_what_the_invoice_still_holds() -> None:
    """Paid 1,000.00, 600.00 refunded (refund credit note), then the item is removed.

    The refund credit note reduces the invoice, not the item's billed amount,
    until the amendment credit finds no room: the invoice holds 400.00 more
    (1,000.00 less its 600.00 credit note), so the amendment credits 400.00
    and the other 600.00 of the item counts as given back by the refund.
    Credit notes total the invoice, the client is owed exactly the 400.00 it
    has not had back, and conservation still holds with the absorbed 600.00
    counted as credited.
    """
    a, inv = _paid_and_refunded("600.00")
    rm = RemoveMilestone(date(2026, 1, 10), MilestoneId("deposit"))
    shown = preview(a, Amendment(AmendmentId("rm"), (rm,)), as_of=date(2026, 1, 10))
    assert [(c.amount, c.adjusts) for c in shown.credits] == [(Money("400.00", "USD"), inv)]
    a = _amend(a, "rm", rm)
    (cn,) = due_credit_notes(a, date(2026, 1, 10))
    assert (cn.credits, cn.reason, cn.subtotal) == (inv, CreditReason.AMENDMENT,
                                                    Money("400.00", "USD"))
    a = apply(a, CreditIssued("c2", a.version + 1, noon(date(2026, 1, 10)),
                              attrs.evolve(cn, number="CN-2")))
    assert sum(c.total.minor for c in a.credit_notes if c.credits == inv) == 100000
    assert invoice_balance(a, inv) == Money("-400.00", "USD")  # 1,000 paid - 600 refunded
    assert due_credit_notes(a, date(2026, 1, 11)) == ()
    assert due_invoices(a, date(2026, 1, 11)) == ()
    p = billing_position(a)
    assert (p.invoiced, p.credited, p.other_credits, p.scheduled) == (
        Money("1000.00", "USD"), Money("1000.00", "USD"), Money("0.00", "USD"),
        Money("4000.00", "USD"))
    assert p.balanced


def test_a_refund_only_absorbs_what_an_invoice_cannot_credit() -> None:
    """A cut that fits beside the refund is credited whole; the refund absorbs only the rest."""
    a, inv = _paid_and_refunded("300.00")
    a = _amend(a, "cut", ChangeMilestoneAmount(date(2026, 1, 10), MilestoneId("deposit"),
                                               Money("800.00", "USD")))
    (cn,) = due_credit_notes(a, date(2026, 1, 10))
    assert cn.subtotal == Money("200.00", "USD")  # fits: 1,000 - 300 leaves room for it
    a = apply(a, CreditIssued("c2", a.version + 1, noon(date(2026, 1, 10)),
                              attrs.evolve(cn, number="CN-2")))
    assert billing_position(a).balanced
    a = _amend(a, "rm", RemoveMilestone(date(2026, 1, 12), MilestoneId("deposit")))
    (cn,) = due_credit_notes(a, date(2026, 1, 12))
    assert cn.subtotal == Money("500.00", "USD")  # 1,000 - 300 - 200 left; 300 absorbed
    a = apply(a, CreditIssued("c3", a.version + 1, noon(date(2026, 1, 12)),
                              attrs.evolve(cn, number="CN-3")))
    assert due_credit_notes(a, date(2026, 1, 13)) == ()
    assert invoice_balance(a, inv) == Money("-700.00", "USD")
    p = billing_position(a)
    assert (p.credited, p.other_credits) == (Money("1000.00", "USD"), Money("0.00", "USD"))
    assert p.balanced


def test_billing_position_tracks_invoiced_credited_and_scheduled() -> None:
    a, _ = _issued()
    p = billing_position(a)
    assert (p.invoiced, p.credited, p.scheduled, p.contract_value) == (
        Money("1000.00", "USD"), Money("0.00", "USD"), Money("4000.00", "USD"),
        Money("5000.00", "USD"))
    assert p.balanced



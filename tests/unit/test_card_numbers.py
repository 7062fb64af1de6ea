"""Card numbers never get stored: every free-text field is screened for a number
written with any separator, and the error shows only its last four digits."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from milestonebill._validate import card_number_spans, check_text, redact_card_numbers
from milestonebill.agreement import (
    AddOn,
    Agreement,
    AgreementId,
    Amendment,
    AmendmentId,
    ApprovalRules,
    ChangeMilestoneAmount,
    Collection,
    ObligationTerms,
    PackageOption,
    PaymentFailed,
    PaymentMethodKind,
    PaymentMethodRef,
    Progress,
    Proposal,
    ProposalId,
    Refunded,
    RescheduleMilestone,
    apply,
    approve,
    cancel,
    complete_milestone,
    pause,
    propose,
    reject,
    sign,
)
from milestonebill.documents import TaxRate
from milestonebill.errors import CardNumberError, ValidationError
from milestonebill.gateways.base import CustomerRequest, RefundRequest
from milestonebill.ids import InvoiceId, ObligationId
from milestonebill.money import Money
from milestonebill.schedule import (
    BillingSchedule,
    Interval,
    ItemId,
    Milestone,
    MilestoneId,
    RecurringCharge,
)
from milestonebill.stores.sqlite import SQLiteStore
from milestonebill.testing.scenarios import World, proposal, signed

CARD = "4242424242424242"
T1 = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
CARD_REF = PaymentMethodRef("stripe", "cus_1", "pm_1", PaymentMethodKind.CARD)


@pytest.mark.parametrize("written", [
    "4242 4242 4242 4242", "4242-4242-4242-4242", "4242.4242.4242.4242",
    "4242_4242_4242_4242", "4242/4242/4242/4242", "4242\u00a04242\u00a04242\u00a04242",
    "4242\u202f4242\u20094242\u30004242", "4242\u200b4242\u200b4242\u200b4242",
    "4242 - 4242 - 4242 - 4242", "4242\u20134242\u20144242\u22124242", "4242424242424242",
    "\uff14\uff12\uff14\uff12 4242 4242 4242",  # full-width digits in the first group
    "378282246310005", "3056 9309 0259 04", "6011 1111 1111 1117 ", "4000 0566 5566 5556",
])
def test_a_card_number_with_any_separator_is_found(written: str) -> None:
    assert [d[-4:] for _, _, d in card_number_spans(f"paid with {written}, thanks")] == [
        "".join(str(int(c)) for c in written if c.isdecimal())[-4:]]


@pytest.mark.parametrize("text", [
    "INV-2026-000123", "call +1 (415) 555-0100 ext. 4242", "order 1234567890123",
    "IBAN DE89 3704 0044 0532 0130 00", "pm_1NqX4242", "cus_Q1x 2026-03-02",
    "4242424242424241", "0000 0000 0000 0000", "4242 4242 4242 4243", "ISBN 978-3-16-148410-0",
    "amount 12,345,678.90 due 2026-03-31",
])
def test_ordinary_numbers_are_not_card_numbers(text: str) -> None:
    assert list(card_number_spans(text)) == []


def test_redaction_keeps_only_the_last_four_digits() -> None:
    text = "first 4111.1111.1111.1111 then 5555_5555_5555_4444 done"
    assert redact_card_numbers(text) == (
        "first [card number ending 1111] then [card number ending 4444] done")


def test_the_error_shows_neither_the_number_nor_keeps_it() -> None:
    with pytest.raises(CardNumberError) as caught:
        check_text("evidence", "signed off, card 4242 4242 4242 4242 charged")
    err = caught.value
    assert err.field == "evidence"
    assert err.value == "signed off, card [card number ending 4242] charged"
    assert CARD not in repr(err.__reduce__()) + str(err) + err.got
    assert "4242 4242 4242 4242" not in str(err)


@pytest.mark.parametrize("tail", ["\x00", "\ud800", "x" * 200_000])
def test_a_card_number_is_found_before_any_other_problem_could_echo_it(tail: str) -> None:
    with pytest.raises(CardNumberError):
        check_text("evidence", "4242 4242 4242 4242" + tail)


def test_the_error_is_a_validation_error() -> None:
    assert issubclass(CardNumberError, ValidationError)
    assert issubclass(CardNumberError, ValueError)


# ---------------------------------------------------------------- every stored free-text field


def usd(amount: str) -> Money:
    return Money(amount, "USD")


def a_schedule() -> BillingSchedule:
    return BillingSchedule(currency="USD", milestones=[
        Milestone(MilestoneId("design"), "Design", amount=usd("1000.00"))])


def agreement() -> Agreement:
    return signed(proposal([("design", "1000.00")]))


def pending() -> Agreement:
    """An agreement with amendment ``am-2`` waiting for the client's approval."""
    offer = Proposal(ProposalId("p"), "Acme", "USD", (PackageOption("std", "Std", a_schedule()),),
                     collection=Collection.SEND_INVOICE,
                     approval=ApprovalRules(require_client_approval=True))
    a = sign(offer, option="std", signer="Ada", signed_at=T1, payment_method=None,
             agreement_id=AgreementId("agr-1"))
    change = ChangeMilestoneAmount(date(2026, 4, 1), MilestoneId("design"), usd("1200.00"))
    return apply(a, propose(a, Amendment(AmendmentId("am-2"), [change]), by="Bo", at=T1))


FIELDS: dict[str, Callable[[str], object]] = {
    "Milestone.name": lambda t: Milestone(MilestoneId("m"), t, amount=usd("1.00")),
    "RecurringCharge.name": lambda t: RecurringCharge(ItemId("r"), t, usd("1.00"),
                                                      Interval.MONTHLY, start=date(2026, 1, 1)),
    "Proposal.client": lambda t: Proposal(ProposalId("p"), t, "USD",
                                          (PackageOption("std", "Std", a_schedule()),)),
    "PackageOption.name": lambda t: PackageOption("std", t, a_schedule()),
    "PackageOption.scope": lambda t: PackageOption("std", "Std", a_schedule(), t),
    "AddOn.name": lambda t: AddOn("seo", t, a_schedule()),
    "AddOn.scope": lambda t: AddOn("seo", "SEO", a_schedule(), t),
    "ObligationTerms.name": lambda t: ObligationTerms(ObligationId("o"), t,
                                                      Progress.STRAIGHT_LINE),
    "Amendment.description": lambda t: Amendment(AmendmentId("am"), [RescheduleMilestone(
        date(2026, 4, 1), MilestoneId("m"), date(2026, 5, 1))], t),
    "TaxRate.name": lambda t: TaxRate(t, Decimal("0.2")),
    "sign signer": lambda t: sign(proposal([("design", "1.00")]), option="std", signer=t,
                                  signed_at=T1, payment_method=CARD_REF,
                                  agreement_id=AgreementId("agr-9")),
    "complete_milestone by": lambda t: complete_milestone(agreement(), MilestoneId("design"),
                                                          by=t, at=T1),
    "complete_milestone evidence": lambda t: complete_milestone(
        agreement(), MilestoneId("design"), by="Ada", at=T1, evidence=t),
    "propose by": lambda t: propose(agreement(), Amendment(AmendmentId("am"), [
        ChangeMilestoneAmount(date(2026, 4, 1), MilestoneId("design"), usd("900.00"))]),
        by=t, at=T1),
    "approve by": lambda t: approve(pending(), AmendmentId("am-2"), by=t, at=T1),
    "reject by": lambda t: reject(pending(), AmendmentId("am-2"), by=t, at=T1),
    "reject reason": lambda t: reject(pending(), AmendmentId("am-2"), by="Ada",
                                      at=T1, reason=t),
    "pause reason": lambda t: pause(agreement(), at=T1, reason=t),
    "cancel reason": lambda t: cancel(agreement(), at=T1, reason=t),
    "CustomerRequest.name": lambda t: CustomerRequest("client-1", name=t),
    "CustomerRequest.email": lambda t: CustomerRequest("client-1", email=t),
    "RefundRequest.reason": lambda t: RefundRequest("agr-1", "inv-1", "cn-1", "ch_1",
                                                    reason=t),
}


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_every_free_text_field_refuses_a_card_number(field: str) -> None:
    build = FIELDS[field]
    build("plain words and INV-0042")
    with pytest.raises(CardNumberError) as caught:
        build("note: 4242.4242.4242.4242 (expires 12/30)")
    assert CARD not in str(caught.value)
    assert "[card number ending 4242]" in str(caught.value)


def test_a_card_number_in_a_schedule_read_from_json_is_refused_with_its_path() -> None:
    from milestonebill._json import decode

    data = {"currency": "USD", "milestones": [{
        "id": "m", "name": "Card 4242 4242 4242 4242", "trigger": "on_signing",
        "amount": {"amount": "1.00", "currency": "USD"}}]}
    with pytest.raises(CardNumberError) as caught:
        decode(data, BillingSchedule)
    assert caught.value.field == "milestones[0].name"


def test_text_a_gateway_reports_is_redacted_not_refused() -> None:
    failed = PaymentFailed("e", 3, T1, InvoiceId("inv-1"), 1, "card_declined",
                           "card 4242 4242 4242 4242 declined")
    refunded = Refunded("e2", 4, T1, InvoiceId("inv-1"), usd("1.00"), "re_1",
                        reason="refund to 4242-4242-4242-4242")
    assert failed.message == "card [card number ending 4242] declined"
    assert refunded.reason == "refund to [card number ending 4242]"


def test_a_payment_method_reference_refuses_any_separator() -> None:
    for written in ("4242.4242.4242.4242", "4242_4242_4242_4242", "4242/4242/4242/4242"):
        with pytest.raises(CardNumberError):
            PaymentMethodRef("stripe", "cus_1", written, PaymentMethodKind.CARD)


# ---------------------------------------------------------------- nothing reaches the store


def stored_bytes(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(db.parent.glob(db.name + "*")))


def test_a_refused_card_number_leaves_nothing_in_a_real_sqlite_file(tmp_path: Path) -> None:
    db = tmp_path / "books.db"
    w = World(SQLiteStore(db))
    w.open(proposal([("design", "1000.00")]))
    invoice = w.complete("design").invoices[0]
    a = w.load()
    written = "4242 4242 4242 4242"
    with pytest.raises(CardNumberError):
        w.biller.record(a.id, [complete_milestone(a, MilestoneId("design"), by="Ada",
                                                  at=w.clock.now(), evidence=f"paid {written}")])
    with pytest.raises(CardNumberError):
        w.biller.refund(InvoiceId(invoice.id), usd("100.00"), reason=f"card {written}")
    with pytest.raises(CardNumberError):
        w.biller.record(a.id, [pause(a, at=w.clock.now(), reason=f"client card {written}")])
    assert w.load() == a
    data = stored_bytes(db)
    assert b"Design" in data  # the file does hold the agreement's text
    for form in (CARD, written, "4242.4242"):
        assert form.encode() not in data

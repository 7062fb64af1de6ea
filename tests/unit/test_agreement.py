"""Proposals, signing, the event fold, states and the event JSON codec."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import attrs
import pytest

from milestonebill.agreement import (
    AddOn,
    AddRecurringCharge,
    Agreement,
    AgreementId,
    AgreementState,
    Amendment,
    AmendmentApproved,
    AmendmentId,
    AmendmentProposed,
    AmendmentRejected,
    ApprovalRules,
    Cancelled,
    ChangeMilestoneAmount,
    ChangeRecurringPrice,
    ChargeAttempted,
    Collection,
    Completed,
    CreditIssued,
    Event,
    InvoiceIssued,
    MilestoneCompleted,
    PackageOption,
    Paused,
    PaymentFailed,
    PaymentMethodKind,
    PaymentMethodRef,
    PaymentSucceeded,
    Proposal,
    ProposalId,
    Refunded,
    Resumed,
    Signed,
    SwitchPackage,
    apply,
    cancel,
    complete,
    complete_milestone,
    contains_card_number,
    contract_value,
    event_from_json,
    event_to_json,
    pause,
    propose,
    resume,
    sign,
)
from milestonebill.errors import (
    DuplicateIdError,
    EventOrderError,
    InvalidTransitionError,
    NotFoundError,
    ProposalExpiredError,
    ValidationError,
)
from milestonebill.invoicing import (
    CreditReason,
    FlatTax,
    InvoiceId,
    TaxPolicy,
    TaxRate,
    due_credit_notes,
    due_invoices,
)
from milestonebill.money import Currency, Money
from milestonebill.schedule import (
    BillingSchedule,
    Escalation,
    Interval,
    ItemId,
    Milestone,
    MilestoneId,
    PaymentTerms,
    RecurringCharge,
    Trigger,
)

USD = Currency.of("USD")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CARD = PaymentMethodRef("stripe", "cus_Q1x", "pm_1NqAbc", PaymentMethodKind.CARD)


def usd(amount: str) -> Money:
    return Money(amount, USD)


def schedule() -> BillingSchedule:
    return BillingSchedule(currency=USD, milestones=[
        Milestone(MilestoneId("kickoff"), "Kickoff", amount=usd("1000.00"),
                  trigger=Trigger.ON_SIGNING),
        Milestone(MilestoneId("launch"), "Launch", amount=usd("4000.00"),
                  terms=PaymentTerms.net(30)),
    ], recurring=[RecurringCharge(ItemId("care"), "Care", usd("250.00"), Interval.MONTHLY,
                                  start=date(2026, 3, 2), count=6)])


def proposal(**kw: object) -> Proposal:
    premium = BillingSchedule(currency=USD, milestones=[
        Milestone(MilestoneId("kickoff"), "Kickoff", amount=usd("2000.00"),
                  trigger=Trigger.ON_SIGNING)])
    addon = AddOn("seo", "SEO", BillingSchedule(currency=USD, milestones=[
        Milestone(MilestoneId("audit"), "Audit", amount=usd("300.00"))]))
    fields: dict[str, object] = {
        "id": ProposalId("prop-1"), "client": "Acme Ltd", "currency": USD,
        "options": (PackageOption("std", "Standard", schedule(), "Website"),
                    PackageOption("premium", "Premium", premium)),
        "addons": (addon,), "valid_until": date(2026, 3, 31),
        "approval": ApprovalRules(require_client_approval=False),
    }
    fields.update(kw)
    return Proposal(**fields)  # type: ignore[arg-type]


def signed(**kw: object) -> Agreement:
    args: dict[str, object] = {"option": "std", "signer": "Ada Lovelace", "signed_at": T0,
                               "payment_method": CARD, "agreement_id": AgreementId("agr-1")}
    args.update(kw)
    return sign(proposal(), **args)  # type: ignore[arg-type]


# ---------------------------------------------------------------- signing


def test_signing_records_the_choice_and_starts_active() -> None:
    a = signed(addons=("seo",))
    assert (a.state, a.version, a.option_id, a.addons) == (AgreementState.ACTIVE, 1, "std",
                                                           ("seo",))
    assert isinstance(a.events[0], Signed)
    assert contract_value(a) == usd("6800.00")  # 1000 + 4000 + 6 x 250 + 300


def test_an_expired_proposal_cannot_be_signed() -> None:
    with pytest.raises(ProposalExpiredError, match="valid until 2026-03-31"):
        signed(signed_at=datetime(2026, 4, 1, tzinfo=UTC))


def test_an_unknown_option_is_not_found() -> None:
    with pytest.raises(NotFoundError, match="no package option 'gold'"):
        signed(option="gold")


def test_auto_charge_needs_a_payment_method() -> None:
    with pytest.raises(ValidationError) as info:
        signed(payment_method=None)
    assert info.value.field == "payment_method"


def test_send_invoice_needs_no_payment_method() -> None:
    a = sign(proposal(collection=Collection.SEND_INVOICE), option="std", signer="Ada",
             signed_at=T0, payment_method=None, agreement_id=AgreementId("agr-2"))
    assert a.payment_method is None


def test_a_naive_signing_time_is_refused() -> None:
    with pytest.raises(ValidationError, match="naive refused"):
        signed(signed_at=datetime(2026, 3, 2, 9, 0))


def test_signing_time_is_normalised_to_utc() -> None:
    a = signed(signed_at=datetime(2026, 3, 2, 23, 30, tzinfo=timezone(timedelta(hours=-5))))
    assert a.signed_at == datetime(2026, 3, 3, 4, 30, tzinfo=UTC)


@pytest.mark.parametrize("number", [
    "4242424242424242", "4242 4242 4242 4242", "4242-4242-4242-4242", "378282246310005",
    "6011111111111117", "4000056655665556", "pm_4111111111111111", "2024-4242424242424242",
    "ref 4242 4242 4242 4242 x",
])
def test_raw_card_numbers_are_recognised(number: str) -> None:
    assert contains_card_number(number)
    with pytest.raises(ValidationError, match="not a card number"):
        PaymentMethodRef("stripe", "cus_1", number, PaymentMethodKind.CARD)


@pytest.mark.parametrize("text", [
    "pm_1NqAbc", "4242424242424241", "123456789012", "cus_12345678901234567890123",
    "ba_2026-03-02",
])
def test_gateway_ids_are_not_card_numbers(text: str) -> None:
    assert not contains_card_number(text)


def test_a_card_number_in_the_customer_id_is_refused_too() -> None:
    with pytest.raises(ValidationError) as info:
        PaymentMethodRef("stripe", "5555 5555 5555 4444", "pm_1", PaymentMethodKind.BANK_DEBIT)
    assert info.value.field == "customer_id"
    assert "5555" not in str(info.value)


def test_proposal_option_and_addon_ids_must_be_unique() -> None:
    dup = PackageOption("std", "Again", schedule())
    with pytest.raises(ValidationError, match="unique id"):
        proposal(options=(PackageOption("std", "Standard", schedule()), dup))


def test_proposal_options_must_share_its_currency() -> None:
    eur = BillingSchedule(currency="EUR")
    with pytest.raises(ValidationError, match="currency"):
        proposal(options=(PackageOption("eu", "EU", eur),))


# ---------------------------------------------------------------- fold


def paused_event(a: Agreement, version: int | None = None, eid: str = "ev-p") -> Paused:
    return Paused(eid, a.version + 1 if version is None else version, T0 + timedelta(days=1))


def test_applying_the_same_event_twice_is_a_no_op() -> None:
    a = signed()
    e = paused_event(a)
    once = apply(a, e)
    assert apply(once, e) is once


def test_a_known_event_id_with_different_content_is_refused() -> None:
    a = apply(signed(), paused_event(signed()))
    with pytest.raises(DuplicateIdError):
        apply(a, Resumed("ev-p", 3, T0 + timedelta(days=2)))


@pytest.mark.parametrize("version", [1, 3, 7])
def test_events_out_of_version_order_raise(version: int) -> None:
    a = signed()
    with pytest.raises(EventOrderError, match=f"expects event version 2 next \\(got {version}\\)"):
        apply(a, paused_event(a, version))


def test_time_running_backwards_raises() -> None:
    a = signed()
    with pytest.raises(EventOrderError, match="before the previous event"):
        apply(a, Paused("ev", 2, T0 - timedelta(seconds=1)))


def test_naive_event_times_are_refused() -> None:
    with pytest.raises(ValidationError, match="naive refused"):
        Paused("ev", 2, datetime(2026, 3, 3))


def test_the_first_event_must_be_signed() -> None:
    with pytest.raises(InvalidTransitionError, match="must be Signed"):
        Agreement.from_events([Paused("ev", 1, T0)])


def test_from_events_equals_applying_one_by_one() -> None:
    a = signed()
    a = apply(a, complete_milestone(a, MilestoneId("launch"), by="Ada", evidence="url",
                                    at=T0 + timedelta(days=3)))
    a = apply(a, pause(a, at=T0 + timedelta(days=4)))
    assert Agreement.from_events(a.events) == a
    assert Agreement.from_events(a.events).state is AgreementState.PAUSED


def test_as_of_replays_events_up_to_then() -> None:
    a = signed()
    a = apply(a, complete_milestone(a, MilestoneId("launch"), by="Ada",
                                    at=datetime(2026, 3, 10, 15, tzinfo=UTC)))
    a = apply(a, pause(a, at=datetime(2026, 3, 20, tzinfo=UTC)))
    assert a.as_of(date(2026, 3, 9)).completions == {}
    assert a.as_of(date(2026, 3, 10)).completions == {MilestoneId("launch"): date(2026, 3, 10)}
    assert a.as_of(datetime(2026, 3, 10, 14, tzinfo=UTC)).version == 1
    assert a.as_of(date(2026, 3, 20)).state is AgreementState.PAUSED
    with pytest.raises(InvalidTransitionError, match="not signed yet"):
        a.as_of(date(2026, 3, 1))


# ---------------------------------------------------------------- states


def test_pause_and_resume() -> None:
    a = signed()
    a = apply(a, pause(a, at=T0, reason="client on holiday"))
    assert a.state is AgreementState.PAUSED
    assert due_invoices(a, date(2026, 3, 2)) == ()  # billing is held
    with pytest.raises(InvalidTransitionError, match="Paused is not allowed while"):
        pause(a, at=T0)
    a = apply(a, resume(a, at=T0 + timedelta(days=1)))
    assert a.state is AgreementState.ACTIVE
    assert len(due_invoices(a, date(2026, 3, 3))) == 1


def test_resume_while_active_is_illegal() -> None:
    with pytest.raises(InvalidTransitionError):
        resume(signed(), at=T0)


def test_cancel_is_final() -> None:
    a = signed()
    a = apply(a, cancel(a, at=T0 + timedelta(days=5), reason="budget"))
    assert a.state is AgreementState.CANCELLED
    assert a.cancelled_on == date(2026, 3, 7)
    for command in (pause, resume, cancel):
        with pytest.raises(InvalidTransitionError):
            command(a, at=T0 + timedelta(days=6))
    with pytest.raises(InvalidTransitionError):
        complete_milestone(a, MilestoneId("launch"), by="x", at=T0 + timedelta(days=6))


def test_complete_needs_every_milestone_delivered() -> None:
    a = signed()
    with pytest.raises(InvalidTransitionError, match="'launch'"):
        complete(a, at=T0 + timedelta(days=1))
    a = apply(a, complete_milestone(a, MilestoneId("launch"), by="Ada",
                                    at=T0 + timedelta(days=40)))
    a = apply(a, complete(a, at=T0 + timedelta(days=45)))
    assert a.state is AgreementState.COMPLETED
    # The care plan ends with the period in progress: 2 Mar and 2 Apr.
    assert contract_value(a) == usd("5500.00")
    with pytest.raises(InvalidTransitionError):
        pause(a, at=T0 + timedelta(days=46))


def test_completing_an_unknown_or_completed_milestone_raises() -> None:
    a = signed()
    with pytest.raises(NotFoundError):
        complete_milestone(a, MilestoneId("nope"), by="x", at=T0)
    a = apply(a, complete_milestone(a, MilestoneId("launch"), by="x", at=T0))
    with pytest.raises(InvalidTransitionError, match="already completed"):
        complete_milestone(a, MilestoneId("launch"), by="x", at=T0)


def test_schedule_shows_the_current_terms() -> None:
    a = signed()
    a = apply(a, propose(a, Amendment(AmendmentId("a"), (ChangeRecurringPrice(
        date(2026, 4, 2), ItemId("care"), usd("300.00")),)), by="pm", at=T0))
    assert [r.amount for r in a.schedule.recurring] == [usd("300.00")]


# ---------------------------------------------------------------- JSON


def every_event() -> list[Event]:
    a = signed(addons=("seo",))
    vat = TaxPolicy(FlatTax(TaxRate("VAT", Decimal("0.2"))))
    (draft,) = due_invoices(a, date(2026, 3, 2), tax=vat)
    inv = attrs.evolve(draft, number="INV-000001")
    a = apply(a, InvoiceIssued("e2", 2, T0, inv))
    a = apply(a, propose(a, Amendment(AmendmentId("down"), (
        ChangeMilestoneAmount(date(2026, 3, 3), MilestoneId("kickoff"), usd("800.00")),)),
        by="pm", at=T0))
    (cn,) = due_credit_notes(a, date(2026, 3, 3), tax=vat)
    cn = attrs.evolve(cn, number="CN-000001")
    stamp = T0 + timedelta(hours=1)
    care = RecurringCharge(ItemId("x"), "X", usd("9.99"), Interval.QUARTERLY,
                           start=date(2026, 1, 31), escalations=(
                               Escalation(percent=Decimal("2.5"), step=Decimal(1)),))
    proposed = AmendmentProposed("e9", 9, stamp, Amendment(AmendmentId("big"), (
        SwitchPackage(date(2026, 4, 1), "premium"),
        ChangeRecurringPrice(date(2026, 4, 1), ItemId("care"), usd("1.00")),
    ), "switch"), "pm", True, stamp + timedelta(days=14))
    proposed2 = AmendmentProposed("e10", 10, stamp, Amendment(AmendmentId("add"), (
        AddRecurringCharge(date(2026, 4, 1), care),)), "pm", False)
    return [
        *a.events,
        CreditIssued("e4", 4, stamp, cn),
        MilestoneCompleted("e5", 5, stamp, MilestoneId("launch"), date(2026, 3, 2), "Ada", "url"),
        ChargeAttempted("e6", 6, stamp, InvoiceId(inv.id), 1, "agr-1:inv:charge:1", inv.total),
        PaymentFailed("e7", 7, stamp, InvoiceId(inv.id), 1, "insufficient_funds", "no", True),
        PaymentSucceeded("e8", 8, stamp, InvoiceId(inv.id), usd("100.00"), "ch_1", 2,
                         usd("3.20")),
        proposed, proposed2,
        AmendmentApproved("e11", 11, stamp, AmendmentId("big"), "client", False),
        AmendmentRejected("e12", 12, stamp, AmendmentId("big"), "client", "no"),
        Paused("e13", 13, stamp, "r"), Resumed("e14", 14, stamp),
        Cancelled("e15", 15, stamp, date(2026, 4, 1), False, "budget"),
        Completed("e16", 16, stamp, date(2026, 4, 1)),
        Refunded("e17", 17, stamp, InvoiceId(inv.id), usd("10.00"), "re_1", "k", "goodwill"),
    ]


def test_every_event_type_round_trips_exactly_through_json_text() -> None:
    events = every_event()
    kinds = {type(e).__name__ for e in events}
    assert len(kinds) == 15
    for e in events:
        text = json.dumps(event_to_json(e))
        assert event_from_json(json.loads(text)) == e


def test_money_in_event_json_is_a_string_pair() -> None:
    e = PaymentSucceeded("e", 3, T0, InvoiceId("inv_1"), usd("12.30"), "ch_1")
    data = event_to_json(e)
    assert data["type"] == "PaymentSucceeded"
    assert data["amount"] == {"amount": "12.30", "currency": "USD"}
    assert data["effective_at"] == "2026-03-02T09:00:00+00:00"


def test_unknown_event_type_or_field_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"event\.type"):
        event_from_json({"type": "Exploded"})
    data = event_to_json(Paused("e", 2, T0))
    with pytest.raises(ValidationError, match=r"'event\.extra' must be a field of Paused"):
        event_from_json({**data, "extra": 1})


def test_json_amounts_must_be_strings() -> None:
    data = event_to_json(PaymentSucceeded("e", 3, T0, InvoiceId("i"), usd("1.00"), "ch"))
    data["amount"] = {"amount": 1.0, "currency": "USD"}
    with pytest.raises(ValidationError, match="amount"):
        event_from_json(data)


def test_a_folded_stream_survives_json() -> None:
    a = signed()
    a = apply(a, complete_milestone(a, MilestoneId("launch"), by="Ada", at=T0))
    a = apply(a, propose(a, Amendment(AmendmentId("a"), (ChangeMilestoneAmount(
        date(2026, 3, 5), MilestoneId("launch"), usd("4500.00")),)), by="pm", at=T0))
    restored = Agreement.from_events(event_from_json(json.loads(json.dumps(event_to_json(e))))
                                     for e in a.events)
    assert restored == a
    assert contract_value(restored) == usd("7000.00")


def test_refunds_cannot_exceed_what_was_paid() -> None:
    a = signed()
    (draft,) = due_invoices(a, date(2026, 3, 2))
    a = apply(a, InvoiceIssued("e2", 2, T0, attrs.evolve(draft, number="INV-1")))
    a = apply(a, PaymentSucceeded("e3", 3, T0, InvoiceId(draft.id), usd("500.00"), "ch"))
    with pytest.raises(ValidationError, match="up to what was paid"):
        apply(a, Refunded("e4", 4, T0, InvoiceId(draft.id), usd("500.01"), "re"))


def test_billing_events_must_reference_known_invoices() -> None:
    a = signed()
    with pytest.raises(NotFoundError):
        apply(a, PaymentSucceeded("e2", 2, T0, InvoiceId("inv_x"), usd("1.00"), "ch"))


def test_charge_attempts_are_numbered_in_order_with_unique_keys() -> None:
    a = signed()
    (draft,) = due_invoices(a, date(2026, 3, 2))
    a = apply(a, InvoiceIssued("e2", 2, T0, attrs.evolve(draft, number="INV-1")))
    inv = InvoiceId(draft.id)
    a = apply(a, ChargeAttempted("e3", 3, T0, inv, 1, "k1", draft.total))
    with pytest.raises(ValidationError, match="next attempt number 2"):
        apply(a, ChargeAttempted("e4", 4, T0, inv, 3, "k3", draft.total))
    with pytest.raises(DuplicateIdError):
        apply(a, ChargeAttempted("e4", 4, T0, inv, 2, "k1", draft.total))


def test_issued_invoices_need_a_number_and_a_unique_id() -> None:
    a = signed()
    (draft,) = due_invoices(a, date(2026, 3, 2))
    with pytest.raises(ValidationError, match=r"invoice\.number"):
        apply(a, InvoiceIssued("e2", 2, T0, draft))
    a = apply(a, InvoiceIssued("e2", 2, T0, attrs.evolve(draft, number="INV-1")))
    with pytest.raises(DuplicateIdError):
        apply(a, InvoiceIssued("e3", 3, T0, attrs.evolve(draft, number="INV-2")))


def test_credit_reason_names() -> None:
    assert [r.name for r in CreditReason] == ["AMENDMENT", "CANCELLATION", "REFUND", "GOODWILL"]

"""InMemoryGateway: replay, scripting, the ambiguous time-out, webhooks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from milestonebill.clock import FixedClock
from milestonebill.errors import (
    CurrencyMismatchError,
    GatewayError,
    IdempotencyError,
    ValidationError,
    WebhookSignatureError,
)
from milestonebill.gateways.base import (
    ChargeRequest,
    ChargeStatus,
    CustomerId,
    CustomerRequest,
    GatewayEventKind,
    MandateAcceptance,
    PaymentMethodId,
    PaymentMethodKind,
    RefundRequest,
    RefundStatus,
    RetryAdvice,
    SetupRequest,
    SetupStatus,
    detach_idempotency_key,
    retry_advice,
)
from milestonebill.gateways.memory import InMemoryGateway, Scripted, percent_plus_fixed
from milestonebill.money import Money


def setup(gw: InMemoryGateway, token: str = "tok_visa",
          kind: PaymentMethodKind = PaymentMethodKind.CARD) -> tuple[CustomerId, PaymentMethodId]:
    cust = gw.create_customer(CustomerRequest(reference="client-1")).customer_id
    mandate = MandateAcceptance(datetime(2026, 1, 5, tzinfo=UTC)) if kind is not PaymentMethodKind.CARD else None
    saved = gw.save_payment_method(SetupRequest(cust, token, kind, mandate))
    assert saved.payment_method is not None
    return cust, saved.payment_method.payment_method_id


def charge_req(cust: CustomerId, pm: PaymentMethodId, amount: str = "100.00", *,
               invoice: str = "INV-0001", attempt: int = 1, currency: str = "USD") -> ChargeRequest:
    return ChargeRequest("agr-1", invoice, attempt, Money(amount, currency), cust, pm)


def test_ids_are_numbered_so_runs_repeat_exactly() -> None:
    def run() -> tuple[object, ...]:
        gw = InMemoryGateway()
        cust, pm = setup(gw)
        r = gw.charge(charge_req(cust, pm))
        return cust, pm, r, gw.deliveries()

    assert run() == run()
    assert run()[:2] == ("cus_mem_0001", "pm_mem_0001")


def test_a_repeated_key_replays_and_charges_once() -> None:
    gw = InMemoryGateway()
    cust, pm = setup(gw)
    first = gw.charge(charge_req(cust, pm))
    assert [gw.charge(charge_req(cust, pm)) for _ in range(3)] == [first] * 3
    assert len(gw.charges) == 1


def test_a_key_reused_with_another_amount_is_refused_naming_both_amounts() -> None:
    gw = InMemoryGateway()
    cust, pm = setup(gw)
    req = charge_req(cust, pm, "100.00")
    gw.charge(req)
    with pytest.raises(IdempotencyError) as caught:
        gw.charge(charge_req(cust, pm, "120.00"))
    assert caught.value.key == req.idempotency_key
    assert "100.00 USD" in str(caught.value)
    assert "120.00 USD" in str(caught.value)
    assert len(gw.charges) == 1


def test_the_ambiguous_time_out_charges_once_and_the_retry_returns_the_success() -> None:
    gw = InMemoryGateway()
    cust, pm = setup(gw)
    gw.script_next(Scripted.time_out_after_charge())
    req = charge_req(cust, pm)
    lost = gw.charge(req)
    assert (lost.status, lost.gateway_ref) == (ChargeStatus.FAILED_RETRYABLE, None)
    assert retry_advice(lost) is RetryAdvice.RETRY_SAME_KEY
    assert len(gw.charges) == 1
    retried = gw.charge(req)
    assert retried.status is ChargeStatus.SUCCEEDED
    assert retried.gateway_ref == gw.charges[0].gateway_ref
    assert len(gw.charges) == 1


def test_a_retryable_failure_is_not_remembered_so_the_retry_really_charges() -> None:
    gw = InMemoryGateway()
    cust, pm = setup(gw)
    gw.script_next(Scripted.fail_retryably("503 from upstream"))
    req = charge_req(cust, pm)
    failed = gw.charge(req)
    assert (failed.status, failed.message) == (ChargeStatus.FAILED_RETRYABLE, "503 from upstream")
    assert gw.charges == ()
    assert gw.charge(req).status is ChargeStatus.SUCCEEDED
    assert len(gw.charges) == 1


def test_scripts_queue_per_call_then_fall_back_to_the_payment_method() -> None:
    gw = InMemoryGateway()
    cust, pm = setup(gw, "tok_low_balance")
    gw.script_payment_method("tok_low_balance", Scripted.decline("insufficient_funds"))
    gw.script_next(Scripted.succeed())
    statuses = [gw.charge(charge_req(cust, pm, attempt=n)).status for n in (1, 2)]
    assert statuses == [ChargeStatus.SUCCEEDED, ChargeStatus.DECLINED]


def test_a_decline_is_replayed_for_its_key_and_a_new_attempt_can_succeed() -> None:
    gw = InMemoryGateway()
    cust, pm = setup(gw)
    gw.script_next(Scripted.decline("insufficient_funds"))
    first = gw.charge(charge_req(cust, pm, attempt=1))
    assert first.decline_code == "insufficient_funds"
    assert first.decline_hard is False
    assert gw.charge(charge_req(cust, pm, attempt=1)) == first
    assert gw.charge(charge_req(cust, pm, attempt=2)).status is ChargeStatus.SUCCEEDED


def test_a_hard_decline_is_marked_hard() -> None:
    gw = InMemoryGateway()
    cust, pm = setup(gw)
    gw.script_next(Scripted.decline("stolen_card"))
    declined = gw.charge(charge_req(cust, pm))
    assert declined.decline_hard is True
    assert retry_advice(declined) is RetryAdvice.STOP


def test_a_required_action_charges_nothing_until_the_customer_authenticates() -> None:
    gw = InMemoryGateway()
    cust, pm = setup(gw)
    gw.script_next(Scripted.require_action())
    pending = gw.charge(charge_req(cust, pm))
    assert pending.status is ChargeStatus.REQUIRES_ACTION
    assert pending.action_ref == pending.gateway_ref
    assert gw.charges == ()
    assert pending.action_ref is not None
    done = gw.settle(pending.action_ref, Scripted.succeed())
    assert done.status is ChargeStatus.SUCCEEDED
    assert len(gw.charges) == 1
    assert gw.events[-1].kind is GatewayEventKind.PAYMENT_SUCCEEDED


def test_bank_debits_stay_processing_until_settled() -> None:
    gw = InMemoryGateway()
    cust, pm = setup(gw, "tok_bank", PaymentMethodKind.BANK_DEBIT)
    pending = gw.charge(charge_req(cust, pm))
    assert pending.status is ChargeStatus.PROCESSING
    assert len(gw.charges) == 1
    assert pending.gateway_ref is not None
    failed = gw.settle(pending.gateway_ref, Scripted.decline("insufficient_funds"))
    assert failed.status is ChargeStatus.DECLINED
    assert [e.kind for e in gw.events[-2:]] == [GatewayEventKind.PAYMENT_PROCESSING,
                                                 GatewayEventKind.PAYMENT_FAILED]
    with pytest.raises(GatewayError):
        gw.settle(pending.gateway_ref, Scripted.succeed())


def test_fees_are_computed_exactly_and_reported() -> None:
    gw = InMemoryGateway(fees=percent_plus_fixed("2.9", 30))
    cust, pm = setup(gw)
    result = gw.charge(charge_req(cust, pm, "1234.56"))
    assert result.fee == Money("36.10", "USD")  # 35.80224 -> 35.80, + 0.30
    assert gw.events[-1].fee == result.fee


def test_zero_decimal_and_three_decimal_currencies() -> None:
    gw = InMemoryGateway(fees=percent_plus_fixed("3"))
    cust, pm = setup(gw)
    yen = gw.charge(charge_req(cust, pm, "5001", currency="JPY", invoice="INV-J"))
    dinar = gw.charge(charge_req(cust, pm, "10.005", currency="KWD", invoice="INV-K"))
    assert (yen.amount, yen.fee) == (Money("5001", "JPY"), Money("150", "JPY"))
    assert (dinar.amount, dinar.fee) == (Money("10.005", "KWD"), Money("0.300", "KWD"))


def test_partial_refunds_add_up_and_more_than_is_left_is_refused() -> None:
    gw = InMemoryGateway()
    cust, pm = setup(gw)
    ref = gw.charge(charge_req(cust, pm, "100.00")).gateway_ref
    assert ref is not None
    first = gw.refund(RefundRequest("agr-1", "INV-0001", "CN-1", ref, Money("30.00", "USD")))
    assert first.status is RefundStatus.SUCCEEDED
    with pytest.raises(ValidationError) as caught:
        gw.refund(RefundRequest("agr-1", "INV-0001", "CN-2", ref, Money("70.01", "USD")))
    assert caught.value.field == "amount"
    rest = gw.refund(RefundRequest("agr-1", "INV-0001", "CN-3", ref))
    assert rest.amount == Money("70.00", "USD")
    assert gw.events[-1].amount == Money("100.00", "USD")  # cumulative, as webhooks report


def test_a_refund_key_reused_with_another_amount_is_refused() -> None:
    gw = InMemoryGateway()
    cust, pm = setup(gw)
    ref = gw.charge(charge_req(cust, pm)).gateway_ref
    assert ref is not None
    gw.refund(RefundRequest("agr-1", "INV-0001", "CN-1", ref, Money("10.00", "USD")))
    with pytest.raises(IdempotencyError):
        gw.refund(RefundRequest("agr-1", "INV-0001", "CN-1", ref, Money("11.00", "USD")))


def test_a_refund_in_another_currency_is_refused() -> None:
    gw = InMemoryGateway()
    cust, pm = setup(gw)
    ref = gw.charge(charge_req(cust, pm)).gateway_ref
    assert ref is not None
    with pytest.raises(CurrencyMismatchError):
        gw.refund(RefundRequest("agr-1", "INV-0001", "CN-1", ref, Money("10.00", "EUR")))


def test_only_a_succeeded_payment_can_be_refunded() -> None:
    gw = InMemoryGateway()
    cust, pm = setup(gw)
    gw.script_next(Scripted.decline())
    ref = gw.charge(charge_req(cust, pm)).gateway_ref
    assert ref is not None
    with pytest.raises(GatewayError):
        gw.refund(RefundRequest("agr-1", "INV-0001", "CN-1", ref))


def test_a_detached_payment_method_cannot_be_charged() -> None:
    gw = InMemoryGateway()
    cust, pm = setup(gw)
    gw.detach_payment_method(pm, idempotency_key=detach_idempotency_key(pm))
    gw.detach_payment_method(pm, idempotency_key=detach_idempotency_key(pm))
    with pytest.raises(GatewayError):
        gw.charge(charge_req(cust, pm))
    assert gw.charges == ()


def test_another_customers_payment_method_cannot_be_charged() -> None:
    gw = InMemoryGateway()
    _cust, pm = setup(gw)
    with pytest.raises(GatewayError):
        gw.charge(charge_req(CustomerId("cus_someone_else"), pm))


def test_a_setup_can_be_scripted_to_decline_or_need_action() -> None:
    gw = InMemoryGateway()
    cust = gw.create_customer(CustomerRequest(reference="c")).customer_id
    gw.script_setup("tok_bad", Scripted.decline("expired_card"))
    gw.script_setup("tok_3ds", Scripted.require_action())
    bad = gw.save_payment_method(SetupRequest(cust, "tok_bad"))
    auth = gw.save_payment_method(SetupRequest(cust, "tok_3ds"))
    assert (bad.status, bad.decline_code, bad.payment_method) == (
        SetupStatus.DECLINED, "expired_card", None)
    assert auth.status is SetupStatus.REQUIRES_ACTION
    assert gw.save_payment_method(SetupRequest(cust, "tok_bad")) == bad


def test_every_state_change_becomes_a_verifiable_webhook() -> None:
    gw = InMemoryGateway()
    cust, pm = setup(gw)
    ref = gw.charge(charge_req(cust, pm)).gateway_ref
    assert ref is not None
    gw.refund(RefundRequest("agr-1", "INV-0001", "CN-1", ref, Money("5.00", "USD")))
    gw.open_dispute(ref)
    parsed = [gw.parse_webhook(d.payload, d.signature_header, d.received_at)
              for d in gw.deliveries()]
    assert parsed == list(gw.events)
    assert [e.kind for e in gw.events] == [
        GatewayEventKind.PAYMENT_METHOD_SAVED, GatewayEventKind.PAYMENT_SUCCEEDED,
        GatewayEventKind.PAYMENT_REFUNDED, GatewayEventKind.DISPUTE_OPENED]
    assert {e.payment_ref for e in gw.events[1:]} == {ref}
    assert len({e.event_id for e in gw.events}) == 4


def test_webhooks_signed_with_another_secret_or_too_old_are_rejected() -> None:
    gw = InMemoryGateway()
    setup(gw)
    d = gw.deliveries()[0]
    with pytest.raises(WebhookSignatureError):
        InMemoryGateway(webhook_secret="whsec_other").parse_webhook(
            d.payload, d.signature_header, d.received_at)
    with pytest.raises(WebhookSignatureError):
        gw.parse_webhook(d.payload, d.signature_header, d.received_at + timedelta(minutes=6))
    assert gw.parse_webhook(d.payload, d.signature_header,
                            d.received_at + timedelta(minutes=4)) is not None


def test_webhooks_need_an_aware_now() -> None:
    gw = InMemoryGateway()
    setup(gw)
    d = gw.deliveries()[0]
    with pytest.raises(ValidationError):
        gw.parse_webhook(d.payload, d.signature_header, datetime(2026, 1, 1))


def test_an_injected_clock_stamps_the_webhooks() -> None:
    at = datetime(2026, 2, 28, 23, 59, tzinfo=UTC)
    gw = InMemoryGateway(clock=FixedClock(at))
    setup(gw)
    assert gw.events[0].occurred_at == at
    assert gw.deliveries()[0].signature_header.startswith(f"t={int(at.timestamp())},v1=")


def test_the_repr_summarises_without_contents() -> None:
    gw = InMemoryGateway()
    assert repr(gw) == "InMemoryGateway(customers=0, charges=0, events=0)"


def test_customers_lists_each_customer_once_and_the_gateway_names_itself() -> None:
    gw = InMemoryGateway()
    first = gw.create_customer(CustomerRequest("client-a"))
    gw.create_customer(CustomerRequest("client-a"))
    second = gw.create_customer(CustomerRequest("client-b"))
    assert (gw.customers, gw.name) == ((first, second), "memory")
# ------------------------------------------------------------------ saved state


def charged_gateway() -> tuple[InMemoryGateway, ChargeRequest]:
    gw = InMemoryGateway(fees=percent_plus_fixed("2.9", 30))
    cust, pm = setup(gw)
    req = ChargeRequest("agr-1", "INV-1", 1, Money("100.00", "USD"), cust, pm)
    gw.script_next(Scripted.time_out_after_charge())
    assert gw.charge(req).status is ChargeStatus.FAILED_RETRYABLE
    return gw, req


def test_saved_state_is_json_text_with_money_as_objects() -> None:
    import json

    gw, _ = charged_gateway()
    state = json.loads(json.dumps(gw.to_state()))
    assert state["charges"][0]["amount"] == {"amount": "100.00", "currency": "USD"}
    assert state["payments"][0]["fee"] == {"amount": "3.20", "currency": "USD"}


def test_a_restored_gateway_replays_the_charge_that_timed_out_after_charging() -> None:
    gw, req = charged_gateway()
    again = InMemoryGateway.from_state(gw.to_state(), fees=percent_plus_fixed("2.9", 30))
    result = again.charge(req)
    assert (result.status, result.fee, len(again.charges)) == (
        ChargeStatus.SUCCEEDED, Money("3.20", "USD"), 1)


def test_a_restored_gateway_refuses_the_same_key_with_another_amount() -> None:
    gw, req = charged_gateway()
    again = InMemoryGateway.from_state(gw.to_state())
    with pytest.raises(IdempotencyError, match="different amount"):
        again.charge(ChargeRequest(req.agreement_id, req.invoice_id, 1, Money("99.00", "USD"),
                                   req.customer_id, req.payment_method_id))


def test_pending_scripts_survive_a_restore() -> None:
    gw = InMemoryGateway()
    cust, pm = setup(gw)
    gw.script_next(Scripted.decline("insufficient_funds"))
    again = InMemoryGateway.from_state(gw.to_state())
    result = again.charge(ChargeRequest("agr-1", "INV-1", 1, Money("5.00", "USD"), cust, pm))
    assert result.decline_code == "insufficient_funds"


@pytest.mark.parametrize(("change", "field"), [
    (lambda s: s.update(format="something else"), "state.format"),
    (lambda s: s.update(calls=-1), "state.calls"),
    (lambda s: s.update(colour="red"), "state.colour"),
    (lambda s: s["payments"][0].update(status="lost"), "state.payments[0].status"),
    (lambda s: s["charges"][0]["amount"].update(amount=100.0), "state.charges[0].amount.amount"),
    (lambda s: s["charge_keys"][0].pop("key"), "state.charge_keys[0].key"),
    (lambda s: s.update(methods={}), "state.methods"),
])
def test_a_bad_state_is_refused_naming_the_path(change: Any, field: str) -> None:
    gw, _ = charged_gateway()
    state = gw.to_state()
    change(state)
    with pytest.raises(ValidationError) as info:
        InMemoryGateway.from_state(state)
    assert info.value.field == field


def test_a_state_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ValidationError, match="'state' must be an object"):
        InMemoryGateway.from_state(["not", "a", "state"])

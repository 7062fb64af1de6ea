"""The Stripe adapter's error mapping, configuration and secrecy, without a network.

A scripted ``stripe.HTTPClient`` answers each request; nothing leaves the process.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import stripe

from milestonebill.errors import (
    GatewayError,
    GatewayRateLimitedError,
    GatewayUnavailableError,
    IdempotencyError,
    MilestonebillError,
    ValidationError,
    WebhookSignatureError,
)
from milestonebill.gateways import _signing
from milestonebill.gateways.base import (
    ChargeRequest,
    ChargeStatus,
    CustomerId,
    CustomerRequest,
    GatewayEventKind,
    PaymentMethodId,
    RefundRequest,
    RetryAdvice,
    SetupRequest,
    SetupStatus,
    retry_advice,
)
from milestonebill.gateways.stripe import StripeGateway, from_stripe_amount, to_stripe_amount
from milestonebill.money import Money

SECRET = "sk_test_SECRETSECRET_4242"
WEBHOOK_SECRET = "whsec_SECRETWEBHOOK_99"

Answer = tuple[int, dict[str, Any]] | Exception


class ScriptedClient(stripe.HTTPClient):
    name = "milestonebill-scripted"

    def __init__(self, answer: Callable[[str, str], Answer]) -> None:
        super().__init__()
        self.answer = answer
        self.keys: list[str | None] = []

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        self.keys.append((headers or {}).get("Idempotency-Key"))
        got = self.answer(method.upper(), url)
        if isinstance(got, Exception):
            raise got
        status, body = got
        return json.dumps(body), status, {"request-id": "req_1"}

    def request_stream(self, *args: Any, **kwargs: Any) -> tuple[Any, int, Mapping[str, str]]:
        raise NotImplementedError

    def close(self) -> None:
        return None


def connection_error(message: str, *, retry: bool = True) -> Exception:
    return stripe.APIConnectionError(message, should_retry=retry)  # type: ignore[no-untyped-call]


def always(answer: Answer) -> ScriptedClient:
    return ScriptedClient(lambda _m, _u: answer)


def gateway(client: ScriptedClient, retries: int = 0) -> StripeGateway:
    return StripeGateway(SECRET, webhook_secret=WEBHOOK_SECRET, http_client=client,
                         max_network_retries=retries, environ={})


def error(status: int, **fields: Any) -> Answer:
    return status, {"error": {"type": "card_error" if status == 402 else "api_error", **fields}}


REQ = ChargeRequest("agr-1", "INV-0001", 1, Money("100.00", "USD"), CustomerId("cus_1"),
                    PaymentMethodId("pm_1"))


def pi(status: str, **extra: Any) -> dict[str, Any]:
    return {"id": "pi_1", "object": "payment_intent", "amount": 10000, "currency": "usd",
            "status": status, "metadata": {}, **extra}


def test_a_succeeded_payment_intent_reads_the_fee_from_its_balance_transaction() -> None:
    charge = {"id": "ch_1", "object": "charge",
              "balance_transaction": {"id": "txn_1", "object": "balance_transaction",
                                      "fee": 320, "currency": "usd"}}
    result = gateway(always((200, pi("succeeded", latest_charge=charge)))).charge(REQ)
    assert (result.status, result.gateway_ref, result.fee) == (
        ChargeStatus.SUCCEEDED, "pi_1", Money("3.20", "USD"))


def test_the_fee_may_be_in_the_settlement_currency() -> None:
    charge = {"id": "ch_1", "balance_transaction": {"id": "txn_1", "fee": 412, "currency": "eur"}}
    result = gateway(always((200, pi("succeeded", latest_charge=charge)))).charge(REQ)
    assert result.fee == Money("4.12", "EUR")


def test_an_unexpanded_balance_transaction_leaves_the_fee_unknown() -> None:
    charge = {"id": "ch_1", "balance_transaction": "txn_1"}
    assert gateway(always((200, pi("succeeded", latest_charge=charge)))).charge(REQ).fee is None


def test_a_processing_payment_intent_waits_for_its_webhook() -> None:
    result = gateway(always((200, pi("processing")))).charge(REQ)
    assert retry_advice(result) is RetryAdvice.WAIT_FOR_WEBHOOK


def test_a_payment_intent_requiring_action_names_itself_for_the_host() -> None:
    result = gateway(always((200, pi("requires_action")))).charge(REQ)
    assert (result.status, result.action_ref) == (ChargeStatus.REQUIRES_ACTION, "pi_1")


def test_an_off_session_authentication_error_requires_action_with_the_payment_intent() -> None:
    answer = error(402, code="authentication_required", message="needs auth",
                   payment_intent=pi("requires_payment_method"))
    result = gateway(always(answer)).charge(REQ)
    assert (result.status, result.action_ref, result.decline_code) == (
        ChargeStatus.REQUIRES_ACTION, "pi_1", "authentication_required")


@pytest.mark.parametrize(("decline_code", "hard"), [("insufficient_funds", False),
                                                   ("stolen_card", True),
                                                   ("expired_card", True)])
def test_a_card_error_is_a_decline_with_its_code_and_hardness(decline_code: str, hard: bool) -> None:
    answer = error(402, code="card_declined", decline_code=decline_code, message="declined",
                   payment_intent={"id": "pi_9"})
    result = gateway(always(answer)).charge(REQ)
    assert (result.status, result.decline_code, result.decline_hard, result.gateway_ref) == (
        ChargeStatus.DECLINED, decline_code, hard, "pi_9")


@pytest.mark.parametrize(
    "answer",
    [error(500, message="boom"), error(503, message="down"),
     connection_error("connection reset")],
    ids=["500", "503", "connection"],
)
def test_transient_failures_are_retryable_results_not_exceptions(answer: Answer) -> None:
    result = gateway(always(answer)).charge(REQ)
    assert (result.status, result.idempotency_key) == (ChargeStatus.FAILED_RETRYABLE,
                                                       REQ.idempotency_key)
    assert retry_advice(result) is RetryAdvice.RETRY_SAME_KEY


def test_a_rate_limited_charge_raises_so_the_biller_can_wait() -> None:
    answer = (429, {"error": {"type": "invalid_request_error", "code": "rate_limit",
                              "message": "slow"}})
    with pytest.raises(GatewayRateLimitedError) as caught:
        gateway(always(answer)).charge(REQ)
    assert isinstance(caught.value, GatewayUnavailableError)


def test_network_retries_are_on_and_reuse_the_same_key() -> None:
    answers: Iterator[Answer] = iter([connection_error("reset"), (200, pi("succeeded"))])
    client = ScriptedClient(lambda _m, _u: next(answers))
    result = gateway(client, retries=1).charge(REQ)
    assert result.status is ChargeStatus.SUCCEEDED
    assert client.keys == [REQ.idempotency_key, REQ.idempotency_key]


def test_the_default_gateway_retries_on_the_network() -> None:
    assert StripeGateway(SECRET, environ={}).max_network_retries == 2


def test_an_idempotency_conflict_names_the_key() -> None:
    answer = (400, {"error": {"type": "idempotency_error", "message": "Keys for idempotent "
                              "requests can only be used with the same parameters"}})
    with pytest.raises(IdempotencyError) as caught:
        gateway(always(answer)).charge(REQ)
    assert caught.value.key == REQ.idempotency_key
    assert REQ.idempotency_key in str(caught.value)


def test_a_refused_request_names_the_parameter() -> None:
    answer = (400, {"error": {"type": "invalid_request_error", "param": "payment_method",
                              "message": "No such PaymentMethod: 'pm_1'"}})
    with pytest.raises(GatewayError, match="parameter 'payment_method'"):
        gateway(always(answer)).charge(REQ)


def test_refunds_and_setups_raise_unavailable_on_transient_failures() -> None:
    gw = gateway(always(error(502, message="bad gateway")))
    with pytest.raises(GatewayUnavailableError):
        gw.refund(RefundRequest("agr-1", "INV-1", "CN-1", "pi_1"))
    with pytest.raises(GatewayUnavailableError):
        gw.create_customer(CustomerRequest("client-1"))


def test_a_setup_declined_by_the_issuer_is_a_result() -> None:
    answers: Iterator[Answer] = iter([(200, {"id": "seti_1", "object": "setup_intent", "status": "requires_payment_method"}),
                    error(402, code="card_declined", decline_code="do_not_honor",
                          message="declined", setup_intent={"id": "seti_1"})])
    result = gateway(ScriptedClient(lambda _m, _u: next(answers))).save_payment_method(
        SetupRequest(CustomerId("cus_1"), "pm_x"))
    assert (result.status, result.decline_code, result.setup_ref) == (
        SetupStatus.DECLINED, "do_not_honor", "seti_1")


ALL_FAILURES: list[Answer] = [
    error(400, message="bad"), error(401, message="bad key"), error(402, code="card_declined"),
    error(403, message="no"), error(404, message="missing"), error(409, message="conflict"),
    error(429, message="slow"), error(500, message="boom"),
    (400, {"error": {"type": "idempotency_error", "message": "reused"}}),
    connection_error("reset", retry=False),
    (200, {"unexpected": True}),
]


@pytest.mark.parametrize("answer", ALL_FAILURES)
def test_no_vendor_exception_escapes_any_call(answer: Answer) -> None:
    gw = gateway(always(answer))
    calls: list[Callable[[], object]] = [
        lambda: gw.create_customer(CustomerRequest("client-1")),
        lambda: gw.save_payment_method(SetupRequest(CustomerId("cus_1"), "pm_1")),
        lambda: gw.detach_payment_method(PaymentMethodId("pm_1"), idempotency_key="k"),
        lambda: gw.charge(REQ),
        lambda: gw.refund(RefundRequest("agr-1", "INV-1", "CN-1", "pi_1")),
    ]
    for call in calls:
        try:
            call()
        except MilestonebillError:
            pass
        except stripe.StripeError as exc:  # pragma: no cover - the failure we guard against
            pytest.fail(f"vendor exception escaped: {exc!r}")


# ---------------------------------------------------------------- secrets


def test_the_secret_is_not_in_the_repr() -> None:
    gw = gateway(always((200, {})))
    assert SECRET not in repr(gw)
    assert WEBHOOK_SECRET not in repr(gw)
    assert SECRET not in repr(vars(gw))


def test_the_secret_never_reaches_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    leaky = (401, {"error": {"type": "invalid_request_error",
                             "message": f"Invalid API Key provided: {SECRET}"}})
    caplog.set_level(logging.DEBUG)
    gw = gateway(always(leaky))
    with pytest.raises(GatewayError) as caught:
        gw.create_customer(CustomerRequest("client-1"))
    texts = [str(caught.value), repr(caught.value)]
    cause: BaseException | None = caught.value
    while cause is not None:
        texts += [str(cause), repr(cause)]
        cause = cause.__cause__ or (None if cause.__suppress_context__ else cause.__context__)
    texts += [r.getMessage() for r in caplog.records]
    assert "***" in str(caught.value)
    assert not [t for t in texts if SECRET in t]


def test_the_secret_never_reaches_a_retryable_result(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    leaky = connection_error(f"could not reach api with {SECRET}", retry=False)
    result = gateway(always(leaky)).charge(REQ)
    assert SECRET not in repr(result)
    assert not [r for r in caplog.records if SECRET in r.getMessage()]


def test_configuration_comes_from_the_environment() -> None:
    env = {"STRIPE_API_KEY": SECRET, "MILESTONEBILL_STRIPE_BASE_URL": "http://127.0.0.1:9",
           "MILESTONEBILL_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET}
    gw = StripeGateway(environ=env)
    assert gw.base_url == "http://127.0.0.1:9"
    assert SECRET not in repr(gw)


def test_the_milestonebill_variable_wins_over_stripes() -> None:
    env = {"STRIPE_API_KEY": "sk_test_other", "MILESTONEBILL_STRIPE_API_KEY": SECRET,
           "MILESTONEBILL_STRIPE_BASE_URL": "http://127.0.0.1:9"}
    client = always(error(401, message="x"))
    gw = StripeGateway(environ=env, http_client=client, max_network_retries=0)
    with pytest.raises(GatewayError):
        gw.create_customer(CustomerRequest("c"))
    assert gw._api_key.reveal() == SECRET


def test_a_missing_key_is_a_validation_error_naming_the_variables() -> None:
    with pytest.raises(ValidationError) as caught:
        StripeGateway(environ={})
    assert caught.value.field == "api_key"
    assert "MILESTONEBILL_STRIPE_API_KEY" in str(caught.value)


# ---------------------------------------------------------------- webhooks

AT = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)


def stripe_event(kind: str, obj: dict[str, Any], event_id: str = "evt_1") -> bytes:
    return json.dumps({"id": event_id, "object": "event", "type": kind,
                       "created": int(AT.timestamp()), "data": {"object": obj}}).encode()


def test_our_signatures_are_the_ones_stripes_own_verifier_accepts() -> None:
    payload = stripe_event("payment_intent.succeeded", pi("succeeded"))
    header = _signing.sign(WEBHOOK_SECRET, payload, datetime.now(UTC))
    event = stripe.Webhook.construct_event(payload.decode(), header, WEBHOOK_SECRET)
    assert event["id"] == "evt_1"


def test_a_failed_payment_webhook_maps_code_and_status() -> None:
    obj = pi("requires_payment_method",
             last_payment_error={"code": "card_declined", "decline_code": "lost_card",
                                 "message": "lost"},
             metadata={"agreement_id": "agr-1", "invoice_id": "INV-1", "attempt": "2"})
    payload = stripe_event("payment_intent.payment_failed", obj)
    gw = gateway(always((200, {})))
    event = gw.parse_webhook(payload, _signing.sign(WEBHOOK_SECRET, payload, AT), AT)
    assert event is not None
    assert (event.kind, event.charge_status, event.decline_code, event.decline_hard) == (
        GatewayEventKind.PAYMENT_FAILED, ChargeStatus.DECLINED, "lost_card", True)
    assert (event.agreement_id, event.invoice_id, event.attempt) == ("agr-1", "INV-1", 2)


def test_an_authentication_failure_webhook_means_customer_action() -> None:
    obj = pi("requires_payment_method",
             last_payment_error={"code": "authentication_required", "message": "auth"})
    payload = stripe_event("payment_intent.payment_failed", obj)
    gw = gateway(always((200, {})))
    event = gw.parse_webhook(payload, _signing.sign(WEBHOOK_SECRET, payload, AT), AT)
    assert event is not None
    assert event.charge_status is ChargeStatus.REQUIRES_ACTION


def test_a_refund_webhook_reports_the_cumulative_refund_and_the_payment() -> None:
    obj = {"id": "ch_1", "object": "charge", "amount": 10000, "amount_refunded": 2550,
           "currency": "usd", "payment_intent": "pi_1", "metadata": {}}
    payload = stripe_event("charge.refunded", obj)
    gw = gateway(always((200, {})))
    event = gw.parse_webhook(payload, _signing.sign(WEBHOOK_SECRET, payload, AT), AT)
    assert event is not None
    assert (event.kind, event.payment_ref, event.amount) == (
        GatewayEventKind.PAYMENT_REFUNDED, "pi_1", Money("25.50", "USD"))


def test_unused_event_types_are_ignored_after_verification() -> None:
    payload = stripe_event("customer.created", {"id": "cus_1", "object": "customer"})
    gw = gateway(always((200, {})))
    assert gw.parse_webhook(payload, _signing.sign(WEBHOOK_SECRET, payload, AT), AT) is None
    with pytest.raises(WebhookSignatureError):
        gw.parse_webhook(payload, _signing.sign("whsec_forged", payload, AT), AT)


def test_the_tolerance_window_is_configurable() -> None:
    payload = stripe_event("customer.created", {"id": "cus_1"})
    header = _signing.sign(WEBHOOK_SECRET, payload, AT)
    strict = StripeGateway(SECRET, webhook_secret=WEBHOOK_SECRET, environ={},
                           webhook_tolerance=timedelta(seconds=10))
    with pytest.raises(WebhookSignatureError):
        strict.parse_webhook(payload, header, AT + timedelta(seconds=11))
    assert strict.parse_webhook(payload, header, AT + timedelta(seconds=9)) is None


def test_without_a_webhook_secret_parsing_refuses() -> None:
    gw = StripeGateway(SECRET, environ={})
    with pytest.raises(GatewayError, match="webhook secret"):
        gw.parse_webhook(b"{}", "t=1,v1=00", AT)


def test_a_signed_but_malformed_payload_is_a_gateway_error() -> None:
    payload = b'{"id": "evt_1", "type": "charge.refunded", "created": 1, "data": {"object": {}}}'
    gw = gateway(always((200, {})))
    with pytest.raises(GatewayError):
        gw.parse_webhook(payload, _signing.sign(WEBHOOK_SECRET, payload, AT), AT)


# ------------------------------------------------------------------ amounts


@pytest.mark.parametrize(
    ("money", "stripe_amount"),
    [(Money("12.34", "USD"), 1234), (Money("500", "JPY"), 500), (Money("5", "ISK"), 500),
     (Money("3.00", "MGA"), 3), (Money("1.230", "KWD"), 1230), (Money("7", "CLP"), 7)],
)
def test_amounts_round_trip_through_stripes_units(money: Money, stripe_amount: int) -> None:
    assert to_stripe_amount(money) == stripe_amount
    assert from_stripe_amount(stripe_amount, money.currency.code.lower()) == money


@pytest.mark.parametrize("money", [Money("1.235", "KWD"), Money("3.50", "MGA")])
def test_amounts_stripe_cannot_represent_are_refused_not_rounded(money: Money) -> None:
    with pytest.raises(ValidationError):
        to_stripe_amount(money)

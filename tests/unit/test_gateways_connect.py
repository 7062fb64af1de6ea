"""Stripe Connect without a network: the connected account, the application fee,
the refusal of other accounts' webhooks and the router that names a tenant."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import stripe

from milestonebill.agreement import PaymentSucceeded, event_from_json, event_to_json
from milestonebill.errors import (
    NotFoundError,
    ValidationError,
    WebhookPayloadError,
    WebhookSignatureError,
)
from milestonebill.gateways import _signing
from milestonebill.gateways.base import (
    ChargeRequest,
    ChargeStatus,
    CustomerId,
    GatewayEventKind,
    PaymentMethodId,
)
from milestonebill.gateways.connect import (
    ApplicationFee,
    ConnectWebhookRouter,
    check_stripe_account,
)
from milestonebill.gateways.stripe import StripeGateway, map_event, map_payment_intent
from milestonebill.ids import InvoiceId
from milestonebill.money import Money

SECRET = "sk_test_CONNECT_4242"
PLATFORM_SECRET = "whsec_CONNECT_PLATFORM"
AT = datetime(2026, 5, 4, 9, tzinfo=UTC)
REQ = ChargeRequest("agr-1", "INV-0001", 1, Money("1000.00", "USD"), CustomerId("cus_1"),
                    PaymentMethodId("pm_1"))


class Recorder(stripe.HTTPClient):
    """Answers every request with ``answer`` and keeps each request's headers and body."""

    name = "milestonebill-connect-recorder"

    def __init__(self, answer: dict[str, Any]) -> None:
        super().__init__()
        self.answer = answer
        self.sent: list[tuple[str, Mapping[str, str], str]] = []

    def request(self, method: str, url: str, headers: Mapping[str, str] | None,
                post_data: Any = None, *, _usage: list[str] | None = None,
                ) -> tuple[str, int, Mapping[str, str]]:
        body = post_data.decode() if isinstance(post_data, bytes) else (post_data or "")
        self.sent.append((url, dict(headers or {}), body))
        return json.dumps(self.answer), 200, {"request-id": "req_1"}

    def request_stream(self, *args: Any, **kwargs: Any) -> tuple[Any, int, Mapping[str, str]]:
        raise NotImplementedError

    def close(self) -> None:
        return None


def pi(**extra: Any) -> dict[str, Any]:
    return {"id": "pi_1", "object": "payment_intent", "amount": 100000, "currency": "usd",
            "status": "succeeded", "metadata": {}, **extra}


def connected(account: str | None = "acct_A1", fee: ApplicationFee | None = None,
              answer: dict[str, Any] | None = None) -> tuple[StripeGateway, Recorder]:
    client = Recorder(answer if answer is not None else pi())
    return StripeGateway(SECRET, webhook_secret=PLATFORM_SECRET, http_client=client,
                         max_network_retries=0, environ={}, stripe_account=account,
                         application_fee=fee), client


def delivery(body: dict[str, Any], secret: str = PLATFORM_SECRET) -> tuple[bytes, str, datetime]:
    payload = json.dumps(body).encode()
    return payload, _signing.sign(secret, payload, AT), AT


def event(account: str | None, **obj: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "evt_1", "object": "event", "type": "payment_intent.processing",
        "created": int(AT.timestamp()),
        "data": {"object": {"id": "pi_1", "object": "payment_intent", "amount": 100000,
                            "currency": "usd", "status": "processing", **obj}}}
    if account is not None:
        body["account"] = account
    return body


# ------------------------------------------------------------- the account


@pytest.mark.parametrize("bad", [None, "", "acct_", "cus_1", "ACCT_1", " acct_1", "acct_1 ",
                                 "acct_1\r\nX-Other: 1", "acct_é", 42, "acct_" + "a" * 251])
def test_a_connected_account_must_be_an_acct_id(bad: object) -> None:
    with pytest.raises(ValidationError) as caught:
        check_stripe_account(bad)
    assert caught.value.field == "stripe_account"


def test_the_gateway_refuses_a_bad_account_before_any_request() -> None:
    client = Recorder(pi())
    with pytest.raises(ValidationError) as caught:
        StripeGateway(SECRET, http_client=client, environ={}, stripe_account="cus_1")
    assert (caught.value.field, client.sent) == ("stripe_account", [])


def test_an_application_fee_needs_a_connected_account() -> None:
    with pytest.raises(ValidationError) as caught:
        StripeGateway(SECRET, environ={}, application_fee=ApplicationFee(100))
    assert caught.value.field == "application_fee"


def test_an_application_fee_must_be_an_application_fee() -> None:
    with pytest.raises(ValidationError) as caught:
        StripeGateway(SECRET, environ={}, stripe_account="acct_A1",
                      application_fee=150)  # type: ignore[arg-type]
    assert caught.value.field == "application_fee"


def test_every_request_names_the_connected_account() -> None:
    gw, client = connected()
    gw.charge(REQ)
    gw.detach_payment_method(PaymentMethodId("pm_1"), idempotency_key="mb-detach-1")
    assert [h.get("Stripe-Account") for _u, h, _b in client.sent] == ["acct_A1", "acct_A1"]


def test_without_an_account_no_request_names_one() -> None:
    gw, client = connected(None)
    gw.charge(REQ)
    assert "Stripe-Account" not in client.sent[0][1]


def test_the_repr_names_the_account_and_hides_the_key() -> None:
    gw, _ = connected()
    assert "acct_A1" in repr(gw)
    assert SECRET not in repr(gw)


# ------------------------------------------------------ the application fee


@pytest.mark.parametrize(("field", "kwargs"), [
    ("basis_points", {"basis_points": -1}),
    ("basis_points", {"basis_points": 10_001}),
    ("basis_points", {"basis_points": True}),
    ("basis_points", {"basis_points": 1.5}),
    ("fixed_minor", {"fixed_minor": -30}),
    ("fixed_minor", {"fixed_minor": "30"}),
])
def test_a_bad_application_fee_names_its_field(field: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as caught:
        ApplicationFee(**kwargs)
    assert caught.value.field == field


@pytest.mark.parametrize("bad", [Money("-1.00", "USD"), 100])
def test_a_fee_is_only_taken_on_an_amount_of_zero_or_more(bad: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        ApplicationFee(100).for_amount(bad)
    assert caught.value.field == "amount"


def test_no_fee_on_nothing() -> None:
    assert ApplicationFee(250, 30).for_amount(Money("0.00", "USD")) == Money("0.00", "USD")


def test_a_half_of_the_smallest_step_rounds_up() -> None:
    # 1 % of 0.50 is half a cent; 1 % of 0.49 is just under.
    fee = ApplicationFee(basis_points=100)
    assert (fee.for_amount(Money("0.50", "USD")), fee.for_amount(Money("0.49", "USD"))) == (
        Money("0.01", "USD"), Money("0.00", "USD"))


def test_a_zero_decimal_stripe_currency_is_rounded_to_whole_units() -> None:
    # MGA has two ISO decimals, none at Stripe: 1 % of 1,250.00 is 12.50 -> 13.
    assert ApplicationFee(100).for_amount(Money("1250.00", "MGA")) == Money("13.00", "MGA")


def test_the_charge_carries_the_application_fee_in_stripe_units() -> None:
    gw, client = connected(fee=ApplicationFee(basis_points=150, fixed_minor=30),
                           answer=pi(application_fee_amount=1530))
    result = gw.charge(REQ)
    (_url, _headers, body) = client.sent[0]
    assert "application_fee_amount=1530" in body.split("&")
    assert (result.status, result.application_fee) == (ChargeStatus.SUCCEEDED,
                                                       Money("15.30", "USD"))


def test_a_fee_that_rounds_to_nothing_is_not_sent() -> None:
    gw, client = connected(fee=ApplicationFee(basis_points=1))
    gw.charge(ChargeRequest("agr-1", "INV-1", 1, Money("0.40", "USD"), CustomerId("c"),
                            PaymentMethodId("p")))
    assert "application_fee_amount" not in client.sent[0][2]


def test_the_fee_reported_is_the_one_stripe_answered() -> None:
    # Stripe caps what it collects at the amount and says what it took.
    result = map_payment_intent(pi(application_fee_amount=700), idempotency_key="k")
    assert result.application_fee == Money("7.00", "USD")


def test_a_declined_payment_takes_no_application_fee() -> None:
    result = map_payment_intent(pi(status="requires_payment_method",
                                   application_fee_amount=700), idempotency_key="k")
    assert (result.status, result.application_fee) == (ChargeStatus.DECLINED, None)


def test_a_succeeded_webhook_carries_the_application_fee() -> None:
    body = event("acct_A1", application_fee_amount=1530, status="succeeded")
    body["type"] = "payment_intent.succeeded"
    mapped = map_event(body)
    assert mapped is not None
    assert (mapped.kind, mapped.application_fee) == (GatewayEventKind.PAYMENT_SUCCEEDED,
                                                     Money("15.30", "USD"))


@pytest.mark.parametrize("bad", [-1, "15", 1.5])
def test_a_malformed_application_fee_in_a_webhook_names_the_field(bad: object) -> None:
    body = event("acct_A1", application_fee_amount=bad)
    body["type"] = "payment_intent.succeeded"
    with pytest.raises(WebhookPayloadError) as caught:
        map_event(body)
    assert caught.value.field == "data.object.application_fee_amount"


def test_a_payment_stored_before_application_fees_reads_as_none() -> None:
    paid = PaymentSucceeded("agr-1:paid:INV-1:1", 3, AT, InvoiceId("INV-1"), Money("10.00", "USD"),
                            "pi_1", 1, Money("0.59", "USD"))
    stored = event_to_json(paid)
    del stored["application_fee"]
    assert event_from_json(stored) == paid


# ----------------------------------------------------------------- webhooks


def test_an_event_of_the_gateways_own_account_is_mapped() -> None:
    gw, _ = connected()
    mapped = gw.parse_webhook(*delivery(event("acct_A1")))
    assert mapped is not None
    assert mapped.kind is GatewayEventKind.PAYMENT_PROCESSING


@pytest.mark.parametrize(("account", "body_account"), [
    ("acct_A1", "acct_B2"),   # another firm's
    ("acct_A1", None),        # the platform's own
    (None, "acct_B2"),        # a connected account's, to a gateway of none
])
def test_an_event_of_another_account_is_refused(account: str | None,
                                                body_account: str | None) -> None:
    gw, client = connected(account)
    with pytest.raises(WebhookPayloadError) as caught:
        gw.parse_webhook(*delivery(event(body_account)))
    assert (caught.value.field, caught.value.value) == ("account", body_account)
    assert client.sent == []


def test_an_account_that_is_not_an_id_is_refused() -> None:
    gw, _ = connected()
    with pytest.raises(WebhookPayloadError) as caught:
        gw.parse_webhook(*delivery({**event(None), "account": {"id": "acct_A1"}}))
    assert caught.value.field == "account"


def test_the_signature_is_checked_before_the_account() -> None:
    gw, _ = connected()
    with pytest.raises(WebhookSignatureError):
        gw.parse_webhook(*delivery(event("acct_B2"), secret="whsec_someone_else"))


# ------------------------------------------------------------------- router


def router() -> ConnectWebhookRouter:
    return ConnectWebhookRouter({"acct_A1": "firm-a", "acct_B2": "firm-b"},
                                webhook_secret=PLATFORM_SECRET)


def test_the_router_names_the_tenant_of_the_account() -> None:
    r = router()
    assert (r.tenant_for(*delivery(event("acct_A1"))),
            r.tenant_for(*delivery(event("acct_B2")))) == ("firm-a", "firm-b")


@pytest.mark.parametrize("account", ["acct_C3", None])
def test_the_router_refuses_an_unknown_or_missing_account(account: str | None) -> None:
    with pytest.raises(WebhookPayloadError) as caught:
        router().tenant_for(*delivery(event(account)))
    assert (caught.value.field, caught.value.value) == ("account", account)


def test_the_router_reads_nothing_it_could_not_verify() -> None:
    payload = b"not json at all"
    with pytest.raises(WebhookSignatureError):
        router().tenant_for(payload, _signing.sign("whsec_forger", payload, AT), AT)


def test_the_router_refuses_a_stale_delivery() -> None:
    payload, header, at = delivery(event("acct_A1"))
    with pytest.raises(WebhookSignatureError):
        router().tenant_for(payload, header, at + timedelta(hours=1))


@pytest.mark.parametrize("accounts", [
    {"cus_1": "firm-a"},
    {"acct_A1": " firm-a"},
    {"acct_A1": "firm-a", "acct_A2": "firm-a"},
    [("acct_A1", "firm-a")],
])
def test_a_bad_routing_table_names_accounts(accounts: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        ConnectWebhookRouter(accounts, webhook_secret=PLATFORM_SECRET)
    assert caught.value.field == "accounts"


def test_the_router_needs_a_secret_and_never_shows_it() -> None:
    with pytest.raises(ValidationError) as caught:
        ConnectWebhookRouter({}, webhook_secret="")
    assert caught.value.field == "webhook_secret"
    assert PLATFORM_SECRET not in repr(router())


def test_the_router_gives_each_tenant_its_account() -> None:
    r = router()
    assert (r.account_of("firm-b"), dict(r.routes)) == (
        "acct_B2", {"acct_A1": "firm-a", "acct_B2": "firm-b"})
    with pytest.raises(NotFoundError):
        r.account_of("firm-c")

"""The Stripe adapter pinned to one API version, completing fees, keeping keys secret.

A recording ``stripe.HTTPClient`` answers every request; nothing leaves the
process.  (Request shapes against Stripe's OpenAPI description are checked in
``tests/integration/test_stripe_request_shapes.py``; localstripe in
``tests/integration/test_stripe_localstripe.py``.)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import stripe

from milestonebill.errors import (
    GatewayError,
    GatewayUnavailableError,
    MilestonebillError,
    ValidationError,
)
from milestonebill.gateways import _signing
from milestonebill.gateways.base import (
    ChargeRequest,
    CustomerId,
    CustomerRequest,
    GatewayEventKind,
    PaymentMethodId,
    RefundRequest,
    SetupRequest,
)
from milestonebill.gateways.stripe import (
    STRIPE_API_VERSION,
    SUPPORTED_API_VERSIONS,
    StripeGateway,
)
from milestonebill.money import Money

KEY = "sk_test_51PINNEDSECRETkey0123456789"
WEBHOOK_SECRET = "whsec_PINNEDwebhookSECRET42"
AT = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
REQ = ChargeRequest("agr-1", "INV-0001", 1, Money("100.00", "USD"), CustomerId("cus_1"),
                    PaymentMethodId("pm_1"))

Answer = tuple[int, dict[str, Any]] | BaseException


class Recording(stripe.HTTPClient):
    """Answers with ``answer(method, path, query)``; records what was asked."""

    name = "milestonebill-recording"

    def __init__(self, answer: Callable[[str, str, dict[str, str]], Answer]) -> None:
        super().__init__()
        self.answer = answer
        self.requests: list[tuple[str, str, dict[str, str], dict[str, str]]] = []

    def request(self, method: str, url: str, headers: Mapping[str, str] | None,
                post_data: Any = None, *, _usage: list[str] | None = None,
                ) -> tuple[str, int, Mapping[str, str]]:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        self.requests.append((method.upper(), parts.path, query, dict(headers or {})))
        got = self.answer(method.upper(), parts.path, query)
        if isinstance(got, BaseException):
            raise got
        status, body = got
        return json.dumps(body), status, {"request-id": "req_1"}

    def request_stream(self, *args: Any, **kwargs: Any) -> tuple[Any, int, Mapping[str, str]]:
        raise NotImplementedError

    def close(self) -> None:
        return None


def gateway(client: Recording, **kwargs: Any) -> StripeGateway:
    return StripeGateway(KEY, webhook_secret=WEBHOOK_SECRET, http_client=client,
                         max_network_retries=0, environ={}, **kwargs)


def pi(status: str = "succeeded", **extra: Any) -> dict[str, Any]:
    return {"id": "pi_1", "object": "payment_intent", "amount": 10000, "currency": "usd",
            "status": status, "metadata": {}, **extra}


# ---------------------------------------------------------------- the API version


def test_every_request_names_the_pinned_api_version() -> None:
    client = Recording(lambda _m, _p, _q: (200, pi()))
    gw = gateway(client)
    gw.create_customer(CustomerRequest("client-1"))
    gw.charge(REQ)
    gw.refund(RefundRequest("agr-1", "INV-1", "CN-1", "pi_1"))
    assert [h.get("Stripe-Version") for *_, h in client.requests] == [STRIPE_API_VERSION] * 3


def test_upgrading_the_stripe_package_does_not_change_the_version_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from stripe._api_version import _ApiVersion

    monkeypatch.setattr(_ApiVersion, "CURRENT", "2099-01-01.zinnia")
    client = Recording(lambda _m, _p, _q: (200, pi()))
    gateway(client).charge(REQ)
    assert client.requests[0][3]["Stripe-Version"] == STRIPE_API_VERSION


def test_an_unsupported_version_is_refused_before_any_request() -> None:
    client = Recording(lambda _m, _p, _q: (200, pi()))
    with pytest.raises(ValidationError) as caught:
        gateway(client, stripe_version="2020-08-27")
    assert (caught.value.field, caught.value.value, client.requests) == (
        "stripe_version", "2020-08-27", [])
    assert STRIPE_API_VERSION in str(caught.value)


def test_a_supported_version_may_be_named_explicitly() -> None:
    assert gateway(Recording(lambda *_: (200, {})),
                   stripe_version=SUPPORTED_API_VERSIONS[0]).stripe_version == STRIPE_API_VERSION


# ---------------------------------------------------------------- fees on settlement


def signed(kind: str, obj: dict[str, Any]) -> tuple[bytes, str]:
    payload = json.dumps({"id": "evt_1", "object": "event", "type": kind,
                          "created": int(AT.timestamp()), "data": {"object": obj}}).encode()
    return payload, _signing.sign(WEBHOOK_SECRET, payload, AT)


LINKED = {"agreement_id": "agr-1", "invoice_id": "INV-0001", "attempt": "1"}
EXPANDED = {"id": "ch_1", "object": "charge",
            "balance_transaction": {"id": "txn_1", "object": "balance_transaction",
                                    "fee": 320, "currency": "usd"}}


def test_a_settled_payments_webhook_fetches_the_fee_it_does_not_carry() -> None:
    client = Recording(lambda _m, _p, _q: (200, pi(latest_charge=EXPANDED)))
    payload, header = signed("payment_intent.succeeded",
                             pi(latest_charge="ch_1", metadata=LINKED))
    event = gateway(client).parse_webhook(payload, header, AT)
    assert event is not None
    assert (event.kind, event.fee) == (GatewayEventKind.PAYMENT_SUCCEEDED, Money("3.20", "USD"))
    ((method, path, query, _headers),) = client.requests
    assert (method, path, query) == ("GET", "/v1/payment_intents/pi_1",
                                     {"expand[0]": "latest_charge.balance_transaction"})


def test_a_webhook_that_carries_the_fee_or_is_not_ours_makes_no_request() -> None:
    client = Recording(lambda _m, _p, _q: (200, pi(latest_charge=EXPANDED)))
    gw = gateway(client)
    carried = gw.parse_webhook(*signed("payment_intent.succeeded",
                                       pi(latest_charge=EXPANDED, metadata=LINKED)), AT)
    foreign = gw.parse_webhook(*signed("payment_intent.succeeded", pi(latest_charge="ch_1")),
                               AT)
    assert carried is not None
    assert foreign is not None
    assert (carried.fee, foreign.fee, client.requests) == (Money("3.20", "USD"), None, [])


def test_a_fee_that_cannot_be_fetched_asks_for_the_webhook_again() -> None:
    down = stripe.APIConnectionError("connection reset")  # type: ignore[no-untyped-call]
    gw = gateway(Recording(lambda _m, _p, _q: down))
    with pytest.raises(GatewayUnavailableError):
        gw.parse_webhook(*signed("payment_intent.succeeded",
                                 pi(latest_charge="ch_1", metadata=LINKED)), AT)


# ---------------------------------------------------------------- secrets in error chains

def _texts(exc: BaseException) -> Iterator[str]:
    """Everything an exception chain shows: each exception's repr and str, its
    args and attributes, through ``__cause__`` and ``__context__`` alike."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        e = todo.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        for part in (e, *e.args, *getattr(e, "__dict__", {}).values()):
            yield repr(part)
            yield str(part)
        todo += [x for x in (e.__cause__, e.__context__) if x is not None]


LEAKS: dict[str, Answer] = {
    "401 echoing the key": (401, {"error": {"type": "invalid_request_error",
                                            "message": f"Invalid API Key provided: {KEY}"}}),
    "400 naming the key as parameter": (400, {"error": {
        "type": "invalid_request_error", "param": KEY, "message": f"bad {KEY}"}}),
    "409 idempotency": (400, {"error": {"type": "idempotency_error", "message": KEY}}),
    "403 permission": (403, {"error": {"type": "invalid_request_error", "message": KEY}}),
    "500": (500, {"error": {"type": "api_error", "message": f"upstream said {KEY}"}}),
    "card error": (402, {"error": {"type": "card_error", "code": "card_declined",
                                   "message": KEY, "payment_intent": {"id": 7}}}),
    "unreadable 200": (200, {"id": {"nested": KEY}, "status": KEY, "amount": KEY}),
    "connection": stripe.APIConnectionError(  # type: ignore[no-untyped-call]
        f"could not connect with {KEY}", should_retry=False),
}


def _every_call(gw: StripeGateway) -> list[Callable[[], object]]:
    linked = signed("payment_intent.succeeded", pi(latest_charge="ch_1", metadata=LINKED))
    return [
        lambda: gw.create_customer(CustomerRequest("client-1")),
        lambda: gw.save_payment_method(SetupRequest(CustomerId("cus_1"), "pm_1")),
        lambda: gw.detach_payment_method(PaymentMethodId("pm_1"), idempotency_key="k"),
        lambda: gw.charge(REQ),
        lambda: gw.refund(RefundRequest("agr-1", "INV-1", "CN-1", "pi_1")),
        lambda: gw.parse_webhook(*linked, AT),
    ]


@pytest.mark.parametrize("answer", list(LEAKS.values()), ids=list(LEAKS))
def test_no_error_the_adapter_raises_carries_the_key_anywhere_in_its_chain(
    answer: Answer,
) -> None:
    raised: list[BaseException] = []
    for call in _every_call(gateway(Recording(lambda _m, _p, _q: answer))):
        try:
            result = call()
        except MilestonebillError as exc:
            raised.append(exc)
        else:
            assert KEY not in repr(result)
    assert raised  # every kind of answer makes some call fail
    leaked = [(type(e).__name__, t) for e in raised for t in _texts(e) if KEY in t]
    assert leaked == []


def test_a_stripe_error_without_secrets_stays_chained_for_debugging() -> None:
    answer = (400, {"error": {"type": "invalid_request_error", "message": "No such customer"}})
    with pytest.raises(GatewayError) as caught:
        gateway(Recording(lambda _m, _p, _q: answer)).create_customer(CustomerRequest("c"))
    assert isinstance(caught.value.__cause__, stripe.InvalidRequestError)

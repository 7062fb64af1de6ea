"""Hostile webhook deliveries get a typed error from both gateways, never a crash.

Each case was a ``TypeError``, ``OverflowError``, ``RecursionError`` or
``UnicodeError`` (or a ``KeyError`` through a ``GatewayError``) before:
issue #16, item 5.  The fuzzing of the same entry point is in
``tests/property/test_webhook_fuzz.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from milestonebill.errors import (
    GatewayError,
    ValidationError,
    WebhookPayloadError,
    WebhookSignatureError,
)
from milestonebill.gateways import _signing
from milestonebill.gateways.base import DEFAULT_WEBHOOK_TOLERANCE, GatewayEvent, PaymentGateway
from milestonebill.gateways.memory import InMemoryGateway

SECRET = "whsec_inputs_test"
AT = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
T = int(AT.timestamp())

Parse = Callable[[bytes, object, datetime], GatewayEvent | None]


def _memory() -> PaymentGateway:
    return InMemoryGateway(webhook_secret=SECRET)


def _stripe() -> PaymentGateway:
    pytest.importorskip("stripe")
    from milestonebill.gateways.stripe import StripeGateway

    return StripeGateway("sk_test_inputs", webhook_secret=SECRET, environ={},
                         max_network_retries=0)


@pytest.fixture(params=[_memory, _stripe], ids=["memory", "stripe"])
def parse(request: pytest.FixtureRequest) -> Parse:
    gw: PaymentGateway = request.param()
    return gw.parse_webhook  # type: ignore[return-value]


def signed(payload: bytes) -> tuple[bytes, str]:
    return payload, _signing.sign(SECRET, payload, AT)


BODY = json.dumps({"id": "evt_1", "type": "payment.succeeded", "created": T,
                   "data": {"object": {"id": "pi_1"}}}).encode()


# ---------------------------------------------------------------- the header


@pytest.mark.parametrize("header", [
    f"t={T},v1=é" + "0" * 63,  # non-ASCII signature
    f"t={T},v1=\ud800",  # a lone surrogate
    f"v1={'0' * 64}",  # no timestamp
    f"t={T},t={T},v1={'0' * 64}",  # two timestamps
    f"t={10**20},v1={'0' * 64}",  # after the year 9999
    f"t={'9' * 5000},v1={'0' * 64}",  # more digits than int() takes
    f"t=1e9,v1={'0' * 64}", f"t=-5,v1={'0' * 64}", f"t=١٢٣,v1={'0' * 64}",
    "", "garbage", None,
], ids=["non-ascii-v1", "surrogate-v1", "no-t", "two-t", "huge-t", "long-t", "float-t",
        "negative-t", "arabic-indic-t", "empty", "garbage", "none"])
def test_a_malformed_signature_header_is_a_signature_error(parse: Parse, header: object) -> None:
    with pytest.raises(WebhookSignatureError):
        parse(BODY, header, AT)


def test_other_schemes_and_spaces_around_parts_still_verify() -> None:
    payload, header = signed(BODY)
    t, v1 = header.split(",")
    assert _signing.verify(SECRET, payload, f" {t} , v0=abc, {v1} ", AT,
                           DEFAULT_WEBHOOK_TOLERANCE) == AT


@pytest.mark.parametrize("header", [f"t={T},v1=00".encode(), bytearray(b"t=1,v1=00"), 42])
def test_a_header_that_is_not_text_is_a_validation_error(parse: Parse, header: object) -> None:
    with pytest.raises(ValidationError) as caught:
        parse(BODY, header, AT)
    assert caught.value.field == "signature_header"


# ---------------------------------------------------------------- correctly signed junk


@pytest.mark.parametrize("payload", [
    b"\xff\xfe not utf-8",
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a": ' + b"[" * 65 + b"]" * 65 + b"}",
    b"[1, 2]", b'"a string"', b"3", b"null", b"",
    b'{"id": "evt_1", "created": NaN}',
    b'{"id": "evt_1", "type": "payment.succeeded", "created": ' + b"9" * 5000 + b"}",
], ids=["invalid-utf8", "deep-array", "65-deep", "array", "string", "number", "null", "empty",
        "nan", "5000-digit-number"])
def test_a_signed_body_that_is_not_a_json_object_is_a_payload_error(
    parse: Parse, payload: bytes,
) -> None:
    with pytest.raises(WebhookPayloadError) as caught:
        parse(*signed(payload), AT)
    assert caught.value.field == "payload"


def _event(**fields: object) -> bytes:
    return json.dumps(fields).encode()


@pytest.mark.parametrize(("payload", "field"), [
    (_event(id="evt_1", created=T, data={}), "type"),
    (_event(id="evt_1", type=["x"], created=T, data={}), "type"),
], ids=["no-type", "list-type"])
def test_a_signed_event_without_a_type_names_the_field(
    parse: Parse, payload: bytes, field: str,
) -> None:
    with pytest.raises(WebhookPayloadError) as caught:
        parse(*signed(payload), AT)
    assert caught.value.field == field


MEMORY_DATA = {"object_ref": "pi_1", "payment_ref": "pi_1", "agreement_id": "agr-1",
               "invoice_id": "INV-1", "attempt": 1,
               "amount": {"amount": "10.00", "currency": "USD"}, "charge_status": "succeeded",
               "decline_code": None, "decline_hard": False, "message": None, "fee": None,
               "customer_id": None, "payment_method_id": None, "reason": None}


@pytest.mark.parametrize(("change", "field"), [
    ({"created": 10**20}, "created"),
    ({"created": -1}, "created"),
    ({"created": "yesterday"}, "created"),
    ({"created": True}, "created"),
    ({"id": None}, "id"),
    ({"data": [1]}, "data"),
    ({"data": {**MEMORY_DATA, "attempt": "1"}}, "data.attempt"),
    ({"data": {**MEMORY_DATA, "agreement_id": {"x": 1}}}, "data.agreement_id"),
    ({"data": {**MEMORY_DATA, "amount": {"amount": 10}}}, "data.amount"),
    ({"data": {**MEMORY_DATA, "charge_status": "maybe"}}, "data.charge_status"),
    ({"data": {**MEMORY_DATA, "decline_hard": "no"}}, "data.decline_hard"),
    ({"data": {k: v for k, v in MEMORY_DATA.items() if k != "object_ref"}}, "data.object_ref"),
])
def test_a_signed_memory_event_with_a_bad_field_names_it(change: dict[str, object],
                                                        field: str) -> None:
    body = {"id": "evt_1", "type": "payment.succeeded", "created": T, "data": MEMORY_DATA}
    payload, header = signed(json.dumps({**body, **change}).encode())
    with pytest.raises(WebhookPayloadError) as caught:
        InMemoryGateway(webhook_secret=SECRET).parse_webhook(payload, header, AT)
    assert caught.value.field.startswith(field)


STRIPE_PI = {"id": "pi_1", "object": "payment_intent", "amount": 1000, "currency": "usd",
             "status": "processing", "metadata": {"agreement_id": "agr-1"}}


@pytest.mark.parametrize(("change", "field"), [
    ({"created": 10**20}, "created"),
    ({"created": 1.5}, "created"),
    ({"id": 7}, "id"),
    ({"data": {"object": "pi_1"}}, "data.object"),
    ({"data": {"object": {**STRIPE_PI, "id": None}}}, "data.object.id"),
    ({"data": {"object": {**STRIPE_PI, "amount": "1000"}}}, "data.object.amount"),
    ({"data": {"object": {**STRIPE_PI, "amount": -1}}}, "data.object.amount"),
    ({"data": {"object": {**STRIPE_PI, "currency": ["usd"]}}}, "data.object.currency"),
    ({"data": {"object": {**STRIPE_PI, "currency": "xyz"}}}, "data.object.amount"),
    ({"data": {"object": {**STRIPE_PI, "metadata": {"invoice_id": 5}}}},
     "data.object.metadata.invoice_id"),
])
def test_a_signed_stripe_event_with_a_bad_field_names_it(change: dict[str, object],
                                                        field: str) -> None:
    gw = _stripe()
    body = {"id": "evt_1", "object": "event", "type": "payment_intent.processing", "created": T,
            "data": {"object": STRIPE_PI}}
    payload, header = signed(json.dumps({**body, **change}).encode())
    with pytest.raises(WebhookPayloadError) as caught:
        gw.parse_webhook(payload, header, AT)
    assert caught.value.field.startswith(field)


def test_a_payload_error_is_still_a_gateway_error_for_older_callers(parse: Parse) -> None:
    with pytest.raises(GatewayError):
        parse(*signed(b"[]"), AT)

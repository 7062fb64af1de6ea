"""Fuzzing webhook verification and parsing: a typed error or a correct event.

Any header (text, bytes, nothing, well or badly formed) and any body (bytes,
JSON of any shape and depth, events with one field replaced by junk), very
often correctly signed, go to both gateways' ``parse_webhook``.  The only
acceptable outcomes are :class:`~milestonebill.errors.WebhookSignatureError`,
a :class:`~milestonebill.errors.ValidationError` (``WebhookPayloadError`` is
one), ``None`` (an event type the gateway does not map) or an event whose
every field has its declared type -- each example within the deadline and
a hard time limit.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milestonebill.errors import ValidationError, WebhookSignatureError
from milestonebill.gateways import _signing
from milestonebill.gateways.base import (
    ChargeStatus,
    GatewayEvent,
    GatewayEventKind,
    PaymentGateway,
)
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.gateways.stripe import StripeGateway
from milestonebill.money import Money
from milestonebill.testing.fuzzing import json_values, near, time_limit

SECRET = "whsec_fuzz"
AT = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
T = int(AT.timestamp())
LONG = os.environ.get("MILESTONEBILL_LONG", "") == "1"
#: Fixed examples in CI; ``MILESTONEBILL_LONG=1`` draws ten times as many, new each time.
FUZZ = settings(max_examples=2500 if LONG else 250, derandomize=not LONG, database=None,
                deadline=timedelta(seconds=2),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])
LIMIT = 20.0  # seconds: a parse still running by then is stopped and reported


class _AnswersAPaymentIntent(stripe.HTTPClient):
    """Stands in for Stripe when a parsed payment webhook fetches its fee."""

    name = "milestonebill-fuzz"

    def request(self, method: str, url: str, headers: Mapping[str, str] | None,
                post_data: Any = None, *, _usage: list[str] | None = None,
                ) -> tuple[str, int, Mapping[str, str]]:
        charge = {"id": "ch_1", "balance_transaction": {"id": "txn_1", "fee": 30,
                                                        "currency": "usd"}}
        body = {"id": "pi_1", "object": "payment_intent", "amount": 100, "currency": "usd",
                "status": "succeeded", "latest_charge": charge}
        return json.dumps(body), 200, {}

    def request_stream(self, *args: Any, **kwargs: Any) -> tuple[Any, int, Mapping[str, str]]:
        raise NotImplementedError

    def close(self) -> None:
        return None


MEMORY = InMemoryGateway(webhook_secret=SECRET)
STRIPE = StripeGateway("sk_test_fuzz", webhook_secret=SECRET, environ={},
                       max_network_retries=0, http_client=_AnswersAPaymentIntent())

# ------------------------------------------------------------------ strategies



def _near(valid: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """``valid`` with fields kept, replaced by junk or dropped, all the way down."""
    return near(valid).filter(lambda v: isinstance(v, dict))


STRIPE_EVENT = {
    "id": "evt_1", "object": "event", "created": T,
    "type": "payment_intent.succeeded",
    "data": {"object": {"id": "pi_1", "object": "payment_intent", "amount": 1000,
                        "currency": "usd", "status": "succeeded", "latest_charge": "ch_1",
                        "customer": "cus_1", "payment_method": "pm_1",
                        "amount_refunded": 100, "reason": "fraudulent",
                        "last_payment_error": {"code": "card_declined", "message": "no"},
                        "metadata": {"agreement_id": "agr-1", "invoice_id": "INV-1",
                                     "attempt": "1"}}},
}
STRIPE_TYPES = st.sampled_from(["payment_intent.succeeded", "payment_intent.payment_failed",
                                "payment_intent.processing", "charge.refunded",
                                "charge.dispute.created", "setup_intent.succeeded",
                                "customer.created"])
MEMORY_EVENT = {
    "id": "evt_1", "created": T, "type": "payment.succeeded",
    "data": {"object_ref": "pi_1", "payment_ref": "pi_1", "agreement_id": "agr-1",
             "invoice_id": "INV-1", "attempt": 1,
             "amount": {"amount": "10.00", "currency": "USD"}, "charge_status": "succeeded",
             "decline_code": None, "decline_hard": False, "message": None,
             "fee": {"amount": "0.59", "currency": "USD"}, "customer_id": "cus_1",
             "payment_method_id": "pm_1", "reason": None},
}
MEMORY_TYPES = st.sampled_from([k.value for k in GatewayEventKind] + ["other.thing"])


@st.composite
def bodies(draw: st.DrawFn, valid: dict[str, Any], types: st.SearchStrategy[str]) -> bytes:
    choice = draw(st.integers(0, 5))
    if choice == 0:
        return draw(st.binary(max_size=64))
    if choice == 1:
        return json.dumps(draw(json_values)).encode()
    if choice == 2:
        depth = draw(st.integers(1, 3000))
        return b"[" * depth + b"]" * draw(st.integers(0, depth))
    event = draw(_near(valid))
    if "type" in event and draw(st.booleans()):
        event["type"] = draw(types)
    text = json.dumps(event)
    if choice == 5:  # break the encoding somewhere
        cut = draw(st.integers(0, len(text)))
        return text[:cut].encode() + draw(st.binary(min_size=1, max_size=4)) + \
            text[cut:].encode()
    return text.encode()


@st.composite
def headers(draw: st.DrawFn, payload: bytes) -> object:
    good = _signing.sign(SECRET, payload, AT)
    t, v1 = good.split(",")
    choice = draw(st.integers(0, 6))
    if choice <= 2:
        return good
    if choice == 3:
        return draw(st.none() | st.binary(max_size=32) | st.text(max_size=40))
    parts = draw(st.lists(st.sampled_from([t, v1, "t=", "v1=", "t=1e9", f"t={10**20}",
                                           "v1=é", "v1=\ud800", "garbage", f"t={T}"]),
                          max_size=5))
    return ",".join(parts)


# ------------------------------------------------------------------ checks


def _is_optional(value: object, kind: type) -> bool:
    return value is None or isinstance(value, kind)


def check(event: GatewayEvent | None) -> None:
    """An event's every field has its declared type (``None`` passes)."""
    if event is None:
        return
    assert isinstance(event, GatewayEvent)
    assert isinstance(event.event_id, str)
    assert event.event_id
    assert isinstance(event.kind, GatewayEventKind)
    assert event.occurred_at.tzinfo is not None
    assert isinstance(event.object_ref, str)
    for text in (event.payment_ref, event.agreement_id, event.invoice_id, event.decline_code,
                 event.message, event.customer_id, event.payment_method_id, event.reason):
        assert _is_optional(text, str), text
    assert event.attempt is None or (type(event.attempt) is int and event.attempt >= 1)
    assert _is_optional(event.amount, Money)
    assert _is_optional(event.fee, Money)
    assert _is_optional(event.charge_status, ChargeStatus)
    assert isinstance(event.decline_hard, bool)


def parse(gateway: PaymentGateway, payload: bytes, header: object) -> None:
    try:
        with time_limit(LIMIT):
            event = gateway.parse_webhook(payload, header, AT)  # type: ignore[arg-type]
    except (WebhookSignatureError, ValidationError):
        return
    check(event)


@FUZZ
@given(st.data())
def test_the_in_memory_gateway_gives_a_typed_error_or_a_correct_event(data: st.DataObject) -> None:
    payload = data.draw(bodies(MEMORY_EVENT, MEMORY_TYPES))
    parse(MEMORY, payload, data.draw(headers(payload)))


@FUZZ
@given(st.data())
def test_the_stripe_gateway_gives_a_typed_error_or_a_correct_event(data: st.DataObject) -> None:
    payload = data.draw(bodies(STRIPE_EVENT, STRIPE_TYPES))
    parse(STRIPE, payload, data.draw(headers(payload)))


@FUZZ
@given(
    kind=st.sampled_from(list(GatewayEventKind)),
    seconds=st.integers(0, _signing.MAX_TIMESTAMP),
    text=st.text(min_size=1, max_size=20),
    attempt=st.none() | st.integers(1, 10**6),
    minor=st.none() | st.integers(0, 10**12),
    hard=st.booleans(),
)
def test_every_event_the_in_memory_gateway_sends_parses_back_to_itself(
    kind: GatewayEventKind, seconds: int, text: str, *, attempt: int | None, minor: int | None,
    hard: bool,
) -> None:
    at = datetime.fromtimestamp(seconds, tz=UTC)
    event = GatewayEvent(
        event_id=f"evt_{text}", kind=kind, occurred_at=at, object_ref=text,
        payment_ref=text, agreement_id=text, invoice_id=text, attempt=attempt,
        amount=None if minor is None else Money.from_minor(minor, "USD"),
        decline_code=text, decline_hard=hard, message=text, reason=text,
    )
    d = MEMORY.render_webhook(event)
    assert MEMORY.parse_webhook(d.payload, d.signature_header, at) == event

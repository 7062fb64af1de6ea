"""Stripe Connect end to end: a firm's charges on its connected account, the
platform's fee in the firm's books, and webhooks that reach only their tenant.

Two halves:

* **localstripe** (a real server on 127.0.0.1, marked ``localstripe``): it
  has no accounts at all -- it ignores the ``Stripe-Account`` header, so an
  object made "on" one account is visible to every key -- and it refuses
  ``application_fee_amount`` (HTTP 400, "Unexpected application_fee_amount")
  and every other Connect parameter.  So here it proves that a connected
  gateway's flows run with the header on every request (recorded on the
  wire, A's and never B's), that a platform fee is refused as a typed error
  with nothing charged, and that its webhooks -- which name no account, as
  a platform's own events do -- are refused by a connected gateway.  The
  header name and the fee parameter are checked against Stripe's OpenAPI
  description in ``test_stripe_request_shapes.py``.
* **the Biller over a scripted Stripe** (no network; a real SQLite file and
  the in-memory store): the application fee Stripe reports is booked to
  platform fees, and a webhook routed by :class:`ConnectWebhookRouter` to
  one tenant cannot touch another's agreements, even with the same ids.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import stripe

from milestonebill.agreement import PaymentMethodKind, PaymentMethodRef
from milestonebill.errors import GatewayError, WebhookPayloadError
from milestonebill.gateways import _signing
from milestonebill.gateways.base import (
    ChargeRequest,
    ChargeStatus,
    CustomerRequest,
    GatewayEventKind,
    RefundRequest,
    RefundStatus,
    SetupRequest,
)
from milestonebill.gateways.connect import ApplicationFee, ConnectWebhookRouter
from milestonebill.gateways.stripe import StripeGateway
from milestonebill.invoicing import invoice_balance
from milestonebill.ledger import Account
from milestonebill.money import Money
from milestonebill.stores.memory import InMemoryStore
from milestonebill.stores.sqlite import SQLiteStore
from milestonebill.testing.localstripe import LocalStripe, WebhookReceiver, localstripe_available
from milestonebill.testing.scenarios import T0, World, proposal, usd

A, B = "acct_1FirmA", "acct_2FirmB"
PLATFORM_SECRET = "whsec_connect_platform"
CUT = ApplicationFee(basis_points=150, fixed_minor=30)  # 1.5 % + 0.30
needs_localstripe = pytest.mark.skipif(not localstripe_available(),
                                       reason="the localstripe package is not installed")


class Recording(stripe.HTTPClient):
    """Sends each request on with the SDK's default client, keeping its headers."""

    name = "milestonebill-recording"

    def __init__(self) -> None:
        super().__init__()
        self.inner = stripe.new_default_http_client()
        self.sent: list[tuple[str, str, Mapping[str, str]]] = []

    def request(self, method: str, url: str, headers: Mapping[str, str] | None,
                post_data: Any = None, *, _usage: list[str] | None = None,
                ) -> tuple[Any, int, Mapping[str, str]]:
        self.sent.append((method.upper(), urlsplit(url).path, dict(headers or {})))
        answer: tuple[Any, int, Mapping[str, str]] = self.inner.request(
            method, url, headers, post_data)
        return answer

    def request_stream(self, *args: Any, **kwargs: Any) -> tuple[Any, int, Mapping[str, str]]:
        raise NotImplementedError

    def close(self) -> None:
        self.inner.close()  # type: ignore[no-untyped-call]


# ---------------------------------------------------------------- localstripe


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[LocalStripe, WebhookReceiver]]:
    if not localstripe_available():
        pytest.skip("the localstripe package is not installed")
    with LocalStripe() as ls, WebhookReceiver() as receiver:
        ls.register_webhook("connect", receiver.url, PLATFORM_SECRET)
        yield ls, receiver


def on_localstripe(ls: LocalStripe, account: str | None,
                   fee: ApplicationFee | None = None) -> tuple[StripeGateway, Recording]:
    wire = Recording()
    return StripeGateway(ls.api_key, base_url=ls.base_url, webhook_secret=PLATFORM_SECRET,
                         http_client=wire, environ={}, stripe_account=account,
                         application_fee=fee), wire


def card(ls: LocalStripe) -> str:
    """What Stripe.js would hand the host for a test Visa card."""
    client = stripe.StripeClient(ls.api_key, base_addresses={"api": ls.base_url})
    return str(client.v1.payment_methods.create({
        "type": "card",
        "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"},
    }).id)


def pay_and_refund(gw: StripeGateway, ls: LocalStripe, firm: str) -> tuple[ChargeStatus,
                                                                           RefundStatus]:
    customer = gw.create_customer(CustomerRequest(reference=f"client-{firm}"))
    saved = gw.save_payment_method(SetupRequest(customer.customer_id, card(ls)))
    assert saved.payment_method is not None
    paid = gw.charge(ChargeRequest(f"agr-{firm}", "INV-1", 1, Money("250.00", "USD"),
                                   customer.customer_id, saved.payment_method.payment_method_id))
    assert paid.gateway_ref is not None
    back = gw.refund(RefundRequest(f"agr-{firm}", "INV-1", "CN-1", paid.gateway_ref,
                                   Money("50.00", "USD")))
    return paid.status, back.status


@needs_localstripe
@pytest.mark.localstripe
def test_each_firms_requests_carry_its_account_and_never_the_others(
    server: tuple[LocalStripe, WebhookReceiver],
) -> None:
    ls, _ = server
    (gw_a, wire_a), (gw_b, wire_b) = on_localstripe(ls, A), on_localstripe(ls, B)
    done = [pay_and_refund(gw_a, ls, "a"), pay_and_refund(gw_b, ls, "b"),
            pay_and_refund(gw_a, ls, "a2")]
    assert done == [(ChargeStatus.SUCCEEDED, RefundStatus.SUCCEEDED)] * 3
    assert {path for _m, path, _h in wire_a.sent} >= {
        "/v1/customers", "/v1/setup_intents", "/v1/payment_intents", "/v1/refunds"}
    assert {h.get("Stripe-Account") for _m, _p, h in wire_a.sent} == {A}
    assert {h.get("Stripe-Account") for _m, _p, h in wire_b.sent} == {B}


@needs_localstripe
@pytest.mark.localstripe
def test_localstripe_refuses_an_application_fee_so_nothing_is_charged(
    server: tuple[LocalStripe, WebhookReceiver],
) -> None:
    """Documents the stand-in's gap: Stripe takes ``application_fee_amount``
    on a connected account's PaymentIntent; localstripe answers 400.  If this
    starts failing, localstripe learned application fees: test them here."""
    ls, _ = server
    gw, wire = on_localstripe(ls, A, CUT)
    customer = gw.create_customer(CustomerRequest(reference="client-fee"))
    saved = gw.save_payment_method(SetupRequest(customer.customer_id, card(ls)))
    assert saved.payment_method is not None
    with pytest.raises(GatewayError, match="application_fee_amount"):
        gw.charge(ChargeRequest("agr-fee", "INV-1", 1, Money("250.00", "USD"),
                                customer.customer_id, saved.payment_method.payment_method_id))
    (create,) = [h for m, p, h in wire.sent if (m, p) == ("POST", "/v1/payment_intents")]
    assert create.get("Stripe-Account") == A


@needs_localstripe
@pytest.mark.localstripe
def test_a_webhook_without_an_account_is_refused_by_a_connected_gateway(
    server: tuple[LocalStripe, WebhookReceiver],
) -> None:
    # localstripe's events are a platform's own (no "account"): the firm's
    # gateway refuses them, the platform's own gateway maps them.
    ls, receiver = server
    platform, _ = on_localstripe(ls, None)
    firm, wire = on_localstripe(ls, A)
    customer = platform.create_customer(CustomerRequest(reference="client-hook"))
    saved = platform.save_payment_method(SetupRequest(customer.customer_id, card(ls)))
    assert saved.payment_method is not None
    paid = platform.charge(ChargeRequest("agr-hook", "INV-1", 1, Money("250.00", "USD"),
                                         customer.customer_id,
                                         saved.payment_method.payment_method_id))
    assert paid.gateway_ref is not None
    d = receiver.wait_for(b'"payment_intent.succeeded"', paid.gateway_ref.encode())
    with pytest.raises(WebhookPayloadError) as caught:
        firm.parse_webhook(d.payload, d.signature_header, d.received_at)
    assert (caught.value.field, wire.sent) == ("account", [])
    event = platform.parse_webhook(d.payload, d.signature_header, d.received_at)
    assert event is not None
    assert (event.kind, event.application_fee) == (GatewayEventKind.PAYMENT_SUCCEEDED, None)


# ------------------------------------------------ a scripted Stripe, per firm


class ConnectedStripe(stripe.HTTPClient):
    """A small Stripe for one connected account: cards succeed at once with a
    2.9 % + 0.30 fee, bank debits stay processing until :meth:`settled`;
    application fees are taken as asked.  Keeps every request's headers."""

    name = "milestonebill-connected-stripe"
    _ids = itertools.count(1)

    def __init__(self, account: str) -> None:
        super().__init__()
        self.account = account
        self.intents: dict[str, dict[str, Any]] = {}
        self.accounts_seen: list[str | None] = []

    def request(self, method: str, url: str, headers: Mapping[str, str] | None,
                post_data: Any = None, *, _usage: list[str] | None = None,
                ) -> tuple[str, int, Mapping[str, str]]:
        self.accounts_seen.append((headers or {}).get("Stripe-Account"))
        path = urlsplit(url).path
        if method.upper() == "POST" and path == "/v1/payment_intents":
            body = post_data.decode() if isinstance(post_data, bytes) else post_data
            answer = self._create(dict(parse_qsl(body or "")))
        else:
            answer = self._expanded(self.intents[path.rsplit("/", 1)[-1]])
        return json.dumps(answer), 200, {"request-id": "req_connect"}

    def _create(self, params: dict[str, str]) -> dict[str, Any]:
        n = next(self._ids)
        amount = int(params["amount"])
        fee = params.get("application_fee_amount")
        pi: dict[str, Any] = {"id": f"pi_{n}", "object": "payment_intent", "amount": amount,
              "currency": params["currency"], "customer": params["customer"],
              "application_fee_amount": None if fee is None else int(fee),
              "metadata": {k[9:-1]: v for k, v in params.items() if k.startswith("metadata[")},
              "latest_charge": f"ch_{n}",
              "status": "processing" if params["payment_method_types[0]"] == "us_bank_account"
              else "succeeded"}
        self.intents[pi["id"]] = pi
        return self._expanded(pi)

    @staticmethod
    def _expanded(pi: dict[str, Any]) -> dict[str, Any]:
        if pi["status"] != "succeeded":
            return pi
        fee = pi["amount"] * 29 // 1000 + 30
        return {**pi, "latest_charge": {"id": pi["latest_charge"], "object": "charge",
                                        "balance_transaction": {"id": "txn_1", "fee": fee,
                                                                "currency": pi["currency"]}}}

    def settled(self, pi_id: str, at: datetime = T0) -> tuple[bytes, str, datetime]:
        """The bank debit settles: Stripe's signed ``payment_intent.succeeded``."""
        self.intents[pi_id]["status"] = "succeeded"
        payload = json.dumps({"id": f"evt_{pi_id}", "object": "event", "account": self.account,
                              "type": "payment_intent.succeeded", "created": int(at.timestamp()),
                              "data": {"object": self.intents[pi_id]}}).encode()
        return payload, _signing.sign(PLATFORM_SECRET, payload, at), at

    def request_stream(self, *args: Any, **kwargs: Any) -> tuple[Any, int, Mapping[str, str]]:
        raise NotImplementedError

    def close(self) -> None:
        return None


def firm_gateway(account: str) -> tuple[StripeGateway, ConnectedStripe]:
    wire = ConnectedStripe(account)
    return StripeGateway("sk_test_platform", http_client=wire, max_network_retries=0,
                         environ={}, webhook_secret=PLATFORM_SECRET, stripe_account=account,
                         application_fee=CUT), wire


STRIPE_CARD = PaymentMethodRef("stripe", "cus_1", "pm_card", PaymentMethodKind.CARD)
STRIPE_BANK = PaymentMethodRef("stripe", "cus_1", "pm_bank", PaymentMethodKind.BANK_DEBIT)


MakeWorld = Callable[[StripeGateway], World[Any]]


@pytest.fixture(params=["memory", "sqlite"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeWorld]:
    """A World over the in-memory store or a real SQLite file, on a given gateway."""
    opened: list[SQLiteStore] = []

    def make(gw: StripeGateway) -> World[Any]:
        if request.param == "memory":
            return World(gateway=gw)
        opened.append(SQLiteStore(tmp_path / "books.db"))
        return World(opened[-1], gateway=gw)

    yield make
    for store in opened:
        store.close()


def test_the_books_show_the_platforms_cut_of_a_card_payment(world: MakeWorld) -> None:
    gw, wire = firm_gateway(A)
    w = world(gw)
    w.open(proposal([("design", "1000.00")]), payment_method=STRIPE_CARD)
    w.complete("design")
    # Stripe's fee 29.30 (2.9 % + 0.30); the platform's 15.30 (1.5 % + 0.30).
    assert w.load().payments[0].application_fee == usd("15.30")
    assert (w.balance(Account.RECEIVABLE), w.balance(Account.GATEWAY_FEES),
            w.balance(Account.PLATFORM_FEES), w.balance(Account.CLEARING)) == (
        usd("0.00"), usd("29.30"), usd("15.30"), usd("955.40"))
    assert w.ledger_sum() == 0
    w.check_money()
    assert set(wire.accounts_seen) == {A}


def test_a_bank_debit_books_the_platforms_cut_when_its_webhook_says_it_settled(
    world: MakeWorld,
) -> None:
    gw, wire = firm_gateway(A)
    w = world(gw)
    w.open(proposal([("build", "2000.00")]), payment_method=STRIPE_BANK)
    (charge,) = w.complete("build").charges
    assert (charge.status, w.balance(Account.PLATFORM_FEES)) == (ChargeStatus.PROCESSING,
                                                                 usd("0.00"))
    assert charge.gateway_ref is not None
    event = gw.parse_webhook(*wire.settled(charge.gateway_ref))
    assert event is not None
    w.biller.apply_gateway_event(event)
    # 2.9 % + 0.30 = 58.30 to Stripe (fetched on settlement); 1.5 % + 0.30 = 30.30
    # to the platform (on the event).
    assert (w.balance(Account.RECEIVABLE), w.balance(Account.GATEWAY_FEES),
            w.balance(Account.PLATFORM_FEES), w.balance(Account.CLEARING)) == (
        usd("0.00"), usd("58.30"), usd("30.30"), usd("1911.40"))
    w.check_money()


# ------------------------------------------- two tenants behind one endpoint


class Platform:
    """Two firms on one platform: a router, and per tenant a gateway on its
    connected account and a Biller over its tenant of one shared store, using
    the same ids."""

    def __init__(self) -> None:
        self.router = ConnectWebhookRouter({A: "firm-a", B: "firm-b"},
                                           webhook_secret=PLATFORM_SECRET)
        self.gateways: dict[str, StripeGateway] = {}
        self.wires: dict[str, ConnectedStripe] = {}
        self.worlds: dict[str, World[Any]] = {}
        self.store = InMemoryStore()
        for tenant in ("firm-a", "firm-b"):
            gw, wire = firm_gateway(self.router.account_of(tenant))
            self.gateways[tenant], self.wires[tenant] = gw, wire
            self.worlds[tenant] = World(self.store.for_tenant(tenant), gateway=gw)
            self.worlds[tenant].open(proposal([("build", "2000.00")]),
                                     payment_method=STRIPE_BANK)

    def endpoint(self, payload: bytes, signature_header: str, now: datetime) -> str:
        """The platform's Connect webhook endpoint."""
        tenant = self.router.tenant_for(payload, signature_header, now)
        event = self.gateways[tenant].parse_webhook(payload, signature_header, now)
        if event is not None:
            self.worlds[tenant].biller.apply_gateway_event(event)
        return tenant


def test_a_webhook_from_b_reaches_only_bs_agreement_with_the_same_ids() -> None:
    p = Platform()
    (a_charge,) = p.worlds["firm-a"].complete("build").charges
    (b_charge,) = p.worlds["firm-b"].complete("build").charges
    assert (a_charge.agreement_id, a_charge.invoice_id) == (b_charge.agreement_id,
                                                            b_charge.invoice_id)
    assert b_charge.gateway_ref is not None
    assert p.endpoint(*p.wires["firm-b"].settled(b_charge.gateway_ref)) == "firm-b"
    a, b = p.worlds["firm-a"].load(), p.worlds["firm-b"].load()
    assert (len(a.payments), len(b.payments)) == (0, 1)
    assert invoice_balance(a, a_charge.invoice_id) == usd("2000.00")
    assert p.worlds["firm-a"].balance(Account.RECEIVABLE) == usd("2000.00")
    assert p.worlds["firm-b"].balance(Account.RECEIVABLE) == usd("0.00")


def test_bs_webhook_handed_to_as_gateway_is_refused_and_changes_nothing() -> None:
    p = Platform()
    p.worlds["firm-a"].complete("build")
    (b_charge,) = p.worlds["firm-b"].complete("build").charges
    assert b_charge.gateway_ref is not None
    delivery = p.wires["firm-b"].settled(b_charge.gateway_ref)
    before = p.worlds["firm-a"].load()
    a_requests = len(p.wires["firm-a"].accounts_seen)
    with pytest.raises(WebhookPayloadError) as caught:
        p.gateways["firm-a"].parse_webhook(*delivery)
    assert (caught.value.field, caught.value.value) == ("account", B)
    assert p.worlds["firm-a"].load() == before
    assert len(p.wires["firm-a"].accounts_seen) == a_requests  # not even a fee lookup


def test_each_tenants_requests_name_its_own_account() -> None:
    p = Platform()
    for tenant in ("firm-a", "firm-b"):
        p.worlds[tenant].complete("build")
    assert (set(p.wires["firm-a"].accounts_seen), set(p.wires["firm-b"].accounts_seen)) == (
        {A}, {B})


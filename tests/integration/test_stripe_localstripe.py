"""The Stripe adapter against a real, running localstripe on 127.0.0.1.

The fixture starts ``localstripe`` (PyPI) on a free loopback port, waits
until it answers and stops it afterwards.  localstripe differs from Stripe
where it matters to us:

* it ignores ``Idempotency-Key`` (shown below); replay and key-conflict
  behaviour is covered by the in-memory gateway and the contract suite;
* it rejects ``description`` on PaymentIntents and knows no US bank
  accounts; those requests are checked against Stripe's OpenAPI
  description in ``test_stripe_request_shapes.py`` instead;
* a refund without an amount refunds the whole charge again, even after a
  partial refund (Stripe refunds what is left);
* it fees nothing (every balance transaction has ``fee`` 0), and declines
  ``4000000000000002`` when the card is saved rather than when charged;
  ``4000000000000341`` is the card that saves and then declines.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from milestonebill.agreement import Agreement
from milestonebill.errors import WebhookSignatureError
from milestonebill.gateways.base import (
    ChargeRequest,
    ChargeStatus,
    CustomerId,
    CustomerRequest,
    GatewayEventKind,
    PaymentMethodId,
    RefundRequest,
    RefundStatus,
    RetryAdvice,
    SetupRequest,
    SetupStatus,
    detach_idempotency_key,
    retry_advice,
    settle_status,
)
from milestonebill.money import Money
from milestonebill.testing.localstripe import LocalStripe, WebhookReceiver, localstripe_available
from milestonebill.testing.scenarios import T0

pytestmark = [
    pytest.mark.localstripe,
    pytest.mark.skipif(not localstripe_available(), reason="the localstripe package is not installed"),
]

stripe = pytest.importorskip("stripe")
from milestonebill.gateways.stripe import StripeGateway  # noqa: E402

WEBHOOK_SECRET = "whsec_localstripe_integration"


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[LocalStripe, WebhookReceiver]]:
    with LocalStripe() as ls, WebhookReceiver() as receiver:
        ls.register_webhook("integration", receiver.url, WEBHOOK_SECRET)
        yield ls, receiver


@pytest.fixture
def gw(server: tuple[LocalStripe, WebhookReceiver]) -> StripeGateway:
    ls, _ = server
    return StripeGateway(ls.api_key, base_url=ls.base_url, webhook_secret=WEBHOOK_SECRET,
                         environ={})


@pytest.fixture
def receiver(server: tuple[LocalStripe, WebhookReceiver]) -> WebhookReceiver:
    return server[1]


def card_token(server: tuple[LocalStripe, WebhookReceiver], number: str) -> str:
    """What Stripe.js would hand the host after the client typed ``number``."""
    ls, _ = server
    client = stripe.StripeClient(ls.api_key, base_addresses={"api": ls.base_url})
    pm = client.v1.payment_methods.create({
        "type": "card",
        "card": {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"},
    })
    return str(pm.id)


def saved_card(gw: StripeGateway, server: tuple[LocalStripe, WebhookReceiver], number: str,
               reference: str) -> tuple[CustomerId, PaymentMethodId, SetupStatus]:
    cust = gw.create_customer(CustomerRequest(reference=reference, email=f"{reference}@example.com"))
    result = gw.save_payment_method(SetupRequest(cust.customer_id, card_token(server, number)))
    assert result.payment_method is not None, result
    return cust.customer_id, result.payment_method.payment_method_id, result.status


USD_250 = Money("250.00", "USD")


def charge(cust: CustomerId, pm: PaymentMethodId, invoice: str, *,
           amount: Money = USD_250, attempt: int = 1) -> ChargeRequest:
    return ChargeRequest("agr-ls", invoice, attempt, amount, cust, pm)


def test_a_card_saved_at_signing_is_charged_off_session(
    gw: StripeGateway, server: tuple[LocalStripe, WebhookReceiver]
) -> None:
    cust, pm, status = saved_card(gw, server, "4242424242424242", "client-save")
    assert status is SetupStatus.SUCCEEDED
    result = gw.charge(charge(cust, pm, "INV-LS-1"))
    assert (result.status, result.amount) == (ChargeStatus.SUCCEEDED, Money("250.00", "USD"))
    assert result.gateway_ref is not None
    assert result.gateway_ref.startswith("pi_")
    # localstripe's balance transactions carry fee 0: read from it, not assumed.
    assert result.fee == Money("0.00", "USD")


def test_the_payment_intent_carries_the_link_metadata(
    gw: StripeGateway, server: tuple[LocalStripe, WebhookReceiver]
) -> None:
    cust, pm, _ = saved_card(gw, server, "4242424242424242", "client-meta")
    result = gw.charge(charge(cust, pm, "INV-LS-META", attempt=2))
    ls, _ = server
    client = stripe.StripeClient(ls.api_key, base_addresses={"api": ls.base_url})
    assert result.gateway_ref is not None
    pi = client.v1.payment_intents.retrieve(result.gateway_ref)
    assert pi.metadata.to_dict() == {"agreement_id": "agr-ls", "invoice_id": "INV-LS-META",
                                 "attempt": "2"}
    assert (pi.amount, pi.currency, pi.customer) == (25000, "usd", cust)


def test_one_gateway_charges_from_many_threads_each_request_its_own(
    gw: StripeGateway, server: tuple[LocalStripe, WebhookReceiver]
) -> None:
    # The Biller calls the gateway from a thread pool (gateway_concurrency):
    # one StripeGateway, many threads, and no request may take another's
    # amount, customer, card or metadata.
    from concurrent.futures import ThreadPoolExecutor

    cards = [saved_card(gw, server, "4242424242424242", f"client-pool-{n}") for n in range(12)]

    def pay(n: int) -> tuple[int, str | None, ChargeStatus]:
        cust, pm, _ = cards[n]
        amount = Money.from_minor(10_000 + n, "USD")
        r = gw.charge(ChargeRequest(f"agr-pool-{n}", f"INV-POOL-{n}", 1, amount, cust, pm))
        return n, r.gateway_ref, r.status

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(pay, range(len(cards))))
    ls, _ = server
    client = stripe.StripeClient(ls.api_key, base_addresses={"api": ls.base_url})
    seen = []
    assert [n for n, _, _ in results] == list(range(len(cards)))
    for _, ref, status in results:
        assert status is ChargeStatus.SUCCEEDED
        assert ref is not None
        pi = client.v1.payment_intents.retrieve(ref)
        seen.append((pi.amount, pi.customer, pi.payment_method, pi.metadata.to_dict()))
    assert seen == [(10_000 + n, cards[n][0], cards[n][1],
                     {"agreement_id": f"agr-pool-{n}", "invoice_id": f"INV-POOL-{n}",
                      "attempt": "1"}) for n in range(len(cards))]
    assert len({ref for _, ref, _ in results}) == len(cards)


def test_a_zero_decimal_currency_is_sent_in_whole_units(
    gw: StripeGateway, server: tuple[LocalStripe, WebhookReceiver]
) -> None:
    cust, pm, _ = saved_card(gw, server, "4242424242424242", "client-jpy")
    result = gw.charge(charge(cust, pm, "INV-LS-JPY", amount=Money("5000", "JPY")))
    assert (result.status, result.amount, result.fee) == (
        ChargeStatus.SUCCEEDED, Money("5000", "JPY"), Money("0", "JPY"))


def test_a_card_the_issuer_refuses_is_declined_when_saved(
    gw: StripeGateway, server: tuple[LocalStripe, WebhookReceiver]
) -> None:
    cust = gw.create_customer(CustomerRequest(reference="client-decline"))
    result = gw.save_payment_method(
        SetupRequest(cust.customer_id, card_token(server, "4000000000000002")))
    assert (result.status, result.decline_code, result.payment_method) == (
        SetupStatus.DECLINED, "card_declined", None)


def test_a_card_that_saves_but_declines_charges_is_a_soft_decline(
    gw: StripeGateway, server: tuple[LocalStripe, WebhookReceiver]
) -> None:
    cust, pm, _ = saved_card(gw, server, "4000000000000341", "client-341")
    result = gw.charge(charge(cust, pm, "INV-LS-341"))
    assert (result.status, result.decline_code, result.decline_hard) == (
        ChargeStatus.DECLINED, "card_declined", False)
    assert retry_advice(result) is RetryAdvice.RETRY_NEW_ATTEMPT


@pytest.mark.parametrize("number", ["4000002500003155", "4000002760003184"])
def test_a_card_needing_authentication_asks_for_customer_action(
    gw: StripeGateway, server: tuple[LocalStripe, WebhookReceiver], number: str
) -> None:
    cust, pm, status = saved_card(gw, server, number, f"client-{number[-4:]}")
    assert status is SetupStatus.REQUIRES_ACTION
    result = gw.charge(charge(cust, pm, f"INV-LS-{number[-4:]}"))
    assert result.status is ChargeStatus.REQUIRES_ACTION
    assert result.action_ref == result.gateway_ref
    ls, _ = server
    client = stripe.StripeClient(ls.api_key, base_addresses={"api": ls.base_url})
    assert result.action_ref is not None
    assert client.v1.payment_intents.retrieve(result.action_ref).status == "requires_action"


def test_partial_then_full_refunds(
    gw: StripeGateway, server: tuple[LocalStripe, WebhookReceiver]
) -> None:
    cust, pm, _ = saved_card(gw, server, "4242424242424242", "client-refund")
    paid = gw.charge(charge(cust, pm, "INV-LS-R"))
    assert paid.gateway_ref is not None
    part = gw.refund(RefundRequest("agr-ls", "INV-LS-R", "CN-1", paid.gateway_ref,
                                   Money("40.00", "USD")))
    assert (part.status, part.amount) == (RefundStatus.SUCCEEDED, Money("40.00", "USD"))
    assert part.refund_ref is not None
    assert part.refund_ref.startswith("re_")
    whole = gw.refund(RefundRequest("agr-ls", "INV-LS-R2", "CN-2", paid.gateway_ref))
    assert whole.status is RefundStatus.SUCCEEDED


def test_detaching_a_saved_card(
    gw: StripeGateway, server: tuple[LocalStripe, WebhookReceiver]
) -> None:
    _cust, pm, _ = saved_card(gw, server, "4242424242424242", "client-detach")
    gw.detach_payment_method(pm, idempotency_key=detach_idempotency_key(pm))
    ls, _ = server
    client = stripe.StripeClient(ls.api_key, base_addresses={"api": ls.base_url})
    assert client.v1.payment_methods.retrieve(pm).customer is None


def test_a_webhook_round_trip_for_a_successful_charge(
    gw: StripeGateway, server: tuple[LocalStripe, WebhookReceiver], receiver: WebhookReceiver
) -> None:
    cust, pm, _ = saved_card(gw, server, "4242424242424242", "client-webhook")
    paid = gw.charge(charge(cust, pm, "INV-LS-W"))
    assert paid.gateway_ref is not None
    delivery = receiver.wait_for(b'"payment_intent.succeeded"', paid.gateway_ref.encode())
    event = gw.parse_webhook(delivery.payload, delivery.signature_header, delivery.received_at)
    assert event is not None
    assert (event.kind, event.payment_ref, event.charge_status) == (
        GatewayEventKind.PAYMENT_SUCCEEDED, paid.gateway_ref, ChargeStatus.SUCCEEDED)
    assert (event.agreement_id, event.invoice_id, event.attempt, event.amount) == (
        "agr-ls", "INV-LS-W", 1, Money("250.00", "USD"))
    # The same delivery again is the same event (dedupe on event_id), and a
    # late duplicate cannot move the payment backwards.
    again = gw.parse_webhook(delivery.payload, delivery.signature_header, delivery.received_at)
    assert again == event
    assert settle_status(ChargeStatus.SUCCEEDED, ChargeStatus.PROCESSING) is ChargeStatus.SUCCEEDED


def test_a_settled_payments_webhook_carries_the_fee_from_its_balance_transaction(
    gw: StripeGateway, server: tuple[LocalStripe, WebhookReceiver], receiver: WebhookReceiver
) -> None:
    cust, pm, _ = saved_card(gw, server, "4242424242424242", "client-webhook-fee")
    paid = gw.charge(charge(cust, pm, "INV-LS-FEE"))
    assert paid.gateway_ref is not None
    delivery = receiver.wait_for(b'"payment_intent.succeeded"', paid.gateway_ref.encode())
    # Webhook payloads are not expanded: the fee is not in the delivery ...
    assert b'"fee"' not in delivery.payload
    event = gw.parse_webhook(delivery.payload, delivery.signature_header, delivery.received_at)
    # ... so the adapter fetched the balance transaction (localstripe's fee is 0).
    assert event is not None
    assert event.fee == Money("0.00", "USD")


def test_a_webhook_round_trip_for_a_declined_charge(
    gw: StripeGateway, server: tuple[LocalStripe, WebhookReceiver], receiver: WebhookReceiver
) -> None:
    cust, pm, _ = saved_card(gw, server, "4000000000000341", "client-webhook-fail")
    gw.charge(charge(cust, pm, "INV-LS-WF"))
    delivery = receiver.wait_for(b'"payment_intent.payment_failed"', b'"INV-LS-WF"')
    event = gw.parse_webhook(delivery.payload, delivery.signature_header, datetime.now(UTC))
    assert event is not None
    assert (event.kind, event.charge_status, event.decline_code) == (
        GatewayEventKind.PAYMENT_FAILED, ChargeStatus.DECLINED, "card_declined")


def test_a_delivery_checked_with_another_secret_is_rejected(
    gw: StripeGateway, server: tuple[LocalStripe, WebhookReceiver], receiver: WebhookReceiver
) -> None:
    cust, pm, _ = saved_card(gw, server, "4242424242424242", "client-forged")
    paid = gw.charge(charge(cust, pm, "INV-LS-F"))
    assert paid.gateway_ref is not None
    delivery = receiver.wait_for(b'"payment_intent.succeeded"', paid.gateway_ref.encode())
    ls, _ = server
    other = StripeGateway(ls.api_key, base_url=ls.base_url, webhook_secret="whsec_other",
                          environ={})
    with pytest.raises(WebhookSignatureError):
        other.parse_webhook(delivery.payload, delivery.signature_header, delivery.received_at)


def test_localstripe_ignores_idempotency_keys_unlike_stripe(
    gw: StripeGateway, server: tuple[LocalStripe, WebhookReceiver]
) -> None:
    """Documents the stand-in's gap: the same key charges twice here.

    Stripe (and InMemoryGateway, see the contract suite) replays the first
    result instead.  If this starts failing, localstripe learned keys and the
    contract suite's idempotency tests can run against it too.
    """
    cust, pm, _ = saved_card(gw, server, "4242424242424242", "client-idem")
    req = charge(cust, pm, "INV-LS-I")
    first, second = gw.charge(req), gw.charge(req)
    assert first.idempotency_key == second.idempotency_key
    assert first.gateway_ref != second.gateway_ref


def test_onboarding_a_card_client_through_stripe_signs_once(
    gw: StripeGateway, server: tuple[LocalStripe, WebhookReceiver]
) -> None:
    """One call makes the customer, saves the card and signs; a retry makes nothing.

    localstripe ignores idempotency keys, so only the steps the Biller
    recorded in the proposal's stream keep the retry from a second customer.
    """
    from milestonebill.agreement import AgreementId, ProposalId
    from milestonebill.engine import Biller, FirmId, FixedClock
    from milestonebill.proposals import ProposalStatus
    from milestonebill.stores.memory import InMemoryStore
    from milestonebill.testing.scenarios import proposal

    clock = FixedClock(T0)
    biller = Biller(InMemoryStore(clock=clock), gw, clock=clock, firm_id=FirmId("acme"))
    biller.propose(proposal([("design", "1000.00")]))
    token = card_token(server, "4242424242424242")

    def onboard() -> Agreement:
        return biller.onboard(ProposalId("p-1"), option="std", signer="Ada",
                              customer_reference="client-onboard", payment_method_token=token,
                              at=T0)

    a = onboard()
    assert onboard() == a
    agreement = biller.load(AgreementId("p-1"))
    pm = agreement.payment_method
    assert pm is not None
    assert (pm.gateway, pm.customer_id[:4], pm.payment_method_id) == ("stripe", "cus_", token)
    assert biller.load_proposal(ProposalId("p-1")).status is ProposalStatus.ACCEPTED
    ls, _ = server
    client = stripe.StripeClient(ls.api_key, base_addresses={"api": ls.base_url})
    customers = [c for c in client.v1.customers.list({"limit": 100}).data
                 if c.metadata and c.metadata.to_dict().get("milestonebill_reference")
                 == "client-onboard"]
    assert [c.id for c in customers] == [pm.customer_id]
    # The Biller's charges carry a description, which localstripe refuses (see
    # the module docstring): charge the saved card off-session directly.
    paid = gw.charge(ChargeRequest("p-1", "INV-LS-ONB", 1, Money("1000.00", "USD"),
                                   CustomerId(pm.customer_id), PaymentMethodId(pm.payment_method_id)))
    assert paid.status is ChargeStatus.SUCCEEDED

"""The gateway contract, run against the in-memory gateway and against the
Stripe adapter talking to a real localstripe server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar, cast

import pytest

from milestonebill.gateways.base import ChargeResult, PaymentGateway, WebhookDelivery
from milestonebill.gateways.memory import InMemoryGateway, Scripted
from milestonebill.testing.gateway_contract import CardScenario, GatewayContract
from milestonebill.testing.localstripe import LocalStripe, WebhookReceiver, localstripe_available

_MEMORY_TOKENS = {
    CardScenario.SUCCEEDS: "tok_visa",
    CardScenario.DECLINED_AT_SETUP: "tok_declined_at_setup",
    CardScenario.DECLINED_ON_CHARGE: "tok_insufficient_funds",
    CardScenario.REQUIRES_ACTION_ON_CHARGE: "tok_needs_3ds",
}


class TestInMemoryGatewayContract(GatewayContract):
    def make_gateway(self) -> PaymentGateway:
        gw = InMemoryGateway()
        gw.script_setup("tok_declined_at_setup", Scripted.decline("card_declined"))
        gw.script_payment_method("tok_insufficient_funds", Scripted.decline("insufficient_funds"))
        gw.script_payment_method("tok_needs_3ds", Scripted.require_action())
        return gw

    def payment_method_token(self, gateway: PaymentGateway, scenario: CardScenario) -> str:
        return _MEMORY_TOKENS[scenario]

    def webhook_for_charge(self, gateway: PaymentGateway, result: ChargeResult) -> WebhookDelivery:
        assert result.gateway_ref is not None
        needle = f'"payment_ref": "{result.gateway_ref}"'.encode()
        memory = cast(InMemoryGateway, gateway)
        return next(d for d in memory.deliveries()
                    if needle in d.payload and b'"payment.succeeded"' in d.payload)


# Card numbers localstripe (like Stripe's test mode) gives these behaviours.
_LOCALSTRIPE_CARDS = {
    CardScenario.SUCCEEDS: "4242424242424242",
    CardScenario.DECLINED_AT_SETUP: "4000000000000002",
    CardScenario.DECLINED_ON_CHARGE: "4000000000000341",
    CardScenario.REQUIRES_ACTION_ON_CHARGE: "4000002760003184",
}
_WEBHOOK_SECRET = "whsec_contract_localstripe"


@pytest.fixture(scope="module")
def localstripe_server() -> Iterator[tuple[LocalStripe, WebhookReceiver]]:
    with LocalStripe() as server, WebhookReceiver() as receiver:
        server.register_webhook("contract", receiver.url, _WEBHOOK_SECRET)
        yield server, receiver


@pytest.mark.localstripe
@pytest.mark.skipif(not localstripe_available(), reason="the localstripe package is not installed")
class TestStripeGatewayAgainstLocalstripeContract(GatewayContract):
    # localstripe ignores Idempotency-Key headers; the in-memory run covers replay.
    honours_idempotency_keys: ClassVar[bool] = False

    @pytest.fixture
    def gateway(
        self, localstripe_server: tuple[LocalStripe, WebhookReceiver]
    ) -> PaymentGateway:
        from milestonebill.gateways.stripe import StripeGateway

        server, receiver = localstripe_server
        self.server, self.receiver = server, receiver
        return StripeGateway(server.api_key, base_url=server.base_url,
                            webhook_secret=_WEBHOOK_SECRET, environ={})

    def payment_method_token(self, gateway: PaymentGateway, scenario: CardScenario) -> str:
        import stripe

        client = stripe.StripeClient(self.server.api_key,
                                     base_addresses={"api": self.server.base_url})
        pm = client.v1.payment_methods.create({
            "type": "card",
            "card": {"number": _LOCALSTRIPE_CARDS[scenario], "exp_month": 12,
                     "exp_year": 2030, "cvc": "123"},
        })
        return str(pm.id)

    def webhook_for_charge(self, gateway: PaymentGateway, result: ChargeResult) -> WebhookDelivery:
        assert result.gateway_ref is not None
        return self.receiver.wait_for(b'"payment_intent.succeeded"', result.gateway_ref.encode())

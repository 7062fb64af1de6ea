"""The contract every :class:`~milestonebill.gateways.base.PaymentGateway` must keep.

One abstract pytest suite, run against every adapter (the in-memory
gateway and the Stripe adapter here; your own gateway in your app).
Subclass :class:`GatewayContract` in a test module whose class name starts
with ``Test`` and fill in three hooks::

    from milestonebill.testing.gateway_contract import CardScenario, GatewayContract

    class TestMyGateway(GatewayContract):
        def make_gateway(self):
            return MyGateway(sandbox=True)

        def payment_method_token(self, gateway, scenario):
            # what your front end would hand over for a card that behaves so
            return {CardScenario.SUCCEEDS: "tok_ok", ...}[scenario]

        def webhook_for_charge(self, gateway, result):
            # the signed webhook your provider sends for this charge
            ...

Set ``honours_idempotency_keys = False`` only for a stand-in that ignores
keys (the idempotency tests are then skipped with that reason); a real
gateway must honour them.  Override the ``gateway`` fixture instead of
``make_gateway`` when the gateway needs set-up and tear-down.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest

from milestonebill.errors import (
    IdempotencyError,
    MilestonebillError,
    ValidationError,
    WebhookSignatureError,
)
from milestonebill.gateways.base import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    CustomerId,
    CustomerRequest,
    GatewayEventKind,
    PaymentGateway,
    RefundRequest,
    RefundStatus,
    RetryAdvice,
    SavedPaymentMethod,
    SetupRequest,
    SetupStatus,
    WebhookDelivery,
    detach_idempotency_key,
    is_hard_decline,
    retry_advice,
)
from milestonebill.money import Money

__all__ = ["CardScenario", "GatewayContract"]


class CardScenario(enum.Enum):
    """How the payment method behind a token behaves."""

    SUCCEEDS = "succeeds"
    DECLINED_AT_SETUP = "declined_at_setup"
    DECLINED_ON_CHARGE = "declined_on_charge"
    REQUIRES_ACTION_ON_CHARGE = "requires_action_on_charge"


class GatewayContract:
    """The abstract suite; see the module docs for the hooks."""

    #: False only for stand-ins that ignore idempotency keys (localstripe).
    honours_idempotency_keys: ClassVar[bool] = True
    #: The currency the suite charges in.
    currency: ClassVar[str] = "USD"

    # ------------------------------------------------------------------ hooks

    def make_gateway(self) -> PaymentGateway:
        """A fresh gateway for one test."""
        raise NotImplementedError

    def payment_method_token(self, gateway: PaymentGateway, scenario: CardScenario) -> str:
        """A token for a payment method that behaves as ``scenario`` says."""
        raise NotImplementedError

    def webhook_for_charge(self, gateway: PaymentGateway, result: ChargeResult) -> WebhookDelivery:
        """The signed webhook the gateway sends for the succeeded charge ``result``."""
        raise NotImplementedError

    @pytest.fixture
    def gateway(self) -> PaymentGateway:
        """The gateway under test; override for set-up and tear-down."""
        return self.make_gateway()

    # ---------------------------------------------------------------- helpers

    def _money(self, amount: str) -> Money:
        return Money(amount, self.currency)

    def _customer(self, gateway: PaymentGateway, reference: str = "client-1") -> CustomerId:
        return gateway.create_customer(CustomerRequest(reference=reference)).customer_id

    def _saved(
        self, gateway: PaymentGateway, scenario: CardScenario, reference: str = "client-1"
    ) -> SavedPaymentMethod:
        customer = self._customer(gateway, reference)
        token = self.payment_method_token(gateway, scenario)
        result = gateway.save_payment_method(SetupRequest(customer, token))
        assert result.payment_method is not None, result
        return result.payment_method

    def _charge(
        self,
        gateway: PaymentGateway,
        saved: SavedPaymentMethod,
        *,
        invoice: str = "INV-0001",
        attempt: int = 1,
        amount: str = "125.00",
    ) -> ChargeResult:
        return gateway.charge(self._request(saved, invoice=invoice, attempt=attempt, amount=amount))

    def _request(
        self, saved: SavedPaymentMethod, *, invoice: str = "INV-0001", attempt: int = 1,
        amount: str = "125.00",
    ) -> ChargeRequest:
        return ChargeRequest(
            agreement_id="agr-contract", invoice_id=invoice, attempt=attempt,
            amount=self._money(amount), customer_id=saved.customer_id,
            payment_method_id=saved.payment_method_id,
        )

    def _require_idempotency(self) -> None:
        if not self.honours_idempotency_keys:
            pytest.skip("this stand-in ignores idempotency keys; the InMemoryGateway run covers it")

    # -------------------------------------------------------------- customers

    def test_create_customer_returns_an_id_and_the_reference(self, gateway: PaymentGateway) -> None:
        ref = gateway.create_customer(CustomerRequest(reference="client-7", name="Ada"))
        assert ref.reference == "client-7"
        assert ref.customer_id

    def test_creating_the_same_customer_twice_gives_one_customer(
        self, gateway: PaymentGateway
    ) -> None:
        self._require_idempotency()
        first = gateway.create_customer(CustomerRequest(reference="client-8"))
        second = gateway.create_customer(CustomerRequest(reference="client-8"))
        assert second == first

    # -------------------------------------------------------- payment methods

    def test_saving_a_good_card_succeeds_for_off_session_use(self, gateway: PaymentGateway) -> None:
        customer = self._customer(gateway)
        token = self.payment_method_token(gateway, CardScenario.SUCCEEDS)
        result = gateway.save_payment_method(SetupRequest(customer, token))
        assert result.status is SetupStatus.SUCCEEDED
        assert result.payment_method is not None
        assert result.payment_method.customer_id == customer

    def test_saving_a_card_the_issuer_refuses_is_declined_with_a_code(
        self, gateway: PaymentGateway
    ) -> None:
        customer = self._customer(gateway)
        token = self.payment_method_token(gateway, CardScenario.DECLINED_AT_SETUP)
        result = gateway.save_payment_method(SetupRequest(customer, token))
        assert (result.status, result.payment_method) == (SetupStatus.DECLINED, None)
        assert result.decline_code

    def test_detaching_a_saved_payment_method_succeeds(self, gateway: PaymentGateway) -> None:
        saved = self._saved(gateway, CardScenario.SUCCEEDS)
        key = detach_idempotency_key(saved.payment_method_id)
        gateway.detach_payment_method(saved.payment_method_id, idempotency_key=key)

    # ---------------------------------------------------------------- charges

    def test_a_good_card_is_charged_the_exact_amount(self, gateway: PaymentGateway) -> None:
        saved = self._saved(gateway, CardScenario.SUCCEEDS)
        result = self._charge(gateway, saved, amount="125.00")
        assert result.status is ChargeStatus.SUCCEEDED
        assert result.amount == self._money("125.00")
        assert result.gateway_ref
        assert retry_advice(result) is RetryAdvice.DONE

    def test_the_result_carries_the_requests_derived_key(self, gateway: PaymentGateway) -> None:
        saved = self._saved(gateway, CardScenario.SUCCEEDS)
        request = self._request(saved, invoice="INV-0002", attempt=3)
        assert gateway.charge(request).idempotency_key == request.idempotency_key

    def test_a_declined_charge_reports_its_code_and_hardness(self, gateway: PaymentGateway) -> None:
        saved = self._saved(gateway, CardScenario.DECLINED_ON_CHARGE)
        result = self._charge(gateway, saved)
        assert result.status is ChargeStatus.DECLINED
        assert result.decline_code
        assert result.decline_hard == is_hard_decline(result.decline_code)
        assert retry_advice(result) is not RetryAdvice.DONE

    def test_a_charge_needing_authentication_asks_for_customer_action(
        self, gateway: PaymentGateway
    ) -> None:
        saved = self._saved(gateway, CardScenario.REQUIRES_ACTION_ON_CHARGE)
        result = self._charge(gateway, saved)
        assert result.status is ChargeStatus.REQUIRES_ACTION
        assert result.action_ref
        assert retry_advice(result) is RetryAdvice.WAIT_FOR_CUSTOMER

    def test_repeating_a_key_replays_the_first_outcome(self, gateway: PaymentGateway) -> None:
        self._require_idempotency()
        saved = self._saved(gateway, CardScenario.SUCCEEDS)
        first = self._charge(gateway, saved)
        again = self._charge(gateway, saved)
        assert again == first

    def test_a_key_reused_with_another_amount_is_refused_naming_the_key(
        self, gateway: PaymentGateway
    ) -> None:
        self._require_idempotency()
        saved = self._saved(gateway, CardScenario.SUCCEEDS)
        first = self._request(saved, amount="125.00")
        gateway.charge(first)
        with pytest.raises(IdempotencyError) as caught:
            self._charge(gateway, saved, amount="126.00")
        assert caught.value.key == first.idempotency_key
        assert first.idempotency_key in str(caught.value)

    def test_a_new_attempt_is_a_new_charge(self, gateway: PaymentGateway) -> None:
        saved = self._saved(gateway, CardScenario.SUCCEEDS)
        first = self._charge(gateway, saved, attempt=1)
        second = self._charge(gateway, saved, attempt=2)
        assert first.gateway_ref != second.gateway_ref

    # ---------------------------------------------------------------- refunds

    def _refund(self, gateway: PaymentGateway, result: ChargeResult, refund_id: str,
                amount: str | None) -> RefundRequest:
        assert result.gateway_ref is not None
        return RefundRequest(
            agreement_id="agr-contract", invoice_id="INV-0001", refund_id=refund_id,
            gateway_ref=result.gateway_ref,
            amount=None if amount is None else self._money(amount),
        )

    def test_a_full_refund_returns_the_whole_amount(self, gateway: PaymentGateway) -> None:
        charged = self._charge(gateway, self._saved(gateway, CardScenario.SUCCEEDS))
        refund = gateway.refund(self._refund(gateway, charged, "CN-1", None))
        assert (refund.status, refund.amount) == (RefundStatus.SUCCEEDED, charged.amount)

    def test_a_partial_refund_returns_the_part(self, gateway: PaymentGateway) -> None:
        charged = self._charge(gateway, self._saved(gateway, CardScenario.SUCCEEDS))
        refund = gateway.refund(self._refund(gateway, charged, "CN-1", "25.10"))
        assert (refund.status, refund.amount) == (RefundStatus.SUCCEEDED, self._money("25.10"))
        assert refund.refund_ref

    def test_repeating_a_refund_key_refunds_once(self, gateway: PaymentGateway) -> None:
        self._require_idempotency()
        charged = self._charge(gateway, self._saved(gateway, CardScenario.SUCCEEDS))
        request = self._refund(gateway, charged, "CN-1", "10.00")
        assert gateway.refund(request) == gateway.refund(request)

    # --------------------------------------------------------------- webhooks

    def test_the_webhook_for_a_charge_maps_to_payment_succeeded(
        self, gateway: PaymentGateway
    ) -> None:
        charged = self._charge(gateway, self._saved(gateway, CardScenario.SUCCEEDS),
                               invoice="INV-0009")
        delivery = self.webhook_for_charge(gateway, charged)
        event = gateway.parse_webhook(delivery.payload, delivery.signature_header,
                                      delivery.received_at)
        assert event is not None
        assert event.kind is GatewayEventKind.PAYMENT_SUCCEEDED
        assert event.payment_ref == charged.gateway_ref
        assert (event.agreement_id, event.invoice_id, event.attempt) == (
            "agr-contract", "INV-0009", 1)
        assert event.amount == charged.amount
        assert event.charge_status is ChargeStatus.SUCCEEDED

    def test_parsing_the_same_delivery_twice_gives_the_same_event(
        self, gateway: PaymentGateway
    ) -> None:
        charged = self._charge(gateway, self._saved(gateway, CardScenario.SUCCEEDS))
        d = self.webhook_for_charge(gateway, charged)
        first = gateway.parse_webhook(d.payload, d.signature_header, d.received_at)
        again = gateway.parse_webhook(d.payload, d.signature_header, d.received_at)
        assert first == again
        assert first is not None
        assert first.event_id

    def test_a_tampered_webhook_is_rejected(self, gateway: PaymentGateway) -> None:
        charged = self._charge(gateway, self._saved(gateway, CardScenario.SUCCEEDS))
        d = self.webhook_for_charge(gateway, charged)
        with pytest.raises(WebhookSignatureError):
            gateway.parse_webhook(d.payload + b" ", d.signature_header, d.received_at)

    def test_a_forged_signature_is_rejected(self, gateway: PaymentGateway) -> None:
        charged = self._charge(gateway, self._saved(gateway, CardScenario.SUCCEEDS))
        d = self.webhook_for_charge(gateway, charged)
        timestamp = d.signature_header.split(",")[0]
        with pytest.raises(WebhookSignatureError):
            gateway.parse_webhook(d.payload, f"{timestamp},v1={'0' * 64}", d.received_at)

    def test_a_replayed_webhook_outside_the_tolerance_is_rejected(
        self, gateway: PaymentGateway
    ) -> None:
        charged = self._charge(gateway, self._saved(gateway, CardScenario.SUCCEEDS))
        d = self.webhook_for_charge(gateway, charged)
        with pytest.raises(WebhookSignatureError):
            gateway.parse_webhook(d.payload, d.signature_header, d.received_at + timedelta(hours=1))

    def test_webhook_errors_are_milestonebill_errors(self, gateway: PaymentGateway) -> None:
        with pytest.raises(MilestonebillError):
            gateway.parse_webhook(b"{}", "garbage", datetime(2026, 1, 1, tzinfo=UTC))

    @pytest.mark.parametrize("header", [b"t=1,v1=00", "t=1,v1=caf\u00e9", "t=1,t=2,v1=00",
                                        f"t={10**20},v1=00", None])
    def test_a_malformed_signature_header_is_a_typed_error(
        self, gateway: PaymentGateway, header: object
    ) -> None:
        with pytest.raises((WebhookSignatureError, ValidationError)):
            gateway.parse_webhook(b"\xff" + b"[" * 5000, header,  # type: ignore[arg-type]
                                  datetime(2026, 1, 1, tzinfo=UTC))


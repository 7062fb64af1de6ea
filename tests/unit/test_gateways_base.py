"""The gateway port's values and pure decisions."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime

import pytest

from milestonebill.errors import (
    GatewayError,
    GatewayUnavailableError,
    IdempotencyError,
    ValidationError,
)
from milestonebill.gateways.base import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    CustomerId,
    CustomerRequest,
    MandateAcceptance,
    PaymentGateway,
    PaymentMethodId,
    PaymentMethodKind,
    RefundRequest,
    RetryAdvice,
    SetupRequest,
    charge_idempotency_key,
    customer_idempotency_key,
    is_hard_decline,
    refund_idempotency_key,
    retry_advice,
    settle_status,
)
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.limits import MAX_ID_LENGTH
from milestonebill.money import Money

USD = "USD"


def request(**overrides: object) -> ChargeRequest:
    fields: dict[str, object] = {
        "agreement_id": "agr-1", "invoice_id": "INV-0001", "attempt": 1,
        "amount": Money("100.00", USD), "customer_id": CustomerId("cus_1"),
        "payment_method_id": PaymentMethodId("pm_1"),
    }
    fields.update(overrides)
    return ChargeRequest(**fields)  # type: ignore[arg-type]


def result(status: ChargeStatus, code: str | None = None, hard: bool = False) -> ChargeResult:
    return ChargeResult(status, Money("1.00", USD), "k", decline_code=code, decline_hard=hard)


def test_the_charge_key_is_the_same_for_the_same_attempt() -> None:
    assert request().idempotency_key == request().idempotency_key


def test_each_part_of_the_identity_changes_the_key() -> None:
    keys = {
        charge_idempotency_key("agr-1", "INV-1", 1),
        charge_idempotency_key("agr-2", "INV-1", 1),
        charge_idempotency_key("agr-1", "INV-2", 1),
        charge_idempotency_key("agr-1", "INV-1", 2),
    }
    assert len(keys) == 4


def test_separators_inside_ids_cannot_make_two_attempts_share_a_key() -> None:
    assert charge_idempotency_key("a-b", "c", 1) != charge_idempotency_key("a", "b-c", 1)
    assert charge_idempotency_key("a:b", "c", 1) != charge_idempotency_key("a", "b:c", 1)


def test_the_amount_does_not_change_the_key() -> None:
    assert request(amount=Money("1.00", USD)).idempotency_key == request().idempotency_key


def test_keys_fit_stripes_limit_and_name_their_purpose() -> None:
    key = charge_idempotency_key("a" * MAX_ID_LENGTH, "b" * MAX_ID_LENGTH, 99)
    assert len(key) <= 255
    assert key.startswith("mb-charge-v1-")
    assert refund_idempotency_key("a", "b", "c").startswith("mb-refund-v1-")
    assert customer_idempotency_key("client").startswith("mb-customer-v1-")


@pytest.mark.parametrize("attempt", [0, -1, True, 1.0, "1"])
def test_an_attempt_must_be_a_positive_int(attempt: object) -> None:
    with pytest.raises(ValidationError) as caught:
        request(attempt=attempt)
    assert caught.value.field == "attempt"


@pytest.mark.parametrize("field", ["agreement_id", "invoice_id", "customer_id", "payment_method_id"])
@pytest.mark.parametrize("bad", ["", " x", 7, None])
def test_ids_must_be_non_empty_strings(field: str, bad: object) -> None:
    with pytest.raises(ValidationError) as caught:
        request(**{field: bad})
    assert caught.value.field == field


@pytest.mark.parametrize("amount", [Money("0.00", USD), Money("-5.00", USD), 100, "100.00"])
def test_a_charge_amount_must_be_positive_money(amount: object) -> None:
    with pytest.raises(ValidationError) as caught:
        request(amount=amount)
    assert caught.value.field == "amount"


def test_zero_and_three_decimal_currencies_are_charged_as_given() -> None:
    assert request(amount=Money("5000", "JPY")).amount.minor == 5000
    assert request(amount=Money("12.345", "KWD")).amount.minor == 12345


def test_metadata_is_sorted_into_a_tuple() -> None:
    assert request(metadata={"b": "2", "a": "1"}).metadata == (("a", "1"), ("b", "2"))


def test_metadata_cannot_override_the_link_keys() -> None:
    with pytest.raises(ValidationError) as caught:
        request(metadata={"invoice_id": "other"})
    assert caught.value.value == "invoice_id"


@pytest.mark.parametrize(
    "metadata",
    [{"k" * 41: "v"}, {"": "v"}, {"a[b]": "v"}, {"k": "v" * 501}, {"k": 1},
     {f"k{i}": "v" for i in range(51)}],
)
def test_metadata_outside_stripes_limits_is_refused(metadata: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        request(metadata=metadata)


def test_the_link_metadata_names_agreement_invoice_and_attempt() -> None:
    assert dict(request(attempt=3, metadata={"firm": "acme"}).link_metadata()) == {
        "agreement_id": "agr-1", "invoice_id": "INV-0001", "attempt": "3", "firm": "acme"}


def test_a_bank_account_setup_needs_a_mandate() -> None:
    with pytest.raises(ValidationError) as caught:
        SetupRequest(CustomerId("cus_1"), "tok", PaymentMethodKind.BANK_DEBIT)
    assert caught.value.field == "mandate"


def test_a_mandate_time_must_be_timezone_aware() -> None:
    with pytest.raises(ValidationError) as caught:
        MandateAcceptance(datetime(2026, 1, 1))
    assert caught.value.field == "accepted_at"


def test_a_refund_amount_when_given_must_be_positive() -> None:
    with pytest.raises(ValidationError):
        RefundRequest("agr-1", "INV-1", "CN-1", "pi_1", Money("0.00", USD))
    assert RefundRequest("agr-1", "INV-1", "CN-1", "pi_1").amount is None


def test_customer_requests_key_on_the_reference() -> None:
    assert CustomerRequest("client-1", name="A").idempotency_key == CustomerRequest(
        "client-1", name="B").idempotency_key


@pytest.mark.parametrize(
    ("outcome", "advice"),
    [
        (result(ChargeStatus.SUCCEEDED), RetryAdvice.DONE),
        (result(ChargeStatus.FAILED_RETRYABLE), RetryAdvice.RETRY_SAME_KEY),
        (result(ChargeStatus.PROCESSING), RetryAdvice.WAIT_FOR_WEBHOOK),
        (result(ChargeStatus.REQUIRES_ACTION), RetryAdvice.WAIT_FOR_CUSTOMER),
        (result(ChargeStatus.DECLINED, "insufficient_funds"), RetryAdvice.RETRY_NEW_ATTEMPT),
        (result(ChargeStatus.DECLINED, "stolen_card"), RetryAdvice.STOP),
        (result(ChargeStatus.DECLINED, "generic_decline", hard=True), RetryAdvice.STOP),
        (GatewayUnavailableError("timeout"), RetryAdvice.RETRY_SAME_KEY),
        (IdempotencyError("k"), RetryAdvice.STOP),
        (GatewayError("bad key"), RetryAdvice.STOP),
        (RuntimeError("boom"), RetryAdvice.STOP),
    ],
)
def test_retry_advice_follows_the_outcome(
    outcome: ChargeResult | BaseException, advice: RetryAdvice
) -> None:
    assert retry_advice(outcome) is advice


def test_hard_declines_are_the_ones_a_retry_cannot_fix() -> None:
    assert [is_hard_decline(c) for c in ("lost_card", "expired_card", "card_declined",
                                         "insufficient_funds", "try_again_later")] == [
        True, True, False, False, False]


def test_a_success_is_never_undone_by_a_late_status() -> None:
    for late in ChargeStatus:
        assert settle_status(ChargeStatus.SUCCEEDED, late) is ChargeStatus.SUCCEEDED


def test_a_processing_debit_can_still_fail() -> None:
    assert settle_status(ChargeStatus.PROCESSING, ChargeStatus.DECLINED) is ChargeStatus.DECLINED


def test_the_in_memory_gateway_is_a_payment_gateway() -> None:
    assert isinstance(InMemoryGateway(), PaymentGateway)


def test_importing_the_gateways_package_does_not_import_stripe() -> None:
    code = "import sys, milestonebill.gateways; print('stripe' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


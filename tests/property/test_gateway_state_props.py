"""A restored in-memory gateway behaves exactly as the one that saved its state."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from milestonebill.errors import MilestonebillError
from milestonebill.gateways.base import (
    ChargeRequest,
    CustomerId,
    CustomerRequest,
    PaymentMethodId,
    PaymentMethodKind,
    RefundRequest,
    SetupRequest,
    detach_idempotency_key,
)
from milestonebill.gateways.memory import InMemoryGateway, Scripted, percent_plus_fixed
from milestonebill.money import Money

FEES = percent_plus_fixed("2.9", 30)

outcomes = st.sampled_from([
    Scripted.succeed(), Scripted.decline("insufficient_funds"), Scripted.decline("lost_card"),
    Scripted.require_action(), Scripted.stay_processing(), Scripted.time_out_after_charge(),
    Scripted.fail_retryably(),
])
customers = st.sampled_from(["cus_mem_0001", "cus_mem_0002"])
methods = st.sampled_from(["pm_mem_0001", "pm_mem_0002", "pm_mem_0003", "pm_elsewhere"])
payments = st.integers(1, 6).map(lambda n: f"pi_mem_{n:04d}")
amounts = st.sampled_from([Money("10.00", "USD"), Money("25.50", "USD"), Money("4.00", "USD")])

operations = st.one_of(
    st.tuples(st.just("customer"), st.sampled_from(["client-a", "client-b"])),
    st.tuples(st.just("setup"), customers, st.sampled_from(["tok_1", "tok_2", "tok_bank"]),
              st.none() | outcomes),
    st.tuples(st.just("charge"), st.integers(1, 3), st.integers(1, 2), amounts, customers,
              methods, st.none() | outcomes),
    st.tuples(st.just("refund"), payments, st.none() | amounts, st.sampled_from(["cn-1", "cn-2"])),
    st.tuples(st.just("settle"), payments, st.sampled_from(
        [Scripted.succeed(), Scripted.decline("insufficient_funds")])),
    st.tuples(st.just("detach"), methods),
    st.tuples(st.just("dispute"), payments),
    st.tuples(st.just("script_method"), methods, outcomes),
    st.tuples(st.just("script_next"), outcomes),
)


def perform(gw: InMemoryGateway, op: tuple[Any, ...]) -> object:
    """What one call returned (or the error it raised, as type and message)."""
    try:
        return _call(gw, op)
    except MilestonebillError as exc:
        return type(exc).__name__, str(exc)


def _call(gw: InMemoryGateway, op: tuple[Any, ...]) -> object:
    kind = op[0]
    if kind == "customer":
        return gw.create_customer(CustomerRequest(reference=op[1]))
    if kind == "setup":
        _, customer, token, script = op
        if script is not None:
            gw.script_setup(token, script)
        bank = token == "tok_bank"
        return gw.save_payment_method(SetupRequest(
            CustomerId(customer), token,
            PaymentMethodKind.BANK_DEBIT if bank else PaymentMethodKind.CARD,
            mandate=_mandate() if bank else None))
    if kind == "charge":
        _, invoice, attempt, amount, customer, method, script = op
        if script is not None:
            gw.script_next(script)
        return gw.charge(ChargeRequest("agr-1", f"INV-{invoice}", attempt, amount,
                                       CustomerId(customer), PaymentMethodId(method)))
    if kind == "refund":
        _, ref, amount, refund_id = op
        return gw.refund(RefundRequest("agr-1", "INV-1", refund_id, ref, amount))
    if kind == "settle":
        return gw.settle(op[1], op[2])
    if kind == "detach":
        gw.detach_payment_method(PaymentMethodId(op[1]),
                                 idempotency_key=detach_idempotency_key(op[1]))
        return None
    if kind == "dispute":
        return gw.open_dispute(op[1])
    if kind == "script_next":
        gw.script_next(op[1])
        return None
    gw.script_payment_method(op[1], op[2])
    return None


def _mandate() -> Any:
    from datetime import UTC, datetime

    from milestonebill.gateways.base import MandateAcceptance

    return MandateAcceptance(datetime(2026, 1, 1, tzinfo=UTC), "203.0.113.7")


def restored(gw: InMemoryGateway) -> InMemoryGateway:
    """``gw`` saved as JSON text and read back, as the command line does."""
    text = json.dumps(gw.to_state(), sort_keys=True)
    return InMemoryGateway.from_state(json.loads(text), fees=FEES)


@settings(max_examples=150)
@given(st.lists(operations, max_size=30), st.lists(operations, max_size=30))
def test_a_restored_gateway_answers_every_later_call_as_the_original_would(
        before: list[tuple[Any, ...]], after: list[tuple[Any, ...]]) -> None:
    original = InMemoryGateway(fees=FEES)
    for op in before:
        perform(original, op)
    copy = restored(original)
    assert copy.to_state() == original.to_state()
    for op in after:
        assert perform(copy, op) == perform(original, op)
    assert copy.to_state() == original.to_state()
    assert (copy.charges, copy.events, copy.calls) == (original.charges, original.events,
                                                       original.calls)
    assert copy.deliveries() == original.deliveries()


@settings(max_examples=100)
@given(st.lists(operations, max_size=40))
def test_charges_made_before_a_restore_are_replayed_not_charged_again(
        ops: list[tuple[Any, ...]]) -> None:
    original = InMemoryGateway(fees=FEES)
    for op in ops:
        perform(original, op)
    copy = restored(original)
    charged = {c.idempotency_key for c in original.charges}
    for op in ops:
        if op[0] != "charge":
            continue
        replay = ("charge", *op[1:-1], None)  # nothing scripted: a replay must not need it
        assert perform(copy, replay) == perform(original, replay)
    assert copy.to_state() == original.to_state()
    keys = [c.idempotency_key for c in copy.charges]
    assert len(keys) == len(set(keys))
    assert charged <= set(keys)

"""Properties of the gateway port: exactly-once charging, order-free webhooks."""

from __future__ import annotations

from functools import reduce

from hypothesis import given
from hypothesis import strategies as st

from milestonebill.gateways.base import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    CustomerRequest,
    SetupRequest,
    charge_idempotency_key,
    settle_status,
)
from milestonebill.gateways.memory import Behaviour, InMemoryGateway, Scripted
from milestonebill.money import Money

ids = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Zs", "Cc")),
              min_size=1, max_size=12)
statuses = st.sampled_from(list(ChargeStatus))
outcomes = st.sampled_from([
    Scripted.succeed(), Scripted.decline("insufficient_funds"), Scripted.decline("lost_card"),
    Scripted.require_action(), Scripted.stay_processing(), Scripted.time_out_after_charge(),
    Scripted.fail_retryably(),
])


def fold(items: list[ChargeStatus]) -> ChargeStatus | None:
    return reduce(settle_status, items, None)


@given(st.lists(statuses, min_size=1), st.data())
def test_webhook_order_and_duplicates_do_not_change_the_settled_status(
    items: list[ChargeStatus], data: st.DataObject
) -> None:
    delivered = data.draw(st.permutations(items + items[: len(items) // 2 + 1]))
    assert fold(delivered) == fold(items)


@given(st.tuples(ids, ids, st.integers(1, 50)), st.tuples(ids, ids, st.integers(1, 50)))
def test_distinct_attempts_never_share_a_key(
    a: tuple[str, str, int], b: tuple[str, str, int]
) -> None:
    same = charge_idempotency_key(*a) == charge_idempotency_key(*b)
    assert same == (a == b)


@given(
    st.lists(st.tuples(st.integers(1, 3), st.integers(1, 2), outcomes), min_size=1, max_size=25)
)
def test_each_attempt_reaches_the_money_at_most_once_however_often_it_is_retried(
    calls: list[tuple[int, int, Scripted]],
) -> None:
    gw = InMemoryGateway()
    cust = gw.create_customer(CustomerRequest(reference="c")).customer_id
    saved = gw.save_payment_method(SetupRequest(cust, "tok"))
    assert saved.payment_method is not None
    pm = saved.payment_method.payment_method_id
    stored: dict[str, ChargeResult | None] = {}  # None: timed out, success to come
    for invoice, attempt, outcome in calls:
        req = ChargeRequest("agr", f"INV-{invoice}", attempt, Money("10.00", "USD"), cust, pm)
        key = req.idempotency_key
        if key in stored:
            replay = gw.charge(req)
            expected = stored[key]
            if expected is None:
                assert replay.status is ChargeStatus.SUCCEEDED
                stored[key] = replay
            else:
                assert replay == expected
            continue
        gw.script_next(outcome)
        result = gw.charge(req)
        if outcome.behaviour is Behaviour.TIME_OUT_AFTER_CHARGE:
            assert result.status is ChargeStatus.FAILED_RETRYABLE
            stored[key] = None
        elif outcome.behaviour is not Behaviour.FAIL_RETRYABLY:
            stored[key] = result
    keys = [c.idempotency_key for c in gw.charges]
    assert len(keys) == len(set(keys))
    assert set(keys) <= set(stored)

"""Properties of refunds: host refunds, credit-policy refunds and customer-credit refunds.

Random agreements (USD, JPY or KWD) are completed, re-priced and sometimes
cancelled under a random credit policy, while the host asks for refunds of
random invoices and of the customer credit, and the gateway refuses,
drops or loses some refunds.  Afterwards, in minor units:

* per invoice, refunds never exceed what was paid on it;
* a host refund is refused (``RefundLimitError``, nothing written, no
  gateway call) exactly when it asks for more than :func:`refundable`;
* the client never has more back than it paid: refunds + customer credit
  outstanding <= payments;
* credit added == credit applied (to invoices, or used up by a credit
  refund) + credit outstanding, and the identity of
  ``test_engine_credit_props.py`` holds:
  ``(payments - refunds) + balances - outstanding == invoiced - credited``,
  with the ledger agreeing;
* the same refund key is never sent with two amounts (no ``IdempotencyError``)
  and, once the gateway answers again, no refund intent is left unfinished.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milestonebill.agreement import AgreementState
from milestonebill.engine import Biller, CreditPolicy, FixedClock, RetryPolicy, refundable
from milestonebill.errors import GatewayUnavailableError, RefundLimitError, ValidationError
from milestonebill.gateways.base import RefundRequest, RefundResult, RefundStatus
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.invoicing import InvoiceId
from milestonebill.money import Money
from milestonebill.schedule import MilestoneId
from milestonebill.stores.base import BillingStore
from milestonebill.testing.scenarios import AGREEMENT as AGR
from milestonebill.testing.scenarios import World, proposal
from milestonebill.testing.strategies import (
    complete_steps,
    exponent_currencies,
    milestone_lists,
    reprice_steps,
    run_steps,
)

T0 = datetime(2024, 2, 28, 9, tzinfo=UTC)


class MoodyGateway(InMemoryGateway):
    """Refunds follow ``moods``: ok, refuse (FAILED), down (before) or lose (after)."""

    def __init__(self, moods: list[str]) -> None:
        super().__init__()
        self.moods = list(moods)
        self.sent: dict[str, set[int]] = {}

    def refund(self, request: RefundRequest) -> RefundResult:
        assert request.amount is not None
        self.sent.setdefault(request.idempotency_key, set()).add(request.amount.minor)
        mood = self.moods.pop(0) if self.moods else "ok"
        if mood == "refuse":
            return RefundResult(RefundStatus.FAILED, request.amount, request.idempotency_key,
                                message="refused")
        if mood == "down":
            raise GatewayUnavailableError("connection reset")
        result = super().refund(request)
        if mood == "lose":
            raise GatewayUnavailableError("timed out")
        return result


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    cur = draw(exponent_currencies())
    milestones = draw(milestone_lists(cur, max_size=3, max_minor=10**6))
    n = len(milestones)
    step = st.one_of(
        complete_steps(n),
        reprice_steps(n),
        reprice_steps(n, max_percent=99),
        st.tuples(st.just("refund"), st.integers(0, 5), st.integers(1, 110)),
        st.tuples(st.just("refund_credit"), st.just(0), st.integers(0, 110)),
        run_steps(),
    )
    # Deliver and re-price first (credit on paid invoices), often cancel (credit
    # nothing will take), then the host's refunds.
    head = [("complete", i, 0) for i in range(n) if draw(st.booleans())]
    steps = head + draw(st.lists(step, min_size=1, max_size=12))
    if draw(st.integers(0, 3)):
        steps.insert(draw(st.integers(len(head), len(steps))), ("cancel", 0, 0))
    steps.append(("refund_credit", 0, 0))
    return {"currency": cur, "milestones": milestones, "steps": steps,
            "policy": draw(st.sampled_from([*CreditPolicy, CreditPolicy.APPLY_TO_NEXT_INVOICES])),
            "moods": draw(st.lists(st.sampled_from(["ok", "refuse", "refuse", "down", "lose"]),
                                   max_size=8))}


def _sum(values: Any) -> int:
    return sum(m.minor for m in values)


def _host_refund(biller: Biller, gateway: MoodyGateway, store: BillingStore,
                 k: int, percent: int) -> None:
    a = biller.load(AGR)
    if not a.invoices:
        return
    inv = a.invoices[k % len(a.invoices)]
    amount = Money.from_minor(max(1, inv.subtotal.minor * percent // 100), a.currency)
    cap = refundable(a, InvoiceId(inv.id))
    before = (store.load(AGR), len(store.entries()), len(gateway.sent))
    error: Exception | None = None
    try:
        biller.refund(InvoiceId(inv.id), amount)
    except (ValidationError, GatewayUnavailableError) as exc:
        error = exc
    if isinstance(error, RefundLimitError):
        assert error.maximum == cap
        assert error.requested.minor > cap.minor  # type: ignore[attr-defined]
        assert (store.load(AGR), len(store.entries()), len(gateway.sent)) == before
    elif isinstance(error, ValidationError):  # no single gateway payment can return it
        assert error.field == "amount"
    else:  # made, or left for the next run to finish
        assert amount.minor <= cap.minor  # no tax here: the credit note total is the amount


def _build(sc: dict[str, Any]) -> World[MoodyGateway]:
    cur = sc["currency"]
    w = World(gateway=MoodyGateway(sc["moods"]), clock=FixedClock(T0), credit_policy=sc["policy"],
              retry_policy=RetryPolicy(max_attempts=2, spacing_days=(1,), same_key_retries=0))
    w.open(proposal(sc["milestones"], currency=cur))
    for day, (kind, i, percent) in enumerate(sc["steps"], start=1):
        w.later(day)
        a = w.load()
        try:
            if kind == "refund":
                _host_refund(w.biller, w.gateway, w.store, i, percent)
            elif kind == "refund_credit":
                minor = a.credit_balance.minor * percent // 100
                refused: ValidationError | None = None
                try:
                    w.biller.refund_credit(AGR, None if not percent or not minor
                                           else Money.from_minor(minor, cur))
                except ValidationError as exc:
                    refused = exc
                if refused is not None:
                    # More than outstanding, or than settled payments can return.
                    assert refused.field == "amount"
                    assert w.load().events == a.events
            elif kind == "run":
                s = w.biller.run(w.clock.today())
                assert "IdempotencyError" not in {p.error for p in s.problems}
            elif a.state is not AgreementState.ACTIVE:
                continue
            elif kind == "complete":
                mid = MilestoneId(f"m{i}")
                if mid not in a.completions:
                    w.complete(mid)
            elif kind == "reprice":
                done = sorted(a.completions)
                mid = done[i % len(done)] if done else MilestoneId(f"m{i}")
                minor = max(1, sc["milestones"][int(mid[1:])].amount.minor * percent // 100)
                w.reprice(mid, Money.from_minor(minor, cur), f"am-{day}")
            else:
                w.cancel()
        except GatewayUnavailableError:
            pass  # the next run finishes what was recorded
    w.gateway.moods = []
    for extra in range(1, 4):
        w.later(len(sc["steps"]) + extra)
        s = w.biller.run(w.clock.today())
        assert s.problems == (), s.problems
    return w


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sc=scenarios())
def test_refunds_never_pay_back_more_than_was_paid(sc: dict[str, Any]) -> None:
    w = _build(sc)
    a = w.load()
    paid = _sum(p.amount for p in a.payments)
    refunded = _sum(r.amount for r in a.refunds)
    for inv in a.invoices:
        assert _sum(r.amount for r in a.refunds if r.invoice_id == inv.id) <= \
            _sum(p.amount for p in a.payments if p.invoice_id == inv.id)
    outstanding = a.credit_balance.minor
    # An amendment credit after a refund credit note credits only what the
    # invoice still holds (the refund absorbs the rest), so the client is
    # never owed more than it paid.
    assert refunded + outstanding <= paid
    # Credit added is applied or outstanding, and the money identity holds
    # with the ledger agreeing.
    w.check_money()
    # One amount per refund key; every intent finished (refunded or given up).
    assert all(len(amounts) == 1 for amounts in w.gateway.sent.values())
    assert w.store.unfinished_attempts() == []

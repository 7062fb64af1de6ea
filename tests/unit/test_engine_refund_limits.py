"""Refund safety: caps, stable retries, refusals and refunding customer credit."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from milestonebill.agreement import complete_milestone
from milestonebill.engine import CreditPolicy, FixedClock, RetryPolicy, refundable
from milestonebill.errors import (
    GatewayUnavailableError,
    RefundLimitError,
    ValidationError,
)
from milestonebill.gateways.base import (
    RefundRequest,
    RefundResult,
    RefundStatus,
    refund_idempotency_key,
)
from milestonebill.gateways.memory import InMemoryGateway, Scripted
from milestonebill.invoicing import InvoiceId, invoice_balance
from milestonebill.ledger import Account
from milestonebill.money import Money
from milestonebill.schedule import MilestoneId
from milestonebill.stores.base import AttemptKey, BillingStore
from milestonebill.stores.sqlite import SQLiteStore
from milestonebill.testing.scenarios import AGREEMENT as AGR
from milestonebill.testing.scenarios import T0, World, proposal, usd

D0 = T0.date()


class RefundGateway(InMemoryGateway):
    """Refunds can be refused (``refuse``), unreachable before anything happens
    (``down``) or made and then lost on the way back (``lose``); all requests
    are kept in ``refund_requests``."""

    def __init__(self) -> None:
        super().__init__()
        self.refuse = 0
        self.down = 0
        self.lose = 0
        self.invalid = 0
        self.refund_requests: list[RefundRequest] = []

    def refund(self, request: RefundRequest) -> RefundResult:
        self.refund_requests.append(request)
        if self.refuse > 0:
            self.refuse -= 1
            return RefundResult(RefundStatus.FAILED, request.amount or usd("0.01"),
                                request.idempotency_key, message="charge_disputed")
        if self.down > 0:
            self.down -= 1
            raise GatewayUnavailableError("connection reset")
        if self.invalid > 0:
            self.invalid -= 1
            raise ValidationError("amount", "at most what is left on the payment", request.amount)
        result = super().refund(request)
        if self.lose > 0:
            self.lose -= 1
            raise GatewayUnavailableError("timed out reading the response")
        return result


def _world(store: BillingStore | None = None, **biller: Any) -> World[RefundGateway]:
    return World(store, gateway=RefundGateway(), **biller)


def _snapshot(w: World[RefundGateway]) -> tuple[Any, ...]:
    """What a refused refund leaves as it was: the agreement, the journal, the
    outbox and how many refunds were asked of the gateway."""
    return (*w.snapshot("agreements", "entries", "notifications"),
            len(w.gateway.refund_requests))


def _paid_then_cut(w: World[RefundGateway]) -> InvoiceId:
    """Design (1,000.00) invoiced and paid, then re-priced to 600.00."""
    w.open()
    inv = w.complete("design").invoices[0]
    w.later(1)
    w.reprice("design", "600.00")
    return InvoiceId(inv.id)


def _identity(w: World[RefundGateway]) -> None:
    a = w.biller.load(AGR)

    def total(ms: Any) -> int:
        return sum(m.minor for m in ms)

    balances = sum(invoice_balance(a, i.id).minor for i in a.invoices)
    paid, refunded = total(p.amount for p in a.payments), total(r.amount for r in a.refunds)
    assert (paid - refunded) + balances - a.credit_balance.minor == \
        total(i.total for i in a.invoices) - total(c.total for c in a.credit_notes)
    for inv in a.invoices:
        assert total(r.amount for r in a.refunds if r.invoice_id == inv.id) <= \
            total(p.amount for p in a.payments if p.invoice_id == inv.id)
    assert w.ledger_sum() == 0
    assert w.balance(Account.CUSTOMER_CREDIT).minor == -a.credit_balance.minor
    assert w.balance(Account.CLEARING).minor == paid - refunded


# ------------------------------------------------------------------ 1. the cap


def test_a_refund_cannot_pay_back_what_already_became_customer_credit() -> None:
    w = _world()
    first = _paid_then_cut(w)
    a = w.biller.load(AGR)
    assert a.credit_balance == usd("400.00")
    assert refundable(a, first) == usd("600.00")
    before = _snapshot(w)
    with pytest.raises(RefundLimitError) as err:
        w.biller.refund(first, usd("1000.00"))
    assert (err.value.invoice_id, err.value.requested, err.value.maximum) == (
        first, usd("1000.00"), usd("600.00"))
    assert err.value.field == "amount"
    assert first in str(err.value)
    assert "600.00 USD" in str(err.value)
    assert _snapshot(w) == before  # nothing written, the gateway not called
    a = w.biller.refund(first, usd("600.00"))
    assert [r.amount for r in a.refunds] == [usd("600.00")]
    assert refundable(a, first) == usd("0.00")
    with pytest.raises(RefundLimitError) as err:
        w.biller.refund(first, usd("0.01"))
    assert err.value.maximum == usd("0.00")
    _identity(w)


def test_a_held_over_credit_limits_the_refund_too() -> None:
    w = _world(credit_policy=CreditPolicy.HOLD)
    first = _paid_then_cut(w)
    assert invoice_balance(w.biller.load(AGR), first) == usd("-400.00")
    with pytest.raises(RefundLimitError) as err:
        w.biller.refund(first, usd("1000.00"))
    assert err.value.maximum == usd("600.00")
    assert w.gateway.refund_requests == []


def test_a_refund_after_the_refund_policy_paid_back_is_capped() -> None:
    w = _world(credit_policy=CreditPolicy.REFUND)
    first = _paid_then_cut(w)
    assert [r.amount for r in w.biller.load(AGR).refunds] == [usd("400.00")]
    with pytest.raises(RefundLimitError) as err:
        w.biller.refund(first, usd("600.01"))
    assert err.value.maximum == usd("600.00")
    w.biller.refund(first, usd("600.00"))
    with pytest.raises(RefundLimitError):
        w.biller.refund(first, usd("0.01"))
    assert len(w.gateway.refund_requests) == 2
    _identity(w)


def test_an_unpaid_invoice_has_nothing_to_refund() -> None:
    w = _world()
    w.open()
    w.gateway.script_next(Scripted.decline("stolen_card"))
    inv = w.complete("design").invoices[0]
    assert refundable(w.biller.load(AGR), inv.id) == usd("0.00")
    with pytest.raises(RefundLimitError):
        w.biller.refund(inv.id, usd("1.00"))


# ------------------------------------------------------------------ 2. stable retries


def test_a_policy_refund_is_retried_with_its_recorded_amount() -> None:
    w = _world(credit_policy=CreditPolicy.REFUND)
    w.open()
    first = InvoiceId(w.complete("design").invoices[0].id)
    w.later(1)
    w.gateway.lose = 1  # the refund of 400.00 is made, but the answer is lost
    with pytest.raises(GatewayUnavailableError):
        w.reprice("design", "600.00")
    a = w.biller.load(AGR)
    (cn,) = a.credit_notes
    key = refund_idempotency_key(AGR, first, cn.id)
    rec = w.store.get_attempt(AttemptKey(key))
    assert rec is not None
    assert (rec.finished, rec.amount) == (False, usd("400.00"))
    # Meanwhile the host refunds 300.00 of the same invoice, and that refund is
    # still on its way: recomputed, the policy refund would now be 100.00.
    w.gateway.down = 1
    with pytest.raises(GatewayUnavailableError):
        w.biller.refund(first, usd("300.00"))
    s = w.biller.run(D0 + timedelta(days=1))
    assert s.problems == ()
    a = w.biller.load(AGR)
    assert sorted(r.amount.minor for r in a.refunds) == [30000, 40000]
    sent = [r.amount for r in w.gateway.refund_requests if r.idempotency_key == key]
    assert sent == [usd("400.00"), usd("400.00")]
    assert w.store.get_attempt(AttemptKey(key)).finished  # type: ignore[union-attr]
    assert w.store.unfinished_attempts() == []
    assert invoice_balance(a, first) == usd("0.00")
    _identity(w)


def test_reconcile_finishes_a_refund_intent_with_its_amount() -> None:
    w = _world(credit_policy=CreditPolicy.REFUND, reconcile_grace_seconds=0)
    w.open()
    w.complete("design")
    w.later(1)
    w.gateway.down = 1
    with pytest.raises(GatewayUnavailableError):
        w.reprice("design", "600.00")
    assert [r.amount for r in w.store.unfinished_attempts()] == [usd("400.00")]
    w.biller.reconcile()
    assert [r.amount for r in w.biller.load(AGR).refunds] == [usd("400.00")]
    assert w.store.unfinished_attempts() == []
    before = _snapshot(w)
    w.biller.reconcile()
    w.biller.run(D0 + timedelta(days=3))
    assert _snapshot(w) == before


# ------------------------------------------------------------------ 4. refusals stop


def test_a_refused_refund_stops_after_the_policy_limit_and_tells_the_host() -> None:
    w = _world(credit_policy=CreditPolicy.REFUND,
              retry_policy=RetryPolicy(max_attempts=3, spacing_days=(1,)))
    w.gateway.refuse = 100
    first = _paid_then_cut(w)
    for day in range(1, 8):
        w.biller.run(D0 + timedelta(days=day))
    a = w.biller.load(AGR)
    assert a.refunds == ()
    assert len(w.gateway.refund_requests) == 3
    kinds = w.notes()
    assert (kinds.count("refund.failed"), kinds.count("refund.abandoned")) == (2, 1)
    (cn,) = a.credit_notes
    rec = w.store.get_attempt(AttemptKey(refund_idempotency_key(AGR, first, cn.id)))
    assert rec is not None
    assert rec.outcome_data is not None
    assert (rec.outcome_data["status"], rec.outcome_data["failures"]) == ("failed", 3)
    assert w.store.next_due(AGR) is None
    assert w.store.unfinished_attempts() == []
    # The money stays owed to the client on the invoice, for the host to settle.
    assert invoice_balance(a, first) == usd("-400.00")


@pytest.mark.parametrize("how", ["refuse", "invalid"])
def test_a_refused_host_refund_is_not_retried_forever(how: str) -> None:
    w = _world(retry_policy=RetryPolicy(max_attempts=2, spacing_days=(1,)))
    w.open()
    inv = InvoiceId(w.complete("design").invoices[0].id)
    setattr(w.gateway, how, 100)
    w.biller.refund(inv, usd("100.00"))
    for day in range(1, 6):
        w.biller.run(D0 + timedelta(days=day))
    assert len(w.gateway.refund_requests) == 2
    assert w.notes().count("refund.abandoned") == 1
    assert w.store.next_due(AGR) is None


# ------------------------------------------------------------------ 3. refunding credit


def _credit_after_cancel(w: World[RefundGateway]) -> InvoiceId:
    first = _paid_then_cut(w)
    w.later(2)
    w.cancel()
    a = w.biller.load(AGR)
    assert a.credit_balance == usd("400.00")
    return first


def test_outstanding_credit_is_refunded_once() -> None:
    w = _world()
    first = _credit_after_cancel(w)
    a = w.biller.refund_credit(AGR)
    assert a.credit_balance == usd("0.00")
    ((inv_id, amount),) = [(r.invoice_id, r.amount) for r in a.refunds]
    assert (inv_id, amount) == (first, usd("400.00"))
    assert invoice_balance(a, first) == usd("0.00")
    assert w.balance(Account.CUSTOMER_CREDIT) == usd("0.00")
    assert w.balance(Account.CLEARING) == usd("600.00")
    assert w.balance(Account.RECEIVABLE) == usd("0.00")
    (req,) = w.gateway.refund_requests
    assert req.idempotency_key == refund_idempotency_key(AGR, first, "credit-refund-1")
    assert w.notes().count("credit.refunded") == 1
    # What is left to refund on the invoice is what the client kept paying for.
    assert refundable(a, first) == usd("600.00")
    before = _snapshot(w)
    w.biller.refund_credit(AGR)  # nothing outstanding: a no-op
    w.biller.run(D0 + timedelta(days=5))
    assert _snapshot(w) == before
    _identity(w)


def test_part_of_the_credit_can_be_refunded_and_too_much_is_refused() -> None:
    w = _world()
    _credit_after_cancel(w)
    before = _snapshot(w)
    for bad in (usd("400.01"), usd("0.00"), Money("1.00", "EUR")):
        with pytest.raises(ValidationError) as err:
            w.biller.refund_credit(AGR, bad)
        assert err.value.field == "amount"
    assert _snapshot(w) == before
    w.biller.refund_credit(AGR, usd("150.00"))
    w.biller.refund_credit(AGR, usd("250.00"))
    a = w.biller.load(AGR)
    assert [r.amount for r in a.refunds] == [usd("150.00"), usd("250.00")]
    assert a.credit_balance == usd("0.00")
    keys = {r.idempotency_key for r in w.gateway.refund_requests}
    assert len(keys) == 2
    _identity(w)


def test_an_interrupted_credit_refund_is_finished_not_repeated() -> None:
    w = _world()
    _credit_after_cancel(w)
    w.gateway.lose = 1  # the refund is made; its answer is lost
    with pytest.raises(GatewayUnavailableError):
        w.biller.refund_credit(AGR, usd("400.00"))
    a = w.biller.load(AGR)
    assert (a.refunds, a.credit_balance) == ((), usd("400.00"))
    assert w.store.next_due(AGR) is not None
    # The host retries (even asking for a different amount): the recorded
    # refund is finished, nothing else is refunded.
    a = w.biller.refund_credit(AGR, usd("100.00"))
    assert [r.amount for r in a.refunds] == [usd("400.00")]
    assert a.credit_balance == usd("0.00")
    assert len({r.idempotency_key for r in w.gateway.refund_requests}) == 1
    assert w.store.unfinished_attempts() == []
    _identity(w)


def test_run_finishes_an_interrupted_credit_refund_and_holds_its_credit() -> None:
    w = _world()
    w.open(proposal([("design", "1000.00"), ("build", "1500.00"), ("launch", "500.00")]))
    w.complete("design")
    w.later(1)
    w.reprice("design", "600.00")
    w.gateway.down = 1
    with pytest.raises(GatewayUnavailableError):
        w.biller.refund_credit(AGR)
    assert w.store.next_due(AGR) == w.clock.today()
    # A new invoice is due meanwhile: the credit promised to the refund is not
    # planned for it, nor applied to it.
    w.later(2)
    a = w.biller.load(AGR)
    w.biller.record(AGR, [complete_milestone(a, MilestoneId("build"), by="Ada",
                                             at=w.clock.now())])
    dry = w.biller.dry_run(w.clock.today())
    assert [c.amount for c in dry.charges] == [usd("1500.00")]
    s = w.biller.run(w.clock.today())
    assert [c.amount for c in s.charges] == [usd("1500.00")]
    a = w.biller.load(AGR)
    assert [r.amount for r in a.refunds] == [usd("400.00")]
    assert (a.credit_balance, a.credits_applied[0].event_id.split(":")[1]) == (
        usd("0.00"), "credit-refunded")
    _identity(w)


def test_a_lost_credit_refund_keeps_its_cash_from_a_later_host_refund() -> None:
    # Found by Hypothesis (seed 4): the gateway made a customer-credit refund
    # but the answer was lost; a host refund then took the same cash on paper,
    # so the journalled refund could never be finished and billing stuck.
    w = _world(credit_policy=CreditPolicy.APPLY_TO_NEXT_INVOICES,
              retry_policy=RetryPolicy(max_attempts=2, spacing_days=(1,), same_key_retries=0))
    w.open()
    first = InvoiceId(w.complete("design").invoices[0].id)
    w.later(1)
    w.complete("build")
    w.later(2)
    w.reprice("build", "1000.00")  # 500.00 over-credit becomes customer credit
    w.later(3)
    w.biller.refund(first, usd("500.00"))
    assert refundable(w.biller.load(AGR), first) == usd("500.00")
    w.later(4)
    w.gateway.refuse = 1
    w.biller.refund_credit(AGR)  # refused once: the intent (500.00 on `first`) stays
    w.later(5)
    w.gateway.lose = 1  # retried: the gateway refunds 500.00, the answer is lost
    with pytest.raises(GatewayUnavailableError):
        w.biller.refund_credit(AGR)
    a = w.biller.load(AGR)
    assert a.credit_balance == usd("500.00")
    # The last 500.00 paid on `first` already went back at the gateway: a host
    # refund of it is refused, nothing written and the gateway not called.
    w.later(6)
    before = _snapshot(w)
    with pytest.raises(ValidationError) as err:
        w.biller.refund(first, usd("500.00"))
    assert err.value.field == "amount"
    assert _snapshot(w) == before
    w.later(7)
    s = w.biller.run(w.clock.today())
    assert s.problems == ()
    a = w.biller.load(AGR)
    key = refund_idempotency_key(AGR, first, "credit-refund-1")
    assert [(r.idempotency_key, r.amount) for r in a.refunds if r.invoice_id == first][-1] \
        == (key, usd("500.00"))  # exactly the journalled amount
    assert a.credit_balance == usd("0.00")
    assert invoice_balance(a, first) == usd("0.00")
    assert {r.amount for r in w.gateway.refund_requests if r.idempotency_key == key} \
        == {usd("500.00")}
    assert w.store.unfinished_attempts() == []
    w.later(8)
    assert w.biller.run(w.clock.today()).problems == ()
    _identity(w)


def test_no_host_refund_while_a_refused_credit_refund_is_pending_on_the_invoice() -> None:
    # Also found by Hypothesis: a host refund's credit note, still on its way,
    # left the invoice owing the client, so the pending credit refund's
    # CreditApplied found no balance to take when it was finally made.
    w = _world(credit_policy=CreditPolicy.APPLY_TO_NEXT_INVOICES,
              retry_policy=RetryPolicy(max_attempts=3, spacing_days=(1,), same_key_retries=0))
    first = _paid_then_cut(w)  # 400.00 customer credit; 600.00 still refundable
    w.gateway.refuse = 1
    w.biller.refund_credit(AGR)  # refused: its intent (400.00 on `first`) stays
    assert refundable(w.biller.load(AGR), first) == usd("600.00")
    before = _snapshot(w)
    with pytest.raises(ValidationError) as err:
        w.biller.refund(first, usd("100.00"))
    assert err.value.field == "amount"
    assert _snapshot(w) == before
    w.later(2)
    assert w.biller.run(w.clock.today()).problems == ()
    a = w.biller.load(AGR)
    assert [r.amount for r in a.refunds] == [usd("400.00")]
    assert a.credit_balance == usd("0.00")
    w.biller.refund(first, usd("100.00"))  # finished: the invoice may be refunded again
    w.later(3)
    assert w.biller.run(w.clock.today()).problems == ()
    assert [r.amount for r in w.biller.load(AGR).refunds] == [usd("400.00"), usd("100.00")]
    assert w.store.unfinished_attempts() == []
    _identity(w)


def test_refunding_credit_on_a_sqlite_store(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "b.db", clock=FixedClock(T0)) as store:
        w = _world(store=store, retry_policy=RetryPolicy(max_attempts=2, spacing_days=(1,)))
        _credit_after_cancel(w)
        w.gateway.refuse = 1
        w.biller.refund_credit(AGR)
        assert w.notes().count("refund.failed") == 1
        a = w.biller.refund_credit(AGR)
        assert a.credit_balance == usd("0.00")
        assert w.store.unfinished_attempts() == []
        _identity(w)


@pytest.mark.postgres
def test_refund_limits_on_postgres(pg_dsn: str, pg_schema: str) -> None:
    from milestonebill.stores.postgres import PostgresStore

    with PostgresStore(pg_dsn, schema=pg_schema, clock=FixedClock(T0)) as store:
        w = _world(store=store, credit_policy=CreditPolicy.REFUND,
                  retry_policy=RetryPolicy(max_attempts=2, spacing_days=(1,)))
        w.gateway.refuse = 2
        first = _paid_then_cut(w)
        w.biller.run(D0 + timedelta(days=2))
        w.biller.run(D0 + timedelta(days=3))
        assert len(w.gateway.refund_requests) == 2
        assert w.notes().count("refund.abandoned") == 1
        assert w.store.unfinished_attempts() == []
        with pytest.raises(RefundLimitError) as err:
            w.biller.refund(first, usd("600.01"))
        assert err.value.maximum == usd("600.00")
        w.biller.refund(first, usd("600.00"))
        a = w.biller.load(AGR)
        assert [r.amount for r in a.refunds] == [usd("600.00")]
        assert sum(m.minor for m in store.balances(currency="USD").values()) == 0


# ------------------------------------- 5. an item's first and adjustment invoices


def _dump(w: World[RefundGateway], step: str) -> None:
    """Print the agreement's documents and money (shown with ``pytest -s``)."""
    a = w.biller.load(AGR)
    print(f"--- after {step}")
    for inv in a.invoices:
        print("  invoice", inv.id, [(ln.item_key, str(ln.amount)) for ln in inv.lines])
    for cn in a.credit_notes:
        print("  credit note", cn.credits, cn.reason.value, str(cn.total))
    for p in a.payments:
        print("  payment", p.invoice_id, str(p.amount))
    for r in a.refunds:
        print("  refund", r.invoice_id, str(r.amount))
    for added in a.credits_added:
        print("  credit added", added.invoice_id, str(added.amount))
    for applied in a.credits_applied:
        print("  credit applied", applied.invoice_id, str(applied.amount))
    print("  customer credit", a.credit_balance)


def _given_back(w: World[RefundGateway]) -> tuple[int, int]:
    """(paid, refunded + customer credit outstanding) in minor units."""
    a = w.biller.load(AGR)
    paid = sum(p.amount.minor for p in a.payments)
    return paid, sum(r.amount.minor for r in a.refunds) + a.credit_balance.minor


def test_an_adjustment_invoice_credited_on_the_first_invoice_is_not_refunded_again() -> None:
    # Found by test_engine_refund_props.py: 1.00 invoiced and paid, re-priced
    # to 1.01 (adjustment invoice 0.01, paid), 0.01 refunded on the first
    # invoice, re-priced to 0.01 (the 1.00 credit on the first invoice takes
    # back the adjustment invoice's 0.01 too: 1.00 is customer credit), then
    # the host asks for 0.01 back on the adjustment invoice.
    w = _world()
    w.open(proposal([("design", "1.00")]))
    first = InvoiceId(w.complete("design").invoices[0].id)
    _dump(w, "complete")
    w.later(1)
    w.reprice("design", "1.01", amendment_id="am-1")
    a = w.biller.load(AGR)
    adjustment = InvoiceId(a.invoices[1].id)
    assert [p.amount for p in a.payments] == [usd("1.00"), usd("0.01")]
    _dump(w, "reprice to 1.01")
    w.later(2)
    w.biller.refund(first, usd("0.01"))
    _dump(w, "refund 0.01 on the first invoice")
    w.later(3)
    w.reprice("design", "0.01", amendment_id="am-2")
    a = w.biller.load(AGR)
    _dump(w, "reprice to 0.01")
    assert [c.total for c in a.credit_notes if c.reason.value == "amendment"] == [usd("1.00")]
    assert a.credit_balance == usd("1.00")
    assert _given_back(w) == (101, 101)
    # Its 0.01 is already in the customer credit: nothing is left to refund.
    assert refundable(a, adjustment) == usd("0.00")
    assert refundable(a, first) == usd("0.00")
    w.later(4)
    before = _snapshot(w)
    with pytest.raises(RefundLimitError) as err:
        w.biller.refund(adjustment, usd("0.01"))
    assert (err.value.requested, err.value.maximum) == (usd("0.01"), usd("0.00"))
    assert _snapshot(w) == before
    _dump(w, "refused refund on the adjustment invoice")
    w.later(5)
    a = w.biller.refund_credit(AGR)
    _dump(w, "refund_credit")
    assert a.credit_balance == usd("0.00")
    assert _given_back(w) == (101, 101)
    _identity(w)


@pytest.mark.parametrize("policy", [CreditPolicy.APPLY_TO_NEXT_INVOICES, CreditPolicy.HOLD])
def test_an_adjustment_invoice_is_capped_by_its_items_credit(policy: CreditPolicy) -> None:
    # 1.00 paid, re-priced to 1.50 (0.50 paid on the adjustment invoice), then
    # to 0.10: the 1.40 credit on the first invoice takes back 0.40 of what the
    # adjustment invoice billed, so only 0.10 of its 0.50 may still be refunded.
    w = _world(credit_policy=policy)
    w.open(proposal([("design", "1.00")]))
    w.complete("design")
    w.later(1)
    w.reprice("design", "1.50", amendment_id="am-1")
    w.later(2)
    w.reprice("design", "0.10", amendment_id="am-2")
    w.biller.run(w.clock.today())
    a = w.biller.load(AGR)
    _dump(w, "reprice to 0.10")
    adjustment = InvoiceId(a.invoices[1].id)
    moved = usd("1.40") if policy is CreditPolicy.APPLY_TO_NEXT_INVOICES else usd("0.00")
    assert a.credit_balance == moved
    assert refundable(a, adjustment) == usd("0.10")
    before = _snapshot(w)
    with pytest.raises(RefundLimitError) as err:
        w.biller.refund(adjustment, usd("0.50"))
    assert err.value.maximum == usd("0.10")
    assert _snapshot(w) == before
    w.biller.refund(adjustment, usd("0.10"))
    a = w.biller.load(AGR)
    assert refundable(a, adjustment) == usd("0.00")
    owed = -sum(invoice_balance(a, i.id).minor for i in a.invoices)  # held on the invoice
    assert _given_back(w)[0] == 150
    assert _given_back(w)[1] + owed == 150  # never more than was paid
    _identity(w)

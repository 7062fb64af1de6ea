"""A gateway refund webhook racing our own unfinished refund is matched to its intent.

The Biller records a refund's intent in the attempt journal, calls the
gateway, then records ``Refunded``.  The gateway's ``PAYMENT_REFUNDED``
webhook (Stripe's ``charge.refunded``) can arrive in between -- here forced
by crashing at the ``after_refund`` fault step.  It must finish our intent,
not add a second, "external" refund for the same money.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from milestonebill.errors import GatewayUnavailableError
from milestonebill.gateways.base import RefundRequest, RefundResult
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.invoicing import InvoiceId, invoice_balance
from milestonebill.ledger import Account
from milestonebill.money import Money
from milestonebill.testing.faults import REFUND_STEPS, Faults
from milestonebill.testing.scenarios import AGREEMENT as AGR
from milestonebill.testing.scenarios import World, proposal, usd


class Crash(Exception):
    pass


class SwitchableGateway(InMemoryGateway):
    """Refund calls raise ``GatewayUnavailableError`` while ``down``."""

    down = False

    def refund(self, request: RefundRequest) -> RefundResult:
        if self.down:
            raise GatewayUnavailableError("connection reset")
        return super().refund(request)


class Race(World[SwitchableGateway]):
    """Design (1,000.00) charged by ``victim``, a Biller that crashes at the
    step ``crash_at``.  ``fresh`` (the world's Biller from then on) is a
    restarted worker, or the web process taking webhooks: no fault hook."""

    def __init__(self, crash_at: str) -> None:
        def fault(step: str) -> None:
            if step == crash_at:
                raise Crash(step)

        super().__init__(gateway=SwitchableGateway(), faults=Faults(fault))
        self.open(proposal([("design", "1000.00")]))
        self.invoice = InvoiceId(self.complete("design").invoices[0].id)
        self.since = len(self.gateway.events)
        self.victim = self.biller
        self.biller = self.fresh = self.worker()

    def crash_refund(self, amount: str) -> None:
        with pytest.raises(Crash):
            self.victim.refund(self.invoice, usd(amount))

    def check_books(self, refunded: str) -> None:
        books = self.store.balances(currency="USD")
        assert sum(m.minor for m in books.values()) == 0
        paid_back = usd("1000.00") - usd(refunded)
        assert books.get(Account.CLEARING, Money.zero("USD")) == paid_back
        assert self.store.unfinished_attempts() == []


def test_a_crash_after_the_gateway_refund_then_its_webhook_records_one_refund() -> None:
    w = Race(crash_at="after_refund")
    w.crash_refund("400.00")
    (intent,) = w.store.unfinished_attempts()  # gateway called, result not recorded
    assert w.fresh.load(AGR).refunds == ()
    (ev,) = w.webhooks(w.since)
    assert ev.amount == usd("400.00")  # total refunded on the payment so far
    appended = w.fresh.apply_gateway_event(ev)
    assert [type(e).__name__ for e in appended] == ["Refunded"]
    assert w.fresh.apply_gateway_event(ev) == ()  # a duplicate delivery changes nothing
    w.clock.advance(timedelta(minutes=10))
    w.fresh.reconcile()
    w.fresh.run(w.clock.today())
    a = w.fresh.load(AGR)
    (r,) = a.refunds
    assert (r.amount, r.idempotency_key) == (usd("400.00"), intent.key)
    assert invoice_balance(a, w.invoice) == usd("0.00")
    assert len(w.webhooks(w.since)) == 1  # the gateway moved money once
    w.check_books(refunded="400.00")


def test_reconcile_before_the_late_webhook_also_records_one_refund() -> None:
    w = Race(crash_at="after_refund")
    w.crash_refund("250.00")
    w.clock.advance(timedelta(minutes=10))
    w.fresh.reconcile()
    (ev,) = w.webhooks(w.since)
    assert w.fresh.apply_gateway_event(ev) == ()
    assert [r.amount for r in w.fresh.load(AGR).refunds] == [usd("250.00")]
    w.check_books(refunded="250.00")


def test_a_webhook_while_the_gateway_cannot_answer_leaves_our_intent_to_reconcile() -> None:
    w = Race(crash_at="after_refund")
    w.crash_refund("400.00")
    (ev,) = w.webhooks(w.since)
    w.gateway.down = True
    assert w.fresh.apply_gateway_event(ev) == ()  # counted as ours, not as external
    assert len(w.store.unfinished_attempts()) == 1
    w.gateway.down = False
    w.clock.advance(timedelta(minutes=10))
    w.fresh.reconcile()
    assert [r.amount for r in w.fresh.load(AGR).refunds] == [usd("400.00")]
    w.check_books(refunded="400.00")


def test_an_outside_refund_beside_our_unfinished_one_is_recorded_once_each() -> None:
    w = Race(crash_at="after_refund")
    w.crash_refund("100.00")
    payment = w.fresh.load(AGR).payments[0].gateway_reference
    w.gateway.refund(RefundRequest(AGR, w.invoice, "dashboard-1", payment, amount=usd("50.00")))
    events = w.webhooks(w.since)
    assert [e.amount for e in events] == [usd("100.00"), usd("150.00")]
    for ev in (events[1], events[0], events[1]):  # out of order, and repeated
        w.fresh.apply_gateway_event(ev)
    w.clock.advance(timedelta(minutes=10))
    w.fresh.reconcile()
    a = w.fresh.load(AGR)
    assert sorted(r.amount.minor for r in a.refunds) == [5000, 10000]
    w.check_books(refunded="150.00")


def test_the_fault_hook_sees_the_refund_steps_in_order() -> None:
    seen: list[str] = []
    w = Race(crash_at="never")
    refunder = w.worker(Faults(seen.append))
    refunder.refund(w.invoice, usd("10.00"))
    assert tuple(s for s in seen if s in REFUND_STEPS) == REFUND_STEPS


def test_a_customer_credit_refund_racing_its_webhook_is_recorded_once() -> None:
    w = Race(crash_at="after_refund")
    w.reprice("design", "700.00", amendment_id="cut")
    assert w.fresh.load(AGR).credit_balance == usd("300.00")
    with pytest.raises(Crash):
        w.victim.refund_credit(AGR)
    (ev,) = w.webhooks(w.since)
    assert [type(e).__name__ for e in w.fresh.apply_gateway_event(ev)] == [
        "Refunded", "CreditApplied"]
    assert w.fresh.apply_gateway_event(ev) == ()
    w.clock.advance(timedelta(minutes=10))
    w.fresh.reconcile()
    a = w.fresh.load(AGR)
    assert [r.amount for r in a.refunds] == [usd("300.00")]
    assert a.credit_balance == usd("0.00")
    w.check_books(refunded="300.00")

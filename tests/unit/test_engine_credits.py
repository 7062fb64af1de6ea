"""Credits on paid invoices: the Biller's CreditPolicy (apply, refund, hold)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from milestonebill.agreement import (
    CreditApplied,
    CustomerCreditAdded,
    apply,
    complete_milestone,
    event_from_json,
    event_to_json,
)
from milestonebill.engine import (
    Biller,
    CollectionState,
    CreditPolicy,
    FixedClock,
    collection_state,
)
from milestonebill.errors import GatewayUnavailableError, ValidationError
from milestonebill.gateways.base import RefundRequest, RefundResult, refund_idempotency_key
from milestonebill.gateways.memory import InMemoryGateway, Scripted
from milestonebill.invoicing import InvoiceId, invoice_balance
from milestonebill.ledger import Account
from milestonebill.schedule import Interval, ItemId, MilestoneId, RecurringCharge
from milestonebill.stores.memory import InMemoryStore
from milestonebill.stores.sqlite import SQLiteStore
from milestonebill.testing.faults import CREDIT_STEPS, Faults
from milestonebill.testing.scenarios import AGREEMENT as AGR
from milestonebill.testing.scenarios import FIRM, T0, World, proposal, usd

D0 = T0.date()
#: What a step that must change nothing is checked against.
UNCHANGED = ("agreements", "entries", "notifications", "charges", "gateway_events")


def _paid_then_cut(w: World[InMemoryGateway], cut_to: str = "600.00") -> InvoiceId:
    """Design (1,000.00) invoiced and paid, then repriced: a credit on a paid invoice."""
    w.open()
    inv = w.complete("design").invoices[0]
    w.later(1)
    s = w.reprice("design", cut_to)
    assert [c.credits for c in s.credit_notes] == [inv.id]
    return InvoiceId(inv.id)


# ------------------------------------------------------------------ apply (default)


def test_over_credit_becomes_customer_credit_and_pays_the_next_invoice() -> None:
    w = World()
    assert w.biller.credit_policy is CreditPolicy.APPLY_TO_NEXT_INVOICES
    first = _paid_then_cut(w)
    a = w.biller.load(AGR)
    cut = usd("1000.00") - usd("600.00")
    assert invoice_balance(a, first) == usd("0.00")
    assert a.credit_balance == cut
    assert w.balance(Account.RECEIVABLE) == usd("0.00")
    assert w.balance(Account.CUSTOMER_CREDIT) == -cut  # a liability: credit-normal
    w.later(2)
    s = w.complete("build")
    nxt = s.invoices[0]
    assert nxt.total == usd("1500.00")
    # Only the remainder is charged.
    assert [c.amount for c in s.charges] == [nxt.total - cut]
    assert w.charged() == [usd("1000.00"), nxt.total - cut]
    a = w.biller.load(AGR)
    assert [(x.invoice_id, x.amount) for x in a.credits_applied] == [(nxt.id, cut)]
    assert a.credit_balance == usd("0.00")
    assert invoice_balance(a, nxt.id) == usd("0.00")
    assert w.balance(Account.RECEIVABLE) == usd("0.00")
    assert w.balance(Account.CUSTOMER_CREDIT) == usd("0.00")
    assert w.ledger_sum() == 0
    kinds = w.notes()
    assert (kinds.count("credit.added"), kinds.count("credit.applied")) == (1, 1)
    assert kinds.count("invoice.overcredited") == 1


def test_applying_credit_is_idempotent_across_runs_and_replays() -> None:
    w = World()
    _paid_then_cut(w)
    w.later(2)
    w.complete("build")
    before = w.snapshot(*UNCHANGED)
    w.store.set_next_due(AGR, D0)
    w.biller.run(D0 + timedelta(days=2))
    w.biller.run(D0 + timedelta(days=30))
    w.biller.bill(AGR)
    assert w.snapshot(*UNCHANGED) == before


def test_an_invoice_fully_covered_by_credit_is_not_charged() -> None:
    w = World()
    w.open(proposal([("design", "1000.00"), ("build", "300.00")]))
    w.complete("design")
    w.later(1)
    w.reprice("design", "600.00")
    w.later(2)
    s = w.complete("build")
    inv = s.invoices[0]
    assert s.charges == ()
    assert w.charged() == [usd("1000.00")]
    a = w.biller.load(AGR)
    assert invoice_balance(a, inv.id) == usd("0.00")
    assert collection_state(a, inv.id).state is CollectionState.SETTLED
    # 400.00 of credit, 300.00 used: 100.00 stays for later invoices.
    assert a.credit_balance == usd("100.00")
    assert w.balance(Account.CUSTOMER_CREDIT) == usd("-100.00")
    assert w.store.next_due(AGR) is None


def test_credit_applies_to_an_invoice_left_open_by_a_decline() -> None:
    w = World()
    w.open(proposal([("design", "1000.00"), ("build", "1500.00")]))
    w.complete("design")
    w.gateway.script_next(Scripted.decline("insufficient_funds"))
    s = w.complete("build")
    build = s.invoices[0]
    assert [c.status.value for c in s.charges] == ["declined"]
    w.later(1)
    w.reprice("design", "750.00")  # 250.00 over-credited on the paid design invoice
    a = w.biller.load(AGR)
    assert invoice_balance(a, build.id) == usd("1250.00")
    assert a.credit_balance == usd("0.00")
    # The retry charges the rest only, with a new attempt and key.
    w.later(10)
    w.biller.run(D0 + timedelta(days=10))
    assert w.charged() == [usd("1000.00"), usd("1250.00")]
    assert invoice_balance(w.biller.load(AGR), build.id) == usd("0.00")


def test_a_crash_before_or_after_the_credit_unit_never_applies_twice() -> None:
    for step in CREDIT_STEPS:
        fired: list[str] = []

        def fault(name: str, step: str = step, fired: list[str] = fired) -> None:
            if name == step and not fired:
                fired.append(name)
                raise RuntimeError(f"crash at {name}")

        w = World(faults=Faults(fault))
        w.open()
        w.complete("design")
        with pytest.raises(RuntimeError):
            w.reprice("design", "600.00")
        # A fresh Biller on the same store finishes the job.
        survivor = w.worker()
        assert w.store.next_due(AGR) is not None
        survivor.run(D0)
        survivor.run(D0)
        a = survivor.load(AGR)
        assert [c.amount for c in a.credits_added] == [usd("400.00")], step
        survivor.handle(AGR, complete_milestone(a, MilestoneId("build"), by="Ada", at=T0))
        a = survivor.load(AGR)
        assert [c.amount for c in a.credits_applied] == [usd("400.00")], step
        assert w.charged() == [usd("1000.00"), usd("1100.00")], step


def test_dry_run_predicts_the_reduced_charge() -> None:
    w = World()
    recurring = RecurringCharge(ItemId("ret"), "Retainer", usd("500.00"), Interval.MONTHLY,
                                start=D0, count=3)
    w.open(proposal([("design", "1000.00")], [recurring]))
    w.biller.run(D0)
    w.complete("design")
    w.later(1)
    w.reprice("design", "800.00")  # 200.00 of credit
    nxt = D0 + timedelta(days=31)
    plan = w.biller.dry_run(nxt)
    assert [c.amount for c in plan.charges] == [usd("300.00")]
    w.later(31)
    s = w.biller.run(nxt)
    assert [c.amount for c in s.charges] == [usd("300.00")]


def test_cancellation_credit_on_a_paid_prepaid_period_stays_as_credit() -> None:
    w = World()
    recurring = RecurringCharge(ItemId("ret"), "Retainer", usd("3100.00"), Interval.MONTHLY,
                                start=D0)
    w.open(proposal(recurring=[recurring]))
    w.biller.run(D0)  # March 2..April 2 billed and paid in advance
    w.later(10)
    w.cancel()
    a = w.biller.load(AGR)
    (cn,) = a.credit_notes
    assert cn.total.minor > 0
    assert a.credit_balance == cn.total
    assert invoice_balance(a, a.invoices[0].id) == usd("0.00")
    assert w.balance(Account.CUSTOMER_CREDIT) == -cn.total
    assert w.charged() == [usd("3100.00")]


# ------------------------------------------------------------------ refund and hold


def test_refund_policy_pays_the_over_credit_back_once_through_the_gateway() -> None:
    w = World(credit_policy=CreditPolicy.REFUND)
    first = _paid_then_cut(w)
    a = w.biller.load(AGR)
    (cn,) = a.credit_notes
    (r,) = a.refunds
    assert (r.invoice_id, r.amount) == (first, usd("400.00"))
    assert r.idempotency_key == refund_idempotency_key(AGR, first, cn.id)
    assert invoice_balance(a, first) == usd("0.00")
    assert a.credit_balance == usd("0.00")
    assert w.balance(Account.CLEARING) == usd("600.00")
    assert w.balance(Account.RECEIVABLE) == usd("0.00")
    assert w.refunds_at_gateway() == 1
    before = w.snapshot(*UNCHANGED)
    w.biller.run(D0 + timedelta(days=5))
    w.biller.bill(AGR)
    w.deliver()  # the gateway's own webhooks add nothing
    assert w.snapshot(*UNCHANGED)[:3] == before[:3]
    assert w.refunds_at_gateway() == 1
    w.later(2)
    assert [c.amount for c in w.complete("build").charges] == [usd("1500.00")]


def test_hold_policy_leaves_the_negative_balance_and_tells_the_host() -> None:
    w = World(credit_policy=CreditPolicy.HOLD)
    first = _paid_then_cut(w)
    a = w.biller.load(AGR)
    assert invoice_balance(a, first) == usd("-400.00")
    assert (a.credit_balance, a.refunds) == (usd("0.00"), ())
    notes = [n for n in w.store.pending_notifications(1000) if n.kind == "invoice.overcredited"]
    assert len(notes) == 1
    assert '"policy":"hold"' in notes[0].payload
    w.later(2)
    assert [c.amount for c in w.complete("build").charges] == [usd("1500.00")]


def test_a_per_agreement_override_wins() -> None:
    w = World(credit_policies={AGR: CreditPolicy.REFUND})
    assert w.biller.credit_policy_for(AGR) is CreditPolicy.REFUND
    assert w.biller.credit_policy_for("other") is CreditPolicy.APPLY_TO_NEXT_INVOICES
    _paid_then_cut(w)
    assert w.refunds_at_gateway() == 1


def test_bad_credit_policies_are_refused() -> None:
    store = InMemoryStore()
    with pytest.raises(ValidationError) as err:
        Biller(store, InMemoryGateway(), clock=FixedClock(T0), firm_id=FIRM,
               credit_policy="refund")  # type: ignore[arg-type]
    assert err.value.field == "credit_policy"
    with pytest.raises(ValidationError) as err:
        Biller(store, InMemoryGateway(), clock=FixedClock(T0), firm_id=FIRM,
               credit_policies={AGR: "hold"})  # type: ignore[dict-item]
    assert err.value.field.startswith("credit_policies")


# ------------------------------------------------------------------ events


def test_credit_events_round_trip_and_are_checked() -> None:
    w = World()
    _paid_then_cut(w)
    a = w.biller.load(AGR)
    for e in a.events:
        if isinstance(e, CustomerCreditAdded | CreditApplied):
            assert event_from_json(event_to_json(e)) == e
    first = a.invoices[0].id
    at = a.events[-1].effective_at
    too_much = CreditApplied("x", a.version + 1, at, first, usd("0.01"))
    with pytest.raises(ValidationError):  # the first invoice owes nothing now
        apply(a, too_much)
    again = CustomerCreditAdded("y", a.version + 1, at, first, usd("0.01"))
    with pytest.raises(ValidationError):  # nothing more is owed to the client
        apply(a, again)


def test_credits_survive_a_sqlite_store(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    with SQLiteStore(str(tmp_path / "b.db"), clock=clock) as store:
        w = World(store=store)
        _paid_then_cut(w)
        w.later(2)
        w.complete("build")
        a = w.biller.load(AGR)
        assert [c.amount for c in a.credits_applied] == [usd("400.00")]
        assert w.charged()[-1] == usd("1100.00")
        assert w.balance(Account.CUSTOMER_CREDIT) == usd("0.00")


def test_credit_waits_while_a_charge_is_in_flight() -> None:
    w = World()
    w.open()
    w.complete("design")
    w.gateway.script_next(Scripted.stay_processing())
    build = w.complete("build").invoices[0]
    w.later(1)
    w.reprice("design", "600.00")
    a = w.biller.load(AGR)
    # The processing charge may still take the full 1,500.00: no credit on it.
    assert (a.credit_balance, a.credits_applied) == (usd("400.00"), ())
    assert invoice_balance(a, build.id) == usd("1500.00")
    ref = next(c.gateway_ref for c in w.gateway.charges if c.invoice_id == build.id)
    w.gateway.settle(ref, Scripted.succeed())
    w.deliver()
    w.biller.run(D0 + timedelta(days=1))
    a = w.biller.load(AGR)
    assert invoice_balance(a, build.id) == usd("0.00")
    assert (a.credit_balance, a.credits_applied) == (usd("400.00"), ())
    assert w.balance(Account.CUSTOMER_CREDIT) == usd("-400.00")


class DownForRefunds(InMemoryGateway):
    """Refunds fail as unreachable while ``down`` is positive."""

    down = 0

    def refund(self, request: RefundRequest) -> RefundResult:
        if self.down > 0:
            self.down -= 1
            raise GatewayUnavailableError("connection reset")
        return super().refund(request)


def test_a_refund_interrupted_by_the_gateway_is_finished_once_by_the_next_run() -> None:
    w = World(gateway=DownForRefunds(), credit_policy=CreditPolicy.REFUND)
    w.open()
    w.complete("design")
    w.gateway.down = 1
    with pytest.raises(GatewayUnavailableError):
        w.reprice("design", "600.00")
    a = w.biller.load(AGR)
    assert (len(a.credit_notes), a.refunds) == (1, ())
    assert invoice_balance(a, a.invoices[0].id) == usd("-400.00")
    assert w.store.next_due(AGR) == D0
    w.biller.run(D0)
    w.biller.run(D0)
    a = w.biller.load(AGR)
    assert [r.amount for r in a.refunds] == [usd("400.00")]
    assert invoice_balance(a, a.invoices[0].id) == usd("0.00")
    assert w.refunds_at_gateway() == 1
    assert w.store.next_due(AGR) is None


def test_refund_policy_pays_back_what_the_credited_invoice_can_and_reports_the_rest() -> None:
    w = World(credit_policy=CreditPolicy.REFUND)
    w.open(proposal([("design", "1.00")]))
    first = w.complete("design").invoices[0]
    w.later(1)
    extra = w.reprice("design", "1.02").invoices[0]  # 0.02 more, on a second invoice
    w.later(2)
    w.reprice("design", "0.01", amendment_id="am-2")  # 1.01 credited against the first invoice
    a = w.biller.load(AGR)
    assert [(c.credits, c.total) for c in a.credit_notes] == [(first.id, usd("1.01"))]
    # The first invoice's payment (1.00) is all one refund can return.
    assert [(r.invoice_id, r.amount) for r in a.refunds] == [(first.id, usd("1.00"))]
    assert invoice_balance(a, first.id) == usd("-0.01")
    assert invoice_balance(a, extra.id) == usd("0.00")
    (note,) = [n for n in w.store.pending_notifications(1000) if n.kind == "refund.partial"]
    assert '"left":{"amount":"0.01"' in note.payload
    before = w.snapshot(*UNCHANGED)
    w.biller.run(D0 + timedelta(days=5))
    assert w.snapshot(*UNCHANGED) == before


@pytest.mark.postgres
def test_credits_on_postgres(pg_dsn: str, pg_schema: str) -> None:
    from milestonebill.stores.postgres import PostgresStore

    clock = FixedClock(T0)
    with PostgresStore(pg_dsn, schema=pg_schema, clock=clock) as store:
        w = World(store=store)
        _paid_then_cut(w)
        w.later(2)
        w.complete("build")
        w.biller.run(D0 + timedelta(days=2))
        a = w.biller.load(AGR)
        assert [c.amount for c in a.credits_applied] == [usd("400.00")]
        assert w.charged() == [usd("1000.00"), usd("1100.00")]
        assert sum(m.minor for m in store.balances(currency="USD").values()) == 0
        assert w.balance(Account.CUSTOMER_CREDIT) == usd("0.00")

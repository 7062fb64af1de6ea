"""The Biller against the in-memory store and gateway (and one real SQLite file)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import attrs
import pytest

from milestonebill.agreement import (
    AddMilestone,
    AgreementId,
    Amendment,
    AmendmentId,
    AmendmentRejected,
    ApprovalRules,
    CancelAgreement,
    Collection,
    PackageOption,
    PaymentMethodKind,
    PaymentMethodRef,
    SwitchPackage,
    complete_milestone,
    propose,
)
from milestonebill.engine import (
    Biller,
    CollectionState,
    DunningStatus,
    FirmId,
    FixedClock,
    RetryPolicy,
    collection_state,
    dunning_status,
)
from milestonebill.errors import (
    GatewayUnavailableError,
    InvalidInputError,
    NotFoundError,
    ValidationError,
)
from milestonebill.gateways.base import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    RefundRequest,
    RefundResult,
)
from milestonebill.gateways.memory import InMemoryGateway, Scripted, percent_plus_fixed
from milestonebill.invoicing import InvoiceId, invoice_balance
from milestonebill.ledger import Account
from milestonebill.schedule import (
    Interval,
    ItemId,
    Milestone,
    MilestoneId,
    RecurringCharge,
    Trigger,
)
from milestonebill.stores.memory import InMemoryStore
from milestonebill.stores.sqlite import SQLiteStore
from milestonebill.testing.faults import BATCH_STEPS, STEPS, Faults
from milestonebill.testing.scenarios import AGREEMENT as AGR
from milestonebill.testing.scenarios import FIRM, STORE_PARTS, T0, World, proposal, usd

D0 = T0.date()
BANK = PaymentMethodRef("memory", "cus_1", "pm_bank", PaymentMethodKind.BANK_DEBIT)
DESIGN = ("design", "1000.00")


# ------------------------------------------------------------------ happy path


def test_completed_milestone_is_invoiced_charged_and_posted() -> None:
    w = World(fees=percent_plus_fixed("2.9", 30))
    w.open(proposal([DESIGN]))
    s = w.complete("design")
    (inv,) = s.invoices
    assert (inv.number, inv.total) == ("INV-000001", usd("1000.00"))
    assert [(c.attempt, c.status) for c in s.charges] == [(1, ChargeStatus.SUCCEEDED)]
    assert len(w.gateway.charges) == 1
    assert w.balance(Account.RECEIVABLE) == usd("0.00")
    # Billing is not earning: the invoice is a contract liability until recognised.
    assert w.balance(Account.REVENUE) == usd("0.00")
    assert w.balance(Account.CONTRACT_LIABILITY) == usd("-1000.00")
    w.biller.recognise(D0)
    assert w.balance(Account.REVENUE) == usd("-1000.00")
    assert w.balance(Account.CONTRACT_LIABILITY) == usd("0.00")
    assert w.balance(Account.GATEWAY_FEES) == usd("29.30")
    assert w.balance(Account.CLEARING) == usd("970.70")
    assert w.ledger_sum() == 0
    assert w.notes() == ["invoice.issued", "payment.succeeded"]
    a = w.biller.load(AGR)
    assert invoice_balance(a, inv.id) == usd("0.00")
    assert a.payments[0].fee == usd("29.30")


def test_handling_the_same_completion_twice_bills_once() -> None:
    w = World()
    w.open(proposal([DESIGN]))
    a = w.biller.load(AGR)
    e = complete_milestone(a, MilestoneId("design"), by="Ada", at=w.clock.now())
    w.biller.handle(AGR, e)
    before = w.snapshot(*STORE_PARTS)
    again = w.biller.handle(AGR, e)
    assert (again.invoices, again.charges) == ((), ())
    assert w.snapshot(*STORE_PARTS) == before
    assert len(w.gateway.charges) == 1


def test_send_invoice_agreements_are_issued_but_not_charged() -> None:
    w = World()
    w.open(proposal([DESIGN], collection=Collection.SEND_INVOICE), payment_method=None)
    s = w.complete("design")
    assert len(s.invoices) == 1
    assert s.charges == ()
    assert w.gateway.calls == 0
    assert w.balance(Account.RECEIVABLE) == usd("1000.00")
    a = w.biller.load(AGR)
    assert collection_state(a, s.invoices[0].id).state is CollectionState.NOT_COLLECTED


def test_dated_milestones_and_recurring_charges_are_billed_by_run() -> None:
    w = World()
    launch = Milestone(MilestoneId("launch"), "Launch", amount=usd("3000.00"),
                       trigger=Trigger.ON_DATE, due_on=date(2026, 4, 15))
    retainer = RecurringCharge(ItemId("ret"), "Retainer", usd("500.00"), Interval.MONTHLY,
                               start=date(2026, 3, 10), count=3)
    w.open(proposal([launch], [retainer]))
    assert w.store.next_due(AGR) == date(2026, 3, 10)
    assert w.biller.run(date(2026, 3, 9)).invoices == ()
    s = w.biller.run(date(2026, 3, 10))
    assert [i.total for i in s.invoices] == [usd("500.00")]
    # The service period is not rendered yet: deferred revenue, not revenue.
    assert w.balance(Account.DEFERRED_REVENUE) == usd("-500.00")
    assert w.store.next_due(AGR) == date(2026, 4, 10)
    s = w.biller.run(date(2026, 4, 30))
    # Lines with the same payment terms share one invoice.
    assert [sorted(ln.amount.minor for ln in i.lines) for i in s.invoices] == [[50000, 300000]]
    assert w.balance(Account.REVENUE) == usd("0.00")
    w.biller.recognise(date(2026, 4, 30))
    # Launch (its date passed), the first period and 21 of the second's 30 days.
    assert w.balance(Account.REVENUE) == usd("-3850.00")
    assert w.balance(Account.CONTRACT_LIABILITY) == usd("-150.00")
    assert w.biller.run(date(2026, 5, 10)).invoices[0].total == usd("500.00")
    assert w.store.next_due(AGR) is None
    assert [r.number for r in w.store.invoices(FIRM)] == [1, 2, 3]
    assert len(w.gateway.charges) == 3
    assert w.ledger_sum() == 0


def test_rerunning_the_same_date_changes_nothing() -> None:
    w = World()
    retainer = RecurringCharge(ItemId("ret"), "Retainer", usd("500.00"), Interval.MONTHLY,
                               start=D0)
    w.open(proposal(recurring=[retainer]))
    w.store.set_next_due(AGR, D0)  # even if forced due again
    w.biller.run(date(2026, 5, 2))
    before = w.snapshot(*STORE_PARTS)
    calls = w.gateway.calls
    w.store.set_next_due(AGR, D0)
    again = w.biller.run(date(2026, 5, 2))
    assert (again.invoices, again.charges) == ((), ())
    assert w.snapshot(*STORE_PARTS)[:1] == before[:1]
    assert w.snapshot(*STORE_PARTS)[2:] == before[2:]
    assert w.gateway.calls == calls


def test_on_signing_milestone_is_billed_by_bill() -> None:
    w = World()
    deposit = Milestone(MilestoneId("dep"), "Deposit", amount=usd("250.00"),
                        trigger=Trigger.ON_SIGNING)
    w.open(proposal([deposit]))
    s = w.biller.bill(AGR)
    assert [i.total for i in s.invoices] == [usd("250.00")]
    assert w.store.next_due(AGR) is None


def test_amendment_that_needs_no_approval_is_billed_on_handle() -> None:
    w = World()
    w.open(proposal([DESIGN], approval=ApprovalRules(require_client_approval=False)))
    a = w.biller.load(AGR)
    extra = Milestone(MilestoneId("extra"), "Extra work", amount=usd("400.00"),
                      trigger=Trigger.ON_DATE, due_on=D0)
    e = propose(a, Amendment(AmendmentId("am-1"), (AddMilestone(D0, extra),)), by="Bo",
                at=w.clock.now())
    s = w.biller.handle(AGR, e)
    assert [i.total for i in s.invoices] == [usd("400.00")]


def test_pending_amendment_is_approved_automatically_when_notice_runs_out() -> None:
    w = World()
    w.open(proposal([DESIGN], approval=ApprovalRules(auto_approve_after_days=7)))
    a = w.biller.load(AGR)
    extra = Milestone(MilestoneId("extra"), "Extra", amount=usd("400.00"),
                      trigger=Trigger.ON_DATE, due_on=D0 + timedelta(days=7))
    e = propose(a, Amendment(AmendmentId("am-1"), (AddMilestone(D0, extra),)), by="Bo",
                at=w.clock.now())
    assert w.biller.handle(AGR, e).invoices == ()
    assert w.store.next_due(AGR) == D0 + timedelta(days=7)
    s = w.biller.run(D0 + timedelta(days=7))
    assert [x.amendment_id for x in s.approvals] == ["am-1"]
    assert [i.total for i in s.invoices] == [usd("400.00")]


def test_an_automatic_approval_is_stamped_when_notice_ran_out_so_the_host_can_go_on() -> None:
    # Found by the model check: the approval was stamped at the end of the run's
    # day, and every host event later that day was refused as out of order.
    w = World()
    w.open(proposal([DESIGN], approval=ApprovalRules(auto_approve_after_days=0)))
    a = w.biller.load(AGR)
    extra = Milestone(MilestoneId("extra"), "Extra", amount=usd("400.00"))
    e = propose(a, Amendment(AmendmentId("am-1"), (AddMilestone(D0, extra),)), by="Bo",
                at=w.clock.now())
    w.biller.record(AGR, [e])
    s = w.biller.run(D0)
    assert [(x.effective_at, x.automatic) for x in s.approvals] == [(e.effective_at, True)]
    assert [i.total for i in w.complete("extra").invoices] == [usd("400.00")]


def test_a_run_early_in_the_day_leaves_a_notice_running_out_later_that_day_open() -> None:
    # Found by the model check's long mode: a 05:00 run approved an amendment
    # whose notice ran out at 14:00 and stamped it then, so the host's next
    # event (at 05:00) was refused as out of order -- and the client still had
    # until 14:00 to answer.
    w = World()
    w.open(proposal([DESIGN], approval=ApprovalRules(auto_approve_after_days=1)))
    w.clock.advance(timedelta(hours=5))  # 14:00
    extra = Milestone(MilestoneId("extra"), "Extra", amount=usd("400.00"))
    e = propose(w.biller.load(AGR), Amendment(AmendmentId("am-1"), (AddMilestone(D0, extra),)),
                by="Bo", at=w.clock.now())
    w.biller.record(AGR, [e])
    w.clock.advance(timedelta(hours=15))  # 05:00 the next day
    assert w.biller.run(w.clock.today()).approvals == ()
    assert w.biller.dry_run(w.clock.today()).approvals == ()
    assert [i.total for i in w.complete("design").invoices] == [usd("1000.00")]
    w.clock.advance(timedelta(days=1))  # the next day's run decides it, stamped when it ran out
    s = w.biller.run(w.clock.today())
    assert [x.effective_at for x in s.approvals] == [e.effective_at + timedelta(days=1)]
    assert [i.total for i in w.complete("extra").invoices] == [usd("400.00")]


def test_an_approval_that_cancels_leaves_the_amendments_after_it_pending() -> None:
    # Found by the model check's long mode: the next automatic approval was
    # tried on the cancelled agreement, and every run parked it.
    w = World()
    w.open(proposal([DESIGN], approval=ApprovalRules(auto_approve_after_days=0)))
    extra = Milestone(MilestoneId("extra"), "Extra", amount=usd("400.00"))
    a = w.biller.load(AGR)
    first = propose(a, Amendment(AmendmentId("am-1"), (CancelAgreement(D0),)), by="Bo",
                    at=w.clock.now())
    a = w.biller.record(AGR, [first])
    second = propose(a, Amendment(AmendmentId("am-2"), (AddMilestone(D0, extra),)), by="Bo",
                     at=w.clock.now())
    w.biller.record(AGR, [second])
    s = w.biller.run(D0)
    assert (s.problems, s.parked) == ((), ())
    assert [x.amendment_id for x in s.approvals] == ["am-1"]
    assert w.biller.load(AGR).state.value == "cancelled"
    assert w.biller.parked() == ()


# ------------------------------------------------------------------ failed payments


def test_soft_decline_is_retried_on_the_policy_days_with_new_keys() -> None:
    w = World(retry_policy=RetryPolicy(max_attempts=3, spacing_days=(3,)))
    w.open(proposal([DESIGN]))
    w.gateway.script_next(Scripted.decline("insufficient_funds"))
    s = w.complete("design")
    assert [c.status for c in s.charges] == [ChargeStatus.DECLINED]
    a = w.biller.load(AGR)
    assert dunning_status(a, w.biller.retry_policy) is DunningStatus.RETRYING
    assert w.store.next_due(AGR) == D0 + timedelta(days=3)
    assert w.biller.run(D0 + timedelta(days=2)).charges == ()
    s = w.biller.run(D0 + timedelta(days=3))
    assert [(c.attempt, c.status) for c in s.charges] == [(2, ChargeStatus.SUCCEEDED)]
    a = w.biller.load(AGR)
    assert len({x.idempotency_key for x in a.attempts}) == 2
    assert dunning_status(a) is DunningStatus.CURRENT
    assert w.balance(Account.RECEIVABLE) == usd("0.00")
    assert "payment.failed" in w.notes()


def test_retries_stop_after_max_attempts() -> None:
    w = World(retry_policy=RetryPolicy(max_attempts=2, spacing_days=(1,)))
    w.open(proposal([DESIGN]))
    w.gateway.script_payment_method("pm_card", Scripted.decline("insufficient_funds"))
    w.complete("design")
    w.biller.run(D0 + timedelta(days=1))
    a = w.biller.load(AGR)
    assert dunning_status(a, w.biller.retry_policy) is DunningStatus.EXHAUSTED
    assert w.biller.run(D0 + timedelta(days=30)).charges == ()
    assert w.gateway.calls == 2
    assert w.store.next_due(AGR) is None


def test_hard_decline_stops_retries() -> None:
    w = World()
    w.open(proposal([DESIGN]))
    w.gateway.script_next(Scripted.decline("stolen_card"))
    w.complete("design")
    assert w.biller.run(D0 + timedelta(days=30)).charges == ()
    a = w.biller.load(AGR)
    assert dunning_status(a) is DunningStatus.EXHAUSTED
    assert a.failures[0].retryable is False
    assert w.balance(Account.RECEIVABLE) == usd("1000.00")


def test_requires_action_stops_retries_and_tells_the_host() -> None:
    w = World()
    w.open(proposal([DESIGN]))
    w.gateway.script_next(Scripted.require_action())
    s = w.complete("design")
    assert [c.status for c in s.charges] == [ChargeStatus.REQUIRES_ACTION]
    assert dunning_status(w.biller.load(AGR)) is DunningStatus.ACTION_REQUIRED
    (note,) = [n for n in w.store.pending_notifications(100)
               if n.kind == "payment.action_required"]
    assert note.data["action_ref"] == s.charges[0].gateway_ref
    assert w.biller.run(D0 + timedelta(days=30)).charges == ()
    # The customer authenticates; the gateway's webhook settles the invoice.
    since = len(w.gateway.events)
    w.gateway.settle(s.charges[0].gateway_ref or "", Scripted.succeed())
    w.deliver(since)
    a = w.biller.load(AGR)
    assert invoice_balance(a, s.invoices[0].id) == usd("0.00")
    assert dunning_status(a) is DunningStatus.CURRENT
    assert w.ledger_sum() == 0


def test_processing_payment_waits_for_the_webhook_and_duplicates_are_ignored() -> None:
    w = World()
    w.open(proposal([DESIGN]), payment_method=BANK)
    s = w.complete("design")
    assert [c.status for c in s.charges] == [ChargeStatus.PROCESSING]
    a = w.biller.load(AGR)
    assert collection_state(a, s.invoices[0].id).state is CollectionState.IN_FLIGHT
    assert w.store.unfinished_attempts() == []
    assert w.biller.run(D0 + timedelta(days=5)).charges == ()
    since = len(w.gateway.events)
    w.gateway.settle(s.charges[0].gateway_ref or "", Scripted.succeed())
    (ev,) = w.webhooks(since)
    added = w.biller.apply_gateway_event(ev)
    assert [type(e).__name__ for e in added] == ["PaymentSucceeded"]
    before = w.snapshot(*STORE_PARTS)
    assert w.biller.apply_gateway_event(ev) == ()
    assert w.snapshot(*STORE_PARTS) == before
    assert w.balance(Account.RECEIVABLE) == usd("0.00")
    assert len(w.gateway.charges) == 1


def test_processing_payment_that_fails_later_is_retried() -> None:
    w = World(retry_policy=RetryPolicy(spacing_days=(2,)))
    w.open(proposal([DESIGN]), payment_method=BANK)
    s = w.complete("design")
    since = len(w.gateway.events)
    w.gateway.settle(s.charges[0].gateway_ref or "", Scripted.decline("insufficient_funds"))
    (ev,) = w.webhooks(since)
    w.biller.apply_gateway_event(ev)
    assert dunning_status(w.biller.load(AGR)) is DunningStatus.RETRYING
    w.gateway.script_next(Scripted.succeed())
    s = w.biller.run(D0 + timedelta(days=2))
    assert [(c.attempt, c.status) for c in s.charges] == [(2, ChargeStatus.SUCCEEDED)]


def test_gateway_timeout_after_charging_is_retried_with_the_same_key() -> None:
    w = World(retry_policy=RetryPolicy(same_key_retries=0))
    w.open(proposal([DESIGN]))
    w.gateway.script_next(Scripted.time_out_after_charge())
    s = w.complete("design")
    assert [c.status for c in s.charges] == [ChargeStatus.FAILED_RETRYABLE]
    assert len(w.store.unfinished_attempts()) == 1
    assert w.store.next_due(AGR) == D0 + timedelta(days=1)
    r = w.biller.run(D0 + timedelta(days=1))
    assert [c.status for c in r.reconciled] == [ChargeStatus.SUCCEEDED]
    assert len(w.gateway.charges) == 1
    assert w.store.unfinished_attempts() == []
    assert w.balance(Account.RECEIVABLE) == usd("0.00")


def test_a_crash_between_charge_and_outcome_is_reconciled_with_the_same_key() -> None:
    class Crash(Exception):
        pass

    def fault(step: str) -> None:
        if step == "after_charge":
            raise Crash(step)

    w = World(faults=Faults(fault))
    w.open(proposal([DESIGN]))
    with pytest.raises(Crash):
        w.complete("design")
    assert len(w.store.unfinished_attempts()) == 1
    w.clock.advance(timedelta(minutes=10))  # restarted after the grace period
    fresh = w.worker()
    (outcome,) = fresh.reconcile()
    assert outcome.status is ChargeStatus.SUCCEEDED
    assert len(w.gateway.charges) == 1
    assert w.gateway.calls == 2
    assert w.balance(Account.RECEIVABLE) == usd("0.00")
    assert fresh.run(D0).charges == ()


def test_the_fault_hook_sees_every_step_of_a_run_in_order() -> None:
    seen: list[str] = []
    w = World(faults=Faults(seen.append))
    deposit = Milestone(MilestoneId("dep"), "Deposit", amount=usd("250.00"),
                        trigger=Trigger.ON_SIGNING)
    w.open(proposal([deposit]))
    w.biller.run(D0)
    assert tuple(seen) == BATCH_STEPS


def test_the_fault_hook_sees_every_step_of_one_agreement_in_order() -> None:
    seen: list[str] = []
    w = World(faults=Faults(seen.append))
    deposit = Milestone(MilestoneId("dep"), "Deposit", amount=usd("250.00"),
                        trigger=Trigger.ON_SIGNING)
    a = w.open(proposal([deposit]))
    w.biller.bill(a.id, D0)
    assert tuple(seen) == STEPS[:-1]


# ------------------------------------------------------------------ payments and refunds


def test_partial_refund_reduces_what_was_paid_and_posts_the_ledger() -> None:
    w = World()
    w.open(proposal([DESIGN]))
    inv = w.complete("design").invoices[0]
    a = w.biller.refund(inv.id, usd("300.00"), reason="scope cut")
    assert [r.amount for r in a.refunds] == [usd("300.00")]
    assert a.credit_notes[0].number == "CN-000001"
    assert invoice_balance(a, inv.id) == usd("0.00")
    assert w.balance(Account.CLEARING) == usd("700.00")
    w.biller.recognise(D0)
    # The refund is a price concession: 700.00 is all the work earns.
    assert w.balance(Account.REVENUE) == usd("-700.00")
    assert (w.balance(Account.CONTRACT_LIABILITY), w.balance(Account.CONTRACT_ASSET)) == (
        usd("0.00"), usd("0.00"))
    assert w.balance(Account.RECEIVABLE) == usd("0.00")
    assert w.ledger_sum() == 0
    # Refunds are not charged back by the next run.
    assert w.biller.run(D0 + timedelta(days=1)).charges == ()
    before = w.snapshot(*STORE_PARTS)
    # The gateway's own webhooks for all of this (refund included) add nothing.
    for ev in w.webhooks():
        assert w.biller.apply_gateway_event(ev) == ()
    assert w.snapshot(*STORE_PARTS) == before
    with pytest.raises(ValidationError) as err:
        w.biller.refund(inv.id, usd("800.00"))
    assert err.value.field == "amount"
    assert w.snapshot(*STORE_PARTS) == before


def test_a_refund_made_at_the_gateway_is_recorded_from_its_webhook() -> None:
    w = World()
    w.open(proposal([DESIGN]))
    s = w.complete("design")
    since = len(w.gateway.events)
    w.gateway.refund(RefundRequest(AGR, s.invoices[0].id, "dashboard-1",
                                   s.charges[0].gateway_ref or "", amount=usd("250.00")))
    (ev,) = w.webhooks(since)
    assert [type(e).__name__ for e in w.biller.apply_gateway_event(ev)] == ["Refunded"]
    assert w.biller.apply_gateway_event(ev) == ()
    a = w.biller.load(AGR)
    assert invoice_balance(a, s.invoices[0].id) == usd("250.00")
    assert collection_state(a, s.invoices[0].id).state is CollectionState.ON_HOLD
    assert w.biller.run(D0 + timedelta(days=1)).charges == ()
    assert w.balance(Account.CLEARING) == usd("750.00")
    assert "payment.refunded" in w.notes()


def test_manual_partial_payment_leaves_a_balance() -> None:
    w = World()
    w.open(proposal([DESIGN], collection=Collection.SEND_INVOICE), payment_method=None)
    inv = w.complete("design").invoices[0]
    w.biller.record_payment(inv.id, usd("400.00"), reference="wire-1")
    a = w.biller.record_payment(inv.id, usd("400.00"), reference="wire-1")
    assert invoice_balance(a, inv.id) == usd("600.00")
    assert w.balance(Account.CASH) == usd("400.00")
    assert w.balance(Account.RECEIVABLE) == usd("600.00")


def test_partial_webhook_payment_is_followed_by_a_charge_for_the_rest() -> None:
    w = World()
    w.open(proposal([DESIGN]), payment_method=BANK)
    s = w.complete("design")
    since = len(w.gateway.events)
    w.gateway.settle(s.charges[0].gateway_ref or "", Scripted.succeed())
    (ev,) = w.webhooks(since)
    import attrs

    w.biller.apply_gateway_event(attrs.evolve(ev, amount=usd("600.00")))
    a = w.biller.load(AGR)
    assert invoice_balance(a, s.invoices[0].id) == usd("400.00")
    w.gateway.script_next(Scripted.succeed())
    r = w.biller.run(D0 + timedelta(days=1))
    assert [(c.attempt, c.amount) for c in r.charges] == [(2, usd("400.00"))]


# ------------------------------------------------------------------ dry run and bad input


def test_dry_run_writes_nothing_and_predicts_the_run() -> None:
    w = World()
    retainer = RecurringCharge(ItemId("ret"), "Retainer", usd("500.00"), Interval.MONTHLY,
                               start=D0, count=2)
    w.open(proposal(recurring=[retainer]))
    before = w.snapshot(*STORE_PARTS)
    plan = w.biller.dry_run(date(2026, 4, 2))
    assert w.snapshot(*STORE_PARTS) == before
    assert w.gateway.calls == 0
    assert [(d.number, d.total) for d in plan.invoices] == [(None, usd("1000.00"))]
    assert [c.amount for c in plan.charges] == [usd("1000.00")]
    done = w.biller.run(date(2026, 4, 2))
    assert [i.id for i in done.invoices] == [d.id for d in plan.invoices]


def test_bad_event_leaves_nothing_written_and_charges_nothing() -> None:
    w = World()
    w.open(proposal([DESIGN]))
    before = w.snapshot(*STORE_PARTS)
    a = w.biller.load(AGR)
    e = complete_milestone(a, MilestoneId("design"), by="Ada", at=w.clock.now())
    bogus = type(e)(e.event_id, e.version, e.effective_at, MilestoneId("nope"), D0, "Ada")
    with pytest.raises(NotFoundError):
        w.biller.handle(AGR, bogus)
    with pytest.raises(ValidationError):
        w.biller.record(AGR, ["not an event"])  # type: ignore[list-item]
    with pytest.raises(ValidationError):
        w.biller.run(T0)
    with pytest.raises(NotFoundError):
        w.biller.handle(AgreementId("agr-missing"), e)
    assert w.snapshot(*STORE_PARTS) == before
    assert w.gateway.calls == 0


def test_biller_refuses_bad_configuration() -> None:
    with pytest.raises(ValidationError) as err:
        Biller(InMemoryStore(), InMemoryGateway(), clock=FixedClock(T0), firm_id=FirmId(""))
    assert err.value.field == "firm_id"
    with pytest.raises(InvalidInputError) as many:
        Biller(InMemoryStore(), InMemoryGateway(), clock=FixedClock(T0), firm_id=FIRM,
               batch_size=0, lease_seconds=-1)
    assert [p.field for p in many.value.problems] == ["batch_size", "lease_seconds"]
    with pytest.raises(ValidationError):
        RetryPolicy(spacing_days=())


def test_unknown_invoice_refund_is_not_found() -> None:
    w = World()
    with pytest.raises(NotFoundError):
        w.biller.refund(InvoiceId("inv_missing"), usd("1.00"))


# ------------------------------------------------------------------ a real SQLite file


def test_sqlite_store_bills_and_balances(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    with SQLiteStore(tmp_path / "billing.db", clock=clock) as store:
        w = World(store)
        w.open(proposal([("design", "1234.56")]))
        s = w.complete("design")
        assert [c.status for c in s.charges] == [ChargeStatus.SUCCEEDED]
        assert w.ledger_sum() == 0
        assert w.balance(Account.CLEARING) == usd("1234.56")
    with SQLiteStore(tmp_path / "billing.db", clock=clock) as again:
        b = Biller(again, w.gateway, clock=clock, firm_id=FIRM)
        assert b.run(D0 + timedelta(days=1)).invoices == ()
        assert [r.number for r in again.invoices(FIRM)] == [1]


class FlakyGateway(InMemoryGateway):
    """Unreachable for the first ``down`` charge and refund calls."""

    def __init__(self, down: int) -> None:
        super().__init__()
        self.down = down

    def _maybe_down(self) -> None:
        if self.down > 0:
            self.down -= 1
            raise GatewayUnavailableError("connection reset")

    def charge(self, request: ChargeRequest) -> ChargeResult:
        self._maybe_down()
        return super().charge(request)

    def refund(self, request: RefundRequest) -> RefundResult:
        self._maybe_down()
        return super().refund(request)


def test_an_unreachable_gateway_leaves_the_attempt_for_the_next_run() -> None:
    w = World(gateway=FlakyGateway(down=3))
    w.open(proposal([DESIGN]))
    s = w.complete("design")
    assert [c.status for c in s.charges] == [ChargeStatus.FAILED_RETRYABLE]
    assert [p.error for p in s.problems] == ["GatewayUnavailableError"]
    assert len(w.store.unfinished_attempts()) == 1
    r = w.biller.run(D0 + timedelta(days=1))
    assert [(c.attempt, c.status) for c in r.reconciled] == [(1, ChargeStatus.SUCCEEDED)]
    assert r.charges == ()
    assert len(w.gateway.charges) == 1


def test_a_refund_interrupted_by_the_gateway_is_finished_by_the_next_run() -> None:
    w = World(gateway=FlakyGateway(down=0))
    w.open(proposal([DESIGN]))
    inv = w.complete("design").invoices[0]
    w.gateway.down = 1
    with pytest.raises(GatewayUnavailableError):
        w.biller.refund(inv.id, usd("100.00"))
    a = w.biller.load(AGR)
    assert (len(a.credit_notes), a.refunds) == (1, ())
    assert w.store.next_due(AGR) == D0
    w.biller.run(D0)
    a = w.biller.load(AGR)
    assert [r.amount for r in a.refunds] == [usd("100.00")]
    assert w.balance(Account.CLEARING) == usd("900.00")
    assert w.store.next_due(AGR) is None


@pytest.mark.postgres
def test_postgres_store_bills_retries_and_balances(pg_dsn: str, pg_schema: str) -> None:
    from milestonebill.stores.postgres import PostgresStore

    clock = FixedClock(T0)
    with PostgresStore(pg_dsn, schema=pg_schema, clock=clock) as store:
        w = World(store, retry_policy=RetryPolicy(spacing_days=(2,)))
        w.open(proposal([("design", "99.99")]))
        w.gateway.script_next(Scripted.decline("insufficient_funds"))
        assert [c.status for c in w.complete("design").charges] == [ChargeStatus.DECLINED]
        w.clock.advance(days=2)
        s = w.biller.run(D0 + timedelta(days=2))
        assert [(c.attempt, c.status) for c in s.charges] == [(2, ChargeStatus.SUCCEEDED)]
        assert w.biller.run(D0 + timedelta(days=2)).charges == ()
        assert w.ledger_sum() == 0
        assert w.balance(Account.CLEARING) == usd("99.99")
        assert [r.number for r in store.invoices(FIRM)] == [1]


def test_a_cancelled_agreement_with_an_amendment_awaiting_approval_is_not_parked() -> None:
    # Found by the model check: the run approved the amendment automatically,
    # the cancelled agreement refused it, and the agreement was parked.
    w = World()
    w.open(proposal([DESIGN], approval=ApprovalRules(auto_approve_after_days=7)))
    extra = Milestone(MilestoneId("extra"), "Extra", amount=usd("400.00"))
    w.amend(AddMilestone(D0, extra))
    w.cancel()
    assert w.store.next_due(AGR) is None
    s = w.biller.run(D0 + timedelta(days=7))
    assert (s.problems, s.parked, s.approvals) == ((), (), ())
    assert [r.amendment.id for r in w.load().pending_amendments] == ["am-1"]


def test_an_amendment_that_no_longer_applies_when_its_notice_runs_out_is_rejected() -> None:
    # Found by the model check: two pending amendments each switched to the
    # other package; once the first was approved, approving the second
    # automatically raised AmendmentError out of every run and every handle.
    w = World()
    offer = proposal([DESIGN], approval=ApprovalRules(auto_approve_after_days=1))
    other = PackageOption("b", "B", offer.options[0].schedule)
    w.open(attrs.evolve(offer, options=(*offer.options, other)))
    for n in (1, 2):
        w.amend(SwitchPackage(D0, "b"), amendment_id=f"am-{n}")
    s = w.biller.run(w.later(1))
    assert (s.problems, s.parked, [x.amendment_id for x in s.approvals]) == ((), (), ["am-1"])
    a = w.load()
    (lapsed,) = [e for e in a.events if isinstance(e, AmendmentRejected)]
    assert (lapsed.amendment_id, lapsed.rejected_by) == ("am-2", "automatic")
    assert "package 'b' is already the current one" in lapsed.reason
    assert (a.option_id, a.pending_amendments) == ("b", ())
    assert w.complete("design").invoices != ()

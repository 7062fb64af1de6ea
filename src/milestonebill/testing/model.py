"""A stateful model check of billing: random lives of agreements through the public API.

:class:`BillingModel` is a Hypothesis ``RuleBasedStateMachine``.  Each
example signs up to four agreements (a card, a bank debit or an invoice
the client pays itself; USD, JPY or KWD; two packages and an add-on from
:func:`~milestonebill.testing.strategies.offers`, with installment plans,
discounts, late fees and time-and-materials terms) and then, in any order:
completes milestones; proposes amendments of every kind
(:func:`~milestonebill.testing.strategies.amendment_operations`, plus
cancellation), approves or rejects those that wait for the client; pauses,
resumes and cancels; moves the clock on and runs; scripts the gateway
(success, soft and hard declines, customer action, processing, failing
before the charge, timing out after it) and settles processing payments;
delivers the gateway's webhooks late, out of order and more than once;
refunds invoices and customer credit; writes invoices off (whole or part)
and records payments by hand that recover them; forfeits customer credit;
records time and expenses (some sent again), raises caps and writes held
work down (:class:`~milestonebill.testing._model_terms.TermRules`); sends
reminders and late fees on its runs; reconciles; recognises revenue at
month ends; poisons an agreement with an error milestonebill does not
raise (so a run parks it) and unparks it; and crashes the worker at any
step boundary through :class:`~milestonebill.testing.faults.Faults`, then
restarts it on the same store.

After every step the books are checked
(:func:`~milestonebill.testing.invariants.book_problems`); after a
recognition, the revenue (:func:`~milestonebill.testing.invariants.revenue_problems`);
after everything in flight is settled, that every payment the gateway
made is recorded once (:func:`~milestonebill.testing.invariants.settled_problems`);
after a replayed event or a re-run day, that nothing changed; and at
every step, that a parked agreement gets no invoice, charge, attempt or
revenue from anybody.

The store is an :class:`~milestonebill.stores.memory.InMemoryStore` that
outlives the worker, like a database server; :class:`SQLiteBillingModel`
uses a SQLite file in a temporary directory and reopens it after each
crash, and restores the gateway from its saved state as the
``milestonebill`` command does.  Subclass and override :meth:`BillingModel.open_store`
and :meth:`BillingModel.restart_store` to check another store.

Run it with Hypothesis' ``run_state_machine_as_test`` or its ``TestCase``;
:attr:`BillingModel.stats` counts what the examples did.
"""

from __future__ import annotations

import calendar
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import ClassVar, Final, TypeVar

from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from milestonebill.agreement import (
    Agreement,
    AgreementState,
    Amendment,
    AmendmentId,
    ApprovalRules,
    CancelAgreement,
    Collection,
    Event,
    ExpenseEntry,
    PaymentMethodKind,
    PaymentMethodRef,
    TimeEntry,
    approve,
    cancel,
    complete_milestone,
    pause,
    propose,
    reject,
    resume,
    sign,
)
from milestonebill.clock import FixedClock
from milestonebill.collection import CreditPolicy, RetryPolicy
from milestonebill.engine import Biller
from milestonebill.errors import (
    AmendmentError,
    GatewayError,
    InvalidTransitionError,
    RefundLimitError,
    ValidationError,
)
from milestonebill.gateways.base import ChargeStatus, GatewayEvent, GatewayEventKind
from milestonebill.gateways.memory import InMemoryGateway, Scripted, percent_plus_fixed
from milestonebill.ids import AgreementId, InvoiceId, WorkerId
from milestonebill.money import Money
from milestonebill.reminders import ReminderSchedule, is_late_fee_invoice
from milestonebill.schedule import MilestoneId
from milestonebill.stores.base import BillingStore
from milestonebill.stores.memory import InMemoryStore
from milestonebill.stores.sqlite import SQLiteStore
from milestonebill.testing._model_terms import TermRules
from milestonebill.testing.faults import CREDIT_STEPS, REFUND_STEPS, STEPS, Faults
from milestonebill.testing.invariants import (
    book_problems,
    gateway_payments,
    revenue_problems,
    settled_problems,
)
from milestonebill.testing.scenarios import FIRM, T0
from milestonebill.testing.strategies import amendment_operations, charge_outcomes, offers

__all__ = [
    "CRASH_STEPS",
    "POISON_STEPS",
    "BillingModel",
    "Crash",
    "Poisoned",
    "SQLiteBillingModel",
]

_T = TypeVar("_T")
#: A crash to come: at the n-th time the worker reaches a step.
Armed = tuple[str, int] | None

#: Where a worker can be made to crash: every step boundary of a charge, a
#: customer-credit move and a refund.
CRASH_STEPS: Final = STEPS + CREDIT_STEPS + REFUND_STEPS
#: Where a poisoned agreement fails.
POISON_STEPS: Final = ("before_issue", "before_attempt", "before_charge")
_MAX_AGREEMENTS: Final = 4
_RETRY: Final = RetryPolicy(max_attempts=3, spacing_days=(2, 5), same_key_retries=1)
_FEES: Final = percent_plus_fixed("2.9", 30)
#: Reminders before, on and after the due date (the runs send them).
_REMINDERS: Final = ReminderSchedule((-3, 0, 5, 15))
_APPROVALS: Final = st.builds(ApprovalRules, require_client_approval=st.booleans(),
                              auto_approve_after_days=st.none() | st.integers(0, 10))
#: Most steps run as they should; some arm a crash at a step boundary.
_CRASH: Final = st.one_of(st.none(), st.none(), st.tuples(st.sampled_from(CRASH_STEPS),
                                                          st.integers(1, 3)))
_OUTCOMES: Final = charge_outcomes(successes=2) | st.sampled_from(
    [Scripted.stay_processing(), Scripted.fail_retryably()])


class Crash(BaseException):
    """The worker dies at a step boundary (raised by the fault hook).

    A ``BaseException``, as a killed process is not an error any code may
    handle: the Biller neither parks nor reports it.
    """


class Poisoned(OverflowError):
    """An error milestonebill does not raise on purpose, for one agreement (a
    bug, or a host adapter's): a run must park the agreement and go on."""


class BillingModel(TermRules):
    """Random lives of agreements through the Biller, with the books checked at every step."""

    #: What the examples did, summed over every example since the last reset.
    stats: ClassVar[Counter[str]] = Counter()

    def __init__(self) -> None:
        super().__init__()
        self.stats["examples"] += 1
        self.clock = FixedClock(T0)
        self.store = self.open_store()
        self.gateway = InMemoryGateway(fees=_FEES, clock=self.clock)
        self.faults = Faults(self._hook)
        self.generation = 0
        self.agreements: list[AgreementId] = []
        self.policies: dict[str, CreditPolicy] = {}
        self.armed: Armed = None
        self.poisoned: dict[AgreementId, str] = {}
        self.frozen: dict[AgreementId, tuple[object, ...]] = {}
        self.handled: list[tuple[AgreementId, Event]] = []
        self.seen = 0
        self.pending: list[GatewayEvent] = []
        self.delivered: list[GatewayEvent] = []
        self.counter = 0
        self.sent: dict[AgreementId, list[TimeEntry | ExpenseEntry]] = {}
        self.counted: set[tuple[AgreementId, str, str]] = set()
        self.caps_asked: set[tuple[AgreementId, str, int]] = set()
        #: The last month end recognised.
        self.month_end = T0.date() - timedelta(days=T0.day)
        self.biller = self._new_biller()

    # -- the store: override both to check another one

    def open_store(self) -> BillingStore:
        """The store the model bills into (an in-memory one on the model's clock)."""
        return InMemoryStore(clock=self.clock)

    def restart_store(self) -> None:
        """After a crash: the in-memory store is the database, it outlives the worker."""

    # -- helpers

    def _new_biller(self) -> Biller:
        return Biller(self.faults.store(self.store), self.faults.gateway(self.gateway),
                      clock=self.clock, firm_id=FIRM, retry_policy=_RETRY,
                      credit_policies=self.policies, worker_id=WorkerId(f"w{self.generation}"),
                      reconcile_grace_seconds=0, reminders=_REMINDERS)

    def _restart(self) -> None:
        self.generation += 1
        self.armed = None
        self.restart_store()
        self.biller = self._new_biller()

    def _hook(self, step: str) -> None:
        aid = self.faults.agreement_id
        if aid is not None and self.poisoned.get(aid) == step:
            raise Poisoned(f"poisoned at {step}")
        if self.armed is not None and self.armed[0] == step:
            if self.armed[1] > 1:
                self.armed = (step, self.armed[1] - 1)
                return
            self.armed = None
            self.stats["crashes"] += 1
            self.stats[f"crash {step}"] += 1
            raise Crash(step)

    def _arm(self, crash: Armed) -> None:
        if crash is not None:
            self.armed = crash
            self.stats["crashes armed"] += 1

    def _act(self, work: Callable[[], _T]) -> _T | None:
        """Do ``work``; a crash restarts the worker, a poisoned agreement's error
        reaches the caller (only a run isolates agreements)."""
        try:
            return work()
        except Crash:
            self._restart()
        except Poisoned:
            self.stats["poison reached the host"] += 1
        return None

    def _load(self, aid: AgreementId) -> Agreement:
        return self.biller.load(aid)

    def _all(self) -> dict[AgreementId, Agreement]:
        return {aid: self._load(aid) for aid in self.store.agreement_ids()}

    def _parked(self) -> set[AgreementId]:
        return {p.agreement_id for p in self.store.parked()}

    def _pick(self, data: st.DataObject, *, working: bool = False) -> AgreementId | None:
        ids = [a for a in self.agreements if not working or a not in self._parked()]
        return data.draw(st.sampled_from(ids), label="agreement") if ids else None

    def _collect(self) -> None:
        """Receive the webhooks for the gateway's new events (each verified)."""
        for d in self.gateway.deliveries(self.seen):
            event = self.gateway.parse_webhook(d.payload, d.signature_header, d.received_at)
            assert event is not None, d.payload
            self.pending.append(event)
            self.seen += 1

    def _deliver(self, event: GatewayEvent) -> None:
        self._act(lambda: self.biller.apply_gateway_event(event))
        self.stats["webhooks delivered"] += 1

    def _signature(self, aid: AgreementId) -> tuple[object, ...]:
        """What nobody may add to for a parked agreement."""
        a = self._load(aid)
        revenue = [e.id for e in self.store.entries(agreement_id=aid) if ":revenue:" in e.id]
        return (tuple(i.id for i in a.invoices), tuple(c.id for c in a.credit_notes),
                tuple(x.idempotency_key for x in a.attempts),
                sum(1 for c in self.gateway.charges if c.agreement_id == aid), tuple(revenue))

    def _snapshot(self) -> tuple[object, ...]:
        """Everything a step that should change nothing must leave as it was."""
        return (self._all(), self.store.invoices(FIRM), [e.canonical() for e in self.store.entries()],
                self.gateway.charges, len(self.gateway.events),
                self.store.unfinished_attempts())

    # -- signing and the client's side

    @initialize(data=st.data())
    def first_agreement(self, data: st.DataObject) -> None:
        """Sign the first agreement, so every run of the model has one to bill."""
        self.sign(data)

    @precondition(lambda self: len(self.agreements) < _MAX_AGREEMENTS)
    @rule(data=st.data())
    def sign(self, data: st.DataObject) -> None:
        """Sign a drawn offer (card, bank debit or sent invoices; with the terms of
        docs/terms.md) through the public commands and store it."""
        n = len(self.agreements) + 1
        aid = AgreementId(f"agr-{n}")
        collection = data.draw(st.sampled_from([Collection.AUTO_CHARGE, Collection.AUTO_CHARGE,
                                                Collection.SEND_INVOICE]), label="collection")
        offer = data.draw(offers(start=self.clock.today(), collection=collection,
                                 approval=_APPROVALS, max_count=6, terms=True), label="offer")
        kind = data.draw(st.sampled_from(PaymentMethodKind), label="payment method")
        addons = data.draw(st.sampled_from([(), ("extra",)]), label="add-ons")
        self.policies[aid] = data.draw(st.sampled_from(CreditPolicy), label="credit policy")
        method = (PaymentMethodRef("memory", f"cus-{n}", f"pm-{n}", kind)
                  if collection is Collection.AUTO_CHARGE else None)
        a = sign(offer, option=data.draw(st.sampled_from(["a", "b"]), label="package"),
                 signer="Ada", payment_method=method, agreement_id=aid, addons=addons,
                 signed_at=self.clock.now())
        self.agreements.append(aid)
        self.stats[f"signed {kind.value if method else 'send invoice'}"] += 1
        self.stats["signed with late fees"] += offer.late_fee is not None
        self.stats["signed with time and materials"] += offer.time_materials is not None
        self.biller = self._new_biller()
        self._act(lambda: self.biller.open(a))

    def _host_event(self, aid: AgreementId, make: Callable[[Agreement], Event]) -> None:
        """Build an event from the agreement as stored (a refusal writes nothing),
        then hand it to the Biller, which bills what it makes due."""
        a = self._load(aid)
        try:
            e = make(a)
        except (AmendmentError, InvalidTransitionError, ValidationError) as exc:
            self.stats[f"refused {type(exc).__name__}"] += 1
            return
        self.handled.append((aid, e))
        self.stats[f"event {type(e).__name__}"] += 1
        self._act(lambda: self.biller.handle(aid, e))

    @rule(data=st.data(), crash=_CRASH)
    def complete(self, data: st.DataObject, crash: Armed) -> None:
        """Complete a pending milestone of a drawn agreement, possibly crashing mid-write."""
        self._arm(crash)
        aid = self._pick(data)
        if aid is None:
            return
        a = self._load(aid)
        open_ = [t.milestone.id for t in a.milestones if t.milestone.id not in a.completions]
        if not open_:
            return
        mid = data.draw(st.sampled_from(open_), label="milestone")
        self._host_event(aid, lambda a: complete_milestone(
            a, MilestoneId(mid), by="Ada", at=self.clock.now(), evidence="signed off"))

    @rule(data=st.data(), crash=_CRASH)
    def amend(self, data: st.DataObject, crash: Armed) -> None:
        """Propose an amendment of one or two drawn operations (sometimes with a cancellation)."""
        self._arm(crash)
        aid = self._pick(data)
        if aid is None:
            return
        a = self._load(aid)
        if not a.state.amendable:
            return
        self.counter += 1
        n, today = self.counter, self.clock.today()
        effective = today + timedelta(days=data.draw(st.integers(-5, 20), label="effective"))
        ops = list(data.draw(st.lists(amendment_operations(a, effective, n, terms=True),
                                      min_size=1, max_size=2), label="operations"))
        if data.draw(st.integers(0, 11), label="cancel too") == 0:
            ops.append(CancelAgreement(effective, data.draw(st.booleans())))
        for op in ops:
            self.stats[f"op {type(op).__name__}"] += 1
        am = Amendment(AmendmentId(f"am-{n}"), tuple(ops))
        self._host_event(aid, lambda a: propose(a, am, by="Bo", at=self.clock.now()))

    @rule(data=st.data(), approved=st.booleans(), crash=_CRASH)
    def decide(self, data: st.DataObject, approved: bool, crash: Armed) -> None:
        """Approve or reject an amendment that awaits the client."""
        self._arm(crash)
        aid = self._pick(data)
        if aid is None:
            return
        waiting = self._load(aid).pending_amendments
        if not waiting:
            return
        am = data.draw(st.sampled_from(waiting), label="amendment").amendment.id
        if approved:
            self._host_event(aid, lambda a: approve(a, am, by="Client", at=self.clock.now()))
        else:
            self._host_event(aid, lambda a: reject(a, am, by="Client", at=self.clock.now()))

    @rule(data=st.data())
    def pause_or_resume(self, data: st.DataObject) -> None:
        """Pause a drawn agreement, or resume it if it is paused."""
        aid = self._pick(data)
        if aid is None:
            return
        if self._load(aid).state is AgreementState.PAUSED:
            self._host_event(aid, lambda a: resume(a, at=self.clock.now()))
        else:
            self._host_event(aid, lambda a: pause(a, at=self.clock.now(), reason="on hold"))

    @rule(data=st.data(), really=st.integers(0, 3))
    def cancel(self, data: st.DataObject, really: int) -> None:
        """Now and then, cancel a drawn agreement from the host's side."""
        aid = self._pick(data)
        if aid is not None and really == 0:
            self._host_event(aid, lambda a: cancel(a, at=self.clock.now(), reason="ended"))

    # -- time and runs

    @rule(days=st.integers(0, 40), hours=st.integers(0, 23), crash=_CRASH)
    def tick(self, days: int, hours: int, crash: Armed) -> None:
        """Time passes: revenue is recognised at each month end on the way, then
        the day's run."""
        then = self.clock.now() + timedelta(days=days, hours=hours)
        for last in _month_ends(self.month_end, then.date()):
            self.clock.set(max(self.clock.now(), datetime.combine(last, time(23), tzinfo=UTC)))
            self.month_end = last
            self._recognise(last)
        self.clock.set(then)
        self.run(crash)

    @rule(crash=_CRASH)
    def run(self, crash: Armed) -> None:
        """Run the Biller for today (possibly crashing at a step boundary) and check what it parked."""
        self._arm(crash)
        before = self._parked()
        summary = self._act(lambda: self.biller.run(self.clock.today()))
        if summary is None:
            return
        for p in summary.problems:
            # Only the poisoned are parked, and nothing else goes wrong.
            assert p.parked, p
            assert p.agreement_id in self.poisoned, p
        self.stats["runs"] += 1
        self.stats["parked"] += len(self._parked() - before)

    @rule(crash=_CRASH)
    def reconcile(self, crash: Armed) -> None:
        """Reconcile unfinished charge attempts with the gateway, each with its own key."""
        self._arm(crash)
        self._act(lambda: self.biller.reconcile(grace_seconds=0))

    def _recognise(self, last: date) -> None:
        summary = self._act(lambda: self.biller.recognise(last))
        if summary is None:
            return
        assert summary.problems == (), summary.problems
        self.stats["recognitions"] += 1
        parked = self._parked()
        agreements = {aid: a for aid, a in self._all().items() if aid not in parked}
        problems = revenue_problems(self.store, agreements, last)
        assert not problems, problems

    # -- the gateway's side

    @rule(outcomes=st.lists(_OUTCOMES, min_size=1, max_size=3))
    def script(self, outcomes: list[Scripted]) -> None:
        """Script the gateway's next outcomes: declines, actions required, processing, time-outs."""
        self.gateway.script_next(*outcomes)

    @rule(data=st.data(), succeed=st.booleans())
    def settle(self, data: st.DataObject, succeed: bool) -> None:
        """A bank debit clears or bounces; a customer authenticates or gives up."""
        waiting = _waiting(self.gateway)
        if not waiting:
            return
        ref = data.draw(st.sampled_from(waiting), label="payment")
        outcome = Scripted.succeed() if succeed else Scripted.decline("insufficient_funds")
        try:
            self.gateway.settle(ref, outcome)
        except GatewayError:  # refunded or settled meanwhile
            return
        self.stats["settled"] += 1

    @rule(data=st.data(), crash=_CRASH)
    def deliver(self, data: st.DataObject, crash: Armed) -> None:
        """One pending webhook, any one: late and out of order."""
        self._arm(crash)
        self._collect()
        if not self.pending:
            return
        event = self.pending.pop(data.draw(st.integers(0, len(self.pending) - 1)))
        self.delivered.append(event)
        self._deliver(event)

    @rule(data=st.data())
    def redeliver(self, data: st.DataObject) -> None:
        """A webhook delivered before comes again."""
        if self.delivered:
            self._deliver(data.draw(st.sampled_from(self.delivered), label="duplicate"))
            self.stats["webhooks duplicated"] += 1

    # -- money back

    @rule(data=st.data(), percent=st.integers(1, 110), crash=_CRASH)
    def refund(self, data: st.DataObject, percent: int, crash: Armed) -> None:
        """Refund a share of a paid invoice; more than was paid must be refused and change nothing."""
        aid = self._pick(data, working=True)
        if aid is None:
            return
        a = self._load(aid)
        paid = sorted({p.invoice_id for p in a.payments})
        if not paid:
            return
        inv = a.invoice(data.draw(st.sampled_from(paid), label="invoice"))
        amount = Money.from_minor(max(1, inv.subtotal.minor * percent // 100), a.currency)
        before = self._snapshot()
        self._arm(crash)
        refused = _refused(lambda: self._act(lambda: self.biller.refund(
            InvoiceId(inv.id), amount, reason="goodwill")))
        if refused is None:
            self.stats["refunds"] += 1
            return
        # More than refundable, or than one payment holds: nothing written or sent.
        assert isinstance(refused, RefundLimitError) or refused.field == "amount", refused
        assert self._snapshot() == before
        self.stats["refunds refused"] += 1

    @rule(data=st.data(), percent=st.integers(0, 110), crash=_CRASH)
    def refund_credit(self, data: st.DataObject, percent: int, crash: Armed) -> None:
        """Refund a share of the customer credit; more than is held must be refused."""
        aid = self._pick(data, working=True)
        if aid is None:
            return
        a = self._load(aid)
        minor = a.credit_balance.minor * percent // 100
        amount = None if not percent or not minor else Money.from_minor(minor, a.currency)
        before = self._snapshot()
        self._arm(crash)
        refused = _refused(lambda: self._act(lambda: self.biller.refund_credit(
            aid, amount, reason="asked")))
        if refused is None:
            self.stats["credit refunds"] += 1
            return
        assert refused.field == "amount", refused
        assert self._snapshot() == before
        self.stats["credit refunds refused"] += 1

    # -- faults

    @rule()
    def restart(self) -> None:
        """Restart the worker: a new Biller over the surviving store and gateway state."""
        self._restart()

    @precondition(lambda self: bool(self.agreements))
    @rule(data=st.data(), step=st.sampled_from(POISON_STEPS))
    def poison(self, data: st.DataObject, step: str) -> None:
        """Make a drawn agreement fail at one of the run's steps, so the run must park it."""
        aid = self._pick(data)
        assert aid is not None
        self.poisoned[aid] = step

    @rule(data=st.data())
    def unpark(self, data: st.DataObject) -> None:
        """Deploy the fix for a parked agreement and give it back to the runs."""
        parked = sorted(self._parked())
        if not parked:
            return
        aid = data.draw(st.sampled_from(parked), label="parked")
        self.poisoned.pop(aid, None)  # the fix is deployed
        assert self.biller.unpark(aid) is not None
        self.frozen.pop(aid, None)
        self.stats["unparked"] += 1

    # -- replays: exactly once

    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        """Handling an event again, or running a day again, changes nothing."""
        if self.armed is not None:
            return
        parked = self._parked()
        ids = [a for a in self.agreements if a not in parked and a not in self.poisoned]
        if not ids:
            return
        today = self.clock.today()
        self.biller.run(today)
        self.biller.reconcile(grace_seconds=0)
        if self.store.unfinished_attempts():
            return  # the gateway is still failing; nothing settles yet
        before = self._snapshot()
        mine = [(aid, e) for aid, e in self.handled if aid in ids]
        by_event: bool = data.draw(st.booleans(), label="event or day")
        if mine and by_event:
            aid, e = data.draw(st.sampled_from(mine), label="event")
            self.biller.handle(aid, e)
        else:
            for aid in ids:
                self.store.set_next_due(aid, today)
            self.biller.run(today)
        assert self._snapshot() == before
        self.stats["replays"] += 1

    @rule()
    def settle_everything(self) -> None:
        """Customers act, debits clear, webhooks arrive, reconcile: then every
        payment the gateway made is recorded, once."""
        self.armed = None
        for ref in _waiting(self.gateway):
            self.gateway.settle(ref, Scripted.succeed())
        self._collect()
        while self.pending:
            self._deliver(self.pending.pop())
        self.biller.run(self.clock.today())
        for _ in range(10):  # until the scripted failures are used up
            if not self.store.unfinished_attempts():
                break
            self.biller.reconcile(grace_seconds=0)
        self._collect()
        while self.pending:
            self._deliver(self.pending.pop(0))
        problems = settled_problems(self.store, self.gateway, self._all(),
                                    parked=self._parked())
        assert not problems, problems
        self.stats["settled checks"] += 1

    # -- after every step

    @invariant()
    def books_add_up(self) -> None:
        """Invariant: the books hold after every step (``testing.invariants.book_problems``)."""
        self.stats["steps"] += 1
        agreements = self._all()
        self._count_terms(agreements)
        problems = book_problems(self.store, self.gateway, agreements, firm_id=FIRM,
                                 horizon=self.clock.today())
        assert not problems, problems

    def _count_terms(self, agreements: dict[AgreementId, Agreement]) -> None:
        """Count the reminders and late fees the runs sent (each once)."""
        now = {(aid, kind, x) for aid, a in agreements.items()
               for kind, x in [*(("reminders sent", r.event_id) for r in a.reminders),
                               *(("late fees charged", i.id) for i in a.invoices
                                 if is_late_fee_invoice(i))]}
        for _aid, kind, _x in now - self.counted:
            self.stats[kind] += 1
        self.counted |= now

    @invariant()
    def parked_agreements_are_billed_by_nobody(self) -> None:
        """Invariant: nothing changes on a parked agreement until it is unparked."""
        for aid in self._parked():
            now = self._signature(aid)
            assert self.frozen.setdefault(aid, now) == now, aid


def _month_ends(after: date, before: date) -> list[date]:
    """The last days of months after ``after`` and before ``before``."""
    out: list[date] = []
    d = after + timedelta(days=1)
    while True:
        last = date(d.year, d.month, calendar.monthrange(d.year, d.month)[1])
        if last >= before:
            return out
        out.append(last)
        d = last + timedelta(days=1)


def _refused(work: Callable[[], object]) -> ValidationError | None:
    """The refusal ``work`` raised, if it was refused."""
    try:
        work()
    except ValidationError as exc:
        return exc
    return None


def _waiting(gateway: InMemoryGateway) -> list[str]:
    """Payments waiting for the bank or the customer."""
    waiting = {ref for ref, kind in gateway_payments(gateway).items()
               if kind is GatewayEventKind.PAYMENT_PROCESSING}
    for e in gateway.events:
        if e.payment_ref is None:
            continue
        if e.charge_status is ChargeStatus.REQUIRES_ACTION:
            waiting.add(e.payment_ref)
        elif e.kind is not GatewayEventKind.PAYMENT_PROCESSING:
            waiting.discard(e.payment_ref)
    return sorted(waiting)


class SQLiteBillingModel(BillingModel):
    """:class:`BillingModel` on a SQLite file, reopened after every crash; the
    gateway is restored from its saved state then, as the command does."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="milestonebill-model-"))
        super().__init__()

    def open_store(self) -> BillingStore:
        """A SQLite file in the model's own directory, on the model's clock."""
        return SQLiteStore(self.directory / "billing.db", clock=self.clock)

    def restart_store(self) -> None:
        """Close the file and open it again, as a new process would after a crash."""
        assert isinstance(self.store, SQLiteStore)
        self.store.close()
        self.store = self.open_store()
        self.gateway = InMemoryGateway.from_state(self.gateway.to_state(), fees=_FEES,
                                                  clock=self.clock)

    def teardown(self) -> None:
        """Close the SQLite file and remove its directory."""
        assert isinstance(self.store, SQLiteStore)
        self.store.close()
        shutil.rmtree(self.directory, ignore_errors=True)

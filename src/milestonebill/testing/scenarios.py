"""Scenario builders for tests, notebooks and host apps: a firm, a client, a Biller.

The suites of milestonebill and of apps that embed it need the same few
things again and again: a proposal of a few milestones, a signed
agreement, a Biller over an in-memory (or any) store and gateway with a
clock that can be moved, and questions about the result.  :class:`World`
holds them; the functions build the values.

>>> w = World()
>>> a = w.open(proposal(milestones=[("design", "1000.00")]))
>>> [str(i.total) for i in w.complete("design").invoices]
['1000.00 USD']
>>> w.charged(), w.balance(Account.RECEIVABLE)
([Money('1000.00', 'USD')], Money('0.00', 'USD'))

A world can use any :class:`~milestonebill.gateways.memory.InMemoryGateway`
(a subclass that misbehaves, say), start at another moment, and show how
a step changed (or did not change) what the store and gateway hold:

>>> w = World(clock=FixedClock(datetime(2024, 1, 31, 9, tzinfo=UTC)))
>>> a = w.open(proposal([("design", "1000.00")], collection=Collection.SEND_INVOICE),
...            payment_method=None)
>>> before = w.snapshot("entries", "charges")
>>> w.later(1), w.complete("design").charges, w.snapshot("entries", "charges") == before
(datetime.date(2024, 2, 1), (), False)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final, Generic, TypeVar, cast, overload

import attrs

from milestonebill.agreement import (
    Agreement,
    Amendment,
    AmendmentId,
    ApprovalRules,
    ChangeMilestoneAmount,
    Collection,
    CreditIssued,
    InvoiceIssued,
    Operation,
    PackageOption,
    PaymentMethodKind,
    PaymentMethodRef,
    Proposal,
    ProposalId,
    apply,
    approve,
    cancel,
    complete_milestone,
    propose,
    sign,
)
from milestonebill.clock import FixedClock
from milestonebill.documents import LineKind
from milestonebill.engine import Biller, RunSummary
from milestonebill.gateways.base import GatewayEvent, GatewayEventKind
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.ids import AgreementId, FirmId, InvoiceId
from milestonebill.invoicing import due_credit_notes, due_invoices, invoice_balance
from milestonebill.ledger import Account
from milestonebill.money import Currency, Money
from milestonebill.schedule import BillingSchedule, Milestone, MilestoneId, RecurringCharge, Trigger
from milestonebill.stores.base import BillingStore
from milestonebill.stores.memory import InMemoryStore
from milestonebill.testing.faults import Faults

__all__ = [
    "AGREEMENT",
    "CARD",
    "FIRM",
    "GATEWAY_PARTS",
    "SNAPSHOT_PARTS",
    "STORE_PARTS",
    "T0",
    "World",
    "bill_due",
    "paid_invoice",
    "proposal",
    "signed",
    "signed_deposit_agreement",
    "usd",
]

#: The moment every scenario starts: a Monday morning, 2 March 2026 (UTC).
T0: Final = datetime(2026, 3, 2, 9, tzinfo=UTC)
#: The firm whose number sequence scenarios use.
FIRM: Final = FirmId("acme")
#: The agreement id scenarios sign unless told otherwise.
AGREEMENT: Final = AgreementId("agr-1")
#: A saved card at the in-memory gateway.
CARD: Final = PaymentMethodRef("memory", "cus_1", "pm_card", PaymentMethodKind.CARD)
#: The parts of :meth:`World.snapshot` the store holds, in snapshot order.
STORE_PARTS: Final = ("agreements", "next_due", "invoices", "credit_notes", "entries",
                      "notifications", "unfinished")
#: The parts of :meth:`World.snapshot` the gateway holds, in snapshot order.
GATEWAY_PARTS: Final = ("charges", "gateway_events")
#: Every part of :meth:`World.snapshot`, in order.
SNAPSHOT_PARTS: Final = STORE_PARTS + GATEWAY_PARTS
_NO_APPROVAL: Final = ApprovalRules(require_client_approval=False)
# More host notifications than any scenario leaves pending.
_ALL_NOTES: Final = 10_000

_G = TypeVar("_G", bound=InMemoryGateway)


def usd(amount: str) -> Money:
    """``Money(amount, "USD")``."""
    return Money(amount, "USD")


def proposal(
    milestones: Sequence[tuple[str, str | Money] | Milestone] = (),
    recurring: Sequence[RecurringCharge] = (),
    *,
    currency: str | Currency = "USD",
    collection: Collection = Collection.AUTO_CHARGE,
    approval: ApprovalRules = _NO_APPROVAL,
    valid_until: date | None = None,
) -> Proposal:
    """A one-package proposal ``"std"`` (id ``"p-1"``): milestones given as values
    or as ``(id, amount)`` pairs billed on completion, and recurring charges.

    A pair's amount is a string in ``currency`` or a :class:`Money`.
    Amendments need no client approval unless ``approval`` says so.
    """
    cur = Currency.of(currency)
    ms = [m if isinstance(m, Milestone) else
          Milestone(MilestoneId(m[0]), m[0].title(),
                    amount=m[1] if isinstance(m[1], Money) else Money(m[1], cur))
          for m in milestones]
    s = BillingSchedule(currency=cur, milestones=ms, recurring=list(recurring))
    return Proposal(ProposalId("p-1"), "Acme", cur, (PackageOption("std", "Std", s),),
                    collection=collection, approval=approval, valid_until=valid_until)


def signed(offer: Proposal, *, at: datetime = T0,
           payment_method: PaymentMethodRef | None = CARD,
           agreement_id: AgreementId = AGREEMENT) -> Agreement:
    """``offer``'s package ``"std"`` signed by Ada at ``at`` (not stored)."""
    return sign(offer, option="std", signer="Ada", payment_method=payment_method,
                agreement_id=agreement_id, signed_at=at)


def signed_deposit_agreement(*, signed_on: date, amount: str = "250.00") -> Agreement:
    """An agreement (not stored) with one deposit milestone billed on signing."""
    deposit = Milestone(MilestoneId("deposit"), "Deposit", amount=usd(amount),
                        trigger=Trigger.ON_SIGNING)
    return signed(proposal([deposit]), at=datetime.combine(signed_on, T0.timetz()))


def bill_due(a: Agreement, day: date) -> Agreement:
    """``a`` with every invoice and credit note due on ``day`` issued at noon UTC,
    numbered ``INV-00001``/``CN-00001`` on (no store, no Biller: the pure core).

    >>> deposit = Milestone(MilestoneId("deposit"), "Deposit", amount=usd("400.00"),
    ...                     trigger=Trigger.ON_SIGNING)
    >>> a = bill_due(signed(proposal([deposit])), T0.date())
    >>> [(i.number, str(i.total)) for i in a.invoices]
    [('INV-00001', '400.00 USD')]
    """
    at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    for draft in due_invoices(a, day):
        inv = attrs.evolve(draft, number=f"INV-{len(a.invoices) + 1:05d}")
        a = apply(a, InvoiceIssued(f"inv-{inv.id}", a.version + 1, at, inv))
    for cn_draft in due_credit_notes(a, day):
        cn = attrs.evolve(cn_draft, number=f"CN-{len(a.credit_notes) + 1:05d}")
        a = apply(a, CreditIssued(f"cn-{cn.id}", a.version + 1, at, cn))
    return a


def paid_invoice(amount: str) -> tuple[Agreement, InvoiceId]:
    """An agreement whose one milestone of ``amount`` USD was invoiced and charged."""
    w = World()
    w.open(proposal([("design", amount)]))
    invoice = w.complete("design").invoices[0]
    return w.load(), InvoiceId(invoice.id)


class World(Generic[_G]):
    """A Biller over a store and an in-memory gateway, with a clock to move.

    ``store`` defaults to an :class:`~milestonebill.stores.memory.InMemoryStore`
    on the world's clock; ``gateway`` to an
    :class:`~milestonebill.gateways.memory.InMemoryGateway` charging
    ``fees``; ``clock`` to a :class:`~milestonebill.clock.FixedClock` at
    :data:`T0`, and the world starts where the clock stands.  With
    ``faults`` the world's Biller reaches the store and gateway through
    :class:`~milestonebill.testing.faults.Faults` (a worker that can
    crash); :meth:`worker` gives another Biller without them.  Other
    keyword arguments go to the :class:`~milestonebill.engine.Biller`.
    """

    @overload
    def __init__(self, store: BillingStore | None = None, *, gateway: _G,
                 clock: FixedClock | None = None, faults: Faults | None = None,
                 **biller: Any) -> None: ...

    @overload
    def __init__(self: World[InMemoryGateway], store: BillingStore | None = None, *,
                 fees: Callable[[Money], Money | None] | None = None,
                 clock: FixedClock | None = None, faults: Faults | None = None,
                 **biller: Any) -> None: ...

    def __init__(self, store: BillingStore | None = None, *, gateway: Any = None,
                 fees: Callable[[Money], Money | None] | None = None,
                 clock: FixedClock | None = None, faults: Faults | None = None,
                 **biller: Any) -> None:
        if gateway is not None and fees is not None:
            raise TypeError("give the fees to the gateway passed in")
        self.clock = clock if clock is not None else FixedClock(T0)
        #: The moment the world started: :meth:`later` counts from it.
        self.start = self.clock.now()
        self.store: BillingStore = store if store is not None else InMemoryStore(
            clock=self.clock)
        self.gateway: _G = gateway if gateway is not None else cast(_G, InMemoryGateway(fees=fees))
        self._settings = biller
        self.biller = self.worker(faults)

    def worker(self, faults: Faults | None = None, **biller: Any) -> Biller:
        """Another Biller on the world's store, gateway and clock, with its
        settings overridden by ``biller``: a second worker, or one restarted
        after a crash.  With ``faults`` it reaches them through the fault hook.
        """
        settings = {**self._settings, **biller}
        if faults is None:
            return Biller(self.store, self.gateway, clock=self.clock, firm_id=FIRM, **settings)
        return Biller(faults.store(self.store), faults.gateway(self.gateway), clock=self.clock,
                      firm_id=FIRM, **settings)

    # -- acting

    def open(self, offer: Proposal | None = None, *, payment_method: PaymentMethodRef | None = CARD,
             agreement_id: AgreementId = AGREEMENT) -> Agreement:
        """Sign ``offer`` (default: design 1,000.00 and build 1,500.00) now and store it."""
        offer = offer or proposal([("design", "1000.00"), ("build", "1500.00")])
        return self.biller.open(signed(offer, at=self.clock.now(), payment_method=payment_method,
                                       agreement_id=agreement_id))

    def complete(self, milestone: str, agreement_id: AgreementId = AGREEMENT) -> RunSummary:
        """Complete a milestone now and bill what that makes due."""
        a = self.biller.load(agreement_id)
        e = complete_milestone(a, MilestoneId(milestone), by="Ada", at=self.clock.now())
        return self.biller.handle(agreement_id, e)

    def reprice(self, milestone: str, amount: str | Money, amendment_id: str = "am-1",
                agreement_id: AgreementId = AGREEMENT) -> RunSummary:
        """Amend a milestone's amount, effective today, and bill what that makes due."""
        a = self.biller.load(agreement_id)
        price = amount if isinstance(amount, Money) else Money(amount, a.currency)
        op = ChangeMilestoneAmount(self.clock.today(), MilestoneId(milestone), price)
        e = propose(a, Amendment(AmendmentId(amendment_id), (op,)), by="Bo",
                    at=self.clock.now())
        return self.biller.handle(agreement_id, e)

    def amend(self, *changes: Operation, amendment_id: str = "am-1",
              approved_by: str | None = None, agreement_id: AgreementId = AGREEMENT) -> None:
        """Propose an amendment now and, if ``approved_by`` is given and the
        proposal's rules left it waiting for approval, approve it; both are
        recorded without billing (the next run bills)."""
        a = self.biller.load(agreement_id)
        am = Amendment(AmendmentId(amendment_id), changes)
        self.biller.record(agreement_id, [propose(a, am, by="Bo", at=self.clock.now())])
        if approved_by is not None:
            a = self.biller.load(agreement_id)
            if not any(r.amendment.id == amendment_id for r in a.pending_amendments):
                return  # applied on proposal: nothing waits for approval
            self.biller.record(agreement_id, [approve(a, AmendmentId(amendment_id),
                                                      by=approved_by, at=self.clock.now())])

    def cancel(self, agreement_id: AgreementId = AGREEMENT) -> RunSummary:
        """Cancel the agreement, effective today, and bill (credit) what that makes due."""
        a = self.biller.load(agreement_id)
        return self.biller.handle(agreement_id, cancel(a, at=self.clock.now()))

    def deliver(self, since: int = 0) -> None:
        """Hand the gateway's webhooks for its events from index ``since`` on
        to the Biller, in order."""
        for event in self.webhooks(since):
            self.biller.apply_gateway_event(event)

    def later(self, days: int = 0, **delta: float) -> date:
        """Move the clock to ``days`` (and ``hours=``, ``minutes=``...) after the start."""
        self.clock.set(self.start + timedelta(days=days, **delta))
        return self.clock.today()

    def on(self, day: date) -> None:
        """Move the clock to ``day``, at the time of day the world started."""
        self.clock.set(datetime.combine(day, self.start.timetz()))

    # -- asking

    def load(self, agreement_id: AgreementId = AGREEMENT) -> Agreement:
        """The agreement as stored."""
        return self.biller.load(agreement_id)

    def balance(self, account: Account, currency: str | Currency = "USD",
                as_of: date | None = None) -> Money:
        """The ledger balance of ``account`` (debit minus credit), at the end of ``as_of``."""
        return self.store.balance(account, currency=currency, as_of=as_of)

    def ledger_sum(self, currency: str | Currency = "USD") -> int:
        """Debits minus credits over every account: 0 when the books balance."""
        return sum(m.minor for m in self.store.balances(currency=currency).values())

    def charged(self) -> list[Money]:
        """What the gateway charged, in order."""
        return [c.amount for c in self.gateway.charges]

    def refunds_at_gateway(self) -> int:
        """How many refunds the gateway made."""
        return sum(1 for e in self.gateway.events if e.kind is GatewayEventKind.PAYMENT_REFUNDED)

    def webhooks(self, since: int = 0) -> list[GatewayEvent]:
        """The gateway's webhooks for its events from index ``since`` on, as
        the Biller would receive them (each checked to parse)."""
        out = []
        for d in self.gateway.deliveries(since):
            event = self.gateway.parse_webhook(d.payload, d.signature_header, d.received_at)
            if event is None:
                raise AssertionError(f"the gateway's own webhook did not parse: {d.payload!r}")
            out.append(event)
        return out

    def check_money(self, agreement_id: AgreementId = AGREEMENT) -> None:
        """Raise :class:`AssertionError` unless the agreement's money adds up,
        in minor units, and the ledger of a store holding this agreement
        alone says the same:

        * credit added == credit applied + forfeited + credit outstanding;
        * (payments - refunds) + invoice balances - credit outstanding +
          written off - forfeited == invoiced - credited (a balance below zero
          is owed to the client; written off is net of recoveries);
        * the ledger balances; receivable == invoice balances; customer
          credit == -outstanding; clearing + cash + gateway and platform fees
          == payments - refunds; bad debt == written off; other income == -(forfeited +
          late fees invoiced).
        """
        a = self.load(agreement_id)

        def total(values: Iterable[Money]) -> int:
            return sum(m.minor for m in values)

        paid, refunded = total(p.amount for p in a.payments), total(r.amount for r in a.refunds)
        outstanding = a.credit_balance.minor
        balances = sum(invoice_balance(a, i.id).minor for i in a.invoices)
        written_off = sum(a.written_off(i.id).minor for i in a.invoices)
        forfeited = total(f.amount for f in a.forfeits)
        late_fees = total(ln.amount for i in a.invoices for ln in i.lines
                          if ln.kind is LineKind.LATE_FEE)
        books = self.store.balances(currency=a.currency)

        def account(x: Account) -> int:
            return books.get(x, Money.zero(a.currency)).minor

        checks = {
            "credit added == applied + forfeited + outstanding":
            total(c.amount for c in a.credits_added)
            == total(c.amount for c in a.credits_applied) + forfeited + outstanding,
            "(paid - refunded) + balances - outstanding + written off - forfeited "
            "== invoiced - credited":
            (paid - refunded) + balances - outstanding + written_off - forfeited
            == total(i.total for i in a.invoices) - total(c.total for c in a.credit_notes),
            "the ledger balances": total(books.values()) == 0,
            "receivable == balances": account(Account.RECEIVABLE) == balances,
            "customer credit == -outstanding": account(Account.CUSTOMER_CREDIT) == -outstanding,
            "clearing + cash + fees == paid - refunded":
            account(Account.CLEARING) + account(Account.CASH) + account(Account.GATEWAY_FEES)
            + account(Account.PLATFORM_FEES) == paid - refunded,
            "bad debt == written off": account(Account.BAD_DEBT_EXPENSE) == written_off,
            "other income == -(forfeited + late fees)":
            account(Account.OTHER_INCOME) == -(forfeited + late_fees),
        }
        broken = [what for what, holds in checks.items() if not holds]
        if broken:
            raise AssertionError(f"{agreement_id}: not {broken}")

    def notes(self) -> list[str]:
        """The kinds of the host notifications not yet acknowledged, in order."""
        return [n.kind for n in self.store.pending_notifications(_ALL_NOTES)]

    def snapshot(self, *parts: str) -> tuple[Any, ...]:
        """What the store and gateway hold, to compare before and after a step:
        the named :data:`SNAPSHOT_PARTS` in the order given, or all of them.

        ``agreements`` and ``next_due`` map each agreement id to its stored
        agreement and next billing date; ``invoices`` and ``credit_notes``
        are the number records; ``entries`` the journal (canonical text);
        ``notifications`` those pending; ``unfinished`` the attempts without
        an outcome; ``charges`` the gateway's charges and ``gateway_events``
        how many events it has emitted.
        """
        store, gateway = self.store, self.gateway
        read: dict[str, Callable[[], object]] = {
            "agreements": lambda: {a: store.load(a) for a in store.agreement_ids()},
            "next_due": lambda: {a: store.next_due(a) for a in store.agreement_ids()},
            "invoices": lambda: store.invoices(FIRM),
            "credit_notes": lambda: store.invoices(FirmId(f"{FIRM}/credit-notes")),
            "entries": lambda: [e.canonical() for e in store.entries()],
            "notifications": lambda: store.pending_notifications(_ALL_NOTES),
            "unfinished": store.unfinished_attempts,
            "charges": lambda: gateway.charges,
            "gateway_events": lambda: len(gateway.events),
        }
        unknown = [p for p in parts if p not in read]
        if unknown:
            raise ValueError(f"no snapshot part {unknown}; the parts are {SNAPSHOT_PARTS}")
        return tuple(read[p]() for p in parts or SNAPSHOT_PARTS)

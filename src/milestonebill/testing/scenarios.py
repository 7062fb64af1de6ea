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
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from milestonebill.agreement import (
    Agreement,
    Amendment,
    AmendmentId,
    ApprovalRules,
    ChangeMilestoneAmount,
    Collection,
    PackageOption,
    PaymentMethodKind,
    PaymentMethodRef,
    Proposal,
    ProposalId,
    complete_milestone,
    propose,
    sign,
)
from milestonebill.clock import FixedClock
from milestonebill.engine import Biller, RunSummary
from milestonebill.gateways.base import GatewayEventKind
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.ids import AgreementId, FirmId, InvoiceId
from milestonebill.ledger import Account
from milestonebill.money import Currency, Money
from milestonebill.schedule import BillingSchedule, Milestone, MilestoneId, RecurringCharge, Trigger
from milestonebill.stores.base import BillingStore
from milestonebill.stores.memory import InMemoryStore

__all__ = [
    "AGREEMENT",
    "CARD",
    "FIRM",
    "T0",
    "World",
    "paid_invoice",
    "proposal",
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
_NO_APPROVAL: Final = ApprovalRules(require_client_approval=False)


def usd(amount: str) -> Money:
    """``Money(amount, "USD")``."""
    return Money(amount, "USD")


def proposal(
    milestones: Sequence[tuple[str, str] | Milestone] = (),
    recurring: Sequence[RecurringCharge] = (),
    *,
    currency: str = "USD",
    collection: Collection = Collection.AUTO_CHARGE,
    approval: ApprovalRules = _NO_APPROVAL,
) -> Proposal:
    """A one-package proposal ``"std"``: milestones given as values or as
    ``(id, amount)`` pairs billed on completion, and recurring charges.

    Amendments need no client approval unless ``approval`` says so.
    """
    cur = Currency.of(currency)
    ms = [m if isinstance(m, Milestone) else
          Milestone(MilestoneId(m[0]), m[0].title(), amount=Money(m[1], cur))
          for m in milestones]
    s = BillingSchedule(currency=cur, milestones=ms, recurring=list(recurring))
    return Proposal(ProposalId("p-1"), "Acme", cur, (PackageOption("std", "Std", s),),
                    collection=collection, approval=approval)


def signed_deposit_agreement(*, signed_on: date, amount: str = "250.00") -> Agreement:
    """An agreement (not stored) with one deposit milestone billed on signing."""
    deposit = Milestone(MilestoneId("deposit"), "Deposit", amount=usd(amount),
                        trigger=Trigger.ON_SIGNING)
    at = datetime.combine(signed_on, T0.timetz())
    return sign(proposal([deposit]), option="std", signer="Ada", payment_method=CARD,
                agreement_id=AGREEMENT, signed_at=at)


def paid_invoice(amount: str) -> tuple[Agreement, InvoiceId]:
    """An agreement whose one milestone of ``amount`` USD was invoiced and charged."""
    w = World()
    w.open(proposal([("design", amount)]))
    invoice = w.complete("design").invoices[0]
    return w.load(), InvoiceId(invoice.id)


class World:
    """A Biller over a store and an in-memory gateway, with a clock to move.

    ``store`` defaults to an :class:`~milestonebill.stores.memory.InMemoryStore`
    on the world's clock; keyword arguments go to the
    :class:`~milestonebill.engine.Biller` (``fees`` to the gateway).
    """

    def __init__(self, store: BillingStore | None = None, **biller: Any) -> None:
        self.clock = FixedClock(T0)
        self.store: BillingStore = store if store is not None else InMemoryStore(
            clock=self.clock)
        self.gateway = InMemoryGateway(fees=biller.pop("fees", None))
        self.biller = Biller(self.store, self.gateway, clock=self.clock, firm_id=FIRM, **biller)

    # -- acting

    def open(self, offer: Proposal | None = None, *, payment_method: PaymentMethodRef | None = CARD,
             agreement_id: AgreementId = AGREEMENT) -> Agreement:
        """Sign ``offer`` (default: design 1,000.00 and build 1,500.00) now and store it."""
        offer = offer or proposal([("design", "1000.00"), ("build", "1500.00")])
        return self.biller.open(sign(offer, option="std", signer="Ada",
                                     payment_method=payment_method, agreement_id=agreement_id,
                                     signed_at=self.clock.now()))

    def complete(self, milestone: str, agreement_id: AgreementId = AGREEMENT) -> RunSummary:
        """Complete a milestone now and bill what that makes due."""
        a = self.biller.load(agreement_id)
        e = complete_milestone(a, MilestoneId(milestone), by="Ada", at=self.clock.now())
        return self.biller.handle(agreement_id, e)

    def reprice(self, milestone: str, amount: str, amendment_id: str = "am-1",
                agreement_id: AgreementId = AGREEMENT) -> RunSummary:
        """Amend a milestone's amount, effective today, and bill what that makes due."""
        a = self.biller.load(agreement_id)
        op = ChangeMilestoneAmount(self.clock.today(), MilestoneId(milestone),
                                   Money(amount, a.currency))
        e = propose(a, Amendment(AmendmentId(amendment_id), (op,)), by="Bo",
                    at=self.clock.now())
        return self.biller.handle(agreement_id, e)

    def later(self, days: int = 0, **delta: float) -> date:
        """Move the clock to ``days`` (and ``hours=``, ``minutes=``...) after T0."""
        self.clock.set(T0 + timedelta(days=days, **delta))
        return self.clock.today()

    # -- asking

    def load(self, agreement_id: AgreementId = AGREEMENT) -> Agreement:
        """The agreement as stored."""
        return self.biller.load(agreement_id)

    def balance(self, account: Account, currency: str = "USD") -> Money:
        """The ledger balance of ``account`` (debit minus credit)."""
        return self.store.balance(account, currency=currency)

    def ledger_sum(self, currency: str = "USD") -> int:
        """Debits minus credits over every account: 0 when the books balance."""
        return sum(m.minor for m in self.store.balances(currency=currency).values())

    def charged(self) -> list[Money]:
        """What the gateway charged, in order."""
        return [c.amount for c in self.gateway.charges]

    def refunds_at_gateway(self) -> int:
        """How many refunds the gateway made."""
        return sum(1 for e in self.gateway.events if e.kind is GatewayEventKind.PAYMENT_REFUNDED)

    def notes(self) -> list[str]:
        """The kinds of the host notifications not yet acknowledged, in order."""
        return [n.kind for n in self.store.pending_notifications(1000)]

    def snapshot(self) -> Any:
        """Everything the store and gateway hold, to compare before and after a step."""
        ids = self.store.agreement_ids()
        return ({a: self.store.load(a) for a in ids}, {a: self.store.next_due(a) for a in ids},
                self.store.invoices(FIRM), self.store.invoices(FirmId(f"{FIRM}/credit-notes")),
                [e.canonical() for e in self.store.entries()],
                self.store.pending_notifications(1000), self.store.unfinished_attempts(),
                list(self.gateway.charges), len(self.gateway.events))

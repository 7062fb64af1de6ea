"""The Biller: turns events and dates into invoices, charges and postings, exactly once.

The Biller is the thin shell around the pure core.  It asks
:mod:`milestonebill.invoicing` what is due, and acts through three ports: an
:class:`~milestonebill.stores.base.BillingStore` (event streams, invoice
numbers, the charge-attempt journal, the outbox and the ledger), a
:class:`~milestonebill.gateways.base.PaymentGateway` and a
:class:`~milestonebill.clock.Clock`.

Every invoice goes through three units of work (each one store transaction)
with the gateway call outside all of them:

1. **issue** -- a gap-free number for the invoice id, the ``InvoiceIssued``
   event, the ledger posting (receivable against revenue, deferred revenue
   and tax payable) and an ``invoice.issued`` notification;
2. **attempt** -- the intent to charge in the attempt journal under the key
   derived from ``(agreement, invoice, attempt)`` and ``ChargeAttempted``;
3. the gateway is called with that key; then **outcome** -- the journal
   entry is completed, ``PaymentSucceeded``/``PaymentFailed`` appended, the
   ledger posted (clearing and gateway fees against receivable) and the host
   notified.

A crash anywhere leaves either nothing or a finished unit of work behind;
the next :meth:`Biller.run` (or :meth:`Biller.reconcile`) finishes the job,
calling the gateway again with the *same* key, which replays the first
outcome instead of charging twice.  ``docs/engine.md`` walks through it.

Deferred revenue is released by a separate step, :meth:`Biller.recognise`
(call it at each period close): revenue-only entries from
:func:`milestonebill.recognition.release_entry`, never cash or receivable.

>>> from datetime import UTC, date, datetime
>>> from milestonebill.agreement import (AgreementId, PackageOption, PaymentMethodKind,
...     PaymentMethodRef, Proposal, ProposalId, complete_milestone, sign)
>>> from milestonebill.gateways.memory import InMemoryGateway
>>> from milestonebill.ledger import Account
>>> from milestonebill.money import Currency, Money
>>> from milestonebill.schedule import BillingSchedule, Milestone, MilestoneId
>>> from milestonebill.stores.memory import InMemoryStore
>>> usd = Currency.of("USD")
>>> plan = BillingSchedule(currency=usd, milestones=[
...     Milestone(MilestoneId("design"), "Design", amount=Money("2500.00", "USD"))])
>>> proposal = Proposal(ProposalId("p-1"), "Acme", usd, (PackageOption("std", "Standard", plan),))
>>> card = PaymentMethodRef("memory", "cus_1", "pm_1", PaymentMethodKind.CARD)
>>> clock = FixedClock(datetime(2026, 3, 2, 9, tzinfo=UTC))
>>> store, gateway = InMemoryStore(), InMemoryGateway()
>>> biller = Biller(store, gateway, clock=clock, firm_id=FirmId("acme-consulting"))
>>> a = biller.open(sign(proposal, option="std", signer="Ada", payment_method=card,
...     agreement_id=AgreementId("agr-1"), signed_at=clock.now()))
>>> done = complete_milestone(a, MilestoneId("design"), by="Ada", at=clock.now())
>>> summary = biller.handle(AgreementId("agr-1"), done)
>>> [(i.number, str(i.total)) for i in summary.invoices]
[('INV-000001', '2500.00 USD')]
>>> [(c.attempt, c.status.value) for c in summary.charges], len(gateway.charges)
([(1, 'succeeded')], 1)
>>> biller.handle(AgreementId("agr-1"), done).invoices  # a replay changes nothing
()
>>> store.balance(Account.CLEARING, currency="USD"), store.balance(Account.RECEIVABLE, currency="USD")
(Money('2500.00', 'USD'), Money('0.00', 'USD'))
"""

from milestonebill.clock import Clock, FixedClock, SystemClock
from milestonebill.collection import (
    ACTION_REQUIRED_CODES,
    CollectionState,
    CreditPolicy,
    DunningStatus,
    InvoiceCollection,
    PlannedCharge,
    RetryPolicy,
    collection_state,
    dunning_status,
)
from milestonebill.documents import format_number
from milestonebill.engine.biller import Biller
from milestonebill.engine.books import StoreBooks
from milestonebill.engine.nightly import NightlySummary, nightly
from milestonebill.engine.results import (
    BillingProblem,
    ChargeOutcome,
    DryRun,
    RecognitionSummary,
    RunCounts,
    RunSummary,
)
from milestonebill.engine.tenants import TenantBiller, TenantFailure, TenantScheduler
from milestonebill.ids import FirmId, WorkerId
from milestonebill.refunds import refundable
from milestonebill.reminders import DEFAULT_REMINDERS, NO_REMINDERS, ReminderSchedule
from milestonebill.stores.base import ParkedAgreement

__all__ = [
    "ACTION_REQUIRED_CODES",
    "DEFAULT_REMINDERS",
    "NO_REMINDERS",
    "Biller",
    "BillingProblem",
    "ChargeOutcome",
    "Clock",
    "CollectionState",
    "CreditPolicy",
    "DryRun",
    "DunningStatus",
    "FirmId",
    "FixedClock",
    "InvoiceCollection",
    "NightlySummary",
    "ParkedAgreement",
    "PlannedCharge",
    "RecognitionSummary",
    "ReminderSchedule",
    "RetryPolicy",
    "RunCounts",
    "RunSummary",
    "StoreBooks",
    "SystemClock",
    "TenantBiller",
    "TenantFailure",
    "TenantScheduler",
    "WorkerId",
    "collection_state",
    "dunning_status",
    "format_number",
    "nightly",
    "refundable",
]

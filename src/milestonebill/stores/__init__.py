"""Where agreements, proposals, invoices, attempts, notifications, work links and the
ledger live.

``InMemoryStore`` (tests, notebooks), ``SQLiteStore`` (the embedded default)
and ``PostgresStore`` (many worker processes; needs the ``postgres`` extra and
is imported only from :mod:`milestonebill.stores.postgres`) all follow the
:class:`~milestonebill.stores.base.AgreementStore` contract, and each is also
a :class:`~milestonebill.stores.base.SyncJournal` (accounting exports).
"""

from milestonebill.stores.base import (
    AgreementId,
    AgreementStore,
    AttemptJournal,
    AttemptKey,
    AttemptRecord,
    BillingStore,
    DocumentNumbers,
    EventId,
    EventStreams,
    FirmId,
    InvoiceId,
    InvoiceRecord,
    LinkTarget,
    Notification,
    Outbox,
    ParkedAgreement,
    ProposalId,
    ProposalStreams,
    StoredEvent,
    StoredProposalEvent,
    SyncJournal,
    SyncRecord,
    UnitOfWork,
    WorkerId,
    WorkLink,
    WorkLinks,
    WorkQueue,
)
from milestonebill.stores.memory import InMemoryStore
from milestonebill.stores.sqlite import SQLiteStore

__all__ = [
    "AgreementId",
    "AgreementStore",
    "AttemptJournal",
    "AttemptKey",
    "AttemptRecord",
    "BillingStore",
    "DocumentNumbers",
    "EventId",
    "EventStreams",
    "FirmId",
    "InMemoryStore",
    "InvoiceId",
    "InvoiceRecord",
    "LinkTarget",
    "Notification",
    "Outbox",
    "ParkedAgreement",
    "ProposalId",
    "ProposalStreams",
    "SQLiteStore",
    "StoredEvent",
    "StoredProposalEvent",
    "SyncJournal",
    "SyncRecord",
    "UnitOfWork",
    "WorkLink",
    "WorkLinks",
    "WorkQueue",
    "WorkerId",
]

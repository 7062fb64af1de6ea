"""Where agreements, proposals, invoices, attempts, notifications, work links and the
ledger live.

``InMemoryStore`` (tests, notebooks), ``SQLiteStore`` (the embedded default)
and ``PostgresStore`` (many worker processes; needs the ``postgres`` extra and
is imported only from :mod:`milestonebill.stores.postgres`) all follow the
:class:`~milestonebill.stores.base.AgreementStore` contract, and each is also
a :class:`~milestonebill.stores.base.SyncJournal` (accounting exports).  Each
is bound to one tenant (:class:`~milestonebill.stores.tenancy.TenantBound`,
``docs/tenancy.md``); ``SQLiteTenantFiles`` keeps one SQLite file per tenant.
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
    TenantBillingStore,
    UnitOfWork,
    WorkerId,
    WorkLink,
    WorkLinks,
    WorkQueue,
)
from milestonebill.stores.memory import InMemoryStore
from milestonebill.stores.sqlite import SQLiteStore, SQLiteTenantFiles
from milestonebill.stores.tenancy import DEFAULT_TENANT, PlatformStore, TenantBound, TenantId

__all__ = [
    "DEFAULT_TENANT",
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
    "PlatformStore",
    "ProposalId",
    "ProposalStreams",
    "SQLiteStore",
    "SQLiteTenantFiles",
    "StoredEvent",
    "StoredProposalEvent",
    "SyncJournal",
    "SyncRecord",
    "TenantBillingStore",
    "TenantBound",
    "TenantId",
    "UnitOfWork",
    "WorkLink",
    "WorkLinks",
    "WorkQueue",
    "WorkerId",
]

"""Where agreements, invoices, attempts, notifications and the ledger live.

``InMemoryStore`` (tests, notebooks), ``SQLiteStore`` (the embedded default)
and ``PostgresStore`` (many worker processes; needs the ``postgres`` extra and
is imported only from :mod:`milestonebill.stores.postgres`) all follow the
:class:`~milestonebill.stores.base.AgreementStore` contract.
"""

from milestonebill.stores.base import (
    AgreementId,
    AgreementStore,
    AttemptKey,
    AttemptRecord,
    BillingStore,
    EventId,
    FirmId,
    InvoiceId,
    InvoiceRecord,
    Notification,
    StoredEvent,
    WorkerId,
)
from milestonebill.stores.memory import InMemoryStore
from milestonebill.stores.sqlite import SQLiteStore

__all__ = [
    "AgreementId",
    "AgreementStore",
    "AttemptKey",
    "AttemptRecord",
    "BillingStore",
    "EventId",
    "FirmId",
    "InMemoryStore",
    "InvoiceId",
    "InvoiceRecord",
    "Notification",
    "SQLiteStore",
    "StoredEvent",
    "WorkerId",
]

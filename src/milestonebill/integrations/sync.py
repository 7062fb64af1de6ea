"""Send an accounting export to QuickBooks or Xero, each document once, however often it runs.

:func:`sync` sends an :class:`~milestonebill.integrations.accounting.Export`
through an :class:`AccountingSink` (the port: one method, ``send``) and keeps
what it sent in a :class:`~milestonebill.stores.base.SyncJournal` (every
shipped store is one):

1. each document's intent -- its body, exactly as it will be sent, and an
   idempotency key derived from the target and our id -- is recorded
   before the system is called;
2. the system's answer (its id for the document) completes the record.

Running the same export again sends nothing: a document already recorded is
skipped (and reported as ``changed`` if its body is no longer what was
sent -- documents sent are never silently replaced).  A crash or an outage
between the two steps leaves an unfinished record; the next sync sends it
first, with the recorded body and key, and the system answers a repeated key
with the document it already created.  A document the system refuses
(:class:`~milestonebill.errors.DocumentRefusedError`) was not created: its
intent is dropped and it is reported, so a corrected one can go later.

Every document carries our id where the system shows it (QuickBooks:
``PrivateNote``, with ``DocNumber`` mapped back through the journal; Xero:
``Reference`` or the journal's ``Narration``), so one created by a call
whose answer was lost can also be found by hand.

>>> sink = InMemorySink(prefix="xero")
>>> rec = SyncRecord("xero", "inv-1:issue", "Invoice", "INV-1", sync_key("xero", "inv-1:issue"),
...                  '{"Type":"ACCREC"}')
>>> sink.send(rec), sink.send(rec), len(sink.created)
('xero-1', 'xero-1', 1)
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping, Sequence
from typing import Final, Protocol, runtime_checkable

import attrs

from milestonebill._json import parse_json_object
from milestonebill.errors import AccountingSinkError, DocumentRefusedError
from milestonebill.integrations.accounting import Document, Export
from milestonebill.stores.base import SyncJournal, SyncRecord

__all__ = [
    "AccountingSink",
    "InMemorySink",
    "SinkFault",
    "SyncReport",
    "source_of",
    "sync",
    "sync_key",
]

_KEY_PREFIX: Final = "mb-sync-v1-"


def sync_key(target: str, source_id: str) -> str:
    """The idempotency key a document is sent under: from the target and our id,
    never random, so a retry is recognised.

    >>> sync_key("xero", "inv-1:issue")
    'mb-sync-v1-273259672e9fd9413145ff9f8d93f23aa30cc971'
    """
    digest = hashlib.sha256(f"{target}\x00{source_id}".encode()).hexdigest()
    return _KEY_PREFIX + digest[:40]


@runtime_checkable
class AccountingSink(Protocol):
    """Port: an accounting system that takes documents (a QuickBooks company, a Xero
    organisation).

    ``send`` creates the document ``record.body`` (JSON text) at the
    endpoint for ``record.kind`` under the idempotency key ``record.key``
    (QuickBooks: the ``requestid`` query parameter; Xero: the
    ``Idempotency-Key`` header) and returns the system's id for it.  The same
    key again must not create a second document: answer with the first one's
    id.  Raise :class:`~milestonebill.errors.DocumentRefusedError` when the
    system refuses the document (nothing created) and
    :class:`~milestonebill.errors.AccountingSinkError` when its outcome is
    unknown (unreachable, timed out).
    """

    def send(self, record: SyncRecord) -> str:
        """Create ``record``'s document once under its key; the system's id for it.

        Raises :class:`~milestonebill.errors.DocumentRefusedError` (refused,
        nothing created) or :class:`~milestonebill.errors.AccountingSinkError`
        (outcome unknown: send again with the same record).
        """


class SinkFault(enum.Enum):
    """A scripted failure of :class:`InMemorySink`."""

    #: Nothing created; :class:`~milestonebill.errors.AccountingSinkError`.
    UNREACHABLE = "unreachable"
    #: Created, but the answer is lost; :class:`~milestonebill.errors.AccountingSinkError`.
    LOST = "lost"
    #: Refused, nothing created; :class:`~milestonebill.errors.DocumentRefusedError`.
    REFUSE = "refuse"


class InMemorySink:
    """An :class:`AccountingSink` that records what it is sent, for tests.

    It creates each document once per idempotency key (``created``), answers
    a repeated key with the same id (``"<prefix>-<n>"``) and refuses a key
    reused for another body, like the real systems.  ``faults`` scripts
    failures by our id: each :class:`SinkFault` listed is used once, in
    order, on the next sends of that document.
    """

    def __init__(self, *, prefix: str = "memory",
                 faults: Mapping[str, Sequence[SinkFault]] | None = None) -> None:
        self.prefix = prefix
        #: Every document created, in order (one per key).
        self.created: list[SyncRecord] = []
        #: The key of every call, including replays and failures.
        self.calls: list[str] = []
        self._ids: dict[str, tuple[str, str]] = {}
        self._faults = {k: list(v) for k, v in (faults or {}).items()}

    def send(self, record: SyncRecord) -> str:
        """See :class:`AccountingSink`.

        As scripted: :class:`~milestonebill.errors.DocumentRefusedError` when
        the document is refused (or its idempotency key was used for another
        document), and :class:`~milestonebill.errors.AccountingSinkError` when
        the system is unreachable or times out after creating it.
        """
        self.calls.append(record.key)
        known = self._ids.get(record.key)
        if known is not None:
            if known[1] != record.body:
                raise DocumentRefusedError(f"idempotency key {record.key!r} was used for "
                                           "another document")
            return known[0]
        scripted = self._faults.get(record.source_id)
        fault = scripted.pop(0) if scripted else None
        if fault is SinkFault.UNREACHABLE:
            raise AccountingSinkError(f"{self.prefix} is unreachable")
        if fault is SinkFault.REFUSE:
            raise DocumentRefusedError(f"{self.prefix} refused {record.kind} {record.number}")
        self.created.append(record)
        found = f"{self.prefix}-{len(self.created)}"
        self._ids[record.key] = (found, record.body)
        if fault is SinkFault.LOST:
            raise AccountingSinkError(f"{self.prefix} timed out after creating "
                                      f"{record.kind} {record.number}")
        return found

    def bodies(self, kind: str | None = None) -> list[dict[str, object]]:
        """The bodies created (of ``kind``), parsed (amounts as ``Decimal``)."""
        return [parse_json_object(r.body, "body") for r in self.created
                if kind is None or r.kind == kind]


@attrs.frozen
class SyncReport:
    """What one :func:`sync` did: documents ``sent`` now (new or finished after a
    crash), those ``already`` sent, those sent before whose body has
    ``changed`` since (not sent again), and those ``refused`` (with why)."""

    target: str
    sent: tuple[SyncRecord, ...] = ()
    already: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    refused: tuple[tuple[str, str], ...] = ()


def _send(journal: SyncJournal, sink: AccountingSink, rec: SyncRecord
          ) -> SyncRecord | str:
    """Send one recorded intent; the completed record, or why it was refused."""
    try:
        found = sink.send(rec)
    except DocumentRefusedError as exc:
        journal.discard_sync(rec.target, rec.source_id)
        return str(exc)
    return journal.complete_sync(rec.target, rec.source_id, found)


def _sent_id(journal: SyncJournal, target: str) -> dict[str, str]:
    return {r.source_id: r.target_id for r in journal.syncs(target) if r.target_id is not None}


def sync(export: Export, sink: AccountingSink, journal: SyncJournal, *,
         target: str | None = None) -> SyncReport:
    """Send each document of ``export`` that ``journal`` has not seen sent to ``target``
    (default: the export's system), in order; see the module docs.

    :class:`~milestonebill.errors.AccountingSinkError` from the sink stops the
    sync and propagates: what was sent stays recorded, the document in hand
    stays unfinished, and the next sync goes on from there.
    """
    name = export.target if target is None else target
    sent: list[SyncRecord] = []
    already: list[str] = []
    changed: list[str] = []
    refused: list[tuple[str, str]] = []

    def go(rec: SyncRecord) -> None:
        done = _send(journal, sink, rec)
        if isinstance(done, str):
            refused.append((rec.source_id, done))
        else:
            sent.append(done)
            known[done.source_id] = done.target_id or ""

    known = _sent_id(journal, name)
    for rec in journal.syncs(name, unfinished=True):
        go(rec)  # finish what a crash or an outage left
    for doc in export.documents:
        if any(doc.source_id == r for r, _ in refused):
            continue  # refused just now, as the crash left it
        body = doc.resolved(known.get).text()
        old = journal.get_sync(name, doc.source_id)
        if old is not None:
            if old.sent:
                (already if old.body == body else changed).append(doc.source_id)
            continue
        go(journal.record_sync(_intent(name, doc, body)))
    return SyncReport(name, tuple(sent), tuple(already), tuple(changed), tuple(refused))


def _intent(target: str, doc: Document, body: str) -> SyncRecord:
    return SyncRecord(target, doc.source_id, doc.kind, doc.number,
                      sync_key(target, doc.source_id), body)


def source_of(journal: SyncJournal, target: str, kind: str, number: str) -> str | None:
    """Our id of the document ``target`` shows as ``kind`` ``number`` (a QuickBooks
    ``DocNumber``, a Xero ``InvoiceNumber`` or ``Reference``), if it was synced."""
    return next((r.source_id for r in journal.syncs(target)
                 if (r.kind, r.number) == (kind, number)), None)

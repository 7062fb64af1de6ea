"""The ``AgreementStore`` port and the values it stores.

A store keeps, for each agreement, an append-only stream of
:class:`StoredEvent` records (opaque JSON: the store never needs the event
classes), plus everything the Biller needs to move money exactly once.  The
port is the intersection of small role protocols, one per job:

* **streams** (:class:`EventStreams`) -- :meth:`AgreementStore.append` with an expected version
  (optimistic concurrency: a stale writer gets
  :class:`~milestonebill.errors.ConcurrencyError`); re-appending an event id
  already stored with the same content is a no-op, so retries are safe.
* **proposal streams** (:class:`ProposalStreams`) -- each proposal's own
  stream, with the same rules, apart from the agreements (never listed, due
  or claimed as one); a proposal id and an agreement id may be equal.
* **due work** (:class:`WorkQueue`) -- next due dates and leased claims, so
  two workers never process the same agreement at once; parked agreements
  are never handed out as work.
* **document numbers** (:class:`DocumentNumbers`) -- :meth:`~AgreementStore.issue_invoice_number`,
  gap-free per firm and idempotent per invoice id.
* **charge attempts** (:class:`AttemptJournal`) -- an intent journal: record the attempt *before*
  calling the gateway, complete it after; what a crash left behind is listed.
* **outbox** (:class:`Outbox`) -- notifications for the host, delivered at least once.
* **work links** (:class:`WorkLinks`) -- which agreement, milestone or
  obligation an external work item or project (a practice-management tool's
  id, by source) delivers.
* **ledger** -- every shipped store is also a :class:`~milestonebill.ledger.Ledger`.
* **sync journal** (:class:`SyncJournal`) -- what was sent to which accounting
  system, so an export never sends a document twice.  Every shipped store has
  it; it is not part of :class:`AgreementStore` (a host's store needs it only to sync).

Tenants (:mod:`milestonebill.stores.tenancy`)
---------------------------------------------
Every shipped store is also bound to one tenant (a firm on a shared
deployment): each method above reads, writes, counts and locks that tenant's
rows only, so two tenants may reuse every id and each numbers invoices from 1.
The roles do not require it, so a host's single-firm store keeps working as a
:class:`BillingStore`; :class:`TenantBillingStore` names a store that is both
(:mod:`milestonebill.testing.tenant_contract` checks one).

Units of work (:class:`UnitOfWork`)
-----------------------------------
Every method runs in its own transaction.  To make several writes atomic --
the Biller's invoice record, its events, ledger postings and outbox entries
-- wrap them in :meth:`AgreementStore.transaction`::

    with store.transaction():
        number = store.issue_invoice_number(firm, invoice_id, agreement_id=agr)
        store.append(agr, [issued_event], expected_version=v)
        store.post(entry)
        store.add_notification(key, agr, "invoice.issued", {...})

Calls made on the store by the same thread inside the block join it; if the
block raises, *all* of it is rolled back, including the invoice number, so
a rollback leaves no gap.  Transactions do not nest: an inner
``transaction()`` joins the outer one.  An error raised by the store inside
a unit of work ends it: let it propagate (PostgreSQL refuses further
statements in a failed transaction).  Keep units of work short and never
call a payment gateway inside one.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime
from typing import Any, Protocol, runtime_checkable

import attrs

from milestonebill._json import canonical_json, parse_json_object
from milestonebill._validate import check_id, check_int, utc_datetime
from milestonebill.errors import ValidationError
from milestonebill.ids import (
    AgreementId,
    AttemptKey,
    EventId,
    FirmId,
    InvoiceId,
    MilestoneId,
    ObligationId,
    ProposalId,
    WorkerId,
)
from milestonebill.ledger import Ledger
from milestonebill.limits import MAX_ID_LENGTH, MAX_KEY_LENGTH
from milestonebill.money import Money
from milestonebill.stores.tenancy import TenantBound

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
    "InvoiceId",
    "InvoiceRecord",
    "LinkTarget",
    "Notification",
    "Outbox",
    "ParkedAgreement",
    "ProposalId",
    "ProposalStreams",
    "StoredEvent",
    "StoredProposalEvent",
    "SyncJournal",
    "SyncRecord",
    "TenantBillingStore",
    "UnitOfWork",
    "WorkLink",
    "WorkLinks",
    "WorkQueue",
    "WorkerId",
    "canonical_json",
    "check_source",
    "parse_json_object",
]


def _nonempty(field: str, max_length: int = MAX_ID_LENGTH) -> Any:
    def check(_inst: object, _attr: object, value: object) -> None:
        check_id(field, value, max_length=max_length)

    return check


def _version(_inst: object, _attr: object, value: int) -> None:
    check_int("version", value, at_least=0)


class _Stored:
    """What both kinds of stored event share; :attr:`stream_id` names their stream."""

    __slots__ = ()
    event_id: EventId
    version: int
    type: str
    effective_at: datetime
    payload: str

    @property
    def stream_id(self) -> str:
        """The id of the stream the event belongs to."""
        raise NotImplementedError

    @property
    def data(self) -> dict[str, Any]:
        """The payload parsed into a dict."""
        return parse_json_object(self.payload)

    def same_content(self, other: _Stored) -> bool:
        """True when ``other`` is the same event (ignoring its stream position)."""
        return (
            type(self) is type(other)
            and self.stream_id == other.stream_id
            and self.event_id == other.event_id
            and self.type == other.type
            and self.effective_at == other.effective_at
            and self.payload == other.payload
        )


@attrs.frozen
class StoredEvent(_Stored):
    """One event of an agreement's stream, as a store keeps it.

    ``payload`` is canonical JSON text of an object (give a dict or text);
    ``version`` is the event's 1-based position in its stream, ``0`` until
    the store numbers it.  ``effective_at`` is converted to UTC; naive
    datetimes are refused.

    >>> from datetime import UTC
    >>> e = StoredEvent(AgreementId("agr-1"), EventId("agr-1:signed"), 0, "Signed",
    ...                 datetime(2024, 2, 29, 9, 30, tzinfo=UTC), {"fee": "1000.00"})
    >>> e.payload, e.data
    ('{"fee":"1000.00"}', {'fee': '1000.00'})
    """

    agreement_id: AgreementId = attrs.field(validator=_nonempty("agreement_id"))
    event_id: EventId = attrs.field(validator=_nonempty("event_id", MAX_KEY_LENGTH))
    version: int = attrs.field(validator=_version)
    type: str = attrs.field(validator=_nonempty("type"))
    effective_at: datetime = attrs.field(converter=utc_datetime)
    payload: str = attrs.field(converter=canonical_json)

    @property
    def stream_id(self) -> str:
        """The agreement id."""
        return self.agreement_id


@attrs.frozen
class StoredProposalEvent(_Stored):
    """One event of a proposal's stream, as a store keeps it: a
    :class:`StoredEvent` whose stream is a proposal.

    >>> from datetime import UTC
    >>> e = StoredProposalEvent(ProposalId("prop-1"), EventId("prop-1/1/drafted"), 0,
    ...                         "ProposalDrafted", datetime(2024, 2, 1, tzinfo=UTC), "{}")
    >>> e.stream_id, e.same_content(e)
    ('prop-1', True)
    """

    proposal_id: ProposalId = attrs.field(validator=_nonempty("proposal_id"))
    event_id: EventId = attrs.field(validator=_nonempty("event_id"))
    version: int = attrs.field(validator=_version)
    type: str = attrs.field(validator=_nonempty("type"))
    effective_at: datetime = attrs.field(converter=utc_datetime)
    payload: str = attrs.field(converter=canonical_json)

    @property
    def stream_id(self) -> str:
        """The proposal id."""
        return self.proposal_id


def _attempt_no(_inst: object, _attr: object, value: int) -> None:
    check_int("attempt", value, at_least=1)


def _optional_json(value: Mapping[str, Any] | str | None) -> str | None:
    return None if value is None else canonical_json(value, "outcome")


def _optional_utc(value: object) -> datetime | None:
    return None if value is None else utc_datetime(value, "recorded_at")


@attrs.frozen
class AttemptRecord:
    """One charge attempt in the intent journal; ``outcome`` is ``None`` until completed.

    ``recorded_at`` is when the store first recorded the attempt, read from
    the store's clock (aware, UTC); it is ``None`` only for attempts recorded
    before stores kept it.  :meth:`milestonebill.engine.Biller.reconcile`
    uses it to leave young attempts -- most likely still in a live worker's
    hands -- alone.
    """

    key: AttemptKey = attrs.field(validator=_nonempty("key", MAX_KEY_LENGTH))
    agreement_id: AgreementId = attrs.field(validator=_nonempty("agreement_id"))
    invoice_id: InvoiceId = attrs.field(validator=_nonempty("invoice_id"))
    attempt: int = attrs.field(validator=_attempt_no)
    amount: Money = attrs.field(validator=attrs.validators.instance_of(Money))
    outcome: str | None = attrs.field(default=None, converter=_optional_json)
    recorded_at: datetime | None = attrs.field(default=None, converter=_optional_utc)

    @property
    def finished(self) -> bool:
        """True once an outcome was recorded."""
        return self.outcome is not None

    @property
    def outcome_data(self) -> dict[str, Any] | None:
        """The outcome parsed into a dict, or ``None``."""
        return None if self.outcome is None else parse_json_object(self.outcome, "outcome")

    def same_request(self, other: AttemptRecord) -> bool:
        """True when both describe the same charge (outcome and ``recorded_at`` ignored)."""
        return (self.key, self.agreement_id, self.invoice_id, self.attempt, self.amount) == (
            other.key, other.agreement_id, other.invoice_id, other.attempt, other.amount
        )


@attrs.frozen
class InvoiceRecord:
    """An invoice number issued by a store; ``payload`` is the host's JSON (or ``{}``)."""

    firm_id: FirmId
    invoice_id: InvoiceId
    number: int
    agreement_id: AgreementId | None = None
    payload: str = attrs.field(default="{}", converter=canonical_json)


@attrs.frozen
class Notification:
    """An outbox entry for the host; ``seq`` orders entries, ``key`` makes adds idempotent."""

    seq: int
    key: str
    agreement_id: AgreementId | None
    kind: str
    payload: str = attrs.field(converter=canonical_json)

    @property
    def data(self) -> dict[str, Any]:
        """The payload parsed into a dict."""
        return parse_json_object(self.payload)


def _text(field: str) -> Any:
    def check(_inst: object, _attr: object, value: object) -> None:
        if not isinstance(value, str):
            raise ValidationError(field, "a string", value)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError(field, "text without lone surrogates", value) from None

    return check


def _parked_at(value: object) -> datetime:
    return utc_datetime(value, "parked_at")


@attrs.frozen
class ParkedAgreement:
    """An agreement set aside after an error that retrying would only repeat.

    ``error`` names the exception's type, ``message`` says what went wrong
    (secrets and card numbers removed, at most a few hundred characters),
    ``parked_at`` is when the store parked it, read from the store's clock
    (aware, UTC).  A parked agreement is never claimed or listed as due;
    :meth:`WorkQueue.unpark` gives it back, keeping its next due date.
    """

    agreement_id: AgreementId = attrs.field(validator=_nonempty("agreement_id"))
    error: str = attrs.field(validator=_nonempty("error"))
    message: str = attrs.field(validator=_text("message"))
    parked_at: datetime = attrs.field(converter=_parked_at)


#: How a source of work links is named: lower case, as in ``karbon`` or ``bigtime``.
_SOURCE = re.compile(r"[a-z][a-z0-9_-]{0,63}")


def check_source(value: object) -> str:
    """``value`` if it names a source of work links (``karbon``, ``bigtime``...):
    lower-case letters, digits, ``-`` and ``_``, starting with a letter.
    Anything else raises :class:`~milestonebill.errors.ValidationError` naming ``source``."""
    if not isinstance(value, str) or _SOURCE.fullmatch(value) is None:
        raise ValidationError("source", "a source name of lower-case letters, digits, '-' "
                              "and '_', starting with a letter, at most 64 characters "
                              "(such as 'karbon')", value)
    return value


def _source(_inst: object, _attr: object, value: str) -> None:
    check_source(value)


def _body(_inst: object, _attr: object, value: str) -> None:
    _text("body")(_inst, _attr, value)
    if not value or "\x00" in value:
        raise ValidationError("body", "JSON text (not empty, no NUL)", value)


def _recorded_at(value: object) -> datetime | None:
    return None if value is None else utc_datetime(value, "recorded_at")


def _sent_at(value: object) -> datetime | None:
    return None if value is None else utc_datetime(value, "sent_at")


def _optional_id(field: str) -> Any:
    def check(_inst: object, _attr: object, value: object) -> None:
        if value is not None:
            check_id(field, value)

    return check


class LinkTarget(enum.Enum):
    """What a :class:`WorkLink` points at."""

    AGREEMENT = "agreement"
    MILESTONE = "milestone"
    OBLIGATION = "obligation"


@attrs.frozen
class WorkLink:
    """An external work item or project, by its ``source`` (the tool: ``karbon``,
    ``keeper``, ``bigtime``...) and ``external_id`` (the tool's id), and what
    it delivers: a milestone or an obligation of an agreement, or the
    agreement as a whole (a project).  At most one of ``milestone_id`` and
    ``obligation_id`` is set: both raise :class:`~milestonebill.errors.ValidationError` naming
    ``obligation_id`` (as does a malformed ``source``, naming ``source``).

    >>> link = WorkLink("karbon", "4ngPvWJ9Kd8r", AgreementId("agr-1"),
    ...                 milestone_id=MilestoneId("design"))
    >>> link.target, WorkLink.from_json(link.to_json()) == link
    (<LinkTarget.MILESTONE: 'milestone'>, True)
    """

    source: str = attrs.field(validator=_source)
    external_id: str = attrs.field(validator=_nonempty("external_id"))
    agreement_id: AgreementId = attrs.field(validator=_nonempty("agreement_id"))
    milestone_id: MilestoneId | None = attrs.field(default=None,
                                                   validator=_optional_id("milestone_id"))
    obligation_id: ObligationId | None = attrs.field(default=None,
                                                     validator=_optional_id("obligation_id"))

    def __attrs_post_init__(self) -> None:
        if self.milestone_id is not None and self.obligation_id is not None:
            raise ValidationError("obligation_id", "unset when milestone_id is set (a link "
                                  "points at one milestone, one obligation or the agreement)",
                                  self.obligation_id)

    @property
    def target(self) -> LinkTarget:
        """Whether the link points at a milestone, an obligation or the whole agreement."""
        if self.milestone_id is not None:
            return LinkTarget.MILESTONE
        if self.obligation_id is not None:
            return LinkTarget.OBLIGATION
        return LinkTarget.AGREEMENT

    def to_json(self) -> dict[str, Any]:
        """The JSON form (unset targets as ``null``)."""
        return {"source": self.source, "external_id": self.external_id,
                "agreement_id": self.agreement_id, "milestone_id": self.milestone_id,
                "obligation_id": self.obligation_id}

    @classmethod
    def from_json(cls, data: object) -> WorkLink:
        """A link from its JSON form (``milestone_id`` and ``obligation_id`` optional).

        Raises :class:`~milestonebill.errors.ValidationError` naming ``link`` for a value that is
        not such an object, ``link.<key>`` for an unknown key, or the
        missing field."""
        known = {"source", "external_id", "agreement_id", "milestone_id", "obligation_id"}
        if not isinstance(data, Mapping):
            raise ValidationError("link", "an object with source, external_id and "
                                  "agreement_id", data)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValidationError(f"link.{unknown[0]}", "one of " + ", ".join(sorted(known)),
                                  unknown[0])
        for name in ("source", "external_id", "agreement_id"):
            if name not in data:
                raise ValidationError(name, "present", None)
        return cls(data["source"], data["external_id"], data["agreement_id"],
                   data.get("milestone_id"), data.get("obligation_id"))


@attrs.frozen
class SyncRecord:
    """One document sent, or about to be sent, to an accounting system.

    ``target`` names the system (``"quickbooks"``, ``"xero"``, or the host's
    name for one company in it), ``source_id`` is our id of the document (a
    journal entry's id, or one derived from it), ``kind`` the system's type of
    document (``"Invoice"``, ``"ManualJournal"`` ...), ``number`` the document
    number or reference the system shows (so it maps back to ``source_id``),
    ``body`` the exact JSON text sent and ``key`` the idempotency key it is
    sent under.  ``target_id`` is the id the system gave the document, ``None``
    until the send is confirmed.  ``recorded_at`` and ``sent_at`` are read
    from the store's clock (aware, UTC).

    >>> r = SyncRecord("xero", "inv-1:issue", "Invoice", "INV-000001", "k-1", '{"Type":"ACCREC"}')
    >>> r.sent, r.same_request(r)
    (False, True)
    """

    target: str = attrs.field(validator=_nonempty("target"))
    source_id: str = attrs.field(validator=_nonempty("source_id", MAX_KEY_LENGTH))
    kind: str = attrs.field(validator=_nonempty("kind"))
    number: str = attrs.field(validator=_nonempty("number", MAX_KEY_LENGTH))
    key: str = attrs.field(validator=_nonempty("key", MAX_KEY_LENGTH))
    body: str = attrs.field(validator=_body)
    target_id: str | None = attrs.field(default=None, validator=_optional_id("target_id"))
    recorded_at: datetime | None = attrs.field(default=None, converter=_recorded_at)
    sent_at: datetime | None = attrs.field(default=None, converter=_sent_at)

    @property
    def sent(self) -> bool:
        """True once the system's id for the document was recorded."""
        return self.target_id is not None

    def same_request(self, other: SyncRecord) -> bool:
        """True when both describe the same send (its outcome and times ignored)."""
        return (self.target, self.source_id, self.kind, self.number, self.key, self.body) == (
            other.target, other.source_id, other.kind, other.number, other.key, other.body)


@runtime_checkable
class UnitOfWork(Protocol):
    """Role: one transaction around several calls (see the module docstring)."""

    def transaction(self) -> AbstractContextManager[None]:
        """Run the calls this thread makes inside the block in one transaction."""


@runtime_checkable
class EventStreams(Protocol):
    """Role: each agreement's append-only stream of stored events."""

    def append(
        self,
        agreement_id: AgreementId,
        events: Sequence[StoredEvent],
        expected_version: int,
    ) -> int:
        """Append ``events`` after ``expected_version``; return the new version.

        Events already stored under the same id with the same content are
        skipped (a retry); if nothing new remains the call is a no-op and
        returns the current version.  Otherwise, if the stream is not at
        ``expected_version``, raise ``ConcurrencyError``.  An id reused with
        different content raises ``DuplicateIdError``.  ``event.version``
        must be 0 or the position the event will take.
        """

    def load(self, agreement_id: AgreementId, *, after_version: int = 0) -> list[StoredEvent]:
        """The stream's events with version > ``after_version``, in order."""

    def version(self, agreement_id: AgreementId) -> int:
        """The stream's current version (0 when it does not exist)."""

    def agreement_ids(self) -> list[AgreementId]:
        """Every agreement with a stream, sorted."""

    def agreement_of_event(self, event_id: EventId) -> AgreementId | None:
        """The agreement whose stream holds ``event_id`` (``None``: no stream does).

        Event ids are unique across agreements; a host that derives them from
        an outside identity (a delivery, a time entry) finds where it went.
        """


@runtime_checkable
class ProposalStreams(Protocol):
    """Role: each proposal's append-only stream, apart from the agreements' streams.

    The same rules as :class:`EventStreams`: an expected version
    (``ConcurrencyError`` when stale), stored events skipped on a retry,
    ``DuplicateIdError`` for an id reused with other content.  Event ids are
    unique among proposal events; agreement events are another namespace.
    """

    def append_proposal(
        self,
        proposal_id: ProposalId,
        events: Sequence[StoredProposalEvent],
        expected_version: int,
    ) -> int:
        """Append ``events`` after ``expected_version``; return the new version."""

    def load_proposal(
        self, proposal_id: ProposalId, *, after_version: int = 0
    ) -> list[StoredProposalEvent]:
        """The proposal stream's events with version > ``after_version``, in order."""

    def proposal_version(self, proposal_id: ProposalId) -> int:
        """The proposal stream's current version (0 when it does not exist)."""

    def proposal_ids(self) -> list[ProposalId]:
        """Every proposal with a stream, sorted."""


@runtime_checkable
class WorkQueue(Protocol):
    """Role: when each agreement next has work, and leased claims on it, so two
    workers never bill one agreement at once."""

    def set_next_due(self, agreement_id: AgreementId, next_due_on: date | None) -> None:
        """Record when the agreement next has date-driven work (``None``: nothing due).

        Raises :class:`~milestonebill.errors.NotFoundError` for an agreement without a stream."""

    def next_due(self, agreement_id: AgreementId) -> date | None:
        """The date recorded by :meth:`set_next_due`.

        Raises :class:`~milestonebill.errors.NotFoundError` for an agreement without a stream."""

    def list_due(self, as_of: date) -> list[AgreementId]:
        """Agreements not parked whose next due date is on or before ``as_of``,
        sorted by (date, id)."""

    def claim(
        self, worker_id: WorkerId, as_of: date, *, limit: int, lease_seconds: float
    ) -> list[AgreementId]:
        """Lease up to ``limit`` due agreements, not parked, that nobody else holds,
        earliest due first."""

    def release(self, worker_id: WorkerId, agreement_ids: Sequence[AgreementId]) -> None:
        """Give back claims without changing anything (unknown or lost claims are ignored)."""

    def complete(
        self, worker_id: WorkerId, agreement_id: AgreementId, next_due_on: date | None
    ) -> None:
        """Set the next due date and release the claim.

        Raises :class:`~milestonebill.errors.LeaseLostError` when ``worker_id``
        no longer holds a live lease (nothing is changed then), and
        :class:`~milestonebill.errors.NotFoundError` for an agreement without a stream."""

    def claim_one(
        self, worker_id: WorkerId, agreement_id: AgreementId, *, lease_seconds: float
    ) -> bool:
        """Lease one agreement, due or not.

        ``True`` when ``worker_id`` now holds it: nobody held it, the lease had expired, or
        ``worker_id`` held it already (the lease is renewed).  ``False`` when another worker holds a
        live lease.  Raises :class:`~milestonebill.errors.NotFoundError` for an agreement without a
        stream.  Give it back with :meth:`release` (or :meth:`complete`).
        """

    def park(self, agreement_id: AgreementId, *, error: str, message: str) -> ParkedAgreement:
        """Set the agreement aside: :meth:`claim` and :meth:`list_due` skip it.

        Stamped ``parked_at`` from the store's clock; the next due date and
        any lease are left as they are.  Parking a parked agreement returns
        the stored record unchanged.  ``NotFoundError`` for an agreement
        without a stream.
        """

    def unpark(self, agreement_id: AgreementId) -> ParkedAgreement | None:
        """Give a parked agreement back to the work queue; return the record
        removed (``None`` if it was not parked).  ``NotFoundError`` for an
        agreement without a stream."""

    def parked(self) -> list[ParkedAgreement]:
        """Every parked agreement, in the order they were parked (then by id)."""


@runtime_checkable
class DocumentNumbers(Protocol):
    """Role: gap-free document numbers per firm sequence, idempotent per document."""

    def issue_invoice_number(
        self,
        firm_id: FirmId,
        invoice_id: InvoiceId,
        *,
        agreement_id: AgreementId | None = None,
        payload: Mapping[str, Any] | str | None = None,
    ) -> int:
        """The invoice's number: the firm's next (1, 2, 3 ...) or the one it already has.

        Raises :class:`~milestonebill.errors.DuplicateIdError` when ``invoice_id`` was already
        numbered for another firm or agreement."""

    def get_invoice(self, invoice_id: InvoiceId) -> InvoiceRecord | None:
        """The invoice record, if a number was issued."""

    def invoices(self, firm_id: FirmId) -> list[InvoiceRecord]:
        """The firm's invoices by number."""


@runtime_checkable
class AttemptJournal(Protocol):
    """Role: the intent journal -- each charge or refund recorded before the gateway
    is called, completed after, so a crash in between can be finished."""

    def record_attempt(
        self,
        key: AttemptKey,
        agreement_id: AgreementId,
        invoice_id: InvoiceId,
        attempt: int,
        amount: Money,
    ) -> AttemptRecord:
        """Record the intent to charge, stamped ``recorded_at`` from the store's clock;
        the same request again returns the stored record (with its first time).

        ``amount`` is :class:`~milestonebill.money.Money`.  A different request
        under a used ``key`` raises :class:`~milestonebill.errors.DuplicateIdError`."""

    def complete_attempt(self, key: AttemptKey, outcome: Mapping[str, Any] | str) -> AttemptRecord:
        """Record the gateway's outcome once; the same outcome again is a no-op.

        Raises :class:`~milestonebill.errors.NotFoundError` when no attempt was recorded under
        ``key``, and :class:`~milestonebill.errors.DuplicateIdError` when it already has a
        different outcome."""

    def get_attempt(self, key: AttemptKey) -> AttemptRecord | None:
        """The attempt recorded under ``key``."""

    def unfinished_attempts(self) -> list[AttemptRecord]:
        """Attempts without an outcome, in the order they were recorded."""


@runtime_checkable
class Outbox(Protocol):
    """Role: notifications for the host, delivered at least once."""

    def add_notification(
        self,
        key: str,
        agreement_id: AgreementId | None,
        kind: str,
        payload: Mapping[str, Any] | str,
    ) -> Notification:
        """Queue a notification for the host; the same key again returns the stored one.

        A different notification under a used ``key`` raises
        :class:`~milestonebill.errors.DuplicateIdError`.
        """

    def pending_notifications(self, limit: int = 100) -> list[Notification]:
        """Unacknowledged notifications, oldest first."""

    def ack(self, keys: Sequence[str]) -> None:
        """Mark notifications delivered (unknown keys are ignored).

        Raises :class:`~milestonebill.errors.ValidationError` naming ``keys``
        for a single string instead of a sequence of keys."""


@runtime_checkable
class WorkLinks(Protocol):
    """Role: which agreement, milestone or obligation each external work item delivers.

    A link is keyed by ``(source, external_id)``: one link per work item
    of a tool.  Storing the same link again is a no-op; another link under
    a stored key raises :class:`~milestonebill.errors.DuplicateIdError`
    (unlink first).  The store does not read agreements: the Biller checks
    that a link points at something that exists
    (:meth:`~milestonebill.engine.Biller.link_work`).
    """

    def link_work(self, link: WorkLink) -> WorkLink:
        """Store ``link``; return the stored link (the same link again: the stored one).

        Another link under the same ``(source, external_id)`` raises
        :class:`~milestonebill.errors.DuplicateIdError`."""

    def unlink_work(self, source: str, external_id: str) -> WorkLink | None:
        """Remove the link of a work item; return it (``None`` if there was none)."""

    def work_link(self, source: str, external_id: str) -> WorkLink | None:
        """The link of a work item, if any."""

    def work_links(self, *, source: str | None = None,
                   agreement_id: AgreementId | None = None) -> list[WorkLink]:
        """Every link (of one source, to one agreement), by source then external id."""


@runtime_checkable
class SyncJournal(Protocol):
    """Role: what was sent to which accounting system, so nothing is sent twice.

    Records are keyed by ``(target, source_id)``: the same document may go
    to two systems, never twice to one.  Record the intent before calling
    the system, complete it with the system's id after; a crash in between
    leaves an unfinished record, which the next sync sends again under its
    recorded key and body.
    """

    def record_sync(self, record: SyncRecord) -> SyncRecord:
        """Record the intent to send ``record``, stamped ``recorded_at`` from the
        store's clock (its own ``target_id`` and times are ignored).  The same
        request again returns the stored record; a different one under the same
        ``(target, source_id)``, or a ``number`` the target already shows for
        another document, raises ``DuplicateIdError``."""

    def complete_sync(self, target: str, source_id: str, target_id: str) -> SyncRecord:
        """Record the id the system gave the document, stamped ``sent_at``; the same
        id again is a no-op, another raises ``DuplicateIdError``; ``NotFoundError``
        without an intent."""

    def discard_sync(self, target: str, source_id: str) -> SyncRecord | None:
        """Forget an intent the system refused (nothing was created there); return
        the record removed, ``None`` if there was none.  A completed record is
        never forgotten: ``InvalidTransitionError``."""

    def get_sync(self, target: str, source_id: str) -> SyncRecord | None:
        """The record of ``source_id`` for ``target``, if any."""

    def syncs(self, target: str, *, unfinished: bool = False) -> list[SyncRecord]:
        """The target's records in the order they were recorded (with ``unfinished``,
        only those without a ``target_id``)."""


@runtime_checkable
class AgreementStore(UnitOfWork, EventStreams, ProposalStreams, WorkQueue, DocumentNumbers,
                     AttemptJournal, Outbox, WorkLinks, Protocol):
    """Port: where agreements, proposals, document numbers, attempts, notifications
    and work links live.

    The intersection of the roles :class:`UnitOfWork`, :class:`EventStreams`,
    :class:`ProposalStreams`, :class:`WorkQueue`, :class:`DocumentNumbers`,
    :class:`AttemptJournal`, :class:`Outbox` and :class:`WorkLinks`; code that needs one role
    can ask for that role alone.
    See the module docstring for the semantics; the public contract suite
    :mod:`milestonebill.testing.store_contract` pins them down.
    """


@runtime_checkable
class BillingStore(AgreementStore, Ledger, Protocol):
    """A store that is also the ledger, so one transaction covers both."""


@runtime_checkable
class TenantBillingStore(BillingStore, TenantBound, Protocol):
    """A :class:`BillingStore` bound to one tenant (:class:`~milestonebill.stores.tenancy.TenantBound`),
    as every shipped store is: its calls see that tenant's data only."""

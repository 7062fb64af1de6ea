"""``InMemoryStore``: the whole store in dicts, for tests and notebooks.

It follows the same contract as the SQLite and PostgreSQL stores,
transactions included: a block that raises leaves no trace.  It is
thread-safe (one lock) but lives in one process.

>>> from datetime import UTC, date, datetime
>>> from milestonebill.stores.base import AgreementId, EventId, FirmId, InvoiceId, StoredEvent
>>> store = InMemoryStore()
>>> agr = AgreementId("agr-1")
>>> signed = StoredEvent(agr, EventId("agr-1:signed"), 0, "Signed",
...                      datetime(2024, 1, 31, tzinfo=UTC), {"fee": "900.00"})
>>> store.append(agr, [signed], expected_version=0)
1
>>> store.append(agr, [signed], expected_version=0)  # a retry is a no-op
1
>>> store.issue_invoice_number(FirmId("acme"), InvoiceId("inv-a")), \\
...     store.issue_invoice_number(FirmId("acme"), InvoiceId("inv-b")), \\
...     store.issue_invoice_number(FirmId("acme"), InvoiceId("inv-a"))
(1, 2, 1)
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, Self

import attrs

from milestonebill._validate import check_date, check_id, check_int, check_optional_date
from milestonebill.clock import Clock
from milestonebill.errors import (
    DuplicateIdError,
    InvalidTransitionError,
    LeaseLostError,
    NotFoundError,
    ValidationError,
)
from milestonebill.ledger import Account, DateRange, InMemoryLedger, JournalEntry, SingleBalance
from milestonebill.limits import MAX_KEY_LENGTH
from milestonebill.money import Currency, Money
from milestonebill.stores._common import (
    SYSTEM_CLOCK,
    Stored,
    check_entry,
    check_link,
    check_link_key,
    check_sync,
    check_sync_key,
    lease_until,
    now_utc,
    plan_append,
)
from milestonebill.stores._undo import LoggedDict, UndoLog, undo
from milestonebill.stores.base import (
    AgreementId,
    AttemptKey,
    AttemptRecord,
    EventId,
    FirmId,
    InvoiceId,
    InvoiceRecord,
    Notification,
    ParkedAgreement,
    ProposalId,
    StoredEvent,
    StoredProposalEvent,
    SyncRecord,
    WorkerId,
    WorkLink,
    canonical_json,
)
from milestonebill.stores.tenancy import DEFAULT_TENANT, PlatformStore, TenantId, check_tenant

__all__ = ["InMemoryStore"]


_DICTS = ("streams", "events", "due", "leases", "counters", "invoices", "attempts",
          "notifications", "proposals", "proposal_events", "parked", "links", "syncs")


class _State:
    """One tenant's data.  A unit of work is rolled back from an undo log (what
    each change replaced), in time proportional to what it changed, not to the
    state: copying the whole state per transaction made a notebook firm of a
    few hundred agreements quadratic."""

    streams: dict[str, tuple[StoredEvent, ...]]
    events: dict[str, StoredEvent]
    due: dict[str, date | None]
    leases: dict[str, tuple[str, datetime]]
    counters: dict[str, int]
    invoices: dict[str, InvoiceRecord]
    attempts: dict[str, AttemptRecord]
    notifications: dict[str, Notification]
    proposals: dict[str, tuple[StoredProposalEvent, ...]]
    proposal_events: dict[str, StoredProposalEvent]
    parked: dict[str, ParkedAgreement]
    links: dict[tuple[str, str], WorkLink]
    syncs: dict[tuple[str, str], SyncRecord]

    def __init__(self) -> None:
        #: While a unit of work is open: what each change replaced (see _undo).
        self.undo: UndoLog | None = None
        for name in _DICTS:
            setattr(self, name, LoggedDict(self))
        self.acked: frozenset[str] = frozenset()
        self.seq = 0
        self.ledger = InMemoryLedger()

    def set(self, name: str, value: Any) -> None:
        """Replace the field ``name`` (``acked``, ``seq``), noting the old value."""
        if self.undo is not None:
            self.undo.append((None, name, getattr(self, name)))
        setattr(self, name, value)

    def mark(self) -> tuple[int, int]:
        """A point :meth:`rollback_to` returns to (inside a unit of work)."""
        assert self.undo is not None
        return len(self.undo), self.ledger.mark()

    def rollback_to(self, mark: tuple[int, int]) -> None:
        """Undo every change made since ``mark``, the newest first."""
        assert self.undo is not None
        at, posted = mark
        undo(self, self.undo, at)
        self.ledger.rollback_to(posted)

    def holds_data(self) -> bool:
        """True when anything at all was stored (due dates and leases need a stream)."""
        return bool(self.streams or self.proposals or self.invoices or self.attempts
                    or self.notifications or self.parked or self.links or self.syncs
                    or self.ledger.entries())


class _Shared:
    """What a root store and its tenant views share: every tenant's state, one lock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        # Per thread: how deep each tenant's open transaction is, by tenant.
        self.local = threading.local()
        self.states: dict[str, _State] = {}
        self.registered: set[str] = set()

    def state(self, tenant: str) -> _State:
        found = self.states.get(tenant)
        if found is None:
            found = self.states[tenant] = _State()
        return found

    def depths(self) -> dict[str, int]:
        depths: dict[str, int] | None = getattr(self.local, "depths", None)
        if depths is None:
            depths = self.local.depths = {}
        return depths


class _Platform:
    """The :class:`~milestonebill.stores.tenancy.PlatformStore` of an in-memory store."""

    def __init__(self, shared: _Shared) -> None:
        self._shared = shared

    def tenants(self) -> list[TenantId]:
        """See :meth:`~milestonebill.stores.tenancy.PlatformStore.tenants`."""
        with self._shared.lock:
            return sorted(TenantId(t) for t in self._shared.registered)

    def rename_tenant(self, old: str, new: str) -> None:
        """See :meth:`~milestonebill.stores.tenancy.PlatformStore.rename_tenant`.

        Not inside a unit of work of this store (its rollback could not undo
        the move): :class:`~milestonebill.errors.InvalidTransitionError`.
        """
        src, dst = check_tenant(old, "old"), check_tenant(new, "new")
        shared = self._shared
        with shared.lock:
            if any(shared.depths().values()):
                raise InvalidTransitionError("rename_tenant cannot run inside a unit of work")
            state = shared.states.get(src)
            if src not in shared.registered and (state is None or not state.holds_data()):
                raise NotFoundError(f"tenant {src!r} is not known")
            target = shared.states.get(dst)
            if target is not None and target.holds_data():
                raise DuplicateIdError("tenant", dst, "already holds data (tenants are never merged)")
            shared.states.pop(src, None)
            shared.registered.discard(src)
            shared.states[dst] = state if state is not None else _State()
            shared.registered.add(dst)


def _append_to(
    streams: dict[str, tuple[Stored, ...]],
    index: dict[str, Stored],
    stream_id: str,
    events: Sequence[Stored],
    expected_version: int,
    *,
    kind: type[Stored],
) -> tuple[int, int]:
    """Append to one kind of stream; ``(version before, version after)``."""
    current = len(streams.get(stream_id, ()))
    new = plan_append(stream_id, events, expected_version, current, index.get, kind=kind)
    if new:
        streams[stream_id] = streams.get(stream_id, ()) + tuple(new)
        for e in new:
            index[e.event_id] = e
    return current, current + len(new)


class InMemoryStore(SingleBalance):
    """An :class:`~milestonebill.stores.base.AgreementStore` and
    :class:`~milestonebill.ledger.Ledger` held in memory, bound to one tenant.

    ``clock`` returns the aware UTC time used for claim leases and to stamp
    charge attempts (inject a fake one in tests).  ``tenant`` (default
    :data:`~milestonebill.stores.tenancy.DEFAULT_TENANT`) is the firm every
    call reads and writes (see :mod:`milestonebill.stores.tenancy`);
    :meth:`for_tenant` gives a view bound to another firm over the same
    process state, lock and clock.  A unit of work belongs to one view: a
    rollback on one tenant's view leaves every other tenant's writes alone.

    Two firms in one store reuse ids without meeting; each numbers its
    invoices from 1:

    >>> from milestonebill.stores.base import FirmId, InvoiceId
    >>> acme = InMemoryStore(tenant="acme")
    >>> globex = acme.for_tenant("globex")
    >>> acme.issue_invoice_number(FirmId("main"), InvoiceId("inv-1"), payload={"for": "acme"})
    1
    >>> globex.issue_invoice_number(FirmId("main"), InvoiceId("inv-1"), payload={"for": "globex"})
    1
    >>> acme.issue_invoice_number(FirmId("main"), InvoiceId("inv-2"))
    2
    >>> [r.payload for r in globex.invoices(FirmId("main"))]
    ['{"for":"globex"}']
    >>> globex.tenant, acme.platform().tenants()
    ('globex', ['acme', 'globex'])
    """

    def __init__(self, *, clock: Clock = SYSTEM_CLOCK, tenant: str = DEFAULT_TENANT) -> None:
        self._tenant = check_tenant(tenant)
        self._shared = _Shared(clock)
        self._clock = clock
        self._lock = self._shared.lock
        self._shared.registered.add(self._tenant)

    # ------------------------------------------------------------ tenancy

    @property
    def tenant(self) -> TenantId:
        """The tenant every call of this store reads and writes."""
        return self._tenant

    def for_tenant(self, tenant: str) -> Self:
        """A store bound to ``tenant`` over this one's state, lock and clock
        (see :meth:`~milestonebill.stores.tenancy.TenantBound.for_tenant`)."""
        bound = check_tenant(tenant)
        view = object.__new__(type(self))
        view._tenant = bound
        view._shared = self._shared
        view._clock = self._clock
        view._lock = self._lock
        with self._lock:
            self._shared.registered.add(bound)
        return view

    def platform(self) -> PlatformStore:
        """Listing and renaming tenants (see :class:`~milestonebill.stores.tenancy.PlatformStore`)."""
        return _Platform(self._shared)

    @property
    def _state(self) -> _State:
        return self._shared.state(self._tenant)

    @_state.setter
    def _state(self, state: _State) -> None:
        self._shared.states[self._tenant] = state

    # ------------------------------------------------------------ transactions

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One unit of work over this tenant's data; see :mod:`milestonebill.stores.base`."""
        with self._lock:
            depths = self._shared.depths()
            depth = depths.get(self._tenant, 0)
            if depth:
                depths[self._tenant] = depth + 1
                try:
                    yield
                finally:
                    depths[self._tenant] = depth
                return
            state = self._state
            state.undo = []
            start = state.mark()
            depths[self._tenant] = 1
            try:
                yield
            except BaseException:
                state.rollback_to(start)
                raise
            finally:
                state.undo = None
                del depths[self._tenant]

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """See :class:`~milestonebill.stores.batch.Savepoints` (undone from the unit's log)."""
        with self.transaction():
            state = self._state
            mark = state.mark()
            try:
                yield
            except BaseException:
                state.rollback_to(mark)
                raise

    # ------------------------------------------------------------ streams

    def append(
        self, agreement_id: AgreementId, events: Sequence[StoredEvent], expected_version: int
    ) -> int:
        """See :meth:`AgreementStore.append`."""
        with self.transaction():
            s = self._state
            before, after = _append_to(s.streams, s.events, agreement_id, events,
                                       expected_version, kind=StoredEvent)
            if after != before:
                s.due.setdefault(agreement_id, None)
            return after

    def load(self, agreement_id: AgreementId, *, after_version: int = 0) -> list[StoredEvent]:
        """See :meth:`AgreementStore.load`."""
        check_id("agreement_id", agreement_id)
        with self._lock:
            return list(self._state.streams.get(agreement_id, ())[after_version:])

    def version(self, agreement_id: AgreementId) -> int:
        """See :meth:`AgreementStore.version`."""
        check_id("agreement_id", agreement_id)
        with self._lock:
            return len(self._state.streams.get(agreement_id, ()))

    def agreement_ids(self) -> list[AgreementId]:
        """See :meth:`AgreementStore.agreement_ids`."""
        with self._lock:
            return sorted(AgreementId(a) for a in self._state.streams)

    def agreement_of_event(self, event_id: EventId) -> AgreementId | None:
        """See :meth:`AgreementStore.agreement_of_event`."""
        check_id("event_id", event_id, max_length=MAX_KEY_LENGTH)
        with self._lock:
            found = self._state.events.get(event_id)
        return None if found is None else found.agreement_id

    # ------------------------------------------------------------ proposal streams

    def append_proposal(
        self, proposal_id: ProposalId, events: Sequence[StoredProposalEvent],
        expected_version: int,
    ) -> int:
        """See :meth:`AgreementStore.append_proposal`."""
        with self.transaction():
            s = self._state
            return _append_to(s.proposals, s.proposal_events, proposal_id, events,
                              expected_version, kind=StoredProposalEvent)[1]

    def load_proposal(
        self, proposal_id: ProposalId, *, after_version: int = 0
    ) -> list[StoredProposalEvent]:
        """See :meth:`AgreementStore.load_proposal`."""
        with self._lock:
            return list(self._state.proposals.get(proposal_id, ())[after_version:])

    def proposal_version(self, proposal_id: ProposalId) -> int:
        """See :meth:`AgreementStore.proposal_version`."""
        with self._lock:
            return len(self._state.proposals.get(proposal_id, ()))

    def proposal_ids(self) -> list[ProposalId]:
        """See :meth:`AgreementStore.proposal_ids`."""
        with self._lock:
            return sorted(ProposalId(p) for p in self._state.proposals)

    # ------------------------------------------------------------ due work

    def _known(self, agreement_id: str) -> None:
        if agreement_id not in self._state.streams:
            raise NotFoundError(f"agreement {agreement_id!r} has no stream")

    def set_next_due(self, agreement_id: AgreementId, next_due_on: date | None) -> None:
        """See :meth:`AgreementStore.set_next_due`."""
        check_id("agreement_id", agreement_id)
        check_optional_date("next_due_on", next_due_on)
        with self.transaction():
            self._known(agreement_id)
            self._state.due[agreement_id] = next_due_on

    def next_due(self, agreement_id: AgreementId) -> date | None:
        """See :meth:`AgreementStore.next_due`."""
        check_id("agreement_id", agreement_id)
        with self._lock:
            self._known(agreement_id)
            return self._state.due.get(agreement_id)

    def _due_sorted(self, as_of: date) -> list[tuple[date, str]]:
        parked = self._state.parked
        return sorted((d, a) for a, d in self._state.due.items()
                      if d is not None and d <= as_of and a not in parked)

    def list_due(self, as_of: date) -> list[AgreementId]:
        """See :meth:`AgreementStore.list_due`."""
        check_date("as_of", as_of)
        with self._lock:
            return [AgreementId(a) for _, a in self._due_sorted(as_of)]

    def claim(
        self, worker_id: WorkerId, as_of: date, *, limit: int, lease_seconds: float
    ) -> list[AgreementId]:
        """See :meth:`AgreementStore.claim`."""
        check_id("worker_id", worker_id)
        check_date("as_of", as_of)
        check_int("limit", limit, at_least=1)
        now, until = lease_until(self._clock, lease_seconds)
        with self.transaction():
            got: list[AgreementId] = []
            for _, a in self._due_sorted(as_of):
                if len(got) == limit:
                    break
                held = self._state.leases.get(a)
                if held is not None and held[1] > now:
                    continue
                self._state.leases[a] = (worker_id, until)
                got.append(AgreementId(a))
            return got

    def release(self, worker_id: WorkerId, agreement_ids: Sequence[AgreementId]) -> None:
        """See :meth:`AgreementStore.release`."""
        check_id("worker_id", worker_id)
        for a in agreement_ids:
            check_id("agreement_ids", a)
        with self.transaction():
            for a in agreement_ids:
                held = self._state.leases.get(a)
                if held is not None and held[0] == worker_id:
                    del self._state.leases[a]

    def claim_one(
        self, worker_id: WorkerId, agreement_id: AgreementId, *, lease_seconds: float
    ) -> bool:
        """See :meth:`AgreementStore.claim_one`."""
        check_id("worker_id", worker_id)
        check_id("agreement_id", agreement_id)
        now, until = lease_until(self._clock, lease_seconds)
        with self.transaction():
            self._known(agreement_id)
            held = self._state.leases.get(agreement_id)
            if held is not None and held[0] != worker_id and held[1] > now:
                return False
            self._state.leases[agreement_id] = (worker_id, until)
            return True

    def complete(
        self, worker_id: WorkerId, agreement_id: AgreementId, next_due_on: date | None
    ) -> None:
        """See :meth:`AgreementStore.complete`."""
        check_id("worker_id", worker_id)
        check_id("agreement_id", agreement_id)
        check_optional_date("next_due_on", next_due_on)
        now = now_utc(self._clock)
        with self.transaction():
            self._known(agreement_id)
            held = self._state.leases.get(agreement_id)
            if held is None or held[0] != worker_id or held[1] <= now:
                raise LeaseLostError(agreement_id, worker_id)
            del self._state.leases[agreement_id]
            self._state.due[agreement_id] = next_due_on

    def park(self, agreement_id: AgreementId, *, error: str, message: str) -> ParkedAgreement:
        """See :meth:`AgreementStore.park`."""
        check_id("agreement_id", agreement_id)
        record = ParkedAgreement(agreement_id, error, message, now_utc(self._clock))
        with self.transaction():
            self._known(agreement_id)
            return self._state.parked.setdefault(agreement_id, record)

    def unpark(self, agreement_id: AgreementId) -> ParkedAgreement | None:
        """See :meth:`AgreementStore.unpark`."""
        check_id("agreement_id", agreement_id)
        with self.transaction():
            self._known(agreement_id)
            return self._state.parked.pop(agreement_id, None)

    def parked(self) -> list[ParkedAgreement]:
        """See :meth:`AgreementStore.parked`."""
        with self._lock:
            return sorted(self._state.parked.values(),
                          key=lambda p: (p.parked_at, p.agreement_id))

    # ------------------------------------------------------------ invoices

    def issue_invoice_number(
        self,
        firm_id: FirmId,
        invoice_id: InvoiceId,
        *,
        agreement_id: AgreementId | None = None,
        payload: Mapping[str, Any] | str | None = None,
    ) -> int:
        """See :meth:`AgreementStore.issue_invoice_number`."""
        check_id("firm_id", firm_id)
        check_id("invoice_id", invoice_id)
        body = canonical_json(payload if payload is not None else {})
        with self.transaction():
            s = self._state
            old = s.invoices.get(invoice_id)
            if old is not None:
                if old.firm_id != firm_id or old.agreement_id != agreement_id:
                    raise DuplicateIdError("invoice", invoice_id)
                return old.number
            number = s.counters.get(firm_id, 0) + 1
            s.counters[firm_id] = number
            s.invoices[invoice_id] = InvoiceRecord(firm_id, invoice_id, number, agreement_id, body)
            return number

    def get_invoice(self, invoice_id: InvoiceId) -> InvoiceRecord | None:
        """See :meth:`AgreementStore.get_invoice`."""
        check_id("invoice_id", invoice_id)
        with self._lock:
            return self._state.invoices.get(invoice_id)

    def invoices(self, firm_id: FirmId) -> list[InvoiceRecord]:
        """See :meth:`AgreementStore.invoices`."""
        check_id("firm_id", firm_id)
        with self._lock:
            found = [r for r in self._state.invoices.values() if r.firm_id == firm_id]
        return sorted(found, key=lambda r: r.number)

    # ------------------------------------------------------------ attempts

    def record_attempt(
        self,
        key: AttemptKey,
        agreement_id: AgreementId,
        invoice_id: InvoiceId,
        attempt: int,
        amount: Money,
    ) -> AttemptRecord:
        """See :meth:`AgreementStore.record_attempt`."""
        rec = AttemptRecord(key, agreement_id, invoice_id, attempt, amount,
                            recorded_at=now_utc(self._clock))
        with self.transaction():
            old = self._state.attempts.get(key)
            if old is not None:
                if not old.same_request(rec):
                    raise DuplicateIdError("charge attempt", key)
                return old
            self._state.attempts[key] = rec
            return rec

    def complete_attempt(self, key: AttemptKey, outcome: Mapping[str, Any] | str) -> AttemptRecord:
        """See :meth:`AgreementStore.complete_attempt`."""
        check_id("key", key, max_length=MAX_KEY_LENGTH)
        body = canonical_json(outcome, "outcome")
        with self.transaction():
            old = self._state.attempts.get(key)
            if old is None:
                raise NotFoundError(f"no charge attempt recorded under {key!r}")
            if old.outcome is not None:
                if old.outcome != body:
                    raise DuplicateIdError("charge attempt", key, "already has a different outcome")
                return old
            done = attrs.evolve(old, outcome=body)
            self._state.attempts[key] = done
            return done

    def get_attempt(self, key: AttemptKey) -> AttemptRecord | None:
        """See :meth:`AgreementStore.get_attempt`."""
        check_id("key", key, max_length=MAX_KEY_LENGTH)
        with self._lock:
            return self._state.attempts.get(key)

    def unfinished_attempts(self) -> list[AttemptRecord]:
        """See :meth:`AgreementStore.unfinished_attempts`."""
        with self._lock:
            return [a for a in self._state.attempts.values() if a.outcome is None]

    # ------------------------------------------------------------ outbox

    def add_notification(
        self,
        key: str,
        agreement_id: AgreementId | None,
        kind: str,
        payload: Mapping[str, Any] | str,
    ) -> Notification:
        """See :meth:`AgreementStore.add_notification`."""
        check_id("key", key, max_length=MAX_KEY_LENGTH)
        check_id("kind", kind)
        body = canonical_json(payload)
        with self.transaction():
            s = self._state
            old = s.notifications.get(key)
            if old is not None:
                if (old.agreement_id, old.kind, old.payload) != (agreement_id, kind, body):
                    raise DuplicateIdError("notification", key)
                return old
            s.set("seq", s.seq + 1)
            note = Notification(s.seq, key, agreement_id, kind, body)
            s.notifications[key] = note
            return note

    def pending_notifications(self, limit: int = 100) -> list[Notification]:
        """See :meth:`AgreementStore.pending_notifications`."""
        check_int("limit", limit, at_least=1)
        with self._lock:
            s = self._state
            return [n for n in s.notifications.values() if n.key not in s.acked][:limit]

    def ack(self, keys: Sequence[str]) -> None:
        """See :meth:`AgreementStore.ack`."""
        for k in keys:
            check_id("keys", k, max_length=MAX_KEY_LENGTH)
        if isinstance(keys, str):
            raise ValidationError("keys", "a sequence of keys, not one string", keys)
        with self.transaction():
            s = self._state
            s.set("acked", s.acked | {k for k in keys if k in s.notifications})

    # ------------------------------------------------------------ work links

    def link_work(self, link: WorkLink) -> WorkLink:
        """See :meth:`AgreementStore.link_work`."""
        check_link(link)
        with self.transaction():
            key = (link.source, link.external_id)
            old = self._state.links.get(key)
            if old is not None and old != link:
                raise DuplicateIdError("work link", f"{link.source}:{link.external_id}",
                                       "is already linked to something else (unlink it first)")
            return self._state.links.setdefault(key, link)

    def unlink_work(self, source: str, external_id: str) -> WorkLink | None:
        """See :meth:`AgreementStore.unlink_work`."""
        key = check_link_key(source, external_id)
        with self.transaction():
            return self._state.links.pop(key, None)

    def work_link(self, source: str, external_id: str) -> WorkLink | None:
        """See :meth:`AgreementStore.work_link`."""
        key = check_link_key(source, external_id)
        with self._lock:
            return self._state.links.get(key)

    def work_links(self, *, source: str | None = None,
                   agreement_id: AgreementId | None = None) -> list[WorkLink]:
        """See :meth:`AgreementStore.work_links`."""
        if source is not None:
            check_link_key(source, "-")
        if agreement_id is not None:
            check_id("agreement_id", agreement_id)
        with self._lock:
            return [link for key, link in sorted(self._state.links.items())
                    if source in (None, link.source) and agreement_id in (None, link.agreement_id)]
    # ------------------------------------------------------------ sync journal

    def record_sync(self, record: SyncRecord) -> SyncRecord:
        """See :meth:`~milestonebill.stores.base.SyncJournal.record_sync`."""
        rec = check_sync(record, now_utc(self._clock))
        with self.transaction():
            syncs = self._state.syncs
            old = syncs.get((rec.target, rec.source_id))
            if old is not None:
                if not old.same_request(rec):
                    raise DuplicateIdError("accounting sync", f"{rec.target}:{rec.source_id}")
                return old
            if any((r.target, r.kind, r.number) == (rec.target, rec.kind, rec.number)
                   for r in syncs.values()):
                raise DuplicateIdError("document number", f"{rec.target}:{rec.number}")
            syncs[(rec.target, rec.source_id)] = rec
            return rec

    def complete_sync(self, target: str, source_id: str, target_id: str) -> SyncRecord:
        """See :meth:`~milestonebill.stores.base.SyncJournal.complete_sync`."""
        check_sync_key(target, source_id)
        check_id("target_id", target_id)
        now = now_utc(self._clock)
        with self.transaction():
            old = self._state.syncs.get((target, source_id))
            if old is None:
                raise NotFoundError(f"no sync of {source_id!r} to {target!r} was recorded")
            if old.target_id is not None:
                if old.target_id != target_id:
                    raise DuplicateIdError("accounting sync", f"{target}:{source_id}",
                                           f"already sent as {old.target_id!r}")
                return old
            done = attrs.evolve(old, target_id=target_id, sent_at=now)
            self._state.syncs[(target, source_id)] = done
            return done

    def discard_sync(self, target: str, source_id: str) -> SyncRecord | None:
        """See :meth:`~milestonebill.stores.base.SyncJournal.discard_sync`."""
        check_sync_key(target, source_id)
        with self.transaction():
            old = self._state.syncs.get((target, source_id))
            if old is not None and old.sent:
                raise InvalidTransitionError(f"{source_id!r} was sent to {target!r} as "
                                             f"{old.target_id!r}; it cannot be discarded")
            return self._state.syncs.pop((target, source_id), None)

    def get_sync(self, target: str, source_id: str) -> SyncRecord | None:
        """See :meth:`~milestonebill.stores.base.SyncJournal.get_sync`."""
        check_sync_key(target, source_id)
        with self._lock:
            return self._state.syncs.get((target, source_id))

    def syncs(self, target: str, *, unfinished: bool = False) -> list[SyncRecord]:
        """See :meth:`~milestonebill.stores.base.SyncJournal.syncs`."""
        check_id("target", target)
        with self._lock:
            return [r for r in self._state.syncs.values()
                    if r.target == target and not (unfinished and r.sent)]

    # ------------------------------------------------------------ ledger

    def post(self, entry: JournalEntry) -> bool:
        """See :meth:`milestonebill.ledger.Ledger.post`."""
        check_entry(entry)
        with self.transaction():
            return self._state.ledger.post(entry)

    def get_entry(self, entry_id: str) -> JournalEntry | None:
        """See :meth:`milestonebill.ledger.Ledger.get_entry`."""
        check_id("entry_id", entry_id, max_length=MAX_KEY_LENGTH)
        with self._lock:
            return self._state.ledger.get_entry(entry_id)

    def entries(self, *, agreement_id: str | None = None) -> list[JournalEntry]:
        """See :meth:`milestonebill.ledger.Ledger.entries`."""
        if agreement_id is not None:
            check_id("agreement_id", agreement_id)
        with self._lock:
            return self._state.ledger.entries(agreement_id=agreement_id)

    def balances(
        self,
        *,
        currency: str | Currency,
        as_of: date | None = None,
        period: DateRange | None = None,
    ) -> dict[Account, Money]:
        """See :meth:`milestonebill.ledger.Ledger.balances`."""
        with self._lock:
            return self._state.ledger.balances(currency=currency, as_of=as_of, period=period)

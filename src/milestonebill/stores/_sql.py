"""The SQL both relational stores share (private).

Subclasses supply a connection-bound transaction, the placeholder style,
value conversions for dates and timestamps, and the dialect's locking
clauses; everything else -- the queries and the rules -- lives here, so the
SQLite and PostgreSQL stores cannot drift apart.

Every query names the store's tenant: ``tenant_id = ?`` in each ``WHERE``
(the first parameter), ``tenant_id`` in each insert and conflict target.
The ledger's queries are in :mod:`~milestonebill.stores._sql_ledger`, the
tenant views and platform calls in :mod:`~milestonebill.stores._sql_tenancy`.
"""

from __future__ import annotations

import abc
import contextlib
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import date, datetime
from typing import Any, Final, Generic, Protocol

import attrs

from milestonebill._validate import check_date, check_id, check_int, check_optional_date
from milestonebill.clock import Clock
from milestonebill.errors import (
    ConcurrencyError,
    DuplicateIdError,
    LeaseLostError,
    NotFoundError,
    ValidationError,
)
from milestonebill.limits import MAX_KEY_LENGTH
from milestonebill.money import Money
from milestonebill.stores._common import (
    Stored,
    lease_until,
    now_utc,
    plan_append,
    trusted,
)
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
    WorkerId,
    canonical_json,
)
from milestonebill.stores.tenancy import TenantId

Row = tuple[Any, ...]


def _writable(params: Sequence[Any]) -> tuple[Any, ...]:
    """The parameters, once each text is known to be one every database can take.

    The public methods check their ids by name first; this is the backstop,
    so a lone surrogate or a NUL never reaches a driver as its own error.
    """
    for p in params:
        if isinstance(p, str) and (not p.isascii() or "\x00" in p):
            try:
                p.encode("utf-8")
            except UnicodeEncodeError:
                raise ValidationError("text", "text every store can write (no lone surrogate)",
                                      p) from None
            if "\x00" in p:
                raise ValidationError("text", "text every store can write (no NUL)", p)
    return tuple(params)


class Cursor(Protocol):
    """What the shared code needs from a DB-API cursor."""

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any: ...

    def fetchall(self) -> list[Any]: ...


@attrs.frozen
class Migration:
    """One schema step: applied once, in ``version`` order, recorded in ``schema_version``.

    ``unless`` is an optional query: when it returns a row the step's work is
    already there (say, a column added by hand), so the statements are
    skipped and only the version is recorded.  It makes steps that SQL cannot
    write with ``IF NOT EXISTS`` (SQLite's ``ADD COLUMN``) idempotent too.
    """

    version: int
    name: str
    statements: tuple[str, ...]
    unless: str | None = None


@attrs.frozen
class Streams(Generic[Stored]):
    """The two tables that hold one kind of stream: a row per stream with its
    version, and a row per event."""

    streams: str
    events: str
    id_column: str
    kind: type[Stored]

    @property
    def columns(self) -> str:
        """The event columns, in :class:`StoredEvent` field order."""
        return f"{self.id_column}, event_id, version, type, effective_at, payload"


AGREEMENT_STREAMS: Final = Streams("agreements", "events", "agreement_id", StoredEvent)
PROPOSAL_STREAMS: Final = Streams("proposals", "proposal_events", "proposal_id",
                                  StoredProposalEvent)


class SQLStoreBase(abc.ABC):
    """Every store operation, written once in portable SQL with ``?`` placeholders."""

    #: Appended to a ``SELECT`` that must lock the rows it reads.
    FOR_UPDATE = ""
    #: Appended to the claim sub-select.
    CLAIM_LOCK = ""
    #: True when :meth:`_begin` already told the transaction its tenant.
    BEGIN_NAMES_TENANT = False

    def __init__(self, clock: Clock, tenant: TenantId) -> None:
        self._clock = clock
        self._tenant = tenant
        #: Per connection (shared by every tenant view of this store): the
        #: thread's open cursor, the tenant its session is set to, savepoints.
        self._local = threading.local()

    # ----------------------------------------------------------------- dialect hooks

    @abc.abstractmethod
    def _begin(self, write: bool) -> AbstractContextManager[Cursor]:
        """Open a new transaction and yield its cursor; commit on exit, roll back on error.

        ``write`` is false for read-only work, which must not take write locks.
        """

    @abc.abstractmethod
    def _translate(self, exc: Exception, *, stream: tuple[str, int] | None = None) -> Exception | None:
        """Map a driver error to a milestonebill error (``None``: not a driver error)."""

    def _set_tenant(self, cur: Cursor, tenant: TenantId) -> None:
        """Tell the open transaction which tenant it works for (PostgreSQL's
        row-level security reads it; SQLite has nothing to tell)."""
        del cur, tenant

    def _sql(self, sql: str) -> str:
        return sql

    def _date_in(self, d: date | None) -> Any:
        return d

    def _date_out(self, v: Any) -> date | None:
        return v  # type: ignore[no-any-return]

    def _ts_in(self, t: datetime) -> Any:
        return t

    def _ts_out(self, v: Any) -> datetime:
        return v  # type: ignore[no-any-return]

    # ----------------------------------------------------------------- transactions

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One unit of work; see :mod:`milestonebill.stores.base`."""
        with self._tx():
            yield

    @contextmanager
    def _tx(self, stream: tuple[str, int] | None = None, *, write: bool = True) -> Iterator[Cursor]:
        cur: Cursor | None = getattr(self._local, "cursor", None)
        try:
            if cur is not None:
                if self._local.tenant == self._tenant:
                    yield cur
                else:
                    with self._joined(cur):
                        yield cur
                return
            with self._begin(write) as cur:
                self._local.cursor = cur
                self._local.tenant = self._tenant
                try:
                    if not self.BEGIN_NAMES_TENANT:
                        self._set_tenant(cur, self._tenant)
                    yield cur
                finally:
                    self._local.cursor = None
        except Exception as exc:
            mapped = self._translate(exc, stream=stream)
            if mapped is None:
                raise
            raise mapped from exc

    @contextmanager
    def _joined(self, cur: Cursor) -> Iterator[None]:
        """Join the thread's open transaction, begun for another tenant.

        A tenant view shares its root's connection, so a call of one inside
        the other's :meth:`transaction` joins it; every query names its own
        tenant, and the session's tenant is switched for the call and back.
        """
        outer: TenantId = self._local.tenant
        self._set_tenant(cur, self._tenant)
        self._local.tenant = self._tenant
        try:
            yield
        finally:
            self._local.tenant = outer
            # After a failed statement PostgreSQL refuses even this; the
            # transaction (or savepoint) is then rolled back, setting and all.
            with contextlib.suppress(Exception):
                self._set_tenant(cur, outer)

    def _rows(self, cur: Cursor, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        cur.execute(self._sql(sql), _writable(params))
        return [tuple(r) for r in cur.fetchall()]

    def _one(self, cur: Cursor, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = self._rows(cur, sql, params)
        return rows[0] if rows else None

    def _run(self, cur: Cursor, sql: str, params: Sequence[Any] = ()) -> None:
        cur.execute(self._sql(sql), _writable(params))

    # ----------------------------------------------------------------- migrations

    def applied_migrations(self) -> list[int]:
        """Schema versions recorded in ``schema_version``, ascending."""
        with self._tx(write=False) as cur:
            return [int(r[0]) for r in self._rows(cur, "SELECT version FROM schema_version ORDER BY version")]

    def _apply_migrations(self, cur: Cursor, migrations: Sequence[Migration]) -> list[int]:
        done = {int(r[0]) for r in self._rows(cur, "SELECT version FROM schema_version")}
        applied: list[int] = []
        for m in sorted(migrations, key=lambda m: m.version):
            if m.version in done:
                continue
            if m.unless is None or not self._rows(cur, m.unless):
                for statement in m.statements:
                    self._run(cur, statement)
            self._run(
                cur,
                "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                (m.version, m.name, self._ts_in(now_utc(self._clock))),
            )
            applied.append(m.version)
        return applied

    # ----------------------------------------------------------------- streams

    def _stored(self, t: Streams[Stored], r: Row) -> Stored:
        return trusted(t.kind, r[0], EventId(r[1]), int(r[2]), r[3], self._ts_out(r[4]), r[5])

    def _append(self, t: Streams[Stored], stream_id: str, events: Sequence[Stored],
                expected_version: int) -> int:
        """Append to one stream of kind ``t`` (the one write path of both kinds)."""
        check_id(t.id_column, stream_id)
        with self._tx(stream=(stream_id, expected_version)) as cur:
            row = self._one(
                cur, f"SELECT version FROM {t.streams} WHERE tenant_id = ? AND {t.id_column} = ?"
                + self.FOR_UPDATE, (self._tenant, stream_id),
            )
            current = 0 if row is None else int(row[0])

            def lookup(event_id: str) -> Stored | None:
                r = self._one(cur, f"SELECT {t.columns} FROM {t.events} "
                              "WHERE tenant_id = ? AND event_id = ?", (self._tenant, event_id))
                return None if r is None else self._stored(t, r)

            new = plan_append(stream_id, events, expected_version, current, lookup,
                              kind=t.kind)
            if not new:
                return current
            if row is None:
                self._run(cur, f"INSERT INTO {t.streams} (tenant_id, {t.id_column}, version) "
                          "VALUES (?, ?, 0)", (self._tenant, stream_id))
            for e in new:
                self._run(
                    cur, f"INSERT INTO {t.events} (tenant_id, {t.columns}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (self._tenant, e.stream_id, e.event_id, e.version, e.type, self._ts_in(e.effective_at),
                     e.payload),
                )
            version = current + len(new)
            moved = self._rows(
                cur,
                f"UPDATE {t.streams} SET version = ? WHERE tenant_id = ? AND {t.id_column} = ? "
                f"AND version = ? RETURNING {t.id_column}",
                (version, self._tenant, stream_id, current),
            )
            if not moved:
                raise ConcurrencyError(stream_id, expected_version, current + 1)
            return version

    def _load(self, t: Streams[Stored], stream_id: str, after_version: int) -> list[Stored]:
        with self._tx(write=False) as cur:
            rows = self._rows(
                cur,
                f"SELECT {t.columns} FROM {t.events} WHERE tenant_id = ? AND {t.id_column} = ? "
                "AND version > ? ORDER BY version",
                (self._tenant, stream_id, after_version),
            )
        return [self._stored(t, r) for r in rows]

    def _version(self, t: Streams[Stored], stream_id: str) -> int:
        with self._tx(write=False) as cur:
            row = self._one(cur, f"SELECT version FROM {t.streams} "
                            f"WHERE tenant_id = ? AND {t.id_column} = ?", (self._tenant, stream_id))
        return 0 if row is None else int(row[0])

    def _ids(self, t: Streams[Stored]) -> list[str]:
        with self._tx(write=False) as cur:
            rows = self._rows(cur, f"SELECT {t.id_column} FROM {t.streams} WHERE tenant_id = ? "
                              f"ORDER BY {t.id_column}", (self._tenant,))
        return [r[0] for r in rows]

    def append(
        self, agreement_id: AgreementId, events: Sequence[StoredEvent], expected_version: int
    ) -> int:
        """See :meth:`AgreementStore.append`."""
        return self._append(AGREEMENT_STREAMS, agreement_id, events, expected_version)

    def load(self, agreement_id: AgreementId, *, after_version: int = 0) -> list[StoredEvent]:
        """See :meth:`AgreementStore.load`."""
        check_id("agreement_id", agreement_id)
        return self._load(AGREEMENT_STREAMS, agreement_id, after_version)

    def version(self, agreement_id: AgreementId) -> int:
        """See :meth:`AgreementStore.version`."""
        check_id("agreement_id", agreement_id)
        return self._version(AGREEMENT_STREAMS, agreement_id)

    def agreement_ids(self) -> list[AgreementId]:
        """See :meth:`AgreementStore.agreement_ids`."""
        return [AgreementId(a) for a in self._ids(AGREEMENT_STREAMS)]

    def append_proposal(
        self, proposal_id: ProposalId, events: Sequence[StoredProposalEvent],
        expected_version: int,
    ) -> int:
        """See :meth:`AgreementStore.append_proposal`."""
        return self._append(PROPOSAL_STREAMS, proposal_id, events, expected_version)

    def load_proposal(
        self, proposal_id: ProposalId, *, after_version: int = 0
    ) -> list[StoredProposalEvent]:
        """See :meth:`AgreementStore.load_proposal`."""
        return self._load(PROPOSAL_STREAMS, proposal_id, after_version)

    def proposal_version(self, proposal_id: ProposalId) -> int:
        """See :meth:`AgreementStore.proposal_version`."""
        return self._version(PROPOSAL_STREAMS, proposal_id)

    def proposal_ids(self) -> list[ProposalId]:
        """See :meth:`AgreementStore.proposal_ids`."""
        return [ProposalId(p) for p in self._ids(PROPOSAL_STREAMS)]

    # ----------------------------------------------------------------- due work

    def set_next_due(self, agreement_id: AgreementId, next_due_on: date | None) -> None:
        """See :meth:`AgreementStore.set_next_due`."""
        check_id("agreement_id", agreement_id)
        check_optional_date("next_due_on", next_due_on)
        with self._tx() as cur:
            found = self._rows(
                cur, "UPDATE agreements SET next_due_on = ? WHERE tenant_id = ? AND agreement_id = ? "
                "RETURNING agreement_id",
                (self._date_in(next_due_on), self._tenant, agreement_id),
            )
            if not found:
                raise NotFoundError(f"agreement {agreement_id!r} has no stream")

    def next_due(self, agreement_id: AgreementId) -> date | None:
        """See :meth:`AgreementStore.next_due`."""
        check_id("agreement_id", agreement_id)
        with self._tx(write=False) as cur:
            row = self._one(cur, "SELECT next_due_on FROM agreements "
                            "WHERE tenant_id = ? AND agreement_id = ?", (self._tenant, agreement_id))
        if row is None:
            raise NotFoundError(f"agreement {agreement_id!r} has no stream")
        return self._date_out(row[0])

    _NOT_PARKED = ("NOT EXISTS (SELECT 1 FROM parked_agreements p "
                   "WHERE p.tenant_id = agreements.tenant_id "
                   "AND p.agreement_id = agreements.agreement_id)")

    def list_due(self, as_of: date) -> list[AgreementId]:
        """See :meth:`AgreementStore.list_due`."""
        check_date("as_of", as_of)
        with self._tx(write=False) as cur:
            rows = self._rows(
                cur,
                "SELECT agreement_id FROM agreements WHERE tenant_id = ? AND next_due_on IS NOT NULL "
                "AND next_due_on <= ? AND " + self._NOT_PARKED + " "
                "ORDER BY next_due_on, agreement_id",
                (self._tenant, self._date_in(as_of)),
            )
        return [AgreementId(r[0]) for r in rows]

    def claim(
        self, worker_id: WorkerId, as_of: date, *, limit: int, lease_seconds: float
    ) -> list[AgreementId]:
        """See :meth:`AgreementStore.claim`."""
        check_id("worker_id", worker_id)
        check_date("as_of", as_of)
        check_int("limit", limit, at_least=1)
        now, until = lease_until(self._clock, lease_seconds)
        with self._tx() as cur:
            # The choice is a materialized CTE, made once: as an ``IN (sub-select
            # ... LIMIT)`` PostgreSQL may plan it as the inner side of a nested
            # loop and run it again for each outer row, and each run then skips
            # the rows this statement has just leased and takes the next -- more
            # than ``limit`` leased (seen on small tables, after ANALYZE).
            rows = self._rows(
                cur,
                "WITH picked AS MATERIALIZED ("
                " SELECT agreement_id FROM agreements WHERE tenant_id = ? AND next_due_on IS NOT NULL"
                " AND next_due_on <= ? AND (lease_until IS NULL OR lease_until <= ?)"
                " AND " + self._NOT_PARKED +
                " ORDER BY next_due_on, agreement_id LIMIT ?" + self.CLAIM_LOCK + ") "
                "UPDATE agreements SET lease_owner = ?, lease_until = ? WHERE tenant_id = ? "
                "AND agreement_id IN (SELECT agreement_id FROM picked) "
                "RETURNING agreement_id, next_due_on",
                (self._tenant, self._date_in(as_of), self._ts_in(now), limit,
                 worker_id, self._ts_in(until), self._tenant),
            )
        got = sorted((self._date_out(r[1]) or as_of, r[0]) for r in rows)
        return [AgreementId(a) for _, a in got]

    def release(self, worker_id: WorkerId, agreement_ids: Sequence[AgreementId]) -> None:
        """See :meth:`AgreementStore.release`."""
        check_id("worker_id", worker_id)
        for a in agreement_ids:
            check_id("agreement_ids", a)
        with self._tx() as cur:
            for a in agreement_ids:
                self._run(
                    cur,
                    "UPDATE agreements SET lease_owner = NULL, lease_until = NULL "
                    "WHERE tenant_id = ? AND agreement_id = ? AND lease_owner = ?",
                    (self._tenant, a, worker_id),
                )

    def claim_one(
        self, worker_id: WorkerId, agreement_id: AgreementId, *, lease_seconds: float
    ) -> bool:
        """See :meth:`AgreementStore.claim_one`."""
        check_id("worker_id", worker_id)
        check_id("agreement_id", agreement_id)
        now, until = lease_until(self._clock, lease_seconds)
        with self._tx() as cur:
            got = self._rows(
                cur,
                "UPDATE agreements SET lease_owner = ?, lease_until = ? WHERE tenant_id = ? "
                "AND agreement_id = ? AND (lease_until IS NULL OR lease_until <= ? OR lease_owner = ?) "
                "RETURNING agreement_id",
                (worker_id, self._ts_in(until), self._tenant, agreement_id, self._ts_in(now),
                 worker_id),
            )
            if got:
                return True
            self._exists(cur, agreement_id)
        return False

    def complete(
        self, worker_id: WorkerId, agreement_id: AgreementId, next_due_on: date | None
    ) -> None:
        """See :meth:`AgreementStore.complete`."""
        check_id("worker_id", worker_id)
        check_id("agreement_id", agreement_id)
        check_optional_date("next_due_on", next_due_on)
        now = now_utc(self._clock)
        with self._tx() as cur:
            done = self._rows(
                cur,
                "UPDATE agreements SET next_due_on = ?, lease_owner = NULL, lease_until = NULL "
                "WHERE tenant_id = ? AND agreement_id = ? AND lease_owner = ? AND lease_until > ? "
                "RETURNING agreement_id",
                (self._date_in(next_due_on), self._tenant, agreement_id, worker_id,
                 self._ts_in(now)),
            )
            if done:
                return
            self._exists(cur, agreement_id)
        raise LeaseLostError(agreement_id, worker_id)

    def _exists(self, cur: Cursor, agreement_id: str) -> None:
        if self._one(cur, "SELECT 1 FROM agreements WHERE tenant_id = ? AND agreement_id = ?",
                     (self._tenant, agreement_id)) is None:
            raise NotFoundError(f"agreement {agreement_id!r} has no stream")

    _PARKED_COLS = "agreement_id, error, message, parked_at"

    def _parked(self, r: Row) -> ParkedAgreement:
        return ParkedAgreement(AgreementId(r[0]), r[1], r[2], self._ts_out(r[3]))

    def park(self, agreement_id: AgreementId, *, error: str, message: str) -> ParkedAgreement:
        """See :meth:`AgreementStore.park`."""
        check_id("agreement_id", agreement_id)
        rec = ParkedAgreement(agreement_id, error, message, now_utc(self._clock))
        with self._tx() as cur:
            self._exists(cur, agreement_id)
            self._run(
                cur, f"INSERT INTO parked_agreements (tenant_id, {self._PARKED_COLS}) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant_id, agreement_id) DO NOTHING",
                (self._tenant, agreement_id, rec.error, rec.message, self._ts_in(rec.parked_at)),
            )
            r = self._one(cur, f"SELECT {self._PARKED_COLS} FROM parked_agreements "
                          "WHERE tenant_id = ? AND agreement_id = ?", (self._tenant, agreement_id))
            assert r is not None
            return self._parked(r)

    def unpark(self, agreement_id: AgreementId) -> ParkedAgreement | None:
        """See :meth:`AgreementStore.unpark`."""
        check_id("agreement_id", agreement_id)
        with self._tx() as cur:
            self._exists(cur, agreement_id)
            rows = self._rows(cur, "DELETE FROM parked_agreements WHERE tenant_id = ? AND "
                              f"agreement_id = ? RETURNING {self._PARKED_COLS}",
                              (self._tenant, agreement_id))
        return self._parked(rows[0]) if rows else None

    def parked(self) -> list[ParkedAgreement]:
        """See :meth:`AgreementStore.parked`."""
        with self._tx(write=False) as cur:
            rows = self._rows(cur, f"SELECT {self._PARKED_COLS} FROM parked_agreements "
                              "WHERE tenant_id = ? ORDER BY parked_at, agreement_id",
                              (self._tenant,))
        return [self._parked(r) for r in rows]

    # ----------------------------------------------------------------- invoices

    def _invoice(self, r: Row) -> InvoiceRecord:
        return InvoiceRecord(FirmId(r[0]), InvoiceId(r[1]), int(r[2]),
                             None if r[3] is None else AgreementId(r[3]), r[4])

    _INVOICE_COLS = "firm_id, invoice_id, number, agreement_id, payload"

    def issue_invoice_number(
        self,
        firm_id: FirmId,
        invoice_id: InvoiceId,
        *,
        agreement_id: AgreementId | None = None,
        payload: Mapping[str, Any] | str | None = None,
    ) -> int:
        """See :meth:`AgreementStore.issue_invoice_number`.

        The firm's counter row is locked for the rest of the transaction, so
        numbers are handed out one at a time per firm and a rollback returns
        the number with everything else.
        """
        check_id("firm_id", firm_id)
        check_id("invoice_id", invoice_id)
        body = canonical_json(payload if payload is not None else {})
        with self._tx() as cur:
            self._run(
                cur,
                "INSERT INTO invoice_counters (tenant_id, firm_id, last_number) VALUES (?, ?, 0) "
                "ON CONFLICT (tenant_id, firm_id) DO NOTHING",
                (self._tenant, firm_id),
            )
            counter = self._one(
                cur, "SELECT last_number FROM invoice_counters WHERE tenant_id = ? AND firm_id = ?"
                + self.FOR_UPDATE, (self._tenant, firm_id),
            )
            assert counter is not None
            # Looked up after taking the lock: a concurrent issuer of the same
            # invoice has committed by now, so we see its number.
            old = self._one(
                cur, f"SELECT {self._INVOICE_COLS} FROM invoices WHERE tenant_id = ? "
                "AND invoice_id = ?", (self._tenant, invoice_id),
            )
            if old is not None:
                rec = self._invoice(old)
                if rec.firm_id != firm_id or rec.agreement_id != agreement_id:
                    raise DuplicateIdError("invoice", invoice_id)
                return rec.number
            number = int(counter[0]) + 1
            self._run(cur, "UPDATE invoice_counters SET last_number = ? WHERE tenant_id = ? "
                      "AND firm_id = ?", (number, self._tenant, firm_id))
            self._run(
                cur, f"INSERT INTO invoices (tenant_id, {self._INVOICE_COLS}) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (self._tenant, firm_id, invoice_id, number, agreement_id, body),
            )
            return number

    def get_invoice(self, invoice_id: InvoiceId) -> InvoiceRecord | None:
        """See :meth:`AgreementStore.get_invoice`."""
        check_id("invoice_id", invoice_id)
        with self._tx(write=False) as cur:
            r = self._one(cur, f"SELECT {self._INVOICE_COLS} FROM invoices WHERE tenant_id = ? "
                          "AND invoice_id = ?", (self._tenant, invoice_id))
        return None if r is None else self._invoice(r)

    def invoices(self, firm_id: FirmId) -> list[InvoiceRecord]:
        """See :meth:`AgreementStore.invoices`."""
        check_id("firm_id", firm_id)
        with self._tx(write=False) as cur:
            rows = self._rows(
                cur, f"SELECT {self._INVOICE_COLS} FROM invoices WHERE tenant_id = ? "
                "AND firm_id = ? ORDER BY number", (self._tenant, firm_id),
            )
        return [self._invoice(r) for r in rows]

    # ----------------------------------------------------------------- attempts

    _ATTEMPT_COLS = ("key, agreement_id, invoice_id, attempt, amount_minor, currency, outcome, "
                     "recorded_at")

    def _attempt(self, r: Row) -> AttemptRecord:
        return AttemptRecord(AttemptKey(r[0]), AgreementId(r[1]), InvoiceId(r[2]), int(r[3]),
                             Money.from_minor(int(r[4]), r[5]), r[6],
                             None if r[7] is None else self._ts_out(r[7]))

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
        assert rec.recorded_at is not None
        with self._tx() as cur:
            r = self._one(
                cur,
                "INSERT INTO charge_attempts (tenant_id, key, agreement_id, invoice_id, attempt, "
                "amount_minor, currency, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                f"ON CONFLICT (tenant_id, key) DO NOTHING RETURNING {self._ATTEMPT_COLS}",
                (self._tenant, key, agreement_id, invoice_id, attempt, amount.minor, amount.currency.code,
                 self._ts_in(rec.recorded_at)),
            ) or self._one(cur, f"SELECT {self._ATTEMPT_COLS} FROM charge_attempts "
                           "WHERE tenant_id = ? AND key = ?", (self._tenant, key))
            assert r is not None
            stored = self._attempt(r)
            if not stored.same_request(rec):
                raise DuplicateIdError("charge attempt", key)
            return stored

    def complete_attempt(self, key: AttemptKey, outcome: Mapping[str, Any] | str) -> AttemptRecord:
        """See :meth:`AgreementStore.complete_attempt`."""
        check_id("key", key, max_length=MAX_KEY_LENGTH)
        body = canonical_json(outcome, "outcome")
        with self._tx() as cur:
            r = self._one(
                cur, f"SELECT {self._ATTEMPT_COLS} FROM charge_attempts WHERE tenant_id = ? "
                "AND key = ?" + self.FOR_UPDATE, (self._tenant, key),
            )
            if r is None:
                raise NotFoundError(f"no charge attempt recorded under {key!r}")
            old = self._attempt(r)
            if old.outcome is not None:
                if old.outcome != body:
                    raise DuplicateIdError("charge attempt", key, "already has a different outcome")
                return old
            self._run(cur, "UPDATE charge_attempts SET outcome = ? WHERE tenant_id = ? AND key = ?",
                      (body, self._tenant, key))
            return attrs.evolve(old, outcome=body)

    def get_attempt(self, key: AttemptKey) -> AttemptRecord | None:
        """See :meth:`AgreementStore.get_attempt`."""
        check_id("key", key, max_length=MAX_KEY_LENGTH)
        with self._tx(write=False) as cur:
            r = self._one(cur, f"SELECT {self._ATTEMPT_COLS} FROM charge_attempts "
                          "WHERE tenant_id = ? AND key = ?", (self._tenant, key))
        return None if r is None else self._attempt(r)

    def unfinished_attempts(self) -> list[AttemptRecord]:
        """See :meth:`AgreementStore.unfinished_attempts`."""
        with self._tx(write=False) as cur:
            rows = self._rows(
                cur, f"SELECT {self._ATTEMPT_COLS} FROM charge_attempts WHERE tenant_id = ? "
                "AND outcome IS NULL ORDER BY seq", (self._tenant,),
            )
        return [self._attempt(r) for r in rows]

    # ----------------------------------------------------------------- outbox

    _NOTE_COLS = "seq, key, agreement_id, kind, payload"

    def _note(self, r: Row) -> Notification:
        return Notification(int(r[0]), r[1], None if r[2] is None else AgreementId(r[2]), r[3], r[4])

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
        with self._tx() as cur:
            # One round trip when the key is new; a second read only for a repeat.
            r = self._one(cur, "INSERT INTO notifications (tenant_id, key, agreement_id, kind, "
                          "payload, acked) VALUES (?, ?, ?, ?, ?, 0) "
                          f"ON CONFLICT (tenant_id, key) DO NOTHING RETURNING {self._NOTE_COLS}",
                          (self._tenant, key, agreement_id, kind, body),
                          ) or self._one(cur, f"SELECT {self._NOTE_COLS} FROM notifications "
                                         "WHERE tenant_id = ? AND key = ?", (self._tenant, key))
            assert r is not None
            note = self._note(r)
            if (note.agreement_id, note.kind, note.payload) != (agreement_id, kind, body):
                raise DuplicateIdError("notification", key)
            return note

    def pending_notifications(self, limit: int = 100) -> list[Notification]:
        """See :meth:`AgreementStore.pending_notifications`."""
        check_int("limit", limit, at_least=1)
        with self._tx(write=False) as cur:
            rows = self._rows(
                cur, f"SELECT {self._NOTE_COLS} FROM notifications WHERE tenant_id = ? "
                "AND acked = 0 ORDER BY seq LIMIT ?", (self._tenant, limit),
            )
        return [self._note(r) for r in rows]

    def ack(self, keys: Sequence[str]) -> None:
        """See :meth:`AgreementStore.ack`."""
        for k in keys:
            check_id("keys", k, max_length=MAX_KEY_LENGTH)
        if isinstance(keys, str):
            raise ValidationError("keys", "a sequence of keys, not one string", keys)
        with self._tx() as cur:
            for k in keys:
                self._run(cur, "UPDATE notifications SET acked = 1 WHERE tenant_id = ? AND key = ?",
                          (self._tenant, k))

"""``PostgresStore``: the store for many worker processes (extra ``postgres``).

Needs ``psycopg`` 3 and ``psycopg_pool``; this is the only module that
imports them, and ``import milestonebill`` never imports it.

How it stays correct with many workers on one database:

* claims take rows with ``FOR UPDATE SKIP LOCKED`` and stamp a lease, so two
  workers never hold the same agreement;
* a stream append locks the agreement row (``FOR UPDATE``) before checking the
  expected version; ``UNIQUE (agreement_id, version)`` and the event-id
  primary key are the last line of defence and surface as
  :class:`~milestonebill.errors.ConcurrencyError`;
* invoice numbers come from a per-firm counter row locked ``FOR UPDATE`` in
  the invoice's own transaction, so numbers are gap-free and a rollback
  returns the number; ``UNIQUE (firm_id, number)`` backs it up;
* attempts, notifications and journal entries insert with
  ``ON CONFLICT DO NOTHING`` and then compare, so retries are no-ops.

Tables live in ``schema`` (default ``milestonebill``), created if missing;
migrations run under a transaction-scoped advisory lock so concurrent
starters apply each step once.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Any

import psycopg
import psycopg.errors
from psycopg_pool import ConnectionPool

from milestonebill.clock import Clock
from milestonebill.errors import ConcurrencyError, StoreError, ValidationError
from milestonebill.stores._common import SYSTEM_CLOCK
from milestonebill.stores._sql import Cursor, Migration
from milestonebill.stores._sql_batch import BatchSQL
from milestonebill.stores._sql_links import SQLStore
from milestonebill.stores._sql_sync import SyncSQL

__all__ = ["MIGRATIONS", "PostgresStore"]

#: The schema, as ordered steps.  Never edit a released step; add a new one.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "streams, work, invoices, attempts, outbox, ledger", (
        """CREATE TABLE IF NOT EXISTS agreements (
            agreement_id TEXT PRIMARY KEY,
            version INTEGER NOT NULL DEFAULT 0 CHECK (version >= 0),
            next_due_on DATE,
            lease_owner TEXT,
            lease_until TIMESTAMPTZ
        )""",
        """CREATE TABLE IF NOT EXISTS events (
            event_id TEXT PRIMARY KEY,
            agreement_id TEXT NOT NULL REFERENCES agreements (agreement_id),
            version INTEGER NOT NULL CHECK (version >= 1),
            type TEXT NOT NULL,
            effective_at TIMESTAMPTZ NOT NULL,
            payload TEXT NOT NULL,
            UNIQUE (agreement_id, version)
        )""",
        """CREATE TABLE IF NOT EXISTS invoice_counters (
            firm_id TEXT PRIMARY KEY,
            last_number BIGINT NOT NULL CHECK (last_number >= 0)
        )""",
        """CREATE TABLE IF NOT EXISTS invoices (
            invoice_id TEXT PRIMARY KEY,
            firm_id TEXT NOT NULL REFERENCES invoice_counters (firm_id),
            number BIGINT NOT NULL CHECK (number >= 1),
            agreement_id TEXT,
            payload TEXT NOT NULL,
            UNIQUE (firm_id, number)
        )""",
        """CREATE TABLE IF NOT EXISTS charge_attempts (
            seq BIGSERIAL PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            agreement_id TEXT NOT NULL,
            invoice_id TEXT NOT NULL,
            attempt INTEGER NOT NULL CHECK (attempt >= 1),
            amount_minor BIGINT NOT NULL,
            currency TEXT NOT NULL,
            outcome TEXT
        )""",
        """CREATE TABLE IF NOT EXISTS notifications (
            seq BIGSERIAL PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            agreement_id TEXT,
            kind TEXT NOT NULL,
            payload TEXT NOT NULL,
            acked INTEGER NOT NULL DEFAULT 0
        )""",
        """CREATE TABLE IF NOT EXISTS journal_entries (
            entry_id TEXT PRIMARY KEY,
            posted_on DATE NOT NULL,
            currency TEXT NOT NULL,
            agreement_id TEXT,
            memo TEXT NOT NULL,
            body TEXT NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS journal_lines (
            entry_id TEXT NOT NULL REFERENCES journal_entries (entry_id),
            line_no INTEGER NOT NULL,
            account TEXT NOT NULL,
            currency TEXT NOT NULL,
            posted_on DATE NOT NULL,
            signed_minor BIGINT NOT NULL CHECK (signed_minor <> 0),
            PRIMARY KEY (entry_id, line_no)
        )""",
    )),
    Migration(2, "indexes for due work, unfinished attempts, outbox and balances", (
        "CREATE INDEX IF NOT EXISTS agreements_due ON agreements (next_due_on, agreement_id)",
        "CREATE INDEX IF NOT EXISTS attempts_open ON charge_attempts (seq) WHERE outcome IS NULL",
        "CREATE INDEX IF NOT EXISTS notifications_pending ON notifications (seq) WHERE acked = 0",
        "CREATE INDEX IF NOT EXISTS lines_balance ON journal_lines (currency, account, posted_on)",
        "CREATE INDEX IF NOT EXISTS entries_agreement ON journal_entries (agreement_id)",
    )),
    Migration(3, "when each charge attempt was recorded", (
        "ALTER TABLE charge_attempts ADD COLUMN IF NOT EXISTS recorded_at TIMESTAMPTZ",
    )),
    Migration(4, "proposal streams, apart from the agreements'", (
        """CREATE TABLE IF NOT EXISTS proposals (
            proposal_id TEXT PRIMARY KEY,
            version INTEGER NOT NULL DEFAULT 0 CHECK (version >= 0)
        )""",
        """CREATE TABLE IF NOT EXISTS proposal_events (
            event_id TEXT PRIMARY KEY,
            proposal_id TEXT NOT NULL REFERENCES proposals (proposal_id),
            version INTEGER NOT NULL CHECK (version >= 1),
            type TEXT NOT NULL,
            effective_at TIMESTAMPTZ NOT NULL,
            payload TEXT NOT NULL,
            UNIQUE (proposal_id, version)
        )""",
    )),
    Migration(5, "agreements parked after an error, skipped by claims", (
        """CREATE TABLE IF NOT EXISTS parked_agreements (
            agreement_id TEXT PRIMARY KEY REFERENCES agreements (agreement_id),
            error TEXT NOT NULL,
            message TEXT NOT NULL,
            parked_at TIMESTAMPTZ NOT NULL
        )""",
    )),
    Migration(6, "links from practice-management work items to agreements", (
        """CREATE TABLE IF NOT EXISTS work_links (
            source TEXT NOT NULL,
            external_id TEXT NOT NULL,
            agreement_id TEXT NOT NULL,
            milestone_id TEXT,
            obligation_id TEXT,
            PRIMARY KEY (source, external_id),
            CHECK (milestone_id IS NULL OR obligation_id IS NULL)
        )""",
        "CREATE INDEX IF NOT EXISTS work_links_agreement ON work_links (agreement_id)",
    )),
    Migration(7, "what was sent to which accounting system (the sync journal)", (
        """CREATE TABLE IF NOT EXISTS accounting_syncs (
            seq BIGSERIAL PRIMARY KEY,
            target TEXT NOT NULL,
            source_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            number TEXT NOT NULL,
            idempotency_key TEXT NOT NULL,
            body TEXT NOT NULL,
            target_id TEXT,
            recorded_at TIMESTAMPTZ NOT NULL,
            sent_at TIMESTAMPTZ,
            UNIQUE (target, source_id),
            UNIQUE (target, kind, number)
        )""",
        "CREATE INDEX IF NOT EXISTS accounting_syncs_open ON accounting_syncs (target, seq) "
        "WHERE target_id IS NULL",
    )),
)

_SCHEMA_TABLE = """CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL
)"""

_IDENT = re.compile(r"[a-z_][a-z0-9_]{0,62}")
#: Advisory-lock key for migrations ("mbil" in ASCII).
_MIGRATION_LOCK = 0x6D62696C


class PostgresStore(SQLStore, SyncSQL, BatchSQL):
    """An :class:`~milestonebill.stores.base.AgreementStore` and
    :class:`~milestonebill.ledger.Ledger` in PostgreSQL.

    ``dsn`` is a libpq connection string; ``schema`` (lower-case identifier)
    holds the tables; ``pool_size`` bounds the connections this process
    opens.  One instance per process; threads share its pool.  Close it, or
    use it as a context manager.  Raises
    :class:`~milestonebill.errors.ValidationError` naming ``schema`` for a
    name that is not a lower-case SQL identifier, and
    :class:`~milestonebill.errors.StoreError` when the server cannot be
    reached.
    """

    FOR_UPDATE = " FOR UPDATE"
    CLAIM_LOCK = " FOR UPDATE SKIP LOCKED"

    def __init__(
        self,
        dsn: str,
        *,
        schema: str = "milestonebill",
        clock: Clock = SYSTEM_CLOCK,
        pool_size: int = 4,
        connect_timeout: float = 30.0,
        migrations: tuple[Migration, ...] = MIGRATIONS,
    ) -> None:
        super().__init__(clock)
        if not isinstance(schema, str) or not _IDENT.fullmatch(schema):
            raise ValidationError("schema", "a lower-case SQL identifier", schema)
        self.schema = schema
        self._lock = threading.Lock()
        try:
            self._pool: ConnectionPool[psycopg.Connection[tuple[Any, ...]]] = ConnectionPool(
                dsn,
                min_size=1,
                max_size=max(1, pool_size),
                kwargs={
                    "autocommit": True,
                    "options": f"-c search_path={schema} -c timezone=UTC",
                },
                timeout=connect_timeout,
                open=False,
                name=f"milestonebill-{schema}",
            )
            self._pool.open(wait=True, timeout=connect_timeout)
        except (psycopg.Error, Exception) as exc:
            raise StoreError(f"cannot connect to PostgreSQL: {exc}") from exc
        try:
            self.migrate(migrations)
        except BaseException:
            self._pool.close()
            raise

    def migrate(self, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
        """Apply the steps not yet recorded; return their versions (idempotent)."""
        with self._tx() as cur:
            self._run(cur, "SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))
            self._run(cur, f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
            self._run(cur, _SCHEMA_TABLE)
            return self._apply_migrations(cur, migrations)

    # ------------------------------------------------------------ dialect hooks

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s")

    @contextmanager
    def _begin(self, write: bool) -> Iterator[Cursor]:
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            yield cur

    def _translate(self, exc: Exception, *, stream: tuple[str, int] | None = None) -> Exception | None:
        if isinstance(exc, psycopg.errors.UniqueViolation) and stream is not None:
            return ConcurrencyError(stream[0], stream[1], stream[1] + 1)
        if isinstance(exc, psycopg.errors.SerializationFailure | psycopg.errors.DeadlockDetected):
            return StoreError(f"PostgreSQL store: transaction conflict, retry: {exc}")
        if isinstance(exc, psycopg.Error):
            return StoreError(f"PostgreSQL store: {exc}")
        if type(exc).__module__.startswith("psycopg_pool"):
            return StoreError(f"PostgreSQL store: {exc}")
        return None

    def _ts_out(self, v: Any) -> datetime:
        if not isinstance(v, datetime):
            raise StoreError(f"PostgreSQL store: expected a timestamp, got {v!r}")
        return v.astimezone(UTC)

    def _date_out(self, v: Any) -> date | None:
        return v if v is None or isinstance(v, date) else date.fromisoformat(str(v))

    # ------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Close the connection pool (idempotent)."""
        with self._lock:
            self._pool.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

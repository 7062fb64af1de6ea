"""``SQLiteStore``: the embedded default store, one file, standard library only.

* WAL journal, ``synchronous=NORMAL``, foreign keys on, a busy timeout so
  several processes can share one file (writers queue; readers never block).
* Every write runs in ``BEGIN IMMEDIATE``: the write lock is taken up front,
  so two writers never deadlock upgrading a read lock, and work done in
  :meth:`~SQLiteStore.transaction` is atomic.
* The schema is created and migrated on open: ``schema_version`` records
  each applied :data:`MIGRATIONS` step; steps run in order, once, inside one
  immediate transaction, so two processes opening a new file at once are safe.

Dates are stored as ISO text (``2024-02-29``) and timestamps as fixed-width
UTC ISO text, so text order is time order.

>>> import tempfile, pathlib
>>> from datetime import date
>>> from milestonebill.stores.base import FirmId, InvoiceId
>>> with tempfile.TemporaryDirectory() as tmp:
...     with SQLiteStore(pathlib.Path(tmp) / "billing.db") as store:
...         print(store.applied_migrations())
...         with store.transaction():
...             n = store.issue_invoice_number(FirmId("acme"), InvoiceId("inv-1"))
...         print(n, store.journal_mode)
[1, 2, 3, 4, 5, 6, 7]
1 wal
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Any

from milestonebill.clock import Clock
from milestonebill.errors import ConcurrencyError, StoreError
from milestonebill.stores._common import SYSTEM_CLOCK
from milestonebill.stores._sql import Cursor, Migration
from milestonebill.stores._sql_batch import BatchSQL
from milestonebill.stores._sql_links import SQLStore
from milestonebill.stores._sql_sync import SyncSQL

__all__ = ["MIGRATIONS", "SQLiteStore"]

#: The schema, as ordered steps.  Never edit a released step; add a new one.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "streams, work, invoices, attempts, outbox, ledger", (
        """CREATE TABLE IF NOT EXISTS agreements (
            agreement_id TEXT PRIMARY KEY,
            version INTEGER NOT NULL DEFAULT 0 CHECK (version >= 0),
            next_due_on TEXT,
            lease_owner TEXT,
            lease_until TEXT
        )""",
        """CREATE TABLE IF NOT EXISTS events (
            event_id TEXT PRIMARY KEY,
            agreement_id TEXT NOT NULL REFERENCES agreements (agreement_id),
            version INTEGER NOT NULL CHECK (version >= 1),
            type TEXT NOT NULL,
            effective_at TEXT NOT NULL,
            payload TEXT NOT NULL,
            UNIQUE (agreement_id, version)
        )""",
        """CREATE TABLE IF NOT EXISTS invoice_counters (
            firm_id TEXT PRIMARY KEY,
            last_number INTEGER NOT NULL CHECK (last_number >= 0)
        )""",
        """CREATE TABLE IF NOT EXISTS invoices (
            invoice_id TEXT PRIMARY KEY,
            firm_id TEXT NOT NULL REFERENCES invoice_counters (firm_id),
            number INTEGER NOT NULL CHECK (number >= 1),
            agreement_id TEXT,
            payload TEXT NOT NULL,
            UNIQUE (firm_id, number)
        )""",
        """CREATE TABLE IF NOT EXISTS charge_attempts (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            key TEXT NOT NULL UNIQUE,
            agreement_id TEXT NOT NULL,
            invoice_id TEXT NOT NULL,
            attempt INTEGER NOT NULL CHECK (attempt >= 1),
            amount_minor INTEGER NOT NULL,
            currency TEXT NOT NULL,
            outcome TEXT
        )""",
        """CREATE TABLE IF NOT EXISTS notifications (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            key TEXT NOT NULL UNIQUE,
            agreement_id TEXT,
            kind TEXT NOT NULL,
            payload TEXT NOT NULL,
            acked INTEGER NOT NULL DEFAULT 0
        )""",
        """CREATE TABLE IF NOT EXISTS journal_entries (
            entry_id TEXT PRIMARY KEY,
            posted_on TEXT NOT NULL,
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
            posted_on TEXT NOT NULL,
            signed_minor INTEGER NOT NULL CHECK (signed_minor <> 0),
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
        "ALTER TABLE charge_attempts ADD COLUMN recorded_at TEXT",
    ), unless="SELECT 1 FROM pragma_table_info('charge_attempts') WHERE name = 'recorded_at'"),
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
            effective_at TEXT NOT NULL,
            payload TEXT NOT NULL,
            UNIQUE (proposal_id, version)
        )""",
    )),
    Migration(5, "agreements parked after an error, skipped by claims", (
        """CREATE TABLE IF NOT EXISTS parked_agreements (
            agreement_id TEXT PRIMARY KEY REFERENCES agreements (agreement_id),
            error TEXT NOT NULL,
            message TEXT NOT NULL,
            parked_at TEXT NOT NULL
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
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            target TEXT NOT NULL,
            source_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            number TEXT NOT NULL,
            idempotency_key TEXT NOT NULL,
            body TEXT NOT NULL,
            target_id TEXT,
            recorded_at TEXT NOT NULL,
            sent_at TEXT,
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
    applied_at TEXT NOT NULL
)"""


def _ts(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class SQLiteStore(SQLStore, SyncSQL, BatchSQL):
    """An :class:`~milestonebill.stores.base.AgreementStore` and
    :class:`~milestonebill.ledger.Ledger` in one SQLite file.

    ``path`` is created if missing (``":memory:"`` works for one process).
    ``busy_timeout`` (seconds) is how long a writer waits for another
    process's write lock before raising :class:`~milestonebill.errors.StoreError`.
    One instance may be shared by threads (a lock serialises them); open
    one instance per process.  Close it, or use it as a context manager.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Clock = SYSTEM_CLOCK,
        busy_timeout: float = 30.0,
        migrations: tuple[Migration, ...] = MIGRATIONS,
    ) -> None:
        super().__init__(clock)
        self.path = os.fspath(path)
        self._lock = threading.RLock()
        try:
            self._conn = sqlite3.connect(
                self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            row = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()
            self.journal_mode: str = str(row[0]).lower()
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open SQLite store {self.path!r}: {exc}") from exc
        self.migrate(migrations)

    def migrate(self, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
        """Apply the steps not yet recorded; return their versions (idempotent)."""
        with self._tx() as cur:
            self._run(cur, _SCHEMA_TABLE)
            return self._apply_migrations(cur, migrations)

    # ------------------------------------------------------------ dialect hooks

    @contextmanager
    def _begin(self, write: bool) -> Iterator[Cursor]:
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            else:
                cur.execute("COMMIT")
            finally:
                cur.close()

    def _translate(self, exc: Exception, *, stream: tuple[str, int] | None = None) -> Exception | None:
        if isinstance(exc, sqlite3.IntegrityError) and stream is not None:
            return ConcurrencyError(stream[0], stream[1], stream[1] + 1)
        if isinstance(exc, sqlite3.Error):
            return StoreError(f"SQLite store {self.path!r}: {exc}")
        return None

    def _date_in(self, d: date | None) -> Any:
        return None if d is None else d.isoformat()

    def _date_out(self, v: Any) -> date | None:
        return None if v is None else date.fromisoformat(v)

    def _ts_in(self, t: datetime) -> Any:
        return _ts(t)

    def _ts_out(self, v: Any) -> datetime:
        return datetime.fromisoformat(str(v).replace("Z", "+00:00"))

    # ------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

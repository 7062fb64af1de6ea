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
[1, 2, 3, 4, 5, 6, 7, 8]
1 wal
"""

from __future__ import annotations

import os
import sqlite3
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from milestonebill.clock import Clock
from milestonebill.errors import (
    ConcurrencyError,
    DuplicateIdError,
    NotFoundError,
    StoreError,
    ValidationError,
)
from milestonebill.stores._common import SYSTEM_CLOCK
from milestonebill.stores._sql import Cursor, Migration
from milestonebill.stores._sql_batch import BatchSQL
from milestonebill.stores._sql_ledger import LedgerSQL
from milestonebill.stores._sql_links import SQLStore
from milestonebill.stores._sql_sync import SyncSQL
from milestonebill.stores._sql_tenancy import (
    OLD_INDEXES,
    SEQUENCED_TABLES,
    TENANT_INDEXES,
    TENANT_TABLES,
    TenantSQL,
    has_tenancy,
    register_legacy_rows,
)
from milestonebill.stores.tenancy import (
    DEFAULT_TENANT,
    PlatformStore,
    TenantId,
    check_tenant,
    tenant_file_stem,
)

__all__ = ["MAX_TENANT_FILE_NAME", "MIGRATIONS", "SQLiteStore", "SQLiteTenantFiles"]

#: The oldest SQLite the store's statements run on: 3.35 brought ``RETURNING`` and
#: ``MATERIALIZED`` common table expressions.
_MIN_SQLITE: Final[tuple[int, int, int]] = (3, 35, 0)

#: Migration 8's new tables: ``tenant_id`` first in every key.
_TENANT_TABLES_DDL = (
    """CREATE TABLE tenants (
        tenant_id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE agreements (
        tenant_id TEXT NOT NULL,
        agreement_id TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 0 CHECK (version >= 0),
        next_due_on TEXT,
        lease_owner TEXT,
        lease_until TEXT,
        PRIMARY KEY (tenant_id, agreement_id)
    )""",
    """CREATE TABLE events (
        tenant_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        agreement_id TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version >= 1),
        type TEXT NOT NULL,
        effective_at TEXT NOT NULL,
        payload TEXT NOT NULL,
        PRIMARY KEY (tenant_id, event_id),
        UNIQUE (tenant_id, agreement_id, version),
        FOREIGN KEY (tenant_id, agreement_id) REFERENCES agreements (tenant_id, agreement_id)
            ON UPDATE CASCADE
    )""",
    """CREATE TABLE parked_agreements (
        tenant_id TEXT NOT NULL,
        agreement_id TEXT NOT NULL,
        error TEXT NOT NULL,
        message TEXT NOT NULL,
        parked_at TEXT NOT NULL,
        PRIMARY KEY (tenant_id, agreement_id),
        FOREIGN KEY (tenant_id, agreement_id) REFERENCES agreements (tenant_id, agreement_id)
            ON UPDATE CASCADE
    )""",
    """CREATE TABLE proposals (
        tenant_id TEXT NOT NULL,
        proposal_id TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 0 CHECK (version >= 0),
        PRIMARY KEY (tenant_id, proposal_id)
    )""",
    """CREATE TABLE proposal_events (
        tenant_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        proposal_id TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version >= 1),
        type TEXT NOT NULL,
        effective_at TEXT NOT NULL,
        payload TEXT NOT NULL,
        PRIMARY KEY (tenant_id, event_id),
        UNIQUE (tenant_id, proposal_id, version),
        FOREIGN KEY (tenant_id, proposal_id) REFERENCES proposals (tenant_id, proposal_id)
            ON UPDATE CASCADE
    )""",
    """CREATE TABLE invoice_counters (
        tenant_id TEXT NOT NULL,
        firm_id TEXT NOT NULL,
        last_number INTEGER NOT NULL CHECK (last_number >= 0),
        PRIMARY KEY (tenant_id, firm_id)
    )""",
    """CREATE TABLE invoices (
        tenant_id TEXT NOT NULL,
        invoice_id TEXT NOT NULL,
        firm_id TEXT NOT NULL,
        number INTEGER NOT NULL CHECK (number >= 1),
        agreement_id TEXT,
        payload TEXT NOT NULL,
        PRIMARY KEY (tenant_id, invoice_id),
        UNIQUE (tenant_id, firm_id, number),
        FOREIGN KEY (tenant_id, firm_id) REFERENCES invoice_counters (tenant_id, firm_id)
            ON UPDATE CASCADE
    )""",
    """CREATE TABLE charge_attempts (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant_id TEXT NOT NULL,
        key TEXT NOT NULL,
        agreement_id TEXT NOT NULL,
        invoice_id TEXT NOT NULL,
        attempt INTEGER NOT NULL CHECK (attempt >= 1),
        amount_minor INTEGER NOT NULL,
        currency TEXT NOT NULL,
        outcome TEXT,
        recorded_at TEXT,
        UNIQUE (tenant_id, key)
    )""",
    """CREATE TABLE notifications (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant_id TEXT NOT NULL,
        key TEXT NOT NULL,
        agreement_id TEXT,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        acked INTEGER NOT NULL DEFAULT 0,
        UNIQUE (tenant_id, key)
    )""",
    """CREATE TABLE journal_entries (
        tenant_id TEXT NOT NULL,
        entry_id TEXT NOT NULL,
        posted_on TEXT NOT NULL,
        currency TEXT NOT NULL,
        agreement_id TEXT,
        memo TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (tenant_id, entry_id)
    )""",
    """CREATE TABLE journal_lines (
        tenant_id TEXT NOT NULL,
        entry_id TEXT NOT NULL,
        line_no INTEGER NOT NULL,
        account TEXT NOT NULL,
        currency TEXT NOT NULL,
        posted_on TEXT NOT NULL,
        signed_minor INTEGER NOT NULL CHECK (signed_minor <> 0),
        PRIMARY KEY (tenant_id, entry_id, line_no),
        FOREIGN KEY (tenant_id, entry_id) REFERENCES journal_entries (tenant_id, entry_id)
            ON UPDATE CASCADE
    )""",
    """CREATE TABLE work_links (
        tenant_id TEXT NOT NULL,
        source TEXT NOT NULL,
        external_id TEXT NOT NULL,
        agreement_id TEXT NOT NULL,
        milestone_id TEXT,
        obligation_id TEXT,
        PRIMARY KEY (tenant_id, source, external_id),
        CHECK (milestone_id IS NULL OR obligation_id IS NULL)
    )""",
    """CREATE TABLE accounting_syncs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant_id TEXT NOT NULL,
        target TEXT NOT NULL,
        source_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        number TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        body TEXT NOT NULL,
        target_id TEXT,
        recorded_at TEXT NOT NULL,
        sent_at TEXT,
        UNIQUE (tenant_id, target, source_id),
        UNIQUE (tenant_id, target, kind, number)
    )""",
)

#: Each table's columns before migration 8, copied into tenant 'default'.
_V7_COLUMNS = {
    "agreements": "agreement_id, version, next_due_on, lease_owner, lease_until",
    "events": "event_id, agreement_id, version, type, effective_at, payload",
    "parked_agreements": "agreement_id, error, message, parked_at",
    "proposals": "proposal_id, version",
    "proposal_events": "event_id, proposal_id, version, type, effective_at, payload",
    "invoice_counters": "firm_id, last_number",
    "invoices": "invoice_id, firm_id, number, agreement_id, payload",
    "charge_attempts": ("seq, key, agreement_id, invoice_id, attempt, amount_minor, currency, "
                        "outcome, recorded_at"),
    "notifications": "seq, key, agreement_id, kind, payload, acked",
    "journal_entries": "entry_id, posted_on, currency, agreement_id, memo, body",
    "journal_lines": "entry_id, line_no, account, currency, posted_on, signed_minor",
    "work_links": "source, external_id, agreement_id, milestone_id, obligation_id",
    "accounting_syncs": ("seq, target, source_id, kind, number, idempotency_key, body, "
                         "target_id, recorded_at, sent_at"),
}


def _tenancy_steps() -> tuple[str, ...]:
    """Migration 8: every table rebuilt with ``tenant_id`` first in its keys.

    SQLite cannot change a primary key in place, so each table is renamed
    aside (its children's foreign keys follow it), created again, filled
    from the old one in tenant ``'default'``, and the old tables dropped,
    children first; the ``AUTOINCREMENT`` counters carry over, so order
    columns continue where they were.  All of it runs in the one migration
    transaction, foreign keys on.
    """
    # Renamed aside parents first (children follow the renamed parent in their
    # foreign keys), dropped again children first.
    steps = [f"ALTER TABLE {t} RENAME TO {t}_v7" for t in TENANT_TABLES]
    steps += [f"DROP INDEX IF EXISTS {i}" for i in OLD_INDEXES]
    steps += list(_TENANT_TABLES_DDL)
    steps += [f"INSERT INTO {t} (tenant_id, {c}) SELECT 'default', {c} FROM {t}_v7"
              for t, c in _V7_COLUMNS.items()]
    steps += [f"DELETE FROM sqlite_sequence WHERE name = '{t}'" for t in SEQUENCED_TABLES]
    steps += [f"INSERT INTO sqlite_sequence (name, seq) SELECT '{t}', seq FROM sqlite_sequence "
              f"WHERE name = '{t}_v7'" for t in SEQUENCED_TABLES]
    steps += [f"DROP TABLE {t}_v7" for t in reversed(TENANT_TABLES)]
    steps += list(TENANT_INDEXES)
    steps.append(register_legacy_rows("strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"))
    return tuple(steps)


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
    Migration(8, "tenants: the tenant first in every key, existing rows in 'default'",
              _tenancy_steps()),
)

_SCHEMA_TABLE = """CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
)"""


def _ts(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class SQLiteStore(SQLStore, SyncSQL, BatchSQL, LedgerSQL, TenantSQL):
    """An :class:`~milestonebill.stores.base.AgreementStore` and
    :class:`~milestonebill.ledger.Ledger` in one SQLite file.

    ``path`` is created if missing (``":memory:"`` works for one process).
    ``busy_timeout`` (seconds) is how long a writer waits for another
    process's write lock before raising :class:`~milestonebill.errors.StoreError`.
    One instance may be shared by threads (a lock serialises them); open
    one instance per process.  Close it, or use it as a context manager.

    The store is bound to ``tenant`` (default
    :data:`~milestonebill.stores.tenancy.DEFAULT_TENANT`): every call reads
    and writes that tenant's rows only, and opening registers it.
    :meth:`for_tenant` gives a store bound to another tenant on the same
    connection.  Raises :class:`~milestonebill.errors.ValidationError`
    naming ``tenant`` for a bad id, before the file is opened.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Clock = SYSTEM_CLOCK,
        busy_timeout: float = 30.0,
        migrations: tuple[Migration, ...] = MIGRATIONS,
        tenant: str = DEFAULT_TENANT,
    ) -> None:
        super().__init__(clock, check_tenant(tenant))
        self.path = os.fspath(path)
        self._lock = threading.RLock()
        if sqlite3.sqlite_version_info < _MIN_SQLITE:  # before a file is made
            raise StoreError(f"SQLiteStore needs SQLite {'.'.join(map(str, _MIN_SQLITE))} or "
                             "later (RETURNING, MATERIALIZED); this Python links SQLite "
                             f"{sqlite3.sqlite_version}")
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
        try:
            self.migrate(migrations)
            if has_tenancy(migrations):
                self._register()
        except BaseException:
            self._conn.close()
            raise

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
        """Close the connection (idempotent); on a :meth:`for_tenant` view, nothing."""
        if self._view:
            return
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


#: The longest file name (in bytes, ``.db`` included) a tenant may get.
MAX_TENANT_FILE_NAME: Final[int] = 200


def _tenant_of(stem: str) -> str | None:
    try:
        tenant = urllib.parse.unquote(stem, errors="strict")
    except UnicodeDecodeError:
        return None
    return tenant if tenant_file_stem(tenant) == stem else None


class SQLiteTenantFiles:
    """One SQLite file per tenant, all in one directory: the other way to keep firms apart.

    Where one shared file holds every tenant's rows side by side (each
    store bound to one of them), this keeps each tenant in a file of its
    own, so a firm's data can be copied, restored or deleted as a file.
    :meth:`store` opens ``<directory>/<name>.db`` bound to the tenant.

    The file name is the tenant id mapped, never refused for its
    characters: lower-case ASCII letters, digits, ``-`` and ``_`` stay as
    they are, every other character becomes ``%XX`` for each of its UTF-8
    bytes (``Acme LLP`` is ``%41cme%20%4C%4C%50.db``), and a name Windows
    reserves (``con``, ``nul``, ``com1``...) has its first letter written
    so.  The mapping is one-to-one even on a case-insensitive disk, and no
    name is ``.``, ``..`` or holds a separator, so no tenant id reaches
    outside the directory.  An id whose name would be longer than
    :data:`~milestonebill.stores.sqlite.MAX_TENANT_FILE_NAME` bytes is refused.

    >>> import tempfile
    >>> from milestonebill.stores.base import FirmId, InvoiceId
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     files = SQLiteTenantFiles(tmp)
    ...     with files.store("Acme LLP") as acme, files.store("beta") as beta:
    ...         n = (acme.issue_invoice_number(FirmId("acme"), InvoiceId("inv-1")),
    ...              beta.issue_invoice_number(FirmId("acme"), InvoiceId("inv-1")))
    ...     print(n, files.path("Acme LLP").name, files.tenants())
    (1, 1) %41cme%20%4C%4C%50.db ['Acme LLP', 'beta']
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def path(self, tenant: str) -> Path:
        """The file of ``tenant``; raises :class:`~milestonebill.errors.ValidationError`
        naming ``tenant`` for a bad id or one whose file name would be too long."""
        name = tenant_file_stem(check_tenant(tenant)) + ".db"
        if len(name) > MAX_TENANT_FILE_NAME:
            raise ValidationError("tenant", f"an id whose file name fits in "
                                  f"{MAX_TENANT_FILE_NAME} bytes (it needs {len(name)})", tenant)
        return self.directory / name

    def store(
        self,
        tenant: str,
        *,
        clock: Clock = SYSTEM_CLOCK,
        busy_timeout: float = 30.0,
    ) -> SQLiteStore:
        """A :class:`SQLiteStore` on ``tenant``'s file (created with the directory
        if missing), bound to ``tenant``.

        Raises :class:`~milestonebill.errors.ValidationError` naming
        ``tenant`` (see :meth:`path`), before anything is created, and
        :class:`~milestonebill.errors.StoreError` when the directory or the
        file cannot be made or opened.
        """
        path = self.path(tenant)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create {str(self.directory)!r}: {exc}") from exc
        return SQLiteStore(path, clock=clock, busy_timeout=busy_timeout, tenant=tenant)

    def tenants(self) -> list[TenantId]:
        """The tenants with a file in the directory, sorted (files whose names
        this class would not have written are left out)."""
        if not self.directory.is_dir():
            return []
        found = (_tenant_of(p.name[:-3]) for p in self.directory.iterdir()
                 if p.name.endswith(".db") and p.is_file())
        return sorted(TenantId(t) for t in found if t is not None)

    def platform(self) -> PlatformStore:
        """The platform-level calls over the directory: :meth:`tenants`, and
        ``rename_tenant`` moving a tenant's rows and its file to the new id
        (so a :class:`~milestonebill.engine.tenants.TenantScheduler` can take
        this directory as its ``store``).

        ``rename_tenant(old, new)`` raises
        :class:`~milestonebill.errors.NotFoundError` when ``old`` has no file,
        :class:`~milestonebill.errors.DuplicateIdError` when ``new`` has one
        (tenants are never merged), and
        :class:`~milestonebill.errors.ValidationError` naming ``old`` or
        ``new`` for a bad id.  The rows are renamed in the old file first, in
        one transaction, then the file is moved; a rename cut short between
        the two steps is finished by calling it again.
        """
        return _FilesPlatform(self)


class _FilesPlatform:
    """:meth:`SQLiteTenantFiles.platform`: the tenants are the files."""

    def __init__(self, files: SQLiteTenantFiles) -> None:
        self._files = files

    def tenants(self) -> list[TenantId]:
        """The tenants with a file (see :meth:`SQLiteTenantFiles.tenants`)."""
        return self._files.tenants()

    def rename_tenant(self, old: str, new: str) -> None:
        """See :meth:`SQLiteTenantFiles.platform`."""
        source = self._files.path(check_tenant(old, "old"))
        target = self._files.path(check_tenant(new, "new"))
        if not source.is_file():
            raise NotFoundError(f"tenant {old!r} has no file in {str(self._files.directory)!r}")
        if target.exists():
            raise DuplicateIdError("tenant", new, "already has a file (tenants are never merged)")
        with SQLiteStore(source, tenant=new) as store:
            # A rename cut short after this step left only ``new`` in the file.
            if set(store.platform().tenants()) != {new}:
                store.platform().rename_tenant(old, new)
        # The last connection to close folds the write-ahead log into the
        # file; a log still there means another connection has it open.
        if any(source.with_name(source.name + x).exists() for x in ("-wal", "-shm")):
            raise StoreError(f"{str(source)!r} is open elsewhere: stop its workers, then "
                             "rename again")
        try:
            os.replace(source, target)
        except OSError as exc:
            raise StoreError(f"cannot move {str(source)!r} to {str(target)!r}: {exc}") from exc

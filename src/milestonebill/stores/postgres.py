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

Tenants: every query names the store's tenant, and row-level security is
the second line of defence.  Every tenant table has ``ENABLE`` and ``FORCE
ROW LEVEL SECURITY`` and a policy admitting only rows whose ``tenant_id``
is the session setting ``milestonebill.tenant`` (no setting, no rows); each
transaction of a store starts by setting it to the store's tenant
(``set_config(..., true)``, so it ends with the transaction).  Superusers
and ``BYPASSRLS`` roles skip the policies, so a deployment migrates as the
owner, grants a plain role with :meth:`PostgresStore.grant_app_role`, and
runs its workers as that role with ``migrate=False``;
:meth:`PostgresStore.row_security_enforced` tells which case a store is in.
The registry ``tenants`` has no policy: listing tenants is a platform call.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Any, Final

import psycopg
import psycopg.errors
from psycopg import sql as psql
from psycopg_pool import ConnectionPool

from milestonebill.clock import Clock
from milestonebill.errors import ConcurrencyError, StoreError, ValidationError
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
from milestonebill.stores.tenancy import DEFAULT_TENANT, TenantId, check_tenant

__all__ = ["MIGRATIONS", "PostgresStore"]

#: Migration 8's keys: ``tenant_id`` first in every one.
_TENANT_KEYS = (
    "ALTER TABLE agreements ADD PRIMARY KEY (tenant_id, agreement_id)",
    "ALTER TABLE events ADD PRIMARY KEY (tenant_id, event_id), "
    "ADD UNIQUE (tenant_id, agreement_id, version), "
    "ADD FOREIGN KEY (tenant_id, agreement_id) REFERENCES agreements (tenant_id, agreement_id) "
    "ON UPDATE CASCADE",
    "ALTER TABLE parked_agreements ADD PRIMARY KEY (tenant_id, agreement_id), "
    "ADD FOREIGN KEY (tenant_id, agreement_id) REFERENCES agreements (tenant_id, agreement_id) "
    "ON UPDATE CASCADE",
    "ALTER TABLE proposals ADD PRIMARY KEY (tenant_id, proposal_id)",
    "ALTER TABLE proposal_events ADD PRIMARY KEY (tenant_id, event_id), "
    "ADD UNIQUE (tenant_id, proposal_id, version), "
    "ADD FOREIGN KEY (tenant_id, proposal_id) REFERENCES proposals (tenant_id, proposal_id) "
    "ON UPDATE CASCADE",
    "ALTER TABLE invoice_counters ADD PRIMARY KEY (tenant_id, firm_id)",
    "ALTER TABLE invoices ADD PRIMARY KEY (tenant_id, invoice_id), "
    "ADD UNIQUE (tenant_id, firm_id, number), "
    "ADD FOREIGN KEY (tenant_id, firm_id) REFERENCES invoice_counters (tenant_id, firm_id) "
    "ON UPDATE CASCADE",
    "ALTER TABLE charge_attempts ADD UNIQUE (tenant_id, key)",
    "ALTER TABLE notifications ADD UNIQUE (tenant_id, key)",
    "ALTER TABLE journal_entries ADD PRIMARY KEY (tenant_id, entry_id)",
    "ALTER TABLE journal_lines ADD PRIMARY KEY (tenant_id, entry_id, line_no), "
    "ADD FOREIGN KEY (tenant_id, entry_id) REFERENCES journal_entries (tenant_id, entry_id) "
    "ON UPDATE CASCADE",
    "ALTER TABLE work_links ADD PRIMARY KEY (tenant_id, source, external_id)",
    "ALTER TABLE accounting_syncs ADD UNIQUE (tenant_id, target, source_id), "
    "ADD UNIQUE (tenant_id, target, kind, number)",
)

#: The session setting each transaction of a bound store starts by setting.
_TENANT_SETTING: Final[str] = "milestonebill.tenant"
#: Row-level security's test: the row is the set tenant's (no setting, no rows).
_OWN_ROWS: Final[str] = f"tenant_id = current_setting('{_TENANT_SETTING}', true)"
#: A role name ``grant_app_role`` accepts (it is quoted as written).
_ROLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def _quoted(names: tuple[str, ...]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def _tenancy_steps() -> tuple[str, ...]:
    """Migration 8: ``tenant_id`` first in every key, existing rows in ``'default'``.

    PostgreSQL changes keys in place: each table gains the column (filled
    with ``'default'``, then without a default, so an insert that forgets
    the tenant fails), loses its old keys -- found in the catalogue, so
    their names do not matter; foreign keys first -- and gets the new ones.
    The rows and their ``BIGSERIAL`` sequences stay where they are.
    """
    steps = [f"ALTER TABLE {t} ADD COLUMN tenant_id TEXT NOT NULL DEFAULT 'default'"
             for t in TENANT_TABLES]
    steps += [f"ALTER TABLE {t} ALTER COLUMN tenant_id DROP DEFAULT" for t in TENANT_TABLES]
    steps.append(f"""DO $$
        DECLARE c record;
        BEGIN
            FOR c IN SELECT con.conname, rel.relname FROM pg_constraint con
                JOIN pg_class rel ON rel.oid = con.conrelid
                WHERE rel.relnamespace = current_schema()::regnamespace
                AND rel.relname IN ({_quoted(TENANT_TABLES)})
                AND (con.contype IN ('f', 'u')
                     OR (con.contype = 'p' AND rel.relname NOT IN ({_quoted(SEQUENCED_TABLES)})))
                ORDER BY con.contype = 'f' DESC
            LOOP
                EXECUTE 'ALTER TABLE ' || quote_ident(c.relname)
                    || ' DROP CONSTRAINT ' || quote_ident(c.conname);
            END LOOP;
        END $$""")
    steps += list(_TENANT_KEYS)
    steps += [f"DROP INDEX IF EXISTS {i}" for i in OLD_INDEXES]
    steps += list(TENANT_INDEXES)
    steps.append("""CREATE TABLE tenants (
        tenant_id TEXT PRIMARY KEY,
        created_at TIMESTAMPTZ NOT NULL
    )""")
    steps.append(register_legacy_rows("now()"))
    for t in TENANT_TABLES:
        steps += [f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY",
                  f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY",
                  f"CREATE POLICY tenant_isolation ON {t} USING ({_OWN_ROWS}) "
                  f"WITH CHECK ({_OWN_ROWS})"]
    return tuple(steps)


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
    Migration(8, "tenants: the tenant first in every key, existing rows in 'default'",
              _tenancy_steps()),
)

_SCHEMA_TABLE = """CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL
)"""

_IDENT = re.compile(r"[a-z_][a-z0-9_]{0,62}")
#: Advisory-lock key for migrations ("mbil" in ASCII).
_MIGRATION_LOCK = 0x6D62696C


class PostgresStore(SQLStore, SyncSQL, BatchSQL, LedgerSQL, TenantSQL):
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

    The store is bound to ``tenant`` (default
    :data:`~milestonebill.stores.tenancy.DEFAULT_TENANT`; a bad id is a
    :class:`~milestonebill.errors.ValidationError` naming ``tenant``), and
    opening registers it.  ``migrate=False`` runs no DDL (for the app role,
    see the module notes) and raises
    :class:`~milestonebill.errors.StoreError` unless the schema is at the
    last of ``migrations``.
    """

    FOR_UPDATE = " FOR UPDATE"
    BEGIN_NAMES_TENANT = True
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
        tenant: str = DEFAULT_TENANT,
        migrate: bool = True,
    ) -> None:
        super().__init__(clock, check_tenant(tenant))
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
            if migrate:
                self.migrate(migrations)
            else:
                self._check_migrated(migrations)
            if has_tenancy(migrations):
                self._register()
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

    def _check_migrated(self, migrations: tuple[Migration, ...]) -> None:
        applied = self.applied_migrations()
        if applied != sorted(m.version for m in migrations):
            raise StoreError(f"PostgreSQL schema {self.schema!r} is at migrations {applied}, "
                             f"not {sorted(m.version for m in migrations)}: open it once as "
                             "its owner (migrate=True) first")

    # ------------------------------------------------------------ row-level security

    def grant_app_role(self, role: str) -> None:
        """Grant ``role`` what the library needs, and nothing more; run as the tables' owner.

        A deployment runs its workers as such a role -- not the owner, not
        a superuser, without ``BYPASSRLS`` -- so that row-level security
        holds for every query they send (see :meth:`row_security_enforced`),
        and opens its stores with ``migrate=False``.  The role may read and
        write every tenant table, list and register tenants, and read the
        schema version; it cannot change the schema or rename a tenant.
        Raises :class:`~milestonebill.errors.ValidationError` naming
        ``role`` for a name that is not a plain SQL identifier.
        """
        if not isinstance(role, str) or not _ROLE.fullmatch(role):
            raise ValidationError("role", "a SQL identifier (letters, digits, '_')", role)
        who = f'"{role}"'
        with self._tx() as cur:
            self._run(cur, f"GRANT USAGE ON SCHEMA {self.schema} TO {who}")
            self._run(cur, f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(TENANT_TABLES)} "
                      f"TO {who}")
            self._run(cur, f"GRANT SELECT, INSERT ON tenants TO {who}")
            self._run(cur, f"GRANT SELECT ON schema_version TO {who}")
            self._run(cur, f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {self.schema} TO {who}")

    def row_security_enforced(self) -> bool:
        """Whether the role this store connects as is held to its tenant's rows by the database.

        False for a superuser or a ``BYPASSRLS`` role (they skip row-level
        security), or when a tenant table lacks forced row-level security;
        the library's own queries still name their tenant either way.
        """
        names = ", ".join(f"'{t}'" for t in TENANT_TABLES)
        with self._tx(write=False) as cur:
            row = self._one(
                cur, "SELECT NOT (r.rolsuper OR r.rolbypassrls) AND (SELECT count(*) FROM pg_class c "
                f"WHERE c.relnamespace = current_schema()::regnamespace AND c.relname IN ({names}) "
                "AND c.relrowsecurity AND c.relforcerowsecurity) = ? "
                "FROM pg_roles r WHERE r.rolname = current_user", (len(TENANT_TABLES),))
        return bool(row and row[0])

    def _set_tenant(self, cur: Cursor, tenant: TenantId) -> None:
        self._run(cur, f"SELECT set_config('{_TENANT_SETTING}', ?, true)", (tenant,))

    def _unguarded(self, cur: Cursor, on: bool) -> None:
        # A rename reads one tenant's rows and writes another's: only the
        # owner, with FORCE lifted for this one transaction, may.
        for t in TENANT_TABLES:
            self._run(cur, f"ALTER TABLE {t} {'NO FORCE' if on else 'FORCE'} ROW LEVEL SECURITY")

    # ------------------------------------------------------------ dialect hooks

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s")

    @contextmanager
    def _begin(self, write: bool) -> Iterator[Cursor]:
        # One round trip opens the transaction and names its tenant (what
        # row-level security reads): a simple query of two statements.
        begin = psql.SQL("BEGIN; SELECT set_config({}, {}, true)").format(
            psql.Literal(_TENANT_SETTING), psql.Literal(self._tenant))
        with self._pool.connection() as conn, conn.cursor() as cur:
            cur.execute(begin)
            try:
                yield cur
            except BaseException:
                if not conn.closed:
                    with contextlib.suppress(psycopg.Error):
                        conn.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

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
        """Close the connection pool (idempotent); on a :meth:`for_tenant` view, nothing."""
        if self._view:
            return
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

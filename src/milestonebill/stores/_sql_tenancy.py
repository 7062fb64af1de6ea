"""Tenancy of the relational stores (private): the bound tenant, views, platform calls.

Every query of the shared SQL names the store's tenant (``tenant_id = ?``
in each ``WHERE``, ``tenant_id`` in each insert and conflict target);
:class:`TenantSQL` adds what the
:class:`~milestonebill.stores.tenancy.TenantBound` role asks on top:
``tenant``, ``for_tenant`` (a view sharing the connection, its lock and its
per-thread transaction state) and ``platform`` (:class:`SQLPlatform`, the
calls that see every tenant: the registry in table ``tenants`` and
``rename_tenant``).
"""

from __future__ import annotations

import copy
from typing import Final, Self

from milestonebill.errors import DuplicateIdError, NotFoundError
from milestonebill.stores._common import now_utc
from milestonebill.stores._sql import Cursor, Migration, SQLStoreBase
from milestonebill.stores.tenancy import PlatformStore, TenantId, check_tenant

#: The schema step that made the tenant part of every key (both dialects).
TENANCY_VERSION: Final = 8

#: Every table whose rows belong to one tenant, each parent before its
#: children: a rename moves a parent's rows first and the foreign keys
#: (``ON UPDATE CASCADE``) carry the children along.
TENANT_TABLES: Final = (
    "agreements", "events", "parked_agreements", "proposals", "proposal_events",
    "invoice_counters", "invoices", "charge_attempts", "notifications",
    "journal_entries", "journal_lines", "work_links", "accounting_syncs",
)


#: The indexes of migration 8 (both dialects), each leading with the tenant.
TENANT_INDEXES: Final = (
    "CREATE INDEX agreements_due ON agreements (tenant_id, next_due_on, agreement_id)",
    "CREATE INDEX attempts_open ON charge_attempts (tenant_id, seq) WHERE outcome IS NULL",
    "CREATE INDEX notifications_pending ON notifications (tenant_id, seq) WHERE acked = 0",
    "CREATE INDEX lines_balance ON journal_lines (tenant_id, currency, account, posted_on)",
    "CREATE INDEX entries_agreement ON journal_entries (tenant_id, agreement_id)",
    "CREATE INDEX work_links_agreement ON work_links (tenant_id, agreement_id)",
    "CREATE INDEX accounting_syncs_open ON accounting_syncs (tenant_id, target, seq) "
    "WHERE target_id IS NULL",
)
#: The indexes they replace (steps 2, 6 and 7), dropped first.
OLD_INDEXES: Final = ("agreements_due", "attempts_open", "notifications_pending", "lines_balance",
                      "entries_agreement", "work_links_agreement", "accounting_syncs_open")


#: The tables ordered by a ``seq`` column that migration 8 keeps as their key.
SEQUENCED_TABLES: Final = ("charge_attempts", "notifications", "accounting_syncs")


def register_legacy_rows(now_sql: str) -> str:
    """Migration 8's last step, both dialects: register tenant ``'default'`` when
    the tables hold rows from before it (``now_sql``: the dialect's timestamp)."""
    any_rows = " OR ".join(f"EXISTS (SELECT 1 FROM {t})" for t in TENANT_TABLES)
    return (f"INSERT INTO tenants (tenant_id, created_at) SELECT 'default', {now_sql} "
            f"WHERE {any_rows}")


def has_tenancy(migrations: tuple[Migration, ...]) -> bool:
    """Whether a store opened with ``migrations`` has the tenant registry."""
    return any(m.version >= TENANCY_VERSION for m in migrations)


class TenantSQL(SQLStoreBase):
    """:class:`SQLStoreBase` bound to a tenant, with views and the platform calls."""

    #: True for a store made by :meth:`for_tenant`: it shares its root's
    #: connection and so never closes it.
    _view = False

    @property
    def tenant(self) -> TenantId:
        """The tenant every call of this store reads and writes."""
        return self._tenant

    def for_tenant(self, tenant: str) -> Self:
        """A store bound to ``tenant`` that shares this one's connection (or pool).

        The view and its root share one transaction per thread: a call of
        one inside the other's :meth:`transaction` joins it, each query still
        scoped to its own tenant.  ``close()`` on the view does nothing;
        closing the root closes both.  Registers ``tenant``.  Raises
        :class:`~milestonebill.errors.ValidationError` naming ``tenant`` for a
        bad id.
        """
        view = copy.copy(self)
        view._tenant = check_tenant(tenant)
        view._view = True
        view._register()
        return view

    def platform(self) -> PlatformStore:
        """The calls that see every tenant of this database: listing tenants and
        :meth:`~milestonebill.stores.tenancy.PlatformStore.rename_tenant` (on
        PostgreSQL, the tables' owner's alone)."""
        return SQLPlatform(self)

    # ----------------------------------------------------------------- registry

    def _register(self) -> None:
        # Read first: binding to a tenant already registered (every listing of
        # tenants does) then writes nothing, so it works on a read-only session.
        with self._tx(write=False) as cur:
            if self._one(cur, "SELECT 1 FROM tenants WHERE tenant_id = ?", (self._tenant,)):
                return
        with self._tx() as cur:
            self._run(cur, "INSERT INTO tenants (tenant_id, created_at) VALUES (?, ?) "
                      "ON CONFLICT (tenant_id) DO NOTHING",
                      (self._tenant, self._ts_in(now_utc(self._clock))))

    def _tenants(self) -> list[TenantId]:
        with self._tx(write=False) as cur:
            rows = self._rows(cur, "SELECT tenant_id FROM tenants ORDER BY tenant_id")
        return [TenantId(r[0]) for r in rows]

    def _holds_data(self, cur: Cursor, tenant: TenantId) -> bool:
        return any(self._one(cur, f"SELECT 1 FROM {t} WHERE tenant_id = ? LIMIT 1", (tenant,))
                   for t in TENANT_TABLES)

    def _unguarded(self, cur: Cursor, on: bool) -> None:
        """Lift (``on``) or restore row-level security for the owner's rename."""
        del cur, on

    def _rename_tenant(self, old: TenantId, new: TenantId) -> None:
        with self._tx() as cur:
            self._unguarded(cur, True)
            registered = self._one(cur, "SELECT 1 FROM tenants WHERE tenant_id = ?", (old,))
            if registered is None and not self._holds_data(cur, old):
                raise NotFoundError(f"tenant {old!r} is not known")
            if self._holds_data(cur, new):
                raise DuplicateIdError("tenant", new, "already holds data (tenants are never merged)")
            for table in TENANT_TABLES:
                self._run(cur, f"UPDATE {table} SET tenant_id = ? WHERE tenant_id = ?", (new, old))
            self._run(cur, "DELETE FROM tenants WHERE tenant_id = ?", (old,))
            self._run(cur, "INSERT INTO tenants (tenant_id, created_at) VALUES (?, ?) "
                      "ON CONFLICT (tenant_id) DO NOTHING",
                      (new, self._ts_in(now_utc(self._clock))))
            self._unguarded(cur, False)


class SQLPlatform:
    """The platform-level calls of a relational store: the only ones across tenants.

    A :class:`~milestonebill.stores.tenancy.PlatformStore` over the same
    connection as the store it came from (any tenant's view gives the same
    answers).
    """

    def __init__(self, store: TenantSQL) -> None:
        self._store = store

    def tenants(self) -> list[TenantId]:
        """Every tenant a store was opened for or renamed to (and not renamed away), sorted."""
        return self._store._tenants()

    def rename_tenant(self, old: str, new: str) -> None:
        """Move every row of tenant ``old`` to ``new`` in one transaction.

        ``new`` may be registered already (a store was opened for it) as
        long as it holds no data.  Raises
        :class:`~milestonebill.errors.NotFoundError` when ``old`` is not a
        tenant, :class:`~milestonebill.errors.DuplicateIdError` when ``new``
        holds data, :class:`~milestonebill.errors.ValidationError` naming
        ``old`` or ``new`` for a bad id; on PostgreSQL only the tables' owner
        may rename (:class:`~milestonebill.errors.StoreError` for the app role).
        """
        self._store._rename_tenant(check_tenant(old, "old"), check_tenant(new, "new"))

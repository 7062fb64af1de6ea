"""The tenant isolation contract, run against every shipped store.

Each store is run over one database shared by both tenants: the in-memory
store through views of one root, SQLite both as a store opened per tenant
on one file and as views of one store, PostgreSQL as a store per tenant on
one schema and as views of one pool.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from milestonebill.clock import Clock
from milestonebill.stores.memory import InMemoryStore
from milestonebill.stores.sqlite import SQLiteStore
from milestonebill.testing.tenant_contract import (
    TenantIsolationContract,
    TenantStore,
    TenantStoreFactory,
)


class TestInMemoryTenants(TenantIsolationContract):
    @pytest.fixture
    def make_store(self) -> TenantStoreFactory:
        roots: list[InMemoryStore] = []

        def make(clock: Clock, tenant: str) -> TenantStore:
            if not roots:
                roots.append(InMemoryStore(clock=clock, tenant=tenant))
                return roots[0]
            return roots[0].for_tenant(tenant)

        return make


class TestSQLiteTenantsOpenedApart(TenantIsolationContract):
    """One file, a store opened for each tenant (as separate processes would)."""

    @pytest.fixture
    def make_store(self, sqlite_path: Path) -> Iterator[TenantStoreFactory]:
        opened: list[SQLiteStore] = []

        def make(clock: Clock, tenant: str) -> TenantStore:
            store = SQLiteStore(sqlite_path, clock=clock, tenant=tenant)
            opened.append(store)
            return store

        yield make
        for store in opened:
            store.close()


class TestSQLiteTenantViews(TenantIsolationContract):
    """One file, one store, a view for each further tenant."""

    @pytest.fixture
    def make_store(self, sqlite_path: Path) -> Iterator[TenantStoreFactory]:
        roots: list[SQLiteStore] = []

        def make(clock: Clock, tenant: str) -> TenantStore:
            if not roots:
                roots.append(SQLiteStore(sqlite_path, clock=clock, tenant=tenant))
                return roots[0]
            return roots[0].for_tenant(tenant)

        yield make
        for store in roots:
            store.close()


@pytest.mark.postgres
class TestPostgresTenantsOpenedApart(TenantIsolationContract):
    """One schema, a pool opened for each tenant (as separate processes would)."""

    @pytest.fixture
    def make_store(self, pg_dsn: str, pg_schema: str) -> Iterator[TenantStoreFactory]:
        from milestonebill.stores.postgres import PostgresStore

        opened: list[PostgresStore] = []

        def make(clock: Clock, tenant: str) -> TenantStore:
            store = PostgresStore(pg_dsn, schema=pg_schema, clock=clock, pool_size=2,
                                  tenant=tenant)
            opened.append(store)
            return store

        yield make
        for store in opened:
            store.close()


@pytest.mark.postgres
class TestPostgresTenantViews(TenantIsolationContract):
    """One schema, one pool, a view for each further tenant."""

    @pytest.fixture
    def make_store(self, pg_dsn: str, pg_schema: str) -> Iterator[TenantStoreFactory]:
        from milestonebill.stores.postgres import PostgresStore

        roots: list[PostgresStore] = []

        def make(clock: Clock, tenant: str) -> TenantStore:
            if not roots:
                roots.append(PostgresStore(pg_dsn, schema=pg_schema, clock=clock, pool_size=2,
                                           tenant=tenant))
                return roots[0]
            return roots[0].for_tenant(tenant)

        yield make
        for store in roots:
            store.close()

"""The public store and ledger contracts, run against every shipped adapter."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from milestonebill.clock import Clock, FixedClock
from milestonebill.ledger import InMemoryLedger, Ledger
from milestonebill.stores.base import AgreementStore
from milestonebill.stores.memory import InMemoryStore
from milestonebill.stores.sqlite import SQLiteStore
from milestonebill.testing.store_contract import (
    AgreementStoreContract,
    LedgerContract,
    StoreFactory,
)
from milestonebill.testing.tenant_contract import populate

T_CONTRACT = datetime(2024, 1, 31, 9, tzinfo=UTC)


class TestInMemoryStore(AgreementStoreContract):
    @pytest.fixture
    def make_store(self) -> StoreFactory:
        made: list[InMemoryStore] = []

        def make(clock: Clock) -> AgreementStore:
            # Later handles are the same object, as two handles on one database file.
            if not made:
                made.append(InMemoryStore(clock=clock))
            return made[0]

        return make


class TestSQLiteStore(AgreementStoreContract):
    @pytest.fixture
    def make_store(self, open_sqlite: Callable[..., SQLiteStore]) -> StoreFactory:
        return lambda clock: open_sqlite(clock=clock)


@pytest.mark.postgres
class TestPostgresStore(AgreementStoreContract):
    @pytest.fixture
    def make_store(self, open_postgres: Callable[..., AgreementStore]) -> StoreFactory:
        return lambda clock: open_postgres(clock=clock)


# The same contract on a store bound to a named tenant, sharing its database with a
# busy default tenant that holds data under the contract's own ids: nothing the
# contract reads, counts or claims may come from the other tenant.

BOUND = "firm-x"


class TestInMemoryStoreBoundToATenant(AgreementStoreContract):
    @pytest.fixture
    def make_store(self) -> StoreFactory:
        roots: list[InMemoryStore] = []

        def make(clock: Clock) -> AgreementStore:
            if not roots:
                roots.append(InMemoryStore(clock=clock))
                populate(roots[0], "busy")
            return roots[0].for_tenant(BOUND)  # each handle a view of its own

        return make


def _bound_beside_a_busy_default(open_store: Callable[..., AgreementStore]) -> StoreFactory:
    """Stores bound to :data:`BOUND` on a database whose default tenant, opened and
    filled first, holds data under the contract's own ids."""
    busy: list[AgreementStore] = []

    def make(clock: Clock) -> AgreementStore:
        if not busy:
            busy.append(open_store(clock=clock))
            populate(busy[0], "busy")  # type: ignore[arg-type]
        return open_store(clock=clock, tenant=BOUND)

    return make


class TestSQLiteStoreBoundToATenant(AgreementStoreContract):
    @pytest.fixture
    def make_store(self, open_sqlite: Callable[..., AgreementStore]) -> StoreFactory:
        return _bound_beside_a_busy_default(open_sqlite)


@pytest.mark.postgres
class TestPostgresStoreBoundToATenant(AgreementStoreContract):
    @pytest.fixture
    def make_store(self, open_postgres: Callable[..., AgreementStore]) -> StoreFactory:
        return _bound_beside_a_busy_default(open_postgres)


class TestInMemoryLedger(LedgerContract):
    @pytest.fixture
    def make_ledger(self) -> Callable[[], Ledger]:
        return InMemoryLedger


class TestInMemoryStoreLedger(LedgerContract):
    @pytest.fixture
    def make_ledger(self) -> Callable[[], Ledger]:
        return InMemoryStore


class TestSQLiteLedger(LedgerContract):
    @pytest.fixture
    def make_ledger(self, sqlite_path: Path) -> Iterator[Callable[[], Ledger]]:
        opened: list[SQLiteStore] = []

        def make() -> Ledger:
            store = SQLiteStore(sqlite_path, clock=FixedClock(T_CONTRACT))
            opened.append(store)
            return store

        yield make
        for store in opened:
            store.close()


@pytest.mark.postgres
class TestPostgresLedger(LedgerContract):
    @pytest.fixture
    def make_ledger(self, pg_dsn: str, pg_schema: str) -> Iterator[Callable[[], Ledger]]:
        from milestonebill.stores.postgres import PostgresStore

        opened: list[PostgresStore] = []

        def make() -> Ledger:
            store = PostgresStore(pg_dsn, schema=pg_schema, clock=FixedClock(T_CONTRACT), pool_size=2)
            opened.append(store)
            return store

        yield make
        for store in opened:
            store.close()

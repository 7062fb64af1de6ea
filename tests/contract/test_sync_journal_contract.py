"""The public sync journal contract, run against every shipped store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from milestonebill.clock import Clock
from milestonebill.stores.memory import InMemoryStore
from milestonebill.stores.sqlite import SQLiteStore
from milestonebill.testing.sync_contract import SyncJournalContract


class TestInMemorySyncJournal(SyncJournalContract):
    @pytest.fixture
    def make_store(self) -> Callable[[Clock], Any]:
        made: list[InMemoryStore] = []

        def make(clock: Clock) -> InMemoryStore:
            # Later handles are the same object, as two handles on one database file.
            if not made:
                made.append(InMemoryStore(clock=clock))
            return made[0]

        return make


class TestSQLiteSyncJournal(SyncJournalContract):
    @pytest.fixture
    def make_store(self, sqlite_path: Path) -> Iterator[Callable[[Clock], Any]]:
        opened: list[SQLiteStore] = []

        def make(clock: Clock) -> SQLiteStore:
            store = SQLiteStore(sqlite_path, clock=clock)
            opened.append(store)
            return store

        yield make
        for store in opened:
            store.close()


@pytest.mark.postgres
class TestPostgresSyncJournal(SyncJournalContract):
    @pytest.fixture
    def make_store(self, pg_dsn: str, pg_schema: str) -> Iterator[Callable[[Clock], Any]]:
        from milestonebill.stores.postgres import PostgresStore

        opened: list[PostgresStore] = []

        def make(clock: Clock) -> PostgresStore:
            store = PostgresStore(pg_dsn, schema=pg_schema, clock=clock, pool_size=2)
            opened.append(store)
            return store

        yield make
        for store in opened:
            store.close()

"""The public sync journal contract, run against every shipped store."""

from __future__ import annotations

from collections.abc import Callable
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
    def make_store(self, open_sqlite: Callable[..., SQLiteStore]) -> Callable[[Clock], Any]:
        return lambda clock: open_sqlite(clock=clock)


@pytest.mark.postgres
class TestPostgresSyncJournal(SyncJournalContract):
    @pytest.fixture
    def make_store(self, open_postgres: Callable[..., Any]) -> Callable[[Clock], Any]:
        return lambda clock: open_postgres(clock=clock)

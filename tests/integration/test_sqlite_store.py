"""SQLite specifics: file settings, migrations, and two handles on one file."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from milestonebill.clock import FixedClock
from milestonebill.errors import ConcurrencyError, StoreError
from milestonebill.money import Money
from milestonebill.stores.base import (
    AgreementId,
    AttemptKey,
    EventId,
    FirmId,
    InvoiceId,
    StoredEvent,
)
from milestonebill.stores.sqlite import MIGRATIONS, SQLiteStore


def test_the_file_is_in_wal_mode_with_foreign_keys_on(sqlite_path: Path) -> None:
    with SQLiteStore(sqlite_path) as store:
        fk = store._conn.execute("PRAGMA foreign_keys").fetchone()[0]
        assert (store.journal_mode, fk) == ("wal", 1)


def test_an_sqlite_older_than_3_35_is_refused_by_name_before_a_file_is_made(
    sqlite_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The claim's CTE (MATERIALIZED) and every RETURNING need 3.35; an older library
    # would fail on the first claim or write instead, with SQLite's own syntax error.
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 34, 1))
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.34.1")
    with pytest.raises(StoreError, match=r"needs SQLite 3\.35\.0 or later .* links SQLite 3\.34\.1"):
        SQLiteStore(sqlite_path)
    assert not sqlite_path.exists()


def test_opening_a_new_file_applies_every_migration(sqlite_path: Path) -> None:
    with SQLiteStore(sqlite_path) as store:
        assert store.applied_migrations() == [m.version for m in MIGRATIONS]


def test_reopening_applies_nothing_again(sqlite_path: Path) -> None:
    SQLiteStore(sqlite_path).close()
    with SQLiteStore(sqlite_path) as store:
        assert store.migrate() == []


def test_an_old_file_is_upgraded_in_order(sqlite_path: Path) -> None:
    SQLiteStore(sqlite_path, migrations=MIGRATIONS[:1]).close()
    with SQLiteStore(sqlite_path) as store:
        indexes = {r[0] for r in store._conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert (store.applied_migrations(), "agreements_due" in indexes) == (
            [m.version for m in MIGRATIONS], True)


def test_attempts_recorded_before_step_3_come_back_without_a_time(sqlite_path: Path) -> None:
    with SQLiteStore(sqlite_path, migrations=MIGRATIONS[:2]) as old:
        old._conn.execute(
            "INSERT INTO charge_attempts (key, agreement_id, invoice_id, attempt, amount_minor, "
            "currency) VALUES ('k-old', 'agr-1', 'inv-1', 1, 500, 'USD')")
    clock = FixedClock(datetime(2024, 2, 29, 12, tzinfo=UTC))
    with SQLiteStore(sqlite_path, clock=clock) as store:
        store.record_attempt(AttemptKey("k-new"), AgreementId("agr-1"), InvoiceId("inv-2"), 1,
                             Money("5.00", "USD"))
        assert [(a.key, a.recorded_at) for a in store.unfinished_attempts()] == [
            ("k-old", None), ("k-new", datetime(2024, 2, 29, 12, tzinfo=UTC))]


def test_step_3_is_idempotent_when_the_column_already_exists(sqlite_path: Path) -> None:
    with SQLiteStore(sqlite_path, migrations=MIGRATIONS[:2]) as old:
        old._conn.execute("ALTER TABLE charge_attempts ADD COLUMN recorded_at TEXT")
    with SQLiteStore(sqlite_path) as store:
        assert (store.applied_migrations(), store.migrate()) == (
            [m.version for m in MIGRATIONS], [])


def test_a_file_from_before_parking_keeps_its_due_work_and_can_park(sqlite_path: Path) -> None:
    a = AgreementId("agr-1")
    with SQLiteStore(sqlite_path, migrations=MIGRATIONS[:3]) as old:
        # The queries of today's store name a tenant; a file this old has none.
        old._conn.execute("INSERT INTO agreements (agreement_id, version, next_due_on) "
                          "VALUES ('agr-1', 1, '2024-01-02')")
        old._conn.execute("INSERT INTO events VALUES ('e1', 'agr-1', 1, 'Signed', "
                          "'2024-01-01T00:00:00.000000Z', '{}')")
    with SQLiteStore(sqlite_path) as store:
        assert store.list_due(date(2024, 1, 2)) == [a]
        store.park(a, error="OverflowError", message="date value out of range")
        assert (store.list_due(date(2024, 1, 2)), len(store.parked())) == ([], 1)


def test_foreign_keys_guard_the_event_table(sqlite_path: Path) -> None:
    with SQLiteStore(sqlite_path) as store, pytest.raises(sqlite3.IntegrityError):
        store._conn.execute(
            "INSERT INTO events VALUES ('default', 'e1', 'nobody', 1, 'X', "
            "'2024-01-01T00:00:00Z', '{}')"
        )


def test_two_handles_on_one_file_see_each_others_writes(sqlite_path: Path) -> None:
    with SQLiteStore(sqlite_path) as one, SQLiteStore(sqlite_path) as two:
        one.issue_invoice_number(FirmId("acme"), InvoiceId("inv-1"))
        assert two.issue_invoice_number(FirmId("acme"), InvoiceId("inv-2")) == 2


def test_a_stale_handle_gets_a_concurrency_error(sqlite_path: Path) -> None:
    a = AgreementId("agr-1")
    e1 = StoredEvent(a, EventId("e1"), 0, "Signed", datetime(2024, 1, 1, tzinfo=UTC), {})
    e2 = StoredEvent(a, EventId("e2"), 0, "Paused", datetime(2024, 1, 2, tzinfo=UTC), {})
    with SQLiteStore(sqlite_path) as one, SQLiteStore(sqlite_path) as two:
        one.append(a, [e1], expected_version=0)
        with pytest.raises(ConcurrencyError):
            two.append(a, [e2], expected_version=0)


def test_a_writer_blocked_past_the_busy_timeout_gets_a_store_error(sqlite_path: Path) -> None:
    with SQLiteStore(sqlite_path) as holder, SQLiteStore(sqlite_path, busy_timeout=0.1) as waiter:
        entered, leave = threading.Event(), threading.Event()

        def hold() -> None:
            with holder.transaction():
                holder.issue_invoice_number(FirmId("acme"), InvoiceId("inv-1"))
                entered.set()
                leave.wait(10)

        t = threading.Thread(target=hold)
        t.start()
        try:
            entered.wait(10)
            with pytest.raises(StoreError):
                waiter.issue_invoice_number(FirmId("acme"), InvoiceId("inv-2"))
        finally:
            leave.set()
            t.join()


def test_an_unopenable_path_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError):
        SQLiteStore(tmp_path / "missing-dir" / "x.db")

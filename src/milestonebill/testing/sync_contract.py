"""The contract of the sync journal: what was sent to which accounting system.

Every shipped store runs it; a host's store that should sync accounting
exports runs it too::

    import pytest
    from milestonebill.testing.sync_contract import SyncJournalContract

    class TestMySyncJournal(SyncJournalContract):
        @pytest.fixture
        def make_store(self, tmp_path):
            return lambda clock: MyStore(tmp_path / "db", clock=clock)

``make_store(clock)`` returns a fresh, empty store that stamps ``recorded_at``
and ``sent_at`` from ``clock``; two calls in one test are two handles on the
same storage.  The suite also needs the ``clock`` fixture the store contract
gives (:class:`~milestonebill.clock.FixedClock`), and a store that is a
:class:`~milestonebill.stores.base.UnitOfWork` too.  Needs the ``test``
extra (pytest).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, cast

import attrs
import pytest

from milestonebill.clock import Clock, FixedClock
from milestonebill.errors import (
    DuplicateIdError,
    InvalidTransitionError,
    NotFoundError,
    ValidationError,
)
from milestonebill.stores.base import SyncJournal, SyncRecord, UnitOfWork

__all__ = ["SyncJournalContract", "SyncStore", "sync_record"]

_T0 = datetime(2024, 3, 1, 9, tzinfo=UTC)


class SyncStore(SyncJournal, UnitOfWork, Protocol):
    """What the suite needs: the sync journal role and units of work."""


def sync_record(source_id: str = "inv-1:issue", *, target: str = "xero",
                kind: str = "Invoice", number: str | None = None,
                body: str = '{"Type":"ACCREC","Total":1200.00}') -> SyncRecord:
    """An intent with a deterministic number and key derived from ``source_id``."""
    return SyncRecord(target, source_id, kind, number or f"N-{source_id}",
                      f"key-{target}-{source_id}", body)


class _Crash(Exception):
    """Stands for a crash inside a unit of work."""


class SyncJournalContract:
    """What every sync journal does (see the module docstring)."""

    @pytest.fixture
    def clock(self) -> FixedClock:
        return FixedClock(_T0)

    @pytest.fixture
    def store(self, make_store: Callable[[Clock], Any], clock: FixedClock) -> SyncStore:
        return cast(SyncStore, make_store(clock))

    def test_an_intent_is_recorded_unsent_and_stamped_by_the_stores_clock(
        self, store: SyncStore, clock: FixedClock
    ) -> None:
        got = store.record_sync(sync_record())
        expected = attrs.evolve(sync_record(), recorded_at=clock.now())
        assert (got, store.get_sync("xero", "inv-1:issue")) == (expected, expected)

    def test_recording_the_same_intent_again_returns_the_first(
        self, store: SyncStore, clock: FixedClock
    ) -> None:
        first = store.record_sync(sync_record())
        clock.advance(timedelta(minutes=3))
        assert store.record_sync(sync_record()) == first

    def test_another_body_for_a_recorded_document_is_refused(self, store: SyncStore) -> None:
        store.record_sync(sync_record())
        with pytest.raises(DuplicateIdError):
            store.record_sync(sync_record(body='{"Type":"ACCREC","Total":1300.00}'))

    def test_a_number_the_target_shows_for_another_document_is_refused(
        self, store: SyncStore
    ) -> None:
        store.record_sync(sync_record("inv-1:issue", number="INV-1"))
        with pytest.raises(DuplicateIdError):
            store.record_sync(sync_record("inv-2:issue", number="INV-1"))
        other_kind = store.record_sync(sync_record("cn-1:credit", kind="CreditNote",
                                                   number="INV-1"))
        assert [r.source_id for r in store.syncs("xero")] == ["inv-1:issue", other_kind.source_id]

    def test_completing_records_the_targets_id_once(
        self, store: SyncStore, clock: FixedClock
    ) -> None:
        store.record_sync(sync_record())
        clock.advance(timedelta(seconds=2))
        done = store.complete_sync("xero", "inv-1:issue", "3f8c-invoice")
        clock.advance(timedelta(seconds=2))
        again = store.complete_sync("xero", "inv-1:issue", "3f8c-invoice")
        assert (done.target_id, done.sent_at, again) == ("3f8c-invoice", _T0 + timedelta(
            seconds=2), done)
        with pytest.raises(DuplicateIdError):
            store.complete_sync("xero", "inv-1:issue", "other-id")

    def test_completing_without_an_intent_raises(self, store: SyncStore) -> None:
        with pytest.raises(NotFoundError):
            store.complete_sync("xero", "inv-9:issue", "x")

    def test_records_come_in_the_order_recorded_and_unfinished_ones_apart(
        self, store: SyncStore
    ) -> None:
        for source in ("b:issue", "a:issue", "c:issue"):
            store.record_sync(sync_record(source))
        store.complete_sync("xero", "a:issue", "id-a")
        everything = [r.source_id for r in store.syncs("xero")]
        unfinished = [r.source_id for r in store.syncs("xero", unfinished=True)]
        assert (everything, unfinished) == (["b:issue", "a:issue", "c:issue"],
                                            ["b:issue", "c:issue"])

    def test_each_target_has_its_own_records(self, store: SyncStore) -> None:
        store.record_sync(sync_record(target="xero"))
        store.record_sync(sync_record(target="quickbooks", kind="Invoice"))
        store.complete_sync("quickbooks", "inv-1:issue", "145")
        xero = store.get_sync("xero", "inv-1:issue")
        assert xero is not None
        assert not xero.sent
        assert [r.target for r in store.syncs("quickbooks")] == ["quickbooks"]

    def test_a_refused_intent_is_discarded_and_a_sent_one_never(
        self, store: SyncStore
    ) -> None:
        recorded = store.record_sync(sync_record("a:issue"))
        store.record_sync(sync_record("b:issue"))
        store.complete_sync("xero", "b:issue", "id-b")
        assert store.discard_sync("xero", "a:issue") == recorded
        assert (store.get_sync("xero", "a:issue"), store.discard_sync("xero", "a:issue")) == (
            None, None)
        with pytest.raises(InvalidTransitionError):
            store.discard_sync("xero", "b:issue")
        assert [r.source_id for r in store.syncs("xero")] == ["b:issue"]

    def test_long_ids_and_any_text_in_the_body_round_trip(self, store: SyncStore) -> None:
        source = "agr-" + "x" * 1000 + ":revenue"
        rec = sync_record(source, body='{"Narration":"Zürich ✓ — 東京","LineAmount":-12.50}')
        stored = store.record_sync(rec)
        assert (stored.source_id, stored.body) == (source, rec.body)
        assert store.get_sync("xero", source) == stored

    def test_input_that_cannot_be_stored_is_refused_before_anything_is_written(
        self, store: SyncStore
    ) -> None:
        with pytest.raises(ValidationError):
            store.record_sync(sync_record(target="xe\nro"))
        with pytest.raises(ValidationError):
            store.record_sync(sync_record(body='{"Narration":"lone \ud800"}'))
        with pytest.raises(ValidationError):
            store.record_sync("inv-1:issue")  # type: ignore[arg-type]
        with pytest.raises(ValidationError):
            store.get_sync("xero", "")
        assert store.syncs("xero") == []

    def test_an_intent_inside_a_rolled_back_unit_of_work_leaves_nothing(
        self, store: SyncStore
    ) -> None:
        def record_then_crash() -> None:
            with store.transaction():
                store.record_sync(sync_record())
                raise _Crash

        with pytest.raises(_Crash):
            record_then_crash()
        assert store.syncs("xero") == []

    def test_another_handle_sees_what_was_sent(
        self, make_store: Callable[[Clock], Any], clock: FixedClock
    ) -> None:
        one, two = cast(SyncStore, make_store(clock)), cast(SyncStore, make_store(clock))
        one.record_sync(sync_record())
        two.complete_sync("xero", "inv-1:issue", "id-1")
        got = one.get_sync("xero", "inv-1:issue")
        assert got is not None
        assert got.target_id == "id-1"

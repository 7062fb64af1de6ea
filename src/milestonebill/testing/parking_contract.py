"""The parking part of the store contract: agreements set aside after an error.

:class:`~milestonebill.testing.store_contract.AgreementStoreContract`
inherits these tests, so a host's store suite runs them without naming
this module.  They use the same ``store``, ``clock`` and ``make_store``
fixtures.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from milestonebill.clock import Clock, FixedClock
from milestonebill.errors import NotFoundError, ValidationError
from milestonebill.stores.base import (
    AgreementId,
    AgreementStore,
    EventId,
    ParkedAgreement,
    StoredEvent,
    WorkerId,
)

__all__ = ["ParkingContract"]

_DUE = date(2024, 1, 15)
_W1 = WorkerId("worker-1")


def _open(store: AgreementStore, *ids: str, due: date | None = _DUE) -> None:
    for a in ids:
        store.append(AgreementId(a), [StoredEvent(
            AgreementId(a), EventId(f"{a}:signed"), 0, "Signed",
            datetime(2024, 1, 2, tzinfo=UTC), {"n": 1})], expected_version=0)
        store.set_next_due(AgreementId(a), due)


class ParkingContract:
    """What every store does with parked agreements (mixed into the store contract)."""

    def test_a_parked_agreement_is_neither_listed_nor_claimed(
        self, store: AgreementStore
    ) -> None:
        _open(store, "agr-a", "agr-b")
        store.park(AgreementId("agr-a"), error="OverflowError", message="date out of range")
        listed = store.list_due(_DUE)
        claimed = store.claim(_W1, _DUE, limit=10, lease_seconds=60)
        assert (listed, claimed) == (["agr-b"], ["agr-b"])

    def test_parking_records_the_error_and_the_stores_time(
        self, store: AgreementStore, clock: FixedClock
    ) -> None:
        _open(store, "agr-a")
        got = store.park(AgreementId("agr-a"), error="OverflowError", message="Zürich ✓")
        expected = ParkedAgreement(AgreementId("agr-a"), "OverflowError", "Zürich ✓",
                                   clock.now())
        assert (got, store.parked()) == (expected, [expected])

    def test_parking_again_keeps_the_first_record(
        self, store: AgreementStore, clock: FixedClock
    ) -> None:
        _open(store, "agr-a")
        first = store.park(AgreementId("agr-a"), error="OverflowError", message="first")
        clock.advance(timedelta(minutes=5))
        again = store.park(AgreementId("agr-a"), error="KeyError", message="second")
        assert (again, store.parked()) == (first, [first])

    def test_unparking_gives_the_agreement_back_with_its_due_date(
        self, store: AgreementStore
    ) -> None:
        _open(store, "agr-a")
        parked = store.park(AgreementId("agr-a"), error="ValueError", message="bad")
        removed = store.unpark(AgreementId("agr-a"))
        assert (removed, store.parked(), store.next_due(AgreementId("agr-a"))) == (
            parked, [], _DUE)
        assert store.claim(_W1, _DUE, limit=10, lease_seconds=60) == ["agr-a"]

    def test_unparking_an_agreement_that_is_not_parked_returns_none(
        self, store: AgreementStore
    ) -> None:
        _open(store, "agr-a")
        assert store.unpark(AgreementId("agr-a")) is None

    def test_parked_agreements_come_in_the_order_they_were_parked(
        self, store: AgreementStore, clock: FixedClock
    ) -> None:
        _open(store, "agr-a", "agr-b", "agr-c")
        for a in ("agr-c", "agr-a"):
            store.park(AgreementId(a), error="E", message=a)
            clock.advance(timedelta(seconds=1))
        store.park(AgreementId("agr-b"), error="E", message="b")
        assert [p.agreement_id for p in store.parked()] == ["agr-c", "agr-a", "agr-b"]

    def test_parking_or_unparking_an_unknown_agreement_raises(
        self, store: AgreementStore
    ) -> None:
        with pytest.raises(NotFoundError):
            store.park(AgreementId("nobody"), error="E", message="m")
        with pytest.raises(NotFoundError):
            store.unpark(AgreementId("nobody"))

    def test_a_message_that_cannot_be_stored_is_refused_before_anything_is_written(
        self, store: AgreementStore
    ) -> None:
        _open(store, "agr-a")
        with pytest.raises(ValidationError):
            store.park(AgreementId("agr-a"), error="E", message="lone \ud800 surrogate")
        assert store.parked() == []

    def test_parking_inside_a_rolled_back_unit_of_work_leaves_nothing(
        self, store: AgreementStore
    ) -> None:
        _open(store, "agr-a")

        class Crash(Exception):
            pass

        def park_then_crash() -> None:
            with store.transaction():
                store.park(AgreementId("agr-a"), error="E", message="m")
                raise Crash

        with pytest.raises(Crash):
            park_then_crash()
        assert (store.parked(), store.list_due(_DUE)) == ([], ["agr-a"])

    def test_another_handle_sees_the_parking(
        self, make_store: Callable[[Clock], AgreementStore], clock: FixedClock
    ) -> None:
        one, two = make_store(clock), make_store(clock)
        _open(one, "agr-a")
        one.park(AgreementId("agr-a"), error="E", message="m")
        assert [p.agreement_id for p in two.parked()] == ["agr-a"]
        two.unpark(AgreementId("agr-a"))
        assert one.list_due(_DUE) == ["agr-a"]

"""Contract suites for stores and ledgers, reusable by host applications.

Subclass a contract in a ``test_*.py`` file, name the subclass ``Test...``
and override its factory fixture; pytest then runs every contract test
against your adapter::

    import pytest
    from milestonebill.testing.store_contract import AgreementStoreContract, LedgerContract

    class TestMyStore(AgreementStoreContract):
        @pytest.fixture
        def make_store(self, tmp_path):
            stores = []
            def make(clock):
                store = MyStore(tmp_path / "db", clock=clock)
                stores.append(store)
                return store
            yield make
            for s in stores:
                s.close()

    class TestMyLedger(LedgerContract):
        @pytest.fixture
        def make_ledger(self):
            return MyLedger

The store contract includes the proposal streams' contract
(:class:`~milestonebill.testing.proposal_contract.ProposalStreamsContract`),
parking (:class:`~milestonebill.testing.parking_contract.ParkingContract`)
and work links (:class:`~milestonebill.testing.links_contract.WorkLinksContract`).

``make_store(clock)`` must return a fresh, empty store that reads lease time
and the ``recorded_at`` of charge attempts from ``clock`` (a
:class:`~milestonebill.clock.Clock`); calling it twice
in one test must return two handles on the *same* storage (the contract
uses that to act as two workers).  ``make_ledger()`` returns a fresh, empty
ledger.  Needs the ``test`` extra (pytest).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from milestonebill.clock import FixedClock
from milestonebill.errors import (
    ConcurrencyError,
    CurrencyMismatchError,
    DuplicateIdError,
    LeaseLostError,
    NotFoundError,
    UnbalancedEntryError,
    ValidationError,
)
from milestonebill.ledger import Account, EntryId, JournalEntry, JournalLine, Ledger
from milestonebill.money import Money
from milestonebill.stores.base import (
    AgreementId,
    AgreementStore,
    AttemptKey,
    EventId,
    FirmId,
    InvoiceId,
    StoredEvent,
    WorkerId,
)
from milestonebill.testing.links_contract import WorkLinksContract
from milestonebill.testing.parking_contract import ParkingContract
from milestonebill.testing.proposal_contract import ProposalStreamsContract, StoreFactory

__all__ = [
    "AgreementStoreContract",
    "LedgerContract",
    "LedgerFactory",
    "StoreFactory",
    "make_event",
]


LedgerFactory = Callable[[], Ledger]

AGR = AgreementId("agr-1")
OTHER = AgreementId("agr-2")
W1 = WorkerId("worker-1")
W2 = WorkerId("worker-2")
ACME = FirmId("acme")


def make_event(
    agreement_id: str = AGR,
    n: int = 1,
    *,
    type: str = "MilestoneCompleted",
    payload: dict[str, Any] | None = None,
) -> StoredEvent:
    """A stored event with a deterministic id ``f"{agreement_id}:e{n}"``."""
    return StoredEvent(
        AgreementId(agreement_id),
        EventId(f"{agreement_id}:e{n}"),
        0,
        type,
        datetime(2024, 2, 29, 10, 0, tzinfo=UTC) + timedelta(minutes=n),
        payload if payload is not None else {"n": n, "amount": {"amount": "100.00", "currency": "USD"}},
    )


class _Crash(Exception):
    """Stands for a crash inside a unit of work."""


def _crash_inside(store: AgreementStore, work: Callable[[], object]) -> None:
    with store.transaction():
        work()
        raise _Crash("crash before commit")


def _seed(store: AgreementStore, *ids: str, due: date | None = None) -> None:
    for a in ids:
        store.append(AgreementId(a), [make_event(a)], expected_version=0)
        if due is not None:
            store.set_next_due(AgreementId(a), due)


class AgreementStoreContract(ProposalStreamsContract, ParkingContract, WorkLinksContract):
    """Behaviour every :class:`~milestonebill.stores.base.AgreementStore` must have
    (the proposal-stream, parking and work-link tests come from
    :class:`~milestonebill.testing.proposal_contract.ProposalStreamsContract`,
    :class:`~milestonebill.testing.parking_contract.ParkingContract` and
    :class:`~milestonebill.testing.links_contract.WorkLinksContract`).

    Override the ``make_store`` fixture (see the module docstring); the
    ``clock`` and ``store`` fixtures come from ``ProposalStreamsContract``.
    """

    # ------------------------------------------------------------ streams

    def test_an_unknown_stream_is_empty_at_version_zero(self, store: AgreementStore) -> None:
        assert (store.load(AGR), store.version(AGR)) == ([], 0)

    def test_append_numbers_events_from_one(self, store: AgreementStore) -> None:
        new_version = store.append(AGR, [make_event(n=1), make_event(n=2)], expected_version=0)
        assert (new_version, [e.version for e in store.load(AGR)]) == (2, [1, 2])

    def test_loaded_events_equal_what_was_appended(self, store: AgreementStore) -> None:
        sent = make_event(payload={"note": "Zürich ✓", "amount": {"amount": "0.500", "currency": "KWD"}})
        store.append(AGR, [sent], expected_version=0)
        assert store.load(AGR) == [attrs.evolve(sent, version=1)]

    def test_effective_at_comes_back_in_utc(self, store: AgreementStore) -> None:
        tz = datetime(2024, 3, 31, 18, 30, tzinfo=timezone(timedelta(hours=-5)))
        sent = attrs.evolve(make_event(), effective_at=tz)
        store.append(AGR, [sent], expected_version=0)
        assert store.load(AGR)[0].effective_at == datetime(2024, 3, 31, 23, 30, tzinfo=UTC)

    def test_a_stale_writer_gets_a_concurrency_error(self, store: AgreementStore) -> None:
        store.append(AGR, [make_event(n=1)], expected_version=0)
        with pytest.raises(ConcurrencyError):
            store.append(AGR, [make_event(n=2)], expected_version=0)

    def test_a_writer_ahead_of_the_stream_gets_a_concurrency_error(
        self, store: AgreementStore
    ) -> None:
        with pytest.raises(ConcurrencyError):
            store.append(AGR, [make_event(n=1)], expected_version=3)

    def test_a_refused_append_writes_nothing(self, store: AgreementStore) -> None:
        store.append(AGR, [make_event(n=1)], expected_version=0)
        with pytest.raises(ConcurrencyError):
            store.append(AGR, [make_event(n=2), make_event(n=3)], expected_version=0)
        assert [e.event_id for e in store.load(AGR)] == ["agr-1:e1"]

    def test_reappending_a_stored_event_is_a_no_op(self, store: AgreementStore) -> None:
        store.append(AGR, [make_event(n=1)], expected_version=0)
        again = store.append(AGR, [make_event(n=1)], expected_version=0)
        assert (again, len(store.load(AGR))) == (1, 1)

    def test_a_retried_batch_appends_only_its_new_events(self, store: AgreementStore) -> None:
        store.append(AGR, [make_event(n=1)], expected_version=0)
        version = store.append(AGR, [make_event(n=1), make_event(n=2)], expected_version=1)
        assert (version, [e.event_id for e in store.load(AGR)]) == (2, ["agr-1:e1", "agr-1:e2"])

    def test_an_event_id_reused_for_different_content_is_refused(
        self, store: AgreementStore
    ) -> None:
        store.append(AGR, [make_event(n=1)], expected_version=0)
        changed = make_event(n=1, payload={"n": 99})
        with pytest.raises(DuplicateIdError):
            store.append(AGR, [changed], expected_version=1)

    def test_an_event_id_reused_in_another_stream_is_refused(self, store: AgreementStore) -> None:
        store.append(AGR, [make_event(n=1)], expected_version=0)
        stolen = attrs.evolve(make_event(n=1), agreement_id=OTHER)
        with pytest.raises(DuplicateIdError):
            store.append(OTHER, [stolen], expected_version=0)

    def test_an_event_for_another_stream_is_refused(self, store: AgreementStore) -> None:
        with pytest.raises(ValidationError):
            store.append(AGR, [make_event(OTHER)], expected_version=0)

    def test_a_wrong_explicit_version_is_refused(self, store: AgreementStore) -> None:
        with pytest.raises(ValidationError):
            store.append(AGR, [attrs.evolve(make_event(), version=5)], expected_version=0)

    def test_load_after_a_version_returns_the_tail(self, store: AgreementStore) -> None:
        store.append(AGR, [make_event(n=i) for i in (1, 2, 3)], expected_version=0)
        assert [e.version for e in store.load(AGR, after_version=1)] == [2, 3]

    def test_agreement_ids_lists_every_stream(self, store: AgreementStore) -> None:
        _seed(store, "agr-b", "agr-a")
        assert store.agreement_ids() == ["agr-a", "agr-b"]

    # ------------------------------------------------------------ due work

    def test_list_due_includes_the_day_itself_in_date_order(self, store: AgreementStore) -> None:
        _seed(store, "agr-a", due=date(2024, 3, 1))
        _seed(store, "agr-b", due=date(2024, 2, 29))
        _seed(store, "agr-c", due=date(2024, 3, 2))
        assert store.list_due(date(2024, 3, 1)) == ["agr-b", "agr-a"]

    def test_an_agreement_without_a_due_date_is_never_due(self, store: AgreementStore) -> None:
        _seed(store, "agr-a")
        assert store.list_due(date(9999, 12, 31)) == []

    def test_next_due_reads_back_what_was_set(self, store: AgreementStore) -> None:
        _seed(store, "agr-a", due=date(2024, 2, 29))
        assert store.next_due(AgreementId("agr-a")) == date(2024, 2, 29)

    def test_setting_a_due_date_for_an_unknown_agreement_raises(
        self, store: AgreementStore
    ) -> None:
        with pytest.raises(NotFoundError):
            store.set_next_due(AGR, date(2024, 1, 1))

    def test_a_datetime_is_refused_as_a_due_date(self, store: AgreementStore) -> None:
        _seed(store, AGR)
        with pytest.raises(ValidationError):
            store.set_next_due(AGR, datetime(2024, 1, 1, tzinfo=UTC))

    def test_claim_takes_the_earliest_due_up_to_the_limit(self, store: AgreementStore) -> None:
        for i, day in enumerate((5, 3, 4, 1)):
            _seed(store, f"agr-{i}", due=date(2024, 1, day))
        got = store.claim(W1, date(2024, 1, 31), limit=3, lease_seconds=60)
        assert got == ["agr-3", "agr-1", "agr-2"]

    def test_a_claimed_agreement_is_not_claimed_by_another_worker(
        self, store: AgreementStore
    ) -> None:
        _seed(store, "agr-a", "agr-b", due=date(2024, 1, 1))
        first = store.claim(W1, date(2024, 1, 1), limit=1, lease_seconds=60)
        second = store.claim(W2, date(2024, 1, 1), limit=10, lease_seconds=60)
        assert (first, second) == (["agr-a"], ["agr-b"])

    def test_claims_do_not_take_work_due_later(self, store: AgreementStore) -> None:
        _seed(store, "agr-a", due=date(2024, 1, 2))
        assert store.claim(W1, date(2024, 1, 1), limit=10, lease_seconds=60) == []

    def test_an_expired_lease_can_be_claimed_again(
        self, store: AgreementStore, clock: FixedClock
    ) -> None:
        _seed(store, "agr-a", due=date(2024, 1, 1))
        store.claim(W1, date(2024, 1, 1), limit=1, lease_seconds=60)
        clock.advance(timedelta(seconds=61))
        assert store.claim(W2, date(2024, 1, 1), limit=1, lease_seconds=60) == ["agr-a"]

    def test_a_live_lease_is_not_claimed_again(
        self, store: AgreementStore, clock: FixedClock
    ) -> None:
        _seed(store, "agr-a", due=date(2024, 1, 1))
        store.claim(W1, date(2024, 1, 1), limit=1, lease_seconds=60)
        clock.advance(timedelta(seconds=59))
        assert store.claim(W2, date(2024, 1, 1), limit=1, lease_seconds=60) == []

    def test_complete_sets_the_next_due_date_and_frees_the_agreement(
        self, store: AgreementStore
    ) -> None:
        _seed(store, "agr-a", due=date(2024, 1, 1))
        store.claim(W1, date(2024, 1, 1), limit=1, lease_seconds=60)
        store.complete(W1, AgreementId("agr-a"), date(2024, 2, 1))
        assert store.claim(W2, date(2024, 2, 1), limit=1, lease_seconds=60) == ["agr-a"]

    def test_complete_with_no_next_date_leaves_nothing_due(self, store: AgreementStore) -> None:
        _seed(store, "agr-a", due=date(2024, 1, 1))
        store.claim(W1, date(2024, 1, 1), limit=1, lease_seconds=60)
        store.complete(W1, AgreementId("agr-a"), None)
        assert store.list_due(date(9999, 1, 1)) == []

    def test_complete_by_a_worker_without_the_claim_raises(self, store: AgreementStore) -> None:
        _seed(store, "agr-a", due=date(2024, 1, 1))
        store.claim(W1, date(2024, 1, 1), limit=1, lease_seconds=60)
        with pytest.raises(LeaseLostError):
            store.complete(W2, AgreementId("agr-a"), None)

    def test_complete_after_the_lease_expired_raises(
        self, store: AgreementStore, clock: FixedClock
    ) -> None:
        _seed(store, "agr-a", due=date(2024, 1, 1))
        store.claim(W1, date(2024, 1, 1), limit=1, lease_seconds=60)
        clock.advance(timedelta(seconds=60))
        with pytest.raises(LeaseLostError):
            store.complete(W1, AgreementId("agr-a"), None)

    def test_release_lets_another_worker_claim(self, store: AgreementStore) -> None:
        _seed(store, "agr-a", due=date(2024, 1, 1))
        store.claim(W1, date(2024, 1, 1), limit=1, lease_seconds=600)
        store.release(W1, [AgreementId("agr-a")])
        assert store.claim(W2, date(2024, 1, 1), limit=1, lease_seconds=60) == ["agr-a"]

    def test_release_by_another_worker_changes_nothing(self, store: AgreementStore) -> None:
        _seed(store, "agr-a", due=date(2024, 1, 1))
        store.claim(W1, date(2024, 1, 1), limit=1, lease_seconds=600)
        store.release(W2, [AgreementId("agr-a")])
        assert store.claim(W2, date(2024, 1, 1), limit=1, lease_seconds=60) == []

    def test_two_handles_on_one_store_share_claims(
        self, make_store: StoreFactory, clock: FixedClock
    ) -> None:
        one, two = make_store(clock), make_store(clock)
        _seed(one, "agr-a", "agr-b", due=date(2024, 1, 1))
        a = one.claim(W1, date(2024, 1, 1), limit=1, lease_seconds=60)
        b = two.claim(W2, date(2024, 1, 1), limit=5, lease_seconds=60)
        assert (a, b) == (["agr-a"], ["agr-b"])

    def test_claim_one_leases_an_agreement_that_is_not_due(self, store: AgreementStore) -> None:
        _seed(store, "agr-a")
        assert store.claim_one(W1, AgreementId("agr-a"), lease_seconds=60) is True

    def test_claim_one_refuses_an_agreement_another_worker_holds(
        self, store: AgreementStore
    ) -> None:
        _seed(store, "agr-a", due=date(2024, 1, 1))
        store.claim(W1, date(2024, 1, 1), limit=1, lease_seconds=60)
        assert store.claim_one(W2, AgreementId("agr-a"), lease_seconds=60) is False

    def test_claim_one_takes_over_an_expired_lease(
        self, store: AgreementStore, clock: FixedClock
    ) -> None:
        _seed(store, "agr-a")
        store.claim_one(W1, AgreementId("agr-a"), lease_seconds=60)
        clock.advance(timedelta(seconds=60))
        assert store.claim_one(W2, AgreementId("agr-a"), lease_seconds=60) is True

    def test_claim_one_by_the_holder_renews_the_lease(
        self, store: AgreementStore, clock: FixedClock
    ) -> None:
        _seed(store, "agr-a")
        store.claim_one(W1, AgreementId("agr-a"), lease_seconds=60)
        clock.advance(timedelta(seconds=50))
        renewed = store.claim_one(W1, AgreementId("agr-a"), lease_seconds=60)
        clock.advance(timedelta(seconds=50))
        assert (renewed, store.claim_one(W2, AgreementId("agr-a"), lease_seconds=60)) == (
            True, False)

    def test_an_agreement_held_by_claim_one_is_not_claimed_by_others(
        self, store: AgreementStore
    ) -> None:
        _seed(store, "agr-a", due=date(2024, 1, 1))
        store.claim_one(W1, AgreementId("agr-a"), lease_seconds=60)
        assert store.claim(W2, date(2024, 1, 1), limit=5, lease_seconds=60) == []

    def test_release_gives_back_a_claim_one_lease(self, store: AgreementStore) -> None:
        _seed(store, "agr-a")
        store.claim_one(W1, AgreementId("agr-a"), lease_seconds=600)
        store.release(W1, [AgreementId("agr-a")])
        assert store.claim_one(W2, AgreementId("agr-a"), lease_seconds=60) is True

    def test_complete_works_for_a_claim_one_holder(self, store: AgreementStore) -> None:
        _seed(store, "agr-a")
        store.claim_one(W1, AgreementId("agr-a"), lease_seconds=60)
        store.complete(W1, AgreementId("agr-a"), date(2024, 2, 1))
        assert store.list_due(date(2024, 2, 1)) == ["agr-a"]

    def test_claim_one_of_an_unknown_agreement_raises(self, store: AgreementStore) -> None:
        with pytest.raises(NotFoundError):
            store.claim_one(W1, AgreementId("nobody"), lease_seconds=60)

    @pytest.mark.parametrize("lease", [0, -5])
    def test_claim_one_refuses_a_lease_that_is_not_positive(
        self, store: AgreementStore, lease: float
    ) -> None:
        _seed(store, "agr-a")
        with pytest.raises(ValidationError):
            store.claim_one(W1, AgreementId("agr-a"), lease_seconds=lease)

    def test_two_handles_share_claim_one_leases(
        self, make_store: StoreFactory, clock: FixedClock
    ) -> None:
        one, two = make_store(clock), make_store(clock)
        _seed(one, "agr-a")
        first = one.claim_one(W1, AgreementId("agr-a"), lease_seconds=60)
        assert (first, two.claim_one(W2, AgreementId("agr-a"), lease_seconds=60)) == (True, False)

    @pytest.mark.parametrize("limit", [0, -1, 1.5, "3"])
    def test_claim_refuses_a_bad_limit(self, store: AgreementStore, limit: Any) -> None:
        with pytest.raises(ValidationError):
            store.claim(W1, date(2024, 1, 1), limit=limit, lease_seconds=60)

    @pytest.mark.parametrize("lease", [0, -5])
    def test_claim_refuses_a_lease_that_is_not_positive(
        self, store: AgreementStore, lease: float
    ) -> None:
        with pytest.raises(ValidationError):
            store.claim(W1, date(2024, 1, 1), limit=1, lease_seconds=lease)

    # ------------------------------------------------------------ invoice numbers

    def test_invoice_numbers_start_at_one_per_firm(self, store: AgreementStore) -> None:
        got = [
            store.issue_invoice_number(FirmId(f), InvoiceId(f"{f}-{i}"))
            for f, i in [("acme", 1), ("acme", 2), ("globex", 1), ("acme", 3)]
        ]
        assert got == [1, 2, 1, 3]

    def test_asking_twice_for_one_invoice_gives_one_number(self, store: AgreementStore) -> None:
        first = store.issue_invoice_number(ACME, InvoiceId("inv-a"))
        store.issue_invoice_number(ACME, InvoiceId("inv-b"))
        assert (store.issue_invoice_number(ACME, InvoiceId("inv-a")), first) == (1, 1)

    def test_an_invoice_id_reused_by_another_firm_is_refused(self, store: AgreementStore) -> None:
        store.issue_invoice_number(ACME, InvoiceId("inv-a"))
        with pytest.raises(DuplicateIdError):
            store.issue_invoice_number(FirmId("globex"), InvoiceId("inv-a"))

    def test_the_invoice_record_keeps_its_agreement_and_payload(
        self, store: AgreementStore
    ) -> None:
        store.issue_invoice_number(ACME, InvoiceId("inv-a"), agreement_id=AGR,
                                   payload={"total": {"amount": "1200", "currency": "JPY"}})
        rec = store.get_invoice(InvoiceId("inv-a"))
        assert rec is not None
        assert (rec.number, rec.agreement_id, rec.payload) == (
            1, AGR, '{"total":{"amount":"1200","currency":"JPY"}}'
        )

    def test_invoices_lists_a_firm_by_number(self, store: AgreementStore) -> None:
        for i in "cab":
            store.issue_invoice_number(ACME, InvoiceId(f"inv-{i}"))
        assert [(r.number, r.invoice_id) for r in store.invoices(ACME)] == [
            (1, "inv-c"), (2, "inv-a"), (3, "inv-b")
        ]

    def test_a_rolled_back_invoice_leaves_no_gap(self, store: AgreementStore) -> None:
        store.issue_invoice_number(ACME, InvoiceId("inv-1"))
        with pytest.raises(_Crash):
            _crash_inside(store, lambda: store.issue_invoice_number(ACME, InvoiceId("inv-lost")))
        assert (store.issue_invoice_number(ACME, InvoiceId("inv-2")),
                store.get_invoice(InvoiceId("inv-lost"))) == (2, None)

    # ------------------------------------------------------------ charge attempts

    def test_a_recorded_attempt_is_unfinished_until_completed(self, store: AgreementStore) -> None:
        rec = store.record_attempt(AttemptKey("k1"), AGR, InvoiceId("inv-1"), 1, Money("99.95", "USD"))
        assert store.unfinished_attempts() == [rec]

    def test_recording_an_attempt_twice_records_it_once(self, store: AgreementStore) -> None:
        for _ in range(2):
            store.record_attempt(AttemptKey("k1"), AGR, InvoiceId("inv-1"), 1, Money("5", "JPY"))
        assert len(store.unfinished_attempts()) == 1

    def test_an_attempt_key_reused_for_another_charge_is_refused(
        self, store: AgreementStore
    ) -> None:
        store.record_attempt(AttemptKey("k1"), AGR, InvoiceId("inv-1"), 1, Money("5", "JPY"))
        with pytest.raises(DuplicateIdError):
            store.record_attempt(AttemptKey("k1"), AGR, InvoiceId("inv-1"), 1, Money("6", "JPY"))

    def test_a_completed_attempt_keeps_its_outcome(self, store: AgreementStore) -> None:
        store.record_attempt(AttemptKey("k1"), AGR, InvoiceId("inv-1"), 1, Money("1.000", "KWD"))
        store.complete_attempt(AttemptKey("k1"), {"status": "succeeded", "charge": "ch_1"})
        rec = store.get_attempt(AttemptKey("k1"))
        assert rec is not None
        assert (rec.outcome_data, store.unfinished_attempts()) == (
            {"status": "succeeded", "charge": "ch_1"}, []
        )

    def test_unfinished_attempts_come_in_recorded_order(self, store: AgreementStore) -> None:
        for k in ("k3", "k1", "k2"):
            store.record_attempt(AttemptKey(k), AGR, InvoiceId("inv-1"), 1, Money("1", "USD"))
        store.complete_attempt(AttemptKey("k1"), {"status": "failed"})
        assert [a.key for a in store.unfinished_attempts()] == ["k3", "k2"]

    def test_an_attempt_is_stamped_with_the_store_clock_in_utc(
        self, make_store: StoreFactory
    ) -> None:
        class EasternClock:
            """A host clock that answers in its own zone, not UTC."""

            def now(self) -> datetime:
                return datetime(2024, 3, 31, 18, 30, 15, 123456,
                                tzinfo=timezone(timedelta(hours=-5)))

            def today(self) -> date:
                return self.now().date()

        store = make_store(EasternClock())
        rec = store.record_attempt(AttemptKey("k1"), AGR, InvoiceId("inv-1"), 1, Money("1", "USD"))
        stored = store.get_attempt(AttemptKey("k1"))
        assert stored is not None
        assert stored.recorded_at is not None
        expected = datetime(2024, 3, 31, 23, 30, 15, 123456, tzinfo=UTC)
        assert (rec.recorded_at, stored.recorded_at, stored.recorded_at.utcoffset()) == (
            expected, expected, timedelta(0))

    def test_recording_an_attempt_again_keeps_its_first_time(
        self, store: AgreementStore, clock: FixedClock
    ) -> None:
        first = store.record_attempt(AttemptKey("k1"), AGR, InvoiceId("inv-1"), 1,
                                     Money("5", "JPY"))
        clock.advance(timedelta(seconds=3600))
        again = store.record_attempt(AttemptKey("k1"), AGR, InvoiceId("inv-1"), 1,
                                     Money("5", "JPY"))
        assert again.recorded_at == first.recorded_at == datetime(2024, 1, 31, 9, 0, tzinfo=UTC)

    def test_unfinished_attempts_carry_their_recorded_time(
        self, store: AgreementStore, clock: FixedClock
    ) -> None:
        for k in ("k1", "k2"):
            store.record_attempt(AttemptKey(k), AGR, InvoiceId("inv-1"), 1, Money("1", "USD"))
            clock.advance(timedelta(seconds=90))
        assert [a.recorded_at for a in store.unfinished_attempts()] == [
            datetime(2024, 1, 31, 9, 0, tzinfo=UTC), datetime(2024, 1, 31, 9, 1, 30, tzinfo=UTC)]

    def test_completing_an_attempt_keeps_its_recorded_time(
        self, store: AgreementStore, clock: FixedClock
    ) -> None:
        store.record_attempt(AttemptKey("k1"), AGR, InvoiceId("inv-1"), 1, Money("1", "USD"))
        clock.advance(timedelta(seconds=30))
        done = store.complete_attempt(AttemptKey("k1"), {"status": "succeeded"})
        stored = store.get_attempt(AttemptKey("k1"))
        assert stored is not None
        assert (done.recorded_at, stored.recorded_at) == (
            datetime(2024, 1, 31, 9, 0, tzinfo=UTC),) * 2

    def test_completing_twice_with_the_same_outcome_is_a_no_op(self, store: AgreementStore) -> None:
        store.record_attempt(AttemptKey("k1"), AGR, InvoiceId("inv-1"), 1, Money("1", "USD"))
        store.complete_attempt(AttemptKey("k1"), {"status": "succeeded"})
        again = store.complete_attempt(AttemptKey("k1"), '{"status": "succeeded"}')
        assert again.outcome == '{"status":"succeeded"}'

    def test_completing_with_a_different_outcome_is_refused(self, store: AgreementStore) -> None:
        store.record_attempt(AttemptKey("k1"), AGR, InvoiceId("inv-1"), 1, Money("1", "USD"))
        store.complete_attempt(AttemptKey("k1"), {"status": "succeeded"})
        with pytest.raises(DuplicateIdError):
            store.complete_attempt(AttemptKey("k1"), {"status": "failed"})

    def test_completing_an_unknown_attempt_raises(self, store: AgreementStore) -> None:
        with pytest.raises(NotFoundError):
            store.complete_attempt(AttemptKey("nope"), {"status": "succeeded"})

    def test_a_float_in_an_outcome_is_refused(self, store: AgreementStore) -> None:
        store.record_attempt(AttemptKey("k1"), AGR, InvoiceId("inv-1"), 1, Money("1", "USD"))
        with pytest.raises(ValidationError):
            store.complete_attempt(AttemptKey("k1"), {"fee": 0.3})

    # ------------------------------------------------------------ outbox

    def test_pending_notifications_come_oldest_first(self, store: AgreementStore) -> None:
        for k in ("n2", "n1", "n3"):
            store.add_notification(k, AGR, "payment.requires_action", {"key": k})
        assert [n.key for n in store.pending_notifications()] == ["n2", "n1", "n3"]

    def test_acked_notifications_are_no_longer_pending(self, store: AgreementStore) -> None:
        for k in ("n1", "n2"):
            store.add_notification(k, None, "invoice.issued", {})
        store.ack(["n1", "unknown"])
        assert [n.key for n in store.pending_notifications()] == ["n2"]

    def test_adding_a_notification_twice_adds_it_once(self, store: AgreementStore) -> None:
        first = store.add_notification("n1", AGR, "invoice.issued", {"number": 7})
        again = store.add_notification("n1", AGR, "invoice.issued", {"number": 7})
        assert (again, len(store.pending_notifications())) == (first, 1)

    def test_a_notification_key_reused_for_other_content_is_refused(
        self, store: AgreementStore
    ) -> None:
        store.add_notification("n1", AGR, "invoice.issued", {"number": 7})
        with pytest.raises(DuplicateIdError):
            store.add_notification("n1", AGR, "invoice.issued", {"number": 8})

    def test_pending_notifications_respects_the_limit(self, store: AgreementStore) -> None:
        for i in range(5):
            store.add_notification(f"n{i}", None, "x", {})
        assert len(store.pending_notifications(limit=2)) == 2

    # ------------------------------------------------------------ units of work

    def _unit_of_work(self, store: AgreementStore) -> None:
        store.append(AGR, [make_event(n=1)], expected_version=0)
        store.set_next_due(AGR, date(2024, 3, 1))
        number = store.issue_invoice_number(ACME, InvoiceId("inv-1"), agreement_id=AGR)
        store.append(AGR, [make_event(n=2, type="InvoiceIssued", payload={"number": number})],
                     expected_version=1)
        store.record_attempt(AttemptKey("k1"), AGR, InvoiceId("inv-1"), 1, Money("100.00", "USD"))
        store.add_notification("n1", AGR, "invoice.issued", {"number": number})
        if isinstance(store, Ledger):
            store.post(_entry("inv-1:issue", date(2024, 2, 29), "100.00", agreement_id=AGR))

    def test_a_unit_of_work_commits_everything(self, store: AgreementStore) -> None:
        with store.transaction():
            self._unit_of_work(store)
        seen = (store.version(AGR), store.get_invoice(InvoiceId("inv-1")) is not None,
                len(store.unfinished_attempts()), len(store.pending_notifications()))
        assert seen == (2, True, 1, 1)

    def test_a_failed_unit_of_work_leaves_no_trace(self, store: AgreementStore) -> None:
        with pytest.raises(_Crash):
            _crash_inside(store, lambda: self._unit_of_work(store))
        seen = (store.version(AGR), store.agreement_ids(), store.get_invoice(InvoiceId("inv-1")),
                store.unfinished_attempts(), store.pending_notifications())
        assert seen == (0, [], None, [], [])

    def test_a_failed_unit_of_work_posts_nothing(self, store: AgreementStore) -> None:
        if not isinstance(store, Ledger):
            pytest.skip("this store is not also a Ledger")
        with pytest.raises(_Crash):
            _crash_inside(store, lambda: self._unit_of_work(store))
        assert store.get_entry("inv-1:issue") is None

    def test_a_store_error_inside_a_unit_of_work_rolls_it_back(
        self, store: AgreementStore
    ) -> None:
        store.append(AGR, [make_event(n=1)], expected_version=0)
        def number_then_stale_append() -> None:
            with store.transaction():
                store.issue_invoice_number(ACME, InvoiceId("inv-1"))
                store.append(AGR, [make_event(n=2)], expected_version=0)

        with pytest.raises(ConcurrencyError):
            number_then_stale_append()
        assert store.get_invoice(InvoiceId("inv-1")) is None

    def test_a_nested_transaction_joins_the_outer_one(self, store: AgreementStore) -> None:
        def inner() -> None:
            with store.transaction():
                store.issue_invoice_number(ACME, InvoiceId("inv-1"))

        with pytest.raises(_Crash):
            _crash_inside(store, inner)
        assert store.get_invoice(InvoiceId("inv-1")) is None


def _entry(
    entry_id: str,
    on: date,
    amount: str,
    *,
    currency: str = "USD",
    agreement_id: str | None = None,
    debit: Account = Account.RECEIVABLE,
    credit: Account = Account.REVENUE,
) -> JournalEntry:
    money = Money(amount, currency)
    return JournalEntry(
        EntryId(entry_id), on,
        (JournalLine.dr(debit, money), JournalLine.cr(credit, money)),
        memo=f"{entry_id} memo", agreement_id=agreement_id,
    )


@attrs.frozen
class _Span:
    start: date
    end: date


class LedgerContract:
    """Behaviour every :class:`~milestonebill.ledger.Ledger` must have."""

    @pytest.fixture
    def make_ledger(self) -> LedgerFactory:
        """Override: return a factory for a fresh, empty ledger."""
        raise NotImplementedError("override the make_ledger fixture")

    @pytest.fixture
    def ledger(self, make_ledger: LedgerFactory) -> Ledger:
        return make_ledger()

    def test_posting_returns_true_then_false(self, ledger: Ledger) -> None:
        e = _entry("je-1", date(2024, 1, 31), "100.00")
        assert (ledger.post(e), ledger.post(e)) == (True, False)

    def test_posting_twice_counts_once(self, ledger: Ledger) -> None:
        e = _entry("je-1", date(2024, 1, 31), "100.00")
        ledger.post(e)
        ledger.post(e)
        assert ledger.balance(Account.RECEIVABLE, currency="USD") == Money("100.00", "USD")

    def test_a_different_entry_under_a_used_id_is_refused(self, ledger: Ledger) -> None:
        ledger.post(_entry("je-1", date(2024, 1, 31), "100.00"))
        with pytest.raises(DuplicateIdError):
            ledger.post(_entry("je-1", date(2024, 1, 31), "100.01"))

    def test_a_refused_entry_leaves_the_first_in_place(self, ledger: Ledger) -> None:
        ledger.post(_entry("je-1", date(2024, 1, 31), "100.00"))
        with pytest.raises(DuplicateIdError):
            ledger.post(_entry("je-1", date(2024, 2, 1), "100.00"))
        assert ledger.balance(Account.REVENUE, currency="USD") == Money("-100.00", "USD")

    def test_balances_are_debit_minus_credit(self, ledger: Ledger) -> None:
        ledger.post(_entry("je-1", date(2024, 1, 31), "100.00"))
        ledger.post(_entry("je-2", date(2024, 2, 5), "40.00", debit=Account.CASH,
                           credit=Account.RECEIVABLE))
        assert ledger.balances(currency="USD") == {
            Account.CASH: Money("40.00", "USD"),
            Account.RECEIVABLE: Money("60.00", "USD"),
            Account.REVENUE: Money("-100.00", "USD"),
        }

    def test_the_trial_balance_sums_to_zero(self, ledger: Ledger) -> None:
        three = Money("0.100", "KWD")
        parts = (Money("0.034", "KWD"), Money("0.033", "KWD"), Money("0.033", "KWD"))
        ledger.post(JournalEntry(EntryId("je-1"), date(2024, 2, 29), (
            JournalLine.dr(Account.RECEIVABLE, three),
            *(JournalLine.cr(a, p) for a, p in zip(
                (Account.REVENUE, Account.DEFERRED_REVENUE, Account.TAX_PAYABLE), parts, strict=True
            )),
        )))
        assert Money.total(ledger.balances(currency="KWD").values(), currency="KWD").is_zero()

    def test_an_account_without_lines_has_a_zero_balance(self, ledger: Ledger) -> None:
        assert ledger.balance(Account.REFUNDS, currency="JPY") == Money(0, "JPY")

    def test_as_of_includes_the_day_itself(self, ledger: Ledger) -> None:
        ledger.post(_entry("je-1", date(2024, 2, 29), "10.00"))
        ledger.post(_entry("je-2", date(2024, 3, 1), "5.00"))
        assert ledger.balance(Account.RECEIVABLE, currency="USD", as_of=date(2024, 2, 29)) == Money(
            "10.00", "USD"
        )

    def test_a_period_is_half_open(self, ledger: Ledger) -> None:
        for i, day in enumerate((date(2024, 1, 31), date(2024, 2, 1), date(2024, 2, 29),
                                 date(2024, 3, 1))):
            ledger.post(_entry(f"je-{i}", day, "1.00"))
        feb = _Span(date(2024, 2, 1), date(2024, 3, 1))
        assert ledger.balance(Account.RECEIVABLE, currency="USD", period=feb) == Money("2.00", "USD")

    def test_as_of_and_period_together_are_refused(self, ledger: Ledger) -> None:
        with pytest.raises(ValidationError):
            ledger.balances(currency="USD", as_of=date(2024, 1, 1),
                            period=_Span(date(2024, 1, 1), date(2024, 2, 1)))

    def test_balances_are_per_currency(self, ledger: Ledger) -> None:
        ledger.post(_entry("je-usd", date(2024, 1, 1), "10.00"))
        ledger.post(_entry("je-jpy", date(2024, 1, 1), "1500", currency="JPY"))
        assert ledger.balance(Account.RECEIVABLE, currency="JPY") == Money("1500", "JPY")

    def test_an_entry_reads_back_equal(self, ledger: Ledger) -> None:
        e = _entry("je-1", date(2024, 2, 29), "0.005", currency="KWD", agreement_id="agr-9")
        ledger.post(e)
        assert (ledger.get_entry("je-1"), ledger.get_entry("missing")) == (e, None)

    def test_entries_filter_by_agreement(self, ledger: Ledger) -> None:
        ledger.post(_entry("je-2", date(2024, 1, 2), "1.00", agreement_id="agr-a"))
        ledger.post(_entry("je-1", date(2024, 1, 3), "1.00", agreement_id="agr-a"))
        ledger.post(_entry("je-3", date(2024, 1, 1), "1.00", agreement_id="agr-b"))
        assert [e.id for e in ledger.entries(agreement_id="agr-a")] == ["je-2", "je-1"]

    def test_an_unknown_account_name_is_refused(self, ledger: Ledger) -> None:
        with pytest.raises(ValidationError):
            ledger.balance("petty_cash", currency="USD")  # type: ignore[arg-type]

    def test_an_unbalanced_entry_cannot_be_built(self) -> None:
        with pytest.raises(UnbalancedEntryError):
            JournalEntry(EntryId("x"), date(2024, 1, 1), (
                JournalLine.dr(Account.CASH, Money("1.00", "USD")),
                JournalLine.cr(Account.REVENUE, Money("0.99", "USD")),
            ))

    def test_a_mixed_currency_entry_cannot_be_built(self) -> None:
        with pytest.raises(CurrencyMismatchError):
            JournalEntry(EntryId("x"), date(2024, 1, 1), (
                JournalLine.dr(Account.CASH, Money("1.00", "USD")),
                JournalLine.cr(Account.REVENUE, Money("1.00", "EUR")),
            ))

"""The tenant isolation contract: a store bound to one tenant sees only that tenant.

Every shipped store runs it; a host's store that serves many firms runs it
too.  Subclass :class:`TenantIsolationContract` in a ``test_*.py`` file and
override ``make_store``::

    import pytest
    from milestonebill.testing.tenant_contract import TenantIsolationContract

    class TestMyStoreTenants(TenantIsolationContract):
        @pytest.fixture
        def make_store(self, tmp_path):
            opened = []
            def make(clock, tenant):
                if not opened:
                    opened.append(MyStore(tmp_path / "db", clock=clock, tenant=tenant))
                    return opened[0]
                return opened[0].for_tenant(tenant)
            yield make
            for store in opened:
                store.close()

``make_store(clock, tenant)`` returns a store bound to ``tenant`` over one
database shared by every call of the test (a fresh, empty one per test),
reading lease time and record stamps from ``clock``.  The store has every
role of a shipped store (:class:`TenantStore`: the
:class:`~milestonebill.stores.base.AgreementStore` port, the
:class:`~milestonebill.ledger.Ledger`, the
:class:`~milestonebill.stores.base.SyncJournal`,
:class:`~milestonebill.stores.batch.Savepoints` and
:class:`~milestonebill.stores.tenancy.TenantBound`).

Two tenants, ``tenant-a`` and ``tenant-b``, each get the same agreement,
event, proposal, invoice, firm, attempt, notification, journal entry,
work-link and sync ids with different content (:func:`populate`).  The
suite then checks, for every method, that a call as one tenant never
returns, changes or counts the other's data: :func:`snapshot` reads a
tenant's whole observable state through every read method, and a write as
one tenant must leave the other's snapshot equal, value for value.  A
Hypothesis property interleaves random writes of both tenants and checks
each ends as it would have alone, in a database of its own (a fresh
:class:`~milestonebill.stores.memory.InMemoryStore`, whose behaviour the
store contract pins for every store).  The platform calls are checked too:
listing tenants, renaming one, refusing to merge two.  Needs the ``test``
extra (pytest, Hypothesis).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milestonebill.clock import Clock, FixedClock
from milestonebill.errors import (
    DuplicateIdError,
    LeaseLostError,
    NotFoundError,
    ValidationError,
)
from milestonebill.stores.base import (
    AgreementId,
    AttemptKey,
    EventId,
    FirmId,
    InvoiceId,
    StoredEvent,
    WorkerId,
)
from milestonebill.stores.memory import InMemoryStore
from milestonebill.stores.tenancy import TenantId
from milestonebill.testing._tenant_state import (
    FAR,
    WRITES,
    Crash,
    Op,
    TenantStore,
    apply,
    ops,
    populate,
    rolled_back,
    snapshot,
)

__all__ = [
    "TENANT_A",
    "TENANT_B",
    "WRITES",
    "TenantIsolationContract",
    "TenantStore",
    "TenantStoreFactory",
    "populate",
    "snapshot",
]

#: ``make_store(clock, tenant)``: a store bound to ``tenant`` over the test's one database.
TenantStoreFactory = Callable[[Clock, str], TenantStore]

#: The two tenants every test of the suite uses.
TENANT_A: TenantId = TenantId("tenant-a")
TENANT_B: TenantId = TenantId("tenant-b")
_C = TenantId("tenant-c")
_AGR = AgreementId("agr-1")
_W1, _W2 = WorkerId("worker-1"), WorkerId("worker-2")
_ACME = FirmId("acme")
_examples = itertools.count()


class TenantIsolationContract:
    """Behaviour every tenant-bound store must have (see the module docstring)."""

    @pytest.fixture
    def make_store(self) -> TenantStoreFactory:
        """Override: return a factory ``(clock, tenant) -> store`` over one shared database."""
        raise NotImplementedError("override the make_store fixture")

    @pytest.fixture
    def clock(self) -> FixedClock:
        return FixedClock(datetime(2024, 1, 31, 9, 0, tzinfo=UTC))

    @pytest.fixture
    def a(self, make_store: TenantStoreFactory, clock: FixedClock) -> TenantStore:
        return make_store(clock, TENANT_A)

    @pytest.fixture
    def b(self, make_store: TenantStoreFactory, clock: FixedClock, a: TenantStore) -> TenantStore:
        return make_store(clock, TENANT_B)

    @pytest.fixture
    def both(self, a: TenantStore, b: TenantStore) -> tuple[TenantStore, TenantStore]:
        """The two tenants, each holding its own data under the same ids."""
        populate(a, "A")
        populate(b, "B")
        return a, b

    # ------------------------------------------------------------ binding

    def test_a_store_names_the_tenant_it_is_bound_to(
        self, a: TenantStore, b: TenantStore
    ) -> None:
        assert (a.tenant, b.tenant, a.for_tenant(_C).tenant) == (TENANT_A, TENANT_B, _C)

    def test_for_tenant_returns_the_same_kind_of_store(self, a: TenantStore) -> None:
        assert type(a.for_tenant(_C)) is type(a)

    @pytest.mark.parametrize("bad", ["", " tenant-a", "tenant-a\n", 7, None])
    def test_for_tenant_refuses_a_bad_tenant_naming_it(self, a: TenantStore, bad: Any) -> None:
        with pytest.raises(ValidationError) as caught:
            a.for_tenant(bad)
        assert caught.value.field == "tenant"

    @pytest.mark.parametrize("bad", ["", " tenant-a", 7])
    def test_opening_a_store_for_a_bad_tenant_is_refused_naming_it(
        self, make_store: TenantStoreFactory, clock: FixedClock, bad: Any
    ) -> None:
        with pytest.raises(ValidationError) as caught:
            make_store(clock, bad)
        assert caught.value.field == "tenant"

    def test_every_bound_tenant_is_listed_in_order(self, a: TenantStore, b: TenantStore) -> None:
        a.for_tenant(_C)
        listed = b.platform().tenants()
        assert ({TENANT_A, TENANT_B, _C} <= set(listed), listed == sorted(listed)) == (True, True)

    def test_closing_a_view_leaves_its_store_working(self, a: TenantStore) -> None:
        view = a.for_tenant(_C)
        close = getattr(view, "close", None)
        if close is None:
            pytest.skip("this store has nothing to close")
        close()
        managed: Any = a.for_tenant(TENANT_B)
        with managed as other:  # a view used as a context manager
            other.issue_invoice_number(_ACME, InvoiceId("inv-1"))
        assert (a.issue_invoice_number(_ACME, InvoiceId("inv-1")),
                view.issue_invoice_number(_ACME, InvoiceId("inv-1"))) == (1, 1)

    # ------------------------------------------------------------ reads

    def test_every_id_may_be_reused_by_another_tenant(self, a: TenantStore, b: TenantStore) -> None:
        populate(a, "A")
        populate(b, "B")  # would raise DuplicateIdError if any id were shared
        assert (a.agreement_ids(), b.agreement_ids()) == (
            ["agr-1", "agr-2", "agr-a"], ["agr-1", "agr-2", "agr-b"])

    def test_every_read_shows_what_the_tenant_alone_would_see(
        self, both: tuple[TenantStore, TenantStore]
    ) -> None:
        a, b = both
        alone = a.for_tenant("tenant-alone")
        populate(alone, "A")
        assert (snapshot(a) == snapshot(alone), snapshot(b) == snapshot(alone)) == (True, False)

    def test_reads_return_the_tenants_own_content(
        self, both: tuple[TenantStore, TenantStore]
    ) -> None:
        def seen(s: TenantStore) -> tuple[object, ...]:
            invoice, attempt, entry = (s.get_invoice(InvoiceId("inv-1")),
                                       s.get_attempt(AttemptKey("k1")), s.get_entry("je-1"))
            sync, link = s.get_sync("xero", "inv-1:issue"), s.work_link("karbon", "job-1")
            assert invoice is not None
            assert attempt is not None
            assert entry is not None
            assert sync is not None
            return (s.load(_AGR)[0].data["tenant"], invoice.payload, attempt.outcome_data,
                    entry.memo, sync.target_id, link and link.agreement_id,
                    [p.message for p in s.parked()], [n.data for n in s.pending_notifications()],
                    s.agreement_of_event(EventId("agr-1:e2")), len(s.entries()))

        a, b = both
        assert (seen(a), seen(b)) == (
            ("A", '{"tenant":"A"}', {"status": "succeeded", "tenant": "A"}, "je-1 for A", "x-A", "agr-a",
             ["parked for A"], [{"tenant": "A"}], "agr-1", 2),
            ("B", '{"tenant":"B"}', {"status": "succeeded", "tenant": "B"}, "je-1 for B", "x-B", "agr-b",
             ["parked for B"], [{"tenant": "B"}], "agr-1", 2))

    def test_an_event_of_another_tenant_is_not_found(self, a: TenantStore, b: TenantStore) -> None:
        populate(b, "B")
        assert (a.agreement_of_event(EventId("agr-b:e1")),
                b.agreement_of_event(EventId("agr-b:e1"))) == (None, "agr-b")

    # ------------------------------------------------------------ writes

    @pytest.mark.parametrize("writer", ["a", "b"])
    @pytest.mark.parametrize("name", sorted(WRITES))
    def test_a_write_as_one_tenant_leaves_the_other_unchanged(
        self, both: tuple[TenantStore, TenantStore], name: str, writer: str
    ) -> None:
        me, other = both if writer == "a" else both[::-1]
        write, changes_mine = WRITES[name]
        mine_before, other_before = snapshot(me), snapshot(other)
        write(me)
        assert (snapshot(other), snapshot(me) != mine_before) == (other_before, changes_mine)

    @pytest.mark.parametrize("call", ["set_next_due", "next_due", "claim_one", "complete",
                                      "park", "unpark"])
    def test_an_agreement_only_the_other_tenant_has_is_not_found(
        self, both: tuple[TenantStore, TenantStore], call: str
    ) -> None:
        a, b = both
        other = AgreementId("agr-b")
        calls: dict[str, Callable[[], object]] = {
            "set_next_due": lambda: a.set_next_due(other, date(2024, 5, 1)),
            "next_due": lambda: a.next_due(other),
            "claim_one": lambda: a.claim_one(_W1, other, lease_seconds=60),
            "complete": lambda: a.complete(_W1, other, None),
            "park": lambda: a.park(other, error="E", message="m"),
            "unpark": lambda: a.unpark(other),
        }
        before = snapshot(b)
        with pytest.raises(NotFoundError):
            calls[call]()
        assert snapshot(b) == before

    # ------------------------------------------------------------ due work and leases

    def test_claims_hand_out_only_the_tenants_own_work(
        self, both: tuple[TenantStore, TenantStore]
    ) -> None:
        a, b = both
        due_a, due_b = a.list_due(FAR), b.list_due(FAR)
        got_a = a.claim(_W1, FAR, limit=100, lease_seconds=60)
        got_b = b.claim(_W1, FAR, limit=100, lease_seconds=60)
        assert (got_a, got_b, "agr-b" in got_a, "agr-a" in got_b) == (due_a, due_b, False, False)

    def test_a_lease_in_one_tenant_does_not_hold_the_same_id_in_another(
        self, both: tuple[TenantStore, TenantStore]
    ) -> None:
        a, b = both
        assert (a.claim_one(_W1, _AGR, lease_seconds=60),
                b.claim_one(_W2, _AGR, lease_seconds=60)) == (True, True)

    def test_a_release_as_one_tenant_keeps_the_other_tenants_lease(
        self, both: tuple[TenantStore, TenantStore]
    ) -> None:
        a, b = both
        b.claim_one(_W1, _AGR, lease_seconds=600)
        a.claim_one(_W1, _AGR, lease_seconds=600)
        a.release(_W1, [_AGR])
        assert (b.claim_one(_W2, _AGR, lease_seconds=60),
                a.claim_one(_W2, _AGR, lease_seconds=60)) == (False, True)

    def test_a_completion_as_one_tenant_keeps_the_other_tenants_lease_and_date(
        self, both: tuple[TenantStore, TenantStore]
    ) -> None:
        a, b = both
        due_b = b.next_due(_AGR)
        b.claim_one(_W1, _AGR, lease_seconds=600)
        a.claim_one(_W1, _AGR, lease_seconds=600)
        a.complete(_W1, _AGR, date(2030, 1, 1))
        held = b.claim_one(_W2, _AGR, lease_seconds=60)
        b.complete(_W1, _AGR, date(2031, 1, 1))
        assert (held, due_b != date(2030, 1, 1), a.next_due(_AGR), b.next_due(_AGR)) == (
            False, True, date(2030, 1, 1), date(2031, 1, 1))

    def test_the_other_tenants_lease_is_no_lease_to_complete(
        self, both: tuple[TenantStore, TenantStore]
    ) -> None:
        a, b = both
        b.claim_one(_W1, _AGR, lease_seconds=600)
        with pytest.raises(LeaseLostError):
            a.complete(_W1, _AGR, None)
        assert b.claim_one(_W2, _AGR, lease_seconds=60) is False

    def test_parking_in_one_tenant_leaves_the_same_id_due_in_the_other(
        self, both: tuple[TenantStore, TenantStore]
    ) -> None:
        a, b = both
        a.park(_AGR, error="StoreError", message="set aside")
        a.unpark(AgreementId("agr-2"))
        assert (_AGR in b.list_due(FAR), [p.agreement_id for p in b.parked()],
                [p.agreement_id for p in a.parked()]) == (True, ["agr-2"], ["agr-1"])

    # ------------------------------------------------------------ numbers

    def test_invoice_numbers_start_at_one_in_every_tenant(
        self, a: TenantStore, b: TenantStore
    ) -> None:
        got_b = [b.issue_invoice_number(_ACME, InvoiceId(f"inv-{i}")) for i in (1, 2, 3)]
        first_a = a.issue_invoice_number(_ACME, InvoiceId("inv-1"))
        assert (got_b, first_a, b.issue_invoice_number(_ACME, InvoiceId("inv-4")),
                a.issue_invoice_number(_ACME, InvoiceId("inv-2"))) == ([1, 2, 3], 1, 4, 2)

    def test_a_rollback_leaves_no_gap_in_either_tenant(
        self, a: TenantStore, b: TenantStore
    ) -> None:
        a.issue_invoice_number(_ACME, InvoiceId("inv-1"))
        rolled_back(a, lambda: a.issue_invoice_number(_ACME, InvoiceId("inv-lost")))
        assert (b.issue_invoice_number(_ACME, InvoiceId("inv-lost")),
                a.issue_invoice_number(_ACME, InvoiceId("inv-2")),
                a.get_invoice(InvoiceId("inv-lost"))) == (1, 2, None)

    # ------------------------------------------------------------ units of work

    def test_a_rollback_in_one_tenant_keeps_the_others_concurrent_writes(
        self, a: TenantStore, b: TenantStore
    ) -> None:
        failures: list[BaseException] = []

        def write_as_b() -> None:
            try:
                with b.transaction():
                    b.issue_invoice_number(_ACME, InvoiceId("inv-1"), payload={"tenant": "B"})
                    b.append(_AGR, [_event("B")], expected_version=0)
            except BaseException as exc:  # handed to the test thread below
                failures.append(exc)

        def fail_as_a_while_b_writes() -> None:
            with a.transaction():
                a.issue_invoice_number(_ACME, InvoiceId("inv-1"), payload={"tenant": "A"})
                a.append(_AGR, [_event("A")], expected_version=0)
                worker.start()
                raise Crash("A's unit of work fails while B writes")

        worker = threading.Thread(target=write_as_b)
        with pytest.raises(Crash):
            fail_as_a_while_b_writes()
        worker.join(timeout=60)
        invoice = b.get_invoice(InvoiceId("inv-1"))
        assert (worker.is_alive(), failures, invoice and invoice.payload, b.version(_AGR),
                a.get_invoice(InvoiceId("inv-1")), a.version(_AGR)) == (
            False, [], '{"tenant":"B"}', 1, None, 0)

    def test_a_transaction_holds_only_its_own_tenants_writes(
        self, a: TenantStore, b: TenantStore
    ) -> None:
        with a.transaction():
            a.issue_invoice_number(_ACME, InvoiceId("inv-1"))
        with b.transaction():
            b.append(_AGR, [_event("B")], expected_version=0)
        assert (a.version(_AGR), b.get_invoice(InvoiceId("inv-1")), b.version(_AGR)) == (
            0, None, 1)

    # ------------------------------------------------------------ the property

    def test_interleaved_writes_leave_each_tenant_as_it_would_be_alone(
        self, a: TenantStore, clock: FixedClock
    ) -> None:
        # The property runs inside the test, so each store's subclass is its own Hypothesis
        # test (one method inherited by several classes trips differing_executors).
        @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(steps=st.lists(st.tuples(st.sampled_from(["one", "two", "both"]), ops),
                              max_size=20))
        def each_tenant_ends_as_it_would_alone(steps: list[tuple[str, Op]]) -> None:
            _interleave(a, clock, steps)

        each_tenant_ends_as_it_would_alone()

    # ------------------------------------------------------------ the platform

    def test_renaming_moves_every_row_and_leaves_the_other_tenant_alone(
        self, both: tuple[TenantStore, TenantStore]
    ) -> None:
        a, b = both
        empty = snapshot(a.for_tenant("tenant-empty"))
        before_a, before_b = snapshot(a), snapshot(b)
        a.platform().rename_tenant(TENANT_A, _C)
        listed = b.platform().tenants()
        assert (snapshot(a.for_tenant(_C)), snapshot(b), snapshot(a) == empty,
                TENANT_A in listed, _C in listed) == (before_a, before_b, True, False, True)

    def test_a_renamed_tenant_numbers_on_where_it_left_off(
        self, both: tuple[TenantStore, TenantStore]
    ) -> None:
        a, b = both
        b.issue_invoice_number(_ACME, InvoiceId("inv-5"))
        a.platform().rename_tenant(TENANT_A, _C)
        c = b.for_tenant(_C)
        assert (c.issue_invoice_number(_ACME, InvoiceId("inv-9")),
                b.issue_invoice_number(_ACME, InvoiceId("inv-9"))) == (2, 3)

    def test_renaming_onto_a_registered_empty_tenant_is_allowed(
        self, both: tuple[TenantStore, TenantStore]
    ) -> None:
        a, _ = both
        c = a.for_tenant(_C)
        before = snapshot(a)
        a.platform().rename_tenant(TENANT_A, _C)
        assert snapshot(c) == before

    def test_renaming_onto_a_tenant_with_data_is_refused_and_changes_nothing(
        self, both: tuple[TenantStore, TenantStore]
    ) -> None:
        a, b = both
        before = (snapshot(a), snapshot(b), a.platform().tenants())
        with pytest.raises(DuplicateIdError) as caught:
            a.platform().rename_tenant(TENANT_A, TENANT_B)
        assert ((caught.value.kind, caught.value.ident),
                (snapshot(a), snapshot(b), a.platform().tenants())) == (("tenant", TENANT_B),
                                                                        before)

    def test_renaming_an_unknown_tenant_is_not_found(self, a: TenantStore) -> None:
        before = a.platform().tenants()
        with pytest.raises(NotFoundError):
            a.platform().rename_tenant("tenant-nobody", _C)
        assert a.platform().tenants() == before

    @pytest.mark.parametrize(("old", "new", "field"), [
        ("", "tenant-c", "old"), (" tenant-a", "tenant-c", "old"), (7, "tenant-c", "old"),
        ("tenant-a", "", "new"), ("tenant-a", "tenant-c ", "new"), ("tenant-a", None, "new"),
    ])
    def test_renaming_refuses_bad_ids_naming_them(
        self, both: tuple[TenantStore, TenantStore], old: Any, new: Any, field: str
    ) -> None:
        a, _ = both
        before = (snapshot(a), a.platform().tenants())
        with pytest.raises(ValidationError) as caught:
            a.platform().rename_tenant(old, new)
        assert (caught.value.field, (snapshot(a), a.platform().tenants())) == (field, before)


def _event(mark: str) -> StoredEvent:
    return StoredEvent(_AGR, EventId("agr-1:e1"), 0, "Signed",
                       datetime(2024, 1, 31, tzinfo=UTC), {"tenant": mark})


def _interleave(root: TenantStore, clock: FixedClock, steps: list[tuple[str, Op]]) -> None:
    # Both tenants start from data under the same ids, and "both" makes them write under
    # the same ids, where a leak would show.  Alone means in a database of its own: a
    # fresh in-memory store, the reference whose behaviour the store contract pins for
    # every store.  Tenant names are new for each example (the database is the test's).
    n = next(_examples)
    mixed = {"one": root.for_tenant(f"mixed-1-{n}"), "two": root.for_tenant(f"mixed-2-{n}")}
    seen: dict[str, list[Any]] = {"one": [], "two": []}
    for name, store in mixed.items():
        populate(store, name)
    for who, op in steps:
        for name in ("one", "two") if who == "both" else (who,):
            seen[name].append(apply(mixed[name], op))
    alone: dict[str, TenantStore] = {name: InMemoryStore(clock=clock) for name in seen}
    for name, store in alone.items():
        populate(store, name)
    alone_seen = {name: [apply(store, op) for who, op in steps if who in (name, "both")]
                  for name, store in alone.items()}
    assert (seen, snapshot(mixed["one"]), snapshot(mixed["two"])) == (
        alone_seen, snapshot(alone["one"]), snapshot(alone["two"]))

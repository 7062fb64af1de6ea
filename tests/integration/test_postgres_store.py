"""PostgreSQL specifics: migrations, schema isolation and racing threads."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

import pytest

from milestonebill.clock import FixedClock
from milestonebill.errors import ConcurrencyError, StoreError, ValidationError
from milestonebill.money import Money
from milestonebill.stores.base import (
    AgreementId,
    AttemptKey,
    EventId,
    FirmId,
    InvoiceId,
    StoredEvent,
    WorkerId,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def open_store(pg_dsn: str, pg_schema: str) -> Iterator[Callable[..., object]]:
    from milestonebill.stores.postgres import PostgresStore

    opened: list[PostgresStore] = []

    def make(**kwargs: object) -> PostgresStore:
        store = PostgresStore(pg_dsn, schema=pg_schema, **kwargs)  # type: ignore[arg-type]
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def test_a_new_schema_gets_every_migration(open_store: Callable[..., object]) -> None:
    from milestonebill.stores.postgres import MIGRATIONS, PostgresStore

    store = open_store()
    assert isinstance(store, PostgresStore)
    assert store.applied_migrations() == [m.version for m in MIGRATIONS]


def test_an_old_schema_is_upgraded_once(open_store: Callable[..., object]) -> None:
    from milestonebill.stores.postgres import MIGRATIONS, PostgresStore

    old = open_store(migrations=MIGRATIONS[:1])
    new = open_store()
    assert isinstance(old, PostgresStore)
    assert isinstance(new, PostgresStore)
    assert (new.applied_migrations(), new.migrate()) == ([m.version for m in MIGRATIONS], [])


def test_attempts_recorded_before_step_3_come_back_without_a_time(
        open_store: Callable[..., object]) -> None:
    from milestonebill.stores.postgres import MIGRATIONS, PostgresStore

    old = open_store(migrations=MIGRATIONS[:2])
    assert isinstance(old, PostgresStore)
    with old._tx() as cur:
        cur.execute("INSERT INTO charge_attempts (key, agreement_id, invoice_id, attempt, "
                    "amount_minor, currency) VALUES ('k-old', 'agr-1', 'inv-1', 1, 500, 'USD')")
    clock = FixedClock(datetime(2024, 2, 29, 12, tzinfo=UTC))
    store = open_store(clock=clock)
    assert isinstance(store, PostgresStore)
    store.record_attempt(AttemptKey("k-new"), AgreementId("agr-1"), InvoiceId("inv-2"), 1,
                         Money("5.00", "USD"))
    assert [(a.key, a.recorded_at) for a in store.unfinished_attempts()] == [
        ("k-old", None), ("k-new", datetime(2024, 2, 29, 12, tzinfo=UTC))]


def test_a_schema_from_before_step_4_keeps_its_due_work_and_can_park(
        open_store: Callable[..., object]) -> None:
    from milestonebill.stores.postgres import MIGRATIONS, PostgresStore

    a = AgreementId("agr-1")
    old = open_store(migrations=MIGRATIONS[:3])
    assert isinstance(old, PostgresStore)
    with old._tx() as cur:
        # The queries of today's store name a tenant; a schema this old has none.
        cur.execute("INSERT INTO agreements (agreement_id, version, next_due_on) "
                    "VALUES ('agr-1', 1, '2024-01-02')")
        cur.execute("INSERT INTO events VALUES ('e1', 'agr-1', 1, 'Signed', "
                    "'2024-01-01T00:00:00Z', '{}')")
    store = open_store()
    assert isinstance(store, PostgresStore)
    assert store.list_due(date(2024, 1, 2)) == [a]
    store.park(a, error="OverflowError", message="date value out of range")
    assert (store.list_due(date(2024, 1, 2)), len(store.parked())) == ([], 1)


def test_a_schema_name_that_is_not_an_identifier_is_refused(pg_dsn: str) -> None:
    from milestonebill.stores.postgres import PostgresStore

    with pytest.raises(ValidationError):
        PostgresStore(pg_dsn, schema="x; DROP TABLE y")


def test_an_unreachable_server_is_a_store_error() -> None:
    from milestonebill.stores.postgres import PostgresStore

    with pytest.raises(StoreError):
        PostgresStore("postgresql://nobody@127.0.0.1:1/none", connect_timeout=1)


def test_racing_writers_on_one_stream_let_exactly_one_win(
    open_store: Callable[..., object],
) -> None:
    from milestonebill.stores.postgres import PostgresStore

    store = open_store(pool_size=8)
    assert isinstance(store, PostgresStore)
    a = AgreementId("agr-1")
    start = threading.Barrier(8)
    outcomes: list[str] = []

    def write(n: int) -> None:
        event = StoredEvent(a, EventId(f"e{n}"), 0, "Signed", datetime(2024, 1, 1, tzinfo=UTC), {})
        start.wait()
        try:
            store.append(a, [event], expected_version=0)
            outcomes.append("won")
        except ConcurrencyError:
            outcomes.append("stale")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (sorted(outcomes), store.version(a)) == (["stale"] * 7 + ["won"], 1)


def test_racing_requests_for_one_invoice_get_one_number(
    open_store: Callable[..., object],
) -> None:
    from milestonebill.stores.postgres import PostgresStore

    store = open_store(pool_size=8)
    assert isinstance(store, PostgresStore)
    start = threading.Barrier(8)
    numbers: list[int] = []

    def ask(n: int) -> None:
        start.wait()
        numbers.append(store.issue_invoice_number(FirmId("acme"), InvoiceId(f"inv-{n % 2}")))

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (sorted(set(numbers)), len(store.invoices(FirmId("acme")))) == ([1, 2], 2)



def test_a_claim_leases_no_more_than_its_limit_whatever_the_plan(
    open_store: Callable[..., object], pg_dsn: str, pg_schema: str,
) -> None:
    # With statistics taken while the table held one tenant's rows, PostgreSQL
    # planned the old claim (an ``IN (sub-select ... LIMIT n FOR UPDATE SKIP
    # LOCKED)``) for a new tenant as a nested loop that ran the sub-select once
    # per outer row; each run skipped the rows the statement had just leased and
    # took the next, so a claim of 1 leased 2 or 3.  A new deployment's first
    # tenants are exactly this case.
    import psycopg

    from milestonebill.stores.postgres import PostgresStore

    root = open_store(clock=FixedClock(datetime(2024, 1, 31, 9, 0, tzinfo=UTC)))
    assert isinstance(root, PostgresStore)
    ids = [AgreementId(f"agr-{k}") for k in range(3)]

    def three_due(tenant: str) -> PostgresStore:
        store = root.for_tenant(tenant)
        for k, a in enumerate(ids):
            event = StoredEvent(a, EventId(f"{a}:e1"), 0, "Signed",
                                datetime(2024, 1, 1, tzinfo=UTC), {})
            store.append(a, [event], expected_version=0)
            store.set_next_due(a, date(2024, 1, 1 + k))
        return store

    three_due("tenant-0")
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f"ANALYZE {pg_schema}.agreements, {pg_schema}.parked_agreements")
    seen = []
    for n in (1, 2, 3):
        store = three_due(f"tenant-{n}")
        claimed = store.claim(WorkerId("worker-1"), date(2024, 12, 31), limit=1, lease_seconds=60)
        free = [store.claim_one(WorkerId("worker-2"), a, lease_seconds=60) for a in ids[1:]]
        seen.append((claimed, free))
    assert seen == [([ids[0]], [True, True])] * 3

"""Tenants in the relational stores: one SQLite file or PostgreSQL schema, many firms.

Two tenants reuse every id (agreement, events, invoice and firm, attempt
key, notification key, journal entry, work link, sync) and each sees only
its own; a view shares its root's connection; ``rename_tenant`` moves a
single-firm store into a named tenant.  The PostgreSQL tests below these
check the second line of defence (row-level security) as a role that is
not a superuser.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from milestonebill.clock import Clock
from milestonebill.errors import DuplicateIdError, NotFoundError, StoreError, ValidationError
from milestonebill.ids import EntryId, MilestoneId
from milestonebill.ledger import Account, JournalEntry, JournalLine
from milestonebill.money import Money
from milestonebill.stores.base import (
    AgreementId,
    AttemptKey,
    EventId,
    FirmId,
    InvoiceId,
    ProposalId,
    StoredEvent,
    StoredProposalEvent,
    SyncRecord,
    WorkerId,
    WorkLink,
)
from milestonebill.stores.sqlite import SQLiteStore
from milestonebill.stores.tenancy import PlatformStore, TenantBound
from milestonebill.testing.store_contract import AgreementStoreContract, StoreFactory

if TYPE_CHECKING:
    from milestonebill.stores.postgres import PostgresStore

    Store = SQLiteStore | PostgresStore
else:
    Store = Any

AGR = AgreementId("agr-1")
ON = date(2024, 3, 1)
AT = datetime(2024, 3, 1, 9, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Store]]:
    """Open stores on one database: a SQLite file, or one PostgreSQL schema."""
    opened: list[Store] = []

    def make(*, v7: bool = False, **kwargs: Any) -> Store:
        """``v7``: only the migrations from before tenancy."""
        store: Store
        if request.param == "sqlite":
            from milestonebill.stores.sqlite import MIGRATIONS as LITE

            if v7:
                kwargs["migrations"] = LITE[:7]
            store = SQLiteStore(tmp_path / "shared.db", **kwargs)
        else:
            from milestonebill.stores.postgres import MIGRATIONS, PostgresStore

            if v7:
                kwargs["migrations"] = MIGRATIONS[:7]
            store = PostgresStore(request.getfixturevalue("pg_dsn"),
                                  schema=request.getfixturevalue("pg_schema"), **kwargs)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def fill(store: Store, label: str, amount: str) -> None:
    """One of everything a store keeps, under the ids every tenant here reuses."""
    payload = {"by": label}
    store.append(AGR, [StoredEvent(AGR, EventId("e1"), 0, "Signed", AT, payload),
                       StoredEvent(AGR, EventId("e2"), 0, "Noted", AT, payload)], 0)
    store.set_next_due(AGR, ON)
    store.append_proposal(ProposalId("p-1"), [StoredProposalEvent(
        ProposalId("p-1"), EventId("e1"), 0, "ProposalDrafted", AT, payload)], 0)
    store.issue_invoice_number(FirmId("acme"), InvoiceId("inv-1"), agreement_id=AGR,
                               payload=payload)
    store.record_attempt(AttemptKey("k-1"), AGR, InvoiceId("inv-1"), 1, Money(amount, "USD"))
    store.add_notification("n-1", AGR, "invoice.issued", payload)
    money = Money(amount, "USD")
    store.post(JournalEntry(EntryId("je-1"), ON, (JournalLine.dr(Account.RECEIVABLE, money),
                                                   JournalLine.cr(Account.REVENUE, money)),
                            memo=label, agreement_id=AGR))
    store.link_work(WorkLink("karbon", "w-1", AGR, milestone_id=MilestoneId(f"m-{label}")))
    store.record_sync(SyncRecord("xero", "inv-1", "invoice", "INV-1", f"key-{label}",
                                 f'{{"by": "{label}"}}'))


def seen(store: Store) -> dict[str, object]:
    """What a store shows of the ids ``fill`` used."""
    return {
        "events": [(e.event_id, e.payload) for e in store.load(AGR)],
        "agreements": store.agreement_ids(),
        "proposal": [e.payload for e in store.load_proposal(ProposalId("p-1"))],
        "invoices": [(i.number, i.payload) for i in store.invoices(FirmId("acme"))],
        "attempt": [(a.key, a.amount) for a in store.unfinished_attempts()],
        "notes": [(n.key, n.payload) for n in store.pending_notifications()],
        "entries": [e.memo for e in store.entries()],
        "receivable": store.balance(Account.RECEIVABLE, currency="USD"),
        "links": [link.milestone_id for link in store.work_links()],
        "syncs": [s.body for s in store.syncs("xero")],
        "event_of": store.agreement_of_event(EventId("e2")),
        "due": store.list_due(ON),
    }


def expected(label: str, amount: str) -> dict[str, object]:
    payload = f'{{"by":"{label}"}}'
    return {
        "events": [("e1", payload), ("e2", payload)],
        "agreements": [AGR],
        "proposal": [payload],
        "invoices": [(1, payload)],
        "attempt": [("k-1", Money(amount, "USD"))],
        "notes": [("n-1", payload)],
        "entries": [label],
        "receivable": Money(amount, "USD"),
        "links": [f"m-{label}"],
        "syncs": [f'{{"by": "{label}"}}'],
        "event_of": AGR,
        "due": [AGR],
    }


# ---------------------------------------------------------------------- isolation


def test_two_tenants_reuse_every_id_in_one_database(open_store: Callable[..., Store]) -> None:
    a = open_store(tenant="a")
    b = open_store(tenant="b")
    fill(a, "a", "100.00")
    fill(b, "b", "250.00")
    assert (seen(a), seen(b)) == (expected("a", "100.00"), expected("b", "250.00"))


def test_a_tenant_without_data_sees_nothing_of_anothers(open_store: Callable[..., Store]) -> None:
    a = open_store(tenant="a")
    fill(a, "a", "100.00")
    b = a.for_tenant("b")
    assert (b.agreement_ids(), b.list_due(ON), b.claim(WorkerId("w"), ON, limit=10,
                                                         lease_seconds=60),
            b.unfinished_attempts(), b.pending_notifications(), b.entries(), b.work_links(),
            b.syncs("xero"), b.parked(), b.proposal_ids(), b.invoices(FirmId("acme")),
            b.get_invoice(InvoiceId("inv-1")), b.get_attempt(AttemptKey("k-1")),
            b.get_entry("je-1"), b.version(AGR), b.agreement_of_event(EventId("e1"))) == (
        [], [], [], [], [], [], [], [], [], [], [], None, None, None, 0, None)


def test_a_tenant_cannot_change_anothers_rows(open_store: Callable[..., Store]) -> None:
    a = open_store(tenant="a")
    fill(a, "a", "100.00")
    b = a.for_tenant("b")
    b.ack(["n-1"])
    b.release(WorkerId("w"), [AGR])
    assert b.unlink_work("karbon", "w-1") is None
    assert b.discard_sync("xero", "inv-1") is None
    with pytest.raises(NotFoundError):
        b.set_next_due(AGR, None)
    with pytest.raises(NotFoundError):
        b.park(AGR, error="E", message="m")
    with pytest.raises(NotFoundError):
        b.complete_attempt(AttemptKey("k-1"), {"status": "succeeded"})
    assert seen(a) == expected("a", "100.00")


def test_claims_take_only_the_bound_tenants_agreements(open_store: Callable[..., Store]) -> None:
    a = open_store(tenant="a")
    b = a.for_tenant("b")
    fill(a, "a", "100.00")
    fill(b, "b", "250.00")
    assert b.claim(WorkerId("w"), ON, limit=10, lease_seconds=60) == [AGR]
    # b's lease does not hold a's agreement of the same id
    assert a.claim(WorkerId("w2"), ON, limit=10, lease_seconds=60) == [AGR]


class TestSQLiteStoreBesideANeighbour(AgreementStoreContract):
    """The whole store contract, as a tenant whose file also holds another
    tenant's rows under the same ids: any query that leaked would show them."""

    @pytest.fixture
    def make_store(self, sqlite_path: Path) -> Iterator[StoreFactory]:
        with SQLiteStore(sqlite_path, tenant="neighbour") as neighbour:
            fill(neighbour, "n", "999.00")
        opened: list[SQLiteStore] = []

        def make(clock: Clock) -> SQLiteStore:
            store = SQLiteStore(sqlite_path, clock=clock, tenant="t1")
            opened.append(store)
            return store

        yield make
        for store in opened:
            store.close()


# ---------------------------------------------------------------------- views


def test_a_store_is_tenant_bound_and_its_platform_lists_tenants(
        open_store: Callable[..., Store]) -> None:
    root = open_store()
    view = root.for_tenant("zeta")
    open_store(tenant="acme")
    assert (isinstance(root, TenantBound), isinstance(root.platform(), PlatformStore),
            root.tenant, view.tenant, type(view) is type(root),
            view.platform().tenants()) == (
        True, True, "default", "zeta", True, ["acme", "default", "zeta"])


def test_closing_a_view_leaves_its_root_open(open_store: Callable[..., Store]) -> None:
    root = open_store(tenant="a")
    with root.for_tenant("b") as view:
        view.issue_invoice_number(FirmId("acme"), InvoiceId("inv-1"))
    view.close()
    assert root.issue_invoice_number(FirmId("acme"), InvoiceId("inv-1")) == 1


def test_a_view_inside_its_roots_transaction_joins_it_for_its_own_tenant(
        open_store: Callable[..., Store]) -> None:
    root = open_store(tenant="a")
    view = root.for_tenant("b")
    with root.transaction():
        root.issue_invoice_number(FirmId("acme"), InvoiceId("inv-a"))
        n = view.issue_invoice_number(FirmId("acme"), InvoiceId("inv-b"))
        inside = ([i.invoice_id for i in view.invoices(FirmId("acme"))],
                  [i.invoice_id for i in root.invoices(FirmId("acme"))])
    assert (n, inside) == (1, (["inv-b"], ["inv-a"]))


def test_a_failed_transaction_rolls_back_both_tenants_writes(
        open_store: Callable[..., Store]) -> None:
    root = open_store(tenant="a")
    view = root.for_tenant("b")
    def fail() -> None:
        with view.transaction():
            view.issue_invoice_number(FirmId("acme"), InvoiceId("inv-b"))
            root.issue_invoice_number(FirmId("acme"), InvoiceId("inv-a"))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail()
    assert (root.invoices(FirmId("acme")), view.invoices(FirmId("acme"))) == ([], [])


@pytest.mark.parametrize("bad", ["", " a", "a\n", 7])
def test_a_bad_tenant_is_refused_by_name(open_store: Callable[..., Store], bad: object) -> None:
    root = open_store()
    with pytest.raises(ValidationError) as err:
        root.for_tenant(bad)  # type: ignore[arg-type]
    assert (err.value.field, root.platform().tenants()) == ("tenant", ["default"])


def test_a_bad_tenant_opens_no_sqlite_file(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as err:
        SQLiteStore(tmp_path / "x.db", tenant="")
    assert (err.value.field, (tmp_path / "x.db").exists()) == ("tenant", False)


# ---------------------------------------------------------------------- rename


def test_rename_moves_every_row_to_the_new_tenant(open_store: Callable[..., Store]) -> None:
    root = open_store()
    fill(root, "a", "100.00")
    acme = root.for_tenant("acme")
    root.platform().rename_tenant("default", "acme")
    assert (seen(acme), root.agreement_ids(), root.entries(), root.platform().tenants()) == (
        expected("a", "100.00"), [], [], ["acme"])


def test_rename_onto_a_tenant_with_data_is_refused_and_changes_nothing(
        open_store: Callable[..., Store]) -> None:
    a = open_store(tenant="a")
    b = a.for_tenant("b")
    fill(a, "a", "100.00")
    b.add_notification("only-b", None, "x", {})
    with pytest.raises(DuplicateIdError) as err:
        a.platform().rename_tenant("a", "b")
    assert (err.value.ident, seen(a), [n.key for n in b.pending_notifications()],
            a.platform().tenants()) == ("b", expected("a", "100.00"), ["only-b"], ["a", "b"])


def test_rename_of_an_unknown_tenant_is_not_found(open_store: Callable[..., Store]) -> None:
    with pytest.raises(NotFoundError):
        open_store().platform().rename_tenant("nobody", "acme")


@pytest.mark.parametrize(("old", "new", "field"), [("", "x", "old"), ("default", " x", "new")])
def test_rename_names_the_bad_id(open_store: Callable[..., Store], old: str, new: str,
                                 field: str) -> None:
    with pytest.raises(ValidationError) as err:
        open_store().platform().rename_tenant(old, new)
    assert err.value.field == field


# ---------------------------------------------------------------------- migration 8

EMPTY: dict[str, object] = {
    "events": [], "agreements": [], "proposal": [], "invoices": [], "attempt": [], "notes": [],
    "entries": [], "receivable": Money(0, "USD"), "links": [], "syncs": [], "event_of": None,
    "due": [],
}


def fill_v7(old: Store) -> None:
    """What ``fill(store, "old", "100.00")`` wrote before migration 8, row by row."""
    payload = '{"by":"old"}'
    ts, on = old._ts_in(AT), old._date_in(ON)
    money = Money("100.00", "USD")
    body = JournalEntry(EntryId("je-1"), ON, (JournalLine.dr(Account.RECEIVABLE, money),
                                              JournalLine.cr(Account.REVENUE, money)),
                        memo="old", agreement_id=AGR).canonical()
    rows: list[tuple[str, tuple[Any, ...]]] = [
        ("INSERT INTO agreements (agreement_id, version, next_due_on) VALUES (?, 2, ?)",
         (AGR, on)),
        ("INSERT INTO events VALUES ('e1', ?, 1, 'Signed', ?, ?)", (AGR, ts, payload)),
        ("INSERT INTO events VALUES ('e2', ?, 2, 'Noted', ?, ?)", (AGR, ts, payload)),
        ("INSERT INTO proposals VALUES ('p-1', 1)", ()),
        ("INSERT INTO proposal_events VALUES ('e1', 'p-1', 1, 'ProposalDrafted', ?, ?)",
         (ts, payload)),
        ("INSERT INTO invoice_counters VALUES ('acme', 1)", ()),
        ("INSERT INTO invoices VALUES ('inv-1', 'acme', 1, ?, ?)", (AGR, payload)),
        ("INSERT INTO charge_attempts (key, agreement_id, invoice_id, attempt, amount_minor, "
         "currency, recorded_at) VALUES ('k-1', ?, 'inv-1', 1, 10000, 'USD', ?)", (AGR, ts)),
        ("INSERT INTO notifications (key, agreement_id, kind, payload) "
         "VALUES ('n-1', ?, 'invoice.issued', ?)", (AGR, payload)),
        ("INSERT INTO journal_entries VALUES ('je-1', ?, 'USD', ?, 'old', ?)", (on, AGR, body)),
        ("INSERT INTO journal_lines VALUES ('je-1', 0, 'receivable', 'USD', ?, 10000)", (on,)),
        ("INSERT INTO journal_lines VALUES ('je-1', 1, 'revenue', 'USD', ?, -10000)", (on,)),
        ("INSERT INTO work_links VALUES ('karbon', 'w-1', ?, 'm-old', NULL)", (AGR,)),
        ("INSERT INTO accounting_syncs (target, source_id, kind, number, idempotency_key, body, "
         "recorded_at) VALUES ('xero', 'inv-1', 'invoice', 'INV-1', 'key-old', ?, ?)",
         ('{"by": "old"}', ts)),
    ]
    with old._tx() as cur:
        for sql, params in rows:
            old._run(cur, sql, params)


def test_migration_8_keeps_a_single_firm_stores_data_in_default(
        open_store: Callable[..., Store]) -> None:
    fill_v7(open_store(v7=True))
    store = open_store()
    assert (seen(store), store.platform().tenants(), store.migrate()) == (
        expected("old", "100.00"), ["default"], [])


def test_migration_8_of_an_empty_store_registers_only_the_tenant_opened(
        open_store: Callable[..., Store]) -> None:
    open_store(v7=True)
    assert open_store(tenant="acme").platform().tenants() == ["acme"]


def test_order_columns_continue_after_migration_8(open_store: Callable[..., Store]) -> None:
    fill_v7(open_store(v7=True))
    store = open_store()
    store.record_attempt(AttemptKey("k-2"), AGR, InvoiceId("inv-1"), 2, Money("1.00", "USD"))
    store.add_notification("n-2", None, "x", {})
    assert ([a.key for a in store.unfinished_attempts()],
            [n.key for n in store.pending_notifications()]) == (["k-1", "k-2"], ["n-1", "n-2"])


def test_migration_8_leaves_sqlite_foreign_keys_whole(sqlite_path: Path) -> None:
    from milestonebill.stores.sqlite import MIGRATIONS

    old = SQLiteStore(sqlite_path, migrations=MIGRATIONS[:7])
    fill_v7(old)
    old.close()
    with SQLiteStore(sqlite_path) as store:
        problems = store._conn.execute("PRAGMA foreign_key_check").fetchall()
        tables = {r[0] for r in store._conn.execute(
            "SELECT name FROM sqlite_master WHERE name LIKE '%_v7'")}
        assert (problems, tables, seen(store)) == ([], set(), expected("old", "100.00"))


def test_a_migrated_store_moves_into_a_named_tenant(open_store: Callable[..., Store]) -> None:
    fill_v7(open_store(v7=True))
    default = open_store()
    acme = default.for_tenant("acme")
    default.platform().rename_tenant("default", "acme")
    assert (seen(acme), seen(default), default.platform().tenants()) == (
        expected("old", "100.00"), EMPTY, ["acme"])
    # and acme goes on billing where it stood: its next invoice of firm acme is number 2
    assert acme.issue_invoice_number(FirmId("acme"), InvoiceId("inv-2")) == 2


def test_moving_a_migrated_store_onto_a_tenant_with_data_changes_nothing(
        open_store: Callable[..., Store]) -> None:
    fill_v7(open_store(v7=True))
    default = open_store()
    acme = default.for_tenant("acme")
    acme.issue_invoice_number(FirmId("acme"), InvoiceId("inv-9"))
    with pytest.raises(DuplicateIdError):
        default.platform().rename_tenant("default", "acme")
    assert (seen(default), [i.invoice_id for i in acme.invoices(FirmId("acme"))],
            default.platform().tenants()) == (
        expected("old", "100.00"), ["inv-9"], ["acme", "default"])


# ---------------------------------------------------------------------- PostgreSQL RLS


@pytest.fixture
def app_role(pg_dsn: str, pg_schema: str) -> Iterator[tuple[PostgresStore, Callable[..., PostgresStore]]]:
    """The schema's owner (a superuser here, as in CI) and a way to open stores as a
    plain LOGIN role granted by ``grant_app_role``; the role is dropped afterwards."""
    import uuid

    import psycopg
    from psycopg.conninfo import make_conninfo

    from milestonebill.stores.postgres import PostgresStore

    role = f"mb_app_{uuid.uuid4().hex[:12]}"
    opened: list[PostgresStore] = []
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
    owner = PostgresStore(pg_dsn, schema=pg_schema, tenant="a")
    opened.append(owner)
    owner.grant_app_role(role)

    def as_app(**kwargs: Any) -> PostgresStore:
        store = PostgresStore(make_conninfo(pg_dsn, user=role), schema=pg_schema,
                              migrate=False, **kwargs)
        opened.append(store)
        return store

    try:
        yield owner, as_app
    finally:
        for store in opened:
            store.close()
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


def raw(store: Store, sql: str) -> list[tuple[Any, ...]]:
    """Run ``sql`` as written -- no tenant filter added -- in one of the store's transactions."""
    with store._tx() as cur:
        cur.execute(sql)
        if getattr(cur, "description", None) is None:
            return []
        return [tuple(r) for r in cur.fetchall()]


pg = pytest.mark.postgres


@pg
def test_row_security_binds_the_app_role_and_not_the_superuser(
        app_role: tuple[PostgresStore, Callable[..., PostgresStore]]) -> None:
    owner, as_app = app_role
    app = as_app(tenant="a")
    assert (owner.row_security_enforced(), app.row_security_enforced()) == (False, True)


@pg
def test_a_query_without_a_tenant_filter_sees_only_the_set_tenants_rows(
        app_role: tuple[PostgresStore, Callable[..., PostgresStore]]) -> None:
    owner, as_app = app_role
    fill(owner, "a", "100.00")
    fill(owner.for_tenant("b"), "b", "250.00")
    app = as_app(tenant="a")
    assert (raw(app, "SELECT tenant_id, event_id FROM events ORDER BY 1, 2"),
            raw(app, "SELECT count(*) FROM journal_lines"),
            raw(app, "SELECT tenant_id FROM invoices")) == (
        [("a", "e1"), ("a", "e2")], [(2,)], [("a",)])


@pg
def test_an_update_without_a_tenant_filter_changes_only_the_set_tenants_rows(
        app_role: tuple[PostgresStore, Callable[..., PostgresStore]]) -> None:
    owner, as_app = app_role
    b = owner.for_tenant("b")
    fill(owner, "a", "100.00")
    fill(b, "b", "250.00")
    app = as_app(tenant="a")
    changed = raw(app, "UPDATE notifications SET acked = 1 RETURNING tenant_id")
    raw(app, "UPDATE events SET payload = '{}'")
    raw(app, "DELETE FROM work_links")
    assert (changed, owner.pending_notifications(), seen(b)) == (
        [("a",)], [], expected("b", "250.00"))


@pg
def test_a_connection_that_set_no_tenant_sees_no_rows(
        app_role: tuple[PostgresStore, Callable[..., PostgresStore]]) -> None:
    import psycopg

    from milestonebill.stores.postgres import PostgresStore

    owner, as_app = app_role
    fill(owner, "a", "100.00")
    app = as_app(tenant="a")
    assert isinstance(app, PostgresStore)
    conninfo = app._pool.conninfo
    assert isinstance(conninfo, str)
    with psycopg.connect(conninfo, options=f"-c search_path={app.schema}") as conn:
        assert (conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
                             ).fetchall(),
                conn.execute("SELECT count(*) FROM events").fetchall()) == ([(False,)], [(0,)])


@pg
def test_writing_another_tenants_row_is_refused_by_the_policy(
        app_role: tuple[PostgresStore, Callable[..., PostgresStore]]) -> None:
    from milestonebill.errors import StoreError

    _, as_app = app_role
    app = as_app(tenant="a")
    with pytest.raises(StoreError, match="row-level security"):
        raw(app, "INSERT INTO notifications (tenant_id, key, kind, payload) "
                 "VALUES ('b', 'n-x', 'x', '{}')")
    assert app.for_tenant("b").pending_notifications() == []


@pg
def test_the_app_role_works_through_every_port_under_row_security(
        app_role: tuple[PostgresStore, Callable[..., PostgresStore]]) -> None:
    _, as_app = app_role
    a = as_app(tenant="a")
    b = a.for_tenant("b")
    fill(a, "a", "100.00")
    fill(b, "b", "250.00")
    with a.transaction():  # the view joins a's transaction and switches the setting
        inside = seen(b)
        mine = seen(a)
    assert (inside, mine, a.platform().tenants()) == (
        expected("b", "250.00"), expected("a", "100.00"), ["a", "b"])


@pg
def test_the_app_role_cannot_rename_a_tenant(
        app_role: tuple[PostgresStore, Callable[..., PostgresStore]]) -> None:
    from milestonebill.errors import StoreError

    owner, as_app = app_role
    fill(owner, "a", "100.00")
    app = as_app(tenant="a")
    with pytest.raises(StoreError):
        app.platform().rename_tenant("a", "c")
    assert (seen(app), app.platform().tenants(), app.row_security_enforced()) == (
        expected("a", "100.00"), ["a"], True)


@pg
def test_the_owners_rename_keeps_row_security_forced(
        app_role: tuple[PostgresStore, Callable[..., PostgresStore]]) -> None:
    owner, as_app = app_role
    fill(owner, "a", "100.00")
    owner.platform().rename_tenant("a", "c")
    app = as_app(tenant="c")
    assert (seen(app), app.row_security_enforced()) == (expected("a", "100.00"), True)


@pg
def test_migrate_false_refuses_a_schema_behind_the_migrations(pg_dsn: str,
                                                              pg_schema: str) -> None:
    from milestonebill.errors import StoreError
    from milestonebill.stores.postgres import MIGRATIONS, PostgresStore

    PostgresStore(pg_dsn, schema=pg_schema, migrations=MIGRATIONS[:7]).close()
    with pytest.raises(StoreError, match="migrations"):
        PostgresStore(pg_dsn, schema=pg_schema, migrate=False)


@pg
@pytest.mark.parametrize("bad", ["", "x; DROP TABLE events", 'a"b', "1abc"])
def test_grant_app_role_refuses_a_name_that_is_not_an_identifier(
        app_role: tuple[PostgresStore, Callable[..., PostgresStore]], bad: str) -> None:
    owner, _ = app_role
    with pytest.raises(ValidationError) as err:
        owner.grant_app_role(bad)
    assert err.value.field == "role"


@pg
def test_an_owner_that_is_not_a_superuser_can_rename_under_forced_security(
        pg_dsn: str, pg_schema: str) -> None:
    import uuid

    import psycopg
    from psycopg.conninfo import make_conninfo

    from milestonebill.stores.postgres import PostgresStore

    role = f"mb_owner_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f'GRANT CREATE ON DATABASE "{conn.info.dbname}" TO {role}')
    try:
        with PostgresStore(make_conninfo(pg_dsn, user=role), schema=pg_schema,
                           tenant="a") as owner:
            fill(owner, "a", "100.00")
            fill(owner.for_tenant("b"), "b", "250.00")
            c = owner.for_tenant("c")  # registered, without data: a may move in
            owner.platform().rename_tenant("a", "c")
            assert (owner.row_security_enforced(), seen(c), seen(owner.for_tenant("b")),
                    seen(owner), owner.platform().tenants()) == (
                True, expected("a", "100.00"), expected("b", "250.00"), EMPTY, ["b", "c"])
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {pg_schema} CASCADE")
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


# ---------------------------------------------------------------------- one file per tenant


def test_each_tenant_gets_a_file_of_its_own(tmp_path: Path) -> None:
    from milestonebill.stores.sqlite import SQLiteTenantFiles

    files = SQLiteTenantFiles(tmp_path / "tenants")
    with files.store("a") as a, files.store("b") as b:
        fill(a, "a", "100.00")
        fill(b, "b", "250.00")
        assert (seen(a), seen(b), a.tenant, a.platform().tenants(), b.platform().tenants()) == (
            expected("a", "100.00"), expected("b", "250.00"), "a", ["a"], ["b"])
    assert (sorted(p.name for p in (tmp_path / "tenants").glob("*.db")), files.tenants()) == (
        ["a.db", "b.db"], ["a", "b"])


def test_reopening_a_tenants_file_finds_its_data(tmp_path: Path) -> None:
    from milestonebill.stores.sqlite import SQLiteTenantFiles

    files = SQLiteTenantFiles(tmp_path)
    with files.store("Acme LLP") as acme:
        fill(acme, "a", "100.00")
    with files.store("Acme LLP") as again:
        assert seen(again) == expected("a", "100.00")


@pytest.mark.parametrize(("tenant", "name"), [
    ("acme", "acme.db"),
    ("Acme", "%41cme.db"),
    ("../etc/passwd", "%2E%2E%2Fetc%2Fpasswd.db"),
    (".", "%2E.db"),
    ("con", "%63on.db"),
    ("café", "caf%C3%A9.db"),
])
def test_a_tenant_id_maps_to_one_safe_file_name(tmp_path: Path, tenant: str, name: str) -> None:
    from milestonebill.stores.sqlite import SQLiteTenantFiles

    files = SQLiteTenantFiles(tmp_path)
    with files.store(tenant):
        pass
    assert ([p.name for p in tmp_path.iterdir() if p.suffix == ".db"], files.tenants()) == (
        [name], [tenant])


@pytest.mark.parametrize("bad", ["", " acme", "a\x00b", "x" * 198, "é" * 40])
def test_a_tenant_that_cannot_be_a_file_is_refused_before_anything_is_made(
        tmp_path: Path, bad: str) -> None:
    from milestonebill.stores.sqlite import SQLiteTenantFiles

    files = SQLiteTenantFiles(tmp_path / "tenants")
    with pytest.raises(ValidationError) as err:
        files.store(bad)
    assert (err.value.field, (tmp_path / "tenants").exists()) == ("tenant", False)


def test_files_the_helper_did_not_name_are_not_tenants(tmp_path: Path) -> None:
    from milestonebill.stores.sqlite import SQLiteTenantFiles

    for name in ("Upper.db", "%zz.db", "%FF.db", "notes.txt", "con.db"):
        (tmp_path / name).write_text("")
    (tmp_path / "dir.db").mkdir()
    assert SQLiteTenantFiles(tmp_path).tenants() == []


@pg
class TestPostgresAppRoleBesideANeighbour(AgreementStoreContract):
    """The whole store contract as the app role under row-level security, beside
    another tenant's rows under the same ids."""

    @pytest.fixture
    def make_store(self, app_role: tuple[PostgresStore, Callable[..., PostgresStore]]
                   ) -> StoreFactory:
        owner, as_app = app_role
        fill(owner.for_tenant("neighbour"), "n", "999.00")

        def make(clock: Clock) -> PostgresStore:
            return as_app(tenant="t1", clock=clock, pool_size=2)

        return make


@pg
def test_listing_every_tenants_agreements_works_on_a_read_only_session(
        pg_dsn: str, pg_schema: str) -> None:
    """What ``milestonebill tenants`` does -- bind to each listed tenant, count its
    agreements -- writes nothing, so a read-only replica or role can answer it."""
    import uuid

    import psycopg
    from psycopg.conninfo import make_conninfo

    from milestonebill.stores.postgres import PostgresStore

    role = f"mb_ro_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN BYPASSRLS")
        conn.execute(f"ALTER ROLE {role} SET default_transaction_read_only = on")
    try:
        with PostgresStore(pg_dsn, schema=pg_schema, tenant="a") as owner:
            fill(owner, "a", "10.00")
            fill(owner.for_tenant("b"), "b", "20.00")
            owner.grant_app_role(role)
        with PostgresStore(make_conninfo(pg_dsn, user=role), schema=pg_schema,
                           migrate=False, tenant="a") as store:
            counts = {t: len(store.for_tenant(t).agreement_ids())
                      for t in store.platform().tenants()}
            assert counts == {"a": 1, "b": 1}
            with pytest.raises(StoreError):  # and the session really is read-only
                store.for_tenant("c")
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")

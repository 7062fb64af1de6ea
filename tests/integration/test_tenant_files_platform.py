"""One SQLite file per tenant, as a platform: listing, renaming, and a fair scheduler over the files."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from milestonebill.agreement import AgreementId
from milestonebill.clock import FixedClock
from milestonebill.engine import Biller, FirmId, TenantScheduler
from milestonebill.errors import DuplicateIdError, NotFoundError, StoreError, ValidationError
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.ids import TenantId
from milestonebill.ledger import Account
from milestonebill.money import Money
from milestonebill.schedule import Milestone, MilestoneId, Trigger
from milestonebill.stores.sqlite import SQLiteStore, SQLiteTenantFiles
from milestonebill.stores.tenancy import PlatformSource
from milestonebill.testing.scenarios import proposal, signed

CLOCK = FixedClock(datetime(2026, 3, 2, 9, tzinfo=UTC))
AGR = AgreementId("agr-1")


def deposit(amount: str) -> Milestone:
    return Milestone(MilestoneId("deposit"), "Deposit", amount=Money(amount, "USD"),
                     trigger=Trigger.ON_SIGNING)


def open_agreements(store: SQLiteStore, amount: str, count: int = 1) -> None:
    biller = Biller(store, InMemoryGateway(), clock=CLOCK, firm_id=FirmId("main"))
    for n in range(count):
        biller.open(signed(proposal([deposit(amount)]), agreement_id=AgreementId(f"agr-{n + 1}")))


def test_the_directory_gives_the_platform_calls(tmp_path: Path) -> None:
    files = SQLiteTenantFiles(tmp_path)
    for tenant in ("acme", "Bolt & Co"):
        files.store(tenant).close()
    assert isinstance(files, PlatformSource)
    assert files.platform().tenants() == ["Bolt & Co", "acme"]


def test_a_rename_moves_the_rows_and_the_file(tmp_path: Path) -> None:
    files = SQLiteTenantFiles(tmp_path)
    with files.store("default") as single:
        open_agreements(single, "100.00")
        events = [(e.event_id, e.payload) for e in single.load(AGR)]
    files.platform().rename_tenant("default", "acme")
    assert (files.tenants(), files.path("default").exists()) == (["acme"], False)
    with files.store("acme") as acme:
        assert (acme.agreement_ids(), acme.platform().tenants()) == ([AGR], ["acme"])
        assert [(e.event_id, e.payload) for e in acme.load(AGR)] == events != []


def test_a_rename_cut_short_after_the_rows_is_finished_by_calling_it_again(
        tmp_path: Path) -> None:
    files = SQLiteTenantFiles(tmp_path)
    with files.store("old") as old:
        open_agreements(old, "100.00")
        # As if the process stopped after the rows moved, before the file did.
        old.platform().rename_tenant("old", "new")
    files.platform().rename_tenant("old", "new")
    with files.store("new") as new:
        assert (new.agreement_ids(), files.tenants()) == ([AGR], ["new"])


def test_a_rename_onto_a_tenant_with_a_file_or_from_none_is_refused(tmp_path: Path) -> None:
    files = SQLiteTenantFiles(tmp_path)
    with files.store("a") as a, files.store("b") as b:
        open_agreements(a, "100.00")
        open_agreements(b, "250.00")
    with pytest.raises(DuplicateIdError, match="'b'"):
        files.platform().rename_tenant("a", "b")
    with pytest.raises(NotFoundError, match="'c'"):
        files.platform().rename_tenant("c", "d")
    with pytest.raises(ValidationError) as err:
        files.platform().rename_tenant("a", " d")
    assert err.value.field == "new"
    with files.store("a") as a, files.store("b") as b:  # nothing moved
        assert (a.agreement_ids(), b.agreement_ids(), files.tenants()) == ([AGR], [AGR], ["a", "b"])


def test_a_file_open_elsewhere_is_not_moved(tmp_path: Path) -> None:
    files = SQLiteTenantFiles(tmp_path)
    files.store("a").close()
    elsewhere = sqlite3.connect(files.path("a"))
    try:
        elsewhere.execute("PRAGMA journal_mode = WAL")
        elsewhere.execute("SELECT count(*) FROM agreements").fetchall()
        with pytest.raises(StoreError, match="open elsewhere"):
            files.platform().rename_tenant("a", "b")
        assert (files.path("a").exists(), files.path("b").exists()) == (True, False)
    finally:
        elsewhere.close()
    files.platform().rename_tenant("a", "b")  # once it is closed, again finishes the move
    assert files.tenants() == ["b"]


def test_a_scheduler_bills_each_tenants_own_file(tmp_path: Path) -> None:
    files = SQLiteTenantFiles(tmp_path)
    amounts = {"acme": "100.00", "bolt": "250.00"}
    for tenant, amount in amounts.items():
        with files.store(tenant) as store:
            open_agreements(store, amount, count=3)
    opened: list[SQLiteStore] = []

    def biller_for(tenant: TenantId) -> Biller:
        store = files.store(tenant, clock=CLOCK)
        opened.append(store)
        return Biller(store, InMemoryGateway(), clock=CLOCK, firm_id=FirmId("main"))

    try:
        summaries = TenantScheduler(files, biller_for, batch=2).run(CLOCK.today())
    finally:
        for store in opened:
            store.close()
    assert {t: s.counts.invoices for t, s in summaries.items() if s.counts} == {
        "acme": 3, "bolt": 3}
    for tenant, amount in amounts.items():
        with files.store(tenant) as store:
            assert store.balance(Account.CLEARING, currency="USD") == Money.from_minor(
                3 * Money(amount, "USD").minor, "USD")
            assert [i.number for i in store.invoices(FirmId("main"))] == [1, 2, 3]

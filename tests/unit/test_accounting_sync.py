"""Syncing an export sends each document once: re-runs, crashes, outages, refusals."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from milestonebill.errors import AccountingSinkError
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.integrations.accounting import Export
from milestonebill.integrations.accounts import AccountMap, Ref
from milestonebill.integrations.quickbooks import quickbooks_export
from milestonebill.integrations.sync import InMemorySink, SinkFault, source_of, sync
from milestonebill.integrations.xero import xero_export
from milestonebill.ledger import Account
from milestonebill.periods import Period
from milestonebill.reports.catalog import Books
from milestonebill.stores.base import SyncRecord
from milestonebill.stores.memory import InMemoryStore
from milestonebill.stores.sqlite import SQLiteStore
from milestonebill.testing import scenarios
from milestonebill.testing.accounting import FIRST, SECOND, accounting_world, example_account_map

World = scenarios.World[InMemoryGateway]


@pytest.fixture(scope="module")
def world() -> World:
    return accounting_world("EUR")


@pytest.fixture(scope="module")
def books(world: World) -> Books:
    return Books.of([world.load(FIRST), world.load(SECOND)], world.store.entries())


@pytest.fixture(scope="module")
def period(world: World) -> Period:
    return Period(world.start.date(), world.clock.today() + timedelta(days=1))


@pytest.fixture(scope="module")
def xero(books: Books, period: Period) -> Export:
    return xero_export(books, period, example_account_map("EUR"))


Opener = Callable[[], Any]


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def open_journal(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens the sync journal again, as a process restarted after a crash would."""
    opened: list[Any] = []
    if request.param == "memory":
        shared = InMemoryStore()
        yield lambda: shared
        return
    if request.param == "sqlite":
        def make() -> Any:
            opened.append(SQLiteStore(tmp_path / "books.db"))
            return opened[-1]
    else:
        from milestonebill.stores.postgres import PostgresStore

        dsn, schema = request.getfixturevalue("pg_dsn"), request.getfixturevalue("pg_schema")

        def make() -> Any:
            opened.append(PostgresStore(dsn, schema=schema, pool_size=2))
            return opened[-1]
    yield make
    for store in opened:
        store.close()


def created_once(sink: InMemorySink) -> bool:
    return max(Counter(r.source_id for r in sink.created).values(), default=1) == 1


def test_a_second_sync_of_the_same_export_sends_nothing(xero: Export) -> None:
    journal, sink = InMemoryStore(), InMemorySink(prefix="xero")
    first = sync(xero, sink, journal)
    calls = len(sink.calls)
    again = sync(xero, sink, journal)
    assert len(sink.calls) == calls  # not even a call the system would answer from its keys
    assert (len(first.sent), len(again.sent), len(again.already), len(sink.created)) == (
        len(xero.documents), 0, len(xero.documents), len(xero.documents))
    assert [r.target_id for r in first.sent] == [f"xero-{n}" for n in range(
        1, len(xero.documents) + 1)]


def test_a_crash_after_the_system_created_a_document_resumes_without_a_duplicate(
        xero: Export, open_journal: Opener) -> None:
    victim = xero.documents[3].source_id
    sink = InMemorySink(faults={victim: [SinkFault.LOST]})
    with pytest.raises(AccountingSinkError):
        sync(xero, sink, open_journal())
    journal = open_journal()  # the process restarted
    left = [r.source_id for r in journal.syncs("xero", unfinished=True)]
    report = sync(xero, sink, journal)
    assert (left, report.sent[0].source_id, len(sink.created), created_once(sink)) == (
        [victim], victim, len(xero.documents), True)
    assert [r.sent for r in journal.syncs("xero")] == [True] * len(xero.documents)


class Died(BaseException):
    """The process died (not an error a sync could catch)."""


class DyingSink(InMemorySink):
    """Dies before sending the n-th document, once."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.countdown = n

    def send(self, record: SyncRecord) -> str:
        self.countdown -= 1
        if self.countdown == 0:
            raise Died
        return super().send(record)


def test_a_process_that_dies_between_recording_and_sending_resumes_from_the_journal(
        xero: Export, open_journal: Opener) -> None:
    sink = DyingSink(5)
    with pytest.raises(Died):
        sync(xero, sink, open_journal())
    report = sync(xero, sink, open_journal())
    assert (len(sink.created), created_once(sink), len(report.sent)) == (
        len(xero.documents), True, len(xero.documents) - 4)


def test_an_unreachable_system_leaves_the_rest_for_the_next_sync(xero: Export) -> None:
    journal = InMemoryStore()
    victim = xero.documents[0].source_id
    sink = InMemorySink(faults={victim: [SinkFault.UNREACHABLE, SinkFault.UNREACHABLE]})
    for _ in range(2):
        with pytest.raises(AccountingSinkError):
            sync(xero, sink, journal)
    report = sync(xero, sink, journal)
    assert (len(report.sent), len(sink.created), created_once(sink)) == (
        len(xero.documents), len(xero.documents), True)


def test_a_refused_document_is_reported_forgotten_and_sent_once_corrected(
        xero: Export) -> None:
    journal = InMemoryStore()
    refused = xero.documents[0].source_id
    sink = InMemorySink(faults={refused: [SinkFault.REFUSE]})
    first = sync(xero, sink, journal)
    assert ([r for r, _ in first.refused], journal.get_sync("xero", refused)) == (
        [refused], None)
    second = sync(xero, sink, journal)
    assert ([r.source_id for r in second.sent], len(sink.created), created_once(sink)) == (
        [refused], len(xero.documents), True)


def test_a_document_changed_since_it_was_sent_is_reported_and_not_sent_again(
        books: Books, period: Period, xero: Export) -> None:
    journal, sink = InMemoryStore(), InMemorySink()
    sync(xero, sink, journal)
    amap = example_account_map("EUR")
    moved = AccountMap(dict(amap.accounts) | {Account.CONTRACT_LIABILITY: Ref("2399")},
                       customers=amap.customers, tax_rates=amap.tax_rates, no_tax=amap.no_tax,
                       currency=amap.currency)
    report = sync(xero_export(books, period, moved), sink, journal)
    old = f'"AccountCode":"{amap.ref(Account.CONTRACT_LIABILITY).id}"'
    touched = [d.source_id for d in xero.documents if old in d.text()]
    assert {d.kind for d in xero.documents if d.source_id in touched} == {
        "Invoice", "CreditNote", "ManualJournal"}
    assert (list(report.changed), report.sent, len(sink.created)) == (
        touched, (), len(xero.documents))


def test_quickbooks_payments_are_linked_to_the_ids_quickbooks_gave_their_invoices(
        books: Books, period: Period) -> None:
    journal, sink = InMemoryStore(), InMemorySink(prefix="qb")
    export = quickbooks_export(books, period, example_account_map())
    sync(export, sink, journal)
    ids = {r.source_id: r.target_id for r in journal.syncs("quickbooks")}
    payments = [json.loads(r.body) for r in sink.created if r.kind == "Payment"]
    paid = [d.links[0].source_id for d in export.documents if d.kind == "Payment"]
    assert [p["Line"][0]["LinkedTxn"][0]["TxnId"] for p in payments] == [ids[s] for s in paid]


def test_a_document_number_maps_back_to_our_id(books: Books, period: Period) -> None:
    journal = InMemoryStore()
    export = quickbooks_export(books, period, example_account_map())
    sync(export, InMemorySink(), journal)
    invoice = next(d for d in export.documents if d.kind == "Invoice")
    assert (source_of(journal, "quickbooks", "Invoice", invoice.number),
            source_of(journal, "quickbooks", "Invoice", "INV-404")) == (invoice.source_id, None)


def test_one_export_goes_to_two_companies_under_their_own_names(xero: Export) -> None:
    journal, sink = InMemoryStore(), InMemorySink()
    one = sync(xero, sink, journal, target="xero:uk")
    two = sync(xero, sink, journal, target="xero:nz")
    assert (len(one.sent), len(two.sent), len(sink.created)) == (
        len(xero.documents), len(xero.documents), 2 * len(xero.documents))


faults = st.lists(st.sampled_from([SinkFault.UNREACHABLE, SinkFault.LOST]), max_size=3)


@settings(max_examples=30, deadline=None)
@given(st.dictionaries(st.integers(min_value=0, max_value=30), faults, max_size=6))
def test_whatever_fails_and_however_often_it_is_retried_each_document_is_created_once(
        xero: Export, script: dict[int, list[SinkFault]]) -> None:
    docs = xero.documents
    sink = InMemorySink(faults={docs[n % len(docs)].source_id: f for n, f in script.items()})
    journal = InMemoryStore()
    for _ in range(1 + sum(len(f) for f in script.values())):
        try:
            sync(xero, sink, journal)
            break
        except AccountingSinkError:
            continue
    assert (sorted(r.source_id for r in sink.created), created_once(sink)) == (
        sorted(d.source_id for d in docs), True)
    assert journal.syncs("xero", unfinished=True) == []

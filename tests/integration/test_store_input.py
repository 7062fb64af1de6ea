"""Ids and text no database can write are refused by name before they reach one,
the same way by every store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from milestonebill.errors import ValidationError
from milestonebill.ids import AgreementId, AttemptKey, EventId, FirmId, InvoiceId, WorkerId
from milestonebill.money import Money
from milestonebill.stores.base import BillingStore, StoredEvent
from milestonebill.stores.memory import InMemoryStore
from milestonebill.stores.sqlite import SQLiteStore

LONE = "agr-\ud800"  # a lone surrogate: no UTF-8 column can hold it
NUL = "agr-\x00"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BillingStore]:
    if request.param == "memory":
        yield InMemoryStore()
    elif request.param == "sqlite":
        yield SQLiteStore(tmp_path / "books.db")
    else:
        from milestonebill.stores.postgres import PostgresStore

        dsn = request.getfixturevalue("pg_dsn")
        schema = request.getfixturevalue("pg_schema")
        pg = PostgresStore(dsn, schema=schema)
        yield pg
        pg.close()


def event(agreement_id: str = "agr-1", event_id: str = "e1", **payload: object) -> StoredEvent:
    return StoredEvent(AgreementId(agreement_id), EventId(event_id), 0, "Paused", T0,
                       payload or {"reason": "holiday"})


@pytest.mark.parametrize("bad", [LONE, NUL])
def test_every_id_taking_call_refuses_an_id_no_database_can_write(
        store: BillingStore, bad: str) -> None:
    store.append(AgreementId("agr-1"), [event()], expected_version=0)
    calls: list[Callable[[], object]] = [
        lambda: store.append(AgreementId(bad), [event(bad)], expected_version=0),
        lambda: store.load(AgreementId(bad)),
        lambda: store.version(AgreementId(bad)),
        lambda: store.set_next_due(AgreementId(bad), date(2026, 4, 1)),
        lambda: store.next_due(AgreementId(bad)),
        lambda: store.claim_one(WorkerId("w1"), AgreementId(bad), lease_seconds=30),
        lambda: store.release(WorkerId(bad), [AgreementId("agr-1")]),
        lambda: store.complete(WorkerId("w1"), AgreementId(bad), None),
        lambda: store.issue_invoice_number(FirmId("acme"), InvoiceId(bad)),
        lambda: store.get_invoice(InvoiceId(bad)),
        lambda: store.invoices(FirmId(bad)),
        lambda: store.record_attempt(AttemptKey(bad), AgreementId("agr-1"), InvoiceId("i1"), 1,
                                     Money("1.00", "USD")),
        lambda: store.get_attempt(AttemptKey(bad)),
        lambda: store.add_notification(bad, AgreementId("agr-1"), "invoice.issued", {}),
        lambda: store.ack([bad]),
        lambda: store.get_entry(bad),
        lambda: store.entries(agreement_id=bad),
        lambda: event(event_id=bad),
    ]
    for call in calls:
        with pytest.raises(ValidationError) as caught:
            call()
        assert caught.value.value == bad
    assert store.version(AgreementId("agr-1")) == 1


def test_a_payload_with_a_lone_surrogate_is_refused_before_any_store(store: BillingStore) -> None:
    with pytest.raises(ValidationError) as caught:
        event(reason="holiday \ud83d")
    assert caught.value.field == "payload"
    assert store.agreement_ids() == []


@pytest.mark.parametrize("bad", [LONE, NUL])
def test_the_sql_backstop_refuses_text_no_database_can_write(bad: str) -> None:
    # Below the named checks: whatever text a query is given.
    from milestonebill.stores._sql import _writable

    assert _writable(("agr-1", "agr-ü", 5, None)) == ("agr-1", "agr-ü", 5, None)
    with pytest.raises(ValidationError):
        _writable(("ok", bad))


def test_text_with_other_scripts_is_stored_and_read_back(store: BillingStore) -> None:
    e = event("agr-ü", "é1", reason="Müller & Søn, 東京 \U0001f600")
    store.append(AgreementId("agr-ü"), [e], expected_version=0)
    assert [x.data for x in store.load(AgreementId("agr-ü"))] == [e.data]

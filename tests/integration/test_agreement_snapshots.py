"""The Biller's snapshots of loaded agreements never give a wrong agreement.

On every store: a snapshot whose last event a rolled-back transaction wrote
is not trusted; events another writer appended after a snapshot's version
are loaded; a stored event the fold refuses is refused as by a full fold.
Agreements compare by their events, so the checks compare every field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from milestonebill.agreement import (
    Agreement,
    AgreementId,
    Event,
    InvoiceIssued,
    PaymentSucceeded,
    apply,
    event_to_json,
)
from milestonebill.clock import FixedClock
from milestonebill.engine import Biller
from milestonebill.engine._snapshots import Snapshots
from milestonebill.errors import NotFoundError
from milestonebill.gateways import InMemoryGateway
from milestonebill.ids import EventId, FirmId, InvoiceId, ItemId
from milestonebill.invoicing import due_invoices
from milestonebill.money import Money
from milestonebill.schedule import RecurringCharge
from milestonebill.schedule.recurring import Interval
from milestonebill.stores import InMemoryStore, SQLiteStore
from milestonebill.stores.base import BillingStore, StoredEvent
from milestonebill.testing.scenarios import T0, proposal, signed


def weekly(weeks: int) -> list[Event]:
    """A weekly retainer billed and charged for ``weeks`` weeks."""
    charge = RecurringCharge(ItemId("care"), "Care", Money("100.00", "USD"), Interval.WEEKLY,
                             start=T0.date())
    a = signed(proposal(recurring=[charge]))
    for week in range(weeks):
        at = T0 + timedelta(weeks=week)
        for draft in due_invoices(a, at.date()):
            inv = attrs.evolve(draft, number=f"INV-{len(a.invoices) + 1:05d}")
            a = apply(a, InvoiceIssued(f"inv-{inv.id}", a.version + 1, at, inv))
            a = apply(a, PaymentSucceeded(f"pay-{inv.id}", a.version + 1, at, inv.id,
                                          inv.total, f"ch-{inv.id}"))
    return list(a.events)


EVENTS = weekly(6)
AID = Agreement.from_events(EVENTS[:1]).id


def state(a: Agreement) -> dict[str, Any]:
    return {f.name: getattr(a, f.name) for f in attrs.fields(Agreement) if f.init}


def stored(e: Event, agreement_id: AgreementId = AID) -> StoredEvent:
    return StoredEvent(agreement_id, EventId(e.event_id), e.version, type(e).__name__,
                       e.effective_at, event_to_json(e))


def biller(store: BillingStore) -> Biller:
    return Biller(store, InMemoryGateway(), clock=FixedClock(T0), firm_id=FirmId("f"))


class Boom(Exception):
    pass


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Any]]:
    """Opens connections to one store (a second call: another writer on the same data)."""
    opened: list[Any] = []
    if request.param == "memory":
        shared = InMemoryStore()

        def open_one() -> Any:
            return shared
    elif request.param == "sqlite":
        def open_one() -> Any:
            opened.append(SQLiteStore(tmp_path / "books.db"))
            return opened[-1]
    else:
        from milestonebill.stores.postgres import PostgresStore

        dsn = request.getfixturevalue("pg_dsn")
        schema = request.getfixturevalue("pg_schema")

        def open_one() -> Any:
            opened.append(PostgresStore(dsn, schema=schema))
            return opened[-1]
    yield open_one
    for s in opened:
        s.close()


def _other_invoice(n: int) -> InvoiceIssued:
    """An invoice at version ``n + 1`` that the stream's own event there is not."""
    mine = EVENTS[n]
    assert isinstance(mine, InvoiceIssued)
    return InvoiceIssued("inv-other", n + 1, mine.effective_at,
                         attrs.evolve(mine.invoice, id=InvoiceId("other"), number="INV-X"))


def test_a_snapshot_of_a_rolled_back_append_is_not_trusted(open_store: Callable[[], Any]) -> None:
    store = open_store()
    store.append(AID, [stored(e) for e in EVENTS[:3]], 0)
    b = biller(store)
    b.load(AID)
    seen = 0
    try:
        with store.transaction():
            store.append(AID, [stored(EVENTS[3])], 3)
            seen = b.load(AID).version  # folded, and kept, inside the transaction
            raise Boom
    except Boom:
        pass
    assert seen == 4
    other = _other_invoice(3)
    store.append(AID, [stored(other)], 3)
    assert state(b.load(AID)) == state(Agreement.from_events([*EVENTS[:3], other]))


def test_a_snapshot_never_hides_what_another_writer_appended(
        open_store: Callable[[], Any]) -> None:
    mine, theirs = open_store(), open_store()
    mine.append(AID, [stored(e) for e in EVENTS[:4]], 0)
    b = biller(mine)
    assert b.load(AID).version == 4
    theirs.append(AID, [stored(e) for e in EVENTS[4:]], 4)
    assert state(b.load(AID)) == state(Agreement.from_events(EVENTS))


def test_a_stored_event_the_fold_refuses_is_refused_after_a_snapshot_too(
        open_store: Callable[[], Any]) -> None:
    store = open_store()
    store.append(AID, [stored(e) for e in EVENTS[:4]], 0)
    b = biller(store)
    b.load(AID)
    last = EVENTS[3]
    stray = PaymentSucceeded("stray", 5, last.effective_at + timedelta(hours=1),
                             InvoiceId("nowhere"), Money("1.00", "USD"), "ch-stray")
    store.append(AID, [stored(stray)], 4)
    with pytest.raises(NotFoundError) as from_snapshot:
        b.load(AID)
    with pytest.raises(NotFoundError) as from_scratch:
        biller(store).load(AID)
    assert str(from_snapshot.value) == str(from_scratch.value)


def test_snapshots_stay_within_their_budget_of_events() -> None:
    kept = Snapshots(budget=10)
    a = Agreement.from_events(EVENTS[:4])
    b = attrs.evolve(Agreement.from_events(EVENTS[:1]), id=AgreementId("b"))
    c = attrs.evolve(Agreement.from_events(EVENTS[:7]), id=AgreementId("c"))
    for one in (a, b, c):  # 4 + 1 + 7 events > 10: the least recently loaded goes
        kept.put(one, "payload")
    assert [kept.get(x) is not None for x in ("agr-1", "b", "c")] == [False, True, True]
    kept.put(attrs.evolve(Agreement.from_events(EVENTS[:11]), id=AgreementId("d")), "p")
    # One beyond the whole budget alone is not kept, and pushes nothing out.
    assert [kept.get(x) is not None for x in ("b", "c", "d")] == [True, True, False]


def test_snapshots_keep_at_most_their_number_of_agreements() -> None:
    # Short agreements hold far more than their events (lookups, plan, balances):
    # the count bounds what a run over many of them keeps.
    kept = Snapshots(budget=1_000, agreements=2)
    for name in ("a", "b", "c"):
        kept.put(attrs.evolve(Agreement.from_events(EVENTS[:1]), id=AgreementId(name)), "p")
    assert kept.get("a") is None
    assert kept.get("b") is not None  # b is now the most recently used
    kept.put(attrs.evolve(Agreement.from_events(EVENTS[:1]), id=AgreementId("d")), "p")
    assert [kept.get(x) is not None for x in ("b", "c", "d")] == [True, False, True]
    assert len(kept) == 2

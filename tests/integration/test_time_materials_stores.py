"""Time and materials on the real stores: a SQLite file and PostgreSQL.

Entries are recorded (one re-sent), a run bills the approved work once --
the entry that crosses the cap split, the rest held -- a rerun and a second
Biller over the same database bill nothing, a cap raise releases the held
part exactly once, and the ledger balances.  A raise the client approves
(a ``RaiseTimeCap`` amendment) is previewed, stays pending, and once
approved is billed once, by whichever Biller runs first.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import attrs

from milestonebill.agreement import Amendment, ApprovalRules, Collection, RaiseTimeCap, TimeEntry
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.ids import AmendmentId
from milestonebill.schedule import Rate, TimeAndMaterials, TimeCadence
from milestonebill.stores.base import BillingStore
from milestonebill.testing.scenarios import World, proposal, usd
from milestonebill.timebilling import held_work, time_totals

APR_1 = date(2026, 4, 1)
TERM = TimeAndMaterials(rates=(Rate("senior", usd("150.00"), date(2026, 1, 1)),),
                        cadence=TimeCadence.MONTHLY, cap=usd("1000.00"))
# 4 h = 600.00 and 3 h = 450.00 against 1,000.00: the second is split 400.00 / 50.00.
ENTRIES = [TimeEntry(entry_id=f"T-{n}", on=date(2026, 3, day), person="ada", role="senior",
                     hours=Decimal(hours)) for n, day, hours in ((1, 9, "4"), (2, 10, "3"))]


def _check(open_store: Callable[[], BillingStore]) -> None:
    w: World[InMemoryGateway] = World(open_store())
    a = w.open(attrs.evolve(proposal(collection=Collection.SEND_INVOICE), time_materials=TERM),
               payment_method=None)
    w.biller.record_work(a.id, ENTRIES)
    w.biller.record_work(a.id, ENTRIES[:1])  # re-sent by the time tool: a no-op
    w.on(APR_1)
    assert [str(i.total) for i in w.biller.run(APR_1).invoices] == ["1000.00 USD"]
    assert w.biller.run(APR_1).invoices == ()
    other: World[InMemoryGateway] = World(open_store())
    other.on(APR_1)
    assert other.biller.run(APR_1).invoices == ()
    assert [h.entry.entry_id for h in held_work(other.load())] == ["T-2"]
    other.biller.raise_cap(a.id, usd("1050.00"), reason="approved")
    assert [str(i.total) for i in w.biller.run(APR_1).invoices] == ["50.00 USD"]
    assert other.biller.run(APR_1).invoices == ()
    final = other.load()
    assert [ln.item_id for i in final.invoices for ln in i.lines] == ["T-1", "T-2", "T-2"]
    assert time_totals(final).billed == usd("1050.00")
    balances = other.store.balances(currency="USD")
    assert sum(m.minor for m in balances.values()) == 0


def _check_amendment(open_store: Callable[[], BillingStore]) -> None:
    w: World[InMemoryGateway] = World(open_store())
    offer = attrs.evolve(proposal(collection=Collection.SEND_INVOICE,
                                  approval=ApprovalRules(require_client_approval=True)),
                         time_materials=TERM)
    a = w.open(offer, payment_method=None)
    w.biller.record_work(a.id, ENTRIES)
    w.on(APR_1)
    assert [str(i.total) for i in w.biller.run(APR_1).invoices] == ["1000.00 USD"]
    raise_ = Amendment(AmendmentId("am-cap"), (RaiseTimeCap(APR_1, usd("1030.00")),))
    # 30.00 more room: 30.00 of the 50.00 held of T-2.
    assert w.biller.preview_amendment(a.id, raise_).time_released == usd("30.00")
    noon = datetime(2026, 4, 1, 12, tzinfo=UTC)
    w.biller.propose_amendment(a.id, raise_, by="account manager", at=noon)
    assert w.biller.run(APR_1).invoices == ()
    other: World[InMemoryGateway] = World(open_store())
    other.on(APR_1)
    other.biller.approve_amendment(a.id, AmendmentId("am-cap"), by="Acme CFO", at=noon)
    assert [str(i.total) for i in other.biller.run(APR_1).invoices] == ["30.00 USD"]
    assert w.biller.run(APR_1).invoices == ()
    final = w.load()
    assert (time_totals(final).billed, time_totals(final).held) == (usd("1030.00"),
                                                                    usd("20.00"))
    assert sum(m.minor for m in w.store.balances(currency="USD").values()) == 0


def test_a_cap_raise_the_client_approves_is_billed_once_on_a_sqlite_file(
        tmp_path: Path) -> None:
    from milestonebill.stores.sqlite import SQLiteStore

    _check_amendment(lambda: SQLiteStore(tmp_path / "books.db"))


def test_a_cap_raise_the_client_approves_is_billed_once_on_postgres(
        pg_dsn: str, pg_schema: str) -> None:
    from milestonebill.stores.postgres import PostgresStore

    _check_amendment(lambda: PostgresStore(pg_dsn, schema=pg_schema, pool_size=2))


def test_time_is_billed_once_on_a_sqlite_file(tmp_path: Path) -> None:
    from milestonebill.stores.sqlite import SQLiteStore

    _check(lambda: SQLiteStore(tmp_path / "books.db"))


def test_time_is_billed_once_on_postgres(pg_dsn: str, pg_schema: str) -> None:
    from milestonebill.stores.postgres import PostgresStore

    _check(lambda: PostgresStore(pg_dsn, schema=pg_schema, pool_size=2))

"""Several worker processes run the real ``Biller.run`` against one database.

1,000 agreements each have a milestone due.  Four processes (PostgreSQL) or
two (SQLite), each with its own in-memory gateway, run ``Biller.run`` at the
same moment.  Every due item must be invoiced exactly once and charged
exactly once (the charges summed over the workers' gateways equal the
invoices), invoice numbers must be 1..N without gaps or duplicates, and the
ledger must balance.

The long mode runs the same check at full size, eight PostgreSQL workers
over 10,000 agreements (``docs/reliability.md``, "Many workers on
PostgreSQL"), and prints its figures::

    MILESTONEBILL_LONG=1 python -m pytest -s -p no:cacheprovider \\
        tests/integration/test_engine_concurrency.py -k many

``MILESTONEBILL_PG_WORKERS`` and ``MILESTONEBILL_PG_AGREEMENTS`` change the
size; ``MILESTONEBILL_PG_REPORT`` names a JSON file for the figures.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import queue
import time
from collections import Counter
from typing import Any

import pytest

from milestonebill.agreement import AgreementId, PaymentMethodKind, PaymentMethodRef
from milestonebill.engine import Biller, FixedClock, WorkerId
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.money import Money
from milestonebill.schedule import Milestone, MilestoneId, Trigger
from milestonebill.stores.base import BillingStore
from milestonebill.testing.scenarios import FIRM, T0, proposal, signed, usd

pytestmark = pytest.mark.slow

AGREEMENTS = 1000
LONG = os.environ.get("MILESTONEBILL_LONG", "") == "1"
AS_OF = T0.date()
Target = tuple[str, str, str]  # (kind, location, schema)


def _open(target: Target) -> Any:
    kind, where, schema = target
    if kind == "sqlite":
        from milestonebill.stores.sqlite import SQLiteStore

        return SQLiteStore(where, busy_timeout=60)
    from milestonebill.stores.postgres import PostgresStore

    return PostgresStore(where, schema=schema, pool_size=2)


def _biller(store: BillingStore, gateway: InMemoryGateway, worker: str) -> Biller:
    return Biller(store, gateway, clock=FixedClock(T0), firm_id=FIRM,
                  worker_id=WorkerId(worker), batch_size=10)


def _seed(target: Target, agreements: int) -> None:
    offer = proposal([Milestone(MilestoneId("deposit"), "Deposit", amount=usd("100.00"),
                                trigger=Trigger.ON_SIGNING)])
    store = _open(target)
    biller = _biller(store, InMemoryGateway(), "seeder")
    with store.transaction():
        for i in range(agreements):
            aid = AgreementId(f"agr-{i:05d}")
            card = PaymentMethodRef("memory", f"cus-{i}", f"pm-{i}", PaymentMethodKind.CARD)
            biller.open(signed(offer, payment_method=card, agreement_id=aid))
    store.close()


def _worker(target: Target, name: str, start: Any, out: Any) -> None:
    store = _open(target)
    gateway = InMemoryGateway()
    biller = _biller(store, gateway, name)
    start.wait()
    summary = biller.run(AS_OF)
    store.close()
    out.put((name, [c.invoice_id for c in gateway.charges], len(summary.invoices),
             [p.message for p in summary.problems]))


def _run_workers(target: Target, n: int,
                 wait: float) -> list[tuple[str, list[str], int, list[str]]]:
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    out = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(target, f"w{i}", start, out)) for i in range(n)]
    for p in procs:
        p.start()
    start.set()
    results = []
    deadline = time.monotonic() + wait
    for _ in procs:
        try:
            results.append(out.get(timeout=max(1.0, deadline - time.monotonic())))
        except queue.Empty:
            break
    for p in procs:
        p.join(10)
        if p.is_alive():
            p.kill()
    assert [p.exitcode for p in procs] == [0] * n
    return results


def _check(target: Target, n: int, agreements: int = AGREEMENTS,
           wait: float = 85) -> dict[str, Any]:
    """Seed ``agreements``, run ``n`` workers at once, check the books; the figures."""
    started = time.monotonic()
    _seed(target, agreements)
    seeded = time.monotonic()
    results = _run_workers(target, n, wait)
    ran = time.monotonic()
    assert len(results) == n
    assert [r[3] for r in results] == [[]] * n
    charged = [inv for r in results for inv in r[1]]
    issued = sum(r[2] for r in results)
    store = _open(target)
    try:
        records = store.invoices(FIRM)
        assert issued == len(records) == agreements
        assert sorted(r.number for r in records) == list(range(1, agreements + 1))
        assert len(charged) == agreements
        per_key = Counter(charged)
        assert per_key == Counter({r.invoice_id: 1 for r in records})
        assert len({r.agreement_id for r in records}) == agreements
        assert sum(m.minor for m in store.balances(currency="USD").values()) == 0
        assert store.balance("clearing", currency="USD") == Money.from_minor(10_000 * agreements,
                                                                        "USD")
        assert store.list_due(AS_OF) == []
        assert store.unfinished_attempts() == []
        # More than one worker did real work (the claims were shared).
        assert sum(1 for r in results if r[1]) > 1
    finally:
        store.close()
    return {"workers": n, "agreements": agreements, "invoices": len(records),
            "numbers": f"1..{max(r.number for r in records)}, no gaps or repeats",
            "charges": len(charged), "most charges for one key": max(per_key.values()),
            "invoices per worker": sorted(r[2] for r in results),
            "seed seconds": round(seeded - started, 1), "run seconds": round(ran - seeded, 1)}


@pytest.mark.postgres
def test_four_postgres_workers_bill_each_agreement_exactly_once(pg_dsn: str,
                                                                 pg_schema: str) -> None:
    _check(("postgres", pg_dsn, pg_schema), 4)


def test_two_sqlite_workers_bill_each_agreement_exactly_once(tmp_path: Any) -> None:
    _check(("sqlite", str(tmp_path / "billing.db"), ""), 2)


@pytest.mark.postgres
@pytest.mark.skipif(not LONG, reason="long mode: set MILESTONEBILL_LONG=1")
def test_many_postgres_workers_bill_many_agreements_exactly_once(pg_dsn: str,
                                                                 pg_schema: str) -> None:
    workers = int(os.environ.get("MILESTONEBILL_PG_WORKERS", "8"))
    agreements = int(os.environ.get("MILESTONEBILL_PG_AGREEMENTS", "10000"))
    figures = _check(("postgres", pg_dsn, pg_schema), workers, agreements, wait=6 * 3600)
    print(json.dumps(figures, indent=1))
    report = os.environ.get("MILESTONEBILL_PG_REPORT", "")
    if report:
        with open(report, "w", encoding="utf-8") as f:
            json.dump(figures, f, indent=1)

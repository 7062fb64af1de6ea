"""Several worker processes share one store: every due agreement is processed
exactly once and invoice numbers stay gap-free.

Each worker (a separate process, started with ``spawn``) loops: claim a batch
of due agreements, and for each one, in one unit of work, issue an invoice
number, record the charge attempt and append an ``InvoiceIssued`` event;
then complete the attempt and the claim.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

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

AGREEMENTS = 1000
AS_OF = date(2024, 2, 29)
FIRMS = (FirmId("firm-a"), FirmId("firm-b"), FirmId("firm-c"))
Target = tuple[str, str, str]  # (kind, location, schema)


def _open(target: Target) -> Any:
    kind, where, schema = target
    if kind == "sqlite":
        from milestonebill.stores.sqlite import SQLiteStore

        return SQLiteStore(where, busy_timeout=60)
    from milestonebill.stores.postgres import PostgresStore

    return PostgresStore(where, schema=schema, pool_size=2)


def _agreement(i: int) -> AgreementId:
    return AgreementId(f"agr-{i:04d}")


def _firm(agreement_id: str) -> FirmId:
    return FIRMS[int(agreement_id[-4:]) % len(FIRMS)]


def _seed(store: AgreementStore) -> None:
    with store.transaction():
        for i in range(AGREEMENTS):
            a = _agreement(i)
            signed = StoredEvent(a, EventId(f"{a}:signed"), 0, "Signed",
                                 datetime(2024, 1, 1, tzinfo=UTC), {"fee": "100.00"})
            store.append(a, [signed], expected_version=0)
            # Spread due dates so claims also have to order them.
            store.set_next_due(a, date(2024, 2, 1 + i % 29))


def _process_one(store: AgreementStore, worker: WorkerId, a: AgreementId) -> tuple[str, int]:
    invoice = InvoiceId(f"{a}:inv-1")
    key = AttemptKey(f"{a}:{invoice}:1")
    with store.transaction():
        number = store.issue_invoice_number(_firm(a), invoice, agreement_id=a)
        store.record_attempt(key, a, invoice, 1, Money("100.00", "USD"))
        issued = StoredEvent(a, EventId(f"{a}:issued:{invoice}"), 0, "InvoiceIssued",
                             datetime(2024, 2, 29, tzinfo=UTC),
                             {"invoice_id": invoice, "number": number, "worker": worker})
        store.append(a, [issued], expected_version=1)
    store.complete_attempt(key, {"status": "succeeded", "worker": worker})
    store.complete(worker, a, None)
    return a, number


def _worker(target: Target, n: int, start: Any, claimed: Any, out: Any) -> None:
    worker = WorkerId(f"worker-{n}-pid-{os.getpid()}")
    store = _open(target)
    done: list[tuple[str, int]] = []
    try:
        start.wait(timeout=60)
        batch = store.claim(worker, AS_OF, limit=10, lease_seconds=300)
        # Every worker holds a batch before any works on it, so the workers
        # overlap however the scheduler orders them (a fast first worker could
        # otherwise drain the queue alone on a busy machine).
        claimed.wait(timeout=60)
        while batch:
            done.extend(_process_one(store, worker, a) for a in batch)
            batch = store.claim(worker, AS_OF, limit=10, lease_seconds=300)
        out.put((worker, done, None))
    except Exception as exc:  # report to the parent instead of dying silently
        out.put((worker, done, repr(exc)))
    finally:
        store.close()


def _run_workers(target: Target, processes: int) -> dict[str, list[tuple[str, int]]]:
    ctx = multiprocessing.get_context("spawn")
    start, claimed = ctx.Barrier(processes), ctx.Barrier(processes)
    out = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(target, n, start, claimed, out))
             for n in range(processes)]
    for p in procs:
        p.start()
    results: dict[str, list[tuple[str, int]]] = {}
    errors: list[str] = []
    try:
        for _ in procs:
            worker, done, error = out.get(timeout=120)
            results[worker] = done
            if error is not None:
                errors.append(f"{worker}: {error}")
    except queue.Empty:
        errors.append("a worker did not report within 120 s")
    for p in procs:
        p.join(timeout=30)
        if p.is_alive():
            p.kill()
    assert errors == []
    assert [p.exitcode for p in procs] == [0] * processes
    return results


def _check(store: AgreementStore, results: dict[str, list[tuple[str, int]]]) -> None:
    processed = [a for done in results.values() for a, _ in done]
    times = Counter(processed)
    assert sorted(times) == [_agreement(i) for i in range(AGREEMENTS)]
    assert max(times.values()) == 1
    assert len([w for w, done in results.items() if done]) >= 2, "no two workers overlapped"
    for firm in FIRMS:
        numbers = [r.number for r in store.invoices(firm)]
        expected = sum(1 for i in range(AGREEMENTS) if _firm(_agreement(i)) == firm)
        assert numbers == list(range(1, expected + 1))
    for a, number in ((a, n) for done in results.values() for a, n in done):
        record = store.get_invoice(InvoiceId(f"{a}:inv-1"))
        assert record is not None
        assert (record.number, record.agreement_id) == (number, a)
    assert store.unfinished_attempts() == []
    assert store.list_due(date(9999, 12, 31)) == []
    issued = Counter(e.type for i in range(AGREEMENTS) for e in store.load(_agreement(i)))
    assert issued == Counter({"Signed": AGREEMENTS, "InvoiceIssued": AGREEMENTS})


@pytest.mark.slow
@pytest.mark.postgres
def test_four_processes_on_postgres_process_each_agreement_once(
    pg_dsn: str, pg_schema: str
) -> None:
    target: Target = ("postgres", pg_dsn, pg_schema)
    store = _open(target)
    try:
        _seed(store)
        results = _run_workers(target, 4)
        _check(store, results)
    finally:
        store.close()


@pytest.mark.slow
def test_two_processes_on_one_sqlite_file_process_each_agreement_once(
    sqlite_path: Path,
) -> None:
    target: Target = ("sqlite", str(sqlite_path), "")
    store = _open(target)
    try:
        _seed(store)
        results = _run_workers(target, 2)
        _check(store, results)
    finally:
        store.close()

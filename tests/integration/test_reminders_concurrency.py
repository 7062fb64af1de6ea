"""Two worker processes send reminders and charge late fees against one database.

Twenty send-invoice agreements each have a 1,000.00 invoice issued on
2 March 2026, due on 16 March (net 14); half have a late fee of 25.00
every 10 days past the due date, at most twice.  Two processes, each with
its own Biller and clock, walk the same 45 days in lock step: on each day
both ``run`` it (claims keep them apart), then both ``bill`` every
agreement again (no claim: they race on the same streams).  Every reminder
step must be recorded and notified exactly once per invoice, every late fee
issued exactly once, the invoice numbers gap-free and the ledger balanced.
"""

from __future__ import annotations

import multiprocessing
import queue
from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any

import attrs
import pytest

from milestonebill.agreement import AgreementId, Collection
from milestonebill.engine import DEFAULT_REMINDERS, Biller, FixedClock, WorkerId
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.schedule import LateFee, Milestone, MilestoneId, PaymentTerms
from milestonebill.stores.base import BillingStore
from milestonebill.testing.scenarios import FIRM, T0, proposal, signed, usd

pytestmark = pytest.mark.slow

AGREEMENTS = 20
DAYS = 45
FEE = LateFee(after_days=10, fixed=usd("25.00"), every_days=10, max_fees=2)
Target = tuple[str, str, str]  # (kind, location, schema)


def _open(target: Target, clock: FixedClock) -> Any:
    kind, where, schema = target
    if kind == "sqlite":
        from milestonebill.stores.sqlite import SQLiteStore

        return SQLiteStore(where, clock=clock, busy_timeout=60)
    from milestonebill.stores.postgres import PostgresStore

    return PostgresStore(where, schema=schema, clock=clock, pool_size=2)


def _biller(store: BillingStore, clock: FixedClock, worker: str) -> Biller:
    return Biller(store, InMemoryGateway(), clock=clock, firm_id=FIRM,
                  worker_id=WorkerId(worker), batch_size=5, reminders=DEFAULT_REMINDERS)


def _seed(target: Target) -> None:
    design = Milestone(MilestoneId("design"), "Design", amount=usd("1000.00"),
                       terms=PaymentTerms.net(14))
    sent = proposal([design], collection=Collection.SEND_INVOICE)
    clock = FixedClock(T0)
    store = _open(target, clock)
    biller = _biller(store, clock, "seeder")
    for i in range(AGREEMENTS):
        offer = attrs.evolve(sent, late_fee=FEE if i % 2 else None)
        aid = AgreementId(f"agr-{i:02d}")
        biller.open(signed(offer, payment_method=None, agreement_id=aid))
        biller.complete_milestone(aid, MilestoneId("design"), by="Ada")
    biller.run(T0.date())
    store.close()


def _worker(target: Target, name: str, barrier: Any, out: Any) -> None:
    clock = FixedClock(T0)
    store = _open(target, clock)
    biller = _biller(store, clock, name)
    problems: list[str] = []
    for n in range(1, DAYS + 1):
        day = T0.date() + timedelta(days=n)
        clock.set(datetime.combine(day, time(6), tzinfo=T0.tzinfo))
        barrier.wait(60)
        summary = biller.run(day)
        problems += [p.message for p in summary.problems]
        for i in range(AGREEMENTS):
            problems += [p.message for p in biller.bill(AgreementId(f"agr-{i:02d}"),
                                                        day).problems]
    store.close()
    out.put((name, problems))


def _run_workers(target: Target) -> list[tuple[str, list[str]]]:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    out = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(target, f"w{i}", barrier, out))
             for i in range(2)]
    for p in procs:
        p.start()
    results = []
    for _ in procs:
        try:
            results.append(out.get(timeout=240))
        except queue.Empty:
            break
    for p in procs:
        p.join(10)
        if p.is_alive():
            p.kill()
    assert [p.exitcode for p in procs] == [0, 0]
    return results


def _check(target: Target) -> None:
    _seed(target)
    results = _run_workers(target)
    assert [problems for _name, problems in results] == [[], []]
    store = _open(target, FixedClock(T0))
    try:
        biller = _biller(store, FixedClock(T0), "checker")
        agreements = [biller.load(AgreementId(f"agr-{i:02d}")) for i in range(AGREEMENTS)]
        notes = store.pending_notifications(10_000)
        reminder_notes = Counter(n.key for n in notes
                                 if n.kind in ("invoice.reminder", "invoice.overdue"))
        sent = [(r.invoice_id, r.step) for a in agreements for r in a.reminders]
        assert len(sent) == len(set(sent))
        assert reminder_notes == Counter({f"invoice.reminder:{i}:{s}": 1 for i, s in sent})
        for a in agreements:
            design = a.invoices[0]
            # Due 16 March: 9 March, 16, 23, 30 March and 15 April, all within 45 days.
            assert [r.step for r in a.reminders if r.invoice_id == design.id] == [
                -7, 0, 7, 14, 30]
            fees = [(i.issued_on, str(i.total)) for i in a.invoices[1:]]
            assert fees == ([(date(2026, 3, 26), "25.00 USD"), (date(2026, 4, 5), "25.00 USD")]
                            if a.proposal.late_fee else [])
        records = store.invoices(FIRM)
        assert sorted(r.number for r in records) == list(range(1, len(records) + 1))
        assert len(records) == AGREEMENTS + 2 * (AGREEMENTS // 2)
        assert sum(m.minor for m in store.balances(currency="USD").values()) == 0
        assert store.balance("other_income", currency="USD") == usd("-500.00")
    finally:
        store.close()


def test_two_sqlite_workers_send_each_reminder_and_fee_exactly_once(tmp_path: Any) -> None:
    _check(("sqlite", str(tmp_path / "billing.db"), ""))


@pytest.mark.postgres
def test_two_postgres_workers_send_each_reminder_and_fee_exactly_once(pg_dsn: str,
                                                                      pg_schema: str) -> None:
    _check(("postgres", pg_dsn, pg_schema))

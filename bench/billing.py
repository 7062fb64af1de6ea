"""W5: one ``Biller.run`` over agreements of 12 milestones, about 10 % completed,
against the rows a billing run writes in plain SQL."""

from __future__ import annotations

import gc
import json
import random
import statistics
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, cast

from bench.common import (
    SEED,
    Config,
    Contender,
    Row,
    optional_module,
    peak_rss_bytes,
    reset_peak_rss,
    run_case,
    status_bytes,
    unavailable,
)

__all__ = [
    "COMPLETING",
    "MILESTONES",
    "W5_AS_OF",
    "W5Seed",
    "floor_billing_exactly_once",
    "floor_billing_sql",
    "w5_billing",
]

MILESTONES = 12
COMPLETING = 0.10
W5_AS_OF = date(2026, 1, 5)


@dataclass
class W5Seed:
    """A closed SQLite store with signed agreements and recorded completions."""

    path: Path
    completed: dict[str, list[tuple[int, int]]]  # agreement -> [(milestone, minor)]

    @property
    def invoices(self) -> int:
        return len(self.completed)  # the Biller bills an agreement's completions together

    @property
    def revenue(self) -> int:
        return sum(amount for done in self.completed.values() for _, amount in done)


def _w5_seed(n: int, path: Path) -> W5Seed:
    """Open ``n`` agreements of 12 milestones through the Biller; complete ~10%."""
    from milestonebill.stores.sqlite import SQLiteStore

    with SQLiteStore(path, clock=_clock()) as store:
        return W5Seed(path, _w5_open(n, store))


def _clock() -> Any:
    from datetime import UTC, datetime

    from milestonebill.clock import FixedClock

    return FixedClock(datetime(2026, 1, 5, 9, tzinfo=UTC))


def _w5_open(n: int, store: Any, *, milestones: int = MILESTONES,
             completing: float = COMPLETING) -> dict[str, list[tuple[int, int]]]:
    """Open ``n`` agreements in ``store`` and record their completions (the W5 inputs);
    ``completing=1.0`` with ``milestones=1``: one invoice per agreement."""
    from datetime import UTC, datetime

    from milestonebill.agreement import (
        AgreementId,
        PackageOption,
        PaymentMethodKind,
        PaymentMethodRef,
        Proposal,
        ProposalId,
        apply,
        complete_milestone,
        sign,
    )
    from milestonebill.engine import Biller, FirmId
    from milestonebill.gateways.memory import InMemoryGateway
    from milestonebill.money import Currency, Money, allocate_many
    from milestonebill.schedule import BillingSchedule, Milestone, MilestoneId

    rng = random.Random(SEED + 5)
    usd = Currency.of("USD")
    fees = [rng.randint(10_000_00, 2_000_000_00) for _ in range(n)]
    parts = allocate_many(fees, [1] * milestones)
    signed_at = datetime(2026, 1, 2, 9, tzinfo=UTC)
    done_at = datetime(2026, 1, 4, 9, tzinfo=UTC)
    clock = _clock()
    card = PaymentMethodRef("memory", "cus_bench", "pm_bench", PaymentMethodKind.CARD)
    completed: dict[str, list[tuple[int, int]]] = {}
    biller = Biller(store, InMemoryGateway(), clock=clock, firm_id=FirmId("firm"))
    for a in range(n):
        plan = BillingSchedule(currency=usd, milestones=[
            Milestone(MilestoneId(f"m{m:02d}"), f"Milestone {m + 1}",
                      amount=Money.from_minor(parts[a][m], usd))
            for m in range(milestones)])
        proposal = Proposal(ProposalId(f"p-{a:06d}"), f"Client {a}", usd,
                            (PackageOption("std", "Standard", plan),))
        agreement = biller.open(sign(proposal, option="std", signer="Sam", payment_method=card,
                                     agreement_id=AgreementId(f"agr-{a:06d}"),
                                     signed_at=signed_at))
        events = []
        for m in range(milestones):
            if rng.random() < completing:
                e = complete_milestone(agreement, MilestoneId(f"m{m:02d}"), by="Sam",
                                       at=done_at, evidence="accepted")
                agreement = apply(agreement, e)
                events.append(e)
                completed.setdefault(agreement.id, []).append((m, parts[a][m]))
        if events:
            biller.record(agreement.id, events)
    return completed


def _fresh_copy(seed: W5Seed, path: Path) -> None:
    import shutil

    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    shutil.copyfile(seed.path, path)


def _ledger_check(path: Path, seed: W5Seed) -> tuple[int, int, int]:
    """(invoices, billing credited in minor units, sum of all journal lines).

    Billing is credited to revenue by the floors (they model a naive ledger)
    and to the contract's balance by the Biller (revenue follows performance,
    posted by ``recognise``); either way it is what the invoices billed.
    """
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        invoices = int(conn.execute("SELECT count(*) FROM invoices").fetchone()[0])
        revenue = -int(conn.execute(
            "SELECT coalesce(sum(signed_minor), 0) FROM journal_lines WHERE account IN "
            "('revenue', 'deferred_revenue', 'contract_asset')").fetchone()[0])
        balance = int(conn.execute("SELECT coalesce(sum(signed_minor), 0) "
                                   "FROM journal_lines").fetchone()[0])
    finally:
        conn.close()
    return invoices, revenue, balance


def floor_billing_sql(seed: W5Seed, path: Path) -> int:
    """Floor: the rows a billing run writes, one ``executemany`` per table, one transaction.

    Per invoice: the invoice, three events (issued, attempted, succeeded),
    the attempt journal row, two notifications, two journal entries with two
    lines each, and the agreement's version; JSON payloads built with
    ``json.dumps``.  No reads, no checks, no gateway: the practical limit.
    """
    import sqlite3

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = NORMAL")
    on = W5_AS_OF.isoformat()
    at = f"{on}T09:00:00+00:00"
    invoices, events, attempts, notes, entries, lines, versions = [], [], [], [], [], [], []
    versions_now = dict(conn.execute("SELECT agreement_id, version FROM agreements"))
    for number, (agreement, done) in enumerate(sorted(seed.completed.items()), start=1):
        invoice = f"inv_{agreement}_{number:06d}"
        total = sum(amount for _, amount in done)
        money = {"amount": f"{total / 100:.2f}", "currency": "USD"}
        body = json.dumps({"invoice": {"id": invoice, "number": f"INV-{number:06d}",
                                       "lines": [{"item_id": f"m{m:02d}", "amount": a}
                                                 for m, a in done], "total": money}})
        v = versions_now[agreement]
        events += [
            (f"{agreement}:issued:{invoice}", agreement, v + 1, "InvoiceIssued", at, body),
            (f"{agreement}:attempt:{invoice}:1", agreement, v + 2, "ChargeAttempted", at,
             json.dumps({"invoice_id": invoice, "amount": money, "attempt": 1})),
            (f"{agreement}:paid:{invoice}:1", agreement, v + 3, "PaymentSucceeded", at,
             json.dumps({"invoice_id": invoice, "amount": money, "attempt": 1})),
        ]
        versions.append((v + 3, agreement))
        invoices.append((invoice, "firm", number, agreement,
                         json.dumps({"kind": "invoice", "total": money})))
        attempts.append((f"key-{invoice}-1", agreement, invoice, 1, total, "USD",
                         json.dumps({"status": "succeeded"})))
        notes += [(f"invoice.issued:{invoice}", agreement, "invoice.issued", body),
                  (f"payment.succeeded:{invoice}:1", agreement, "payment.succeeded", body)]
        for kind, debit, credit in (("issue", "receivable", "revenue"),
                                    ("payment:1", "clearing", "receivable")):
            entry = f"{invoice}:{kind}"
            entries.append((entry, on, "USD", agreement, kind, body))
            lines += [(entry, 0, debit, "USD", on, total), (entry, 1, credit, "USD", on, -total)]
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO invoice_counters VALUES ('default', 'firm', ?)", (len(invoices),))
    conn.executemany("INSERT INTO invoices (tenant_id, invoice_id, firm_id, number, agreement_id, payload) "
                     "VALUES ('default', ?, ?, ?, ?, ?)", invoices)
    conn.executemany("INSERT INTO events (tenant_id, event_id, agreement_id, version, type, effective_at, "
                     "payload) VALUES ('default', ?, ?, ?, ?, ?, ?)", events)
    conn.executemany("UPDATE agreements SET version = ? WHERE tenant_id = 'default' AND agreement_id = ?", versions)
    conn.executemany("INSERT INTO charge_attempts (tenant_id, key, agreement_id, invoice_id, attempt, "
                     "amount_minor, currency, outcome) VALUES ('default', ?, ?, ?, ?, ?, ?, ?)", attempts)
    conn.executemany("INSERT INTO notifications (tenant_id, key, agreement_id, kind, payload) "
                     "VALUES ('default', ?, ?, ?, ?)", notes)
    conn.executemany("INSERT INTO journal_entries (tenant_id, entry_id, posted_on, currency, agreement_id, "
                     "memo, body) VALUES ('default', ?, ?, ?, ?, ?, ?)", entries)
    conn.executemany("INSERT INTO journal_lines (tenant_id, entry_id, line_no, account, currency, posted_on, "
                     "signed_minor) VALUES ('default', ?, ?, ?, ?, ?, ?)", lines)
    conn.execute("COMMIT")
    conn.close()
    return len(invoices)


def floor_billing_exactly_once(seed: W5Seed, path: Path) -> int:
    """Reference: the same rows, but in the three transactions exactly-once needs.

    Per invoice: (1) number, invoice, issued event, issue posting,
    notification; (2) the attempt journal row and its event, committed before
    the gateway would be called; (3) the outcome, payment event, payment
    posting, notification.  Plain ``execute`` calls, no reads beyond the
    counter: the limit for a design that commits before and after each charge.
    """
    import sqlite3

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = NORMAL")
    on = W5_AS_OF.isoformat()
    at = f"{on}T09:00:00+00:00"
    ex = conn.execute
    versions = dict(conn.execute("SELECT agreement_id, version FROM agreements"))
    ex("INSERT INTO invoice_counters VALUES ('default', 'firm', 0)")
    count = 0
    for number, (agreement, done) in enumerate(sorted(seed.completed.items()), start=1):
        invoice = f"inv_{agreement}_{number:06d}"
        total = sum(amount for _, amount in done)
        money = {"amount": f"{total / 100:.2f}", "currency": "USD"}
        body = json.dumps({"invoice": {"id": invoice, "number": f"INV-{number:06d}",
                                       "lines": [{"item_id": f"m{m:02d}", "amount": a}
                                                 for m, a in done], "total": money}})
        small = json.dumps({"invoice_id": invoice, "amount": money, "attempt": 1})
        v = versions[agreement]
        ex("BEGIN IMMEDIATE")
        ex("UPDATE invoice_counters SET last_number = ? WHERE tenant_id = 'default' AND firm_id = 'firm'", (number,))
        ex("INSERT INTO invoices (tenant_id, invoice_id, firm_id, number, agreement_id, payload) "
           "VALUES ('default', ?, 'firm', ?, ?, ?)", (invoice, number, agreement, small))
        ex("INSERT INTO events (tenant_id, event_id, agreement_id, version, type, effective_at, payload) "
           "VALUES ('default', ?, ?, ?, 'InvoiceIssued', ?, ?)", (f"{invoice}:issued", agreement, v + 1, at,
                                                        body))
        for kind, debit, credit in (("issue", "receivable", "revenue"),):
            entry = f"{invoice}:{kind}"
            ex("INSERT INTO journal_entries (tenant_id, entry_id, posted_on, currency, agreement_id, memo, "
               "body) VALUES ('default', ?, ?, 'USD', ?, ?, ?)", (entry, on, agreement, kind, body))
            ex("INSERT INTO journal_lines VALUES ('default', ?, 0, ?, 'USD', ?, ?)", (entry, debit, on, total))
            ex("INSERT INTO journal_lines VALUES ('default', ?, 1, ?, 'USD', ?, ?)",
               (entry, credit, on, -total))
        ex("INSERT INTO notifications (tenant_id, key, agreement_id, kind, payload) VALUES ('default', ?, ?, ?, ?)",
           (f"invoice.issued:{invoice}", agreement, "invoice.issued", small))
        ex("COMMIT")
        ex("BEGIN IMMEDIATE")
        ex("INSERT INTO charge_attempts (tenant_id, key, agreement_id, invoice_id, attempt, amount_minor, "
           "currency) VALUES ('default', ?, ?, ?, 1, ?, 'USD')", (f"key-{invoice}-1", agreement, invoice,
                                                       total))
        ex("INSERT INTO events (tenant_id, event_id, agreement_id, version, type, effective_at, payload) "
           "VALUES ('default', ?, ?, ?, 'ChargeAttempted', ?, ?)", (f"{invoice}:attempt:1", agreement, v + 2,
                                                          at, small))
        ex("COMMIT")
        ex("BEGIN IMMEDIATE")
        ex("UPDATE charge_attempts SET outcome = ? WHERE tenant_id = 'default' AND key = ?",
           ('{"status": "succeeded"}', f"key-{invoice}-1"))
        ex("INSERT INTO events (tenant_id, event_id, agreement_id, version, type, effective_at, payload) "
           "VALUES ('default', ?, ?, ?, 'PaymentSucceeded', ?, ?)", (f"{invoice}:paid:1", agreement, v + 3,
                                                           at, small))
        ex("UPDATE agreements SET version = ? WHERE tenant_id = 'default' AND agreement_id = ?", (v + 3, agreement))
        entry = f"{invoice}:payment:1"
        ex("INSERT INTO journal_entries (tenant_id, entry_id, posted_on, currency, agreement_id, memo, body) "
           "VALUES ('default', ?, ?, 'USD', ?, 'payment', ?)", (entry, on, agreement, small))
        ex("INSERT INTO journal_lines VALUES ('default', ?, 0, 'clearing', 'USD', ?, ?)", (entry, on, total))
        ex("INSERT INTO journal_lines VALUES ('default', ?, 1, 'receivable', 'USD', ?, ?)",
           (entry, on, -total))
        ex("INSERT INTO notifications (tenant_id, key, agreement_id, kind, payload) VALUES ('default', ?, ?, ?, ?)",
           (f"payment.succeeded:{invoice}:1", agreement, "payment.succeeded", small))
        ex("COMMIT")
        count += 1
    conn.close()
    return count


def w5_billing(cfg: Config) -> list[Row]:
    """W5: one Biller.run over agreements with 12 milestones, ~10% completed."""
    import tempfile

    engine = optional_module("milestonebill.engine")
    sqlite_store = optional_module("milestonebill.stores.sqlite")
    if engine is None or not hasattr(engine, "Biller") or sqlite_store is None:
        return [unavailable("W5", "billing run", "milestonebill Biller.run + SQLiteStore",
                            "not yet measurable: milestonebill.engine.Biller is not in the tree")]
    from datetime import UTC, datetime

    from milestonebill.clock import FixedClock
    from milestonebill.engine import Biller, FirmId
    from milestonebill.gateways.memory import InMemoryGateway
    from milestonebill.stores.sqlite import SQLiteStore

    n = min(cfg.size("W5"), cfg.size("W5.engine"))
    with tempfile.TemporaryDirectory(prefix="mb-bench-") as tmp:
        t0 = time.perf_counter()
        seed = _w5_seed(n, Path(tmp) / "seed.sqlite")
        seeding = time.perf_counter() - t0
        run_path = Path(tmp) / "run.sqlite"
        floor_path = Path(tmp) / "floor.sqlite"
        ref_path = Path(tmp) / "reference.sqlite"
        clock = FixedClock(datetime(2026, 1, 5, 9, tzinfo=UTC))
        live: dict[str, Any] = {}
        peaks: list[int] = []

        def setup_ours() -> None:
            _fresh_copy(seed, run_path)
            live["store"] = SQLiteStore(run_path, clock=clock)
            live["biller"] = Biller(live["store"], InMemoryGateway(), clock=clock,
                                    firm_id=FirmId("firm"))
            gc.collect()
            reset_peak_rss()
            live["rss"] = status_bytes("VmRSS")

        def setup_alone() -> None:
            _fresh_copy(seed, run_path)
            live["store"] = SQLiteStore(run_path, clock=clock)
            live["biller"] = Biller(_OneAtATime(live["store"]), InMemoryGateway(), clock=clock,
                                    firm_id=FirmId("firm"))
            live["rss"] = status_bytes("VmRSS")

        def run_ours() -> tuple[int, int, int]:
            summary = live["biller"].run(W5_AS_OF)
            peaks.append(peak_rss_bytes() - live["rss"])
            live.pop("store").close()
            live.pop("biller")
            return _counts(summary)

        items = seed.invoices
        note = (f"{n:,} agreements x {MILESTONES} milestones, {seed.invoices:,} invoices "
                f"({sum(map(len, seed.completed.values())):,} completed milestones)")
        contenders = [
            Contender("floor (executemany per table, 1 transaction)", "floor", items,
                      lambda: floor_billing_sql(seed, floor_path), note,
                      setup=lambda: _fresh_copy(seed, floor_path)),
            Contender("reference (3 transactions per invoice, plain SQL)", "reference", items,
                      lambda: floor_billing_exactly_once(seed, ref_path), note,
                      setup=lambda: _fresh_copy(seed, ref_path)),
            Contender("milestonebill Biller.run (SQLite, in-memory gateway)", "ours", items,
                      run_ours, note, setup=setup_ours),
            Contender("milestonebill Biller.run, one agreement at a time (as before #17)",
                      "ours-alone", items, run_ours, note, setup=setup_alone),
        ]

        def check(c: Contender, out: Any) -> tuple[int | None, int | None, int]:
            path = {"floor": floor_path, "reference": ref_path}.get(c.kind, run_path)
            invoices, revenue, balance = _ledger_check(path, seed)
            bad = int(invoices != seed.invoices) + int(revenue != seed.revenue) + int(balance != 0)
            if c.kind.startswith("ours"):
                issued, charged, problems = out
                bad += int(issued != seed.invoices) + int(charged != seed.invoices) + problems
            return bad, None, invoices

        rows = run_case("W5", "billing run", contenders, cfg, check)
        mib = 1024 * 1024
        for r in rows:
            if r.kind.startswith("ours"):
                trips = _round_trips(seed, run_path, batched=r.kind == "ours")
                r.note += f"; {trips} per invoice"
            if r.kind == "ours":
                r.note += (f"; peak RSS +{statistics.median(peaks) / mib:.0f} MiB during the run;"
                           f" seeding the store took {seeding:.0f} s")
    rows += w5_postgres(cfg)
    rows += w5_latency(cfg)
    rows += w5_memory(cfg)
    return rows


# ------------------------------------------------------------------ issue #17 parts of W5


class _OneAtATime:
    """A store without the savepoint role: ``Biller.run`` bills one agreement at a time."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name == "savepoint":
            raise AttributeError(name)
        return getattr(self._inner, name)


def _counts(summary: Any) -> tuple[int, int, int]:
    """(invoices, charges, problems) of a run, counted in full."""
    c = summary.counts
    return c.invoices, c.charges, c.problems


def _round_trips(seed: W5Seed, path: Path, *, batched: bool) -> str:
    """Commits and SELECTs per invoice of one untimed run, from SQLite's trace."""
    from milestonebill.engine import Biller, FirmId
    from milestonebill.gateways.memory import InMemoryGateway
    from milestonebill.stores.sqlite import SQLiteStore

    _fresh_copy(seed, path)
    seen = {"COMMIT": 0, "SELECT": 0, "BEGIN IMMEDIATE": 0}

    def trace(sql: str) -> None:
        text = sql.lstrip().upper()
        word = "BEGIN IMMEDIATE" if text.startswith("BEGIN IMMEDIATE") else text.split(" ", 1)[0]
        if word in seen:
            seen[word] += 1

    with SQLiteStore(path, clock=_clock()) as store:
        store._conn.set_trace_callback(trace)  # the store's own connection: measuring only
        target: Any = store if batched else _OneAtATime(store)
        summary = Biller(target, InMemoryGateway(), clock=_clock(), firm_id=FirmId("firm")
                         ).run(W5_AS_OF)
    n = max(1, _counts(summary)[0])
    return (f"{seen['COMMIT'] / n:.2f} commits ({seen['BEGIN IMMEDIATE'] / n:.2f} of them "
            f"writing), {seen['SELECT'] / n:.1f} SELECTs")


def _size(cfg: Config, full: int, quick: int) -> int:
    return max(8, int((quick if cfg.quick else full) * cfg.scale))


def _pg_worker(dsn: str, schema: str, worker: str, out: Any) -> None:
    """One worker process of the PostgreSQL run: ``Biller.run`` to the end."""
    from milestonebill.engine import Biller, FirmId, WorkerId
    from milestonebill.gateways.memory import InMemoryGateway
    from milestonebill.stores.postgres import PostgresStore

    with PostgresStore(dsn, schema=schema, clock=_clock(), pool_size=1) as store:
        biller = Biller(store, InMemoryGateway(), clock=_clock(), firm_id=FirmId("firm"),
                        worker_id=WorkerId(worker))
        start = time.time()
        summary = biller.run(W5_AS_OF)
        out.put((*_counts(summary), start, time.time()))


def _pg_run(dsn: str, n: int, workers: int) -> tuple[float, int, int, float]:
    """(seconds, invoices, problems, seeding s) of ``workers`` processes billing ``n``
    W5 agreements seeded into a fresh schema on the server."""
    import multiprocessing
    import uuid

    import psycopg

    from milestonebill.stores.postgres import PostgresStore

    schema = f"bench_w5_{uuid.uuid4().hex[:10]}"
    try:
        t0 = time.perf_counter()
        with PostgresStore(dsn, schema=schema, clock=_clock(), pool_size=1) as store:
            _w5_open(n, store)
        seeding = time.perf_counter() - t0
        ctx = multiprocessing.get_context("spawn")
        out = ctx.Queue()
        procs = [ctx.Process(target=_pg_worker, args=(dsn, schema, f"w{i}", out))
                 for i in range(workers)]
        for p in procs:
            p.start()
        got = [out.get(timeout=3600) for _ in procs]
        # From the first worker's start to the last one's end, without interpreter start-up.
        elapsed = max(g[4] for g in got) - min(g[3] for g in got)
        for p in procs:
            p.join()
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    return elapsed, sum(g[0] for g in got), sum(g[2] for g in got), seeding


def w5_postgres(cfg: Config) -> list[Row]:
    """W5 on the PostgreSQL server (``MILESTONEBILL_PG_DSN``): 1 worker and 4 workers."""
    import os

    dsn = os.environ.get("MILESTONEBILL_PG_DSN")
    if not dsn or optional_module("psycopg") is None:
        return [unavailable("W5", "billing run on PostgreSQL", "Biller.run (PostgresStore)",
                            "MILESTONEBILL_PG_DSN not set")]
    n = _size(cfg, 2_000, 200)
    rows = []
    for workers in (1, 4):
        elapsed, invoices, problems, seeding = _pg_run(dsn, n, workers)
        rows.append(Row("W5", "billing run on PostgreSQL",
                        f"milestonebill Biller.run (PostgresStore), {workers} worker"
                        f"{'s' if workers > 1 else ''}", "ours", invoices, elapsed, [elapsed],
                        invoices / elapsed, bad=problems, checked=invoices,
                        note=f"{n:,} agreements; {invoices / elapsed / workers:.0f} invoices/s "
                        f"per worker; seeding took {seeding:.0f} s; one run, not a median"))
    return rows


class _Latency:
    """An in-memory gateway that takes ``seconds`` to answer each charge (a card network)."""

    def __init__(self, seconds: float) -> None:
        from milestonebill.gateways.memory import InMemoryGateway

        self._inner = InMemoryGateway()
        self._seconds = seconds

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def charge(self, request: Any) -> Any:
        time.sleep(self._seconds)  # outside the inner gateway's lock: calls overlap
        return self._inner.charge(request)


def w5_latency(cfg: Config) -> list[Row]:
    """10,000 charges through a gateway answering in 300 ms, from one worker."""
    import tempfile

    from milestonebill.engine import Biller, FirmId
    from milestonebill.stores.sqlite import SQLiteStore

    n = _size(cfg, 10_000, 200)
    width, batch = 128, 512
    with tempfile.TemporaryDirectory(prefix="mb-bench-") as tmp:
        path = Path(tmp) / "latency.sqlite"
        with SQLiteStore(path, clock=_clock()) as store:
            _w5_open(n, store, milestones=1, completing=1.0)
        with SQLiteStore(path, clock=_clock()) as store:
            gateway = _Latency(0.3)
            biller = Biller(store, gateway, clock=_clock(), firm_id=FirmId("firm"),
                            gateway_concurrency=width, batch_size=batch)
            t0 = time.perf_counter()
            invoices, charges, problems = _counts(biller.run(W5_AS_OF))
            elapsed = time.perf_counter() - t0
            money = len(gateway.charges)
    return [Row("W5", "10,000 charges, gateway answering in 300 ms",
                f"milestonebill Biller.run (SQLite, gateway_concurrency={width}, "
                f"batch_size={batch})", "ours", charges, elapsed, [elapsed], charges / elapsed,
                bad=problems + int(money != n) + int(invoices != n), checked=charges,
                note=f"{n:,} agreements, one invoice each; target < 60 s; sequential calls "
                f"would take {n * 0.3:,.0f} s; one run")]


class _Remote:
    """A gateway that keeps nothing in this process, as a remote one does: every charge
    succeeds (the in-memory gateway remembers every charge, which would be measured
    as the run's memory)."""

    def charge(self, request: Any) -> Any:
        from milestonebill.gateways.base import ChargeResult, ChargeStatus

        return ChargeResult(ChargeStatus.SUCCEEDED, request.amount, request.idempotency_key,
                            gateway_ref="pi_" + request.idempotency_key[-16:])


def memory_child(mode: str, n: int, path: str) -> dict[str, Any]:
    """In a fresh interpreter: seed ``n`` W5 agreements (``seed``) or run them (``run``),
    reporting the process's peak RSS."""
    from milestonebill.engine import Biller, FirmId
    from milestonebill.stores.sqlite import SQLiteStore

    if mode == "seed":
        _w5_seed(n, Path(path))
        return {}
    with SQLiteStore(path, clock=_clock()) as store:
        biller = Biller(store, cast(Any, _Remote()), clock=_clock(), firm_id=FirmId("firm"))
        before = status_bytes("VmRSS")
        t0 = time.perf_counter()
        invoices, _, problems = _counts(biller.run(W5_AS_OF))
        elapsed = time.perf_counter() - t0
    return {"peak": peak_rss_bytes(), "before": before, "invoices": invoices,
            "problems": problems, "seconds": elapsed}


def _child(mode: str, n: int, path: Path) -> dict[str, Any]:
    import subprocess
    import sys

    code = ("import json, sys; from bench.billing import memory_child; "
            "print(json.dumps(memory_child(sys.argv[1], int(sys.argv[2]), sys.argv[3])))")
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", code, mode, str(n), str(path)], cwd=root,
                          check=True, capture_output=True, text=True, timeout=7200)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def w5_memory(cfg: Config) -> list[Row]:
    """Peak RSS of a run over 10,000 and over 100,000 agreements, each in a fresh process."""
    import tempfile

    small, large = _size(cfg, 10_000, 200), _size(cfg, 100_000, 1_000)
    got: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="mb-bench-") as tmp:
        for n in (small, large):
            path = Path(tmp) / f"memory-{n}.sqlite"
            _child("seed", n, path)
            got[n] = _child("run", n, path)
    mib = 1024 * 1024
    ratio = got[large]["peak"] / got[small]["peak"]
    return [Row("W5", "run memory", f"milestonebill Biller.run, {n:,} agreements", "memory",
                got[n]["invoices"], got[n]["seconds"], [got[n]["seconds"]],
                got[n]["invoices"] / got[n]["seconds"], bad=got[n]["problems"],
                checked=got[n]["invoices"], note=f"peak RSS {got[n]['peak'] / mib:.0f} MiB (before the run "
                f"{got[n]['before'] / mib:.0f} MiB)" + (
                    f"; {ratio:.2f}x the {small:,}-agreement run (target <= 1.2)"
                    if n == large else ""))
            for n in (small, large)]

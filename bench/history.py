"""Long histories: what loading one agreement costs as its history grows.

Each agreement is a weekly retainer whose every week added an invoice, a
charge attempt and a payment (three events), cut to 20, 1,000, 4,000 and
10,000 events.  It is stored in each store -- InMemoryStore, a SQLite file
and, when ``MILESTONEBILL_PG_DSN`` is set, the PostgreSQL server -- and
loaded through ``Biller.load`` four ways (median wall time of the repeats):

``cold``
    a new Biller, the decoded-event cache emptied: read, decode, fold all.
``full``
    what every load did before snapshots: read all rows, decode them (the
    Biller's decoded-event cache warm, as in a long-running worker), fold all.
``snapshot``
    the same Biller loads it again, nothing new: one read from the version
    it folded last.
``snapshot+3``
    another writer appended three events (one more week) first: the read
    also brings them, and only they are folded.
``after unit``
    this Biller's own unit of work folded three events onto the agreement it
    loaded and appended them (as ``Context.append`` does), then it loads it
    again: the snapshot's lookups went on with the unit's result, so the
    load cuts its own back from them.

The last column is the ratio to the 20-event agreement's time in the same
column (issue #17's target: within 2x).  The collector runs before each
timed load, so one load is not charged with collecting what the previous
steps left (a full fold of 10,000 events leaves a lot).  Every run checks that the
snapshot load gives every field the full fold gives.

Run from the repository root::

    python bench/history.py                          # 20 .. 10,000 events, 5 repeats
    python bench/history.py --sizes 20,1000 --repeats 3 --stores memory,sqlite
    python bench/history.py --library /path/to/old/src   # the same, before a change
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _library_path(argv: Sequence[str]) -> str:
    """``--library PATH`` if given (an older checkout's ``src``), else this one's."""
    for i, arg in enumerate(argv):
        if arg == "--library" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--library="):
            return arg.split("=", 1)[1]
    return str(ROOT / "src")


sys.path.insert(0, _library_path(sys.argv[1:]))

import attrs  # noqa: E402

from milestonebill.agreement import (  # noqa: E402
    Agreement,
    AgreementId,
    ChargeAttempted,
    Event,
    InvoiceIssued,
    PaymentSucceeded,
    apply,
    event_to_json,
)
from milestonebill.clock import FixedClock  # noqa: E402
from milestonebill.engine import Biller  # noqa: E402
from milestonebill.engine._context import decoded  # noqa: E402
from milestonebill.gateways import InMemoryGateway  # noqa: E402
from milestonebill.ids import EventId, FirmId, InvoiceId, ItemId  # noqa: E402
from milestonebill.invoicing import due_invoices  # noqa: E402
from milestonebill.money import Money  # noqa: E402
from milestonebill.schedule import RecurringCharge  # noqa: E402
from milestonebill.schedule.recurring import Interval  # noqa: E402
from milestonebill.stores import InMemoryStore, SQLiteStore  # noqa: E402
from milestonebill.stores.base import StoredEvent  # noqa: E402
from milestonebill.testing.scenarios import proposal, signed  # noqa: E402

__all__ = ["COLUMNS", "SIZES", "history", "main", "measure_store"]

SIZES = (20, 1_000, 4_000, 10_000)
COLUMNS = ("cold", "full", "snapshot", "snapshot+3", "after unit")
START = date(2000, 1, 3)


def history(agreement_id: str, n: int) -> list[Event]:
    """``n`` events of a weekly retainer: signed, then invoice, attempt, payment each week.

    The invoices are one real first invoice renumbered (what the fold checks of
    them: ids and numbers unique, the agreement's currency), so building
    10,000 events takes a moment rather than a billing run's minutes."""
    charge = RecurringCharge(ItemId("care"), "Care", Money("100.00", "USD"), Interval.WEEKLY,
                             start=START)
    at = datetime(START.year, START.month, START.day, 12, tzinfo=UTC)
    a = signed(proposal(recurring=[charge]), at=at, agreement_id=AgreementId(agreement_id))
    template = due_invoices(a, START)[0]
    events: list[Event] = [a.events[0]]
    week = 0
    while len(events) < n:
        week += 1
        inv = attrs.evolve(template, id=InvoiceId(f"{agreement_id}-inv-{week}"),
                           number=f"{agreement_id}-{week:06d}")
        v, when = len(events), at + timedelta(weeks=week)
        key = f"{agreement_id}/{week}"
        events += [InvoiceIssued(f"{key}/issued", v + 1, when, inv),
                   ChargeAttempted(f"{key}/attempt", v + 2, when, inv.id, 1, key, inv.total),
                   PaymentSucceeded(f"{key}/paid", v + 3, when, inv.id, inv.total, key, 1)]
    return events[:n]


def _stored(agreement_id: str, events: Sequence[Event]) -> list[StoredEvent]:
    return [StoredEvent(AgreementId(agreement_id), EventId(e.event_id), e.version,
                        type(e).__name__, e.effective_at, event_to_json(e)) for e in events]


def _biller(store: Any) -> Biller:
    return Biller(store, InMemoryGateway(), clock=FixedClock(datetime(2026, 1, 1, tzinfo=UTC)),
                  firm_id=FirmId("bench"))


def _state(a: Agreement) -> dict[str, Any]:
    return {f.name: getattr(a, f.name) for f in attrs.fields(Agreement) if f.init}


def _timed(fn: Callable[[], Any]) -> float:
    # What the steps before left for the collector is not this load's cost.
    gc.collect()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _load(b: Biller, aid: AgreementId) -> Callable[[], Agreement]:
    return lambda: b.load(aid)


def _full(store: Any, aid: AgreementId) -> Callable[[], Agreement]:
    return lambda: Agreement.from_events(decoded(e.payload) for e in store.load(aid))


def measure_store(store: Any, sizes: Sequence[int], repeats: int) -> dict[int, dict[str, float]]:
    """Median seconds per column for each size, loading from ``store``; raises
    AssertionError if a snapshot load differs from the full fold in any field."""
    out: dict[int, dict[str, float]] = {}
    for n in sizes:
        aid = AgreementId(f"h{n}")
        events = history(aid, n + 6 * repeats)
        for i in range(0, n, 1_000):
            store.append(aid, _stored(aid, events[i:min(i + 1_000, n)]), i)
        times: dict[str, list[float]] = {c: [] for c in COLUMNS}
        done = n
        for _ in range(repeats):
            decoded.cache_clear()
            times["cold"].append(_timed(_load(_biller(store), aid)))
            times["full"].append(_timed(_full(store, aid)))
            b = _biller(store)
            a = b.load(aid)
            times["snapshot"].append(_timed(_load(b, aid)))
            store.append(aid, _stored(aid, events[done:done + 3]), done)
            times["snapshot+3"].append(_timed(_load(b, aid)))
            a = b.load(aid)
            for e in events[done + 3:done + 6]:
                a = apply(a, e)
            store.append(aid, _stored(aid, events[done + 3:done + 6]), done + 3)
            done += 6
            times["after unit"].append(_timed(_load(b, aid)))
            if _state(b.load(aid)) != _state(Agreement.from_events(events[:done])):
                raise AssertionError(f"a snapshot load of {aid} differs from the full fold")
        out[n] = {c: statistics.median(ts) for c, ts in times.items()}
    return out


def _stores(names: Sequence[str], tmp: Path) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for name in names:
        if name == "memory":
            found.append((name, InMemoryStore()))
        elif name == "sqlite":
            found.append((name, SQLiteStore(tmp / "history.db")))
        elif name == "postgres":
            dsn = os.environ.get("MILESTONEBILL_PG_DSN", "").strip()
            if not dsn:
                print("postgres: MILESTONEBILL_PG_DSN is not set, skipped", file=sys.stderr)
                continue
            from milestonebill.stores.postgres import PostgresStore
            schema = f"bench_history_{os.getpid()}"
            found.append((name, PostgresStore(dsn, schema=schema)))
    return found


def _drop_schema(store: Any) -> None:
    import psycopg

    dsn = os.environ["MILESTONEBILL_PG_DSN"]
    store.close()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS bench_history_{os.getpid()} CASCADE")


def format_rows(rows: list[dict[str, Any]]) -> str:
    """The rows as a text table, milliseconds, with each column's ratio to 20 events."""
    head = f"{'store':<9}{'events':>8}" + "".join(f"{c:>13}" for c in COLUMNS)
    lines = [head + "   x of smallest (after unit)", "-" * (len(head) + 30)]
    smallest: dict[str, float] = {}
    for r in rows:
        smallest.setdefault(r["store"], r["after unit"])
        cells = "".join(f"{r[c] * 1e3:>10.2f} ms" for c in COLUMNS)
        ratio = r["after unit"] / smallest[r["store"]]
        lines.append(f"{r['store']:<9}{r['events']:>8}{cells}{ratio:>14.2f}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bench; print the table (and write ``--json``)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--sizes", default=",".join(map(str, SIZES)))
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--stores", default="memory,sqlite,postgres")
    p.add_argument("--json", type=Path)
    p.add_argument("--library", help="import milestonebill from this src directory")
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, store in _stores(args.stores.split(","), Path(tmp)):
            try:
                for n, cols in measure_store(store, sizes, args.repeats).items():
                    rows.append({"store": name, "events": n, **cols})
            finally:
                if name == "postgres":
                    _drop_schema(store)
                elif name == "sqlite":
                    store.close()
    print(format_rows(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

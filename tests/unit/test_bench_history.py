"""Smoke test of ``bench/history.py``: tiny sizes, every column measured and the
snapshot loads checked against the full fold.  Timings are never asserted
(they live in docs/performance.md)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from milestonebill.agreement import Agreement
from milestonebill.stores import InMemoryStore, SQLiteStore

ROOT = Path(__file__).resolve().parents[2]


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mb_bench_history", ROOT / "bench" / "history.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_history_bench_measures_every_column_on_a_store(tmp_path: Path) -> None:
    bench = _bench()
    store = SQLiteStore(tmp_path / "h.db")
    try:
        out = bench.measure_store(store, [20, 60], 2)
    finally:
        store.close()
    assert sorted(out) == [20, 60]
    assert all(sorted(cols) == sorted(bench.COLUMNS) for cols in out.values())


def test_the_history_bench_builds_a_valid_history_of_the_size_asked() -> None:
    bench = _bench()
    events = bench.history("h-test", 31)
    assert Agreement.from_events(events).version == 31
    assert len(bench.measure_store(InMemoryStore(), [7], 1)) == 1

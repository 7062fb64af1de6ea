"""Smoke test of the benchmark harness: tiny sizes, correctness columns only.

Timing is never asserted here; the harness's own numbers live in
docs/performance.md.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mb_bench_run", ROOT / "bench" / "run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def harness() -> ModuleType:
    return _load_harness()


@pytest.fixture(scope="module")
def quick_rows(
    harness: ModuleType, tmp_path_factory: pytest.TempPathFactory
) -> list[dict[str, Any]]:
    out = tmp_path_factory.mktemp("bench") / "quick.json"
    harness.main(["--quick", "--scale", "0.05", "--repeats", "1", "--no-memory", "--strict",
                  "--json", str(out)])
    data = json.loads(out.read_text(encoding="utf-8"))
    rows: list[dict[str, Any]] = data["rows"]
    return rows


def _rows(rows: list[dict[str, Any]], workload: str, kind: str) -> list[dict[str, Any]]:
    return [r for r in rows if r["workload"] == workload and r["kind"] == kind]


def test_quick_run_covers_every_workload(quick_rows: list[dict[str, Any]]) -> None:
    assert {r["workload"] for r in quick_rows} == {"W1", "W2", "W3", "W4", "W5", "W6"}


@pytest.mark.parametrize("workload", ["W1", "W2", "W3", "W4"])
def test_milestonebill_bulk_and_object_outputs_are_correct(
    quick_rows: list[dict[str, Any]], workload: str
) -> None:
    ours = _rows(quick_rows, workload, "ours-bulk") + _rows(quick_rows, workload, "ours-object")
    assert ours
    assert [(r["contender"], r["bad"], r["differ"]) for r in ours] == [
        (r["contender"], 0, 0) for r in ours
    ]
    assert all(r["checked"] == r["n"] for r in ours)


@pytest.mark.parametrize("workload", ["W1", "W2", "W3", "W4", "W5"])
def test_floor_loops_give_correct_outputs(quick_rows: list[dict[str, Any]], workload: str) -> None:
    floors = _rows(quick_rows, workload, "floor")
    assert floors
    assert all(r["bad"] == 0 and r["floor_ratio"] == 1.0 for r in floors)


def test_billing_run_issues_charges_and_posts_every_invoice(
    quick_rows: list[dict[str, Any]],
) -> None:
    w5 = [r for r in quick_rows if r["workload"] == "W5" and r["kind"] != "n/a"]
    # The batched run and the one-at-a-time run; PostgreSQL (when the server is
    # there), a slow gateway and the run's memory are "ours" and "memory" rows.
    assert {r["kind"] for r in w5} == {"floor", "reference", "ours", "ours-alone", "memory"}
    assert all(r["bad"] == 0 and r["checked"] == r["n"] > 0 for r in w5)


def test_every_report_is_timed_and_matches_the_reference_path(
    quick_rows: list[dict[str, Any]],
) -> None:
    w6 = {r["case"]: r for r in quick_rows if r["workload"] == "W6"}
    assert {"cash_forecast", "monthly_movements", "revenue_schedule",
            "all reports in sequence", "sum of the per-report medians"} <= set(w6)
    checked = [r for r in w6.values() if r["differ"] is not None]
    assert len(checked) == 18
    assert [(r["case"], r["differ"]) for r in checked] == [(r["case"], 0) for r in checked]
    assert sum(r["checked"] for r in checked) > 0


def test_the_split_check_catches_parts_that_do_not_sum(quick_rows: list[dict[str, Any]]) -> None:
    independent = [r for r in _rows(quick_rows, "W1", "peer")
                   if r["contender"] == "half-up each, independent"]
    assert independent
    assert all(r["bad"] > 0 for r in independent)


def test_exact_sum_peers_sum_but_differ_from_largest_remainder(
    quick_rows: list[dict[str, Any]],
) -> None:
    absorbs = [r for r in _rows(quick_rows, "W1", "peer")
               if r["contender"] == "half-up each, last absorbs"]
    assert [r["bad"] for r in absorbs] == [0, 0, 0]
    assert all(r["differ"] > 0 for r in absorbs)


def test_reference_recognition_models_tie_to_the_contract_amount(
    quick_rows: list[dict[str, Any]],
) -> None:
    peers = _rows(quick_rows, "W3", "peer")
    assert len(peers) == 6
    assert all(r["bad"] == 0 for r in peers)


def test_accumulated_relativedelta_drifts_off_the_anchor(quick_rows: list[dict[str, Any]]) -> None:
    drift = [r for r in _rows(quick_rows, "W4", "peer") if "relativedelta" in r["contender"]]
    assert drift
    assert drift[0]["bad"] > 0


def test_table_lists_every_row(harness: ModuleType, quick_rows: list[dict[str, Any]]) -> None:
    rows = [harness.Row(**r) for r in quick_rows]
    table = harness.format_table(rows)
    assert len(table.splitlines()) == len(rows) + 2


def test_memory_is_measured_in_a_subprocess(harness: ModuleType) -> None:
    cfg = harness.Config(repeats=1, quick=True, scale=0.05, sizes=dict(harness.QUICK_SIZES))
    rows = harness.memory_rows("W3", cfg)
    assert [r.kind for r in rows] == ["memory", "memory"]
    assert all("peak RSS" in r.note for r in rows)


def test_unknown_workload_is_refused(harness: ModuleType) -> None:
    with pytest.raises(SystemExit, match="W9"):
        harness.main(["--quick", "--only", "W9"])


def test_the_sequence_bench_times_every_report_within_the_sequence(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("mb_bench_sequence",
                                                  ROOT / "bench" / "sequence.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    medians = module.main(["--agreements", "4", "--repeats", "2", "--no-gc",
                           "--cache-dir", str(tmp_path)])
    assert {"cash_forecast", "monthly_movements", "revenue_schedule"} <= set(medians)
    assert all(m >= 0 for m in medians.values())
    out = capsys.readouterr().out
    assert "all reports in sequence" in out
    assert "collector off" in out

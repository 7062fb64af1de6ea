"""Memory of the W3 and W4 results, bulk against object form, each measured
in a fresh interpreter (``run.py --memory-child``)."""

from __future__ import annotations

import gc
import json
import random
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.common import (
    SEED,
    Config,
    Row,
    peak_rss_bytes,
    reset_peak_rss,
    status_bytes,
    unavailable,
)
from bench.recognition import w3_inputs
from bench.recurring import INVOICES, UPLIFT_PERCENT, w4_inputs

__all__ = ["MEMORY_CASES", "MEMORY_WORKLOADS", "RUN_SCRIPT", "memory_child", "memory_rows"]

#: The harness's entry point, which the measuring subprocesses run.
RUN_SCRIPT = Path(__file__).resolve().parent / "run.py"


def _memory_w3_bulk(n: int) -> Callable[[], Any]:
    from milestonebill.bulk import straight_line_many

    inp = w3_inputs(n, random.Random(SEED + 3))
    return lambda: straight_line_many(inp.amounts, inp.starts, inp.ends)


def _memory_w3_object(n: int) -> Callable[[], Any]:
    from milestonebill.money import Money
    from milestonebill.periods import Period
    from milestonebill.recognition import recognise_straight_line

    inp = w3_inputs(n, random.Random(SEED + 3))
    return lambda: [recognise_straight_line(Money.from_minor(a, "USD"), Period(s, e))
                    for a, s, e in zip(inp.amounts, inp.starts, inp.ends, strict=True)]


def _memory_w4_bulk(n: int) -> Callable[[], Any]:
    from milestonebill.bulk import monthly_invoices_many

    inp = w4_inputs(n, random.Random(SEED + 4))
    return lambda: monthly_invoices_many(inp.starts, inp.amounts, count=INVOICES,
                                         anchor_days=inp.anchors, yearly_percent=UPLIFT_PERCENT)


def _memory_w4_object(n: int) -> Callable[[], Any]:
    from milestonebill.money import Money
    from milestonebill.schedule import Escalation, Interval, ItemId, RecurringCharge

    inp = w4_inputs(n, random.Random(SEED + 4))
    uplift = Escalation(percent=Decimal(UPLIFT_PERCENT))
    return lambda: [
        list(RecurringCharge(ItemId("retainer"), "Retainer", Money.from_minor(p, "USD"),
                             Interval.MONTHLY, start=s, anchor_day=a, count=INVOICES,
                             escalations=(uplift,)).charges())
        for s, a, p in zip(inp.starts, inp.anchors, inp.amounts, strict=True)
    ]


#: workload -> {key: (label, size key, prepare)}: ``prepare(n)`` makes the
#: inputs and returns ``build()``, which computes and returns the whole result.
MEMORY_CASES: dict[str, dict[str, tuple[str, str, Callable[[int], Callable[[], Any]]]]] = {
    "W3": {
        "bulk": ("bulk: list[int] per contract", "W3", _memory_w3_bulk),
        "object": ("object: RecognitionSchedule", "W3.memory_object", _memory_w3_object),
    },
    "W4": {
        "bulk": ("bulk: list[date] + list[int] per agreement", "W4", _memory_w4_bulk),
        "object": ("object: list[Charge]", "W4.memory_object", _memory_w4_object),
    },
}
MEMORY_WORKLOADS = MEMORY_CASES


def memory_child(spec: str) -> dict[str, Any]:
    """In a fresh interpreter: peak RSS and traced bytes of one representation."""
    import tracemalloc

    workload, rep, n_text, mode = spec.split(":")
    n = int(n_text)
    build = MEMORY_CASES[workload][rep][2](n)
    gc.collect()
    if mode == "trace":
        tracemalloc.start()
        out = build()
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        result = {"retained": current, "traced_peak": peak}
    else:
        before = status_bytes("VmRSS")
        reset_peak_rss()
        out = build()
        result = {"rss_before": before, "rss_after": status_bytes("VmRSS"),
                  "rss_peak": peak_rss_bytes()}
    del out
    print(json.dumps(result))
    return result


def _child(spec: str) -> dict[str, int]:
    proc = subprocess.run(
        [sys.executable, str(RUN_SCRIPT), "--memory-child", spec],
        capture_output=True, text=True, check=True, timeout=600,
    )
    data: dict[str, int] = json.loads(proc.stdout.strip().splitlines()[-1])
    return data


def memory_rows(workload: str, cfg: Config) -> list[Row]:
    """Peak RSS growth and retained size of each representation, in subprocesses."""
    rows = []
    for rep, (label, size_key, _) in MEMORY_CASES.get(workload, {}).items():
        n = cfg.size(size_key)
        try:
            rss = _child(f"{workload}:{rep}:{n}:rss")
            trace = _child(f"{workload}:{rep}:{n}:trace")
        except (subprocess.SubprocessError, OSError, ValueError) as exc:
            rows.append(unavailable(workload, "memory", label, f"failed: {exc}"))
            continue
        mib = 1024 * 1024
        rows.append(Row(
            workload, "memory", label, "memory", n,
            note=(f"peak RSS {rss['rss_peak'] / mib:.0f} MiB during the call (RSS "
                  f"{rss['rss_before'] / mib:.0f} -> {rss['rss_after'] / mib:.0f} MiB); "
                  f"result holds {trace['retained'] / mib:.1f} MiB "
                  f"({trace['retained'] / n:.0f} B/contract), traced peak "
                  f"{trace['traced_peak'] / mib:.1f} MiB"),
        ))
    return rows

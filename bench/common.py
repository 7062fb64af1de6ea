"""Plumbing every workload shares: timing, the floor ratio, sizes, memory
readings and the results table."""

from __future__ import annotations

import gc
import importlib
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

__all__ = [
    "FULL_SIZES",
    "QUICK_SIZES",
    "SEED",
    "Check",
    "Config",
    "Contender",
    "Row",
    "format_table",
    "machine",
    "measure",
    "optional_module",
    "peak_rss_bytes",
    "reset_peak_rss",
    "rows_from",
    "run_case",
    "status_bytes",
    "unavailable",
]

SEED = 20_261_125


@dataclass
class Row:
    """One line of the results table."""

    workload: str
    case: str
    contender: str
    kind: str  # "ours-bulk", "ours-object", "floor", "peer", "memory", "n/a"
    n: int = 0
    median_s: float = 0.0
    times_s: list[float] = field(default_factory=list)
    per_s: float = 0.0
    floor_ratio: float | None = None
    bad: int | None = None
    differ: int | None = None
    checked: int = 0
    note: str = ""


@dataclass
class Contender:
    """A named way to run one case: ``run()`` returns its output."""

    name: str
    kind: str
    n: int
    run: Callable[[], Any]
    note: str = ""
    requires: str = ""  # a module the contender needs (peers are an optional extra)
    setup: Callable[[], None] | None = None  # untimed, before every run


@dataclass
class Config:
    """Sizes and repeats for one harness run."""

    repeats: int = 5
    quick: bool = False
    scale: float = 1.0
    sizes: dict[str, int] = field(default_factory=dict)

    def size(self, key: str) -> int:
        return max(8, int(self.sizes[key] * self.scale))


FULL_SIZES: dict[str, int] = {
    "W1": 1_000_000,  # contract amounts, 12 parts
    "W1.conventions": 200_000,  # hand-written conventions: prefix
    "W1.slow": 100_000,  # object API and float peer: prefix
    "W1.apportionment": 50_000,  # random-weights case; 1/5 of it in the other cases
    "W1.huge": 100_000,  # totals 10^15..10^17
    "W2": 1_000_000,  # mid-period price changes
    "W2.slow": 200_000,  # Decimal reference model: prefix
    "W2.object": 50_000,
    "W3": 100_000,  # contracts x 36 months
    "W3.slow": 10_000,  # reference models: prefix
    "W3.object": 2_000,
    "W3.memory_object": 5_000,
    "W4": 100_000,  # agreements x 60 invoices
    "W4.slow": 2_000,  # dateutil peers: prefix
    "W4.object": 300,
    "W4.memory_object": 2_000,
    "W5": 100_000,  # agreements x 12 milestones
    "W5.engine": 10_000,
    "W6": 5_000,  # agreements of a generated firm, every report
}
QUICK_SIZES: dict[str, int] = {
    "W1": 40_000,
    "W1.conventions": 20_000,
    "W1.slow": 10_000,
    "W1.apportionment": 4_000,
    "W1.huge": 10_000,
    "W2": 50_000,
    "W2.slow": 10_000,
    "W2.object": 5_000,
    "W3": 4_000,
    "W3.slow": 1_000,
    "W3.object": 200,
    "W3.memory_object": 500,
    "W4": 4_000,
    "W4.slow": 500,
    "W4.object": 50,
    "W4.memory_object": 100,
    "W5": 2_000,
    "W5.engine": 500,
    "W6": 200,
}


def optional_module(name: str) -> ModuleType | None:
    """Import ``name`` or return None when it does not exist (yet)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


Check = Callable[[Contender, Any], tuple[int | None, int | None, int]]


def measure(
    contenders: Sequence[Contender], repeats: int, check: Check
) -> tuple[dict[str, list[float]], dict[str, tuple[int | None, int | None, int]]]:
    """Time every contender ``repeats`` times, interleaved; check each first output.

    Interleaving (A B C, A B C, ...) spreads slow drifts of the machine over
    all contenders.  Outputs are checked as soon as they exist and dropped,
    so only one is alive at a time.  The inputs and references built before
    are frozen out of the garbage collector's scans (``gc.freeze``); the
    collector stays on for the contender's own allocations, as in real use.
    """
    times: dict[str, list[float]] = {c.name: [] for c in contenders}
    checks: dict[str, tuple[int | None, int | None, int]] = {}
    gc.collect()
    gc.freeze()
    try:
        for rep in range(repeats):
            for c in contenders:
                if c.setup is not None:
                    c.setup()
                gc.collect()
                t0 = time.perf_counter()
                out = c.run()
                times[c.name].append(time.perf_counter() - t0)
                if rep == 0:
                    checks[c.name] = check(c, out)
                del out
    finally:
        gc.unfreeze()
    return times, checks


def rows_from(
    workload: str,
    case: str,
    contenders: Sequence[Contender],
    timed: dict[str, list[float]],
    checks: dict[str, tuple[int | None, int | None, int]],
) -> list[Row]:
    """Build table rows; ``checks[name] = (bad, differ, rows checked)``."""
    floor_per_item: float | None = None
    for c in contenders:
        if c.kind == "floor":
            floor_per_item = statistics.median(timed[c.name]) / c.n
    rows = []
    for c in contenders:
        times = timed[c.name]
        med = statistics.median(times)
        bad, differ, checked = checks.get(c.name, (None, None, 0))
        ratio = floor_per_item / (med / c.n) if floor_per_item and med > 0 else None
        rows.append(
            Row(workload, case, c.name, c.kind, c.n, med, times, c.n / med if med else 0.0,
                ratio, bad, differ, checked, c.note)
        )
    return rows


def run_case(
    workload: str,
    case: str,
    contenders: Sequence[Contender],
    cfg: Config,
    check: Check,
) -> list[Row]:
    """Time ``contenders`` and check each first output with ``check``.

    A contender whose ``requires`` module is not installed gets an n/a row.
    """
    missing = [c for c in contenders if c.requires and optional_module(c.requires) is None]
    present = [c for c in contenders if c not in missing]
    t0 = time.perf_counter()
    timed, checks = measure(present, cfg.repeats, check)
    print(f"  {workload} {case}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    return rows_from(workload, case, present, timed, checks) + [
        unavailable(workload, case, c.name, f"{c.requires} not installed "
                    "(pip install -e '.[bench]')") for c in missing
    ]


def unavailable(workload: str, case: str, name: str, why: str) -> Row:
    return Row(workload, case, name, "n/a", note=why)


def status_bytes(field: str) -> int:
    """A ``kB`` field of /proc/self/status (``VmRSS``, ``VmHWM``) in bytes, 0 if absent."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def reset_peak_rss() -> None:
    """Start a new peak: on Linux, writing 5 to clear_refs resets VmHWM to the current RSS."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        pass


def peak_rss_bytes() -> int:
    """Peak RSS of this process: VmHWM, else getrusage's ru_maxrss.

    ru_maxrss is only a fallback: on Linux a child started with fork+exec
    inherits the parent's high-water mark, so it overstates the child's peak.
    """
    hwm = status_bytes("VmHWM")
    if hwm:
        return hwm
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r if sys.platform == "darwin" else r * 1024


def machine() -> dict[str, str]:
    """Facts about the machine and interpreter, for the record."""
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    ram = "unknown"
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            kb = int(fh.readline().split()[1])
            ram = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu": cpu,
        "nproc": str(os.cpu_count()),
        "ram": ram,
    }


def _fmt_num(x: float) -> str:
    if x >= 1e6:
        return f"{x / 1e6:.2f}M"
    if x >= 1e3:
        return f"{x / 1e3:.1f}k"
    return f"{x:.1f}"


def format_table(rows: Sequence[Row]) -> str:
    """The results as a Markdown table."""
    head = ("| workload | case | contender | kind | n | median s | items/s | floor/x "
            "| bad | differ | note |")
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        if r.kind == "n/a":
            lines.append(f"| {r.workload} | {r.case} | {r.contender} | n/a "
                         f"| | | | | | | {r.note} |")
            continue
        if r.kind == "memory":
            lines.append(f"| {r.workload} | {r.case} | {r.contender} | memory | {r.n:,} "
                         f"| | | | | | {r.note} |")
            continue
        ratio = "" if r.floor_ratio is None else f"{r.floor_ratio:.2f}"
        bad = "" if r.bad is None else f"{r.bad:,}"
        differ = "" if r.differ is None else f"{r.differ:,}"
        lines.append(
            f"| {r.workload} | {r.case} | {r.contender} | {r.kind} | {r.n:,} | {r.median_s:.3f} "
            f"| {_fmt_num(r.per_s)} | {ratio} | {bad} | {differ} | {r.note} |"
        )
    return "\n".join(lines)

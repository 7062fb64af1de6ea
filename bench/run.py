"""Benchmark harness: milestonebill against its peers and a pure-Python floor.

Run from the repository root::

    python bench/run.py                 # every workload, full sizes
    python bench/run.py --quick         # small sizes, well under a minute
    python bench/run.py --only W1,W2 --repeats 7 --json out.json

Each workload is one self-contained function (``w1_split`` ... ``w5_billing``)
that builds fixed-seed inputs in integer minor units, defines its contenders
(milestonebill's bulk and object APIs, the peers a user would otherwise pick,
and a tight "floor" loop written here), times them interleaved, and checks the
outputs.  Every contender of a case runs on the same inputs; contenders that
are too slow for the full size run on a prefix of the same inputs, and the
floor ratio is computed per item so sizes need not match.

Columns: ``median s`` is the median wall time over the repeats; ``items/s``
the throughput; ``floor/x`` is floor time per item divided by this
contender's time per item (1.0 = as fast as the floor, 0.5 = twice as slow);
``bad`` counts rows whose output breaks the workload's invariant (parts do not
sum to the total, or the answer differs from the exact one); ``differ``
counts rows that differ from milestonebill's bulk answer.

This file is the entry point; the harness is the ``bench`` package beside
it: ``common`` (timing, floors, sizes, the table), one module per workload
(``split``, ``proration``, ``recognition``, ``recurring``, ``billing``,
``reports``) and ``memory`` (the subprocess memory readings).  ``reports``
also runs on its own (``python bench/reports.py``, see its docstring).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run from a checkout without installing: the library's src/, and the root so
# that the ``bench`` package beside this file imports however this file is run.
for _path in (ROOT, ROOT / "src"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from bench.billing import w5_billing  # noqa: E402
from bench.common import (  # noqa: E402
    FULL_SIZES,
    QUICK_SIZES,
    Config,
    Contender,
    Row,
    format_table,
    machine,
    unavailable,
)
from bench.memory import MEMORY_WORKLOADS, memory_child, memory_rows  # noqa: E402
from bench.proration import w2_proration  # noqa: E402
from bench.recognition import w3_recognition  # noqa: E402
from bench.recurring import w4_recurring  # noqa: E402
from bench.reports import CACHE_DIR, w6_reports  # noqa: E402
from bench.split import w1_split  # noqa: E402

__all__ = [
    "FULL_SIZES",
    "QUICK_SIZES",
    "WORKLOADS",
    "Config",
    "Contender",
    "Row",
    "format_table",
    "main",
    "memory_rows",
    "parse_args",
]

WORKLOADS: dict[str, Callable[[Config], list[Row]]] = {
    "W1": w1_split,
    "W2": w2_proration,
    "W3": w3_recognition,
    "W4": w4_recurring,
    "W5": w5_billing,
    # Quick runs build their tiny firm afresh; full runs keep the 5,000-agreement one.
    "W6": lambda cfg: w6_reports(cfg, cache_dir=None if cfg.quick else CACHE_DIR),
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    p.add_argument("--repeats", type=int, default=None, help="timed repeats (default 5, quick 3)")
    p.add_argument("--only", default="", help="comma-separated workloads, e.g. W1,W2")
    p.add_argument("--json", dest="json_path", default=None, help="write results as JSON here")
    p.add_argument("--scale", type=float, default=1.0, help="multiply every size by this")
    p.add_argument("--no-memory", action="store_true", help="skip the memory subprocesses")
    p.add_argument("--strict", action="store_true", help="stop on the first failing workload")
    p.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the selected workloads, print the table, return the results."""
    args = parse_args(argv)
    if args.memory_child:
        return memory_child(args.memory_child)
    cfg = Config(
        repeats=args.repeats if args.repeats else (3 if args.quick else 5),
        quick=args.quick,
        scale=args.scale,
        sizes=dict(QUICK_SIZES if args.quick else FULL_SIZES),
    )
    cfg_memory = not args.no_memory
    selected = [w.strip().upper() for w in args.only.split(",") if w.strip()] or list(WORKLOADS)
    unknown = [w for w in selected if w not in WORKLOADS]
    if unknown:
        raise SystemExit(f"unknown workload(s) {unknown}; choose from {sorted(WORKLOADS)}")
    info = machine()
    print(f"# milestonebill benchmarks: Python {info['python']}, {info['cpu']}, "
          f"{info['nproc']} CPUs, {info['ram']}; repeats={cfg.repeats}"
          f"{', quick' if cfg.quick else ''}", flush=True)
    rows: list[Row] = []
    started = time.perf_counter()
    for name in selected:
        t0 = time.perf_counter()
        try:
            got = WORKLOADS[name](cfg)
        except Exception as exc:  # one broken workload must not hide the others
            if args.strict:
                raise
            got = [unavailable(name, "error", "harness", f"{type(exc).__name__}: {exc}")]
        if cfg_memory and name in MEMORY_WORKLOADS:
            got += memory_rows(name, cfg)
        rows += got
        print(f"\n## {name} ({time.perf_counter() - t0:.1f} s)\n", flush=True)
        print(format_table(got), flush=True)
    total = time.perf_counter() - started
    print(f"\ntotal {total:.1f} s", flush=True)
    result: dict[str, Any] = {
        "machine": info,
        "repeats": cfg.repeats,
        "quick": cfg.quick,
        "scale": cfg.scale,
        "seconds": total,
        "rows": [asdict(r) for r in rows],
    }
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()

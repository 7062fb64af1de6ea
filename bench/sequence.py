"""All reports of ``milestonebill.reports`` in sequence, per report, in one process.

``bench/reports.py`` times each report on its own and the sequence once per
repeat, with a fresh set of agreements (and a collection) before every
call.  This script loads the cached firm once and runs the whole sequence
``--repeats`` times on fresh agreements, printing each report's CPU time
within the sequence (median) and the sequence totals: what a dashboard
showing every report pays, report by report.  ``--no-gc`` turns the
collector off for the timed part (what the reports compute, without the
full collections their kept values cause); ``--library`` measures another
source tree, so two trees can be run alternately on a noisy machine::

    python bench/sequence.py                          # 5,000 agreements, collector on
    python bench/sequence.py --no-gc
    python bench/sequence.py --library ../old/src     # the same, an older tree

The firm is the one ``bench/reports.py`` caches under ``.bench-cache/``.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "src"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    """Run the sequence; print per-report medians and the totals; return the medians."""
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--agreements", type=int, default=5_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--no-gc", action="store_true", help="collector off while timing")
    p.add_argument("--library", default=None, metavar="SRC",
                   help="import milestonebill from this source tree")
    p.add_argument("--cache-dir", default=str(ROOT / ".bench-cache"))
    args = p.parse_args(argv)
    if args.library:
        if "milestonebill" in sys.modules:
            raise SystemExit("--library must come before milestonebill is imported")
        sys.path.insert(0, str(Path(args.library).resolve()))
    import milestonebill
    from bench.reports import firm_data, report_jobs

    print(f"# milestonebill from {Path(milestonebill.__file__).parent}, "
          f"{args.agreements:,} agreements, {args.repeats} runs of the sequence", flush=True)
    jobs = report_jobs(firm_data(args.agreements, cache_dir=Path(args.cache_dir)))
    per: dict[str, list[float]] = {name: [] for name in jobs.calls}
    totals: list[float] = []
    for _ in range(args.repeats):
        jobs.fresh()
        gc.collect()
        gc.freeze()  # the agreements are the host's long-lived data, as in bench/reports.py
        if args.no_gc:
            gc.disable()
        start = time.process_time()
        for name, run in jobs.calls.items():
            t = time.process_time()
            run()
            per[name].append(time.process_time() - t)
        totals.append(time.process_time() - start)
        gc.enable()
        gc.unfreeze()
    medians = {name: statistics.median(v) for name, v in per.items()}
    for name, m in medians.items():
        print(f"{name:28s} {m * 1000:8.1f} ms")
    print(f"{'all reports in sequence':28s} {statistics.median(totals) * 1000:8.1f} ms "
          f"(runs: {', '.join(f'{t:.3f}' for t in totals)} s; collector "
          f"{'off' if args.no_gc else 'on'})")
    return medians


if __name__ == "__main__":
    main()

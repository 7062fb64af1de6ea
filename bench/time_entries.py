"""Folding an agreement's time entries: the cost per entry as the history grows.

Each recorded entry of a time-and-materials term is checked against the
stream so far (its id not recorded yet, a rate in force), and reading an
agreement's work replays the stream.  This measures folding ``n`` entries
onto a signed agreement (hours every working day, a cap far above them)
and one :func:`~milestonebill.timebilling.time_position` of the result.

Run from the repository root::

    python bench/time_entries.py                    # 100, 400, 1,000 and 4,000 entries
    python bench/time_entries.py --sizes 100,200
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

import attrs  # noqa: E402

from milestonebill.agreement import (  # noqa: E402
    Agreement,
    AgreementId,
    TimeEntry,
    TimeRecorded,
    fold,
    sign,
)
from milestonebill.schedule import Rate, TimeAndMaterials  # noqa: E402
from milestonebill.testing.scenarios import CARD, proposal, usd  # noqa: E402
from milestonebill.timebilling import time_position  # noqa: E402


def signed() -> Agreement:
    """An agreement with a time-and-materials term whose cap no history here reaches."""
    term = TimeAndMaterials(rates=(Rate("senior", usd("150.00"), date(2020, 1, 1)),),
                            cap=usd("100000000.00"))
    return sign(attrs.evolve(proposal(), time_materials=term), option="std", signer="Ada",
                payment_method=CARD, agreement_id=AgreementId("a-t"),
                signed_at=datetime(2020, 1, 5, tzinfo=UTC))


def entries(a: Agreement, n: int) -> list[TimeRecorded]:
    """``n`` entries of 1.5 hours, eight a day."""
    return [TimeRecorded(f"{a.id}:time:T-{i}", a.version + 1 + i,
                         datetime(2020, 1, 6, tzinfo=UTC) + timedelta(minutes=i),
                         TimeEntry(entry_id=f"T-{i}", on=date(2020, 1, 6) + timedelta(days=i // 8),
                                   person="ada", role="senior", hours=Decimal("1.5")))
            for i in range(n)]


def main(argv: Sequence[str] | None = None) -> None:
    """Print the fold and replay time for each size."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="100,400,1000,4000")
    args = p.parse_args(argv)
    a = signed()
    print("| entries | fold s | per entry | time_position ms |")
    print("|---:|---:|---:|---:|")
    for n in (int(x) for x in args.sizes.split(",")):
        events = entries(a, n)
        t = time.perf_counter()
        b = fold(a, events)
        folded = time.perf_counter() - t
        t = time.perf_counter()
        assert len(time_position(b)) == n
        replay = time.perf_counter() - t
        print(f"| {n:,} | {folded:.3f} | {folded / n * 1e6:.0f} us | {replay * 1e3:.1f} |",
              flush=True)


if __name__ == "__main__":
    main()

"""``milestonebill demo [--file FILE] [--db PATH] [--until DATE] [--json]``: bill
an engagement end to end with no keys and no services.

An embedded SQLite file (a fresh temporary directory unless ``--db`` is
given), the in-memory gateway and a fixed clock walking from signing through
a few month-ends, with one soft decline that is retried and one amendment
priced by ``preview`` before it is approved (the script:
:mod:`milestonebill.cli.demo_scenario`; the report:
:mod:`milestonebill.cli.demo_report`).  Running it twice on the same
``--db`` bills and charges nothing new.  See ``docs/demo.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from collections.abc import Callable
from typing import Any, TextIO

from milestonebill.cli.common import UsageError, date_arg, error_text
from milestonebill.cli.demo_report import build_report, render_text
from milestonebill.cli.demo_scenario import DemoPlan, plan_demo, played
from milestonebill.cli.engagement import load_engagement, read_engagement_json
from milestonebill.cli.output import progress_bar
from milestonebill.errors import ValidationError

__all__ = ["register", "run_demo"]


def run_demo(plan: DemoPlan, db_path: str, *,
             progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Play ``plan`` against the SQLite file ``db_path``; the report as JSON-ready data.

    ``progress`` is called with the number of days of the walk done so far.
    """
    reused = os.path.exists(db_path)
    with played(plan, db_path, progress=progress) as walk:
        return build_report(walk, db_path, reused=reused)


def _plan(args: argparse.Namespace) -> DemoPlan:
    # Everything is checked before anything is written: a bad file leaves no store.
    where = "<stdin>" if args.file == "-" else args.file
    data, _source = read_engagement_json(args.file, field="--file")
    try:
        return plan_demo(load_engagement(data), until=args.until)
    except ValidationError as exc:
        if args.file is None or exc.field == "--until":
            raise
        raise ValidationError(exc.field, exc.expected, exc.value,
                              f"--file {where}: {error_text(exc)}") from None


def _db_path(arg: str | None) -> str:
    if arg is None:
        return os.path.join(tempfile.mkdtemp(prefix="milestonebill-demo-"), "milestonebill.db")
    db = os.path.abspath(arg)
    if not os.path.isdir(os.path.dirname(db)):
        raise ValidationError("--db", "a file path in an existing directory", arg)
    if os.path.isdir(db):
        raise ValidationError("--db", "a file path, not a directory", arg)
    return db


def _offline_only(args: argparse.Namespace) -> None:
    """The demo always runs on a SQLite file and the in-memory gateway."""
    if getattr(args, "dsn", None) is not None:
        raise UsageError("--dsn", "left out: the demo runs on a SQLite file (--db)", args.dsn,
                         "the demo runs on a SQLite file, not PostgreSQL: leave out --dsn")
    if getattr(args, "gateway", None) == "stripe":
        raise UsageError("--gateway", "memory: the demo runs offline", "stripe",
                         "the demo runs offline on the in-memory gateway: leave out "
                         "--gateway stripe")


def _run(args: argparse.Namespace, out: TextIO) -> int:
    _offline_only(args)
    plan = _plan(args)
    days = (plan.until - plan.signed_on).days + 1
    quiet = args.json or getattr(args, "quiet", False)
    with progress_bar(not quiet, days, "demo", unit="day") as moved:
        report = run_demo(plan, _db_path(getattr(args, "db", None)), progress=moved)
    if args.json:
        json.dump(report, out, indent=2)
        out.write("\n")
    else:
        out.write(render_text(report))
    return 1 if report["this_run"]["problems"] else 0


def register(sub: Any) -> None:
    """Add the ``demo`` subcommand to ``sub`` (an argparse subparsers object)."""
    p = sub.add_parser(
        "demo",
        help="bill the example engagement end to end, offline",
        description="Sign the example engagement (or --file) with a card saved through the "
        "in-memory gateway, then walk a simulated timeline on an embedded SQLite store: "
        "milestone completions, month-end runs, a declined charge that is retried, and an "
        "amendment previewed to the cent before it is approved. Prints every invoice, "
        "charge attempt, the ledger and the outbox. No keys, no services; running it again "
        "on the same --db bills nothing twice.",
    )
    p.add_argument("--file", metavar="FILE",
                   help="engagement JSON file ('-' = stdin; default: the shipped example)")
    p.add_argument("--db", metavar="PATH", default=argparse.SUPPRESS,
                   help="SQLite file to use or create (default: a new temporary directory; "
                   "the demo ignores MILESTONEBILL_DB)")
    p.add_argument("--until", type=date_arg, metavar="DATE",
                   help="last day of the walk (default: the month-end after the last dated "
                   "milestone, at least three months after signing)")
    p.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                   help="print the report as JSON (as the global --json)")
    p.set_defaults(handler=_run)

"""The ``milestonebill`` command.

Subcommands are registered in one place, :data:`COMMANDS`: each entry is a
function that adds its parser to the subparsers and sets ``handler`` (a
function from the parsed arguments and an output stream to an exit code).

``milestonebill schedule [FILE] [--from DATE] [--to DATE] [--json]`` prints
the dated charges of an engagement file; without ``FILE`` it uses the
example engagement shipped with the package.

An engagement file is a JSON object::

    {"engagement": "name", "client": "who",            (optional, for display)
     "signed_on": "2025-01-15",                        (optional)
     "completions": {"milestone-id": "2025-02-28"},    (optional)
     "schedule": { ...BillingSchedule.to_json()... }}

A bare schedule object (the ``BillingSchedule.to_json()`` form) is accepted too.

``milestonebill demo [--file FILE] [--db PATH] [--until DATE] [--json]`` bills
an engagement end to end with no keys and no services: an embedded SQLite
file (a fresh temporary directory unless ``--db`` is given), the in-memory
gateway and a fixed clock walking from signing through a few month-ends,
with one soft decline that is retried and one amendment priced by
``preview`` before it is approved.  Running it twice on the same ``--db``
bills and charges nothing new.  See ``docs/demo.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from importlib import resources
from typing import Any, TextIO

import attrs

from milestonebill.errors import MilestonebillError, ValidationError
from milestonebill.money import Money
from milestonebill.periods import add_months
from milestonebill.schedule import BillingSchedule, Charge, MilestoneId, Trigger

__all__ = [
    "COMMANDS",
    "EXAMPLE_ENGAGEMENT",
    "Engagement",
    "build_parser",
    "load_engagement",
    "main",
]

#: Resource name of the example engagement inside the package.
EXAMPLE_ENGAGEMENT = "examples/engagement.json"

Handler = Callable[[argparse.Namespace, TextIO], int]


@attrs.frozen
class Engagement:
    """A billing schedule with the facts needed to date its milestones."""

    schedule: BillingSchedule
    name: str = ""
    client: str = ""
    signed_on: date | None = None
    completions: Mapping[MilestoneId, date] = attrs.field(factory=dict)

    def default_window(self) -> tuple[date, date]:
        """``[first date, day after the last charge)``, or 12 months when unbounded."""
        s = self.schedule
        candidates = [r.start for r in s.recurring]
        candidates += [m.due_on for m in s.milestones if m.due_on is not None]
        candidates += list(self.completions.values())
        if self.signed_on is not None:
            candidates.append(self.signed_on)
        if not candidates:
            return date(2000, 1, 1), date(2000, 1, 1)
        start = min(candidates)
        if all(r.is_finite for r in s.recurring):
            last = max(
                [c.on for c in s.charges_between(start, date.max, signed_on=self.signed_on,
                                                 completions=self.completions)] or [start]
            )
            return start, date.fromordinal(last.toordinal() + 1)
        return start, add_months(start, 12)


def _parse_date(v: object, field: str) -> date:
    if not isinstance(v, str):
        raise ValidationError(field, "an ISO date string such as '2025-01-31'", v)
    try:
        return date.fromisoformat(v)
    except ValueError:
        raise ValidationError(field, "an ISO date string such as '2025-01-31'", v) from None


def load_engagement(data: object) -> Engagement:
    """Build an :class:`Engagement` from parsed JSON (see the module docstring).

    >>> e = load_engagement({"signed_on": "2025-01-15",
    ...     "schedule": {"currency": "EUR", "milestones": [
    ...         {"id": "all", "name": "All", "amount": {"amount": "900.00", "currency": "EUR"},
    ...          "trigger": "on_signing"}]}})
    >>> [(str(c.on), str(c.amount)) for c in e.schedule.charges_between(
    ...     *e.default_window(), signed_on=e.signed_on)]
    [('2025-01-15', '900.00 EUR')]
    """
    if not isinstance(data, dict):
        raise ValidationError("engagement", "a JSON object", data)
    if "schedule" not in data:
        return Engagement(BillingSchedule.from_json(data))
    known = {"engagement", "client", "signed_on", "completions", "schedule"}
    extra = sorted(set(data) - known)
    if extra:
        raise ValidationError(extra[0], "a known key (" + ", ".join(sorted(known)) + ")", extra[0])
    schedule = BillingSchedule.from_json(data["schedule"])
    name, client = data.get("engagement", ""), data.get("client", "")
    if not isinstance(name, str):
        raise ValidationError("engagement", "a string", name)
    if not isinstance(client, str):
        raise ValidationError("client", "a string", client)
    signed = data.get("signed_on")
    signed_on = None if signed is None else _parse_date(signed, "signed_on")
    raw = data.get("completions") or {}
    if not isinstance(raw, dict):
        raise ValidationError("completions", "an object of milestone id to date", raw)
    known_ids = {m.id for m in schedule.milestones}
    completions: dict[MilestoneId, date] = {}
    for k, v in raw.items():
        if k not in known_ids:
            raise ValidationError("completions", "ids of the schedule's milestones", k)
        completions[MilestoneId(k)] = _parse_date(v, f"completions.{k}")
    for m in schedule.milestones:
        if m.trigger is Trigger.ON_COMPLETION or m.id not in completions:
            continue
        raise ValidationError(f"completions.{m.id}", "only milestones triggered on completion",
                              m.trigger.value)
    return Engagement(schedule, name, client, signed_on, completions)


def _read(path: str | None) -> tuple[object, str]:
    if path is None:
        text = resources.files("milestonebill").joinpath(EXAMPLE_ENGAGEMENT).read_text("utf-8")
        return json.loads(text), "example engagement"
    if path == "-":
        return json.load(sys.stdin), "<stdin>"
    with open(path, encoding="utf-8") as f:
        return json.load(f), path


def _date_arg(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO date such as 2025-01-31, got {text!r}"
        ) from None


def _charge_rows(charges: Sequence[Charge]) -> list[str]:
    rows = [
        (c.on.isoformat(), c.item_id, f"{c.amount.amount:,} {c.amount.currency.code}",
         "" if c.due is None else c.due.isoformat(), c.provenance)
        for c in charges
    ]
    w_item = max([len("item"), *(len(r[1]) for r in rows)])
    w_amt = max([len("amount"), *(len(r[2]) for r in rows)])
    out = [f"{'date':<10}  {'item':<{w_item}}  {'amount':>{w_amt}}  {'due':<10}  provenance"]
    out += [f"{d:<10}  {i:<{w_item}}  {a:>{w_amt}}  {u:<10}  {p}" for d, i, a, u, p in rows]
    return out


def _run_schedule(args: argparse.Namespace, out: TextIO) -> int:
    data, source = _read(args.file)
    eng = load_engagement(data)
    start, end = eng.default_window()
    start = args.start or start
    end = args.end or (end if args.start is None or end > start else add_months(start, 12))
    if end < start:
        raise ValidationError("--to", f"a date on or after --from {start}", end)
    charges = eng.schedule.charges_between(
        start, end, signed_on=eng.signed_on, completions=eng.completions
    )
    currency = eng.schedule.currency
    total = Money.total((c.amount for c in charges), currency=currency)
    if args.json:
        doc: dict[str, Any] = {
            "engagement": eng.name,
            "client": eng.client,
            "currency": currency.code,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "charges": [c.to_json() for c in charges],
            "total": total.to_json(),
        }
        json.dump(doc, out, indent=2)
        out.write("\n")
        return 0
    title = eng.name or source
    if eng.client:
        title += f" ({eng.client})"
    out.write(f"{title}\ncharges from {start} to {end} (end exclusive), {currency.code}\n\n")
    for line in _charge_rows(charges):
        out.write(line.rstrip() + "\n")
    noun = "charge" if len(charges) == 1 else "charges"
    out.write(f"\n{len(charges)} {noun}, total {total.amount:,} "
              f"{currency.code}\n")
    return 0


def _add_schedule(sub: Any) -> None:
    p = sub.add_parser(
        "schedule",
        help="print the dated charges of an engagement file",
        description="Print the dated charges (date, item, amount, provenance) of an "
        "engagement JSON file; without FILE, of the example engagement shipped with "
        "the package. Without --from/--to: from the earliest date in the file to the "
        "last charge, or 12 months when a recurring charge has no end.",
    )
    p.add_argument("file", nargs="?", metavar="FILE", help="engagement JSON file ('-' = stdin)")
    p.add_argument("--from", dest="start", type=_date_arg, metavar="DATE",
                   help="first billing date included (ISO date)")
    p.add_argument("--to", dest="end", type=_date_arg, metavar="DATE",
                   help="first billing date excluded (ISO date)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=_run_schedule)


def _run_demo(args: argparse.Namespace, out: TextIO) -> int:
    from milestonebill import _demo

    # Everything is checked before anything is written: a bad file leaves no store.
    where = "<stdin>" if args.file == "-" else args.file
    try:
        data, _source = _read(args.file)
    except json.JSONDecodeError as exc:
        raise ValidationError("--file", "a JSON engagement file", where,
                              f"--file {where}: not valid JSON ({exc})") from None
    except OSError as exc:
        raise ValidationError("--file", "a readable file", where,
                              f"--file {where}: cannot read it ({exc.strerror or exc})") from None
    try:
        plan = _demo.plan_demo(load_engagement(data), until=args.until)
    except ValidationError as exc:
        if args.file is None or exc.field == "--until":
            raise
        raise ValidationError(exc.field, exc.expected, exc.value,
                              f"--file {where}: {exc}") from None
    if args.db is None:
        db = os.path.join(tempfile.mkdtemp(prefix="milestonebill-demo-"), "milestonebill.db")
    else:
        db = os.path.abspath(args.db)
        folder = os.path.dirname(db)
        if not os.path.isdir(folder):
            raise ValidationError("--db", "a file path in an existing directory", args.db)
        if os.path.isdir(db):
            raise ValidationError("--db", "a file path, not a directory", args.db)
    report = _demo.run_demo(plan, db)
    if args.json:
        json.dump(report, out, indent=2)
        out.write("\n")
    else:
        out.write(_demo.render_text(report))
    return 1 if report["this_run"]["problems"] else 0


def _add_demo(sub: Any) -> None:
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
    p.add_argument("--db", metavar="PATH",
                   help="SQLite file to use or create (default: a new temporary directory)")
    p.add_argument("--until", type=_date_arg, metavar="DATE",
                   help="last day of the walk (default: the month-end after the last dated "
                   "milestone, at least three months after signing)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(handler=_run_demo)


#: The subcommands, in help order; add a new one by appending its registrar.
COMMANDS: tuple[Callable[[Any], None], ...] = (_add_schedule, _add_demo)


def build_parser(commands: Sequence[Callable[[Any], None]] = COMMANDS) -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="milestonebill", description="Milestone billing for service firms."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in commands:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 bad input, 2 usage)."""
    stream = out if out is not None else sys.stdout
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    handler: Handler = args.handler
    try:
        return handler(args, stream)
    except BrokenPipeError:  # the reader went away (``| head``); nothing left to report
        return 1
    except (MilestonebillError, OSError, json.JSONDecodeError) as exc:
        print(f"milestonebill {args.command}: error: {exc}", file=sys.stderr)
        return 1

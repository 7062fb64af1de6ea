"""``milestonebill schedule [FILE] [--from DATE] [--to DATE] [--json]``: the
dated charges of an engagement file (see :mod:`milestonebill.cli.engagement`);
without ``FILE``, of the example engagement shipped with the package."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from datetime import date
from typing import Any, TextIO

from milestonebill.cli.common import date_arg
from milestonebill.cli.engagement import Engagement, load_engagement, read_engagement_json
from milestonebill.errors import ValidationError
from milestonebill.money import Money
from milestonebill.periods import add_months
from milestonebill.schedule import Charge

__all__ = ["register"]


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


def _window(eng: Engagement, start: date | None, end: date | None) -> tuple[date, date]:
    """``--from`` / ``--to``, each filled in from the engagement when not given."""
    if start is None:
        start, last = eng.default_window()
        end = end or last
    elif end is None:
        last = start if eng.first_date() is None else eng.default_window()[1]
        end = last if last > start else add_months(start, 12)
    if end < start:
        raise ValidationError("--to", f"a date on or after --from {start}", end)
    return start, end


def _run(args: argparse.Namespace, out: TextIO) -> int:
    data, source = read_engagement_json(args.file, field="FILE")
    eng = load_engagement(data)
    start, end = _window(eng, args.start, args.end)
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


def register(sub: Any) -> None:
    """Add the ``schedule`` subcommand to ``sub`` (an argparse subparsers object)."""
    p = sub.add_parser(
        "schedule",
        help="print the dated charges of an engagement file",
        description="Print the dated charges (date, item, amount, provenance) of an "
        "engagement JSON file; without FILE, of the example engagement shipped with "
        "the package. Without --from/--to: from the earliest date in the file to the "
        "last charge, or 12 months when a recurring charge has no end.",
    )
    p.add_argument("file", nargs="?", metavar="FILE", help="engagement JSON file ('-' = stdin)")
    p.add_argument("--from", dest="start", type=date_arg, metavar="DATE",
                   help="first billing date included (ISO date)")
    p.add_argument("--to", dest="end", type=date_arg, metavar="DATE",
                   help="first billing date excluded (ISO date)")
    p.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                   help="print JSON instead of a table (as the global --json)")
    p.set_defaults(handler=_run)

"""``milestonebill export FORMAT --period P``: the ledger's journal entries of a period.

The entries posted in the period (``posted_on`` in ``[start, end)``) are
written in ``FORMAT``:

* ``csv`` -- one row per journal line: ``entry_id, posted_on, line,
  account, debit, credit, currency, agreement_id, obligation_id, memo``;
  amounts are exact decimals, each entry's debits equal its credits;
* ``json`` -- ``{"period": {"start", "end"}, "entries": [...]}``, each entry
  in the library's JSON form (money as ``{"amount", "currency"}``; the
  period half-open).

Every format is one entry of :data:`EXPORTS` (a function from the entries
and the period to text), so an accounting system's import format plugs in
with one line.  ``--output FILE`` writes the file atomically instead of
printing it.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, TextIO

from milestonebill.cli.failures import EXIT_OK
from milestonebill.cli.output import emit_json
from milestonebill.cli.session import open_session
from milestonebill.cli.spans import add_span_options, span_of
from milestonebill.errors import ValidationError
from milestonebill.ledger import JournalEntry, Side
from milestonebill.periods import Period

__all__ = ["EXPORTS", "Exporter", "journal_csv", "journal_json", "register"]

#: Writes journal entries of a period as the text of one file.
Exporter = Callable[[Sequence[JournalEntry], Period], str]

_CSV_COLUMNS: Final = ("entry_id", "posted_on", "line", "account", "debit", "credit",
                       "currency", "agreement_id", "obligation_id", "memo")


def journal_csv(entries: Sequence[JournalEntry], period: Period) -> str:
    """One CSV row per journal line (see the module docs)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(_CSV_COLUMNS)
    for e in entries:
        for n, ln in enumerate(e.lines, 1):
            amount = str(ln.amount.amount)
            debit = ln.side is Side.DEBIT
            w.writerow([e.id, e.posted_on.isoformat(), n, ln.account.value,
                        amount if debit else "", "" if debit else amount,
                        ln.amount.currency.code, e.agreement_id or "", e.obligation_id or "",
                        e.memo])
    return buf.getvalue()


def journal_json(entries: Sequence[JournalEntry], period: Period) -> str:
    """The entries in the library's JSON form, with the (half-open) period."""
    doc = {"period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
           "entries": [e.to_json() for e in entries]}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


#: Every export format the command knows, by name.
EXPORTS: Final[Mapping[str, Exporter]] = {
    "csv": journal_csv,
    "json": journal_json,
}


def _write_atomically(path: str, text: str) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _export(args: argparse.Namespace, out: TextIO) -> int:
    period = span_of(args, required=True)
    assert period is not None
    with open_session(args) as s:
        entries = sorted((e for e in s.store.entries()
                          if period.start <= e.posted_on < period.end),
                         key=lambda e: (e.posted_on, e.id))
    text = EXPORTS[args.format](entries, period)
    if args.output is None:
        out.write(text)
        return EXIT_OK
    try:
        _write_atomically(args.output, text)
    except OSError as exc:
        raise ValidationError("--output", "a file path that can be written", args.output,
                              f"--output {args.output}: cannot write it "
                              f"({exc.strerror or exc})") from None
    if args.json:
        emit_json(out, {"written": os.path.abspath(args.output), "format": args.format,
                        "entries": len(entries)})
    else:
        out.write(f"wrote {len(entries)} journal entries ({args.format}) to {args.output}\n")
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``export`` to ``sub`` (an argparse subparsers object)."""
    p = sub.add_parser(
        "export", help="export the journal entries of a period",
        description="Write the ledger's journal entries posted in a period, as csv (one row "
        "per journal line) or json.")
    p.add_argument("format", choices=sorted(EXPORTS), metavar="FORMAT",
                   help="one of: " + ", ".join(sorted(EXPORTS)))
    add_span_options(p, what="the period whose entries are exported")
    p.add_argument("--output", "-o", metavar="FILE",
                   help="write to FILE (atomically) instead of standard output")
    p.set_defaults(handler=_export)

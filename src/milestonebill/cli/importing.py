"""``import``: running agreements from a spreadsheet export, all or nothing.

``milestonebill import FILE [--dry-run] [--skip-invalid] [--map
FILE_HEADER=COLUMN ...]`` reads a CSV export, one row per milestone or
recurring charge (the columns of
:data:`~milestonebill.integrations.spreadsheet.COLUMNS`, see
``docs/formats.md``), with
:func:`~milestonebill.integrations.spreadsheet.import_agreements`:

* every row is checked first and every problem is reported with its row (the
  header is row 1) and its column;
* nothing is written unless every row is good; with ``--skip-invalid`` the
  good agreements are imported and the rows of the others are reported as
  skipped (an agreement is imported whole or not at all);
* an agreement already in the store with the same terms is left as it is,
  so importing the same file again is a no-op; one stored under the same id
  with other terms is refused (or skipped, with ``--skip-invalid``);
* the agreements are opened in one transaction: all of them, or none;
* the exit status is 1 when a row or an agreement was refused.

``--map 'Contract #=agreement_id'`` names the column a header of the file
holds; ``--map 'Notes='`` ignores a header.  ``--dry-run`` says what would
be imported and writes nothing.
"""

from __future__ import annotations

import argparse
import csv
import io
from collections.abc import Sequence
from typing import Any, TextIO

import attrs

from milestonebill.agreement import Agreement
from milestonebill.cli.common import UsageError
from milestonebill.cli.failures import EXIT_OK, EXIT_REFUSED
from milestonebill.cli.files import read_text
from milestonebill.cli.output import emit_json
from milestonebill.cli.session import Session, open_session
from milestonebill.errors import ValidationError
from milestonebill.integrations.spreadsheet import COLUMNS, ImportResult, import_agreements

__all__ = ["ImportPlan", "mapping_arg", "register"]


def mapping_arg(text: str) -> tuple[str, str | None]:
    """An argparse ``type`` for ``FILE_HEADER=COLUMN`` (an empty column: ignore the header).

    >>> mapping_arg("Contract #=agreement_id"), mapping_arg("Notes=")
    (('Contract #', 'agreement_id'), ('Notes', None))
    """
    header, sep, column = text.rpartition("=")
    if not sep or not header.strip():
        raise argparse.ArgumentTypeError(
            f"must be FILE_HEADER=COLUMN, such as 'Contract #=agreement_id' (got {text!r})")
    column = column.strip()
    if column and column not in COLUMNS:
        raise argparse.ArgumentTypeError(
            f"must map to one of the columns {', '.join(COLUMNS)}, or to nothing to ignore "
            f"the header (got {text!r})")
    return header, column or None


@attrs.frozen
class ImportPlan:
    """What an import does with the agreements the file held, against the store."""

    new: tuple[Agreement, ...]
    stored: tuple[Agreement, ...]
    conflicts: tuple[Agreement, ...]


def _plan(s: Session, agreements: Sequence[Agreement]) -> ImportPlan:
    new: list[Agreement] = []
    stored: list[Agreement] = []
    conflicts: list[Agreement] = []
    for a in agreements:
        if not s.store.version(a.id):
            new.append(a)
        elif s.biller.load(a.id).events[:len(a.events)] == a.events:
            stored.append(a)
        else:
            conflicts.append(a)
    return ImportPlan(tuple(new), tuple(stored), tuple(conflicts))


def _read(args: argparse.Namespace) -> ImportResult:
    mapping: dict[str, str | None] = {}
    for header, column in args.map:
        if header in mapping and mapping[header] != column:
            raise UsageError("--map", f"one column for the header {header!r}",
                             f"{header}={column or ''}")
        mapping[header] = column
    text, where = read_text(args.file)
    try:
        return import_agreements(io.StringIO(text), mapping=mapping,
                                 skip_invalid=args.skip_invalid)
    except csv.Error as exc:
        raise ValidationError("FILE", "a CSV file", where,
                              f"FILE {where}: not CSV this can read ({exc})") from None


def _in_cli_terms(message: str) -> str:
    """A problem's message with the library's ``mapping`` argument named as ``--map``."""
    return message.replace("mapping={header: column}, or to None to ignore it",
                           "--map 'HEADER=COLUMN', or --map 'HEADER=' to ignore it") \
        .replace("mapping={header: column}", "--map 'HEADER=COLUMN'")


def _document(args: argparse.Namespace, result: ImportResult, plan: ImportPlan,
              written: bool) -> dict[str, Any]:
    return {
        "file": args.file, "dry_run": args.dry_run, "written": written,
        "opened": [a.id for a in plan.new], "already_stored": [a.id for a in plan.stored],
        "refused": [{"agreement_id": a.id, "message": "already in the store with other terms"}
                    for a in plan.conflicts],
        "problems": [{"row": p.row, "column": p.column, "message": _in_cli_terms(p.message)}
                     for p in result.problems],
        "skipped_rows": list(result.skipped),
    }


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _text(args: argparse.Namespace, result: ImportResult, plan: ImportPlan,
          refused: bool) -> str:
    verb = "to open" if args.dry_run else "opened"
    parts = []
    if refused:
        parts.append(f"{_plural(len(result.problems) + len(plan.conflicts), 'problem')}; "
                     "nothing imported")
    else:
        parts.append(f"{_plural(len(plan.new), 'agreement')} {verb}, "
                     f"{len(plan.stored)} already in the store")
        found = len(result.problems) + len(plan.conflicts)
        if found:
            parts.append(_plural(found, "problem"))
    if result.skipped:
        parts.append(f"skipped rows {', '.join(map(str, result.skipped))}")
    lines = ["dry run: nothing was written"] if args.dry_run else []
    lines.append(f"{args.file}: " + "; ".join(parts))
    lines += [f"  row {p.row}, {p.column}: {_in_cli_terms(p.message)}" for p in result.problems]
    lines += [f"  agreement {a.id}: already in the store with other terms"
              for a in plan.conflicts]
    if not refused:
        lines += [f"  {'would open' if args.dry_run else 'opened'} {a.id}  {a.proposal.client}  "
                  f"{a.currency.code}  signed {a.signed_on}  "
                  f"{_plural(len(a.milestones) + len(a.recurring), 'item')}" for a in plan.new]
        lines += [f"  already in the store {a.id}" for a in plan.stored]
    if refused:
        lines.append("fix the file and import it again, or import the good agreements with "
                     "--skip-invalid")
    return "\n".join(lines) + "\n"


def _import(args: argparse.Namespace, out: TextIO) -> int:
    result = _read(args)
    with open_session(args) as s:
        plan = _plan(s, result.agreements)
        refused = (bool(result.problems) and not args.skip_invalid) or \
            (bool(plan.conflicts) and not args.skip_invalid)
        written = not (args.dry_run or refused) and bool(plan.new)
        if written:
            with s.store.transaction():  # every agreement, or none
                for a in plan.new:
                    s.biller.open(a)
    if refused:
        plan = ImportPlan((), (), plan.conflicts)
    if args.json:
        emit_json(out, _document(args, result, plan, written))
    else:
        out.write(_text(args, result, plan, refused))
    return EXIT_REFUSED if result.problems or plan.conflicts else EXIT_OK


def register(sub: Any) -> None:
    """Add ``import`` to ``sub`` (an argparse subparsers object)."""
    p = sub.add_parser(
        "import", help="import running agreements from a spreadsheet export (CSV)",
        description="Import agreements from a CSV export, one row per milestone or recurring "
        "charge (see docs/formats.md for the columns). Every problem is reported with its "
        "row and column; nothing is written unless every row is good (or --skip-invalid). "
        "Agreements already imported are left as they are. Exits 1 when anything was "
        "refused.")
    p.add_argument("file", metavar="FILE", help="the CSV file (UTF-8; '-': standard input)")
    p.add_argument("--dry-run", dest="dry_run", action="store_true",
                   help="check the file and say what would be imported; write nothing")
    p.add_argument("--skip-invalid", dest="skip_invalid", action="store_true",
                   help="import the good agreements and report the rows skipped")
    p.add_argument("--map", action="append", default=[], type=mapping_arg,
                   metavar="FILE_HEADER=COLUMN",
                   help="the column a header of the file holds (repeatable); "
                   "'FILE_HEADER=' ignores it. Columns: " + ", ".join(COLUMNS))
    p.set_defaults(handler=_import)

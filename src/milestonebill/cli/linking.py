"""``links`` and ``import-time``: practice-management work linked to agreements, and its hours.

* ``milestonebill links add SOURCE EXTERNAL_ID AGREEMENT [--milestone ID |
  --obligation ID]`` -- link a work item or project of a tool (``karbon``,
  ``keeper``, ``bigtime``...) to the milestone or the obligation it
  delivers, or to the whole agreement;
* ``milestonebill links remove SOURCE EXTERNAL_ID`` -- forget a link;
* ``milestonebill links list [--source S] [--agreement A]``;
* ``milestonebill links import FILE`` -- the generic webhook's JSON links
  file (``{"TASK-7": {"agreement_id": ..., "milestone_id": ...}}``) into the
  store, under the source ``generic``;
* ``milestonebill import-time FILE [--source bigtime] [--map HEADER=COLUMN]
  [--date-format FORMAT] [--dry-run]`` -- a PSA's time export as hours to
  date on the obligations its projects are linked to
  (:mod:`milestonebill.integrations.practice.timesheets`); every row is
  checked first and nothing is written unless all are good; importing it
  again changes nothing.  Exit status 1 when a row was refused.
"""

from __future__ import annotations

import argparse
import io
import json
from typing import Any, TextIO

from milestonebill.cli.common import UsageError, id_arg
from milestonebill.cli.failures import EXIT_OK, EXIT_REFUSED
from milestonebill.cli.files import read_text
from milestonebill.cli.output import emit_json, text_table
from milestonebill.cli.session import open_session
from milestonebill.errors import ValidationError
from milestonebill.ids import AgreementId, MilestoneId, ObligationId
from milestonebill.integrations.practice import GENERIC_SOURCE, WorkItemLinks
from milestonebill.integrations.practice.timesheets import (
    COLUMNS,
    DEFAULT_SOURCE,
    OPTIONAL_COLUMNS,
    import_time,
)
from milestonebill.stores.base import WorkLink

__all__ = ["register_import_time", "register_links"]

_LINK_COLUMNS = ("source", "external_id", "agreement_id", "target", "target_id")


def _row(link: WorkLink) -> list[object]:
    return [link.source, link.external_id, link.agreement_id, link.target.value,
            link.milestone_id or link.obligation_id or ""]


def _show(out: TextIO, args: argparse.Namespace, links: list[WorkLink], verb: str) -> None:
    if args.json:
        emit_json(out, {verb: [link.to_json() for link in links]})
    elif links:
        out.write(text_table(_LINK_COLUMNS, [_row(link) for link in links]) + "\n")
    else:
        out.write("no links\n" if verb == "links" else f"nothing {verb}\n")


def _add(args: argparse.Namespace, out: TextIO) -> int:
    with open_session(args) as s:
        link = s.biller.link_work(
            args.source, args.external_id, AgreementId(args.agreement),
            milestone_id=None if args.milestone is None else MilestoneId(args.milestone),
            obligation_id=None if args.obligation is None else ObligationId(args.obligation))
    _show(out, args, [link], "linked")
    return EXIT_OK


def _remove(args: argparse.Namespace, out: TextIO) -> int:
    with open_session(args) as s:
        gone = s.biller.unlink_work(args.source, args.external_id)
    _show(out, args, [] if gone is None else [gone], "unlinked")
    return EXIT_OK


def _list(args: argparse.Namespace, out: TextIO) -> int:
    with open_session(args) as s:
        links = s.biller.work_links(
            source=args.source,
            agreement_id=None if args.agreement is None else AgreementId(args.agreement))
    _show(out, args, links, "links")
    return EXIT_OK


def _import_links(args: argparse.Namespace, out: TextIO) -> int:
    text, where = read_text(args.file)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValidationError("FILE", "a JSON file of links", where,
                              f"FILE {where}: not JSON ({exc})") from None
    file_links = WorkItemLinks.from_json(data).links
    with open_session(args) as s, s.store.transaction():  # every link, or none
        links = [s.biller.link_work(GENERIC_SOURCE, key, link.agreement_id,
                                    milestone_id=link.milestone_id)
                 for key, link in sorted(file_links.items())]
    _show(out, args, links, "linked")
    return EXIT_OK


def register_links(sub: Any) -> None:
    """Add ``links`` and its actions (``add``, ``remove``, ``list``, ``import``) to ``sub``."""
    p = sub.add_parser(
        "links", help="link practice-management work items to agreements",
        description="Which milestone, obligation or agreement a work item or project of a "
        "practice-management tool delivers (see docs/integrations.md). Webhooks and time "
        "imports look their work up here.")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = actions.add_parser("add", help="link a work item",
                           description="Link a work item to a milestone (--milestone), an "
                           "obligation measured by hours (--obligation) or the whole "
                           "agreement. The same link again changes nothing; another link for a "
                           "linked work item is refused (remove it first).")
    q.add_argument("source", metavar="SOURCE", help="the tool: karbon, keeper, bigtime...")
    q.add_argument("external_id", type=id_arg, metavar="EXTERNAL_ID",
                   help="the tool's id of the work item, project or client")
    q.add_argument("agreement", type=id_arg, metavar="AGREEMENT", help="agreement id")
    target = q.add_mutually_exclusive_group()
    target.add_argument("--milestone", type=id_arg, metavar="ID",
                        help="the milestone its completion completes")
    target.add_argument("--obligation", type=id_arg, metavar="ID",
                        help="the obligation measured by hours its time counts towards")
    q.set_defaults(handler=_add)
    q = actions.add_parser("remove", help="forget a work item's link",
                           description="Remove a link; what it recorded stays recorded.")
    q.add_argument("source", metavar="SOURCE")
    q.add_argument("external_id", type=id_arg, metavar="EXTERNAL_ID")
    q.set_defaults(handler=_remove)
    q = actions.add_parser("list", help="the links", description="Every link, by source "
                           "and external id.")
    q.add_argument("--source", metavar="SOURCE", help="only this tool's")
    q.add_argument("--agreement", type=id_arg, metavar="AGREEMENT", help="only this agreement's")
    q.set_defaults(handler=_list)
    q = actions.add_parser("import", help="store the generic webhook's links file",
                           description="Store the links of a JSON links file (the service's "
                           "MILESTONEBILL_PM_LINKS) under the source 'generic': all or none.")
    q.add_argument("file", metavar="FILE", help="the JSON file ('-': standard input)")
    q.set_defaults(handler=_import_links)


def _mapping(pairs: list[str]) -> dict[str, str | None]:
    mapping: dict[str, str | None] = {}
    for text in pairs:
        header, sep, column = text.rpartition("=")
        column = column.strip()
        if not sep or not header.strip() or \
                (column and column not in (*COLUMNS, *OPTIONAL_COLUMNS)):
            raise UsageError("--map", "FILE_HEADER=COLUMN, COLUMN one of " +
                             ", ".join((*COLUMNS, *OPTIONAL_COLUMNS)) + " or empty", text)
        mapping[header] = column or None
    return mapping


def _import_time(args: argparse.Namespace, out: TextIO) -> int:
    text, where = read_text(args.file)
    with open_session(args) as s:
        result = import_time(s.biller, io.StringIO(text), source_name=args.source,
                             mapping=_mapping(args.map), date_format=args.date_format,
                             dry_run=args.dry_run)
    if args.json:
        emit_json(out, {"file": where, "dry_run": args.dry_run, **result.to_json()})
    else:
        report = result.report().replace("mapping={header: column}", "--map 'HEADER=COLUMN'")
        out.write(f"{where}: {report}\n")
    return EXIT_OK if result.ok else EXIT_REFUSED


def register_import_time(sub: Any) -> None:
    """Add ``import-time`` to ``sub``."""
    p = sub.add_parser(
        "import-time", help="import a PSA's time export as hours to date",
        description="Read a time export (CSV: " + ", ".join(COLUMNS) + "; optionally " +
        ", ".join(OPTIONAL_COLUMNS) + ") and add each entry's hours to the obligation its "
        "project is linked to ('links add'). Every problem is reported with its row and "
        "column and nothing is written unless every row is good; entries already imported "
        "are not counted again. Exits 1 when anything was refused.")
    p.add_argument("file", metavar="FILE", help="the CSV file (UTF-8; '-': standard input)")
    p.add_argument("--source", default=DEFAULT_SOURCE, metavar="SOURCE",
                   help=f"the source its projects are linked under (default {DEFAULT_SOURCE})")
    p.add_argument("--map", action="append", default=[], metavar="FILE_HEADER=COLUMN",
                   help="the column a header of the file holds (repeatable); 'FILE_HEADER=' "
                   "ignores it")
    p.add_argument("--date-format", dest="date_format", metavar="FORMAT",
                   help="how the dates are written, as for strptime (default ISO: %%Y-%%m-%%d)")
    p.add_argument("--dry-run", dest="dry_run", action="store_true",
                   help="check the file and say what would be recorded; write nothing")
    p.set_defaults(handler=_import_time)

"""``milestonebill export FORMAT --period P``: the ledger's journal entries of a period.

The entries posted in the period (``posted_on`` in ``[start, end)``) are
written in ``FORMAT``:

* ``csv`` -- one row per journal line: ``entry_id, posted_on, line,
  account, debit, credit, currency, agreement_id, obligation_id, memo``;
  amounts are exact decimals, each entry's debits equal its credits;
* ``json`` -- ``{"period": {"start", "end"}, "entries": [...]}``, each entry
  in the library's JSON form (money as ``{"amount", "currency"}``; the
  period half-open);
* ``quickbooks``, ``xero`` -- the QuickBooks Online or Xero API request
  bodies of the period (:mod:`milestonebill.integrations.quickbooks`,
  :mod:`milestonebill.integrations.xero`): ``{"target", "period",
  "documents": [{"kind", "source_id", "number", "body"}]}``; QuickBooks
  payments are linked to the invoices the store's sync journal has sent;
* ``quickbooks-csv``, ``xero-csv`` -- the journal entry import file of each
  (:mod:`milestonebill.integrations.csv`).

The accounting formats need ``--accounts MAP.json``, the firm's chart of
accounts (:class:`~milestonebill.integrations.accounts.AccountMap`), checked
against the period's entries before anything is written.  Every format is
one entry of :data:`EXPORTS` (a function from an :class:`ExportRequest` to
text), so another system's import format plugs in with one line.
``--output FILE`` writes the file atomically instead of printing it.  CSV
text cells a spreadsheet would run as a formula get a leading apostrophe.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, TextIO

import attrs

from milestonebill.cli.common import UsageError
from milestonebill.cli.failures import EXIT_OK
from milestonebill.cli.output import emit_json
from milestonebill.cli.session import open_session
from milestonebill.cli.spans import add_span_options, span_of
from milestonebill.engine import StoreBooks
from milestonebill.errors import ValidationError
from milestonebill.integrations.accounting import Books
from milestonebill.integrations.accounts import AccountMap, read_account_map
from milestonebill.integrations.csv import guard_cell, quickbooks_journal_csv, xero_journal_csv
from milestonebill.integrations.quickbooks import TARGET as QUICKBOOKS
from milestonebill.integrations.quickbooks import quickbooks_export
from milestonebill.integrations.xero import xero_export
from milestonebill.ledger import JournalEntry, Side
from milestonebill.periods import Period
from milestonebill.stores.base import SyncJournal

__all__ = ["ACCOUNTING", "EXPORTS", "ExportRequest", "Exporter", "journal_csv", "journal_json",
           "register"]


@attrs.frozen
class ExportRequest:
    """What an export format writes from: the period, its entries (by day, then id),
    the firm's books, the account map (``--accounts``) and the store's sync
    journal (``None`` if the store keeps none)."""

    period: Period
    entries: Sequence[JournalEntry]
    books: Books
    accounts: AccountMap | None = None
    journal: SyncJournal | None = None

    def account_map(self) -> AccountMap:
        """The account map, which the accounting formats need."""
        if self.accounts is None:
            raise _no_accounts("this format")
        return self.accounts


def _no_accounts(what: str) -> UsageError:
    return UsageError("--accounts", "the firm's account map (a JSON file)", None,
                      f"{what} needs --accounts MAP.json: where each of the library's "
                      "accounts goes in the firm's books")


#: Writes the period of an :class:`ExportRequest` as the text of one file.
Exporter = Callable[[ExportRequest], str]

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
            w.writerow([guard_cell(e.id), e.posted_on.isoformat(), n, ln.account.value,
                        amount if debit else "", "" if debit else amount,
                        ln.amount.currency.code, guard_cell(e.agreement_id or ""),
                        guard_cell(e.obligation_id or ""), guard_cell(e.memo)])
    return buf.getvalue()


def journal_json(entries: Sequence[JournalEntry], period: Period) -> str:
    """The entries in the library's JSON form, with the (half-open) period."""
    doc = {"period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
           "entries": [e.to_json() for e in entries]}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _quickbooks(request: ExportRequest) -> str:
    journal = request.journal
    sent = {} if journal is None else {r.source_id: r.target_id for r in journal.syncs(
        QUICKBOOKS) if r.target_id is not None}
    return quickbooks_export(request.books, request.period, request.account_map(),
                             target_id=sent.get).text()


#: Every export format the command knows, by name.
EXPORTS: Final[Mapping[str, Exporter]] = {
    "csv": lambda r: journal_csv(r.entries, r.period),
    "json": lambda r: journal_json(r.entries, r.period),
    "quickbooks": _quickbooks,
    "quickbooks-csv": lambda r: quickbooks_journal_csv(r.books, r.period, r.account_map()),
    "xero": lambda r: xero_export(r.books, r.period, r.account_map()).text(),
    "xero-csv": lambda r: xero_journal_csv(r.books, r.period, r.account_map()),
}
#: The formats that need ``--accounts``.
ACCOUNTING: Final = frozenset({"quickbooks", "quickbooks-csv", "xero", "xero-csv"})


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
    accounts = None if args.accounts is None else read_account_map(args.accounts)
    if accounts is None and args.format in ACCOUNTING:
        raise _no_accounts(f"export {args.format}")
    with open_session(args) as s:
        entries = sorted((e for e in s.store.entries()
                          if period.start <= e.posted_on < period.end),
                         key=lambda e: (e.posted_on, e.id))
        journal = s.store if isinstance(s.store, SyncJournal) else None
        text = EXPORTS[args.format](ExportRequest(period, entries, StoreBooks(s.store),
                                                  accounts, journal))
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
        description="Write the ledger's journal entries posted in a period: as csv (one row "
        "per journal line) or json, as QuickBooks Online or Xero API request bodies "
        "(quickbooks, xero) or as their journal import files (quickbooks-csv, xero-csv); "
        "the accounting formats need --accounts MAP.json.")
    p.add_argument("format", choices=sorted(EXPORTS), metavar="FORMAT",
                   help="one of: " + ", ".join(sorted(EXPORTS)))
    add_span_options(p, what="the period whose entries are exported")
    p.add_argument("--accounts", metavar="MAP.json",
                   help="the firm's account map (quickbooks, xero, quickbooks-csv, xero-csv)")
    p.add_argument("--output", "-o", metavar="FILE",
                   help="write to FILE (atomically) instead of standard output")
    p.set_defaults(handler=_export)

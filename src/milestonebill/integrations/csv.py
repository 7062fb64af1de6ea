"""A period of the books as CSV for manual import: Xero manual journals, QuickBooks journal entries.

For a firm that imports files rather than connecting an app, every ledger
entry of the period becomes one journal of the file, each line on the firm's
account from the :class:`~milestonebill.integrations.accounts.AccountMap`:

* :func:`xero_journal_csv` -- the columns of Xero's manual journal import
  template: ``Narration`` (one per journal: the entry's memo and id, so the
  rows of one entry form one journal), ``Date`` (``dd/mm/yyyy``),
  ``Description``, ``AccountCode``, ``TaxRate`` (the *name* of the map's
  ``no_tax`` rate, which the template requires), ``Amount`` (debits
  positive, credits negative) and the two optional tracking pairs.  Xero
  imports at most 300 lines a file (:func:`xero_journal_csv_parts` splits a
  longer one between journals) and has no currency column;
* :func:`quickbooks_journal_csv` -- the columns of QuickBooks Online's
  journal entry import: ``Journal No.`` (our entry id when it fits in 21
  characters, else its ``"MB-"`` digest), ``Journal Date`` (``MM/DD/YYYY``,
  or ``DD/MM/YYYY`` with ``day_first``), ``Account Name`` (the map's
  account *names*: the import matches names), ``Debits``, ``Credits``,
  ``Description`` and ``Name`` (the customer: QuickBooks asks for one on
  accounts-receivable lines).

Neither file has a currency, so all entries must be in one currency -- the
map's ``currency`` when it is given -- or the file is refused: amounts in two
currencies are never added up.  Text cells a spreadsheet would run as a
formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return)
get a leading apostrophe (:func:`guard_cell`); the amounts we write are
numbers and are left as they are.

>>> guard_cell("=HYPERLINK(\\"http://x\\")"), guard_cell("Fees"), guard_cell("-1")
('\\'=HYPERLINK("http://x")', 'Fees', "'-1")
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date
from typing import Final

from milestonebill._validate import raise_all
from milestonebill.errors import ValidationError
from milestonebill.integrations.accounting import (
    Books,
    PeriodItem,
    decimal_of,
    fitting_number,
    period_items,
    postings_of,
)
from milestonebill.integrations.accounts import AccountMap
from milestonebill.ledger import Account
from milestonebill.periods import Period

__all__ = [
    "QUICKBOOKS_COLUMNS",
    "XERO_COLUMNS",
    "XERO_LINE_LIMIT",
    "guard_cell",
    "quickbooks_journal_csv",
    "xero_journal_csv",
    "xero_journal_csv_parts",
]

#: The columns of Xero's manual journal import template.
XERO_COLUMNS: Final = ("Narration", "Date", "Description", "AccountCode", "TaxRate", "Amount",
                       "TrackingName1", "TrackingOption1", "TrackingName2", "TrackingOption2")
#: The lines Xero imports from one file.
XERO_LINE_LIMIT: Final = 300
#: The columns of QuickBooks Online's journal entry import.
QUICKBOOKS_COLUMNS: Final = ("Journal No.", "Journal Date", "Account Name", "Debits", "Credits",
                             "Description", "Name")
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def guard_cell(text: str) -> str:
    """``text``, with a leading apostrophe when a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _currency_problems(items: Sequence[PeriodItem], amap: AccountMap) -> list[ValidationError]:
    found = sorted({i.entry.currency.code for i in items})
    if amap.currency is not None and found and found != [amap.currency.code]:
        return [ValidationError("currency", f"the currency of every entry ({amap.currency.code}"
                                "): the file has no currency column", found)]
    if amap.currency is None and len(found) > 1:
        return [ValidationError("currency", "the books' home currency, given: the period's "
                                "entries are in several currencies and the file has no "
                                "currency column", found)]
    return []


def _rows(writer_columns: Sequence[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(writer_columns)
    w.writerows(rows)
    return buf.getvalue()


def _description(item: PeriodItem) -> str:
    memo = item.entry.memo or item.entry.id
    return f"{memo} ({item.client})" if item.client else memo


def _xero_journals(books: Books, period: Period, accounts: AccountMap) -> list[list[list[str]]]:
    """The rows of the Xero file, one list per journal (ledger entry), checked first."""
    items = period_items(books, period)
    problems = accounts.problems(i.entry for i in items) + _currency_problems(items, accounts)
    if accounts.no_tax is None or not accounts.no_tax.name:
        problems.append(ValidationError("no_tax.name", "the name of the tax rate of untaxed "
                                        "lines in Xero (the import's TaxRate column)", None))
    raise_all(problems)
    assert accounts.no_tax is not None
    journals = []
    for item in items:
        e = item.entry
        narration = guard_cell(f"{e.memo} [{e.id}]" if e.memo else e.id)
        journals.append([[narration, e.posted_on.strftime("%d/%m/%Y"), guard_cell(
            _description(item)), guard_cell(accounts.ref(p.account, p.obligation_id).id),
            guard_cell(accounts.no_tax.name), str(decimal_of(p.minor, e.currency)),
            "", "", "", ""] for p in postings_of(e)])
    return journals


def xero_journal_csv(books: Books, period: Period, accounts: AccountMap) -> str:
    """The period's entries as Xero's manual journal import file (see the module docs).

    One file, however long; Xero imports at most :data:`XERO_LINE_LIMIT` lines
    at a time, so a longer period goes in :func:`xero_journal_csv_parts`.
    """
    return _rows(XERO_COLUMNS, [row for j in _xero_journals(books, period, accounts)
                                for row in j])


def xero_journal_csv_parts(books: Books, period: Period, accounts: AccountMap, *,
                           max_lines: int = XERO_LINE_LIMIT) -> tuple[str, ...]:
    """:func:`xero_journal_csv` as files Xero imports one at a time: each of at most
    ``max_lines`` lines (after its header), a journal never split between two.

    The files are filled in order, so together they are the one file's lines
    in its order; no entries, no files.  A journal of more than ``max_lines``
    lines cannot be imported and is refused naming its entry.

    Raises :class:`~milestonebill.errors.ValidationError` naming ``max_lines``
    unless it is positive, and naming the entry of a journal longer than
    ``max_lines``.
    """
    if max_lines < 1:
        raise ValidationError("max_lines", "a positive number of lines", max_lines)
    journals = _xero_journals(books, period, accounts)
    too_long = [ValidationError("max_lines", f"at least the {len(j)} lines of the journal "
                                f"{j[0][0]!r}: Xero imports a journal from one file",
                                max_lines) for j in journals if len(j) > max_lines]
    raise_all(too_long)
    parts: list[list[list[str]]] = []
    for journal in journals:
        if not parts or len(parts[-1]) + len(journal) > max_lines:
            parts.append([])
        parts[-1].extend(journal)
    return tuple(_rows(XERO_COLUMNS, rows) for rows in parts)


def _quickbooks_problems(items: Sequence[PeriodItem], amap: AccountMap) -> list[ValidationError]:
    problems = amap.problems(i.entry for i in items) + _currency_problems(items, amap)
    unnamed: dict[str, str] = {}
    for item in items:
        for p in postings_of(item.entry):
            try:
                ref = amap.ref(p.account, p.obligation_id)
            except ValidationError:
                continue  # reported as unmapped
            if not ref.name:
                where = (f"revenue.{p.obligation_id}" if p.obligation_id in amap.revenue
                         else f"accounts.{p.account.value}")
                unnamed.setdefault(f"{where}.name", item.entry.id)
            if p.account is Account.RECEIVABLE and item.client is None:
                unnamed.setdefault(f"entries.{item.entry.id}.agreement_id", item.entry.id)
    problems += [ValidationError(field, "given: the journal import names accounts and the "
                                 f"customers of receivable lines (first for {entry!r})", None)
                 for field, entry in sorted(unnamed.items())]
    return problems


def quickbooks_journal_csv(books: Books, period: Period, accounts: AccountMap, *,
                           day_first: bool = False) -> str:
    """The period's entries as QuickBooks Online's journal entry import file."""
    items = period_items(books, period)
    raise_all(_quickbooks_problems(items, accounts))
    style = "%d/%m/%Y" if day_first else "%m/%d/%Y"
    rows = []
    for item in items:
        e = item.entry
        number = guard_cell(fitting_number(e.id, e.id, limit=21))
        customer = accounts.customer(item.client) if item.client else None
        name = guard_cell(customer.name if customer is not None and customer.name
                          else item.client or "")
        for p in postings_of(e):
            amount = str(decimal_of(abs(p.minor), e.currency))
            rows.append([number, _day(e.posted_on, style),
                         guard_cell(accounts.ref(p.account, p.obligation_id).name),
                         amount if p.minor > 0 else "", "" if p.minor > 0 else amount,
                         guard_cell(_description(item)), name])
    return _rows(QUICKBOOKS_COLUMNS, rows)


def _day(d: date, style: str) -> str:
    return d.strftime(style)

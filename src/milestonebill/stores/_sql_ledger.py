"""The ledger of the relational stores, in the same portable SQL (private).

Kept apart from :mod:`milestonebill.stores._sql` so each stays a size a
reader can hold; :class:`LedgerSQL` is that base with the
:class:`~milestonebill.ledger.Ledger` port added, every query scoped to the
store's tenant.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from milestonebill._validate import check_id
from milestonebill.errors import DuplicateIdError
from milestonebill.ledger import (
    Account,
    DateRange,
    JournalEntry,
    SingleBalance,
    period_bounds,
    sum_balances,
)
from milestonebill.limits import MAX_KEY_LENGTH
from milestonebill.money import Currency, Money
from milestonebill.stores._common import check_entry
from milestonebill.stores._sql import SQLStoreBase
from milestonebill.stores.base import parse_json_object


class LedgerSQL(SQLStoreBase, SingleBalance):
    """:class:`SQLStoreBase` and the ledger (tables ``journal_entries``, ``journal_lines``)."""

    def post(self, entry: JournalEntry) -> bool:
        """See :meth:`milestonebill.ledger.Ledger.post`."""
        check_entry(entry)
        body = entry.canonical()
        with self._tx() as cur:
            created = self._rows(
                cur,
                "INSERT INTO journal_entries (tenant_id, entry_id, posted_on, currency, "
                "agreement_id, memo, body) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (tenant_id, entry_id) DO NOTHING RETURNING entry_id",
                (self._tenant, entry.id, self._date_in(entry.posted_on), entry.currency.code,
                 entry.agreement_id, entry.memo, body),
            )
            if not created:
                old = self._one(cur, "SELECT body FROM journal_entries WHERE tenant_id = ? "
                                "AND entry_id = ?", (self._tenant, entry.id))
                if old is None or old[0] != body:
                    raise DuplicateIdError("journal entry", entry.id)
                return False
            for n, line in enumerate(entry.lines):
                self._run(
                    cur,
                    "INSERT INTO journal_lines (tenant_id, entry_id, line_no, account, currency, "
                    "posted_on, signed_minor) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (self._tenant, entry.id, n, line.account.value, entry.currency.code,
                     self._date_in(entry.posted_on), line.signed_minor),
                )
            return True

    def get_entry(self, entry_id: str) -> JournalEntry | None:
        """See :meth:`milestonebill.ledger.Ledger.get_entry`."""
        check_id("entry_id", entry_id, max_length=MAX_KEY_LENGTH)
        with self._tx(write=False) as cur:
            r = self._one(cur, "SELECT body FROM journal_entries WHERE tenant_id = ? "
                          "AND entry_id = ?", (self._tenant, entry_id))
        return None if r is None else JournalEntry.from_json(parse_json_object(r[0], "body"))

    def entries(self, *, agreement_id: str | None = None) -> list[JournalEntry]:
        """See :meth:`milestonebill.ledger.Ledger.entries`."""
        sql, params = "SELECT body FROM journal_entries WHERE tenant_id = ?", [str(self._tenant)]
        if agreement_id is not None:
            sql += " AND agreement_id = ?"
            params.append(check_id("agreement_id", agreement_id))
        with self._tx(write=False) as cur:
            rows = self._rows(cur, sql + " ORDER BY posted_on, entry_id", params)
        return [JournalEntry.from_json(parse_json_object(r[0], "body")) for r in rows]

    def balances(
        self,
        *,
        currency: str | Currency,
        as_of: date | None = None,
        period: DateRange | None = None,
    ) -> dict[Account, Money]:
        """See :meth:`milestonebill.ledger.Ledger.balances`."""
        cur_ = Currency.of(currency)
        lo, hi = period_bounds(as_of, period)
        sql = ("SELECT account, CAST(SUM(signed_minor) AS BIGINT) FROM journal_lines "
               "WHERE tenant_id = ? AND currency = ?")
        params: list[Any] = [self._tenant, cur_.code]
        if lo is not None:
            sql += " AND posted_on >= ?"
            params.append(self._date_in(lo))
        if hi is not None:
            sql += " AND posted_on < ?"
            params.append(self._date_in(hi))
        with self._tx(write=False) as cur:
            rows = self._rows(cur, sql + " GROUP BY account", params)
        return sum_balances(((r[0], int(r[1])) for r in rows), cur_)

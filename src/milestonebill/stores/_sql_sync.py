"""The sync journal in SQL, shared by both relational stores (private).

Kept apart from :mod:`milestonebill.stores._sql` so each stays a size a
reader can hold; :class:`SyncSQL` is that base with the
:class:`~milestonebill.stores.base.SyncJournal` role added.
"""

from __future__ import annotations

from typing import Final

from milestonebill._validate import check_id
from milestonebill.errors import DuplicateIdError, InvalidTransitionError, NotFoundError
from milestonebill.stores._common import check_sync, check_sync_key, now_utc
from milestonebill.stores._sql import Row, SQLStoreBase
from milestonebill.stores.base import SyncRecord

#: The table of both dialects' migration 6, column for column.
SYNC_COLUMNS: Final = ("target, source_id, kind, number, idempotency_key, body, target_id, "
                       "recorded_at, sent_at")


class SyncSQL(SQLStoreBase):
    """:class:`SQLStoreBase` and the sync journal (table ``accounting_syncs``)."""

    def _sync(self, r: Row) -> SyncRecord:
        return SyncRecord(r[0], r[1], r[2], r[3], r[4], r[5], r[6], self._ts_out(r[7]),
                          None if r[8] is None else self._ts_out(r[8]))

    _FIND = (f"SELECT {SYNC_COLUMNS} FROM accounting_syncs "
             "WHERE tenant_id = ? AND target = ? AND source_id = ?")

    def record_sync(self, record: SyncRecord) -> SyncRecord:
        """See :meth:`~milestonebill.stores.base.SyncJournal.record_sync`."""
        rec = check_sync(record, now_utc(self._clock))
        assert rec.recorded_at is not None
        with self._tx() as cur:
            # Looked up first: a number taken by another document is refused by
            # name, before an insert could trip the table's own constraint.
            taken = self._one(
                cur, "SELECT source_id FROM accounting_syncs WHERE tenant_id = ? AND target = ? "
                "AND kind = ? AND number = ? AND source_id <> ?",
                (self._tenant, rec.target, rec.kind, rec.number, rec.source_id))
            if taken is not None:
                raise DuplicateIdError("document number", f"{rec.target}:{rec.number}")
            self._run(
                cur, f"INSERT INTO accounting_syncs (tenant_id, {SYNC_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, NULL) "
                "ON CONFLICT (tenant_id, target, source_id) DO NOTHING",
                (self._tenant, rec.target, rec.source_id, rec.kind, rec.number, rec.key, rec.body,
                 self._ts_in(rec.recorded_at)))
            r = self._one(cur, self._FIND, (self._tenant, rec.target, rec.source_id))
            assert r is not None
            stored = self._sync(r)
            if not stored.same_request(rec):
                raise DuplicateIdError("accounting sync", f"{rec.target}:{rec.source_id}")
            return stored

    def complete_sync(self, target: str, source_id: str, target_id: str) -> SyncRecord:
        """See :meth:`~milestonebill.stores.base.SyncJournal.complete_sync`."""
        check_sync_key(target, source_id)
        check_id("target_id", target_id)
        now = now_utc(self._clock)
        with self._tx() as cur:
            r = self._one(cur, self._FIND + self.FOR_UPDATE, (self._tenant, target, source_id))
            if r is None:
                raise NotFoundError(f"no sync of {source_id!r} to {target!r} was recorded")
            old = self._sync(r)
            if old.target_id is not None:
                if old.target_id != target_id:
                    raise DuplicateIdError("accounting sync", f"{target}:{source_id}",
                                           f"already sent as {old.target_id!r}")
                return old
            self._run(cur, "UPDATE accounting_syncs SET target_id = ?, sent_at = ? "
                      "WHERE tenant_id = ? AND target = ? AND source_id = ?",
                      (target_id, self._ts_in(now), self._tenant, target, source_id))
            r = self._one(cur, self._FIND, (self._tenant, target, source_id))
            assert r is not None
            return self._sync(r)

    def discard_sync(self, target: str, source_id: str) -> SyncRecord | None:
        """See :meth:`~milestonebill.stores.base.SyncJournal.discard_sync`."""
        check_sync_key(target, source_id)
        with self._tx() as cur:
            r = self._one(cur, self._FIND + self.FOR_UPDATE, (self._tenant, target, source_id))
            if r is None:
                return None
            old = self._sync(r)
            if old.sent:
                raise InvalidTransitionError(f"{source_id!r} was sent to {target!r} as "
                                             f"{old.target_id!r}; it cannot be discarded")
            self._run(cur, "DELETE FROM accounting_syncs WHERE tenant_id = ? AND target = ? "
                      "AND source_id = ?", (self._tenant, target, source_id))
            return old

    def get_sync(self, target: str, source_id: str) -> SyncRecord | None:
        """See :meth:`~milestonebill.stores.base.SyncJournal.get_sync`."""
        check_sync_key(target, source_id)
        with self._tx(write=False) as cur:
            r = self._one(cur, self._FIND, (self._tenant, target, source_id))
        return None if r is None else self._sync(r)

    def syncs(self, target: str, *, unfinished: bool = False) -> list[SyncRecord]:
        """See :meth:`~milestonebill.stores.base.SyncJournal.syncs`."""
        check_id("target", target)
        sql = f"SELECT {SYNC_COLUMNS} FROM accounting_syncs WHERE tenant_id = ? AND target = ?"
        if unfinished:
            sql += " AND target_id IS NULL"
        with self._tx(write=False) as cur:
            rows = self._rows(cur, sql + " ORDER BY seq", (self._tenant, target))
        return [self._sync(r) for r in rows]

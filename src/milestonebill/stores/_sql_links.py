"""The work-link role of the relational stores, in the same portable SQL (private).

:mod:`milestonebill.stores._sql` holds every other role; this module adds
the link registry on top, with the look-up of an event's agreement the
receivers of linked work need, so that neither grows past what a reader
can hold.
The SQLite and PostgreSQL stores derive from :class:`SQLStore`.
"""

from __future__ import annotations

from milestonebill._validate import check_id
from milestonebill.errors import DuplicateIdError
from milestonebill.ids import MilestoneId, ObligationId
from milestonebill.limits import MAX_KEY_LENGTH
from milestonebill.stores._common import check_link, check_link_key
from milestonebill.stores._sql import Row, SQLStoreBase
from milestonebill.stores.base import AgreementId, EventId, WorkLink

_COLS = "source, external_id, agreement_id, milestone_id, obligation_id"


def _link(r: Row) -> WorkLink:
    return WorkLink(r[0], r[1], AgreementId(r[2]),
                    None if r[3] is None else MilestoneId(r[3]),
                    None if r[4] is None else ObligationId(r[4]))


class SQLStore(SQLStoreBase):
    """Every store role, the work links included, in portable SQL."""

    def agreement_of_event(self, event_id: EventId) -> AgreementId | None:
        """See :meth:`AgreementStore.agreement_of_event`."""
        check_id("event_id", event_id, max_length=MAX_KEY_LENGTH)
        with self._tx(write=False) as cur:
            r = self._one(cur, "SELECT agreement_id FROM events WHERE tenant_id = ? "
                          "AND event_id = ?", (self._tenant, event_id))
        return None if r is None else AgreementId(r[0])

    def link_work(self, link: WorkLink) -> WorkLink:
        """See :meth:`AgreementStore.link_work`."""
        check_link(link)
        with self._tx() as cur:
            self._run(
                cur, f"INSERT INTO work_links (tenant_id, {_COLS}) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (tenant_id, source, external_id) DO NOTHING",
                (self._tenant, link.source, link.external_id, link.agreement_id, link.milestone_id,
                 link.obligation_id),
            )
            r = self._one(cur, f"SELECT {_COLS} FROM work_links "
                          "WHERE tenant_id = ? AND source = ? AND external_id = ?",
                          (self._tenant, link.source, link.external_id))
            assert r is not None
            stored = _link(r)
            if stored != link:
                raise DuplicateIdError("work link", f"{link.source}:{link.external_id}",
                                       "is already linked to something else (unlink it first)")
            return stored

    def unlink_work(self, source: str, external_id: str) -> WorkLink | None:
        """See :meth:`AgreementStore.unlink_work`."""
        key = check_link_key(source, external_id)
        with self._tx() as cur:
            rows = self._rows(cur, "DELETE FROM work_links WHERE tenant_id = ? AND source = ? "
                              f"AND external_id = ? RETURNING {_COLS}", (self._tenant, *key))
        return _link(rows[0]) if rows else None

    def work_link(self, source: str, external_id: str) -> WorkLink | None:
        """See :meth:`AgreementStore.work_link`."""
        key = check_link_key(source, external_id)
        with self._tx(write=False) as cur:
            r = self._one(cur, f"SELECT {_COLS} FROM work_links "
                          "WHERE tenant_id = ? AND source = ? AND external_id = ?",
                          (self._tenant, *key))
        return None if r is None else _link(r)

    def work_links(self, *, source: str | None = None,
                   agreement_id: AgreementId | None = None) -> list[WorkLink]:
        """See :meth:`AgreementStore.work_links`."""
        sql, params = f"SELECT {_COLS} FROM work_links WHERE tenant_id = ?", [str(self._tenant)]
        if source is not None:
            sql += " AND source = ?"
            params.append(check_link_key(source, "-")[0])
        if agreement_id is not None:
            sql += " AND agreement_id = ?"
            params.append(check_id("agreement_id", agreement_id))
        with self._tx(write=False) as cur:
            rows = self._rows(cur, sql + " ORDER BY source, external_id", params)
        return [_link(r) for r in rows]

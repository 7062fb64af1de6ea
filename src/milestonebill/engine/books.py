"""The firm's books as the reports read them, from a store: :class:`StoreBooks`.

:func:`milestonebill.reports.run_report` reads
:class:`~milestonebill.reports.FirmBooks` -- every agreement and every
journal entry.  ``StoreBooks(store)`` reads them from a
:class:`~milestonebill.stores.base.BillingStore`, each part once and only
when a report asks for it, so make one per request (a report sees the books
as they were when it first looked).

>>> from milestonebill.reports import run_report
>>> from milestonebill.testing.scenarios import World, proposal
>>> w = World()
>>> _ = w.open(proposal([("design", "1000.00")]))
>>> _ = w.complete("design")
>>> table = run_report("contract-balances", StoreBooks(w.store), {}, today=w.clock.today())
>>> [(r.agreement_id, str(r.contract_asset), str(r.contract_liability)) for r in table]
[('agr-1', '0.00 USD', '1000.00 USD')]
"""

from __future__ import annotations

from collections.abc import Sequence

from milestonebill.agreement import Agreement
from milestonebill.engine._context import decoded
from milestonebill.ledger import JournalEntry
from milestonebill.stores.base import BillingStore

__all__ = ["StoreBooks"]


class StoreBooks:
    """Every agreement (folded from its events) and every journal entry of ``store``."""

    def __init__(self, store: BillingStore) -> None:
        self._store = store
        self._agreements: tuple[Agreement, ...] | None = None
        self._entries: tuple[JournalEntry, ...] | None = None

    def agreements(self) -> Sequence[Agreement]:
        """Every agreement in the store, in id order."""
        if self._agreements is None:
            self._agreements = tuple(
                Agreement.from_events(decoded(e.payload) for e in self._store.load(aid))
                for aid in self._store.agreement_ids())
        return self._agreements

    def entries(self) -> Sequence[JournalEntry]:
        """Every journal entry posted."""
        if self._entries is None:
            self._entries = tuple(self._store.entries())
        return self._entries

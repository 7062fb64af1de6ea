"""The agreements a Biller folded, kept so the next load folds only what is new.

Private to :mod:`milestonebill.engine`; see "Long histories" in
``docs/architecture.md``.  An :class:`Agreement` is immutable, so the one a
load folded at version N stays the right fold of the stream's first N
events for as long as the stream holds those events.  A later load reads
the store from version N on (one indexed range read): when the row at
version N is still the event the snapshot ends with, the snapshot plus the
rows after it is the stream; otherwise (a transaction that appended it
rolled back, the store was replaced) the snapshot is dropped and the whole
stream is folded again.  Nothing is serialised, so nothing read back can be
stale code's idea of an agreement or a writer's forgery.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Final

from milestonebill.agreement import Agreement

__all__ = ["SNAPSHOT_AGREEMENTS", "SNAPSHOT_EVENTS", "Snapshot", "Snapshots"]

#: How many events the snapshots of one Biller hold at most, all agreements
#: together; the least recently loaded go first.
SNAPSHOT_EVENTS: Final = 50_000

#: How many agreements they hold at most.  A kept agreement holds more than
#: its events (its lookups, plan and balances: 30-40 KB for a short W5
#: agreement), so a budget of events alone let a billing run over many short
#: agreements keep 300 MB (docs/performance.md, W5 run memory).
SNAPSHOT_AGREEMENTS: Final = 1_000


class Snapshot:
    """A folded agreement and the stored payload of its last event."""

    __slots__ = ("agreement", "payload")

    def __init__(self, agreement: Agreement, payload: str) -> None:
        self.agreement = agreement
        self.payload = payload


class Snapshots:
    """Per agreement id, the last snapshot loaded; least recently used out first."""

    def __init__(self, budget: int = SNAPSHOT_EVENTS,
                 agreements: int = SNAPSHOT_AGREEMENTS) -> None:
        self._lock = threading.Lock()
        self._kept: OrderedDict[str, Snapshot] = OrderedDict()
        self._events = 0
        self._budget = budget
        self._agreements = agreements

    def __len__(self) -> int:
        with self._lock:
            return len(self._kept)

    def get(self, agreement_id: str) -> Snapshot | None:
        """The snapshot kept for ``agreement_id``, if any."""
        with self._lock:
            found = self._kept.get(agreement_id)
            if found is not None:
                self._kept.move_to_end(agreement_id)
            return found

    def put(self, agreement: Agreement, payload: str) -> None:
        """Keep ``agreement`` (whose last event is stored as ``payload``), unless it alone
        is beyond the budget; evict the least recently used to stay within it (events
        and agreements)."""
        with self._lock:
            self._pop(agreement.id)
            if agreement.version > self._budget:
                return
            self._kept[agreement.id] = Snapshot(agreement, payload)
            self._events += agreement.version
            while self._events > self._budget or len(self._kept) > self._agreements:
                self._pop(next(iter(self._kept)))

    def drop(self, agreement_id: str) -> None:
        """Forget the snapshot of ``agreement_id``."""
        with self._lock:
            self._pop(agreement_id)

    def _pop(self, agreement_id: str) -> None:
        gone = self._kept.pop(agreement_id, None)
        if gone is not None:
            self._events -= gone.agreement.version

"""What every part of the Biller shares: its ports, its settings and units of work.

Private to :mod:`milestonebill.engine`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from datetime import time as clock_time
from typing import Any, Final

import attrs

from milestonebill._json import parse_json_object
from milestonebill._validate import check_id, utc_datetime
from milestonebill.agreement import (
    Agreement,
    Event,
    apply,
    event_from_json,
    event_to_json,
    fold,
)
from milestonebill.clock import Clock
from milestonebill.collection import CreditPolicy, RetryPolicy
from milestonebill.documents import NumberingPolicy, TaxPolicy
from milestonebill.engine._snapshots import Snapshots
from milestonebill.errors import ConcurrencyError, MilestonebillError, NotFoundError
from milestonebill.gateways.base import PaymentGateway
from milestonebill.ids import AgreementId, AttemptKey, EventId, FirmId, InvoiceId, WorkerId
from milestonebill.postings import ContractPosition
from milestonebill.refunds import Intent
from milestonebill.reminders import NO_REMINDERS, ReminderSchedule
from milestonebill.stores.base import BillingStore, StoredEvent
from milestonebill.work import next_due

__all__ = ["CONCURRENCY_RETRIES", "Context", "Settings", "decoded", "end_of", "stored"]

#: How often a unit of work is redone after another writer appended first.
CONCURRENCY_RETRIES: Final = 5


@attrs.frozen
class Settings:
    """The Biller's settings, validated once by :class:`~milestonebill.engine.Biller`."""

    firm_id: FirmId
    numbering: NumberingPolicy
    credit_numbering: NumberingPolicy
    tax: TaxPolicy
    retry_policy: RetryPolicy
    credit_policy: CreditPolicy
    credit_policies: Mapping[str, CreditPolicy]
    worker_id: WorkerId
    lease_seconds: float
    reconcile_grace_seconds: float
    batch_size: int
    horizon_days: int
    reminders: ReminderSchedule = NO_REMINDERS
    #: Gateway calls one worker has in flight at once (1: one after another).
    gateway_concurrency: int = 8
    #: How often one charge is asked again after rate-limited (429) answers.
    rate_limit_retries: int = 8
    #: How many of each kind of result a run's summary keeps (counts are always whole).
    summary_limit: int = 1000

    @property
    def credit_firm(self) -> FirmId:
        """The number sequence of credit notes."""
        return FirmId(f"{self.firm_id}/credit-notes")


def stored(agreement_id: str, event: Event) -> StoredEvent:
    """The stored form of an agreement event."""
    return StoredEvent(AgreementId(agreement_id), EventId(event.event_id), event.version,
                       type(event).__name__, event.effective_at, event_to_json(event))


@functools.lru_cache(maxsize=8192)
def decoded(payload: str) -> Event:
    """The event whose canonical JSON text is ``payload``.

    Events are immutable values and stored text never changes, so a
    Biller that loads the same agreement again decodes only what is new.
    """
    return event_from_json(parse_json_object(payload, "payload"))


def end_of(day: date) -> datetime:
    """The last instant of ``day`` (UTC)."""
    return datetime.combine(day, clock_time.max, tzinfo=UTC)


@attrs.frozen
class Context:
    """The store, gateway, clock and settings one Biller acts through."""

    store: BillingStore
    gateway: PaymentGateway
    clock: Clock
    settings: Settings
    #: Waits between rate-limited asks (tests pass a function that records).
    sleep: Callable[[float], None] = time.sleep
    #: The agreements :meth:`load` folded, so the next load folds only what is new.
    snapshots: Snapshots = attrs.field(factory=Snapshots, eq=False, repr=False)

    def credit_policy_for(self, agreement_id: str) -> CreditPolicy:
        """The credit policy in force for one agreement."""
        return self.settings.credit_policies.get(agreement_id, self.settings.credit_policy)

    def journal(self, key: AttemptKey) -> Intent | None:
        """The attempt journal's record under ``key``."""
        return self.store.get_attempt(key)

    def load(self, agreement_id: AgreementId) -> Agreement:
        """The agreement folded from its stored events
        (:class:`~milestonebill.errors.NotFoundError` if none).

        The last fold of it this Biller made is the start when the store still
        holds the event it ended with: then only the events after it are read
        and folded (see ``Long histories`` in ``docs/architecture.md``)."""
        check_id("agreement_id", agreement_id)
        known = self.snapshots.get(agreement_id)
        if known is not None:
            a = known.agreement
            rows = self.store.load(agreement_id, after_version=a.version - 1)
            if rows and rows[0].event_id == a.events[-1].event_id \
                    and rows[0].payload == known.payload:
                if len(rows) == 1:
                    return a
                try:
                    a = fold(a, [decoded(e.payload) for e in rows[1:]])
                except MilestonebillError:
                    pass  # the full fold below says what is wrong, if anything is
                else:
                    self.snapshots.put(a, rows[-1].payload)
                    return a
            self.snapshots.drop(agreement_id)
        events = self.store.load(agreement_id)
        if not events:
            raise NotFoundError(f"no agreement {agreement_id!r} in the store")
        a = Agreement.from_events(decoded(e.payload) for e in events)
        self.snapshots.put(a, events[-1].payload)
        return a

    def agreement_of(self, invoice_id: InvoiceId) -> Agreement:
        """The agreement an issued invoice belongs to."""
        check_id("invoice_id", invoice_id)
        rec = self.store.get_invoice(invoice_id)
        if rec is None or rec.agreement_id is None:
            raise NotFoundError(f"no issued invoice {invoice_id!r}")
        return self.load(rec.agreement_id)

    def decided_by(self, as_of: date) -> datetime:
        """Until when a run for ``as_of`` decides automatic approvals: the end of the
        day, but never later than now for today or a day past -- a notice that runs
        out later today has not run out yet (the client may still answer), and an
        approval stamped after now would refuse the host's next event."""
        end = end_of(as_of)
        if as_of > self.clock.today():
            return end
        return min(end, utc_datetime(self.clock.now(), "clock.now()"))

    def at(self, a: Agreement) -> datetime:
        """The time to stamp a new event with: now, never before the last event."""
        return max(utc_datetime(self.clock.now(), "clock.now()"), a.events[-1].effective_at)

    def append(self, a: Agreement, events: Sequence[Event]) -> Agreement:
        """Fold ``events`` into ``a`` (checking them) and append them to its stream."""
        new = a
        for e in events:
            new = apply(new, e)
        self.store.append(a.id, [stored(a.id, e) for e in events], a.version)
        return new

    def notify(self, key: str, agreement_id: str | None, kind: str,
               payload: dict[str, Any]) -> None:
        """Tell the host through the outbox (``key`` makes it idempotent)."""
        self.store.add_notification(key, None if agreement_id is None
                                    else AgreementId(agreement_id), kind, payload)

    def unit(self, a: Agreement, work: Callable[[Agreement], Agreement]) -> Agreement:
        """Run ``work`` in one transaction; on a concurrent append, reload and redo."""
        for n in range(CONCURRENCY_RETRIES):
            try:
                with self.store.transaction():
                    return work(a)
            except ConcurrencyError:
                if n == CONCURRENCY_RETRIES - 1:
                    raise
                a = self.load(a.id)
        raise AssertionError("unreachable")

    def position(self, a: Agreement) -> ContractPosition:
        """The contract's balances as its posted entries say."""
        return ContractPosition.of(self.store.entries(agreement_id=a.id), a.currency)

    def next_due(self, a: Agreement, as_of: date | None) -> date | None:
        """The agreement's next day with work (see :func:`milestonebill.work.next_due`)."""
        return next_due(a, today=self.clock.today(), as_of=as_of, journal=self.journal,
                        policy=self.settings.retry_policy,
                        credit_policy=self.credit_policy_for(a.id),
                        horizon_days=self.settings.horizon_days,
                        reminders=self.settings.reminders)

    def reschedule(self, a: Agreement) -> Agreement:
        """Bring the next due date forward when outside events created work."""
        nxt = self.next_due(a, None)
        current = self.store.next_due(a.id)
        if nxt is not None and (current is None or nxt < current):
            self.store.set_next_due(a.id, nxt)
        return a

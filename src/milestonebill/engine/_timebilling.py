"""Time and materials in the engine: recording entries, caps, write-downs, billing.

Private to :mod:`milestonebill.engine`.  The core decides
(:mod:`milestonebill.agreement.time_entries`, :mod:`milestonebill.timebilling`);
here each verb checks everything before it writes, appends its events in
one unit of work and brings the agreement's next due day forward, and
``run`` issues the time invoice due like any invoice (its id comes from the
agreement and its lines, so a repeated run issues nothing new).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from milestonebill._validate import check_date, check_id, check_text
from milestonebill.agreement import (
    Agreement,
    Event,
    ExpenseEntry,
    ExpenseRecorded,
    TimeCapRaised,
    TimeEntry,
    TimeRecorded,
    WorkWrittenDown,
    apply,
)
from milestonebill.engine._context import Context
from milestonebill.engine._issuing import issue
from milestonebill.engine.results import Tally
from milestonebill.errors import DuplicateIdError, ValidationError
from milestonebill.ids import AgreementId
from milestonebill.money import Money
from milestonebill.timebilling import time_invoices_due

__all__ = ["TimeCommands", "bill_due"]

Entry = TimeEntry | ExpenseEntry


def bill_due(ctx: Context, a: Agreement, as_of: date, tally: Tally,
             through: date | None = None) -> Agreement:
    """Issue the time invoice due on ``as_of`` (on demand: work up to ``through``)."""
    for draft in time_invoices_due(a, as_of, tax=ctx.settings.tax, through=through):
        a = issue(ctx, a, draft, tally)
    return a


def _recorded(a: Agreement) -> dict[str, Entry]:
    return {e.entry.entry_id: e.entry for e in a.events
            if isinstance(e, TimeRecorded | ExpenseRecorded)}


def _new_entries(a: Agreement, entries: Sequence[Entry]) -> list[Entry]:
    """The entries not recorded yet; a re-sent entry is skipped, a changed one refused."""
    known = _recorded(a)
    fresh: dict[str, Entry] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, TimeEntry | ExpenseEntry):
            raise ValidationError(f"entries[{i}]", "a TimeEntry or an ExpenseEntry", entry)
        seen = known.get(entry.entry_id, fresh.get(entry.entry_id))
        if seen is None:
            fresh[entry.entry_id] = entry
        elif seen != entry:
            raise DuplicateIdError("time entry", entry.entry_id,
                                   "is already recorded with different values")
    return list(fresh.values())


def _events(ctx: Context, a: Agreement, entries: Sequence[Entry]) -> list[Event]:
    """The events recording ``entries``, each checked by the fold (raises first)."""
    out: list[Event] = []
    new = a
    for entry in _new_entries(a, entries):
        eid = f"{a.id}:time:{entry.entry_id}"
        e: Event = (TimeRecorded(eid, new.version + 1, ctx.at(new), entry)
                    if isinstance(entry, TimeEntry)
                    else ExpenseRecorded(eid, new.version + 1, ctx.at(new), entry))
        new = apply(new, e)
        out.append(e)
    return out


def _reason(reason: object) -> str:
    text = check_text("reason", reason)
    if not text.strip():
        raise ValidationError("reason", "a reason (non-empty text)", reason)
    return text


class TimeCommands:
    """The :class:`~milestonebill.engine.Biller`'s time-and-materials verbs:
    :meth:`record_work`, :meth:`raise_cap`, :meth:`write_down`, :meth:`bill_time`."""

    _ctx: Context

    def _commit(self, agreement_id: AgreementId,
                make: Callable[[Agreement], list[Event]]) -> Agreement:
        ctx = self._ctx
        a = ctx.load(agreement_id)
        make(a)  # refuse before the unit of work: nothing is written

        def work(a: Agreement) -> Agreement:
            events = make(a)
            if not events:
                return a
            new = ctx.append(a, events)
            ctx.notify(f"time.recorded:{events[0].event_id}", a.id, "time.recorded",
                       {"events": [e.event_id for e in events]})
            return new

        return ctx.reschedule(ctx.unit(a, work))

    def record_work(self, agreement_id: AgreementId, entries: Sequence[Entry]) -> Agreement:
        """Record time and expense entries against an agreement, all or none.

        Each entry becomes a :class:`~milestonebill.agreement.TimeRecorded` or
        :class:`~milestonebill.agreement.ExpenseRecorded` event whose id comes
        from the entry's id: an entry sent again, unchanged, is a no-op; the
        same id with different values raises
        :class:`~milestonebill.errors.DuplicateIdError`.  A role without a
        rate in force on the entry's day, an expense in another currency or
        an agreement without a time-and-materials term is refused, and then
        nothing is recorded.  Work past a cap is held (see ``docs/terms.md``).
        """
        check_id("agreement_id", agreement_id)
        entries = tuple(entries)
        return self._commit(agreement_id, lambda a: _events(self._ctx, a, entries))

    def raise_cap(self, agreement_id: AgreementId, cap: Money, *, reason: str,
                  phase: str = "", event_id: str | None = None) -> Agreement:
        """Amend the term: the not-to-exceed cap of the agreement (``phase=""``)
        or of ``phase`` becomes ``cap`` (it must be above the cap in force).

        Work held past the old cap becomes billable, first recorded first, as
        far as the new cap goes; the next run bills it.  With ``event_id``
        (your request's id) a retry changes nothing.  No approval is asked:
        for a raise the client approves, propose a
        :class:`~milestonebill.agreement.RaiseTimeCap` amendment.
        """
        reason = _reason(reason)
        ctx = self._ctx

        def make(a: Agreement) -> list[Event]:
            eid = event_id or f"{a.id}:cap:{phase}:{cap.minor if isinstance(cap, Money) else cap}"
            check_id("event_id", eid)
            if any(e.event_id == eid for e in a.events):
                return []
            e = TimeCapRaised(eid, a.version + 1, ctx.at(a), cap, reason, phase)
            apply(a, e)
            return [e]

        return self._commit(agreement_id, make)

    def write_down(self, agreement_id: AgreementId, entry_id: str, *, reason: str) -> Agreement:
        """Give up what is held of entry ``entry_id``: it is never billed or
        recognised.  An entry with nothing held raises
        :class:`~milestonebill.errors.InvalidTransitionError`; writing the same
        entry down again is a no-op."""
        reason = _reason(reason)
        check_id("entry_id", entry_id)
        ctx = self._ctx

        def make(a: Agreement) -> list[Event]:
            eid = f"{a.id}:written-down:{entry_id}"
            if any(e.event_id == eid for e in a.events):
                return []
            e = WorkWrittenDown(eid, a.version + 1, ctx.at(a), entry_id, reason)
            apply(a, e)
            return [e]

        return self._commit(agreement_id, make)

    def bill_time(self, agreement_id: AgreementId, *, through: date) -> Agreement:
        """Bill now the approved work done up to ``through`` not billed yet (the
        ``on_demand`` cadence; any cadence may bill early).  Nothing to bill is a
        no-op; the invoice is charged by the next run like any other.

        ``through`` is inclusive: work done on that day is billed.
        """
        check_id("agreement_id", agreement_id)
        check_date("through", through)
        ctx = self._ctx
        today = ctx.clock.today()
        a = bill_due(ctx, ctx.load(agreement_id), today, Tally(today), through)
        return ctx.reschedule(a)

"""Time and expense entries of a time-and-materials agreement, and what is held.

The work a firm records against an agreement with a
:class:`~milestonebill.schedule.TimeAndMaterials` term is a stream of events:

* :class:`TimeRecorded` (a :class:`TimeEntry`: day, person, role, hours to
  the minute, description, phase) and :class:`ExpenseRecorded` (an
  :class:`ExpenseEntry`: an amount in minor units);
* :class:`TimeCapRaised` -- the firm raises the not-to-exceed cap of the
  agreement (``phase=""``) or of a phase, with no approval flow; a
  :class:`~milestonebill.agreement.RaiseTimeCap` amendment does the same
  once the client approves it;
* :class:`WorkWrittenDown` -- the firm gives up what is held of an entry.

:func:`time_work` replays them (with the invoices issued since) into one
:class:`WorkItem` per entry: its value, the part *approved* (within the caps,
billable), the part *held* (past a cap, awaiting approval) and the part
*written down*; ``approved + held + written_down == value`` always.  Caps are
taken first come, first served in the order entries were recorded, so an
entry recorded later never takes room an earlier one is waiting for; a cap
crossed inside an entry splits it.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import attrs

from milestonebill._validate import check_id
from milestonebill.agreement._fields import checked_id as _checked_id
from milestonebill.agreement._fields import effective_at as _effective_at
from milestonebill.agreement._fields import event_id as _event_id
from milestonebill.agreement._fields import reason as _reason
from milestonebill.agreement._fields import text as _text
from milestonebill.agreement.amendments import Amendment, RaiseTimeCap
from milestonebill.errors import DuplicateIdError, InvalidTransitionError, ValidationError
from milestonebill.money import Currency, Money
from milestonebill.schedule.time_materials import TimeAndMaterials, hours_in_minutes

__all__ = [
    "ExpenseEntry",
    "ExpenseRecorded",
    "TimeCapRaised",
    "TimeEntry",
    "TimeEvent",
    "TimeRecorded",
    "WorkItem",
    "WorkWrittenDown",
    "check_cap_raise",
    "check_time_event",
    "entry_value",
    "line_id_for",
    "time_caps",
    "time_work",
]












def _phase(_inst: object, attr: attrs.Attribute[Any], value: str) -> None:
    if value != "":
        check_id(attr.name, value)


def _worked_on(_inst: object, attr: attrs.Attribute[Any], value: date) -> None:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValidationError(attr.name, "a date", value)


def _hours(_inst: object, attr: attrs.Attribute[Any], value: Decimal) -> None:
    hours_in_minutes(value, attr.name)




@attrs.frozen(kw_only=True)
class TimeEntry:
    """Hours worked: ``hours`` (a ``Decimal`` to the minute) by ``person`` in
    ``role`` on the day ``on``; ``entry_id`` is stable (the time tool's id), so a
    re-sent entry is recognised.  ``phase`` names the phase it counts against."""

    entry_id: str = attrs.field(validator=_checked_id)
    on: date = attrs.field(validator=_worked_on)
    person: str = attrs.field(validator=_checked_id)
    role: str = attrs.field(validator=_checked_id)
    hours: Decimal = attrs.field(validator=_hours)
    description: str = attrs.field(default="", validator=_text)
    phase: str = attrs.field(default="", validator=_phase)


@attrs.frozen(kw_only=True)
class ExpenseEntry:
    """An expense billed at cost: ``amount`` (a positive
    :class:`~milestonebill.money.Money`) spent by ``person`` on ``on``.
    Raises :class:`~milestonebill.errors.ValidationError` naming ``amount`` for anything else."""

    entry_id: str = attrs.field(validator=_checked_id)
    on: date = attrs.field(validator=_worked_on)
    person: str = attrs.field(validator=_checked_id)
    amount: Money
    description: str = attrs.field(default="", validator=_text)
    phase: str = attrs.field(default="", validator=_phase)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.amount, Money) or self.amount.minor <= 0:
            raise ValidationError("amount", "a positive Money", self.amount)


@attrs.frozen
class TimeRecorded:
    """A time entry was recorded against the agreement."""

    event_id: str = attrs.field(validator=_event_id)
    version: int
    effective_at: datetime = attrs.field(converter=_effective_at)
    entry: TimeEntry


@attrs.frozen
class ExpenseRecorded:
    """An expense entry was recorded against the agreement."""

    event_id: str = attrs.field(validator=_event_id)
    version: int
    effective_at: datetime = attrs.field(converter=_effective_at)
    entry: ExpenseEntry


@attrs.frozen
class TimeCapRaised:
    """The firm recorded a higher not-to-exceed ``cap`` for the agreement
    (``phase=""``) or for ``phase``: held work within it becomes billable.

    It needs no approval flow (the approval happened elsewhere, or the cap is
    the firm's own); a raise the client approves in the library is a
    :class:`~milestonebill.agreement.RaiseTimeCap` amendment."""

    event_id: str = attrs.field(validator=_event_id)
    version: int
    effective_at: datetime = attrs.field(converter=_effective_at)
    cap: Money
    reason: str = attrs.field(validator=_reason)
    phase: str = attrs.field(default="", validator=_phase)


@attrs.frozen
class WorkWrittenDown:
    """What is held of entry ``entry_id`` will never be billed."""

    event_id: str = attrs.field(validator=_event_id)
    version: int
    effective_at: datetime = attrs.field(converter=_effective_at)
    entry_id: str = attrs.field(validator=_checked_id)
    reason: str = attrs.field(validator=_reason)


TimeEvent = TimeRecorded | ExpenseRecorded | TimeCapRaised | WorkWrittenDown


@attrs.frozen
class WorkItem:
    """One entry's position: its value (minor units, exact; already rounded
    when the term rounds per line) split into approved, held and written down,
    and ``billed``: the approved part already invoiced (exact)."""

    entry: TimeEntry | ExpenseEntry
    value: Fraction
    approved: Fraction
    held: Fraction
    written_down: Fraction
    billed: Fraction
    lines: int  # invoice lines issued for it so far

    @property
    def unbilled(self) -> Fraction:
        """Approved and not invoiced yet."""
        return self.approved - self.billed


def entry_value(term: TimeAndMaterials, entry: TimeEntry | ExpenseEntry) -> Fraction:
    """An entry's value in minor units: hours x the rate in force, or the expense."""
    if isinstance(entry, ExpenseEntry):
        return Fraction(entry.amount.minor)
    return term.value_of_hours(entry.hours, term.rate_for(entry.role, entry.on))


class _Replay:
    """The mutable state :func:`time_work` folds events into.

    What is approved under each cap is kept as a running total per scope
    (``""`` the agreement, else a phase), and the entries with something held
    in recording order, so an event costs what it changes, not a pass over
    every entry: a replay is linear in the stream.
    """

    def __init__(self, term: TimeAndMaterials) -> None:
        self.term = term
        self.caps: dict[str, int | None] = {"": None if term.cap is None else term.cap.minor}
        self.caps.update({p.phase: p.cap.minor for p in term.phase_caps})
        self.items: dict[str, dict[str, Any]] = {}
        self.proposed: dict[str, tuple[RaiseTimeCap, ...]] = {}
        self._approved: dict[str, Fraction] = {}
        self._held: dict[str, None] = {}  # entry ids with something held, in recording order

    def set_cap(self, scope: str, cap: Money) -> None:
        self.caps[scope] = cap.minor
        self.release()

    def approved(self, scope: str) -> Fraction:
        """What is approved (billed or still to bill) under the cap of ``scope``."""
        return self._approved.get(scope, Fraction(0))

    def amendment(self, e: object) -> bool:
        """Follow a cap raise proposed or approved through an amendment (the
        events are read by shape: agreement.events imports this module)."""
        amendment = getattr(e, "amendment", None)
        if isinstance(amendment, Amendment):
            ops = tuple(op for op in amendment.operations if isinstance(op, RaiseTimeCap))
            if getattr(e, "requires_approval", True):
                self.proposed[amendment.id] = ops
            else:
                for op in ops:
                    self.set_cap(op.scope, op.new_cap)
            return True
        if hasattr(e, "approved_by"):
            for op in self.proposed.pop(getattr(e, "amendment_id", ""), ()):
                self.set_cap(op.scope, op.new_cap)
            return True
        return False

    def room(self, phase: str) -> Fraction | None:
        rooms = []
        for scope in ("", phase) if phase else ("",):
            cap = self.caps.get(scope)
            if cap is not None:
                rooms.append(max(Fraction(cap) - self.approved(scope), Fraction(0)))
        return min(rooms, default=None)

    def release(self) -> None:
        """Approve what is held, oldest entry first, as far as the caps allow."""
        for entry_id in list(self._held):
            if self.room("") == 0:
                return  # the agreement's cap is reached: no entry can take more
            item = self.items[entry_id]
            phase = item["entry"].phase
            room = self.room(phase)
            take = item["held"] if room is None else min(item["held"], room)
            if take:
                item["approved"] += take
                item["held"] -= take
                self._approved[""] = self.approved("") + take
                if phase:
                    self._approved[phase] = self.approved(phase) + take
            if item["held"] <= 0:
                del self._held[entry_id]

    def apply(self, e: object, agreement_id: str) -> None:
        if isinstance(e, TimeRecorded | ExpenseRecorded):
            v = entry_value(self.term, e.entry)
            self.items[e.entry.entry_id] = {"entry": e.entry, "value": v, "approved": Fraction(0),
                                            "held": v, "written_down": Fraction(0),
                                            "billed": Fraction(0), "lines": 0}
            if v > 0:
                self._held[e.entry.entry_id] = None
            self.release()
        elif isinstance(e, TimeCapRaised):
            self.set_cap(e.phase, e.cap)
        elif isinstance(e, WorkWrittenDown):
            item = self.items[e.entry_id]
            item["written_down"] += item["held"]
            item["held"] = Fraction(0)
            self._held.pop(e.entry_id, None)
        elif not self.amendment(e):
            invoice = getattr(e, "invoice", None)
            for ln in getattr(invoice, "lines", ()):
                entry_id = _entry_of_line(agreement_id, ln.line_id)
                if entry_id in self.items:
                    self.items[entry_id]["billed"] = self.items[entry_id]["approved"]
                    self.items[entry_id]["lines"] += 1


def line_id_for(agreement_id: str, entry_id: str, n: int) -> str:
    """The id of the ``n``-th invoice line (0, 1, ...) that bills an entry."""
    return f"{agreement_id}:tm:{n}:{entry_id}"


def _entry_of_line(agreement_id: str, line_id: str) -> str | None:
    prefix = f"{agreement_id}:tm:"
    if not line_id.startswith(prefix):
        return None
    return line_id[len(prefix):].partition(":")[2]


def _replay(term: TimeAndMaterials, events: Iterable[object], agreement_id: str) -> _Replay:
    replay = _Replay(term)
    for e in events:
        replay.apply(e, agreement_id)
    return replay


def time_work(term: TimeAndMaterials | None, events: Iterable[object], agreement_id: str,
              *, raises: Iterable[RaiseTimeCap] = ()) -> tuple[WorkItem, ...]:
    """Every entry's position after ``events`` (an agreement's stream), in the
    order the entries were recorded; ``()`` without a term.

    A cap is raised by a :class:`TimeCapRaised` where it stands in the stream,
    and by a :class:`~milestonebill.agreement.RaiseTimeCap` when its amendment
    is approved (or proposed, when it needs no approval).  ``raises`` are
    applied after ``events``, as if approved now (for pricing an amendment).
    """
    if term is None:
        return ()
    replay = _replay(term, events, agreement_id)
    for op in raises:
        replay.set_cap(op.scope, op.new_cap)
    return tuple(WorkItem(**i) for i in replay.items.values())


def time_caps(term: TimeAndMaterials | None, events: Iterable[object],
              agreement_id: str) -> dict[str, Money | None]:
    """The caps in force after ``events``: ``""`` the agreement's, then each phase's
    (``None``: no cap); ``{}`` without a term."""
    if term is None:
        return {}
    cur = Currency.of(term.currency_code)
    caps = _replay(term, events, agreement_id).caps
    return {k: None if v is None else Money.from_minor(v, cur) for k, v in caps.items()}


def check_cap_raise(term: TimeAndMaterials | None, currency: Currency, events: Iterable[object],
                    agreement_id: str, raises: Sequence[RaiseTimeCap]) -> None:
    """Refuse the last of ``raises`` (those before it apply first), after ``events``.

    Raises :class:`~milestonebill.errors.ValidationError` naming ``time_materials`` (no term),
    ``phase`` (no cap there to raise) or ``new_cap`` (another currency, or
    not above the cap in force -- and so never below what is approved under
    it, billed or still to bill).
    """
    if term is None:
        raise ValidationError("time_materials", "an agreement with a time-and-materials term",
                              None)
    replay = _replay(term, events, agreement_id)
    for earlier in raises[:-1]:
        replay.set_cap(earlier.scope, earlier.new_cap)
    op = raises[-1]
    current = replay.caps.get(op.scope)
    if current is None:
        raise ValidationError("phase", "the agreement (None) or a phase that has a cap",
                              op.phase)
    if op.new_cap.currency != currency:
        raise ValidationError("new_cap", f"an amount in {currency.code}", op.new_cap)
    # Work is approved only up to the cap in force, so a cap above it is never
    # below what is already billed or still to bill.
    assert replay.approved(op.scope) <= current
    if op.new_cap.minor <= current:
        raise ValidationError("new_cap", f"above the cap in force "
                              f"({Money.from_minor(current, currency)})", op.new_cap)


def check_time_event(term: TimeAndMaterials | None, currency: Currency,
                     events: Sequence[object], agreement_id: str, e: TimeEvent, *,
                     recorded: Container[str] | None = None) -> None:
    """Refuse ``e`` when it cannot follow ``events`` (the stream so far).

    ``recorded``, when given, holds the ids of the entries ``events`` recorded
    (the fold keeps them), so a new entry is checked without a scan.

    Raises :class:`~milestonebill.errors.InvalidTransitionError` when there is no
    time-and-materials term or a write-down has nothing held;
    :class:`~milestonebill.errors.DuplicateIdError` for an entry id already recorded;
    :class:`~milestonebill.errors.ValidationError` naming ``amount`` (another currency), ``role``
    (no rate in force on the day), ``phase`` (no cap) or ``cap`` (not above the cap in force).
    """
    if term is None:
        raise InvalidTransitionError(f"agreement {agreement_id!r} has no time-and-materials "
                                     f"term")
    if isinstance(e, TimeRecorded | ExpenseRecorded):
        entry = e.entry
        # Only whether the id was recorded matters here: no replay of the work.
        if entry.entry_id in recorded if recorded is not None else any(
                isinstance(x, TimeRecorded | ExpenseRecorded)
                and x.entry.entry_id == entry.entry_id for x in events):
            raise DuplicateIdError("time entry", entry.entry_id)
        if isinstance(entry, ExpenseEntry) and entry.amount.currency != currency:
            raise ValidationError("amount", f"an amount in {currency.code}", entry.amount)
        if isinstance(entry, TimeEntry) and not any(
                r.role == entry.role and r.effective_from <= entry.on for r in term.rates):
            raise ValidationError("role", f"a role with a rate in force on "
                                  f"{entry.on.isoformat()}", entry.role)
    elif isinstance(e, TimeCapRaised):
        current = time_caps(term, events, agreement_id).get(e.phase)
        if current is None:
            raise ValidationError("phase", "a phase (or the agreement) that has a cap", e.phase)
        if e.cap.currency != currency or e.cap.minor <= current.minor:
            raise ValidationError("cap", f"an amount in {currency.code} above the cap in force "
                                  f"({current})", e.cap)
    else:
        item = next((w for w in time_work(term, events, agreement_id)
                     if w.entry.entry_id == e.entry_id), None)
        if item is None or item.held <= 0:
            raise InvalidTransitionError(f"entry {e.entry_id!r} has nothing held to write down")

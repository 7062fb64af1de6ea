"""What a practice-management tool reports, and what it becomes on an agreement.

Every receiver (Karbon, Keeper, a PSA's time export, ...) reads its vendor's
shape into one of two values:

* :class:`WorkCompleted` -- a work item or task was completed;
* :class:`TimeLogged` -- a time entry: a person's hours on a day.

Each names the tool (``source``) and the external ids it may be linked by,
most specific first (``keys``: the task, then its project, then its
client).  :func:`record_activity` maps them through the store's links
(:meth:`~milestonebill.engine.Biller.link_work`) and records, in one unit of
work, the agreement events they mean:

* a completed work item linked to a milestone completes it
  (``MilestoneCompleted``), under an event id derived from the delivery, so
  a redelivery changes nothing; a milestone completed some other way is
  left as it is;
* a time entry adds its hours to an obligation measured by hours
  (``ProgressReported``, cumulative as the books expect: hours to date),
  under an event id derived from the entry's id, so an entry is counted
  once however often it is sent.  The obligation is the one linked, the
  one paying for a linked milestone, or -- for a whole agreement linked --
  its only obligation measured by hours.  Progress is dated on the entry's
  day, or on the agreement's last report if that is later (progress never
  goes back in time: late time is counted when it arrives);
* anything not linked, or linked to something it cannot move, is ignored
  with the reason.

An event the agreement refuses (hours past the estimate in force, a
milestone that does not exist any more) raises its typed error and nothing
of the delivery is written.

>>> from datetime import UTC, date, datetime
>>> from decimal import Decimal
>>> t = TimeLogged("bigtime", "e-1", ("Acme audit",), date(2026, 3, 2), "Ada", Decimal("1.5"))
>>> time_event_id(t.source, t.entry_id), t.to_json()["hours"]
('pm:bigtime:time:e-1', '1.5')
>>> hours_from_minutes(25)
Decimal('0.416667')
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Final

import attrs

from milestonebill._validate import check_date, check_id, check_text, exact_decimal, utc_datetime
from milestonebill.agreement import (
    Agreement,
    Event,
    Progress,
    apply,
    complete_milestone,
    event_to_json,
    report_progress,
)
from milestonebill.engine import Biller, RunSummary
from milestonebill.errors import DomainError, DuplicateIdError, ValidationError
from milestonebill.ids import AgreementId, ObligationId
from milestonebill.stores.base import WorkLink, check_source

__all__ = [
    "MAX_ENTRY_HOURS",
    "Activity",
    "ActivityResult",
    "Outcome",
    "Receipt",
    "TimeLogged",
    "WorkCompleted",
    "completion_event_id",
    "hours_from_minutes",
    "plan_activity",
    "record_activity",
    "time_event_id",
]

_MICRO: Final = Decimal("0.000001")
#: The most hours one entry may carry (a year of days).
MAX_ENTRY_HOURS: Final = Decimal(8784)


def _keys(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValidationError("keys", "a sequence of external ids", value)
    keys = tuple(check_id(f"keys[{i}]", k) for i, k in enumerate(value))
    if not keys:
        raise ValidationError("keys", "at least one external id", value)
    return keys


def _number(value: object, field: str) -> Decimal | None:
    """An exact number, or ``None`` for anything else (a float, a bool, a list...)."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        return None
    return exact_decimal(value, field)


def _hours(value: object) -> Decimal:
    d = _number(value, "hours")
    if d is None or not Decimal(0) <= d <= MAX_ENTRY_HOURS:
        raise ValidationError("hours", f"a number of hours from 0 to {MAX_ENTRY_HOURS}", value)
    return d


def _rate(value: object) -> Decimal | None:
    if value is None:
        return None
    d = _number(value, "rate")
    if d is None or d < 0:
        raise ValidationError("rate", "a rate of at least 0, or none", value)
    return d


def _text(field: str) -> Any:
    def check(_inst: object, _attr: object, value: object) -> None:
        check_text(field, value)

    return check


def _id(field: str) -> Any:
    def check(_inst: object, _attr: object, value: object) -> None:
        check_id(field, value)

    return check


def _source(_inst: object, _attr: object, value: str) -> None:
    check_source(value)


def _day(_inst: object, _attr: object, value: date) -> None:
    check_date("on", value)


def _completed_at(value: object) -> datetime:
    return utc_datetime(value, "completed_at")


def hours_from_minutes(minutes: int) -> Decimal:
    """Whole minutes as hours, to the millionth of an hour (rounded half to even).

    Returns an exact ``Decimal`` of hours.  Raises
    :class:`~milestonebill.errors.ValidationError` naming ``minutes`` unless it is a
    whole number, 0 or more.

    >>> hours_from_minutes(384), hours_from_minutes(90), hours_from_minutes(0)
    (Decimal('6.4'), Decimal('1.5'), Decimal('0'))
    """
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 0:
        raise ValidationError("minutes", "a whole number of minutes, at least 0", minutes)
    hours = (Decimal(minutes) / 60).quantize(_MICRO, rounding=ROUND_HALF_EVEN).normalize()
    return hours.quantize(Decimal(1)) if hours == hours.to_integral() else hours


@attrs.frozen
class WorkCompleted:
    """A work item or task completed in ``source``, as delivery ``delivery_id``."""

    source: str = attrs.field(validator=_source)
    delivery_id: str = attrs.field(validator=_id("delivery_id"))
    keys: tuple[str, ...] = attrs.field(converter=_keys)
    completed_at: datetime = attrs.field(converter=_completed_at)
    completed_by: str = attrs.field(validator=_id("completed_by"))
    evidence: str = attrs.field(default="", validator=_text("evidence"))

    @property
    def ref(self) -> str:
        """The delivery id."""
        return self.delivery_id

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {"kind": "completion", "source": self.source, "delivery_id": self.delivery_id,
                "keys": list(self.keys), "completed_at": self.completed_at.isoformat(),
                "completed_by": self.completed_by, "evidence": self.evidence}


@attrs.frozen
class TimeLogged:
    """A time entry of ``source``: ``hours`` by ``person`` on the day ``on``.

    ``entry_id`` is the tool's id of the entry (an export without one gets
    an id derived from the row).  ``rate`` and ``billable`` are kept for
    time-and-materials billing; progress counts every hour worked.
    """

    source: str = attrs.field(validator=_source)
    entry_id: str = attrs.field(validator=_id("entry_id"))
    keys: tuple[str, ...] = attrs.field(converter=_keys)
    on: date = attrs.field(validator=_day)
    person: str = attrs.field(validator=_text("person"))
    hours: Decimal = attrs.field(converter=_hours)
    rate: Decimal | None = attrs.field(default=None, converter=_rate)
    billable: bool = attrs.field(default=True, validator=attrs.validators.instance_of(bool))
    description: str = attrs.field(default="", validator=_text("description"))

    @property
    def ref(self) -> str:
        """The entry id."""
        return self.entry_id

    def to_json(self) -> dict[str, Any]:
        """The JSON form (hours and rate as exact text)."""
        return {"kind": "time", "source": self.source, "entry_id": self.entry_id,
                "keys": list(self.keys), "on": self.on.isoformat(), "person": self.person,
                "hours": str(self.hours), "rate": None if self.rate is None else str(self.rate),
                "billable": self.billable, "description": self.description}


#: What a receiver reads from a delivery.
Activity = WorkCompleted | TimeLogged


class Outcome(enum.Enum):
    """What one activity came to."""

    #: Its event was recorded.
    RECORDED = "recorded"
    #: It was recorded before (a redelivery): nothing changed.
    DUPLICATE = "duplicate"
    #: A time entry counted before with other hours: left as counted (progress
    #: never goes backwards; report a correction with ``report_progress``).
    EDITED = "edited"
    #: The milestone was already completed some other way.
    ALREADY_COMPLETED = "already_completed"
    #: Not linked, or linked to something it does not move (see ``reason``).
    IGNORED = "ignored"


@attrs.frozen
class ActivityResult:
    """What :func:`record_activity` did with one activity: its ``outcome``, the
    agreement and milestone or obligation it went to, why (for the ones not
    recorded), and the agreement events recorded for it."""

    activity: Activity
    outcome: Outcome
    agreement_id: AgreementId | None = None
    target: str | None = None
    reason: str = ""
    events: tuple[Event, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The JSON form (events in their stored JSON)."""
        return {"kind": "completion" if isinstance(self.activity, WorkCompleted) else "time",
                "source": self.activity.source, "ref": self.activity.ref,
                "outcome": self.outcome.value, "agreement_id": self.agreement_id,
                "target": self.target, "reason": self.reason,
                "events": [event_to_json(e) for e in self.events]}


@attrs.frozen
class Receipt:
    """Everything a delivery (or an import) came to: one result per activity, in the
    order given, and the billing runs of the agreements whose milestones it
    completed.  ``note`` says why a delivery held nothing to record."""

    results: tuple[ActivityResult, ...] = ()
    billed: tuple[RunSummary, ...] = ()
    note: str = ""

    @property
    def events(self) -> tuple[Event, ...]:
        """Every agreement event recorded, by agreement, in the order recorded."""
        pairs = [(r.agreement_id or "", e) for r in self.results for e in r.events]
        return tuple(e for _, e in sorted(pairs, key=lambda p: (p[0], p[1].version)))

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {"results": [r.to_json() for r in self.results],
                "billed": [b.to_json() for b in self.billed], "note": self.note}


def completion_event_id(source: str, delivery_id: str) -> str:
    """The id of the completion recorded for a delivery: a redelivery finds it."""
    return f"pm:{check_source(source)}:{check_id('delivery_id', delivery_id)}"


def time_event_id(source: str, entry_id: str) -> str:
    """The id of the progress recorded for a time entry: the entry is counted once."""
    return f"pm:{check_source(source)}:time:{check_id('entry_id', entry_id)}"


def _event_id(act: Activity) -> str:
    if isinstance(act, TimeLogged):
        return time_event_id(act.source, act.entry_id)
    return completion_event_id(act.source, act.delivery_id)


# ---------------------------------------------------------------- one agreement


@attrs.frozen
class _Item:
    index: int
    activity: Activity
    link: WorkLink


def _counted(a: Agreement, event_id: str) -> Decimal | None:
    """The hours an entry's event added, if it is recorded."""
    for n, r in enumerate(a.progress_reports):
        if r.event_id == event_id:
            before = [p for p in a.progress_reports[:n] if p.obligation_id == r.obligation_id]
            return r.to_date - (before[-1].to_date if before else Decimal(0))
    if any(e.event_id == event_id for e in a.events):
        raise DuplicateIdError("event", event_id, "is already used for another kind of event")
    return None


def _hours_obligation(a: Agreement, link: WorkLink) -> tuple[ObligationId | None, str]:
    """The obligation measured by hours a time entry on ``link`` goes to, or why none."""
    terms = a.obligation_terms
    if link.obligation_id is not None:
        found = next((o for o in terms if o.id == link.obligation_id), None)
        if found is None:
            return None, f"the agreement has no obligation {link.obligation_id!r} any more"
    elif link.milestone_id is not None:
        found = next((o for o in terms if link.milestone_id in o.items), None)
        if found is None:
            return None, (f"milestone {link.milestone_id!r} is paid for by no obligation of "
                          "its own")
    else:
        hourly = [o for o in terms if o.progress is Progress.HOURS]
        if len(hourly) != 1:
            return None, (f"the agreement has {len(hourly)} obligations measured by hours; "
                          "link the work to one of them")
        found = hourly[0]
    if found.progress is not Progress.HOURS:
        return None, f"obligation {found.id!r} is measured by {found.progress.value}, not hours"
    return found.id, ""


def _time(a: Agreement, item: _Item, t: TimeLogged, at: datetime
          ) -> tuple[Agreement, ActivityResult]:
    eid = time_event_id(t.source, t.entry_id)
    counted = _counted(a, eid)
    obligation, why = _hours_obligation(a, item.link)

    def result(outcome: Outcome, reason: str = "", events: tuple[Event, ...] = ()
               ) -> ActivityResult:
        return ActivityResult(t, outcome, a.id, obligation, reason, events)

    if counted is not None:
        if counted == t.hours:
            return a, result(Outcome.DUPLICATE)
        return a, result(Outcome.EDITED, f"counted as {counted} hours; the entry now says "
                                         f"{t.hours}")
    if obligation is None:
        return a, result(Outcome.IGNORED, why)
    if not t.hours:
        return a, result(Outcome.IGNORED, "the entry has no hours")
    earlier = [r for r in a.progress_reports if r.obligation_id == obligation]
    as_of = max(t.on, earlier[-1].as_of if earlier else a.signed_on, a.signed_on)
    e = report_progress(a, obligation, a.progress(obligation) + t.hours, as_of=as_of, at=at,
                        event_id=eid)
    return apply(a, e), result(Outcome.RECORDED, events=(e,))


def _completion(a: Agreement, item: _Item, w: WorkCompleted, at: datetime
                ) -> tuple[Agreement, ActivityResult]:
    mid = item.link.milestone_id
    eid = completion_event_id(w.source, w.delivery_id)
    if mid is None:
        return a, ActivityResult(w, Outcome.IGNORED, a.id, None,
                                 f"{w.keys[0]!r} is linked to the {item.link.target.value}, "
                                 "not to a milestone")
    if any(e.event_id == eid for e in a.events):
        return a, ActivityResult(w, Outcome.DUPLICATE, a.id, mid)
    if mid in a.completions:
        return a, ActivityResult(w, Outcome.ALREADY_COMPLETED, a.id, mid)
    evidence = w.evidence or f"{w.source} work item {w.keys[0]}"
    e = complete_milestone(a, mid, by=w.completed_by, at=at, evidence=evidence,
                           completed_on=w.completed_at.date(), event_id=eid)
    return apply(a, e), ActivityResult(w, Outcome.RECORDED, a.id, mid, events=(e,))


def _ordered(items: Sequence[_Item]) -> list[_Item]:
    """Completions first, then time entries in date order (progress is dated)."""
    return sorted(items, key=lambda i: (isinstance(i.activity, TimeLogged),
                                        getattr(i.activity, "on", date.min), i.index))


def _simulate(a: Agreement, items: Sequence[_Item], at: datetime
              ) -> tuple[list[Event], dict[int, ActivityResult], dict[int, DomainError]]:
    """The events ``items`` make on ``a``, each one's result, and each one's refusal
    (a refused activity is left out and the rest go on from the state before it)."""
    events: list[Event] = []
    results: dict[int, ActivityResult] = {}
    errors: dict[int, DomainError] = {}
    for item in _ordered(items):
        try:
            if isinstance(item.activity, TimeLogged):
                a, res = _time(a, item, item.activity, at)
            else:
                a, res = _completion(a, item, item.activity, at)
        except DomainError as exc:
            errors[item.index] = exc
            continue
        events.extend(res.events)
        results[item.index] = res
    return events, results, errors


# ---------------------------------------------------------------- many agreements


def _checked(activities: object) -> list[Activity]:
    if isinstance(activities, WorkCompleted | TimeLogged | str | bytes) \
            or not isinstance(activities, Sequence):
        raise ValidationError("activities", "a sequence of WorkCompleted and TimeLogged",
                              activities)
    for i, act in enumerate(activities):
        if not isinstance(act, WorkCompleted | TimeLogged):
            raise ValidationError(f"activities[{i}]", "a WorkCompleted or a TimeLogged", act)
    return list(activities)


def _linked(biller: Biller, activities: Sequence[Activity]
            ) -> tuple[dict[AgreementId, list[_Item]], dict[int, ActivityResult]]:
    """The linked activities by agreement, and a result for each one not linked."""
    groups: dict[AgreementId, list[_Item]] = {}
    unlinked: dict[int, ActivityResult] = {}
    for i, act in enumerate(activities):
        link = biller.find_work_link(act.source, act.keys)
        if link is None:
            unlinked[i] = ActivityResult(act, Outcome.IGNORED, reason=(
                f"no {act.source} link for " + " or ".join(repr(k) for k in act.keys)))
            continue
        elsewhere = biller.agreement_of_event(_event_id(act))
        if elsewhere is not None and elsewhere != link.agreement_id:
            # The work was linked to another agreement when it was recorded.
            unlinked[i] = ActivityResult(act, Outcome.DUPLICATE, elsewhere, reason=(
                f"recorded on agreement {elsewhere!r} before the link moved"))
            continue
        groups.setdefault(link.agreement_id, []).append(_Item(i, act, link))
    return groups, unlinked


def plan_activity(biller: Biller, activities: Sequence[Activity]
                  ) -> tuple[dict[int, ActivityResult], dict[int, DomainError]]:
    """What :func:`record_activity` would do, writing nothing: each activity's result
    by its index, and each refusal by its index (every one, not only the first)."""
    groups, results = _linked(biller, _checked(activities))
    errors: dict[int, DomainError] = {}
    for aid, items in groups.items():
        try:
            a = biller.load(aid)
        except DomainError as exc:
            errors.update((item.index, exc) for item in items)
            continue
        _, done, refused = _simulate(a, items, a.events[-1].effective_at)
        results.update(done)
        errors.update(refused)
    return results, errors


def record_activity(biller: Biller, activities: Sequence[Activity], *,
                    bill: bool = True) -> Receipt:
    """Record what ``activities`` mean for the agreements they are linked to, in one
    unit of work, and (``bill``) bill the agreements whose milestones they completed.

    The first activity an agreement refuses raises its error and nothing is
    written.  Recording the same activities again records nothing new.
    """
    checked = _checked(activities)
    groups, results = _linked(biller, checked)
    recorded: dict[int, ActivityResult] = {}

    def builder(items: list[_Item]) -> Any:
        def build(a: Agreement, at: datetime) -> list[Event]:
            events, done, refused = _simulate(a, items, at)
            if refused:
                raise refused[min(refused)]
            recorded.update(done)
            return events

        return build

    biller.record_together({aid: builder(items) for aid, items in groups.items()})
    results.update(recorded)
    ordered = tuple(results[i] for i in range(len(checked)))
    completed = sorted({r.agreement_id for r in ordered if r.agreement_id is not None
                        and isinstance(r.activity, WorkCompleted)
                        and r.outcome in (Outcome.RECORDED, Outcome.DUPLICATE)
                        and r.agreement_id in groups})
    billed = tuple(biller.bill(aid) for aid in completed) if bill else ()
    return Receipt(ordered, billed)


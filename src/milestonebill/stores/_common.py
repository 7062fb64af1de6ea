"""Helpers shared by the shipped stores (private)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta

import attrs

from milestonebill._validate import utc_datetime
from milestonebill.errors import ConcurrencyError, DuplicateIdError, ValidationError
from milestonebill.ledger import JournalEntry
from milestonebill.stores.base import StoredEvent

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The current UTC time (the shell's default clock for leases)."""
    return datetime.now(UTC)


def now_utc(clock: Clock) -> datetime:
    """Read ``clock`` and insist on an aware datetime, returned in UTC."""
    return utc_datetime(clock(), "clock()")


def lease_until(clock: Clock, lease_seconds: float) -> tuple[datetime, datetime]:
    """``(now, now + lease)`` after validating ``lease_seconds``."""
    if isinstance(lease_seconds, bool) or not isinstance(lease_seconds, int | float):
        raise ValidationError("lease_seconds", "a number of seconds greater than zero", lease_seconds)
    if not lease_seconds > 0:
        raise ValidationError("lease_seconds", "a number of seconds greater than zero", lease_seconds)
    now = now_utc(clock)
    return now, now + timedelta(seconds=lease_seconds)


def check_positive_int(field: str, value: object) -> int:
    """Validate a positive ``int`` argument."""
    if type(value) is not int or value < 1:
        raise ValidationError(field, "an int, 1 or more", value)
    return value


def check_version(value: object) -> int:
    """Validate an expected version."""
    if type(value) is not int or value < 0:
        raise ValidationError("expected_version", "an int, 0 or more", value)
    return value


def check_date(field: str, value: object) -> date:
    """Validate a ``date`` (not a ``datetime``) argument."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValidationError(field, "a date (not a datetime)", value)
    return value


def check_optional_date(field: str, value: object) -> date | None:
    """Validate ``None`` or a ``date``."""
    return None if value is None else check_date(field, value)


def check_id(field: str, value: object) -> str:
    """Validate a non-empty string id."""
    if not isinstance(value, str) or not value:
        raise ValidationError(field, "a non-empty string", value)
    return value


def check_entry(entry: object) -> JournalEntry:
    """Validate a ledger posting argument."""
    if not isinstance(entry, JournalEntry):
        raise ValidationError("entry", "a JournalEntry", entry)
    return entry


def plan_append(
    agreement_id: str,
    events: Sequence[StoredEvent],
    expected_version: int,
    current_version: int,
    lookup: Callable[[str], StoredEvent | None],
) -> list[StoredEvent]:
    """Decide what an ``append`` writes: the new events, numbered.

    Validates the batch, drops events already stored with the same content
    (a retry), refuses ids reused for different content, then checks the
    expected version against the stream when something new remains.
    """
    check_id("agreement_id", agreement_id)
    check_version(expected_version)
    if isinstance(events, StoredEvent | str | bytes):
        raise ValidationError("events", "a sequence of StoredEvent", events)
    seen: set[str] = set()
    fresh: list[StoredEvent] = []
    for i, e in enumerate(events):
        if not isinstance(e, StoredEvent):
            raise ValidationError(f"events[{i}]", "a StoredEvent", e)
        if e.agreement_id != agreement_id:
            raise ValidationError(f"events[{i}].agreement_id", repr(agreement_id), e.agreement_id)
        if e.event_id in seen:
            raise ValidationError(f"events[{i}].event_id", "unique within the batch", e.event_id)
        seen.add(e.event_id)
        old = lookup(e.event_id)
        if old is not None:
            if not old.same_content(e):
                raise DuplicateIdError("event", e.event_id)
            continue
        fresh.append(e)
    if not fresh:
        return []
    if current_version != expected_version:
        raise ConcurrencyError(agreement_id, expected_version, current_version)
    out: list[StoredEvent] = []
    for n, e in enumerate(fresh, start=expected_version + 1):
        if e.version not in (0, n):
            raise ValidationError(f"events[{e.event_id!r}].version", f"0 or {n}", e.version)
        out.append(attrs.evolve(e, version=n))
    return out

"""Helpers shared by the shipped stores (private)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Final

import attrs

from milestonebill._validate import check_id, check_int, check_seconds, utc_datetime
from milestonebill.clock import Clock, SystemClock
from milestonebill.errors import ConcurrencyError, DuplicateIdError, ValidationError
from milestonebill.ledger import JournalEntry
from milestonebill.stores.base import StoredEvent

#: The clock a store uses unless given one.
SYSTEM_CLOCK: Final = SystemClock()


def now_utc(clock: Clock) -> datetime:
    """Read ``clock`` and insist on an aware datetime, returned in UTC."""
    return utc_datetime(clock.now(), "clock.now()")


def lease_until(clock: Clock, lease_seconds: float) -> tuple[datetime, datetime]:
    """``(now, now + lease)`` after validating ``lease_seconds``."""
    seconds = check_seconds("lease_seconds", lease_seconds, allow_zero=False)
    now = now_utc(clock)
    return now, now + timedelta(seconds=seconds)


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
    check_int("expected_version", expected_version, at_least=0)
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

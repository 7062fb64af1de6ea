"""Helpers shared by the shipped stores (private)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Final, TypeVar

import attrs

from milestonebill._validate import check_id, check_int, check_seconds, utc_datetime
from milestonebill.clock import Clock, SystemClock
from milestonebill.errors import ConcurrencyError, DuplicateIdError, ValidationError
from milestonebill.ledger import JournalEntry
from milestonebill.limits import MAX_KEY_LENGTH
from milestonebill.stores.base import (
    StoredEvent,
    StoredProposalEvent,
    SyncRecord,
    WorkLink,
    check_source,
)

#: A stored event of either kind of stream.
Stored = TypeVar("Stored", StoredEvent, StoredProposalEvent)

#: The field that names the stream of each kind of stored event.
STREAM_FIELD: Final = {StoredEvent: "agreement_id", StoredProposalEvent: "proposal_id"}

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


def check_sync(record: object, now: datetime) -> SyncRecord:
    """Validate a sync intent and stamp it: ``recorded_at`` now, not yet sent."""
    if not isinstance(record, SyncRecord):
        raise ValidationError("record", "a SyncRecord", record)
    return attrs.evolve(record, target_id=None, recorded_at=now, sent_at=None)


def check_sync_key(target: object, source_id: object) -> None:
    """Validate the ``(target, source_id)`` a sync record is found by."""
    check_id("target", target)
    check_id("source_id", source_id, max_length=MAX_KEY_LENGTH)


def trusted(kind: type[Stored], *values: object) -> Stored:
    """A stored event of ``kind`` from a row this store wrote, without running its checks.

    What a store reads back was checked and made canonical when it was
    written, and stored text never changes; checking it again on every load
    (parsing and re-serialising the payload) was a fifth of a billing run.
    """
    event = object.__new__(kind)
    for a, value in zip(attrs.fields(kind), values, strict=True):
        object.__setattr__(event, a.name, value)
    return event


def plan_append(
    stream_id: str,
    events: Sequence[Stored],
    expected_version: int,
    current_version: int,
    lookup: Callable[[str], Stored | None],
    *,
    kind: type[Stored],
) -> list[Stored]:
    """Decide what an append to one stream writes: the new events, numbered.

    ``kind`` is the stored-event class of the stream (:class:`StoredEvent`
    for an agreement, :class:`StoredProposalEvent` for a proposal).
    Validates the batch, drops events already stored with the same content
    (a retry), refuses ids reused for different content, then checks the
    expected version against the stream when something new remains.
    """
    field = STREAM_FIELD[kind]
    check_id(field, stream_id)
    check_int("expected_version", expected_version, at_least=0)
    if isinstance(events, StoredEvent | StoredProposalEvent | str | bytes):
        raise ValidationError("events", f"a sequence of {kind.__name__}", events)
    seen: set[str] = set()
    fresh: list[Stored] = []
    for i, e in enumerate(events):
        if not isinstance(e, kind):
            raise ValidationError(f"events[{i}]", f"a {kind.__name__}", e)
        if e.stream_id != stream_id:
            raise ValidationError(f"events[{i}].{field}", repr(stream_id), e.stream_id)
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
        raise ConcurrencyError(stream_id, expected_version, current_version)
    out: list[Stored] = []
    for n, e in enumerate(fresh, start=expected_version + 1):
        if e.version not in (0, n):
            raise ValidationError(f"events[{e.event_id!r}].version", f"0 or {n}", e.version)
        # ``e`` is checked already; only its version changes, to a valid one.
        out.append(e if e.version == n else trusted(
            kind, *(n if a.name == "version" else getattr(e, a.name)
                    for a in attrs.fields(kind))))
    return out


def check_link(link: object) -> WorkLink:
    """Validate a work-link argument."""
    if not isinstance(link, WorkLink):
        raise ValidationError("link", "a WorkLink", link)
    return link


def check_link_key(source: object, external_id: object) -> tuple[str, str]:
    """``(source, external_id)`` once both are valid."""
    return check_source(source), check_id("external_id", external_id)

"""Keeper: tasks completed and timers stopped, relayed as a documented JSON shape.

Keeper (https://keeper.app) publishes no webhook of its own that we could
verify against; firms connect it through Zapier (or Make, or a script).
The relay POSTs one flat JSON object per event -- flat, so a Zapier
"Webhooks by Zapier" step can send it field by field -- and signs it with
a secret the firm shares with the receiver, the way
:mod:`milestonebill.integrations.practice` documents: the
``Milestonebill-Signature`` header is ``t=<unix seconds>,v1=<hex>``, the
HMAC-SHA256 of ``b"<t>." + body``, compared in constant time; a delivery
signed further than the tolerance from the receiver's clock is refused.

A task completed (``event`` ``task.completed``)::

    {"delivery_id": "zap-81723", "event": "task.completed", "task_id": "T-88",
     "task_name": "Reconcile March", "project_id": "close-2026-03",
     "client_id": "C-42", "completed_at": "2026-03-31T16:20:00Z",
     "completed_by": "Ada Byron"}

A timer stopped (``event`` ``timer.stopped``; Keeper's timers belong to a
client and a workstream, may be billable, and carry notes)::

    {"delivery_id": "zap-81724", "event": "timer.stopped", "timer_id": "TM-9",
     "client_id": "C-42", "project_id": "close-2026-03", "workstream": "Monthly close",
     "user": "Ada Byron", "date": "2026-03-31", "minutes": 95, "billable": true,
     "notes": "bank reconciliations"}

``delivery_id``, ``event`` and the ids are required; ``project_id`` (the
close or project the firm links), ``task_name``, ``workstream``,
``billable`` (default true) and ``notes`` are optional; other fields are
ignored.  A task is looked up under the source ``keeper`` by ``task_id``,
then ``project_id``, then ``client_id``; a timer by ``timer_id``'s
``project_id``, then ``client_id``.

>>> from datetime import UTC, datetime
>>> body = (b'{"delivery_id": "zap-81724", "event": "timer.stopped", "timer_id": "TM-9",'
...         b' "client_id": "C-42", "user": "Ada Byron", "date": "2026-03-31", "minutes": 95}')
>>> at = datetime(2026, 3, 31, 16, 21, tzinfo=UTC)
>>> t = parse_delivery(body, sign_delivery(body, secret="keeper-relay", at=at),
...                    secret="keeper-relay", now=at)
>>> t.entry_id, t.keys, t.hours
('TM-9', ('C-42',), Decimal('1.583333'))
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from milestonebill.engine import Biller
from milestonebill.errors import ValidationError, WebhookPayloadError
from milestonebill.integrations.practice._payload import Fields
from milestonebill.integrations.practice._signing import (
    check_payload,
    check_secret,
    check_tolerance,
    signed_at,
    timestamped_signature,
    within,
)
from milestonebill.integrations.practice.activity import (
    Activity,
    Receipt,
    TimeLogged,
    WorkCompleted,
    hours_from_minutes,
    record_activity,
)

__all__ = [
    "DEFAULT_TOLERANCE",
    "EVENTS",
    "SIGNATURE_HEADER",
    "SOURCE",
    "parse_delivery",
    "receive_delivery",
    "sign_delivery",
]

#: The source Keeper's tasks, projects and clients are linked under.
SOURCE: Final = "keeper"
#: The header the relay's signature comes in.
SIGNATURE_HEADER: Final = "Milestonebill-Signature"
#: How far a delivery's signed time may be from the receiver's clock.
DEFAULT_TOLERANCE: Final = timedelta(minutes=5)
#: The events a relay may send.
EVENTS: Final = ("task.completed", "timer.stopped")


def sign_delivery(payload: bytes, *, secret: str, at: datetime) -> str:
    """The :data:`SIGNATURE_HEADER` value a relay sends with ``payload`` at ``at``."""
    return timestamped_signature(payload, secret=secret, at=at)


def _keys(f: Fields, *names: str) -> tuple[str, ...]:
    return tuple(k for k in (f.id(n, required=n == names[-1]) for n in names) if k is not None)


def _task(f: Fields, delivery: str) -> WorkCompleted:
    keys = _keys(f, "task_id", "project_id", "client_id")
    return WorkCompleted(SOURCE, delivery, keys, f.moment("completed_at"),
                         f.req_id("completed_by"),
                         f.text("task_name")[:200] or f"Keeper task {keys[0]}")


def _timer(f: Fields) -> TimeLogged:
    entry = f.req_id("timer_id")
    keys = _keys(f, "project_id", "client_id")
    minutes = f.whole("minutes", at_most=60 * 24 * 366)
    notes = " -- ".join(t for t in (f.text("workstream"), f.text("notes")) if t)
    return TimeLogged(SOURCE, entry, keys, f.day("date"), f.text("user") or "Keeper",
                      hours_from_minutes(minutes), None, f.flag("billable", True),
                      notes[:500])


def parse_delivery(payload: bytes, signature: str, *, secret: str, now: datetime,
                   tolerance: timedelta = DEFAULT_TOLERANCE) -> Activity:
    """The verified delivery as the activity it reports.

    The signature first (:class:`~milestonebill.errors.WebhookSignatureError`
    if it does not match or is outside ``tolerance``), then the body
    (:class:`~milestonebill.errors.WebhookPayloadError` naming the field).
    """
    body = check_payload(payload)
    moment = signed_at(body, signature, secret=check_secret(secret),
                       header_name=SIGNATURE_HEADER, what="Keeper delivery")
    within(moment, now, check_tolerance(tolerance))
    f = Fields(body)
    delivery = f.req_id("delivery_id")
    event = f.text("event")
    try:
        if event == "task.completed":
            return _task(f, delivery)
        if event == "timer.stopped":
            return _timer(f)
    except WebhookPayloadError:
        raise
    except ValidationError as exc:
        raise WebhookPayloadError(exc.field, exc.expected, exc.value) from None
    raise WebhookPayloadError("event", " or ".join(repr(e) for e in EVENTS), event or None)


def receive_delivery(biller: Biller, payload: bytes, signature: str, *, secret: str,
                     now: datetime, tolerance: timedelta = DEFAULT_TOLERANCE,
                     bill: bool = True) -> Receipt:
    """Verify a relayed delivery and record what it means (see
    :func:`~milestonebill.integrations.practice.activity.record_activity`)."""
    activity = parse_delivery(payload, signature, secret=secret, now=now, tolerance=tolerance)
    return record_activity(biller, [activity], bill=bill)

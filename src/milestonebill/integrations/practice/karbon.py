"""Karbon: work items completed and timesheet hours, from its webhooks and its API shapes.

Karbon (https://developers.karbonhq.com) notifies a subscriber's URL when a
work item changes, with a light body naming what changed -- not what it
is now::

    {"ResourcePermaKey": "4ngPvWJ9Kd8r", "ResourceType": "Work",
     "ActionType": "Updated", "TimeStamp": "2026-03-02T08:55:00Z"}

Notifications are coalesced over 60 seconds, and the subscriber fetches the
record (``GET /v3/WorkItems/{WorkItemKey}``) to see its state.  A
subscription created with a ``SigningKey`` is signed: the receiver checks
the hex HMAC-SHA256 of the raw body with that key (header
:data:`SIGNATURE_HEADER`, ``sha256=`` prefix accepted, compared in constant
time).  The body's ``TimeStamp`` is signed with it; a notification further
than the tolerance from the receiver's clock is refused as a replay, and
one within it is recognised by its delivery id (derived from the whole
body) when it comes again.

* :func:`parse_notification` -- the verified notification;
* :func:`work_item_completion` -- a fetched work item
  (``WorkItemKey``, ``Title``, ``PrimaryStatus``, ``ClientKey``...) as a
  :class:`~milestonebill.integrations.practice.activity.WorkCompleted` when
  its ``PrimaryStatus`` is ``Completed``, else ``None``;
* :func:`timesheet_entries` -- a timesheet with its entries
  (``GET /v3/Timesheets/{TimesheetKey}?$expand=TimeEntries``: ``TimesheetKey``,
  ``StartDate``, ``EndDate``, ``UserKey``, ``Status``, ``TimeEntries`` of
  ``TimeEntryKey``, ``WorkItemKey``, ``ClientKey``, ``Minutes``,
  ``HourlyRate``, ``BilledStatus``...) as
  :class:`~milestonebill.integrations.practice.activity.TimeLogged` entries,
  each dated on the timesheet's ``EndDate`` (the entries carry no day of
  their own);
* :func:`receive_notification` -- all of it for a webhook: verify, skip
  what is not a linked work item (without fetching), fetch the work item
  through the host's function, record the completion.

Work items are linked under the source ``karbon`` by their
``WorkItemKey``; a time entry is also looked up by its ``ClientKey``.

>>> from datetime import UTC, datetime
>>> body = (b'{"ResourcePermaKey": "4ngPvWJ9Kd8r", "ResourceType": "Work",'
...         b' "ActionType": "Updated", "TimeStamp": "2026-03-02T08:55:00Z"}')
>>> signature = sign_notification(body, signing_key="karbon-signing-key-1")
>>> n = parse_notification(body, signature, signing_key="karbon-signing-key-1",
...                        now=datetime(2026, 3, 2, 8, 56, 10, tzinfo=UTC))
>>> n.resource_key, n.is_work_item
('4ngPvWJ9Kd8r', True)
>>> parse_notification(body, "sha256=" + "0" * 64, signing_key="karbon-signing-key-1",
...                    now=datetime(2026, 3, 2, 8, 56, 10, tzinfo=UTC))
Traceback (most recent call last):
...
milestonebill.errors.WebhookSignatureError: no signature matches the Karbon notification
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping
from datetime import datetime, timedelta
from typing import Any, Final

import attrs

from milestonebill.engine import Biller
from milestonebill.errors import ValidationError, WebhookPayloadError
from milestonebill.integrations.practice._payload import Fields
from milestonebill.integrations.practice._signing import (
    body_signature,
    check_payload,
    check_secret,
    check_tolerance,
    verify_body,
    within,
)
from milestonebill.integrations.practice.activity import (
    Receipt,
    TimeLogged,
    WorkCompleted,
    hours_from_minutes,
    record_activity,
)

__all__ = [
    "COMPLETED",
    "DEFAULT_TOLERANCE",
    "SIGNATURE_HEADER",
    "SOURCE",
    "KarbonNotification",
    "parse_notification",
    "receive_notification",
    "sign_notification",
    "timesheet_entries",
    "work_item_completion",
]

#: The source Karbon's work items are linked under.
SOURCE: Final = "karbon"
#: The header the receiver reads the signature from.
SIGNATURE_HEADER: Final = "Signature"
#: How far a notification's ``TimeStamp`` may be from the receiver's clock: Karbon
#: waits 60 seconds before it sends, so the window is wider than for a live call.
DEFAULT_TOLERANCE: Final = timedelta(minutes=30)
#: The ``PrimaryStatus`` of a work item that is done.
COMPLETED: Final = "Completed"
_WORK_TYPES: Final = frozenset({"Work", "WorkItem"})


@attrs.frozen
class KarbonNotification:
    """A verified Karbon webhook notification: which record changed, how, when."""

    resource_key: str
    resource_type: str
    action_type: str
    timestamp: datetime
    delivery_id: str

    @property
    def is_work_item(self) -> bool:
        """True for a work item created or updated (a deletion completes nothing)."""
        return self.resource_type in _WORK_TYPES and self.action_type != "Deleted"


def sign_notification(payload: bytes, *, signing_key: str) -> str:
    """The :data:`SIGNATURE_HEADER` value Karbon sends with ``payload`` (for tests and
    relays): the hex HMAC-SHA256 of the body."""
    return body_signature(payload, secret=signing_key)


def parse_notification(payload: bytes, signature: str, *, signing_key: str, now: datetime,
                       tolerance: timedelta = DEFAULT_TOLERANCE) -> KarbonNotification:
    """The notification, once its signature matches and its ``TimeStamp`` is within
    ``tolerance`` of ``now``
    (:class:`~milestonebill.errors.WebhookSignatureError` otherwise); a body
    that is not Karbon's shape raises
    :class:`~milestonebill.errors.WebhookPayloadError` naming the field."""
    body = check_payload(payload)
    verify_body(body, signature, secret=check_secret(signing_key, "signing_key"),
                header_name=SIGNATURE_HEADER, what="Karbon notification")
    f = Fields(body)
    # Karbon's guide writes "TimeStamp"; accept the other casing too.
    stamp = "TimeStamp" if "TimeStamp" in f.data else "Timestamp"
    moment = f.moment(stamp)
    within(moment, now, check_tolerance(tolerance))
    digest = hashlib.sha256(body).hexdigest()[:32]
    return KarbonNotification(f.req_id("ResourcePermaKey"), f.req_id("ResourceType"),
                              f.req_id("ActionType"), moment, f"karbon-{digest}")


def work_item_completion(work_item: Mapping[str, Any] | bytes,
                         notification: KarbonNotification) -> WorkCompleted | None:
    """The completion a fetched work item reports, or ``None`` while it is not done.

    Completed at the notification's ``TimeStamp`` (the change it reports),
    by the work item's ``AssigneeEmailAddress`` when it has one; looked up
    by ``WorkItemKey``, then ``ClientKey``.

    Raises :class:`~milestonebill.errors.ValidationError` naming ``notification``
    for anything but a Karbon notification, and
    :class:`~milestonebill.errors.WebhookPayloadError` naming
    ``work_item.WorkItemKey`` when the work item fetched is not the one notified.
    """
    if not isinstance(notification, KarbonNotification):
        raise ValidationError("notification", "a KarbonNotification", notification)
    f = Fields(work_item, "work_item")
    key = f.req_id("WorkItemKey")
    if key != notification.resource_key:
        raise WebhookPayloadError("work_item.WorkItemKey",
                                  f"the notification's {notification.resource_key!r}", key)
    if f.text("PrimaryStatus") != COMPLETED:
        return None
    client = f.id("ClientKey", required=False)
    return WorkCompleted(SOURCE, notification.delivery_id,
                         (key,) if client is None else (key, client), notification.timestamp,
                         f.id("AssigneeEmailAddress", required=False) or "Karbon",
                         f.text("Title")[:200])


def _entry(e: Fields, sheet: str, on: Any, person: str) -> TimeLogged:
    work = e.id("WorkItemKey", required=False)
    client = e.id("ClientKey", required=False)
    keys = tuple(k for k in (work, client) if k is not None)
    if not keys:
        raise WebhookPayloadError(e.name("WorkItemKey"), "present (or ClientKey)", None)
    entry, minutes = e.req_id("TimeEntryKey"), e.whole("Minutes", at_most=60 * 24 * 366)
    rate, task = e.number("HourlyRate", required=False), e.text("TaskTypeName")[:200]
    try:
        return TimeLogged(SOURCE, entry, keys, on, person, hours_from_minutes(minutes), rate,
                          description=task or f"timesheet {sheet}")
    except ValidationError as exc:
        field = {"rate": "HourlyRate", "hours": "Minutes"}.get(exc.field, exc.field)
        raise WebhookPayloadError(e.name(field), exc.expected, exc.value) from None


def timesheet_entries(timesheet: Mapping[str, Any] | bytes, *,
                      statuses: Collection[str] | None = None) -> tuple[TimeLogged, ...]:
    """The time entries of a Karbon timesheet, dated on its ``EndDate``, by its ``UserKey``.

    ``statuses``: count only timesheets in these ``Status`` values (say
    ``{"Submitted", "Approved"}``); ``None`` counts every timesheet.  Minutes
    become hours to the millionth of an hour.
    """
    f = Fields(timesheet, "timesheet")
    if statuses is not None and f.text("Status") not in statuses:
        return ()
    sheet, person, on = f.req_id("TimesheetKey"), f.req_id("UserKey"), f.day("EndDate")
    return tuple(_entry(e, sheet, on, person) for e in f.objects("TimeEntries"))


def receive_notification(biller: Biller, payload: bytes, signature: str, *, signing_key: str,
                         now: datetime, fetch_work_item: Callable[[str], Mapping[str, Any]
                                                                  | bytes],
                         tolerance: timedelta = DEFAULT_TOLERANCE, bill: bool = True
                         ) -> Receipt:
    """Verify a webhook notification and record what it means.

    A notification that is not about a work item, or about one not linked
    under :data:`SOURCE`, is answered with a note and nothing fetched;
    otherwise ``fetch_work_item(WorkItemKey)`` returns the work item's JSON
    (the host's Karbon API call) and a completed one completes its
    milestone (see
    :func:`~milestonebill.integrations.practice.activity.record_activity`).
    """
    n = parse_notification(payload, signature, signing_key=signing_key, now=now,
                           tolerance=tolerance)
    if not n.is_work_item:
        return Receipt(note=f"a {n.resource_type} {n.action_type.lower()}: nothing to record")
    if biller.find_work_link(SOURCE, [n.resource_key]) is None:
        return Receipt(note=f"work item {n.resource_key!r} is not linked")
    done = work_item_completion(fetch_work_item(n.resource_key), n)
    if done is None:
        return Receipt(note=f"work item {n.resource_key!r} is not completed")
    return record_activity(biller, [done], bill=bill)

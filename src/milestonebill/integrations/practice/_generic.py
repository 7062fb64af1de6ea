"""The generic "work item completed" webhook: a signed delivery completes a milestone.

A firm tracks its work in a practice-management tool (tasks, jobs, tickets)
and agrees milestones with its clients.  When the work item that delivers a
milestone is closed, the tool -- or a small relay in front of it -- POSTs a
``work_item_completed`` document (:class:`~milestonebill.requests.WorkItemCompleted`)
to the firm's billing service, which completes the milestone and bills it.

The delivery is signed with a secret the firm shares with the sender:
the ``Milestonebill-Signature`` header is ``t=<unix seconds>,v1=<hex>``,
the hex digest of HMAC-SHA256 over ``b"<t>." + body`` (the raw body, byte
for byte).  The timestamp is signed with the body, so an old delivery
replayed outside the tolerance is refused too.  :func:`sign_work_item` is
what a sender computes.

>>> from datetime import UTC, datetime
>>> body = (b'{"delivery_id": "dlv-1", "work_item_id": "TASK-7", "completed_by": "Ada",'
...         b' "completed_at": "2026-03-10T15:00:00+00:00"}')
>>> at = datetime(2026, 3, 10, 15, 0, 5, tzinfo=UTC)
>>> header = sign_work_item(body, secret="pm-secret", at=at)
>>> parse_work_item(body, header, secret="pm-secret", now=at).work_item_id
'TASK-7'
>>> parse_work_item(body + b" ", header, secret="pm-secret", now=at)
Traceback (most recent call last):
...
milestonebill.errors.WebhookSignatureError: no signature matches the work item delivery

:func:`record_work_item` completes the milestone the work item is linked
to -- by the delivery itself (``agreement_id`` and ``milestone_id``), by
the :class:`WorkItemLinks` the receiver keeps in a file, or by the store's
links under the source ``generic`` -- under an event id derived
from the delivery id, and bills what that made due.  A duplicate delivery
changes nothing (:attr:`WorkItemOutcome.DUPLICATE`); a milestone completed
some other way is left as it is (:attr:`WorkItemOutcome.ALREADY_COMPLETED`),
so the sender is answered with success and does not retry.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

import attrs

from milestonebill._validate import check_id
from milestonebill.engine import Biller, RunSummary
from milestonebill.errors import NotFoundError, ValidationError
from milestonebill.formats import read
from milestonebill.ids import AgreementId, MilestoneId
from milestonebill.integrations.practice._signing import (
    check_payload,
    check_secret,
    check_tolerance,
    signed_at,
    timestamped_signature,
    within,
)
from milestonebill.requests import WorkItemCompleted

__all__ = [
    "DEFAULT_TOLERANCE",
    "GENERIC_SOURCE",
    "SIGNATURE_HEADER",
    "WorkItemLink",
    "WorkItemLinks",
    "WorkItemOutcome",
    "WorkItemResult",
    "completion_event_id",
    "parse_work_item",
    "record_work_item",
    "sign_work_item",
]

#: The HTTP header carrying the signature.
SIGNATURE_HEADER: Final = "Milestonebill-Signature"
#: How far a delivery's signed time may be from the receiver's clock.
DEFAULT_TOLERANCE: Final = timedelta(minutes=5)
#: The source the generic webhook's work items are linked under in the store.
GENERIC_SOURCE: Final = "generic"


def sign_work_item(payload: bytes, *, secret: str, at: datetime) -> str:
    """The ``Milestonebill-Signature`` header value for ``payload`` sent at ``at``."""
    return timestamped_signature(payload, secret=secret, at=at)


def parse_work_item(payload: bytes, signature_header: str, *, secret: str, now: datetime,
                    tolerance: timedelta = DEFAULT_TOLERANCE) -> WorkItemCompleted:
    """The verified delivery: the signature first (a
    :class:`~milestonebill.errors.WebhookSignatureError` if it does not match
    or its time is further than ``tolerance`` from ``now``), then the body as
    the ``work_item_completed`` format (errors name the JSON path)."""
    body = check_payload(payload)
    moment = signed_at(body, signature_header, secret=check_secret(secret),
                       header_name=SIGNATURE_HEADER, what="work item delivery")
    within(moment, now, check_tolerance(tolerance))
    return read("work_item_completed", body)


@attrs.frozen
class WorkItemLink:
    """The milestone a work item delivers."""

    agreement_id: AgreementId
    milestone_id: MilestoneId


@attrs.frozen
class WorkItemLinks:
    """The receiver's own links from work-item ids to milestones.

    Read from JSON with :meth:`from_json`: ``{"TASK-7": {"agreement_id":
    "agr-1", "milestone_id": "design"}}``.
    """

    links: Mapping[str, WorkItemLink] = attrs.field(factory=dict)

    @classmethod
    def from_json(cls, data: object) -> WorkItemLinks:
        """Links from their JSON form (every problem named by its path).

        Raises :class:`~milestonebill.errors.ValidationError` naming ``links``
        for a value that is not an object, or ``links.<id>`` for an entry
        without ``agreement_id`` and ``milestone_id``.
        """
        if not isinstance(data, dict):
            raise ValidationError("links", "an object of work-item id to link", data)
        links: dict[str, WorkItemLink] = {}
        for key, value in data.items():
            if not isinstance(value, dict) or set(value) != {"agreement_id", "milestone_id"}:
                raise ValidationError(f"links.{key}", "an object with agreement_id and "
                                      "milestone_id", value)
            links[check_id("work_item_id", key)] = WorkItemLink(
                AgreementId(check_id(f"links.{key}.agreement_id", value["agreement_id"])),
                MilestoneId(check_id(f"links.{key}.milestone_id", value["milestone_id"])))
        return cls(links)

    def link_for(self, item: WorkItemCompleted) -> WorkItemLink:
        """The delivery's own link, else the receiver's
        (:class:`~milestonebill.errors.NotFoundError` if none)."""
        if item.agreement_id is not None and item.milestone_id is not None:
            return WorkItemLink(item.agreement_id, item.milestone_id)
        found = self.links.get(item.work_item_id)
        if found is None:
            raise NotFoundError(f"work item {item.work_item_id!r} is linked to no milestone "
                                "(send agreement_id and milestone_id, or add a link)")
        return found


class WorkItemOutcome(enum.Enum):
    """What a delivery came to."""

    RECORDED = "recorded"
    DUPLICATE = "duplicate"
    ALREADY_COMPLETED = "already_completed"


@attrs.frozen
class WorkItemResult:
    """What :func:`record_work_item` did, and the run that billed it (if any)."""

    outcome: WorkItemOutcome
    delivery_id: str
    work_item_id: str
    agreement_id: AgreementId
    milestone_id: MilestoneId
    billed: RunSummary | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON form (the run summary in its own)."""
        return {"outcome": self.outcome.value, "delivery_id": self.delivery_id,
                "work_item_id": self.work_item_id, "agreement_id": self.agreement_id,
                "milestone_id": self.milestone_id,
                "billed": None if self.billed is None else self.billed.to_json()}


def completion_event_id(delivery_id: str) -> str:
    """The id of the completion recorded for a delivery: a redelivery finds it."""
    return f"pm-delivery:{check_id('delivery_id', delivery_id)}"


def _link(biller: Biller, item: WorkItemCompleted, links: WorkItemLinks) -> WorkItemLink:
    """The delivery's own link, else the receiver's file, else the store's."""
    try:
        return links.link_for(item)
    except NotFoundError:
        stored = biller.find_work_link(GENERIC_SOURCE, [item.work_item_id])
        if stored is None or stored.milestone_id is None:
            raise
        return WorkItemLink(stored.agreement_id, stored.milestone_id)


def record_work_item(biller: Biller, item: WorkItemCompleted,
                     links: WorkItemLinks | None = None) -> WorkItemResult:
    """Complete the milestone ``item`` delivers, once, and bill what that made due.

    The milestone is the one the delivery names, else the one ``links``
    (the receiver's file) gives, else the one the store links the work item
    to under the source :data:`GENERIC_SOURCE`
    (:meth:`~milestonebill.engine.Biller.link_work`).

    Raises :class:`~milestonebill.errors.ValidationError` naming ``item`` for
    anything but a :class:`~milestonebill.requests.WorkItemCompleted`.
    """
    if not isinstance(item, WorkItemCompleted):
        raise ValidationError("item", "a WorkItemCompleted", item)
    link = _link(biller, item, links or WorkItemLinks())
    event_id = completion_event_id(item.delivery_id)
    a = biller.load(link.agreement_id)

    def result(outcome: WorkItemOutcome, billed: RunSummary | None = None) -> WorkItemResult:
        return WorkItemResult(outcome, item.delivery_id, item.work_item_id, link.agreement_id,
                              link.milestone_id, billed)

    if any(e.event_id == event_id for e in a.events):
        return result(WorkItemOutcome.DUPLICATE, biller.bill(a.id))
    if link.milestone_id in a.completions:
        return result(WorkItemOutcome.ALREADY_COMPLETED)
    biller.complete_milestone(a.id, link.milestone_id, by=item.completed_by,
                              completed_on=item.completed_at.date(),
                              evidence=item.evidence or f"work item {item.work_item_id}",
                              event_id=event_id)
    return result(WorkItemOutcome.RECORDED, biller.bill(a.id))

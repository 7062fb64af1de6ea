"""A proposal as the fold of its stream: :class:`ProposalRecord` and :func:`apply_event`.

One handler per event type checks the event against the record and returns
the fields it changes; nothing is applied when an event is refused.  The
queries -- :func:`is_expired`, :func:`status_on`, :func:`signed_agreement`
-- are pure functions of a record (and a day).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any, Final

import attrs

from milestonebill._validate import check_date, check_id
from milestonebill.agreement import Agreement, Collection, Proposal, sign
from milestonebill.errors import (
    DuplicateIdError,
    EventOrderError,
    InvalidTransitionError,
    ValidationError,
)
from milestonebill.ids import AgreementId, ProposalId
from milestonebill.proposals.events import (
    CustomerLinked,
    PaymentMethodSaved,
    ProposalAccepted,
    ProposalDeclined,
    ProposalDrafted,
    ProposalEvent,
    ProposalExpired,
    ProposalSent,
    ProposalViewed,
    ProposalWithdrawn,
)

__all__ = [
    "ProposalRecord",
    "ProposalStatus",
    "apply_event",
    "check_event",
    "is_expired",
    "requires_payment_method",
    "signed_agreement",
    "status_on",
]


class ProposalStatus(enum.Enum):
    """Where a proposal is in its life."""

    DRAFT = "draft"
    SENT = "sent"
    VIEWED = "viewed"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"

    @property
    def is_open(self) -> bool:
        """True while the proposal may still be accepted (DRAFT, SENT or VIEWED).

        >>> ProposalStatus.VIEWED.is_open, ProposalStatus.DECLINED.is_open
        (True, False)
        """
        return self in _OPEN


_OPEN: Final = frozenset({ProposalStatus.DRAFT, ProposalStatus.SENT, ProposalStatus.VIEWED})


@attrs.frozen(eq=False)
class ProposalRecord:
    """A proposal and where it is: the fold of its stream (kept in :attr:`events`).

    Build one with :func:`draft` or :meth:`from_events`, then
    :func:`apply_event`.  ``decided_at`` is when it was accepted, declined,
    expired or withdrawn; ``reason`` why it was declined or withdrawn.
    Two records are equal when their streams are.
    """

    proposal: Proposal
    status: ProposalStatus
    events: tuple[ProposalEvent, ...]
    sent_at: datetime | None = None
    viewed_at: datetime | None = None
    decided_at: datetime | None = None
    reason: str = ""
    acceptance: ProposalAccepted | None = None
    customer: CustomerLinked | None = None
    saved_method: PaymentMethodSaved | None = None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ProposalRecord) and self.events == other.events

    def __hash__(self) -> int:
        return hash(self.events)

    @property
    def id(self) -> ProposalId:
        """The proposal's id (its stream's)."""
        return self.proposal.id

    @property
    def version(self) -> int:
        """The version of the last applied event."""
        return self.events[-1].version

    @property
    def drafted_at(self) -> datetime:
        """When the proposal was drafted."""
        return self.events[0].effective_at

    @property
    def agreement_id(self) -> AgreementId | None:
        """The agreement signed from the proposal, once accepted."""
        return None if self.acceptance is None else self.acceptance.agreement_id

    @classmethod
    def from_events(cls, events: Iterable[ProposalEvent]) -> ProposalRecord:
        """Fold a stream; the first event must be :class:`ProposalDrafted` at version 1.

        Raises :class:`~milestonebill.errors.InvalidTransitionError` when the
        first event is not ``ProposalDrafted``, and
        :class:`~milestonebill.errors.EventOrderError` when it is not version 1.
        """
        it = iter(events)
        first = next(it, None)
        if not isinstance(first, ProposalDrafted):
            raise InvalidTransitionError("a proposal's first event must be ProposalDrafted "
                                         f"(got {type(first).__name__})")
        if first.version != 1:
            raise EventOrderError(first.proposal.id, 1, first.version,
                                  "ProposalDrafted must be version 1", kind="proposal")
        record = cls(first.proposal, ProposalStatus.DRAFT, (first,))
        for e in it:
            record = apply_event(record, e)
        return record


# ---------------------------------------------------------------- one handler per event

_Fields = dict[str, Any]


def _require(r: ProposalRecord, e: object, allowed: Iterable[ProposalStatus]) -> None:
    if r.status not in allowed:
        raise InvalidTransitionError(
            f"{type(e).__name__} is not allowed while proposal {r.id!r} is {r.status.value}")


def _decided(e: ProposalDeclined | ProposalExpired | ProposalWithdrawn | ProposalAccepted,
             status: ProposalStatus, reason: str = "") -> _Fields:
    return {"status": status, "decided_at": e.effective_at, "reason": reason}


def _signed(proposal: Proposal, e: ProposalAccepted) -> Agreement:
    """The agreement ``e`` signs; raises what :func:`~milestonebill.agreement.sign` refuses."""
    return sign(proposal, option=e.option_id, signer=e.signer, signed_at=e.effective_at,
                payment_method=e.payment_method, agreement_id=e.agreement_id,
                addons=e.addon_ids)


def _on_drafted(r: ProposalRecord, e: ProposalDrafted) -> _Fields:
    raise InvalidTransitionError(f"proposal {r.id!r} is already drafted")


def _on_sent(r: ProposalRecord, e: ProposalSent) -> _Fields:
    _require(r, e, (ProposalStatus.DRAFT,))
    return {"status": ProposalStatus.SENT, "sent_at": e.effective_at}


def _on_viewed(r: ProposalRecord, e: ProposalViewed) -> _Fields:
    _require(r, e, (ProposalStatus.SENT, ProposalStatus.VIEWED))
    return {"status": ProposalStatus.VIEWED, "viewed_at": r.viewed_at or e.effective_at}


def _on_accepted(r: ProposalRecord, e: ProposalAccepted) -> _Fields:
    _require(r, e, _OPEN)
    _signed(r.proposal, e)
    pm = e.payment_method
    if pm is not None and r.customer is not None and pm.customer_id != r.customer.customer_id:
        raise ValidationError("payment_method.customer_id",
                              f"the proposal's customer {r.customer.customer_id!r}",
                              pm.customer_id)
    return {**_decided(e, ProposalStatus.ACCEPTED), "acceptance": e}


def _on_declined(r: ProposalRecord, e: ProposalDeclined) -> _Fields:
    _require(r, e, _OPEN)
    return _decided(e, ProposalStatus.DECLINED, e.reason)


def _on_expired(r: ProposalRecord, e: ProposalExpired) -> _Fields:
    _require(r, e, _OPEN)
    if not is_expired(r, e.effective_at.date()):
        raise InvalidTransitionError(
            f"proposal {r.id!r} is valid until {r.proposal.valid_until}: it has not expired "
            f"on {e.effective_at.date()}")
    return _decided(e, ProposalStatus.EXPIRED)


def _on_withdrawn(r: ProposalRecord, e: ProposalWithdrawn) -> _Fields:
    _require(r, e, _OPEN)
    return _decided(e, ProposalStatus.WITHDRAWN, e.reason)


def _on_customer_linked(r: ProposalRecord, e: CustomerLinked) -> _Fields:
    _require(r, e, _OPEN)
    if r.customer is not None:
        raise InvalidTransitionError(
            f"proposal {r.id!r} already has the customer {r.customer.customer_id!r}")
    check_id("customer_id", e.customer_id)
    check_id("customer_reference", e.customer_reference)
    return {"customer": e}


def _on_payment_method_saved(r: ProposalRecord, e: PaymentMethodSaved) -> _Fields:
    _require(r, e, _OPEN)
    owner = None if r.customer is None else r.customer.customer_id
    if e.payment_method.customer_id != owner:
        raise ValidationError("payment_method.customer_id",
                              f"the proposal's linked customer ({owner!r})",
                              e.payment_method.customer_id)
    check_id("setup_key", e.setup_key)
    return {"saved_method": e}


_HANDLERS: Final[dict[type, Callable[[ProposalRecord, Any], _Fields]]] = {
    ProposalDrafted: _on_drafted,
    ProposalSent: _on_sent,
    ProposalViewed: _on_viewed,
    ProposalAccepted: _on_accepted,
    ProposalDeclined: _on_declined,
    ProposalExpired: _on_expired,
    ProposalWithdrawn: _on_withdrawn,
    CustomerLinked: _on_customer_linked,
    PaymentMethodSaved: _on_payment_method_saved,
}


def _changes(r: ProposalRecord, e: ProposalEvent) -> _Fields:
    handler = _HANDLERS.get(type(e))
    if handler is None:
        raise ValidationError("event", "a proposal event", e)
    return handler(r, e)


def check_event(record: ProposalRecord, event: ProposalEvent) -> None:
    """Raise what :func:`apply_event` would raise for the content of ``event``.

    Its id, version and time are not looked at: the commands build the next
    event and check it here before handing it out.

    >>> from datetime import UTC
    >>> from milestonebill.proposals import draft
    >>> from milestonebill.testing.scenarios import T0, proposal
    >>> r = draft(proposal([("audit", "900.00")], valid_until=date(2026, 3, 31)), at=T0)
    >>> check_event(r, ProposalExpired("x", 2, datetime(2026, 3, 31, 23, tzinfo=UTC)))
    Traceback (most recent call last):
    ...
    milestonebill.errors.InvalidTransitionError: proposal 'p-1' is valid until 2026-03-31: it has not expired on 2026-03-31
    """
    _changes(record, event)


def apply_event(record: ProposalRecord, event: ProposalEvent) -> ProposalRecord:
    """Apply one event; re-applying an event id already seen is a no-op.

    Raises :class:`~milestonebill.errors.EventOrderError` when the version
    is not the next one or time runs backwards,
    :class:`~milestonebill.errors.DuplicateIdError` for a known id with
    different content, and :class:`~milestonebill.errors.InvalidTransitionError`
    for an event the status does not allow.  Nothing is applied when it raises.

    >>> from datetime import UTC
    >>> from milestonebill.proposals import draft
    >>> from milestonebill.testing.scenarios import T0, proposal
    >>> r = draft(proposal([("audit", "900.00")], valid_until=date(2026, 3, 31)), at=T0)
    >>> apply_event(r, ProposalViewed("v", 2, datetime(2026, 3, 3, tzinfo=UTC)))
    Traceback (most recent call last):
    ...
    milestonebill.errors.InvalidTransitionError: ProposalViewed is not allowed while proposal 'p-1' is draft
    """
    for seen in record.events:
        if seen.event_id == event.event_id:
            if seen == event:
                return record
            raise DuplicateIdError("event", event.event_id)
    want = record.version + 1
    if event.version != want:
        raise EventOrderError(record.id, want, event.version, kind="proposal")
    last = record.events[-1].effective_at
    if event.effective_at < last:
        raise EventOrderError(record.id, want, event.version,
                              f"effective_at {event.effective_at.isoformat()} is before the "
                              f"previous event's {last.isoformat()}", kind="proposal")
    changes = _changes(record, event)
    return attrs.evolve(record, events=(*record.events, event), **changes)


def is_expired(record: ProposalRecord, on: date) -> bool:
    """True when the proposal has expired by ``on``: recorded as expired, or still
    open after its ``valid_until``.

    >>> from milestonebill.proposals import draft
    >>> from milestonebill.testing.scenarios import T0, proposal
    >>> r = draft(proposal([("audit", "900.00")], valid_until=date(2026, 3, 31)), at=T0)
    >>> is_expired(r, date(2026, 3, 31)), is_expired(r, date(2026, 4, 1))
    (False, True)
    """
    check_date("on", on)
    if record.status is ProposalStatus.EXPIRED:
        return True
    until = record.proposal.valid_until
    return record.status.is_open and until is not None and on > until


def status_on(record: ProposalRecord, on: date) -> ProposalStatus:
    """The status on ``on``: :attr:`ProposalRecord.status`, or EXPIRED for an open
    proposal past its ``valid_until`` whose expiry is not recorded yet.

    >>> from milestonebill.proposals import draft
    >>> from milestonebill.testing.scenarios import T0, proposal
    >>> r = draft(proposal([("audit", "900.00")], valid_until=date(2026, 3, 31)), at=T0)
    >>> status_on(r, date(2026, 4, 1)), status_on(r, date(2026, 3, 31))
    (<ProposalStatus.EXPIRED: 'expired'>, <ProposalStatus.DRAFT: 'draft'>)
    """
    return ProposalStatus.EXPIRED if is_expired(record, on) else record.status


def requires_payment_method(proposal: Proposal) -> bool:
    """True when signing needs a payment method: the proposal charges automatically.

    >>> from milestonebill.testing.scenarios import proposal
    >>> requires_payment_method(proposal(collection=Collection.SEND_INVOICE))
    False
    """
    return proposal.collection is Collection.AUTO_CHARGE


def signed_agreement(record: ProposalRecord) -> Agreement:
    """The agreement signed from an accepted proposal, rebuilt from the record:
    always the same ``Signed`` event (id ``"<agreement>/1/signed"``).

    >>> from milestonebill.proposals import draft
    >>> from milestonebill.testing.scenarios import T0, proposal
    >>> r = draft(proposal([("audit", "900.00")], valid_until=date(2026, 3, 31)), at=T0)
    >>> signed_agreement(r)
    Traceback (most recent call last):
    ...
    milestonebill.errors.InvalidTransitionError: proposal 'p-1' is draft, not accepted
    """
    if record.acceptance is None:
        raise InvalidTransitionError(
            f"proposal {record.id!r} is {record.status.value}, not accepted")
    return _signed(record.proposal, record.acceptance)

"""Commands: draft a proposal, then build its next events.

:func:`draft` returns a new :class:`~milestonebill.proposals.ProposalRecord`.
Every other command returns the next event, already checked against the
record (a refused command raises here) and numbered ``record.version + 1``
with the id ``"<proposal>/<version>/<command>"`` unless one is given;
append it with :func:`~milestonebill.proposals.apply_event` or a store.  A
command that leads where the proposal already is returns ``None``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

import attrs

from milestonebill._validate import utc_datetime
from milestonebill.agreement import Proposal
from milestonebill.errors import InvalidTransitionError, ValidationError
from milestonebill.ids import AgreementId, CustomerId
from milestonebill.payment_methods import PaymentMethodKind, PaymentMethodRef
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
from milestonebill.proposals.record import ProposalRecord, ProposalStatus, check_event

__all__ = [
    "accept",
    "check_accept",
    "decline",
    "draft",
    "expire",
    "link_customer",
    "record_payment_method",
    "send",
    "view",
    "withdraw",
]


def _next(record: ProposalRecord, event_id: str | None, suffix: str) -> tuple[str, int]:
    version = record.version + 1
    return (event_id or f"{record.id}/{version}/{suffix}"), version


_E = TypeVar("_E", bound=ProposalEvent)


def _checked(record: ProposalRecord, event: _E) -> _E:
    """``event`` once the record allows it (a refused command raises here)."""
    check_event(record, event)
    return event


def draft(proposal: Proposal, *, at: datetime, event_id: str | None = None) -> ProposalRecord:
    """A new proposal record whose first event is :class:`ProposalDrafted`.

    Raises :class:`~milestonebill.errors.ValidationError` naming ``proposal`` for
    anything but a :class:`~milestonebill.agreement.Proposal`.

    >>> from datetime import UTC
    >>> from milestonebill.testing.scenarios import proposal
    >>> r = draft(proposal([("audit", "900.00")]), at=datetime(2026, 3, 2, tzinfo=UTC))
    >>> r.status, r.version, r.events[0].event_id
    (<ProposalStatus.DRAFT: 'draft'>, 1, 'p-1/1/drafted')
    """
    if not isinstance(proposal, Proposal):
        raise ValidationError("proposal", "a Proposal", proposal)
    e = ProposalDrafted(event_id or f"{proposal.id}/1/drafted", 1, utc_datetime(at, "at"),
                        proposal)
    return ProposalRecord.from_events((e,))


def send(record: ProposalRecord, *, at: datetime, recipient: str = "",
         event_id: str | None = None) -> ProposalSent | None:
    """A :class:`ProposalSent` event for a draft; ``None`` if it was sent already.

    >>> from datetime import UTC, date
    >>> from milestonebill.testing.scenarios import T0, proposal
    >>> r = draft(proposal([("audit", "900.00")], valid_until=date(2026, 3, 31)), at=T0)
    >>> send(r, at=datetime(2026, 3, 3, tzinfo=UTC), recipient="ada@x.test").version
    2
    """
    if record.status in (ProposalStatus.SENT, ProposalStatus.VIEWED):
        return None
    eid, version = _next(record, event_id, "send")
    return _checked(record, ProposalSent(eid, version, utc_datetime(at, "at"), recipient))


def view(record: ProposalRecord, *, at: datetime, event_id: str | None = None
         ) -> ProposalViewed:
    """A :class:`ProposalViewed` event for a sent proposal (each view is one).

    >>> from datetime import UTC, date
    >>> from milestonebill.proposals import apply_event
    >>> from milestonebill.testing.scenarios import T0, proposal
    >>> r = draft(proposal([("audit", "900.00")], valid_until=date(2026, 3, 31)), at=T0)
    >>> r = apply_event(r, send(r, at=datetime(2026, 3, 3, tzinfo=UTC)))
    >>> view(r, at=datetime(2026, 3, 4, tzinfo=UTC)).event_id
    'p-1/3/view'
    """
    eid, version = _next(record, event_id, "view")
    return _checked(record, ProposalViewed(eid, version, utc_datetime(at, "at")))


def _same_acceptance(a: ProposalAccepted, agreement_id: str, option: str, signer: str,
                     addons: Sequence[str]) -> bool:
    return (a.agreement_id, a.option_id, a.signer, a.addon_ids) == (
        agreement_id, option, signer, tuple(addons))


def accept(
    record: ProposalRecord,
    *,
    agreement_id: AgreementId,
    option: str,
    signer: str,
    at: datetime,
    payment_method: PaymentMethodRef | None,
    addons: Sequence[str] = (),
    event_id: str | None = None,
) -> ProposalAccepted | None:
    """A :class:`ProposalAccepted` event: the client signs ``option`` (and ``addons``).

    Raises what :func:`~milestonebill.agreement.sign` raises (expiry,
    unknown option or add-on, a payment method missing for a proposal that
    charges automatically) and :class:`~milestonebill.errors.InvalidTransitionError`
    when the proposal is not open.  ``None`` when it was already accepted
    the same way (agreement, option, signer, add-ons): a retry; accepted
    otherwise raises.

    An ``addons`` that is not a sequence of ids raises
    :class:`~milestonebill.errors.ValidationError` naming ``addons``.

    >>> from datetime import UTC, date
    >>> from milestonebill.testing.scenarios import T0, proposal
    >>> r = draft(proposal([("audit", "900.00")], valid_until=date(2026, 3, 31)), at=T0)
    >>> accept(r, agreement_id=AgreementId("agr-x"), option="std", signer="Ada",
    ...        at=datetime(2026, 4, 1, tzinfo=UTC), payment_method=None)
    Traceback (most recent call last):
    ...
    milestonebill.errors.ProposalExpiredError: proposal 'p-1' was valid until 2026-03-31 (signed on 2026-04-01)
    """
    done = record.acceptance
    if done is not None:
        if _same_acceptance(done, agreement_id, option, signer, addons):
            return None
        raise InvalidTransitionError(
            f"proposal {record.id!r} was already accepted: option {done.option_id!r} by "
            f"{done.signer!r} as agreement {done.agreement_id!r}")
    if isinstance(addons, str) or not isinstance(addons, Sequence):
        raise ValidationError("addons", "a sequence of add-on ids", addons)
    eid, version = _next(record, event_id, "accept")
    e = ProposalAccepted(eid, version, utc_datetime(at, "at"), agreement_id, option, signer,
                         payment_method, tuple(addons))
    return _checked(record, e)


def check_accept(
    record: ProposalRecord,
    *,
    agreement_id: AgreementId,
    option: str,
    signer: str,
    at: datetime,
    addons: Sequence[str] = (),
    payment_method_kind: PaymentMethodKind | None = None,
) -> None:
    """Raise what :func:`accept` would raise once a payment method of
    ``payment_method_kind`` is saved (``None``: none will be).

    For checking a signing before anything is done at a payment gateway.

    >>> from datetime import UTC, date
    >>> from milestonebill.testing.scenarios import T0, proposal
    >>> r = draft(proposal([("audit", "900.00")], valid_until=date(2026, 3, 31)), at=T0)
    >>> check_accept(r, agreement_id=AgreementId("agr-x"), option="gold",
    ...              signer="Ada", at=datetime(2026, 3, 3, tzinfo=UTC),
    ...              payment_method_kind=PaymentMethodKind.CARD)
    Traceback (most recent call last):
    ...
    milestonebill.errors.NotFoundError: proposal 'p-1' has no package option 'gold' (options: ['std'])
    """
    stand_in = None if payment_method_kind is None else PaymentMethodRef(
        "check", "check", "check", payment_method_kind)
    if record.customer is not None and stand_in is not None:
        stand_in = attrs.evolve(stand_in, customer_id=record.customer.customer_id)
    accept(record, agreement_id=agreement_id, option=option, signer=signer, at=at,
           payment_method=stand_in, addons=addons)


def decline(record: ProposalRecord, *, at: datetime, reason: str = "",
            event_id: str | None = None) -> ProposalDeclined | None:
    """A :class:`ProposalDeclined` event for an open proposal; ``None`` if declined already.

    >>> from datetime import UTC, date
    >>> from milestonebill.testing.scenarios import T0, proposal
    >>> r = draft(proposal([("audit", "900.00")], valid_until=date(2026, 3, 31)), at=T0)
    >>> decline(r, at=datetime(2026, 3, 3, tzinfo=UTC), reason="budget").reason
    'budget'
    """
    if record.status is ProposalStatus.DECLINED:
        return None
    eid, version = _next(record, event_id, "decline")
    return _checked(record, ProposalDeclined(eid, version, utc_datetime(at, "at"), reason))


def withdraw(record: ProposalRecord, *, at: datetime, reason: str = "",
             event_id: str | None = None) -> ProposalWithdrawn | None:
    """A :class:`ProposalWithdrawn` event for an open proposal; ``None`` if withdrawn already.

    >>> from datetime import UTC, date
    >>> from milestonebill.testing.scenarios import T0, proposal
    >>> r = draft(proposal([("audit", "900.00")], valid_until=date(2026, 3, 31)), at=T0)
    >>> withdraw(r, at=datetime(2026, 3, 3, tzinfo=UTC)).event_id
    'p-1/2/withdraw'
    """
    if record.status is ProposalStatus.WITHDRAWN:
        return None
    eid, version = _next(record, event_id, "withdraw")
    return _checked(record, ProposalWithdrawn(eid, version, utc_datetime(at, "at"), reason))


def expire(record: ProposalRecord, *, at: datetime, event_id: str | None = None
           ) -> ProposalExpired | None:
    """A :class:`ProposalExpired` event once ``valid_until`` has passed on ``at``'s
    date; ``None`` if the expiry is recorded already.

    >>> from datetime import UTC, date
    >>> from milestonebill.testing.scenarios import T0, proposal
    >>> r = draft(proposal([("audit", "900.00")], valid_until=date(2026, 3, 31)), at=T0)
    >>> expire(r, at=datetime(2026, 4, 1, tzinfo=UTC)).version
    2
    """
    if record.status is ProposalStatus.EXPIRED:
        return None
    eid, version = _next(record, event_id, "expire")
    return _checked(record, ProposalExpired(eid, version, utc_datetime(at, "at")))


def link_customer(record: ProposalRecord, *, customer_id: CustomerId,
                  customer_reference: str, at: datetime,
                  event_id: str | None = None) -> CustomerLinked | None:
    """A :class:`CustomerLinked` event; ``None`` if this customer is linked already.

    A proposal has one customer: another reference raises
    :class:`~milestonebill.errors.ValidationError` on ``customer_reference``.

    >>> from datetime import UTC, date
    >>> from milestonebill.testing.scenarios import T0, proposal
    >>> r = draft(proposal([("audit", "900.00")], valid_until=date(2026, 3, 31)), at=T0)
    >>> link_customer(r, customer_id=CustomerId("cus_1"), customer_reference="acme",
    ...               at=datetime(2026, 3, 3, tzinfo=UTC)).customer_id
    'cus_1'
    """
    linked = record.customer
    if linked is not None:
        if linked.customer_reference != customer_reference:
            raise ValidationError("customer_reference", f"{linked.customer_reference!r}, the "
                                  f"reference proposal {record.id!r} was onboarded with",
                                  customer_reference)
        if linked.customer_id == customer_id:
            return None
    eid, version = _next(record, event_id, "customer")
    e = CustomerLinked(eid, version, utc_datetime(at, "at"), customer_id, customer_reference)
    return _checked(record, e)


def record_payment_method(record: ProposalRecord, *, payment_method: PaymentMethodRef,
                          setup_key: str, at: datetime,
                          event_id: str | None = None) -> PaymentMethodSaved | None:
    """A :class:`PaymentMethodSaved` event for the linked customer's saved method;
    ``None`` if this very method is recorded already.  A later one replaces it.

    Raises :class:`~milestonebill.errors.ValidationError` naming ``payment_method``
    for anything but a :class:`~milestonebill.payment_methods.PaymentMethodRef` (its
    value is not shown).

    >>> from datetime import UTC, date
    >>> from milestonebill.proposals import apply_event
    >>> from milestonebill.testing.scenarios import T0, proposal
    >>> r = draft(proposal([("audit", "900.00")], valid_until=date(2026, 3, 31)), at=T0)
    >>> r = apply_event(r, link_customer(r, customer_id=CustomerId("cus_1"),
    ...     customer_reference="acme", at=datetime(2026, 3, 3, tzinfo=UTC)))
    >>> card = PaymentMethodRef("memory", "cus_1", "pm_1", PaymentMethodKind.CARD)
    >>> record_payment_method(r, payment_method=card, setup_key="k1",
    ...                       at=datetime(2026, 3, 3, tzinfo=UTC)).version
    3
    """
    saved = record.saved_method
    if saved is not None and (saved.payment_method, saved.setup_key) == (payment_method,
                                                                         setup_key):
        return None
    if not isinstance(payment_method, PaymentMethodRef):
        raise ValidationError("payment_method", "a PaymentMethodRef", "[not shown]")
    eid, version = _next(record, event_id, "payment-method")
    e = PaymentMethodSaved(eid, version, utc_datetime(at, "at"), payment_method, setup_key)
    return _checked(record, e)

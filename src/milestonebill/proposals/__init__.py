"""Proposals as streams of events: drafted, sent, viewed, then accepted or not.

A :class:`~milestonebill.agreement.Proposal` is the offer; this module keeps
its life.  A proposal has a stream of its own -- :class:`ProposalDrafted`
first, then one event per step -- and :class:`ProposalRecord` is the fold of
that stream, one handler per event, as an
:class:`~milestonebill.agreement.Agreement` is the fold of an agreement's::

    DRAFT --send--> SENT --view--> VIEWED (views after the first keep it VIEWED)
    DRAFT, SENT or VIEWED (open) --accept--> ACCEPTED  (an agreement is signed)
                                 --decline--> DECLINED (by the client)
                                 --expire--> EXPIRED   (only after valid_until)
                                 --withdraw--> WITHDRAWN (by the firm)

The four statuses after an open one are final: an event they do not allow
raises :class:`~milestonebill.errors.InvalidTransitionError`.  Accepting
after ``valid_until`` raises :class:`~milestonebill.errors.ProposalExpiredError`
(an ``InvalidTransitionError`` too) whether or not :class:`ProposalExpired`
was recorded: whether a proposal has expired on a day is the pure
:func:`is_expired` of the record and the day; :func:`expire` records it.

:class:`ProposalAccepted` names the agreement signed from the proposal (the
agreement's :class:`~milestonebill.agreement.Signed` event carries the
proposal, so the link goes both ways: ``record.agreement_id`` and
``agreement.proposal_id``), and :func:`signed_agreement` rebuilds that
agreement from the record alone, so a retried signing produces the very
same ``Signed`` event.  Onboarding a client records its progress in the
same stream -- :class:`CustomerLinked` (the gateway customer made for the
proposal) and :class:`PaymentMethodSaved` -- so a retried onboarding
repeats no step that was done.

Commands build the next event, checked against the record and numbered
``record.version + 1`` (ids ``"<proposal>/<version>/<command>"`` unless
given).  A command that leads where the proposal already is (sending a sent
proposal, accepting an accepted one the same way) returns ``None``: a
retried request changes nothing.

The package's modules, each importing only those above it:

* :mod:`~milestonebill.proposals.events` -- the events and their JSON;
* :mod:`~milestonebill.proposals.record` -- :class:`ProposalRecord`, :func:`apply_event`
  and the queries;
* :mod:`~milestonebill.proposals.commands` -- :func:`draft` and the event builders;
* :mod:`~milestonebill.proposals.summary` -- :class:`ProposalSummary`, a proposal at a
  glance with a JSON form.

The Biller stores proposals in their own streams and onboards a client in
one call (:meth:`milestonebill.engine.Biller.onboard`); ``docs/proposals.md``
walks through it.

>>> from datetime import UTC, date, datetime
>>> from milestonebill.agreement import (AgreementId, Collection, PackageOption, Proposal,
...     ProposalId)
>>> from milestonebill.money import Currency, Money
>>> from milestonebill.schedule import BillingSchedule, Milestone, MilestoneId
>>> usd = Currency.of("USD")
>>> plan = BillingSchedule(currency=usd, milestones=[
...     Milestone(MilestoneId("audit"), "Audit", amount=Money("3000.00", "USD"))])
>>> offer = Proposal(ProposalId("prop-7"), "Acme Ltd", usd, (PackageOption("std", "Standard", plan),),
...                  valid_until=date(2026, 3, 31), collection=Collection.SEND_INVOICE)
>>> record = draft(offer, at=datetime(2026, 3, 2, 9, tzinfo=UTC))
>>> record = apply_event(record, send(record, at=datetime(2026, 3, 2, 10, tzinfo=UTC)))
>>> send(record, at=datetime(2026, 3, 2, 11, tzinfo=UTC)) is None  # already sent
True
>>> record = apply_event(record, accept(record, agreement_id=AgreementId("agr-7"),
...     option="std", signer="Ada", at=datetime(2026, 3, 5, tzinfo=UTC), payment_method=None))
>>> record.status, record.agreement_id, signed_agreement(record).proposal_id
(<ProposalStatus.ACCEPTED: 'accepted'>, 'agr-7', 'prop-7')
>>> withdraw(record, at=datetime(2026, 3, 6, tzinfo=UTC))
Traceback (most recent call last):
...
milestonebill.errors.InvalidTransitionError: ProposalWithdrawn is not allowed while proposal 'prop-7' is accepted
"""

from milestonebill.proposals.commands import (
    accept,
    check_accept,
    decline,
    draft,
    expire,
    link_customer,
    record_payment_method,
    send,
    view,
    withdraw,
)
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
    proposal_event_from_json,
    proposal_event_to_json,
)
from milestonebill.proposals.record import (
    ProposalRecord,
    ProposalStatus,
    apply_event,
    check_event,
    is_expired,
    requires_payment_method,
    signed_agreement,
    status_on,
)
from milestonebill.proposals.summary import ProposalSummary

__all__ = [
    "CustomerLinked",
    "PaymentMethodSaved",
    "ProposalAccepted",
    "ProposalDeclined",
    "ProposalDrafted",
    "ProposalEvent",
    "ProposalExpired",
    "ProposalRecord",
    "ProposalSent",
    "ProposalStatus",
    "ProposalSummary",
    "ProposalViewed",
    "ProposalWithdrawn",
    "accept",
    "apply_event",
    "check_accept",
    "check_event",
    "decline",
    "draft",
    "expire",
    "is_expired",
    "link_customer",
    "proposal_event_from_json",
    "proposal_event_to_json",
    "record_payment_method",
    "requires_payment_method",
    "send",
    "signed_agreement",
    "status_on",
    "view",
    "withdraw",
]

"""Commands: sign a proposal, then build the agreement's next events.

:func:`sign` returns the new :class:`~milestonebill.agreement.Agreement`.
Every other command returns the next event for an agreement, already
checked against it (so a refused command raises here, not when the event
is applied) and numbered ``agreement.version + 1``; append it with
:func:`~milestonebill.agreement.apply` or an agreement store.  An
``event_id`` may be given; the default is derived from the agreement id,
the version and the command.

A refused command raises what :func:`~milestonebill.agreement.apply` would:
:class:`~milestonebill.errors.InvalidTransitionError` when the agreement's
state does not allow it (a milestone completed twice, a paused agreement
paused again), :class:`~milestonebill.errors.NotFoundError` for a milestone
or amendment the agreement does not have,
:class:`~milestonebill.errors.AmendmentError` for an amendment that cannot
apply, and :class:`~milestonebill.errors.ValidationError` naming an argument
it refuses (a naive ``at``, an ``obligation_id`` not measured by input).  Times are
timezone-aware datetimes; ``effective_on``, ``completed_on`` and ``as_of``
are dates, each counted as the whole day.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

from milestonebill._validate import check_date, check_id, exact_decimal, utc_datetime
from milestonebill.agreement.amendments import Amendment
from milestonebill.agreement.events import (
    AmendmentApproved,
    AmendmentProposed,
    AmendmentRejected,
    Cancelled,
    Completed,
    EstimateRevised,
    MilestoneCompleted,
    Paused,
    ProgressReported,
    Resumed,
    Signed,
)
from milestonebill.agreement.fold import Agreement, AmendmentRecord, apply, check_event
from milestonebill.agreement.proposal import Collection, Proposal
from milestonebill.errors import AmendmentError, ProposalExpiredError, ValidationError
from milestonebill.ids import AgreementId, AmendmentId, ObligationId
from milestonebill.payment_methods import PaymentMethodRef
from milestonebill.schedule import MilestoneId

__all__ = [
    "approvals_due",
    "approve",
    "cancel",
    "complete",
    "complete_milestone",
    "lapsed_amendments",
    "pause",
    "propose",
    "reject",
    "report_progress",
    "resume",
    "revise_estimate",
    "sign",
]


def _next(a: Agreement, event_id: str | None, suffix: str) -> tuple[str, int]:
    version = a.version + 1
    return (event_id or f"{a.id}/{version}/{suffix}"), version


def sign(
    proposal: Proposal,
    *,
    option: str,
    signer: str,
    signed_at: datetime,
    payment_method: PaymentMethodRef | None,
    agreement_id: AgreementId,
    addons: Sequence[str] = (),
    event_id: str | None = None,
) -> Agreement:
    """Sign ``proposal`` for ``option``; the agreement's first event is :class:`Signed`.

    Raises :class:`~milestonebill.errors.ProposalExpiredError` after ``valid_until``,
    :class:`~milestonebill.errors.NotFoundError` for an unknown option or add-on, and
    :class:`~milestonebill.errors.ValidationError` (field ``payment_method``) when the proposal
    charges automatically and no payment method is given.
    """
    at = utc_datetime(signed_at, "signed_at")
    if proposal.valid_until is not None and at.date() > proposal.valid_until:
        raise ProposalExpiredError(proposal.id, proposal.valid_until.isoformat(),
                                   at.date().isoformat())
    proposal.option(option)
    for addon_id in addons:
        proposal.addon(addon_id)
    if len(set(addons)) != len(addons):
        raise ValidationError("addons", "distinct add-on ids", list(addons))
    if payment_method is None and proposal.collection is Collection.AUTO_CHARGE:
        raise ValidationError("payment_method",
                              "a PaymentMethodRef, since the proposal charges automatically",
                              None)
    if payment_method is not None and not isinstance(payment_method, PaymentMethodRef):
        raise ValidationError("payment_method", "a PaymentMethodRef", "[not shown]")
    if not isinstance(signer, str) or not signer.strip():
        raise ValidationError("signer", "a non-empty name", signer)
    check_id("agreement_id", agreement_id)
    event = Signed(event_id or f"{agreement_id}/1/signed", 1, at, agreement_id, proposal,
                   option, signer, payment_method, tuple(addons))
    return Agreement.from_events((event,))


def complete_milestone(
    agreement: Agreement,
    milestone_id: MilestoneId,
    *,
    by: str,
    at: datetime,
    evidence: str = "",
    completed_on: date | None = None,
    event_id: str | None = None,
) -> MilestoneCompleted:
    """A :class:`MilestoneCompleted` event (checked against the agreement)."""
    eid, version = _next(agreement, event_id, f"complete:{milestone_id}")
    at = utc_datetime(at, "at")
    e = MilestoneCompleted(eid, version, at, milestone_id, completed_on or at.date(), by,
                           evidence)
    check_event(agreement, e)
    return e


def propose(
    agreement: Agreement,
    amendment: Amendment,
    *,
    by: str,
    at: datetime,
    event_id: str | None = None,
) -> AmendmentProposed:
    """An :class:`AmendmentProposed` event; approval need and deadline follow the rules.

    The amendment is checked against the agreement now (an
    :class:`~milestonebill.errors.AmendmentError` if it cannot apply).
    """
    rules = agreement.proposal.approval
    at = utc_datetime(at, "at")
    needs = rules.require_client_approval and amendment.changes_money_or_scope()
    deadline = None
    if needs and rules.auto_approve_after_days is not None:
        deadline = at + timedelta(days=rules.auto_approve_after_days)
    eid, version = _next(agreement, event_id, f"propose:{amendment.id}")
    e = AmendmentProposed(eid, version, at, amendment, by, needs, deadline)
    check_event(agreement, e)
    return e


def approve(
    agreement: Agreement,
    amendment_id: AmendmentId,
    *,
    by: str,
    at: datetime,
    automatic: bool = False,
    event_id: str | None = None,
) -> AmendmentApproved:
    """An :class:`AmendmentApproved` event for a pending amendment."""
    eid, version = _next(agreement, event_id, f"approve:{amendment_id}")
    e = AmendmentApproved(eid, version, utc_datetime(at, "at"), amendment_id, by, automatic)
    check_event(agreement, e)
    return e


def reject(
    agreement: Agreement,
    amendment_id: AmendmentId,
    *,
    by: str,
    at: datetime,
    reason: str = "",
    event_id: str | None = None,
) -> AmendmentRejected:
    """An :class:`AmendmentRejected` event for a pending amendment."""
    eid, version = _next(agreement, event_id, f"reject:{amendment_id}")
    e = AmendmentRejected(eid, version, utc_datetime(at, "at"), amendment_id, by, reason)
    check_event(agreement, e)
    return e


def approvals_due(agreement: Agreement, at: datetime) -> tuple[AmendmentApproved, ...]:
    """Automatic approvals whose notice period has run out by ``at``, as events to append.

    None once the agreement is cancelled or completed: it takes no more
    amendments.  An amendment that no longer applies (one approved before
    it changed what it changes) is left out: see :func:`lapsed_amendments`.
    Versions follow on from the agreement's, in proposal order.  Each is
    stamped when its notice ran out (or at the agreement's last event, if
    that is later), not at ``at``: a run for a day looks to the day's end,
    and an event stamped there would refuse every host event until then.
    """
    at = utc_datetime(at, "at")
    out: list[AmendmentApproved] = []
    a = agreement
    for r in _notice_ran_out(agreement, at):
        if not a.state.amendable:
            break  # an approval just cancelled it: it takes no more amendments
        try:
            e = approve(a, r.amendment.id, by="automatic", at=_stamp(a, r), automatic=True)
        except AmendmentError:
            continue
        a = apply(a, e)
        out.append(e)
    return tuple(out)


def lapsed_amendments(agreement: Agreement, at: datetime) -> tuple[AmendmentRejected, ...]:
    """Amendments whose notice period ran out by ``at`` but which no longer apply,
    as automatic rejections (``rejected_by`` ``"automatic"``, the reason
    saying why) to append right after :func:`approvals_due`'s approvals.

    Two amendments proposed against the same terms -- both switching to
    package B, say -- are each checked when proposed; once the first is
    approved the second cannot apply, and approving it automatically would
    fail on every run.
    """
    at = utc_datetime(at, "at")
    a = agreement
    for approval in approvals_due(agreement, at):
        a = apply(a, approval)
    out: list[AmendmentRejected] = []
    for r in _notice_ran_out(a, at):
        try:
            approve(a, r.amendment.id, by="automatic", at=_stamp(a, r), automatic=True)
        except AmendmentError as exc:
            e = reject(a, r.amendment.id, by="automatic", at=_stamp(a, r),
                       reason=f"no longer applies: {exc}")
            a = apply(a, e)
            out.append(e)
    return tuple(out)


def _notice_ran_out(agreement: Agreement, at: datetime) -> list[AmendmentRecord]:
    if not agreement.state.amendable:
        return []  # a cancelled or completed agreement takes no amendment
    return [r for r in agreement.pending_amendments
            if r.auto_approve_at is not None and r.auto_approve_at <= at]


def _stamp(a: Agreement, r: AmendmentRecord) -> datetime:
    assert r.auto_approve_at is not None
    return max(r.auto_approve_at, a.events[-1].effective_at)


def pause(agreement: Agreement, *, at: datetime, reason: str = "",
          event_id: str | None = None) -> Paused:
    """A :class:`Paused` event."""
    eid, version = _next(agreement, event_id, "pause")
    e = Paused(eid, version, utc_datetime(at, "at"), reason)
    check_event(agreement, e)
    return e


def resume(agreement: Agreement, *, at: datetime, event_id: str | None = None) -> Resumed:
    """A :class:`Resumed` event."""
    eid, version = _next(agreement, event_id, "resume")
    e = Resumed(eid, version, utc_datetime(at, "at"))
    check_event(agreement, e)
    return e


def cancel(agreement: Agreement, *, at: datetime, effective_on: date | None = None,
           credit_unused: bool = True, reason: str = "",
           event_id: str | None = None) -> Cancelled:
    """A :class:`Cancelled` event (effective on ``effective_on``, default ``at``'s date)."""
    eid, version = _next(agreement, event_id, "cancel")
    at = utc_datetime(at, "at")
    e = Cancelled(eid, version, at, effective_on or at.date(), credit_unused, reason)
    check_event(agreement, e)
    return e


def complete(agreement: Agreement, *, at: datetime, effective_on: date | None = None,
             event_id: str | None = None) -> Completed:
    """A :class:`Completed` event closing the engagement."""
    eid, version = _next(agreement, event_id, "complete")
    at = utc_datetime(at, "at")
    e = Completed(eid, version, at, effective_on or at.date())
    check_event(agreement, e)
    return e


def report_progress(agreement: Agreement, obligation_id: str, to_date: Decimal | int | str, *,
                    as_of: date, at: datetime, event_id: str | None = None
                    ) -> ProgressReported:
    """A :class:`ProgressReported` event: ``to_date`` hours, costs or units by ``as_of``.

    ``to_date`` is cumulative (everything incurred or delivered so far).
    """
    eid, version = _next(agreement, event_id, f"progress:{obligation_id}:{as_of.isoformat()}")
    e = ProgressReported(eid, version, utc_datetime(at, "at"), ObligationId(obligation_id),
                         exact_decimal(to_date, "to_date"), check_date("as_of", as_of))
    check_event(agreement, e)
    return e


def revise_estimate(agreement: Agreement, obligation_id: str, total: Decimal | int | str, *,
                    as_of: date, at: datetime, event_id: str | None = None) -> EstimateRevised:
    """An :class:`EstimateRevised` event: from ``as_of`` on, progress is measured
    against ``total``."""
    eid, version = _next(agreement, event_id, f"estimate:{obligation_id}:{as_of.isoformat()}")
    e = EstimateRevised(eid, version, utc_datetime(at, "at"), ObligationId(obligation_id),
                        exact_decimal(total, "total"), check_date("as_of", as_of))
    check_event(agreement, e)
    return e

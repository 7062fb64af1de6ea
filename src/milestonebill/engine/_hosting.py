"""What a host tells the Biller happened: completions, progress, amendments.

Private to :mod:`milestonebill.engine`.  The events are built by the core's
commands (:mod:`milestonebill.agreement.commands`); this module makes each
request safe to retry.  A request names what it is about -- an event id of
the caller's, or the amendment's own id -- and a retry that finds it
already recorded changes nothing.  Each command is built on the agreement
as stored and appended in one unit of work; when another writer appended
first, it is built again on the fresh agreement.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal

from milestonebill._validate import check_date, check_id, utc_datetime
from milestonebill.agreement import (
    Agreement,
    Amendment,
    AmendmentPreview,
    AmendmentStatus,
    Event,
    MilestoneCompleted,
    ProgressReported,
    apply,
    approve,
    complete_milestone,
    preview,
    propose,
    report_progress,
)
from milestonebill.engine._context import Context, stored
from milestonebill.errors import DuplicateIdError, NotFoundError, ValidationError
from milestonebill.ids import AgreementId, AmendmentId, InvoiceId
from milestonebill.schedule import MilestoneId

__all__ = ["HostCommands", "amendment_approval", "amendment_proposal", "completion",
           "progress", "record"]


def record(ctx: Context, a: Agreement, events: Sequence[Event]) -> Agreement:
    """Append the events that are new to ``a`` (those already in it are skipped) and
    store its next due date; ``a`` unchanged when none is new."""
    new = a
    fresh: list[Event] = []
    for e in events:
        after = apply(new, e)
        if after is not new:
            fresh.append(e)
        new = after
    if not fresh:
        return a
    with ctx.store.transaction():
        ctx.store.append(a.id, [stored(a.id, e) for e in fresh], a.version)
        ctx.store.set_next_due(a.id, ctx.next_due(new, None))
    return new


def _when(a: Agreement, at: datetime | None, ctx: Context) -> datetime:
    """``at`` (default now), never before the agreement's last event."""
    moment = ctx.clock.now() if at is None else at
    return max(utc_datetime(moment, "at"), a.events[-1].effective_at)


def _command(ctx: Context, agreement_id: AgreementId,
             build: Callable[[Agreement], Event | None]) -> Agreement:
    """Record the event ``build`` makes for the stored agreement (``None``: nothing to do)."""
    a = ctx.load(AgreementId(check_id("agreement_id", agreement_id)))

    def work(a: Agreement) -> Agreement:
        event = build(a)
        return a if event is None else record(ctx, a, [event])

    return ctx.unit(a, work)


def _seen(a: Agreement, event_id: str | None, kind: type[Event],
          same: Callable[[Event], bool]) -> bool:
    """True when ``event_id`` is already recorded for the same thing (a retry)."""
    if event_id is None:
        return False
    check_id("event_id", event_id)
    for e in a.events:
        if e.event_id == event_id:
            if isinstance(e, kind) and same(e):
                return True
            raise DuplicateIdError("event", event_id)
    return False


def completion(ctx: Context, agreement_id: AgreementId, milestone_id: MilestoneId, *,
               by: str, completed_on: date | None, evidence: str, event_id: str | None,
               at: datetime | None) -> Agreement:
    """Record that a milestone was completed (once per ``event_id``)."""
    check_id("milestone_id", milestone_id)
    check_id("by", by)

    def build(a: Agreement) -> Event | None:
        if _seen(a, event_id, MilestoneCompleted,
                 lambda e: getattr(e, "milestone_id", None) == milestone_id):
            return None
        when = _when(a, at, ctx)
        return complete_milestone(a, milestone_id, by=by, at=when, evidence=evidence,
                                  completed_on=completed_on, event_id=event_id)

    return _command(ctx, agreement_id, build)


def progress(ctx: Context, agreement_id: AgreementId, obligation_id: str,
             to_date: Decimal | int | str, *, as_of: date, event_id: str | None,
             at: datetime | None) -> Agreement:
    """Record progress to date on an obligation measured by input (once per ``event_id``)."""
    check_id("obligation_id", obligation_id)

    def build(a: Agreement) -> Event | None:
        if _seen(a, event_id, ProgressReported,
                 lambda e: getattr(e, "obligation_id", None) == obligation_id):
            return None
        return report_progress(a, obligation_id, to_date, as_of=as_of, at=_when(a, at, ctx),
                               event_id=event_id)

    return _command(ctx, agreement_id, build)


def amendment_proposal(ctx: Context, agreement_id: AgreementId, amendment: Amendment, *,
                       by: str, at: datetime | None) -> Agreement:
    """Propose ``amendment``; the same amendment again changes nothing."""
    if not isinstance(amendment, Amendment):
        raise ValidationError("amendment", "an Amendment", amendment)
    check_id("by", by)

    def build(a: Agreement) -> Event | None:
        for r in a.amendments:
            if r.amendment.id == amendment.id:
                if r.amendment == amendment:
                    return None
                raise DuplicateIdError("amendment", amendment.id)
        return propose(a, amendment, by=by, at=_when(a, at, ctx))

    return _command(ctx, agreement_id, build)


def amendment_approval(ctx: Context, agreement_id: AgreementId, amendment_id: AmendmentId, *,
                       by: str, at: datetime | None) -> Agreement:
    """Approve a pending amendment; an approved one is left as it is."""
    check_id("amendment_id", amendment_id)
    check_id("by", by)

    def build(a: Agreement) -> Event | None:
        found = next((r for r in a.amendments if r.amendment.id == amendment_id), None)
        if found is None:
            raise NotFoundError(f"agreement {a.id!r} has no amendment {amendment_id!r}")
        if found.status is AmendmentStatus.APPROVED:
            return None
        return approve(a, amendment_id, by=by, at=_when(a, at, ctx))

    return _command(ctx, agreement_id, build)


class HostCommands:
    """The :class:`~milestonebill.engine.Biller`'s verbs for what a host tells it happened.

    Each builds its event with the core's command on the agreement as
    stored and records it without billing (:meth:`Biller.bill` or
    :meth:`Biller.run` bills what it made due); each is safe to retry.
    """

    _ctx: Context

    def complete_milestone(self, agreement_id: AgreementId, milestone_id: MilestoneId, *,
                           by: str, completed_on: date | None = None, evidence: str = "",
                           event_id: str | None = None, at: datetime | None = None
                           ) -> Agreement:
        """Record that a milestone was delivered (on ``completed_on``, default the day
        of ``at``, which defaults to now); :meth:`bill` or :meth:`run` bills it.

        With ``event_id`` (the caller's id for the completion) a retried request
        changes nothing; without, completing a completed milestone raises
        :class:`~milestonebill.errors.InvalidTransitionError`.
        """
        return completion(self._ctx, agreement_id, milestone_id, by=by,
                                   completed_on=completed_on, evidence=evidence,
                                   event_id=event_id, at=at)

    def report_progress(self, agreement_id: AgreementId, obligation_id: str,
                        to_date: Decimal | int | str, *, as_of: date,
                        event_id: str | None = None, at: datetime | None = None) -> Agreement:
        """Record hours, costs or units delivered to date (cumulative) by ``as_of`` on an
        obligation measured by input; with ``event_id`` a retry changes nothing."""
        return progress(self._ctx, agreement_id, obligation_id, to_date, as_of=as_of,
                                 event_id=event_id, at=at)

    def propose_amendment(self, agreement_id: AgreementId, amendment: Amendment, *, by: str,
                          at: datetime | None = None) -> Agreement:
        """Propose ``amendment`` (applied at once when the client need not approve it);
        proposing the same amendment again changes nothing, another under its id
        raises :class:`~milestonebill.errors.DuplicateIdError`."""
        return amendment_proposal(self._ctx, agreement_id, amendment, by=by, at=at)

    def approve_amendment(self, agreement_id: AgreementId, amendment_id: AmendmentId, *,
                          by: str, at: datetime | None = None) -> Agreement:
        """Approve a pending amendment (an approved one is left as it is); :meth:`bill`
        or :meth:`run` bills what it made due."""
        return amendment_approval(self._ctx, agreement_id, amendment_id, by=by, at=at)

    def preview_amendment(self, agreement_id: AgreementId, amendment: Amendment, *,
                          as_of: date | None = None, through: date | None = None
                          ) -> AmendmentPreview:
        """What ``amendment`` would charge and credit, to the cent, if approved on
        ``as_of`` (default today); nothing is stored (see
        :func:`~milestonebill.agreement.preview`).

        ``through`` is the contract-value horizon and is excluded (recurring
        pieces that start before it count); amounts in the preview are
        :class:`~milestonebill.money.Money`.
        """
        day = self._ctx.clock.today() if as_of is None else check_date("as_of", as_of)
        return preview(self._ctx.load(agreement_id), amendment, as_of=day, through=through)

    def agreement_of(self, invoice_id: InvoiceId) -> Agreement:
        """The agreement an issued invoice belongs to (:class:`~milestonebill.errors.NotFoundError`
        if none)."""
        return self._ctx.agreement_of(invoice_id)

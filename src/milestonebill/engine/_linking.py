"""Which agreement an external work item delivers, and recording several agreements at once.

Private to :mod:`milestonebill.engine`.  The links live in the store
(:class:`~milestonebill.stores.base.WorkLinks`); the Biller checks, before
storing one, that it points at something the agreement has.  What a
practice-management delivery means for an agreement is decided by
:mod:`milestonebill.integrations.practice`; it hands the Biller one
builder per agreement and :meth:`WorkLinking.record_together` records what
they build in one unit of work -- all of it or none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from milestonebill._validate import check_id
from milestonebill.agreement import Agreement, Event
from milestonebill.engine._context import CONCURRENCY_RETRIES, Context
from milestonebill.engine._hosting import record
from milestonebill.errors import ConcurrencyError, NotFoundError, ValidationError
from milestonebill.ids import AgreementId, EventId, MilestoneId, ObligationId
from milestonebill.limits import MAX_KEY_LENGTH
from milestonebill.stores.base import WorkLink

__all__ = ["Builder", "WorkLinking", "check_target"]

#: Builds the events to record for one agreement, given it as stored and the time to
#: stamp them with (never before its last event).
Builder = Callable[[Agreement, datetime], Sequence[Event]]


def check_target(a: Agreement, link: WorkLink) -> None:
    """Refuse a link to a milestone the agreement does not have, or to an obligation
    that is not measured by hours, costs or units."""
    if link.milestone_id is not None and \
            link.milestone_id not in {t.milestone.id for t in a.milestones}:
        raise NotFoundError(f"agreement {a.id!r} has no milestone {link.milestone_id!r}")
    if link.obligation_id is not None:
        terms = next((o for o in a.obligation_terms if o.id == link.obligation_id), None)
        if terms is None or not terms.progress.is_input:
            raise ValidationError("obligation_id", f"an obligation of agreement {a.id!r} "
                                  "measured by hours, costs or units", link.obligation_id)


class WorkLinking:
    """The :class:`~milestonebill.engine.Biller`'s verbs for work links."""

    _ctx: Context

    def link_work(self, source: str, external_id: str, agreement_id: AgreementId, *,
                  milestone_id: MilestoneId | None = None,
                  obligation_id: ObligationId | None = None) -> WorkLink:
        """Link an external work item (``external_id`` in the tool ``source``) to the
        milestone or the input-measured obligation of an agreement it delivers, or
        to the agreement as a whole (a project).

        The agreement must be stored and have the milestone or obligation
        (:class:`~milestonebill.errors.NotFoundError` /
        :class:`~milestonebill.errors.ValidationError` otherwise, and nothing is
        stored).  The same link again is a no-op; another link for a linked work
        item raises :class:`~milestonebill.errors.DuplicateIdError`.
        """
        link = WorkLink(source, external_id, agreement_id, milestone_id, obligation_id)
        check_target(self._ctx.load(link.agreement_id), link)
        return self._ctx.store.link_work(link)

    def unlink_work(self, source: str, external_id: str) -> WorkLink | None:
        """Remove a work item's link; the link removed (``None`` if there was none).
        What it recorded on the agreement stays."""
        return self._ctx.store.unlink_work(source, external_id)

    def work_links(self, *, source: str | None = None,
                   agreement_id: AgreementId | None = None) -> list[WorkLink]:
        """Every link (of one source, to one agreement), by source then external id."""
        return self._ctx.store.work_links(source=source, agreement_id=agreement_id)

    def find_work_link(self, source: str, external_ids: Sequence[str]) -> WorkLink | None:
        """The link of the first of ``external_ids`` that has one (most specific first:
        the task, then its project, then its client), or ``None``.  Raises
        :class:`~milestonebill.errors.ValidationError` naming ``external_ids`` when it is a single
        string or not a sequence."""
        if isinstance(external_ids, str):
            raise ValidationError("external_ids", "a sequence of external ids", external_ids)
        for external_id in external_ids:
            found = self._ctx.store.work_link(source, external_id)
            if found is not None:
                return found
        return None

    def agreement_of_event(self, event_id: str) -> AgreementId | None:
        """The agreement an event id was recorded on (``None``: none), so a delivery
        counted on one agreement is not counted again on another after a relink."""
        return self._ctx.store.agreement_of_event(EventId(check_id("event_id", event_id,
                                                                   max_length=MAX_KEY_LENGTH)))

    def record_together(self, builders: Mapping[AgreementId, Builder]
                        ) -> dict[AgreementId, Agreement]:
        """Record, in one unit of work, the events each builder makes for its agreement
        as stored (events already stored are skipped); the agreements after.

        A builder that raises leaves nothing written for any agreement.  When another writer
        appended first, every agreement is loaded and built again.  Raises
        :class:`~milestonebill.errors.ValidationError` naming ``builders`` when it is not a mapping
        of agreement id to builder.
        """
        if not isinstance(builders, Mapping):
            raise ValidationError("builders", "a mapping of agreement id to builder", builders)
        for aid in builders:
            check_id("agreement_id", aid)
        ctx = self._ctx
        for n in range(CONCURRENCY_RETRIES):
            try:
                with ctx.store.transaction():
                    return {aid: _build(ctx, aid, build) for aid, build in builders.items()}
            except ConcurrencyError:
                if n == CONCURRENCY_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")


def _build(ctx: Context, agreement_id: AgreementId, build: Builder) -> Agreement:
    a = ctx.load(agreement_id)
    return record(ctx, a, build(a, ctx.at(a)))

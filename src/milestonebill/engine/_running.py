"""``Biller.run``: claim batches, bill each batch, one agreement never stops the others.

Private to :mod:`milestonebill.engine`.  Each claim batch goes the batched
way (:mod:`milestonebill.engine._batching`) for the agreements on the common
path and one agreement at a time (:func:`process`) for the rest and for any
that failed in a batch step.  What a run remembers is bounded: the summary
keeps at most ``summary_limit`` of each kind of result (counting them all),
and the ids it has seen only for agreements that may come back due the same
day.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime

import attrs

from milestonebill._validate import utc_datetime
from milestonebill.agreement import Agreement
from milestonebill.engine import (
    _batching,
    _charging,
    _isolation,
    _issuing,
    _refunding,
    _reminding,
    _timebilling,
)
from milestonebill.engine._context import Context
from milestonebill.engine.results import RunSummary, Tally
from milestonebill.errors import InfrastructureError
from milestonebill.ids import AgreementId

__all__ = ["process", "run"]


def process(ctx: Context, agreement_id: AgreementId, as_of: date, tally: Tally,
            a: Agreement | None = None, *, counted: bool = False) -> Agreement:
    """Everything due for one agreement, one unit of work after another
    (``a``: as loaded already; ``counted``: already in the tally)."""
    if a is None:
        a = ctx.load(agreement_id)
        if not counted:
            tally.agreements.append(a.id)
    a = _charging.finish_interrupted(ctx, a, tally)
    a = _issuing.approve(ctx, a, as_of, tally)
    a = _issuing.issue_due(ctx, a, as_of, tally)
    a = _timebilling.bill_due(ctx, a, as_of, tally)
    a = _refunding.settle_credits(ctx, a)
    a = _charging.collect(ctx, a, as_of, tally)
    return _reminding.remind(ctx, a, as_of, tally)


@attrs.define
class _Run:
    """One run's state: what it reports and the little it must remember."""

    ctx: Context
    as_of: date
    tally: Tally
    progress: Callable[[int], None] | None
    handled: int = 0
    #: Agreements finished this run that may be claimed again the same day.
    again: set[str] = attrs.Factory(set)
    #: The gateway threads every batch of the run shares (see _batching.gateway_pool).
    pool: ThreadPoolExecutor | None = None

    def done(self, aid: AgreementId, next_due: date | None) -> None:
        """Count one agreement handled and tell the progress callback."""
        if next_due is not None and next_due <= self.as_of:
            self.again.add(aid)
        self.handled += 1
        if self.progress is not None:
            self.progress(self.handled)

    def one(self, aid: AgreementId, a: Agreement | None = None, *,
            counted: bool = False) -> None:
        """Bill one agreement alone (as every run did before batches)."""
        ctx, as_of, tally = self.ctx, self.as_of, self.tally
        try:
            a = process(ctx, aid, as_of, tally, a, counted=counted)
            nxt = ctx.next_due(a, as_of)
        except InfrastructureError as exc:
            tally.problem(aid, exc)
            nxt = _isolation.tomorrow(as_of)
            _isolation.finish(ctx, aid, nxt, version=None, as_of=as_of, tally=tally)
            self.again.add(aid)  # in trouble: never take it up twice in one run
        except Exception as exc:
            _isolation.park(ctx, aid, exc, tally)
            nxt = None
            self.again.add(aid)
        else:
            self._finish(aid, nxt, a.version)
        self.done(aid, nxt)

    def batch(self, ids: list[AgreementId], claimed_at: datetime) -> None:
        """Bill one claim batch: the common path together, the rest alone."""
        ctx, as_of, tally = self.ctx, self.as_of, self.tally
        common: list[Agreement] = []
        for n, aid in enumerate(ids):
            try:
                if aid in self.again:  # never loop on one agreement within a run
                    _isolation.finish(ctx, aid, _isolation.tomorrow(as_of), version=None,
                                      as_of=as_of, tally=tally)
                    continue
                if not _isolation.still_held(ctx, aid, as_of, claimed_at, tally):
                    continue
                a = self._load(aid)
                if a is not None and _batching.can_batch(ctx) and _batching.common(a):
                    common.append(a)
                else:
                    self.one(aid, a)
            except BaseException:
                # Leave nothing leased until expiry on the way out.
                _isolation.release_quietly(ctx, [*ids[n:], *(a.id for a in common)])
                raise
        if not common:
            return
        try:
            alone, billed = _batching.run_batch(ctx, common, as_of, tally, self._finish,
                                                pool=self.pool)
        except BaseException:
            _isolation.release_quietly(ctx, [a.id for a in common])
            raise
        for aid, nxt in billed:
            self.done(aid, nxt)
        for n, aid in enumerate(alone):
            try:
                self.one(aid, counted=True)
            except BaseException:
                _isolation.release_quietly(ctx, alone[n:])
                raise

    def _load(self, aid: AgreementId) -> Agreement | None:
        """The agreement, counted in the summary; ``None`` when it cannot be loaded
        (billing it alone reports or parks it as before)."""
        try:
            a = self.ctx.load(aid)
        except Exception:
            return None
        self.tally.agreements.append(a.id)
        return a

    def _finish(self, aid: AgreementId, next_due: date | None, version: int) -> None:
        stored = _isolation.finish(self.ctx, aid, next_due, version=version, as_of=self.as_of,
                                   tally=self.tally)
        if not stored or (next_due is not None and next_due <= self.as_of):
            self.again.add(aid)  # it may come back due today: never loop on it


def run(ctx: Context, as_of: date, progress: Callable[[int], None] | None,
        results: Callable[[object], None] | None, limit: int | None = None) -> RunSummary:
    """See :meth:`milestonebill.engine.Biller.run` (``limit``: claim at most that
    many agreements in all; the last claim batch is cut to fit)."""
    s, store = ctx.settings, ctx.store
    state = _Run(ctx, as_of, Tally(as_of, limit=s.summary_limit, sink=results), progress,
                 pool=_batching.gateway_pool(ctx))
    left = limit
    try:
        while left is None or left > 0:
            size = s.batch_size if left is None else min(s.batch_size, left)
            ids = store.claim(s.worker_id, as_of, limit=size, lease_seconds=s.lease_seconds)
            if not ids:
                break
            if left is not None:
                left -= len(ids)
            state.batch(list(ids), utc_datetime(ctx.clock.now(), "clock.now()"))
    finally:
        if state.pool is not None:
            state.pool.shutdown()
    return state.tally.freeze()

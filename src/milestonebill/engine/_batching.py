"""The batched billing run: a claim batch in three steps instead of a few per agreement.

Private to :mod:`milestonebill.engine`.  For a claim batch of agreements
whose work is the common path -- approvals, credit-free invoices, their
charges, reminders -- :func:`run_batch`

1. issues the invoices and journals the charge intents of every agreement
   in **one** transaction, each agreement under a savepoint: one that fails
   rolls back only its own writes and goes the one-at-a-time way;
2. calls the gateway for every intent, outside any transaction, up to
   ``gateway_concurrency`` calls at once (a thread pool: the gateway port is
   synchronous and so are the vendor clients behind it);
3. records every outcome, its postings and notifications, the reminders
   due, the next due date and the release of the claim, in **one**
   transaction, again a savepoint per agreement.

Exactly once holds for the same reason as one agreement at a time: every
intent is committed (with its idempotency key) before its gateway call, and
an intent without an outcome -- a crash between the steps, a gateway that
did not answer, an outcome transaction that failed -- is re-driven with its
original key by the next ``run`` or by ``reconcile``.

Agreements that need more than the common path (an unfinished attempt to
re-drive, credit notes or customer credit, time and materials) and any that
failed in a batch step are handed back to the caller, which bills them one
at a time exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from datetime import date
from typing import cast

import attrs

from milestonebill.agreement import Agreement, ChargeAttempted
from milestonebill.collection import attempt_outcome
from milestonebill.engine import _charging, _issuing, _reminding
from milestonebill.engine._context import Context
from milestonebill.engine.results import Tally
from milestonebill.errors import GatewayError
from milestonebill.gateways.base import ChargeRequest, ChargeResult
from milestonebill.ids import AgreementId
from milestonebill.refunds import owed_back
from milestonebill.stores.batch import Savepoints
from milestonebill.timebilling import time_invoices_due

__all__ = ["Planned", "can_batch", "common", "gateway_pool", "run_batch"]

#: What the gateway answered to one call; an exception that is not a gateway error
#: (a bug in an adapter, say) is kept and raised again where it is recorded.
Answer = tuple[ChargeResult | None, GatewayError | None] | Exception


class _NotCommon(Exception):
    """The agreement needs more than the common path (rolled back, billed alone)."""


@attrs.define
class Planned:
    """One agreement after step 1: as it now stands and the charges it journalled."""

    agreement: Agreement
    intents: list[ChargeAttempted]
    tally: Tally


def can_batch(ctx: Context) -> bool:
    """True when the store offers savepoints (every shipped store does)."""
    return isinstance(ctx.store, Savepoints)


def _savepoint(ctx: Context) -> AbstractContextManager[None]:
    return cast(Savepoints, ctx.store).savepoint()


def common(a: Agreement) -> bool:
    """True when nothing but the common path can be due: no attempt left open,
    no credit note, no customer credit and no invoice that owes the client
    money (refunds and credit moves go through the gateway or change what is
    charged)."""
    return (not a.credit_notes and a.credit_balance.minor == 0
            and all(attempt_outcome(a, x.invoice_id, x.attempt) != (None, None)
                    for x in a.attempts)
            and all(owed_back(a, inv.id) <= 0 for inv in a.invoices))


def _plan_one(ctx: Context, a: Agreement, as_of: date, tally: Tally) -> Planned:
    """Step 1 for one agreement (inside the batch transaction and its savepoint)."""
    a = _issuing.approve(ctx, a, as_of, tally)
    a = _issuing.issue_due(ctx, a, as_of, tally)
    if not common(a) or time_invoices_due(a, as_of, tax=ctx.settings.tax):
        raise _NotCommon(a.id)
    a, intents = _charging.journal_due(ctx, a, as_of)
    return Planned(a, intents, Tally(as_of))


def _issue_all(ctx: Context, agreements: Sequence[Agreement], as_of: date, tally: Tally,
               alone: list[AgreementId]) -> list[Planned]:
    """Step 1: one transaction, a savepoint per agreement."""
    planned: list[tuple[Planned, Tally]] = []
    try:
        with ctx.store.transaction():
            for a in agreements:
                issued = Tally(as_of)
                try:
                    with _savepoint(ctx):
                        planned.append((_plan_one(ctx, a, as_of, issued), issued))
                except Exception:
                    alone.append(a.id)
    except Exception:
        # Nothing of the transaction stands: bill them all one at a time.
        alone.extend(p.agreement.id for p, _ in planned)
        return []
    for _, issued in planned:
        tally.merge(issued)
    return [p for p, _ in planned]


def gateway_pool(ctx: Context) -> ThreadPoolExecutor | None:
    """The threads a run's gateway calls share (``None`` with ``gateway_concurrency``
    1); they start as calls need them, and the caller shuts the pool down."""
    width = ctx.settings.gateway_concurrency
    return None if width <= 1 else ThreadPoolExecutor(
        max_workers=width, thread_name_prefix="milestonebill-gateway")


def _ask_all(ctx: Context, planned: Sequence[Planned], pool: ThreadPoolExecutor | None
             ) -> dict[str, Answer]:
    """Step 2: every gateway call, at most ``gateway_concurrency`` at once (on
    ``pool``, the run's threads, or on one made for this batch)."""
    calls = [(x.idempotency_key, _charging.request_of(p.agreement, x))
             for p in planned for x in p.intents]
    if len(calls) <= 1 or ctx.settings.gateway_concurrency <= 1:
        return {key: _asked(ctx, request) for key, request in calls}
    if pool is None:
        with ThreadPoolExecutor(max_workers=min(ctx.settings.gateway_concurrency, len(calls)),
                                thread_name_prefix="milestonebill-gateway") as own:
            return _ask_all(ctx, planned, own)
    answers = pool.map(lambda call: _asked(ctx, call[1]), calls)
    return {key: ans for (key, _), ans in zip(calls, answers, strict=True)}


def _asked(ctx: Context, request: ChargeRequest) -> Answer:
    try:
        return _charging.ask(ctx, request)
    except Exception as exc:  # raised again for its own agreement only
        return exc


def _record_one(ctx: Context, p: Planned, answers: dict[str, Answer], as_of: date
                ) -> Agreement:
    """Step 3 for one agreement (inside the outcome transaction and its savepoint)."""
    a = p.agreement
    for x in p.intents:
        ans = answers[x.idempotency_key]
        if isinstance(ans, Exception):
            raise ans
        a = _charging.answer(ctx, a, x, ans, p.tally, reconciling=False)
    return _reminding.remind(ctx, a, as_of, p.tally)


@attrs.define
class _Recorded:
    agreement: Agreement
    next_due: date | None
    completed: bool


def _record_all(ctx: Context, planned: Sequence[Planned], answers: dict[str, Answer],
                as_of: date, alone: list[AgreementId]) -> list[_Recorded]:
    """Step 3: one transaction, a savepoint per agreement; claims completed in it."""
    s, store = ctx.settings, ctx.store
    done: list[_Recorded] = []
    try:
        with store.transaction():
            for p in planned:
                try:
                    with _savepoint(ctx):
                        a = _record_one(ctx, p, answers, as_of)
                        nxt = ctx.next_due(a, as_of)
                except Exception:
                    p.tally = Tally(as_of)
                    alone.append(p.agreement.id)
                    continue
                rec = _Recorded(a, nxt, completed=True)
                try:
                    with _savepoint(ctx):
                        store.complete(s.worker_id, a.id, nxt)
                except Exception:
                    rec.completed = False  # finished the careful way below
                done.append(rec)
    except Exception:
        alone.extend(r.agreement.id for r in done)
        for p in planned:
            p.tally = Tally(as_of)
        return []
    return done


def run_batch(ctx: Context, agreements: Sequence[Agreement], as_of: date, tally: Tally,
              finish: Callable[[AgreementId, date | None, int], None],
              *, pool: ThreadPoolExecutor | None = None,
              ) -> tuple[list[AgreementId], list[tuple[AgreementId, date | None]]]:
    """Bill ``agreements`` (each held by this worker and on the common path) in three
    steps; returns the ids of those left to bill one at a time, and those
    billed with their next due dates.

    ``finish(agreement_id, next_due, version)`` stores the next due date of an
    agreement whose claim could not be completed in the outcome transaction
    (a lease lost while the gateway answered): see ``_isolation.finish``.
    ``pool``: the run's gateway threads (:func:`gateway_pool`), so each batch
    does not start its own.
    """
    alone: list[AgreementId] = []
    billed: list[tuple[AgreementId, date | None]] = []
    planned = _issue_all(ctx, agreements, as_of, tally, alone)
    if not planned:
        return alone, billed
    answers = _ask_all(ctx, planned, pool)
    by_id = {p.agreement.id: p for p in planned}
    for rec in _record_all(ctx, planned, answers, as_of, alone):
        tally.merge(by_id[rec.agreement.id].tally)
        if not rec.completed:
            finish(rec.agreement.id, rec.next_due, rec.agreement.version)
        billed.append((rec.agreement.id, rec.next_due))
    return alone, billed


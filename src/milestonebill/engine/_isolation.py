"""Keeping one agreement's trouble to itself: leases, parking, finishing a claim.

Private to :mod:`milestonebill.engine`.  A run holds a batch of leased
agreements; a gateway slower than the lease, or an agreement that cannot be
billed as it stands, must cost that one agreement and nothing else:

* before each agreement the worker makes sure it still holds the claim
  (:func:`still_held`): once half the lease has gone by it takes the claim
  again, and leaves the agreement to the worker that took it over meanwhile;
* finishing an agreement (:func:`finish`) stores its next due date and
  gives the claim back; a claim lost while the gateway answered is taken
  back (if nobody else has it) instead of ending the run;
* an agreement that fails in a way retrying cannot mend is parked
  (:func:`park`): the store sets it aside, the host is told through the
  outbox and the claim is given back, all in one unit of work.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from milestonebill._validate import utc_datetime
from milestonebill.engine._context import Context
from milestonebill.engine._redact import describe
from milestonebill.engine.results import Tally
from milestonebill.errors import InfrastructureError, LeaseLostError
from milestonebill.ids import AgreementId
from milestonebill.stores.base import ParkedAgreement

__all__ = ["PARKED", "UNPARKED", "finish", "park", "release_quietly", "still_held", "tomorrow",
           "unpark"]

#: Outbox kind telling the host an agreement was parked.
PARKED = "agreement.parked"
#: Outbox kind telling the host a parked agreement was given back.
UNPARKED = "agreement.unparked"


def tomorrow(day: date) -> date | None:
    """The day after ``day``; ``None`` (nothing left to do) after the last day there is."""
    return None if day == date.max else day + timedelta(days=1)


def release_quietly(ctx: Context, agreement_ids: Sequence[AgreementId]) -> None:
    """Give back claims on the way out of a failure; a lease that cannot be
    given back simply runs out, so a second failure here is not reported."""
    if not agreement_ids:
        return
    with contextlib.suppress(Exception):
        ctx.store.release(ctx.settings.worker_id, agreement_ids)


def still_held(ctx: Context, agreement_id: AgreementId, as_of: date, claimed_at: datetime,
               tally: Tally) -> bool:
    """True when this worker may work on ``agreement_id`` now.

    Within the first half of the lease the batch's claim is trusted.  After
    that the claim is taken again (``claim_one`` renews this worker's lease,
    or takes one that ran out); ``False`` when another worker holds it or
    it is no longer due (another worker finished it meanwhile).
    """
    s, store = ctx.settings, ctx.store
    now = utc_datetime(ctx.clock.now(), "clock.now()")
    if now - claimed_at < timedelta(seconds=s.lease_seconds / 2):
        return True
    try:
        if not store.claim_one(s.worker_id, agreement_id, lease_seconds=s.lease_seconds):
            return False
        due = store.next_due(agreement_id)
    except InfrastructureError as exc:
        tally.problem(agreement_id, exc)
        return False
    if due is None or due > as_of:
        release_quietly(ctx, [agreement_id])
        return False
    return True


def finish(ctx: Context, agreement_id: AgreementId, next_due_on: date | None, *,
           version: int | None, as_of: date, tally: Tally) -> bool:
    """Store the next due date and give back the claim; ``False`` when the store
    failed.  Then the claim is *kept* until its lease runs out: given back,
    the agreement would still be due and this same run would claim it again,
    for as long as the store keeps failing.  Once the lease has run out a
    later run (this worker's or another's) takes it up again.

    When the claim ran out meanwhile (a gateway slower than the lease), take
    it back unless another worker holds it -- that worker sets the date --
    and, if the stream moved since ``version`` was read, work the date out
    again from what is stored now.  ``version=None``: the date does not
    depend on the stream (a retry tomorrow).
    """
    s, store = ctx.settings, ctx.store
    try:
        store.complete(s.worker_id, agreement_id, next_due_on)
        return True
    except LeaseLostError:
        pass
    except Exception as exc:
        tally.problem(agreement_id, exc)
        return False  # the lease runs out (see above)
    try:
        if not store.claim_one(s.worker_id, agreement_id, lease_seconds=s.lease_seconds):
            return True  # the worker holding it sets the date
        if version is not None and store.version(agreement_id) != version:
            next_due_on = ctx.next_due(ctx.load(agreement_id), as_of)
        store.complete(s.worker_id, agreement_id, next_due_on)
    except Exception as exc:
        tally.problem(agreement_id, exc)
        return False  # the lease runs out (see above)
    return True


def _key(kind: str, record: ParkedAgreement) -> str:
    """The outbox key of one parking (or its unparking).  The time alone is not
    enough: an agreement unparked and parked again within the clock's
    resolution for another reason would reuse the first parking's key."""
    reason = hashlib.sha256(f"{record.error}\n{record.message}".encode()).hexdigest()[:16]
    return f"{kind}:{record.agreement_id}:{record.parked_at.isoformat()}:{reason}"


def _payload(record: ParkedAgreement) -> dict[str, Any]:
    return {"error": record.error, "message": record.message,
            "parked_at": record.parked_at.isoformat()}


def park(ctx: Context, agreement_id: AgreementId, exc: BaseException, tally: Tally, *,
         held: bool = True) -> None:
    """Set ``agreement_id`` aside after ``exc``: park it in the store, queue an
    ``agreement.parked`` notification and (``held``) give back this worker's
    claim, in one unit of work.  If the store cannot do that, the failure is
    reported as an ordinary problem (tried again on a later run)."""
    error, message = describe(exc)
    try:
        with ctx.store.transaction():
            record = ctx.store.park(agreement_id, error=error, message=message)
            ctx.notify(_key(PARKED, record), agreement_id, PARKED, _payload(record))
            if held:
                ctx.store.release(ctx.settings.worker_id, [agreement_id])
    except Exception:
        tally.problem(agreement_id, exc)
        if held:
            release_quietly(ctx, [agreement_id])
        return
    tally.park(record)


def unpark(ctx: Context, agreement_id: AgreementId) -> ParkedAgreement | None:
    """Give a parked agreement back to the work queue and tell the host, in one
    unit of work; ``None`` when it was not parked."""
    with ctx.store.transaction():
        record = ctx.store.unpark(agreement_id)
        if record is not None:
            ctx.notify(_key(UNPARKED, record), agreement_id, UNPARKED, _payload(record))
    return record

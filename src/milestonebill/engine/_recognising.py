"""Posting the revenue each obligation has earned, per agreement and day.

Private to :mod:`milestonebill.engine`.  What an obligation has earned by a
day comes from :func:`milestonebill.revenue.earned`; what was posted for it
from the ledger; the difference is posted by
:func:`milestonebill.postings.revenue_entry`.
"""

from __future__ import annotations

from datetime import date

from milestonebill.engine._context import CONCURRENCY_RETRIES, Context
from milestonebill.errors import DuplicateIdError, ValidationError
from milestonebill.ids import AgreementId
from milestonebill.ledger import JournalEntry
from milestonebill.money import Money
from milestonebill.postings import netting_entry, revenue_entry
from milestonebill.revenue import earned
from milestonebill.timebilling import time_earned

__all__ = ["recognise_one"]


def _post_revenue(ctx: Context, agreement_id: AgreementId, as_of: date) -> list[JournalEntry]:
    # Revenue follows performance (the stream), not billing; the ledger only
    # says which side of the contract's balance it comes from.
    a = ctx.load(agreement_id)
    position = ctx.position(a)
    if position.last_recognised is not None and as_of < position.last_recognised:
        raise ValidationError("as_of", f"on or after the last recognition for {a.id!r} "
                              f"({position.last_recognised})", as_of)
    posted: list[JournalEntry] = []
    # Time and materials earns by the right to invoice (milestonebill.timebilling).
    targets = {**earned(a, as_of), **time_earned(a, as_of)}
    # An obligation an amendment took away (a back-dated cancellation, a
    # removed add-on) has earned nothing: what it had posted is given back.
    for gone in sorted(position.revenue.keys() - targets.keys()):
        targets[gone] = Money.zero(a.currency)
    for obligation_id, amount in targets.items():
        change = amount - Money.from_minor(position.revenue.get(obligation_id, 0), a.currency)
        n = position.revenue_entries.get(obligation_id, 0) + 1
        entry = revenue_entry(a.id, obligation_id, posted_on=as_of, change=change,
                              position=position, n=n)
        if entry is not None:
            ctx.store.post(entry)
            position = position.after(entry)
            posted.append(entry)
    netting = netting_entry(a.id, as_of, position, a.currency)
    if netting is not None and ctx.store.post(netting):
        posted.append(netting)
    return posted


def recognise_one(ctx: Context, agreement_id: AgreementId, as_of: date) -> list[JournalEntry]:
    """Post what each obligation of one agreement earned since it was last posted,
    through the end of ``as_of``, in one unit of work (nothing when nothing moved).

    A day before the agreement's last recognition raises
    :class:`~milestonebill.errors.ValidationError` (field ``as_of``): posted
    revenue is never rewritten.
    """
    for n in range(CONCURRENCY_RETRIES):
        try:
            with ctx.store.transaction():
                return _post_revenue(ctx, agreement_id, as_of)
        except DuplicateIdError:
            # Another worker posted for this day first: recompute from its result.
            if n == CONCURRENCY_RETRIES - 1:
                raise
    raise AssertionError("unreachable")

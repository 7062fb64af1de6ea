"""Releasing deferred revenue as service is rendered, one entry per agreement and day.

Private to :mod:`milestonebill.engine`.
"""

from __future__ import annotations

from datetime import date

from milestonebill.engine._context import CONCURRENCY_RETRIES, Context
from milestonebill.errors import DuplicateIdError
from milestonebill.ids import AgreementId
from milestonebill.ledger import JournalEntry
from milestonebill.money import Money
from milestonebill.postings import contract_position
from milestonebill.recognition import billed_service, release_entry

__all__ = ["recognise_one"]


def _release(ctx: Context, agreement_id: AgreementId, as_of: date) -> JournalEntry | None:
    # Entries first, then the stream: every document in the snapshot whose
    # entry was read counts; a newer one waits for the next release.
    posted: dict[str, JournalEntry] = {
        e.id: e for e in ctx.store.entries(agreement_id=agreement_id)}
    a = ctx.load(agreement_id)
    position = contract_position(a, posted, as_of)
    if position.last_release is not None and position.last_release > as_of:
        return None
    invoices = [i for i in a.invoices if f"{i.id}:issue" in posted]
    credits = [c for c in a.credit_notes if f"{c.id}:credit" in posted]
    services = billed_service(invoices, credits, as_of)
    cur = a.currency
    entry = release_entry(
        f"{a.id}:recognition:{position.releases + 1:06d}", as_of,
        deferred=Money.from_minor(position.deferred, cur),
        contract_asset=Money.from_minor(position.contract_asset, cur),
        unearned=Money.from_minor(sum(s.unearned.minor for s in services), cur),
        agreement_id=a.id)
    if entry is not None:
        ctx.store.post(entry)
    return entry


def recognise_one(ctx: Context, agreement_id: AgreementId, as_of: date) -> JournalEntry | None:
    """Post the release that brings one agreement's deferred revenue to what is still
    unearned at the end of ``as_of`` (``None``: nothing to move)."""
    for n in range(CONCURRENCY_RETRIES):
        try:
            with ctx.store.transaction():
                return _release(ctx, agreement_id, as_of)
        except DuplicateIdError:
            # Another worker posted this release first: recompute from its result.
            if n == CONCURRENCY_RETRIES - 1:
                raise
    raise AssertionError("unreachable")

"""Price concessions: refund and goodwill credits that lower an agreement's price.

What :mod:`milestonebill.revenue` takes off each plan key's price before it
earns it (:func:`concessions`, re-exported there).
"""

from __future__ import annotations

from milestonebill._reference import reference
from milestonebill.agreement import Agreement, billed_by_key
from milestonebill.ids import PlanKey
from milestonebill.money import allocate_minor

__all__ = ["concessions"]


def _raw_net(a: Agreement) -> dict[str, int]:
    """Net billed per plan key, counting item lines only (no refund absorption)."""
    net: dict[str, int] = {}
    for inv in a.invoices:
        for ln in inv.lines:
            if ln.item_key is not None:
                net[ln.item_key] = net.get(ln.item_key, 0) + ln.amount.minor
    for cn in a.credit_notes:
        for ln in cn.lines:
            if ln.item_key is not None:
                net[ln.item_key] = net.get(ln.item_key, 0) - ln.amount.minor
    return net


def concessions(agreement: Agreement) -> dict[PlanKey, int]:
    """Refund and goodwill credits that lower the price, per plan key (minor units).

    A credit note not tied to an item is a price concession (ASC 606-10-32-6)
    on the items the credited invoice billed, shared by what it billed of
    each.  The part of it that an item's later reduction absorbed (see
    :func:`~milestonebill.agreement.billed_by_key`) lowered the plan already
    and is not counted twice.
    """
    if not reference() and all(ln.item_key is not None for cn in agreement.credit_notes
                               for ln in cn.lines):
        return {}  # no refund or goodwill credit: nothing to share, nothing absorbed
    out: dict[PlanKey, int] = {}
    for cn in agreement.credit_notes:
        free = sum(ln.amount.minor for ln in cn.lines if ln.item_key is None)
        # Shared by what the lines charged (a discount line charges nothing).
        lines = [ln for ln in agreement.invoice(cn.credits).lines
                 if ln.item_key is not None and ln.amount.minor > 0]
        if free <= 0 or not lines:
            continue
        for ln, share in zip(lines, allocate_minor(free, [ln.amount.minor for ln in lines]),
                             strict=True):
            assert ln.item_key is not None
            out[ln.item_key] = out.get(ln.item_key, 0) + share
    raw = _raw_net(agreement)
    for key, (net, _first, _n) in billed_by_key(agreement).items():
        if raw.get(key, 0) != net:
            out[key] = out.get(key, 0) - (raw.get(key, 0) - net)
    return {k: v for k, v in out.items() if v}

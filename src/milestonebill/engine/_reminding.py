"""Late fees and reminders of unpaid invoices, exactly once, in ``run``.

Private to :mod:`milestonebill.engine`.  The core decides
(:mod:`milestonebill.reminders`); here each late fee is issued like any
invoice (its id comes from the agreement, the invoice and the fee's
number) and each reminder is one ``ReminderSent`` event and one outbox
notification, committed together, the event id and the outbox key both
derived from the invoice and the step.  Two workers, or a run repeated,
cannot send one twice: the second finds the event stored.
"""

from __future__ import annotations

from datetime import date
from typing import Final

from milestonebill.agreement import Agreement, ReminderSent
from milestonebill.engine._context import Context
from milestonebill.engine._issuing import issue
from milestonebill.engine.results import Tally
from milestonebill.reminders import late_fees_due, reminder_key, reminders_due

__all__ = ["remind"]

#: A guard against a term that keeps producing fees (a bug, never data).
_MAX_FEES: Final = 1000


def remind(ctx: Context, a: Agreement, as_of: date, tally: Tally) -> Agreement:
    """Issue the late fees that fell by ``as_of``, then send the reminders due."""
    for _ in range(_MAX_FEES):
        drafts = late_fees_due(a, as_of)
        if not drafts:
            break
        a = issue(ctx, a, drafts[0], tally)
    else:
        raise AssertionError(f"agreement {a.id!r} kept producing late fees")
    schedule = ctx.settings.reminders
    if not reminders_due(a, as_of, schedule):
        return a

    def work(a: Agreement) -> Agreement:
        new = a
        for r in reminders_due(a, as_of, schedule):
            e = ReminderSent(f"{a.id}:reminder:{r.invoice_id}:{r.step}", new.version + 1,
                             ctx.at(new), r.invoice_id, r.step, r.balance)
            new = ctx.append(new, [e])
            inv = new.invoice(r.invoice_id)
            ctx.notify(reminder_key(r.invoice_id, r.step), a.id, r.kind,
                       {"invoice_id": inv.id, "number": inv.number, "step": r.step,
                        "due_on": inv.due_on.isoformat(), "reminded_on": r.on.isoformat(),
                        "balance": r.balance.to_json(),
                        "collection": a.proposal.collection.value})
        return new

    return ctx.unit(a, work)

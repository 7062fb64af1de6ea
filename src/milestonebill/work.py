"""When an agreement next has work for the Biller: decided here, and only here.

The Biller stores this date with each agreement (the work queue), so a run
on a day claims exactly the agreements with something to do.  The work is
of seven kinds, each decided by the module that owns it:

* documents to issue -- :func:`milestonebill.invoicing.next_billing_date`;
* amendments whose notice period runs out -- their ``auto_approve_at``;
* charges to make or retry -- :func:`milestonebill.collection.collection_state`
  (and a charge attempt whose result the attempt journal does not hold yet);
* refunds to pay or finish -- :mod:`milestonebill.refunds`;
* customer credit to move or apply -- :func:`milestonebill.collection.credit_work`;
* reminders to send and late fees to charge on unpaid invoices --
  :func:`milestonebill.reminders.next_reminder` and
  :func:`milestonebill.reminders.next_late_fee`;
* time and expenses to bill -- :func:`milestonebill.timebilling.next_time_billing`.

>>> from milestonebill.testing.scenarios import signed_deposit_agreement
>>> from datetime import date
>>> a = signed_deposit_agreement(signed_on=date(2026, 3, 2))
>>> next_due(a, today=date(2026, 3, 2), journal=lambda key: None)
datetime.date(2026, 3, 2)
"""

from __future__ import annotations

from datetime import date, timedelta

from milestonebill.agreement import Agreement
from milestonebill.collection import (
    CollectionState,
    CreditPolicy,
    RetryPolicy,
    auto_collects,
    collection_state,
    credit_work,
)
from milestonebill.documents import CreditReason
from milestonebill.ids import AttemptKey
from milestonebill.invoicing import next_billing_date
from milestonebill.refunds import (
    IntentLookup,
    credit_refunds_due,
    credit_reserved,
    given_up,
    open_intent,
    payment_to_refund,
    refund_key,
)
from milestonebill.reminders import (
    NO_REMINDERS,
    ReminderSchedule,
    next_late_fee,
    next_reminder,
)
from milestonebill.timebilling import next_time_billing

__all__ = ["next_due"]


def _charge_dates(a: Agreement, today: date, policy: RetryPolicy | None,
                  journal: IntentLookup) -> list[date]:
    out: list[date] = []
    if not auto_collects(a):
        return out
    for inv in a.invoices:
        st = collection_state(a, inv.id, policy)
        if st.state is CollectionState.DUE:
            out.append(today)
        elif st.state is CollectionState.RETRY_SCHEDULED and st.retry_on is not None:
            out.append(st.retry_on)
        elif st.state is CollectionState.IN_FLIGHT:
            last = [x for x in a.attempts if x.invoice_id == inv.id][-1]
            rec = journal(AttemptKey(last.idempotency_key))
            if rec is None or not rec.finished:
                out.append(today)  # a crash left it: reconciliation asks again
    return out


def _refund_work(a: Agreement, credit_policy: CreditPolicy, journal: IntentLookup) -> bool:
    done = {r.idempotency_key for r in a.refunds}
    for cn in a.credit_notes:
        key = refund_key(a, cn)
        if cn.reason is CreditReason.REFUND and key not in done \
                and not given_up(journal, key) \
                and (open_intent(journal, key) is not None
                     or payment_to_refund(a, cn.credits, cn.total, journal) is not None):
            return True
    reserved = credit_reserved(a, journal)
    if reserved:
        return True
    added, applied = credit_work(a, credit_policy, reserved)
    return bool(added or applied) or (credit_policy is CreditPolicy.REFUND
                                      and bool(credit_refunds_due(a, journal)))


def next_due(agreement: Agreement, *, today: date, journal: IntentLookup,
             as_of: date | None = None, policy: RetryPolicy | None = None,
             credit_policy: CreditPolicy = CreditPolicy.APPLY_TO_NEXT_INVOICES,
             horizon_days: int = 400,
             reminders: ReminderSchedule = NO_REMINDERS) -> date | None:
    """The next day with date-driven work for ``agreement`` (``None``: none in sight).

    ``today`` is the clock's date; after a run on ``as_of`` the answer is
    at least the day after it (the run did what was due).  ``journal``
    reads the attempt journal by idempotency key; ``policy`` and
    ``credit_policy`` are the Biller's; documents are looked for
    ``horizon_days`` ahead; ``reminders`` is the Biller's reminder schedule.
    """
    day = today if as_of is None else as_of
    candidates: list[date] = []
    billing = next_billing_date(agreement, today=day, horizon_days=horizon_days)
    if billing is not None:
        candidates.append(billing)
    if agreement.state.amendable:  # as approvals_due: nothing is approved after the end
        candidates += [r.auto_approve_at.date() for r in agreement.pending_amendments
                       if r.auto_approve_at is not None]
    candidates += _charge_dates(agreement, day, policy, journal)
    if _refund_work(agreement, credit_policy, journal):
        candidates.append(day)
    candidates += [d for d in (next_reminder(agreement, reminders), next_late_fee(agreement),
                               next_time_billing(agreement)) if d is not None]
    if not candidates:
        return None
    nxt = min(candidates)
    return nxt if as_of is None else max(nxt, as_of + timedelta(days=1))

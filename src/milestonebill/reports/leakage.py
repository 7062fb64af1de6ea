"""The leakage audit: money the firm should have billed, charged or credited and did not.

:func:`leakage_audit` compares what the core says should have happened by
a date with what each agreement's stream shows, replayed to that date.  An
empty audit means nothing leaks.  Each :class:`LeakageRow` names the
agreement, what leaks, the amount at stake and since when:

* a milestone billable (completed, signed, or its date passed) with no
  invoice line for its plan key (``MILESTONE_NOT_INVOICED``), a recurring
  service period whose billing day passed unbilled (``PERIOD_NOT_INVOICED``)
  -- both from :func:`~milestonebill.invoicing.due_invoices`;
* an approved amendment (or a cancellation) whose change of the plan is
  not billed or credited after its effective date (``AMENDMENT_NOT_BILLED``:
  adjustment lines of :func:`~milestonebill.invoicing.due_invoices` and the
  lines of :func:`~milestonebill.invoicing.due_credit_notes`);
* a recurring service period billed for less than the plan's escalated
  price for the same key (``ESCALATION_NOT_APPLIED``);
* an invoice of an automatically charged agreement with a balance and no
  charge attempt for it (``NOT_CHARGED``), and a failed charge whose retry
  day passed with no next attempt and retries not exhausted
  (``RETRY_MISSED``) -- both from :func:`~milestonebill.collection.collection_state`;
* customer credit left unapplied while invoices it could pay are open
  (``CREDIT_UNAPPLIED``, from :func:`~milestonebill.collection.credit_work`);
* a late fee of the agreement's terms that fell and was not charged
  (``LATE_FEE_NOT_CHARGED``, from :func:`~milestonebill.reminders.late_fees_due`).

A balance written off is not owed any more, so it never leaks (nor is it
overdue in :func:`~milestonebill.reports.receivables`).

The audit gives the Biller one run: what came due *before* ``as_of``
should be done by the end of ``as_of`` (a milestone completed after the
day's run is billed by the next one).  Amounts are net of tax for plan
items and balances (tax included) for invoices; each is in its
agreement's currency, never added to another.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from datetime import date, timedelta

import attrs

from milestonebill._owed import due_by
from milestonebill._reference import reference
from milestonebill.agreement import (
    Agreement,
    AgreementState,
    AmendmentStatus,
    PlanItem,
    billed_by_key,
    billing_plan,
    changed_since,
)
from milestonebill.agreement.terms import containing_period
from milestonebill.collection import (
    CollectionState,
    CreditPolicy,
    RetryPolicy,
    auto_collects,
    collection_state,
    credit_work,
)
from milestonebill.documents import Invoice, InvoiceLine, LineKind
from milestonebill.ids import PlanKey
from milestonebill.invoicing import due_credit_notes, due_invoices
from milestonebill.money import Money
from milestonebill.reminders import late_fees_due
from milestonebill.reports._inputs import checked_agreements, client_of, replayed
from milestonebill.reports._open import open_balances
from milestonebill.reports._table import Table
from milestonebill.schedule import ChargeKind

__all__ = ["LeakageKind", "LeakageRow", "leakage_audit"]


class LeakageKind(enum.Enum):
    """What leaks (see :mod:`milestonebill.reports.leakage`)."""

    MILESTONE_NOT_INVOICED = "milestone_not_invoiced"
    PERIOD_NOT_INVOICED = "period_not_invoiced"
    INSTALLMENT_NOT_INVOICED = "installment_not_invoiced"
    AMENDMENT_NOT_BILLED = "amendment_not_billed"
    ESCALATION_NOT_APPLIED = "escalation_not_applied"
    NOT_CHARGED = "not_charged"
    RETRY_MISSED = "retry_missed"
    CREDIT_UNAPPLIED = "credit_unapplied"
    LATE_FEE_NOT_CHARGED = "late_fee_not_charged"


@attrs.frozen
class LeakageRow:
    """One leak: its kind, the agreement (and client), what leaks, the amount at
    stake and the day it should have been done by."""

    kind: LeakageKind
    agreement_id: str
    client: str
    what: str
    amount: Money
    since: date


def _touches(op: object, item_id: str) -> bool:
    """True when an amendment operation may change the plan item ``item_id``."""
    direct = getattr(op, "milestone_id", None) or getattr(op, "item_id", None)
    if direct is not None:
        return bool(direct == item_id)
    added = getattr(op, "milestone", None) or getattr(op, "charge", None)
    if added is not None:
        return bool(added.id == item_id)
    return True  # a package switch, an add-on or a cancellation changes any item


def _cause(a: Agreement, item_id: str) -> str:
    ids = [r.amendment.id for r in a.amendments if r.status is AmendmentStatus.APPROVED
           and any(_touches(op, item_id) for op in r.amendment.operations)]
    if ids:
        return "amendment " + ", ".join(ids)
    if a.cancelled_on is not None:
        return f"cancellation on {a.cancelled_on.isoformat()}"
    return "an approved change"


def _since(a: Agreement, key: PlanKey, item: PlanItem | None) -> date:
    """The day a difference between the plan and the billing became due (as invoicing
    dates it: the item's billing day, or later the day an amendment changed it)."""
    on = item.on if item is not None and item.on is not None else date.min
    day = max(on, changed_since(a, key))
    return a.signed_on if day == date.min else day


def _escalated(a: Agreement, item: PlanItem) -> bool:
    """True when the plan's price for a service period includes an escalation."""
    if item.period is None:
        return False
    start = item.period.start
    for t in a.recurring:
        if t.charge.id != item.item_id or start < t.active_from or (
                t.active_until is not None and start >= t.active_until):
            continue
        whole = containing_period(t.charge, start)
        if whole is not None and t.charge.escalation_history(whole.start)[1]:
            return True
    return False


def _short_escalations(a: Agreement, plan: dict[PlanKey, PlanItem]
                       ) -> dict[PlanKey, tuple[PlanItem, int]]:
    """Escalated service periods billed for less than the plan says, with the shortfall;
    periods an amendment changed are left to the amendment check."""
    changed = dict(a.changed_on)
    out: dict[PlanKey, tuple[PlanItem, int]] = {}
    for key, (net, _first, _n) in billed_by_key(a).items():
        item = plan.get(key)
        if item is None or item.kind is not ChargeKind.RECURRING or item.item_id in changed:
            continue
        if net < item.amount.minor and _escalated(a, item):
            out[key] = (item, item.amount.minor - net)
    return out


_Found = tuple[LeakageKind, str, Money, date]


def _escalations(a: Agreement, short: dict[PlanKey, tuple[PlanItem, int]], as_of: date
                 ) -> Iterator[_Found]:
    """Escalated periods billed short: wrong from the day they were billed."""
    for item, missing in short.values():
        assert item.period is not None
        assert item.on is not None
        billed = Money.from_minor(item.amount.minor - missing, a.currency)
        if item.on <= as_of:
            yield (LeakageKind.ESCALATION_NOT_APPLIED, f"{item.name} {item.period}: billed "
                   f"{billed}, escalated price {item.amount}",
                   Money.from_minor(missing, a.currency), item.on)


def _nothing_due(a: Agreement, as_of: date) -> bool:
    """True when no difference between the plan and the billing came due by
    ``as_of``, read off the forecasts' integer columns (no plan item, invoice
    line or document per piece) -- most agreements, most days.  Every leak
    :func:`_unbilled` reports is such a difference (an escalated period billed
    short too: it is due on its billing day), so none is missed.  Discounts
    (whose items depend on each other) and paused agreements (whose plan still
    shows escalations) take the full path, as does the reference path."""
    if reference() or a.discounts or a.state is AgreementState.PAUSED:
        return False
    return not due_by(a, as_of)


def _unbilled(a: Agreement, as_of: date) -> Iterator[_Found]:
    """Plan items and plan changes due before ``as_of`` and still not billed."""
    if _nothing_due(a, as_of):
        return
    before = as_of - timedelta(days=1)
    plan = {i.key: i for i in billing_plan(a, through=as_of + timedelta(days=1))}
    short = _short_escalations(a, plan)
    yield from _escalations(a, short, as_of)
    lines: list[InvoiceLine] = [ln for d in due_invoices(a, before) for ln in d.lines]
    lines += [ln for cn in due_credit_notes(a, before) for ln in cn.lines]
    kinds = {LineKind.MILESTONE: LeakageKind.MILESTONE_NOT_INVOICED,
             LineKind.RECURRING: LeakageKind.PERIOD_NOT_INVOICED,
             LineKind.INSTALLMENT: LeakageKind.INSTALLMENT_NOT_INVOICED}
    # A discount line rides with its item's line: what leaks is the item net of it.
    riders: dict[PlanKey | None, int] = {}
    for ln in lines:
        if ln.kind is LineKind.DISCOUNT and ln.item_key is not None:
            riders[ln.item_key.discounted] = riders.get(ln.item_key.discounted, 0) \
                + ln.amount.minor
    for ln in lines:
        key = ln.item_key
        if key is None or key in short or ln.kind is LineKind.DISCOUNT:
            continue
        amount = ln.amount + Money.from_minor(riders.get(key, 0), a.currency)
        if amount.minor <= 0:
            continue
        kind = kinds.get(ln.kind, LeakageKind.AMENDMENT_NOT_BILLED)
        what = (f"{ln.description}: not invoiced" if kind in kinds.values()
                else f"{ln.description} ({_cause(a, key.item_id)}): not "
                f"{'credited' if ln.kind is LineKind.CREDIT else 'billed'}")
        yield kind, what, amount, _since(a, key, plan.get(key))


def _late_fees(a: Agreement, as_of: date) -> Iterator[_Found]:
    """Late fees that fell before ``as_of`` and were not charged."""
    fee = a.proposal.late_fee
    for draft in late_fees_due(a, as_of - timedelta(days=1)):
        for ln in draft.lines:
            assert fee is not None
            assert ln.adjusts is not None
            overdue = a.invoice(ln.adjusts)
            n = int(ln.line_id.rsplit(":", 1)[1])
            yield (LeakageKind.LATE_FEE_NOT_CHARGED, f"{ln.description}: not charged",
                   ln.amount, fee.assessment_day(overdue.due_on, n))


def _payment_day(a: Agreement, inv: Invoice) -> date:
    """The day an invoice last became chargeable: its issue, or its last payment."""
    paid = [p.effective_at.date() for p in a.payments if p.invoice_id == inv.id]
    return max([inv.issued_on, *paid])


def _uncollected(a: Agreement, policy: RetryPolicy | None) -> Iterator[_Found]:
    """Invoices not charged, retries missed, and customer credit left unapplied."""
    _added, applied = credit_work(a, CreditPolicy.HOLD)
    covered = dict(applied)
    if applied:
        numbers = [a.invoice(i).number or i for i, _m in applied]
        day = max([min(a.invoice(i).issued_on for i, _m in applied),
                   *(c.effective_at.date() for c in a.credits_added)])
        yield (LeakageKind.CREDIT_UNAPPLIED, f"customer credit {a.credit_balance} not applied "
               f"to open {', '.join(numbers)}",
               Money.from_minor(sum(m for _i, m in applied), a.currency), day)
    if not auto_collects(a):
        return
    for inv, balance in open_balances(a):
        if balance <= 0:
            continue  # settled: nothing to collect
        st = collection_state(a, inv.id, policy)
        if st.state is CollectionState.DUE:
            left = st.balance - Money.from_minor(covered.get(inv.id, 0), a.currency)
            if left.minor > 0:
                yield (LeakageKind.NOT_CHARGED, f"Invoice {inv.number}: no charge attempt "
                       f"{st.next_attempt}", left, _payment_day(a, inv))
        elif st.state is CollectionState.RETRY_SCHEDULED and st.retry_on is not None:
            yield (LeakageKind.RETRY_MISSED, f"Invoice {inv.number}: retry (attempt "
                   f"{st.next_attempt}) due {st.retry_on.isoformat()} not made",
                   st.balance, st.retry_on)


def leakage_audit(agreements: Iterable[Agreement], as_of: date, *,
                  policy: RetryPolicy | None = None) -> Table[LeakageRow]:
    """What leaks at the end of ``as_of``: rows by date, agreement and kind.

    Each agreement is replayed to ``as_of``; only what came due before it
    counts (the Biller's run of ``as_of`` may still do the rest).
    ``policy`` is the Biller's retry policy (it dates the retries).  A date
    before an agreement's signing, or an agreement given twice, raises
    :class:`~milestonebill.errors.ValidationError`.

    >>> from datetime import date
    >>> from milestonebill.agreement import Collection, complete_milestone
    >>> from milestonebill.schedule import MilestoneId
    >>> from milestonebill.testing.scenarios import World, proposal
    >>> w = World()  # Monday 2 March 2026
    >>> _ = w.open(proposal([("design", "1000.00")], collection=Collection.SEND_INVOICE),
    ...            payment_method=None)
    >>> done = complete_milestone(w.load(), MilestoneId("design"), by="Ada", at=w.clock.now())
    >>> _ = w.biller.record(w.load().id, [done])  # recorded, never billed
    >>> len(leakage_audit([w.load()], date(2026, 3, 2)))  # today's run may still bill it
    0
    >>> (leak,) = leakage_audit([w.load()], date(2026, 3, 3))
    >>> leak.kind.value, leak.what, str(leak.amount), leak.since
    ('milestone_not_invoiced', 'Design: not invoiced', '1000.00 USD', datetime.date(2026, 3, 2))
    """
    rows: list[LeakageRow] = []
    for a in checked_agreements(agreements):
        then = replayed(a, as_of)
        for kind, what, amount, since in [*_unbilled(then, as_of),
                                          *_uncollected(then, policy),
                                          *_late_fees(then, as_of)]:
            if since < as_of or kind is LeakageKind.ESCALATION_NOT_APPLIED:
                rows.append(LeakageRow(kind, then.id, client_of(then), what, amount, since))
    rows.sort(key=lambda r: (r.since, r.agreement_id, r.kind.value))
    return Table(f"Leakage as of {as_of.isoformat()}", rows)

"""The scenario behind ``milestonebill demo``: one engagement billed end to end, offline.

:func:`plan_demo` is pure: it checks the engagement and decides the script
(signing, completions, the month-ends to run, one soft decline, one
amendment) before anything is written.  At each month-end the walk also
closes the period with :meth:`~milestonebill.engine.Biller.recognise`, so the
ledger shows deferred revenue released as the service is rendered; a credit
that lands on an already-paid invoice becomes customer credit and pays part
of the next invoice (the Biller's default
:class:`~milestonebill.engine.CreditPolicy`).  :func:`run_demo` plays the script
against a :class:`~milestonebill.stores.sqlite.SQLiteStore` file and an
:class:`~milestonebill.gateways.memory.InMemoryGateway` with a
:class:`~milestonebill.clock.FixedClock`, then reads the result back from
the store into a JSON-ready report (amounts as strings).
:func:`render_text` prints that same report for people.

Every id and date is derived from the engagement, so a second run on the
same store finds everything already billed: it issues and charges nothing.

>>> from milestonebill.money import Money
>>> from milestonebill.schedule import BillingSchedule, Milestone, MilestoneId, Trigger
>>> from milestonebill.cli import Engagement
>>> eng = Engagement(BillingSchedule(currency="EUR", milestones=[
...     Milestone(MilestoneId("all"), "All", amount=Money("900.00", "EUR"),
...               trigger=Trigger.ON_SIGNING)]), signed_on=date(2025, 1, 15))
>>> p = plan_demo(eng)
>>> p.signed_on, p.until, p.amendment is None
(datetime.date(2025, 1, 15), datetime.date(2025, 4, 30), True)
>>> p.agreement_id == plan_demo(eng).agreement_id, p.agreement_id[:9]
(True, 'agr-demo-')
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

import attrs

from milestonebill.agreement import (
    Agreement,
    AgreementId,
    Amendment,
    AmendmentApproved,
    AmendmentId,
    AmendmentProposed,
    ChangeRecurringPrice,
    CreditApplied,
    CreditIssued,
    CustomerCreditAdded,
    Event,
    InvoiceIssued,
    MilestoneCompleted,
    PackageOption,
    PaymentFailed,
    PaymentMethodKind,
    PaymentMethodRef,
    PaymentSucceeded,
    Proposal,
    ProposalId,
    ProrationPolicy,
    Signed,
    approve,
    complete_milestone,
    preview,
    propose,
    sign,
)
from milestonebill.clock import FixedClock
from milestonebill.engine import Biller, FirmId, RecognitionSummary, RetryPolicy, RunSummary
from milestonebill.errors import GatewayError, ValidationError
from milestonebill.gateways.base import CustomerRequest, SetupRequest, SetupStatus
from milestonebill.gateways.memory import InMemoryGateway, Scripted, percent_plus_fixed
from milestonebill.invoicing import billing_position, invoice_balance
from milestonebill.ledger import Account
from milestonebill.money import Money, Rounding
from milestonebill.periods import add_months
from milestonebill.schedule import ItemId, MilestoneId, Trigger
from milestonebill.stores.sqlite import SQLiteStore

if TYPE_CHECKING:
    from milestonebill.cli import Engagement

__all__ = ["DemoPlan", "plan_demo", "render_text", "run_demo"]

#: The firm whose invoice numbers the demo issues.
FIRM: Final = FirmId("demo-firm")
#: What the client's browser would hand over: a token, never a card number.
CARD_TOKEN: Final = "tok_visa_4242"
#: The soft decline scripted for the first charge after signing.
SOFT_DECLINE: Final = "insufficient_funds"
#: The in-memory gateway's fee schedule (2.9 % + 0.30, as card processors charge).
FEES: Final = percent_plus_fixed("2.9", 30)
#: The amendment raises the first recurring charge's price by this ratio.
UPLIFT: Final = Decimal("1.2")
_RETRIES: Final = RetryPolicy()
_HOST_HANDLED: Final = (MilestoneCompleted, AmendmentApproved)


def _at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _month_end_after(day: date) -> date:
    first_next = add_months(date(day.year, day.month, 1), 1)
    end = first_next - timedelta(days=1)
    return end if end > day else add_months(first_next, 1) - timedelta(days=1)


def _amount(m: Money) -> str:
    return str(m.amount)


def _shown(amount: str) -> str:
    return f"{Decimal(amount):,}"


@attrs.frozen
class DemoPlan:
    """What the demo will do, decided before anything is written.

    ``completions`` are ``(day, milestone)`` pairs handled in date order;
    ``amendment`` is ``(day, amendment)``, or ``None`` when the schedule has no
    recurring charge or its re-pricing day falls after ``until``.
    """

    engagement: Engagement
    proposal: Proposal
    agreement_id: AgreementId
    signed_on: date
    until: date
    completions: tuple[tuple[date, MilestoneId], ...]
    amendment: tuple[date, Amendment] | None
    signer: str

    @property
    def horizon(self) -> date | None:
        """The contract-value horizon: ``None`` unless a recurring charge is open-ended."""
        open_ended = any(r.end is None and r.count is None
                         for r in self.engagement.schedule.recurring)
        return self.until + timedelta(days=1) if open_ended else None


def _fingerprint(eng: Engagement, signed_on: date) -> str:
    doc = {
        "engagement": eng.name, "client": eng.client, "signed_on": signed_on.isoformat(),
        "completions": {k: v.isoformat() for k, v in sorted(eng.completions.items())},
        "schedule": eng.schedule.to_json(),
    }
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


def _plan_amendment(eng: Engagement, signed_on: date, until: date
                    ) -> tuple[date, Amendment] | None:
    # Eleven days into the third service period of the first recurring charge
    # (or its last one when it has fewer): a cut mid-period, after a few
    # ordinary periods were billed.  The choice ignores ``until``, so runs with
    # different windows on one store agree on the amendment; outside the
    # window there is none.
    s = eng.schedule
    if not s.recurring:
        return None
    r = s.recurring[0]
    charges = s.charges_between(signed_on, add_months(signed_on, 24), signed_on=signed_on,
                                completions=eng.completions)
    starts = [c.on for c in charges if c.item_id == r.id][:3]
    if not starts:
        return None
    day = starts[-1] + timedelta(days=11)
    if day > until:
        return None
    new_price = r.amount.scale(UPLIFT, rounding=Rounding.HALF_UP)
    op = ChangeRecurringPrice(day, ItemId(r.id), new_price, ProrationPolicy.PRORATE_NOW)
    return day, Amendment(AmendmentId(f"am-{r.id}-uplift"), (op,),
                          f"{r.name}: {r.amount} -> {new_price} a period from {day}, prorated")


def plan_demo(eng: Engagement, *, until: date | None = None) -> DemoPlan:
    """Check ``eng`` and decide the demo's script; pure, writes nothing.

    The agreement is signed on the engagement's ``signed_on`` (or the first
    date of its schedule).  Without ``until`` the walk ends at the month-end
    on or after the last dated milestone, and at least three months after
    signing.  Raises :class:`~milestonebill.errors.ValidationError` naming
    the problem (a completion before signing, ``until`` before signing).
    """
    s = eng.schedule
    signed_on = eng.signed_on if eng.signed_on is not None else eng.default_window()[0]
    for mid, day in sorted(eng.completions.items()):
        if day < signed_on:
            raise ValidationError(f"completions.{mid}", f"a date on or after signing ({signed_on})",
                                  day.isoformat())
    if until is None:
        dated = [*eng.completions.values(),
                 *(m.due_on for m in s.milestones
                   if m.trigger is Trigger.ON_DATE and m.due_on is not None)]
        last = max([add_months(signed_on, 3), *dated])
        until = _month_end_after(last - timedelta(days=1))
    elif until < signed_on:
        raise ValidationError("--until", f"a date on or after signing ({signed_on})",
                              until.isoformat())
    aid = AgreementId(f"agr-demo-{_fingerprint(eng, signed_on)}")
    client = eng.client or eng.name or "Demo client"
    proposal = Proposal(ProposalId(f"prop-{aid}"), client, s.currency,
                        (PackageOption("standard", "Standard", s, eng.name),))
    completions = tuple(sorted((day, mid) for mid, day in eng.completions.items()
                               if day <= until))
    return DemoPlan(eng, proposal, aid, signed_on, until, completions,
                    _plan_amendment(eng, signed_on, until), f"{client} (signatory)")


# ------------------------------------------------------------------ the walk


class _Walk:
    """Plays a :class:`DemoPlan` against one store; remembers what this run did."""

    def __init__(self, plan: DemoPlan, store: SQLiteStore, clock: FixedClock,
                 gateway: InMemoryGateway) -> None:
        self.plan = plan
        self.store = store
        self.clock = clock
        self.gateway = gateway
        self.biller = Biller(store, gateway, clock=clock, firm_id=FIRM,
                             retry_policy=_RETRIES)
        self.summaries: list[RunSummary] = []
        self.recognitions: list[RecognitionSummary] = []
        self.preview_of: Agreement | None = None

    def payment_method(self) -> PaymentMethodRef:
        """Create the gateway customer and save the card through the setup flow."""
        aid = self.plan.agreement_id
        customer = self.gateway.create_customer(
            CustomerRequest(reference=aid, name=self.plan.proposal.client))
        setup = self.gateway.save_payment_method(SetupRequest(customer.customer_id, CARD_TOKEN))
        if setup.status is not SetupStatus.SUCCEEDED or setup.payment_method is None:
            raise GatewayError(f"saving the demo card failed: {setup.status.value}")
        return PaymentMethodRef("memory", customer.customer_id,
                                setup.payment_method.payment_method_id, PaymentMethodKind.CARD)

    def play(self) -> None:
        plan, aid = self.plan, self.plan.agreement_id
        self.clock.set(_at(plan.signed_on, 9))
        signed = sign(plan.proposal, option="standard", signer=plan.signer,
                      payment_method=self.payment_method(), agreement_id=aid,
                      signed_at=self.clock.now(), event_id=f"{aid}:signed")
        self.biller.open(signed)
        self.summaries.append(self.biller.run(plan.signed_on))
        # The next charge that really executes is declined once (a soft code),
        # so the retry policy schedules a second attempt that succeeds.  A
        # later run on the same store (say with a later --until) adds no decline.
        if not self.biller.load(aid).failures:
            self.gateway.script_next(Scripted.decline(SOFT_DECLINE,
                                                      "Your card has insufficient funds."))
        host_days = sorted({d for d, _ in plan.completions}
                           | ({plan.amendment[0]} if plan.amendment else set()))
        day = plan.signed_on
        while True:
            candidates = [_month_end_after(day), *(d for d in host_days if d > day)]
            due = self.store.next_due(aid)
            if due is not None and due > day:
                candidates.append(due)
            day = min(candidates)
            if day > plan.until:
                break
            self.clock.set(_at(day, 6))  # the nightly job
            self.summaries.append(self.biller.run(day))
            self.clock.set(_at(day, 10))  # office hours: the host's events
            for when, mid in plan.completions:
                if when == day:
                    self._complete(mid, day)
            if plan.amendment is not None and plan.amendment[0] == day:
                self._amend(day, plan.amendment[1])
            if (day + timedelta(days=1)).day == 1:
                # Period close: release the revenue earned this month.
                self.clock.set(_at(day, 23))
                self.recognitions.append(self.biller.recognise(day, agreement_ids=[aid]))

    def _complete(self, mid: MilestoneId, day: date) -> None:
        aid = self.plan.agreement_id
        a = self.biller.load(aid)
        eid = f"{aid}:complete:{mid}"
        if any(e.event_id == eid for e in a.events):
            return
        e = complete_milestone(a, mid, by=self.plan.signer, at=self.clock.now(),
                               completed_on=day, evidence="signed-off deliverable",
                               event_id=eid)
        self.summaries.append(self.biller.handle(aid, e))

    def _amend(self, day: date, amendment: Amendment) -> None:
        aid = self.plan.agreement_id
        a = self.biller.load(aid)
        pid, okid = f"{aid}:propose:{amendment.id}", f"{aid}:approve:{amendment.id}"
        if not any(e.event_id == pid for e in a.events):
            a = self.biller.record(aid, [propose(a, amendment, by="account manager",
                                                 at=self.clock.now(), event_id=pid)])
        if not any(e.event_id == okid for e in a.events):
            e = approve(a, amendment.id, by=self.plan.signer, at=self.clock.now(),
                        event_id=okid)
            self.summaries.append(self.biller.handle(aid, e))


def run_demo(plan: DemoPlan, db_path: str) -> dict[str, Any]:
    """Play ``plan`` against the SQLite file ``db_path``; the report as JSON-ready data."""
    reused = os.path.exists(db_path)
    clock = FixedClock(_at(plan.signed_on, 9))
    gateway = InMemoryGateway(fees=FEES, clock=clock)
    with SQLiteStore(db_path, clock=clock) as store:
        walk = _Walk(plan, store, clock, gateway)
        walk.play()
        a = walk.biller.load(plan.agreement_id)
        return _report(plan, walk, a, db_path, reused)


# ------------------------------------------------------------------ the report


def _retry_on(a: Agreement, f: PaymentFailed) -> date | None:
    if not f.retryable:
        return None
    earlier = [x for x in a.failures if x.invoice_id == f.invoice_id and x.attempt <= f.attempt]
    return _RETRIES.retry_on(f.effective_at.date(), failures=len(earlier))


def _describe(a: Agreement, e: Event, numbers: dict[str, str]) -> str | None:
    cur = a.currency.code
    if isinstance(e, Signed):
        pm = e.payment_method
        card = "" if pm is None else f", card {pm.payment_method_id} at {pm.customer_id}"
        return f"signed by {e.signer} (option {e.option_id}{card})"
    if isinstance(e, MilestoneCompleted):
        return f"milestone {e.milestone_id} completed"
    if isinstance(e, AmendmentProposed):
        return f"amendment {e.amendment.id} proposed: {e.amendment.description}"
    if isinstance(e, AmendmentApproved):
        return f"amendment {e.amendment_id} approved by {e.approved_by}"
    if isinstance(e, InvoiceIssued):
        inv = e.invoice
        return f"{inv.number} issued: {inv.total.amount:,} {cur}, due {inv.due_on}"
    if isinstance(e, CreditIssued):
        cn = e.credit_note
        return (f"{cn.number} credit note on {numbers.get(cn.credits, cn.credits)}: "
                f"{cn.total.amount:,} {cur} ({cn.reason.value})")
    if isinstance(e, CustomerCreditAdded):
        return (f"{e.amount.amount:,} {cur} owed back on "
                f"{numbers.get(e.invoice_id, e.invoice_id)} held as customer credit")
    if isinstance(e, CreditApplied):
        return (f"customer credit {e.amount.amount:,} {cur} applied to "
                f"{numbers.get(e.invoice_id, e.invoice_id)}")
    if isinstance(e, PaymentSucceeded):
        fee = "" if e.fee is None else f" (gateway fee {e.fee.amount:,})"
        return (f"charge {numbers.get(e.invoice_id, e.invoice_id)} attempt {e.attempt}: "
                f"succeeded, {e.amount.amount:,} {cur}{fee}")
    if isinstance(e, PaymentFailed):
        retry = _retry_on(a, e)
        then = f", retry on {retry}" if retry is not None else ", no retry"
        kind = "soft" if e.retryable else "final"
        return (f"charge {numbers.get(e.invoice_id, e.invoice_id)} attempt {e.attempt}: "
                f"declined ({e.decline_code}, {kind}){then}")
    return None


def _timeline(a: Agreement, numbers: dict[str, str]) -> list[dict[str, Any]]:
    days: dict[str, dict[str, Any]] = {}
    handled: set[str] = set()
    for e in a.events:
        text = _describe(a, e, numbers)
        if text is None:
            continue
        day = e.effective_at.date().isoformat()
        if isinstance(e, _HOST_HANDLED):
            handled.add(day)
        if isinstance(e, Signed):
            via = "open"
        elif isinstance(e, MilestoneCompleted | AmendmentApproved):
            via = "handle"
        elif isinstance(e, AmendmentProposed):
            via = "record"
        else:
            via = "handle" if day in handled else "run"
        entry = days.setdefault(day, {"date": day, "events": []})
        entry["events"].append({"type": type(e).__name__, "via": via, "text": text})
    return list(days.values())


def _lines(lines: Sequence[Any]) -> list[dict[str, Any]]:
    return [{
        "description": ln.description,
        "item": ln.item_key,
        "period": None if ln.period is None
        else f"{ln.period.start.isoformat()}..{ln.period.end.isoformat()}",
        "amount": _amount(ln.amount),
    } for ln in lines]


def _attempts(a: Agreement, numbers: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for x in a.attempts:
        ok = next((p for p in a.payments
                   if p.invoice_id == x.invoice_id and p.attempt == x.attempt), None)
        bad = next((f for f in a.failures
                    if f.invoice_id == x.invoice_id and f.attempt == x.attempt), None)
        status = "succeeded" if ok else "declined" if bad else "in flight"
        out.append({
            "invoice": numbers.get(x.invoice_id, x.invoice_id),
            "attempt": x.attempt,
            "date": x.effective_at.date().isoformat(),
            "amount": _amount(x.amount),
            "status": status,
            "decline_code": None if bad is None else bad.decline_code,
            "retry_on": None if bad is None or _retry_on(a, bad) is None
            else str(_retry_on(a, bad)),
            "gateway_ref": None if ok is None else ok.gateway_reference,
            "fee": None if ok is None or ok.fee is None else _amount(ok.fee),
            "idempotency_key": x.idempotency_key,
        })
    return out


def _amendment(plan: DemoPlan, a: Agreement, numbers: dict[str, str]) -> dict[str, Any] | None:
    if plan.amendment is None:
        return None
    day, am = plan.amendment
    pid = f"{a.id}:propose:{am.id}"
    idx = next((i for i, e in enumerate(a.events) if e.event_id == pid), len(a.events))
    # Priced against the agreement as it stood just before the proposal, so
    # a re-run shows the same preview the first run showed.
    before = Agreement.from_events(a.events[:idx])
    pv = preview(before, am, as_of=day, through=plan.horizon)

    def pline(p: Any) -> dict[str, Any]:
        return {"item": p.key, "description": p.description, "amount": _amount(p.amount),
                "due_on": p.due_on.isoformat(),
                "adjusts": None if p.adjusts is None else numbers.get(p.adjusts, p.adjusts)}

    # The documents that billed the preview's lines, found by plan key.
    charge_keys = {p.key for p in pv.charges}
    credit_keys = {p.key for p in pv.credits}
    invoices = [i for i in a.invoices if any(ln.item_key in charge_keys for ln in i.lines)]
    credits = [c for c in a.credit_notes if any(ln.item_key in credit_keys for ln in c.lines)]
    cur = a.currency
    billed = Money.total((ln.amount for i in invoices for ln in i.lines
                          if ln.item_key in charge_keys), currency=cur)
    credited = Money.total((ln.amount for c in credits for ln in c.lines
                            if ln.item_key in credit_keys), currency=cur)
    approved = next((e for e in a.events if isinstance(e, AmendmentApproved)
                     and e.amendment_id == am.id), None)
    return {
        "id": am.id,
        "description": am.description,
        "as_of": day.isoformat(),
        "charges": [pline(p) for p in pv.charges],
        "credits": [pline(p) for p in pv.credits],
        "charges_total": _amount(pv.charges_total),
        "credits_total": _amount(pv.credits_total),
        "contract_value_before": _amount(pv.contract_value_before),
        "contract_value_after": _amount(pv.contract_value_after),
        "value_change": _amount(pv.value_change),
        "schedule_changes": len(pv.changes),
        "approved_on": None if approved is None else approved.effective_at.date().isoformat(),
        "invoices": [i.number for i in invoices],
        "credit_notes": [c.number for c in credits],
        "billed_as_previewed": billed == pv.charges_total and credited == pv.credits_total,
    }


def _ledger(store: SQLiteStore, a: Agreement) -> dict[str, Any]:
    by: dict[str, int] = {}
    debits = credits = 0
    entries = store.entries(agreement_id=a.id)
    for entry in entries:
        for line in entry.lines:
            by[line.account.value] = by.get(line.account.value, 0) + line.signed_minor
            if line.signed_minor > 0:
                debits += line.signed_minor
            else:
                credits -= line.signed_minor
    cur = a.currency
    order = [acct.value for acct in Account if acct.value in by]
    prefix = f"{a.id}:recognition:"
    releases = [e for e in entries if e.id.startswith(prefix)]
    released = -sum(ln.signed_minor for e in releases for ln in e.lines
                    if ln.account is Account.REVENUE)
    return {
        "entries": len(entries),
        "balances": {k: _amount(Money.from_minor(by[k], cur)) for k in order},
        "debits": _amount(Money.from_minor(debits, cur)),
        "credits": _amount(Money.from_minor(credits, cur)),
        "balanced": debits == credits and sum(by.values()) == 0,
        "recognition": {
            "releases": len(releases),
            "last": max((e.posted_on.isoformat() for e in releases), default=None),
            "released": _amount(Money.from_minor(released, cur)),
            "deferred_left": _amount(Money.from_minor(-by.get("deferred_revenue", 0), cur)),
        },
    }


def _report(plan: DemoPlan, walk: _Walk, a: Agreement, db_path: str,
            reused: bool) -> dict[str, Any]:
    store = walk.store
    numbers: dict[str, str] = {i.id: i.number or i.id for i in a.invoices}
    numbers.update({c.id: c.number or c.id for c in a.credit_notes})
    pm = a.payment_method
    assert pm is not None
    notes = [n for n in store.pending_notifications(limit=1_000_000)
             if n.agreement_id == a.id]
    pos = billing_position(a, through=plan.horizon)
    # A store may hold other agreements (another --file); count only this one.
    this_run_attempts = sum(1 for s in walk.summaries for c in (*s.charges, *s.reconciled)
                            if c.agreement_id == a.id)
    problems = [{"agreement": p.agreement_id, "error": p.error, "message": p.message}
                for s in walk.summaries for p in s.problems]
    return {
        "engagement": plan.engagement.name,
        "client": plan.proposal.client,
        "currency": a.currency.code,
        "db": db_path,
        "db_reused": reused,
        "agreement_id": a.id,
        "firm_id": FIRM,
        "signed_on": plan.signed_on.isoformat(),
        "until": plan.until.isoformat(),
        "payment_method": {"gateway": pm.gateway, "customer_id": pm.customer_id,
                           "payment_method_id": pm.payment_method_id, "kind": pm.kind.value,
                           "token": CARD_TOKEN},
        "timeline": _timeline(a, numbers),
        "amendment": _amendment(plan, a, numbers),
        "invoices": [{
            "number": i.number, "id": i.id, "issued_on": i.issued_on.isoformat(),
            "due_on": i.due_on.isoformat(), "lines": _lines(i.lines),
            "subtotal": _amount(i.subtotal), "tax": _amount(i.tax_total),
            "total": _amount(i.total), "balance": _amount(invoice_balance(a, i.id)),
            "credit_applied": _amount(Money.total(
                (c.amount for c in a.credits_applied if c.invoice_id == i.id), currency=a.currency)),
        } for i in a.invoices],
        "credit_notes": [{
            "number": c.number, "id": c.id, "issued_on": c.issued_on.isoformat(),
            "credits": numbers.get(c.credits, c.credits), "reason": c.reason.value,
            "lines": _lines(c.lines), "total": _amount(c.total),
        } for c in a.credit_notes],
        "charges": _attempts(a, numbers),
        "customer_credit": {
            "added": _amount(Money.total((c.amount for c in a.credits_added), currency=a.currency)),
            "applied": _amount(Money.total((c.amount for c in a.credits_applied),
                                           currency=a.currency)),
            "outstanding": _amount(a.credit_balance),
        },
        "position": {"invoiced": _amount(pos.invoiced), "credited": _amount(pos.credited),
                     "scheduled": _amount(pos.scheduled),
                     "contract_value": _amount(pos.contract_value),
                     "balanced": pos.balanced},
        "ledger": _ledger(store, a),
        "outbox": {"notifications": len(notes),
                   "by_kind": dict(sorted(Counter(n.kind for n in notes).items()))},
        "this_run": {
            "invoices_issued": sum(1 for s in walk.summaries for i in s.invoices
                                   if i.agreement_id == a.id),
            "credit_notes_issued": sum(1 for s in walk.summaries for c in s.credit_notes
                                       if c.agreement_id == a.id),
            "charge_attempts": this_run_attempts,
            "gateway_charges": sum(1 for c in walk.gateway.charges if c.agreement_id == a.id),
            "recognition_entries": sum(len(r.entries) for r in walk.recognitions),
            "problems": problems,
        },
    }


def render_text(r: dict[str, Any]) -> str:
    """The report of :func:`run_demo` for people (the ``--json`` data, laid out)."""
    cur = r["currency"]
    out: list[str] = []
    w = out.append
    title = r["engagement"] or r["agreement_id"]
    w(f"milestonebill demo: {title} ({r['client']})")
    state = "existing file, re-run" if r["db_reused"] else "new file"
    w(f"store    SQLite {r['db']} ({state})")
    pm = r["payment_method"]
    w(f"gateway  in-memory; customer {pm['customer_id']}, card {pm['payment_method_id']} "
      f"saved from token {pm['token']}")
    w(f"walk     agreement {r['agreement_id']}, {r['signed_on']} to {r['until']}, "
      f"amounts in {cur}")
    w("")
    w("Timeline (what the store holds, by day)")
    for day in r["timeline"]:
        for k, ev in enumerate(day["events"]):
            w(f"  {day['date'] if k == 0 else '':<10}  {ev['via']:<6}  {ev['text']}")
    am = r["amendment"]
    if am is not None:
        w("")
        w(f"Amendment {am['id']} -- preview as of {am['as_of']}, before approval")
        w(f"  {am['description']}")
        for kind, rows in (("charge", am["charges"]), ("credit", am["credits"])):
            for p in rows:
                against = f" against {p['adjusts']}" if p["adjusts"] else ""
                w(f"  {kind:<6}  {p['item']:<24} {_shown(p['amount']):>12}  "
                  f"due {p['due_on']}{against}")
        w(f"  contract value {_shown(am['contract_value_before'])} -> "
          f"{_shown(am['contract_value_after'])} ({_shown(am['value_change'])}; "
          f"{am['schedule_changes']} schedule items change)")
        billed = ", ".join([*am["invoices"], *am["credit_notes"]]) or "nothing yet"
        same = "exactly as previewed" if am["billed_as_previewed"] else "NOT as previewed"
        w(f"  due now: charges {_shown(am['charges_total'])} - credits "
          f"{_shown(am['credits_total'])}")
        w(f"  approved {am['approved_on']}; billed {billed}, {same}")
    w("")
    w("Invoices")
    for inv in r["invoices"]:
        paid_by_credit = ("" if Decimal(inv["credit_applied"]) == 0
                          else f", credit applied {_shown(inv['credit_applied'])}")
        w(f"  {inv['number']}  {inv['issued_on']}  due {inv['due_on']}  "
          f"total {_shown(inv['total'])} {cur}  (balance {_shown(inv['balance'])}"
          f"{paid_by_credit})")
        for ln in inv["lines"]:
            w(f"      {ln['description']:<50} {_shown(ln['amount']):>12}")
    for cn in r["credit_notes"]:
        w(f"  {cn['number']}  {cn['issued_on']}  credits {cn['credits']} ({cn['reason']})  "
          f"total {_shown(cn['total'])} {cur}")
        for ln in cn["lines"]:
            w(f"      {ln['description']:<50} {_shown(ln['amount']):>12}")
    w("")
    w("Charge attempts")
    for c in r["charges"]:
        detail = f"fee {_shown(c['fee'])}" if c["fee"] else (c["decline_code"] or "")
        if c["retry_on"]:
            detail += f", retry on {c['retry_on']}"
        w(f"  {c['date']}  {c['invoice']} #{c['attempt']}  {_shown(c['amount']):>12}  "
          f"{c['status']:<9}  {detail}".rstrip())
    cc = r["customer_credit"]
    w("")
    w(f"Customer credit  added {_shown(cc['added'])}, applied {_shown(cc['applied'])}, "
      f"outstanding {_shown(cc['outstanding'])} {cur}")
    p = r["position"]
    w("")
    w(f"Billing position  invoiced {_shown(p['invoiced'])} - credited {_shown(p['credited'])} "
      f"+ scheduled {_shown(p['scheduled'])} = contract value {_shown(p['contract_value'])}"
      f" ({'balanced' if p['balanced'] else 'NOT balanced'})")
    led = r["ledger"]
    w("")
    w(f"Ledger ({led['entries']} entries, debit minus credit, {cur})")
    for acct, amount in led["balances"].items():
        w(f"  {acct:<18} {_shown(amount):>12}")
    verdict = "balanced" if led["balanced"] else "NOT BALANCED"
    w(f"  debits {_shown(led['debits'])} = credits {_shown(led['credits'])}: {verdict}")
    rec = led["recognition"]
    w(f"  recognition: {rec['releases']} month-end release(s) through {rec['last']}, "
      f"{_shown(rec['released'])} released to revenue, {_shown(rec['deferred_left'])} "
      "still deferred")
    ob = r["outbox"]
    kinds = ", ".join(f"{k} {n}" for k, n in ob["by_kind"].items())
    w("")
    w(f"Outbox   {ob['notifications']} notifications ({kinds})")
    t = r["this_run"]
    w(f"This run {t['invoices_issued']} invoice(s) and {t['credit_notes_issued']} credit "
      f"note(s) issued, {t['charge_attempts']} charge attempt(s), {t['gateway_charges']} "
      f"charge(s) reached the gateway, {t['recognition_entries']} revenue release(s) posted")
    for prob in t["problems"]:
        w(f"PROBLEM  {prob['agreement']}: {prob['error']}: {prob['message']}")
    if r["db_reused"] and not t["invoices_issued"] and not t["gateway_charges"]:
        w("         (everything was already in the store: nothing billed or charged twice)")
    else:
        w(f"         run again with --db {r['db']} to see that nothing is billed twice")
    return "\n".join(out) + "\n"

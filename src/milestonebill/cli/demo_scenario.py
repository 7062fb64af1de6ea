"""The scenario behind ``milestonebill demo``: one engagement billed end to end, offline.

:func:`plan_demo` is pure: it checks the engagement and decides the script
(signing, completions, the month-ends to run, one soft decline, one
amendment) before anything is written.  At each month-end the walk also
closes the period with :meth:`~milestonebill.engine.Biller.recognise`, so the
books show revenue as the work earns it, not as it is invoiced; a credit
that lands on an already-paid invoice becomes customer credit and pays part
of the next invoice (the Biller's default
:class:`~milestonebill.engine.CreditPolicy`).  :func:`played` plays the script
against a :class:`~milestonebill.stores.sqlite.SQLiteStore` file and an
:class:`~milestonebill.gateways.memory.InMemoryGateway` with a
:class:`~milestonebill.clock.FixedClock` and hands over the :class:`DemoWalk`
while the store is open; :mod:`milestonebill.cli.demo_report` reads the
result back from it.

Every id and date is derived from the engagement, so a second run on the
same store finds everything already billed: it issues and charges nothing.

>>> from milestonebill.money import Money
>>> from milestonebill.schedule import BillingSchedule, Milestone, MilestoneId, Trigger
>>> from milestonebill.cli.engagement import Engagement
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Final

import attrs

from milestonebill.agreement import (
    AgreementId,
    Amendment,
    AmendmentId,
    ChangeRecurringPrice,
    PackageOption,
    PaymentMethodKind,
    PaymentMethodRef,
    Proposal,
    ProposalId,
    ProrationPolicy,
    approve,
    complete_milestone,
    propose,
    sign,
)
from milestonebill.cli.engagement import Engagement
from milestonebill.clock import FixedClock
from milestonebill.engine import Biller, FirmId, RecognitionSummary, RetryPolicy, RunSummary
from milestonebill.errors import GatewayError, ValidationError
from milestonebill.gateways.base import CustomerRequest, SetupRequest, SetupStatus
from milestonebill.gateways.memory import InMemoryGateway, Scripted, percent_plus_fixed
from milestonebill.money import Rounding
from milestonebill.periods import add_months
from milestonebill.schedule import ItemId, MilestoneId, Trigger
from milestonebill.stores.sqlite import SQLiteStore

__all__ = [
    "CARD_TOKEN",
    "FEES",
    "FIRM",
    "SOFT_DECLINE",
    "UPLIFT",
    "DemoPlan",
    "DemoWalk",
    "plan_demo",
    "played",
]

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


def _at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _month_end_after(day: date) -> date:
    first_next = add_months(date(day.year, day.month, 1), 1)
    end = first_next - timedelta(days=1)
    return end if end > day else add_months(first_next, 1) - timedelta(days=1)


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

    The agreement is signed on the engagement's ``signed_on`` (required).  Without ``until`` the walk ends at the month-end
    on or after the last dated milestone, and at least three months after
    signing.  Raises :class:`~milestonebill.errors.ValidationError` naming
    the problem (a completion before signing, ``until`` before signing).
    """
    s = eng.schedule
    if eng.signed_on is None:
        raise ValidationError("signed_on", "the date the engagement was signed", None,
                              "'signed_on' is missing: the demo signs the engagement on that "
                              "date (give an engagement object with signed_on, not a bare "
                              "schedule)")
    signed_on = eng.signed_on
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


class DemoWalk:
    """Plays a :class:`DemoPlan` against one store; remembers what this run did.

    ``summaries`` and ``recognitions`` hold what each ``Biller`` call of this
    run returned; the store holds everything, earlier runs' work included.
    """

    def __init__(self, plan: DemoPlan, store: SQLiteStore, clock: FixedClock,
                 gateway: InMemoryGateway) -> None:
        self.plan = plan
        self.store = store
        self.clock = clock
        self.gateway = gateway
        self.biller = Biller(store, gateway, clock=clock, firm_id=FIRM,
                             retry_policy=RetryPolicy())
        self.summaries: list[RunSummary] = []
        self.recognitions: list[RecognitionSummary] = []

    def payment_method(self) -> PaymentMethodRef:
        """Create the gateway customer and save the card through the setup flow.

        Raises :class:`~milestonebill.errors.GatewayError` if the in-memory
        gateway does not save the demo card.
        """
        aid = self.plan.agreement_id
        customer = self.gateway.create_customer(
            CustomerRequest(reference=aid, name=self.plan.proposal.client))
        setup = self.gateway.save_payment_method(SetupRequest(customer.customer_id, CARD_TOKEN))
        if setup.status is not SetupStatus.SUCCEEDED or setup.payment_method is None:
            raise GatewayError(f"saving the demo card failed: {setup.status.value}")
        return PaymentMethodRef("memory", customer.customer_id,
                                setup.payment_method.payment_method_id, PaymentMethodKind.CARD)

    def play(self, progress: Callable[[int], None] | None = None) -> None:
        """Sign, then walk the timeline to ``plan.until`` (skipping what the store has);
        ``progress`` hears how many days of the walk are done."""
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
            if progress is not None:
                progress((day - plan.signed_on).days)
            self.clock.set(_at(day, 6))  # the nightly job
            self.summaries.append(self.biller.run(day))
            self.clock.set(_at(day, 10))  # office hours: the host's events
            for when, mid in plan.completions:
                if when == day:
                    self._complete(mid, day)
            if plan.amendment is not None and plan.amendment[0] == day:
                self._amend(day, plan.amendment[1])
            if (day + timedelta(days=1)).day == 1:
                # Period close: post the revenue the work earned this month.
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


@contextmanager
def played(plan: DemoPlan, db_path: str, *,
           progress: Callable[[int], None] | None = None) -> Iterator[DemoWalk]:
    """Play ``plan`` against the SQLite file ``db_path`` (created if missing) and
    yield the walk while its store is still open (``progress``: see
    :meth:`DemoWalk.play`)."""
    clock = FixedClock(_at(plan.signed_on, 9))
    gateway = InMemoryGateway(fees=FEES, clock=clock)
    with SQLiteStore(db_path, clock=clock) as store:
        walk = DemoWalk(plan, store, clock, gateway)
        walk.play(progress)
        if progress is not None:
            progress((plan.until - plan.signed_on).days + 1)
        yield walk

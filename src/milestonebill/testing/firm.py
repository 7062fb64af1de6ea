"""A generated firm: a few hundred engagements billed day by day for two years.

The data set the reports are tied to the ledger on (and a realistic
workload for notebooks and benchmarks).  :func:`generated_firm` signs a
deterministic mix of engagements -- milestone projects (a deposit on
signing, deliverables completed over the months, some dated; a few amended,
a few cancelled), retainers with a yearly escalation (cards and bank
debits, some open-ended), projects measured by hours -- some paid by card,
some sent as invoices that clients pay late or never.  It then walks every
day: completions and hours as they happen, the nightly ``run``, payments of
sent invoices when their clients pay, an occasional partial refund of a
card payment, and ``recognise`` at each month end.  With
``write_off_after_days`` a sent invoice still unpaid that many days after
it was issued is written off (clients who pay later than that recover it).
Same seed, same firm.

>>> firm = generated_firm(agreements=6, months=3, seed=3)
>>> len(firm.agreement_ids), firm.through
(6, datetime.date(2024, 3, 31))
>>> sum(m.minor for m in firm.store.balances(currency="USD").values())
0
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import attrs

from milestonebill.agreement import (
    Agreement,
    ApprovalRules,
    ChangeMilestoneAmount,
    Collection,
    ObligationTerms,
    PackageOption,
    PaymentMethodKind,
    PaymentMethodRef,
    Progress,
    Proposal,
    ProposalId,
    cancel,
    complete_milestone,
    propose,
    report_progress,
    sign,
)
from milestonebill.agreement import Amendment as AmendmentSpec
from milestonebill.clock import FixedClock
from milestonebill.engine import Biller, RunSummary
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.ids import (
    AgreementId,
    AmendmentId,
    FirmId,
    InvoiceId,
    MilestoneId,
    ObligationId,
)
from milestonebill.invoicing import invoice_balance
from milestonebill.money import Currency, Money, Rounding
from milestonebill.periods import add_months
from milestonebill.refunds import refundable
from milestonebill.schedule import (
    BillingSchedule,
    Escalation,
    Interval,
    ItemId,
    Milestone,
    RecurringCharge,
    Trigger,
)
from milestonebill.stores.base import BillingStore
from milestonebill.stores.memory import InMemoryStore

__all__ = ["Firm", "generated_firm"]

_USD = Currency.of("USD")


@attrs.define
class Firm:
    """The generated firm: its store (ledger included), gateway, Biller and plans."""

    store: BillingStore
    gateway: InMemoryGateway
    biller: Biller
    clock: FixedClock
    start: date
    through: date
    agreement_ids: list[AgreementId] = attrs.Factory(list)
    #: What the walk does on a day: (agreement, kind, detail).
    script: dict[date, list[tuple[AgreementId, str, Any]]] = attrs.Factory(dict)
    #: Days each send-invoice agreement takes to pay (None: never).
    pays_after: dict[AgreementId, int | None] = attrs.Factory(dict)
    #: Days after issue a sent invoice still unpaid is written off (None: never).
    write_off_after: int | None = None

    def load(self, agreement_id: AgreementId) -> Agreement:
        """The agreement as stored."""
        return self.biller.load(agreement_id)

    def agreements(self) -> list[Agreement]:
        """Every agreement of the firm, as stored."""
        return [self.load(a) for a in self.agreement_ids]


def _money(rng: random.Random, low: int, high: int, step: int = 100) -> Money:
    return Money(rng.randrange(low // step, high // step + 1) * step, _USD)


def _project(rng: random.Random, n: int, signed: date, hours: bool) -> tuple[Proposal, list[
        tuple[date, str, Any]]]:
    fee = _money(rng, 6_000, 120_000)
    parts = rng.randint(2, 4)
    share = Decimal(80) / parts
    # The last share takes what division rounded off, so the percentages add
    # up to exactly 100 (the schedule sums them exactly).
    shares = [share] * (parts - 1) + [Decimal(80) - share * (parts - 1)]
    deliverables = [Milestone(MilestoneId(f"d{i}"), f"Deliverable {i + 1}", percent=p)
                    for i, p in enumerate(shares)]
    deposit = Milestone(MilestoneId("deposit"), "Deposit", percent=Decimal(20),
                        trigger=Trigger.ON_SIGNING)
    schedule = BillingSchedule(currency=_USD, fee=fee, milestones=[deposit, *deliverables])
    events: list[tuple[date, str, Any]] = []
    day = signed
    for m in deliverables:
        day += timedelta(days=rng.randint(15, 120))
        events.append((day, "complete", m.id))
    obligations: tuple[ObligationTerms, ...] = ()
    if hours:
        total = rng.randint(100, 600)
        obligations = (ObligationTerms(ObligationId("work"), "The work", Progress.HOURS,
                                       items=("deposit", *(m.id for m in deliverables)),
                                       estimate=total),)
        done = 0
        month_end = add_months(signed.replace(day=1), 1) - timedelta(days=1)
        while done < total and month_end <= day:
            done = min(total, done + rng.randint(total // 10, total // 3))
            events.append((month_end, "hours", done))
            month_end = add_months(month_end.replace(day=1), 2) - timedelta(days=1)
    if rng.random() < 0.2:
        events.append((signed + timedelta(days=rng.randint(20, 90)), "reprice",
                       (deliverables[-1].id, Decimal(rng.choice([80, 90, 110, 125])) / 100)))
    if rng.random() < 0.08:
        events.append((signed + timedelta(days=rng.randint(30, 200)), "cancel", None))
    option = PackageOption("std", "Project", schedule, obligations=obligations)
    return _proposal(n, option), events


def _retainer(rng: random.Random, n: int, signed: date) -> Proposal:
    price = _money(rng, 1_000, 8_000, 50)
    count = rng.choice([12, 18, 24, None])
    charge = RecurringCharge(ItemId("retainer"), "Retainer", price, Interval.MONTHLY,
                             start=signed, count=count, escalations=(
                                 Escalation(percent=Decimal(3), step=Decimal(1)),))
    option = PackageOption("std", "Retainer",
                           BillingSchedule(currency=_USD, recurring=[charge]))
    return _proposal(n, option)


def _proposal(n: int, option: PackageOption, collection: Collection = Collection.AUTO_CHARGE
              ) -> Proposal:
    return Proposal(ProposalId(f"p-{n:04d}"), f"Client {n:04d}", _USD, (option,),
                    collection=collection,
                    approval=ApprovalRules(require_client_approval=False))


def _days(start: date, end: date) -> Iterator[date]:
    d = start
    while d <= end:
        yield d
        d += timedelta(days=1)


def _at(d: date, hour: int) -> datetime:
    return datetime.combine(d, time(hour), tzinfo=UTC)


def generated_firm(agreements: int = 200, *, months: int = 24, seed: int = 1,
                   start: date = date(2024, 1, 1), store: BillingStore | None = None,
                   write_off_after_days: int | None = None) -> Firm:
    """Sign ``agreements`` engagements over the first half of ``months`` and bill
    them day by day through the last day of the last month (writing off sent
    invoices unpaid ``write_off_after_days`` after issue, if given)."""
    rng = random.Random(seed)
    clock = FixedClock(_at(start, 8))
    gateway = InMemoryGateway()
    st = store if store is not None else InMemoryStore(clock=clock)
    biller = Biller(st, gateway, clock=clock, firm_id=FirmId("firm"))
    through = add_months(start, months) - timedelta(days=1)
    firm = Firm(st, gateway, biller, clock, start, through,
                write_off_after=write_off_after_days)
    span = max((through - start).days // 2, 1)
    for n in range(agreements):
        signed = start + timedelta(days=rng.randrange(span))
        firm.script.setdefault(signed, []).append((AgreementId(f"agr-{n:04d}"), "sign", n))
    for day in _days(start, through):
        _walk_day(firm, rng, day)
    return firm


def _sign(firm: Firm, rng: random.Random, aid: AgreementId, n: int, day: date) -> None:
    kind = rng.random()
    events: list[tuple[date, str, Any]] = []
    if kind < 0.55:
        proposal, events = _project(rng, n, day, hours=kind < 0.12)
    else:
        proposal = _retainer(rng, n, day)
    method: PaymentMethodRef | None = None
    if rng.random() < 0.3:
        proposal = attrs.evolve(proposal, collection=Collection.SEND_INVOICE)
        firm.pays_after[aid] = rng.choice([5, 14, 30, 45, 75, None])
    else:
        bank = rng.random() < 0.2
        method = PaymentMethodRef("memory", f"cus-{n}", f"pm-{n}",
                                  PaymentMethodKind.BANK_DEBIT if bank
                                  else PaymentMethodKind.CARD)
    firm.biller.open(sign(proposal, option="std", signer="Client", payment_method=method,
                          agreement_id=aid, signed_at=firm.clock.now()))
    firm.agreement_ids.append(aid)
    for when, what, detail in events:
        firm.script.setdefault(when, []).append((aid, what, detail))


def _act(firm: Firm, aid: AgreementId, what: str, detail: Any) -> RunSummary | None:
    a = firm.load(aid)
    now = firm.clock.now()
    if what == "pay":
        _pay(firm, a, detail)
        return None
    if what == "write_off":
        if invoice_balance(a, InvoiceId(detail)).minor > 0:
            firm.biller.write_off(InvoiceId(detail), reason="no answer to reminders")
        return None
    if not a.state.amendable:
        return None
    if what == "complete" and MilestoneId(detail) not in a.completions and any(
            t.milestone.id == detail for t in a.milestones):
        return firm.biller.handle(aid, complete_milestone(a, MilestoneId(detail), by="Lead",
                                                          at=now))
    if what == "hours":
        firm.biller.record(aid, [report_progress(a, "work", detail, as_of=now.date(), at=now)])
    elif what == "reprice":
        mid, factor = detail
        term = next((t for t in a.milestones if t.milestone.id == mid), None)
        if term is not None and term.milestone.amount is not None:
            amount = term.milestone.amount.scale(factor, rounding=Rounding.HALF_UP)
            op = ChangeMilestoneAmount(now.date(), MilestoneId(mid), amount)
            return firm.biller.handle(aid, propose(a, AmendmentSpec(AmendmentId("reprice"),
                                                                    (op,)), by="Lead", at=now))
    elif what == "cancel":
        firm.biller.record(aid, [cancel(a, at=now)])
        return firm.biller.bill(aid)
    return None


def _pay(firm: Firm, a: Agreement, invoice_id: str) -> None:
    """A send-invoice client pays what is left of an invoice (written off or not: it
    does not know); now and then a paid card invoice is partly refunded."""
    left = invoice_balance(a, InvoiceId(invoice_id)) + a.written_off(invoice_id)
    if left.minor > 0:
        firm.biller.record_payment(InvoiceId(invoice_id), left, reference=f"bank-{invoice_id}")


def _schedule_payments(firm: Firm, rng: random.Random, summary: RunSummary | None) -> None:
    for inv in () if summary is None else summary.invoices:
        aid = AgreementId(inv.agreement_id)
        after = firm.pays_after.get(aid)
        if after is not None:
            when = inv.issued_on + timedelta(days=after)
            firm.script.setdefault(when, []).append((aid, "pay", inv.id))
        if aid in firm.pays_after and firm.write_off_after is not None:
            when = inv.issued_on + timedelta(days=firm.write_off_after)
            firm.script.setdefault(when, []).append((aid, "write_off", inv.id))
    for charge in () if summary is None else summary.charges:
        if charge.status.value == "succeeded" and rng.random() < 0.02:
            when = firm.clock.today() + timedelta(days=rng.randint(3, 40))
            firm.script.setdefault(when, []).append((charge.agreement_id, "refund",
                                                     charge.invoice_id))


def _refund(firm: Firm, aid: AgreementId, invoice_id: str) -> None:
    a = firm.load(aid)
    room = refundable(a, InvoiceId(invoice_id))
    if room.minor > 3:
        firm.biller.refund(InvoiceId(invoice_id), Money.from_minor(room.minor // 4, _USD),
                           reason="goodwill")


def _walk_day(firm: Firm, rng: random.Random, day: date) -> None:
    firm.clock.set(_at(day, 8))
    todo = firm.script.get(day, [])
    for aid, what, detail in todo:
        if what == "sign":
            _sign(firm, rng, aid, detail, day)
    _schedule_payments(firm, rng, firm.biller.run(day))
    firm.clock.set(_at(day, 12))
    for aid, what, detail in list(todo):
        if what == "refund":
            _refund(firm, aid, detail)
        elif what != "sign":
            _schedule_payments(firm, rng, _act(firm, aid, what, detail))
    if (day + timedelta(days=1)).day == 1:
        firm.clock.set(_at(day, 23))
        firm.biller.recognise(day)

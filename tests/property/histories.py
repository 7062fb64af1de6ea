"""Random agreements of every kind lived through random days: amendments of every
kind (credits included), billing runs, completions, pauses and refunds, for the
properties that compare the forecasts' columns and shortcuts with their
reference (shared by several test modules).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import attrs
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from milestonebill.agreement import (
    Agreement,
    AgreementId,
    AgreementState,
    Amendment,
    AmendmentId,
    Collection,
    CreditIssued,
    Proposal,
    apply,
    complete_milestone,
    pause,
    propose,
    resume,
    sign,
)
from milestonebill.errors import AmendmentError, ValidationError
from milestonebill.invoicing import (
    refund_credit_note,
)
from milestonebill.money import Money
from milestonebill.schedule import (
    Escalation,
)
from milestonebill.testing.scenarios import CARD, bill_due
from milestonebill.testing.strategies import amendment_operations, offers

START = date(2024, 1, 1)
EXAMPLES = settings(max_examples=50, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def noon(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, 12, tzinfo=UTC)


def fresh(a: Agreement) -> Agreement:
    """A copy that has worked nothing out yet (as if just loaded from a store)."""
    return attrs.evolve(a)


@st.composite
def escalated(draw: st.DrawFn, p: Proposal) -> Proposal:
    """``p`` with a price uplift on some recurring charges (on a date, or yearly)."""
    options = []
    for o in p.options:
        charges = []
        for charge in o.schedule.recurring:
            when = draw(st.none() | st.integers(20, 400))
            if when is not None:
                up = (Escalation(percent=Decimal(draw(st.integers(1, 9))),
                                 dates=(charge.start + timedelta(days=when),))
                      if draw(st.booleans()) else Escalation(percent=Decimal(3)))
                charges.append(attrs.evolve(charge, escalations=(up,)))
            else:
                charges.append(charge)
        options.append(attrs.evolve(o, schedule=attrs.evolve(o.schedule, recurring=charges)))
    return attrs.evolve(p, options=tuple(options))




def refund(a: Agreement, d: date, data: st.DataObject) -> Agreement:
    """A refund credit note of part of an invoice that has room for one."""
    room = [i for i in a.invoices
            if i.subtotal.minor - sum(c.subtotal.minor for c in a.credit_notes
                                      if c.credits == i.id) > 0]
    if not room:
        return a
    inv = data.draw(st.sampled_from(room))
    amount = Money.from_minor(data.draw(st.integers(1, inv.subtotal.minor)), a.currency)
    cn = refund_credit_note(a, inv.id, amount, issued_on=d)
    cn = attrs.evolve(cn, number=f"CN-{len(a.credit_notes) + 1:05d}")
    return apply(a, CreditIssued(f"cn-{cn.id}", a.version + 1, noon(d), cn))


def amend(a: Agreement, today: date, n: int, data: st.DataObject) -> Agreement:
    """One or two amendment operations of any kind, approved (when they apply)."""
    ops = tuple(data.draw(amendment_operations(a, today, n, start=START, terms=True))
                for _ in range(data.draw(st.integers(1, 2))))
    try:
        return apply(a, propose(a, Amendment(AmendmentId(f"am{n}"), ops), by="pm",
                                at=noon(today)))
    except (AmendmentError, ValidationError):
        return a  # an operation that does not apply to the agreement as it stands


def _step(a: Agreement, today: date, n: int, data: st.DataObject) -> Agreement:
    action = data.draw(st.sampled_from(["amend", "amend", "amend", "bill", "bill", "bill",
                                        "complete", "refund", "pause"]))
    if action == "amend":
        return amend(a, today, n, data)
    if action == "bill":
        return bill_due(a, today)
    if action == "refund":
        return refund(a, today, data)
    if action == "complete":
        waiting = [t.milestone.id for t in a.milestones if t.milestone.id not in a.completions]
        if waiting and a.state in (AgreementState.ACTIVE, AgreementState.PAUSED):
            return apply(a, complete_milestone(a, data.draw(st.sampled_from(waiting)), by="pm",
                                               at=noon(today)))
        return a
    if a.state is AgreementState.ACTIVE:
        return apply(a, pause(a, at=noon(today)))
    if a.state is AgreementState.PAUSED:
        return apply(a, resume(a, at=noon(today)))
    return a


def lived(data: st.DataObject) -> tuple[Agreement, date]:
    """A random agreement lived through random days, and the last of them."""
    card = data.draw(st.booleans())
    p = data.draw(offers(start=START, terms=True, collection=Collection.AUTO_CHARGE if card
                         else Collection.SEND_INVOICE))
    p = data.draw(escalated(p))
    a = sign(p, option="a", signer="S", signed_at=noon(START),
             payment_method=CARD if card else None, agreement_id=AgreementId("agr"))
    a = bill_due(a, START)
    today = START
    for n in range(data.draw(st.integers(0, 10))):
        today += timedelta(days=data.draw(st.integers(0, 45)))
        a = _step(a, today, n, data)
        if a.state is AgreementState.CANCELLED and data.draw(st.booleans()):
            break
    if a.state is AgreementState.PAUSED and data.draw(st.booleans()):
        a = apply(a, resume(a, at=noon(today)))
    if len(a.invoices) > 0 and data.draw(st.booleans()):  # changes to what was billed: credits
        a = amend(a, today, 99, data)
    return a, today

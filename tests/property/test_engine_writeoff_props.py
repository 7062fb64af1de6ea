"""Properties of write-offs, recoveries, forfeited credit, reminders and late fees.

Random agreements (milestones in USD, JPY or KWD), sent as invoices (with a
random late-fee term and the default reminders) or charged to a card (with
random gateway outcomes), live through random steps: milestones completed
and re-priced, payments by hand (part, all, or more -- also on written-off
invoices), write-offs of part or all of a balance, forfeits of customer
credit, runs, sometimes a cancellation.  After any history, in minor units:

* the billing plan is untouched by write-offs: invoiced - credited + still
  scheduled == contract value (tax excluded), write-offs neither add nor
  take anything (a credit loss is not a price change);
* what was invoiced splits exactly: per invoice, total - credit notes ==
  paid - refunded + credit applied - credit moved out + written off (net of
  recoveries) + balance; written off (net) is never negative;
* the agreement's money adds up and the ledger says the same
  (:meth:`World.check_money`): it balances, receivable == balances, bad debt
  == written off, other income == -(forfeited + late fees), customer credit
  == -outstanding;
* an entry that touches bad debt touches nothing but the receivable (revenue
  never moves with a write-off);
* each reminder step and each late fee exists at most once per invoice;
* re-running the last day changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milestonebill.agreement import Agreement, AgreementState, Collection
from milestonebill.collection import has_open_attempt
from milestonebill.engine import DEFAULT_REMINDERS, FixedClock, RetryPolicy
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.ids import InvoiceId
from milestonebill.invoicing import billing_position, invoice_balance
from milestonebill.ledger import Account
from milestonebill.money import Currency, Money
from milestonebill.refunds import credit_reserved
from milestonebill.schedule import LateFee, MilestoneId
from milestonebill.testing.scenarios import CARD, World, proposal
from milestonebill.testing.strategies import (
    charge_outcomes,
    complete_steps,
    exponent_currencies,
    milestone_lists,
    reprice_steps,
    run_steps,
)

T0 = datetime(2024, 2, 28, 9, tzinfo=UTC)
UNCHANGED = ("agreements", "entries", "notifications", "charges", "gateway_events")
Step = tuple[str, int, int]


def _money_steps(kind: str) -> st.SearchStrategy[Step]:
    """``(kind, which invoice, percent)``: a payment, write-off or forfeit."""
    return st.tuples(st.just(kind), st.integers(0, 7), st.integers(1, 150))


def late_fees(cur: Currency) -> st.SearchStrategy[LateFee | None]:
    percent = st.builds(lambda d, e, c: LateFee(after_days=d, percent=Decimal(e) / 2,
                                                every_days=7 if c is not None else None,
                                                compound=bool(c)),
                        st.integers(1, 20), st.integers(1, 10), st.sampled_from([None, 0, 1]))
    fixed = st.builds(lambda d, m: LateFee(after_days=d, fixed=Money.from_minor(m, cur)),
                      st.integers(1, 20), st.integers(1, 10**4))
    return st.one_of(st.none(), percent, fixed)


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    cur = draw(exponent_currencies())
    milestones = draw(milestone_lists(cur, max_minor=10**6))
    n = len(milestones)
    sent = draw(st.booleans())
    step = st.one_of(complete_steps(n), complete_steps(n), reprice_steps(n), run_steps(),
                     _money_steps("pay"), _money_steps("write_off"), _money_steps("write_off"),
                     _money_steps("forfeit"))
    steps = draw(st.lists(step, min_size=1, max_size=12))
    if draw(st.integers(0, 5)) == 0:
        steps.insert(draw(st.integers(0, len(steps))), ("cancel", 0, 0))
    return {
        "currency": cur, "milestones": milestones, "steps": steps, "sent": sent,
        "late_fee": draw(late_fees(cur)) if sent else None,
        "outcomes": draw(st.lists(charge_outcomes(successes=2, actions=False, timeouts=False),
                                  max_size=6)),
        "gaps": draw(st.lists(st.integers(1, 9), min_size=len(steps), max_size=len(steps))),
    }


def _open_invoice(a: Agreement, k: int, *, written_off: bool = False) -> InvoiceId | None:
    """The ``k``-th invoice (cycling) that still owes something (or has a write-off)."""
    found = [i.id for i in a.invoices if invoice_balance(a, i.id).minor > 0
             or (written_off and a.written_off(i.id).minor > 0)]
    return found[k % len(found)] if found else None


def _money_step(w: World[InMemoryGateway], kind: str, k: int, percent: int, n: int) -> None:
    a = w.load()
    cur = a.currency
    if kind == "forfeit":
        left = a.credit_balance.minor - credit_reserved(a, w.store.get_attempt)
        if left > 0:
            w.biller.forfeit_credit(a.id, Money.from_minor(max(1, left * min(percent, 100)
                                                               // 100), cur), reason="expired")
        return
    inv = _open_invoice(a, k, written_off=kind == "pay")
    if inv is None:
        return
    owed = invoice_balance(a, inv).minor
    if kind == "write_off":
        if not has_open_attempt(a, inv):
            take = max(1, owed * min(percent, 100) // 100)
            w.biller.write_off(inv, Money.from_minor(take, cur), reason="uncollectible")
        return
    base = max(owed, 0) + a.written_off(inv).minor
    w.biller.record_payment(inv, Money.from_minor(max(1, base * percent // 100), cur),
                            reference=f"wire-{n}")


def _build(sc: dict[str, Any]) -> World[InMemoryGateway]:
    cur = sc["currency"]
    w = World(clock=FixedClock(T0), reminders=DEFAULT_REMINDERS,
              retry_policy=RetryPolicy(max_attempts=2, spacing_days=(1,), same_key_retries=0))
    w.gateway.script_next(*sc["outcomes"])
    offer = proposal(sc["milestones"], currency=cur,
                     collection=Collection.SEND_INVOICE if sc["sent"] else Collection.AUTO_CHARGE)
    w.open(attrs.evolve(offer, late_fee=sc["late_fee"]), payment_method=None if sc["sent"]
           else CARD)
    day = 0
    for n, ((kind, i, percent), gap) in enumerate(zip(sc["steps"], sc["gaps"], strict=True)):
        day += gap
        w.later(day)
        a = w.load()
        if kind in ("pay", "write_off", "forfeit"):
            _money_step(w, kind, i, percent, n)
            continue
        if a.state is not AgreementState.ACTIVE:
            continue
        mid = MilestoneId(f"m{i}")
        done = sorted(a.completions)
        if kind == "reprice" and done:
            mid = done[i % len(done)]
        original = sc["milestones"][int(mid[1:])].amount.minor
        if kind == "complete" and mid not in a.completions:
            w.complete(mid)
        elif kind == "reprice":
            w.reprice(mid, Money.from_minor(max(1, original * percent // 100), cur), f"am-{n}")
        elif kind == "cancel":
            w.cancel()
        else:
            w.biller.run(w.clock.today())
    w.biller.run(w.later(day + 60))
    return w


def _sum(values: Any) -> int:
    return sum(m.minor for m in values)


def _check(w: World[InMemoryGateway]) -> None:
    a = w.load()
    assert billing_position(a).balanced
    for inv in a.invoices:
        total = inv.total.minor - _sum(c.total for c in a.credit_notes if c.credits == inv.id)
        paid = _sum(p.amount for p in a.payments if p.invoice_id == inv.id)
        refunded = _sum(r.amount for r in a.refunds if r.invoice_id == inv.id)
        applied = _sum(c.amount for c in a.credits_applied if c.invoice_id == inv.id)
        moved = _sum(c.amount for c in a.credits_added if c.invoice_id == inv.id)
        written_off = a.written_off(inv.id).minor
        assert written_off >= 0
        assert total == (paid - refunded + applied - moved + written_off
                         + invoice_balance(a, inv.id).minor)
    w.check_money()
    for e in w.store.entries():
        accounts = {ln.account for ln in e.lines}
        if Account.BAD_DEBT_EXPENSE in accounts:
            assert accounts == {Account.BAD_DEBT_EXPENSE, Account.RECEIVABLE}
    steps = [(r.invoice_id, r.step) for r in a.reminders]
    assert len(steps) == len(set(steps))
    fees = [ln.line_id for i in a.invoices for ln in i.lines if ln.kind.value == "late_fee"]
    assert len(fees) == len(set(fees))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sc=scenarios())
def test_write_offs_and_late_fees_conserve_money_and_the_ledger_balances(
        sc: dict[str, Any]) -> None:
    w = _build(sc)
    _check(w)
    before = w.snapshot(*UNCHANGED)
    w.biller.run(w.clock.today())
    assert w.snapshot(*UNCHANGED) == before

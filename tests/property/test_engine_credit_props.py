"""Properties of credits on paid invoices under each :class:`CreditPolicy`.

Random agreements (milestones in USD, JPY or KWD), completed and re-priced
up or down in random order (so credit notes land on paid, unpaid and
part-paid invoices), sometimes cancelled, with random gateway outcomes and
a random credit policy.  After any history, in minor units:

* the customer credit balance is never negative, after any prefix of the
  event stream;
* per invoice: ``total - credit notes == payments - refunds + credit applied
  to it - credit moved out of it + balance``;
* for the agreement, the identity the Biller guarantees::

      (payments - refunds) + balances - credit outstanding == invoiced - credited

  where ``balances`` is what invoices still owe (negative: owed to the
  client under HOLD) and ``credit outstanding`` is customer credit not yet
  applied (credit moved to the balance = applied + outstanding);
* the ledger agrees: receivable == balances, customer credit ==
  -outstanding, clearing + gateway fees == payments - refunds;
* no invoice takes more than its total in payments plus applied credit;
* under APPLY nothing owes the client on an invoice once billed, and credit
  is outstanding only when no open invoice could take it; under REFUND and
  HOLD no customer credit is created;
* re-running changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milestonebill.agreement import Agreement, AgreementState
from milestonebill.engine import (
    CollectionState,
    CreditPolicy,
    FixedClock,
    RetryPolicy,
    collection_state,
)
from milestonebill.gateways.base import refund_idempotency_key
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.invoicing import invoice_balance
from milestonebill.money import Money
from milestonebill.schedule import MilestoneId
from milestonebill.testing.scenarios import AGREEMENT as AGR
from milestonebill.testing.scenarios import World, proposal
from milestonebill.testing.strategies import (
    charge_outcomes,
    complete_steps,
    exponent_currencies,
    milestone_lists,
    reprice_steps,
    run_steps,
)

T0 = datetime(2024, 2, 28, 9, tzinfo=UTC)
D0 = T0.date()
#: What re-running must leave as it was.
UNCHANGED = ("agreements", "entries", "notifications", "charges", "gateway_events")


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    cur = draw(exponent_currencies())
    milestones = draw(milestone_lists(cur, max_minor=10**6))
    n = len(milestones)
    # Completions and re-pricings (to 1..150 % of the original amount) are
    # common, so credits land on paid, unpaid and part-paid invoices.
    complete, reprice = complete_steps(n), reprice_steps(n)
    step = st.one_of(complete, complete, reprice, reprice, run_steps())
    steps = draw(st.lists(step, min_size=1, max_size=10))
    if draw(st.integers(0, 4)) == 0:
        steps.insert(draw(st.integers(0, len(steps))), ("cancel", 0, 0))
    return {
        "currency": cur,
        "milestones": milestones,
        "steps": steps,
        "outcomes": draw(st.lists(charge_outcomes(successes=2, actions=False, timeouts=False),
                                  max_size=8)),
        "policy": draw(st.sampled_from(list(CreditPolicy))),
    }


def _build(sc: dict[str, Any]) -> World[InMemoryGateway]:
    cur = sc["currency"]
    w = World(clock=FixedClock(T0), credit_policy=sc["policy"],
              retry_policy=RetryPolicy(max_attempts=2, spacing_days=(1,), same_key_retries=0))
    w.gateway.script_next(*sc["outcomes"])
    w.open(proposal(sc["milestones"], currency=cur))
    for k, (kind, i, percent) in enumerate(sc["steps"]):
        w.later(k + 1)
        a = w.load()
        if a.state is not AgreementState.ACTIVE:
            break
        done = sorted(a.completions)
        # Re-pricings mostly hit delivered (billed) milestones.
        mid = done[i % len(done)] if kind == "reprice" and done else MilestoneId(f"m{i}")
        original = sc["milestones"][int(mid[1:])].amount.minor
        if kind == "complete" and mid not in a.completions:
            w.complete(mid)
        elif kind == "reprice":
            minor = max(1, original * percent // 100)
            w.reprice(mid, Money.from_minor(minor, cur), f"am-{k}")
        elif kind == "cancel":
            w.cancel()
        else:
            w.biller.run(w.clock.today())
    w.biller.run(w.later(60))
    return w


def _sum(values: Any) -> int:
    return sum(m.minor for m in values)


def _check(w: World[InMemoryGateway], policy: CreditPolicy) -> None:
    a = w.load()
    # Credit balance never negative, after any prefix of the stream.
    for k in range(1, len(a.events) + 1):
        assert Agreement.from_events(a.events[:k]).credit_balance.minor >= 0
    for inv in a.invoices:
        mine = [c for c in a.credit_notes if c.credits == inv.id]
        inv_paid = _sum(p.amount for p in a.payments if p.invoice_id == inv.id)
        inv_applied = _sum(c.amount for c in a.credits_applied if c.invoice_id == inv.id)
        inv_added = _sum(c.amount for c in a.credits_added if c.invoice_id == inv.id)
        inv_refunded = _sum(r.amount for r in a.refunds if r.invoice_id == inv.id)
        balance = invoice_balance(a, inv.id).minor
        assert inv.total.minor - _sum(c.total for c in mine) == (
            inv_paid - inv_refunded + inv_applied - inv_added + balance)
        assert inv_paid + inv_applied <= inv.total.minor
        if policy is CreditPolicy.APPLY_TO_NEXT_INVOICES:
            assert balance >= 0
    # The identity the Biller guarantees, and the ledger says the same.
    w.check_money()
    if policy is not CreditPolicy.APPLY_TO_NEXT_INVOICES:
        assert _sum(c.amount for c in a.credits_added) == 0
    if a.credit_balance.minor:
        # Credit waits only when no invoice could take it.
        for inv in a.invoices:
            st_ = collection_state(a, inv.id, w.biller.retry_policy).state
            assert invoice_balance(a, inv.id).minor <= 0 or st_ is CollectionState.IN_FLIGHT


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sc=scenarios())
def test_credits_conserve_money_under_every_policy(sc: dict[str, Any]) -> None:
    w = _build(sc)
    _check(w, sc["policy"])
    before = w.snapshot(*UNCHANGED)
    w.store.set_next_due(AGR, D0)  # force a claim
    w.biller.run(w.clock.today())
    w.biller.bill(AGR)
    assert w.snapshot(*UNCHANGED) == before


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sc=scenarios())
def test_refunds_happen_once_and_only_under_refund(sc: dict[str, Any]) -> None:
    w = _build(sc)
    a = w.load()
    keys = [r.idempotency_key for r in a.refunds]
    assert len(keys) == len(set(keys))
    if sc["policy"] is not CreditPolicy.REFUND:
        assert a.refunds == ()
    else:
        # Every over-credit was paid back, as far as the credited invoice's
        # gateway payments allow: one refund per credit note, under its key.
        done = {r.idempotency_key for r in a.refunds}
        for inv in a.invoices:
            if invoice_balance(a, inv.id).minor >= 0:
                continue
            net = _sum(p.amount for p in a.payments
                       if p.invoice_id == inv.id and p.attempt is not None) - \
                _sum(r.amount for r in a.refunds if r.invoice_id == inv.id)
            assert net == 0 or all(
                refund_idempotency_key(AGR, inv.id, c.id) in done
                for c in a.credit_notes if c.credits == inv.id)
    assert w.refunds_at_gateway() == len(a.refunds)

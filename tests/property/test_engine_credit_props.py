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

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milestonebill.agreement import (
    Agreement,
    AgreementId,
    AgreementState,
    Amendment,
    AmendmentId,
    ApprovalRules,
    ChangeMilestoneAmount,
    PackageOption,
    PaymentMethodKind,
    PaymentMethodRef,
    Proposal,
    ProposalId,
    cancel,
    complete_milestone,
    propose,
)
from milestonebill.agreement import sign as sign_proposal
from milestonebill.engine import (
    Biller,
    CollectionState,
    CreditPolicy,
    FirmId,
    FixedClock,
    RetryPolicy,
    collection_state,
)
from milestonebill.gateways.base import GatewayEventKind, refund_idempotency_key
from milestonebill.gateways.memory import InMemoryGateway, Scripted
from milestonebill.invoicing import invoice_balance
from milestonebill.ledger import Account
from milestonebill.money import Currency, Money
from milestonebill.schedule import BillingSchedule, Milestone, MilestoneId
from milestonebill.stores.memory import InMemoryStore

T0 = datetime(2024, 2, 28, 9, tzinfo=UTC)
D0 = T0.date()
FIRM = FirmId("firm")
AGR = AgreementId("agr-1")

outcomes = st.sampled_from([Scripted.succeed(), Scripted.succeed(),
                            Scripted.decline("insufficient_funds"),
                            Scripted.decline("stolen_card")])


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    code = draw(st.sampled_from(["USD", "JPY", "KWD"]))
    cur = Currency.of(code)
    n = draw(st.integers(1, 4))
    amounts = [draw(st.integers(1, 10**6)) for _ in range(n)]
    # Completions and re-pricings (to 1..150 % of the original amount) are
    # common, so credits land on paid, unpaid and part-paid invoices.
    complete = st.tuples(st.just("complete"), st.integers(0, n - 1), st.just(0))
    reprice = st.tuples(st.just("reprice"), st.integers(0, n - 1), st.integers(1, 150))
    step = st.one_of(complete, complete, reprice, reprice,
                     st.tuples(st.just("run"), st.just(0), st.just(0)))
    steps = draw(st.lists(step, min_size=1, max_size=10))
    if draw(st.integers(0, 4)) == 0:
        steps.insert(draw(st.integers(0, len(steps))), ("cancel", 0, 0))
    return {
        "currency": cur,
        "amounts": amounts,
        "steps": steps,
        "outcomes": draw(st.lists(outcomes, max_size=8)),
        "policy": draw(st.sampled_from(list(CreditPolicy))),
    }


def _build(sc: dict[str, Any]) -> tuple[Biller, InMemoryStore, InMemoryGateway, FixedClock]:
    cur = sc["currency"]
    clock = FixedClock(T0)
    store = InMemoryStore(clock=clock)
    gateway = InMemoryGateway()
    gateway.script_next(*sc["outcomes"])
    biller = Biller(store, gateway, clock=clock, firm_id=FIRM, credit_policy=sc["policy"],
                    retry_policy=RetryPolicy(max_attempts=2, spacing_days=(1,),
                                             same_key_retries=0))
    ms = [Milestone(MilestoneId(f"m{i}"), f"M{i}", amount=Money.from_minor(v, cur))
          for i, v in enumerate(sc["amounts"])]
    proposal = Proposal(ProposalId("p"), "Acme", cur,
                        (PackageOption("std", "Std", BillingSchedule(currency=cur,
                                                                     milestones=ms)),),
                        approval=ApprovalRules(require_client_approval=False))
    card = PaymentMethodRef("memory", "cus", "pm", PaymentMethodKind.CARD)
    biller.open(sign_proposal(proposal, option="std", signer="Ada", payment_method=card,
                              agreement_id=AGR, signed_at=T0))
    for k, (kind, i, percent) in enumerate(sc["steps"]):
        clock.set(T0 + timedelta(days=k + 1))
        a = biller.load(AGR)
        if a.state is not AgreementState.ACTIVE:
            break
        done = sorted(a.completions)
        # Re-pricings mostly hit delivered (billed) milestones.
        mid = done[i % len(done)] if kind == "reprice" and done else MilestoneId(f"m{i}")
        original = sc["amounts"][int(mid[1:])]
        if kind == "complete" and mid not in a.completions:
            biller.handle(AGR, complete_milestone(a, mid, by="Ada", at=clock.now()))
        elif kind == "reprice":
            minor = max(1, original * percent // 100)
            op = ChangeMilestoneAmount(clock.today(), mid, Money.from_minor(minor, cur))
            biller.handle(AGR, propose(a, Amendment(AmendmentId(f"am-{k}"), (op,)), by="Bo",
                                       at=clock.now()))
        elif kind == "cancel":
            biller.handle(AGR, cancel(a, at=clock.now(), effective_on=clock.today()))
        else:
            biller.run(clock.today())
    late = T0 + timedelta(days=60)
    clock.set(late)
    biller.run(late.date())
    return biller, store, gateway, clock


def _sum(values: Any) -> int:
    return sum(m.minor for m in values)


def _check(biller: Biller, store: InMemoryStore, policy: CreditPolicy, cur: Currency) -> None:
    a = biller.load(AGR)
    # Credit balance never negative, after any prefix of the stream.
    for k in range(1, len(a.events) + 1):
        assert Agreement.from_events(a.events[:k]).credit_balance.minor >= 0
    invoiced = _sum(i.total for i in a.invoices)
    credited = _sum(c.total for c in a.credit_notes)
    paid = _sum(p.amount for p in a.payments)
    refunded = _sum(r.amount for r in a.refunds)
    added = _sum(c.amount for c in a.credits_added)
    applied = _sum(c.amount for c in a.credits_applied)
    outstanding = a.credit_balance.minor
    assert added == applied + outstanding
    balances = 0
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
        balances += balance
        if policy is CreditPolicy.APPLY_TO_NEXT_INVOICES:
            assert balance >= 0
    # The identity the Biller guarantees.
    assert (paid - refunded) + balances - outstanding == invoiced - credited
    # The ledger says the same.
    books = store.balances(currency=cur)

    def acct(x: Account) -> int:
        return books.get(x, Money.zero(cur)).minor

    assert sum(m.minor for m in books.values()) == 0
    assert acct(Account.RECEIVABLE) == balances
    assert acct(Account.CUSTOMER_CREDIT) == -outstanding
    assert acct(Account.CLEARING) + acct(Account.GATEWAY_FEES) == paid - refunded
    if policy is not CreditPolicy.APPLY_TO_NEXT_INVOICES:
        assert added == 0
    if outstanding:
        # Credit waits only when no invoice could take it.
        for inv in a.invoices:
            st_ = collection_state(a, inv.id, biller.retry_policy).state
            assert invoice_balance(a, inv.id).minor <= 0 or st_ is CollectionState.IN_FLIGHT


def _snapshot(store: InMemoryStore, gateway: InMemoryGateway) -> Any:
    return (store.load(AGR), [e.canonical() for e in store.entries()],
            store.pending_notifications(10_000), gateway.charges, len(gateway.events))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sc=scenarios())
def test_credits_conserve_money_under_every_policy(sc: dict[str, Any]) -> None:
    biller, store, gateway, clock = _build(sc)
    _check(biller, store, sc["policy"], sc["currency"])
    before = _snapshot(store, gateway)
    store.set_next_due(AGR, D0)  # force a claim
    biller.run(clock.today())
    biller.bill(AGR)
    assert _snapshot(store, gateway) == before


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sc=scenarios())
def test_refunds_happen_once_and_only_under_refund(sc: dict[str, Any]) -> None:
    biller, _store, gateway, _clock = _build(sc)
    a = biller.load(AGR)
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
    refunded_at_gateway = sum(1 for e in gateway.events
                              if e.kind is GatewayEventKind.PAYMENT_REFUNDED)
    assert refunded_at_gateway == len(a.refunds)

"""Properties of refunds: host refunds, credit-policy refunds and customer-credit refunds.

Random agreements (USD, JPY or KWD) are completed, re-priced and sometimes
cancelled under a random credit policy, while the host asks for refunds of
random invoices and of the customer credit, and the gateway refuses,
drops or loses some refunds.  Afterwards, in minor units:

* per invoice, refunds never exceed what was paid on it;
* a host refund is refused (``RefundLimitError``, nothing written, no
  gateway call) exactly when it asks for more than :func:`refundable`;
* the client never has more back than it paid: refunds + customer credit
  outstanding <= payments;
* credit added == credit applied (to invoices, or used up by a credit
  refund) + credit outstanding, and the identity of
  ``test_engine_credit_props.py`` holds:
  ``(payments - refunds) + balances - outstanding == invoiced - credited``,
  with the ledger agreeing;
* the same refund key is never sent with two amounts (no ``IdempotencyError``)
  and, once the gateway answers again, no refund intent is left unfinished.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milestonebill.agreement import (
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
from milestonebill.engine import Biller, CreditPolicy, FirmId, FixedClock, RetryPolicy, refundable
from milestonebill.errors import GatewayUnavailableError, RefundLimitError, ValidationError
from milestonebill.gateways.base import RefundRequest, RefundResult, RefundStatus
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.invoicing import InvoiceId, invoice_balance
from milestonebill.ledger import Account
from milestonebill.money import Currency, Money
from milestonebill.schedule import BillingSchedule, Milestone, MilestoneId
from milestonebill.stores.memory import InMemoryStore

T0 = datetime(2024, 2, 28, 9, tzinfo=UTC)
FIRM = FirmId("firm")
AGR = AgreementId("agr-1")


class MoodyGateway(InMemoryGateway):
    """Refunds follow ``moods``: ok, refuse (FAILED), down (before) or lose (after)."""

    def __init__(self, moods: list[str]) -> None:
        super().__init__()
        self.moods = list(moods)
        self.sent: dict[str, set[int]] = {}

    def refund(self, request: RefundRequest) -> RefundResult:
        assert request.amount is not None
        self.sent.setdefault(request.idempotency_key, set()).add(request.amount.minor)
        mood = self.moods.pop(0) if self.moods else "ok"
        if mood == "refuse":
            return RefundResult(RefundStatus.FAILED, request.amount, request.idempotency_key,
                                message="refused")
        if mood == "down":
            raise GatewayUnavailableError("connection reset")
        result = super().refund(request)
        if mood == "lose":
            raise GatewayUnavailableError("timed out")
        return result


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    cur = Currency.of(draw(st.sampled_from(["USD", "JPY", "KWD"])))
    n = draw(st.integers(1, 3))
    amounts = [draw(st.integers(1, 10**6)) for _ in range(n)]
    step = st.one_of(
        st.tuples(st.just("complete"), st.integers(0, n - 1), st.just(0)),
        st.tuples(st.just("reprice"), st.integers(0, n - 1), st.integers(1, 150)),
        st.tuples(st.just("reprice"), st.integers(0, n - 1), st.integers(1, 99)),
        st.tuples(st.just("refund"), st.integers(0, 5), st.integers(1, 110)),
        st.tuples(st.just("refund_credit"), st.just(0), st.integers(0, 110)),
        st.tuples(st.just("run"), st.just(0), st.just(0)),
    )
    # Deliver and re-price first (credit on paid invoices), often cancel (credit
    # nothing will take), then the host's refunds.
    head = [("complete", i, 0) for i in range(n) if draw(st.booleans())]
    steps = head + draw(st.lists(step, min_size=1, max_size=12))
    if draw(st.integers(0, 3)):
        steps.insert(draw(st.integers(len(head), len(steps))), ("cancel", 0, 0))
    steps.append(("refund_credit", 0, 0))
    return {"currency": cur, "amounts": amounts, "steps": steps,
            "policy": draw(st.sampled_from([*CreditPolicy, CreditPolicy.APPLY_TO_NEXT_INVOICES])),
            "moods": draw(st.lists(st.sampled_from(["ok", "refuse", "refuse", "down", "lose"]),
                                   max_size=8))}


def _sum(values: Any) -> int:
    return sum(m.minor for m in values)


def _host_refund(biller: Biller, gateway: MoodyGateway, store: InMemoryStore,
                 k: int, percent: int) -> None:
    a = biller.load(AGR)
    if not a.invoices:
        return
    inv = a.invoices[k % len(a.invoices)]
    amount = Money.from_minor(max(1, inv.subtotal.minor * percent // 100), a.currency)
    cap = refundable(a, InvoiceId(inv.id))
    before = (store.load(AGR), len(store.entries()), len(gateway.sent))
    error: Exception | None = None
    try:
        biller.refund(InvoiceId(inv.id), amount)
    except (ValidationError, GatewayUnavailableError) as exc:
        error = exc
    if isinstance(error, RefundLimitError):
        assert error.maximum == cap
        assert error.requested.minor > cap.minor  # type: ignore[attr-defined]
        assert (store.load(AGR), len(store.entries()), len(gateway.sent)) == before
    elif isinstance(error, ValidationError):  # no single gateway payment can return it
        assert error.field == "amount"
    else:  # made, or left for the next run to finish
        assert amount.minor <= cap.minor  # no tax here: the credit note total is the amount


def _build(sc: dict[str, Any]) -> tuple[Biller, InMemoryStore, MoodyGateway]:
    cur = sc["currency"]
    clock = FixedClock(T0)
    store = InMemoryStore(clock=clock)
    gateway = MoodyGateway(sc["moods"])
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
    for day, (kind, i, percent) in enumerate(sc["steps"], start=1):
        clock.set(T0 + timedelta(days=day))
        a = biller.load(AGR)
        try:
            if kind == "refund":
                _host_refund(biller, gateway, store, i, percent)
            elif kind == "refund_credit":
                minor = a.credit_balance.minor * percent // 100
                refused: ValidationError | None = None
                try:
                    biller.refund_credit(AGR, None if not percent or not minor
                                         else Money.from_minor(minor, cur))
                except ValidationError as exc:
                    refused = exc
                if refused is not None:
                    # More than outstanding, or than settled payments can return.
                    assert refused.field == "amount"
                    assert biller.load(AGR).events == a.events
            elif kind == "run":
                s = biller.run(clock.today())
                assert "IdempotencyError" not in {p.error for p in s.problems}
            elif a.state is not AgreementState.ACTIVE:
                continue
            elif kind == "complete":
                mid = MilestoneId(f"m{i}")
                if mid not in a.completions:
                    biller.handle(AGR, complete_milestone(a, mid, by="Ada", at=clock.now()))
            elif kind == "reprice":
                done = sorted(a.completions)
                mid = done[i % len(done)] if done else MilestoneId(f"m{i}")
                minor = max(1, sc["amounts"][int(mid[1:])] * percent // 100)
                op = ChangeMilestoneAmount(clock.today(), mid, Money.from_minor(minor, cur))
                biller.handle(AGR, propose(a, Amendment(AmendmentId(f"am-{day}"), (op,)),
                                           by="Bo", at=clock.now()))
            else:
                biller.handle(AGR, cancel(a, at=clock.now(), effective_on=clock.today()))
        except GatewayUnavailableError:
            pass  # the next run finishes what was recorded
    gateway.moods = []
    for extra in range(1, 4):
        clock.set(T0 + timedelta(days=len(sc["steps"]) + extra))
        s = biller.run(clock.today())
        assert s.problems == (), s.problems
    return biller, store, gateway


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sc=scenarios())
def test_refunds_never_pay_back_more_than_was_paid(sc: dict[str, Any]) -> None:
    biller, store, gateway = _build(sc)
    cur = sc["currency"]
    a = biller.load(AGR)
    paid = _sum(p.amount for p in a.payments)
    refunded = _sum(r.amount for r in a.refunds)
    for inv in a.invoices:
        assert _sum(r.amount for r in a.refunds if r.invoice_id == inv.id) <= \
            _sum(p.amount for p in a.payments if p.invoice_id == inv.id)
    outstanding = a.credit_balance.minor
    # An amendment credit after a refund credit note credits only what the
    # invoice still holds (the refund absorbs the rest), so the client is
    # never owed more than it paid.
    assert refunded + outstanding <= paid
    assert _sum(c.amount for c in a.credits_added) == \
        _sum(c.amount for c in a.credits_applied) + outstanding
    balances = sum(invoice_balance(a, i.id).minor for i in a.invoices)
    assert (paid - refunded) + balances - outstanding == \
        _sum(i.total for i in a.invoices) - _sum(c.total for c in a.credit_notes)
    books = store.balances(currency=cur)

    def acct(x: Account) -> int:
        return books.get(x, Money.zero(cur)).minor

    assert sum(m.minor for m in books.values()) == 0
    assert acct(Account.RECEIVABLE) == balances
    assert acct(Account.CUSTOMER_CREDIT) == -outstanding
    assert acct(Account.CLEARING) + acct(Account.GATEWAY_FEES) == paid - refunded
    # One amount per refund key; every intent finished (refunded or given up).
    assert all(len(amounts) == 1 for amounts in gateway.sent.values())
    assert store.unfinished_attempts() == []

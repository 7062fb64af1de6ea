"""Properties of installment plans and discounts.

* An installment plan's installments always add up to its fee, one per
  installment, in date order, an even split never more than a minor unit apart.
* Random agreements with milestones, an installment plan, a recurring charge
  and discounts of every kind, billed on random days while installments are
  re-planned and discounts added and ended: invoiced - credited + still
  scheduled = contract value after every step, no document is ever negative
  and no item is discounted below zero.
* The same on the Biller: the ledger balances, a contract is an asset or a
  liability but never both, and at the end revenue is the contract value.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any

import attrs
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from milestonebill.agreement import (
    AddDiscount,
    Agreement,
    AgreementId,
    Amendment,
    AmendmentId,
    ApprovalRules,
    ChangeInstallments,
    ChangeMilestoneAmount,
    Collection,
    CreditIssued,
    EndDiscount,
    InvoiceIssued,
    Operation,
    PackageOption,
    Proposal,
    ProposalId,
    apply,
    billing_plan,
    complete,
    contract_value,
    propose,
    sign,
)
from milestonebill.engine import Biller, FirmId, FixedClock
from milestonebill.errors import AmendmentError, ValidationError
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.invoicing import billing_position, due_credit_notes, due_invoices
from milestonebill.ledger import Account
from milestonebill.money import Currency, Money, Rounding
from milestonebill.schedule import (
    BillingSchedule,
    Discount,
    DiscountScope,
    InstallmentPlan,
    Interval,
    ItemId,
    Milestone,
    MilestoneId,
    RecurringCharge,
    Trigger,
)
from milestonebill.stores.memory import InMemoryStore
from milestonebill.testing.scenarios import CARD
from milestonebill.testing.strategies import exponent_currencies

SIGNED = date(2026, 1, 5)
AGR = AgreementId("agr-t")
END = SIGNED + timedelta(days=600)  # past the latest re-planned installment


# ---------------------------------------------------------------- splits


@st.composite
def plans(draw: st.DrawFn) -> InstallmentPlan:
    cur = draw(exponent_currencies())
    minor = draw(st.integers(1, 10**12))
    interval = draw(st.sampled_from([Interval.WEEKLY, Interval.MONTHLY, Interval.QUARTERLY]))
    start = date(2024, 1, 1) + timedelta(days=draw(st.integers(0, 800)))
    if draw(st.booleans()):
        n = draw(st.integers(1, min(minor, 48)))
        return InstallmentPlan(ItemId("fee"), "Fee", Money.from_minor(minor, cur), interval,
                               start=start, count=n)
    weights = draw(st.lists(st.integers(1, 10**6), min_size=1, max_size=24))
    try:
        return InstallmentPlan(ItemId("fee"), "Fee", Money.from_minor(minor, cur), interval,
                               start=start, weights=weights)
    except ValidationError:
        assume(False)
        raise


@settings(max_examples=300, deadline=None)
@given(plans())
def test_installments_always_add_up_to_the_fee(plan: InstallmentPlan) -> None:
    parts = plan.installments()
    assert len(parts) == plan.number
    assert sum(p.amount.minor for p in parts) == plan.amount.minor
    assert all(p.amount.minor >= 1 for p in parts)
    assert all(a.on < b.on for a, b in pairwise(parts))
    if plan.count is not None:
        assert max(p.amount.minor for p in parts) - min(p.amount.minor for p in parts) <= 1


# ---------------------------------------------------------------- agreements


def _discount(draw: st.DrawFn, i: int, cur: Currency, items: list[str]) -> Discount:
    scope = draw(st.sampled_from(list(DiscountScope)))
    named = tuple(draw(st.lists(st.sampled_from(items), min_size=1, max_size=3, unique=True))) \
        if scope is DiscountScope.ITEMS else ()
    start = draw(st.none() | st.integers(0, 200))
    length = draw(st.integers(1, 200))
    starts_on = None if start is None else SIGNED + timedelta(days=start)
    ends_on = None if start is None else SIGNED + timedelta(days=start + length)
    if draw(st.booleans()):
        pct = Decimal(draw(st.integers(1, 10000))) / 100
        return Discount(ItemId(f"d{i}"), f"D{i}", percent=pct, scope=scope, items=named,
                        rounding=draw(st.sampled_from(list(Rounding))),
                        starts_on=starts_on, ends_on=ends_on)
    amount = Money.from_minor(draw(st.integers(1, 10**5)), cur)
    return Discount(ItemId(f"d{i}"), f"D{i}", amount=amount, scope=scope, items=named,
                    starts_on=starts_on, ends_on=ends_on)


@st.composite
def engagements(draw: st.DrawFn) -> dict[str, Any]:
    cur = Currency.of(draw(st.sampled_from(["USD", "JPY", "KWD"])))
    milestones = [Milestone(MilestoneId(f"m{i}"), f"M{i}", amount=Money.from_minor(
        draw(st.integers(1, 10**6)), cur), trigger=Trigger.ON_DATE,
        due_on=SIGNED + timedelta(days=draw(st.integers(0, 150))))
        for i in range(draw(st.integers(0, 2)))]
    n = draw(st.integers(1, 8))
    plan = InstallmentPlan(ItemId("fee"), "Fee", Money.from_minor(
        draw(st.integers(n, 10**7)), cur), draw(st.sampled_from([Interval.WEEKLY,
                                                                   Interval.MONTHLY])),
        start=SIGNED + timedelta(days=draw(st.integers(0, 60))), count=n)
    recurring = [RecurringCharge(ItemId("care"), "Care", Money.from_minor(
        draw(st.integers(1, 10**5)), cur), Interval.MONTHLY,
        start=SIGNED + timedelta(days=draw(st.integers(0, 60))), count=draw(st.integers(1, 6)))
        ] if draw(st.booleans()) else []
    items = [m.id for m in milestones] + ["fee"] + [r.id for r in recurring]
    discounts = [_discount(draw, i, cur, items) for i in range(draw(st.integers(0, 3)))]
    try:
        schedule = BillingSchedule(currency=cur, milestones=milestones, recurring=recurring,
                                   installments=[plan], discounts=discounts)
    except ValidationError:
        assume(False)
        raise
    days = sorted(draw(st.lists(st.integers(0, 320), min_size=1, max_size=10)))
    steps = [(d, draw(st.sampled_from(["run", "run", "replan", "discount", "end", "reprice"])),
              draw(st.integers(0, 10**6))) for d in days]
    return {"cur": cur, "schedule": schedule, "steps": steps}


def _proposal(e: dict[str, Any]) -> Proposal:
    return Proposal(ProposalId("p"), "Client", e["cur"],
                    (PackageOption("std", "Std", e["schedule"]),),
                    approval=ApprovalRules(require_client_approval=False),
                    collection=Collection.SEND_INVOICE)


def _operation(a: Agreement, d: date, kind: str, x: int) -> Operation | None:
    cur = a.currency
    if kind == "replan":
        return ChangeInstallments(d, ItemId("fee"), count=1 + x % 5,
                                  start=d + timedelta(days=x % 90))
    if kind == "discount":
        items = [t.milestone.id for t in a.milestones] + ["fee"]
        pct = Decimal(1 + x % 9999) / 100
        return AddDiscount(d, Discount(ItemId(f"x{d.toordinal()}"), "Extra", percent=pct,
                                       items=(items[x % len(items)],),
                                       starts_on=None if x % 2 else d))
    if kind == "end" and a.discounts:
        return EndDiscount(d, a.discounts[x % len(a.discounts)].discount.id)
    if kind == "reprice" and a.milestones:
        m = a.milestones[x % len(a.milestones)].milestone
        return ChangeMilestoneAmount(d, m.id, Money.from_minor(x % 10**6, cur))
    return None


def _amend(a: Agreement, d: date, kind: str, x: int, at: datetime) -> Agreement:
    op = _operation(a, d, kind, x)
    if op is None:
        return a
    amendment = Amendment(AmendmentId(f"am-{d.isoformat()}-{kind}"), (op,))
    if any(r.amendment.id == amendment.id for r in a.amendments):
        return a
    try:
        return apply(a, propose(a, amendment, by="pm", at=at))
    except AmendmentError:
        return a  # an operation that cannot apply (nothing left to re-plan...) is refused


def _bill(a: Agreement, d: date, at: datetime) -> Agreement:
    for draft in due_invoices(a, d):
        n = f"INV-{len(a.invoices) + 1:04d}"
        a = apply(a, InvoiceIssued(f"{a.id}/{n}", a.version + 1, at,
                                   attrs.evolve(draft, number=n)))
    for cn in due_credit_notes(a, d):
        n = f"CN-{len(a.credit_notes) + 1:04d}"
        a = apply(a, CreditIssued(f"{a.id}/{n}", a.version + 1, at, attrs.evolve(cn, number=n)))
    return a


def _check(a: Agreement) -> None:
    assert billing_position(a).balanced
    assert all(i.subtotal.minor >= 0 for i in a.invoices)
    assert all(c.subtotal.minor >= 0 for c in a.credit_notes)
    plan = billing_plan(a)
    left = {i.key: i.amount.minor for i in plan if i.amount.minor > 0}
    for i in plan:
        if i.key.discounted is not None:
            left[i.key.discounted] += i.amount.minor
    assert all(v >= 0 for v in left.values())
    assert contract_value(a).minor == sum(i.amount.minor for i in plan)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(engagements())
def test_invoiced_less_credited_plus_scheduled_is_the_contract_value(e: dict[str, Any]) -> None:
    a = sign(_proposal(e), option="std", signer="Ada", payment_method=None, agreement_id=AGR,
             signed_at=datetime.combine(SIGNED, time(9), tzinfo=UTC))
    for offset, kind, x in e["steps"]:
        d = SIGNED + timedelta(days=offset)
        at = datetime.combine(d, time(12), tzinfo=UTC)
        a = _bill(a, d, at) if kind == "run" else _amend(a, d, kind, x, at)
        _check(a)
    a = _bill(a, END, datetime.combine(END, time(12), tzinfo=UTC))
    _check(a)
    position = billing_position(a)
    assert position.scheduled.minor == 0
    assert (position.invoiced - position.credited) == contract_value(a)


# ---------------------------------------------------------------- the ledger


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(engagements())
def test_the_ledger_balances_and_earns_the_contract_value(e: dict[str, Any]) -> None:
    clock = FixedClock(datetime.combine(SIGNED, time(9), tzinfo=UTC))
    store = InMemoryStore(clock=clock)
    biller = Biller(store, InMemoryGateway(), clock=clock, firm_id=FirmId("f"))
    proposal = attrs.evolve(_proposal(e), collection=Collection.AUTO_CHARGE)
    biller.open(sign(proposal, option="std", signer="Ada", payment_method=CARD,
                     agreement_id=AGR, signed_at=clock.now()))
    cur = e["cur"]

    def balance(account: Account) -> int:
        return store.balance(account, currency=cur).minor

    def check() -> None:
        liability, asset = -balance(Account.CONTRACT_LIABILITY), balance(Account.CONTRACT_ASSET)
        assert min(liability, asset) == 0
        assert sum(m.minor for m in store.balances(currency=cur).values()) == 0

    for offset, kind, x in e["steps"]:
        d = SIGNED + timedelta(days=offset)
        clock.set(datetime.combine(d, time(12), tzinfo=UTC))
        if kind == "run":
            assert biller.run(d).problems == ()
            assert biller.recognise(d).problems == ()
        else:
            a = biller.load(AGR)
            after = _amend(a, d, kind, x, clock.now())
            if after is not a:
                biller.handle(AGR, after.events[-1])
        check()
    clock.set(datetime.combine(END, time(12), tzinfo=UTC))
    a = biller.load(AGR)
    biller.record(AGR, [complete(a, at=clock.now())])
    assert biller.run(END).problems == ()
    assert biller.recognise(END).problems == ()
    check()
    a = biller.load(AGR)
    assert -balance(Account.REVENUE) == contract_value(a).minor
    assert balance(Account.CONTRACT_ASSET) == balance(Account.CONTRACT_LIABILITY) == 0
    assert balance(Account.RECEIVABLE) == 0

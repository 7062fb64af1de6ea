"""Property: revenue follows the service rendered; billing only moves the contract balance.

Random retainers (currency, price, anchor day, length), billed by ``run`` on
random days, with an optional mid-term price change (a downgrade or an
upgrade, prorated: credit notes and new pieces), and ``recognise`` on random
days.  After every step the contract balance is an asset or a liability,
never both, and equals what was billed net of credits less the revenue
posted; after a recognition the revenue is exactly what the amended service
periods have earned day by day by then (computed here independently); and
over the life the revenue is the contract value.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milestonebill.agreement import (
    Agreement,
    AgreementId,
    Amendment,
    AmendmentId,
    ChangeRecurringPrice,
    Collection,
    PackageOption,
    Proposal,
    ProposalId,
    approve,
    billing_plan,
    contract_value,
    propose,
    sign,
)
from milestonebill.engine import Biller, FirmId, FixedClock
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.ledger import Account
from milestonebill.money import Currency, Money
from milestonebill.schedule import BillingSchedule, Interval, ItemId, RecurringCharge
from milestonebill.stores.memory import InMemoryStore

AGR = AgreementId("agr-p")
START = date(2026, 1, 1)


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, object]:
    code = draw(st.sampled_from(["USD", "JPY", "KWD"]))
    cur = Currency.of(code)
    price = draw(st.integers(min_value=1, max_value=10**7))
    new_price = draw(st.none() | st.integers(min_value=1, max_value=10**7))
    anchor = START + timedelta(days=draw(st.integers(min_value=0, max_value=60)))
    count = draw(st.integers(min_value=1, max_value=5))
    horizon = count * 31 + 70
    drawn = draw(st.lists(
        st.tuples(st.integers(min_value=0, max_value=horizon), st.sampled_from(["run", "rec", "rec"])),
        min_size=1, max_size=14))
    steps = sorted([*drawn, (0, "run")])
    change = draw(st.integers(min_value=1, max_value=count * 28 - 1))
    if new_price is not None:
        # Agreed on a day up to the change, after the first invoice went out.
        steps = [*steps, (draw(st.integers(min_value=0, max_value=change)), "zamend")]
        if draw(st.booleans()):  # recognise soon after the change, perhaps before its credit
            steps.append((change + draw(st.integers(min_value=0, max_value=10)), "rec"))
        steps = sorted(steps)
    return {"cur": cur, "price": price, "new_price": new_price, "anchor": anchor,
            "count": count, "steps": steps, "change": change}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_revenue_follows_the_service_and_the_contract_balance_ties_to_billing(
        s: dict[str, object]) -> None:
    cur = s["cur"]
    assert isinstance(cur, Currency)
    anchor = s["anchor"]
    assert isinstance(anchor, date)
    clock = FixedClock(datetime(2025, 12, 1, tzinfo=UTC))
    store = InMemoryStore(clock=clock)
    biller = Biller(store, InMemoryGateway(), clock=clock, firm_id=FirmId("f"))
    plan = BillingSchedule(currency=cur, recurring=[RecurringCharge(
        ItemId("ret"), "Retainer", Money.from_minor(int(str(s["price"])), cur), Interval.MONTHLY,
        start=anchor, count=int(str(s["count"])))])
    proposal = Proposal(ProposalId("p"), "Client", cur, (PackageOption("std", "Std", plan),),
                        collection=Collection.SEND_INVOICE)
    biller.open(sign(proposal, option="std", signer="Ada", payment_method=None,
                     agreement_id=AGR, signed_at=clock.now()))
    steps = s["steps"]
    assert isinstance(steps, list)
    last_rec: date | None = None
    for offset, kind in steps:
        day = anchor + timedelta(days=offset)
        clock.set(datetime(day.year, day.month, day.day, 12, tzinfo=UTC))
        if kind == "run":
            assert biller.run(day).problems == ()
        elif kind == "zamend":
            effective = anchor + timedelta(days=int(str(s["change"])))
            amendment = Amendment(AmendmentId("chg"), (ChangeRecurringPrice(
                effective, ItemId("ret"), Money.from_minor(int(str(s["new_price"])), cur)),))
            biller.record(AGR, [propose(biller.load(AGR), amendment, by="Ada", at=clock.now())])
            biller.record(AGR, [approve(biller.load(AGR), AmendmentId("chg"), by="Client",
                                        at=clock.now())])
        else:
            assert biller.recognise(day).problems == ()
            last_rec = day
        a = biller.load(AGR)
        deferred = -store.balance(Account.CONTRACT_LIABILITY, currency=cur).minor
        asset = store.balance(Account.CONTRACT_ASSET, currency=cur).minor
        revenue = -store.balance(Account.REVENUE, currency=cur).minor
        billed = (sum(i.subtotal.minor for i in a.invoices)
                  - sum(c.subtotal.minor for c in a.credit_notes))
        assert deferred >= 0
        assert asset >= 0
        assert min(deferred, asset) == 0
        assert deferred - asset == billed - revenue
        if last_rec is not None and kind == "rec":
            assert revenue == _earned_day_by_day(a, last_rec)
    end = anchor + timedelta(days=int(str(s["count"])) * 31 + 400)
    clock.set(datetime(end.year, end.month, end.day, 12, tzinfo=UTC))
    biller.run(end)
    assert biller.recognise(end).problems == ()
    a = biller.load(AGR)
    assert -store.balance(Account.REVENUE, currency=cur).minor == contract_value(a).minor
    assert store.balance(Account.CONTRACT_ASSET, currency=cur).minor == 0
    assert store.balance(Account.CONTRACT_LIABILITY, currency=cur).minor == 0


def _earned_day_by_day(a: Agreement, day: date) -> int:
    """Independent arithmetic: each service period of the amended plan earns
    round-half-up(amount x days rendered / days) by the end of ``day``."""
    total = 0
    for item in billing_plan(a, through=day + timedelta(days=1)):
        assert item.period is not None
        p = item.period
        rendered = min(max((day - p.start).days + 1, 0), p.days)
        exact = Fraction(item.amount.minor * rendered, p.days)
        total += int(exact + Fraction(1, 2))
    return total

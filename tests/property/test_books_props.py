"""Properties of the books: random engagements, measured three ways, billed and recognised.

Each example signs a random fee split into a deposit (on signing) and
milestones billed on completion or on a date, charged to a card, with one of three revenue
models -- the default (milestones achieved), one obligation by hours
against an estimate, or two obligations sharing the price by SSP -- then
walks random days: completing milestones, logging hours (revising the
estimate when they would pass it), repricing a milestone, refunding part
of a paid invoice, billing and recognising.  Throughout: the ledger balances, a contract is never both an
asset and a liability, its balance is what was billed less the revenue
posted, recognising the same day again posts nothing, and replaying the
stream earns the same.  At the end (the engagement completed) the revenue
is exactly the transaction price: the contract value less the refunds.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milestonebill.agreement import (
    Agreement,
    AgreementId,
    Amendment,
    AmendmentId,
    ApprovalRules,
    ChangeMilestoneAmount,
    ObligationTerms,
    PackageOption,
    Progress,
    Proposal,
    ProposalId,
    complete,
    complete_milestone,
    contract_value,
    propose,
    report_progress,
    revise_estimate,
    sign,
)
from milestonebill.engine import Biller, FirmId, FixedClock
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.ids import ObligationId
from milestonebill.invoicing import billing_position
from milestonebill.ledger import Account
from milestonebill.money import Currency, Money
from milestonebill.refunds import refundable
from milestonebill.revenue import earned
from milestonebill.schedule import BillingSchedule, Milestone, MilestoneId, Trigger
from milestonebill.stores.memory import InMemoryStore
from milestonebill.testing.scenarios import CARD

AGR = AgreementId("agr-b")
SIGNED = date(2026, 1, 5)
WORK = ObligationId("work")


@st.composite
def engagements(draw: st.DrawFn) -> dict[str, Any]:
    cur = Currency.of(draw(st.sampled_from(["USD", "JPY", "KWD"])))
    n = draw(st.integers(1, 4))
    milestones = [Milestone(MilestoneId("dep"), "Deposit", amount=Money.from_minor(
        draw(st.integers(1, 10**6)), cur), trigger=Trigger.ON_SIGNING)]
    for i in range(n):
        minor = draw(st.integers(1, 10**7))
        if draw(st.booleans()):
            milestones.append(Milestone(MilestoneId(f"m{i}"), f"M{i}",
                                        amount=Money.from_minor(minor, cur)))
        else:
            due = SIGNED + timedelta(days=draw(st.integers(0, 120)))
            milestones.append(Milestone(MilestoneId(f"m{i}"), f"M{i}", amount=Money.from_minor(
                minor, cur), trigger=Trigger.ON_DATE, due_on=due))
    model = draw(st.sampled_from(["default", "hours", "ssp"]))
    days = sorted(draw(st.lists(st.integers(0, 150), min_size=1, max_size=10)))
    steps = [(d, draw(st.sampled_from(["complete", "hours", "reprice", "refund", "run", "rec",
                                        "rec"]))) for d in days]
    return {"cur": cur, "milestones": milestones, "model": model, "steps": steps,
            "hours": draw(st.lists(st.integers(0, 60), min_size=len(steps),
                                   max_size=len(steps))),
            "ssp": (draw(st.integers(1, 10**6)), draw(st.integers(1, 10**6)))}


def _obligations(e: dict[str, Any]) -> tuple[ObligationTerms, ...]:
    ids = tuple(m.id for m in e["milestones"])
    cur = e["cur"]
    if e["model"] == "hours":
        return (ObligationTerms(WORK, "Work", Progress.HOURS, items=ids, estimate=100),)
    if e["model"] == "ssp":
        a, b = e["ssp"]
        return (ObligationTerms(ObligationId("advice"), "Advice", Progress.STRAIGHT_LINE,
                                ssp=Money.from_minor(a, cur)),
                ObligationTerms(ObligationId("report"), "Report", Progress.MILESTONES,
                                ssp=Money.from_minor(b, cur)))
    return ()


class Books:
    def __init__(self, e: dict[str, Any]) -> None:
        self.cur: Currency = e["cur"]
        self.clock = FixedClock(datetime.combine(SIGNED, time(9), tzinfo=UTC))
        self.store = InMemoryStore(clock=self.clock)
        self.biller = Biller(self.store, InMemoryGateway(), clock=self.clock, firm_id=FirmId("f"))
        schedule = BillingSchedule(currency=self.cur, milestones=e["milestones"])
        proposal = Proposal(ProposalId("p"), "Client", self.cur,
                            (PackageOption("std", "Std", schedule, obligations=_obligations(e)),),
                            approval=ApprovalRules(require_client_approval=False))
        self.biller.open(sign(proposal, option="std", signer="Ada", payment_method=CARD,
                              agreement_id=AGR, signed_at=self.clock.now()))
        self.hours = 0
        self.last_rec: date | None = None

    def at(self, d: date) -> Agreement:
        self.clock.set(datetime.combine(d, time(12), tzinfo=UTC))
        return self.biller.load(AGR)

    def balance(self, account: Account) -> int:
        return self.store.balance(account, currency=self.cur).minor

    def step(self, d: date, kind: str, hours: int) -> None:
        a = self.at(d)
        if kind == "complete":
            open_ = [m.milestone.id for m in a.milestones if m.milestone.trigger
                     is Trigger.ON_COMPLETION and m.milestone.id not in a.completions]
            if open_:
                self.biller.handle(AGR, complete_milestone(a, open_[0], by="Ada",
                                                           at=self.clock.now()))
        elif kind == "hours" and any(o.progress.is_input for o in a.obligation_terms):
            self.log(a, d, hours)
        elif kind == "reprice":
            m = a.milestones[-1].milestone
            assert m.amount is not None
            op = ChangeMilestoneAmount(d, m.id, Money.from_minor(m.amount.minor // 2 + 1,
                                                                 self.cur))
            amendment = Amendment(AmendmentId(f"am-{d.isoformat()}"), (op,))
            if not any(r.amendment.id == amendment.id for r in a.amendments):
                self.biller.handle(AGR, propose(a, amendment, by="Ada", at=self.clock.now()))
        elif kind == "refund":
            self.refund(a, hours)
        elif kind == "run":
            assert self.biller.run(d).problems == ()
        elif self.last_rec is None or d >= self.last_rec:
            self.recognise(d)

    def refund(self, a: Agreement, share: int) -> None:
        """Refund ``share`` (0-60) percent of what is left to refund on the first invoice."""
        if not a.invoices:
            return
        room = refundable(a, a.invoices[0].id).minor
        minor = room * share // 100
        if minor > 0:
            self.biller.refund(a.invoices[0].id, Money.from_minor(minor, self.cur),
                               reason="goodwill")

    def log(self, a: Agreement, d: date, hours: int) -> None:
        self.hours += hours
        if Decimal(self.hours) > a.estimate(WORK):
            self.biller.record(AGR, [revise_estimate(a, WORK, self.hours + 10, as_of=d,
                                                     at=self.clock.now())])
            a = self.biller.load(AGR)
        self.biller.record(AGR, [report_progress(a, WORK, self.hours, as_of=d,
                                                 at=self.clock.now())])

    def recognise(self, d: date) -> None:
        assert self.biller.recognise(d).problems == ()
        again = self.biller.recognise(d)
        assert (again.entries, again.problems) == ((), ())
        self.last_rec = d
        a = self.biller.load(AGR)
        replayed = Agreement.from_events(a.events)
        revenue = -self.balance(Account.REVENUE)
        assert revenue == sum(m.minor for m in earned(replayed, d).values())

    def check(self) -> None:
        a = self.biller.load(AGR)
        liability = -self.balance(Account.CONTRACT_LIABILITY)
        asset = self.balance(Account.CONTRACT_ASSET)
        billed = (sum(i.subtotal.minor for i in a.invoices)
                  - sum(c.subtotal.minor for c in a.credit_notes))
        assert min(liability, asset) == 0
        assert liability >= 0
        assert asset >= 0
        assert liability - asset == billed + self.balance(Account.REVENUE)
        assert sum(m.minor for m in self.store.balances(currency=self.cur).values()) == 0


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(engagements())
def test_the_books_balance_net_and_earn_exactly_the_transaction_price(e: dict[str, Any]) -> None:
    books = Books(e)
    for (offset, kind), hours in zip(e["steps"], e["hours"], strict=True):
        books.step(SIGNED + timedelta(days=offset), kind, hours)
        books.check()
    end = SIGNED + timedelta(days=200)
    a = books.at(end)
    for m in a.milestones:
        if m.milestone.trigger is Trigger.ON_COMPLETION and m.milestone.id not in a.completions:
            books.biller.record(AGR, [complete_milestone(a, m.milestone.id, by="Ada",
                                                         at=books.clock.now())])
            a = books.biller.load(AGR)
    books.biller.record(AGR, [complete(a, at=books.clock.now())])
    assert books.biller.run(end).problems == ()
    books.recognise(end)
    books.check()
    a = books.biller.load(AGR)
    # Refunds are price concessions: the price is the contract value less them.
    concessions = billing_position(a).other_credits
    assert -books.balance(Account.REVENUE) == (contract_value(a) - concessions).minor
    assert books.balance(Account.CONTRACT_ASSET) == books.balance(Account.CONTRACT_LIABILITY) == 0

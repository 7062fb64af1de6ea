"""The acceptance scenario of the books: revenue follows performance, not invoices.

Fee 60,000.00 USD signed 2025-01-10: a 20 % deposit on signing, Design 30 %
(completed 2025-02-20), Build 30 % (2025-04-15), Launch 20 % (2025-05-30).
One obligation over time, measured by hours against a 400-hour estimate;
hours logged Jan 40, Feb 100, Mar 120, Apr 100, May 40.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest

from milestonebill._reference import reference_path
from milestonebill.agreement import (
    AgreementId,
    Collection,
    EstimateRevised,
    ObligationTerms,
    PackageOption,
    Progress,
    Proposal,
    ProposalId,
    complete_milestone,
    report_progress,
    revise_estimate,
    sign,
)
from milestonebill.engine import Biller, FirmId, FixedClock
from milestonebill.errors import InvalidInputError, ValidationError
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.ids import ObligationId
from milestonebill.ledger import Account
from milestonebill.money import Currency, Money
from milestonebill.periods import Period
from milestonebill.reports import contract_positions, remaining_obligations, rollforward
from milestonebill.schedule import BillingSchedule, Milestone, MilestoneId, Trigger
from milestonebill.stores.memory import InMemoryStore
from milestonebill.testing import scenarios

USD = Currency.of("USD")
AGR = AgreementId("agr-books")
WORK = ObligationId("work")
MONTH_ENDS = [date(2025, 1, 31), date(2025, 2, 28), date(2025, 3, 31), date(2025, 4, 30),
              date(2025, 5, 31)]
HOURS_TO_DATE = [40, 140, 260, 360, 400]
COMPLETIONS = {date(2025, 2, 20): "design", date(2025, 4, 15): "build",
               date(2025, 5, 30): "launch"}


def usd(v: str) -> Money:
    return Money(v, "USD")


def _at(d: date) -> datetime:
    return datetime.combine(d, time(18), tzinfo=UTC)


def proposal(obligations: tuple[ObligationTerms, ...]) -> Proposal:
    def pct(mid: str, name: str, p: int, trigger: Trigger = Trigger.ON_COMPLETION) -> Milestone:
        return Milestone(MilestoneId(mid), name, percent=Decimal(p), trigger=trigger)

    schedule = BillingSchedule(currency=USD, fee=usd("60000.00"), milestones=[
        pct("deposit", "Deposit", 20, Trigger.ON_SIGNING), pct("design", "Design", 30),
        pct("build", "Build", 30), pct("launch", "Launch", 20)])
    return Proposal(ProposalId("p"), "Client", USD,
                    (PackageOption("std", "Standard", schedule, obligations=obligations),),
                    collection=Collection.SEND_INVOICE)


HOURS = ObligationTerms(WORK, "The engagement", Progress.HOURS,
                        items=("deposit", "design", "build", "launch"), estimate=400)


class Engagement:
    def __init__(self, obligations: tuple[ObligationTerms, ...] = (HOURS,)) -> None:
        self.clock = FixedClock(_at(date(2025, 1, 10)))
        self.store = InMemoryStore(clock=self.clock)
        self.biller = Biller(self.store, InMemoryGateway(), clock=self.clock, firm_id=FirmId("f"))
        self.biller.open(sign(proposal(obligations), option="std", signer="Ada",
                              payment_method=None, agreement_id=AGR, signed_at=self.clock.now()))
        self.biller.run(date(2025, 1, 10))

    def balance(self, account: Account) -> Money:
        return -self.store.balance(account, currency="USD")

    def month(self, end: date, hours: int, *, revise_to: int | None = None) -> None:
        for day, milestone in COMPLETIONS.items():
            if day.month == end.month:
                self.clock.set(_at(day))
                a = self.biller.load(AGR)
                self.biller.handle(AGR, complete_milestone(a, MilestoneId(milestone), by="Ada",
                                                           at=self.clock.now()))
        self.clock.set(_at(end))
        if revise_to is not None:
            self.biller.record(AGR, [revise_estimate(self.biller.load(AGR), WORK, revise_to,
                                                     as_of=end, at=self.clock.now())])
        self.biller.record(AGR, [report_progress(self.biller.load(AGR), WORK, hours, as_of=end,
                                                 at=self.clock.now())])
        assert self.biller.recognise(end).problems == ()


def _monthly(e: Engagement, revise_in_march: int | None = None
             ) -> list[tuple[Money, Money, Money]]:
    """(revenue of the month, contract liability, contract asset) at each month end."""
    out = []
    before = Money.zero("USD")
    for end, hours in zip(MONTH_ENDS, HOURS_TO_DATE, strict=True):
        e.month(end, hours, revise_to=revise_in_march if end.month == 3 else None)
        revenue = e.balance(Account.REVENUE)
        out.append((revenue - before, e.balance(Account.CONTRACT_LIABILITY),
                    -e.balance(Account.CONTRACT_ASSET)))
        before = revenue
    return out


def test_revenue_follows_the_hours_and_billing_only_moves_the_contract_balance() -> None:
    assert _monthly(Engagement()) == [
        (usd("6000.00"), usd("6000.00"), usd("0.00")),
        (usd("15000.00"), usd("9000.00"), usd("0.00")),
        (usd("18000.00"), usd("0.00"), usd("9000.00")),
        (usd("15000.00"), usd("0.00"), usd("6000.00")),
        (usd("6000.00"), usd("0.00"), usd("0.00")),
    ]


def test_the_deposit_billed_at_signing_is_a_contract_liability() -> None:
    e = Engagement()
    assert (e.balance(Account.REVENUE), e.balance(Account.CONTRACT_LIABILITY)) == (
        usd("0.00"), usd("12000.00"))


def test_a_revised_estimate_catches_up_in_the_month_it_is_made() -> None:
    monthly = _monthly(Engagement(), revise_in_march=500)
    # 260 of 500 hours by March: 31,200.00 earned, 21,000.00 of it before March.
    assert [m[0] for m in monthly] == [usd("6000.00"), usd("15000.00"), usd("10200.00"),
                                       usd("12000.00"), usd("4800.00")]


def test_remaining_performance_obligations_at_the_end_of_march() -> None:
    e = Engagement()
    for end, hours in zip(MONTH_ENDS[:3], HOURS_TO_DATE[:3], strict=True):
        e.month(end, hours)
    (rpo,) = remaining_obligations(e.biller.load(AGR), date(2025, 3, 31))
    assert (rpo.obligation_id, rpo.remaining, rpo.within_12, rpo.within_24, rpo.beyond) == (
        WORK, usd("21000.00"), usd("21000.00"), usd("0.00"), usd("0.00"))


def test_the_roll_forward_ties_to_the_ledger_every_month() -> None:
    e = Engagement()
    _monthly(e)
    periods = [Period.month(d.year, d.month) for d in MONTH_ENDS]
    rows = rollforward(e.store.entries(), periods, currency="USD", agreement_id=AGR)
    assert [(r.billings, r.recognised) for r in rows] == [
        (usd("12000.00"), usd("6000.00")), (usd("18000.00"), usd("15000.00")),
        (usd("0.00"), usd("18000.00")), (usd("18000.00"), usd("15000.00")),
        (usd("12000.00"), usd("6000.00"))]
    for r, end in zip(rows, MONTH_ENDS, strict=True):
        assert r.opening + r.billings - r.credits - r.recognised + r.other == r.closing
        ledger = (-e.store.balance(Account.CONTRACT_LIABILITY, currency="USD", as_of=end)
                  - e.store.balance(Account.CONTRACT_ASSET, currency="USD", as_of=end))
        assert r.closing == ledger
        (position,) = contract_positions(e.store.entries(), end, "USD")
        assert position.contract_liability.minor * position.contract_asset.minor == 0
        assert position.contract_liability - position.contract_asset == r.closing


def test_over_the_life_the_revenue_is_the_transaction_price() -> None:
    e = Engagement()
    _monthly(e)
    assert e.balance(Account.REVENUE) == usd("60000.00")
    assert sum(m.minor for m in e.store.balances(currency="USD").values()) == 0


def test_progress_that_goes_backwards_is_refused_naming_the_field() -> None:
    e = Engagement()
    e.month(MONTH_ENDS[0], 40)
    a = e.biller.load(AGR)
    with pytest.raises(ValidationError) as err:
        report_progress(a, WORK, 30, as_of=date(2025, 2, 10), at=_at(date(2025, 2, 10)))
    assert err.value.field == "to_date"


def test_a_negative_first_report_is_refused_naming_the_field() -> None:
    a = Engagement().biller.load(AGR)
    with pytest.raises(ValidationError) as err:
        report_progress(a, WORK, -1, as_of=date(2025, 1, 31), at=_at(date(2025, 1, 31)))
    assert (err.value.field, str(err.value)) == (
        "to_date", "'to_date' must be at least 0 (progress to date never goes backwards) "
                   "(got Decimal('-1'))")


def test_a_progress_figure_too_large_to_be_real_is_refused() -> None:
    a = Engagement().biller.load(AGR)
    with pytest.raises(ValidationError, match="at most 18 digits before the point"):
        report_progress(a, WORK, "1" + "0" * 30, as_of=date(2025, 1, 31),
                        at=_at(date(2025, 1, 31)))
    with pytest.raises(ValidationError, match="must be a number such as"):  # no exponents
        report_progress(a, WORK, "1e999999999", as_of=date(2025, 1, 31),
                        at=_at(date(2025, 1, 31)))


def test_progress_beyond_the_estimate_needs_a_revision_first() -> None:
    e = Engagement()
    a = e.biller.load(AGR)
    with pytest.raises(ValidationError) as err:
        report_progress(a, WORK, 401, as_of=date(2025, 1, 31), at=_at(date(2025, 1, 31)))
    assert (err.value.field, err.value.value) == ("to_date", Decimal(401))
    revised = revise_estimate(a, WORK, 450, as_of=date(2025, 1, 31), at=_at(date(2025, 1, 31)))
    e.biller.record(AGR, [revised])
    e.biller.record(AGR, [report_progress(e.biller.load(AGR), WORK, 401,
                                          as_of=date(2025, 1, 31), at=_at(date(2025, 1, 31)))])


def test_an_obligation_map_that_leaves_a_milestone_unmapped_is_refused() -> None:
    partial = ObligationTerms(WORK, "Work", Progress.HOURS, items=("design", "build"),
                              estimate=400)
    with pytest.raises(ValidationError) as err:
        proposal((partial,))
    assert err.value.field == "options[0].obligations"
    assert "deposit" in str(err.value)


def test_an_item_mapped_twice_and_an_ssp_in_another_currency_are_refused_together() -> None:
    one = ObligationTerms(ObligationId("a"), "A", Progress.MILESTONES,
                          items=("deposit", "design", "build", "launch"))
    two = ObligationTerms(ObligationId("b"), "B", Progress.MILESTONES, items=("design",),
                          ssp=Money("10", "EUR"))
    with pytest.raises(InvalidInputError) as err:
        proposal((one, two))
    assert sorted(p.field for p in err.value.problems) == [
        "options[0].obligations[1].items", "options[0].obligations[1].ssp"]


def test_nothing_is_stored_when_one_event_of_a_batch_is_refused() -> None:
    e = Engagement()
    before = e.store.load(AGR)
    a = e.biller.load(AGR)
    good = report_progress(a, WORK, 40, as_of=date(2025, 1, 31), at=_at(date(2025, 1, 31)))
    # An estimate below the 40 hours already reported in the same batch.
    bad = EstimateRevised(f"{AGR}/x", a.version + 2, _at(date(2025, 1, 31)), WORK, Decimal(30),
                          date(2025, 1, 31))
    with pytest.raises(ValidationError) as err:
        e.biller.record(AGR, [good, bad])
    assert err.value.field == "total"
    assert e.store.load(AGR) == before


def test_an_escalating_retainer_puts_each_years_price_in_its_own_rpo_bucket() -> None:
    """The next 12 months hold the service periods earned in them at the prices
    then in force -- not a day-weighted share of the whole horizon."""
    from milestonebill.schedule import Escalation, Interval, ItemId, RecurringCharge
    from milestonebill.testing.scenarios import proposal, signed

    charge = RecurringCharge(ItemId("books"), "Bookkeeping", Money("2500.00", "USD"),
                             Interval.MONTHLY, start=date(2026, 1, 1),
                             escalations=(Escalation(percent=Decimal(3), on_anniversary=True),))
    a = signed(proposal(recurring=[charge]), at=datetime(2026, 1, 1, tzinfo=UTC))
    (row,) = remaining_obligations(a, date(2026, 12, 31))
    assert str(row.within_12) == "30900.00 USD"  # 12 x 2,575.00
    assert str(row.within_24) == "31827.00 USD"  # 12 x 2,652.25
    assert row.within_12 + row.within_24 + row.beyond == row.remaining
    (mid,) = remaining_obligations(a, date(2026, 6, 15))
    assert mid.within_12 + mid.within_24 + mid.beyond == mid.remaining
    # 16-30 June 2026 (15/30 of 2,500.00), July-December at 2,500.00, January-May 2027
    # at 2,575.00 and 1-15 June 2027 (15/30 of 2,575.00)
    assert str(mid.within_12) == "30412.50 USD"
    assert mid.within_12.minor == 1250_00 + 6 * 2500_00 + 5 * 2575_00 + 1287_50


def test_a_milestone_of_no_amount_does_not_date_the_remaining_obligation() -> None:
    # A zero amount makes no plan item, so the package's milestones leave it out, and
    # its due date does not move the remainder into the second year.
    late = Milestone(MilestoneId("late"), "Late", amount=usd("0.00"), trigger=Trigger.ON_DATE,
                     due_on=date(2027, 6, 1))
    a = sign(scenarios.proposal([("design", "500.00"), late]), option="std", signer="Ada",
             payment_method=scenarios.CARD, agreement_id=AgreementId("a-1"),
             signed_at=datetime(2026, 1, 5, tzinfo=UTC))
    got = list(remaining_obligations(a, date(2026, 2, 1)))
    assert [(r.within_12, r.within_24, r.timing) for r in got] == [
        (usd("500.00"), usd("0.00"), "no end stated: assumed within 12 months")]
    with reference_path():
        assert list(remaining_obligations(a, date(2026, 2, 1))) == got

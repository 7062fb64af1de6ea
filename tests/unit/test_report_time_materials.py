"""Time and materials in the revenue reports, tied to what month-end recognition posted.

An agreement with a milestone and a monthly time-and-materials term (capped,
so part of the work is held until a cap raise) is billed and recognised at
every month end on a SQLite file.  The revenue schedule and the revenue
column of the billing and revenue forecast show the time obligation beside
the milestone, month by month exactly what the ledger's revenue account
received -- including work approved late (held in March, released in May),
which recognition catches up when it is approved, never by rewriting March.
Approved time not yet billed is forecast (billing and cash) on its cadence
day as the Biller then billed it.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

from milestonebill.agreement import Collection, TimeEntry
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.ledger import Account, JournalEntry
from milestonebill.periods import Period
from milestonebill.reports import billing_revenue_forecast, expected_receipts, revenue_schedule
from milestonebill.revenue import earned, earned_minor_with_time
from milestonebill.schedule import Rate, TimeAndMaterials, TimeCadence
from milestonebill.stores.sqlite import SQLiteStore
from milestonebill.testing.scenarios import World, proposal, usd
from milestonebill.timebilling import TIME_OBLIGATION, time_earned, time_earned_minor_series

TERM = TimeAndMaterials(rates=(Rate("senior", usd("150.00"), date(2026, 1, 1)),),
                        cadence=TimeCadence.MONTHLY, cap=usd("1000.00"))
MONTHS = [Period.month(2026, m) for m in (3, 4, 5, 6)]


def _entry(n: int, on: date, hours: str) -> TimeEntry:
    return TimeEntry(entry_id=f"T-{n}", on=on, person="ada", role="senior", hours=Decimal(hours))


@pytest.fixture(scope="module")
def lived(tmp_path_factory: pytest.TempPathFactory) -> tuple[World[InMemoryGateway], str]:
    path: Path = tmp_path_factory.mktemp("tm") / "books.db"
    w: World[InMemoryGateway] = World(SQLiteStore(path))
    w.on(date(2026, 3, 1))
    a = w.open(attrs.evolve(proposal([("kickoff", "2000.00")], collection=Collection.SEND_INVOICE),
                            time_materials=TERM), payment_method=None)
    work = {date(2026, 3, 9): (1, "4"), date(2026, 3, 20): (2, "3"), date(2026, 4, 14): (3, "2.5")}
    day = date(2026, 3, 1)
    while day <= MONTHS[-1].last_day:
        w.on(day)
        if day in work:
            w.biller.record_work(a.id, [_entry(work[day][0], day, work[day][1])])
        if day == date(2026, 3, 25):
            w.complete("kickoff")
        if day == date(2026, 5, 12):  # 3.5 h held past the cap are approved
            w.biller.raise_cap(a.id, usd("1500.00"), reason="client approved")
        w.biller.run(day)
        if (day + timedelta(days=1)).day == 1:
            w.biller.recognise(day)
        day += timedelta(days=1)
    return w, a.id


def _posted(entries: list[JournalEntry], period: Period) -> int:
    return -sum(ln.signed_minor for e in entries if period.start <= e.posted_on < period.end
                for ln in e.lines if ln.account is Account.REVENUE)


def test_the_revenue_schedule_shows_time_beside_the_milestone_as_recognition_posted(
        lived: tuple[World[InMemoryGateway], str]) -> None:
    w, _aid = lived
    a = w.load()
    rows = list(revenue_schedule(a, Period(MONTHS[0].start, MONTHS[-1].end)))
    time_rows = {r.period: r.amount for r in rows if r.obligation_id == TIME_OBLIGATION}
    assert {r.name for r in rows if r.obligation_id == TIME_OBLIGATION} == {"Time and materials"}
    # By the stream as it is now, all approved work counts for the month it was done
    # in: 7 h in March (1,050.00), 2.5 h in April (375.00).
    assert time_rows == {MONTHS[0]: usd("1050.00"), MONTHS[1]: usd("375.00")}
    assert sum(r.amount.minor for r in rows) == sum(
        m.minor for m in (*earned(a, MONTHS[-1].last_day).values(),
                          *time_earned(a, MONTHS[-1].last_day).values()))
    entries = list(w.store.entries())
    assert sum(r.amount.minor for r in rows) == sum(_posted(entries, m) for m in MONTHS)


def test_forecast_revenue_for_past_months_is_what_recognition_posted_with_time(
        lived: tuple[World[InMemoryGateway], str]) -> None:
    w, _aid = lived
    entries = list(w.store.entries())
    rows = billing_revenue_forecast([w.load()], MONTHS[-1].last_day, periods=1,
                                    history=len(MONTHS))
    past = [r for r in rows if r.basis == "actual"]
    assert [r.period for r in past] == MONTHS
    # March: the milestone and the 1,000.00 of time within the cap; April's
    # 375.00 is held past the cap as well, so April earns nothing; May's raise
    # releases 50.00 of March and April's 375.00 (what the agreement said at
    # each month end).
    assert [r.revenue.minor for r in past] == [_posted(entries, m) for m in MONTHS]
    assert [r.revenue.minor for r in past] == [300000, 0, 42500, 0]


def test_time_earned_at_many_days_is_time_earned_at_each(
        lived: tuple[World[InMemoryGateway], str]) -> None:
    w, _aid = lived
    a = w.load()
    days = [date(2026, 3, 1) + timedelta(days=n) for n in range(0, 130, 3)]
    want = [time_earned(a, d)[TIME_OBLIGATION].minor for d in days]
    assert time_earned_minor_series(a, days) == want
    assert [row[TIME_OBLIGATION] for row in earned_minor_with_time(a, days)] == want


def test_approved_time_not_yet_billed_is_forecast_on_its_billing_day_as_the_biller_bills_it(
        lived: tuple[World[InMemoryGateway], str]) -> None:
    w, _aid = lived
    final = w.load()
    march = final.as_of(date(2026, 3, 31))
    # On 31 March 7 h are approved up to the cap (1,000.00) and not billed; the
    # monthly cadence bills them on 1 April, which is what the Biller did.
    (issued,) = [i for i in final.invoices if i.issued_on == date(2026, 4, 1)]
    rows = billing_revenue_forecast([march], date(2026, 3, 31), periods=2)
    assert [(r.period, r.billed) for r in rows] == [(MONTHS[1], issued.subtotal),
                                                    (MONTHS[2], usd("0.00"))]
    (receipt,) = [r for r in expected_receipts([march], date(2026, 3, 31),
                                               through=date(2026, 6, 1))
                  if r.source == "time and materials"]
    assert (receipt.billed_on, receipt.due_on, receipt.amount) == (
        issued.issued_on, issued.due_on, issued.total)
    # Once billed, it is an open invoice, not time still to bill.
    april = final.as_of(date(2026, 4, 1))
    assert [r.source for r in expected_receipts([april], date(2026, 4, 1),
                                                through=date(2026, 6, 1))
            if r.source == "time and materials"] == []

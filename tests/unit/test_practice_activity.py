"""Work completed and time logged become agreement events through the stored links.

Runs on the in-memory store, a real SQLite file and (when configured) the
PostgreSQL server: links and events go through each store's own tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from milestonebill.agreement import MilestoneCompleted, ProgressReported
from milestonebill.clock import FixedClock
from milestonebill.errors import DuplicateIdError, NotFoundError, ValidationError
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.ids import AgreementId, MilestoneId, ObligationId
from milestonebill.integrations.practice import (
    Outcome,
    TimeLogged,
    WorkCompleted,
    plan_activity,
    record_activity,
)
from milestonebill.integrations.practice.activity import completion_event_id, time_event_id
from milestonebill.stores.base import BillingStore, LinkTarget
from milestonebill.stores.memory import InMemoryStore
from milestonebill.stores.sqlite import SQLiteStore
from milestonebill.testing.practice import AGREEMENT, OTHER_AGREEMENT, practice_world
from milestonebill.testing.scenarios import T0, World, usd

DAY = T0.date()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path, clock: FixedClock
          ) -> Iterator[BillingStore]:
    if request.param == "memory":
        yield InMemoryStore(clock=clock)
        return
    if request.param == "sqlite":
        with SQLiteStore(tmp_path / "billing.db", clock=clock) as lite:
            yield lite
        return
    from milestonebill.stores.postgres import PostgresStore

    with PostgresStore(request.getfixturevalue("pg_dsn"), clock=clock, pool_size=2,
                       schema=request.getfixturevalue("pg_schema")) as pg:
        yield pg


@pytest.fixture
def w(store: BillingStore, clock: FixedClock) -> World[InMemoryGateway]:
    world = practice_world(store, clock=clock)
    world.biller.link_work("karbon", "WI-design", AGREEMENT, milestone_id=MilestoneId("design"))
    world.biller.link_work("bigtime", "Acme audit", AGREEMENT)
    return world


def done(delivery: str = "d-1", key: str = "WI-design") -> WorkCompleted:
    return WorkCompleted("karbon", delivery, (key,), T0 - timedelta(hours=1), "Ada")


def time(entry: str, hours: str, on: date = DAY, project: str = "Acme audit") -> TimeLogged:
    return TimeLogged("bigtime", entry, (project,), on, "Ada", Decimal(hours), Decimal(150))


def hours(w: World[InMemoryGateway], aid: AgreementId = AGREEMENT,
          obligation: str = "work") -> Decimal:
    return w.biller.load(aid).progress(obligation)


# ------------------------------------------------------------------ links


def test_a_link_to_a_milestone_the_agreement_lacks_is_refused_and_not_stored(
        w: World[InMemoryGateway]) -> None:
    with pytest.raises(NotFoundError, match="launch"):
        w.biller.link_work("karbon", "WI-9", AGREEMENT, milestone_id=MilestoneId("launch"))
    assert w.biller.work_links(source="karbon") == [w.store.work_link("karbon", "WI-design")]


def test_a_link_to_an_unknown_agreement_is_refused(w: World[InMemoryGateway]) -> None:
    with pytest.raises(NotFoundError):
        w.biller.link_work("karbon", "WI-9", AgreementId("agr-404"))
    assert w.store.work_link("karbon", "WI-9") is None


def test_a_link_to_an_obligation_needs_one_measured_by_input(
        w: World[InMemoryGateway]) -> None:
    with pytest.raises(ValidationError) as info:
        w.biller.link_work("bigtime", "x", AGREEMENT, obligation_id=ObligationId("nope"))
    assert info.value.field == "obligation_id"
    link = w.biller.link_work("bigtime", "filings", OTHER_AGREEMENT,
                              obligation_id=ObligationId("filings"))
    assert link.target is LinkTarget.OBLIGATION


def test_the_first_external_id_with_a_link_is_found(w: World[InMemoryGateway]) -> None:
    found = w.biller.find_work_link("bigtime", ["no-task", "Acme audit"])
    assert (found.agreement_id if found else None) == AGREEMENT
    assert w.biller.find_work_link("bigtime", ["no-task"]) is None
    with pytest.raises(ValidationError):
        w.biller.find_work_link("bigtime", "Acme audit")


# ------------------------------------------------------------------ completions


def test_a_completed_work_item_completes_its_milestone_and_bills_it(
        w: World[InMemoryGateway]) -> None:
    receipt = record_activity(w.biller, [done()])
    (result,) = receipt.results
    assert (result.outcome, result.agreement_id, result.target) == (
        Outcome.RECORDED, AGREEMENT, "design")
    (event,) = receipt.events
    assert isinstance(event, MilestoneCompleted)
    assert (event.event_id, event.completed_on, event.completed_by, event.evidence) == (
        "pm:karbon:d-1", DAY, "Ada", "karbon work item WI-design")
    assert [i.total for b in receipt.billed for i in b.invoices] == [usd("4000.00")]


def test_a_redelivery_changes_nothing(w: World[InMemoryGateway]) -> None:
    record_activity(w.biller, [done()])
    version = w.store.version(AGREEMENT)
    again = record_activity(w.biller, [done()])
    assert (again.results[0].outcome, again.events, w.store.version(AGREEMENT)) == (
        Outcome.DUPLICATE, (), version)
    assert [b.invoices for b in again.billed] == [()]


def test_another_delivery_of_a_completed_milestone_is_left_as_it_is(
        w: World[InMemoryGateway]) -> None:
    record_activity(w.biller, [done()])
    later = record_activity(w.biller, [done("d-2")])
    assert later.results[0].outcome is Outcome.ALREADY_COMPLETED
    assert completion_event_id("karbon", "d-2") not in {e.event_id for e in w.load().events}


def test_a_completion_linked_to_no_milestone_is_ignored_with_the_reason(
        w: World[InMemoryGateway]) -> None:
    w.biller.link_work("karbon", "WI-project", AGREEMENT)
    receipt = record_activity(w.biller, [done(key="WI-project"), done("d-3", key="WI-none")])
    assert [(r.outcome, r.reason) for r in receipt.results] == [
        (Outcome.IGNORED, "'WI-project' is linked to the agreement, not to a milestone"),
        (Outcome.IGNORED, "no karbon link for 'WI-none'")]
    assert (receipt.events, receipt.billed) == ((), ())


# ------------------------------------------------------------------ time


def test_time_entries_report_hours_to_date_in_date_order(w: World[InMemoryGateway]) -> None:
    receipt = record_activity(w.biller, [time("e-2", "3", DAY + timedelta(days=1)),
                                         time("e-1", "2.5"), time("e-3", "0.25", DAY)])
    reports = [e for e in receipt.events if isinstance(e, ProgressReported)]
    assert [(r.event_id, r.to_date, r.as_of) for r in reports] == [
        ("pm:bigtime:time:e-1", Decimal("2.5"), DAY),
        ("pm:bigtime:time:e-3", Decimal("2.75"), DAY),
        ("pm:bigtime:time:e-2", Decimal("5.75"), DAY + timedelta(days=1))]
    assert [r.outcome for r in receipt.results] == [Outcome.RECORDED] * 3
    assert hours(w) == Decimal("5.75")


def test_an_entry_is_counted_once_however_often_it_comes(w: World[InMemoryGateway]) -> None:
    record_activity(w.biller, [time("e-1", "2")])
    again = record_activity(w.biller, [time("e-1", "2"), time("e-2", "1")])
    assert [r.outcome for r in again.results] == [Outcome.DUPLICATE, Outcome.RECORDED]
    assert hours(w) == Decimal(3)


def test_an_edited_entry_is_left_as_counted_and_said_so(w: World[InMemoryGateway]) -> None:
    record_activity(w.biller, [time("e-1", "2"), time("e-2", "1")])
    again = record_activity(w.biller, [time("e-1", "2.5")])
    assert (again.results[0].outcome, again.results[0].reason) == (
        Outcome.EDITED, "counted as 2 hours; the entry now says 2.5")
    assert hours(w) == Decimal(3)


def test_late_time_is_counted_on_the_day_of_the_last_report(w: World[InMemoryGateway]) -> None:
    record_activity(w.biller, [time("e-1", "2", DAY + timedelta(days=5))])
    late = record_activity(w.biller, [time("e-0", "1", DAY + timedelta(days=1))])
    (report,) = late.events
    assert isinstance(report, ProgressReported)
    assert (report.as_of, report.to_date) == (DAY + timedelta(days=5), Decimal(3))


def test_time_before_signing_is_counted_on_the_signing_day(w: World[InMemoryGateway]) -> None:
    (report,) = record_activity(w.biller, [time("e-1", "1", DAY - timedelta(days=10))]).events
    assert isinstance(report, ProgressReported)
    assert report.as_of == w.load().signed_on


def test_time_on_a_milestone_goes_to_the_obligation_that_pays_for_it(
        w: World[InMemoryGateway]) -> None:
    entry = TimeLogged("karbon", "k-1", ("WI-design",), DAY, "Ada", Decimal("1.5"))
    (result,) = record_activity(w.biller, [entry]).results
    assert (result.outcome, result.target) == (Outcome.RECORDED, "work")
    assert hours(w) == Decimal("1.5")


def test_a_project_link_needs_exactly_one_obligation_measured_by_hours(
        w: World[InMemoryGateway]) -> None:
    w.biller.link_work("keeper", "C-2", OTHER_AGREEMENT)
    entry = TimeLogged("keeper", "tm-1", ("C-2",), DAY, "Ada", Decimal(2))
    (result,) = record_activity(w.biller, [entry]).results
    assert (result.outcome, result.target) == (Outcome.RECORDED, "advice")
    assert hours(w, OTHER_AGREEMENT, "advice") == Decimal(2)


def test_time_on_an_obligation_measured_by_units_is_ignored(w: World[InMemoryGateway]) -> None:
    w.biller.link_work("keeper", "filings", OTHER_AGREEMENT, obligation_id=ObligationId("filings"))
    entry = TimeLogged("keeper", "tm-2", ("filings",), DAY, "Ada", Decimal(2))
    (result,) = record_activity(w.biller, [entry]).results
    assert (result.outcome, result.reason) == (
        Outcome.IGNORED, "obligation 'filings' is measured by units, not hours")
    assert hours(w, OTHER_AGREEMENT, "filings") == 0


def test_an_entry_without_hours_is_ignored(w: World[InMemoryGateway]) -> None:
    (result,) = record_activity(w.biller, [time("e-0", "0")]).results
    assert (result.outcome, result.reason) == (Outcome.IGNORED, "the entry has no hours")


def test_hours_past_the_estimate_refuse_the_whole_delivery(w: World[InMemoryGateway]) -> None:
    w.biller.link_work("keeper", "C-2", OTHER_AGREEMENT)
    before = (w.store.version(AGREEMENT), w.store.version(OTHER_AGREEMENT))
    fine = TimeLogged("keeper", "tm-1", ("C-2",), DAY, "Ada", Decimal(2))
    with pytest.raises(ValidationError, match="estimate") as info:
        record_activity(w.biller, [fine, done(), time("e-1", "60"), time("e-2", "41")])
    assert info.value.field == "to_date"
    assert (w.store.version(AGREEMENT), w.store.version(OTHER_AGREEMENT)) == before


def test_a_plan_reports_every_refusal_and_writes_nothing(w: World[InMemoryGateway]) -> None:
    results, errors = plan_activity(w.biller, [time("e-1", "60"), time("e-2", "41"),
                                               time("e-3", "40"), done()])
    assert sorted(errors) == [1]
    assert [results[i].outcome for i in (0, 2, 3)] == [Outcome.RECORDED] * 3
    assert hours(w) == 0
    assert w.load().completions == {}


def test_an_event_id_taken_by_another_kind_of_event_is_refused(
        w: World[InMemoryGateway]) -> None:
    record_activity(w.biller, [done("time:e-1")])
    clash = TimeLogged("karbon", "e-1", ("WI-design",), DAY, "Ada", Decimal(1))
    assert time_event_id("karbon", "e-1") == completion_event_id("karbon", "time:e-1")
    with pytest.raises(DuplicateIdError):
        record_activity(w.biller, [clash])


def test_anything_but_activities_is_refused(w: World[InMemoryGateway]) -> None:
    with pytest.raises(ValidationError):
        record_activity(w.biller, done())  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        record_activity(w.biller, ["WI-design"])  # type: ignore[list-item]


# ------------------------------------------------------------------ one unit of work


def test_a_builder_that_raises_leaves_no_agreement_written(w: World[InMemoryGateway]) -> None:
    from milestonebill.agreement import Agreement, Event, report_progress

    def progress(a: Agreement, at: object) -> list[Event]:
        return [report_progress(a, "work", 1, as_of=DAY, at=T0)]

    def broken(a: Agreement, at: object) -> list[Event]:
        raise ValidationError("hours", "a number", "x")

    with pytest.raises(ValidationError):
        w.biller.record_together({AGREEMENT: progress, OTHER_AGREEMENT: broken})
    assert hours(w) == 0
    done_ = w.biller.record_together({AGREEMENT: progress})
    assert done_[AGREEMENT].progress("work") == 1


def test_work_recorded_before_its_link_moved_is_not_counted_again(
        w: World[InMemoryGateway]) -> None:
    record_activity(w.biller, [time("e-1", "2"), done()])
    w.biller.unlink_work("bigtime", "Acme audit")
    w.biller.link_work("bigtime", "Acme audit", OTHER_AGREEMENT)
    w.biller.unlink_work("karbon", "WI-design")
    w.biller.link_work("karbon", "WI-design", OTHER_AGREEMENT, milestone_id=MilestoneId("advice"))
    again = record_activity(w.biller, [time("e-1", "2"), done(), time("e-2", "1")])
    assert [(r.outcome, r.agreement_id) for r in again.results] == [
        (Outcome.DUPLICATE, AGREEMENT), (Outcome.DUPLICATE, AGREEMENT),
        (Outcome.RECORDED, OTHER_AGREEMENT)]
    assert again.results[0].reason == "recorded on agreement 'agr-1' before the link moved"
    assert (hours(w), hours(w, OTHER_AGREEMENT, "advice")) == (Decimal(2), Decimal(1))
    assert again.billed == ()

"""A PSA's time export (BigTime-style CSV) imported as hours to date, all or nothing."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest

from milestonebill.clock import FixedClock
from milestonebill.errors import ValidationError
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.ids import ObligationId
from milestonebill.integrations.practice import Outcome, import_time
from milestonebill.integrations.practice.timesheets import read_time_entries
from milestonebill.stores.sqlite import SQLiteStore
from milestonebill.testing.practice import AGREEMENT, OTHER_AGREEMENT, practice_world
from milestonebill.testing.scenarios import T0, World

HEADER = "Date,Person,Hours,Rate,Project\n"
MARCH = (HEADER
         + "2026-03-02,Ada Lovelace,2.5,150.00,Acme audit\n"
         + "2026-03-03,Grace Hopper,1.25,120.00,Acme audit\n"
         + "2026-03-03,Ada Lovelace,4,150.00,Initech advice\n"
         + "2026-03-04,Alan Turing,3,90.00,Internal\n")


@pytest.fixture
def w(tmp_path: Path) -> World[InMemoryGateway]:
    clock = FixedClock(T0)
    world = practice_world(SQLiteStore(tmp_path / "billing.db", clock=clock), clock=clock)
    world.biller.link_work("bigtime", "Acme audit", AGREEMENT)
    world.biller.link_work("bigtime", "Initech advice", OTHER_AGREEMENT,
                           obligation_id=ObligationId("advice"))
    return world


def hours(w: World[InMemoryGateway]) -> tuple[Decimal, Decimal]:
    return (w.biller.load(AGREEMENT).progress("work"),
            w.biller.load(OTHER_AGREEMENT).progress("advice"))


def test_each_linked_row_adds_its_hours_and_unlinked_rows_are_reported(
        w: World[InMemoryGateway]) -> None:
    result = import_time(w.biller, io.StringIO(MARCH))
    assert (result.ok, result.written, hours(w)) == (True, True, (Decimal("3.75"), Decimal(4)))
    assert result.report() == ("3 entries recorded (7.75 hours), 0 already counted, 1 ignored\n"
                               "row 5: ignored: no bigtime link for 'Internal'")


def test_importing_the_same_file_again_changes_nothing(w: World[InMemoryGateway]) -> None:
    import_time(w.biller, io.StringIO(MARCH))
    versions = (w.store.version(AGREEMENT), w.store.version(OTHER_AGREEMENT))
    again = import_time(w.biller, io.StringIO(MARCH))
    assert (again.written, again.count(Outcome.DUPLICATE)) == (False, 3)
    assert (w.store.version(AGREEMENT), w.store.version(OTHER_AGREEMENT)) == versions


def test_an_overlapping_export_counts_only_the_new_rows(w: World[InMemoryGateway]) -> None:
    import_time(w.biller, io.StringIO(MARCH))
    later = MARCH + "2026-03-09,Ada Lovelace,1.5,150.00,Acme audit\n"
    result = import_time(w.biller, io.StringIO(later))
    assert (result.count(Outcome.RECORDED), hours(w)) == (1, (Decimal("5.25"), Decimal(4)))


def test_two_equal_rows_are_two_entries(w: World[InMemoryGateway]) -> None:
    twice = HEADER + "2026-03-02,Ada,1,150,Acme audit\n" * 2
    first = import_time(w.biller, io.StringIO(twice))
    assert [r.outcome for r in first.results] == [Outcome.RECORDED] * 2
    assert len({e.entry_id for e in first.entries}) == 2
    assert import_time(w.biller, io.StringIO(twice)).count(Outcome.DUPLICATE) == 2
    assert hours(w)[0] == 2


def test_an_entry_id_column_names_the_entries(w: World[InMemoryGateway]) -> None:
    text = ("Entry ID,Date,Person,Hours,Rate,Project,Billable,Notes\n"
            "TE-1,2026-03-02,Ada,1,150,Acme audit,no,kick-off\n")
    result = import_time(w.biller, io.StringIO(text))
    (entry,) = result.entries
    assert (entry.entry_id, entry.billable, entry.description) == ("TE-1", False, "kick-off")
    (event,) = result.results[0].events
    assert event.event_id == "pm:bigtime:time:TE-1"


def test_every_bad_cell_is_reported_and_nothing_is_written(w: World[InMemoryGateway]) -> None:
    text = (HEADER
            + "2026-03-02,Ada,2.5,150,Acme audit\n"
            + "2026-02-30,,-1,abc,\n"
            + "03/04/2026,Ada,1e2,150,Acme audit\n")
    result = import_time(w.biller, io.StringIO(text))
    assert [str(p) for p in result.problems] == [
        "row 3, Date: must be a date such as 2026-03-02 (got '2026-02-30')",
        "row 3, Person: is required",
        "row 3, Project: is required",
        "row 3, Hours: must be a number of hours, at least 0 (got '-1')",
        "row 3, Rate: must be a rate, at least 0 (got 'abc')",
        "row 4, Date: must be a date such as 2026-03-02 (got '03/04/2026')",
        "row 4, Hours: must be a number of hours, at least 0 (got '1e2')"]
    assert (result.written, hours(w)) == (False, (Decimal(0), Decimal(0)))


def test_hours_past_the_estimate_are_a_problem_of_their_row(w: World[InMemoryGateway]) -> None:
    text = HEADER + "2026-03-02,Ada,60,150,Acme audit\n2026-03-03,Ada,41,150,Acme audit\n"
    result = import_time(w.biller, io.StringIO(text))
    (problem,) = result.problems
    assert (problem.row, problem.column) == (3, "Hours")
    assert "estimate in force (100)" in problem.message
    assert hours(w) == (Decimal(0), Decimal(0))


def test_a_missing_column_is_reported_on_the_header(w: World[InMemoryGateway]) -> None:
    result = import_time(w.biller, io.StringIO("Date,Person,Hours,Project\n2026-03-02,A,1,P\n"))
    assert [str(p) for p in result.problems] == [
        "row 1, rate: is missing (map the header that holds it with mapping={header: column})"]


def test_headers_are_mapped_and_others_ignored(w: World[InMemoryGateway]) -> None:
    text = ("Work Date,Staff Member,Input Hours,Bill Rate,Project,Client\n"
            "03/02/2026,Ada,2,150,Acme audit,Acme\n")
    result = import_time(w.biller, io.StringIO(text), date_format="%m/%d/%Y",
                         mapping={"Work Date": "date", "Staff Member": "person",
                                  "Input Hours": "hours", "Bill Rate": "rate"})
    assert (result.ok, result.ignored_headers, hours(w)[0]) == (True, ("Client",), Decimal(2))


def test_a_header_holding_a_column_twice_is_refused(w: World[InMemoryGateway]) -> None:
    text = "Date,Person,Hours,Rate,Project,Staff\n2026-03-02,A,1,1,P,B\n"
    result = import_time(w.biller, io.StringIO(text), mapping={"Staff": "person"})
    assert [str(p) for p in result.problems] == [
        "row 1, Staff: holds person, as 'Person' does already"]


def test_a_bad_mapping_is_refused(w: World[InMemoryGateway]) -> None:
    with pytest.raises(ValidationError):
        import_time(w.biller, io.StringIO(MARCH), mapping={"Hours": "minutes"})
    with pytest.raises(ValidationError):
        import_time(w.biller, io.StringIO(MARCH), source_name="Big Time")


def test_a_dry_run_says_what_it_would_record_and_writes_nothing(
        w: World[InMemoryGateway]) -> None:
    result = import_time(w.biller, io.StringIO(MARCH), dry_run=True)
    assert (result.written, result.count(Outcome.RECORDED), hours(w)) == (False, 3, (Decimal(0), Decimal(0)))
    assert result.report().endswith("(dry run: nothing written)\n"
                                    "row 5: ignored: no bigtime link for 'Internal'")


def test_a_file_on_disk_with_a_byte_order_mark_is_read(w: World[InMemoryGateway],
                                                       tmp_path: Path) -> None:
    path = tmp_path / "time.csv"
    path.write_text(MARCH, encoding="utf-8-sig")
    assert import_time(w.biller, path).count(Outcome.RECORDED) == 3


def test_blank_rows_are_skipped_and_rows_keep_their_numbers() -> None:
    read = read_time_entries(io.StringIO(HEADER + ",,,,\n\n2026-03-02,Ada,1,1,P\n"))
    assert (read.rows, read.problems) == ((4,), ())


def test_the_json_form_pairs_each_result_with_its_row(w: World[InMemoryGateway]) -> None:
    doc = import_time(w.biller, io.StringIO(MARCH)).to_json()
    assert [(r["row"], r["outcome"], r["target"]) for r in doc["results"]] == [
        (2, "recorded", "work"), (3, "recorded", "work"), (4, "recorded", "advice"),
        (5, "ignored", None)]

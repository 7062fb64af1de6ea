"""Unit tests for the ``milestonebill`` command line."""

from __future__ import annotations

import argparse
import io
import json
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from milestonebill.cli import COMMANDS, build_parser, main
from milestonebill.cli.common import error_text
from milestonebill.cli.engagement import EXAMPLE_ENGAGEMENT, load_engagement
from milestonebill.errors import InvalidInputError, ValidationError
from milestonebill.money import Money
from milestonebill.schedule import BillingSchedule, ChargeKind


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def written(tmp_path: Path, data: object) -> str:
    """``data`` as an engagement file in ``tmp_path``; its path."""
    path = tmp_path / "engagement.json"
    path.write_text(json.dumps(data))
    return str(path)


def example() -> dict[str, Any]:
    text = resources.files("milestonebill").joinpath(EXAMPLE_ENGAGEMENT).read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def test_example_engagement_is_the_documented_consulting_deal() -> None:
    eng = load_engagement(example())
    s = eng.schedule
    assert s.fee == Money("48000.00", "USD")
    assert Money.total(s.milestone_amounts().values()) == s.fee
    assert any(m.percent is not None for m in s.milestones)
    (retainer,) = s.recurring
    assert (retainer.anchor_day, retainer.first_period_proration is not None) == (31, True)
    assert [(e.percent, e.step, e.on_anniversary) for e in retainer.escalations] == [
        (Decimal(3), Decimal(1), True)]


def test_example_is_canonical_json() -> None:
    data = example()
    assert BillingSchedule.from_json(data["schedule"]).to_json() == data["schedule"]


def test_schedule_without_file_prints_the_example_charges() -> None:
    code, text = run("schedule")
    lines = text.splitlines()
    assert code == 0
    assert lines[4].split()[:4] == ["2025-01-15", "kickoff", "12,000.00", "USD"]
    assert "prorated 14/31" in text
    assert lines[-1] == "29 charges, total 108,794.45 USD"


def test_schedule_window_is_half_open() -> None:
    code, text = run("schedule", "--from", "2026-03-31", "--to", "2026-04-30")
    rows = [line for line in text.splitlines() if line.startswith("2026")]
    assert (code, len(rows)) == (0, 1)
    assert "2,524.00 USD" in rows[0]
    assert "2450.00 -> 2524.00" in rows[0]


def test_schedule_json_output_parses_and_sums() -> None:
    code, text = run("schedule", "--json", "--to", "2025-04-01")
    doc = json.loads(text)
    total = Money.total((Money.from_json(c["amount"]) for c in doc["charges"]),
                        currency=doc["currency"])
    assert code == 0
    assert (doc["from"], doc["to"], str(total.amount), doc["total"]) == (
        "2025-01-15", "2025-04-01", "32356.45", {"amount": "32356.45", "currency": "USD"})
    assert [c["kind"] for c in doc["charges"]] == [
        ChargeKind.MILESTONE.value, ChargeKind.MILESTONE.value,
        ChargeKind.RECURRING.value, ChargeKind.RECURRING.value]


def test_schedule_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "e.json"
    path.write_text(json.dumps({"signed_on": "2024-05-01", "schedule": {
        "currency": "JPY", "fee": {"amount": "300000", "currency": "JPY"}, "milestones": [
            {"id": "all", "name": "Everything", "percent": "100", "trigger": "on_signing"}]}}))
    code, text = run("schedule", str(path))
    assert code == 0
    row = next(line for line in text.splitlines() if line.startswith("2024-05-01"))
    assert row.split()[:5] == ["2024-05-01", "all", "300,000", "JPY", "2024-05-01"]


def test_schedule_reads_a_bare_schedule(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"currency": "KWD", "recurring": [
        {"id": "r", "name": "R", "amount": {"amount": "1.250", "currency": "KWD"}, "interval": {"unit": "week"},
         "start": "2024-01-01", "count": 2}]}))
    code, text = run("schedule", str(path))
    assert code == 0
    assert text.splitlines()[-1] == "2 charges, total 2.500 KWD"


def test_unbounded_schedule_defaults_to_twelve_months(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"currency": "USD", "recurring": [
        {"id": "r", "name": "R", "amount": {"amount": "10.00", "currency": "USD"}, "interval": {"unit": "month"},
         "start": "2024-01-31"}]}))
    code, text = run("schedule", str(path))
    assert code == 0
    assert "charges from 2024-01-31 to 2025-01-31" in text
    assert text.splitlines()[-1] == "12 charges, total 120.00 USD"


def test_bad_file_reports_the_field_and_exits_1(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"currency": "USD", "fee": {"amount": 100.0, "currency": "USD"}}))
    code, text = run("schedule", str(path))
    assert (code, text) == (1, "")
    assert "'fee.amount' must be a decimal string" in capsys.readouterr().err


def test_missing_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("schedule", str(tmp_path / "nope.json"))[0] == 1
    assert "No such file" in capsys.readouterr().err


def test_bad_date_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("schedule", "--from", "31/01/2025")[0] == 2
    assert capsys.readouterr().err == (
        "milestonebill schedule: error: argument --from: must be an ISO date such as "
        "2025-01-31 (got '31/01/2025') (see 'milestonebill schedule --help')\n")


def test_no_subcommand_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run()[0] == 2
    capsys.readouterr()


def test_to_before_from_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("schedule", "--from", "2025-02-01", "--to", "2025-01-01")[0] == 1
    assert "'--to'" in capsys.readouterr().err


def test_subcommands_are_registered_in_one_place() -> None:
    def add_hello(sub: Any) -> None:
        p = sub.add_parser("hello")
        p.set_defaults(handler=lambda args, out: 0)

    parser = build_parser([*COMMANDS, add_hello])
    assert isinstance(parser, argparse.ArgumentParser)
    assert parser.parse_args(["hello"]).command == "hello"
    assert parser.parse_args(["schedule"]).command == "schedule"


def test_completion_of_a_milestone_not_triggered_on_completion_is_refused() -> None:
    data = example()
    data["completions"]["kickoff"] = "2025-01-20"
    with pytest.raises(ValidationError, match=r"'completions\.kickoff'"):
        load_engagement(data)


def test_engagement_default_window_covers_every_charge() -> None:
    eng = load_engagement(example())
    start, end = eng.default_window()
    assert (start, end) == (date(2025, 1, 15), date(2027, 3, 1))


def test_milestone_on_signing_without_signed_on_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = example()
    del data["signed_on"]
    path = written(tmp_path, data)
    assert run("schedule", path) == (1, "")
    err = capsys.readouterr().err
    assert "'signed_on' is missing" in err
    assert "milestones triggered on signing (kickoff)" in err
    # Even with a window given: leaving the kickoff deposit out would misstate the total.
    assert run("schedule", path, "--from", "2025-01-01", "--to", "2026-01-01")[0] == 1
    assert "'signed_on'" in capsys.readouterr().err


def test_bare_schedule_with_a_milestone_on_signing_is_refused() -> None:
    with pytest.raises(ValidationError, match="'signed_on' is missing") as info:
        load_engagement(example()["schedule"])
    assert info.value.field == "signed_on"


def test_nothing_to_date_the_charges_by_is_refused_not_dated_2000(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = written(tmp_path, {"schedule": {"currency": "USD", "milestones": [
        {"id": "report", "name": "Report", "amount": {"amount": "900.00", "currency": "USD"},
         "trigger": "on_completion"}]}})
    assert run("schedule", path) == (1, "")
    err = capsys.readouterr().err
    assert "'signed_on' is missing: an engagement needs the date it was signed" in err
    assert "2000-01-01" not in err
    # A window given on the command line does not make the missing date a default.
    assert run("schedule", path, "--from", "2025-01-01") == (1, "")
    assert "'signed_on' is missing" in capsys.readouterr().err
    # An empty bare schedule has no milestones to date, and no date either.
    assert run("schedule", written(tmp_path, {"currency": "USD"})) == (1, "")
    assert ("'signed_on' is missing: nothing in the engagement gives a date to start from"
            in capsys.readouterr().err)


def test_signed_on_dates_a_schedule_whose_milestones_wait_for_completion(
        tmp_path: Path) -> None:
    path = written(tmp_path, {"signed_on": "2025-03-03", "schedule": {
        "currency": "USD", "milestones": [
            {"id": "report", "name": "Report",
             "amount": {"amount": "900.00", "currency": "USD"}}]}})
    code, text = run("schedule", path)
    assert code == 0
    assert "charges from 2025-03-03 to 2025-03-04" in text
    assert text.splitlines()[-1] == "0 charges, total 0.00 USD"


def test_errors_in_the_schedule_name_the_path_in_the_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = example()
    data["schedule"]["milestones"][2]["amount"]["amount"] = 12000.0
    path = written(tmp_path, data)
    assert run("schedule", path) == (1, "")
    assert ("'schedule.milestones[2].amount.amount' must be a decimal string"
            in capsys.readouterr().err)


@pytest.mark.parametrize(("change", "field", "says"), [
    (lambda d: d.update(signed_on="15/01/2025"), "signed_on", "an ISO date string"),
    (lambda d: d.update(signed_on=20250115), "signed_on", "an ISO date string"),
    (lambda d: d.update(client=7), "client", "a string"),
    (lambda d: d.update(engagement=["x"]), "engagement", "a string"),
    (lambda d: d.update(completions=["discovery"]), "completions",
     "an object of milestone id to date"),
    (lambda d: d["completions"].update(discovery="28 Feb 2025"), "completions.discovery",
     "an ISO date string"),
    (lambda d: d["completions"].update(nope="2025-02-28"), "completions",
     "ids of the schedule's milestones"),
])
def test_engagement_values_are_checked_by_name(change: Any, field: str, says: str) -> None:
    data = example()
    change(data)
    with pytest.raises(ValidationError) as info:
        load_engagement(data)
    assert (info.value.field, info.value.expected.startswith(says)) == (field, True)


def test_errors_show_dates_as_iso_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("schedule", "--from", "2025-02-01", "--to", "2025-01-01")[0] == 1
    err = capsys.readouterr().err
    assert "'--to' must be a date on or after --from 2025-02-01 (got 2025-01-01)" in err
    assert "datetime" not in err


@pytest.mark.parametrize(("change", "shown"), [
    (lambda s: s["milestones"][1].update(due_on="2025-03-01"),
     "'schedule.milestones[1].due_on' must be None for trigger ON_COMPLETION (got 2025-03-01)"),
    (lambda s: s["recurring"][0]["escalations"][0].update(
        dates=["2025-06-01", "2025-05-01"], on_anniversary=False),
     "must be strictly increasing dates (got [2025-06-01, 2025-05-01])"),
])
def test_date_values_in_file_errors_are_iso_text(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        change: Any, shown: str) -> None:
    data = example()
    change(data["schedule"])
    path = written(tmp_path, data)
    assert run("schedule", path) == (1, "")
    err = capsys.readouterr().err
    assert shown in err
    assert "datetime" not in err


def test_error_text_rewrites_every_date_problem() -> None:
    exc = InvalidInputError([ValidationError("a", "after b", date(2025, 1, 1)),
                             ValidationError("b", "a string", 3),
                             ValidationError("c", "increasing",
                                             (date(2025, 2, 1), date(2025, 1, 1)))])
    assert error_text(exc) == (
        "3 problems: 'a' must be after b (got 2025-01-01); 'b' must be a string (got 3); "
        "'c' must be increasing (got [2025-02-01, 2025-01-01])")
    assert error_text(ValidationError("d", "a date", "2025-01-01")) == \
        "'d' must be a date (got '2025-01-01')"
    assert error_text(OSError("disk full")) == "disk full"

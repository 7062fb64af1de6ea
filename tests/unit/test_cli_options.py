"""The command's parts, in process: options and environment, periods, argument
types, exit statuses and error reports, progress bars, the report and export
registries."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from milestonebill.agreement import AgreementId
from milestonebill.cli import build_parser, main
from milestonebill.cli import operations as cli_operations
from milestonebill.cli.common import UsageError, date_arg, decimal_arg, id_arg, plain_text
from milestonebill.cli.config import DEFAULT_DB, add_global_options, config_of, redacted_dsn
from milestonebill.cli.exports import EXPORTS, journal_csv
from milestonebill.cli.failures import error_document, exit_code, report
from milestonebill.cli.output import progress_bar
from milestonebill.cli.reports import REPORTS
from milestonebill.cli.spans import add_span_options, period_arg, span_of
from milestonebill.errors import (
    ConcurrencyError,
    GatewayUnavailableError,
    InvalidInputError,
    NotFoundError,
    StoreError,
    ValidationError,
)
from milestonebill.ledger import Account, EntryId, JournalEntry, JournalLine
from milestonebill.money import Money
from milestonebill.periods import Period
from milestonebill.reports import Table, catalog
from milestonebill.schedule import Milestone, MilestoneId, Trigger
from milestonebill.stores.sqlite import SQLiteStore
from milestonebill.testing.scenarios import World, proposal, usd


def run(*argv: str, environ: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(list(argv), out=out, environ={} if environ is None else environ)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A store with one agreement (a 100.00 deposit on signing), made by the library."""
    path = tmp_path / "b.db"
    deposit = Milestone(MilestoneId("deposit"), "Deposit", amount=usd("100.00"),
                        trigger=Trigger.ON_SIGNING)
    with SQLiteStore(path) as store:
        World(store).open(proposal([deposit]), agreement_id=AgreementId("agr-1"))
    return str(path)


# ------------------------------------------------------------------ periods


@pytest.mark.parametrize(("text", "start", "end"), [
    ("2024-02", date(2024, 2, 1), date(2024, 3, 1)),
    ("2025-Q4", date(2025, 10, 1), date(2026, 1, 1)),
    ("2025-q2", date(2025, 4, 1), date(2025, 7, 1)),
    ("2024", date(2024, 1, 1), date(2025, 1, 1)),
    ("2025-01-31..2025-01-31", date(2025, 1, 31), date(2025, 2, 1)),
    (" 2025-03-01..2025-05-31 ", date(2025, 3, 1), date(2025, 6, 1)),
])
def test_periods_are_half_open_whatever_their_form(text: str, start: date, end: date) -> None:
    assert period_arg(text) == Period(start, end)


@pytest.mark.parametrize("text", ["2025-13", "2025-00", "2025-Q5", "25", "2025-1", "",
                                  "2025-03-31..2025-03-01", "2025-01-01..", "3000",
                                  "2025-02-30..2025-03-01", "1899-12"])
def test_a_period_not_in_the_grammar_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=r"must be .* \(got "):
        period_arg(text)


def spans(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_span_options(p, what="test")
    return p.parse_args(list(argv))


def test_from_and_to_include_the_last_day() -> None:
    assert span_of(spans("--from", "2025-01-01", "--to", "2025-01-31"), required=True) == \
        Period(date(2025, 1, 1), date(2025, 2, 1))


@pytest.mark.parametrize(("argv", "field"), [
    (("--period", "2025", "--from", "2025-01-01"), "--period"),
    (("--from", "2025-01-01"), "--to"),
    (("--to", "2025-01-01"), "--from"),
    (("--from", "2025-02-01", "--to", "2025-01-31"), "--to"),
    ((), "--period"),
])
def test_a_period_given_wrongly_is_a_usage_error(argv: tuple[str, ...], field: str) -> None:
    with pytest.raises(UsageError) as info:
        span_of(spans(*argv), required=True)
    assert info.value.field == field


def test_no_period_is_fine_where_none_is_needed() -> None:
    assert span_of(spans(), required=False) is None


# ------------------------------------------------------------------ argument types


@pytest.mark.parametrize(("text", "says"), [
    ("2025-02-29", "must be an ISO date such as 2025-01-31 (got '2025-02-29')"),
    ("9999-12-31", "must be a date from 1900-01-01 to 2999-12-31 (got '9999-12-31')"),
    ("1899-12-31", "must be a date from 1900-01-01 to 2999-12-31"),
])
def test_dates_outside_the_calendar_of_billing_are_refused(text: str, says: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=says.replace("(", r"\(")
                       .replace(")", r"\)")):
        date_arg(text)


@pytest.mark.parametrize("text", ["", " agr", "agr\n1", "x" * 201])
def test_ids_with_spaces_or_control_characters_are_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="must be an id"):
        id_arg(text)


@pytest.mark.parametrize(("text", "says"), [
    ("abc", "a number such as"), ("NaN", "a number such as"),
    ("1e999999999", "a number such as"), ("1" + "0" * 30, "at most 18 digits"),
])
def test_numbers_are_exact_and_of_a_sane_size(text: str, says: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=says):
        decimal_arg(text)
    assert decimal_arg("12.50") == Decimal("12.50")


# ------------------------------------------------------------------ configuration


def config(argv: list[str], env: dict[str, str]) -> Any:
    p = argparse.ArgumentParser()
    add_global_options(p)
    return config_of(p.parse_args(argv), env)


def test_without_options_or_environment_the_store_is_a_file_here() -> None:
    c = config([], {})
    assert (c.db, c.dsn, c.firm, c.gateway) == (os.path.abspath(DEFAULT_DB), None, None,
                                                "memory")
    assert c.gateway_state == os.path.abspath(DEFAULT_DB) + ".gateway.json"


def test_options_win_over_the_environment() -> None:
    env = {"MILESTONEBILL_DSN": "postgresql://h/db", "MILESTONEBILL_FIRM": "env-firm",
           "MILESTONEBILL_GATEWAY": "stripe"}
    c = config(["--db", "x.db", "--firm", "flag-firm", "--gateway", "memory"], env)
    assert (c.db, c.dsn, c.firm, c.gateway) == (os.path.abspath("x.db"), None, "flag-firm",
                                                "memory")


def test_the_environment_configures_a_postgres_store() -> None:
    c = config([], {"MILESTONEBILL_DSN": "postgresql://h/db", "MILESTONEBILL_PG_SCHEMA": "acme",
                    "MILESTONEBILL_GATEWAY_STATE": "gw.json", "MILESTONEBILL_DB": " "})
    assert (c.db, c.dsn, c.schema, c.gateway_state) == (
        None, "postgresql://h/db", "acme", os.path.abspath("gw.json"))


def test_a_dsn_has_no_default_gateway_state() -> None:
    assert config(["--dsn", "postgresql://h/db"], {}).gateway_state is None


@pytest.mark.parametrize(("argv", "env", "field"), [
    ([], {"MILESTONEBILL_DB": "a.db", "MILESTONEBILL_DSN": "postgresql://h/db"},
     "MILESTONEBILL_DSN"),
    (["--schema", "Bad-Name"], {}, "--schema"),
    ([], {"MILESTONEBILL_GATEWAY": "paypal"}, "MILESTONEBILL_GATEWAY"),
    ([], {"MILESTONEBILL_FIRM": "ac\nme"}, "MILESTONEBILL_FIRM"),
])
def test_settings_in_conflict_or_of_the_wrong_form_are_usage_errors(
        argv: list[str], env: dict[str, str], field: str) -> None:
    with pytest.raises(UsageError) as info:
        config(argv, env)
    assert info.value.field == field


def test_db_and_dsn_options_exclude_each_other() -> None:
    code, _, err = run("--db", "a.db", "--dsn", "postgresql://h/db", "agreements")
    assert code == 2
    assert "argument --dsn: not allowed with argument --db" in err


def test_passwords_in_a_dsn_are_never_shown() -> None:
    assert redacted_dsn("postgres://u:p%40ss@h:5432/d?sslmode=require") == \
        "postgres://u:***@h:5432/d?sslmode=require"
    assert redacted_dsn("host=h password='a b' user=u") == "host=h password=*** user=u"


# ------------------------------------------------------------------ exit statuses and reports


@pytest.mark.parametrize(("exc", "status"), [
    (UsageError("--x", "y", 1), 2),
    (ValidationError("x", "y", 1), 1),
    (NotFoundError("no agreement 'a'"), 1),
    (StoreError("disk"), 3),
    (ConcurrencyError("a", 1, 2), 3),
    (GatewayUnavailableError("timeout"), 3),
    (OSError("disk full"), 3),
    (RuntimeError("bug"), 3),
    (KeyboardInterrupt(), 130),
])
def test_each_kind_of_failure_has_its_exit_status(exc: BaseException, status: int) -> None:
    assert exit_code(exc) == status


def test_a_json_error_lists_every_problem_with_values_as_typed() -> None:
    exc = InvalidInputError([ValidationError("on", "a weekday", date(2025, 1, 4)),
                             ValidationError("hours", "positive", Decimal("-1"))])
    doc = error_document(exc, 1)["error"]
    assert (doc["field"], doc["got"]) == ("on", "2025-01-04")
    assert [(p["field"], p["got"], p["message"]) for p in doc["problems"]] == [
        ("on", "2025-01-04", "'on' must be a weekday (got 2025-01-04)"),
        ("hours", "-1", "'hours' must be positive (got -1)")]


def test_secrets_never_reach_the_report_even_with_debug() -> None:
    err = io.StringIO()
    try:
        raise StoreError("rejected key sk_live_123 for acme")
    except StoreError as exc:
        report(exc, command="run", err=err, json_mode=False, debug=True, secrets=["sk_live_123"])
    assert "sk_live_123" not in err.getvalue()
    assert err.getvalue().splitlines()[-1] == "milestonebill run: error: rejected key *** for acme"


@pytest.mark.parametrize(("text", "shown"), [
    ("(got datetime.date(2025, 4, 30))", "(got 2025-04-30)"),
    ("at datetime.datetime(2025, 1, 2, 9, 30, tzinfo=datetime.timezone.utc)",
     "at 2025-01-02T09:30:00"),
    ("(got Money('12.30', 'USD'))", "(got 12.30 USD)"),
    ("(got Fraction(1, 3))", "(got 1/3)"),
    ("two\nlines", "two lines"),
])
def test_python_reprs_become_what_a_person_writes(text: str, shown: str) -> None:
    assert plain_text(text) == shown


def test_an_unexpected_error_is_one_line_pointing_at_debug(
        db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(args: argparse.Namespace, out: Any) -> int:
        raise RuntimeError("something nobody expected")

    monkeypatch.setattr(cli_operations, "_agreements", broken)
    code, out, err = run("--db", db, "agreements")
    assert (code, out, err) == (3, "", "milestonebill agreements: error: internal error: "
                                "RuntimeError: something nobody expected (run with --debug "
                                "for the traceback)\n")
    code, _, err = run("--db", db, "--debug", "agreements")
    assert code == 3
    assert err.startswith("Traceback (most recent call last):")


def test_ctrl_c_exits_130(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(args: argparse.Namespace, out: Any) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_operations, "_agreements", interrupted)
    assert run("--db", db, "agreements")[0] == 130


def test_usage_errors_are_json_with_json(db: str) -> None:
    code, out, err = run("--json", "--db", db, "recognise", "--as-of", "tomorrow")
    doc = json.loads(err)["error"]
    assert (code, out) == (2, "")
    assert (doc["type"], doc["field"], doc["got"]) == ("UsageError", "--as-of", "tomorrow")


# ------------------------------------------------------------------ the gateway settings


def test_stripe_needs_its_key_in_the_environment(db: str) -> None:
    code, _, err = run("--db", db, "--firm", "acme", "--gateway", "stripe", "run", "--as-of",
                       "2025-01-31")
    assert code == 2
    assert "needs the API key in the environment variable STRIPE_API_KEY" in err


def test_memory_gateway_with_a_dsn_needs_a_state_file() -> None:
    code, _, err = run("--dsn", "postgresql://127.0.0.1:1/x", "--firm", "acme", "run",
                       "--as-of", "2025-01-31")
    assert code == 2
    assert "needs --gateway-state FILE" in err


def test_the_gateway_state_file_is_written_only_when_the_gateway_was_used(db: str) -> None:
    state = Path(db + ".gateway.json")
    assert run("--db", db, "--firm", "acme", "run", "--as-of", "2026-03-31", "--dry-run")[0] == 0
    assert not state.exists()
    assert run("--db", db, "--firm", "acme", "run", "--as-of", "2026-03-31")[0] == 0
    charges = json.loads(state.read_text("utf-8"))["charges"]
    assert [(c["agreement_id"], c["amount"]) for c in charges] == [
        ("agr-1", {"amount": "100.00", "currency": "USD"})]
    assert not Path(db + ".gateway.json.tmp-" + str(os.getpid())).exists()


# ------------------------------------------------------------------ progress bars


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_progress_bar_appears_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    term = Terminal()
    monkeypatch.setattr("sys.stderr", term)
    with progress_bar(True, 4, "billing") as moved:
        assert moved is not None
        moved(2)
        moved(4)
    assert "billing" in term.getvalue()
    with progress_bar(False, 4, "billing") as off:
        assert off is None
    monkeypatch.setattr("sys.stderr", io.StringIO())
    with progress_bar(True, 4, "billing") as piped:
        assert piped is None


def test_quiet_and_json_runs_draw_no_bar(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    term = Terminal()
    monkeypatch.setattr("sys.stderr", term)
    assert main(["--db", db, "--quiet", "recognise", "--as-of", "2026-03-31"], out=io.StringIO(),
                environ={}) == 0
    assert main(["--db", db, "--json", "recognise", "--as-of", "2026-03-31"], out=io.StringIO(),
                environ={}) == 0
    assert term.getvalue() == ""
    assert main(["--db", db, "recognise", "--as-of", "2026-03-31"], out=io.StringIO(),
                environ={}) == 0
    assert "recognising" in term.getvalue()


# ------------------------------------------------------------------ registries


def test_the_command_runs_the_librarys_catalogue() -> None:
    assert REPORTS is catalog.REPORTS
    assert sorted(REPORTS) == [
        "aging", "billing-revenue-forecast", "cash-forecast", "contract-balances",
        "expected-receipts", "leakage", "mrr", "mrr-movements", "net-revenue-retention",
        "receivables", "remaining-obligations", "revenue-schedule", "rollforward", "statement"]


def test_a_report_is_added_with_one_entry(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def count(books: catalog.FirmBooks, q: catalog.ReportQuery) -> Table[Any]:
        return Table("Agreements", [Period(q.as_of, q.as_of.replace(day=28))
                                    for _ in books.agreements()])

    monkeypatch.setitem(REPORTS, "count", catalog.Report("count", "how many agreements", count))
    code, out, _ = run("--db", db, "report", "count", "--as-of", "2025-02-01", "--format", "csv")
    assert (code, out) == (0, "start,end\n2025-02-01,2025-02-28\n")


def test_every_report_runs_on_a_store(db: str) -> None:
    for name, spec in REPORTS.items():
        argv = ["--db", db, "--json", "report", name, "--as-of", "2026-06-30"]
        if "start" in spec.parameters:
            argv += ["--period", "2026"]
        if name == "statement":
            argv += ["--client", "Acme"]
        code, out, err = run(*argv)
        assert (code, err) == (0, "")
        assert json.loads(out)["title"]


def test_the_csv_export_writes_debits_and_credits_in_their_columns() -> None:
    e = JournalEntry(EntryId("inv-1:issue"), date(2025, 1, 31),
                     (JournalLine.dr(Account.RECEIVABLE, Money("120.00", "EUR")),
                      JournalLine.cr(Account.CONTRACT_LIABILITY, Money("120.00", "EUR"))),
                     memo="Invoice, January", agreement_id="agr-1")
    assert journal_csv([e], Period.month(2025, 1)).splitlines() == [
        "entry_id,posted_on,line,account,debit,credit,currency,agreement_id,obligation_id,memo",
        "inv-1:issue,2025-01-31,1,receivable,120.00,,EUR,agr-1,,\"Invoice, January\"",
        "inv-1:issue,2025-01-31,2,deferred_revenue,,120.00,EUR,agr-1,,\"Invoice, January\""]
    assert sorted(EXPORTS) == ["csv", "json", "quickbooks", "quickbooks-csv", "xero", "xero-csv"]


def test_an_export_written_to_a_file_is_reported(db: str, tmp_path: Path) -> None:
    target = tmp_path / "q1.json"
    code, out, _ = run("--db", db, "--json", "export", "json", "--period", "2025-Q1",
                       "-o", str(target))
    assert code == 0
    assert json.loads(out) == {"written": str(target), "format": "json", "entries": 0}
    assert json.loads(target.read_text("utf-8"))["period"] == {"start": "2025-01-01",
                                                               "end": "2025-04-01"}
    code, _, err = run("--db", db, "export", "csv", "--period", "2025", "-o",
                       str(tmp_path / "no" / "such" / "dir.csv"))
    assert code == 1
    assert "--output" in err


# ------------------------------------------------------------------ schedule and demo


def test_the_demos_own_options_are_aliases_of_the_global_ones() -> None:
    p = build_parser()
    for argv in (["--json", "--db", "d.db", "demo"], ["demo", "--json", "--db", "d.db"]):
        args = p.parse_args(argv)
        assert (args.json, args.db) == (True, "d.db")
    assert p.parse_args(["schedule", "--json"]).json is True


def test_the_demo_runs_offline_only() -> None:
    assert run("--dsn", "postgresql://h/db", "demo")[0] == 2
    assert run("--gateway", "stripe", "demo")[0] == 2


@pytest.mark.parametrize(("content", "says"), [
    (b'{"signed_on": "\xff"}', "not UTF-8 text (byte 0xff at offset 15)"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b'{"signed_on": 1' + b"0" * 5000 + b"}", "not valid JSON here"),
    (b'{"signed_on": "2025-01-15", "schedule": {"currency": "USD", "fee": '
     b'{"amount": "1e999999999", "currency": "USD"}}}', "must be a number such as"),
    (b"{", "not valid JSON (Expecting property name"),
])
def test_a_file_that_cannot_be_read_is_refused_on_one_line(
        tmp_path: Path, content: bytes, says: str) -> None:
    f = tmp_path / "e.json"
    f.write_bytes(content)
    for argv in (["schedule", str(f)], ["demo", "--file", str(f), "--db",
                                        str(tmp_path / "d.db")]):
        code, out, err = run(*argv)
        assert (code, out, err.count("\n")) == (1, "", 1)
        assert says in err
        assert "Traceback" not in err
    assert not (tmp_path / "d.db").exists()



def test_complete_with_bill_issues_and_charges_at_once(tmp_path: Path) -> None:
    path = str(tmp_path / "b.db")
    with SQLiteStore(path) as store:
        World(store).open(proposal([("design", "700.00")]), agreement_id=AgreementId("agr-1"))
    code, out, err = run("--db", path, "--firm", "acme", "--json", "complete", "agr-1", "design",
                         "--by", "ann", "--bill")
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert doc["event"]["completed_by"] == "ann"
    assert [(i["number"], i["total"]["amount"]) for i in doc["billed"]["invoices"]] == [
        ("INV-000001", "700.00")]
    state = json.loads(Path(path + ".gateway.json").read_text("utf-8"))
    assert [c["amount"]["amount"] for c in state["charges"]] == ["700.00"]


def test_the_demo_reports_its_progress_by_day(tmp_path: Path) -> None:
    from milestonebill.cli.demo import run_demo
    from milestonebill.cli.demo_scenario import plan_demo
    from milestonebill.cli.engagement import load_engagement

    eng = load_engagement({"signed_on": "2025-01-15", "schedule": {"currency": "USD",
                           "milestones": [{"id": "all", "name": "All", "trigger": "on_signing",
                                           "amount": {"amount": "900.00", "currency": "USD"}}]}})
    plan = plan_demo(eng)
    seen: list[int] = []
    run_demo(plan, str(tmp_path / "d.db"), progress=seen.append)
    assert seen == sorted(seen)
    assert seen[-1] == (plan.until - plan.signed_on).days + 1


def test_arguments_that_are_not_utf8_are_refused_before_anything_runs(db: str) -> None:
    code, out, err = run("--db", db, "show", "agr\udcff")
    assert (code, out, err) == (
        2, "", "milestonebill: error: an argument is not UTF-8 text (got 'agr\\xff')\n")


def test_an_argument_with_a_lone_surrogate_no_shell_makes_is_refused_too(db: str) -> None:
    # Found by the CLI fuzzer: '\ud800' (not a surrogateescape byte) raised
    # UnicodeEncodeError out of main while the refusal was being worded.
    code, out, err = run("--db", db, "show", "agr\ud800")
    assert (code, out, err) == (
        2, "", "milestonebill: error: an argument is not UTF-8 text (got 'agr\\ud800')\n")

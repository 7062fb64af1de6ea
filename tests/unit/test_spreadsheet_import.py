"""Existing agreements from a spreadsheet export: every row checked first, every
problem named by row and column, nothing to open unless all is good, and a
second import of the same file opens nothing new."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest

from milestonebill.agreement import (
    Collection,
    MilestoneCompleted,
    PaymentMethodKind,
    Signed,
    contract_value,
)
from milestonebill.errors import ValidationError
from milestonebill.ids import AgreementId, MilestoneId
from milestonebill.integrations.spreadsheet import (
    AGREEMENT_COLUMNS,
    COLUMNS,
    REQUIRED_COLUMNS,
    ImportProblem,
    ImportResult,
    import_agreements,
)
from milestonebill.money import Money
from milestonebill.schedule import Interval, IntervalUnit, Timing, Trigger
from milestonebill.stores.sqlite import SQLiteStore
from milestonebill.testing.scenarios import World

HEADER = ["agreement_id", "client", "currency", "signed_on", "gateway", "customer_ref",
          "payment_method_ref", "kind", "item_id", "name", "amount", "terms_days", "trigger",
          "due_on", "completed_on", "interval", "start", "count", "end", "timing"]
GOOD = [
    ["agr-100", "Acme Ltd", "USD", "2026-01-15", "", "", "", "milestone", "kickoff", "Kickoff",
     "2000.00", "", "on_signing", "", "", "", "", "", "", ""],
    ["agr-100", "Acme Ltd", "USD", "2026-01-15", "", "", "", "milestone", "design", "Design",
     "6000.00", "30", "", "", "2026-02-20", "", "", "", "", ""],
    ["agr-100", "Acme Ltd", "USD", "2026-01-15", "", "", "", "milestone", "golive", "Go-live",
     "2000.00", "", "", "2026-06-30", "", "", "", "", "", ""],
    ["agr-100", "Acme Ltd", "USD", "2026-01-15", "", "", "", "recurring", "care", "Care plan",
     "500.00", "", "", "", "", "monthly", "2026-03-01", "12", "", ""],
    ["agr-101", "Globex", "EUR", "2026-02-01", "stripe", "cus_Q1", "pm_1Nq", "recurring",
     "ret", "Retainer", "1500.00", "14", "", "", "", "every 2 months", "2026-02-01", "",
     "2026-12-31", "in_arrears"],
]


def csv_text(rows: list[list[str]], header: list[str] = HEADER) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def written(tmp_path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    path = tmp_path / "agreements.csv"
    path.write_text(csv_text(rows, header), encoding="utf-8")
    return path


def changed(row: int, column: str, value: str) -> list[list[str]]:
    """The good rows with one cell changed (``row`` counts data rows from 0)."""
    rows = [list(r) for r in GOOD]
    rows[row][HEADER.index(column)] = value
    return rows


def problems(result: ImportResult) -> list[tuple[int, str]]:
    return [(p.row, p.column) for p in result.problems]


# ---------------------------------------------------------------- the columns


def test_the_documented_columns() -> None:
    assert COLUMNS[:len(AGREEMENT_COLUMNS)] == AGREEMENT_COLUMNS
    assert set(REQUIRED_COLUMNS) <= set(COLUMNS)
    assert len(set(COLUMNS)) == len(COLUMNS)
    assert set(HEADER) <= set(COLUMNS)


def test_the_formats_page_documents_every_column() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "formats.md").read_text()
    assert [c for c in COLUMNS if f"`{c}`" not in page] == []


# ---------------------------------------------------------------- good files


def test_a_good_file_gives_the_agreements_signed_on_its_terms(tmp_path: Path) -> None:
    result = import_agreements(written(tmp_path, GOOD))
    assert result.ok
    assert result.skipped == ()
    acme, globex = result.agreements
    assert (acme.id, acme.currency.code, globex.id) == ("agr-100", "USD", "agr-101")
    signed = acme.events[0]
    assert isinstance(signed, Signed)
    assert signed.effective_at.date() == date(2026, 1, 15)
    assert signed.signer == "Acme Ltd"  # no signer column: the client signed
    assert signed.proposal.collection is Collection.SEND_INVOICE
    schedule = signed.proposal.options[0].schedule
    assert [(m.id, m.trigger) for m in schedule.milestones] == [
        ("kickoff", Trigger.ON_SIGNING), ("design", Trigger.ON_COMPLETION),
        ("golive", Trigger.ON_DATE)]
    assert schedule.milestones[1].terms.net_days == 30
    assert acme.completions == {MilestoneId("design"): date(2026, 2, 20)}
    assert isinstance(acme.events[1], MilestoneCompleted)
    assert contract_value(acme) == Money("16000.00", "USD")


def test_a_payment_method_makes_the_agreement_charge_automatically() -> None:
    result = import_agreements(io.StringIO(csv_text(GOOD)))
    globex = result.agreements[1]
    signed = globex.events[0]
    assert isinstance(signed, Signed)
    assert signed.proposal.collection is Collection.AUTO_CHARGE
    assert signed.payment_method is not None
    assert signed.payment_method.kind is PaymentMethodKind.CARD
    ret = signed.proposal.options[0].schedule.recurring[0]
    assert ret.interval == Interval.every(2, IntervalUnit.MONTH)
    assert (ret.end, ret.count, ret.timing, ret.terms.net_days) == (
        date(2026, 12, 31), None, Timing.IN_ARREARS, 14)


def test_rows_already_read_and_files_give_the_same_agreements(tmp_path: Path) -> None:
    as_dicts = [dict(zip(HEADER, r, strict=True)) for r in GOOD]
    assert import_agreements(as_dicts) == import_agreements(written(tmp_path, GOOD))
    assert import_agreements(str(written(tmp_path, GOOD))).agreements


def test_other_headers_are_mapped_and_spelling_of_documented_ones_is_forgiven() -> None:
    header = ["Contract #", "Customer", "Currency", "Signed On", "gateway", "customer-ref",
              "Payment Method Ref", "KIND", "Item ID", "name", "amount", "terms days",
              "trigger", "due on", "completed_on", "interval", "start", "count", "end",
              "timing"]
    text = csv_text(GOOD, header).replace("\n", "\r\n")
    result = import_agreements(io.StringIO(text), mapping={"Contract #": "agreement_id",
                                                           "Customer": "client"})
    assert result.ok, result.report()
    assert [a.id for a in result.agreements] == ["agr-100", "agr-101"]


def test_a_column_mapped_to_none_is_ignored_and_an_unknown_one_refused() -> None:
    rows = [dict(zip(HEADER, r, strict=True), Notes="call back") for r in GOOD]
    refused = import_agreements(rows)
    assert problems(refused) == [(1, "Notes")]
    assert refused.agreements == ()
    assert import_agreements(rows, mapping={"Notes": None}).ok


def test_a_mapping_to_an_undocumented_column_is_a_mistake_in_the_call() -> None:
    with pytest.raises(ValidationError) as info:
        import_agreements([], mapping={"Contract #": "contract"})
    assert info.value.field == "mapping['Contract #']"


def test_a_utf8_file_with_a_byte_order_mark_and_blank_lines_reads(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    text = csv_text(GOOD[:2]) + "\n\n" + csv_text(GOOD[2:]).split("\n", 1)[1]
    path.write_text("\ufeff" + text, encoding="utf-8")
    result = import_agreements(path)
    assert result.ok, result.report()
    assert len(result.agreements) == 2


# ---------------------------------------------------------------- problems


@pytest.mark.parametrize(("row", "column", "value", "says"), [
    (0, "amount", "2000.005", "must be exact to 2 decimal places for USD (got '2000.005')"),
    (0, "amount", "1,000.00", "must be a number such as '-1234.50' (ASCII digits, optional leading '-' and '.') (got '1,000.00')"),
    (0, "amount", "-5.00", "must be more than zero (got '-5.00')"),
    (0, "amount", "", "is required"),
    (0, "kind", "fee", "must be milestone or recurring (got 'fee')"),
    (0, "trigger", "asap", "must be one of on_signing, on_completion, on_date (got 'asap')"),
    (1, "completed_on", "20/02/2026", "must be an ISO date such as '2026-01-31'"),
    (1, "completed_on", "2026-01-01", "must be on or after signed_on 2026-01-15"),
    (0, "completed_on", "2026-02-01", "must be empty for trigger on_signing"),
    (3, "interval", "fortnightly", "must be weekly, monthly, quarterly, yearly"),
    (3, "start", "", "is required"),
    (3, "count", "0", "must be a whole number of service periods from 1 to 10000 (got '0')"),
    (3, "due_on", "2026-03-01", "must be empty on a recurring row (got '2026-03-01')"),
    (3, "item_id", "kickoff", "must be unique in the agreement (row 2 has 'kickoff')"),
    (0, "terms_days", "-1", "must be 0 or more"),
    (4, "currency", "EURO", "must be an ISO 4217 code such as 'USD' (got 'EURO')"),
    (4, "customer_ref", "", "is required with gateway, payment_method_ref"),
    (4, "end", "2026-01-01", "must be a date after start 2026-02-01 (got '2026-01-01')"),
    (2, "client", "ACME", "must be the same on every row of agreement 'agr-100' "
                          "(row 2 has 'Acme Ltd', got 'ACME')"),
])
def test_each_problem_names_its_row_and_column(row: int, column: str, value: str,
                                               says: str) -> None:
    result = import_agreements(io.StringIO(csv_text(changed(row, column, value))))
    assert result.agreements == ()
    assert [(p.row, p.column) for p in result.problems] == [(row + 2, column)], result.report()
    assert result.problems[0].message.startswith(says), result.problems[0].message


@pytest.mark.parametrize(("row", "trigger", "says"), [
    (0, "on_date", "must be a date for trigger ON_DATE (got '')"),
    (2, "on_signing", "must be None for trigger ON_SIGNING (got '2026-06-30')"),
    (2, "on_completion", "must be None for trigger ON_COMPLETION (got '2026-06-30')"),
])
def test_a_milestones_due_date_follows_its_trigger(row: int, trigger: str, says: str) -> None:
    result = import_agreements(io.StringIO(csv_text(changed(row, "trigger", trigger))))
    assert [(p.row, p.column, p.message) for p in result.problems] == [
        (row + 2, "due_on", says)]


def test_without_a_trigger_a_milestone_is_dated_by_due_on_or_waits_for_completion() -> None:
    result = import_agreements(io.StringIO(csv_text(changed(2, "due_on", ""))))
    schedule = result.agreements[0].proposal.options[0].schedule
    assert [m.trigger for m in schedule.milestones] == [
        Trigger.ON_SIGNING, Trigger.ON_COMPLETION, Trigger.ON_COMPLETION]


def test_a_card_number_is_refused_and_never_echoed() -> None:
    result = import_agreements(io.StringIO(csv_text(
        changed(4, "payment_method_ref", "4242 4242 4242 4242"))))
    assert problems(result) == [(6, "payment_method_ref")]
    assert "4242 4242" not in result.report()  # only the last four digits are shown
    assert "card number ending 4242" in result.report()


def test_automatic_collection_needs_a_payment_method() -> None:
    rows = [dict(zip(HEADER, r, strict=True), collection="auto_charge") for r in GOOD[:1]]
    result = import_agreements(rows)
    assert problems(result) == [(2, "collection")]
    assert "must be send_invoice when no payment method is given" in result.report()


def test_every_problem_of_every_row_is_reported_at_once() -> None:
    rows = changed(0, "amount", "x")
    rows[1][HEADER.index("due_on")] = "soon"
    rows[3][HEADER.index("interval")] = "hourly"
    rows[4][HEADER.index("signed_on")] = ""
    rows.append(["", "Nobody", "USD", "2026-01-01", "", "", "", "milestone", "m", "M",
                 "1.00", "", "", "", "", "", "", "", "", ""])
    result = import_agreements(io.StringIO(csv_text(rows)))
    assert problems(result) == [(2, "amount"), (3, "due_on"), (5, "interval"),
                                (6, "signed_on"), (7, "agreement_id")]
    assert result.agreements == ()
    assert result.report().splitlines()[0] == "5 problems; nothing imported"


def test_skip_invalid_imports_the_good_agreements_and_reports_what_it_skipped() -> None:
    rows = changed(4, "amount", "1500.001")
    rows.append(["agr-101", "Globex", "EUR", "2026-02-01", "stripe", "cus_Q1", "pm_1Nq",
                 "milestone", "report", "Report", "900.00", "", "", "", "", "", "", "", "",
                 ""])
    result = import_agreements(io.StringIO(csv_text(rows)), skip_invalid=True)
    assert [a.id for a in result.agreements] == ["agr-100"]
    assert result.skipped == (6, 7)  # all of agr-101: an agreement is imported whole
    assert problems(result) == [(6, "amount")]
    assert result.report().splitlines() == [
        "1 agreement imported; 1 problem; skipped rows 6, 7",
        "row 6, amount: must be exact to 2 decimal places for EUR (got '1500.001')",
    ]


def test_a_missing_column_is_a_problem_of_the_header() -> None:
    header = [h for h in HEADER if h != "amount"]
    rows = [[c for h, c in zip(HEADER, r, strict=True) if h != "amount"] for r in GOOD]
    result = import_agreements(io.StringIO(csv_text(rows, header)), skip_invalid=True)
    assert problems(result) == [(1, "amount")]
    assert result.agreements == ()
    assert result.skipped == (2, 3, 4, 5, 6)
    assert "map the header that holds it" in result.problems[0].message


def test_two_headers_for_one_column_and_cells_beyond_the_header_are_refused() -> None:
    text = csv_text(GOOD, [*HEADER[:-1], "Timing"])
    assert problems(import_agreements(io.StringIO(text), mapping={"Timing": "timing"})) == []
    text = csv_text(GOOD, [*HEADER[:-1], "due-on"])
    assert problems(import_agreements(io.StringIO(text))) == [(1, "due-on")]
    rows = [list(r) for r in GOOD]
    rows[2].append("stray")
    result = import_agreements(io.StringIO(csv_text(rows)))
    assert problems(result) == [(4, "(beyond the header)")]


def test_an_empty_file_imports_nothing_and_says_what_is_missing() -> None:
    result = import_agreements(io.StringIO(""))
    assert [p.column for p in result.problems] == list(REQUIRED_COLUMNS)
    assert ImportResult().report() == "0 agreements imported"
    assert str(ImportProblem(3, "amount", "is required")) == "row 3, amount: is required"


# ---------------------------------------------------------------- opening them


def test_importing_the_same_file_twice_into_a_sqlite_store_opens_nothing_new(
        tmp_path: Path, sqlite_path: Path) -> None:
    path = written(tmp_path, GOOD)
    with SQLiteStore(sqlite_path) as store:
        w = World(store)
        for a in import_agreements(path).agreements:
            w.biller.open(a)
        w.later(days=40)
        w.biller.run(w.clock.today())
        before = w.snapshot()
        assert len(w.load(AgreementId("agr-100")).invoices) == 2  # kickoff and design billed
        for a in import_agreements(path).agreements:
            w.biller.open(a)
        w.biller.run(w.clock.today())
        assert w.snapshot() == before
    with SQLiteStore(sqlite_path) as store:  # and after the store is opened again
        w = World(store)
        for a in import_agreements(path).agreements:
            w.biller.open(a)
        assert w.snapshot("agreements") == (before[0],)


# ---------------------------------------------------------------- files that cannot be read


def test_a_file_that_is_not_utf8_is_refused_naming_it_and_the_byte(tmp_path: Path) -> None:
    # Found by the fuzzer: UnicodeDecodeError escaped from the import.
    path = tmp_path / "export.csv"
    path.write_bytes(b"agreement_id,client\nagr-1,Caf\xe9\n")
    with pytest.raises(ValidationError) as info:
        import_agreements(path)
    assert info.value.field == "source"
    assert str(path) in str(info.value)
    assert "byte 0xe9" in str(info.value)


@pytest.mark.parametrize("name", ["missing.csv", "."])
def test_a_file_that_cannot_be_opened_is_refused_naming_it(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValidationError) as info:
        import_agreements(tmp_path / name)
    assert info.value.field == "source"


def test_text_that_is_not_csv_is_refused_naming_the_source() -> None:
    # A cell beyond the csv module's field limit made it raise csv.Error.
    with pytest.raises(ValidationError) as info:
        import_agreements(io.StringIO("agreement_id\n" + "x" * 200_000 + "\n"))
    assert (info.value.field, info.value.expected) == ("source", "CSV text")

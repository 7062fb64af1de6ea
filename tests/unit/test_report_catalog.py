"""One registry of reports: every report by name, its parameters read from text.

Tied to the report functions themselves on a generated firm (the registry
adds no arithmetic of its own), and every table round-trips through JSON.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from milestonebill.engine import StoreBooks
from milestonebill.errors import InvalidInputError, NotFoundError, ValidationError
from milestonebill.periods import Period
from milestonebill.reports import (
    PARAMETERS,
    REPORTS,
    Books,
    Cadence,
    Table,
    aging,
    cash_forecast,
    client_statement,
    contract_positions,
    mrr_movements,
    receivables,
    report_query,
    run_report,
)
from milestonebill.testing.firm import Firm, generated_firm

TODAY = date(2024, 12, 31)


@pytest.fixture(scope="module")
def firm() -> Firm:
    return generated_firm(agreements=30, months=12, seed=11)


@pytest.fixture(scope="module")
def books(firm: Firm) -> Books:
    return Books.of(firm.agreements(), firm.store.entries())


def params_for(name: str, firm: Firm) -> dict[str, str]:
    needs = REPORTS[name].required
    out: dict[str, str] = {}
    if "start" in REPORTS[name].parameters:
        out.update(start="2024-04-01", end="2024-10-01")
    if "client" in needs:
        out["client"] = firm.agreements()[0].proposal.client
    return out


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_every_report_runs_on_a_firm_and_round_trips_through_json(
        name: str, firm: Firm, books: Books) -> None:
    table = run_report(name, books, params_for(name, firm), today=TODAY)
    assert isinstance(table, Table)
    if table.rows:
        row = type(table.rows[0])
        assert Table.from_json(table.to_json(), row) == table


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_every_report_names_only_known_parameters(name: str) -> None:
    report = REPORTS[name]
    assert set(report.parameters) <= set(PARAMETERS)
    assert set(report.required) <= set(report.parameters)


def test_the_registry_gives_what_the_report_functions_give(firm: Firm, books: Books) -> None:
    agreements = [a for a in firm.agreements() if a.signed_on <= date(2024, 6, 30)]
    assert run_report("aging", books, {"as_of": "2024-06-30"}, today=TODAY) == aging(
        agreements, date(2024, 6, 30))
    client = agreements[0].proposal.client
    assert run_report("receivables", books, {"as_of": "2024-06-30", "client": client},
                      today=TODAY) == receivables(agreements, date(2024, 6, 30), client=client)
    assert run_report("cash-forecast", books, {"as_of": "2024-06-30", "periods": "2",
                                               "cadence": "week"}, today=TODAY).rows == \
        cash_forecast(agreements, date(2024, 6, 30), periods=2, cadence=Cadence.WEEK).rows


def test_a_period_is_start_included_and_end_excluded(firm: Firm, books: Books) -> None:
    client = firm.agreements()[0].proposal.client
    got = run_report("statement", books, {"client": client, "start": "2024-04-01",
                                          "end": "2024-07-01"}, today=TODAY)
    assert got == client_statement(firm.agreements(), client,
                                   Period(date(2024, 4, 1), date(2024, 7, 1)))
    assert run_report("mrr-movements", books, {"start": "2024-01-31", "end": "2024-06-30"},
                      today=TODAY) == mrr_movements(firm.agreements(), date(2024, 1, 31),
                                                    date(2024, 6, 30))


def test_as_of_defaults_to_today_and_the_currency_to_every_one(books: Books) -> None:
    got = run_report("contract-balances", books, {}, today=date(2024, 9, 30))
    assert got.rows == contract_positions(books.entries(), date(2024, 9, 30), "USD").rows


def test_store_books_read_the_same_books(firm: Firm, books: Books) -> None:
    assert run_report("aging", StoreBooks(firm.store), {}, today=TODAY) == run_report(
        "aging", books, {}, today=TODAY)


def test_an_unknown_report_is_not_found() -> None:
    with pytest.raises(NotFoundError, match="no report 'churn'"):
        report_query("churn", {}, today=TODAY)


def test_mrr_movements_take_a_period_or_months_not_both(books: Books) -> None:
    by_month = run_report("mrr-movements", books, {"as_of": "2024-06-15", "months": "3"},
                          today=TODAY)
    assert sorted({(r.start, r.end) for r in by_month}) == [
        (date(2024, 4, 1), date(2024, 5, 1)), (date(2024, 5, 1), date(2024, 6, 1)),
        (date(2024, 6, 1), date(2024, 7, 1))]
    with pytest.raises(ValidationError, match="'months' must be given without start"):
        run_report("mrr-movements", books, {"start": "2024-01-01", "end": "2024-06-01",
                                            "months": "3"}, today=TODAY)
    with pytest.raises(ValidationError, match="'start' must be given with end, or months"):
        run_report("mrr-movements", books, {}, today=TODAY)


def test_every_problem_with_the_parameters_is_reported_at_once() -> None:
    with pytest.raises(InvalidInputError) as info:
        report_query("statement", {"start": "2024-13-01", "end": "2024-02-01",
                                   "currency": "dollars", "as_of": "2024-01-01"}, today=TODAY)
    assert sorted(p.field for p in info.value.problems) == [
        "as_of", "client", "currency", "start"]


@pytest.mark.parametrize(("params", "field"), [
    ({"start": "2024-03-01", "end": "2024-03-01"}, "end"),
    ({"start": "2024-03-01"}, "end"),
    ({"periods": "0"}, "periods"),
    ({"periods": "-3"}, "periods"),
    ({"cadence": "fortnight"}, "cadence"),
    ({"history": "x"}, "history"),
])
def test_a_bad_parameter_is_named(params: dict[str, str], field: str) -> None:
    name = "rollforward" if "start" in params else "cash-forecast"
    with pytest.raises(ValidationError) as info:
        report_query(name, params, today=TODAY)
    assert info.value.field == field


def test_a_query_reads_its_values() -> None:
    q = report_query("cash-forecast", {"as_of": "2024-06-30", "periods": "6",
                                       "cadence": "WEEK", "history": "1"}, today=TODAY)
    assert (q.as_of, q.periods, q.cadence, q.history) == (date(2024, 6, 30), 6, Cadence.WEEK, 1)


def test_books_are_given_as_values(books: Books) -> None:
    copy: Any = Books.of(books.agreements(), books.entries())
    assert copy == books

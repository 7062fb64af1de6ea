"""Every report is a Table: typed rows, JSON records, a DataFrame and an HTML view."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import attrs
import pytest

from milestonebill.errors import ValidationError
from milestonebill.money import Money
from milestonebill.reports import Table


@attrs.frozen
class Row:
    client: str
    due_on: date
    amount: Money


TABLE = Table("Open invoices", [Row("Acme", date(2026, 1, 31), Money("1234.50", "EUR")),
                                Row("Globex", date(2026, 2, 28), Money("0.05", "EUR"))],
              locale="de_DE")


def test_a_table_is_its_rows_in_order() -> None:
    assert (len(TABLE), TABLE[1].client, [r.client for r in TABLE]) == (
        2, "Globex", ["Acme", "Globex"])
    assert repr(TABLE) == "<Open invoices: 2 rows>"


def test_records_are_json_with_money_as_objects() -> None:
    assert TABLE.to_records()[0] == {
        "client": "Acme", "due_on": "2026-01-31",
        "amount": {"amount": "1234.50", "currency": "EUR"}}


def test_a_dataframe_keeps_money_exact_with_a_currency_column() -> None:
    frame = TABLE.to_pandas()
    assert list(frame.columns) == ["client", "due_on", "amount", "currency"]
    assert frame["amount"].tolist() == [Decimal("1234.50"), Decimal("0.05")]
    assert frame["due_on"].tolist() == [date(2026, 1, 31), date(2026, 2, 28)]
    assert frame["currency"].tolist() == ["EUR", "EUR"]
    assert TABLE.to_pandas(money="minor")["amount"].tolist() == [123450, 5]


def test_an_unknown_money_form_is_refused() -> None:
    with pytest.raises(ValidationError) as err:
        TABLE.to_pandas(money="float")  # type: ignore[arg-type]
    assert err.value.field == "money"


def test_the_html_view_formats_amounts_in_the_tables_locale() -> None:
    page = TABLE._repr_html_()
    assert page.startswith("<table><caption>Open invoices</caption>")
    assert "1.234,50" in page
    assert page.count("<tr>") == 3


def test_an_empty_table_has_no_columns() -> None:
    empty: Table[Row] = Table("Nothing", [])
    assert (empty.columns(), empty.to_records(), len(empty.to_pandas())) == ([], [], 0)


def test_csv_has_exact_amounts_and_a_currency_column() -> None:
    assert TABLE.to_csv().splitlines() == [
        "client,due_on,amount,currency",
        "Acme,2026-01-31,1234.50,EUR",
        "Globex,2026-02-28,0.05,EUR"]


def test_csv_splits_a_period_and_writes_enums_by_value() -> None:
    import csv
    import io

    from milestonebill.periods import Period
    from milestonebill.schedule import Trigger

    @attrs.frozen
    class Line:
        period: Period
        trigger: Trigger
        note: str | None

    table = Table("Lines", [Line(Period.month(2026, 2), Trigger.ON_SIGNING, None),
                            Line(Period.month(2026, 3), Trigger.ON_DATE, 'say "hi", then')])
    assert list(csv.reader(io.StringIO(table.to_csv()))) == [
        ["period_start", "period_end", "trigger", "note"],
        ["2026-02-01", "2026-03-01", "on_signing", ""],
        ["2026-03-01", "2026-04-01", "on_date", 'say "hi", then']]


def test_an_empty_table_is_an_empty_csv() -> None:
    assert Table("Nothing", []).to_csv() == ""

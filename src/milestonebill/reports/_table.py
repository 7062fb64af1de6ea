"""What every report gives back: typed rows, and the ways people read them.

Private to :mod:`milestonebill.reports`; :class:`Table` is re-exported.
A report is a :class:`Table` of ``@attrs.frozen`` rows.  From it:

* ``rows`` (and iteration, ``len``, indexing) -- the typed values;
* :meth:`Table.to_records` -- JSON-ready dicts in the library's one JSON form
  (money as ``{"amount": "...", "currency": "..."}``); :meth:`Table.to_json`
  and :meth:`Table.from_json` -- the whole table, title and rows, and back;
* :meth:`Table.to_csv` -- CSV text for spreadsheets: money as its decimal
  amount with the currency in a column of its own, a period as its
  ``_start`` and ``_end`` (half-open, as everywhere in the library);
* :meth:`Table.to_pandas` -- a DataFrame (extra ``pandas``): money as
  ``Decimal`` amounts (or integer minor units) with a ``currency`` column
  beside them, dates as dates, never float;
* ``_repr_html_`` -- a table for notebooks, amounts formatted with babel in
  the table's locale; ``repr`` stays one short line.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Iterator, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar

import attrs

from milestonebill._json import decode, encode
from milestonebill.errors import ValidationError
from milestonebill.money import Money, format_money

__all__ = ["Table"]

Row = TypeVar("Row")


def _cell(value: object, locale: str) -> str:
    if isinstance(value, Money):
        return format_money(value, locale)
    if isinstance(value, date):
        return value.isoformat()
    if value is None:
        return ""
    if attrs.has(type(value)) and hasattr(value, "start") and hasattr(value, "end"):
        return f"{value.start.isoformat()} .. {value.end.isoformat()}"  # a period
    return str(getattr(value, "value", value))


def _is_period(value: object) -> bool:
    return attrs.has(type(value)) and isinstance(getattr(value, "start", None), date) \
        and isinstance(getattr(value, "end", None), date)


@attrs.frozen
class Table(Generic[Row]):
    """A report: a title and its rows (attrs values), in order.

    ``locale`` is used for ``_repr_html_`` only.
    """

    title: str
    rows: tuple[Row, ...] = attrs.field(converter=tuple)
    locale: str = "en_US"

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> Row:
        return self.rows[i]

    def __repr__(self) -> str:
        return f"<{self.title}: {len(self.rows)} row{'s' if len(self.rows) != 1 else ''}>"

    def columns(self) -> list[str]:
        """The field names of the rows (empty for no rows)."""
        if not self.rows:
            return []
        row_type: Any = type(self.rows[0])
        return [a.name for a in attrs.fields(row_type)]

    def to_records(self) -> list[dict[str, Any]]:
        """Each row as JSON-ready data, money as ``{"amount", "currency"}``."""
        return [encode(r) for r in self.rows]

    def to_json(self) -> dict[str, Any]:
        """The table as JSON: ``{"title", "locale", "rows"}``, the rows as :meth:`to_records`.

        >>> from milestonebill.periods import Period
        >>> t = Table("Quarters", [Period.of("2026-01-01", "2026-04-01")])
        >>> t.to_json()
        {'title': 'Quarters', 'locale': 'en_US', 'rows': [{'start': '2026-01-01', 'end': '2026-04-01'}]}
        >>> Table.from_json(t.to_json(), Period) == t
        True
        """
        return {"title": self.title, "locale": self.locale, "rows": self.to_records()}

    @classmethod
    def from_json(cls, data: object, row: type[Row]) -> Table[Row]:
        """Read the form :meth:`to_json` writes, each row as a ``row`` (the report's row
        class, such as :class:`~milestonebill.reports.RevenueRow`).

        Raises :class:`~milestonebill.errors.ValidationError` naming the field
        for data that is not that form (no list of ``rows``, an unknown key).
        """
        if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
            raise ValidationError("table", "an object with a list of 'rows'", data)
        unknown = sorted(set(data) - {"title", "locale", "rows"})
        if unknown:
            raise ValidationError(unknown[0], "a field of Table", unknown[0])
        rows = [decode(r, row, f"rows[{i}]") for i, r in enumerate(data["rows"])]
        return cls(decode(data.get("title"), str, "title"), rows,
                   decode(data.get("locale", "en_US"), str, "locale"))

    def to_pandas(self, *, money: Literal["decimal", "minor"] = "decimal") -> Any:
        """The rows as a ``pandas.DataFrame`` (needs the ``pandas`` extra).

        Each money field becomes a column of ``Decimal`` amounts (``money=
        "decimal"``, exact) or of integer minor units (``money="minor"``);
        the rows' currency is a ``currency`` column (a report never adds
        different currencies, so one row has one).  Dates stay
        ``datetime.date`` objects; nothing is converted to float.  Raises
        :class:`~milestonebill.errors.ValidationError` naming ``money`` for
        anything but ``"decimal"`` or ``"minor"``.
        """
        if money not in ("decimal", "minor"):
            raise ValidationError("money", "'decimal' or 'minor'", money)
        import pandas as pd

        records = [self._flat(r, money) for r in self.rows]
        frame = pd.DataFrame.from_records(records, columns=self._flat_columns())
        return frame

    def _flat_columns(self) -> list[str]:
        cols = self.columns()
        return [*cols, "currency"] if cols and self._money_fields() else cols

    def _money_fields(self) -> list[str]:
        if not self.rows:
            return []
        return [c for c in self.columns() if isinstance(getattr(self.rows[0], c), Money)]

    def _flat(self, row: Row, money: str) -> dict[str, object]:
        out: dict[str, object] = {}
        currency: str | None = None
        for name in self.columns():
            value = getattr(row, name)
            if isinstance(value, Money):
                currency = value.currency.code
                out[name] = value.amount if money == "decimal" else value.minor
            elif attrs.has(type(value)):
                out[name] = _cell(value, "en_US")
            else:
                out[name] = getattr(value, "value", value) if not isinstance(
                    value, (int, str, Decimal, date, type(None))) else value
        if self._money_fields():
            out["currency"] = currency
        return out

    def to_csv(self) -> str:
        """The rows as CSV text with a header line (lines end with ``\\n``).

        Money is its exact decimal amount and the currency goes in a
        ``currency`` column; a period field ``p`` becomes ``p_start`` and
        ``p_end`` (half-open: the end is the day after the last day); enums
        are their values, ``None`` is empty.  A table without rows has no
        columns to name: its CSV is empty.

        >>> from milestonebill.periods import Period
        >>> @attrs.frozen
        ... class Row:
        ...     name: str
        ...     period: Period
        ...     amount: Money
        >>> t = Table("Fees", [Row("audit, 2025", Period.month(2025, 1), Money("1200", "EUR"))])
        >>> print(t.to_csv(), end="")
        name,period_start,period_end,amount,currency
        "audit, 2025",2025-01-01,2025-02-01,1200.00,EUR
        """
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        if not self.rows:
            return ""
        header: list[str] = []
        for name in self.columns():
            value = getattr(self.rows[0], name)
            header += [f"{name}_start", f"{name}_end"] if _is_period(value) else [name]
        writer.writerow([*header, "currency"] if self._money_fields() else header)
        for row in self.rows:
            writer.writerow(self._csv_row(row))
        return buf.getvalue()

    def _csv_row(self, row: Row) -> list[str]:
        cells: list[str] = []
        currency = ""
        for name in self.columns():
            value = getattr(row, name)
            if isinstance(value, Money):
                currency = value.currency.code
                cells.append(str(value.amount))
            elif _is_period(value):
                cells += [value.start.isoformat(), value.end.isoformat()]
            elif isinstance(value, date):
                cells.append(value.isoformat())
            else:
                cells.append("" if value is None else str(getattr(value, "value", value)))
        return [*cells, currency] if self._money_fields() else cells

    def _repr_html_(self) -> str:
        cols = self.columns()
        head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
        right = ' style="text-align:right"'

        def td(value: object) -> str:
            align = right if isinstance(value, Money) else ""
            return f"<td{align}>{html.escape(_cell(value, self.locale))}</td>"

        body = "".join("<tr>" + "".join(td(getattr(r, c)) for c in cols) + "</tr>"
                       for r in self.rows)
        return (f"<table><caption>{html.escape(self.title)}</caption>"
                f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")

    def grouped(self, key: str) -> dict[object, Sequence[Row]]:
        """The rows grouped by the value of field ``key``, in order of first appearance."""
        out: dict[object, list[Row]] = {}
        for r in self.rows:
            out.setdefault(getattr(r, key), []).append(r)
        return dict(out)

"""Writing results: JSON through the library's codec, text tables for people,
and progress bars on standard error.

>>> from milestonebill.money import Money
>>> money_text(Money("12345.6", "USD"))
'12,345.60 USD'
>>> print(text_table(["id", "total"], [["INV-1", Money("5", "EUR")],
...                                   ["INV-2", Money("1250", "EUR")]]))
id            total
INV-1      5.00 EUR
INV-2  1,250.00 EUR
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Any, TextIO

import attrs

from milestonebill._json import encode
from milestonebill.money import Money

__all__ = ["cell_text", "emit_json", "money_text", "progress_bar", "text_table", "to_json"]


def to_json(value: Any) -> Any:
    """``value`` (an attrs value, or lists and dicts of them) as JSON-ready data,
    money as ``{"amount", "currency"}``."""
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    return encode(value)


def emit_json(out: TextIO, data: Any) -> None:
    """Write ``data`` to ``out`` as indented JSON and a newline."""
    json.dump(to_json(data), out, indent=2, ensure_ascii=False)
    out.write("\n")


def money_text(m: Money) -> str:
    """``12,345.60 USD``: grouped digits, every decimal of the currency, the code."""
    return f"{m.amount:,} {m.currency.code}"


def cell_text(value: object) -> str:
    """A value as a cell of a text table (a period shows its first and last day)."""
    if isinstance(value, Money):
        return money_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if value is None:
        return ""
    if attrs.has(type(value)) and hasattr(value, "start") and hasattr(value, "end"):
        last = date.fromordinal(value.end.toordinal() - 1)
        return f"{value.start.isoformat()}..{last.isoformat()}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(getattr(value, "value", value))


def text_table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """An aligned text table; money and numbers are right-aligned."""
    cells = [[cell_text(v) for v in row] for row in rows]
    right = [bool(rows) and all(isinstance(r[i], Money | int | Decimal) and
                                not isinstance(r[i], bool) for r in rows)
             for i in range(len(columns))]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if r else v.ljust(w)
                         for v, w, r in zip(values, widths, right, strict=True)).rstrip()

    return "\n".join([line(list(columns)), *(line(r) for r in cells)])


@contextmanager
def progress_bar(enabled: bool, total: int | None, what: str, *, unit: str = "agreement"
                 ) -> Iterator[Callable[[int], None] | None]:
    """A callback that moves a tqdm bar on standard error to ``n`` done, or ``None``.

    Off (``None``) unless ``enabled`` and standard error is a terminal.
    """
    err = sys.stderr
    if not enabled or not getattr(err, "isatty", lambda: False)():
        yield None
        return
    from tqdm import tqdm

    bar = tqdm(total=total, desc=what, unit=unit, file=err, leave=False)

    def moved(n: int) -> None:
        bar.update(n - bar.n)

    try:
        yield moved
    finally:
        bar.close()

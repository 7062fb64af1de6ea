"""How ``milestonebill report`` prints a report: its output formats, and the
whole-number option type the report options share.
"""

from __future__ import annotations

import argparse
import json
from typing import Any, Final

from milestonebill.cli.output import text_table
from milestonebill.reports import Table

__all__ = ["FORMATS", "count_arg", "render"]

#: The output formats of ``report``.
FORMATS: Final = ("table", "json", "csv")


def count_arg(text: str, *, at_least: int = 1, at_most: int = 1200) -> int:
    """An argparse ``type`` for a whole number from ``at_least`` to ``at_most``.

    >>> count_arg("12")
    12
    """
    try:
        value = int(text, 10)
    except ValueError:
        value = at_least - 1
    if not at_least <= value <= at_most:
        raise argparse.ArgumentTypeError(
            f"must be a whole number from {at_least} to {at_most} (got {text!r})")
    return value


def render(table: Table[Any], fmt: str) -> str:
    """``table`` as ``table`` text, ``json`` or ``csv``."""
    if fmt == "csv":
        return table.to_csv()
    if fmt == "json":
        return json.dumps({"title": table.title, "rows": table.to_records()}, indent=2,
                          ensure_ascii=False) + "\n"
    if not table.rows:
        return f"{table.title}: no rows\n"
    columns = table.columns()
    rows = [[getattr(r, c) for c in columns] for r in table.rows]
    return f"{table.title}\n{text_table(columns, rows)}\n"

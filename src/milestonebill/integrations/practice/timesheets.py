"""Time entries from a PSA's export (BigTime-style CSV) as progress on agreements.

A professional-services tool such as BigTime exports time as CSV, one row
per entry, with the columns :data:`COLUMNS` (``date``, ``person``,
``hours``, ``rate``, ``project``) and optionally :data:`OPTIONAL_COLUMNS`
(``entry_id``, ``billable``, ``notes``).  Headers are matched with case,
spaces, dashes and underscores ignored; ``mapping`` names the column a
differently named header holds (``{"Staff Member": "person"}``; ``None``
ignores one); other headers are ignored and listed.
:func:`import_time` reads it and records each entry's hours on the
obligation measured by hours its ``project`` is linked to (source
``bigtime`` unless told otherwise; see
:mod:`milestonebill.integrations.practice.activity`):

* every row is checked first, and every problem is reported with its row
  (the header is row 1) and column -- a date that does not parse, hours that
  are not a number or are negative, hours that would pass the estimate in
  force;
* nothing is written unless every row is good, and then everything is
  written in one unit of work;
* each row is an entry: its ``entry_id``, or an id derived from its cells
  (the same row in the next export gets the same id; two equal rows in one
  file are two entries), so importing the same file again -- or an export
  that overlaps the last -- counts no hour twice;
* rows of projects not linked are not an error: they are reported as
  ignored (the firm bills them some other way).

``rate`` and ``billable`` are read and kept on each entry, for
time-and-materials billing; progress counts every hour worked.

>>> rows = [{"Date": "2026-03-02", "Person": "Ada", "Hours": "2.5", "Rate": "150",
...          "Project": "Acme audit"},
...         {"Date": "2026-03-02", "Person": "Ada", "Hours": "-1", "Rate": "150",
...          "Project": "Acme audit"}]
>>> read = read_time_entries(rows)
>>> [(e.person, str(e.hours), e.keys) for e in read.entries]
[('Ada', '2.5', ('Acme audit',))]
>>> [str(p) for p in read.problems]
["row 3, Hours: must be a number of hours, at least 0 (got '-1')"]
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, TextIO, cast

import attrs

from milestonebill._validate import check_id, check_text, decimal_from_text
from milestonebill.engine import Biller
from milestonebill.errors import DomainError, ValidationError
from milestonebill.integrations.practice.activity import (
    ActivityResult,
    Outcome,
    TimeLogged,
    plan_activity,
    record_activity,
)
from milestonebill.integrations.spreadsheet import ImportProblem
from milestonebill.stores.base import check_source

__all__ = [
    "COLUMNS",
    "DEFAULT_SOURCE",
    "OPTIONAL_COLUMNS",
    "TimeImport",
    "import_time",
    "read_time_entries",
]

#: The columns an export must have.
COLUMNS: Final = ("date", "person", "hours", "rate", "project")
#: The columns an export may have.
OPTIONAL_COLUMNS: Final = ("entry_id", "billable", "notes")
#: The source projects are linked under unless told otherwise.
DEFAULT_SOURCE: Final = "bigtime"
_YES: Final = {"yes": True, "y": True, "true": True, "1": True,
               "no": False, "n": False, "false": False, "0": False}
# Which column a refusal of the agreement's is about.
_FIELD_COLUMNS: Final = {"to_date": "hours", "as_of": "date"}

Source = str | os.PathLike[str] | TextIO | Iterable[Mapping[str, object]]


@attrs.frozen
class TimeImport:
    """What an import read, found wrong, and did.

    ``entries`` are the rows read (``rows`` their row numbers); ``results``
    say what each came to (planned, with ``dry_run``); ``written`` is true
    when something was recorded; ``headers`` pairs each column with the
    file's header for it.
    """

    source: str
    entries: tuple[TimeLogged, ...] = ()
    rows: tuple[int, ...] = ()
    problems: tuple[ImportProblem, ...] = ()
    results: tuple[ActivityResult, ...] = ()
    ignored_headers: tuple[str, ...] = ()
    written: bool = False
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def ok(self) -> bool:
        """True when every row was good."""
        return not self.problems

    def count(self, outcome: Outcome) -> int:
        """How many entries came to ``outcome``."""
        return sum(1 for r in self.results if r.outcome is outcome)

    def report(self) -> str:
        """A report for people: what was recorded or why not, then each problem or
        ignored row.

        >>> print(TimeImport("bigtime", problems=(ImportProblem(4, "hours", "is required"),)
        ...                  ).report())
        1 problem; nothing imported
        row 4, hours: is required
        """
        if self.problems:
            n = len(self.problems)
            return "\n".join([f"{n} problem{'s' if n != 1 else ''}; nothing imported",
                              *map(str, self.problems)])
        hours = sum((r.activity.hours for r in self.results if r.outcome is Outcome.RECORDED
                     and isinstance(r.activity, TimeLogged)), Decimal(0))
        head = (f"{self.count(Outcome.RECORDED)} entries recorded ({hours} hours), "
                f"{self.count(Outcome.DUPLICATE) + self.count(Outcome.EDITED)} already "
                f"counted, {self.count(Outcome.IGNORED)} ignored")
        if not self.written and self.count(Outcome.RECORDED):
            head += " (dry run: nothing written)"
        notes = [f"row {row}: {r.outcome.value}: {r.reason}"
                 for row, r in zip(self.rows, self.results, strict=True)
                 if r.outcome in (Outcome.IGNORED, Outcome.EDITED)]
        return "\n".join([head, *notes])

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {"source": self.source, "written": self.written, "ok": self.ok,
                "problems": [{"row": p.row, "column": p.column, "message": p.message}
                             for p in self.problems],
                "results": [{"row": row, **r.to_json()}
                            for row, r in zip(self.rows, self.results, strict=True)],
                "ignored_headers": list(self.ignored_headers)}


# ---------------------------------------------------------------- reading


def _records(source: Source) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the data rows of ``source``, each with its row number."""
    if isinstance(source, str | os.PathLike):
        with Path(source).open(encoding="utf-8-sig", newline="") as f:
            return _records(f)
    if hasattr(source, "read"):
        lines = list(csv.reader(cast(TextIO, source)))
        return (lines[0] if lines else []), list(enumerate(lines[1:], start=2))
    rows = list(source)
    headers: dict[str, None] = {}
    for r in rows:
        if not isinstance(r, Mapping):
            raise ValidationError("rows", "mappings of column to cell text", r)
        headers.update(dict.fromkeys(str(k) for k in r))
    order = list(headers)
    return order, [(n, ["" if r.get(h) is None else str(r.get(h)) for h in order])
                   for n, r in enumerate(rows, start=2)]


def _normal(header: str) -> str:
    return re.sub(r"[\s_-]+", "_", header.strip().lower())


def _header(headers: Sequence[str], mapping: Mapping[str, str | None]
            ) -> tuple[dict[int, str], list[str], list[ImportProblem]]:
    """Each position's column, the headers ignored, and the header's problems."""
    known = (*COLUMNS, *OPTIONAL_COLUMNS)
    columns: dict[int, str] = {}
    ignored: list[str] = []
    problems: list[ImportProblem] = []
    seen: dict[str, str] = {}
    for i, header in enumerate(headers):
        column = mapping[header] if header in mapping else _normal(header)
        if column is None or column not in known:
            ignored.append(header)
            continue
        if column in seen:
            problems.append(ImportProblem(1, header, f"holds {column}, as {seen[column]!r} "
                                                     "does already"))
            continue
        seen[column] = header
        columns[i] = column
    problems += [ImportProblem(1, c, "is missing (map the header that holds it with "
                                     "mapping={header: column})")
                 for c in COLUMNS if c not in seen]
    return columns, ignored, problems


def _check_mapping(mapping: object) -> Mapping[str, str | None]:
    if mapping is None:
        return {}
    if not isinstance(mapping, Mapping):
        raise ValidationError("mapping", "a mapping of file header to column", mapping)
    for header, column in mapping.items():
        if column is not None and column not in (*COLUMNS, *OPTIONAL_COLUMNS):
            raise ValidationError(f"mapping[{header!r}]", "one of the columns "
                                  f"{', '.join((*COLUMNS, *OPTIONAL_COLUMNS))} or None", column)
    return mapping


@attrs.define
class _Row:
    number: int
    cells: dict[str, str]
    headers: Mapping[str, str]
    problems: list[ImportProblem] = attrs.Factory(list)

    def problem(self, column: str, message: str) -> None:
        self.problems.append(ImportProblem(self.number, self.headers.get(column, column),
                                           message))

    def cell(self, column: str, *, required: bool = True) -> str:
        value = self.cells.get(column, "")
        if required and not value:
            self.problem(column, "is required")
        return value

    def number_in(self, column: str, *, required: bool) -> Decimal | None:
        raw = self.cell(column, required=required)
        if not raw:
            return None
        try:
            value = decimal_from_text(column, raw)
        except ValidationError:
            value = None
        if value is None or value < 0:
            what = "a number of hours" if column == "hours" else "a rate"
            self.problem(column, f"must be {what}, at least 0 (got {raw!r})")
            return None
        return value


def _day(row: _Row, date_format: str | None) -> date | None:
    raw = row.cell("date")
    if not raw:
        return None
    try:
        if date_format is None:
            return date.fromisoformat(raw) if len(raw) == 10 else None
        return datetime.strptime(raw, date_format).date()
    except ValueError:
        return None


def _entry_id(row: _Row, day: date, hours: Decimal, rate: Decimal | None,
              seen: dict[str, int]) -> str:
    """The row's ``entry_id``, or one derived from its cells (``#n`` for the n-th equal row)."""
    given = row.cell("entry_id", required=False)
    if given:
        return given
    parts = [day.isoformat(), row.cells.get("person", ""), format(hours.normalize(), "f"),
             "" if rate is None else format(rate.normalize(), "f"), row.cells.get("project", "")]
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:24]
    n = seen[digest] = seen.get(digest, 0) + 1
    return f"row-{digest}" + (f"-{n}" if n > 1 else "")


def _text(row: _Row, column: str, check: Any, *, required: bool) -> str:
    raw = row.cell(column, required=required)
    if raw:
        try:
            check(column, raw)
        except ValidationError as exc:
            row.problem(column, f"must be {exc.expected} (got {exc.got})")
            return ""
    return raw


def _read_row(row: _Row, source: str, date_format: str | None,
              seen: dict[str, int]) -> TimeLogged | None:
    day = _day(row, date_format)
    if day is None and row.cells.get("date"):
        example = "2026-03-02" if date_format is None else date(2026, 3, 2).strftime(date_format)
        row.problem("date", f"must be a date such as {example} (got {row.cells['date']!r})")
    person = _text(row, "person", check_text, required=True)
    project = _text(row, "project", check_id, required=True)
    hours = row.number_in("hours", required=True)
    rate = row.number_in("rate", required=False)
    billable_text = row.cell("billable", required=False).lower()
    if billable_text and billable_text not in _YES:
        row.problem("billable", f"must be yes or no (got {billable_text!r})")
    notes = _text(row, "notes", check_text, required=False)
    _text(row, "entry_id", check_id, required=False)
    if row.problems or day is None or hours is None:
        return None
    try:
        return TimeLogged(source, _entry_id(row, day, hours, rate, seen), (project,), day,
                          person, hours, rate, _YES.get(billable_text, True), notes)
    except ValidationError as exc:
        row.problem(_FIELD_COLUMNS.get(exc.field, exc.field),
                    f"must be {exc.expected} (got {exc.got})")
        return None


def read_time_entries(source: Source, *, source_name: str = DEFAULT_SOURCE,
                      mapping: Mapping[str, str | None] | None = None,
                      date_format: str | None = None) -> TimeImport:
    """The entries of an export (:attr:`TimeImport.entries`, with their row numbers)
    and every problem with its row and column; nothing is recorded.

    ``source`` is a CSV file's path (UTF-8, a BOM allowed), an open text
    file, or rows already read (mappings of header to cell text).  Dates
    are ISO (``2026-03-02``) unless ``date_format`` (a
    :meth:`~datetime.datetime.strptime` format such as ``"%m/%d/%Y"``) says
    otherwise.  Empty rows are skipped.
    """
    check_source(source_name)
    header, records = _records(source)
    columns, ignored, problems = _header(header, _check_mapping(mapping))
    if problems:
        return TimeImport(source_name, problems=tuple(problems),
                          ignored_headers=tuple(ignored))
    headers = {column: header[i] for i, column in columns.items()}
    entries: list[TimeLogged] = []
    numbers: list[int] = []
    seen: dict[str, int] = {}
    for number, values in records:
        cells = {columns[i]: v.strip() for i, v in enumerate(values) if i in columns}
        if not any(cells.values()):
            continue
        row = _Row(number, cells, headers)
        entry = _read_row(row, source_name, date_format, seen)
        problems += row.problems
        if entry is not None:
            entries.append(entry)
            numbers.append(number)
    return TimeImport(source_name, tuple(entries), tuple(numbers), tuple(problems),
                      ignored_headers=tuple(ignored), headers=tuple(headers.items()))


def _refusals(read: TimeImport, errors: Mapping[int, DomainError]) -> list[ImportProblem]:
    """The agreements' refusals as problems of the rows and columns they are about."""
    headers = dict(read.headers)
    out = []
    for i, exc in sorted(errors.items()):
        column = _FIELD_COLUMNS.get(getattr(exc, "field", ""), "project")
        out.append(ImportProblem(read.rows[i], headers.get(column, column),
                                 f"project {read.entries[i].keys[0]!r}: {exc}"))
    return out


def import_time(biller: Biller, source: Source, *, source_name: str = DEFAULT_SOURCE,
                mapping: Mapping[str, str | None] | None = None,
                date_format: str | None = None, dry_run: bool = False) -> TimeImport:
    """Read an export and record its hours on the agreements, all or nothing.

    Every row is checked, then every entry is tried on its agreement; with
    any problem nothing is written and :attr:`TimeImport.problems` lists them
    all.  ``dry_run`` plans without writing.  See the module docs.
    """
    read = read_time_entries(source, source_name=source_name, mapping=mapping,
                             date_format=date_format)
    if read.problems:
        return read
    planned, errors = plan_activity(biller, read.entries)
    if errors:
        return attrs.evolve(read, problems=tuple(_refusals(read, errors)))
    if dry_run:
        return attrs.evolve(read, results=tuple(planned[i] for i in range(len(read.entries))))
    receipt = record_activity(biller, read.entries, bill=False)
    return attrs.evolve(read, results=receipt.results, written=bool(receipt.events))

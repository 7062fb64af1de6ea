"""Existing agreements imported from a spreadsheet export: one row per billable item.

A firm moving to milestonebill has its agreements in a spreadsheet.  Export
it as CSV with one row per milestone or recurring charge, in the columns of
:data:`COLUMNS` (a header row first; other header names are mapped with
``mapping``), and :func:`import_agreements` reads it:

* every row is checked first, and every problem is reported as an
  :class:`ImportProblem` (row number as the spreadsheet shows it -- the
  header is row 1 --, column, message);
* the rows of one agreement (same ``agreement_id``) become a proposal with
  one package and the agreement signed on it (:func:`~milestonebill.agreement.sign`),
  with the milestones already completed recorded as completed;
* nothing is returned to open unless every row is good; with
  ``skip_invalid=True`` the good agreements are returned and the rows of the
  others are listed as skipped.

Opening the agreements is the caller's (``for a in result.agreements:
biller.open(a)``).  The agreements' ids come from the file and the events
are built deterministically, so importing the same file again opens
nothing new: :meth:`~milestonebill.engine.Biller.open` of the same
agreement is a no-op.  See ``docs/formats.md`` for the columns.

>>> rows = [
...     {"agreement_id": "agr-1", "client": "Acme", "currency": "USD",
...      "signed_on": "2026-01-15", "kind": "milestone", "item_id": "design",
...      "name": "Design", "amount": "4000.00", "completed_on": "2026-02-20"},
...     {"agreement_id": "agr-1", "client": "Acme", "currency": "USD",
...      "signed_on": "2026-01-15", "kind": "recurring", "item_id": "care",
...      "name": "Care plan", "amount": "500", "interval": "monthly",
...      "start": "2026-03-01", "count": "12"}]
>>> result = import_agreements(rows)
>>> [(a.id, a.version, str(a.currency)) for a in result.agreements]
[('agr-1', 2, 'USD')]
>>> rows[1]["amount"] = "500.001"
>>> print(import_agreements(rows).report())
1 problem; nothing imported
row 3, amount: must be exact to 2 decimal places for USD (got '500.001')
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Final, TextIO, TypeVar, cast

import attrs

from milestonebill._validate import redact_card_numbers
from milestonebill.agreement import (
    Agreement,
    AgreementId,
    Collection,
    PackageOption,
    PaymentMethodKind,
    PaymentMethodRef,
    Proposal,
    ProposalId,
    apply,
    complete_milestone,
    sign,
)
from milestonebill.errors import InvalidInputError, MilestonebillError, ValidationError
from milestonebill.ids import ItemId, MilestoneId
from milestonebill.money import Currency, Money
from milestonebill.schedule import (
    BillingSchedule,
    Interval,
    IntervalUnit,
    Milestone,
    PaymentTerms,
    RecurringCharge,
    Timing,
    Trigger,
)

__all__ = [
    "AGREEMENT_COLUMNS",
    "COLUMNS",
    "REQUIRED_COLUMNS",
    "ImportProblem",
    "ImportResult",
    "import_agreements",
]

#: The columns that describe the agreement: the same on every row of one agreement.
AGREEMENT_COLUMNS: Final = (
    "agreement_id", "client", "currency", "signed_on", "signer", "collection",
    "gateway", "customer_ref", "payment_method_ref", "payment_method_kind",
)
#: Every documented column, in the order of the documentation.
COLUMNS: Final = (
    *AGREEMENT_COLUMNS,
    "kind", "item_id", "name", "amount", "terms_days",
    "trigger", "due_on", "completed_on",
    "interval", "start", "count", "end", "timing",
)
#: The columns a file must have.
REQUIRED_COLUMNS: Final = ("agreement_id", "client", "currency", "signed_on", "kind", "item_id",
                           "name", "amount")
_MILESTONE_ONLY: Final = ("trigger", "due_on", "completed_on")
_RECURRING_ONLY: Final = ("interval", "start", "count", "end", "timing")
_PAYMENT: Final = ("gateway", "customer_ref", "payment_method_ref")
_OPTION: Final = "imported"
_INTERVALS: Final = {"weekly": Interval.WEEKLY, "monthly": Interval.MONTHLY,
                     "quarterly": Interval.QUARTERLY, "yearly": Interval.YEARLY,
                     "annually": Interval.YEARLY}
_EVERY = re.compile(r"(?:every\s+)?([1-9][0-9]*)\s+(week|month|year)s?")
# Which column holds what a value's own check names.
_FIELD_COLUMNS: Final = {
    "id": "item_id", "name": "name", "amount": "amount", "percent": "amount",
    "trigger": "trigger", "due_on": "due_on", "terms": "terms_days", "net_days": "terms_days",
    "interval": "interval", "start": "start", "end": "end", "count": "count",
    "timing": "timing", "anchor_day": "start", "first_period_proration": "start",
    "gateway": "gateway", "customer_id": "customer_ref",
    "payment_method_id": "payment_method_ref", "kind": "payment_method_kind",
    "payment_method": "payment_method_ref", "signer": "signer",
    "agreement_id": "agreement_id", "currency": "currency", "client": "client",
}

_T = TypeVar("_T")
_E = TypeVar("_E", Trigger, Timing, Collection, PaymentMethodKind)


@attrs.frozen
class ImportProblem:
    """What is wrong with one cell: its ``row`` as the spreadsheet numbers it (the
    header is row 1), its ``column`` as the file names it, and the ``message``."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.column}: {self.message}"


@attrs.frozen
class ImportResult:
    """The agreements to open, the problems found and the rows skipped.

    Without ``skip_invalid`` a single problem leaves :attr:`agreements`
    empty.  With it, :attr:`skipped` lists the rows of every agreement that
    had a problem (an agreement is imported whole or not at all).
    """

    agreements: tuple[Agreement, ...] = ()
    problems: tuple[ImportProblem, ...] = ()
    skipped: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every row was good."""
        return not self.problems

    def report(self) -> str:
        """A report for people: what was imported or why not, then each problem.

        >>> print(ImportResult(problems=(ImportProblem(4, "amount", "is required"),),
        ...                    skipped=(4, 5)).report())
        0 agreements imported; 1 problem; skipped rows 4, 5
        row 4, amount: is required
        """
        n = len(self.problems)
        problems = f"{n} problem{'s' if n != 1 else ''}"
        if not self.skipped and self.problems:
            head = f"{problems}; nothing imported"
        else:
            count = len(self.agreements)
            head = f"{count} agreement{'s' if count != 1 else ''} imported"
            if self.problems:
                head += f"; {problems}"
            if self.skipped:
                head += f"; skipped rows {', '.join(map(str, self.skipped))}"
        return "\n".join([head, *map(str, self.problems)])


# ---------------------------------------------------------------- reading cells


@attrs.define
class _Row:
    """One data row: its cells by documented column, and the problems found in it."""

    number: int
    cells: dict[str, str]
    headers: Mapping[str, str]
    problems: list[ImportProblem] = attrs.Factory(list)

    def problem(self, column: str, message: str) -> None:
        self.problems.append(ImportProblem(self.number, self.headers.get(column, column),
                                           message))

    def text(self, column: str) -> str:
        return self.cells.get(column, "")

    def required(self, column: str) -> str:
        value = self.text(column)
        if not value:
            self.problem(column, "is required")
        return value

    def parsed(self, column: str, parse: Callable[[str], _T], expected: str) -> _T | None:
        raw = self.text(column)
        if not raw:
            return None
        try:
            return parse(raw)
        except ValidationError as exc:  # the value's own words say more
            self.problem(column, f"must be {exc.expected} (got {_shown(raw)})")
        except (ValueError, MilestonebillError):
            self.problem(column, f"must be {expected} (got {_shown(raw)})")
        return None

    def refused(self, exc: ValidationError, column: str | None = None) -> None:
        """Report a value's own check, in the column that holds the field it names."""
        for p in exc.problems if isinstance(exc, InvalidInputError) else (exc,):
            where = column or _column_of(p.field)
            shown = p.got if p.value == "[redacted]" or where not in self.cells else \
                _shown(self.text(where))
            self.problem(where, f"must be {p.expected} (got {shown})")


def _shown(cell: str) -> str:
    """A cell as a problem shows it: quoted, with any card number cut to its last four."""
    return repr(redact_card_numbers(cell))


def _column_of(field: str) -> str:
    last = re.split(r"[.\[\]]+", field.strip("]"))
    for part in reversed(last):
        if part in _FIELD_COLUMNS:
            return _FIELD_COLUMNS[part]
    return "item_id"


def _iso_date(text: str) -> date:
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        raise ValueError(text)
    return date.fromisoformat(text)


def _interval(text: str) -> Interval:
    words = " ".join(text.lower().split())
    if words in _INTERVALS:
        return _INTERVALS[words]
    match = _EVERY.fullmatch(words)
    if match is None:
        raise ValueError(text)
    return Interval.every(int(match.group(1)), IntervalUnit[match.group(2).upper()])


def _names(kind: type[_E]) -> str:
    return ", ".join(m.name.lower() for m in kind)


def _enum(row: _Row, column: str, kind: type[_E]) -> _E | None:
    raw = row.text(column)
    if not raw:
        return None
    try:
        return kind[raw.upper()]
    except KeyError:
        row.problem(column, f"must be one of {_names(kind)} (got {raw!r})")
        return None


# ---------------------------------------------------------------- items


@attrs.frozen
class _Item:
    row: _Row
    value: Milestone | RecurringCharge
    completed_on: date | None = None


def _wrong_kind_cells(row: _Row, kind: str) -> None:
    other = _RECURRING_ONLY if kind == "milestone" else _MILESTONE_ONLY
    for column in other:
        if row.text(column):
            row.problem(column, f"must be empty on a {kind} row (got {row.text(column)!r})")


def _item(row: _Row, currency: Currency | None) -> _Item | None:
    """The milestone or recurring charge a row describes, or ``None`` (problems noted)."""
    kind = row.required("kind").lower()
    if kind and kind not in ("milestone", "recurring"):
        row.problem("kind", f"must be milestone or recurring (got {row.text('kind')!r})")
    item_id, name = row.required("item_id"), row.required("name")
    amount = None
    if currency is not None and row.required("amount"):
        amount = row.parsed("amount", lambda t: Money(t, currency), "a decimal amount")
        if amount is not None and amount.minor <= 0:
            row.problem("amount", f"must be more than zero (got {row.text('amount')!r})")
    days = row.parsed("terms_days", int, "a whole number of days")
    if days is not None and days < 0:
        row.problem("terms_days", f"must be 0 or more (got {days})")
    if kind in ("milestone", "recurring"):
        _wrong_kind_cells(row, kind)
    dated = _milestone_cells(row) if kind == "milestone" else None
    repeated = _recurring_cells(row) if kind == "recurring" else None
    if row.problems or amount is None:
        return None
    terms = PaymentTerms.net(days or 0)
    try:
        if dated is not None:
            trigger, due, done = dated
            return _Item(row, Milestone(MilestoneId(item_id), name, amount=amount,
                                        trigger=trigger, due_on=due, terms=terms), done)
        assert repeated is not None
        interval, start, end, count, timing = repeated
        return _Item(row, RecurringCharge(ItemId(item_id), name, amount, interval, start=start,
                                          end=end, count=count, timing=timing, terms=terms))
    except ValidationError as exc:
        row.refused(exc)
        return None


def _milestone_cells(row: _Row) -> tuple[Trigger, date | None, date | None] | None:
    """A milestone row's trigger, due date and completion date (problems noted)."""
    due = row.parsed("due_on", _iso_date, "an ISO date such as '2026-01-31'")
    done = row.parsed("completed_on", _iso_date, "an ISO date such as '2026-01-31'")
    trigger = _enum(row, "trigger", Trigger)
    if trigger is None and not row.text("trigger"):
        trigger = Trigger.ON_DATE if due is not None else Trigger.ON_COMPLETION
    if done is not None and trigger not in (None, Trigger.ON_COMPLETION):
        assert trigger is not None
        row.problem("completed_on", f"must be empty for trigger {trigger.name.lower()} "
                                    f"(got {row.text('completed_on')!r})")
    return None if trigger is None else (trigger, due, done)


def _recurring_cells(row: _Row
                     ) -> tuple[Interval, date, date | None, int | None, Timing] | None:
    """A recurring row's interval, start, end, count and timing (problems noted)."""
    interval = start = None
    if row.required("interval"):
        interval = row.parsed("interval", _interval,
                              "weekly, monthly, quarterly, yearly or 'every N weeks'")
    if row.required("start"):
        start = row.parsed("start", _iso_date, "an ISO date such as '2026-01-31'")
    end = row.parsed("end", _iso_date, "an ISO date such as '2026-01-31'")
    count = row.parsed("count", int, "a whole number of periods")
    timing = _enum(row, "timing", Timing) or Timing.IN_ADVANCE
    if interval is None or start is None:
        return None
    return interval, start, end, count, timing


# ---------------------------------------------------------------- agreements


def _payment_method(row: _Row) -> PaymentMethodRef | None:
    given = [c for c in _PAYMENT if row.text(c)]
    if not given:
        return None
    for column in _PAYMENT:
        if not row.text(column):
            row.problem(column, f"is required with {', '.join(given)}")
    kind = _enum(row, "payment_method_kind", PaymentMethodKind) or PaymentMethodKind.CARD
    if row.problems:
        return None
    try:
        return PaymentMethodRef(row.text("gateway"), row.text("customer_ref"),
                                row.text("payment_method_ref"), kind)
    except ValidationError as exc:
        row.refused(exc)
        return None


def _same_agreement(rows: Sequence[_Row]) -> None:
    first = rows[0]
    for row in rows[1:]:
        for column in AGREEMENT_COLUMNS:
            if row.text(column) != first.text(column):
                row.problem(column, f"must be the same on every row of agreement "
                                    f"{first.text('agreement_id')!r} (row {first.number} has "
                                    f"{first.text(column)!r}, got {row.text(column)!r})")


def _unique_items(items: Sequence[_Item]) -> None:
    seen: dict[str, int] = {}
    for item in items:
        number = seen.setdefault(item.value.id, item.row.number)
        if number != item.row.number:
            item.row.problem("item_id", f"must be unique in the agreement (row {number} "
                                        f"has {item.value.id!r})")


def _agreement(rows: Sequence[_Row]) -> Agreement | None:
    """The agreement the rows of one agreement id describe (``None``: problems noted)."""
    first = rows[0]
    _same_agreement(rows)
    currency = first.parsed("currency", Currency.of, "an ISO 4217 code such as 'USD'")
    signed_on = first.parsed("signed_on", _iso_date, "an ISO date such as '2026-01-31'")
    for column in ("client", "currency", "signed_on"):
        first.required(column)
    method = _payment_method(first)
    collection = _enum(first, "collection", Collection) or (
        Collection.AUTO_CHARGE if method is not None else Collection.SEND_INVOICE)
    items = [item for row in rows if (item := _item(row, currency)) is not None]
    _unique_items(items)
    if any(row.problems for row in rows):
        return None
    assert currency is not None
    assert signed_on is not None
    return _signed(rows, items, currency=currency, signed_on=signed_on, method=method,
                   collection=collection)


def _signed(rows: Sequence[_Row], items: Sequence[_Item], *, currency: Currency,
            signed_on: date, method: PaymentMethodRef | None,
            collection: Collection) -> Agreement | None:
    first = rows[0]
    milestones = [i for i in items if isinstance(i.value, Milestone)]
    recurring = [i for i in items if isinstance(i.value, RecurringCharge)]
    try:
        schedule = BillingSchedule(
            currency=currency,
            milestones=[m for i in milestones if isinstance(m := i.value, Milestone)],
            recurring=[r for i in recurring if isinstance(r := i.value, RecurringCharge)])
        agreement_id = AgreementId(first.text("agreement_id"))
        proposal = Proposal(ProposalId(agreement_id), first.text("client"), currency,
                            (PackageOption(_OPTION, "Imported agreement", schedule),),
                            collection=collection)
        agreement = sign(proposal, option=_OPTION, signer=first.text("signer") or
                         first.text("client"), signed_at=_midnight(signed_on),
                         payment_method=method, agreement_id=agreement_id)
    except ValidationError as exc:
        _refused_by_item(exc, first, {"milestones": milestones, "recurring": recurring})
        return None
    return _completed(agreement, milestones, signed_on)


def _refused_by_item(exc: ValidationError, first: _Row,
                     items: Mapping[str, Sequence[_Item]]) -> None:
    """Report a schedule's or a signature's checks on the row they are about."""
    for p in exc.problems if isinstance(exc, InvalidInputError) else (exc,):
        match = re.match(r"(milestones|recurring)\[([0-9]+)\]\.?(.*)", p.field)
        if match is not None:
            row = items[match.group(1)][int(match.group(2))].row
            row.refused(ValidationError(match.group(3) or "id", p.expected, p.value))
        elif p.field == "payment_method":
            first.problem("collection", f"must be send_invoice when no payment method is "
                                        f"given (got {first.text('collection')!r})")
        else:
            first.refused(p)


def _midnight(d: date) -> datetime:
    return datetime.combine(d, time(0), UTC)


def _completed(agreement: Agreement, milestones: Sequence[_Item],
               signed_on: date) -> Agreement | None:
    """``agreement`` with the milestones the file says are completed, in date order."""
    done = sorted((i for i in milestones if i.completed_on is not None),
                  key=lambda i: (i.completed_on, i.row.number))
    ok = True
    for item in done:
        assert item.completed_on is not None
        if item.completed_on < signed_on:
            item.row.problem("completed_on", f"must be on or after signed_on {signed_on} "
                                             f"(got {item.row.text('completed_on')!r})")
            ok = False
            continue
        try:
            event = complete_milestone(agreement, MilestoneId(item.value.id), by="import",
                                       at=_midnight(item.completed_on), evidence="imported",
                                       completed_on=item.completed_on)
        except MilestonebillError as exc:
            item.row.problem("completed_on", str(exc))
            ok = False
            continue
        agreement = apply(agreement, event)
    return agreement if ok else None


# ---------------------------------------------------------------- the file


def _header(headers: Sequence[str], mapping: Mapping[str, str | None]
            ) -> tuple[dict[str, str], list[ImportProblem]]:
    """Each file header's documented column (``None``: ignored) and the header's problems."""
    columns: dict[str, str] = {}
    problems: list[ImportProblem] = []
    seen: dict[str, str] = {}
    for header in headers:
        if header in mapping:
            column = mapping[header]
            if column is None:
                continue
        else:
            column = re.sub(r"[\s-]+", "_", header.strip().lower())
            if column not in COLUMNS:
                problems.append(ImportProblem(1, header, "is not a known column (map it with "
                                              "mapping={header: column}, or to None to "
                                              "ignore it)"))
                continue
        if column in seen:
            problems.append(ImportProblem(1, header, f"holds {column}, as {seen[column]!r} "
                                                     "does already"))
            continue
        seen[column] = header
        columns[header] = column
    problems += [ImportProblem(1, c, "is missing (map the header that holds it with "
                                     "mapping={header: column})")
                 for c in REQUIRED_COLUMNS if c not in seen]
    return columns, problems


def _check_mapping(mapping: Mapping[str, str | None] | None) -> Mapping[str, str | None]:
    if mapping is None:
        return {}
    if not isinstance(mapping, Mapping):
        raise ValidationError("mapping", "a mapping of file header to column", mapping)
    for header, column in mapping.items():
        if column is not None and column not in COLUMNS:
            raise ValidationError(f"mapping[{header!r}]",
                                  f"one of the documented columns ({', '.join(COLUMNS)}) or None",
                                  column)
    return mapping


Source = str | os.PathLike[str] | TextIO | Iterable[Mapping[str, object]]


def _records(source: Source) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the data rows of ``source``, each with its row number."""
    if isinstance(source, str | os.PathLike):
        try:
            with Path(source).open(encoding="utf-8-sig", newline="") as f:
                return _records(f)
        except UnicodeDecodeError as exc:
            raise ValidationError(
                "source", "a CSV file in UTF-8", str(source),
                f"{str(source)!r} is not UTF-8: byte 0x{exc.object[exc.start]:02x}"
                f" at offset {exc.start}") from exc
        except OSError as exc:
            raise ValidationError("source", "a CSV file that can be read", str(source),
                                  f"cannot read {str(source)!r}: {exc.strerror or exc}") from exc
    if hasattr(source, "read"):
        # csv.reader, not DictReader: a blank line still counts as a row.
        try:
            lines = list(csv.reader(cast(TextIO, source)))
        except csv.Error as exc:
            raise ValidationError("source", "CSV text", getattr(source, "name", "<text>"),
                                  f"the source is not CSV that can be read: {exc}") from exc
        header = lines[0] if lines else []
        return header, [(n, cells) for n, cells in enumerate(lines[1:], start=2)]
    rows = list(source)
    headers: dict[str, None] = {}
    for r in rows:
        if not isinstance(r, Mapping):
            raise ValidationError("rows", "mappings of column to cell text", r)
        headers.update(dict.fromkeys(str(k) for k in r))
    order = list(headers)
    return order, [(n, ["" if r.get(h) is None else str(r.get(h)) for h in order])
                   for n, r in enumerate(rows, start=2)]


def _data_rows(header: Sequence[str], records: Sequence[tuple[int, list[str]]],
               columns: Mapping[str, str]) -> list[_Row]:
    headers = {column: h for h, column in columns.items()}
    out = []
    for number, values in records:
        cells = {columns[h]: v.strip() for h, v in zip(header, values, strict=False)
                 if h in columns}
        row = _Row(number, cells, headers)
        if any(v.strip() for v in values[len(header):]):
            row.problem("(beyond the header)",
                        "must be empty: the row has more cells than the header")
        if any(cells.values()) or row.problems:
            out.append(row)
    return out


def import_agreements(
    source: Source,
    *,
    mapping: Mapping[str, str | None] | None = None,
    skip_invalid: bool = False,
) -> ImportResult:
    """Read the agreements in a spreadsheet export, checking every row.

    ``source`` is the path of a CSV file (UTF-8, a BOM allowed), an open
    text file of CSV, or rows already read (mappings of header to cell
    text, such as ``csv.DictReader`` gives).  ``mapping`` maps the file's
    headers to the documented :data:`COLUMNS` (``{"Contract no":
    "agreement_id"}``; ``None`` ignores a column); other headers are
    matched to them with case, spaces and dashes ignored.  Cells are read
    without surrounding spaces; empty rows are skipped.  See the module docs.

    >>> result = import_agreements([{"Contract": "agr-9", "Customer": "Acme",
    ...     "Currency": "EUR", "Signed on": "2026-01-15", "Kind": "milestone",
    ...     "Item ID": "all", "Name": "Everything", "Amount": "900.00"}],
    ...     mapping={"Contract": "agreement_id", "Customer": "client"})
    >>> result.ok, result.agreements[0].id
    (True, 'agr-9')
    """
    header, records = _records(source)
    columns, problems = _header(header, _check_mapping(mapping))
    rows = _data_rows(header, records, columns)
    if problems:  # without its columns no row can be read
        skipped = tuple(r.number for r in rows) if skip_invalid else ()
        return ImportResult((), tuple(problems), skipped)
    groups: dict[str, list[_Row]] = {}
    for row in rows:
        groups.setdefault(row.required("agreement_id"), []).append(row)
    built = {aid: _agreement(group) if aid else None for aid, group in groups.items()}
    problems = sorted((p for r in rows for p in r.problems), key=lambda p: p.row)
    good = tuple(a for a in built.values() if a is not None)
    if not problems:
        return ImportResult(good)
    if not skip_invalid:
        return ImportResult((), tuple(problems))
    skipped = tuple(sorted(r.number for aid, group in groups.items() for r in group
                           if built[aid] is None))
    return ImportResult(good, tuple(problems), skipped)

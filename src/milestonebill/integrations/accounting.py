"""What an accounting export is made of, whichever system it is for.

The QuickBooks and Xero exports (:mod:`~milestonebill.integrations.quickbooks`,
:mod:`~milestonebill.integrations.xero`) share this: the period's ledger
entries, each classified by what posted it (:func:`period_items`), the
:class:`Document` s an export consists of, document numbers that fit each
system's limits (:func:`fitting_number`), the JSON text of a body with
exact decimal amounts (:func:`json_text`), and the journal lines that carry
whatever part of an entry a document cannot (:func:`rest_of`).

An export ties to the ledger by construction: for each entry, the documents
it becomes move each account by exactly what the entry moves it, so the sum
of an export, account by account, is the ledger's balance for the period.
Where a system's document cannot say everything the entry says -- an invoice
posts its lines to one account, but the entry splits them between contract
asset and contract liability; a payment posts its gross amount, but the
entry takes the gateway's fee apart -- the difference goes in a journal
beside it, identified ``"<entry id>#rest"``.

>>> json_text({"Amount": Decimal("1200.50"), "Lines": [Decimal("-0.125"), True, None]})
'{"Amount":1200.50,"Lines":[-0.125,true,null]}'
>>> fitting_number("INV-000042", "inv-42:issue", limit=21)
'INV-000042'
>>> fitting_number("INVOICE-2026-FIRM-NORTH-000042", "inv-42:issue", limit=21)
'MB-ZS5MVVTMHJ45A2SQ'
"""

from __future__ import annotations

import base64
import enum
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Final, Protocol

import attrs

from milestonebill._validate import check_id
from milestonebill.agreement import Agreement, PaymentSucceeded, Refunded
from milestonebill.documents import CreditNote, Invoice
from milestonebill.errors import ValidationError
from milestonebill.ledger import Account, JournalEntry
from milestonebill.limits import MAX_KEY_LENGTH
from milestonebill.money import Currency, Money, allocate_minor
from milestonebill.periods import Period
from milestonebill.postings import refund_entry
from milestonebill.refunds import refund_key

__all__ = [
    "LINKED_ID",
    "Books",
    "Document",
    "Export",
    "ItemKind",
    "Link",
    "PeriodItem",
    "Posting",
    "check_unique_numbers",
    "clipped",
    "decimal_of",
    "derived_id",
    "fitting_number",
    "json_text",
    "line_taxes",
    "period_items",
    "postings_of",
    "rest_of",
]


class Books(Protocol):
    """What an export reads: every agreement and every journal entry of the firm
    (:class:`milestonebill.engine.StoreBooks` reads them from a store)."""

    def agreements(self) -> Sequence[Agreement]:
        """Every agreement of the firm, folded as of now."""

    def entries(self) -> Sequence[JournalEntry]:
        """Every journal entry of the firm, in posting order."""


class ItemKind(enum.Enum):
    """What posted a ledger entry, in the order an export sends them on one day."""

    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    PAYMENT = "payment"
    REFUND = "refund"
    JOURNAL = "journal"


@attrs.frozen
class PeriodItem:
    """One ledger entry of the period and what posted it.

    ``invoice`` is the invoice issued, paid or refunded; ``credit_note`` the
    credit note issued, or the one a refund pays out; ``payment`` and
    ``refund`` the events.  ``agreement`` is ``None`` for an entry of no
    agreement the books know.
    """

    kind: ItemKind
    entry: JournalEntry
    agreement: Agreement | None = None
    invoice: Invoice | None = None
    credit_note: CreditNote | None = None
    payment: PaymentSucceeded | None = None
    refund: Refunded | None = None

    @property
    def client(self) -> str | None:
        """The client of the agreement (the customer or contact in the target)."""
        return None if self.agreement is None else self.agreement.proposal.client


_RANK = {kind: n for n, kind in enumerate(ItemKind)}


def _index(a: Agreement) -> dict[str, tuple[ItemKind, dict[str, Any]]]:
    """Entry id to what posted it, for every document and money event of ``a``;
    the ids are the ones :mod:`milestonebill.postings` and the Biller give."""
    found: dict[str, tuple[ItemKind, dict[str, Any]]] = {}
    invoices = {inv.id: inv for inv in a.invoices}
    for inv in a.invoices:
        found[f"{inv.id}:issue"] = (ItemKind.INVOICE, {"invoice": inv})
    for cn in a.credit_notes:
        found[f"{cn.id}:credit"] = (ItemKind.CREDIT_NOTE, {"invoice": invoices.get(cn.credits),
                                                           "credit_note": cn})
    for p in a.payments:
        eid = (f"{p.invoice_id}:payment:{p.attempt}" if p.attempt is not None
               else f"{p.invoice_id}:payment:manual:{p.gateway_reference}")
        found[eid] = (ItemKind.PAYMENT, {"invoice": invoices.get(p.invoice_id), "payment": p})
    notes: dict[str, CreditNote] = {refund_key(a, cn): cn for cn in a.credit_notes}
    for r in a.refunds:
        found[refund_entry(a.id, r).id] = (ItemKind.REFUND, {
            "invoice": invoices.get(r.invoice_id), "credit_note": notes.get(r.idempotency_key),
            "refund": r})
    return found


def period_items(books: Books, period: Period) -> tuple[PeriodItem, ...]:
    """The entries posted in the half-open ``period``, each with what posted it, in
    the order an export sends them: by day, then invoices, credit notes,
    payments, refunds and journals, then by entry id.

    An entry the index does not know (revenue, netting, customer credit, an
    entry a host posted itself) is a :attr:`ItemKind.JOURNAL`.
    """
    entries = [e for e in books.entries() if period.start <= e.posted_on < period.end]
    wanted = {e.agreement_id for e in entries if e.agreement_id is not None}
    agreements: dict[str, Agreement] = {a.id: a for a in books.agreements() if a.id in wanted}
    index: dict[tuple[str, str], tuple[ItemKind, dict[str, Any]]] = {
        (a.id, eid): what for a in agreements.values() for eid, what in _index(a).items()}
    items = []
    for e in entries:
        a = agreements.get(e.agreement_id) if e.agreement_id is not None else None
        kind, found = index.get((e.agreement_id or "", e.id), (ItemKind.JOURNAL, {}))
        items.append(PeriodItem(kind, e, a, **found))
    return tuple(sorted(items, key=lambda i: (i.entry.posted_on, _RANK[i.kind], i.entry.id)))


# ---------------------------------------------------------------- postings


@attrs.frozen
class Posting:
    """A signed amount on one account (debit positive), of one obligation's revenue."""

    account: Account
    minor: int
    obligation_id: str | None = None


def postings_of(entry: JournalEntry) -> tuple[Posting, ...]:
    """The entry's lines as postings (revenue lines carry the entry's obligation)."""
    return tuple(Posting(ln.account, ln.signed_minor,
                         entry.obligation_id if ln.account is Account.REVENUE else None)
                 for ln in entry.lines)


def rest_of(entry: JournalEntry, covered: Iterable[Posting]) -> tuple[Posting, ...]:
    """What ``entry`` posts that the postings ``covered`` (its documents') do not:
    debits first, then credits, each in account order; empty when they cover it all.

    >>> from milestonebill.ledger import EntryId, JournalLine
    >>> usd = lambda a: Money(a, "USD")
    >>> e = JournalEntry(EntryId("inv-1:issue"), date(2025, 3, 31), (
    ...     JournalLine.dr(Account.RECEIVABLE, usd("1000.00")),
    ...     JournalLine.cr(Account.CONTRACT_ASSET, usd("400.00")),
    ...     JournalLine.cr(Account.CONTRACT_LIABILITY, usd("600.00"))))
    >>> [(p.account.value, p.minor) for p in rest_of(e, [
    ...     Posting(Account.RECEIVABLE, 100000), Posting(Account.CONTRACT_LIABILITY, -100000)])]
    [('deferred_revenue', 40000), ('contract_asset', -40000)]
    """
    left: dict[tuple[Account, str | None], int] = {}
    for p in postings_of(entry):
        key = (p.account, p.obligation_id)
        left[key] = left.get(key, 0) + p.minor
    for p in covered:
        key = (p.account, p.obligation_id)
        left[key] = left.get(key, 0) - p.minor
    rest = [Posting(a, m, o) for (a, o), m in left.items() if m != 0]
    if sum(p.minor for p in rest) != 0:  # pragma: no cover - documents are balanced
        raise AssertionError(f"the documents of {entry.id!r} do not balance")
    return tuple(sorted(rest, key=lambda p: (p.minor < 0, p.account.value,
                                             p.obligation_id or "")))


# ---------------------------------------------------------------- documents


def json_text(value: Any, *, indent: int | None = None) -> str:
    """JSON text of a body whose amounts are ``Decimal``: written as exact numbers,
    never through a float.  Floats are refused."""
    return "".join(_json_parts(value, indent, 0))


def _json_parts(value: Any, indent: int | None, depth: int) -> Iterable[str]:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValidationError("amount", "a finite decimal", value)
        yield format(value, "f")
    elif isinstance(value, float):
        raise TypeError(f"a float in a document body: {value!r} (use Decimal)")
    elif value is None or isinstance(value, bool | int | str):
        yield json.dumps(value, ensure_ascii=False)
    elif isinstance(value, Mapping | list | tuple):
        pairs = list(value.items()) if isinstance(value, Mapping) else list(enumerate(value))
        opening, closing = ("{", "}") if isinstance(value, Mapping) else ("[", "]")
        if not pairs:
            yield opening + closing
            return
        inner = "" if indent is None else "\n" + " " * (indent * (depth + 1))
        outer = "" if indent is None else "\n" + " " * (indent * depth)
        yield opening
        for n, (k, v) in enumerate(pairs):
            yield ("," if n else "") + inner
            if isinstance(value, Mapping):
                yield json.dumps(str(k), ensure_ascii=False) + (":" if indent is None else ": ")
            yield from _json_parts(v, indent, depth + 1)
        yield outer + closing
    else:
        raise TypeError(f"cannot write {value!r} in a document body")


def line_taxes(document: Invoice | CreditNote) -> list[int]:
    """The document's tax total spread over its lines by their amounts (minor units,
    largest remainder), so the lines' tax adds up to the document's exactly.

    >>> from milestonebill.documents import FlatTax, InvoiceLine, LineKind, TaxPolicy, TaxRate
    >>> vat = TaxPolicy(FlatTax(TaxRate("VAT", Decimal("0.2"))))
    >>> inv = Invoice.build(id="inv-1", agreement_id="agr-1", currency=Currency.of("EUR"),
    ...     issued_on=date(2025, 3, 3), due_on=date(2025, 4, 2), tax=vat, lines=[
    ...         InvoiceLine(f"l{n}", None, LineKind.CREDIT, "x", Money("0.03", "EUR"))
    ...         for n in range(3)])
    >>> line_taxes(inv), inv.tax_total
    ([1, 1, 1], Money('0.03', 'EUR'))
    """
    if document.tax_total.minor == 0:
        return [0] * len(document.lines)
    return allocate_minor(document.tax_total.minor, [ln.amount.minor for ln in document.lines])


def clipped(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters (the last one an ellipsis when cut)."""
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def decimal_of(minor: int, currency: Currency) -> Decimal:
    """``minor`` units of ``currency`` as an exact decimal."""
    return Money.from_minor(minor, currency).amount


_SHORT_PREFIX = "MB-"


def fitting_number(preferred: str | None, source_id: str, *, limit: int) -> str:
    """A document number of at most ``limit`` characters for the document ``source_id``.

    ``preferred`` (our invoice or credit note number) when it fits and is a
    plain id; otherwise ``"MB-"`` and a base32 digest of ``source_id``, the
    same every time, so re-running an export gives every document the same
    number and the sync journal maps it back.
    """
    if preferred is not None and len(preferred) <= limit:
        try:
            return check_id("number", preferred)
        except ValidationError:
            pass
    digest = base64.b32encode(hashlib.sha256(source_id.encode("utf-8")).digest()).decode()
    return _SHORT_PREFIX + digest[:max(1, min(16, limit - len(_SHORT_PREFIX)))]


def derived_id(source_id: str, suffix: str) -> str:
    """The id of a document derived from ``source_id`` (``"<id>#<suffix>"``), or a
    digest of it where that would pass the id limit."""
    own = f"{source_id}#{suffix}"
    if len(own) <= MAX_KEY_LENGTH:
        return own
    return fitting_number(None, own, limit=19) + f"#{suffix}"


#: Stands for the accounting system's id of the linked document in a
#: :attr:`Link.value` (text no input can hold: it has NUL characters).
LINKED_ID: Final = "\x00linked-id\x00"


@attrs.frozen(eq=False)
class Link:
    """A part a document gets once another document has the accounting system's id.

    When the document ``source_id`` has an id there, ``value`` -- with
    :data:`LINKED_ID` standing for that id -- is set under ``key`` of the
    body.  Until then the body goes as it is (a payment goes unapplied).
    """

    source_id: str
    key: str
    value: Any

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Link) and (self.source_id, self.key) == (
            other.source_id, other.key) and _filled(self.value, "") == _filled(other.value, "")

    def __hash__(self) -> int:
        return hash((self.source_id, self.key))


def _filled(value: Any, found: str) -> Any:
    if isinstance(value, Mapping):
        return {k: _filled(v, found) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_filled(v, found) for v in value]
    return found if value == LINKED_ID else value


@attrs.frozen(eq=False)
class Document:
    """One request body of an export, with what the sync journal keeps of it.

    ``kind`` is the system's document type (the endpoint it is sent to),
    ``source_id`` our id of it (the entry's id, or ``"<entry id>#rest"``),
    ``number`` the document number or reference the system shows.
    """

    target: str
    kind: str
    source_id: str
    number: str
    posted_on: date
    currency: Currency
    body: Mapping[str, Any]
    links: tuple[Link, ...] = ()

    def text(self, *, indent: int | None = None) -> str:
        """The body as JSON text (exact amounts)."""
        return json_text(self.body, indent=indent)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Document) and (
            self.target, self.kind, self.source_id, self.number, self.text(), self.links) == (
            other.target, other.kind, other.source_id, other.number, other.text(), other.links)

    def __hash__(self) -> int:
        return hash((self.target, self.kind, self.source_id, self.number))

    def resolved(self, target_id: Callable[[str], str | None]) -> Document:
        """The document with each link whose document ``target_id`` (our id to the
        system's) knows filled in; the others stay as they are."""
        if not self.links:
            return self
        body = dict(self.body)
        left = []
        for link in self.links:
            found = target_id(link.source_id)
            if found is None:
                left.append(link)
            else:
                body[link.key] = _filled(link.value, found)
        return attrs.evolve(self, body=body, links=tuple(left))


@attrs.frozen(eq=False)
class Export:
    """An accounting export of one period: its documents, in the order to send them."""

    target: str
    period: Period
    documents: tuple[Document, ...]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Export) and (self.target, self.period, self.documents) == (
            other.target, other.period, other.documents)

    def __hash__(self) -> int:
        return hash((self.target, self.period, len(self.documents)))

    def numbers(self) -> dict[tuple[str, str], str]:
        """Each ``(kind, number)`` the system shows, mapped back to our id."""
        return {(d.kind, d.number): d.source_id for d in self.documents}

    def resolved(self, target_id: Callable[[str], str | None]) -> Export:
        """Every document with the links ``target_id`` knows filled in."""
        return attrs.evolve(self, documents=tuple(d.resolved(target_id)
                                                  for d in self.documents))

    def to_json(self) -> dict[str, Any]:
        """``{"target", "period": {"start", "end"}, "documents": [...]}``; each
        document ``{"kind", "source_id", "number", "body"}``."""
        return {"target": self.target,
                "period": {"start": self.period.start.isoformat(),
                           "end": self.period.end.isoformat()},
                "documents": [{"kind": d.kind, "source_id": d.source_id, "number": d.number,
                               "body": d.body} for d in self.documents]}

    def text(self, *, indent: int | None = 2) -> str:
        """:meth:`to_json` as JSON text (exact amounts), ending in a newline."""
        return json_text(self.to_json(), indent=indent) + "\n"


def check_unique_numbers(documents: Iterable[Document]) -> None:
    """Refuse an export in which two documents of a kind share a number.

    Raises :class:`~milestonebill.errors.ValidationError` naming ``<kind>.number``
    for the first number two documents share.
    """
    seen: dict[tuple[str, str], str] = {}
    for d in documents:
        other = seen.setdefault((d.kind, d.number), d.source_id)
        if other != d.source_id:
            raise ValidationError(f"{d.kind}.number", f"a number of one document (it is "
                                  f"{other!r}'s too)", d.number)

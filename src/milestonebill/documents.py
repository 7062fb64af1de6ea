"""Invoices, credit notes, their lines, tax and numbering: values below the agreement.

``agreement`` (whose events carry issued documents) and ``invoicing`` (which
decides what is due) both build on these; ``invoicing`` re-exports them.

Amounts are :class:`~milestonebill.money.Money` (integer minor units inside),
tax rates are exact ``Decimal`` fractions, and a line's ``period`` is a
half-open :class:`~milestonebill.periods.Period` (start included, end
excluded).  Every value here checks itself when it is built -- by its
constructor, ``build`` or ``from_json`` -- and raises
:class:`~milestonebill.errors.ValidationError` naming the field and the value it got (a
line in another currency raises
:class:`~milestonebill.errors.CurrencyMismatchError`); nothing half-built
escapes.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

import attrs

from milestonebill._json import decode, encode
from milestonebill._validate import check_decimal_size, check_text
from milestonebill.errors import ValidationError
from milestonebill.ids import CreditNoteId, InvoiceId, PlanKey
from milestonebill.money import Currency, Money, Rounding
from milestonebill.periods import Period

__all__ = [
    "NO_TAX",
    "CreditNote",
    "CreditNoteId",
    "CreditReason",
    "FlatTax",
    "Invoice",
    "InvoiceId",
    "InvoiceLine",
    "LineKind",
    "NumberingPolicy",
    "TaxLine",
    "TaxMethod",
    "TaxPolicy",
    "TaxRate",
    "TaxRule",
    "compute_tax",
    "format_number",
    "next_number",
]



class LineKind(enum.Enum):
    """Where an invoice or credit-note line comes from.

    ``LATE_FEE`` lines charge a late fee on an overdue invoice (``adjusts``):
    they bill no item of the plan (``item_key`` is ``None``), so they change
    neither the contract value nor revenue (see ``docs/terms.md``).
    ``TIME`` and ``EXPENSE`` lines bill a time-and-materials entry
    (``item_id``: the entry's id); they bill no item of the plan either.
    """

    MILESTONE = "milestone"
    RECURRING = "recurring"
    ADJUSTMENT = "adjustment"
    CREDIT = "credit"
    LATE_FEE = "late_fee"
    INSTALLMENT = "installment"
    DISCOUNT = "discount"
    TIME = "time"
    EXPENSE = "expense"


def _plan_key(value: object) -> PlanKey | None:
    return None if value is None else PlanKey.parse(value)


@attrs.frozen
class InvoiceLine:
    """One line of an invoice or credit note, with its provenance.

    ``amount`` is net of tax and positive: on an invoice it is charged, on a
    credit note it is credited -- except on a ``DISCOUNT`` line, which is
    negative and sits beside the line of the item it discounts: less charged
    on an invoice, less credited on a credit note.
    ``item_key`` names the billable item of the agreement plan
    (``'m:<milestone>'``, ``'r:<item>:<period start>'``, ``'i:<plan>:<n>'``,
    ``'d:<discount>:<key>'``); it is ``None`` only on refund/goodwill credits
    and late fees, which are not tied to an item.  ``adjusts`` is the invoice
    an adjustment or credit refers to.

    >>> InvoiceLine("l1", "d:early:m:design", LineKind.DISCOUNT, "Early signing",
    ...             Money("60.00", "USD"))
    Traceback (most recent call last):
    ...
    milestonebill.errors.ValidationError: 'line.amount' must be a negative amount on a discount line (got Money('60.00', 'USD'))
    """

    line_id: str
    item_key: PlanKey | None = attrs.field(converter=_plan_key)
    kind: LineKind
    description: str
    amount: Money
    item_id: str = ""
    period: Period | None = None
    adjusts: InvoiceId | None = None
    amendment_id: str | None = None
    provenance: tuple[str, ...] = ()

    def __attrs_post_init__(self) -> None:
        if self.kind is LineKind.DISCOUNT:
            if self.amount.minor >= 0:
                raise ValidationError("line.amount", "a negative amount on a discount line",
                                      self.amount)
        elif self.amount.minor <= 0:
            raise ValidationError("line.amount", "a positive amount", self.amount)


@attrs.frozen
class TaxRate:
    """A named flat tax rate, ``rate`` as an exact fraction (``Decimal('0.2')`` is 20 %).

    Raises :class:`~milestonebill.errors.ValidationError` naming ``rate`` for anything but a
    finite, non-negative ``Decimal``, or ``name`` for empty text.
    """

    name: str
    rate: Decimal

    def __attrs_post_init__(self) -> None:
        check_text("name", self.name)
        if not isinstance(self.rate, Decimal) or not self.rate.is_finite() or self.rate < 0:
            raise ValidationError("rate", "a non-negative Decimal such as Decimal('0.2')", self.rate)
        check_decimal_size("rate", self.rate)


class TaxRule(Protocol):
    """Pluggable tax: the rate that applies to a line, or ``None`` for untaxed."""

    def rate_for(self, line: InvoiceLine) -> TaxRate | None:
        """The rate on ``line`` (a ``Decimal`` fraction inside ``TaxRate``), or
        ``None`` when the line is not taxed."""


@attrs.frozen
class FlatTax:
    """The same rate on every line."""

    rate: TaxRate

    def rate_for(self, line: InvoiceLine) -> TaxRate | None:
        """Always :attr:`rate`."""
        return self.rate


class TaxMethod(enum.Enum):
    """Where tax is rounded: on each line, or once on each rate's invoice total."""

    PER_LINE = "per_line"
    PER_INVOICE = "per_invoice"


@attrs.frozen
class TaxPolicy:
    """A tax rule plus its named rounding point and rounding mode."""

    rule: TaxRule | None = None
    method: TaxMethod = TaxMethod.PER_LINE
    rounding: Rounding = Rounding.HALF_UP


#: No tax at all.
NO_TAX = TaxPolicy()


@attrs.frozen
class TaxLine:
    """Tax of one rate on a document: ``amount`` on ``taxable`` at ``rate``."""

    name: str
    rate: Decimal
    taxable: Money
    amount: Money


def compute_tax(
    lines: Sequence[InvoiceLine], policy: TaxPolicy, currency: Currency
) -> tuple[TaxLine, ...]:
    """Tax lines for ``lines``, one per rate, in first-seen order.

    ``PER_LINE`` rounds each line's tax and adds the rounded amounts;
    ``PER_INVOICE`` rounds each rate's total once.  They can differ by a
    minor unit per line:

    >>> vat = TaxPolicy(FlatTax(TaxRate("VAT", Decimal("0.2"))))
    >>> ls = [InvoiceLine(f"l{i}", None, LineKind.CREDIT, "x", Money("0.03", "EUR"))
    ...       for i in range(3)]
    >>> compute_tax(ls, vat, Currency.of("EUR"))[0].amount
    Money('0.03', 'EUR')
    >>> once = attrs.evolve(vat, method=TaxMethod.PER_INVOICE)
    >>> compute_tax(ls, once, Currency.of("EUR"))[0].amount
    Money('0.02', 'EUR')
    """
    if policy.rule is None:
        return ()
    taxable: dict[TaxRate, int] = {}
    rounded: dict[TaxRate, int] = {}
    for line in lines:
        rate = policy.rule.rate_for(line)
        if rate is None:
            continue
        taxable[rate] = taxable.get(rate, 0) + line.amount.minor
        tax = line.amount.scale(rate.rate, rounding=policy.rounding).minor
        rounded[rate] = rounded.get(rate, 0) + tax
    out = []
    for rate, base in taxable.items():
        base_money = Money.from_minor(base, currency)
        if policy.method is TaxMethod.PER_LINE:
            amount = Money.from_minor(rounded[rate], currency)
        else:
            amount = base_money.scale(rate.rate, rounding=policy.rounding)
        out.append(TaxLine(rate.name, rate.rate, base_money, amount))
    return tuple(out)


def _check_totals(
    kind: str,
    *,
    currency: Currency,
    lines: tuple[InvoiceLine, ...],
    tax_lines: tuple[TaxLine, ...],
    subtotal: Money,
    tax_total: Money,
    total: Money,
) -> None:
    if not lines:
        raise ValidationError(f"{kind}.lines", "at least one line", lines)
    for i, line in enumerate(lines):
        line.amount.with_currency_check(currency)
        if not isinstance(line, InvoiceLine):
            raise ValidationError(f"{kind}.lines[{i}]", "an InvoiceLine", line)
    want_sub = Money.total((ln.amount for ln in lines), currency=currency)
    if want_sub.minor < 0:
        raise ValidationError(f"{kind}.subtotal", "zero or more (discounts never make a "
                              "document negative)", want_sub)
    want_tax = Money.total((t.amount for t in tax_lines), currency=currency)
    if subtotal != want_sub:
        raise ValidationError(f"{kind}.subtotal", f"the sum of the lines ({want_sub})", subtotal)
    if tax_total != want_tax:
        raise ValidationError(f"{kind}.tax_total", f"the sum of the tax lines ({want_tax})", tax_total)
    if total != want_sub + want_tax:
        raise ValidationError(f"{kind}.total", f"subtotal + tax ({want_sub + want_tax})", total)


@attrs.frozen
class Invoice:
    """An invoice: numbered when issued, unnumbered (``number=None``) as a draft.

    ``subtotal``, ``tax_total`` and ``total`` are checked against the lines.
    Build one with :meth:`build`.  Raises :class:`~milestonebill.errors.ValidationError` naming the
    field for no lines, totals that do not match them, a negative subtotal,
    or ``invoice.due_on`` before ``issued_on``.
    """

    id: InvoiceId
    agreement_id: str
    number: str | None
    currency: Currency
    issued_on: date
    due_on: date
    lines: tuple[InvoiceLine, ...]
    tax_lines: tuple[TaxLine, ...]
    tax_method: TaxMethod
    subtotal: Money
    tax_total: Money
    total: Money

    def __attrs_post_init__(self) -> None:
        _check_totals("invoice", currency=self.currency, lines=self.lines,
                      tax_lines=self.tax_lines, subtotal=self.subtotal,
                      tax_total=self.tax_total, total=self.total)
        if self.due_on < self.issued_on:
            raise ValidationError("invoice.due_on", f"on or after {self.issued_on}", self.due_on)

    @classmethod
    def build(
        cls,
        *,
        id: InvoiceId,
        agreement_id: str,
        currency: Currency,
        issued_on: date,
        due_on: date,
        lines: Sequence[InvoiceLine],
        tax: TaxPolicy = NO_TAX,
        number: str | None = None,
    ) -> Invoice:
        """An invoice whose tax lines and totals are computed from ``lines``."""
        tax_lines = compute_tax(lines, tax, currency)
        sub = Money.total((ln.amount for ln in lines), currency=currency)
        t = Money.total((x.amount for x in tax_lines), currency=currency)
        return cls(id, agreement_id, number, currency, issued_on, due_on, tuple(lines),
                   tax_lines, tax.method, sub, t, sub + t)

    def to_json(self) -> dict[str, Any]:
        """The JSON form: every field, money as ``{"amount", "currency"}``.

        >>> inv = Invoice.build(id=InvoiceId("inv-1"), agreement_id="agr-1",
        ...     currency=Currency.of("USD"), issued_on=date(2026, 3, 2),
        ...     due_on=date(2026, 4, 1), number="INV-000001", lines=[InvoiceLine(
        ...         "l1", "m:launch", LineKind.MILESTONE, "Launch", Money("1000.00", "USD"))])
        >>> inv.to_json()["total"], inv.to_json()["lines"][0]["item_key"]
        ({'amount': '1000.00', 'currency': 'USD'}, 'm:launch')
        >>> Invoice.from_json(inv.to_json()) == inv
        True
        """
        return encode(self)  # type: ignore[no-any-return]

    @classmethod
    def from_json(cls, data: object) -> Invoice:
        """Read the form :meth:`to_json` writes; totals are checked against the lines."""
        return decode(data, cls)  # type: ignore[no-any-return]


class CreditReason(enum.Enum):
    """Why a credit note was issued."""

    AMENDMENT = "amendment"
    CANCELLATION = "cancellation"
    REFUND = "refund"
    GOODWILL = "goodwill"


@attrs.frozen
class CreditNote:
    """A credit note against one invoice (``credits``), lines positive.

    Lines with an ``item_key`` reduce what was billed for that item of the
    plan (amendment and cancellation credits); lines without one (refund and
    goodwill credits) reduce the invoice balance only.
    """

    id: CreditNoteId
    agreement_id: str
    number: str | None
    currency: Currency
    issued_on: date
    credits: InvoiceId
    reason: CreditReason
    lines: tuple[InvoiceLine, ...]
    tax_lines: tuple[TaxLine, ...]
    tax_method: TaxMethod
    subtotal: Money
    tax_total: Money
    total: Money
    memo: str = ""

    def __attrs_post_init__(self) -> None:
        _check_totals("credit_note", currency=self.currency, lines=self.lines,
                      tax_lines=self.tax_lines, subtotal=self.subtotal,
                      tax_total=self.tax_total, total=self.total)

    @classmethod
    def build(
        cls,
        *,
        id: CreditNoteId,
        agreement_id: str,
        currency: Currency,
        issued_on: date,
        credits: InvoiceId,
        reason: CreditReason,
        lines: Sequence[InvoiceLine],
        tax: TaxPolicy = NO_TAX,
        number: str | None = None,
        memo: str = "",
    ) -> CreditNote:
        """A credit note whose tax lines and totals are computed from ``lines``."""
        tax_lines = compute_tax(lines, tax, currency)
        sub = Money.total((ln.amount for ln in lines), currency=currency)
        t = Money.total((x.amount for x in tax_lines), currency=currency)
        return cls(id, agreement_id, number, currency, issued_on, credits, reason,
                   tuple(lines), tax_lines, tax.method, sub, t, sub + t, memo)

    def to_json(self) -> dict[str, Any]:
        """The JSON form: every field, money as ``{"amount", "currency"}``.

        >>> cn = CreditNote.build(id=CreditNoteId("cn-1"), agreement_id="agr-1",
        ...     currency=Currency.of("EUR"), issued_on=date(2026, 3, 9),
        ...     credits=InvoiceId("inv-1"), reason=CreditReason.GOODWILL,
        ...     lines=[InvoiceLine("l1", None, LineKind.CREDIT, "Sorry", Money("50.00", "EUR"))])
        >>> cn.to_json()["reason"], CreditNote.from_json(cn.to_json()) == cn
        ('goodwill', True)
        """
        return encode(self)  # type: ignore[no-any-return]

    @classmethod
    def from_json(cls, data: object) -> CreditNote:
        """Read the form :meth:`to_json` writes; totals are checked against the lines."""
        return decode(data, cls)  # type: ignore[no-any-return]


@attrs.frozen
class NumberingPolicy:
    """Document numbers: ``prefix`` then a sequence zero-padded to ``width``.

    The store enforces that numbers are used without gaps; this policy only
    says what the next one is (:func:`next_number`).  Raises
    :class:`~milestonebill.errors.ValidationError` naming ``width`` (not 1 to 18), ``start``
    (negative) or ``prefix`` (ending in a digit).
    """

    prefix: str = "INV-"
    width: int = 6
    start: int = 1

    def __attrs_post_init__(self) -> None:
        if type(self.width) is not int or not 1 <= self.width <= 18:
            raise ValidationError("width", "an int from 1 to 18", self.width)
        if type(self.start) is not int or self.start < 0:
            raise ValidationError("start", "an int, 0 or more", self.start)
        if any(c.isdigit() for c in self.prefix[-1:]):
            raise ValidationError("prefix", "text not ending in a digit", self.prefix)


def next_number(policy: NumberingPolicy, last: str | None) -> str:
    """The number after ``last`` (``None``: the first number).  Pure, no gaps.

    Raises :class:`~milestonebill.errors.ValidationError` naming ``last`` when it is not a number
    of this policy.

    >>> p = NumberingPolicy(prefix="2026-", width=4)
    >>> next_number(p, None), next_number(p, "2026-0041"), next_number(p, "2026-9999")
    ('2026-0001', '2026-0042', '2026-10000')
    >>> next_number(p, "INV-0041")
    Traceback (most recent call last):
    ...
    milestonebill.errors.ValidationError: 'last' must be a number like '2026-0001' (got 'INV-0041')
    """
    if last is None:
        return f"{policy.prefix}{policy.start:0{policy.width}d}"
    example = f"{policy.prefix}{policy.start:0{policy.width}d}"
    if not isinstance(last, str) or not last.startswith(policy.prefix):
        raise ValidationError("last", f"a number like {example!r}", last)
    digits = last[len(policy.prefix):]
    if not re.fullmatch(r"[0-9]+", digits) or len(digits) < policy.width:
        raise ValidationError("last", f"a number like {example!r}", last)
    return f"{policy.prefix}{int(digits) + 1:0{policy.width}d}"


def format_number(policy: NumberingPolicy, n: int) -> str:
    """The document number for a store's ``n``-th number (1, 2, ...) of a sequence.

    >>> format_number(NumberingPolicy(prefix="2026-", width=4), 42)
    '2026-0042'
    """
    return f"{policy.prefix}{policy.start + n - 1:0{policy.width}d}"

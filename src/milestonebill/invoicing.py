"""Invoicing decisions: what to bill, credit and collect, purely from agreement state.

The engine calls these with an agreement (a fold of its events) and a date;
nothing here reads a clock or a store.

* :func:`due_invoices` -- unnumbered invoice drafts for everything billable
  on or before ``as_of`` that is not yet billed: delivered milestones,
  signing and dated milestones, recurring service periods whose billing
  date has come, and extra charges from approved amendments (adjustment
  lines that reference the original invoice).  One draft per payment terms.
* :func:`due_credit_notes` -- unnumbered credit-note drafts for items billed
  for more than the amended plan now says (downgrades, removed milestones,
  unused prepaid time after a cancellation), one per credited invoice.
* :func:`invoice_balance` / :func:`invoice_status` -- what is still owed on
  an invoice after credit notes, payments (partial ones included) and refunds.
* :func:`billing_position` -- invoiced - credited + still scheduled =
  contract value, to the minor unit (the conservation invariant).
* :func:`next_number` -- the numbering policy as a pure function.

Exactly once: every line id is ``<agreement>:<plan key>:<n>`` where the plan
key names the item and its period (``m:<milestone>`` or
``r:<item>:<period start>``) and ``n`` counts earlier documents for that key;
a draft's id is a hash of its line ids.  Re-running the same date against the
same events gives the same ids; once the ``InvoiceIssued`` event is applied
the items are billed and nothing is due again.  Pausing holds all drafts.

>>> from datetime import UTC, date, datetime
>>> from decimal import Decimal
>>> from milestonebill.money import Currency, Money
>>> from milestonebill.agreement import (AgreementId, Collection, PackageOption, Proposal,
...     ProposalId, sign)
>>> from milestonebill.schedule import BillingSchedule, Milestone, MilestoneId, Trigger
>>> usd = Currency.of("USD")
>>> s = BillingSchedule(currency=usd, milestones=[Milestone(MilestoneId("deposit"), "Deposit",
...     amount=Money("1500.00", "USD"), trigger=Trigger.ON_SIGNING,
...     terms=PaymentTerms.net(14))])
>>> p = Proposal(ProposalId("p"), "Acme", usd, (PackageOption("std", "Standard", s),),
...              collection=Collection.SEND_INVOICE)
>>> a = sign(p, option="std", signer="Ada", signed_at=datetime(2026, 2, 2, tzinfo=UTC),
...          payment_method=None, agreement_id=AgreementId("agr-9"))
>>> vat = TaxPolicy(FlatTax(TaxRate("VAT", Decimal("0.2"))))
>>> (draft,) = due_invoices(a, date(2026, 2, 2), tax=vat)
>>> draft.number, draft.due_on, draft.subtotal, draft.tax_total, draft.total
(None, datetime.date(2026, 2, 16), Money('1500.00', 'USD'), Money('300.00', 'USD'), Money('1800.00', 'USD'))
>>> draft.lines[0].line_id, draft.id == due_invoices(a, date(2026, 2, 2), tax=vat)[0].id
('agr-9:m:deposit:0', True)
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Sequence
from datetime import date, timedelta

import attrs

from milestonebill._kept import kept
from milestonebill._owed import owed
from milestonebill._owed import plan_horizon as _plan_horizon
from milestonebill._reference import reference
from milestonebill._validate import check_text
from milestonebill.agreement import (
    Agreement,
    AgreementState,
    PlanItem,
    billed_by_key,
    billing_plan,
    changed_since,
    contract_value,
)
from milestonebill.documents import (
    NO_TAX,
    CreditNote,
    CreditNoteId,
    CreditReason,
    FlatTax,
    Invoice,
    InvoiceId,
    InvoiceLine,
    LineKind,
    NumberingPolicy,
    TaxLine,
    TaxMethod,
    TaxPolicy,
    TaxRate,
    TaxRule,
    compute_tax,
    next_number,
)
from milestonebill.errors import ValidationError
from milestonebill.ids import PlanKey
from milestonebill.money import Money
from milestonebill.periods import Period
from milestonebill.schedule import DUE_ON_RECEIPT, ChargeKind, PaymentTerms

__all__ = [
    "NO_TAX",
    "BillingPosition",
    "CreditNote",
    "CreditNoteId",
    "CreditReason",
    "FlatTax",
    "Invoice",
    "InvoiceId",
    "InvoiceLine",
    "InvoiceStatus",
    "LineKind",
    "Numbering",
    "NumberingPolicy",
    "TaxLine",
    "TaxMethod",
    "TaxPolicy",
    "TaxRate",
    "TaxRule",
    "Unbilled",
    "billing_position",
    "compute_tax",
    "due_credit_notes",
    "due_invoices",
    "invoice_balance",
    "invoice_status",
    "next_billing_date",
    "next_number",
    "refund_credit_note",
    "unbilled",
    "unbilled_minor",
]


@attrs.frozen
class Numbering:
    """A numbering policy and the last number used (``None``: none yet)."""

    policy: NumberingPolicy
    last: str | None = None


@attrs.frozen
class _Delta:
    key: PlanKey
    item: PlanItem | None
    minor: int
    first_invoice: InvoiceId | None
    documents: int
    due: date
    terms: PaymentTerms = DUE_ON_RECEIPT


def _pending(agreement: Agreement, through: date) -> tuple[_Delta, ...]:
    """Every difference between the plan (up to ``through``) and what was billed,
    with the day it becomes billable; nothing while the agreement is paused.
    Kept with the agreement per horizon: one unit of work asks for its due
    invoices and its due credit notes of the same agreement.

    A discount on an item already billed is billed like a change to that item:
    from the day of the change, against the invoice that first billed it.
    """
    if reference():
        return _pending_computed(agreement, through)
    # kept by horizon
    return kept(agreement, ("kept:pending", through),
                lambda: _pending_computed(agreement, through))


def _pending_computed(agreement: Agreement, through: date) -> tuple[_Delta, ...]:
    if agreement.state is AgreementState.PAUSED:
        return ()
    plan = {i.key: i for i in billing_plan(agreement, through=through)}
    billed = billed_by_key(agreement)
    out: list[_Delta] = []
    for key in dict.fromkeys([*plan, *billed]):
        item = plan.get(key)
        net, first, n = billed.get(key, (0, None, 0))
        delta = (0 if item is None else item.amount.minor) - net
        if delta == 0:
            continue
        on = None if item is None else item.on
        inner = key.discounted
        if first is None and inner is not None and inner in billed:
            first = billed[inner][1]
        if first is None:
            if on is None:
                continue
            due = on
        else:
            due = max(on or date.min, changed_since(agreement, key))
        owner = item or (plan.get(inner) if inner is not None else None)
        terms = DUE_ON_RECEIPT if owner is None else owner.terms
        out.append(_Delta(key, item, delta, first, n, due, terms))
    return tuple(out)


def _deltas(agreement: Agreement, as_of: date) -> list[_Delta]:
    if not isinstance(as_of, date):
        raise ValidationError("as_of", "a date", as_of)
    return [d for d in _pending(agreement, _plan_horizon(agreement, as_of)) if d.due <= as_of]


def next_billing_date(agreement: Agreement, *, today: date, horizon_days: int) -> date | None:
    """The first day on which :func:`due_invoices` or :func:`due_credit_notes` has
    something to bill, looking ``horizon_days`` past ``today`` (and past every
    document already issued); ``None`` when nothing is due in that window.

    The answer may lie before ``today``: something is due now.  Same rule as
    the due documents themselves (one place decides both).
    """
    through = _plan_horizon(agreement, today) + timedelta(days=horizon_days)
    return min((d.due for d in _pending(agreement, through)), default=None)


def _digest(prefix: str, parts: Sequence[str]) -> str:
    h = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]
    return f"{prefix}_{h}"


def _describe(item: PlanItem | None, key: PlanKey) -> str:
    if item is None:
        return f"removed item {key}"
    if item.period is not None:
        return f"{item.name} {item.period}"
    return item.name


def _billed_period(agreement: Agreement, key: PlanKey) -> Period | None:
    found = None
    for inv in agreement.invoices:
        for line in inv.lines:
            if line.item_key == key:
                found = line.period
    return found


def _line(agreement: Agreement, d: _Delta, kind: LineKind,
          adjusts: InvoiceId | None = None) -> InvoiceLine:
    item = d.item
    provenance: tuple[str, ...] = () if item is None else item.provenance
    period = None if item is None else item.period
    description = _describe(item, d.key)
    amount = Money.from_minor(abs(d.minor), agreement.currency)
    if kind is LineKind.DISCOUNT:
        # Beside the line of its item: less charged on an invoice, less credited on a
        # credit note.
        amount = -amount
        description = f"Discount: {item.name if item is not None else d.key.discount_id}"
        if item is not None and item.period is not None:
            description += f" {item.period}"
    elif kind is LineKind.CREDIT:
        # Credit the part of the billed period the plan no longer covers, when it is a tail.
        billed = _billed_period(agreement, d.key)
        if billed is not None and (period is None or (
                period.start == billed.start and period.end < billed.end)):
            period = billed if period is None else Period(period.end, billed.end)
        name = d.key if item is None else item.name
        description = f"Credit: {name}" + ("" if period is None else f" {period}")
        planned = 0 if item is None else item.amount.minor
        cur = agreement.currency
        provenance = (*provenance, f"billed {Money.from_minor(planned - d.minor, cur)}, "
                      f"plan now {Money.from_minor(planned, cur)}")
    elif kind is LineKind.ADJUSTMENT:
        description = f"Adjustment: {description}"
    return InvoiceLine(
        line_id=f"{agreement.id}:{d.key}:{d.documents}",
        item_key=d.key,
        kind=kind,
        description=description,
        amount=amount,
        item_id=d.key.item_id,
        period=period,
        adjusts=adjusts if adjusts is not None else d.first_invoice,
        provenance=provenance,
    )


_LINE_KINDS = {ChargeKind.MILESTONE: LineKind.MILESTONE, ChargeKind.RECURRING: LineKind.RECURRING,
               ChargeKind.INSTALLMENT: LineKind.INSTALLMENT}


def _charge_kind(d: _Delta) -> LineKind:
    """The kind of an invoice line for a positive difference."""
    if d.documents or d.item is None:
        return LineKind.ADJUSTMENT
    return _LINE_KINDS.get(d.item.kind, LineKind.ADJUSTMENT)


@attrs.frozen
class _Routed:
    """Where one difference is billed: on an invoice or a credit note (of ``credits``)."""

    delta: _Delta
    on_invoice: bool
    kind: LineKind
    credits: InvoiceId | None


def _routed(deltas: Sequence[_Delta]) -> list[_Routed]:
    """Each difference with its document and line kind.

    A positive difference goes on an invoice, a negative one on a credit note
    against the invoice that first billed the item.  A discount that moves
    against its item (less discount on an item credited, more on an item
    charged) rides on the item's document as a negative ``DISCOUNT`` line, so
    the document shows the item and its discount together and is never
    negative; a discount that changes alone is charged back or credited on
    its own.
    """
    by_key = {d.key: d for d in deltas}
    riders: dict[PlanKey, list[_Delta]] = {}
    for d in deltas:
        inner = d.key.discounted
        item = None if inner is None else by_key.get(inner)
        if item is not None and item.minor * d.minor < 0:
            riders.setdefault(item.key, []).append(d)
    riding: dict[PlanKey, _Delta] = {}
    for key, ds in riders.items():
        if abs(by_key[key].minor) >= abs(sum(x.minor for x in ds)):
            riding.update((x.key, by_key[key]) for x in ds)
    out: list[_Routed] = []
    for d in deltas:
        item = riding.get(d.key)
        if item is not None:
            out.append(_Routed(d, item.minor > 0, LineKind.DISCOUNT, item.first_invoice))
        elif d.minor > 0:
            out.append(_Routed(d, True, _charge_kind(d), d.first_invoice))
        else:
            out.append(_Routed(d, False, LineKind.CREDIT, d.first_invoice))
    return out


def _numbers(numbering: Numbering | None, count: int) -> list[str | None]:
    if numbering is None:
        return [None] * count
    out: list[str | None] = []
    last = numbering.last
    for _ in range(count):
        last = next_number(numbering.policy, last)
        out.append(last)
    return out


def due_invoices(
    agreement: Agreement,
    as_of: date,
    *,
    tax: TaxPolicy = NO_TAX,
    numbering: Numbering | None = None,
) -> tuple[Invoice, ...]:
    """Invoice drafts for what is billable on or before ``as_of`` and not yet billed.

    Lines are milestones, recurring service-period pieces (with their
    escalation and proration provenance) and adjustments: extra charges on
    already-invoiced items, which reference the original invoice.  Drafts
    are issued on ``as_of`` and grouped by payment terms (due date = terms
    applied to ``as_of``); they are unnumbered unless ``numbering`` is given.
    Pending amendments have no effect; a paused agreement has nothing due.
    """
    by_terms: dict[PaymentTerms, list[InvoiceLine]] = {}
    for r in _routed(_deltas(agreement, as_of)):
        if r.on_invoice:
            by_terms.setdefault(r.delta.terms, []).append(_line(agreement, r.delta, r.kind))
    groups = sorted(by_terms.items(), key=lambda kv: kv[0].net_days)
    numbers = _numbers(numbering, len(groups))
    return tuple(
        Invoice.build(
            id=InvoiceId(_digest("inv", [agreement.id, *(ln.line_id for ln in lines)])),
            agreement_id=agreement.id, currency=agreement.currency, issued_on=as_of,
            due_on=terms.due_date(as_of), lines=lines, tax=tax, number=number,
        )
        for (terms, lines), number in zip(groups, numbers, strict=True)
    )


def due_credit_notes(
    agreement: Agreement,
    as_of: date,
    *,
    tax: TaxPolicy = NO_TAX,
    numbering: Numbering | None = None,
) -> tuple[CreditNote, ...]:
    """Credit-note drafts for items billed for more than the amended plan says.

    One draft per credited invoice (the invoice that first billed each
    item); reason ``CANCELLATION`` on a cancelled agreement, else
    ``AMENDMENT``.  Credits become due on the effective date of the
    amendment that caused them.  With a refund credit note already on the
    invoice, the credit is at most what the invoice (with any adjustment
    invoices for the same items) still holds: subtotals less all their
    credit notes.  The refund absorbs the rest, so credits and refunds
    together never give the client back more than it was billed (see
    :func:`~milestonebill.agreement.billed_by_key`).
    """
    by_invoice: dict[InvoiceId, list[InvoiceLine]] = {}
    for r in _routed(_deltas(agreement, as_of)):
        if not r.on_invoice:
            assert r.credits is not None
            by_invoice.setdefault(r.credits, []).append(
                _line(agreement, r.delta, r.kind, r.credits))
    reason = (CreditReason.CANCELLATION if agreement.state is AgreementState.CANCELLED
              else CreditReason.AMENDMENT)
    numbers = _numbers(numbering, len(by_invoice))
    return tuple(
        CreditNote.build(
            id=CreditNoteId(_digest("cn", [agreement.id, *(ln.line_id for ln in lines)])),
            agreement_id=agreement.id, currency=agreement.currency, issued_on=as_of,
            credits=invoice_id, reason=reason, lines=lines, tax=tax, number=number,
        )
        for (invoice_id, lines), number in zip(by_invoice.items(), numbers, strict=True)
    )


def refund_credit_note(
    agreement: Agreement,
    invoice_id: InvoiceId,
    amount: Money,
    *,
    issued_on: date,
    reason: CreditReason = CreditReason.REFUND,
    memo: str = "",
    tax: TaxPolicy = NO_TAX,
    number: str | None = None,
) -> CreditNote:
    """A refund or goodwill credit note of ``amount`` (net of tax) against an invoice.

    It reduces the invoice balance but is tied to no plan item, so the
    items stay billed (use an amendment to change what the contract is worth).
    Raises :class:`~milestonebill.errors.ValidationError` naming ``reason``
    (not REFUND or GOODWILL) or ``amount`` (not positive, or above the
    invoice's subtotal).
    """
    if reason not in (CreditReason.REFUND, CreditReason.GOODWILL):
        raise ValidationError("reason", "REFUND or GOODWILL", reason)
    check_text("memo", memo)
    invoice = agreement.invoice(invoice_id)
    if amount.currency != agreement.currency or not 0 < amount.minor <= invoice.subtotal.minor:
        raise ValidationError("amount", f"a positive amount up to {invoice.subtotal}", amount)
    n = sum(1 for c in agreement.credit_notes if c.credits == invoice_id)
    line = InvoiceLine(
        line_id=f"{agreement.id}:{invoice_id}:{reason.value}:{n}", item_key=None,
        kind=LineKind.CREDIT, description=memo or f"{reason.value} on {invoice.number}",
        amount=amount, adjusts=invoice_id,
    )
    return CreditNote.build(
        id=CreditNoteId(_digest("cn", [agreement.id, line.line_id])), agreement_id=agreement.id,
        currency=agreement.currency, issued_on=issued_on, credits=invoice_id, reason=reason,
        lines=[line], tax=tax, number=number, memo=memo,
    )


@attrs.frozen
class Unbilled:
    """What the plan still bills (or, with ``credit``, credits) for one plan key.

    ``line`` is the line the invoice or credit note would carry,
    ``billable_on`` the first day :func:`due_invoices` (or
    :func:`due_credit_notes`) includes it, ``terms`` the payment terms of the
    invoice it would be on (credits: those of the item, if it is still planned).
    """

    line: InvoiceLine
    credit: bool
    billable_on: date
    terms: PaymentTerms


def unbilled(agreement: Agreement, *, through: date) -> tuple[Unbilled, ...]:
    """Everything the plan still bills or credits, in the order it becomes billable.

    The same differences between the plan and what was billed that
    :func:`due_invoices` and :func:`due_credit_notes` bill once their day
    comes -- milestones, recurring pieces that start before ``through``,
    adjustments and credits from amendments -- with that day, which may
    lie before ``through`` or after it (a piece billed in arrears).  An
    on-completion milestone not yet delivered has no day and is left out;
    a paused agreement has nothing pending.  Raises
    :class:`~milestonebill.errors.ValidationError` naming ``through`` when it
    is not a date.

    >>> from datetime import UTC, datetime
    >>> from milestonebill.agreement import (AgreementId, Collection, PackageOption, Proposal,
    ...     ProposalId, sign)
    >>> from milestonebill.money import Currency
    >>> from milestonebill.schedule import BillingSchedule, Interval, ItemId, RecurringCharge
    >>> s = BillingSchedule(currency=Currency.of("USD"), recurring=[RecurringCharge(
    ...     ItemId("ret"), "Retainer", Money("900.00", "USD"), Interval.MONTHLY,
    ...     start=date(2026, 1, 1), count=3, terms=PaymentTerms.net(10))])
    >>> p = Proposal(ProposalId("p"), "Acme", Currency.of("USD"),
    ...              (PackageOption("std", "Standard", s),), collection=Collection.SEND_INVOICE)
    >>> a = sign(p, option="std", signer="Ada", signed_at=datetime(2025, 12, 20, tzinfo=UTC),
    ...          payment_method=None, agreement_id=AgreementId("agr-u"))
    >>> [(u.billable_on, str(u.line.amount), str(u.terms)) for u in unbilled(
    ...     a, through=date(2026, 2, 15))]
    [(datetime.date(2026, 1, 1), '900.00 USD', 'net 10'), (datetime.date(2026, 2, 1), '900.00 USD', 'net 10')]
    """
    if not isinstance(through, date):
        raise ValidationError("through", "a date", through)
    if reference():
        return _unbilled(agreement, through)
    # kept by horizon: forecasts ask again and again
    return kept(agreement, ("kept:unbilled", through), lambda: _unbilled(agreement, through))



def _unbilled(agreement: Agreement, through: date) -> tuple[Unbilled, ...]:
    out: list[Unbilled] = []
    for r in _routed(_pending(agreement, _plan_horizon(agreement, through))):
        d = r.delta
        out.append(Unbilled(_line(agreement, d, r.kind, r.credits), not r.on_invoice, d.due,
                            d.terms))
    return tuple(sorted(out, key=lambda u: u.billable_on))


def unbilled_minor(agreement: Agreement, *, through: date) -> list[tuple[date, int]]:
    """:func:`unbilled` as ``(billable day, minor units)`` pairs, without the lines: the
    bulk path for forecasts that only add amounts up.

    The amount is what the line would come to on its document, negative for
    a credit (``-line.amount`` when ``credit``), in the order
    :func:`unbilled` gives.  It is worked out from the plan's integer columns
    and what was billed per key, with no plan item, line or ``Unbilled`` per
    piece, and kept with the agreement per horizon (the forecasts' expected
    receipts read the same columns).  Raises :class:`~milestonebill.errors.ValidationError`
    naming ``through`` when it is not a date.

    >>> from datetime import UTC, datetime
    >>> from milestonebill.agreement import AgreementId, sign
    >>> from milestonebill.schedule import Interval, ItemId, RecurringCharge
    >>> from milestonebill.testing.scenarios import CARD, proposal, usd
    >>> fee = RecurringCharge(ItemId("ret"), "Retainer", usd("900.00"), Interval.MONTHLY,
    ...                       start=date(2026, 1, 1), count=3)
    >>> a = sign(proposal(recurring=[fee]), option="std", signer="Ada", payment_method=CARD,
    ...          agreement_id=AgreementId("a-1"), signed_at=datetime(2025, 12, 20, tzinfo=UTC))
    >>> unbilled_minor(a, through=date(2026, 2, 15))
    [(datetime.date(2026, 1, 1), 90000), (datetime.date(2026, 2, 1), 90000)]
    """
    if not isinstance(through, date):
        raise ValidationError("through", "a date", through)
    if reference():  # the plain definition reads the lines
        return [(u.billable_on, -u.line.amount.minor if u.credit else u.line.amount.minor)
                for u in _unbilled(agreement, through)]
    return owed(agreement, through=through).signed()


class InvoiceStatus(enum.Enum):
    """Payment state of an issued invoice."""

    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    OVERPAID = "overpaid"


def invoice_balance(agreement: Agreement, invoice_id: InvoiceId) -> Money:
    """Still owed on an invoice (tax included): total - credit notes - payments + refunds
    + what was moved to customer credit - customer credit applied to it.

    Negative when the client is owed money (overpaid, or credited after paying)
    and the Biller's credit policy has not yet refunded it or moved it to the
    customer's credit balance (see ``docs/engine.md``).  The same figure as
    :meth:`Agreement.balance_of <milestonebill.agreement.Agreement.balance_of>`,
    which the agreement's fold checks customer-credit events against.
    """
    return agreement.balance_of(invoice_id)


def invoice_status(agreement: Agreement, invoice_id: InvoiceId) -> InvoiceStatus:
    """OPEN (nothing paid), PARTIALLY_PAID, PAID (balance zero) or OVERPAID."""
    balance = invoice_balance(agreement, invoice_id)
    if balance.minor < 0:
        return InvoiceStatus.OVERPAID
    if balance.minor == 0:
        return InvoiceStatus.PAID
    paid = any(p.invoice_id == invoice_id for p in agreement.payments)
    return InvoiceStatus.PARTIALLY_PAID if paid else InvoiceStatus.OPEN


@attrs.frozen
class BillingPosition:
    """Conservation: ``invoiced - credited + scheduled == contract_value`` (tax excluded).

    ``credited`` counts item-keyed credits (amendments, cancellations) and
    the part of an item's reduction that a refund credit note on the same
    invoice already gave back (see :func:`~milestonebill.agreement.billed_by_key`);
    ``scheduled`` is the plan not yet billed, negative where a credit is
    still to be issued.  ``other_credits`` are the rest of the refund/goodwill
    credits, which reduce balances but not the contract value.
    """

    invoiced: Money
    credited: Money
    scheduled: Money
    contract_value: Money
    other_credits: Money

    @property
    def balanced(self) -> bool:
        """True when the invariant holds."""
        return self.invoiced - self.credited + self.scheduled == self.contract_value


def billing_position(agreement: Agreement, *, through: date | None = None) -> BillingPosition:
    """The conservation breakdown over the horizon ``through`` (see :func:`contract_value`).

    ``through`` must lie after every billed service period.
    """
    cur = agreement.currency
    plan = billing_plan(agreement, through=through)
    billed = billed_by_key(agreement)
    invoiced = sum(ln.amount.minor for inv in agreement.invoices for ln in inv.lines
                   if ln.item_key is not None)
    credited = sum(ln.amount.minor for cn in agreement.credit_notes for ln in cn.lines
                   if ln.item_key is not None)
    other = sum(ln.amount.minor for cn in agreement.credit_notes for ln in cn.lines
                if ln.item_key is None)
    planned = {i.key: i.amount.minor for i in plan}
    scheduled = sum(planned.get(k, 0) - billed.get(k, (0, None, 0))[0]
                    for k in dict.fromkeys([*planned, *billed]))
    # Item reductions a refund credit note already gave back (see billed_by_key)
    # count as credited, and no longer as other credits.
    absorbed = invoiced - credited - sum(net for net, _first, _n in billed.values())
    credited += absorbed
    other -= absorbed
    return BillingPosition(
        Money.from_minor(invoiced, cur), Money.from_minor(credited, cur),
        Money.from_minor(scheduled, cur), contract_value(agreement, through=through),
        Money.from_minor(other, cur),
    )

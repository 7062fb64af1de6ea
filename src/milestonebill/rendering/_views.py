"""What a template shows, as values: every word, date and amount already written out.

Private to :mod:`milestonebill.rendering`.  The templates only lay these out;
every decision about what a document says (which lines, which totals, the
status, the provenance of a line) is made here, in Python, and every string
here is plain text that the templates escape.  Nothing in a view is HTML.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import attrs

from milestonebill.agreement import AddOn, Agreement, PackageOption, Proposal
from milestonebill.collection import RetryPolicy
from milestonebill.documents import CreditNote, Invoice, InvoiceLine, LineKind, TaxLine
from milestonebill.money import Currency, Money
from milestonebill.rendering._locale import Words
from milestonebill.rendering.branding import Branding
from milestonebill.rendering.status import (
    InvoicePosition,
    PaymentStatus,
    draft_position,
    invoice_position,
)
from milestonebill.schedule import (
    BillingSchedule,
    IntervalUnit,
    Milestone,
    PaymentTerms,
    RecurringCharge,
    Timing,
    Trigger,
)

__all__ = [
    "Brand",
    "DocumentView",
    "Fact",
    "OptionView",
    "Row",
    "ScheduleRow",
    "Total",
    "credit_note_view",
    "invoice_view",
    "paragraphs",
    "proposal_view",
]

#: Text as paragraphs of lines: a blank line starts a paragraph, a line break a line.
Paragraphs = tuple[tuple[str, ...], ...]


def paragraphs(text: str) -> Paragraphs:
    """``text`` split into paragraphs of lines (blank lines between paragraphs).

    >>> paragraphs("Bank: X\\nIBAN: DE00\\n\\nThank you")
    (('Bank: X', 'IBAN: DE00'), ('Thank you',))
    """
    blocks: list[tuple[str, ...]] = []
    current: list[str] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line.strip():
            current.append(line)
        elif current:
            blocks.append(tuple(current))
            current = []
    if current:
        blocks.append(tuple(current))
    return tuple(blocks)


@attrs.frozen
class Brand:
    """The firm's part of every page."""

    firm_name: str
    address: tuple[str, ...]
    tax_id: str
    logo_uri: str | None
    footer: Paragraphs
    primary: str
    on_primary: str
    accent: str
    on_accent: str


@attrs.frozen
class Fact:
    """A labelled value in a document's header (``Due date: 1 April 2026``)."""

    label: str
    value: str


@attrs.frozen
class Row:
    """A line of a document: what, where it comes from, how much."""

    description: str
    details: tuple[str, ...]
    amount: str


@attrs.frozen
class Total:
    """A line of the totals block; ``strong`` ones are emphasised."""

    label: str
    amount: str
    note: str = ""
    strong: bool = False
    accent: bool = False


@attrs.frozen
class ScheduleRow:
    """A row of a proposal's payment schedule."""

    name: str
    when: str
    terms: str
    amount: str


@attrs.frozen
class OptionView:
    """A package option or add-on of a proposal."""

    name: str
    price: str
    scope: Paragraphs
    milestones: tuple[ScheduleRow, ...]
    recurring: tuple[ScheduleRow, ...]
    optional: bool


@attrs.frozen
class DocumentView:
    """Everything one document shows.  ``kind`` is ``invoice``, ``credit_note`` or
    ``proposal``; fields a kind does not use stay empty."""

    kind: str
    lang: str
    title: str
    brand: Brand
    facts: tuple[Fact, ...]
    client_label: str
    client: tuple[str, ...]
    status: str = ""
    status_class: str = ""
    status_note: str = ""
    memo: Paragraphs = ()
    rows: tuple[Row, ...] = ()
    totals: tuple[Total, ...] = ()
    how_to_pay: Paragraphs = ()
    options: tuple[OptionView, ...] = ()
    addons: tuple[OptionView, ...] = ()
    terms: tuple[str, ...] = ()
    conditions: Paragraphs = ()


def _brand(branding: Branding, t: Words) -> Brand:
    return Brand(
        firm_name=branding.firm_name, address=branding.address,
        tax_id=f"{t('tax_id')} {branding.tax_id}" if branding.tax_id else "",
        logo_uri=branding.logo.data_uri() if branding.logo is not None else None,
        footer=paragraphs(branding.footer),
        primary=branding.primary_colour, on_primary=branding.on_primary,
        accent=branding.accent_colour, on_accent=branding.on_accent,
    )


# ---------------------------------------------------------------- invoices and credit notes


def _names(agreement: Agreement) -> dict[str, str]:
    """Each plan item's current name by item id (milestones and recurring charges)."""
    names: dict[str, str] = {m.milestone.id: m.milestone.name for m in agreement.milestones}
    names.update({r.charge.id: r.charge.name for r in agreement.recurring})
    return names


def _milestone_detail(agreement: Agreement, item_id: str, t: Words) -> str:
    term = next((m.milestone for m in agreement.milestones if m.milestone.id == item_id), None)
    if term is None:
        return t("milestone")
    if term.trigger is Trigger.ON_SIGNING:
        return t("milestone_signing", date=t.date(agreement.signed_on))
    if term.trigger is Trigger.ON_DATE and term.due_on is not None:
        return t("milestone_dated", date=t.date(term.due_on))
    done = agreement.completions.get(term.id)
    return t("milestone_completed", date=t.date(done)) if done is not None else t("milestone")


def _details(line: InvoiceLine, agreement: Agreement, numbers: dict[str, str],
             t: Words) -> tuple[str, ...]:
    """Where a line comes from, in the client's words: the milestone and when it
    became billable, the service period, the invoice an adjustment changes."""
    out: list[str] = []
    if line.item_key is not None and line.item_key.is_milestone:
        out.append(_milestone_detail(agreement, line.item_id, t))
    if line.period is not None:
        out.append(t("service_period", period=t.period(line.period)))
    if line.kind is LineKind.ADJUSTMENT and line.adjusts is not None:
        out.append(t("adjustment_of", number=numbers.get(line.adjusts, line.adjusts)))
    return tuple(out)


def _row(line: InvoiceLine, agreement: Agreement, numbers: dict[str, str], t: Words,
         fallback: str | None = None) -> Row:
    if line.item_key is None:
        description = fallback or line.description
    else:
        description = _names(agreement).get(line.item_id, line.description)
    return Row(description, _details(line, agreement, numbers, t), t.money(line.amount))


def _tax_totals(tax_lines: Sequence[TaxLine], t: Words) -> list[Total]:
    return [Total(f"{x.name} {t.percent(x.rate)}", t.money(x.amount),
                  note=t("tax_base", amount=t.money(x.taxable))) for x in tax_lines]


def _invoice_totals(invoice: Invoice, pos: InvoicePosition, t: Words) -> tuple[Total, ...]:
    out = [Total(t("subtotal"), t.money(invoice.subtotal)), *_tax_totals(invoice.tax_lines, t),
           Total(t("total"), t.money(invoice.total), strong=True)]
    for label, amount in (("credited", pos.credited), ("paid", pos.paid),
                          ("account_credit", pos.account_credit)):
        if amount.minor:
            out.append(Total(t(label), t.money(-amount)))
    out.append(Total(t("amount_due"), t.money(pos.amount_due), strong=True, accent=True))
    return tuple(out)


def _status_note(pos: InvoicePosition, t: Words) -> str:
    s = pos.status
    if s is PaymentStatus.OVERDUE:
        return t("note.overdue", date=t.date(pos.due_on))
    if s is PaymentStatus.PAYMENT_FAILED:
        return (t("note.payment_failed_retry", date=t.date(pos.next_retry))
                if pos.next_retry is not None else t("note.payment_failed"))
    if s is PaymentStatus.IN_CREDIT:
        return t("note.in_credit", amount=t.money(-pos.balance))
    if s in (PaymentStatus.PROCESSING, PaymentStatus.ACTION_REQUIRED):
        return t(f"note.{s.value}")
    return ""


def _client(agreement: Agreement, address: Sequence[str]) -> tuple[str, ...]:
    return (agreement.proposal.client, *address)


def invoice_view(agreement: Agreement, invoice: Invoice, *, as_of: date, branding: Branding,
                 t: Words, client_address: Sequence[str],
                 policy: RetryPolicy | None) -> DocumentView:
    """An invoice of ``agreement`` at the end of ``as_of``; a draft if not issued."""
    issued = any(i.id == invoice.id for i in agreement.invoices)
    pos = (invoice_position(agreement, invoice.id, as_of, policy=policy) if issued
           else draft_position(invoice))
    numbers: dict[str, str] = {i.id: i.number or "" for i in agreement.invoices}
    facts = [Fact(t("number"), invoice.number or t("status.draft")),
             Fact(t("issued_on"), t.date(invoice.issued_on)),
             Fact(t("due_on"), t.date(invoice.due_on)),
             Fact(t("agreement"), agreement.id)]
    return DocumentView(
        kind="invoice", lang=t.html_lang, title=t("invoice"), brand=_brand(branding, t),
        facts=tuple(facts), client_label=t("bill_to"),
        client=_client(agreement, client_address),
        status=t(f"status.{pos.status.value}"), status_class=pos.status.value,
        status_note=_status_note(pos, t),
        rows=tuple(_row(line, agreement, numbers, t) for line in invoice.lines),
        totals=_invoice_totals(invoice, pos, t),
        how_to_pay=paragraphs(branding.payment_instructions) if pos.amount_due.minor else (),
    )


def credit_note_view(agreement: Agreement, note: CreditNote, *, branding: Branding, t: Words,
                     client_address: Sequence[str]) -> DocumentView:
    """A credit note of ``agreement``, naming the invoice it adjusts and why."""
    numbers: dict[str, str] = {i.id: i.number or "" for i in agreement.invoices}
    credited = numbers.get(note.credits, note.credits)
    reason = t(f"reason.{note.reason.value}")
    facts = (Fact(t("number"), note.number or t("status.draft")),
             Fact(t("issued_on"), t.date(note.issued_on)),
             Fact(t("invoice"), credited), Fact(t("reason"), reason),
             Fact(t("agreement"), agreement.id))
    totals = (Total(t("subtotal"), t.money(note.subtotal)), *_tax_totals(note.tax_lines, t),
              Total(t("total_credited"), t.money(note.total), strong=True, accent=True))
    return DocumentView(
        kind="credit_note", lang=t.html_lang, title=t("credit_note"),
        brand=_brand(branding, t), facts=facts, client_label=t("client"),
        client=_client(agreement, client_address),
        status=t("credit_of", number=credited), status_class="credit",
        memo=paragraphs(note.memo),
        # A line tied to no plan item (a refund or goodwill credit) carries the memo
        # as its description: the memo is shown above the lines, the line says why.
        rows=tuple(_row(line, agreement, numbers, t, fallback=reason) for line in note.lines),
        totals=totals,
    )


# ---------------------------------------------------------------- proposals


def _terms_text(terms: PaymentTerms, t: Words) -> str:
    return t("due_on_receipt") if terms.net_days == 0 else t.plural("net_days", terms.net_days)


def _when(m: Milestone, t: Words) -> str:
    if m.trigger is Trigger.ON_SIGNING:
        return t("on_signing")
    if m.trigger is Trigger.ON_DATE and m.due_on is not None:
        return t("on_date", date=t.date(m.due_on))
    return t("on_completion")


def _every(r: RecurringCharge, t: Words) -> str:
    unit = {IntervalUnit.WEEK: "week", IntervalUnit.MONTH: "month",
            IntervalUnit.YEAR: "year"}[r.interval.unit]
    if r.interval.count == 1:
        return t(f"per.{unit}")
    return t.plural(f"every.{unit}", r.interval.count)


def _recurring_row(r: RecurringCharge, t: Words) -> ScheduleRow:
    when = [t("recurring_from", date=t.date(r.start))]
    if r.count is not None:
        when.append(t.plural("recurring_count", r.count))
    if r.end is not None:
        when.append(t("recurring_until", date=t.date(r.end - timedelta(days=1))))
    when.append(t("in_advance" if r.timing is Timing.IN_ADVANCE else "in_arrears"))
    return ScheduleRow(r.name, ", ".join(when), _terms_text(r.terms, t),
                       f"{t.money(r.amount)} {_every(r, t)}")


def _option(entry: PackageOption | AddOn, currency: Currency, t: Words,
            optional: bool) -> OptionView:
    schedule: BillingSchedule = entry.schedule
    amounts = schedule.milestone_amounts()
    milestones = tuple(ScheduleRow(m.name, _when(m, t), _terms_text(m.terms, t),
                                   t.money(amounts[m.id])) for m in schedule.milestones)
    recurring = tuple(_recurring_row(r, t) for r in schedule.recurring)
    if milestones:
        price = t.money(Money.total(amounts.values(), currency=currency))
    else:
        price = recurring[0].amount if recurring else t.money(Money.from_minor(0, currency))
    return OptionView(entry.name, price, paragraphs(entry.scope), milestones, recurring,
                      optional)


def _proposal_terms(proposal: Proposal, t: Words) -> tuple[str, ...]:
    out = [t(f"collection.{proposal.collection.value}")]
    rules = proposal.approval
    if not rules.require_client_approval:
        out.append(t("approval.none"))
    else:
        out.append(t("approval.required"))
        if rules.auto_approve_after_days is not None:
            out.append(t.plural("approval.auto", rules.auto_approve_after_days))
    if proposal.valid_until is not None:
        out.append(t("valid_note", date=t.date(proposal.valid_until)))
    return tuple(out)


def proposal_view(proposal: Proposal, *, branding: Branding, t: Words,
                  issued_on: date | None, conditions: str,
                  client_address: Sequence[str]) -> DocumentView:
    """A proposal: its options and add-ons with prices and payment schedules, and terms."""
    facts = [Fact(t("number"), proposal.id)]
    if issued_on is not None:
        facts.append(Fact(t("prepared_on"), t.date(issued_on)))
    if proposal.valid_until is not None:
        facts.append(Fact(t("valid_until"), t.date(proposal.valid_until)))
    cur = proposal.currency
    return DocumentView(
        kind="proposal", lang=t.html_lang, title=t("proposal"), brand=_brand(branding, t),
        facts=tuple(facts), client_label=t("prepared_for"),
        client=(proposal.client, *client_address),
        options=tuple(_option(o, cur, t, optional=False) for o in proposal.options),
        addons=tuple(_option(a, cur, t, optional=True) for a in proposal.addons),
        terms=_proposal_terms(proposal, t), conditions=paragraphs(conditions),
    )

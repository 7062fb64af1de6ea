"""Units of work that approve amendments and issue invoices and credit notes.

Private to :mod:`milestonebill.engine`.
"""

from __future__ import annotations

from datetime import date
from typing import Final

import attrs

from milestonebill.agreement import (
    Agreement,
    CreditIssued,
    Event,
    InvoiceIssued,
    approvals_due,
    lapsed_amendments,
)
from milestonebill.documents import CreditNote, CreditReason, Invoice, format_number
from milestonebill.engine._context import Context
from milestonebill.engine.results import Tally
from milestonebill.errors import RefundLimitError, ValidationError
from milestonebill.ids import InvoiceId
from milestonebill.invoicing import due_credit_notes, due_invoices
from milestonebill.money import Money
from milestonebill.postings import credit_entry, issue_entry
from milestonebill.refunds import credit_refund_intent_on, owed_back, refund_cap

__all__ = ["approve", "check_refund", "issue", "issue_credit", "issue_due"]

#: A guard against a plan that keeps producing documents (a bug, never data).
_MAX_DOCUMENTS: Final = 1000


def approve(ctx: Context, a: Agreement, as_of: date, tally: Tally) -> Agreement:
    """Append the automatic approvals whose notice period ran out by ``as_of``, and
    the automatic rejections of those that no longer apply."""
    at = ctx.decided_by(as_of)
    if not approvals_due(a, at) and not lapsed_amendments(a, at):
        return a

    def work(a: Agreement) -> Agreement:
        due = approvals_due(a, at)
        decided: list[Event] = [*due, *lapsed_amendments(a, at)]
        if not decided:
            return a
        new = ctx.append(a, decided)
        tally.approvals.extend(due)
        return new

    return ctx.unit(a, work)


def issue_due(ctx: Context, a: Agreement, as_of: date, tally: Tally) -> Agreement:
    """Issue every credit note, then every invoice, that is due by ``as_of``."""
    tax = ctx.settings.tax
    for _ in range(_MAX_DOCUMENTS):
        credits = due_credit_notes(a, as_of, tax=tax)
        if credits:
            a = issue_credit(ctx, a, credits[0], tally)
            continue
        drafts = due_invoices(a, as_of, tax=tax)
        if not drafts:
            return a
        a = issue(ctx, a, drafts[0], tally)
    raise AssertionError(f"agreement {a.id!r} kept producing documents")


def issue(ctx: Context, a: Agreement, draft: Invoice, tally: Tally) -> Agreement:
    """Unit of work 1: number the invoice, append ``InvoiceIssued``, post, notify."""

    def work(a: Agreement) -> Agreement:
        if any(i.id == draft.id for i in a.invoices):
            return a
        n = ctx.store.issue_invoice_number(
            ctx.settings.firm_id, draft.id, agreement_id=a.id,
            payload={"kind": "invoice", "total": draft.total.to_json()})
        invoice = attrs.evolve(draft, number=format_number(ctx.settings.numbering, n))
        e = InvoiceIssued(f"{a.id}:issued:{invoice.id}", a.version + 1, ctx.at(a), invoice)
        new = ctx.append(a, [e])
        entry = issue_entry(invoice, ctx.position(a))
        if entry is not None:  # an invoice discounted to zero moves nothing
            ctx.store.post(entry)
        ctx.notify(f"invoice.issued:{invoice.id}", a.id, "invoice.issued",
                   {"invoice_id": invoice.id, "number": invoice.number,
                    "total": invoice.total.to_json(), "due_on": invoice.due_on.isoformat(),
                    "collection": a.proposal.collection.value})
        tally.invoices.append(invoice)
        return new

    return ctx.unit(a, work)


def check_refund(ctx: Context, a: Agreement, cn: CreditNote) -> None:
    """Refuse a refund credit note the invoice cannot pay out (nothing is written).

    More than :func:`~milestonebill.refunds.refund_cap` raises
    :class:`~milestonebill.errors.RefundLimitError`; so does nothing: a refund of an invoice whose
    payment an unfinished customer-credit refund is using is refused until
    that one is finished (its cash may have left at the gateway already).
    """
    cap = refund_cap(a, cn.credits)
    if cn.total.minor > cap:
        raise RefundLimitError(cn.credits, cn.total, Money.from_minor(cap, cn.currency))
    held = credit_refund_intent_on(a, cn.credits, ctx.journal)
    if held is not None:
        raise ValidationError(
            "amount", f"nothing refunded on {cn.credits} until its customer-credit "
            f"refund of {held.amount} is finished (the next run finishes it)", cn.total)


def issue_credit(ctx: Context, a: Agreement, draft: CreditNote, tally: Tally) -> Agreement:
    """Number and issue a credit note, post it and tell the host.

    A refund credit note is checked again inside the unit of work: a
    concurrent refund may have used up what was left since the caller looked.
    """

    def work(a: Agreement) -> Agreement:
        if any(c.id == draft.id for c in a.credit_notes):
            return a
        if draft.reason is CreditReason.REFUND:
            check_refund(ctx, a, draft)
        n = ctx.store.issue_invoice_number(
            ctx.settings.credit_firm, InvoiceId(draft.id), agreement_id=a.id,
            payload={"kind": "credit_note", "credits": draft.credits})
        cn = attrs.evolve(draft, number=format_number(ctx.settings.credit_numbering, n))
        e = CreditIssued(f"{a.id}:credited:{cn.id}", a.version + 1, ctx.at(a), cn)
        position = ctx.position(a)
        new = ctx.append(a, [e])
        entry = credit_entry(cn, position)
        if entry is not None:
            ctx.store.post(entry)
        _notify_credit(ctx, a, new, cn)
        tally.credit_notes.append(cn)
        return new

    return ctx.unit(a, work)


def _notify_credit(ctx: Context, before: Agreement, after: Agreement, cn: CreditNote) -> None:
    over = min(owed_back(after, cn.credits), cn.total.minor)
    if over > 0 and cn.reason is not CreditReason.REFUND:
        ctx.notify(f"invoice.overcredited:{cn.id}", before.id, "invoice.overcredited",
                   {"invoice_id": cn.credits, "credit_note_id": cn.id,
                    "amount": Money.from_minor(over, cn.currency).to_json(),
                    "policy": ctx.credit_policy_for(before.id).value})
    ctx.notify(f"credit_note.issued:{cn.id}", before.id, "credit_note.issued",
               {"credit_note_id": cn.id, "number": cn.number, "credits": cn.credits,
                "total": cn.total.to_json(), "reason": cn.reason.value})

"""Client documents as self-contained HTML: invoices, credit notes, proposals.

Each function returns one HTML page with its CSS inline and the logo as a
``data:`` URI, so it can be mailed, stored or printed (:mod:`.pdf`) as it
is.  The templates ship in the package (``rendering/templates``) and are
the same for every firm; a :class:`~milestonebill.rendering.Branding`
carries what differs.  Jinja2 renders them with autoescaping on: names,
memos, scope texts and addresses are shown as text, never run as HTML.

Needs Jinja2 (the ``documents`` extra); importing this module does not.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from milestonebill._validate import check_date, check_optional_date, check_text
from milestonebill.agreement import Agreement, Proposal
from milestonebill.collection import RetryPolicy
from milestonebill.documents import CreditNote, Invoice
from milestonebill.errors import NotFoundError, ValidationError
from milestonebill.rendering._locale import Words, words_for
from milestonebill.rendering._views import (
    DocumentView,
    credit_note_view,
    invoice_view,
    proposal_view,
)
from milestonebill.rendering.branding import Branding

if TYPE_CHECKING:
    import jinja2

__all__ = ["render_credit_note", "render_invoice", "render_proposal"]


@functools.cache
def _environment() -> jinja2.Environment:
    try:
        import jinja2
    except ImportError as exc:  # pragma: no cover - exercised without the extra
        raise ImportError("client documents need Jinja2: "
                          "pip install 'milestonebill[documents]'") from exc
    return jinja2.Environment(
        loader=jinja2.PackageLoader("milestonebill.rendering", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _render(template: str, view: DocumentView, t: Words) -> str:
    from markupsafe import Markup

    # The counter is the one unescaped value: the catalogue's words, CSS-escaped.
    counter = Markup(t.css_string("page", page="counter(page)", pages="counter(pages)"))
    return _environment().get_template(template).render(doc=view, t=t, page_counter=counter)


def _common(branding: object, client_address: object) -> tuple[Branding, tuple[str, ...]]:
    if not isinstance(branding, Branding):
        raise ValidationError("branding", "a Branding", branding)
    if isinstance(client_address, str) or not isinstance(client_address, Sequence):
        raise ValidationError("client_address", "a sequence of lines", client_address)
    lines = tuple(client_address)
    for i, line in enumerate(lines):
        check_text(f"client_address[{i}]", line)
    return branding, lines


def _document(agreement: object, value: object, kind: type[Any], field: str) -> Any:
    """The invoice or credit note ``value`` names: the value itself or its id."""
    if not isinstance(agreement, Agreement):
        raise ValidationError("agreement", "an Agreement", agreement)
    if isinstance(value, kind):
        if value.agreement_id != agreement.id:
            raise ValidationError(f"{field}.agreement_id", f"{agreement.id!r} (the agreement "
                                  "given)", value.agreement_id)
        return value
    if not isinstance(value, str):
        raise ValidationError(field, f"a {kind.__name__} or its id", value)
    found = [d for d in (agreement.invoices if kind is Invoice else agreement.credit_notes)
             if d.id == value]
    if not found:
        raise NotFoundError(f"agreement {agreement.id!r} has no {field.replace('_', ' ')} "
                            f"{value!r}")
    return found[0]


def render_invoice(agreement: Agreement, invoice: Invoice | str, *, as_of: date,
                   branding: Branding, locale: str = "en_US",
                   client_address: Sequence[str] = (),
                   policy: RetryPolicy | None = None) -> str:
    """An invoice of ``agreement`` as HTML, its payment status at the end of ``as_of``.

    ``invoice`` is an issued invoice (or its id) or a draft from
    :func:`~milestonebill.invoicing.due_invoices` (shown as a draft, all of
    it to pay).  Every line shows where it comes from (the milestone and
    when it became billable, or the service period), then the tax, the
    totals, what was credited and paid, and the amount due; the status is
    :func:`~milestonebill.rendering.invoice_position`'s (``policy``: the
    Biller's retry policy).  ``client_address`` lines are printed under the
    client's name.  ``locale`` picks the words, dates and number formats.
    """
    t = words_for(locale)
    branding, address = _common(branding, client_address)
    found: Invoice = _document(agreement, invoice, Invoice, "invoice")
    check_date("as_of", as_of)
    view = invoice_view(agreement, found, as_of=as_of, branding=branding, t=t,
                        client_address=address, policy=policy)
    return _render("document.html.j2", view, t)


def render_credit_note(agreement: Agreement, credit_note: CreditNote | str, *,
                       branding: Branding, locale: str = "en_US",
                       client_address: Sequence[str] = ()) -> str:
    """A credit note of ``agreement`` as HTML: the invoice it adjusts, the reason,
    the memo, the lines credited with their provenance, tax and the total credited."""
    t = words_for(locale)
    branding, address = _common(branding, client_address)
    found: CreditNote = _document(agreement, credit_note, CreditNote, "credit_note")
    view = credit_note_view(agreement, found, branding=branding, t=t, client_address=address)
    return _render("document.html.j2", view, t)


def render_proposal(proposal: Proposal, *, branding: Branding, locale: str = "en_US",
                    issued_on: date | None = None, conditions: str = "",
                    client_address: Sequence[str] = ()) -> str:
    """A proposal as HTML: each package option and add-on with its price and its
    payment schedule (on signing, on completion or dated, with amounts and
    payment terms; recurring charges per period), then the terms that follow
    from the proposal (how invoices are paid, how changes are approved, how
    long the offer stands) and the firm's own ``conditions`` text.

    Raises :class:`~milestonebill.errors.ValidationError` naming ``proposal`` for
    anything but a :class:`~milestonebill.agreement.Proposal`, or ``issued_on`` for
    a non-date.
    """
    t = words_for(locale)
    branding, address = _common(branding, client_address)
    if not isinstance(proposal, Proposal):
        raise ValidationError("proposal", "a Proposal", proposal)
    check_optional_date("issued_on", issued_on)
    check_text("conditions", conditions)
    view = proposal_view(proposal, branding=branding, t=t, issued_on=issued_on,
                         conditions=conditions, client_address=address)
    return _render("proposal.html.j2", view, t)

"""Documents for clients: proposals, invoices and credit notes as HTML and PDF.

Presentation, on the shell side: it reads agreements, proposals and
invoices and writes pages; it decides nothing about money.  ``import
milestonebill`` does not import it, and it imports Jinja2 (HTML) and
WeasyPrint (PDF) only when a document is rendered (the ``documents``
extra).  See ``docs/documents.md``.

* :func:`render_invoice`, :func:`render_credit_note`, :func:`render_proposal`
  -- self-contained HTML (inline CSS, the logo as a ``data:`` URI) from one
  template set, branded by a :class:`Branding`, in a locale's words, dates
  and money (``en_US``, ``en_GB``, ``de_DE``, ``fr_FR``, ``ja_JP`` and any
  other locale of those languages);
* :func:`to_pdf` -- the same pages as one PDF;
* :func:`invoice_position` -- the status and amounts an invoice shows.
"""

from __future__ import annotations

from milestonebill.rendering._catalogue import LANGUAGES
from milestonebill.rendering.branding import Branding, Logo, readable_on
from milestonebill.rendering.html import render_credit_note, render_invoice, render_proposal
from milestonebill.rendering.pdf import to_pdf
from milestonebill.rendering.status import InvoicePosition, PaymentStatus, invoice_position

__all__ = [
    "LANGUAGES",
    "Branding",
    "InvoicePosition",
    "Logo",
    "PaymentStatus",
    "invoice_position",
    "readable_on",
    "render_credit_note",
    "render_invoice",
    "render_proposal",
    "to_pdf",
]

"""Client documents as PDF through WeasyPrint: pages, text, and nothing fetched.

The text is read back with ``pdftotext`` (poppler-utils), page by page.
Skipped, with the reason, where WeasyPrint or the system libraries it
draws with (Pango) cannot be loaded, or where ``pdftotext`` is missing.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest

pytest.importorskip("jinja2", reason="PDF documents are rendered from HTML, which needs Jinja2")
try:
    import weasyprint  # noqa: F401  (loaded to know whether PDF can be made here)
except (ImportError, OSError) as exc:  # OSError: the package is there, Pango is not
    pytest.skip(f"PDF documents need WeasyPrint and Pango: {exc}", allow_module_level=True)

from milestonebill.agreement import Collection
from milestonebill.documents import Invoice, InvoiceLine, LineKind
from milestonebill.errors import ValidationError
from milestonebill.ids import InvoiceId
from milestonebill.money import Money
from milestonebill.periods import Period
from milestonebill.rendering import render_invoice, to_pdf
from milestonebill.testing.documents import sample_branding
from milestonebill.testing.scenarios import World, proposal

MONDAY = date(2026, 3, 2)


def pages_text(pdf: bytes, tmp_path: Path) -> list[str]:
    """The text of each page, in order (``pdftotext`` ends each page with a form feed)."""
    tool = shutil.which("pdftotext")
    if tool is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    out = subprocess.run([tool, "-layout", str(path), "-"], capture_output=True, check=True,
                         timeout=60)
    return out.stdout.decode("utf-8").split("\f")[:-1]


def invoice_html(lines: int = 0, locale: str = "en_US") -> str:
    """The design invoice of a fresh agreement; with ``lines``, a draft of that many
    weekly service lines instead (long enough to run onto more pages)."""
    w = World()
    w.open(proposal([("design", "1000.00")], collection=Collection.SEND_INVOICE),
           payment_method=None)
    (inv,) = w.complete("design").invoices
    a = w.load()
    if lines:
        inv = Invoice.build(id=InvoiceId("draft"), agreement_id=a.id, currency=a.currency,
                            issued_on=MONDAY, due_on=MONDAY, lines=[InvoiceLine(
                                f"l{i}", None, LineKind.RECURRING, f"Week {i + 1} on site",
                                Money("150.00", "USD"), period=Period(
                                    MONDAY + timedelta(weeks=i),
                                    MONDAY + timedelta(weeks=i + 1)))
                                for i in range(lines)])
    return render_invoice(a, inv, as_of=MONDAY, branding=sample_branding(), locale=locale)


def test_a_short_invoice_is_one_page_with_its_content_footer_and_counter(tmp_path: Path) -> None:
    pdf = to_pdf(invoice_html())
    assert pdf.startswith(b"%PDF-")
    (page,) = pages_text(pdf, tmp_path)
    for text in ("Northwind Studio", "Invoice", "INV-000001", "Bill to", "Acme", "Design",
                 "Milestone completed on March 2, 2026", "Amount due", "$1,000.00",
                 "Account 0012 3456 789", "Thank you for your business.", "Page 1 of 1"):
        assert text.lower() in page.lower(), text


def test_a_long_invoice_runs_onto_more_pages_each_with_the_table_head_footer_and_counter(
        tmp_path: Path) -> None:
    pages = pages_text(to_pdf(invoice_html(lines=60)), tmp_path)
    n = len(pages)
    assert n >= 2
    for i, page in enumerate(pages, start=1):
        assert f"Page {i} of {n}" in page
        assert "Thank you for your business." in page
        assert "DESCRIPTION" in page  # the table's head is repeated
    assert "Week 1 on site" in pages[0]
    assert "Week 60 on site" in pages[-1]
    assert "$9,000.00" in pages[-1]  # the totals close the last page
    shown = [w for p in pages for w in range(1, 61) if f"Week {w} on site" in p]
    assert shown == list(range(1, 61))  # every line once, in order


def test_several_documents_make_one_pdf_each_from_a_new_page(tmp_path: Path) -> None:
    pages = pages_text(to_pdf(invoice_html(), invoice_html(locale="de_DE"),
                              invoice_html(locale="fr_FR")), tmp_path)
    assert len(pages) == 3
    assert ["Invoice" in pages[0], "Rechnung" in pages[1], "Facture" in pages[2]] == [True] * 3
    assert "Seite 1 von 1" in pages[1]


def test_nothing_but_data_uris_is_fetched(tmp_path: Path) -> None:
    hide = tmp_path / "hide.css"
    hide.write_text("p.secret { display: none }", encoding="utf-8")
    html = (f'<html><head><link rel="stylesheet" href="{hide.as_uri()}"></head>'
            '<body><p class="secret">still here</p></body></html>')
    (page,) = pages_text(to_pdf(html), tmp_path)
    assert "still here" in page


def test_no_document_or_an_empty_one_is_refused() -> None:
    with pytest.raises(ValidationError) as e:
        to_pdf()
    assert e.value.field == "documents"
    with pytest.raises(ValidationError) as e:
        to_pdf("<html></html>", " ")
    assert e.value.field == "documents[1]"

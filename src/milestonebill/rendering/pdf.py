"""Client documents as PDF, through WeasyPrint.

:func:`to_pdf` lays out the HTML of :mod:`.html` on A4 pages, with the
firm's footer and a page counter on every page and table heads repeated
when a table runs onto the next page.  Several documents make one PDF,
each starting on a new page (a month's invoices to print, say).

Nothing is fetched while laying out: the documents are self-contained, and
the fetcher WeasyPrint is given accepts only ``data:`` URIs, so HTML from
elsewhere cannot make it read a local file or call a server.

Needs WeasyPrint and the Pango library it draws text with (the
``documents`` extra and the system packages named in ``docs/documents.md``);
importing this module does not.
"""

from __future__ import annotations

from typing import Any

from milestonebill.errors import ValidationError

__all__ = ["to_pdf"]


def _weasyprint() -> Any:
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # pragma: no cover - exercised without the extra
        # OSError: the Python package is there but Pango (a system library) is not.
        raise ImportError("PDF documents need WeasyPrint and Pango: "
                          "pip install 'milestonebill[documents]' (see docs/documents.md)"
                          ) from exc
    return weasyprint


def to_pdf(*documents: str) -> bytes:
    """One PDF of the HTML ``documents``, in order, each from a new page.

    ``documents`` are pages from :func:`~milestonebill.rendering.render_invoice`
    and its siblings (any HTML works, but only ``data:`` URIs are loaded).

    Raises :class:`~milestonebill.errors.ValidationError` naming ``documents`` when
    there is none, or ``documents[i]`` for one that is not text.
    """
    if not documents:
        raise ValidationError("documents", "at least one HTML document", documents)
    for i, html in enumerate(documents):
        if not isinstance(html, str) or not html.strip():
            raise ValidationError(f"documents[{i}]", "HTML text", html)
    weasyprint = _weasyprint()
    fetcher = weasyprint.urls.URLFetcher(allowed_protocols={"data"})
    rendered = [weasyprint.HTML(string=html, url_fetcher=fetcher).render()
                for html in documents]
    pages = [page for doc in rendered for page in doc.pages]
    pdf: bytes = rendered[0].copy(pages).write_pdf()
    return pdf

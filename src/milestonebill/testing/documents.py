"""Checking rendered client documents in tests: a strict HTML reader and a sample firm.

:func:`parse_html` reads a page with the standard library's HTML tokenizer
and refuses what a template mistake produces -- an end tag that closes
nothing or the wrong element, an element left open, a second root -- then
gives back a small tree to ask questions of (elements by tag and class,
their text as a reader sees it).  :func:`sample_branding` is a firm with
every branding field set.

>>> page = parse_html('<html><body><p class="a">x &amp; <b>y</b></p><br></body></html>')
>>> [p.text for p in page.find_all("p", "a")]
['x & y']
>>> parse_html("<html><p></div></html>")
Traceback (most recent call last):
...
ValueError: line 1: </div> closes <p>
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any, Final

import attrs

from milestonebill.rendering import Branding

__all__ = ["SAMPLE_LOGO", "VOID_ELEMENTS", "Element", "parse_html", "sample_branding"]

#: Elements that never have an end tag (HTML Living Standard).
VOID_ELEMENTS: Final = frozenset({
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr",
})
#: A small SVG logo (a square and a letter) for tests and examples.
SAMPLE_LOGO: Final = (b'<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48">'
                      b'<rect width="48" height="48" rx="8" fill="#0f4c5c"/>'
                      b'<text x="14" y="34" font-size="28" fill="#fff">N</text></svg>')


@attrs.define(eq=False)
class Element:
    """One element: its tag, attributes and children (elements and text, in order)."""

    tag: str
    attributes: dict[str, str]
    children: list[Element | str] = attrs.field(factory=list)

    @property
    def classes(self) -> frozenset[str]:
        """The element's classes."""
        return frozenset(self.attributes.get("class", "").split())

    @property
    def text(self) -> str:
        """All text inside, entities decoded, runs of ASCII white space made one space
        (no-break spaces, which locales put in amounts, are kept)."""
        return re.sub(r"[ \t\n\r\f]+", " ", "".join(self._texts())).strip()

    def _texts(self) -> Iterator[str]:
        for child in self.children:
            if isinstance(child, str):
                yield child
            else:
                if child.tag in ("br", "div", "p", "tr", "li", "dt", "dd", "td", "th"):
                    yield " "
                yield from child._texts()

    def iter(self) -> Iterator[Element]:
        """This element and every element inside it, in document order."""
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.iter()

    def find_all(self, tag: str | None = None, class_: str | None = None) -> list[Element]:
        """The elements inside this one with ``tag`` and ``class_``, in document order."""
        return [e for e in self.iter() if e is not self and (tag is None or e.tag == tag)
                and (class_ is None or class_ in e.classes)]

    def find(self, tag: str | None = None, class_: str | None = None) -> Element:
        """The one element :meth:`find_all` finds; ``LookupError`` for none or several."""
        found = self.find_all(tag, class_)
        if len(found) != 1:
            raise LookupError(f"{len(found)} elements <{tag} class={class_!r}>")
        return found[0]


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.document = Element("#document", {})
        self.stack: list[Element] = [self.document]

    def _where(self) -> str:
        return f"line {self.getpos()[0]}"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(element)
        if tag not in VOID_ELEMENTS:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID_ELEMENTS:
            raise ValueError(f"{self._where()}: <{tag}/> is not a void element")
        self.stack[-1].children.append(Element(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID_ELEMENTS:
            raise ValueError(f"{self._where()}: </{tag}> ends a void element")
        if len(self.stack) == 1:
            raise ValueError(f"{self._where()}: </{tag}> closes nothing")
        if self.stack[-1].tag != tag:
            raise ValueError(f"{self._where()}: </{tag}> closes <{self.stack[-1].tag}>")
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse_html(text: str) -> Element:
    """The ``<html>`` element of ``text``, every element closed in order.

    Raises :class:`ValueError` naming the line of the first problem.
    """
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    if len(builder.stack) != 1:
        raise ValueError(f"<{builder.stack[-1].tag}> is never closed")
    roots = [c for c in builder.document.children if isinstance(c, Element)]
    stray = "".join(c for c in builder.document.children if isinstance(c, str)).strip()
    if len(roots) != 1 or roots[0].tag != "html" or stray:
        raise ValueError(f"one <html> element expected at the top (got {[r.tag for r in roots]}"
                         f"{' and text' if stray else ''})")
    return roots[0]


def sample_branding(**changes: Any) -> Branding:
    """A firm with every branding field set (``changes`` override them)."""
    fields: dict[str, Any] = {
        "firm_name": "Northwind Studio",
        "address": ("88 Harbor Street", "Portland, ME 04101"),
        "logo": SAMPLE_LOGO,
        "primary_colour": "#0f4c5c",
        "accent_colour": "#e36414",
        "footer": "Northwind Studio LLC\nThank you for your business.",
        "tax_id": "12-3456789",
        "payment_instructions": "Account 0012 3456 789\nRouting 011 000 015",
        **changes,
    }
    return Branding(**fields)

"""A firm's look on its client documents: :class:`Branding` and its :class:`Logo`.

One template set serves every firm; what differs between firms is data:
the name and address printed in the header, the logo (embedded in the page
as a ``data:`` URI, so a document needs no file beside it), two colours
and the footer text.  Colours are checked as hex and written lower-case
in six digits:

>>> b = Branding("Koch & Partner", address=("Hauptstr. 1", "10115 Berlin"),
...              primary_colour="#0A3D62", accent_colour="#e58e26")
>>> b.primary_colour, b.on_primary
('#0a3d62', '#ffffff')
>>> Branding("Koch & Partner", primary_colour="navy")
Traceback (most recent call last):
...
milestonebill.errors.ValidationError: 'primary_colour' must be a hex colour such as '#1f3a5f' or '#fff' (got 'navy')

A logo is given as its bytes or as a path; the image kind is read from the
bytes themselves, never from the file name:

>>> Logo.of(b"\\x89PNG\\r\\n\\x1a\\n" + bytes(8)).media_type
'image/png'
>>> Logo.of(b"GIF89a").data_uri()
'data:image/gif;base64,R0lGODlh'
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Final

import attrs

from milestonebill._validate import check_text, problem, raise_all
from milestonebill.errors import ValidationError

__all__ = [
    "DEFAULT_ACCENT",
    "DEFAULT_PRIMARY",
    "MAX_LOGO_BYTES",
    "Branding",
    "Logo",
    "readable_on",
]

#: The largest logo accepted, in bytes: it is embedded in every document.
MAX_LOGO_BYTES: Final = 2 * 1024 * 1024
#: The colour of headings and table heads when a firm names none (a dark blue).
DEFAULT_PRIMARY: Final = "#1f3a5f"
#: The colour of the amount due and other highlights when a firm names none.
DEFAULT_ACCENT: Final = "#c0392b"

_HEX = re.compile(r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_KINDS = "PNG, JPEG, GIF, WebP or SVG"


def _sniff(data: bytes) -> str | None:
    """The media type of image bytes, from their first bytes (``None``: not one we take)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head):
        return "image/svg+xml"
    return None


@attrs.frozen
class Logo:
    """An image to put in a document's header: its bytes and their media type.

    Build one with :meth:`of` (bytes or a path), which reads the kind from
    the bytes.  SVG is shown through an ``<img>`` element, where a browser
    runs none of its scripts.

    Raises :class:`~milestonebill.errors.ValidationError` naming ``logo`` for bytes
    that are not a supported image or are too large, or ``logo.media_type`` when it
    is not what the bytes are.
    """

    data: bytes = attrs.field(repr=lambda d: f"<{len(d)} bytes>")
    media_type: str

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.data, bytes) or not self.data:
            raise ValidationError("logo", f"{_KINDS} image bytes", self.data)
        if len(self.data) > MAX_LOGO_BYTES:
            raise ValidationError("logo", f"at most {MAX_LOGO_BYTES} bytes",
                                  f"{len(self.data)} bytes")
        found = _sniff(self.data)
        if found is None:
            raise ValidationError("logo", f"{_KINDS} image bytes", self.data[:16])
        if self.media_type != found:
            raise ValidationError("logo.media_type", f"{found!r} (what the bytes are)",
                                  self.media_type)

    @classmethod
    def of(cls, source: bytes | str | os.PathLike[str]) -> Logo:
        """A logo from image bytes, or from the file at a path (read now).

        Raises :class:`~milestonebill.errors.ValidationError` naming ``logo``
        for a file that cannot be read or is too large, or bytes that are not a
        supported image.
        """
        if isinstance(source, bytes):
            data = source
        elif isinstance(source, str | os.PathLike):
            path = Path(source)
            try:
                if path.stat().st_size > MAX_LOGO_BYTES:
                    raise ValidationError("logo", f"a file of at most {MAX_LOGO_BYTES} bytes",
                                          str(path))
                data = path.read_bytes()
            except OSError as exc:
                raise ValidationError("logo", "a readable image file", str(path)) from exc
        else:
            raise ValidationError("logo", "image bytes or a path", source)
        media_type = _sniff(data)
        if media_type is None:
            raise ValidationError("logo", f"{_KINDS} image bytes", data[:16])
        return cls(data, media_type)

    def data_uri(self) -> str:
        """The image as a ``data:`` URI (base64), for an ``<img src>``."""
        return f"data:{self.media_type};base64,{base64.b64encode(self.data).decode('ascii')}"


def _colour(field: str, value: object) -> str:
    if not isinstance(value, str) or not _HEX.fullmatch(value):
        raise ValidationError(field, "a hex colour such as '#1f3a5f' or '#fff'", value)
    digits = value[1:].lower()
    return "#" + ("".join(c * 2 for c in digits) if len(digits) == 3 else digits)


def _primary(value: object) -> str:
    return _colour("primary_colour", value)


def _accent(value: object) -> str:
    return _colour("accent_colour", value)


def _logo(value: Logo | bytes | str | os.PathLike[str] | None) -> Logo | None:
    return value if value is None or isinstance(value, Logo) else Logo.of(value)


def _lines(value: Iterable[str] | str) -> tuple[str, ...]:
    # A single string is one line, not a sequence of characters.
    return (value,) if isinstance(value, str) else tuple(value)


def _relative_luminance(hex_colour: str) -> float:
    """WCAG relative luminance of ``#rrggbb`` (display only: never money)."""
    def channel(i: int) -> float:
        c = int(hex_colour[i:i + 2], 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)


def readable_on(hex_colour: str) -> str:
    """Black or white, whichever reads better on ``hex_colour`` (WCAG contrast).

    >>> readable_on("#1f3a5f"), readable_on("#ffe066")
    ('#ffffff', '#000000')
    """
    lum = _relative_luminance(_colour("colour", hex_colour))
    return "#ffffff" if (1.05 / (lum + 0.05)) >= ((lum + 0.05) / 0.05) else "#000000"


@attrs.frozen
class Branding:
    """How one firm's documents look: name, address, logo, colours, footer.

    ``address`` and ``tax_id`` are printed under the firm's name;
    ``payment_instructions`` (bank details, say) under an invoice that
    still has an amount due; ``footer`` at the foot of every page.  Text
    is shown as written (escaped, line breaks kept), never as HTML.
    ``logo`` may be a :class:`Logo`, image bytes or a path.
    """

    firm_name: str
    address: tuple[str, ...] = attrs.field(default=(), converter=_lines)
    logo: Logo | None = attrs.field(default=None, converter=_logo)
    primary_colour: str = attrs.field(default=DEFAULT_PRIMARY, converter=_primary)
    accent_colour: str = attrs.field(default=DEFAULT_ACCENT, converter=_accent)
    footer: str = ""
    tax_id: str = ""
    payment_instructions: str = ""

    def __attrs_post_init__(self) -> None:
        problems = problem(check_text, "firm_name", self.firm_name)
        if isinstance(self.firm_name, str) and not self.firm_name.strip():
            problems.append(ValidationError("firm_name", "a non-empty name", self.firm_name))
        for i, line in enumerate(self.address):
            problems += problem(check_text, f"address[{i}]", line)
        for name in ("footer", "tax_id", "payment_instructions"):
            problems += problem(check_text, name, getattr(self, name))
        raise_all(problems)

    @property
    def on_primary(self) -> str:
        """The text colour on the primary colour (black or white)."""
        return readable_on(self.primary_colour)

    @property
    def on_accent(self) -> str:
        """The text colour on the accent colour (black or white)."""
        return readable_on(self.accent_colour)

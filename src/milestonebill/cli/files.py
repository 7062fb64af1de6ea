"""Reading the documented file formats (:mod:`milestonebill.formats`) from files.

A file is read as JSON or TOML by its extension (``.json``, ``.toml``; ``-``
is JSON on standard input), then validated by :func:`milestonebill.formats.read`
or :func:`~milestonebill.formats.read_toml`: every problem of the document is
reported at once, each at its JSON path, on one line.  A file that cannot be
read, is not UTF-8 or does not parse is refused naming the file.

>>> import pathlib, tempfile
>>> with tempfile.TemporaryDirectory() as tmp:
...     path = pathlib.Path(tmp, "am.json")
...     _ = path.write_text('{"id": "am-1", "operations": [{"type": "CancelAgreement", '
...                         '"effective": "2026-12-31"}]}')
...     read_format_file("amendment", str(path)).effective
datetime.date(2026, 12, 31)
>>> read_format_file("amendment", "am.yaml")
Traceback (most recent call last):
...
milestonebill.cli.common.UsageError: FILE am.yaml: must be a .json or .toml file (the extension says which)
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path
from typing import Final, Literal

from milestonebill import formats
from milestonebill.agreement import Agreement, Amendment, Proposal
from milestonebill.cli.common import UsageError
from milestonebill.engagement import Engagement
from milestonebill.errors import ValidationError

__all__ = ["SUFFIXES", "read_format_file", "read_text"]

#: The extensions a format file may have, and how each is read.
SUFFIXES: Final = (".json", ".toml")


def read_text(path: str, *, field: str = "FILE") -> tuple[str, str]:
    """The UTF-8 text of ``path`` (``-``: standard input; a byte-order mark is dropped)
    and a name to show for it; a file that cannot be read or is not UTF-8 raises
    :class:`~milestonebill.errors.ValidationError` naming ``field`` and the file."""
    where = "<stdin>" if path == "-" else path
    try:
        if path == "-":
            raw: bytes | str = (sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer")
                                else sys.stdin.read())
        else:
            raw = Path(path).read_bytes()
        return (raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw), where
    except OSError as exc:
        why = f"cannot read it ({exc.strerror or exc})"
    except UnicodeDecodeError as exc:
        why = f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})"
    raise ValidationError(field, "a readable UTF-8 file", where, f"{field} {where}: {why}")


def _json(text: str, where: str, field: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        why = f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
    except RecursionError:
        why = "not valid JSON here (nested too deeply)"
    except ValueError as exc:  # a number of thousands of digits
        why = f"not valid JSON here ({' '.join(str(exc).split()[:6])}...)"
    raise ValidationError(field, "a JSON document", where, f"{field} {where}: {why}")


FileFormat = Literal["proposal", "agreement", "amendment", "engagement"]


def read_format_file(name: FileFormat, path: str, *, field: str = "FILE"
                     ) -> Proposal | Agreement | Amendment | Engagement:
    """The value of format ``name`` that the file ``path`` holds (see the module docs).

    Raises :class:`~milestonebill.cli.common.UsageError` for an extension that
    is neither, and :class:`~milestonebill.errors.ValidationError` (several:
    :class:`~milestonebill.errors.InvalidInputError`) for a file that cannot
    be read or a document that is not valid, naming each JSON path.
    """
    suffix = "" if path == "-" else Path(path).suffix.lower()
    if path != "-" and suffix not in SUFFIXES:
        raise UsageError(field, "a .json or .toml file", path,
                         f"{field} {path}: must be a .json or .toml file (the extension "
                         "says which)")
    text, where = read_text(path, field=field)
    if suffix == ".toml":
        try:
            tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValidationError(field, "a TOML document", where,
                                  f"{field} {where}: not valid TOML ({exc})") from None
        value = formats.read_toml(name, text)
    else:
        value = formats.read(name, _json(text, where, field))
    if not isinstance(value, Proposal | Agreement | Amendment | Engagement):
        raise TypeError(f"format {name!r} is not a file format")  # pragma: no cover
    return value

"""``schema``: the JSON Schemas of the documented file formats.

``milestonebill schema NAME`` prints the JSON Schema (draft 2020-12) of a
format of :mod:`milestonebill.formats` -- ``proposal``, ``agreement``,
``amendment`` or ``engagement`` -- exactly as the package ships it in
``milestonebill/schemas/NAME.json`` (:func:`~milestonebill.formats.schema_text`),
for editors and tools in other languages.  Without ``NAME`` it lists the
names.  An unknown name is a usage error (exit status 2) that lists them.
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from milestonebill import formats
from milestonebill.cli.failures import EXIT_OK
from milestonebill.cli.output import emit_json

__all__ = ["register"]


def _schema(args: argparse.Namespace, out: TextIO) -> int:
    if args.name is None:
        if args.json:
            emit_json(out, {"schemas": list(formats.SCHEMAS)})
        else:
            out.write("".join(f"{name}\n" for name in formats.SCHEMAS))
        return EXIT_OK
    out.write(formats.schema_text(args.name))
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``schema`` to ``sub`` (an argparse subparsers object)."""
    p = sub.add_parser(
        "schema", help="print the JSON Schema of a file format",
        description="Print the JSON Schema (draft 2020-12) of one of the documented file "
        "formats, as shipped in the package; without NAME, list the names.")
    p.add_argument("name", nargs="?", choices=formats.SCHEMAS, metavar="NAME",
                   help="one of: " + ", ".join(formats.SCHEMAS))
    p.set_defaults(handler=_schema)

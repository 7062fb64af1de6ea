"""The ``milestonebill`` command.

Subcommands are registered in one place, :data:`COMMANDS`: each entry is a
function that adds its parser to the subparsers and sets ``handler`` (a
function from the parsed arguments and an output stream to an exit code).
Each subcommand lives in its own module:

* ``milestonebill schedule [FILE] [--from DATE] [--to DATE] [--json]``
  (:mod:`milestonebill.cli.schedule`) prints the dated charges of an
  engagement file; without ``FILE`` it uses the example engagement shipped
  with the package.
* ``milestonebill demo [--file FILE] [--db PATH] [--until DATE] [--json]``
  (:mod:`milestonebill.cli.demo`) bills an engagement end to end with no
  keys and no services.  See ``docs/demo.md``.

Both read the engagement file described in :mod:`milestonebill.cli.engagement`
(whose :class:`Engagement`, :func:`load_engagement` and
:data:`EXAMPLE_ENGAGEMENT` are re-exported here).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TextIO

from milestonebill.cli import demo, schedule
from milestonebill.cli.common import Handler, Registrar, error_text
from milestonebill.cli.engagement import EXAMPLE_ENGAGEMENT, Engagement, load_engagement
from milestonebill.errors import MilestonebillError

__all__ = [
    "COMMANDS",
    "EXAMPLE_ENGAGEMENT",
    "Engagement",
    "build_parser",
    "load_engagement",
    "main",
]

#: The subcommands, in help order; add a new one by appending its registrar.
COMMANDS: tuple[Registrar, ...] = (schedule.register, demo.register)


def build_parser(commands: Sequence[Registrar] = COMMANDS) -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="milestonebill", description="Milestone billing for service firms."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in commands:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 bad input, 2 usage)."""
    stream = out if out is not None else sys.stdout
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    handler: Handler = args.handler
    try:
        return handler(args, stream)
    except BrokenPipeError:  # the reader went away (``| head``); nothing left to report
        return 1
    except (MilestonebillError, OSError, json.JSONDecodeError) as exc:
        print(f"milestonebill {args.command}: error: {error_text(exc)}", file=sys.stderr)
        return 1

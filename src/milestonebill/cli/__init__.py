"""The ``milestonebill`` command: operate a firm's billing against a real store.

``docs/cli.md`` documents every command, the global options and their
environment variables, the exit statuses and the gateway-state file.

Global options come before the subcommand (:mod:`milestonebill.cli.config`):
``--db PATH`` | ``--dsn URL``, ``--schema``, ``--firm ID``, ``--gateway
memory|stripe``, ``--gateway-state FILE``, ``--json``, ``--quiet``,
``--debug``, ``--version``.  Subcommands are registered in one place,
:data:`COMMANDS`: each entry is a function that adds its parser to the
subparsers and sets ``handler`` (a function from the parsed arguments and an
output stream to an exit status).  Each lives in its own module:

* ``init``, ``complete``, ``progress``, ``agreements``, ``show``
  (:mod:`milestonebill.cli.operations`);
* ``propose``, ``proposal send|view|decline|withdraw|show``, ``proposals``
  (:mod:`milestonebill.cli.proposing`) and ``sign``
  (:mod:`milestonebill.cli.signing`);
* ``amend [--preview]``, ``approve``, ``reject``
  (:mod:`milestonebill.cli.amending`);
* ``run``, ``recognise``, ``reconcile`` (:mod:`milestonebill.cli.billing`);
* ``report`` (:mod:`milestonebill.cli.reports`, the library's report
  catalogue :mod:`milestonebill.reports.catalog` from the command line);
* ``export`` (:mod:`milestonebill.cli.exports`, a registry of formats);
* ``import`` (:mod:`milestonebill.cli.importing`, the spreadsheet import)
  and ``schema`` (:mod:`milestonebill.cli.schemas`);
* ``links add|remove|list|import`` and ``import-time``
  (:mod:`milestonebill.cli.linking`: practice-management work items linked
  to agreements, and a PSA's time export);
* ``schedule`` (:mod:`milestonebill.cli.schedule`) and ``demo``
  (:mod:`milestonebill.cli.demo`), which read the engagement file of
  :mod:`milestonebill.cli.engagement` (whose :class:`Engagement`,
  :func:`load_engagement` and :data:`EXAMPLE_ENGAGEMENT` are re-exported
  here).

Exit statuses (:mod:`milestonebill.cli.failures`): 0 ok, 1 refused, 2 usage,
3 infrastructure.  Errors are one line on standard error (JSON with
``--json``); ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from collections.abc import Mapping, Sequence
from typing import NoReturn, TextIO

from milestonebill.cli import (
    amending,
    billing,
    demo,
    exports,
    importing,
    linking,
    operations,
    proposing,
    reports,
    schedule,
    schemas,
    signing,
)
from milestonebill.cli.common import Handler, Registrar, UsageError
from milestonebill.cli.config import add_global_options
from milestonebill.cli.engagement import EXAMPLE_ENGAGEMENT, Engagement, load_engagement
from milestonebill.cli.failures import EXIT_OK, EXIT_REFUSED, EXIT_USAGE, report
from milestonebill.cli.output import emit_json

__all__ = [
    "COMMANDS",
    "EXAMPLE_ENGAGEMENT",
    "Engagement",
    "build_parser",
    "load_engagement",
    "main",
    "version",
]

#: The subcommands, in help order; add a new one by appending its registrar.
COMMANDS: tuple[Registrar, ...] = (
    operations.register_init,
    proposing.register_propose,
    proposing.register_proposal,
    proposing.register_proposals,
    signing.register_sign,
    operations.register_complete,
    operations.register_progress,
    amending.register_amend,
    amending.register_approve,
    amending.register_reject,
    billing.register_run,
    billing.register_recognise,
    billing.register_reconcile,
    reports.register,
    exports.register,
    importing.register,
    linking.register_links,
    linking.register_import_time,
    operations.register_agreements,
    operations.register_show,
    operations.register_tenants,
    schemas.register,
    schedule.register,
    demo.register,
)


def version() -> str:
    """The installed package's version (``unknown`` when run from a bare source tree)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("milestonebill")
    except PackageNotFoundError:
        return "unknown"


class _ShowVersion(Exception):
    pass


class _VersionAction(argparse.Action):
    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        raise _ShowVersion


_ARGUMENT = re.compile(r"argument (?P<field>[^:/ ]+)(?:/[^:]+)?: (?P<rest>.*)", re.S)
_BAD_VALUE = re.compile(r"must be (?P<expected>.*) \(got (?P<got>.*)\)$", re.S)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are exceptions, reported like every other."""

    def error(self, message: str) -> NoReturn:
        field, expected, got = self.prog, "a valid command line", None
        if m := _ARGUMENT.match(message):
            field, rest = m["field"], m["rest"]
            if v := _BAD_VALUE.match(rest):
                expected, got = v["expected"], _unquoted(v["got"])
        exc = UsageError(field, expected, got, " ".join(message.split()))
        exc.prog = self.prog  # type: ignore[attr-defined]
        raise exc


def _unquoted(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        import ast

        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text
        return str(value)
    return text


def build_parser(commands: Sequence[Registrar] = COMMANDS) -> argparse.ArgumentParser:
    """The argument parser with the global options and every registered subcommand."""
    parser = _Parser(
        prog="milestonebill",
        description="Milestone billing for service firms: run billing, recognition, "
        "reconciliation and reports against a real store. See docs/cli.md.")
    parser.add_argument("--version", action=_VersionAction, nargs=0,
                        help="print the version and exit")
    add_global_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in commands:
        register(sub)
    return parser


def _library_logs(*, debug: bool) -> None:
    """Warnings the library and its drivers log (a gateway retrying, a pool
    reconnecting) go to standard error with ``--debug`` only: without it the
    command's report is its one line."""
    for name in ("milestonebill", "psycopg", "stripe"):
        log = logging.getLogger(name)
        if debug:
            if not any(isinstance(h, logging.StreamHandler) for h in logging.getLogger().handlers):
                logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
        elif not log.handlers:
            log.addHandler(logging.NullHandler())


def _json_wanted(argv: Sequence[str]) -> bool:
    """Whether ``--json`` is on the command line (for errors before it is parsed)."""
    head = argv[: list(argv).index("--")] if "--" in argv else argv
    return "--json" in head


def _check_text(argv: Sequence[str]) -> None:
    """Refuse arguments that are not UTF-8 text (a shell passes bytes it could not decode
    as surrogates), before they reach a store or an error message."""
    for arg in argv:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            try:  # bytes a shell could not decode: show them as bytes
                shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            except UnicodeEncodeError:  # other lone surrogates (argv given in-process)
                shown = arg.encode("utf-8", "backslashreplace").decode("utf-8")
            raise UsageError("arguments", "UTF-8 text", shown,
                             f"an argument is not UTF-8 text (got '{shown}')") from None


def _hint(exc: BaseException) -> str | None:
    prog = getattr(exc, "prog", None)
    return None if prog is None else f"see '{prog} --help'"


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None,
         environ: Mapping[str, str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 refused, 2 usage,
    3 infrastructure).  ``environ`` defaults to ``os.environ``."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    stream = out if out is not None else sys.stdout
    err = sys.stderr
    json_mode = _json_wanted(args_list)
    try:
        _check_text(args_list)
        args = build_parser().parse_args(args_list)
    except _ShowVersion:
        if json_mode:
            emit_json(stream, {"version": version()})
        else:
            stream.write(f"milestonebill {version()}\n")
        return EXIT_OK
    except UsageError as exc:
        prog = str(getattr(exc, "prog", "milestonebill"))
        command = prog.partition(" ")[2] or None
        return report(exc, command=command, err=err, json_mode=json_mode, debug=False,
                      hint=_hint(exc))
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    args.environ = os.environ if environ is None else environ
    args.secrets = []
    _library_logs(debug=bool(args.debug))
    handler: Handler = args.handler
    try:
        return handler(args, stream)
    except BrokenPipeError:  # the reader went away (``| head``); nothing left to report
        return EXIT_REFUSED
    except SystemExit:
        raise
    except BaseException as exc:  # every error is reported, on one line
        return report(exc, command=args.command, err=err, json_mode=bool(args.json),
                      debug=bool(args.debug), secrets=args.secrets,
                      hint=f"see 'milestonebill {args.command} --help'"
                      if isinstance(exc, UsageError) else None)

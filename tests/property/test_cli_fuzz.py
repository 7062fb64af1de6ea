"""Fuzzing the command line: any argv ends in an exit status, never a traceback.

``milestonebill.cli.main`` runs in-process with argument lists built from
its own parser's vocabulary -- commands, options, their choices -- mixed
with values near valid ones (dates, ids of the agreement and milestones in
a store, files good, bad and missing) and junk.  Every call must return an
exit status in {0, 1, 2, 3} (ok, refused, usage, infrastructure) within a
time limit, write no traceback to standard error, and with ``--json`` give
errors as JSON.  Each example works on its own copy of a store the demo
filled.

CI runs fixed examples; ``MILESTONEBILL_LONG=1`` draws ten times as many,
new each time.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from milestonebill.cli import EXAMPLE_ENGAGEMENT, build_parser, main
from milestonebill.testing.fuzzing import AWKWARD_TEXT, time_limit

LONG = os.environ.get("MILESTONEBILL_LONG", "") == "1"
LIMIT = 60.0
FUZZ = settings(max_examples=2000 if LONG else 200, derandomize=not LONG, database=None,
                deadline=timedelta(seconds=30),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
#: Options left out: --debug prints tracebacks on purpose, --dsn would wait
#: for a server, demo --db/--file and export --output would write outside
#: the example's directory (they get paths inside it below).
LEFT_OUT = {"--debug", "--dsn"}


def _vocabulary() -> tuple[list[str], dict[str, list[str]], list[str]]:
    """The global options, each command's options, and every choice offered."""
    parser = build_parser()
    globals_: list[str] = []
    commands: dict[str, list[str]] = {}
    choices: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                commands[name] = [o for a in sub._actions for o in a.option_strings
                                  if o not in LEFT_OUT]
                choices += [str(c) for a in sub._actions for c in (a.choices or ())]
        else:
            globals_ += [o for o in action.option_strings if o not in LEFT_OUT]
            choices += [str(c) for c in (action.choices or ())]
    return globals_, commands, choices


GLOBALS, COMMANDS, CHOICES = _vocabulary()
EXAMPLE = resources.files("milestonebill").joinpath(EXAMPLE_ENGAGEMENT).read_bytes()


@pytest.fixture(scope="module")
def demo_store() -> Iterator[tuple[Path, str]]:
    """A store the demo filled, and its agreement's id."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "demo.db"
        with contextlib.redirect_stderr(io.StringIO()):
            assert main(["--quiet", "demo", "--db", str(db)], out=io.StringIO(),
                        environ={}) == 0
        out = io.StringIO()
        assert main(["--db", str(db), "--json", "agreements"], out=out, environ={}) == 0
        [agreement] = json.loads(out.getvalue())["agreements"]
        yield db, agreement["agreement_id"]


def _values(agreement: str, files: list[str]) -> st.SearchStrategy[str]:
    dates = st.dates().map(str) | st.sampled_from(
        ["2025-03-31", "2025-10-31", "2025-02-30", "2025-Q1", "2025", "2025-01-01..2025-03-31",
         "2025-13", "2025-03-31..2025-01-01", "0001-01-01", "9999-12-31"])
    return st.one_of(
        dates, st.sampled_from(CHOICES), st.sampled_from(files),
        st.sampled_from([agreement, "kickoff", "discovery", "build", "golive", "retainer",
                         "firm-1", "0", "-1", "1e9", "10", "3.5", "-"]),
        st.sampled_from(AWKWARD_TEXT), st.text(max_size=10))


def _templates(agreement: str, files: list[str]) -> list[list[str]]:
    """A valid argument list for every command (after the global options)."""
    store, engagement, out = files[0], files[1], files[-1]
    return [
        ["init"],
        ["complete", agreement, "golive", "--on", "2025-10-01", "--evidence", "signed off",
         "--by", "Ada", "--bill"],
        ["progress", agreement, "retainer", "5", "--estimate", "10", "--on", "2025-10-01"],
        ["run", "--as-of", "2025-12-31", "--dry-run"],
        ["run", "--as-of", "2025-11-30"],
        ["recognise", "--as-of", "2025-12-31", "--agreement", agreement],
        ["reconcile", "--grace", "0"],
        ["report", "rollforward", "--period", "2025-Q1", "--format", "json"],
        ["report", "contract-balances", "--as-of", "2025-06-30", "--format", "csv"],
        ["report", "revenue-schedule", "--from", "2025-01-01", "--to", "2025-12-31"],
        ["report", "remaining-obligations", "--as-of", "2025-10-31"],
        ["export", "csv", "--period", "2025-03", "--output", out],
        ["export", "json", "--from", "2025-01-01", "--to", "2025-02-28"],
        ["agreements"],
        ["show", agreement],
        ["schedule", engagement, "--from", "2025-01-01", "--to", "2025-12-31", "--json"],
        ["schedule"],
        ["demo", "--until", "2025-04-30", "--db", str(Path(store).with_name("demo2.db"))],
        ["--version"],
    ]


@st.composite
def argvs(draw: st.DrawFn, agreement: str, files: list[str]) -> list[str]:
    """An argument list: mostly a valid one with words replaced, dropped or added;
    sometimes words drawn from the parser's vocabulary alone."""
    values = _values(agreement, files)
    if draw(st.integers(0, 4)) == 4:
        words = draw(st.lists(st.sampled_from(GLOBALS) | values, max_size=3))
        command = draw(st.sampled_from([*COMMANDS, None]))
        if command is not None:
            words.append(command)
            words += draw(st.lists(st.sampled_from(COMMANDS[command] or ["--help"]) | values,
                                   max_size=6))
        return draw(st.permutations(words)) if draw(st.integers(0, 9)) == 0 else words
    valid = ["--db", files[0], "--firm", "firm-1", "--quiet"]
    valid += draw(st.sampled_from([[], ["--json"], ["--gateway-state", files[2]]]))
    valid += draw(st.sampled_from(_templates(agreement, files)))
    words = []
    for word in valid:
        fate = draw(st.integers(0, 29))  # kept mostly, else replaced, dropped, or added to
        if fate == 28:
            words.append(draw(values))
        elif fate != 29:
            words.append(word)
        if fate == 27:
            words.append(draw(st.sampled_from(GLOBALS + CHOICES) | values))
    return words


def _files(tmp: Path, db: Path) -> list[str]:
    """Paths a command may be given: a store, good and bad files, missing ones."""
    store = tmp / "store.db"
    shutil.copy(db, store)
    (tmp / "junk.json").write_bytes(b"\xff{\"a\": [1, 2")
    (tmp / "empty.json").write_text("", encoding="utf-8")
    (tmp / "list.json").write_text("[1, 2, 3]", encoding="utf-8")
    (tmp / "deep.json").write_text("[" * 5000 + "]" * 5000, encoding="utf-8")
    engagement = tmp / "engagement.json"
    engagement.write_bytes(EXAMPLE)
    return [str(store), str(engagement), str(tmp / "junk.json"), str(tmp / "empty.json"), str(tmp / "list.json"),
            str(tmp / "deep.json"), str(tmp / "missing.json"), str(tmp), str(tmp / "out.csv")]


@FUZZ
@given(data=st.data())
def test_any_argv_ends_in_an_exit_status_and_no_traceback(
        demo_store: tuple[Path, str], data: st.DataObject) -> None:
    db, agreement = demo_store
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        files = _files(tmp, db)
        argv = data.draw(argvs(agreement, files), label="argv")
        if "--db" not in argv:  # never the default ./milestonebill.db of the working directory
            argv = ["--db", files[0], *argv]
        out, err = io.StringIO(), io.StringIO()
        stdin, sys.stdin = sys.stdin, io.StringIO(data.draw(st.sampled_from(
            [EXAMPLE.decode(), "", "{", "[]"]), label="stdin"))
        try:
            with contextlib.chdir(tmp), contextlib.redirect_stderr(err), time_limit(LIMIT):
                status = main(argv, out=out, environ={})
        except SystemExit as exc:  # pragma: no cover - a failure
            raise AssertionError(f"SystemExit({exc.code}) escaped main") from exc
        finally:
            sys.stdin = stdin
    command = next((w for w in argv if w in COMMANDS), None)
    event(f"{command}: exit {status}")
    assert status in {0, 1, 2, 3}, (status, err.getvalue())
    assert "Traceback" not in err.getvalue(), err.getvalue()
    if "--json" in argv and status != 0 and err.getvalue().strip():
        assert isinstance(json.loads(err.getvalue()), dict), err.getvalue()
